"""Audiences: SQL queries and segments without SQL, with exclusions and stable control groups.

Plain polars, no Dagster. ``build_audiences`` returns the memberships table: one row per
(person, audience) with ``in_control_group``, plus the extra columns SQL audiences return (null on
other audiences' rows). Control-group members are listed (so reports can compare them) but
``build_braze_attributes`` treats them as outside the audience.

Null handling in segments: a test on a missing value is false (a person without orders is not
"l12m_monetary >= 200"), and ``not`` of it is true (they are "not Gold").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from amperity_braze_assets.activation.config import (
    AUDIENCES,
    CUSTOMER_360,
    PERSON_ID,
    QUERY_TABLES,
    AttributeConfig,
    AudienceSpec,
    Condition,
    plan_reads_files,
    read_only_sql_problem,
    sql_context,
)
from amperity_braze_assets.hashing import stable_unit_interval

# The streaming engine (polars' default) runs these plans several times slower than the
# in-memory one: unique(keep="first") and order-keeping joins dominate, and it splits the
# string-heavy frames into small batches.
ENGINE = "in-memory"

MEMBERSHIP_SCHEMA = {PERSON_ID: pl.String, "audience": pl.String, "in_control_group": pl.Boolean}
SUMMARY_SCHEMA = {
    "audience": pl.String,
    "kind": pl.String,
    "matched": pl.Int64,
    "excluded": pl.Int64,
    "members": pl.Int64,
    "control_group": pl.Int64,
}


@dataclass(frozen=True)
class AudienceResult:
    memberships: pl.DataFrame
    summary: pl.DataFrame  # one row per audience: matched, excluded, members, control_group


class AudienceQueryError(ValueError):
    """A SQL audience that is refused or fails at run time."""


# -- people and conditions ----------------------------------------------------------------------
def people_frame(
    tables: dict[str, pl.DataFrame],
    columns: set[str],
    schemas: dict[str, dict[str, pl.DataType]] | None = None,
) -> pl.LazyFrame:
    """One row per person of customer_360, in its order: ``amperity_id`` and each
    ``table.column`` requested (named so), joined from its table. A known column a table lacks
    (e.g. no source maps ``company``) is null of its declared type."""
    schemas = schemas or {}
    by_table: dict[str, list[str]] = {}
    for qualified in sorted(columns):
        table, _, column = qualified.partition(".")
        if table != AUDIENCES:
            by_table.setdefault(table, []).append(column)
    if CUSTOMER_360 not in tables:
        raise ValueError(f"no {CUSTOMER_360} table was given: it defines who the people are.")
    ids = tables[CUSTOMER_360].select(PERSON_ID)
    parts = [ids]
    # customer_360 first: it defines the rows the other tables join onto
    for table in sorted(by_table, key=lambda name: name != CUSTOMER_360):
        wanted = by_table[table]
        if table not in tables:
            raise ValueError(
                f"the configuration reads {table}.{wanted[0]}, but no {table} table was given; "
                f"pass it (tables given: {sorted(tables)})."
            )
        frame = tables[table].lazy()
        present = set(frame.collect_schema())
        selected = [
            pl.col(c).alias(f"{table}.{c}")
            if c in present
            else pl.lit(None, schemas.get(table, {}).get(c, pl.String)).alias(f"{table}.{c}")
            for c in wanted
        ]
        if table == CUSTOMER_360:
            parts.append(frame.select(*selected).collect(engine=ENGINE))
            continue
        parts.append(align_to(ids, frame.select(PERSON_ID, *selected)).drop(PERSON_ID))
    return pl.concat(parts, how="horizontal").lazy()


def align_to(ids: pl.DataFrame, right: pl.LazyFrame) -> pl.DataFrame:
    """``right``'s row for each of ``ids`` (by amperity_id, its first row when it has several;
    nulls when none), in the order of ``ids``. Only the ids are joined: the wide frames are
    never reordered."""
    joined = ids.lazy().join(right, on=PERSON_ID, how="left", maintain_order="left")
    aligned = joined.collect(engine=ENGINE)
    if aligned.height != ids.height:  # some person has several rows: keep each one's first
        right = right.unique(PERSON_ID, keep="first", maintain_order=True)
        joined = ids.lazy().join(right, on=PERSON_ID, how="left", maintain_order="left")
        aligned = joined.collect(engine=ENGINE)
    return aligned


def _as_of_literal(moment: dt.datetime, dtype: pl.DataType) -> pl.Expr:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    if dtype == pl.Date:
        return pl.lit(moment.astimezone(dt.UTC).date())
    time_zone = getattr(dtype, "time_zone", None)
    if time_zone is None:
        return pl.lit(moment.astimezone(dt.UTC).replace(tzinfo=None), dtype=dtype)
    return pl.lit(moment, dtype=dtype)


def condition_expr(
    condition: Condition, as_of: dt.datetime, schema: dict[str, pl.DataType]
) -> pl.Expr:
    """A boolean (never null) expression for ``condition`` over a ``people_frame``."""
    if condition.op == "and":
        return pl.all_horizontal([condition_expr(c, as_of, schema) for c in condition.children])
    if condition.op == "or":
        return pl.any_horizontal([condition_expr(c, as_of, schema) for c in condition.children])
    if condition.op == "not":
        return ~condition_expr(condition.children[0], as_of, schema)
    assert condition.column is not None
    column = pl.col(condition.column)
    dtype = schema[condition.column]
    op, value = condition.op, condition.value
    if op == "is_null":
        return column.is_null()
    if op == "is_not_null":
        return column.is_not_null()
    if op in ("within_last", "not_within_last"):
        start = _as_of_literal(as_of - value, dtype)
        end = _as_of_literal(as_of, dtype)
        test = (column >= start) & (column <= end) if op == "within_last" else column < start
    elif op == "contains":
        if isinstance(dtype, pl.List):
            test = column.list.contains(pl.lit(value))
        else:
            test = column.str.contains(value, literal=True)
    elif op == "between":
        test = column.is_between(_literal(value[0], dtype), _literal(value[1], dtype))
    elif op in ("in", "not_in"):
        values = pl.Series([_python_value(v, dtype) for v in value], dtype=dtype)
        test = column.is_in(values.implode())
        test = ~test if op == "not_in" else test
    else:
        literal = _literal(value, dtype)
        test = {
            "eq": column == literal,
            "ne": column != literal,
            "lt": column < literal,
            "gt": column > literal,
            "le": column <= literal,
            "ge": column >= literal,
        }[op]
    return test.fill_null(False)


def _python_value(value, dtype: pl.DataType):
    if (
        isinstance(dtype, pl.Datetime)
        and isinstance(value, dt.date)
        and not isinstance(value, dt.datetime)
    ):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if dtype == pl.Date and isinstance(value, dt.datetime):
        return value.date()
    return value


def _literal(value, dtype: pl.DataType) -> pl.Expr:
    value = _python_value(value, dtype)
    if isinstance(dtype, pl.Datetime):
        return _as_of_literal(value, dtype)
    return pl.lit(value, dtype=dtype) if dtype.is_numeric() or dtype == pl.Date else pl.lit(value)


# -- stable control groups --------------------------------------------------------------------
def in_control_group(ids: pl.Series, audience: str, share: float) -> pl.Series:
    """Whether each id is held out of ``audience``: stable, about ``share`` of the ids."""
    if share <= 0:
        return pl.Series("in_control_group", np.zeros(ids.len(), dtype=bool))
    return pl.Series("in_control_group", stable_unit_interval(ids, audience) < share)


# -- building ---------------------------------------------------------------------------------
def read_exclusion_ids(path: Path) -> pl.Series:
    """Ids to exclude: a .csv with an ``amperity_id`` column (else its first column), or a .txt
    with one id a line."""
    if path.suffix == ".csv":
        frame = pl.read_csv(path, infer_schema=False)
        column = PERSON_ID if PERSON_ID in frame.columns else frame.columns[0]
        ids = frame[column]
    else:
        ids = pl.Series(path.read_text(encoding="utf-8").splitlines(), dtype=pl.String)
    return (
        ids.str.strip_chars()
        .filter(ids.is_not_null() & (ids.str.strip_chars() != ""))
        .rename(PERSON_ID)
    )


def run_sql_audience(audience: AudienceSpec, tables: dict[str, pl.DataFrame]) -> pl.LazyFrame:
    """The audience's query over the registered tables: ``amperity_id`` and its extra columns."""
    assert audience.sql is not None
    result = run_read_only_query(audience.sql, audience.sql_file, tables)
    return result.select(PERSON_ID, *audience.extra_columns)


def run_read_only_query(
    sql: str,
    sql_file: Path | None,
    tables: dict[str, pl.DataFrame],
    allowed: tuple[str, ...] = QUERY_TABLES,
) -> pl.LazyFrame:
    """A checked query (an audience's, attributes.sql's) over the ``allowed`` tables among
    ``tables``, as a lazy frame; ``AudienceQueryError`` names the file when it is refused or
    fails."""
    problem = read_only_sql_problem(sql, allowed)
    if problem:
        raise AudienceQueryError(f"{sql_file}: refused: {problem}.")
    registered = {name: tables[name] for name in allowed if name in tables}
    try:
        result = sql_context(registered).execute(sql, eager=False)
        result.collect_schema()  # surface a missing table or column here, with the file name
    except Exception as exc:
        raise AudienceQueryError(
            f"{sql_file}: the query failed over {sorted(registered)}: {exc}"
        ) from exc
    if plan_reads_files(result):  # the text check's backstop: only registered frames are read
        raise AudienceQueryError(
            f"{sql_file}: refused: the query reads files; queries may only read the "
            f"registered tables {sorted(registered)}."
        )
    return result


def build_audiences(
    tables: dict[str, pl.DataFrame],
    config: AttributeConfig,
    as_of: dt.datetime | None = None,
) -> AudienceResult:
    """Every configured audience's members, after exclusions, with the control group marked."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    condition_columns = {
        c for a in config.audiences if a.condition is not None for c in a.condition.columns()
    }
    people = people_frame(tables, condition_columns, config.schemas)
    schema = people.collect_schema()
    # Segments share one pass over the people; SQL audiences run as their queries say.
    segment_hits = {}
    segments = [a for a in config.audiences if a.kind == "segment"]
    if segments:
        hits = people.select(
            PERSON_ID,
            *[condition_expr(a.condition, as_of, schema).alias(a.name) for a in segments],
        ).collect(engine=ENGINE)
        segment_hits = {a.name: hits.filter(pl.col(a.name)).select(PERSON_ID) for a in segments}
    person_ids = tables[CUSTOMER_360].lazy().select(PERSON_ID)

    final_members: dict[str, pl.DataFrame] = {}
    parts: list[pl.DataFrame] = []
    summary_rows = []
    for audience in config.audiences:  # dependency order: excluded audiences come first
        if audience.kind == "segment":
            matched = segment_hits[audience.name]
        else:
            matched = (
                run_sql_audience(audience, tables)
                .filter(pl.col(PERSON_ID).is_not_null())
                .unique(PERSON_ID, keep="first", maintain_order=True)
                .join(person_ids, on=PERSON_ID, how="semi")
                .collect(engine=ENGINE)
            )
        members = matched
        for other in audience.exclude:
            members = members.join(final_members[other], on=PERSON_ID, how="anti")
        if audience.exclude_ids is not None:
            excluded_ids = read_exclusion_ids(audience.exclude_ids).to_frame()
            members = members.join(excluded_ids, on=PERSON_ID, how="anti")
        members = members.with_columns(
            in_control_group(members[PERSON_ID], audience.name, audience.control_share)
        )
        final_members[audience.name] = members.select(PERSON_ID)
        control = int(members["in_control_group"].sum())
        summary_rows.append(
            {
                "audience": audience.name,
                "kind": audience.kind,
                "matched": matched.height,
                "excluded": matched.height - members.height,
                "members": members.height - control,
                "control_group": control,
            }
        )
        parts.append(
            members.select(
                PERSON_ID,
                pl.lit(audience.name).alias("audience"),
                "in_control_group",
                *audience.extra_columns,
            )
        )
    memberships = pl.concat(
        [pl.DataFrame(schema=MEMBERSHIP_SCHEMA), *parts], how="diagonal_relaxed"
    )
    extra_schema = config.schemas.get(AUDIENCES, {})
    memberships = memberships.with_columns(
        pl.lit(None, dtype).alias(column)
        for column, dtype in extra_schema.items()
        if column not in memberships.columns
    )
    summary = pl.DataFrame(summary_rows, schema=SUMMARY_SCHEMA, orient="row")
    return AudienceResult(memberships=memberships, summary=summary)
