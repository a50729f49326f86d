"""``order_lines`` materialized through the IO manager, as a run builds it: each line carries its
order's own currency, so the purchases Braze receives say the currency the price is in (spec,
Events and purchases: ``currency`` is the ISO 4217 code of the price), never a default."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from amperity_braze_assets.activation.events import purchase_rows
from amperity_braze_assets.activation.events_config import PurchaseEntry, PurchaseSpec
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.customer360.assets import build_customer360_assets
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets_tests.braze.helpers import settings_for

ORDER_TIME = dt.datetime(2026, 11, 30, 14, 3, tzinfo=dt.UTC)


@dg.asset(name="raw_orders")
def fake_orders() -> pl.DataFrame:
    """The sample's orders source as the reader stores it: order 1 in CAD, order 2 in USD."""
    return pl.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_source": ["pos", "pos"],
            "customer_record_id": ["c1", "c2"],
            "amount": [30.0, 8.0],
            "currency": ["CAD", "USD"],
            "order_time": [ORDER_TIME, ORDER_TIME],
            "channel": ["store", "store"],
            "counted": [True, True],
        }
    )


@dg.asset(name="raw_orders_lines")
def fake_lines() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["orders"] * 3,
            "order_id": ["1", "1", "2"],
            "line_number": [1, 2, 1],
            "sku": ["MUG-1", "TEE-1", "MUG-1"],
            "product_name": ["Mug", "Tee", "Mug"],
            "quantity": [1.0, 2.0, 1.0],
            "price": [10.0, 10.0, 8.0],
        }
    )


@dg.asset(name="identity_resolution")
def fake_identity() -> pl.DataFrame:
    return pl.DataFrame(
        {"source": ["pos", "pos"], "record_id": ["c1", "c2"], "amperity_id": ["a1", "a2"]}
    )


def test_order_lines_carry_the_orders_currency_to_the_purchases(tmp_path):
    settings = settings_for(tmp_path / "data")
    project = load_project_config(settings, check_files=False)
    built = [
        a for a in build_customer360_assets(project, settings) if a.key.path == ["order_lines"]
    ]
    result = dg.materialize(
        [fake_orders, fake_lines, fake_identity, *built],
        resources={"io_manager": ParquetIOManager(base_path=str(settings.storage_base))},
    )
    assert result.success
    lines = result.output_for_node("order_lines")
    assert lines.sort("order_id", "line_number")["currency"].to_list() == ["CAD", "CAD", "USD"]
    # No default_currency: a line without its order's currency would be refused, none is.
    spec = PurchaseSpec(**PurchaseEntry().model_dump())
    kept, refused = purchase_rows(lines, spec)
    assert refused.height == 0
    by_order = kept.sort("name", "price").select("name", "currency", "price").rows()
    assert by_order == [("MUG-1", "USD", 8.0), ("MUG-1", "CAD", 10.0), ("TEE-1", "CAD", 10.0)]
