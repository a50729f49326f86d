"""Unknown outcomes of attribute sends, end to end against the emulator: the emulator applies a
request and drops its answer (``drop_requests`` / ``drop_after_apply``) and the client makes one
attempt (``max_attempts=1``), so the outcome is unknown. The sync records the fields sent as
unconfirmed; the next diff sends them again in full, whatever the ledger says, and Braze ends
holding exactly our data with the ledger exact."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import SyncOptions, run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.helpers import sent_by_person

KEY = "unconfirmed-key-3c1d"
ORDERS = pl.List(pl.Struct({"order_id": pl.String, "total": pl.Float64, "coupon": pl.String}))


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(StateStore(base_path=str(tmp_path / "state")), "default")


def sync(
    frame: pl.DataFrame,
    ledger: Ledger,
    emulator,
    run_id: str,
    max_attempts: int = 6,
    objects_per_request: int = 75,
):
    settings = ClientSettings(
        rest_endpoint=emulator.url, concurrency=1, backoff_base=0.001, max_attempts=max_attempts
    )
    with BrazeClient(settings, KEY) as client:
        options = SyncOptions(
            run_id=run_id,
            concurrency=1,
            circuit_breaker_min_profiles=10**9,
            max_change_share=1.0,
            objects_per_request=objects_per_request,
        )
        report = run_sync(frame, ledger, client, options)
    return report, sent_by_person(report)


def tiers(values: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"external_id": list(values), "tier": list(values.values())},
        schema={"external_id": pl.String, "tier": pl.String},
    )


def test_a_value_sent_with_an_unknown_outcome_is_sent_again_when_the_data_reverts(ledger):
    with start_emulator(KEY, drop_requests={2}) as emulator:
        sync(tiers({"a": "Gold"}), ledger, emulator, "r1")
        second, _ = sync(tiers({"a": "Silver"}), ledger, emulator, "r2", max_attempts=1)
        assert second.unknown == 1
        assert emulator.profiles["a"]["tier"] == "Silver"  # applied, answer lost
        assert ledger.unconfirmed_fields().rows() == [("a", "tier")]
        # Back to the ledger's value: sent all the same, Braze may hold Silver.
        third, sent = sync(tiers({"a": "Gold"}), ledger, emulator, "r3")
        assert sent == {"a": {"tier": "Gold"}}
        assert emulator.profiles["a"]["tier"] == "Gold"
        assert ledger.view().accepted["tier"].to_list() == ["Gold"]
        assert ledger.unconfirmed_fields().height == 0
        fourth, sent = sync(tiers({"a": "Gold"}), ledger, emulator, "r4")
        assert sent == {}


def test_an_unconfirmed_field_without_a_value_is_unset(ledger):
    with start_emulator(KEY, drop_requests={2}) as emulator:
        sync(
            pl.DataFrame({"external_id": ["a"], "tier": [None], "city": ["Oslo"]}),
            ledger,
            emulator,
            "r1",
        )
        both = pl.DataFrame({"external_id": ["a"], "tier": ["Silver"], "city": ["Oslo"]})
        sync(both, ledger, emulator, "r2", max_attempts=1)
        assert emulator.profiles["a"]["tier"] == "Silver"
        # The ledger never held a tier and today there is none: null is sent to unset it.
        none = pl.DataFrame({"external_id": ["a"], "tier": [None], "city": ["Oslo"]})
        _, sent = sync(none.cast({"tier": pl.String}), ledger, emulator, "r3")
        assert sent == {"a": {"tier": None}}
        assert "tier" not in emulator.profiles["a"]
        assert ledger.unconfirmed_fields().height == 0


def orders(first: dict) -> pl.DataFrame:
    rest = [{"order_id": f"o{n}", "total": 10.0, "coupon": None} for n in range(2, 6)]
    return pl.DataFrame(
        {"external_id": ["a"], "recent_orders": [[first, *rest]]},
        schema={"external_id": pl.String, "recent_orders": ORDERS},
    )


def test_an_array_sent_with_an_unknown_outcome_goes_whole_never_as_operations(ledger):
    with start_emulator(KEY, drop_requests={2}) as emulator:
        sync(orders({"order_id": "o1", "total": 10.0, "coupon": None}), ledger, emulator, "r1")
        coupon = orders({"order_id": "o1", "total": 10.0, "coupon": "X"})
        second, sent = sync(coupon, ledger, emulator, "r2", max_attempts=1)
        assert "$update" in sent["a"]["recent_orders"] and second.unknown == 1
        # An $update now would merge into an element that may hold coupon X.
        later = orders({"order_id": "o1", "total": 20.0, "coupon": None})
        _, sent = sync(later, ledger, emulator, "r3")
        assert isinstance(sent["a"]["recent_orders"], list)
        assert "_merge_objects" not in sent["a"]
        assert emulator.profiles["a"]["recent_orders"][0] == {"order_id": "o1", "total": 20.0}
        ledger_value = json.loads(ledger.view().accepted["recent_orders"][0])
        assert ledger_value == emulator.profiles["a"]["recent_orders"]
        assert ledger.unconfirmed_fields().height == 0


def test_random_drops_after_apply_end_with_braze_equal_to_our_data(ledger):
    rng = random.Random(7)
    ids = [f"p{n}" for n in range(40)]
    choices = ["Gold", "Silver", "Bronze", None]
    with start_emulator(KEY, drop_after_apply=0.4, seed=3) as emulator:
        unknown = 0
        for run in range(8):
            frame = tiers({i: rng.choice(choices) for i in ids}).sample(
                fraction=1.0, shuffle=True, seed=run
            )
            report, _ = sync(frame, ledger, emulator, f"r{run}", 1, objects_per_request=5)
            unknown += report.unknown
        assert unknown >= 20  # about 40% of the objects sent
        emulator.configure(drop_after_apply=0.0)
        final = tiers({i: rng.choice(choices) for i in ids})
        sync(final, ledger, emulator, "final", objects_per_request=5)
        held = {i: emulator.profiles.get(i, {}).get("tier") for i in ids}
    assert held == dict(final.iter_rows())
    accepted = dict(ledger.view().accepted.select("identifier", "tier").iter_rows())
    assert {i: accepted.get(i) for i in ids} == held
    assert ledger.unconfirmed_fields().height == 0
