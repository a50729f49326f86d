"""attributes.sql at run time: the query's rows become the people the attribute builder reads.

Plain polars, no Dagster. The loader (``config.load_attribute_config``) turned each output column
of the query into a field whose source is ``attributes_sql.<column>``; here the query runs over
the registered tables and its rows are handed to ``build_braze_attributes`` as the people (their
``amperity_id``, or the identifier when the query returns no amperity_id) and as the
``attributes_sql`` table. So every value goes through the same per-value validation, rejects and
quarantine as the YAML mapping, and braze_customer_attributes has the same shape either way.

A person the query does not return is not in the table (a WHERE is the author's choice); a person
it returns twice fails the identifier check, which blocks the sync.
"""

from __future__ import annotations

import polars as pl

from amperity_braze_assets.activation.audiences import ENGINE, run_read_only_query
from amperity_braze_assets.activation.config import (
    ATTRIBUTES_QUERY,
    CUSTOMER_360,
    PERSON_ID,
    AttributeConfig,
)


def attribute_tables(
    tables: dict[str, pl.DataFrame], mapping: AttributeConfig
) -> dict[str, pl.DataFrame]:
    """The tables ``build_braze_attributes`` reads: ``tables`` as given for the YAML mapping; for
    attributes.sql, the query's rows as the people (``customer_360``: their keys alone) and as
    ``attributes_sql``, beside the other tables."""
    if mapping.attributes_sql is None:
        return tables
    rows = run_read_only_query(mapping.attributes_sql, mapping.attributes_sql_file, tables).collect(
        engine=ENGINE
    )
    if PERSON_ID not in rows.columns:  # external_id is the amperity_id (the loader checked)
        rows = rows.with_columns(pl.col(mapping.identifier).cast(pl.String).alias(PERSON_ID))
    # The other tables stay: segments' columns are read beside the fields (and left unused).
    return {**tables, CUSTOMER_360: rows.select(PERSON_ID), ATTRIBUTES_QUERY: rows}
