"""The sync's verdicts: a data-point budget that stops the sync before it sends, and the share
of objects Braze rejected."""

import dagster as dg
import polars as pl

from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.resources import build_braze_resources
from amperity_braze_assets.braze.sync_assets import build_sync_assets
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.helpers import (
    fake_attributes,
    fake_identity,
    settings_for,
)

KEY = "checks-test-key-0001"
EVERYTHING = [
    "braze_customer_attributes",
    "identity_resolution",
    "braze_attribute_diff",
    "braze_sync",
    "braze_sync_log",
]


def write_destinations(tmp_path, **options) -> object:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  crm:\n    files: x.csv\n    primary_key: id\n    columns: {a: email}\n"
    )
    lines = "".join(f"    {k}: {v}\n" for k, v in options.items())
    (config / "destinations.yaml").write_text(f"destinations:\n  braze:\n{lines}")
    return config


def materialize_all(settings, attributes_asset):
    return dg.materialize(
        [attributes_asset, fake_identity, *build_sync_assets(None, settings)],
        selection=EVERYTHING,
        resources={
            "io_manager": ParquetIOManager(base_path=str(settings.storage_base)),
            "state_store": StateStore(base_path=settings.state_base),
            **build_braze_resources(load_destinations(settings), settings),
        },
        raise_on_error=False,
    )


def check_result(result, asset: str, check: str):
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == check
        and e.event_specific_data.asset_key == dg.AssetKey(asset)
    ]
    assert len(evaluations) == 1, [e.event_type_value for e in result.all_events]
    return evaluations[0]


def test_data_point_budget_blocks_the_sync_before_sending(tmp_path, monkeypatch):
    config = write_destinations(tmp_path, data_point_budget=2)
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(
            tmp_path / "data", config, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url
        )
        result = materialize_all(settings, attributes_asset=fake_attributes)
        verdict = check_result(result, "braze_attribute_diff", "data_points_within_budget")
        assert not verdict.passed
        assert verdict.metadata["data_points"].value > 2
        # The blocking check stopped braze_sync in this run: Braze saw nothing.
        assert not result.asset_materializations_for_node("braze_sync")
        assert emulator.counters.requests == 0


def test_budget_met_and_rejection_share_reported(tmp_path, monkeypatch):
    config = write_destinations(tmp_path, data_point_budget=1000, max_reject_share=0.2)
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(
            tmp_path / "data", config, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url
        )
        result = materialize_all(settings, attributes_asset=fake_attributes)
        assert result.success
        assert check_result(result, "braze_attribute_diff", "data_points_within_budget").passed
        verdict = check_result(result, "braze_sync", "sync_rejection_rate_under_threshold")
        assert verdict.passed and verdict.metadata["rejected"].value == 0
        assert emulator.counters.objects == 3


BAD_EMAILS = pl.DataFrame(
    {"external_id": ["a", "b", "c"], "email": ["a@x.org", "not-an-email", "also bad"]}
)


def test_rejection_share_over_threshold_fails(tmp_path, monkeypatch):

    @dg.asset(name="braze_customer_attributes")
    def bad_attributes() -> pl.DataFrame:
        return BAD_EMAILS

    config = write_destinations(tmp_path, max_reject_share=0.1)
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(
            tmp_path / "data", config, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url
        )
        result = materialize_all(settings, attributes_asset=bad_attributes)
    verdict = check_result(result, "braze_sync", "sync_rejection_rate_under_threshold")
    assert not verdict.passed
    assert verdict.metadata["rejected"].value == 2
    assert verdict.metadata["rejected_share"].value > 0.1
    # The people table adds up: 3 new people, 1 accepted + 2 rejected + 0 unknown.
    metadata = result.asset_materializations_for_node("braze_sync")[0].metadata
    people = metadata["people"].value
    assert "| new | 3 | 1 | 2 | 0 |" in people and "| **all people** | **3** |" in people
    assert metadata["summary"].value.startswith("**Sent 3 profiles to Braze, with errors**")
    # The sync completed with errors: a warning that names them...
    warning = check_result(result, "braze_sync", "no_rejected_rows")
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.description == "Completed with errors: Braze rejected 2 rows."
    # ...and the rejection rate blocks what follows the sync in the same run.
    assert not result.asset_materializations_for_node("braze_sync_log")
