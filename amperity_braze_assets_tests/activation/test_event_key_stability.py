"""An event key is a hash of its own text alone: a longer product id, order id or key column
arriving in a later export changes no other occurrence's key (the hash padded each text to the
batch's widest and hashed the padding, so every key moved and every purchase would have been
sent again: Braze does not deduplicate)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from amperity_braze_assets.activation.events import event_rows, purchase_rows
from amperity_braze_assets.activation.events_config import EventSpec, PurchaseEntry, PurchaseSpec

T = dt.datetime(2026, 11, 30, 14, 3, tzinfo=dt.UTC)
SPEC = PurchaseSpec(**PurchaseEntry(default_currency="USD").model_dump())


def lines(skus: list[str]) -> pl.DataFrame:
    n = len(skus)
    return pl.DataFrame(
        {
            "amperity_id": ["a"] * n,
            "source": ["shop"] * n,
            "order_id": [str(1000 + i) for i in range(n)],
            "sku": skus,
            "product_name": ["Mug"] * n,
            "price": [10.0] * n,
            "quantity": [1] * n,
            "order_time": [T] * n,
            "currency": ["USD"] * n,
        }
    )


def test_a_longer_product_id_elsewhere_changes_no_purchase_key():
    alone, _ = purchase_rows(lines(["MUG-1"]), SPEC)
    beside, _ = purchase_rows(lines(["MUG-1", "A-MUCH-LONGER-PRODUCT-ID-0000000001"]), SPEC)
    assert beside["event_key"][0] == alone["event_key"][0]


def test_a_longer_key_value_elsewhere_changes_no_event_key():
    spec = EventSpec(name="order_placed", time="time", properties=(), key=("order_id",))
    rows = pl.DataFrame({"amperity_id": ["a", "b"], "time": [T, T], "order_id": ["1", "1" * 90]})
    alone, _ = event_rows(rows.head(1), spec)
    beside, _ = event_rows(rows, spec)
    assert beside["event_key"][0] == alone["event_key"][0]
