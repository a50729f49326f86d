"""A brand's own exports, unchanged, through the whole asset graph to Braze.

The fixtures (``fixtures/exports``, written by ``make_fixtures.py``) are Shopify customers and
orders, a Salesforce contacts report in Windows-1252, a Square customer directory and a Mailchimp
audience re-saved by Excel, each in its vendor's layout with its quirks. ``config/brand`` maps
them with configuration alone. One run of ``braze_sync_job`` as a dry run, and the request bodies
it would send are what these tests read: what a brand's Braze would receive.

The second scenario is the issue's worst case: the Salesforce file read as UTF-8 after a good
run against the Braze emulator. The run must stop before the sync, name the file and the
encoding to set, and leave every value in Braze as it was.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from amperity_braze_assets.definitions import build_definitions
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.settings import Settings
from amperity_braze_assets_tests.conftest import make_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
SYSTEMS = ("shopify", "salesforce", "square", "mailchimp")
# The brand's "today": recency figures and the last-12-months window are computed from it.
AS_OF = "2026-01-15T00:00:00Z"
KEY = "exports-e2e-key-5f0c"


def project_settings(root: Path, scenario: str, **env: str) -> Settings:
    """The exports copied unchanged under ``<root>/data/sources``; the scenario's config."""
    sources = root / "data" / "sources"
    for system in SYSTEMS:
        if not (sources / system).exists():
            shutil.copytree(FIXTURES / system, sources / system)
    return make_settings(
        root / "data", FIXTURES / "config" / scenario, AMPERITY_BRAZE_AS_OF=AS_OF, **env
    )


def run_sync_job(settings: Settings, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    defs = build_definitions(settings)
    return defs.resolve_job_def("braze_sync_job").execute_in_process(
        instance=instance, raise_on_error=False
    )


def dry_run_profiles(settings: Settings, run_id: str) -> dict[str, dict]:
    """Every attribute object the dry run would send, merged per external_id."""
    profiles: dict[str, dict] = {}
    for path in (settings.data_dir / "braze" / "dry_run" / run_id).glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            for item in json.loads(line).get("attributes", []):
                profiles.setdefault(item["external_id"], {}).update(item)
    return profiles


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """What a user reads about a stopped run: step errors and failed checks with metadata."""
    parts = [
        event.event_specific_data.error.to_string()
        for event in result.all_events
        if event.is_step_failure
    ]
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            parts.append(evaluation.description or "")
            parts.extend(str(value.value) for value in evaluation.metadata.values())
    return "\n".join(parts)


@pytest.fixture(scope="module")
def brand(tmp_path_factory):
    """One dry run of the brand's configuration: (settings, result, profiles by email)."""
    root = tmp_path_factory.mktemp("brand")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("BRAZE_API_KEY", raising=False)
        patch.delenv("AMPERITY_BRAZE_DRY_RUN", raising=False)
        settings = project_settings(root, "brand", BRAZE_REST_ENDPOINT="http://127.0.0.1:9")
        with dg.instance_for_test() as instance:
            result = run_sync_job(settings, instance)
    assert result.success, failure_text(result)[-4000:]
    profiles = dry_run_profiles(settings, result.run_id)
    by_email: dict[str, list[dict]] = {}
    for profile in profiles.values():
        if profile.get("email"):
            by_email.setdefault(profile["email"], []).append(profile)
    return settings, result, by_email


def person(by_email: dict[str, list[dict]], email: str) -> dict:
    """The one profile Braze gets for this email (two would be one person split in two)."""
    found = by_email.get(email, [])
    assert len(found) == 1, f"{email}: {len(found)} profiles"
    return found[0]


def stored(settings: Settings, asset: str) -> pl.DataFrame:
    return pl.read_parquet(Path(settings.storage_base) / f"{asset}.parquet")


def test_every_export_is_read_whole_with_its_configuration_alone(brand):
    settings, result, _ = brand
    for source in ("shopify_customers", "shopify_orders", "salesforce", "square", "mailchimp"):
        rejects = stored(settings, f"raw_{source}_rejects")
        assert rejects.height == 0, (source, rejects.select("line", "field", "reason").rows())
    assert stored(settings, "raw_shopify_customers").height == 10
    assert stored(settings, "raw_square").height == 6
    assert stored(settings, "raw_mailchimp").height == 5
    # The sandbox contact is filtered out by the source's `where:`, not quarantined.
    salesforce = stored(settings, "raw_salesforce")
    assert salesforce.height == 20
    sync = result.asset_materializations_for_node("braze_sync")[0].metadata
    assert sync["dry_run"].value


def test_line_item_rows_are_one_order_each_and_the_lines_are_kept(brand):
    settings, _, _ = brand
    orders = stored(settings, "raw_shopify_orders")
    assert orders.height == 13 and orders["order_id"].is_unique().all()
    first = orders.filter(pl.col("order_id") == "#1001").row(0, named=True)
    # Order-level values come from the first row of the order, which alone carries them: the
    # amount as exported (CAD 100) or already in the reporting currency (USD 75).
    assert (first["currency"], round(first["amount"], 2)) in {("CAD", 100.0), ("USD", 75.0)}
    assert first["status"] == "paid" and first["email"] == "soren.norgaard@gmail.com"
    lines = stored(settings, "raw_shopify_orders_lines")
    assert lines.height == 18
    socks = lines.filter((pl.col("order_id") == "#1001") & (pl.col("sku") == "WS-OAT"))
    assert socks.height == 1 and int(socks["quantity"][0]) == 2


def test_times_in_each_systems_format_are_read(brand):
    settings, _, _ = brand
    records = stored(settings, "customer_records")
    updated = dict(
        zip(
            records["record_id"].cast(pl.String),
            records["updated_at"].cast(pl.String),
            strict=True,
        )
    )
    # Salesforce's "12/30/2025 11:31 PM" and the Square dump's epoch milliseconds.
    assert updated["0035e00000A1b2CAAR"].startswith("2025-12-30 23:31:00")
    assert updated["X6Q1V8ZQ6D2N70G9"].startswith("2025-12-10 15:30:00")
    for source in ("salesforce", "square", "shopify_orders"):
        assert records.filter(pl.col("source") == source)["updated_at"].null_count() == 0, source


@pytest.mark.parametrize(
    ("email", "first_name", "last_name"),
    [
        ("soren.norgaard@gmail.com", "Søren", "Nørgaard"),  # Salesforce, Windows-1252
        ("jose.muller@web.de", "José", "Müller"),
        ("zoe.ashford@gmail.com", "Zoë", "Ashford"),
        ("francois.darcy@bell.net", "François", "D’Arcy"),
        ("bjorn.saether@gmail.com", "Björn", "Sæther"),
        ("zoe.oconnor@btinternet.com", "Zoë", "O'Connor"),  # Shopify
        ("aiko.yamada@icloud.com", "愛子", "山田"),
        ("jl.tremblay@videotron.ca", "Jean-Luc", "Tremblay"),
        ("mk.sullivan@outlook.com", "Mary-Kate", "Sullivan"),
        ("lukasz.wisniewski@wp.pl", "Łukasz", "Wiśniewski"),  # Square and Mailchimp
        ("siobhan.nibhriain@eircom.net", "Siobhán", "Ní Bhriain"),
        ("niamh.obrien@sky.com", "Niamh", "O'Brien-Walsh"),  # Mailchimp, `;` and a BOM
        ("maya.dr@fastmail.com", "Maya", "Delgado-Reyes"),  # a guest's Billing Name
    ],
)
def test_names_reach_braze_as_written(brand, email, first_name, last_name):
    profile = person(brand[2], email)
    assert (profile.get("first_name"), profile.get("last_name")) == (first_name, last_name)


def test_spend_counts_paid_orders_in_the_reporting_currency(brand):
    by_email = brand[2]
    expected = {
        # CAD 100 paid (x 0.75); CAD 60 refunded does not count.
        "soren.norgaard@gmail.com": (75.0, 1),
        # USD 80 paid; a pending and a voided order do not count.
        "zoe.oconnor@btinternet.com": (80.0, 1),
        # USD 200 less 50 refunded, plus USD 40 bought under her second account.
        "priya.raman@gmail.com": (190.0, 2),
        "jl.tremblay@videotron.ca": (71.25, 1),
        "grace.lindqvist@hotmail.com": (39.0, 1),
        "mk.sullivan@outlook.com": (33.0, 1),
    }
    for email, (spend, orders) in expected.items():
        profile = person(by_email, email)
        assert profile.get("lifetime_monetary") == pytest.approx(spend), email
        assert profile.get("lifetime_frequency") == orders, email
    # Shopify's "2025-12-30 23:31:31 -0700" is 06:31:31 UTC the next day.
    latest = person(by_email, "zoe.oconnor@btinternet.com")["latest_order_at"]
    assert str(latest).startswith("2025-12-31T06:31:31")
    assert person(by_email, "soren.norgaard@gmail.com").get("audience_big_spenders") is False
    assert "big_spenders" in person(by_email, "priya.raman@gmail.com").get("audiences", [])


def test_a_guest_buyer_becomes_a_person_with_her_orders(brand):
    maya = person(brand[2], "maya.dr@fastmail.com")  # her second order says Maya.DR@Fastmail.com
    assert maya.get("lifetime_monetary") == pytest.approx(165.5)
    assert maya.get("lifetime_frequency") == 2
    assert maya.get("phone") == "+12124730144" and maya.get("primary_state") == "NY"
    # A guest at Shopify with a Salesforce contact: one person, the contact's tier and her order.
    harriet = person(brand[2], "h.ashdown-clarke@outlook.com")
    assert harriet.get("loyalty_tier") == "Silver"
    assert harriet.get("lifetime_monetary") == pytest.approx(64.0)


def test_an_account_and_a_contact_are_one_person_with_every_value(brand):
    soren = person(brand[2], "soren.norgaard@gmail.com")
    assert soren.get("loyalty_tier") == "Gold"  # Salesforce
    assert soren.get("shopify_total_spent") == pytest.approx(60.0)  # Shopify
    assert soren.get("dob") == "1986-04-07"  # Salesforce's 4/7/1986
    # Priya's two Shopify accounts and her contact: one person; Total Spent is the larger.
    priya = person(brand[2], "priya.raman@gmail.com")
    assert "priya@ramandesign.co" not in brand[2]
    assert priya.get("shopify_total_spent") == pytest.approx(150.0)
    assert priya.get("loyalty_tier") == "Platinum"


def test_phones_take_the_records_country_then_the_sources_region(brand):
    by_email = brand[2]
    # A Shopify record in GB, a Salesforce contact in the United Kingdom: national numbers.
    assert person(by_email, "zoe.oconnor@btinternet.com").get("phone") == "+447946123123"
    assert person(by_email, "h.ashdown-clarke@outlook.com").get("phone") == "+442079460958"
    # The Mailchimp list's phone_region: GB.
    assert person(by_email, "niamh.obrien@sky.com").get("phone") == "+447911123456"
    assert person(by_email, "ffion.price@gmail.com").get("phone") == "+447825456789"
    # Excel's 4.47912E+11 lost its last digits: no made-up number reaches Braze.
    assert person(by_email, "oscar.pennington@btinternet.com").get("phone") is None
    # North American numbers as written in each system.
    assert person(by_email, "jose.muller@web.de").get("phone") == "+13128760175"
    assert person(by_email, "lukasz.wisniewski@wp.pl").get("phone") == "+16046690188"


def test_states_and_provinces_become_iso_codes(brand):
    by_email = brand[2]
    expected = {
        "liam.macdonald@shaw.ca": "BC",  # BRITISH COLUMBIA
        "isla.campbell@eastlink.ca": "NS",  # NOVA SCOTIA
        "renee.lefevre@orange.fr": "QC",  # QUEBEC
        "ines.dubois@videotron.ca": "QC",  # Québec
        "chloe.martin@icloud.com": "FL",  # Florida
        "francois.darcy@bell.net": "ON",  # Ontario
        "ava.nguyen@yahoo.com": "CA",  # California
        "jose.muller@web.de": "IL",  # Illinois
        "priya.raman@gmail.com": "CA",  # Shopify's code and Salesforce's California
    }
    for email, state in expected.items():
        assert person(by_email, email).get("primary_state") == state, email


def test_the_sandbox_contact_never_reaches_braze(brand):
    assert "qa.sandbox@northloom.com" not in brand[2]
    assert all(
        profile.get("last_name") != "Contact"
        for profiles in brand[2].values()
        for profile in profiles
    )


def test_a_file_read_with_the_wrong_encoding_stops_the_run_and_braze_keeps_every_value(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("AMPERITY_BRAZE_DRY_RUN", raising=False)
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        monkeypatch.setenv("BRAZE_REST_ENDPOINT", emulator.url)
        env = {"BRAZE_API_KEY": KEY, "BRAZE_REST_ENDPOINT": emulator.url}
        with dg.instance_for_test() as instance:
            good = run_sync_job(project_settings(tmp_path, "brand", **env), instance)
            assert good.success, failure_text(good)[-4000:]
            before = copy.deepcopy(emulator.profiles)
            requests_before = emulator.counters.requests
            # The same files, the Salesforce report now read as UTF-8.
            bad_settings = project_settings(tmp_path, "wrong_encoding", **env)
            bad = run_sync_job(bad_settings, instance)
        after = emulator.profiles
        requests_after = emulator.counters.requests
    tiers = [p for p in before.values() if p.get("loyalty_tier")]
    assert len(before) >= 25 and len(tiers) >= 14
    assert not bad.success
    message = failure_text(bad)
    assert "contacts_report.csv" in message
    assert re.search(r"csv\.encoding: (windows-1252|cp1252)", message, re.IGNORECASE), message
    # Nothing reached Braze: no request, no value cleared, no profile lost.
    assert requests_after == requests_before
    assert after == before
    assert not bad.asset_materializations_for_node("braze_sync")
    assert not list((bad_settings.data_dir / "braze" / "dry_run").glob(f"{bad.run_id}/*"))


def test_an_audience_over_line_items_counts_only_paid_orders(brand):
    _, _, by_email = brand
    # Søren's socks came with paid #1001; Zoë's only with pending #1004.
    assert "sock_buyers" in person(by_email, "soren.norgaard@gmail.com").get("audiences", [])
    assert "sock_buyers" in person(by_email, "mk.sullivan@outlook.com").get("audiences", [])
    assert "sock_buyers" not in person(by_email, "zoe.oconnor@btinternet.com").get("audiences", [])


def test_orders_keyed_by_email_as_a_customer_key_stop_with_the_fix(tmp_path):
    """The mistake the issue's user made: the buyer's email mapped as ``customer-key``. Every
    order then names a record nobody has; the run stops before Braze and says what to tag."""
    config = tmp_path / "config"
    shutil.copytree(FIXTURES / "config" / "brand", config)
    text = (config / "sources.yaml").read_text()
    buyer_lines = [
        f"      {column}: {tag}\n"
        for column, tag in (
            ("Billing Name", "full-name"),
            ("Billing Phone", "phone"),
            ("Billing Company", "company"),
            ("Billing Address1", "address"),
            ("Billing Address2", "address2"),
            ("Billing City", "city"),
            ("Billing Province", "state"),
            ("Billing Zip", "postal"),
            ("Billing Country", "country"),
        )
    ]
    for line in buyer_lines:
        assert line in text
        text = text.replace(line, "")
    text = text.replace(
        "      Email: email\n      Lineitem sku",
        "      Email: customer-key\n      Lineitem sku",
    ).replace(
        "    exclude_statuses: [pending, voided, refunded]\n",
        "    exclude_statuses: [pending, voided, refunded]\n    customer_source: shopify_customers\n",
    )
    (config / "sources.yaml").write_text(text)
    settings = project_settings(tmp_path, "brand")
    settings = make_settings(settings.data_dir, config, AMPERITY_BRAZE_AS_OF=AS_OF)
    with dg.instance_for_test() as instance:
        result = run_sync_job(settings, instance)
    assert not result.success
    message = failure_text(result)
    # 13 orders, of which the pending, voided and refunded ones do not count.
    assert "10 of 10 orders name a customer record that no customer source has" in message
    assert "tag that column 'email'" in message
    assert not (settings.data_dir / "braze" / "dry_run").exists()
