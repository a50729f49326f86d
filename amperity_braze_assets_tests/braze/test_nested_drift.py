"""The ledger's nested texts read through today's types: a field dropped from the configuration
or a number type changed sends the full list (an $update would keep the dropped field in Braze
or compare truncated numbers); a whole float and the same integer are one value."""

from __future__ import annotations

import json

import polars as pl

from amperity_braze_assets import nested_values
from amperity_braze_assets.braze.diff import compute_diff
from amperity_braze_assets.braze.ledger import REJECTION_SCHEMA, LedgerView, apply_segments
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets_tests.braze.test_unconfirmed_fields import KEY, ledger, sync  # noqa: F401

WITH_COUPON = pl.List(pl.Struct({"order_id": pl.String, "total": pl.Float64, "coupon": pl.String}))
WITHOUT = pl.List(pl.Struct({"order_id": pl.String, "total": pl.Float64}))


def orders(dtype: pl.DataType, second_total: float) -> pl.DataFrame:
    elements = [
        {"order_id": f"o{n}", "total": second_total if n == 2 else 10.0} for n in range(1, 6)
    ]
    if "coupon" in [f.name for f in dtype.inner.fields]:
        elements = [{**e, "coupon": "X" if e["order_id"] == "o1" else None} for e in elements]
    return pl.DataFrame(
        {"external_id": ["a"], "recent_orders": [elements]},
        schema={"external_id": pl.String, "recent_orders": dtype},
    )


def test_a_field_dropped_from_the_configuration_leaves_braze_by_a_full_list(ledger):  # noqa: F811
    with start_emulator(KEY) as emulator:
        sync(orders(WITH_COUPON, 10.0), ledger, emulator, "r1")
        assert emulator.profiles["a"]["recent_orders"][0]["coupon"] == "X"
        _, sent = sync(orders(WITHOUT, 11.0), ledger, emulator, "r2")
        assert isinstance(sent["a"]["recent_orders"], list)  # not $update: coupon would stay
        assert emulator.profiles["a"]["recent_orders"][0] == {"order_id": "o1", "total": 10}
        ledger_value = json.loads(ledger.view().accepted["recent_orders"][0])
        assert ledger_value == emulator.profiles["a"]["recent_orders"]
        _, sent = sync(orders(WITHOUT, 11.0), ledger, emulator, "r3")
        assert sent == {}


def test_a_number_type_change_is_never_compared_truncated():
    as_int = pl.List(pl.Struct({"order_id": pl.String, "total": pl.Int64}))
    before = pl.Series(['[{"order_id":"o1","total":10},{"order_id":"o2","total":10.5}]'])
    now = pl.Series(
        [[{"order_id": "o1", "total": 11}, {"order_id": "o2", "total": 10}]], dtype=as_int
    )
    found = nested_values.array_operations(before, now, as_int)
    assert found.to_dicts() == [{"operations": None, "updates": False}]  # the full list
    as_number = pl.Series(['[{"order_id":"o1","total":"nine"}]'])
    found = nested_values.array_operations(as_number, now, as_int)  # text into Int64: unreadable
    assert found.to_dicts() == [{"operations": None, "updates": False}]


def _ledger_after(frame: pl.DataFrame) -> LedgerView:
    empty = LedgerView(
        pl.DataFrame(schema={"identifier": pl.String}), pl.DataFrame(schema=REJECTION_SCHEMA)
    )
    segment = compute_diff(frame, empty).full_segment()
    return LedgerView(apply_segments(empty.accepted, [segment]), empty.rejections)


def test_a_whole_float_and_the_same_integer_are_one_value():
    ints = pl.DataFrame(
        {"external_id": ["a"], "loyalty": [{"points": 1}], "orders": [[{"id": "o1", "n": 2}]]},
        schema={
            "external_id": pl.String,
            "loyalty": pl.Struct({"points": pl.Int64}),
            "orders": pl.List(pl.Struct({"id": pl.String, "n": pl.Int64})),
        },
    )
    floats = ints.cast(
        {
            "loyalty": pl.Struct({"points": pl.Float64}),
            "orders": pl.List(pl.Struct({"id": pl.String, "n": pl.Float64})),
        }
    )
    assert compute_diff(floats, _ledger_after(ints)).height == 0
    changed = floats.with_columns(loyalty=pl.struct(points=pl.lit(1.5)))
    assert compute_diff(changed, _ledger_after(ints)).changes["__object"].to_list() == [
        '{"external_id":"a","loyalty":{"points":1.5}}'
    ]
