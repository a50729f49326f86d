"""The sync end to end against the real emulator on loopback."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import polars as pl
import pytest

from amperity_braze_assets.braze import sync
from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger
from amperity_braze_assets.braze.sync import CircuitBreakerTripped, SyncOptions, run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore

KEY = "sync-test-key-5a4b3c2d1e"


def people(n: int, *, version: int = 0) -> pl.DataFrame:
    ids = [f"amp-{i:05d}" for i in range(n)]
    return pl.DataFrame(
        {
            "external_id": ids,
            "first_name": [f"Name{i}" for i in range(n)],
            "email": [f"p{i}@example.com" for i in range(n)],
            "lifetime_value": [float(i + version * (i % 10 == 0)) for i in range(n)],
            "audience_vip": [(i % 3 == 0) != (version > 0 and i % 9 == 0) for i in range(n)],
        }
    )


def expected_profiles(frame: pl.DataFrame) -> dict[str, dict]:
    out = {}
    for row in frame.to_dicts():
        key = row.pop("external_id")
        out[key] = {k: v for k, v in row.items() if v is not None}
    return out


def client_for(emulator, **overrides) -> BrazeClient:
    settings = dict(rest_endpoint=emulator.url, concurrency=4, backoff_base=0.001, backoff_max=0.01)
    settings.update(overrides)
    return BrazeClient(ClientSettings(**settings), KEY)


def options(run_id: str, **overrides) -> SyncOptions:
    values = dict(run_id=run_id, concurrency=4, circuit_breaker_min_profiles=10**9)
    values.update(overrides)
    return SyncOptions(**values)


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(StateStore(base_path=str(tmp_path / "state")), "default")


def test_second_run_sends_only_changes_and_a_third_sends_nothing(ledger):
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        first = run_sync(people(200), ledger, client, options("r1"))
        assert (first.accepted, first.batches, first.batch_sizes[-1]) == (200, 3, 50)
        assert set(first.batch_sizes[:-1]) == {75}
        assert emulator.profiles == expected_profiles(people(200))
        before = emulator.counters.data_points
        second = run_sync(people(200, version=1), ledger, client, options("r2"))
        changed_points = emulator.counters.data_points - before
        assert second.diff.data_points == second.data_points_sent == changed_points
        assert 0 < second.accepted < 200 / 4
        assert emulator.profiles == expected_profiles(people(200, version=1))
        requests_before = emulator.counters.requests
        third = run_sync(people(200, version=1), ledger, client, options("r3"))
        assert third.objects_sent == 0 and emulator.counters.requests == requests_before


def test_audience_leaves_are_sent_as_false(ledger):
    frame = people(6)
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run_sync(frame, ledger, client, options("r1"))
        left = frame.with_columns(audience_vip=pl.lit(False))
        report = run_sync(left, ledger, client, options("r2"))
        assert report.accepted == 2  # amp-00000 and amp-00003 left the audience
        assert all(p["audience_vip"] is False for p in emulator.profiles.values())


def test_rejected_rows_are_logged_and_never_marked_accepted(ledger):
    frame = people(10).with_columns(
        email=pl.when(pl.col("external_id") == "amp-00004")
        .then(pl.lit("broken"))
        .otherwise(pl.col("email"))
    )
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        report = run_sync(frame, ledger, client, options("r1"))
        assert (report.accepted, report.rejected) == (9, 1)
        row = report.log.filter(pl.col("outcome") == "rejected").row(0, named=True)
        assert row[IDENTIFIER] == "amp-00004" and "email" in row["reason"].lower()
        assert "amp-00004" not in ledger.view().accepted[IDENTIFIER].to_list()
        assert report.top_reasons().height == 1
        again = run_sync(frame, ledger, client, options("r2"))
        assert again.objects_sent == 0 and again.diff.held_rejected == 1
        retried = run_sync(frame, ledger, client, options("r3", retry_rejected=True))
        assert retried.objects_sent == 1 and retried.rejected == 1
        fixed = run_sync(people(10), ledger, client, options("r4"))
        assert fixed.accepted == 1 and emulator.profiles == expected_profiles(people(10))


def test_429_5xx_and_dropped_connections_are_survived(ledger):
    # The first request fails with a 5xx (a fresh window cannot throttle it), and a window of one
    # request that concurrent requests paced at 400/s overrun: both faults happen whatever the
    # machine's speed. Dropped connections come at random (their own test pins them down).
    faults = dict(rate_limit=1, window_seconds=0.3, fail_requests={1}, drop_after_apply=0.1, seed=3)
    with (
        start_emulator(KEY, **faults) as emulator,
        client_for(emulator, rate_limit=400, rate_window_seconds=1) as client,
    ):
        report = run_sync(people(600), ledger, client, options("r1"))
        assert report.accepted == 600 and report.unknown == 0
        assert report.server_errors > 0 and report.throttled > 0 and report.retries > 0
        # Dropped after apply: applied, then resent; every resent value is counted as waste.
        dropped = emulator.counters.dropped
        assert (report.wasted_data_points > 0) == (dropped > 0)
        assert emulator.profiles == expected_profiles(people(600))


def test_unknown_outcomes_are_not_accepted_and_resent_next_time(ledger):
    with start_emulator(KEY, drop_after_apply=1.0) as emulator:
        with client_for(emulator, max_attempts=2) as client:
            report = run_sync(people(80), ledger, client, options("r1"))
        assert report.unknown == 80 and report.accepted == 0
        assert ledger.view().known_profiles == 0
        emulator.configure(drop_after_apply=0.0)
        with client_for(emulator) as client:
            rerun = run_sync(people(80), ledger, client, options("r2"))
        assert rerun.accepted == 80 and emulator.profiles == expected_profiles(people(80))


def test_a_sync_aborted_midway_resumes_without_resending_confirmed_batches(ledger):
    class Killed(Exception):
        pass

    def abort_after(count):
        def hook(batch: int) -> None:
            if batch + 1 >= count:
                raise Killed

        return hook

    frame = people(750)  # ten batches
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        with pytest.raises(Killed):
            run_sync(
                frame, ledger, client, options("r1", concurrency=1, after_batch=abort_after(4))
            )
        confirmed = set(ledger.view().accepted[IDENTIFIER].to_list())
        assert len(confirmed) >= 4 * 75
        sent_before = len(emulator.applied_ids())
        report = run_sync(frame, ledger, client, options("r2"))
        resent = {i for ids in emulator.applied_ids()[sent_before:] for i in ids}
        assert not resent & confirmed
        assert report.accepted == 750 - len(confirmed)
        assert emulator.profiles == expected_profiles(frame)


def test_a_sync_killed_with_sigkill_resumes(tmp_path):
    frame = people(3000)
    frame.write_parquet(tmp_path / "people.parquet")
    state = tmp_path / "state"
    with start_emulator(KEY) as emulator:
        script = textwrap.dedent(
            f"""
            import polars as pl
            from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
            from amperity_braze_assets.braze.ledger import Ledger
            from amperity_braze_assets.braze.sync import SyncOptions, run_sync
            from amperity_braze_assets.storage.state_store import StateStore
            ledger = Ledger(StateStore(base_path={str(state)!r}), "default")
            # Slow pacing (40 requests a second) so the kill lands midway.
            client = BrazeClient(ClientSettings(rest_endpoint={emulator.url!r}, rate_limit=40,
                                 rate_window_seconds=1, rate_safety=1.0, concurrency=1), {KEY!r})
            run_sync(pl.read_parquet({str(tmp_path / "people.parquet")!r}), ledger, client,
                     SyncOptions(run_id="killed", concurrency=1))
            """
        )
        process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
        deadline = time.monotonic() + 60
        while len(emulator.applied_ids()) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the child to make progress, not for time to pass
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        ledger = Ledger(StateStore(base_path=str(state)), "default")
        confirmed = set(ledger.view().accepted[IDENTIFIER].to_list())
        assert 0 < len(confirmed) < 3000
        sent_before = len(emulator.applied_ids())
        with client_for(emulator) as client:
            run_sync(frame, ledger, client, options("rerun"))
        resent = {i for ids in emulator.applied_ids()[sent_before:] for i in ids}
        assert not resent & confirmed
        assert emulator.profiles == expected_profiles(frame)


def test_dry_run_sends_nothing_and_writes_the_exact_bodies(ledger, tmp_path):
    with start_emulator(KEY) as emulator:
        report = run_sync(
            people(100), ledger, None, options("dry", dry_run=True, dry_run_dir=tmp_path / "dry")
        )
        assert emulator.counters.requests == 0
    lines = (tmp_path / "dry" / "braze.jsonl").read_text().splitlines()
    assert [len(json.loads(line)["attributes"]) for line in lines] == [75, 25]
    assert report.objects_sent == 100 and report.data_points_sent == report.diff.data_points
    assert ledger.view().known_profiles == 0


def test_batches_continue_across_render_chunks(ledger, tmp_path, monkeypatch):
    # 150 people rendered at a time: two full batches, then the next chunk.
    monkeypatch.setattr(sync, "RENDER_ROWS", 160)
    report = run_sync(
        people(200), ledger, None, options("dry", dry_run=True, dry_run_dir=tmp_path / "dry")
    )
    lines = (tmp_path / "dry" / "braze.jsonl").read_text().splitlines()
    sent = [o["external_id"] for line in lines for o in json.loads(line)["attributes"]]
    assert sent == people(200)["external_id"].to_list()
    assert report.batch_sizes == [75, 75, 50] and report.batches == 3
    assert report.log["batch"].to_list() == [0] * 75 + [1] * 75 + [2] * 50
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        sent_report = run_sync(people(200), ledger, client, options("r1"))
        assert (sent_report.accepted, sent_report.batch_sizes) == (200, [75, 75, 50])
        assert emulator.profiles == expected_profiles(people(200))
        assert ledger.view().known_profiles == 200


def test_circuit_breaker_refuses_unless_overridden(ledger):
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run_sync(people(20), ledger, client, options("r1"))
        everyone_changed = people(20).with_columns(first_name=pl.lit("Same"))
        guarded = options("r2", circuit_breaker_min_profiles=10, max_change_share=0.5)
        with pytest.raises(CircuitBreakerTripped, match="override_circuit_breaker"):
            run_sync(everyone_changed, ledger, client, guarded)
        guarded.override_circuit_breaker = True
        assert run_sync(everyone_changed, ledger, client, guarded).accepted == 20


def test_identity_merges_reach_braze(ledger):
    frame = people(3)
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run_sync(frame, ledger, client, options("r1"))
        # amp-00002 was absorbed into amp-00001 by identity resolution.
        merged = frame.filter(pl.col("external_id") != "amp-00002")
        identity = pl.DataFrame(
            {
                "source": ["pos", "pos", "web"],
                "record_id": ["1", "2", "3"],
                "amperity_id": ["amp-00000", "amp-00001", "amp-00001"],
                "previous_amperity_id": ["amp-00000", "amp-00001", "amp-00002"],
            }
        )
        report = run_sync(merged, ledger, client, options("r2"), identity=identity)
        assert report.merges == 1 and emulator.counters.merges == 1
        assert set(emulator.profiles) == {"amp-00000", "amp-00001"}
        assert "amp-00002" not in ledger.view().accepted[IDENTIFIER].to_list()
        assert emulator.profiles == expected_profiles(merged)


def test_a_merge_into_another_shard_is_recorded_in_the_survivors_ledger(tmp_path):
    store = StateStore(base_path=str(tmp_path / "state"))
    shard_of = {"amp-a": 0, "amp-c": 0, "amp-b": 1}  # amp-a is absorbed into amp-b
    ledgers = [Ledger(store, f"default/shard-{shard}-of-2") for shard in (0, 1)]

    def hand_off(survivors: pl.DataFrame) -> pl.DataFrame:
        owner = survivors[IDENTIFIER].replace_strict(shard_of)
        ledgers[1].record_gained(survivors.filter(owner == 1))
        return survivors.filter(owner == 0)

    def frame(rows: list[tuple]) -> pl.DataFrame:
        schema = {"external_id": pl.String, "first_name": pl.String, "email": pl.String}
        return pl.DataFrame(rows, schema=schema, orient="row")

    shard_0 = frame([("amp-a", "Ann", "ann@example.com"), ("amp-c", "Cy", None)])
    shard_1 = frame([("amp-b", "Bo", None)])
    identity = pl.DataFrame(
        {
            "source": ["pos", "web", "pos"],
            "record_id": ["1", "2", "3"],
            "amperity_id": ["amp-b", "amp-b", "amp-c"],
            "previous_amperity_id": ["amp-a", "amp-b", "amp-c"],
        }
    )
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run_sync(shard_0, ledgers[0], client, options("r1"))
        run_sync(shard_1, ledgers[1], client, options("r1"))
        # Shard 0 merges amp-a into amp-b, which lives in shard 1: Braze fills amp-b's email.
        merged_0 = shard_0.filter(pl.col("external_id") != "amp-a")
        report = run_sync(
            merged_0,
            ledgers[0],
            client,
            options("r2", hand_off_survivors=hand_off),
            identity=identity,
        )
        assert report.merges == 1
        assert emulator.profiles["amp-b"] == {"first_name": "Bo", "email": "ann@example.com"}
        assert ledgers[0].view().accepted[IDENTIFIER].to_list() == ["amp-c"]
        gained = ledgers[1].view().accepted.row(0, named=True)
        assert gained == {IDENTIFIER: "amp-b", "first_name": "Bo", "email": "ann@example.com"}
        # Shard 1's next sync knows Braze holds that email, and clears it: amp-b has none.
        assert run_sync(shard_1, ledgers[1], client, options("r2")).accepted == 1
        assert emulator.profiles == expected_profiles(pl.concat([merged_0, shard_1]))
        assert store.list("braze/default/shard-1-of-2/gained.v1/") == []  # folded in


def test_the_key_never_reaches_logs_or_files(ledger, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    with start_emulator(KEY, fault_5xx=0.3, seed=1) as emulator, client_for(emulator) as client:
        run_sync(people(300), ledger, client, options("r1"))
    captured = capsys.readouterr()
    assert KEY not in caplog.text + captured.out + captured.err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
