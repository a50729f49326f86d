"""Attribute-level change detection on small frames."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from amperity_braze_assets.braze.diff import DATA_POINTS, OBJECT, compute_diff
from amperity_braze_assets.braze.ledger import IDENTIFIER, LedgerView, apply_segments

EMPTY = LedgerView(
    pl.DataFrame(schema={IDENTIFIER: pl.String}),
    pl.DataFrame(schema={IDENTIFIER: pl.String, "object": pl.String}),
)


def people() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "external_id": ["a", "b", "c"],
            "first_name": ["Ann", "Bob", None],
            "email": ["a@example.com", None, "c@example.com"],
            "ltv": [10.5, 3.0, None],
            "orders": [1, 2, 3],
            "birthday_month": [dt.date(2024, 1, 1), None, None],
            "last_order_at": [dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC), None, None],
            "audience_vip": [True, False, False],
            "favourite_categories": [["shoes", "bags"], [], None],
        },
        schema_overrides={"last_order_at": pl.Datetime("us", "UTC")},
    )


def accepted_after(diff, view=EMPTY) -> LedgerView:
    return LedgerView(apply_segments(view.accepted, [diff.segment(diff.changes)]), view.rejections)


def objects(diff) -> dict[str, dict]:
    return {json.loads(o)["external_id"]: json.loads(o) for o in diff.changes[OBJECT]}


def test_new_people_get_every_non_null_value():
    diff = compute_diff(people(), EMPTY)
    sent = objects(diff)
    assert sent["a"]["last_order_at"] == "2024-05-01T12:00:00.000Z"
    assert sent["a"]["birthday_month"] == "2024-01-01T00:00:00.000Z"
    assert sent["b"] == {
        "external_id": "b",
        "first_name": "Bob",
        "ltv": 3.0,
        "orders": 2,
        "audience_vip": False,
    }
    assert (
        diff.figures.new == 3
        and diff.figures.data_points == int(diff.changes[DATA_POINTS].sum()) == 15
    )
    assert diff.figures.full_resend_data_points == 15


def test_second_run_sends_only_changes_clears_and_audience_leaves():
    first = compute_diff(people(), EMPTY)
    ledger = accepted_after(first)
    assert compute_diff(people(), ledger).changes.height == 0
    changed = people().with_columns(
        audience_vip=pl.lit(False),
        email=pl.when(pl.col("external_id") == "c").then(None).otherwise(pl.col("email")),
        favourite_categories=pl.Series([["bags", "shoes", "bags"], [], None]),  # same set
    )
    diff = compute_diff(changed, ledger)
    assert objects(diff) == {
        "a": {"external_id": "a", "audience_vip": False},
        "c": {"external_id": "c", "email": None},
    }
    figures = diff.figures
    assert (
        figures.changed,
        figures.unchanged,
        figures.new,
        figures.cleared,
        figures.data_points,
    ) == (2, 1, 0, 1, 2)


def test_rejected_objects_are_held_back_until_they_change():
    first = compute_diff(people(), EMPTY)
    rejected_object = first.changes.filter(pl.col(IDENTIFIER) == "b")[OBJECT][0]
    accepted = first.changes.filter(pl.col(IDENTIFIER) != "b")
    view = LedgerView(
        apply_segments(EMPTY.accepted, [first.segment(accepted)]),
        pl.DataFrame({IDENTIFIER: ["b"], "object": [rejected_object]}),
    )
    held = compute_diff(people(), view)
    assert held.changes.height == 0 and held.figures.held_rejected == 1
    assert compute_diff(people(), view, retry_rejected=True).changes[IDENTIFIER].to_list() == ["b"]
    changed = people().with_columns(first_name=pl.lit("Robert"))
    assert "b" in compute_diff(changed, view).changes[IDENTIFIER].to_list()


def test_attribute_subset_and_update_existing_only():
    diff = compute_diff(people(), EMPTY, attributes=["first_name"], update_existing_only=True)
    assert objects(diff)["a"] == {
        "external_id": "a",
        "first_name": "Ann",
        "_update_existing_only": True,
    }
