"""One run at a time per ledger in the run queue: the jobs that sync carry one tag per ledger they
write, the instance config the project writes limits each to 1, and Dagster's own limit counter
(the one its queue uses) holds back a second run of a ledger and nothing else."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun
from dagster._utils.tags import TagConcurrencyLimitsCounter

from amperity_braze_assets.devtools.demo import prepare_dagster_home
from amperity_braze_assets.orchestration.jobs import build_jobs, ledger_tag_key

DESTINATIONS = {
    "braze": ["braze_attribute_diff", "braze_sync", "braze_sync_log"],
    "brand_b": [
        "braze_attribute_diff__brand_b",
        "braze_sync__brand_b",
        "braze_sync_log__brand_b",
    ],
}
LEDGERS = {"braze": "default", "brand_b": "brands/b"}


def jobs(shards=None) -> dict:
    names = [name for names in DESTINATIONS.values() for name in names]
    return build_jobs(
        sync_assets=names,
        shard_partitions=shards,
        destination_assets=DESTINATIONS,
        ledgers=LEDGERS,
    )


def test_each_job_that_syncs_carries_one_tag_per_ledger_it_writes():
    built = jobs()
    both = {"braze-ledger/default": "1", "braze-ledger/brands.b": "1"}
    for name in ("braze_sync_job", "audience_refresh_job", "demo_job"):
        assert {k: v for k, v in built[name].tags.items() if k.startswith("braze-ledger/")} == both
    assert built["sync_braze_job"].tags == {"braze-ledger/default": "1"}
    assert built["sync_brand_b_job"].tags == {"braze-ledger/brands.b": "1"}
    assert not any(k.startswith("braze-ledger/") for k in built["customer360_job"].tags)
    assert built["braze_sync_job"].tags["currents/ingest"] == "serial"  # kept


def test_a_sharded_sync_is_not_serialised_by_the_queue():
    """Shards are separate ledgers meant to run at once: their leases guard them."""
    built = jobs(dg.StaticPartitionsDefinition(["0", "1"]))
    for job in built.values():
        assert not any(k.startswith("braze-ledger/") for k in job.tags)


def test_tag_keys_are_valid_for_dagster_whatever_the_ledger_name():
    assert ledger_tag_key("brand_b") == "braze-ledger/brand_b"
    long_name = "a" * 70 + "/shard-0-of-2"
    key = ledger_tag_key(long_name)
    assert len(key.split("/", 1)[1]) == 63 and key != ledger_tag_key("a" * 70 + "/shard-1-of-2")
    # Dagster warns about (and a strict definition refuses) invalid keys; these load quietly.
    dg.define_asset_job("tagged", tags={key: "1", ledger_tag_key("x/y"): "1"})


def test_the_queue_holds_a_second_run_of_a_ledger_and_nothing_else(tmp_path):
    prepare_dagster_home(tmp_path, sorted(LEDGERS.values()))
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": "braze-ledger/default", "limit": 1} in limits
    assert {"key": "braze-ledger/brands.b", "limit": 1} in limits
    assert {"key": "currents/ingest", "limit": 1} in limits
    built = jobs()

    def run(job: str) -> DagsterRun:
        return DagsterRun(job_name=job, tags=dict(built[job].tags))

    # The daily braze_sync_job is in progress (it syncs both ledgers).
    queue = TagConcurrencyLimitsCounter(limits, [run("braze_sync_job")])
    assert queue.is_blocked(run("audience_refresh_job"))  # the hourly sync of the same ledgers
    assert queue.is_blocked(run("sync_brand_b_job"))
    assert not queue.is_blocked(run("customer360_job"))
    # Only brand_b's own sync is in progress: the default ledger's sync may start.
    queue = TagConcurrencyLimitsCounter(limits, [run("sync_brand_b_job")])
    assert not queue.is_blocked(run("sync_braze_job"))
    assert queue.is_blocked(run("braze_sync_job"))


def test_an_existing_instance_config_is_kept_and_a_missing_limit_is_named(tmp_path, capsys):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    prepare_dagster_home(tmp_path, ["default"])
    assert (tmp_path / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    out = capsys.readouterr().out
    assert "no run-queue limit for braze-ledger/default" in out
    assert "- key: braze-ledger/default, limit: 1" in out
