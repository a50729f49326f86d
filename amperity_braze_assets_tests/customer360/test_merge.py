"""Untagged columns carried into the customer 360, combined over a person's records by the
aggregate the source names."""

from __future__ import annotations

import polars as pl
import pytest

from amperity_braze_assets.customer360.merge import source_attributes

# Person A has three shop accounts, person B one.
RAW = pl.DataFrame(
    {
        "source": ["shop"] * 4,
        "record_id": ["1", "2", "3", "4"],
        "updated_at": ["2025-01-01", "2025-03-01", "2025-02-01", "2025-01-01"],
        "attr_total_spent": ["$1,200.50", "80", "80", "15"],
        "attr_tier": ["gold", "silver", "silver", "bronze"],
        "attr_vip": ["yes", "no", "no", "no"],
    }
)
IDENTITY = pl.DataFrame(
    {"source": ["shop"] * 4, "record_id": ["1", "2", "3", "4"], "amperity_id": ["A", "A", "A", "B"]}
)


@pytest.mark.parametrize(
    ("column", "aggregate", "expected"),
    [
        ("Total Spent", "max", ["$1,200.50", "15"]),  # as numbers: "80" > "$1,200.50" as text
        ("Total Spent", "min", ["80", "15"]),
        ("Total Spent", "sum", ["1360.5", "15"]),
        ("Total Spent", "most_recent", ["80", "15"]),
        ("Tier", "most_frequent", ["silver", "bronze"]),
        ("Tier", "first_by_priority", ["silver", "bronze"]),
        ("VIP", "any", ["true", "false"]),
        ("VIP", "all", ["false", "false"]),
    ],
)
def test_carried_attribute_aggregates(column, aggregate, expected):
    out = source_attributes(
        {"shop": RAW},
        IDENTITY,
        {"shop": {column: "value"}},
        pl.Series(["A", "B"]),
        {"value": aggregate},
    )
    assert out.get_column("value").to_list() == expected
