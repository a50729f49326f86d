"""The Currents assets materialize from the sample tree, append once, and feed engagement."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.currents.assets import build_currents_definitions
from amperity_braze_assets.currents.engagement import ENGAGEMENT_SCHEMA
from amperity_braze_assets.currents.ingest import read_currents_table
from amperity_braze_assets.currents.sensors import batch_run_config
from amperity_braze_assets.devtools.sample_currents import (
    generate_sample_currents,
    read_sample_external_ids,
)
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.conftest import make_settings
from amperity_braze_assets_tests.currents.helpers import write_file

REFERENCE = datetime(2025, 6, 1, tzinfo=UTC)


def _figures(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {
        e.event_specific_data.materialization.asset_key.to_user_string(): {
            k: v.value for k, v in e.event_specific_data.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
    }


def test_materialize_sample_tree_then_a_batch_with_duplicates_and_a_corrupt_file(tmp_path):
    settings = make_settings(tmp_path / "data", AMPERITY_BRAZE_AS_OF=REFERENCE.isoformat())
    ids = [f"amp-{n:03d}" for n in range(80)]
    summary = generate_sample_currents(
        settings.currents_local_dir, ids, seed=4, reference_time=REFERENCE
    )
    assets, sensors, jobs = build_currents_definitions(settings)
    state_store = StateStore(base_path=str(settings.state_dir))
    resources = {
        "io_manager": ParquetIOManager(base_path=str(tmp_path / "storage")),
        "s3": S3Resource(),
        "state_store": state_store,
    }
    with dg.instance_for_test() as instance:
        first = dg.materialize(assets, resources=resources, instance=instance)
        assert first.success
        figures = _figures(first)
        sends = figures["currents_email_sends"]
        assert sends["events_added"] == summary["event_types"]["users.messages.email.Send"]
        assert sum(f.get("duplicates_dropped", 0) for f in figures.values()) > 0
        assert sum(f.get("late_events", 0) for f in figures.values()) > 0
        assert figures["currents_quarantine"]["files_quarantined"] == 0
        engagement = first.output_for_node("customer_engagement")
        assert engagement.schema == pl.Schema(ENGAGEMENT_SCHEMA)
        assert set(engagement["amperity_id"]) <= set(ids)
        known = read_currents_table(state_store, "currents_email_sends")["external_user_id"]
        assert engagement["email_sends_total"].sum() == known.drop_nulls().len()  # not anonymous

        # A new batch, as the sensor would request it: a file re-delivering known sends, and
        # a corrupt one.
        sends_table = read_currents_table(state_store, "currents_email_sends")
        old_key = sends_table["source_key"][0]
        root = settings.currents_local_dir
        redelivered = old_key.replace("+0+", "+5+").replace("+1+", "+5+")
        write_file(root, redelivered, (root / old_key).read_bytes())
        broken = old_key.replace("+0+", "+6+").replace("+1+", "+6+")
        write_file(root, broken, (root / old_key).read_bytes()[:100])
        job = dg.Definitions(assets=assets, jobs=jobs, resources=resources).resolve_job_def(
            "currents_ingest_job"
        )
        second = job.execute_in_process(
            run_config=batch_run_config([redelivered, broken], "batch-2"), instance=instance
        )
        assert second.success
        figures = _figures(second)
        assert figures["currents_email_sends"]["events_added"] == 0
        assert figures["currents_email_sends"]["duplicates_dropped"] > 0
        assert figures["currents_quarantine"]["files_quarantined"] == 1
        assert read_currents_table(state_store, "currents_email_sends").height == sends_table.height
        checks = {c.check_name: c for c in second.get_asset_check_evaluations()}
        assert not checks["no_quarantined_files"].passed
        # Files just arrived: the freshness check passes.
        assert checks["currents_files_fresh"].passed


def test_sample_ids_come_from_identity_assignments(tmp_path):
    path = tmp_path / "state" / "identity" / "assignments.v1.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame({"amperity_id": ["b", "a", "a"]}).write_parquet(path)
    assert read_sample_external_ids(tmp_path) == ["a", "b"]
    assert read_sample_external_ids(tmp_path / "nowhere") == []


def test_currents_definitions_load_beside_the_project_resources(tmp_path):
    from amperity_braze_assets.definitions import build_definitions

    defs = build_definitions(make_settings(tmp_path / "data"))
    dg.Definitions.validate_loadable(defs)
    assert "currents_sensor" in {s.name for s in defs.sensors}
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("customer_engagement")).group_name == "currents"
    assert defs.resolve_job_def("currents_ingest_job") is not None


def test_currents_freshness_fails_when_files_stop_arriving(tmp_path):
    import os

    from amperity_braze_assets.currents.assets import currents_freshness_result
    from amperity_braze_assets.currents.source import LocalCurrentsSource

    settings = make_settings(tmp_path / "data", CURRENTS_MAX_FILE_AGE_HOURS="6")
    root = settings.currents_local_dir
    empty = currents_freshness_result(LocalCurrentsSource(root), settings)
    assert not empty.passed and "No Currents file" in empty.description
    key = "currents/x/event_type=users.messages.email.Send/date=2026-01-01-00/f.avro"
    write_file(root, key, b"data")
    assert currents_freshness_result(LocalCurrentsSource(root), settings).passed
    old = (root / key).stat().st_mtime - 7 * 3600
    os.utime(root / key, (old, old))
    stale = currents_freshness_result(LocalCurrentsSource(root), settings)
    assert not stale.passed
    assert stale.metadata["newest_file_age_hours"].value > 6


def test_freshness_check_exists_only_when_currents_is_configured(tmp_path):
    from amperity_braze_assets.definitions import build_definitions

    def freshness_checks(settings) -> list[str]:
        graph = build_definitions(settings).resolve_asset_graph()
        return [key.name for key in graph.asset_check_keys if key.name == "currents_files_fresh"]

    data = tmp_path / "data"
    # A brand without Currents: no check that would fail, and alert, on every run.
    assert freshness_checks(make_settings(data)) == []
    assert freshness_checks(make_settings(data, CURRENTS_S3_BUCKET="brand-currents")) == [
        "currents_files_fresh"
    ]
    assert freshness_checks(make_settings(data, CURRENTS_LOCAL_DIR=str(tmp_path / "cur"))) == [
        "currents_files_fresh"
    ]
    (data / "currents").mkdir(parents=True)  # the default folder, as sample-currents writes it
    assert freshness_checks(make_settings(data)) == ["currents_files_fresh"]
