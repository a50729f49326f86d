"""The ids identity resolution retired, and who holds each one's records now.

When two people merge, one ``amperity_id`` disappears. Braze had that id as an ``external_id``
and its Currents events (sends, opens, clicks, unsubscribes) keep it forever, so engagement
would lose the absorbed person's history. ``update_retired_ids`` keeps, across runs, every
retired id with the id its records went to, followed through later merges, so the table always
names a current person.
"""

from __future__ import annotations

import polars as pl

RETIRED_SCHEMA = {"retired_id": pl.String, "amperity_id": pl.String}


def retired_this_run(resolved: pl.DataFrame) -> pl.DataFrame:
    """``retired_id -> amperity_id`` for ids that held records last run and hold none now: each
    goes to the person holding most of its records (ties: the smaller id)."""
    if "previous_amperity_id" not in resolved.columns or resolved.height == 0:
        return pl.DataFrame(schema=RETIRED_SCHEMA)
    current = resolved.get_column("amperity_id").cast(pl.String).unique().implode()
    return (
        resolved.filter(pl.col("previous_amperity_id").is_not_null())
        .group_by(
            pl.col("previous_amperity_id").cast(pl.String).alias("retired_id"),
            pl.col("amperity_id").cast(pl.String),
        )
        .len("records")
        .filter(~pl.col("retired_id").is_in(current))
        .sort(["retired_id", "records", "amperity_id"], descending=[False, True, False])
        .unique("retired_id", keep="first", maintain_order=True)
        .select(list(RETIRED_SCHEMA))
    )


def update_retired_ids(history: pl.DataFrame | None, resolved: pl.DataFrame) -> pl.DataFrame:
    """The history with this run's retirements added: an earlier entry whose person was retired
    now points to that person's survivor, and an id that holds records again leaves the table."""
    new = retired_this_run(resolved)
    earlier = history.select(list(RETIRED_SCHEMA)) if history is not None else new.clear()
    followed = earlier.join(
        new.rename({"retired_id": "amperity_id", "amperity_id": "_survivor"}),
        on="amperity_id",
        how="left",
    ).select("retired_id", pl.coalesce("_survivor", "amperity_id").alias("amperity_id"))
    current = resolved.get_column("amperity_id").cast(pl.String).unique().implode()
    return (
        pl.concat([followed, new])
        .unique("retired_id", keep="last", maintain_order=True)
        .filter(~pl.col("retired_id").is_in(current))
        .sort("retired_id")
    )
