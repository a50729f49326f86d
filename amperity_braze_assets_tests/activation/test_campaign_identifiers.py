"""Campaigns on destinations that send by alias (review finding 2): ``identifier: user_alias``,
and ``external_id`` with ``alias_fallback``, one sync and sharded, run as their Dagster jobs
against the emulator.

The people of test_authoring_end_to_end: the campaign's audience is the Gold segment, p1, p2 and
p5. p1 has a web id (its external_id) and loyalty number L1; p2 only a loyalty number, L2; p5
neither, so no identifier: the attributes table rejects that row and it is not sent. From the spec (shared/spec/braze-api.md): exactly one
identifier per object; an alias is ``{"alias_name", "alias_label"}``, and an alias object says
``"_update_existing_only": false`` or Braze creates no profile for it.
"""

from __future__ import annotations

import json

import dagster as dg
import polars as pl

from amperity_braze_assets.braze.ledger import IDENTIFIER
from amperity_braze_assets.braze.sync_assets import stable_shard
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets_tests.activation.test_authoring_end_to_end import (
    ATTRIBUTES,
    KEY,
    SEGMENTS,
    graph,
    ledger_of,
)
from amperity_braze_assets_tests.braze.helpers import sync_resources

ALIAS_ATTRIBUTES = (
    ATTRIBUTES
    + """
identifier: external_id
identifier_source: customer_360.web_id
alias: {name: customer_360.loyalty_number, label: loyalty_id}
"""
)
GOLD_SEGMENT = SEGMENTS + "  gold:\n    where:\n      customer_360.loyalty_tier: Gold\n"
DESTINATION = """
destinations:
  braze:
    api_key_env: BRAZE_API_KEY
    rest_endpoint_env: BRAZE_REST_ENDPOINT
    attributes: all
"""
GOLD = """
audience: gold
attributes: [first_name]
once: true
"""
L1, L2 = ({"alias_name": card, "alias_label": "loyalty_id"} for card in ("L1", "L2"))


def run_campaign(tmp_path, monkeypatch, identifier: str, **env: str):
    """The emulator's profiles by external_id, else loyalty alias; the alias names of the
    profiles; the campaign's result; the settings."""
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    files = {
        "attributes": ALIAS_ATTRIBUTES,
        "segments": GOLD_SEGMENT,
        "destinations": DESTINATION + f"    identifier: {identifier}\n",
    }
    with start_emulator(KEY) as emulator:
        settings, _, assets, _, jobs = graph(tmp_path, emulator.url, {"gold": GOLD}, files, **env)
        defs = dg.Definitions(
            assets=assets, jobs=list(jobs.values()), resources=sync_resources(settings)
        )
        result = defs.resolve_job_def("campaign_gold").execute_in_process(
            instance=dg.DagsterInstance.ephemeral()
        )
        profiles, aliases = emulator.profiles, emulator.aliases()
    assert result.success
    held = {key if key.startswith("w") else aliases[key]["loyalty_id"]: p for key, p in profiles.items()}  # fmt: skip
    return held, result, settings


def campaign_metadata(result) -> dict:
    metadata = result.asset_materializations_for_node("campaign_gold_sync")[0].metadata
    # p5, without an identifier, is not a row of braze_customer_attributes (a rejected row)
    assert metadata["members"].value == 2
    return metadata


def test_a_campaign_on_a_user_alias_destination_sends_by_alias(tmp_path, monkeypatch):
    held, result, settings = run_campaign(tmp_path, monkeypatch, "user_alias")
    assert held == {
        "L1": {"first_name": "Ann", "campaign_gold": True},
        "L2": {"first_name": "Bob", "campaign_gold": True},
    }
    metadata = campaign_metadata(result)
    assert metadata["accepted"].value == 2
    assert ledger_of(settings)[IDENTIFIER].to_list() == [json.dumps(L1, separators=(",", ":")), json.dumps(L2, separators=(",", ":"))]  # fmt: skip


def test_a_campaign_with_alias_fallback_sends_the_external_id_else_the_alias(tmp_path, monkeypatch):
    held, result, settings = run_campaign(
        tmp_path, monkeypatch, "external_id\n    alias_fallback: true"
    )
    assert held == {
        "w1": {"first_name": "Ann", "campaign_gold": True},
        "L2": {"first_name": "Bob", "campaign_gold": True},
    }
    assert campaign_metadata(result)["accepted"].value == 2
    keys = ledger_of(settings)[IDENTIFIER].to_list()
    assert keys == sorted(["w1", json.dumps(L2, separators=(",", ":"))])


def test_a_sharded_campaign_on_a_user_alias_destination_shards_as_the_regular_sync(
    tmp_path, monkeypatch
):
    """A person's shard is a hash of the destination's identifier column (alias_name), as in
    braze_sync, so each shard's ledger holds exactly the people the regular sync gives it."""
    held, result, settings = run_campaign(
        tmp_path, monkeypatch, "user_alias", AMPERITY_BRAZE_SYNC_SHARDS="2"
    )
    assert set(held) == {"L1", "L2"}
    owners = stable_shard(pl.Series(["L1", "L2"]), 2)
    for shard in (0, 1):
        keys = ledger_of(settings, f"default/shard-{shard}-of-2")[IDENTIFIER].to_list()
        expected = [L for L, owner in zip((L1, L2), owners, strict=True) if owner == shard]
        assert keys == [json.dumps(a, separators=(",", ":")) for a in expected]
    metadata = result.asset_materializations_for_node("campaign_gold_sync")[0].metadata
    assert (metadata["shards"].value, metadata["accepted"].value) == (2, 2)
