"""A partial read never reaches Braze: a source with too many rejects, a fall in rows or
amounts that cannot be added stops the run; a record quarantined below the threshold keeps its
last good version."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.sources.assets import SOURCE_HEALTH_CHECK, build_source_asset
from amperity_braze_assets.sources.config import parse_source
from amperity_braze_assets.sources.health import guess_encoding, source_health
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets_tests.conftest import make_settings

NAMES = ["Søren", "José", "Zoë", "Chloé", "Müller", "Renée", "André", "Inés", "Björn", "Åsa"]


def crm_source(**extra):
    source, errors = parse_source(
        Path("sources.yaml"),
        "crm",
        {
            "files": "crm/*.csv",
            "primary_key": "Contact ID",
            "columns": {"First Name": "given-name", "Email": "email"},
            "attributes": {"Tier": "tier"},
            **extra,
        },
    )
    assert not errors, errors
    return source


def write_crm(data_dir: Path, rows: int, encoding: str = "utf-8", accented: int = 0) -> None:
    lines = ["Contact ID,First Name,Email,Tier"]
    for n in range(rows):
        name = NAMES[n % len(NAMES)] if n < accented else f"Person{n}"
        lines.append(f"C{n},{name},p{n}@example.com,gold")
    folder = data_dir / "crm"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "contacts.csv").write_bytes(("\n".join(lines) + "\n").encode(encoding))


def materialize(source, data_dir: Path, instance) -> dg.ExecuteInProcessResult:
    settings = make_settings(data_dir)
    asset = build_source_asset(source, settings, frozenset({"crm"}))
    return dg.materialize(
        [asset],
        instance=instance,
        resources={
            "s3": S3Resource(),
            "io_manager": ParquetIOManager(base_path=str(settings.storage_base)),
        },
        raise_on_error=False,
    )


def stored(data_dir: Path, name: str) -> pl.DataFrame:
    return ParquetIOManager(base_path=str(make_settings(data_dir).storage_base)).read_asset(name)


def test_a_wrong_encoding_stops_the_run_naming_the_file_and_the_fix(tmp_path):
    write_crm(tmp_path, 200)
    with dg.instance_for_test() as instance:
        assert materialize(crm_source(), tmp_path, instance).success
        good = stored(tmp_path, "raw_crm")

        write_crm(tmp_path, 200, encoding="cp1252", accented=40)  # 20% of rows undecodable
        result = materialize(crm_source(), tmp_path, instance)

        assert not result.success
        failure = result.failure_data_for_node("raw_crm").error.message
        assert "contacts.csv" in failure and "undecodable bytes" in failure
        assert "csv.encoding: windows-1252" in failure
        assert "40 of 200 rows" in failure
        check = result.get_asset_check_evaluations()[0]
        assert check.check_name == SOURCE_HEALTH_CHECK and not check.passed
        # The rejects are there to see; the raw table is still the last good one.
        assert stored(tmp_path, "raw_crm_rejects").height == 40
        assert stored(tmp_path, "raw_crm").equals(good)

        assert materialize(crm_source(csv={"encoding": "windows-1252"}), tmp_path, instance).success
        names = stored(tmp_path, "raw_crm").get_column("given_name").head(3).to_list()
        assert names == ["Søren", "José", "Zoë"]


def test_a_record_quarantined_below_the_threshold_keeps_its_last_good_version(tmp_path):
    write_crm(tmp_path, 200)
    with dg.instance_for_test() as instance:
        assert materialize(crm_source(), tmp_path, instance).success
        write_crm(tmp_path, 200, encoding="cp1252", accented=1)  # one bad row: C0
        result = materialize(crm_source(), tmp_path, instance)

        assert result.success
        raw = stored(tmp_path, "raw_crm")
        assert raw.height == 200
        carried = raw.filter(pl.col("record_id") == "C0").row(0, named=True)
        assert carried["given_name"] == "Person0" and carried["attr_tier"] == "gold"
        assert stored(tmp_path, "raw_crm_rejects").get_column("record_key").to_list() == ["C0"]


def test_a_fall_in_rows_against_the_last_good_run_stops_the_run(tmp_path):
    write_crm(tmp_path, 200)
    with dg.instance_for_test() as instance:
        assert materialize(crm_source(), tmp_path, instance).success
        write_crm(tmp_path, 120)  # a half-copied export
        result = materialize(crm_source(), tmp_path, instance)
        assert not result.success
        message = result.failure_data_for_node("raw_crm").error.message
        assert "120 rows against 200" in message and "max_row_drop" in message
        # Allowed explicitly, the run goes on.
        assert materialize(crm_source(max_row_drop=0.5), tmp_path, instance).success


def test_health_verdicts():
    source = crm_source()
    rejects = pl.DataFrame(
        {
            "file": ["f.csv"] * 9,
            "line": list(range(2, 11)),
            "field": ["Email"] * 9,
            "value": ["x"] * 9,
            "reason": ["bad"] * 9,
        }
    )
    # 9 of 100 rejected is 9%, but fewer than ten rows never stop a run.
    assert source_health(source, 91, rejects, 100, None).ok
    more = pl.concat([rejects, rejects.with_columns(pl.col("line") + 20)])
    verdict = source_health(source, 82, more, 100, None)
    assert not verdict.ok and "18 of 100 rows (18.0%)" in verdict.problems[0]
    assert source_health(source, 2000, more, 2018, None).ok  # 0.9%
    assert not source_health(source, 79, rejects.clear(), 79, 100).ok  # fell 21%
    assert source_health(source, 81, rejects.clear(), 81, 100).ok  # fell 19%
    assert not source_health(source, 10, rejects.clear(), 10, None, stops=("CAD",)).ok


def test_the_stop_message_masks_the_values_it_quotes():
    """The message lands in Dagster's run history: it names file, lines and reason, and shows
    the refused values masked as their column's previews are."""
    rejects = pl.DataFrame(
        {
            "file": ["f.csv"] * 12,
            "line": list(range(2, 14)),
            "field": ["Email"] * 12,
            "value": [f"jane.doe{n}@gmail" for n in range(12)],
            "reason": ["not an email address"] * 12,
        }
    )
    (problem,) = source_health(crm_source(), 88, rejects, 100, None).problems
    assert "f.csv (lines 2, 3, 4)" in problem and "not an email address" in problem
    assert "jane.doe0" not in problem and "values such as ['jane.doe0@gmail'" not in problem
    assert "values such as ['j•••@gmail', 'j•••@gmail', 'j•••@gmail']" in problem


def test_guess_encoding():
    assert guess_encoding("Søren;Müller".encode("cp1252")) == "windows-1252"
    assert guess_encoding("Søren".encode(), declared="windows-1252") == "utf-8"
    assert guess_encoding("Søren".encode("utf-16")) == "utf-16"


def test_a_small_file_in_the_wrong_encoding_stops_on_its_first_run(tmp_path):
    write_crm(tmp_path, 20, encoding="cp1252", accented=3)
    with dg.instance_for_test() as instance:
        result = materialize(crm_source(), tmp_path, instance)
        assert not result.success
        message = result.failure_data_for_node("raw_crm").error.message
        assert "csv.encoding: windows-1252" in message


def test_a_few_pasted_stray_bytes_in_a_utf8_file_do_not_stop(tmp_path):
    write_crm(tmp_path, 20, accented=10)  # UTF-8 accents ...
    path = tmp_path / "crm" / "contacts.csv"
    pasted = "C98,Zoë,y@example.com,gold\nC99,Zoë,z@example.com,gold\n".encode("cp1252")
    path.write_bytes(path.read_bytes() + pasted)  # ... and two rows pasted from a cp1252 file
    with dg.instance_for_test() as instance:
        assert materialize(crm_source(), tmp_path, instance).success
