"""Shards of one destination syncing at once (separate partitions, separate shard ledgers, no
shared lease): a shard resolves only the unknown outcomes it wrote itself. Another shard's keys
written pending are in flight (that shard writes them before its request leaves): neither sent
nor settled here, so when Braze answers that shard with a 503 (nothing applied, spec: 5xx answers
apply nothing) the occurrence is sent by that shard's next run, once."""

from __future__ import annotations

import polars as pl
import pytest

from amperity_braze_assets.braze.event_ledger import PENDING, UNSENT, EventLedger
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.test_events_sync import occurrences, options
from amperity_braze_assets_tests.braze.test_sync import KEY, client_for, people

SHARD_0, SHARD_1 = "default/shard-0-of-2", "default/shard-1-of-2"


@pytest.fixture
def store(tmp_path) -> StateStore:
    return StateStore(base_path=str(tmp_path / "state"))


def test_a_shard_leaves_another_shards_pending_keys_alone(store):
    events = occurrences(2)  # amp-00000 in shard 0, amp-00001 in shard 1
    mine = pl.col("amperity_id") == "amp-00000"
    in_flight = events.filter(mine, pl.col("kind") == "purchase")["event_key"]
    # Shard 0 has written its purchase pending and waits for Braze.
    EventLedger(store, SHARD_0).record(in_flight, PENDING, "run-shard-0")
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        persons = people(2)
        one = run_sync(
            persons.filter(pl.col("external_id") == "amp-00001"),
            Ledger(store, SHARD_1),
            client,
            options("run-shard-1"),
            events=events.filter(~mine),
        )
        assert one.events.unknown_skipped == 0  # shard 1 holds no unknown of its own
        assert one.events.as_dict()["purchases_accepted"] == 1
        # Braze answers shard 0 with a 503: nothing applied, sent again by its next run.
        EventLedger(store, SHARD_0).record(in_flight, UNSENT, "run-shard-0")
        zero = run_sync(
            persons.filter(pl.col("external_id") == "amp-00000"),
            Ledger(store, SHARD_0),
            client,
            options("run-shard-0-next"),
            events=events.filter(mine),
        )
        assert zero.events.as_dict()["purchases_accepted"] == 1
        assert emulator.counters.purchases == 2 and emulator.counters.events == 2
    statuses = EventLedger(store, SHARD_1).statuses()
    assert set(statuses["status"]) == {"accepted"} and statuses.height == 4


def test_a_shards_own_pending_keys_are_unknown_outcomes_and_counted(store):
    events = occurrences(2)
    keys = events.filter(pl.col("kind") == "purchase")["event_key"]
    # Shard 1 died after writing both pending: its own one is resolved, shard 0's is not.
    EventLedger(store, SHARD_1).record(keys.head(1), PENDING, "dead-shard-1")
    EventLedger(store, SHARD_0).record(keys.tail(1), PENDING, "running-shard-0")
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        report = run_sync(people(2), Ledger(store, SHARD_1), client, options("r"), events=events)
        assert emulator.counters.purchases == 0 and emulator.counters.events == 2
    figures = report.events.as_dict()
    assert figures["unknown_skipped"] == 1 and figures["in_flight_elsewhere"] == 1
    assert figures["already_sent"] == 1 and figures["events_accepted"] == 2
