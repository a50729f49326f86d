"""Attribute-level change detection on small frames."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from polars.testing import assert_frame_equal

from amperity_braze_assets.braze.diff import (
    DATA_POINTS,
    FIELDS,
    IS_NEW,
    OBJECT,
    WRITTEN,
    canonical_expr,
    changes_schema,
    compute_diff,
    has_value_expr,
)
from amperity_braze_assets.braze.ledger import CLEARED, IDENTIFIER, LedgerView, apply_segments

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


# -- the rendering path against a plain per-person reference -----------------------------------
UTC = dt.UTC
NEW_YORK = "America/New_York"


def mixed(version: int) -> pl.DataFrame:
    """Forty people whose attributes are absent, present, cleared and changed in many patterns,
    with every kind of value the sent text treats apart. Every third person never changes."""
    n = 40
    v = [version if i % 3 != 2 else 0 for i in range(n)]
    names = ['Ann "Quote"', "B\\slash", "line\nbreak", "tab\tand\x01ctl", "Zoë 😀", "plain", None]
    days = [dt.date(2024, 2, 29), dt.date(1969, 12, 31), None]
    moments = [
        dt.datetime(2024, 5, 1, 12, 0, 0, 123456),
        dt.datetime(1960, 1, 1, 0, 0, 0, 999),
        None,
    ]
    tags = [["b", "a"], ["a", "b", "a"], [], None, ["x"]]
    scores = [1.5, float("nan"), float("inf"), None, -0.0, 1e20, 0.1 + 0.2]
    frame = pl.DataFrame(
        {
            "external_id": [f"p{i:02d}" if i != 7 else 'p"07' for i in range(n)],
            "first_name": [names[(i + v[i] * (i % 2)) % len(names)] for i in range(n)],
            "email": [None if i % 4 == v[i] else f"p{i}@example.com" for i in range(n)],
            "score": [scores[(i + v[i]) % 7] for i in range(n)],
            "orders": [None if (i + v[i]) % 5 == 0 else i * (1 + v[i]) for i in range(n)],
            "vip": [None if i % 6 == 0 else (i + v[i]) % 2 == 0 for i in range(n)],
            "day": [days[(i + v[i] * (i % 2)) % 3] for i in range(n)],
            "at_utc": [moments[(i + v[i]) % 3] for i in range(n)],
            "at_naive": [moments[(i * 2 + v[i]) % 3] for i in range(n)],
            "at_new_york": [moments[i % 3] for i in range(n)],
            "tags": [tags[(i + v[i] * (i % 4 == 1)) % 5] for i in range(n)],
            "push_subscribe": [None if i % 3 else "opted_in" for i in range(n)],
            "nothing": [None] * n,
        },
        schema_overrides={
            "day": pl.Date,
            "at_utc": pl.Datetime("us"),
            "at_naive": pl.Datetime("ms"),
            "at_new_york": pl.Datetime("us"),
            "tags": pl.List(pl.String),
        },
    )
    return frame.with_columns(
        pl.col("at_utc").dt.replace_time_zone("UTC"),
        pl.col("at_new_york").dt.replace_time_zone(NEW_YORK),
    )


def sent_text(value, dtype: pl.DataType, canonical: str | None) -> str:
    if canonical is None:
        return "null"
    if dtype == pl.String:
        return json.dumps(value, ensure_ascii=False)
    if dtype == pl.Date:
        return f'"{value:%Y-%m-%d}T00:00:00.000Z"'
    if isinstance(dtype, pl.Datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value
        return f'"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"'
    return canonical  # numbers, booleans and arrays: their canonical text is their JSON text


def reference_changes(current: pl.DataFrame, accepted: pl.DataFrame) -> pl.DataFrame:
    """What to send, person by person in plain Python (canonical texts from canonical_expr)."""
    names = [c for c in current.columns if c != "external_id"]
    canonical = current.select(canonical_expr(a, current.schema[a]).alias(a) for a in names)
    ledger = {row[IDENTIFIER]: row for row in accepted.to_dicts()}
    rows = []
    for values, texts in zip(current.to_dicts(), canonical.to_dicts(), strict=True):
        person = values["external_id"]
        before = ledger.get(person)
        sent = []
        for a in names:
            now = texts[a]
            if before is None:
                changed = now is not None
            else:
                was = before.get(a)
                changed = now != was
                if changed and now is not None and was is not None and a == "tags":
                    changed = set(json.loads(now)) != set(json.loads(was))
            if changed:
                sent.append(a)
        if not sent:
            continue
        text = ",".join(
            [f'"external_id":{json.dumps(person, ensure_ascii=False)}']
            + [f"{json.dumps(a)}:{sent_text(values[a], current.schema[a], texts[a])}" for a in sent]
        )
        rows.append(
            {
                IDENTIFIER: person,
                OBJECT: "{" + text + "}",
                FIELDS: sent,
                DATA_POINTS: sum(a != "push_subscribe" for a in sent),
                IS_NEW: before is None,
                WRITTEN: {
                    a: (texts[a] if texts[a] is not None else CLEARED) if a in sent else None
                    for a in names
                },
            }
        )
    return pl.DataFrame(rows, schema=changes_schema(names))


def test_rendered_changes_match_a_plain_reference():
    first = compute_diff(mixed(0), EMPTY)
    assert_frame_equal(first.changes, reference_changes(mixed(0), EMPTY.accepted))
    everyone = accepted_after(first).accepted
    gone = everyone.head(1).with_columns(pl.lit("o-gone").alias(IDENTIFIER))
    in_order = pl.concat([gone, everyone]).sort(IDENTIFIER)  # the current table's order
    some = in_order.filter(~pl.col(IDENTIFIER).is_in(["p03", "p11", "p20", "p21"]))
    current = mixed(1).sort("external_id")
    for accepted in (in_order, some, in_order.reverse()):
        diff = compute_diff(current, LedgerView(accepted, EMPTY.rejections))
        expected = reference_changes(current, accepted)
        assert expected[IS_NEW].any() == (accepted.height < in_order.height)
        assert 10 < expected.height < current.height - 10
        assert expected[WRITTEN].struct.field("email").is_in([CLEARED]).any()
        assert_frame_equal(diff.changes, expected)
        assert_frame_equal(pl.concat(diff.chunks(rows=7)), expected)
        assert_frame_equal(diff.full_segment(), diff.segment(diff.changes))
        assert diff.figures.data_points == int(expected[DATA_POINTS].sum())


def test_has_value_matches_the_canonical_text():
    frame = mixed(0)
    for name, dtype in frame.schema.items():
        has = frame.select(has_value_expr(name, dtype)).to_series()
        canonical = frame.select(canonical_expr(name, dtype)).to_series()
        assert has.to_list() == canonical.is_not_null().to_list(), name
