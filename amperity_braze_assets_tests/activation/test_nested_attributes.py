"""Object and ArrayOfObjects custom attributes: the mapping, the values built, the refusals, the
workspace check; and a value over Braze's 100 KB that is refused before it can be sent."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from amperity_braze_assets.activation.attributes import build_braze_attributes, invalid_value_counts
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.braze import workspace
from amperity_braze_assets.braze.diff import OBJECT, compute_diff
from amperity_braze_assets.braze.ledger import REJECTION_SCHEMA, LedgerView
from amperity_braze_assets.braze.workspace import DeclaredAttribute, declared_attributes
from amperity_braze_assets.braze.workspace_client import WorkspaceAttribute
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets_tests.braze.helpers import make_project

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
NESTED = """
custom:
  loyalty:
    type: Object
    fields:
      tier: customer_360.loyalty_tier
      points: {source: customer_360.loyalty_points, type: Integer}
      joined_on: {source: customer_360.loyalty_joined_on, type: Date}
  recent_orders:
    type: ArrayOfObjects
    from: order_lines
    id_key: order_id
    fields:
      placed_at: {max: order_time}
      order_id: order_id
      items: {sum: quantity}
      channel: source
    order_by: placed_at
    limit: 2
"""
CUSTOMERS = pl.DataFrame(
    {
        "amperity_id": ["A", "B", "C"],
        "loyalty_tier": ["Gold", None, "Silver"],
        "loyalty_points": ["120", None, "lots"],
        "loyalty_joined_on": ["2021-06-01", None, "2022-01-02"],
    }
)


def lines(rows: list[tuple[str, str, float, int]]) -> pl.DataFrame:
    """(person, order, quantity, day of March 2025) per line."""
    return pl.DataFrame(
        {
            "amperity_id": [r[0] for r in rows],
            "source": ["web"] * len(rows),
            "order_id": [r[1] for r in rows],
            "line_number": list(range(len(rows))),
            "sku": ["s"] * len(rows),
            "product_name": ["p"] * len(rows),
            "quantity": [r[2] for r in rows],
            "price": [1.0] * len(rows),
            "order_time": [dt.datetime(2025, 3, r[3], tzinfo=dt.UTC) for r in rows],
        }
    )


def build(tmp_path, attributes: str, order_lines: pl.DataFrame):
    mapping = load_attribute_config(make_project(tmp_path, attributes))
    tables = {"customer_360": CUSTOMERS, "order_lines": order_lines}
    return (*build_braze_attributes(tables, None, mapping, AS_OF), mapping)


def test_objects_and_arrays_of_objects_are_built_typed_and_latest_first(tmp_path):
    orders = lines(
        [
            ("A", "o1", 1, 1),
            ("A", "o1", 2, 1),
            ("A", "o2", 1, 5),
            ("A", "o3", 1, 3),
            ("B", "o9", 4, 2),
        ]
    )
    attributes, rejects, mapping = build(tmp_path, NESTED, orders)
    assert mapping.tables_used >= {"order_lines"}
    assert attributes.schema["loyalty"] == pl.Struct(
        {"tier": pl.String, "points": pl.Int64, "joined_on": pl.Date}
    )
    element = attributes.schema["recent_orders"].inner
    assert [f.name for f in element.fields] == ["order_id", "placed_at", "items", "channel"]
    rows = {r["external_id"]: r for r in attributes.to_dicts()}
    assert rows["A"]["loyalty"] == {"tier": "Gold", "points": 120, "joined_on": dt.date(2021, 6, 1)}
    assert [o["order_id"] for o in rows["A"]["recent_orders"]] == ["o2", "o3"]  # limit 2, latest
    assert rows["B"]["recent_orders"] == [
        {
            "order_id": "o9",
            "placed_at": dt.datetime(2025, 3, 2, tzinfo=dt.UTC),
            "items": 4.0,
            "channel": "web",
        }
    ]
    assert rows["C"]["recent_orders"] is None  # no orders: no value
    # "lots" is no Integer: the object is refused with the reason, never sent half-typed.
    assert rows["C"]["loyalty"] is None
    assert rejects.filter(pl.col("field") == "loyalty").select(
        "external_id", "reason"
    ).to_dicts() == [{"external_id": "C", "reason": "field points: not a valid Integer"}]
    assert invalid_value_counts(attributes, mapping) == {}


def test_a_value_over_100_kb_is_refused_with_its_reason_and_never_sent(tmp_path):
    many = NESTED.replace("    limit: 2\n", "").replace("channel: source", "channel: product_name")
    big = lines([("A", f"order-{n:04d}", 1, 1 + n % 28) for n in range(1200)]).with_columns(
        product_name=pl.lit("x" * 60)
    )
    attributes, rejects, _ = build(tmp_path, many, big)
    refused = rejects.filter(pl.col("field") == "recent_orders").to_dicts()
    assert len(refused) == 1 and refused[0]["external_id"] == "A"
    assert refused[0]["reason"].startswith("its JSON is 1")  # about 130,000 bytes
    assert refused[0]["reason"].endswith("over Braze's 100,000 for a nested value")
    assert refused[0]["action"] == "null_field"
    assert attributes.filter(pl.col("external_id") == "A")["recent_orders"][0] is None
    empty = LedgerView(
        pl.DataFrame(schema={"identifier": pl.String}), pl.DataFrame(schema=REJECTION_SCHEMA)
    )
    objects = [json.loads(o) for o in compute_diff(attributes, empty).changes[OBJECT]]
    assert all("recent_orders" not in o for o in objects if o["external_id"] == "A")


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            "  x: {type: ArrayOfObjects, from: order_lines, fields: {order_id: order_id}}",
            "needs id_key",
        ),
        (
            "  x: {type: Object, fields: {a: customer_360.nope}}",
            "unknown column 'customer_360.nope'",
        ),
        ("  x: {type: Object, fields: {a.b: customer_360.loyalty_tier}}", "may not hold '.', '$'"),
        ("  x: {type: Object, source: customer_360.loyalty_tier}", "built from fields:"),
        (
            "  x: {type: String, source: customer_360.loyalty_tier, id_key: a}",
            "apply to Object and",
        ),
        (
            "  x: {type: Object, fields: {a: customer_360.loyalty_tier}, limit: 3}",
            "ArrayOfObjects only",
        ),
        (
            "  x: {type: ArrayOfObjects, from: order_lines, id_key: order_id, "
            "fields: {order_id: order_id, n: {median: price}}}",
            "{<sum|min|max|first|count>: <column>}",
        ),
    ],
)
def test_refusals_name_the_file_the_entry_and_the_fix(tmp_path, entry, words):
    with pytest.raises(ConfigError) as refused:
        load_attribute_config(make_project(tmp_path, "custom:\n" + entry + "\n"))
    assert "attributes.yaml" in str(refused.value) and "'x'" in str(refused.value)
    assert words in str(refused.value)


def test_the_workspace_check_knows_the_nested_types(tmp_path):
    mapping = load_attribute_config(make_project(tmp_path, NESTED))
    declared = declared_attributes(mapping)
    assert set(declared) == {
        DeclaredAttribute("loyalty", "Object", "Object"),
        DeclaredAttribute("recent_orders", "ArrayOfObjects", "Array of Objects"),
    }
    held = [
        WorkspaceAttribute("loyalty", "Object", "Active"),
        WorkspaceAttribute("recent_orders", "Object Array", "Active"),  # the dashboard's words
    ]
    assert [f for f in workspace.compare(declared, held) if f.finding == "type_mismatch"] == []
    wrong = [WorkspaceAttribute("loyalty", "String", "Active")]
    mismatch = [f for f in workspace.compare(declared, wrong) if f.finding == "type_mismatch"]
    assert [f.attribute for f in mismatch] == ["loyalty"]
