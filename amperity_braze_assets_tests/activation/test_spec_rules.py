"""The production check ``values_valid_for_types`` judges Braze's formats by ``spec_rules``, written
from the spec, so it fails on values the builder's own rules (``braze_fields.py``) let through."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

from amperity_braze_assets import braze_fields
from amperity_braze_assets.activation.attributes import build_braze_attributes, invalid_value_counts
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.activation.spec_rules import STANDARD_FIELD_RULES, refused_phone
from amperity_braze_assets.devtools import emulator_rules
from amperity_braze_assets_tests.activation.helpers import STANDARD_FROM_C360
from amperity_braze_assets_tests.braze.helpers import make_project

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
EVERY_STANDARD_FIELD = (
    "allow_consent_fields: true\n"
    + STANDARD_FROM_C360
    + """  last_name: {value: Smith}
  email_subscribe: {value: opted_in}
  push_subscribe: {value: subscribed}
"""
)


@pytest.fixture
def clean(tmp_path):
    """Two people the builder turns into attributes Braze accepts, and the mapping."""
    c360 = pl.DataFrame(
        {
            "amperity_id": ["AMP-0", "AMP-1"],
            "given_name": ["Ann", None],
            "email": ["ann@example.com", None],
            "phone": ["+14155550100", None],
            "birthdate": [dt.date(1980, 2, 29), None],
            "gender": ["F", None],
            "country": ["GB", None],
            "city": ["London", None],
        }
    )
    mapping = load_attribute_config(make_project(tmp_path, EVERY_STANDARD_FIELD))
    attributes, _rejects = build_braze_attributes({"customer_360": c360}, None, mapping, AS_OF)
    return attributes, mapping


def test_the_rules_cover_every_standard_field_the_builder_knows():
    assert set(STANDARD_FIELD_RULES) == set(braze_fields.STANDARD_FIELDS)


def test_clean_attributes_pass_and_nulls_are_never_refused(clean):
    attributes, mapping = clean
    assert attributes.height == 2
    assert attributes.row(1, named=True)["email"] is None
    assert invalid_value_counts(attributes, mapping) == {}


@pytest.mark.parametrize(
    "address",
    [
        "first..last@example.com",  # RFC 5322: no two dots in a row
        ".@x.iofuk",  # RFC 5322: no leading or trailing dot in the local part
        "ann.@example.com",
        "x" * 65 + "@example.com",  # RFC 5321: local part at most 64 octets
    ],
)
def test_the_check_refuses_addresses_the_spec_refuses(clean, address):
    attributes, mapping = clean
    # Handed the values directly (as a builder with a looser catalogue would send them), the
    # check judges them by the spec, not by the catalogue that builds the table.
    broken = attributes.with_columns(email=pl.Series([address, None]))
    assert invalid_value_counts(broken, mapping) == {"email": "1 invalid value(s)"}


def test_the_check_accepts_addresses_at_the_limits(clean):
    attributes, mapping = clean
    longest_local = "x" * 64 + "@example.com"
    longest = "a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 58, "io"])
    assert len(longest) == 254
    for address in (longest_local, longest, "o'brien+tag@mail.example.co.uk", "a@b.xn--p1ai"):
        fine = attributes.with_columns(email=pl.Series([address, None]))
        assert invalid_value_counts(fine, mapping) == {}, address
    too_long = longest.replace("d" * 58, "d" * 59)  # RFC 5321: an address is at most 254
    broken = attributes.with_columns(email=pl.Series([too_long, None]))
    assert invalid_value_counts(broken, mapping) == {"email": "1 invalid value(s)"}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("phone", "+10000000"),  # E.164 shape, but no +1 number has 7 digits
        ("phone", "+4412"),
        ("phone", "4155550100"),
        ("dob", "2023-02-30"),
        ("dob", "1980-2-29"),
        ("gender", "female"),
        ("country", "UK"),  # the United Kingdom is GB in ISO 3166-1
        ("language", "english"),
        ("time_zone", "Mars/Olympus"),
        ("first_name", "x" * 256),
        ("last_name", "y" * 256),
        ("home_city", "z" * 256),
        ("email_subscribe", "yes"),
        ("push_subscribe", "opted-in"),
    ],
)
def test_the_check_refuses_each_kind_of_bad_standard_value(clean, column, value):
    attributes, mapping = clean
    broken = attributes.with_columns(pl.Series(column, [value, None]))
    assert invalid_value_counts(broken, mapping) == {column: "1 invalid value(s)"}


def test_the_phone_rule_agrees_with_the_emulators_number_by_number():
    """The rule settles most numbers by their plan's lengths and parses only the rest; the
    answers must be libphonenumber's, as the emulator asks it one number at a time."""
    rng = random.Random(16)
    codes = ["1", "7", "33", "44", "49", "52", "54", "61", "81", "86", "353", "880", "979", "999"]
    numbers = [
        "+"
        + rng.choice(codes)
        + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12)))
        for _ in range(3000)
    ]
    numbers += ["+14155550100", "+4402079460000", "+10000000", "+5491123456789"]
    numbers = [number for number in numbers if len(number) <= 16]
    refused = pl.DataFrame({"phone": numbers}).select(refused_phone(pl.col("phone")))["phone"]
    expected = [emulator_rules.phone_problem(number) is not None for number in numbers]
    assert refused.to_list() == expected
    assert 0 < sum(expected) < len(numbers)
