"""build_braze_attributes: formats, type casts, buckets, cases and the rejects table."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from amperity_braze_assets.activation.attributes import build_braze_attributes, invalid_value_counts
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets_tests.activation.helpers import STANDARD_FROM_C360
from amperity_braze_assets_tests.braze.helpers import make_project

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def people(**columns) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame({"amperity_id": [f"AMP-{i}" for i in range(n)], **columns})


def build(tmp_path, attributes: str, customer_360: pl.DataFrame, transactions=None, **kwargs):
    mapping = load_attribute_config(make_project(tmp_path, attributes, **kwargs))
    tables = {"customer_360": customer_360}
    if transactions is not None:
        tables["customer_transactions"] = transactions
    return build_braze_attributes(tables, None, mapping, AS_OF) + (mapping,)


def test_standard_fields_in_braze_formats(tmp_path):
    c360 = people(
        given_name=["MARY-JANE", "O'BRIEN"],
        surname=["SMITH", None],
        email=[" Mary@Example.COM ", "bad@@x"],
        phone=["+14155550100", "4155550100"],
        birthdate=[dt.date(1980, 2, 29), None],
        gender=["F", "female"],
        country=["us", "USA"],
        city=["NEW YORK", ""],
    )
    attributes, rejects, _ = build(
        tmp_path,
        STANDARD_FROM_C360 + "  last_name: customer_360.surname\n",
        c360,
    )
    assert attributes.columns[0] == "external_id"
    assert attributes.row(0, named=True) == {
        "external_id": "AMP-0",
        "first_name": "Mary-Jane",
        "last_name": "Smith",
        "email": "mary@example.com",
        "phone": "+14155550100",
        "dob": "1980-02-29",
        "gender": "F",
        "country": "US",
        "home_city": "New York",
        "language": "en",
        "time_zone": "America/New_York",
    }
    second = attributes.row(1, named=True)
    assert (second["first_name"], second["gender"], second["country"]) == ("O'Brien", "F", "US")
    assert second["email"] is None and second["phone"] is None and second["home_city"] is None
    assert rejects.filter(pl.col("external_id") == "AMP-1").select(
        "field", "value", "reason", "action"
    ).rows() == [
        ("email", "bad@@x", "not a valid email address", "null_field"),
        ("phone", "4155550100", "phone is not E.164", "null_field"),
    ]


def test_impossible_dob_string_is_rejected(tmp_path):
    c360 = people(dob_text=["1990-02-30", "1990-12-01"])
    c360 = c360.rename({"dob_text": "birthdate"})
    attributes, rejects, _ = build(tmp_path, "standard:\n  dob: customer_360.birthdate\n", c360)
    assert attributes["dob"].to_list() == [None, "1990-12-01"]
    assert rejects.select("value", "reason").row(0) == ("1990-02-30", "not a real YYYY-MM-DD date")


def test_dob_dates_outside_four_digit_years_are_rejected(tmp_path):
    # a Date is checked by its year (0-9999 print as YYYY-MM-DD): same answer as parsing the text
    dates = pl.Series([-719_529, -719_528, 0, 2_932_896, 2_932_897], dtype=pl.Int32).cast(pl.Date)
    c360 = people(birthdate=dates)
    attributes, rejects, _ = build(tmp_path, "standard:\n  dob: customer_360.birthdate\n", c360)
    assert attributes["dob"].to_list() == [None, "0000-01-01", "1970-01-01", "9999-12-31", None]
    assert rejects.select("external_id", "value", "reason").rows() == [
        ("AMP-0", "-0001-12-31", "not a real YYYY-MM-DD date"),
        ("AMP-4", "+10000-01-01", "not a real YYYY-MM-DD date"),
    ]


def test_each_person_takes_the_first_row_of_another_table(tmp_path):
    c360 = people(email=["a@example.com", "b@example.com", "c@example.com"])
    orders = pl.DataFrame(
        {
            "amperity_id": ["AMP-9", "AMP-2", "AMP-0", "AMP-2", "AMP-0"],
            "l12m_frequency": [7, 3, 1, 4, 2],
        }
    )
    attributes, _, _ = build(
        tmp_path,
        "custom:\n  orders: {source: customer_transactions.l12m_frequency, type: Integer}\n",
        c360,
        orders,
    )
    assert attributes.select("external_id", "orders").rows() == [
        ("AMP-0", 1),
        ("AMP-1", None),
        ("AMP-2", 3),
    ]


CASTS = [
    # (type, input values, expected output, expected rejected inputs)
    ("Boolean", ["yes", "F", "1", "maybe", None], [True, False, True, None, None], ["maybe"]),
    ("Boolean", [1, 0, 2], [True, False, None], ["2"]),
    ("Integer", [" 42 ", "4.5", "x", None], [42, None, None, None], ["4.5", "x"]),
    ("Integer", [3.0, 3.5], [3, None], ["3.5"]),
    ("Float", ["1.25", "nan", "inf", "abc"], [1.25, None, None, None], ["nan", "inf", "abc"]),
    ("Decimal(2)", [1.005, 2.3456, None], [1.0, 2.35, None], []),
    ("String", ["a" * 255, "b" * 256], ["a" * 255, None], ["b" * 256]),
    ("Varchar(3)", ["abc", "abcd"], ["abc", None], ["abcd"]),
    (
        "Date",
        ["2024-02-29", "2023-02-29", "2024/01/01"],
        [dt.date(2024, 2, 29), None, None],
        ["2023-02-29", "2024/01/01"],
    ),
    (
        "Datetime",
        ["2024-01-02T03:04:05Z", "2024-01-02T05:04:05+02:00", "2024-01-02", "yesterday"],
        [
            dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
            None,
        ],
        ["yesterday"],
    ),
    ("Array", [["web", "x" * 256], ["store"], None], [None, ["store"], None], ["web," + "x" * 256]),
]


@pytest.mark.parametrize(("type_", "values", "expected", "rejected"), CASTS)
def test_custom_type_casts(tmp_path, type_, values, expected, rejected):
    c360 = people(state=values)
    attributes, rejects, mapping = build(
        tmp_path, f"custom:\n  value: {{source: customer_360.state, type: '{type_}'}}\n", c360
    )
    result = attributes["value"].to_list()
    if type_ == "Float":
        assert result == expected
    else:
        assert result == expected
    assert rejects["value"].to_list() == rejected
    assert set(rejects["action"]) <= {"null_field"}
    assert invalid_value_counts(attributes, mapping) == {}


def test_typed_sources_cast_to_braze_types(tmp_path):
    c360 = people(
        birthdate=[dt.date(2024, 1, 2)],
        first_seen_at=pl.Series(
            [dt.datetime(2024, 1, 2, 12, tzinfo=ZoneInfo("Europe/Paris"))],
            dtype=pl.Datetime("ms", "Europe/Paris"),
        ),
        source_count=[2],
    )
    attributes, rejects, _ = build(
        tmp_path,
        """
        custom:
          born_at: {source: customer_360.birthdate, type: Datetime}
          born_text: {source: customer_360.birthdate, type: String}
          seen_on: {source: customer_360.first_seen_at, type: Date}
          seen_at: {source: customer_360.first_seen_at, type: Datetime}
          sources_text: {source: customer_360.source_count, type: String}
          sources_float: {source: customer_360.source_count, type: Float}
        """,
        c360,
    )
    assert rejects.height == 0
    assert attributes.schema["seen_at"] == pl.Datetime("us", "UTC")
    assert attributes.row(0, named=True) | {"external_id": None} == {
        "external_id": None,
        "born_at": dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
        "born_text": "2024-01-02",
        "seen_on": dt.date(2024, 1, 2),
        "seen_at": dt.datetime(2024, 1, 2, 11, tzinfo=dt.UTC),
        "sources_text": "2",
        "sources_float": 2.0,
    }


def test_hold_row_keeps_the_person_out_and_records_why(tmp_path):
    c360 = people(email=["ok@example.com", "broken"], loyalty_points=["12", "lots"])
    attributes, rejects, _ = build(
        tmp_path,
        """
        on_invalid: hold_row
        standard:
          email: {source: customer_360.email, on_invalid: null_field}
        custom:
          points: {source: customer_360.loyalty_points, type: Integer}
        """,
        c360,
    )
    assert attributes["external_id"].to_list() == ["AMP-0"]
    assert rejects.sort("field").rows() == [
        ("AMP-1", "email", "broken", "not a valid email address", "null_field"),
        ("AMP-1", "points", "lots", "not a whole number that fits in 64 bits", "hold_row"),
    ]


def test_null_identifier_is_held_and_rejected(tmp_path):
    c360 = people(braze_ref=["b-1", None]).rename({"braze_ref": "loyalty_tier"})
    attributes, rejects, _ = build(
        tmp_path, "identifier: braze_id\nidentifier_source: customer_360.loyalty_tier\n", c360
    )
    assert attributes.rows() == [("b-1",)]
    assert attributes.columns == ["braze_id"]
    assert rejects.select("external_id", "field", "reason", "action").rows() == [
        ("AMP-1", "braze_id", "braze_id is null", "hold_row")
    ]


def test_buckets_and_cases(tmp_path):
    c360 = people(state=["NY", "CA", "TX", "WA"])
    orders = pl.DataFrame(
        {
            "amperity_id": ["AMP-0", "AMP-1", "AMP-2"],
            "days_since_last_order": [5, 31, 400],
            "first_order_at": [
                AS_OF - dt.timedelta(days=10),
                AS_OF - dt.timedelta(days=900),
                AS_OF - dt.timedelta(days=900),
            ],
            "latest_order_at": [
                AS_OF - dt.timedelta(days=5),
                AS_OF - dt.timedelta(days=31),
                AS_OF - dt.timedelta(days=400),
            ],
        }
    ).with_columns(pl.col("first_order_at", "latest_order_at").dt.cast_time_unit("us"))
    attributes, rejects, _ = build(
        tmp_path,
        """
        custom:
          recency:
            source: customer_transactions.days_since_last_order
            type: Varchar(8)
            buckets: [{up_to: 30, label: "0-30"}, {up_to: 90, label: "31-90"}, {label: "91+"}]
          capped:
            source: customer_transactions.days_since_last_order
            type: String
            buckets: [{up_to: 100, label: "recent"}]
          lifecycle:
            type: String
            cases:
              - {when: {first_order_at: {within_last: 90 days}}, value: new}
              - {when: {latest_order_at: {within_last: 180 days}}, value: active}
              - {when: {latest_order_at: {is_not_null: true}}, value: lapsed}
            default: prospect
        """,
        c360,
        orders,
    )
    assert attributes["recency"].to_list() == ["0-30", "31-90", "91+", None]
    assert attributes["lifecycle"].to_list() == ["new", "active", "lapsed", "prospect"]
    assert attributes["capped"].to_list() == ["recent", "recent", None, None]
    assert rejects.select("field", "value", "reason").rows() == [
        ("capped", "400", "above the last bucket (100.0)")
    ]


def test_invalid_value_counts_flags_bad_output(tmp_path):
    c360 = people(state=["NY"])
    attributes, _, mapping = build(
        tmp_path,
        "standard:\n  email: {value: a@b.co}\ncustom:\n  s: {source: customer_360.state, type: Varchar(2)}\n",
        c360,
    )
    assert invalid_value_counts(attributes, mapping) == {}
    broken = attributes.with_columns(email=pl.lit("nope"), s=pl.lit("NYC"))
    assert invalid_value_counts(broken, mapping) == {
        "email": "1 invalid value(s)",
        "s": "1 invalid value(s)",
    }
    assert invalid_value_counts(attributes.drop("s"), mapping) == {"s": "missing"}
