"""The attributes the builder writes hold only what Braze's spec accepts, judged by rules that
share no code with the builder (``spec_formats``); and those rules can fail."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from amperity_braze_assets.activation.attributes import build_braze_attributes, invalid_value_counts
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets_tests.activation.helpers import STANDARD_FROM_C360
from amperity_braze_assets_tests.activation.spec_formats import spec_problems
from amperity_braze_assets_tests.braze.helpers import make_project

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
STANDARD_AND_CUSTOM = (
    STANDARD_FROM_C360
    + """custom:
  note: {source: customer_360.state, type: String}
  score: {source: customer_360.loyalty_points, type: Float}
  seen_at: {source: customer_360.last_updated_at, type: Datetime}
  channels: {source: customer_360.sources, type: Array}
"""
)


def build(tmp_path, **columns):
    n = len(next(iter(columns.values())))
    c360 = pl.DataFrame({"amperity_id": [f"AMP-{i}" for i in range(n)], **columns})
    mapping = load_attribute_config(make_project(tmp_path, STANDARD_AND_CUSTOM))
    attributes, _rejects = build_braze_attributes({"customer_360": c360}, None, mapping, AS_OF)
    return attributes, mapping


def dirty_people(email: str = "b@@x") -> dict:
    return {
        "given_name": ["MARY-JANE", "x" * 300, None],
        "email": [" Mary@Example.COM ", email, "no-at-sign"],
        "phone": ["+14155550100", "4155550100", "555"],
        "birthdate": [dt.date(1980, 2, 29), None, dt.date(2001, 1, 1)],
        "gender": ["F", "female", "?"],
        "country": ["us", "USA", "Atlantis"],
        "city": ["NEW YORK", "", "x" * 300],
        "state": ["ok", "y" * 256, None],
        "loyalty_points": [1.5, float("nan"), float("inf")],
        "last_updated_at": ["2024-01-02T03:04:05Z", "yesterday", None],
        "sources": ["web,store", "z" * 256, None],
    }


def test_the_builders_output_meets_the_spec(tmp_path):
    attributes, mapping = build(tmp_path, **dirty_people())
    assert spec_problems(attributes) == {}
    assert invalid_value_counts(attributes, mapping) == {}  # the production check agrees


def test_the_builder_drops_an_address_with_two_dots_in_a_row(tmp_path):
    attributes, _ = build(tmp_path, **dirty_people(email="first..last@example.com"))
    assert spec_problems(attributes) == {}


@pytest.mark.parametrize(
    "email", ["first..last@example.com", ".@x.iofuk", "x" * 65 + "@example.com", "a@b.co"]
)
def test_the_production_check_and_the_emulators_rules_agree_on_built_output(tmp_path, email):
    """Whatever the builder lets through, ``values_valid_for_types`` sees what the emulator sees."""
    attributes, mapping = build(tmp_path, **dirty_people(email=email))
    assert ("email" in spec_problems(attributes)) == (
        "email" in invalid_value_counts(attributes, mapping)
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("email", "first..last@example.com"),
        ("phone", "+10000000"),
        ("dob", "2023-02-30"),
        ("country", "UK"),
        ("gender", "female"),
        ("language", "english"),
        ("time_zone", "Mars/Olympus"),
        ("first_name", "x" * 256),
        ("note", "y" * 256),
        ("score", float("nan")),
        ("channels", ["z" * 256]),
    ],
)
def test_spec_problems_catches_each_kind_of_bad_value(column, value):
    clean = {
        "external_id": "a",
        "email": "ann@example.com",
        "phone": "+14155550100",
        "dob": "1980-02-29",
        "country": "GB",
        "gender": "F",
        "language": "en",
        "time_zone": "Europe/London",
        "first_name": "Ann",
        "note": "fine",
        "score": 0.5,
        "channels": ["web"],
    }
    assert spec_problems(pl.DataFrame([clean])) == {}
    frame = pl.DataFrame([clean, {**clean, "external_id": "b", column: value}])
    problems = spec_problems(frame)
    assert list(problems) == [column]
    assert problems[column].startswith("1 value(s) the spec refuses")


def test_spec_problems_refuses_columns_braze_would_misfile():
    frame = pl.DataFrame({"external_id": ["a"], "Birthdate": ["1980-01-01"], "$x": [1]})
    assert set(spec_problems(frame)) == {"Birthdate", "$x"}
