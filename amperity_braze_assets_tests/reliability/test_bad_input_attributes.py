"""Wrong types, absurd dates, oversized values and injection strings through the attribute
builder: it never crashes, every invalid value is a reject with a reason, valid values pass."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import example, given
from hypothesis import strategies as st

from amperity_braze_assets.activation.attributes import build_braze_attributes
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets_tests.braze.helpers import make_project

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
MAPPING = """
custom:
  n_int: {source: customer_360.given_name, type: Integer}
  n_float: {source: customer_360.surname, type: Float}
  flag: {source: customer_360.city, type: Boolean}
  day: {source: customer_360.country, type: Date}
  moment: {source: customer_360.gender, type: Datetime}
  short: {source: customer_360.phone, type: Varchar(16)}
"""
FIELDS = {
    "n_int": "given_name",
    "n_float": "surname",
    "flag": "city",
    "day": "country",
    "moment": "gender",
    "short": "phone",
}
CONFIG = load_attribute_config(make_project(Path(tempfile.mkdtemp()), MAPPING))
HOSTILE = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.sampled_from(
        [
            "1",
            "-7",
            "3.5",
            "1e400",
            "NaN",
            "inf",
            "true",
            "no",
            "2024-02-30",
            "0000-01-01",
            "99999-12-31",
            "-0001-01-01",
            "2024-01-01T25:00:00Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31",
            "2024-06-01",
            "x" * 100_000,
            "=cmd|' /C calc'!A0",
            "'; DROP TABLE x; --",
            "<script>",
            "\x00\x07",
            "99999999999999999999999",
            "漢字🙂",
        ]
    ),
)
FIGURES = {"values": 0, "rejects": 0}


@given(st.lists(st.tuples(*[HOSTILE] * len(FIELDS)), min_size=1, max_size=8))
# Found by the full search: a Unicode digit that is not an ASCII digit.
@example(rows=[("²", *[None] * (len(FIELDS) - 1))])
def test_hostile_values_are_rejected_with_a_reason_or_pass(rows):
    columns = {c: [r[i] for r in rows] for i, c in enumerate(FIELDS.values())}
    c360 = pl.DataFrame(
        {"amperity_id": [f"A{i}" for i in range(len(rows))], **columns},
        schema={"amperity_id": pl.String, **{c: pl.String for c in columns}},
    )
    attributes, rejects = build_braze_attributes({"customer_360": c360}, None, CONFIG, AS_OF)
    assert attributes.height == len(rows)
    assert rejects["reason"].null_count() == 0 and all(rejects["reason"].str.len_chars() > 0)
    for field, column in FIELDS.items():
        for person, raw, out in zip(
            c360["amperity_id"], c360[column], attributes[field], strict=True
        ):
            rejected = rejects.filter(
                (pl.col("external_id") == person) & (pl.col("field") == field)
            )
            FIGURES["values"] += 1
            if out is None and raw is not None and raw.strip():
                assert rejected.height == 1, (field, raw)  # never dropped silently
                FIGURES["rejects"] += 1
            if out is not None:
                assert rejected.height == 0
            if (
                field == "n_int"
                and raw is not None
                # ASCII digits only: str.isdigit() also accepts '²', which int() refuses
                and re.fullmatch(r"-?[0-9]+", raw.strip()) is not None
                and len(raw) < 15
            ):
                assert out == int(raw)  # a valid value passes unchanged
            if (
                field == "short"
                and raw is not None
                and 0 < len(raw.strip()) <= 16
                and raw == raw.strip()
                and raw.isprintable()
            ):
                assert out == raw, (raw, out)
