"""A campaign's own flag and its logs (review 3, findings 1 and 2), against the emulator.

The people of test_authoring_end_to_end: lapsing are p1..p4, p2 is a high-value buyer whom the
winback campaign excludes, p1 and p2 are Gold (the segment gold_lapsing). The audience's flag
``audience_lapsing`` is the regular sync's, true for p2 as well: a Braze campaign targeting it
would reach the excluded. The campaign sends ``campaign_winback``: true for its members, false
for whom it sent true and who left, never for the excluded. Figures from the spec
(shared/spec/braze-api.md): one object per person, one data point per custom attribute written.
"""

from __future__ import annotations

import json
import sqlite3

import dagster as dg
import polars as pl
import pytest

from amperity_braze_assets.activation.campaigns import campaign_flags, load_campaigns
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.braze import workspace
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.console.database import ConsoleInputs, refresh_console
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.files import LocalStorage
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.activation.test_authoring_end_to_end import (
    ATTRIBUTES,
    KEY,
    REGULAR_SYNC,
    WINBACK,
    graph,
    ledger_of,
    write_project,
)
from amperity_braze_assets_tests.braze.helpers import settings_for, sync_resources

MEMBERS = {"p1", "p3", "p4"}


def run_job(assets, jobs, settings, name: str, run_config: dict | None = None):
    defs = dg.Definitions(
        assets=assets, jobs=list(jobs.values()), resources=sync_resources(settings)
    )
    result = defs.resolve_job_def(name).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=run_config
    )
    assert result.success
    return result


def test_members_get_the_campaigns_flag_the_excluded_never_and_a_member_who_leaves_false(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    with start_emulator(KEY) as emulator:
        settings, _, assets, _, jobs = graph(tmp_path, emulator.url, {"winback": WINBACK})
        run_job(assets, jobs, settings, "campaign_winback")
        first = emulator.profiles
        dg.materialize(assets, selection=REGULAR_SYNC, resources=sync_resources(settings))
        after_regular = emulator.profiles
        before = emulator.counters
        # p1 (Gold and lapsing) is now excluded too: it leaves the campaign
        edited = WINBACK.replace(
            "exclude: [high_value_buyers]", "exclude: [high_value_buyers, gold_lapsing]"
        )
        (tmp_path / "config" / "campaigns" / "winback.yaml").write_text(edited)
        settings, _, assets, _, jobs = graph(tmp_path, emulator.url, write=False)
        second = run_job(assets, jobs, settings, "campaign_winback")
        after_leaving = emulator.profiles
        counters = emulator.counters
    assert {p for p, v in first.items() if v.get("campaign_winback")} == MEMBERS
    # the regular sync sends the audience's flag to p2, but never the campaign's
    assert after_regular["p2"]["audience_lapsing"] is True
    assert "campaign_winback" not in after_regular["p2"]
    assert {p: v.get("campaign_winback") for p, v in after_regular.items()} == {
        p: (True if p in MEMBERS else None) for p in after_regular
    }
    # the leaver gets false and nothing else changed: one object, one data point
    assert {p: v.get("campaign_winback") for p, v in after_leaving.items()} == {
        "p1": False, "p2": None, "p3": True, "p4": True, "p5": None, "p6": None, "p7": None,
    }  # fmt: skip
    assert (counters.objects - before.objects, counters.data_points - before.data_points) == (1, 1)
    metadata = second.asset_materializations_for_node("campaign_winback_sync")[0].metadata
    assert (metadata["members"].value, metadata["left_campaign"].value) == (2, 1)
    ledger = ledger_of(settings)
    assert dict(zip(ledger[IDENTIFIER], ledger["campaign_winback"], strict=True)) == {
        "p1": "false", "p2": None, "p3": "true", "p4": "true", "p5": None, "p6": None, "p7": None,
    }  # fmt: skip


def both_in_one_run(tmp_path, monkeypatch, dry_run: bool):
    """The regular sync, its log and the campaign in one run: (settings, run id, result)."""
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    with start_emulator(KEY) as emulator:
        settings, _, assets, _, jobs = graph(tmp_path, emulator.url, {"winback": WINBACK})
        selection = [*REGULAR_SYNC, "braze_sync_log", "campaign_winback_sync"]
        jobs["both"] = dg.define_asset_job("both", selection=selection)
        config = {"config": {"dry_run": dry_run}}
        ops = {"braze_sync": config, "campaign_winback_sync": config}
        result = run_job(assets, jobs, settings, "both", {"ops": ops})
    return settings, result.run_id, result


def console_rows(settings, tmp_path) -> list[tuple]:
    store = StateStore(base_path=settings.state_base).tables()
    inputs = ConsoleInputs(
        {"braze": Ledger(store, "default")},
        LocalStorage(settings.storage_base),
        settings.data_dir / "braze" / "dry_run",
        "http://h",
    )
    path = tmp_path / "console.db"
    refresh_console(path, inputs)
    query = "SELECT run_id, count(*), sum(outcome = 'dry_run') FROM sync_rows GROUP BY run_id"
    return sqlite3.connect(path).execute(query).fetchall()


def test_a_campaign_and_the_regular_sync_in_one_run_keep_both_logs_whole(tmp_path, monkeypatch):
    settings, run_id, _ = both_in_one_run(tmp_path, monkeypatch, dry_run=False)
    ledger = Ledger(StateStore(base_path=settings.state_base).tables(), "default")
    names = sorted(name.rsplit("/", 1)[-1] for name in ledger.sync_log_names())
    assert names == [run_id, f"{run_id}.campaign_winback"]
    regular, campaign = (ledger.read_sync_log(n) for n in sorted(ledger.sync_log_names()))
    # the regular sync: all 7 people; the campaign: its 3 members, with the objects it sent
    assert regular.height == 7 and sorted(campaign[IDENTIFIER]) == sorted(MEMBERS)
    assert set(campaign["run_id"]) == {run_id}
    for row in campaign.iter_rows(named=True):
        assert json.loads(row["object"])["campaign_winback"] is True
    # new: Braze had accepted nothing for the person before; whichever ran first created them
    campaign_first = campaign["started_at"][0] < regular["started_at"][0]
    assert campaign["new"].to_list() == [campaign_first] * 3
    new_in_regular = regular.filter(pl.col(IDENTIFIER).is_in(list(MEMBERS)))["new"]
    assert new_in_regular.to_list() == [not campaign_first] * 3
    # the console reads both, as one run: 7 + 3 rows
    assert console_rows(settings, tmp_path) == [(run_id, 10, 0)]


def test_a_dry_run_of_both_in_one_run_keeps_both_bodies(tmp_path, monkeypatch):
    settings, run_id, result = both_in_one_run(tmp_path, monkeypatch, dry_run=True)
    folder = settings.data_dir / "braze" / "dry_run" / run_id
    regular = [json.loads(line) for line in (folder / "braze.jsonl").read_text().splitlines()]
    campaign_file = folder / "campaign_winback" / "braze.jsonl"
    campaign = [json.loads(line) for line in campaign_file.read_text().splitlines()]
    assert sum(len(body["attributes"]) for body in regular) == 7
    assert campaign == [
        {
            "attributes": [
                {
                    "external_id": p,
                    "first_name": name,
                    "lifecycle_status": "lapsing",
                    "campaign_winback": True,
                }  # fmt: skip
                for p, name in (("p1", "Ann"), ("p3", "Cy"), ("p4", "Di"))
            ]
        }
    ]
    assert (folder / "campaign_winback" / "braze.log.parquet").exists()
    assert console_rows(settings, tmp_path) == [(run_id, 10, 10)]
    metadata = result.asset_materializations_for_node("campaign_winback_sync")[0].metadata
    assert metadata["would_send"].value == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("attributes: [first_name, lifecycle_status]", "attributes: [first_name, campaign_winback]"),
            "campaign_winback is the campaign's own flag, always sent with its attributes; remove",
        ),
        (
            ("high_value_buyers: {attribute: audience_high_value}", "high_value_buyers: {attribute: campaign_winback}"),
            "campaign_winback is the flag the campaign sends (campaign_<file name>), but it is already a column",
        ),
    ],
)  # fmt: skip
def test_a_campaigns_flag_listed_or_taken_by_a_column_is_refused(tmp_path, change, message):
    config_dir = write_project(
        tmp_path, {"winback": WINBACK.replace(*change)}, attributes=ATTRIBUTES.replace(*change)
    )
    mapping = mapping_of(tmp_path, config_dir)
    with pytest.raises(ConfigError) as refused:
        load_campaigns(config_dir, mapping, {"braze": None})
    assert "campaigns/winback.yaml" in str(refused.value) and message in str(refused.value)


def mapping_of(tmp_path, config_dir):
    settings = settings_for(tmp_path / "data", config_dir)
    return load_attribute_config(load_project_config(settings, check_files=False))


def test_the_workspace_check_declares_each_campaigns_flag(tmp_path):
    config_dir = write_project(tmp_path, {"winback": WINBACK})
    mapping = mapping_of(tmp_path, config_dir)
    campaigns = load_campaigns(config_dir, mapping, {"braze": ("first_name", "lifecycle_status")})
    flags = campaign_flags(campaigns)
    assert flags == {"braze": ("campaign_winback",)}
    declared = workspace.declared_attributes(mapping, ("first_name",), flags["braze"])
    assert [(d.name, d.braze_type) for d in declared] == [("campaign_winback", "Boolean")]
