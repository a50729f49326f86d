"""The Dagster face of the customer 360: ``customer_360`` and ``customer_transactions``."""

from functools import partial
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from amperity_braze_assets.customer360.merge import attribute_input_columns, merged_customers
from amperity_braze_assets.customer360.survivorship import IDENTITY_LINK_COLUMNS
from amperity_braze_assets.customer360.transactions import (
    ORDER_COLUMNS,
    order_lines,
    transaction_rollups,
    unmatched_orders,
    unmatched_share_stops,
)
from amperity_braze_assets.identity.assets import CUSTOMER360_GROUP
from amperity_braze_assets.metadata import markdown_preview
from amperity_braze_assets.pii import mask_personal_data
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.sources.reader import currencies_not_added

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig

# Every asset of this room: in the customer 360 group, computed in polars.
_customer360_asset = partial(dg.asset, group_name=CUSTOMER360_GROUP, kinds={"polars"})


def build_customer360_assets(config: "ProjectConfig", settings: Settings) -> list:
    rules = config.survivorship_rules  # parsed and checked when the configuration loaded
    # Inputs read only the columns these assets use (the I/O manager's "columns"): at ten
    # million records the rest of identity's evidence and the raw tables are gigabytes.
    # Raw tables are read only for the untagged columns sources carry into the 360.
    attribute_inputs = {
        s.asset_name: dg.AssetIn(
            key=s.asset_name, metadata={"columns": attribute_input_columns(s.attributes)}
        )
        for s in config.customer_sources
        if s.attributes
    }
    order_inputs = {
        s.asset_name: dg.AssetIn(
            key=s.asset_name, metadata={"columns": [*ORDER_COLUMNS, "counted"]}
        )
        for s in config.transaction_sources
    }
    identity_input = dg.AssetIn(metadata={"columns": list(IDENTITY_LINK_COLUMNS)})

    @_customer360_asset(
        name="customer_360",
        ins={
            **attribute_inputs,
            "customer_records": dg.AssetIn(),
            "identity_resolution": identity_input,
        },
        description="One row per person: each field group (name, email, phone, address, "
        "birthdate, gender) taken whole from the record the survivorship rules pick.",
    )
    def customer_360(
        customer_records: pl.DataFrame, identity_resolution: pl.DataFrame, **raw
    ) -> dg.Output:
        by_source = {name.removeprefix("raw_"): frame for name, frame in raw.items()}
        merged, record_count = merged_customers(
            by_source,
            customer_records,
            identity_resolution,
            rules,
            {s.name: s.attributes for s in config.customer_sources},
            {n: a for s in config.customer_sources for n, a in s.attribute_aggregates.items()},
        )
        return dg.Output(
            merged,
            metadata={
                "people": dg.MetadataValue.int(merged.height),
                "records": dg.MetadataValue.int(record_count),
                "with_email": dg.MetadataValue.int(_non_null(merged, "email")),
                "with_phone": dg.MetadataValue.int(_non_null(merged, "phone")),
                "preview": markdown_preview(merged),
            },
        )

    @_customer360_asset(
        name="customer_transactions",
        ins={**order_inputs, "identity_resolution": identity_input},
        description="Order rollups per person: lifetime and last-12-month frequency and "
        "monetary, first and latest order, average order value, RFM deciles, one-and-done.",
    )
    def customer_transactions(
        context: dg.AssetExecutionContext, identity_resolution: pl.DataFrame, **raw
    ) -> dg.Output:
        orders = pl.concat(list(raw.values()), how="diagonal_relaxed") if raw else _no_orders()
        currencies = orders.get_column("currency").drop_nulls().unique().sort().to_list()
        if len(currencies) > 1:
            # Each source converts to money.reporting_currency; without one, two sources in
            # two currencies would be added here.
            raise dg.Failure(description=currencies_not_added(currencies))
        # Refunded, voided and pending orders (exclude_statuses) are kept in the raw table
        # but are not spend.
        excluded = int((~orders.get_column("counted")).sum()) if "counted" in orders.columns else 0
        if excluded:
            orders = orders.filter(pl.col("counted"))
        orders = orders.select(ORDER_COLUMNS)
        as_of = settings.reference_time()
        # One source's raw table is already distinct on order_id (the reader quarantines
        # repeats); across sources the rollups drop later copies.
        rollups, unmatched = transaction_rollups(
            orders, identity_resolution, as_of, distinct=len(raw) <= 1
        )
        if unmatched_share_stops(unmatched, orders.height):
            # Most orders naming no known record is a mapping mistake, not a few missing
            # customers: spend would reach Braze as zero for everyone.
            sample = unmatched_orders(orders, identity_resolution).head(3)
            # The message lands in the run's history: keys that are emails are masked there.
            keys = mask_personal_data(sample.select(value="customer_record_id"))["value"].to_list()
            hint = (
                " The keys look like emails: tag that column 'email' (the buyer becomes a "
                "customer record) instead of 'customer-key'."
                if any("@" in str(k) for k in keys)
                else " Check that customer-key holds the customer source's primary key and "
                "customer_source names that source."
            )
            raise dg.Failure(
                description=f"{unmatched} of {orders.height} orders name a customer record "
                f"that no customer source has (e.g. {keys}); the run stops before anything "
                f"reaches Braze.{hint}"
            )
        if unmatched:
            context.log.warning(
                f"{unmatched} order(s) name a customer record that identity resolution "
                "does not know (it may have been quarantined); they are not in the rollups."
            )
        return dg.Output(
            rollups,
            metadata={
                "buyers": dg.MetadataValue.int(rollups.height),
                "orders": dg.MetadataValue.int(orders.height),
                "orders_not_counted": dg.MetadataValue.int(excluded),
                "unmatched_orders": dg.MetadataValue.int(unmatched),
                "as_of": dg.MetadataValue.text(as_of.isoformat()),
                "preview": markdown_preview(rollups),
            },
        )

    line_sources = [s for s in config.transaction_sources if s.has_lines]
    line_inputs = {s.lines_asset_name: dg.AssetIn(key=s.lines_asset_name) for s in line_sources} | {
        s.asset_name: dg.AssetIn(
            key=s.asset_name,
            metadata={
                "columns": [
                    "order_id",
                    "customer_source",
                    "customer_record_id",
                    "order_time",
                    "counted",
                    # The order's own currency (order_currency after a conversion to the
                    # reporting currency): a line's price is in it, and its purchase says so.
                    "currency",
                    "order_currency",
                ]
            },
        )
        for s in line_sources
    }

    @_customer360_asset(
        name="order_lines",
        ins={**line_inputs, "identity_resolution": identity_input},
        description="The line items of counted orders (sku, product name, quantity, price) "
        "with the buyer's amperity_id and the order's time, for audiences and attributes.",
    )
    def order_lines_asset(identity_resolution: pl.DataFrame, **raw) -> dg.Output:
        lines = order_lines(
            [raw[s.lines_asset_name] for s in line_sources],
            {s.name: raw[s.asset_name] for s in line_sources},
            identity_resolution,
        )
        return dg.Output(
            lines,
            metadata={
                "line_items": dg.MetadataValue.int(lines.height),
                "buyers": dg.MetadataValue.int(lines.get_column("amperity_id").n_unique()),
            },
        )

    return [customer_360, customer_transactions, order_lines_asset]


def _non_null(frame: pl.DataFrame, column: str) -> int:
    return frame.height - frame[column].null_count() if column in frame.columns else 0


def _no_orders() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "order_id": pl.String,
            "customer_source": pl.String,
            "customer_record_id": pl.String,
            "amount": pl.Float64,
            "currency": pl.String,
            "order_time": pl.Datetime("us", "UTC"),
            "channel": pl.String,
        }
    )
