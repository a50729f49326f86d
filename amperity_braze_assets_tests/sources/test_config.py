"""A source entry of ``sources.yaml``: its shape is checked by pydantic, every refusal said at
once in the file's words (the file, the source, the fix), and what one key says against another
checked after."""

from __future__ import annotations

from pathlib import Path

import pytest

from amperity_braze_assets.sources.config import CsvOptions, parse_money, parse_source

CRM = {"files": "crm.csv", "primary_key": "ID", "columns": {"Email": "email", "At": "updated-at"}}


def problems(definition) -> list[str]:
    source, errors = parse_source(Path("sources.yaml"), "crm", definition)
    assert (source is None) == bool(errors)
    return errors


def test_a_good_entry_is_settled_into_a_source():
    source, errors = parse_source(
        Path("sources.yaml"),
        "crm",
        {
            **CRM,
            "files": ["a.csv", "b.csv"],
            "csv": {"delimiter": ";"},
            "attributes": {"Tier": "tier", "Total Spent": {"aggregate": "max"}},
            "formats": {"At": "%d.%m.%Y"},
            "phone_region": " gb",
            "description": "the CRM export",
        },
    )
    assert errors == []
    assert source.files == ("a.csv", "b.csv") and source.format == "csv"
    assert source.csv == CsvOptions(delimiter=";")
    assert source.attributes == {"Tier": "tier", "Total Spent": "total_spent"}
    assert source.attribute_aggregates == {"tier": "most_recent", "total_spent": "max"}
    assert source.formats == {"At": ("%d.%m.%Y",)}
    assert source.phone_region == "GB"
    assert (source.asset_name, source.rejects_asset_name) == ("raw_crm", "raw_crm_rejects")
    assert (source.lines_asset_name, source.buyers_asset_name) == (
        "raw_crm_lines",
        "raw_crm_buyers",
    )


def test_a_transaction_source_takes_its_order_id_as_key_and_lower_cases_its_states():
    columns = {"Name": "order-id", "Total": "amount", "At": "order-time", "Email": "email"}
    source, errors = parse_source(
        Path("sources.yaml"),
        "shop",
        {
            "kind": "transactions",
            "files": "o.parquet",
            "columns": {**columns, "Financial Status": "status"},
            "exclude_statuses": ["Refunded "],
        },
    )
    assert errors == []
    assert (source.primary_key, source.format, source.exclude_statuses) == (
        "Name",
        "parquet",
        ("refunded",),
    )


def test_every_refusal_of_one_entry_is_said_at_once_with_its_fix():
    errors = problems(
        {
            **CRM,
            "kind": "people",
            "colums": {},
            "csv": {"delimiter": ";;", "encoding": "klingon"},
            "max_row_drop": True,
            "where": "x IN (SELECT 1)",
            "attributes": {"Tier": {"name": "tier", "aggregate": "maximum"}},
            "exclude_statuses": ["paid"],
        }
    )
    assert all(error.startswith("sources.yaml: source 'crm': ") for error in errors), errors
    expected = [
        "kind 'people' is unknown; use one of ['customers', 'transactions']",
        "unknown key 'colums' (did you mean 'columns'?)",
        "csv delimiter and quote must be single characters",
        "encoding 'klingon' is unknown",
        "max_row_drop must be a share between 0 and 1, e.g. max_row_drop: 0.2",
        "no subqueries",
        "aggregate 'maximum' is unknown (did you mean 'max'?)",
    ]
    for text in expected:
        assert sum(text in error for error in errors) == 1, (text, errors)
    # the checks across keys still run over the keys that were not refused
    assert any("exclude_statuses needs a column tagged 'status'" in e for e in errors), errors


def test_a_missing_required_key_is_named():
    errors = problems({"primary_key": "ID"})
    assert any("'files' must name one or more paths" in error for error in errors), errors
    assert any("'columns' must map source columns to semantic tags" in error for error in errors)
    assert problems([1]) == [
        "sources.yaml: source 'crm': expected a mapping with kind, files, primary_key, columns."
    ]


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"files": "x.json"}, "format 'json' is unknown; set format: csv or format: parquet."),
        ({"format": "json"}, "format 'json' is unknown; set format: csv or format: parquet."),
        ({"columns": {"A": 5}}, "column 'A' maps to 5; use a tag name (text), e.g. email."),
        ({"formats": {"At": "Y"}}, "formats.At must be a strftime format or a list of them"),
        ({"exclude_statuses": "paid"}, "exclude_statuses must be a list of order states"),
        ({"exclude_statuses": ["paid"]}, "exclude_statuses needs a column tagged 'status'"),
        ({"attributes": {"Tier": "Tier Level"}}, "attribute name 'Tier Level' for column 'Tier'"),
        ({"attributes": {"Tier": {"nam": "t"}}}, "attribute 'Tier' has unknown key(s) ['nam']"),
        ({"where": ""}, "'where' must be an SQL condition as text"),
    ],
)
def test_each_refusal_names_the_fix(definition, message):
    errors = problems({**CRM, **definition})
    assert any(message in error for error in errors), errors


def test_money_refusals_are_said_together():
    money, errors = parse_money(Path("sources.yaml"), {"currency": "USD"}, Path("."))
    assert money.reporting_currency is None
    assert errors == [
        "sources.yaml: money.reporting_currency: None is not an ISO 4217 currency code; write "
        "three letters, e.g. reporting_currency: USD.",
        "sources.yaml: money: expected a mapping with reporting_currency, rates_file, e.g. "
        "money: {reporting_currency: USD, rates_file: currency_rates.csv}.",
    ]
    money, errors = parse_money(Path("sources.yaml"), {"reporting_currency": " eur"}, Path("."))
    assert (money.reporting_currency, money.rates, errors) == ("EUR", {"EUR": 1.0}, [])
