"""An edited order re-exported with one more line of a product it already held: the line sent
before keeps its key (the sync matches the order's current lines to the keys its event ledger
holds, identical price and quantity first), only the added line is sent, and Braze ends with
exactly the order's units. With the export's line-item id (the ``line-id`` tag) a line is keyed
by it. Against the emulator (spec: Braze does not deduplicate; each purchase object applied is
one more purchase of its ``quantity``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from amperity_braze_assets.activation.events import purchase_rows
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.activation.test_event_keys import PURCHASES, order_lines
from amperity_braze_assets_tests.braze.test_events_reexport import units_in_braze
from amperity_braze_assets_tests.braze.test_events_sync import NOW, options
from amperity_braze_assets_tests.braze.test_sync import KEY, client_for, people
from amperity_braze_assets_tests.sources.test_orders import (
    SHOPIFY_COLUMNS,
    SHOPIFY_HEADER,
)

HEAD = "#1001,ann@example.com,paid,USD,30.00,0.00,2025-12-30 23:31:31 -0700,"
BUYER = ",Ann Lee,555-0100,US\n"


def mug(quantity: int, price: str = "10.00", first: bool = False) -> str:
    """One Mug line of order #1001 (the order's fields on its first row only)."""
    line = f"{quantity},Mug,{price},MUG-1"
    return HEAD + line + BUYER if first else f"#1001,,,,,,,{line},,,\n"


def purchases_of(lines: pl.DataFrame) -> pl.DataFrame:
    kept, rejects = purchase_rows(lines.with_columns(amperity_id=pl.lit("amp-00001")), PURCHASES)
    assert rejects.height == 0
    return kept.with_columns(time=pl.lit(NOW - dt.timedelta(days=1)))


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(StateStore(base_path=str(tmp_path / "state")), "default")


def test_an_added_line_of_a_product_sends_only_that_line(ledger, tmp_path):
    exports = [
        mug(2, first=True),  # the order: 2 mugs
        mug(1, first=True) + mug(2),  # edited: one more mug, written first (ranks shift)
        mug(2, first=True) + mug(1),  # the same order exported again, lines reordered
        mug(1, first=True) + mug(1),  # the 2 refunded to 1: Braze keeps 2, counted
        mug(1, first=True) + mug(1) + mug(1, price="8.00"),  # a third mug, cheaper
    ]
    sent, changed = [], []
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        for number, rows in enumerate(exports):
            events = purchases_of(order_lines(tmp_path, {"orders_1.csv": rows}))
            report = run_sync(people(3), ledger, client, options(f"r{number}"), events=events)
            sent.append(report.events.as_dict()["purchases_accepted"])
            changed.append(report.events.changed_after_sending)
        assert sent == [1, 1, 0, 0, 1]
        assert changed == [0, 0, 0, 1, 1]
        # The reviewer's case: 2 then 2 + 1 is 3 units in Braze, not 4; the cheap one makes 4.
        assert units_in_braze(emulator, "#1001") == {"MUG-1": 4}
        assert emulator.counters.purchases == 3
        # The one sent last is the cheaper mug, not the refunded line again.
        assert [p["price"] for p in emulator.purchases["amp-00001"]] == [10.0, 10.0, 8.0]


def test_the_reviewers_case_in_a_dry_run_would_send_one(ledger, tmp_path):
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        first = purchases_of(order_lines(tmp_path, {"orders_1.csv": mug(2, first=True)}))
        run_sync(people(3), ledger, client, options("r1"), events=first)
    second = purchases_of(order_lines(tmp_path, {"orders_1.csv": mug(2, first=True) + mug(1)}))
    dry = run_sync(
        people(3),
        ledger,
        None,
        options("dry", dry_run=True, dry_run_dir=tmp_path / "dry"),
        events=second,
    )
    assert dry.events.as_dict()["purchases_dry_run"] == 1
    assert dry.events.already_sent == 1
    # The added line (1 mug), not the one sent before under a shifted number (2 mugs).
    (would_send,) = dry.event_log["object"].to_list()
    assert '"quantity":1' in would_send


LINE_ID_HEADER = SHOPIFY_HEADER.rstrip("\n") + ",Lineitem id\n"


def lines_with_ids(tmp_path: Path, rows: str) -> pl.DataFrame:
    columns = {**SHOPIFY_COLUMNS, "Lineitem id": "line-id"}
    return order_lines(tmp_path, {"orders_1.csv": rows}, columns, LINE_ID_HEADER)


def test_a_line_id_keys_the_purchase(ledger, tmp_path):
    one = lines_with_ids(tmp_path, mug(2, first=True).rstrip("\n") + ",L-1\n")
    two = lines_with_ids(
        tmp_path,
        mug(1, first=True).rstrip("\n") + ",L-2\n" + mug(2).rstrip("\n") + ",L-1\n",
    )
    assert one["line_id"].to_list() == ["L-1"]
    first, second = purchases_of(one), purchases_of(two)
    assert first["line_group"].to_list() == [None]  # keyed by its id: nothing to match
    assert set(first["event_key"]) < set(second["event_key"])
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run_sync(people(3), ledger, client, options("r1"), events=first)
        again = run_sync(people(3), ledger, client, options("r2"), events=second)
        assert again.events.already_sent == 1
        assert units_in_braze(emulator, "#1001") == {"MUG-1": 3}
