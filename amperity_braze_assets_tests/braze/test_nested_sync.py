"""Nested custom attributes end to end: the sync against the real emulator on loopback, which
applies $add/$remove/$update as the spec says; the emulator must end holding exactly our value."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import SyncOptions, run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.helpers import sent_by_person

KEY = "nested-sync-key-7f6e5d"
ORDERS = pl.List(
    pl.Struct(
        {
            "order_id": pl.String,
            "placed_at": pl.Datetime("us", "UTC"),
            "total": pl.Float64,
            "channel": pl.String,
        }
    )
)
LOYALTY = pl.Struct({"tier": pl.String, "points": pl.Int64})
SCHEMA = {"external_id": pl.String, "recent_orders": ORDERS, "loyalty": LOYALTY}


def order(n: int, total: float = 10.0) -> dict:
    at = dt.datetime(2025, 3, n, 9, 0, tzinfo=dt.UTC)
    return {"order_id": f"o{n}", "placed_at": at, "total": total, "channel": "web"}


def in_braze(n: int, total: float = 10.0) -> dict:
    at = f"2025-03-{n:02d}T09:00:00.000Z"
    return {"channel": "web", "order_id": f"o{n}", "placed_at": {"$time": at}, "total": total}


def people(orders: dict[str, list[dict]], tier: str = "Gold") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "external_id": list(orders),
            "recent_orders": list(orders.values()),
            "loyalty": [{"tier": tier, "points": 7}] * len(orders),
        },
        schema=SCHEMA,
    )


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(StateStore(base_path=str(tmp_path / "state")), "default")


def sync(frame: pl.DataFrame, ledger: Ledger, emulator, run_id: str):
    settings = ClientSettings(rest_endpoint=emulator.url, concurrency=2, backoff_base=0.001)
    with BrazeClient(settings, KEY) as client:
        options = SyncOptions(run_id=run_id, concurrency=2, circuit_breaker_min_profiles=10**9)
        report = run_sync(frame, ledger, client, options)
    return report, sent_by_person(report)


def test_first_sync_then_update_remove_add_and_a_reorder_that_sends_nothing(ledger):
    five = [order(n) for n in range(1, 6)]
    with start_emulator(KEY) as emulator:
        first, sent = sync(people({"a": five, "b": five, "c": five}), ledger, emulator, "r1")
        assert (first.accepted, first.rejected, first.unknown) == (3, 0, 0)
        assert sent["a"]["recent_orders"] == [in_braze(n) for n in range(1, 6)]  # full list
        assert emulator.profiles["a"]["loyalty"] == {"points": 7, "tier": "Gold"}

        changed = {
            "a": [order(1), order(2, total=42.5), *five[2:]],  # one element changed
            "b": five[:4],  # o5 removed
            "c": [*five, order(6)],  # o6 added: the full list (a resent $add would double it)
        }
        second, sent = sync(people(changed), ledger, emulator, "r2")
        assert (second.accepted, second.rejected) == (3, 0)
        assert sent["a"] == {
            "recent_orders": {
                "$update": [
                    {
                        "$identifier_key": "order_id",
                        "$identifier_value": "o2",
                        "$new_object": in_braze(2, 42.5),
                    }
                ]
            },
            "_merge_objects": True,
        }
        assert sent["b"] == {
            "recent_orders": {
                "$remove": [{"$identifier_key": "order_id", "$identifier_value": "o5"}]
            }
        }
        assert sent["c"] == {"recent_orders": [in_braze(n) for n in range(1, 7)]}
        held = emulator.profiles
        assert held["a"]["recent_orders"] == [
            in_braze(1),
            in_braze(2, 42.5),
            *map(in_braze, range(3, 6)),
        ]
        assert held["b"]["recent_orders"] == [in_braze(n) for n in range(1, 5)]
        assert held["c"]["recent_orders"] == [in_braze(n) for n in range(1, 7)]

        reordered = {k: list(reversed(v)) for k, v in changed.items()}
        third, sent = sync(people(reordered), ledger, emulator, "r3")
        assert sent == {} and third.diff.unchanged == 3
        assert emulator.counters.nested_invalid_dropped == 0


def test_a_request_applied_then_dropped_and_resent_leaves_the_exact_array(ledger):
    """The emulator applies the second request and drops its answer; the client sends it again.
    Every value sent may be applied twice: Braze ends holding exactly our arrays."""
    five = [order(n) for n in range(1, 6)]
    with start_emulator(KEY, drop_requests={2}) as emulator:
        sync(people({"a": five, "b": five}), ledger, emulator, "r1")
        changed = {"a": [*five[:4], order(6)], "b": [order(1, total=3.0), *five[1:4]]}
        report, sent = sync(people(changed), ledger, emulator, "r2")
        assert report.retries >= 1 and (report.accepted, report.unknown) == (2, 0)
        assert sent["a"]["recent_orders"] == [in_braze(n) for n in (1, 2, 3, 4, 6)]
        assert "$remove" in sent["b"]["recent_orders"] and "$update" in sent["b"]["recent_orders"]
        held = emulator.profiles
        assert held["a"]["recent_orders"] == [in_braze(n) for n in (1, 2, 3, 4, 6)]
        assert held["b"]["recent_orders"] == [in_braze(1, 3.0), *map(in_braze, range(2, 5))]


def test_large_nested_values_still_keep_each_request_under_4_mb(ledger):
    """60 people with arrays of about 90 KB (each under Braze's 100 KB) are 5.4 MB of JSON:
    the batches are cut by body size, and the emulator answers 413 past 4 MB."""
    many = [
        {**order(1 + n % 28, total=float(n)), "order_id": f"order-{n:05d}-" + "x" * 130}
        for n in range(400)
    ]
    with start_emulator(KEY) as emulator:
        report, sent = sync(people({f"p{i}": many for i in range(60)}), ledger, emulator, "r1")
        sizes = [
            len(json.dumps({"recent_orders": body["recent_orders"]})) for body in sent.values()
        ]
        assert 80_000 < min(sizes) and max(sizes) < 100_000
        assert (report.accepted, report.rejected, report.unknown) == (60, 0, 0)
        assert len(report.batch_sizes) >= 2 and emulator.counters.client_errors == 0
        assert len(emulator.profiles["p7"]["recent_orders"]) == 400
