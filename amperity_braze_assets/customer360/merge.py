"""From raw customer sources and identity to the customer 360 (plain polars, no Dagster).

The ``customer_360`` asset and ``bench/pipeline.py`` both call ``merged_customers``, so the
benchmark measures the code the pipeline runs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from amperity_braze_assets.customer360.survivorship import (
    SurvivorshipRules,
    build_customer_360,
    placing,
)
from amperity_braze_assets.sources.reader import attribute_column, parse_amount


def attribute_input_columns(attributes: Mapping[str, str]) -> list[str]:
    """What ``source_attributes`` reads of a raw source carrying ``attributes`` (column -> name):
    its record key, ``updated_at`` when it has one, and the carried columns."""
    return ["source", "record_id", "updated_at", *(attribute_column(c) for c in attributes)]


def merged_customers(
    raw: Mapping[str, pl.DataFrame],
    records: pl.DataFrame,
    identity: pl.DataFrame,
    rules: SurvivorshipRules,
    person_attributes: Mapping[str, Mapping[str, str]],
    aggregates: Mapping[str, str] | None = None,
) -> tuple[pl.DataFrame, int]:
    """One row per person, and the number of records it was built from.

    ``records`` is the normalized ``customer_records`` table (``identity.records``); ``raw``
    maps source name to its raw table, read only for ``person_attributes``: per source, the
    untagged columns carried into the 360 (``attributes:`` in sources.yaml: column -> name),
    each combined over a person's records by its aggregate (``aggregates``: name -> one of
    ``AGGREGATES``; most_recent by default).
    """
    merged = build_customer_360(records, identity, rules)
    carried = source_attributes(
        raw, identity, person_attributes, merged.get_column("amperity_id"), aggregates
    )
    return pl.concat([merged, carried], how="horizontal"), records.height


def source_attributes(
    raw: Mapping[str, pl.DataFrame],
    identity: pl.DataFrame,
    person_attributes: Mapping[str, Mapping[str, str]],
    people: pl.Series,
    aggregates: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Person attributes carried from untagged source columns, one row per entry of ``people``
    (sorted, distinct ``amperity_id``s).

    Per person and attribute, over the records that hold a value (``aggregates``, per name):

    - ``most_recent`` (default) and ``first_by_priority``: the most recently updated record's
      value (an attribute comes from one source, so priority cannot tell its records apart);
      ties go to the highest record id, so reruns pick the same value;
    - ``most_frequent``: the value most of the records hold, ties to the most recent;
    - ``max`` / ``min``: the largest / smallest, as numbers when every value of the column is
      one (money text like "$1,234.50" included), else as text; the value is kept as written;
    - ``sum``: the numbers added (a value that is no number is left out);
    - ``any`` / ``all``: "true" when any / every record's value is true (true, yes, y, t, 1).
    """
    aggregates = aggregates or {}
    # Each record's person as a row of ``people``, found once by one join, so the attributes
    # below are placed by integer positions.
    at_person = people.to_frame("amperity_id").with_row_index("_at")
    links = identity.select("source", "record_id", "amperity_id").join(
        at_person, on="amperity_id", how="left", maintain_order="left"
    )
    carried: list[pl.Series] = []
    for source, columns in person_attributes.items():
        if not columns or source not in raw:
            continue
        frame = raw[source]
        ordering = ["updated_at"] if "updated_at" in frame.columns else []
        linked = _linked(frame.select("source", "record_id", *ordering), links, source)
        for column, name in columns.items():
            present = linked.with_columns(
                frame.get_column(attribute_column(column))
                .cast(pl.String)
                .str.strip_chars()
                .alias(name)
            ).filter(
                pl.col(name).is_not_null() & (pl.col(name) != "") & pl.col("_at").is_not_null()
            )
            values = _aggregated(present, name, ordering, aggregates.get(name, "most_recent"))
            index = placing(values.get_column("_at").to_numpy().astype(np.int64), people.len())
            carried.append(values.get_column(name).gather(index).cast(pl.String).alias(name))
    return pl.DataFrame(carried, schema={s.name: pl.String for s in carried})


TRUE_WORDS = ("true", "t", "yes", "y", "1")


def _aggregated(
    present: pl.DataFrame, name: str, ordering: list[str], aggregate: str
) -> pl.DataFrame:
    """One row per person (``_at``) with the attribute ``name`` combined by ``aggregate``."""
    latest_first = [*ordering, "record_id"]
    if aggregate in ("sum", "any", "all"):
        if aggregate == "sum":
            combined = parse_amount(pl.col(name)).sum()
            text = (
                pl.when(pl.col(name) == pl.col(name).round(0))
                .then(pl.col(name).cast(pl.Int64).cast(pl.String))
                .otherwise(pl.col(name).round(6).cast(pl.String))
            )
        else:
            truth = pl.col(name).str.to_lowercase().is_in(TRUE_WORDS)
            combined = truth.any() if aggregate == "any" else truth.all()
            text = pl.col(name).cast(pl.String)
        return present.group_by("_at").agg(combined.alias(name)).with_columns(text.alias(name))
    if aggregate == "most_frequent":
        present = present.with_columns(_count=pl.len().over("_at", name))
        order, descending = ["_count", *latest_first], True
    elif aggregate in ("max", "min"):
        numbers = parse_amount(pl.col(name))
        numeric = present.select(numbers.is_not_null().all()).item()
        present = present.with_columns(_key=numbers if numeric else pl.col(name))
        order, descending = ["_key", *latest_first], aggregate == "max"
        descending = [descending] + [True] * len(latest_first)
    else:  # most_recent, first_by_priority
        order, descending = latest_first, True
    return present.sort(order, descending=descending, nulls_last=True).unique("_at", keep="first")


def _linked(frame: pl.DataFrame, links: pl.DataFrame, source: str) -> pl.DataFrame:
    """``frame`` (one source's records) with each record's person as ``_at`` (null if none)."""
    mine = links.filter(pl.col("source") == source)
    keys = frame.get_column("record_id").cast(pl.String)
    if mine.height == frame.height and mine.get_column("record_id").equals(keys):
        # identity lists a source's records in the order the source was read: no join needed.
        return frame.with_columns(mine.get_column("_at"))
    return frame.join(
        mine.select(pl.col("record_id").alias("_key"), "_at"),
        left_on=pl.col("record_id").cast(pl.String),
        right_on="_key",
        how="left",
        maintain_order="left",
    )
