"""Values of the nested custom attributes (``Object``, ``ArrayOfObjects``) and why one is refused.

Plain polars, no Dagster. An object is a Struct of columns of the person's row; an array of
objects is built from its ``from`` table: one element per (person, id), its fields aggregated
over the element's rows, the ``limit`` elements with the largest ``order_by`` kept, aligned to
customer_360's people (none: no value). A value Braze would drop is refused here, with its
reason, and never sent: its JSON over ``MAX_NESTED_VALUE_BYTES`` (Braze drops the update and
keeps the old value, so the profile would silently go stale), a text field over 255
characters or a date or time outside years 0 to 3000 (Braze drops every nested update of the
request holding either).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from amperity_braze_assets.activation.audiences import ENGINE, align_to
from amperity_braze_assets.activation.config import PERSON_ID, AttributeConfig, AttributeSpec
from amperity_braze_assets.braze_fields import MAX_NESTED_VALUE_BYTES, MAX_STRING_CHARS
from amperity_braze_assets.nested_values import canonical_json, is_array_of_objects

# Braze's nested-attribute docs: a date or time outside years 0 to 3000 is not stored.
MIN_NESTED_YEAR, MAX_NESTED_YEAR = 0, 3000

_AGGREGATES: dict[str | None, Callable[[pl.Expr], pl.Expr]] = {
    None: lambda c: c.drop_nulls().first(),
    "first": lambda c: c.drop_nulls().first(),
    "sum": lambda c: c.sum(),
    "min": lambda c: c.min(),
    "max": lambda c: c.max(),
    "count": lambda c: c.count().cast(pl.Int64),
}


def array_column(name: str) -> str:
    return f"_nested.{name}"


def raw_expr(spec: AttributeSpec) -> pl.Expr:
    """An object's struct of the person's columns, or the array built by ``with_arrays``."""
    nested = spec.nested
    if nested.from_table is not None:
        return pl.col(array_column(spec.name))
    return pl.struct(pl.col(f.source).alias(f.name) for f in nested.fields)


def _elements(table: pl.DataFrame, spec: AttributeSpec) -> pl.LazyFrame:
    """Per person, the list of their elements (the ``limit`` with the largest ``order_by``)."""
    nested = spec.nested
    fields = nested.fields
    id_column = fields[0].source.partition(".")[2]
    per_element = (
        table.lazy()
        .filter(pl.col(id_column).is_not_null())
        .group_by(PERSON_ID, id_column)
        .agg(
            _AGGREGATES[f.aggregate](pl.col(f.source.partition(".")[2])).alias(f.name)
            for f in fields[1:]
        )
        .rename({id_column: fields[0].name})
    )
    # One order for every build, so the kept set and the order sent never change by chance:
    # the largest order_by first, ties (and arrays without order_by) by id.
    id_key = fields[0].name
    if nested.order_by is not None and nested.order_by != id_key:
        per_element = per_element.sort(
            [nested.order_by, id_key], descending=[True, False], nulls_last=True
        )
    else:
        per_element = per_element.sort(id_key, descending=nested.order_by is not None)
    struct = pl.struct(f.name for f in fields).cast(nested.dtype.inner)
    listed = struct.head(nested.limit) if nested.limit is not None else struct
    return per_element.group_by(PERSON_ID, maintain_order=True).agg(
        listed.alias(array_column(spec.name))
    )


DROPPED_ELEMENTS = "dropped_elements"  # the rejects' action: the rest of the array is sent
REJECT_COLUMNS = {c: pl.String for c in ("external_id", "field", "value", "reason", "action")}


def null_id_rejects(tables: dict[str, pl.DataFrame], mapping: AttributeConfig) -> pl.LazyFrame:
    """Rows of the rejects table for people with rows of an array's ``from`` table that have no
    ``id_key``: no element is made of them (Braze finds elements by id), the rest of the array
    is sent. One row a person and array: the count, as ``value``; ``external_id`` holds the
    person id as in the other rejects."""
    parts = []
    for spec in mapping.fields:
        nested = spec.nested
        if nested is None or nested.from_table is None or nested.from_table not in tables:
            continue
        id_column = nested.fields[0].source.partition(".")[2]
        counted = (
            tables[nested.from_table]
            .lazy()
            .filter(pl.col(id_column).is_null() & pl.col(PERSON_ID).is_not_null())
            .group_by(PERSON_ID)
            .len()
            .sort(PERSON_ID)
            .select(
                pl.col(PERSON_ID).cast(pl.String).alias("external_id"),
                pl.lit(spec.name, pl.String).alias("field"),
                pl.format("{} rows", pl.col("len")).alias("value"),
                pl.format(
                    "{} rows of {} have no {}: no element is made of them (Braze finds "
                    "elements by id); the other elements are sent",
                    pl.col("len"),
                    pl.lit(nested.from_table),
                    pl.lit(id_column),
                ).alias("reason"),
                pl.lit(DROPPED_ELEMENTS, pl.String).alias("action"),
            )
        )
        parts.append(counted)
    return pl.concat(parts) if parts else pl.LazyFrame(schema=REJECT_COLUMNS)


def with_arrays(
    people: pl.LazyFrame, tables: dict[str, pl.DataFrame], mapping: AttributeConfig
) -> pl.LazyFrame:
    """``people`` with one column per array of objects, aligned to customer_360's order."""
    arrays = [s for s in mapping.fields if s.nested is not None and s.nested.from_table]
    if not arrays:
        return people
    ids = people.select(PERSON_ID).collect(engine=ENGINE)
    parts = []
    for spec in arrays:
        table = spec.nested.from_table
        if table not in tables:
            raise ValueError(
                f"the configuration builds {spec.name} from {table}, but no {table} table was "
                f"given; pass it (tables given: {sorted(tables)})."
            )
        parts.append(align_to(ids, _elements(tables[table], spec)).drop(PERSON_ID))
    return pl.concat([people, *(p.lazy() for p in parts)], how="horizontal")


def _long_text(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Whether a text field of the value is longer than Braze keeps."""
    struct = dtype.inner if is_array_of_objects(dtype) else dtype
    texts = [f.name for f in struct.fields if f.dtype == pl.String]
    if not texts:
        return pl.lit(False)
    if is_array_of_objects(dtype):
        element = pl.element().struct
        too_long = pl.any_horizontal(
            element.field(t).str.len_chars() > MAX_STRING_CHARS for t in texts
        )
        return value.list.eval(too_long).list.any().fill_null(False)
    fields = value.struct
    return pl.any_horizontal(
        fields.field(t).str.len_chars() > MAX_STRING_CHARS for t in texts
    ).fill_null(False)


def _time_fields(dtype: pl.DataType) -> list[str]:
    struct = dtype.inner if is_array_of_objects(dtype) else dtype
    return [f.name for f in struct.fields if f.dtype == pl.Date or isinstance(f.dtype, pl.Datetime)]


def _year_out_of_range(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Whether a date or time field of the value lies outside the years Braze stores."""
    times = _time_fields(dtype)
    if not times:
        return pl.lit(False)

    def outside(fields: pl.Expr) -> pl.Expr:
        return pl.any_horizontal(
            ~fields.struct.field(t).dt.year().is_between(MIN_NESTED_YEAR, MAX_NESTED_YEAR)
            for t in times
        ).fill_null(False)

    if is_array_of_objects(dtype):
        return value.list.eval(outside(pl.element())).list.any().fill_null(False)
    return outside(value)


Converter = Callable[[str, pl.Expr, pl.DataType], pl.Expr]


def _typed_object(
    spec: AttributeSpec, raw: pl.Expr, dtype: pl.DataType, convert: Converter
) -> tuple[pl.Expr, pl.Expr]:
    """An object's fields read as their declared types, and the first field that could not
    be (a value present that came out null), as a reason."""
    sources = dict(
        zip((f.name for f in dtype.fields), (f.dtype for f in dtype.fields), strict=True)
    )
    typed, failed = [], []
    for field in spec.nested.fields:
        value = raw.struct.field(field.name)
        if field.cast is not None:
            converted = convert(field.cast, value, sources[field.name])
            failed.append(
                pl.when(value.is_not_null() & converted.is_null()).then(
                    pl.lit(f"field {field.name}: not a valid {field.cast}")
                )
            )
            value = converted
        typed.append(value.alias(field.name))
    problem = pl.coalesce(failed) if failed else pl.lit(None, pl.String)
    return pl.when(raw.is_not_null()).then(pl.struct(typed)), problem


def value_and_reason(
    spec: AttributeSpec, raw: pl.Expr, dtype: pl.DataType, convert: Converter
) -> tuple[pl.Expr, Callable[[pl.Expr], pl.Expr]]:
    """(typed value, why it is refused, from the typed value) for a nested attribute; a
    refused value is sent as null. ``convert`` reads a column as a declared type."""
    nested_dtype = spec.nested.dtype
    failed = pl.lit(None, pl.String)
    if spec.nested.from_table is None:
        raw, failed = _typed_object(spec, raw, dtype, convert)

    def reason(value: pl.Expr) -> pl.Expr:
        size = canonical_json(value, nested_dtype).str.len_bytes()
        return (
            pl.when(failed.is_not_null())
            .then(failed)
            .when(size > MAX_NESTED_VALUE_BYTES)
            .then(
                pl.format(
                    "its JSON is {} bytes, over Braze's {} for a nested value",
                    size,
                    pl.lit(f"{MAX_NESTED_VALUE_BYTES:,}"),
                )
            )
            .when(_long_text(value, nested_dtype))
            .then(pl.lit(f"a text field is longer than {MAX_STRING_CHARS} characters"))
            .when(_year_out_of_range(value, nested_dtype))
            .then(
                pl.lit(
                    f"a date or time field is outside years {MIN_NESTED_YEAR} to "
                    f"{MAX_NESTED_YEAR} (Braze stores none, and drops every nested update "
                    "of the request)"
                )
            )
        )

    return raw.cast(nested_dtype), reason


def as_text(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A nested value for the rejects table: its canonical JSON, cut to 255 characters."""
    return canonical_json(raw, dtype).str.slice(0, MAX_STRING_CHARS)


def refused(column: pl.Expr, spec: AttributeSpec) -> pl.Expr:
    """The output check: a value Braze would drop (too large, or a text field too long)."""
    dtype = spec.nested.dtype
    size = canonical_json(column, dtype).str.len_bytes()
    return (
        (size > MAX_NESTED_VALUE_BYTES).fill_null(False)
        | _long_text(column, dtype)
        | _year_out_of_range(column, dtype)
    )
