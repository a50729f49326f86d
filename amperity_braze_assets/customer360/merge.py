"""From raw customer sources and identity to the customer 360 (plain polars, no Dagster).

The ``customer_360`` asset and ``bench/pipeline.py`` both call ``merged_customers``, so the
benchmark measures the code the pipeline runs.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from amperity_braze_assets.customer360.survivorship import SurvivorshipRules, build_customer_360
from amperity_braze_assets.sources.reader import attribute_column


def merged_customers(
    raw: Mapping[str, pl.DataFrame],
    records: pl.DataFrame,
    identity: pl.DataFrame,
    rules: SurvivorshipRules,
    person_attributes: Mapping[str, Mapping[str, str]],
) -> tuple[pl.DataFrame, int]:
    """One row per person, and the number of records it was built from.

    ``records`` is the normalized ``customer_records`` table (``identity.records``); ``raw``
    maps source name to its raw table, read only for ``person_attributes``: per source, the
    untagged columns carried into the 360 (``attributes:`` in sources.yaml: column -> name).
    """
    merged = build_customer_360(records, identity, rules)
    carried = source_attributes(raw, identity, person_attributes)
    return merged.join(carried, on="amperity_id", how="left"), records.height


def source_attributes(
    raw: Mapping[str, pl.DataFrame],
    identity: pl.DataFrame,
    person_attributes: Mapping[str, Mapping[str, str]],
) -> pl.DataFrame:
    """Person attributes carried from untagged source columns.

    Per person the value comes from the most recently updated record that has one; ties go to
    the highest record id, so reruns pick the same value.
    """
    people = identity.select("amperity_id").unique()
    links = identity.select("source", "record_id", "amperity_id")
    for source, columns in person_attributes.items():
        if not columns or source not in raw:
            continue
        frame = raw[source]
        ordering = ["updated_at"] if "updated_at" in frame.columns else []
        for column, name in columns.items():
            values = (
                frame.select(
                    "source",
                    "record_id",
                    *ordering,
                    pl.col(attribute_column(column)).str.strip_chars().alias(name),
                )
                .filter(pl.col(name).is_not_null() & (pl.col(name) != ""))
                .join(links, on=["source", "record_id"])
                .sort([*ordering, "record_id"], descending=True, nulls_last=True)
                .unique("amperity_id", keep="first")
                .select("amperity_id", name)
            )
            people = people.join(values, on="amperity_id", how="left")
    return people
