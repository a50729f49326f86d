"""Nested attributes at build and load time: dates Braze would not store are refused with a
reason, elements come in one order (the kept set never changes by chance), and configuration
mistakes are refused at load naming the file, the entry and the fix."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets_tests.activation.test_nested_attributes import build, lines
from amperity_braze_assets_tests.braze.helpers import make_project

EXPIRING = """
custom:
  loyalty:
    type: Object
    fields:
      tier: customer_360.loyalty_tier
      joined_on: {source: customer_360.loyalty_joined_on, type: Date}
"""


def test_a_nested_date_past_year_3000_is_refused_with_its_reason(tmp_path, monkeypatch):
    customers = pl.DataFrame(
        {
            "amperity_id": ["A", "B"],
            "loyalty_tier": ["Gold", "Silver"],
            "loyalty_points": ["1", "2"],
            "loyalty_joined_on": ["9999-12-31", "2021-06-01"],  # a sentinel "never"
        }
    )
    monkeypatch.setattr(
        "amperity_braze_assets_tests.activation.test_nested_attributes.CUSTOMERS", customers
    )
    attributes, rejects, _ = build(tmp_path, EXPIRING, lines([]))
    rows = {r["external_id"]: r["loyalty"] for r in attributes.to_dicts()}
    assert rows == {"A": None, "B": {"tier": "Silver", "joined_on": dt.date(2021, 6, 1)}}
    refused = rejects.filter(pl.col("field") == "loyalty").to_dicts()
    assert [(r["external_id"], r["action"]) for r in refused] == [("A", "null_field")]
    assert refused[0]["reason"].startswith("a date or time field is outside years 0 to 3000")


ORDERED = """
custom:
  recent_orders:
    type: ArrayOfObjects
    from: order_lines
    id_key: order_id
    fields: {order_id: order_id, placed_at: {max: order_time}}
    order_by: placed_at
    limit: 2
"""
UNORDERED = """
custom:
  orders:
    type: ArrayOfObjects
    from: order_lines
    id_key: order_id
    fields: {order_id: order_id, items: {sum: quantity}}
"""


def test_ties_and_arrays_without_order_by_come_in_one_order_every_build(tmp_path):
    # 40 orders on the same day: the two kept are the smallest ids, every build.
    tied = lines([("A", f"o{n:02d}", 1, 1) for n in range(40)]).sample(fraction=1.0, seed=5)
    kept = {
        tuple(e["order_id"] for e in build(tmp_path, ORDERED, tied)[0]["recent_orders"][0])
        for _ in range(5)
    }
    assert kept == {("o00", "o01")}
    latest = lines([("A", "o1", 1, 3), ("A", "o2", 1, 9), ("A", "o3", 1, 9)])
    built = build(tmp_path, ORDERED, latest)[0]["recent_orders"][0]
    assert [e["order_id"] for e in built] == ["o2", "o3"]  # latest first, a tie by id
    shuffled = lines([("A", f"o{n:02d}", 1, 1 + n % 20) for n in range(30)])
    orders = {
        tuple(
            e["order_id"]
            for e in build(tmp_path, UNORDERED, shuffled.sample(fraction=1.0, seed=s))[0]["orders"][
                0
            ]
        )
        for s in range(5)
    }
    assert orders == {tuple(f"o{n:02d}" for n in range(30))}  # by id


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            "  x: {type: ArrayOfObjects, from: order_lines, id_key: order_id, limit: 2, "
            "fields: {order_id: order_id}}",
            "limit needs order_by",
        ),
        (
            "  x: {type: ArrayOfObjects, from: order_lines, id_key: n, "
            "fields: {n: {count: line_number}}}",
            "must be a column of the from table, not an aggregate",
        ),
        (
            "  x: {type: ArrayOfObjects, from: order_lines, id_key: order_id, "
            "fields: {order_id: order_id, s: {sum: sku}}}",
            "{sum: sku} adds numbers, and sku holds String; write {count: sku}",
        ),
        ("  x.y: {type: Object, fields: {a: customer_360.loyalty_tier}}", "rename it, e.g. 'x_y'"),
        ("  x y: {type: Object, fields: {a: customer_360.loyalty_tier}}", "may not hold '.', '$'"),
    ],
)
def test_configuration_mistakes_are_refused_at_load(tmp_path, entry, words):
    with pytest.raises(ConfigError) as refused:
        load_attribute_config(make_project(tmp_path, "custom:\n" + entry + "\n"))
    message = str(refused.value)
    assert "attributes.yaml" in message and "custom attribute 'x" in message
    assert words in message


def test_rows_without_an_id_are_counted_in_the_rejects_and_the_other_elements_sent(tmp_path):
    orders = lines([("A", "o1", 1, 2), ("A", "o2", 1, 3), ("A", "o3", 1, 4), ("B", "o9", 1, 1)])
    orders = orders.with_columns(
        order_id=pl.when(pl.col("order_id").is_in(["o2", "o3"])).then(None).otherwise("order_id")
    )
    attributes, rejects, _ = build(tmp_path, UNORDERED, orders)
    rows = {r["external_id"]: r["orders"] for r in attributes.to_dicts()}
    assert [e["order_id"] for e in rows["A"]] == ["o1"]
    assert rejects.filter(pl.col("field") == "orders").to_dicts() == [
        {
            "external_id": "A",
            "field": "orders",
            "value": "2 rows",
            "reason": "2 rows of order_lines have no order_id: no element is made of them "
            "(Braze finds elements by id); the other elements are sent",
            "action": "dropped_elements",
        }
    ]
