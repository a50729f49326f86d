"""Transaction attributes: per-person order rollups and RFM deciles.

Definitions (all relative to ``as_of``):

- Orders are deduplicated on ``order_id`` (first occurrence in input order wins; orders without
  an ``order_id`` cannot be recognised as repeats and are each kept).
- Orders after ``as_of`` or without ``order_time`` are left out, so a rerun for a past ``as_of``
  reproduces that day's numbers.
- Last 12 months: ``as_of`` minus 12 calendar months <= ``order_time`` <= ``as_of``; the start is
  inclusive (an order placed exactly a year before counts). 29 February steps back to 28 February.
- ``days_since_last_order``: whole days from ``latest_order_at`` to ``as_of``, rounded down.
- Amounts are summed as given: convert to one reporting currency upstream.
- Deciles rank all buyers (the rows returned): ``decile = 1 + floor(10 * w / n)`` where ``w`` is
  the number of buyers strictly worse and ``n`` the number of buyers. Ties share a decile, the
  result does not depend on row order, and 10 is best: most recent (fewest days since the last
  order), most lifetime orders, highest lifetime spend. Because ties take the decile of their
  lowest member, a crowd of one-order buyers lands in decile 1 rather than mid-table.
- ``rfm_score``: the mean of the three deciles, rounded to 2 decimals (1.0 to 10.0). A mean rather
  than a "10-10-10" string keeps it comparable in segment filters (``rfm_score >= 8``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import polars as pl

from amperity_braze_assets.customer360.survivorship import (
    MASK_NAMES,
    link_to_identity,
    lists_of_masks,
    mask_of,
    require_columns,
)

ORDER_COLUMNS: tuple[str, ...] = (
    "order_id",
    "customer_source",
    "customer_record_id",
    "amount",
    "currency",
    "order_time",
    "channel",
)


def _distinct_orders(orders: pl.DataFrame) -> pl.DataFrame:
    require_columns(orders, ORDER_COLUMNS, "orders")
    first = orders.select(
        pl.col("order_id").is_null() | pl.col("order_id").is_first_distinct()
    ).to_series()
    return orders if first.all() else orders.filter(first)


def _link_orders(
    orders: pl.DataFrame, identity: pl.DataFrame, how: Literal["inner", "anti"]
) -> pl.DataFrame:
    """Distinct ``orders`` joined to ``identity`` (``link_to_identity``)."""
    return link_to_identity(orders, identity, "customer_source", "customer_record_id", how=how)


def unmatched_orders(orders: pl.DataFrame, identity: pl.DataFrame) -> pl.DataFrame:
    """Distinct orders whose (customer_source, customer_record_id) no identity row claims,
    including orders with a null customer key; same columns as ``orders``."""
    return _link_orders(_distinct_orders(orders), identity, how="anti")


# Orders naming a customer record nobody has stop the run past this share (and this count):
# a few are records quarantined or deleted, most are a column mapped to the wrong tag.
MAX_UNMATCHED_ORDER_SHARE = 0.05
MIN_UNMATCHED_ORDERS_TO_STOP = 10


def unmatched_share_stops(unmatched: int, orders: int) -> bool:
    return unmatched >= MIN_UNMATCHED_ORDERS_TO_STOP and unmatched > orders * (
        MAX_UNMATCHED_ORDER_SHARE
    )


def _twelve_months_before(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 29 February has no twin a year earlier
        return moment.replace(year=moment.year - 1, day=28)


def _as_order_time(moment: datetime, order_time_type: pl.DataType) -> pl.Expr:
    """``moment`` as a literal comparable with ``order_time``; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    time_zone = getattr(order_time_type, "time_zone", None)
    if time_zone is None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return pl.lit(moment, dtype=order_time_type)


def _decile(rank_of_worst_first: pl.Expr) -> pl.Expr:
    """1..10 from a ``min`` rank where rank 1 is the worst buyer."""
    buyers_strictly_worse = rank_of_worst_first - 1
    return (buyers_strictly_worse * 10 // pl.len() + 1).cast(pl.Int8)


def build_customer_transactions(
    orders: pl.DataFrame, identity: pl.DataFrame, as_of: datetime
) -> pl.DataFrame:
    """One row per ``amperity_id`` with at least one order up to ``as_of``, sorted by it.
    See ``transaction_rollups``."""
    return transaction_rollups(orders, identity, as_of)[0]


def transaction_rollups(
    orders: pl.DataFrame, identity: pl.DataFrame, as_of: datetime, *, distinct: bool = False
) -> tuple[pl.DataFrame, int]:
    """The rollups (one row per ``amperity_id`` with at least one order up to ``as_of``, sorted
    by it) and how many distinct orders no identity row claims (``unmatched_orders``, counted
    from the same join).

    ``distinct=True`` says ``orders`` are already distinct on ``order_id`` (one source's raw
    table is: the reader quarantines repeats), which skips the check.

    Columns: ``lifetime_frequency``, ``lifetime_monetary``, ``l12m_frequency``, ``l12m_monetary``,
    ``first_order_at``, ``latest_order_at``, ``average_order_value``, ``days_since_last_order``,
    ``channels`` (distinct, sorted, nulls dropped), ``multi_channel`` (more than one channel),
    ``one_and_done`` (exactly one lifetime order), ``recency_decile``, ``frequency_decile``,
    ``monetary_decile`` and ``rfm_score``; see the module docstring for the exact definitions.
    """
    require_columns(orders, ORDER_COLUMNS, "orders")
    order_time_type = orders.schema["order_time"]
    if not distinct:
        orders = _distinct_orders(orders)
    linked = _link_orders(orders, identity, how="inner")
    # Each record belongs to one person, so every order matches at most once.
    unmatched = orders.height - linked.height
    as_of_value = _as_order_time(as_of, order_time_type)
    window_start = _as_order_time(_twelve_months_before(as_of), order_time_type)
    rollups = _with_per_order_figures(
        _lifetime_rollups(linked, as_of_value, window_start), as_of_value
    )
    return _with_rfm(rollups).select(*ROLLUP_COLUMNS).sort("amperity_id"), unmatched


# The rollup columns, in the order customer_transactions has them.
ROLLUP_COLUMNS: tuple[str, ...] = (
    "amperity_id",
    "lifetime_frequency",
    "lifetime_monetary",
    "l12m_frequency",
    "l12m_monetary",
    "first_order_at",
    "latest_order_at",
    "average_order_value",
    "days_since_last_order",
    "channels",
    "multi_channel",
    "one_and_done",
    "recency_decile",
    "frequency_decile",
    "monetary_decile",
    "rfm_score",
)


def _lifetime_rollups(
    linked: pl.DataFrame, as_of_value: pl.Expr, window_start: pl.Expr
) -> pl.DataFrame:
    """Per person, their orders up to ``as_of``: counts and sums (lifetime and last twelve
    months), first and latest order times, and the channels."""
    in_last_12_months = pl.col("order_time") >= window_start
    # A person's channels as a bit mask (a handful of channels), read back as sorted lists once
    # per distinct mask: a sorted unique list per person is half the cost of the whole rollup.
    channel_names = linked.get_column("channel").drop_nulls().unique().sort()
    by_mask = channel_names.len() <= MASK_NAMES
    channels_aggregation = (
        mask_of("channel", channel_names).alias("_channel_mask")
        if by_mask
        else pl.col("channel").drop_nulls().unique().sort().alias("channels")
    )
    rollups = (
        linked.filter(pl.col("order_time") <= as_of_value)
        .group_by("amperity_id")
        .agg(
            pl.len().cast(pl.Int64).alias("lifetime_frequency"),
            pl.col("amount").sum().alias("lifetime_monetary"),
            in_last_12_months.sum().cast(pl.Int64).alias("l12m_frequency"),
            pl.col("amount").filter(in_last_12_months).sum().alias("l12m_monetary"),
            pl.col("order_time").min().alias("first_order_at"),
            pl.col("order_time").max().alias("latest_order_at"),
            channels_aggregation,
        )
    )
    if by_mask:
        rollups = rollups.with_columns(
            lists_of_masks(rollups.get_column("_channel_mask"), channel_names).alias("channels")
        )
    return rollups


def _with_per_order_figures(rollups: pl.DataFrame, as_of_value: pl.Expr) -> pl.DataFrame:
    return rollups.with_columns(
        (pl.col("lifetime_monetary") / pl.col("lifetime_frequency")).alias("average_order_value"),
        (as_of_value - pl.col("latest_order_at")).dt.total_days().alias("days_since_last_order"),
        (pl.col("channels").list.len() > 1).alias("multi_channel"),
        (pl.col("lifetime_frequency") == 1).alias("one_and_done"),
    )


def _with_rfm(rollups: pl.DataFrame) -> pl.DataFrame:
    """Recency, frequency and monetary deciles (10 is best) and their mean, ``rfm_score``."""
    return rollups.with_columns(
        # More days since the last order is worse, so it ranks first.
        _decile(pl.col("days_since_last_order").rank("min", descending=True)).alias(
            "recency_decile"
        ),
        _decile(pl.col("lifetime_frequency").rank("min")).alias("frequency_decile"),
        _decile(pl.col("lifetime_monetary").rank("min")).alias("monetary_decile"),
    ).with_columns(
        (
            (
                pl.col("recency_decile").cast(pl.Float64)
                + pl.col("frequency_decile")
                + pl.col("monetary_decile")
            )
            / 3
        )
        .round(2)
        .alias("rfm_score")
    )


LINE_COLUMNS: tuple[str, ...] = ("sku", "product_name", "quantity", "price", "line_id")


def order_lines(
    lines: list[pl.DataFrame], orders: dict[str, pl.DataFrame], identity: pl.DataFrame
) -> pl.DataFrame:
    """The line items of counted orders, each with its buyer's ``amperity_id`` and the order's
    time: what audiences ask of products ("bought a coat in the last 90 days"). ``lines`` and
    ``orders`` (source name -> table) are the sources' ``raw_<source>_lines`` and
    ``raw_<source>`` tables."""
    schema = {
        "amperity_id": pl.String,
        "source": pl.String,
        "order_id": pl.String,
        "line_number": pl.Int64,
        "sku": pl.String,
        "product_name": pl.String,
        "quantity": pl.Float64,
        "price": pl.Float64,
        "order_time": pl.Datetime("us", "UTC"),
        # The order's own currency (the line's price is in it): what a Braze purchase needs.
        "currency": pl.String,
        # The export's line-item id (the line-id tag), null when the source has none.
        "line_id": pl.String,
    }
    frames = [frame for frame in lines if frame.height]
    if not frames or not orders:
        return pl.DataFrame(schema=schema)
    stacked = pl.concat(frames, how="diagonal_relaxed")
    for column in LINE_COLUMNS:
        if column not in stacked.columns:
            stacked = stacked.with_columns(pl.lit(None, dtype=schema[column]).alias(column))
    counted = pl.concat(
        [
            frame.filter(pl.col("counted") if "counted" in frame.columns else pl.lit(True))
            .select(
                "order_id",
                "customer_source",
                "customer_record_id",
                "order_time",
                _order_currency(frame).alias("currency"),
            )
            .with_columns(pl.lit(name).alias("source"))
            for name, frame in orders.items()
        ],
        how="vertical_relaxed",
    )
    buyers = link_to_identity(counted, identity, "customer_source", "customer_record_id")
    return (
        stacked.join(
            buyers.select("source", "order_id", "amperity_id", "order_time", "currency"),
            on=["source", "order_id"],
            how="inner",
        )
        .select(list(schema))
        .cast(schema)
        .sort("amperity_id", "order_id", "line_number")
    )


def _order_currency(orders: pl.DataFrame) -> pl.Expr:
    """The currency an order was written in: ``order_currency`` when the reader converted its
    amount to the reporting currency, else ``currency`` (null when the source has none)."""
    columns = [c for c in ("order_currency", "currency") if c in orders.columns]
    return pl.coalesce([pl.col(c).cast(pl.String) for c in columns] or [pl.lit(None, pl.String)])
