"""check-sources reads each source as a run would and reports what a person must fix."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import polars as pl

from amperity_braze_assets.cli import main
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.source_check import (
    ColumnHealth,
    EncodingHint,
    RejectReason,
    SourceCheck,
    check_source,
    column_health,
    format_report,
    likely_encoding,
)
from amperity_braze_assets_tests.conftest import make_settings

SOURCES_YAML = """
sources:
  shop:
    kind: customers
    files: sources/shop/customers_export.csv
    primary_key: Customer ID
    columns:
      First Name: given-name
      Last Name: surname
      Email: email
      Phone: phone
      Province Code: state
      Country Code: country
  crm:
    kind: customers
    files: sources/crm/contacts.csv
    primary_key: Contact ID
    columns:
      First Name: given-name
      Last Name: surname
      Email: email
      Mailing Country: country
"""
# Shopify's customer export: its real header, a phone as Excel writes it back, a UK number.
SHOP_CSV = (
    "Customer ID,First Name,Last Name,Email,Phone,Province Code,Country Code\n"
    "7001,Ann,Lee,ann.lee@gmail.com,+1 415-823-4411,CA,US\n"
    "7002,Ben,Okafor,b.okafor@outlook.com,1.41582E+10,BC,CA\n"
    "7003,Cleo,Hart,cleo.hart@yahoo,020 7946 0018,ENG,GB\n"
    "7004,Dev,Rao,devrao@icloud.com,,NY,US\n"
)
# A Salesforce contacts report saved by Excel on Windows: the accented names are cp1252 bytes.
CRM_ROWS = [
    ("003A1", "Søren", "Kierkegaard", "soren@mail.dk", "N/A"),
    ("003A2", "José", "Müller", "jose.mueller@web.de", "Germany"),
    ("003A3", "Mary", "O'Connor", "mary.oconnor@eircom.net", "United Kingdom"),
    ("003A4", "Zoë", "Brontë", "zoe.bronte@btinternet.com", "United Kingdom"),
    ("003A5", "Paul", "Smith", "paul.smith@aol.com", "United States"),
]


def _project(tmp_path, crm_encoding="cp1252"):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "sources.yaml").write_text(textwrap.dedent(SOURCES_YAML))
    shop = tmp_path / "data" / "sources" / "shop"
    crm = tmp_path / "data" / "sources" / "crm"
    shop.mkdir(parents=True)
    crm.mkdir(parents=True)
    (shop / "customers_export.csv").write_text(SHOP_CSV)
    # Four copies of the five people: twelve rows with accents, over the ten rejected rows a
    # stop needs.
    text = "Contact ID,First Name,Last Name,Email,Mailing Country\r\n" + "".join(
        f"{key}{copy},{given},{surname},{copy}{email},{country}\r\n"
        for copy in range(4)
        for key, given, surname, email, country in CRM_ROWS
    )
    (crm / "contacts.csv").write_bytes(text.encode(crm_encoding))
    return make_settings(tmp_path / "data", config_dir)


def test_windows_1252_file_read_as_utf8_fails_with_the_encoding_to_set(tmp_path):
    settings = _project(tmp_path)
    config = load_project_config(settings)
    crm = check_source(config.source("crm"), settings.data_dir)
    # Søren, José Müller and Zoë Brontë hold bytes UTF-8 cannot decode; O'Connor is ASCII.
    assert (crm.rows_read, crm.records, crm.rows_quarantined) == (20, 8, 12)
    assert crm.reject_share == 0.6 and not crm.ok
    assert crm.reasons[0].rows == 12
    assert crm.reasons[0].reason == "undecodable bytes: not valid utf-8"
    assert crm.reasons[0].first_at == "contacts.csv:2"
    assert [hint.likely for hint in crm.encoding_hints] == ["windows-1252"]

    shop = check_source(config.source("shop"), settings.data_dir)
    assert shop.ok and (shop.rows_read, shop.rows_quarantined) == (4, 0)
    columns = {c.column: c for c in shop.columns}
    assert (columns["Email"].values, columns["Email"].parsed) == (4, 3)
    assert columns["Email"].failing == ("cleo.hart@yahoo",)
    # The UK number is read in its record's country; Excel's 1.41582E+10 is not a phone.
    assert (columns["Phone"].values, columns["Phone"].parsed) == (3, 2)
    assert columns["Phone"].failing == ("1.41582E+10",)
    assert columns["Country Code"].parse_rate == 1.0

    report = format_report([shop, crm])
    assert "source crm (customers): FAILS" in report
    assert "files: 1 matched: " + str(settings.data_dir / "sources/crm/contacts.csv") in report
    assert "rows: 20 read, 12 quarantined (60.0%; limit max_reject_share 1.0%)" in report
    assert "kept: 8 customer records" in report
    assert "12  undecodable bytes: not valid utf-8 (first at contacts.csv:2" in report
    # The run's own stop message, with the fix.
    assert "  stops the run: source 'crm': 12 of 20 rows (60.0%) were quarantined" in report
    assert "its bytes look like windows-1252: set sources.crm.csv.encoding: windows-1252" in report
    assert "1 of 2 source(s) would stop a run: crm" in report


def test_the_encoding_it_suggests_reads_every_row(tmp_path):
    settings = _project(tmp_path)
    path = settings.config_dir / "sources.yaml"
    path.write_text(
        path.read_text().replace(
            "files: sources/crm/contacts.csv",
            "files: sources/crm/contacts.csv\n    csv: {encoding: windows-1252}",
        )
    )
    crm = check_source(load_project_config(settings).source("crm"), settings.data_dir)
    assert crm.ok and (crm.records, crm.rows_quarantined) == (20, 0)
    names = {c.column: c for c in crm.columns}
    assert names["First Name"].parse_rate == 1.0 and names["Last Name"].parse_rate == 1.0
    assert (names["Mailing Country"].values, names["Mailing Country"].parsed) == (20, 16)
    assert names["Mailing Country"].failing == ("N/A",)


def test_cli_exit_status_and_report(tmp_path, monkeypatch, capsys):
    settings = _project(tmp_path)
    monkeypatch.setenv("AMPERITY_BRAZE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("AMPERITY_BRAZE_CONFIG_DIR", str(settings.config_dir))
    assert main(["check-sources"]) == 1
    out = capsys.readouterr().out
    assert "source shop (customers): ok" in out and "csv.encoding: windows-1252" in out
    assert "source crm (customers): FAILS" in out

    assert main(["check-sources", "--source", "shop", "--rows", "2"]) == 0
    out = capsys.readouterr().out
    assert "source crm" not in out
    assert "rows (first 2 per file): 2 read, 0 quarantined" in out

    assert main(["check-sources", "--source", "nope"]) == 2
    assert "no source named nope" in capsys.readouterr().err

    # Every configuration error at once, exit status 2.
    (settings.config_dir / "sources.yaml").write_text(
        SOURCES_YAML.replace("given-name", "givn-name").replace("kind: customers", "kind: people")
    )
    assert main(["check-sources"]) == 2
    err = capsys.readouterr().err
    assert "source 'shop'" in err and "source 'crm'" in err


def test_cli_entry_point_runs_as_a_command(tmp_path):
    settings = _project(tmp_path, crm_encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "amperity_braze_assets.cli", "check-sources", "--rows", "3"],
        env={
            "AMPERITY_BRAZE_DATA_DIR": str(settings.data_dir),
            "AMPERITY_BRAZE_CONFIG_DIR": str(settings.config_dir),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All 2 source(s) read within their limits." in done.stdout
    assert "rows (first 3 per file): 3 read, 0 quarantined" in done.stdout


def test_likely_encoding_tells_a_stray_byte_from_a_windows_file():
    utf8 = "Søren,José,Zoë,Łukasz\n".encode() * 20
    assert likely_encoding(utf8 + b"SE\x91AN\n", "utf-8") is None
    assert likely_encoding("Søren,José Müller\n".encode("cp1252"), "utf-8") == "windows-1252"
    assert likely_encoding("Søren\n".encode("cp1252"), "cp1252") is None


def test_typed_columns_count_the_values_the_reader_quarantined():
    from amperity_braze_assets.sources.config import SourceConfig

    source = SourceConfig(
        name="orders",
        kind="transactions",
        files=("orders.csv",),
        format="csv",
        primary_key="Name",
        columns={"Name": "order-id", "Total": "amount", "Created at": "order-time"},
    )
    records = pl.DataFrame(
        {
            "order_id": ["#1", "#2"],
            "amount": [10.0, 12.5],
            "order_time": pl.Series(["2025-01-01", "2025-01-02"]).str.to_datetime(time_zone="UTC"),
        }
    )
    rejects = pl.DataFrame(
        {
            "field": ["order_time", "order_time", "amount"],
            "value": ["2025-12-30 23:31:31 -0700", "2025-12-30 23:31:31 -0700", ""],
        }
    )
    health = {c.column: c for c in column_health(records, rejects, source)}
    assert (health["Created at"].values, health["Created at"].parsed) == (4, 2)
    assert health["Created at"].failing == ("2025-12-30 23:31:31 -0700",)
    # An empty amount is not a value that failed to parse.
    assert (health["Total"].values, health["Total"].parsed) == (2, 2)
    assert (health["Name"].values, health["Name"].parsed) == (2, 2)


def test_format_report_lays_out_figures_and_fixes():
    failing = SourceCheck(
        name="orders",
        kind="transactions",
        files=tuple(f"/data/orders_{n}.csv" for n in range(5)),
        rows_read=100,
        rows_quarantined=10,
        rows_filtered=4,
        records=60,
        line_items=86,
        reasons=(
            RejectReason(
                "order time is not a recognised timestamp",
                7,
                "orders_0.csv:2",
                "order_time",
                "2025-12-30 23:31:31 -0700",
            ),
            RejectReason("expected 9 fields, found 10", 3, "orders_3.csv:17"),
        ),
        columns=(
            ColumnHealth("Created at", "order-time", 97, 90, ("a", "b", "c")),
            ColumnHealth("Name", "order-id", 90, 90),
        ),
        encoding_hints=(EncodingHint("/data/orders_3.csv", "utf-8", "windows-1252"),),
        problems=("source 'orders': 10 of 100 rows (10.0%) were quarantined, ...",),
        max_reject_share=0.05,
    )
    missing = SourceCheck(name="crm", kind="customers", error="no file matches ['x.csv']")
    report = format_report([failing, missing])
    assert report.splitlines()[:4] == [
        "source orders (transactions): FAILS",
        "  files: 5 matched: /data/orders_0.csv, /data/orders_1.csv, /data/orders_2.csv and 2 more",
        "  rows: 100 read, 10 quarantined (10.0%; limit max_reject_share 5.0%), 4 left out "
        "by where",
        "  kept: 60 orders, 86 line items",
    ]
    assert (
        "         7  order time is not a recognised timestamp (first at orders_0.csv:2, "
        'order_time = "2025-12-30 23:31:31 -0700")'
    ) in report
    assert "         3  expected 9 fields, found 10 (first at orders_3.csv:17)" in report
    assert "  stops the run: source 'orders': 10 of 100 rows (10.0%) were quarantined" in report
    assert (
        "  orders_3.csv is not utf-8: its bytes look like windows-1252. Fix: under "
        "sources.orders set  csv.encoding: windows-1252"
    ) in report
    assert '    Created at  order-time   92.7% of 97  failing: "a", "b", "c"' in report
    assert "    Name        order-id    100.0% of 90" in report
    assert "source crm (customers): FAILS\n  cannot read: no file matches ['x.csv']" in report
    assert report.endswith("2 of 2 source(s) would stop a run: orders, crm")
