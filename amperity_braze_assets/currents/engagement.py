"""Engagement per person from the Currents tables: what comes back from Braze, as attributes.

Braze's ``external_user_id`` is our ``amperity_id``. Everything is "as of" the reference time
(``settings.reference_time()``): events after it are ignored, and "30 days" means the 30 days
up to it. The column names are a contract with the attribute mapping and the audiences.

- ``email_bounced``: a hard bounce was ever recorded (soft bounces are temporary).
- ``email_unsubscribed``: the latest email subscription event (an Unsubscribe, or a global
  subscription state change on the email channel) left the person unsubscribed, so a later
  re-subscribe clears it.
- ``email_marked_spam``: the person ever reported a message as spam.
- ``last_purchase_in_app_at``: the latest Braze Purchase event (purchases logged through
  Braze's SDKs or API, distinct from the order sources of the customer 360).
- Opens a mail client made without the reader (Apple Mail Privacy Protection and the like
  prefetch every image: Currents sets ``machine_open``) and clicks Braze suspects a bot made
  (``is_suspected_bot_click``: link scanners of corporate mail) are counted apart, in
  ``email_machine_opens_30d`` and ``email_bot_clicks_30d``, and left out of the opens, the
  clicks and the last open and click, unless ``count_machine_opens`` / ``count_bot_clicks``:
  a machine open says nothing of the reader, and counting it makes everyone on Apple Mail look
  engaged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import polars as pl

from amperity_braze_assets.currents.tables import GLOBAL_STATE_CHANGE, HARD_BOUNCE

UTC_DATETIME = pl.Datetime("us", "UTC")
ENGAGEMENT_SCHEMA: dict[str, pl.DataType] = {
    "amperity_id": pl.String(),
    "last_email_open_at": UTC_DATETIME,
    "last_email_click_at": UTC_DATETIME,
    "email_opens_30d": pl.Int64(),
    "email_clicks_30d": pl.Int64(),
    "email_machine_opens_30d": pl.Int64(),
    "email_bot_clicks_30d": pl.Int64(),
    "email_sends_30d": pl.Int64(),
    "email_sends_total": pl.Int64(),
    "email_bounced": pl.Boolean(),
    "email_unsubscribed": pl.Boolean(),
    "email_marked_spam": pl.Boolean(),
    "last_purchase_in_app_at": UTC_DATETIME,
}
ENGAGEMENT_TABLES = (
    "currents_email_sends",
    "currents_email_opens",
    "currents_email_clicks",
    "currents_email_bounces",
    "currents_email_unsubscribes",
    "currents_email_spam_reports",
    "currents_subscription_state_changes",
    "currents_purchases",
)
WINDOW = timedelta(days=30)


def _flagged(column: str) -> pl.Expr:
    """True where a Currents flag says so: ``machine_open`` is the text "true" (or a boolean in
    another schema version), ``is_suspected_bot_click`` a boolean; null is not flagged."""
    return pl.col(column).cast(pl.String).str.to_lowercase().fill_null("") == "true"


EventReader = Callable[..., pl.LazyFrame]


def _event_reader(
    tables: Mapping[str, pl.DataFrame], as_of: pl.Expr, retired_ids: pl.DataFrame | None
) -> EventReader:
    """``events(table, *extra)``: a table's events up to ``as_of`` keyed by ``amperity_id``
    (an id merged away counts as its survivor), with the ``extra`` columns (null if absent)."""
    retired = (
        retired_ids.lazy().select(
            pl.col("retired_id").cast(pl.String), pl.col("amperity_id").cast(pl.String)
        )
        if retired_ids is not None and retired_ids.height
        else None
    )

    def events(table: str, *extra: str) -> pl.LazyFrame:
        frame = tables.get(table)
        if frame is None:
            frame = pl.DataFrame(schema={"external_user_id": pl.String, "time": UTC_DATETIME})
        columns = [
            pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in extra
        ]
        keyed = (
            frame.lazy()
            .select(
                pl.col("external_user_id").cast(pl.String).alias("amperity_id"),
                pl.col("time").cast(UTC_DATETIME),
                *columns,
            )
            .filter(pl.col("amperity_id").is_not_null() & (pl.col("time") <= as_of))
        )
        if retired is None:
            return keyed
        return (
            keyed.join(
                retired.rename({"retired_id": "amperity_id", "amperity_id": "_survivor"}),
                on="amperity_id",
                how="left",
            )
            .with_columns(pl.coalesce("_survivor", "amperity_id").alias("amperity_id"))
            .drop("_survivor")
        )

    return events


def _opens_and_clicks(
    events: EventReader, recent: pl.Expr, count_machine_opens: bool, count_bot_clicks: bool
) -> list[pl.LazyFrame]:
    """Opens and clicks per person, machine opens and suspected bot clicks counted apart."""
    machine = _flagged("machine_open")
    human_open = pl.lit(True) if count_machine_opens else ~machine
    opens = (
        events("currents_email_opens", "machine_open")
        .group_by("amperity_id")
        .agg(
            last_email_open_at=pl.col("time").filter(human_open).max(),
            email_opens_30d=(recent & human_open).sum(),
            email_machine_opens_30d=(recent & machine).sum(),
        )
    )
    bot = _flagged("is_suspected_bot_click")
    human_click = pl.lit(True) if count_bot_clicks else ~bot
    clicks = (
        events("currents_email_clicks", "is_suspected_bot_click")
        .group_by("amperity_id")
        .agg(
            last_email_click_at=pl.col("time").filter(human_click).max(),
            email_clicks_30d=(recent & human_click).sum(),
            email_bot_clicks_30d=(recent & bot).sum(),
        )
    )
    return [opens, clicks]


def _unsubscribed(events: EventReader) -> pl.LazyFrame:
    """Whether the latest email subscription event left the person unsubscribed."""
    return (
        pl.concat(
            [
                events("currents_email_unsubscribes").select(
                    "amperity_id", "time", status=pl.lit("unsubscribed")
                ),
                events(
                    "currents_subscription_state_changes",
                    "event_type",
                    "channel",
                    "subscription_status",
                )
                .filter(
                    (pl.col("event_type") == GLOBAL_STATE_CHANGE)
                    & (pl.col("channel").str.to_lowercase() == "email")
                )
                .select(
                    "amperity_id", "time", status=pl.col("subscription_status").str.to_lowercase()
                ),
            ]
        )
        .sort("time", "status")  # a tie keeps "unsubscribed", the cautious reading
        .group_by("amperity_id")
        .agg(email_unsubscribed=pl.col("status").last() == "unsubscribed")
    )


def build_customer_engagement(
    tables: Mapping[str, pl.DataFrame],
    reference_time: datetime,
    window: timedelta = WINDOW,
    count_machine_opens: bool = False,
    count_bot_clicks: bool = False,
    retired_ids: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per person seen in the engagement tables, with exactly ``ENGAGEMENT_SCHEMA``.

    ``retired_ids`` (``retired_id``, ``amperity_id``: ids identity resolution merged away, and
    who holds their records now): an event Braze keyed by a retired id counts for the survivor,
    so a merge never loses a person's opens, clicks or unsubscribes."""
    as_of = pl.lit(reference_time, UTC_DATETIME)
    events = _event_reader(tables, as_of, retired_ids)
    recent = pl.col("time") > pl.lit(reference_time - window, UTC_DATETIME)
    opens, clicks = _opens_and_clicks(events, recent, count_machine_opens, count_bot_clicks)
    sends = (
        events("currents_email_sends")
        .group_by("amperity_id")
        .agg(email_sends_30d=recent.sum(), email_sends_total=pl.len())
    )
    bounced = (
        events("currents_email_bounces", "event_type")
        .filter(pl.col("event_type") == HARD_BOUNCE)
        .select("amperity_id", email_bounced=pl.lit(True))
        .unique("amperity_id")
    )
    spam = (
        events("currents_email_spam_reports")
        .select("amperity_id", email_marked_spam=pl.lit(True))
        .unique("amperity_id")
    )
    unsubscribed = _unsubscribed(events)
    purchases = (
        events("currents_purchases")
        .group_by("amperity_id")
        .agg(last_purchase_in_app_at=pl.col("time").max())
    )
    parts = [opens, clicks, sends, bounced, spam, unsubscribed, purchases]
    people = pl.concat([p.select("amperity_id") for p in parts]).unique()
    for part in parts:
        people = people.join(part, on="amperity_id", how="left")
    return (
        people.with_columns(
            pl.col(
                "email_opens_30d",
                "email_clicks_30d",
                "email_machine_opens_30d",
                "email_bot_clicks_30d",
                "email_sends_30d",
                "email_sends_total",
            )
            .fill_null(0)
            .cast(pl.Int64),
            pl.col("email_bounced", "email_unsubscribed", "email_marked_spam").fill_null(False),
        )
        .select([pl.col(name).cast(dtype) for name, dtype in ENGAGEMENT_SCHEMA.items()])
        .sort("amperity_id")
        .collect()
    )
