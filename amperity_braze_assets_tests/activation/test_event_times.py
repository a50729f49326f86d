"""Event and purchase times written as text: each value is read on its own, so one column may mix
the ISO 8601 forms exports write (the sources reader's formats); a text that is no time is refused
with the text named, never sent nor dropped silently."""

from __future__ import annotations

import datetime as dt

import polars as pl

from amperity_braze_assets.activation.events import event_rows, purchase_rows
from amperity_braze_assets.activation.events_config import EventSpec, PurchaseEntry, PurchaseSpec

INSTANT = dt.datetime(2026, 11, 30, 14, 3, tzinfo=dt.UTC)
# One instant, four ways an export writes it, in one column.
FORMS = [
    "2026-11-30T14:03Z",
    "2026-11-30 15:03:00+01:00",
    "2026-11-30T14:03:00",
    "2026-11-30T09:03:00.000-05:00",
]
SPEC = EventSpec(name="order_placed", time="time", properties=("order_id",), key=("order_id",))


def test_one_column_may_mix_iso_forms_of_its_times():
    rows = pl.DataFrame(
        {
            "amperity_id": ["a", "b", "c", "d", "e"],
            "time": [*FORMS, "2026-11-30"],
            "order_id": ["1", "2", "3", "4", "5"],
        }
    )
    kept, refused = event_rows(rows, SPEC)
    assert refused.height == 0
    assert kept["time"].to_list() == [INSTANT] * 4 + [dt.datetime(2026, 11, 30, tzinfo=dt.UTC)]


def test_the_same_instant_in_another_form_keeps_its_key():
    keys = set()
    for form in FORMS:
        rows = pl.DataFrame({"amperity_id": ["a"], "time": [form], "order_id": ["1"]})
        kept, _ = event_rows(rows, SPEC)
        keys.add(kept["event_key"].item())
    assert len(keys) == 1


def test_a_time_that_cannot_be_read_is_refused_naming_the_text():
    rows = pl.DataFrame(
        {
            "amperity_id": ["a", "b", "c"],
            "time": [FORMS[0], "yesterday", None],
            "order_id": ["1", "2", "3"],
        }
    )
    kept, refused = event_rows(rows, SPEC)
    assert kept["amperity_id"].to_list() == ["a"]
    reasons = dict(refused.select("amperity_id", "reason").iter_rows())
    assert reasons["b"].startswith("event time yesterday in column 'time' is not a time")
    assert reasons["c"] == "no event time"
    lines = pl.DataFrame(
        {
            "amperity_id": ["a", "a"],
            "source": ["shop"] * 2,
            "order_id": ["1", "2"],
            "sku": ["MUG-1"] * 2,
            "product_name": ["Mug"] * 2,
            "price": [10.0] * 2,
            "quantity": [1] * 2,
            "order_time": ["2026-11-30 15:03:00+01:00", "30th of November"],
            "currency": ["USD"] * 2,
        }
    )
    kept, refused = purchase_rows(lines, PurchaseSpec(**PurchaseEntry().model_dump()))
    assert kept["time"].to_list() == [INSTANT]
    assert "purchase time 30th of November in column 'order_time'" in refused["reason"].item()
