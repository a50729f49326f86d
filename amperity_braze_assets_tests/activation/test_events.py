"""events.yaml and ``braze_events``: the config's refusals, and the occurrences built from the
order lines and the customer tables, checked against the Braze spec's rules."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import polars as pl
import pytest

from amperity_braze_assets.activation.events import build_events, purchase_rows
from amperity_braze_assets.activation.events_config import PurchaseSpec, load_events_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets_tests.braze.helpers import make_project

SPEC_MAX_QUANTITY = 100  # spec: quantity at most 100 a purchase object
SPEC_MAX_STRING = 255  # spec: property strings and product_id at most 255 characters
T = dt.datetime(2026, 11, 30, 14, 3, tzinfo=dt.UTC)


def project_with(tmp_path, events_yaml: str, sql: dict[str, str] | None = None):
    project = make_project(tmp_path)
    (project.config_dir / "events.yaml").write_text(textwrap.dedent(events_yaml))
    for name, query in (sql or {}).items():
        (project.config_dir / "events").mkdir(exist_ok=True)
        (project.config_dir / "events" / f"{name}.sql").write_text(query)
    return project


def lines(**columns) -> pl.DataFrame:
    base = {
        "amperity_id": ["amp-1"],
        "source": ["shop"],
        "order_id": ["1001"],
        "line_number": [1],
        "sku": ["SKU-1"],
        "product_name": ["Wool coat"],
        "quantity": [2.0],
        "price": [19.99],
        "order_time": [T],
        "currency": ["USD"],
    }
    base.update(columns)
    return pl.DataFrame(base)


PURCHASES = PurchaseSpec(
    "sku",
    "price",
    "quantity",
    "order_time",
    "currency",
    "EUR",
    ("product_name", "order_id", "source"),
    ("source", "order_id", "line_number"),
)


def test_no_file_no_events(tmp_path):
    config = load_events_config(make_project(tmp_path))
    assert config.purchases is None and config.events == ()


def test_refusals_name_the_file_the_entry_and_the_fix(tmp_path):
    project = project_with(
        tmp_path,
        """
        purchases:
          default_currency: dollars
        events:
          - name: joined
            table: customer_360
            time: no_such_column
          - name: bad
            sql: events/bad.sql
          - name: both
            table: customer_360
            sql: events/bad.sql
          - name: reserved
            table: customer_360
            time: loyalty_joined_on
            properties: [event_name]
        """,
        sql={"bad": "DELETE FROM customer_360"},
    )
    with pytest.raises(ConfigError) as refused:
        load_events_config(project)
    text = str(refused.value)
    assert str(project.config_dir / "events.yaml") in text
    assert "default_currency 'dollars' is not an ISO 4217 code" in text
    assert "event 'joined': customer_360 has no column 'no_such_column'" in text
    assert "event 'bad'" in text and "refused" in text and "read-only" in text
    assert "event 'both': give exactly one of table" in text
    assert "'event_name' is reserved by Braze" in text


def test_sample_style_config_builds_purchases_and_events(tmp_path):
    project = project_with(
        tmp_path,
        """
        purchases:
          default_currency: USD
        events:
          - name: loyalty_joined
            table: customer_360
            time: loyalty_joined_on
            properties: [loyalty_tier]
            key: [amperity_id]
          - name: order_placed
            sql: events/order_placed.sql
            key: [amperity_id, order_id]
        """,
        sql={
            "order_placed": "SELECT amperity_id, order_time AS time, order_id, "
            "SUM(quantity * price) AS total FROM order_lines "
            "GROUP BY amperity_id, order_time, order_id"
        },
    )
    config = load_events_config(project)
    people = pl.DataFrame(
        {
            "amperity_id": ["amp-1", "amp-2"],
            "loyalty_joined_on": [dt.date(2026, 1, 2), None],
            "loyalty_tier": ["gold", "silver"],
        }
    )
    events, rejects = build_events({"order_lines": lines(), "customer_360": people}, config)
    by_name = {row["name"]: row for row in events.to_dicts()}
    assert set(by_name) == {"SKU-1", "loyalty_joined", "order_placed"}
    assert json.loads(by_name["loyalty_joined"]["properties"]) == {"loyalty_tier": "gold"}
    assert by_name["loyalty_joined"]["time"] == dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    assert json.loads(by_name["order_placed"]["properties"]) == {
        "order_id": "1001",
        "total": 39.98,
    }
    assert rejects.select("name", "reason").rows() == [("loyalty_joined", "no event time")]
    # Re-read with the rows in another order and the tier changed: the same occurrences, the
    # same keys (properties are not part of an occurrence's identity), so nothing is resent.
    changed = people.reverse().with_columns(loyalty_tier=pl.lit("platinum"))
    again, _ = build_events({"order_lines": lines(), "customer_360": changed}, config)
    assert sorted(again["event_key"]) == sorted(events["event_key"])
    # Another instant is another occurrence: the check above can fail.
    moved = changed.with_columns(
        loyalty_joined_on=pl.col("loyalty_joined_on") + dt.timedelta(days=1)
    )
    later, _ = build_events({"order_lines": lines(), "customer_360": moved}, config)
    assert len(set(later["event_key"]) - set(events["event_key"])) == 1


def test_a_line_over_100_is_split_and_its_revenue_kept():
    kept, rejects = purchase_rows(lines(quantity=[250.0]), PURCHASES)
    assert kept["quantity"].to_list() == [SPEC_MAX_QUANTITY, SPEC_MAX_QUANTITY, 50]
    assert kept["event_key"].n_unique() == 3 and rejects.height == 0
    assert (kept["quantity"] * kept["price"]).sum() == pytest.approx(250 * 19.99)


def test_bad_purchase_rows_are_rejected_with_their_reason_never_dropped():
    bad = pl.concat(
        [
            lines(amperity_id=[None]),
            lines(order_id=["2"], price=[float("nan")]),
            lines(order_id=["3"], currency=["XYZ"]),
            lines(order_id=["4"], quantity=[1.5]),
            lines(order_id=["5"], product_name=["x" * (SPEC_MAX_STRING + 1)]),
            lines(order_id=["6"], order_time=[None]),
            lines(order_id=["7"], currency=[None]),  # takes default_currency EUR
        ],
        how="vertical_relaxed",
    )
    kept, rejects = purchase_rows(bad, PURCHASES)
    assert kept["currency"].to_list() == ["EUR"]
    assert rejects["reason"].to_list() == [
        "no amperity_id",
        "price is not a number",
        "unknown currency code XYZ",
        "quantity is not a whole number of at least 1",
        f"property 'product_name' longer than {SPEC_MAX_STRING} characters",
        "no purchase time",
    ]
    assert kept.height + rejects.height == bad.height
