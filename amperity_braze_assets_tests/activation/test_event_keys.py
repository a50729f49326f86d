"""Event keys survive re-exports (issue 18, review of item 1): the same purchase or event read
again (overlapping export files, lines in another order, a line re-quantified, a column added,
the time written in another form, an identity merge) has the same ``event_key``, so the event
ledger never sends it twice. Occurrences sharing a key with different content are refused with
a reason, never dropped silently; null and NaN properties are left out of the JSON."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import polars as pl
import pytest

from amperity_braze_assets.activation.events import (
    DUPLICATE_KEY,
    build_events,
    event_rows,
    purchase_rows,
)
from amperity_braze_assets.activation.events_config import (
    EventsConfig,
    EventSpec,
    PurchaseSpec,
    load_events_config,
)
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.sources.config import parse_source
from amperity_braze_assets.sources.reader import read_source
from amperity_braze_assets_tests.braze.helpers import make_project
from amperity_braze_assets_tests.sources.test_orders import (
    SHOPIFY_COLUMNS,
    SHOPIFY_HEADER,
    USD_AND_CAD,
)

SPEC_MAX_QUANTITY = 100  # spec: a purchase object's quantity is at most 100
T = dt.datetime(2026, 11, 30, 14, 3, tzinfo=dt.UTC)
PURCHASES = PurchaseSpec(
    "sku", "price", "quantity", "order_time", "currency", "USD",
    ("product_name", "order_id", "source"), ("source", "order_id"),
)  # fmt: skip
# Shopify export rows: order #1001 with a mug and a tee (the second row holds the line only).
MUG = "#1001,ann@example.com,paid,USD,30.00,0.00,2025-12-30 23:31:31 -0700,1,Mug,10.00,MUG-1,Ann Lee,555-0100,US\n"  # noqa: E501
TEE = "#1001,,,,,,,2,Tee,10.00,TEE-1,,,\n"


def order_lines(
    tmp_path: Path,
    files: dict[str, str],
    columns: dict[str, str] = SHOPIFY_COLUMNS,
    header: str = SHOPIFY_HEADER,
) -> pl.DataFrame:
    """``order_lines`` as the sources reader gives them for these export files (one buyer)."""
    folder = tmp_path / f"export-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    for name, rows in files.items():
        (folder / name).write_text(header + rows)
    source, errors = parse_source(
        Path("sources.yaml"),
        "shopify",
        {"kind": "transactions", "files": "orders*.csv", "columns": columns},
    )
    assert not errors
    lines = read_source(source, folder, money=USD_AND_CAD).lines
    return lines.with_columns(
        amperity_id=pl.lit("amp-1"), order_time=pl.lit(T), currency=pl.lit("USD")
    )


def keys_of(lines: pl.DataFrame) -> pl.DataFrame:
    kept, rejects = purchase_rows(lines, PURCHASES)
    assert rejects.height == 0
    return kept.select("event_key", "name", "quantity").sort("event_key")


def new_keys(before: pl.DataFrame, after: pl.DataFrame) -> int:
    return after.filter(~pl.col("event_key").is_in(before["event_key"].implode())).height


def test_overlapping_export_files_hold_each_line_once(tmp_path):
    day1 = keys_of(order_lines(tmp_path, {"orders_1.csv": MUG + TEE}))
    both = keys_of(order_lines(tmp_path, {"orders_1.csv": MUG + TEE, "orders_2.csv": MUG + TEE}))
    assert day1.height == both.height == 2
    assert new_keys(day1, both) == 0


def test_two_identical_lines_in_one_file_stay_two(tmp_path):
    twice = keys_of(order_lines(tmp_path, {"orders_1.csv": MUG + TEE + TEE}))
    assert twice.height == 3 and twice["event_key"].n_unique() == 3


def test_lines_in_another_order_keep_their_keys(tmp_path):
    before = keys_of(order_lines(tmp_path, {"orders_1.csv": MUG + TEE}))
    mug_second = TEE.replace("#1001,,,,,,,", "#1001,ann@example.com,paid,USD,30.00,0.00,"
                             "2025-12-30 23:31:31 -0700,") + MUG.replace(
        "ann@example.com,paid,USD,30.00,0.00,2025-12-30 23:31:31 -0700", ",,,,,")  # fmt: skip
    after = keys_of(order_lines(tmp_path, {"orders_1.csv": mug_second}))
    assert after.height == 2 and new_keys(before, after) == 0


def test_a_requantified_line_keeps_the_keys_of_the_parts_it_still_has():
    def line(quantity: float) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "amperity_id": ["amp-1"], "source": ["shop"], "order_id": ["2001"],
                "sku": ["MUG-1"], "product_name": ["Mug"], "quantity": [quantity],
                "price": [10.0], "order_time": [T], "currency": ["USD"],
            }
        )  # fmt: skip

    k150, k100, k40 = keys_of(line(150)), keys_of(line(100)), keys_of(line(40))
    assert k150["quantity"].to_list() == [SPEC_MAX_QUANTITY, 50]
    # Every part carries its unit range, a single one too: refunded to 100 or 40, the first
    # part is the one already sent (its quantity differs: counted by the sync, never resent).
    assert [k.split("-", 1)[1] for k in k150["event_key"]] == ["u1-100", "u101-200"]
    assert new_keys(k150, k100) == 0 and new_keys(k150, k40) == 0
    assert k40["quantity"].to_list() == [40]


def event(**columns) -> pl.DataFrame:
    base = {"amperity_id": ["amp-1"], "time": [T], "source": ["shop"], "order_id": ["1001"],
            "total": [39.98]}  # fmt: skip
    base.update(columns)
    return pl.DataFrame(base)


ORDER_PLACED = EventSpec("order_placed", "time", None, ("source", "order_id"), sql="-- query")


def key_of(rows: pl.DataFrame, spec: EventSpec = ORDER_PLACED) -> str:
    kept, rejects = event_rows(rows, spec)
    assert rejects.height == 0 and kept.height == 1
    return kept["event_key"][0]


def test_an_event_key_holds_the_instant_and_the_key_columns_only():
    first = key_of(event())
    # A property changed, a column added (properties: None sends every column): same key.
    assert key_of(event(total=[12.0])) == first
    assert key_of(event(channel=["web"])) == first
    # The same instant written as other text, or in another zone: same key.
    for text in ("2026-11-30T14:03:00Z", "2026-11-30 14:03:00+00:00", "2026-11-30T15:03:00+01:00"):
        assert key_of(event(time=[text])) == first
    # An identity merge renumbers the person: keyed by the source record, the key stays.
    assert key_of(event(amperity_id=["amp-survivor"])) == first
    # Another instant, or another order: another occurrence.
    assert key_of(event(time=[T + dt.timedelta(seconds=1)])) != first
    assert key_of(event(order_id=["1002"])) != first


def test_a_table_event_defaults_to_the_person_and_the_time():
    spec = EventSpec("loyalty_joined", "joined_on", ("tier",), None, table="customer_360")
    rows = pl.DataFrame(
        {"amperity_id": ["amp-1"], "joined_on": [dt.date(2026, 1, 2)], "tier": ["gold"]}
    )
    assert key_of(rows, spec) == key_of(rows.with_columns(tier=pl.lit("platinum")), spec)
    assert key_of(rows, spec) != key_of(rows.with_columns(amperity_id=pl.lit("amp-2")), spec)


def test_identical_rows_are_one_occurrence_and_clashing_ones_are_refused_with_a_reason():
    rows = pl.concat([event(), event(), event(order_id=["7"]), event(order_id=["7"], total=[1.0])])
    kept, rejects = event_rows(rows, ORDER_PLACED)
    assert kept.height == 1 and json.loads(kept["properties"][0])["order_id"] == "1001"
    assert rejects.height == 2
    assert set(rejects["reason"]) == {
        f"{DUPLICATE_KEY} (time, source, order_id) but different content; add the column that "
        "tells them apart to key:"
    }
    assert kept.height + rejects.height + 1 == rows.height  # the twin row is the one kept


def test_null_and_nan_properties_are_left_out():
    rows = (
        event(total=[float("nan")])
        .vstack(event(order_id=["2"], total=[None]))
        .vstack(event(order_id=["3"], total=[float("inf")]))
    )
    kept, _ = event_rows(rows, ORDER_PLACED)
    assert [json.loads(p) for p in kept["properties"]] == [
        {"order_id": "1001", "source": "shop"},
        {"order_id": "2", "source": "shop"},
        {"order_id": "3", "source": "shop"},
    ]


def test_build_events_refuses_clashing_purchases_and_events_never_drops_them():
    config = EventsConfig(
        purchases=PURCHASES,
        events=(
            EventSpec("order_placed", "time", ("total",), ("order_id",), table="customer_360"),
        ),
    )
    lines = pl.DataFrame(
        {"amperity_id": ["amp-1"] * 2, "source": ["shop"] * 2, "order_id": ["1"] * 2,
         "sku": ["MUG", "MUG"], "product_name": ["Mug", "Mug"], "quantity": [1.0, 1.0],
         "price": [10.0, 10.0], "order_time": [T] * 2, "currency": ["USD"] * 2}
    )  # fmt: skip
    people = pl.DataFrame({"amperity_id": ["amp-1", "amp-2"], "time": [T, T],
                           "order_id": ["#1", "#1"], "total": [1.0, 2.0]})  # fmt: skip
    events, rejects = build_events({"order_lines": lines, "customer_360": people}, config)
    # Two mugs on one order are two purchases (occurrences 1 and 2); two people claiming order
    # #1 at one instant are a clash: both refused, with the reason.
    assert events.filter(pl.col("kind") == "purchase").height == 2
    assert events.filter(pl.col("kind") == "event").height == 0
    assert rejects["reason"].str.starts_with(DUPLICATE_KEY).sum() == 2


def project_with(tmp_path, events_yaml: str):
    project = make_project(tmp_path)
    (project.config_dir / "events.yaml").write_text(textwrap.dedent(events_yaml))
    (project.config_dir / "events").mkdir(exist_ok=True)
    (project.config_dir / "events" / "placed.sql").write_text(
        "SELECT amperity_id, order_time AS time, order_id FROM order_lines"
    )
    return project


def test_config_refuses_a_position_in_the_purchase_key_and_a_query_without_key(tmp_path):
    project = project_with(
        tmp_path,
        """
        purchases:
          key: [source, order_id, line_number]
        events:
          - name: placed
            sql: events/placed.sql
        """,
    )
    with pytest.raises(ConfigError) as refused:
        load_events_config(project)
    text = str(refused.value)
    assert "key may not hold line_number" in text and "key: [source, order_id]" in text
    assert "event 'placed': a query's event needs key:" in text


def test_the_default_purchase_key_is_the_order(tmp_path):
    config = load_events_config(project_with(tmp_path, "purchases:\n  default_currency: USD\n"))
    assert config.purchases is not None and config.purchases.key == ("source", "order_id")
