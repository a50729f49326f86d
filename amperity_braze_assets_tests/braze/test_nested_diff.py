"""The diff of nested custom attributes (objects and arrays of objects), against bodies written
by hand from the spec (shared/spec/braze-api.md, "Nested attributes and arrays of objects") and
Braze's array-of-objects page: a list replaces; ``$add`` appends; ``$remove`` and ``$update``
name elements by ``$identifier_key``/``$identifier_value``; ``$update`` needs
``"_merge_objects": true`` in the object; dates inside as ``{"$time": ...}``."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from amperity_braze_assets.braze.diff import OBJECT, WRITTEN, compute_diff
from amperity_braze_assets.braze.ledger import REJECTION_SCHEMA, LedgerView

ORDERS = pl.List(
    pl.Struct(
        {
            "order_id": pl.String,  # first field: the id key
            "placed_at": pl.Datetime("us", "UTC"),
            "total": pl.Float64,
            "channel": pl.String,
        }
    )
)
LOYALTY = pl.Struct({"tier": pl.String, "points": pl.Int64, "joined_on": pl.Date})
SCHEMA = {"external_id": pl.String, "recent_orders": ORDERS, "loyalty": LOYALTY}
NO_REJECTIONS = pl.DataFrame(schema=REJECTION_SCHEMA)


def order(n: int, total: float = 10.0, channel: str | None = "web") -> dict:
    return {
        "order_id": f"o{n}",
        "placed_at": dt.datetime(2025, 3, n, 12, 30, tzinfo=dt.UTC),
        "total": total,
        "channel": channel,
    }


def sent(n: int, total: float = 10.0, channel: str | None = "web") -> dict:
    """``order(n)`` as Braze receives it: keys sorted, the time as $time, no null fields."""
    element = {
        "channel": channel,
        "order_id": f"o{n}",
        "placed_at": {"$time": f"2025-03-{n:02d}T12:30:00.000Z"},
        "total": total,
    }
    return {k: v for k, v in element.items() if v is not None}


FIVE = [order(n) for n in range(1, 6)]
GOLD = {"tier": "Gold", "points": 120, "joined_on": dt.date(2021, 6, 1)}


def frame(rows: list[tuple[str, list | None, dict | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "external_id": [r[0] for r in rows],
            "recent_orders": [r[1] for r in rows],
            "loyalty": [r[2] for r in rows],
        },
        schema=SCHEMA,
    )


def empty_ledger() -> LedgerView:
    return LedgerView(pl.DataFrame(schema={"identifier": pl.String}), NO_REJECTIONS)


def ledger_after(first: pl.DataFrame) -> LedgerView:
    """The ledger once Braze accepted every object of a first sync of ``first``."""
    return LedgerView(compute_diff(first, empty_ledger()).full_segment(), NO_REJECTIONS)


def bodies(current: pl.DataFrame, ledger: LedgerView) -> dict[str, dict]:
    objects = compute_diff(current, ledger).changes.get_column(OBJECT).to_list()
    return {o["external_id"]: o for o in map(json.loads, objects)}


def test_a_first_sync_sends_full_values_with_sorted_keys_and_times_as_time():
    got = bodies(frame([("a", FIVE, GOLD)]), empty_ledger())
    assert got == {
        "a": {
            "external_id": "a",
            "recent_orders": [sent(n) for n in range(1, 6)],
            "loyalty": {"joined_on": {"$time": "2021-06-01"}, "points": 120, "tier": "Gold"},
        }
    }


def test_one_changed_element_sends_update_with_merge_objects():
    before = ledger_after(frame([("a", FIVE, GOLD)]))
    changed = [order(1), order(2, total=99.5), *FIVE[2:]]
    assert bodies(frame([("a", changed, GOLD)]), before) == {
        "a": {
            "external_id": "a",
            "recent_orders": {
                "$update": [
                    {
                        "$identifier_key": "order_id",
                        "$identifier_value": "o2",
                        "$new_object": sent(2, total=99.5),
                    }
                ]
            },
            "_merge_objects": True,
        }
    }


def test_a_removed_element_sends_remove_and_an_added_one_the_full_list():
    """$add is never sent: Braze appends without looking at ids, so a request applied and then
    resent (a dropped answer) would hold the element twice; the full list replaces whole."""
    before = ledger_after(frame([("a", FIVE, GOLD), ("b", FIVE, GOLD)]))
    got = bodies(frame([("a", FIVE[:4], GOLD), ("b", [*FIVE, order(6)], GOLD)]), before)
    assert got == {
        "a": {
            "external_id": "a",
            "recent_orders": {
                "$remove": [{"$identifier_key": "order_id", "$identifier_value": "o5"}]
            },
        },
        "b": {"external_id": "b", "recent_orders": [sent(n) for n in range(1, 7)]},
    }


def test_remove_and_update_go_in_one_value():
    """Braze applies $remove, then $update (its docs); ours name different ids."""
    before = ledger_after(frame([("a", FIVE, GOLD)]))
    now = [order(1, total=1.0), *FIVE[1:4]]
    got = bodies(frame([("a", now, GOLD)]), before)["a"]
    assert got["recent_orders"] == {
        "$remove": [{"$identifier_key": "order_id", "$identifier_value": "o5"}],
        "$update": [
            {"$identifier_key": "order_id", "$identifier_value": "o1", "$new_object": sent(1, 1.0)}
        ],
    }
    assert got["_merge_objects"] is True


def test_reordered_elements_and_keys_are_no_change():
    before = ledger_after(frame([("a", FIVE, GOLD)]))
    reordered_struct = pl.Struct({"points": pl.Int64, "joined_on": pl.Date, "tier": pl.String})
    current = pl.DataFrame(
        {"external_id": ["a"], "recent_orders": [list(reversed(FIVE))], "loyalty": [GOLD]},
        schema={**SCHEMA, "loyalty": reordered_struct},
    )
    diff = compute_diff(current, before)
    assert diff.height == 0 and diff.figures.unchanged == 1


def test_an_update_that_drops_a_field_sends_the_full_list():
    """$update deep-merges: it cannot remove a field (Braze's docs), so the list is sent."""
    before = ledger_after(frame([("a", FIVE, GOLD)]))
    now = [order(1, channel=None), *FIVE[1:]]
    value = bodies(frame([("a", now, GOLD)]), before)["a"]["recent_orders"]
    assert value == [sent(1, channel=None), *[sent(n) for n in range(2, 6)]]


def test_an_update_beside_a_changed_object_sends_the_full_list_and_no_merge():
    """_merge_objects would merge the object too, so the object and the list go whole."""
    before = ledger_after(frame([("a", FIVE, GOLD)]))
    silver = {**GOLD, "tier": "Silver"}
    got = bodies(frame([("a", [order(1, total=5.0), *FIVE[1:]], silver)]), before)["a"]
    assert "_merge_objects" not in got
    assert got["recent_orders"] == [sent(1, 5.0), *[sent(n) for n in range(2, 6)]]
    assert got["loyalty"] == {"joined_on": {"$time": "2021-06-01"}, "points": 120, "tier": "Silver"}


def test_a_short_array_change_sends_the_cheaper_full_list():
    before = ledger_after(frame([("a", FIVE[:1], GOLD)]))
    value = bodies(frame([("a", [order(1, total=2.0)], GOLD)]), before)["a"]["recent_orders"]
    assert value == [sent(1, 2.0)]


def test_an_emptied_array_and_object_are_unset_with_null():
    before = ledger_after(frame([("a", FIVE, GOLD)]))
    empty_object = {"tier": None, "points": None, "joined_on": None}
    got = bodies(frame([("a", [], empty_object)]), before)
    assert got == {"a": {"external_id": "a", "recent_orders": None, "loyalty": None}}


def test_the_ledger_holds_the_full_new_value_after_operations():
    before = ledger_after(frame([("a", FIVE, GOLD)]))
    now = frame([("a", [order(1), order(2, total=7.0), *FIVE[2:4]], GOLD)])
    changes = compute_diff(now, before).changes
    assert "$remove" in changes[OBJECT][0] and "$update" in changes[OBJECT][0]
    written = changes.get_column(WRITTEN).struct.field("recent_orders")
    expected = compute_diff(now, empty_ledger()).changes.get_column(WRITTEN)
    assert written.to_list() == expected.struct.field("recent_orders").to_list()
    assert json.loads(written[0]) == [sent(1), sent(2, 7.0), sent(3), sent(4)]


def test_the_ledger_keeps_a_comparison_key_and_a_ledger_without_it_compares_texts():
    first = frame([("a", FIVE, GOLD), ("b", FIVE, GOLD)])
    ledger = ledger_after(first)
    assert {"$key:recent_orders", "$key:loyalty"} <= set(ledger.accepted.columns)
    keyless = LedgerView(ledger.accepted.select(pl.exclude("^\\$key:.*$")), NO_REJECTIONS)
    now = frame([("a", list(reversed(FIVE)), GOLD), ("b", FIVE[:4], GOLD)])
    for view in (ledger, keyless):
        got = bodies(now, view)
        assert list(got) == ["b"] and "$remove" in got["b"]["recent_orders"]
