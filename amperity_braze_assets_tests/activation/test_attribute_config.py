"""Load-time validation of attributes.yaml, segments.yaml and audiences/*.sql."""

from __future__ import annotations

from pathlib import Path

import pytest

from amperity_braze_assets.activation.config import (
    CUSTOMER_ENGAGEMENT,
    load_attribute_config,
    read_only_sql_problem,
)
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets_tests.braze.helpers import make_project
from amperity_braze_assets_tests.conftest import make_settings


def load(tmp_path: Path, attributes: str = "", **kwargs):
    return load_attribute_config(make_project(tmp_path, attributes, **kwargs))


def refused(tmp_path: Path, attributes: str = "", **kwargs) -> str:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, attributes, **kwargs)
    return str(error.value)


def custom(name: str, source: str = "customer_360.birthdate", type_: str = "Date") -> str:
    return f"custom:\n  {name!r}: {{source: {source}, type: {type_}}}\n"


def test_sample_configuration_loads():
    settings = make_settings(Path("/tmp/unused"))
    mapping = load_attribute_config(load_project_config(settings, check_files=False))
    names = [f.name for f in mapping.custom]
    assert {"l12m_frequency", "l12m_monetary", "loyalty_tier", "lifecycle_status"} <= set(names)
    types = {f.braze_type for f in mapping.custom}
    assert types >= {
        "Boolean",
        "Date",
        "Datetime",
        "Decimal",
        "Float",
        "Integer",
        "String",
        "Varchar",
    }
    kinds = [a.kind for a in mapping.audiences]
    # Two SQL audiences, two segments on the customer 360, two on Currents engagement.
    assert kinds.count("sql") == 2 and kinds.count("segment") == 4
    assert CUSTOMER_ENGAGEMENT in mapping.tables_used


@pytest.mark.parametrize(
    ("name", "standard"),
    [
        ("birthday", "dob"),
        ("Birthdate", "dob"),
        ("DOB", "dob"),
        ("First_Name", "first_name"),
        ("e-mail", "email"),
    ],
)
def test_custom_name_shadowing_a_standard_field_is_refused_with_advice(tmp_path, name, standard):
    message = refused(tmp_path, custom(name))
    assert f"shadows the standard field '{standard}'" in message
    assert f"use `{standard}`" in message
    assert str(tmp_path / "config" / "attributes.yaml") in message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "must not be empty"),
        ("x" * 256, "256 characters; Braze allows at most 255"),
        ("$secret", "starts with '$'"),
        ("first_name", "is a standard Braze field, not a custom attribute"),
    ],
)
def test_bad_custom_names_are_refused(tmp_path, name, expected):
    assert expected in refused(tmp_path, custom(name))


def test_unknown_type_is_refused_with_a_suggestion(tmp_path):
    message = refused(tmp_path, custom("tier", "customer_360.loyalty_tier", "Strng"))
    assert "unknown type 'Strng' (did you mean 'String'?)" in message


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("Varchar", "Varchar needs a length from 1 to 255"),
        ("Varchar(300)", "Varchar needs a length from 1 to 255"),
        ("Integer(3)", "type Integer takes no argument"),
    ],
)
def test_type_arguments_are_checked(tmp_path, type_, expected):
    assert expected in refused(tmp_path, custom("tier", "customer_360.loyalty_tier", type_))


def test_unknown_table_and_column_are_refused(tmp_path):
    message = refused(tmp_path, custom("a", "customer_365.email", "String"))
    assert "unknown table 'customer_365' (did you mean 'customer_360'?)" in message
    message = refused(tmp_path, custom("b", "customer_transactions.l12m_monetery", "Float"))
    assert "table customer_transactions has no column 'l12m_monetery'" in message
    assert "did you mean 'l12m_monetary'?" in message


def test_customer_360_columns_come_from_tags_attributes_and_survivorship(tmp_path):
    mapping = load(
        tmp_path,
        """
        custom:
          tier: {source: customer_360.loyalty_tier, type: String}
          email_from: {source: customer_360.email_source, type: String}
          seen: {source: customer_360.first_seen_at, type: Datetime}
          co: {source: company, type: String}
        """,
    )
    assert [f.source for f in mapping.custom] == [
        "customer_360.loyalty_tier",
        "customer_360.email_source",
        "customer_360.first_seen_at",
        "customer_360.company",
    ]


def test_duplicate_names_are_refused(tmp_path):
    yaml_duplicate = refused(
        tmp_path,
        """
        custom:
          tier: {source: customer_360.loyalty_tier, type: String}
          tier: {source: customer_360.state, type: String}
        """,
    )
    assert "duplicate key 'tier'" in yaml_duplicate
    clash = refused(
        tmp_path,
        """
        custom:
          audience_vip: {source: customer_360.state, type: String}
        """,
        sql={"vip": "SELECT amperity_id FROM customer_360"},
    )
    assert "Braze field 'audience_vip' is defined twice" in clash


def test_consent_fields_need_explicit_permission(tmp_path):
    attributes = "standard:\n  email_subscribe: {value: opted_in}\n"
    message = refused(tmp_path, attributes)
    assert "email_subscribe is left to Braze" in message
    assert "allow_consent_fields: true" in message
    mapping = load(tmp_path, "allow_consent_fields: true\n" + attributes)
    assert mapping.standard[0].name == "email_subscribe"


def test_standard_field_names_must_be_exact(tmp_path):
    message = refused(tmp_path, "standard:\n  birthday: customer_360.birthdate\n")
    assert "not a Braze standard field; use `dob`" in message


def test_top_level_options_are_checked(tmp_path):
    message = refused(
        tmp_path, "identifier: user_id\non_invalid: drop\nmax_reject_share: 5\nstandrd: {}\n"
    )
    assert "identifier 'user_id' is unknown" in message
    assert "on_invalid 'drop' is unknown" in message
    assert "max_reject_share 5 must be a share between 0 and 1" in message
    assert "unknown top-level key(s) ['standrd'] (did you mean 'standard'?)" in message
    assert "identifier_source" in refused(tmp_path, "identifier: braze_id\n")


def test_buckets_are_checked(tmp_path):
    base = "custom:\n  recency:\n    source: customer_transactions.days_since_last_order\n"
    assert "the type must be String or Varchar(n)" in refused(
        tmp_path, base + "    type: Integer\n    buckets: [{up_to: 30, label: a}]\n"
    )
    assert "up_to must be a number larger than the previous" in refused(
        tmp_path,
        base + "    type: String\n    buckets: [{up_to: 30, label: a}, {up_to: 10, label: b}]\n",
    )
    assert "buckets need a numeric source" in refused(
        tmp_path,
        "custom:\n  t:\n    source: customer_360.state\n    type: String\n"
        "    buckets: [{up_to: 30, label: a}]\n",
    )


def test_every_problem_of_an_entry_is_reported_at_once(tmp_path):
    message = refused(
        tmp_path,
        """
        custom:
          tier: {source: customer_360.loyalty_tier, type: Strng, on_invalid: drop, colour: red}
          recency:
            source: customer_transactions.days_since_last_order
            type: String
            buckets: [{up_to: soon, label: a}, {label: b, upto: 9}]
        """,
        segments="segments:\n  vip: {where: {state: CA}, control_share: 2, colour: red}\n",
    )
    assert "custom attribute 'tier': unknown key(s) ['colour']" in message
    assert "custom attribute 'tier': unknown type 'Strng' (did you mean 'String'?)" in message
    assert "custom attribute 'tier': on_invalid 'drop' is unknown" in message
    assert "bucket 1: up_to must be a number larger than the previous bucket's; got 'soon'" in (
        message
    )
    assert "bucket 2 must be {up_to: <number>, label: <text>}" in message
    assert "segment 'vip': unknown key(s) ['colour']" in message
    assert "segment 'vip': control_share 2 must be a share" in message
    assert "segments.yaml" in message and "attributes.yaml" in message


def test_a_field_without_a_value_is_refused_not_dropped(tmp_path):
    # ``source: null`` was once read as "no field": the field vanished without a word.
    assert "standard field 'email': give a source (<table>.<column>) or a constant value" in (
        refused(tmp_path, "standard:\n  email: {source: null}\n")
    )
    assert "custom attribute 't': give a source (<table>.<column>), a constant value, or cases" in (
        refused(tmp_path, "custom:\n  t: {source: null, type: String}\n")
    )
    mapping = load(tmp_path, "standard:\n  email: {value: null}\n")
    assert mapping.standard[0].value is None and mapping.standard[0].source is None


def test_segment_conditions_are_checked(tmp_path):
    message = refused(
        tmp_path,
        segments="""
        segments:
          a: {where: {l12m_monetary: {">>": 3}}}
          b: {where: {latest_order_at: {within_last: soon}}}
          c: {where: {state: {within_last: 9 days}}}
          d: {where: {nope: 1}}
          e: {where: {l12m_monetary: {between: [1]}}}
        """,
    )
    assert "unknown operator '>>'" in message
    assert "write a duration such as '90 days'" in message
    assert "relative dates need a date or time column" in message
    assert "unknown column 'nope'" in message
    assert "takes [low, high]" in message


def test_sql_audiences_must_be_read_only_and_compile(tmp_path):
    message = refused(
        tmp_path,
        sql={
            "writes": "CREATE TABLE x AS SELECT * FROM customer_360",
            "files": "SELECT * FROM read_csv('/etc/passwd')",
            "parquet": "SELECT amperity_id FROM read_parquet('x.parquet')",
            "two": "SELECT amperity_id FROM customer_360; DROP TABLE customer_360",
            "typo": "SELECT amperity_id FROM customer_360 WHERE loyalty_teir = 'Gold'",
            "no_id": "SELECT email FROM customer_360",
        },
    )
    assert "writes.sql: refused: it starts with CREATE" in message
    assert "files.sql: refused: it calls read_csv(), which reads files" in message
    assert "parquet.sql: refused: it calls read_parquet()" in message
    assert "two.sql: refused: it holds more than one statement" in message
    assert "typo.sql: the query does not run" in message
    assert "no_id.sql: the query must return an amperity_id column" in message


def test_read_only_sql_ignores_keywords_in_strings_and_comments():
    assert (
        read_only_sql_problem("SELECT amperity_id FROM customer_360 WHERE note = 'drop table'")
        is None
    )
    assert read_only_sql_problem("-- delete me\nWITH a AS (SELECT 1) SELECT * FROM a;") is None
    assert "INSERT" in read_only_sql_problem(
        "WITH a AS (SELECT 1) INSERT INTO customer_360 SELECT * FROM a"
    )


def test_audience_extra_columns_feed_declared_attributes(tmp_path):
    sql = {"vip": "SELECT amperity_id, l12m_monetary AS vip_spend FROM customer_transactions"}
    mapping = load(
        tmp_path, "custom:\n  vip_spend: {source: audiences.vip_spend, type: Decimal(2)}\n", sql=sql
    )
    assert dict(mapping.audience("vip").extra_columns) == {
        "vip_spend": mapping.schemas["audiences"]["vip_spend"]
    }
    message = refused(
        tmp_path, "custom:\n  other: {source: audiences.vip_spnd, type: Float}\n", sql=sql
    )
    assert "source audiences.vip_spnd is not a column any SQL audience returns" in message


def test_exclusions_must_name_audiences_and_not_cycle(tmp_path):
    sql = {"a": "SELECT amperity_id FROM customer_360", "b": "SELECT amperity_id FROM customer_360"}
    assert "exclude names unknown audience 'c'" in refused(
        tmp_path, "audiences:\n  a: {exclude: [c]}\n", sql=sql
    )
    assert "audience exclusions form a cycle" in refused(
        tmp_path, "audiences:\n  a: {exclude: [b]}\n  b: {exclude: [a]}\n", sql=sql
    )
    assert "has options but no audiences/zzz.sql" in refused(
        tmp_path, "audiences:\n  zzz: {control_share: 0.1}\n", sql=sql
    )
    assert "control_share 2 must be a share" in refused(
        tmp_path, "audiences:\n  a: {control_share: 2}\n", sql=sql
    )


def test_engagement_is_used_only_when_referenced(tmp_path):
    mapping = load(
        tmp_path,
        sql={"openers": "SELECT amperity_id FROM customer_engagement WHERE email_opens_30d > 0"},
    )
    assert mapping.uses_engagement
    mapping = load(
        tmp_path / "b",
        "custom:\n  spam: {source: customer_engagement.email_marked_spam, type: Boolean}\n",
    )
    assert mapping.uses_engagement
    assert not load(tmp_path / "c").uses_engagement
