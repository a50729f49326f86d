"""Names and places reach the Braze attributes as written: from customer_records through
identity and the customer 360 to braze_customer_attributes."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from amperity_braze_assets.activation.attributes import (
    build_braze_attributes,
    title_case_if_uniform,
)
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.customer360.survivorship import SurvivorshipRules, build_customer_360
from amperity_braze_assets.identity import resolve_with_stats
from amperity_braze_assets.identity.records import customer_records
from amperity_braze_assets_tests.braze.helpers import make_project

ATTRIBUTES = """
standard:
  first_name: customer_360.given_name
  last_name: customer_360.surname
  home_city: customer_360.city
  country: customer_360.country
  phone: customer_360.phone
custom:
  primary_state: {source: customer_360.state, type: String}
"""

# (given name, surname, city, state, country, phone) as a web shop exports them.
WEB = [
    ("Søren", "Ørsted", "København", None, "Denmark", None),
    ("Łukasz", "Wiśniewski", "Kraków", None, "Poland", None),
    ("Siobhán", "O'Connor", "Dún Laoghaire", None, "Ireland", None),
    ("José", "Müller", "Zürich", None, "Switzerland", None),
    ("Anne-Marie", "Dupont", "Montréal", "Québec", "Canada", None),
    ("秀英", "王", "北京", None, "China", None),
    ("Emma", "Smith", "London", "England", "United Kingdom", "07911 123456"),
    ("Liam", "Tremblay", "Vancouver", "BRITISH COLUMBIA", "Canada", None),
    ("Olivia", "Brown", "Los Angeles", "California", "USA", "(415) 555-2671"),
]


def _source(name: str, rows: list[tuple], upper: bool = False) -> pl.DataFrame:
    columns = ("given_name", "surname", "city", "state", "country", "phone")
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
    if upper:  # a till that shouts
        frame = frame.with_columns(pl.col("given_name", "surname", "city").str.to_uppercase())
    return frame.with_columns(
        source=pl.lit(name),
        record_id=pl.Series([f"{name}-{i}" for i in range(frame.height)]),
        email=pl.Series([f"person{i}@shop.test" for i in range(frame.height)]),
        updated_at=pl.lit("2025-01-01T00:00:00Z"),
    )


@pytest.fixture(scope="module")
def attributes(tmp_path_factory) -> pl.DataFrame:
    records = customer_records(
        [_source("web", WEB), _source("pos", WEB, upper=True)], "US", {"pos": "GB"}
    )
    identity = resolve_with_stats(records, normalized=True).output
    people = build_customer_360(
        records, identity, SurvivorshipRules(source_priority=("web", "pos"))
    )
    mapping = load_attribute_config(make_project(tmp_path_factory.mktemp("text"), ATTRIBUTES))
    built, rejects = build_braze_attributes(
        {"customer_360": people}, None, mapping, dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    )
    assert rejects.filter(pl.col("field") != "phone").height == 0
    return built.sort("last_name")


def test_each_person_is_one_profile(attributes):
    # The till's upper-case copies fold to the web records' values and merge with them.
    assert attributes.height == len(WEB)


def test_names_and_cities_reach_braze_as_written(attributes):
    sent = {
        (row["first_name"], row["last_name"], row["home_city"])
        for row in attributes.iter_rows(named=True)
    }
    assert sent == {(given, surname, city) for given, surname, city, *_ in WEB}


def test_states_and_countries_reach_braze_as_codes(attributes):
    by_surname = {row["last_name"]: row for row in attributes.iter_rows(named=True)}
    assert by_surname["Dupont"]["primary_state"] == "QC"
    assert by_surname["Tremblay"]["primary_state"] == "BC"  # written out, sent as the code
    assert by_surname["Brown"]["primary_state"] == "CA"
    assert by_surname["Smith"]["primary_state"] == "ENG"
    assert by_surname["Ørsted"]["country"] == "DK"
    assert by_surname["Smith"]["phone"] == "+447911123456"
    assert by_surname["Brown"]["phone"] == "+14155552671"


def test_a_till_alone_is_title_cased_without_losing_letters(tmp_path):
    records = customer_records([_source("pos", WEB, upper=True)])
    identity = records.select("source", "record_id").with_columns(amperity_id=pl.col("record_id"))
    people = build_customer_360(records, identity, SurvivorshipRules())
    mapping = load_attribute_config(make_project(tmp_path, ATTRIBUTES))
    built, _ = build_braze_attributes({"customer_360": people}, None, mapping)
    assert set(built["first_name"].to_list()) == {
        "Søren",
        "Łukasz",
        "Siobhán",
        "José",
        "Anne-Marie",
        "秀英",
        "Emma",
        "Liam",
        "Olivia",
    }
    assert "O'Connor" in built["last_name"].to_list()
    assert "Dún Laoghaire" in built["home_city"].to_list()


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("SØREN", "Søren"),
        ("łukasz", "Łukasz"),
        ("O'CONNOR", "O'Connor"),
        ("JOSÉ MÜLLER", "José Müller"),
        ("ANNE-MARIE", "Anne-Marie"),
        ("王秀英", "王秀英"),
        ("McDonald", "McDonald"),  # mixed case is as its owner wrote it
        ("van der Berg", "van der Berg"),
        ("MACY'S", "Macy's"),
    ],
)
def test_title_casing_only_of_values_written_in_one_case(written, sent):
    frame = pl.DataFrame({"name": [written]})
    assert frame.select(title_case_if_uniform(pl.col("name"))).item() == sent
