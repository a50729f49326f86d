"""Authoring end to end (issue 18, item 7): a second-stage audience over
braze_customer_attributes reaches what the sync sends, and a campaign runs as its own job
against the emulator, sending only its members and attributes on the destination's ledger.

Seven people: their lifecycle (from the order history, as of 2025-06-01) decides who is lapsing
(last order 180 to 365 days ago): p1, p2, p3 and p4; p2 is a high-value buyer, whom the campaign
excludes. Figures are the spec's: every object carries exactly one identifier, and a custom
attribute written counts as a data point (shared/spec/braze-api.md).
"""

from __future__ import annotations

import datetime as dt
import textwrap

import dagster as dg
import polars as pl

from amperity_braze_assets.activation.assets import build_attribute_assets
from amperity_braze_assets.activation.attribute_audiences import ATTRIBUTE_AUDIENCES_ASSET
from amperity_braze_assets.activation.campaigns import load_campaigns
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.braze.campaign_assets import build_campaign_assets
from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger
from amperity_braze_assets.braze.sync_assets import build_sync_assets, stable_shard
from amperity_braze_assets.braze.workspace_assets import build_workspace_assets
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.orchestration.jobs import build_campaign_jobs
from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.helpers import fake_identity, settings_for, sync_resources

KEY = "authoring-e2e-key-0001"
UTC = pl.Datetime("us", "UTC")
ATTRIBUTES = """
max_reject_share: 0.5
standard:
  first_name: customer_360.given_name
custom:
  loyalty_tier: {source: customer_360.loyalty_tier, type: String}
  order_recency:
    source: customer_transactions.days_since_last_order
    type: String
    buckets: [{up_to: 180, label: "0-180"}, {up_to: 365, label: "181-365"}, {label: "365+"}]
  lifecycle_status:
    type: String
    cases:
      - when: {customer_transactions.latest_order_at: {within_last: 180 days}}
        value: active
      - when: {customer_transactions.latest_order_at: {within_last: 365 days}}
        value: lapsing
      - when: {customer_transactions.lifetime_frequency: {">=": 1}}
        value: lapsed
    default: prospect
audiences:
  high_value_buyers: {attribute: audience_high_value}
"""
SQL = {
    "high_value_buyers": "SELECT amperity_id FROM customer_transactions WHERE l12m_monetary >= 500",
    # the second stage: reads braze_customer_attributes, members by its identifier
    "lapsing": "SELECT external_id FROM braze_customer_attributes "
    "WHERE lifecycle_status = 'lapsing'",
}
SEGMENTS = """
segments:
  gold_lapsing:
    where:
      all:
        - braze_customer_attributes.loyalty_tier: Gold
        - braze_customer_attributes.lifecycle_status: lapsing
"""
DESTINATIONS = """
destinations:
  braze:
    api_key_env: BRAZE_API_KEY
    rest_endpoint_env: BRAZE_REST_ENDPOINT
    attributes: all
"""
WINBACK = """
description: Win back lapsing customers.
audience: lapsing
exclude: [high_value_buyers]
destination: braze
attributes: [first_name, lifecycle_status]
schedule: "0 9 * * 1"
"""
IDS = [f"p{i}" for i in range(1, 8)]
# days before 2025-06-01 of each person's last order (None: never ordered)
LAST_ORDER_DAYS = [200, 250, 300, 364, 30, 400, None]


def stand_ins() -> list[dg.AssetsDefinition]:
    as_of = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)

    @dg.asset(name="customer_360")
    def customer_360() -> pl.DataFrame:
        tiers = ["Gold", "Gold", None, "Silver", "Gold", None, None]
        names = ["Ann", "Bob", "Cy", "Di", "Ed", "Flo", "Gus"]
        # for the alias tests (test_campaign_identifiers.py): p2 and p5 have no web id, and p5
        # no loyalty number either
        web_ids = ["w1", None, "w3", "w4", None, "w6", "w7"]
        cards = ["L1", "L2", "L3", "L4", None, "L6", "L7"]
        return pl.DataFrame(
            {
                "amperity_id": IDS,
                "given_name": names,
                "loyalty_tier": tiers,
                "web_id": web_ids,
                "loyalty_number": cards,
            }
        )

    @dg.asset(name="customer_transactions")
    def customer_transactions() -> pl.DataFrame:
        days = LAST_ORDER_DAYS[:6]
        return pl.DataFrame(
            {
                "amperity_id": IDS[:6],
                "latest_order_at": [as_of - dt.timedelta(days=d) for d in days],
                "days_since_last_order": days,
                "lifetime_frequency": [1, 9, 2, 3, 4, 1],
                "l12m_monetary": [50.0, 900.0, 80.0, 20.0, 120.0, 0.0],
            },
            schema_overrides={"latest_order_at": UTC},
        )

    return [customer_360, customer_transactions]


def write_project(
    tmp_path,
    campaigns: dict[str, str] | None = None,
    attributes: str = ATTRIBUTES,
    destinations: str = DESTINATIONS,
    segments: str = SEGMENTS,
):
    config_dir = tmp_path / "config"
    (config_dir / "audiences").mkdir(parents=True)
    # the loyalty source also carries the web id and the loyalty number the alias tests read
    sources = (SAMPLE_CONFIG_DIR / "sources.yaml").read_text()
    anchor = "      joined: loyalty_joined_on\n"
    extra = "      web_id: web_id\n      card: loyalty_number\n"
    (config_dir / "sources.yaml").write_text(sources.replace(anchor, anchor + extra))
    (config_dir / "attributes.yaml").write_text(textwrap.dedent(attributes))
    (config_dir / "segments.yaml").write_text(textwrap.dedent(segments))
    (config_dir / "destinations.yaml").write_text(textwrap.dedent(destinations))
    for name, query in SQL.items():
        (config_dir / "audiences" / f"{name}.sql").write_text(query)
    if campaigns:
        (config_dir / "campaigns").mkdir()
        for name, text in campaigns.items():
            (config_dir / "campaigns" / f"{name}.yaml").write_text(textwrap.dedent(text))
    return config_dir


def graph(
    tmp_path,
    emulator_url: str,
    campaigns: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
    write: bool = True,
    **env: str,
):
    """(settings, assets, campaigns, jobs) of the project, as definitions.py wires them;
    ``files``: write_project's attributes, destinations or segments text instead of these;
    ``write`` false: the project already written under ``tmp_path`` (edited since), reloaded."""
    config_dir = (
        write_project(tmp_path, campaigns, **(files or {})) if write else tmp_path / "config"
    )
    settings = settings_for(
        tmp_path / "data",
        config_dir,
        BRAZE_API_KEY=KEY,
        BRAZE_REST_ENDPOINT=emulator_url,
        AMPERITY_BRAZE_AS_OF="2025-06-01",
        **env,
    )
    project = load_project_config(settings, check_files=False)
    mapping = load_attribute_config(project)
    destinations = load_destinations(settings)
    loaded = load_campaigns(config_dir, mapping, {d.name: d.attributes for d in destinations})
    assets = [
        *stand_ins(),
        fake_identity,
        *build_attribute_assets(project, settings),
        *build_sync_assets(None, settings, destinations, ATTRIBUTE_AUDIENCES_ASSET),
        *build_workspace_assets(mapping, settings, destinations),
        *build_campaign_assets(loaded, destinations, settings, ATTRIBUTE_AUDIENCES_ASSET),
    ]
    ledgers = {} if settings.sync_shards > 1 else {d.name: d.ledger for d in destinations}
    jobs = build_campaign_jobs(loaded, ledgers)
    return settings, project, assets, loaded, jobs


def ledger_of(settings, name: str = "default") -> pl.DataFrame:
    view = Ledger(StateStore(base_path=settings.state_base).tables(), name).view()
    return view.accepted.sort(IDENTIFIER)


REGULAR_SYNC = [
    "customer_360",
    "customer_transactions",
    "identity_resolution",
    "audiences",
    "braze_customer_attributes",
    "braze_attribute_rejects",
    ATTRIBUTE_AUDIENCES_ASSET,
    "braze_workspace_check",
    "braze_attribute_diff",
    "braze_sync",
]


def test_second_stage_audiences_reach_what_the_sync_sends(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    with start_emulator(KEY) as emulator:
        settings, _, assets, _, _ = graph(tmp_path, emulator.url)
        result = dg.materialize(assets, selection=REGULAR_SYNC, resources=sync_resources(settings))
        profiles = emulator.profiles
    assert result.success
    flags = {p: (v["audience_lapsing"], v["audience_gold_lapsing"]) for p, v in profiles.items()}
    assert flags == {
        "p1": (True, True),
        "p2": (True, True),
        "p3": (True, False),
        "p4": (True, False),
        "p5": (False, False),
        "p6": (False, False),
        "p7": (False, False),
    }
    stage = result.asset_materializations_for_node(ATTRIBUTE_AUDIENCES_ASSET)[0].metadata
    assert stage["members_lapsing"].value == 4 and stage["members_gold_lapsing"].value == 2
    # the flags are in the ledger as Braze accepted them, like any attribute
    assert ledger_of(settings)["audience_lapsing"].to_list() == ["true"] * 4 + ["false"] * 3


def test_a_campaign_job_sends_only_its_members_and_attributes_and_keeps_the_ledger_exact(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    with start_emulator(KEY) as emulator:
        settings, _, assets, campaigns, jobs = graph(tmp_path, emulator.url, {"winback": WINBACK})
        defs = dg.Definitions(
            assets=assets, jobs=list(jobs.values()), resources=sync_resources(settings)
        )
        job = defs.resolve_job_def("campaign_winback")
        result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
        after_campaign = emulator.profiles
        campaign_counters = emulator.counters
        # the regular sync afterwards: everything else, and nothing the campaign already sent
        regular = dg.materialize(assets, selection=REGULAR_SYNC, resources=sync_resources(settings))
        after_regular = emulator.profiles
        regular_counters = emulator.counters
    assert result.success and regular.success
    # lapsing p1..p4 minus the high-value p2; first_name, lifecycle_status and its own flag
    assert after_campaign == {
        p: {"first_name": name, "lifecycle_status": "lapsing", "campaign_winback": True}
        for p, name in (("p1", "Ann"), ("p3", "Cy"), ("p4", "Di"))
    }
    assert (campaign_counters.objects, campaign_counters.data_points) == (3, 9)
    metadata = result.asset_materializations_for_node("campaign_winback_sync")[0].metadata
    assert metadata["members"].value == 3 and metadata["accepted"].value == 3
    assert job.tags["campaign"] == "winback" and job.tags["braze-ledger/default"] == "1"
    assert "audience lapsing excluding high_value_buyers to destination 'braze'" in (
        job.description
    )
    # The regular sync sent the campaign's members only what the campaign did not: every
    # non-null value of the 7 people is 45 (first_name 7, loyalty_tier 4, order_recency 6,
    # lifecycle_status 7, three audience flags 7 each), less the 6 of them the campaign sent
    # (its own flag is none of the regular sync's).
    assert regular_counters.objects - campaign_counters.objects == 7
    assert regular_counters.data_points - campaign_counters.data_points == 45 - 6
    for person in ("p1", "p3", "p4"):
        assert after_regular[person]["lifecycle_status"] == "lapsing"
    ledger = ledger_of(settings)
    assert ledger.height == 7
    # exact: every value Braze holds is the ledger's, for everyone
    for row in ledger.iter_rows(named=True):
        held = after_regular[row[IDENTIFIER]]
        assert row["first_name"] == held["first_name"]
        assert row["lifecycle_status"] == held["lifecycle_status"]
        assert row["audience_lapsing"] == str(held["audience_lapsing"]).lower()
        assert row["campaign_winback"] == (
            None if row[IDENTIFIER] not in after_campaign else "true"
        )
        assert held.get("campaign_winback") == (True if row[IDENTIFIER] in after_campaign else None)
    assert campaigns[0].attributes == ("first_name", "lifecycle_status", "campaign_winback")


def test_a_sharded_campaign_sends_each_shards_members_on_that_shards_ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    with start_emulator(KEY) as emulator:
        settings, _, assets, _, jobs = graph(
            tmp_path, emulator.url, {"winback": WINBACK}, AMPERITY_BRAZE_SYNC_SHARDS="2"
        )
        defs = dg.Definitions(
            assets=assets, jobs=list(jobs.values()), resources=sync_resources(settings)
        )
        job = defs.resolve_job_def("campaign_winback")
        result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
        profiles = emulator.profiles
    assert result.success
    assert sorted(profiles) == ["p1", "p3", "p4"]
    owners = stable_shard(pl.Series(["p1", "p3", "p4"]), 2)
    for shard in (0, 1):
        ledger = ledger_of(settings, f"default/shard-{shard}-of-2")
        expected = [p for p, o in zip(["p1", "p3", "p4"], owners, strict=True) if o == shard]
        assert ledger[IDENTIFIER].to_list() == expected
    metadata = result.asset_materializations_for_node("campaign_winback_sync")[0].metadata
    assert (metadata["shards"].value, metadata["accepted"].value) == (2, 3)
    assert not any(key.startswith("braze-ledger/") for key in job.tags)  # the leases guard


INLINE = """
audience: null
sql: SELECT external_id FROM braze_customer_attributes WHERE loyalty_tier = 'Gold'
exclude: [high_value_buyers]
attributes: [first_name]
once: true
"""


def test_an_inline_sql_campaign_sends_its_members_with_its_own_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    with start_emulator(KEY) as emulator:
        settings, _, assets, campaigns, jobs = graph(tmp_path, emulator.url, {"gold": INLINE})
        defs = dg.Definitions(
            assets=assets, jobs=list(jobs.values()), resources=sync_resources(settings)
        )
        result = defs.resolve_job_def("campaign_gold").execute_in_process(
            instance=dg.DagsterInstance.ephemeral()
        )
        profiles = emulator.profiles
    assert result.success
    # Gold: p1, p2, p5; p2 is a high-value buyer, excluded
    assert profiles == {
        "p1": {"first_name": "Ann", "campaign_gold": True},
        "p5": {"first_name": "Ed", "campaign_gold": True},
    }
    assert campaigns[0].attributes == ("first_name", "campaign_gold")
    assert campaigns[0].flag is None
