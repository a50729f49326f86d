"""The Dagster face: destinations validated at load, and the assets materialized for real."""

from __future__ import annotations

import dagster as dg
import pytest

from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.resources import build_braze_resources
from amperity_braze_assets.braze.sync_assets import build_sync_assets
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.orchestration.jobs import build_jobs
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.helpers import (
    SYNC_SELECTION,
    fake_attributes,
    fake_identity,
    materialize,
    settings_for,
)

KEY = "assets-test-key-77aa"


def test_sync_against_the_emulator_then_nothing_to_send(tmp_path, monkeypatch):
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(tmp_path, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url)
        everything = SYNC_SELECTION
        result = materialize(settings, everything)
        assert result.success
        sync = result.asset_materializations_for_node("braze_sync")[0].metadata
        assert (
            sync["accepted"].value == 3
            and sync["data_points"].value == 6
            and not sync["dry_run"].value
        )
        diff = result.asset_materializations_for_node("braze_attribute_diff")[0].metadata
        assert diff["new"].value == 3 and diff["data_points"].value == 6
        assert emulator.profiles["a"] == {"first_name": "Ann", "audience_vip": True}
        again = materialize(settings, everything)
        assert again.asset_materializations_for_node("braze_sync")[0].metadata["sent"].value == 0
        log = again.output_for_node("braze_sync_log")
        assert log.height == 3 and set(log["outcome"]) == {"accepted"}  # run 2 sent no rows
        assert KEY not in str(sync)
        assert sync["summary"].value.startswith(
            "**Sent 3 profiles to Braze, complete**: accepted 3"
        )
        (check,) = [
            c for c in result.get_asset_check_evaluations() if c.check_name == "sent_to_braze"
        ]
        assert check.passed


def test_without_a_key_the_sync_is_a_dry_run(tmp_path, monkeypatch):
    monkeypatch.delenv("BRAZE_API_KEY", raising=False)
    settings = settings_for(tmp_path, BRAZE_REST_ENDPOINT="http://127.0.0.1:9")
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(
        settings,
        ["braze_customer_attributes", "identity_resolution", "braze_sync", "braze_sync_log"],
        instance=instance,
    )
    metadata = result.asset_materializations_for_node("braze_sync")[0].metadata
    assert metadata["dry_run"].value and metadata["would_send"].value == 3
    assert list((tmp_path / "braze" / "dry_run").glob("*/braze.jsonl"))
    # Unmistakable: no figure named as if Braze had it, a headline first, a warning, a tag.
    assert not {"sent", "accepted", "rejected", "data_points_accepted"} & set(metadata)
    assert list(metadata)[0] == "summary"
    assert metadata["summary"].value.startswith("**Dry run: nothing was sent.** Would send 3 ")
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "sent_to_braze"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert instance.get_run_by_id(result.run_id).tags["dry_run"] == "true"
    # The sync log adds nothing, and previews the rows the dry run would have sent: who and
    # which fields, not the values.
    log = result.asset_materializations_for_node("braze_sync_log")[0].metadata
    assert log["this_run_rows"].value == 0
    assert "it would have sent 3 rows" in log["summary"].value
    assert "dry_run" in log["preview"].value and '"first_name"' in log["preview"].value
    assert "Ann" not in log["preview"].value


def test_a_second_destination_gets_suffixed_assets_and_a_job(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "destinations.yaml").write_text(
        "destinations:\n  braze: {}\n  brand_b:\n    api_key_env: BRAND_B_KEY\n    instance: EU-01\n"
        "    rest_endpoint_env: null\n    attributes: [first_name]\n"
    )
    settings = settings_for(tmp_path, config_dir=config)
    assets = build_sync_assets(None, settings)
    names = {key.to_user_string() for a in assets for key in a.keys}
    assert {
        "braze_sync",
        "braze_sync__brand_b",
        "braze_attribute_diff__brand_b",
        "braze_sync_log__brand_b",
    } <= names
    resources = build_braze_resources(load_destinations(settings), settings)
    assert resources["braze__brand_b"].endpoint() == "https://rest.fra-01.braze.eu"
    sync_assets = sorted(names - {"braze_customer_attributes", "identity_resolution"})
    jobs = build_jobs(sync_assets=sync_assets)
    defs = dg.Definitions(
        assets=[fake_attributes, fake_identity, *assets],
        jobs=[jobs["braze_sync_job"]],
        resources={"state_store": StateStore(base_path=str(tmp_path)), **resources},
    )
    selected = defs.resolve_job_def("braze_sync_job").asset_layer.selected_asset_keys
    assert dg.AssetKey("braze_sync__brand_b") in selected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("destinations:\n  braze:\n    identifier: loyalty_id\n", "identifier must be one of"),
        ("destinations:\n  braze:\n    rest_endpoint: http://braze.example.com\n", "plain http"),
        ("destinations:\n  braze:\n    instance: US-09\n", "unknown"),
        ("destinations:\n  braze: {}\n  b:\n    instance: US-01\n", "api_key_env"),
        ("destinations:\n  braze:\n    api_key_env: sk-live-123\n", "environment variable"),
        ("destinations:\n  braze:\n    attributes: [Birthdate]\n", "shadows"),
        ("destinations:\n  braze:\n    concurrency: 0\n", "outside"),
        ("destinations:\n  braze:\n    colour: red\n", "unknown key"),
    ],
)
def test_destination_mistakes_fail_at_load_with_the_fix(tmp_path, text, message):
    (tmp_path / "destinations.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_destinations(settings_for(tmp_path, config_dir=tmp_path))


def test_the_sync_log_speaks_of_the_run_that_just_materialized(tmp_path, monkeypatch):
    """After a real sync, a dry run's log says it sent nothing, rather than showing the earlier
    run's rows as its own (what the UI showed before)."""
    everything = SYNC_SELECTION
    instance = dg.DagsterInstance.ephemeral()
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(tmp_path, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url)
        real = materialize(settings, everything, instance=instance)
        log = real.asset_materializations_for_node("braze_sync_log")[0].metadata
        assert log["this_run_rows"].value == 3 and log["runs"].value == 1
        assert log["summary"].value.startswith("**This run sent 3 rows**: accepted 3, rejected 0")
        assert "first_name" in log["preview"].value
        dry = materialize(
            settings,
            everything,
            {"ops": {"braze_sync": {"config": {"dry_run": True}}}},
            instance=instance,
        )
    log = dry.asset_materializations_for_node("braze_sync_log")[0].metadata
    assert log["this_run_rows"].value == 0 and log["runs"].value == 1
    assert log["summary"].value.startswith("**Dry run: nothing was sent in this run**")
    assert "it would have sent 0 rows" in log["summary"].value
    assert log["preview"].value == "_(no rows in this run)_"  # nothing changed since the sync
