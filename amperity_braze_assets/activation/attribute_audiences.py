"""The second stage of audiences (seed step 2b): segments and SQL audiences over
``braze_customer_attributes``, computed after it.

Plain polars, no Dagster. A second-stage audience reads the Braze fields as Braze will hold them
(``lifecycle_status``, ``order_recency``, a first-stage flag...) and its members are identified
by the table's identifier column. Its flag is not a column of ``braze_customer_attributes`` (that
table is built before it): ``braze_attribute_audiences`` holds the identifier and one Boolean per
second-stage audience, and the destinations' diff and sync join it onto the attributes, so the
flags reach Braze like any other attribute, without a cycle in the graph.

Exclusions: another second-stage audience's members (before its control group is held out, as
in the first stage), or a first-stage audience's flag (its members outside its control group).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from amperity_braze_assets.activation.audiences import (
    ENGINE,
    SUMMARY_SCHEMA,
    condition_expr,
    in_control_group,
    read_exclusion_ids,
    run_read_only_query,
)
from amperity_braze_assets.activation.config import BRAZE_ATTRIBUTES, AttributeConfig, AudienceSpec

ATTRIBUTE_AUDIENCES_ASSET = "braze_attribute_audiences"


def _matched(
    audience: AudienceSpec, attributes: pl.DataFrame, key: str, as_of: dt.datetime
) -> pl.DataFrame:
    """The people the audience's condition or query selects, by ``key``, once each."""
    if audience.kind == "segment":
        assert audience.condition is not None
        columns = sorted(audience.condition.columns())
        people = attributes.lazy().select(
            key, *(pl.col(c.split(".", 1)[1]).alias(c) for c in columns)
        )
        test = condition_expr(audience.condition, as_of, people.collect_schema())
        return people.filter(test).select(key).collect(engine=ENGINE)
    assert audience.sql is not None
    found = run_read_only_query(
        audience.sql, audience.sql_file, {BRAZE_ATTRIBUTES: attributes}, (BRAZE_ATTRIBUTES,)
    )
    return (
        found.select(key)
        .filter(pl.col(key).is_not_null())
        .unique(key, keep="first", maintain_order=True)
        .join(attributes.lazy().select(key), on=key, how="semi")
        .collect(engine=ENGINE)
    )


def build_attribute_audiences(
    attributes: pl.DataFrame, mapping: AttributeConfig, as_of: dt.datetime | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(flags, summary): per row of ``attributes`` its identifier and one Boolean per
    second-stage audience (a member outside the control group), in the table's order; the
    summary has the first stage's columns (matched, excluded, members, control_group)."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    key = mapping.identifier
    flags = attributes.select(key)
    before_control: dict[str, pl.DataFrame] = {}
    summary = []
    for audience in mapping.attribute_audiences:  # dependency order
        matched = _matched(audience, attributes, key, as_of)
        members = matched
        for other in audience.exclude:
            excluded = before_control.get(other)
            if excluded is None:  # a first-stage audience: its flag in the table
                flag = mapping.audience(other).attribute
                excluded = attributes.filter(pl.col(flag).fill_null(False)).select(key)
            members = members.join(excluded, on=key, how="anti")
        if audience.exclude_ids is not None:
            excluded = read_exclusion_ids(audience.exclude_ids).rename(key).to_frame()
            members = members.join(excluded, on=key, how="anti")
        held_out = in_control_group(members[key], audience.name, audience.control_share)
        before_control[audience.name] = members
        outside = members.filter(~held_out)[key]
        flags = flags.with_columns(pl.col(key).is_in(outside.implode()).alias(audience.attribute))
        control = int(held_out.sum())
        excluded_count = matched.height - members.height
        summary.append(
            (audience.name, audience.kind, matched.height, excluded_count, outside.len(), control)
        )
    return flags, pl.DataFrame(summary, schema=SUMMARY_SCHEMA, orient="row")
