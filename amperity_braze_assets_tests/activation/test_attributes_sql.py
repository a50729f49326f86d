"""attributes.sql: the mapping as one SELECT, validated and built exactly as the YAML mapping."""

from __future__ import annotations

import datetime as dt
import textwrap

import polars as pl
import pytest

from amperity_braze_assets.activation.attributes import build_braze_attributes
from amperity_braze_assets.activation.attributes_sql import attribute_tables
from amperity_braze_assets.activation.audiences import build_audiences
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets_tests.braze.helpers import make_project

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
UTC = pl.Datetime("us", "UTC")

YAML_MAPPING = """
max_reject_share: 0.5
standard:
  first_name: customer_360.given_name
  last_name: customer_360.surname
  email: customer_360.email
  phone: customer_360.phone
  dob: customer_360.birthdate
  gender: customer_360.gender
  country: customer_360.country
  home_city: customer_360.city
custom:
  loyalty_tier: {source: customer_360.loyalty_tier, type: String}
  l12m_monetary: {source: customer_transactions.l12m_monetary, type: Float}
  lifetime_frequency: {source: customer_transactions.lifetime_frequency, type: Integer}
  latest_order_at: {source: customer_transactions.latest_order_at, type: Datetime}
  multi_channel: {source: customer_transactions.multi_channel, type: Boolean}
  purchase_channels: {source: customer_transactions.channels, type: Array}
  order_recency:
    source: customer_transactions.days_since_last_order
    type: String
    buckets:
      - {up_to: 30, label: "0-30"}
      - {up_to: 90, label: "31-90"}
      - {label: "91+"}
"""
# The same mapping as one SELECT: the buckets as a CASE, the types from the columns.
SQL_MAPPING = """
SELECT
    c.amperity_id AS external_id,
    c.given_name AS first_name,
    c.surname AS last_name,
    c.email,
    c.phone,
    c.birthdate AS dob,
    c.gender,
    c.country,
    c.city AS home_city,
    c.loyalty_tier,
    t.l12m_monetary,
    t.lifetime_frequency,
    t.latest_order_at,
    t.multi_channel,
    t.channels AS purchase_channels,
    CASE
        WHEN t.days_since_last_order IS NULL THEN NULL
        WHEN t.days_since_last_order <= 30 THEN '0-30'
        WHEN t.days_since_last_order <= 90 THEN '31-90'
        ELSE '91+'
    END AS order_recency
FROM customer_360 AS c
LEFT JOIN customer_transactions AS t ON t.amperity_id = c.amperity_id
"""
SEGMENTS = "segments:\n  spenders: {where: {l12m_monetary: {'>': 100}}}\n"
AUDIENCE_SQL = {"gold": "SELECT amperity_id FROM customer_360 WHERE loyalty_tier = 'Gold'"}


def sample_tables() -> dict[str, pl.DataFrame]:
    """Five people with good and bad values: an invalid email and phone, an unknown gender, a
    person without orders, a name in capitals."""
    ids = ["AMP-1", "AMP-2", "AMP-3", "AMP-4", "AMP-5"]
    customer_360 = pl.DataFrame(
        {
            "amperity_id": ids,
            "given_name": ["Ann", "BOB", "cy", None, "Di"],
            "surname": ["Lee", "Ray", "Fox", "Orr", "Li"],
            "email": ["ann@example.com", "bob@", "CY@EXAMPLE.COM", None, "di@example.org"],
            "phone": ["+14155550100", "12", None, "+442071234567", None],
            "birthdate": [dt.date(1980, 1, 2), None, dt.date(1999, 12, 31), None, None],
            "gender": ["F", "male", "X", None, "F"],
            "country": ["US", "usa", "GB", None, "DE"],
            "city": ["boston", "Leeds", None, "PARIS", "Köln"],
            "loyalty_tier": ["Gold", None, "Silver", "Gold", None],
        },
        schema_overrides={"birthdate": pl.Date},
    )
    transactions = pl.DataFrame(
        {
            "amperity_id": ["AMP-1", "AMP-2", "AMP-3"],
            "l12m_monetary": [250.5, 99.0, 120.25],
            "lifetime_frequency": [7, 1, 3],
            "latest_order_at": [
                dt.datetime(2025, 5, 20, 10, 30),
                dt.datetime(2024, 1, 1),
                dt.datetime(2025, 3, 1),
            ],
            "multi_channel": [True, False, None],
            "channels": [["web", "store"], ["web"], []],
            "days_since_last_order": [12, 517, 92],
        },
        schema_overrides={"latest_order_at": UTC},
    )
    return {"customer_360": customer_360, "customer_transactions": transactions}


def write_sql_project(tmp_path, query: str, attributes: str = "max_reject_share: 0.5\n", **files):
    project = make_project(tmp_path, attributes, **files)
    (project.config_dir / "attributes.sql").write_text(textwrap.dedent(query))
    return project


def build(project) -> tuple[pl.DataFrame, pl.DataFrame]:
    mapping = load_attribute_config(project)
    tables = sample_tables()
    memberships = build_audiences(tables, mapping, AS_OF).memberships
    return build_braze_attributes(attribute_tables(tables, mapping), memberships, mapping, AS_OF)


def test_attributes_sql_builds_the_same_table_as_the_yaml_mapping(tmp_path):
    yaml_project = make_project(tmp_path / "yaml", YAML_MAPPING, SEGMENTS, AUDIENCE_SQL)
    sql_project = write_sql_project(
        tmp_path / "sql", SQL_MAPPING, segments=SEGMENTS, sql=AUDIENCE_SQL
    )
    yaml_attributes, yaml_rejects = build(yaml_project)
    sql_attributes, sql_rejects = build(sql_project)
    assert sql_attributes.equals(yaml_attributes)
    assert sql_attributes.schema == yaml_attributes.schema
    assert sql_rejects.sort("external_id", "field").equals(
        yaml_rejects.sort("external_id", "field")
    )
    # the per-value rules ran: the invalid email, phone and gender were nulled and rejected
    rejected = set(sql_rejects.select("external_id", "field").iter_rows())
    assert {("AMP-2", "email"), ("AMP-2", "phone"), ("AMP-3", "gender")} <= rejected
    row = sql_attributes.row(1, named=True)
    assert row["first_name"] == "Bob" and row["gender"] == "M" and row["email"] is None
    assert sql_attributes["audience_gold"].to_list() == [True, False, False, True, False]
    assert sql_attributes["audience_spenders"].to_list() == [True, False, True, False, False]


def test_the_query_declares_the_custom_types(tmp_path):
    project = write_sql_project(
        tmp_path,
        """SELECT c.amperity_id AS external_id,
                  CAST(t.l12m_monetary AS DECIMAL(12, 2)) AS spend,
                  CAST(t.lifetime_frequency AS DOUBLE) AS orders,
                  CAST(c.loyalty_tier AS VARCHAR) AS tier,
                  t.latest_order_at AS last_order
           FROM customer_360 c LEFT JOIN customer_transactions t USING (amperity_id)""",
    )
    mapping = load_attribute_config(project)
    assert [(s.name, s.braze_type, s.scale) for s in mapping.custom] == [
        ("spend", "Decimal", 2),
        ("orders", "Float", None),
        ("tier", "String", None),
        ("last_order", "Datetime", None),
    ]
    assert mapping.tables_used == {"customer_360", "customer_transactions"}


@pytest.mark.parametrize(
    ("column", "fix"),
    [
        ("c.birthdate AS birthday", "shadows the standard field 'dob'"),
        ("c.given_name AS First_Name", "shadows the standard field 'first_name'"),
        ("c.email AS e_mail", "shadows the standard field 'email'"),
        ("CAST(c.loyalty_points AS BIGINT) AS dob", "dob is Int64 in the query"),
        ("t.lifetime_frequency AS first_name", "CAST it AS VARCHAR"),
        ("NULL AS loyalty_note", "CAST it in the query to VARCHAR"),
        ("c.amperity_id AS braze_id", "exactly one identifier per object"),
    ],
)
def test_a_bad_column_is_refused_with_the_file_and_the_fix(tmp_path, column, fix):
    project = write_sql_project(
        tmp_path,
        f"SELECT c.amperity_id AS external_id, {column} "
        "FROM customer_360 c LEFT JOIN customer_transactions t USING (amperity_id)",
    )
    with pytest.raises(ConfigError) as refused:
        load_attribute_config(project)
    message = str(refused.value)
    assert "attributes.sql" in message and fix in message


def test_both_mappings_are_refused_with_the_fix(tmp_path):
    project = write_sql_project(
        tmp_path,
        "SELECT amperity_id AS external_id, given_name AS first_name FROM customer_360",
        attributes="on_invalid: hold_row\nstandard:\n  email: customer_360.email\n",
    )
    with pytest.raises(ConfigError) as refused:
        load_attribute_config(project)
    message = str(refused.value)
    assert "standard and" in message and "attributes.sql both hold the attribute mapping" in message
    assert "remove standard from attributes.yaml (its options stay), or delete" in message


def test_the_options_stay_in_attributes_yaml(tmp_path):
    project = write_sql_project(
        tmp_path,
        "SELECT amperity_id AS external_id, email FROM customer_360",
        attributes="on_invalid: hold_row\nmax_reject_share: 0.5\n",
    )
    mapping = load_attribute_config(project)
    assert mapping.on_invalid == "hold_row" and mapping.max_reject_share == 0.5
    attributes, rejects = build(project)
    assert attributes["external_id"].to_list() == ["AMP-1", "AMP-3", "AMP-4", "AMP-5"]
    assert rejects.select("external_id", "field", "action").rows() == [
        ("AMP-2", "email", "hold_row")
    ]


def test_a_query_without_the_identifier_or_over_files_is_refused(tmp_path):
    project = write_sql_project(tmp_path / "a", "SELECT given_name AS first_name FROM customer_360")
    with pytest.raises(ConfigError, match="must return the identifier column external_id"):
        load_attribute_config(project)
    project = write_sql_project(tmp_path / "b", "SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(ConfigError, match="attributes.sql: refused: .*reads files"):
        load_attribute_config(project)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT c.amperity_id AS external_id, c.given_name AS first_name FROM customer_360 c",
        "SELECT amperity_id AS external_id, given_name AS first_name FROM customer_360",
        "SELECT x.id AS external_id, x.given_name AS first_name "
        "FROM (SELECT amperity_id AS id, given_name FROM customer_360) x",
        "WITH p AS (SELECT amperity_id, given_name FROM customer_360) "
        "SELECT p.amperity_id AS external_id, p.given_name AS first_name FROM p",
        # a USING join's key: the two tables' amperity_id, coalesced
        "SELECT amperity_id AS external_id, given_name AS first_name "
        "FROM customer_360 LEFT JOIN customer_transactions USING (amperity_id)",
    ],
)
def test_the_identifier_may_stand_for_the_amperity_id_only_when_it_is_one(tmp_path, query):
    """Without an amperity_id column the identifier is taken as the person's key, so sqlglot's
    lineage must trace it to a table's amperity_id as it is (renames, subqueries, CTEs)."""
    project = write_sql_project(tmp_path, query)
    assert load_attribute_config(project).identifier == "external_id"
    attributes, _ = build(project)
    assert attributes["external_id"].to_list() == [f"AMP-{i}" for i in range(1, 6)]


@pytest.mark.parametrize(
    "identifier",
    [
        "c.email AS external_id",
        "UPPER(c.amperity_id) AS external_id",
        "COALESCE(c.amperity_id, c.email) AS external_id",
        "'AMP-1' AS external_id",
    ],
)
def test_an_identifier_that_is_not_the_amperity_id_needs_the_key_beside_it(tmp_path, identifier):
    """Review finding 3: c.email AS external_id made the emails the people's keys (audience
    flags false, emails sent as external_ids). Refused at load with the file, the column and
    the fix."""
    query = f"SELECT {identifier}, c.given_name AS first_name FROM customer_360 c"
    with pytest.raises(ConfigError) as refused:
        load_attribute_config(write_sql_project(tmp_path, query))
    message = str(refused.value)
    assert "attributes.sql: column 'external_id': without an amperity_id column" in message
    assert "return the key too: SELECT c.amperity_id, c.<column> AS external_id" in message


def test_with_the_amperity_id_returned_the_external_id_may_be_another_column(tmp_path):
    """The fix the refusal names: the people keep their amperity_id (audiences join on it) and
    Braze receives the email as their external_id."""
    query = (
        "SELECT c.amperity_id, c.email AS external_id, c.given_name AS first_name "
        "FROM customer_360 c WHERE c.email IS NOT NULL"
    )
    project = write_sql_project(tmp_path, query, segments=SEGMENTS, sql=AUDIENCE_SQL)
    attributes, _ = build(project)
    rows = attributes.select("external_id", "audience_gold", "audience_spenders").rows()
    assert rows == [
        ("ann@example.com", True, True),  # AMP-1: Gold, spent 250.50
        ("bob@", False, False),
        ("CY@EXAMPLE.COM", False, True),  # AMP-3: spent 120.25
        ("di@example.org", False, False),
    ]


def test_a_column_returned_twice_is_refused_as_such(tmp_path):
    """Review finding 5: polars renames one of two same-named columns (email:1), which was
    refused as a custom attribute shadowing email; the query's own mistake is named instead."""
    query = "SELECT c.amperity_id AS external_id, c.email, c.surname AS email FROM customer_360 c"
    with pytest.raises(ConfigError) as refused:
        load_attribute_config(write_sql_project(tmp_path, query))
    message = str(refused.value)
    assert "attributes.sql: the query returns the column 'email' 2 times" in message
    assert "alias any other to its own name" in message and "email:1" not in message
    joined = (
        "SELECT c.amperity_id AS external_id, c.email, t.amperity_id AS email "
        "FROM customer_360 c JOIN customer_transactions t ON t.amperity_id = c.amperity_id"
    )
    with pytest.raises(ConfigError, match="returns the column 'email' 2 times"):
        load_attribute_config(write_sql_project(tmp_path / "joined", joined))
