"""The emulator files events and purchases per profile as Braze does (spec, Events and
purchases; braze.com's event and purchase objects), and refuses what Braze refuses."""

from __future__ import annotations

import pytest
import requests

from amperity_braze_assets.devtools.emulator import start_emulator

KEY = "emulator-events-key-9f8e"
SPEC_MAX_QUANTITY = 100
SPEC_MAX_STRING = 255
SPEC_EVENT_PROPERTIES_BYTES = 100 * 1024
SPEC_PURCHASE_PROPERTIES_BYTES = 50 * 1024
PAST = "2026-11-30T14:03:00.000Z"


@pytest.fixture
def emulator():
    with start_emulator(KEY, clock=lambda: 1_800_000_000.0) as handle:  # 2027-01-15T08:00Z
        yield handle


def post(handle, body):
    return requests.post(
        handle.url + "/users/track",
        json=body,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )


def purchase(**changes):
    item = {"external_id": "p", "product_id": "SKU-1", "currency": "USD", "price": 19.99}
    return {**item, "quantity": 2, "time": PAST, **changes}


def test_each_accepted_occurrence_is_filed_and_a_double_send_shows_twice(emulator):
    event = {"external_id": "e", "name": "loyalty_joined", "time": PAST, "properties": {"t": 1}}
    for _ in range(2):
        answer = post(emulator, {"events": [event], "purchases": [purchase()]})
        assert answer.status_code == 201
        assert answer.json() == {
            "message": "success",
            "events_processed": 1,
            "purchases_processed": 1,
        }
    assert (
        emulator.events["e"]
        == [{"name": "loyalty_joined", "time": PAST, "properties": {"t": 1}}] * 2
    )
    assert len(emulator.purchases["p"]) == 2 and emulator.counters.purchases == 2
    assert "e" in emulator.profiles  # an event to a new external_id creates its profile
    snapshot = emulator.state.snapshot()
    assert snapshot["purchases"]["p"][0]["product_id"] == "SKU-1"


def test_future_times_are_clamped_to_now(emulator):
    post(emulator, {"events": [{"external_id": "e", "name": "n", "time": "2099-01-01T00:00:00Z"}]})
    assert emulator.events["e"][0]["time"] == "2027-01-15T08:00:00.000Z"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (purchase(quantity=SPEC_MAX_QUANTITY + 1), "quantity"),
        (purchase(quantity=0), "quantity"),
        (purchase(quantity=1.5), "quantity"),
        (purchase(currency="ABC"), "ISO 4217"),
        (purchase(price="19.99"), "price"),
        (purchase(product_id="x" * (SPEC_MAX_STRING + 1)), "product_id"),
        (purchase(time=None), "time is required"),
        (purchase(properties={"$x": 1}), "'$'"),
        (purchase(properties={"time": 1}), "reserved"),
        (purchase(properties={"event_name": 1}), "reserved"),
        (purchase(properties={"s": "x" * (SPEC_MAX_STRING + 1)}), "longer than"),
        (purchase(properties={"s": ["y" * 200] * 300}), "50 KB"),
        (purchase(_update_existing_only=True), "_update_existing_only"),
    ],
)
def test_purchases_braze_refuses(emulator, item, reason):
    answer = post(emulator, {"attributes": [{"external_id": "ok", "a": 1}], "purchases": [item]})
    (error,) = answer.json()["errors"]
    assert (error["input_array"], error["index"]) == ("purchases", 0) and reason in error["type"]
    assert emulator.counters.purchases == 0


def test_event_sizes_and_names(emulator):
    big = {"s": ["y" * 200] * 520}  # about 105 KB
    small = {"s": ["y" * 200] * 300}  # about 61 KB: over a purchase's limit, under an event's
    body = {
        "events": [
            {"external_id": "e", "name": "n", "time": PAST, "properties": small},
            {"external_id": "e", "name": "n", "time": PAST, "properties": big},
            {"external_id": "e", "name": "", "time": PAST},
            {"external_id": "e", "name": "n"},
        ]
    }
    errors = post(emulator, body).json()["errors"]
    assert [e["index"] for e in errors] == [1, 2, 3]
    assert "100 KB" in errors[0]["type"]
    assert len(emulator.events["e"]) == 1
