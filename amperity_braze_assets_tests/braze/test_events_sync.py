"""Purchases and custom events in the sync, end to end against the emulator: mixed requests of
75 objects in all (spec), sent once across runs, and what an unknown outcome does."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from amperity_braze_assets.activation.events import EVENT_SCHEMA
from amperity_braze_assets.braze.event_ledger import EventLedger
from amperity_braze_assets.braze.events import EventOptions
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import SyncOptions, run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.test_sync import KEY, client_for, people

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SPEC_OBJECTS_PER_REQUEST = 75  # spec: 75 objects in total across the three arrays


def occurrences(n_people: int, purchases_each: int = 1, events_each: int = 1) -> pl.DataFrame:
    """``braze_events`` rows: per person ``purchases_each`` purchases and ``events_each``
    loyalty_joined events, an hour apart, before ``NOW``."""
    rows = []
    for i in range(n_people):
        for kind, count in (("purchase", purchases_each), ("event", events_each)):
            for j in range(count):
                purchase = kind == "purchase"
                rows.append(
                    {
                        "event_key": f"{kind}-{i}-{j}",
                        "amperity_id": f"amp-{i:05d}",
                        "kind": kind,
                        "name": f"SKU-{j}" if purchase else "loyalty_joined",
                        "time": NOW - dt.timedelta(hours=j + 1),
                        "currency": "USD" if purchase else None,
                        "price": 19.99 if purchase else None,
                        "quantity": 2 if purchase else None,
                        "properties": json.dumps({"order_id": f"{i}-{j}"}, separators=(",", ":")),
                    }
                )
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


def options(run_id: str, on_unknown: str = "skip", **overrides) -> SyncOptions:
    values = dict(
        run_id=run_id,
        concurrency=4,
        circuit_breaker_min_profiles=10**9,
        event_options=EventOptions(on_unknown=on_unknown, now=NOW),
    )
    values.update(overrides)
    return SyncOptions(**values)


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(StateStore(base_path=str(tmp_path / "state")), "default")


def stored_count(emulator) -> int:
    return sum(len(v) for v in emulator.purchases.values()) + sum(
        len(v) for v in emulator.events.values()
    )


def test_mixed_requests_hold_75_objects_in_all_and_each_occurrence_reaches_braze_once(ledger):
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        report = run_sync(people(100), ledger, client, options("r1"), events=occurrences(100))
        # 100 attribute objects + 100 purchases + 100 events = 300 objects: 4 full requests.
        assert report.batch_sizes == [75, 25, 0, 0]  # attribute rows per request
        assert report.batches == 300 // SPEC_OBJECTS_PER_REQUEST
        figures = report.events.as_dict()
        assert (figures["purchases_accepted"], figures["events_accepted"]) == (100, 100)
        assert report.accepted == 100
        assert emulator.counters.purchases == 100 and emulator.counters.events == 100
        assert emulator.purchases["amp-00007"] == [
            {
                "product_id": "SKU-0",
                "currency": "USD",
                "price": 19.99,
                "quantity": 2,
                "time": "2026-12-01T11:00:00.000Z",
                "properties": {"order_id": "7-0"},
            }
        ]
        again = run_sync(people(100), ledger, client, options("r2"), events=occurrences(100))
        assert again.batches == 0 and again.events.already_sent == 200
        assert stored_count(emulator) == 200


def test_lookback_no_profile_and_destination_choices(ledger):
    events = occurrences(10, purchases_each=2).with_columns(
        time=pl.when(pl.col("name") == "SKU-1")
        .then(pl.lit(NOW - dt.timedelta(days=45)))
        .otherwise(pl.col("time"))
    )
    choices = EventOptions(events=(), now=NOW, lookback_days=30)
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        report = run_sync(
            people(8), ledger, client, options("r1", event_options=choices), events=events
        )
        figures = report.events.as_dict()
        # events: none -> only purchases: 20, of which 2 people (4) have no profile and of
        # the 16 left 8 are 45 days old.
        assert figures["offered"] == 20
        assert figures["no_profile"] == 4
        assert figures["older_than_lookback"] == 8
        assert figures["purchases_accepted"] == 8 and figures["events_sent"] == 0
        assert emulator.counters.events == 0


def test_a_dropped_connection_is_not_resent_by_the_client_and_is_skipped_next_run(ledger):
    # Request 2 holds events only (75 attributes fill request 1); Braze applies it and the
    # connection drops: the client must not send it again, the next run must not either.
    with start_emulator(KEY, drop_requests=frozenset({2})) as emulator, client_for(emulator) as c:
        first = run_sync(people(75), ledger, c, options("r1"), events=occurrences(30))
        assert first.events.as_dict()["purchases_unknown"] == 30
        assert first.events.as_dict()["events_unknown"] == 30
        assert emulator.counters.dropped == 1 and emulator.counters.requests == 2
        second = run_sync(people(75), ledger, c, options("r2"), events=occurrences(30))
        assert second.events.unknown_skipped == 60 and second.batches == 0
        statuses = EventLedger(ledger.store, ledger.name).statuses()
        assert set(statuses["status"]) == {"skipped_unknown"}
        # In Braze exactly once: applied before the drop, never sent again.
        assert stored_count(emulator) == 60
        third = run_sync(people(75), ledger, c, options("r3"), events=occurrences(30))
        assert third.events.unknown_skipped == 0 and third.events.already_sent == 60


def test_on_unknown_resend_lets_the_client_send_again(ledger):
    with start_emulator(KEY, drop_requests=frozenset({2})) as emulator, client_for(emulator) as c:
        report = run_sync(
            people(75), ledger, c, options("r1", on_unknown="resend"), events=occurrences(30)
        )
        assert report.events.as_dict()["purchases_accepted"] == 30
        # Applied, dropped, applied again: Braze counts each twice, as the user allowed.
        assert stored_count(emulator) == 120


def test_a_503_is_retried_and_applies_once(ledger):
    with start_emulator(KEY, fail_requests=frozenset({1})) as emulator, client_for(emulator) as c:
        report = run_sync(people(10), ledger, c, options("r1"), events=occurrences(10))
        assert report.events.as_dict()["purchases_accepted"] == 10
        assert stored_count(emulator) == 20 and emulator.counters.server_errors == 1


def test_braze_refusals_are_rejected_by_array_and_index(ledger):
    bad = occurrences(3, events_each=0).with_columns(
        currency=pl.when(pl.col("amperity_id") == "amp-00001")
        .then(pl.lit("ABC"))
        .otherwise(pl.lit("USD"))
    )
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        report = run_sync(people(3), ledger, client, options("r1"), events=bad)
        figures = report.events.as_dict()
        assert (figures["purchases_accepted"], figures["purchases_rejected"]) == (2, 1)
        assert report.accepted == 3  # the attribute rows of the same request are unaffected
        statuses = EventLedger(ledger.store, ledger.name).statuses()
        refused = statuses.filter(pl.col("status") == "rejected")
        assert refused["event_key"].to_list() == ["purchase-1-0"]
        assert "ISO 4217" in refused["reason"][0]
        log = report.event_log
        assert log.filter(pl.col("outcome") == "rejected").height == 1
        assert set(log["fields"].list.first()) == {"purchases:SKU-0"}


def test_dry_run_writes_the_events_in_the_request_bodies(ledger, tmp_path):
    report = run_sync(
        people(2),
        ledger,
        None,
        options("dry", dry_run=True, dry_run_dir=tmp_path / "dry"),
        events=occurrences(2),
    )
    bodies = [json.loads(line) for line in open(report.dry_run_file, encoding="utf-8")]
    assert len(bodies) == 1
    assert [len(bodies[0][a]) for a in ("attributes", "purchases", "events")] == [2, 2, 2]
    assert bodies[0]["events"][0] == {
        "external_id": "amp-00000",
        "name": "loyalty_joined",
        "time": "2026-12-01T11:00:00.000Z",
        "properties": {"order_id": "0-0"},
    }
    assert report.events.as_dict()["purchases_dry_run"] == 2
    assert EventLedger(ledger.store, ledger.name).statuses().height == 0


def test_a_body_over_the_size_cap_keeps_occurrences_apart(ledger, tmp_path):
    # Each purchase's properties about 30 KB: 75 of them would pass 4 MB, so the requests holding
    # them are halved, and the attribute request is not filled with them.
    big = occurrences(80, events_each=0).with_columns(
        properties=pl.lit(json.dumps({"note": ["x" * 200] * 150}, separators=(",", ":")))
    )
    report = run_sync(
        people(80),
        ledger,
        None,
        options("dry", dry_run=True, dry_run_dir=tmp_path / "dry", max_body_bytes=1_000_000),
        events=big,
    )
    bodies = [line.encode() for line in open(report.dry_run_file, encoding="utf-8")]
    assert all(len(body) <= 1_000_000 for body in bodies)
    sizes = [
        (len(b.get("attributes", [])), len(b.get("purchases", []))) for b in map(json.loads, bodies)
    ]
    assert sum(p for _, p in sizes) == 80 and sum(a for a, _ in sizes) == 80
