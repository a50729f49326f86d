"""A query's event is checked at load, compiled on empty tables of the registered schemas (as
attributes.sql is): a ``key:`` or property column it does not return, no ``time`` column, a
property column Braze refuses (spec, Events and purchases: a property name never starts with $;
``time`` and ``event_name`` are Braze's own) are refused with the file, the entry and the fix.
At run time a column gone missing is named, never a bare polars error."""

from __future__ import annotations

import pytest

from amperity_braze_assets.activation.events import EventQueryError, build_events
from amperity_braze_assets.activation.events_config import load_events_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets_tests.activation.test_events import lines, project_with

EVENTS = """
events:
  - name: order_placed
    sql: events/order_placed.sql
    key: [source, order_id]
"""


def refusal(tmp_path, query: str, events_yaml: str = EVENTS) -> str:
    project = project_with(tmp_path, events_yaml, sql={"order_placed": query})
    with pytest.raises(ConfigError) as refused:
        load_events_config(project)
    text = str(refused.value)
    assert str(project.config_dir / "events.yaml") in text and "event 'order_placed'" in text
    return text


def test_a_key_column_the_query_does_not_return_is_refused(tmp_path):
    text = refusal(tmp_path, "SELECT amperity_id, order_time AS time, order_id FROM order_lines")
    assert "the query returns no column 'source' (named as key)" in text
    assert "return it (e.g. SELECT ... AS source) or fix the entry" in text


def test_a_query_without_its_time_column_is_refused(tmp_path):
    text = refusal(tmp_path, "SELECT amperity_id, order_time, source, order_id FROM order_lines")
    assert "the query returns no column 'time' (named as time)" in text


def test_a_time_that_is_no_time_is_refused(tmp_path):
    query = "SELECT amperity_id, price AS time, source, order_id FROM order_lines"
    assert "column 'time' is Float64, not a time" in refusal(tmp_path, query)


@pytest.mark.parametrize("column", ['"$revenue"', "event_name"])
def test_a_property_column_braze_refuses_is_refused(tmp_path, column):
    query = (
        f"SELECT amperity_id, order_time AS time, source, order_id, price AS {column} "
        "FROM order_lines"
    )
    text = refusal(tmp_path, query)
    assert "rename the column in the query or drop it" in text


def test_a_column_the_tables_do_not_have_is_refused(tmp_path):
    query = "SELECT amperity_id, order_time AS time, source, order_id, colour FROM order_lines"
    assert "the query does not run against" in refusal(tmp_path, query)


def test_a_query_returning_its_columns_loads_and_builds(tmp_path):
    query = "SELECT amperity_id, order_time AS time, source, order_id, price FROM order_lines"
    config = load_events_config(project_with(tmp_path, EVENTS, sql={"order_placed": query}))
    events, refused = build_events({"order_lines": lines()}, config)
    assert events.height == 1 and refused.height == 0
    assert events["properties"].item() == '{"order_id":"1001","price":19.99,"source":"shop"}'


def test_a_column_gone_at_run_time_is_named(tmp_path):
    query = "SELECT *, order_time AS time FROM order_lines"
    config = load_events_config(project_with(tmp_path, EVENTS, sql={"order_placed": query}))
    with pytest.raises(EventQueryError, match=r"order_placed.sql.*no column"):
        build_events({"order_lines": lines().drop("source")}, config)
    # A query that no longer runs: its file and the first line of polars' reason, no plan.
    query = "SELECT amperity_id, order_time AS time, source, order_id FROM order_lines"
    config = load_events_config(project_with(tmp_path, EVENTS, sql={"order_placed": query}))
    with pytest.raises(EventQueryError) as failed:
        build_events({"order_lines": lines().drop("source")}, config)
    assert "order_placed.sql: the query failed over" in str(failed.value)
    assert "\n" not in str(failed.value)
