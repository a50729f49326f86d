"""Nested custom attributes, Braze's objects and arrays of objects, as JSON text (vectorized).

Plain polars, no Dagster; shared by the attributes table (``activation``: the size check) and
the diff (``braze``: the canonical text, the comparison and the operations sent).

- An **object** is a polars Struct column. Its canonical text is JSON with its keys sorted,
  fields without a value left out (Braze drops every nested update of a request holding an
  invalid nested value, and names null as one), dates and times as ``{"$time": "..."}`` (the
  form Braze's docs require inside nested values), numbers as polars prints them, but a whole
  float as an integer (``1.0`` is ``1``: one number to Braze). An object
  with no field set is no value.
- An **array of objects** is a List(Struct) column; its element struct's **first field is its id
  key** (the attributes table builds it so; ``id_key_of``). Its canonical text is the JSON list
  of its elements' canonical texts, sorted by id: the order is not part of the value (an
  array of objects is a set of records found by id; Braze's segments match any element), so a
  reordering is no change. An empty list is no value.
- The same text decodes (``sent_dtype``) and re-encodes to itself, so a ledger's text can be
  split into elements and compared with today's, element by element (``array_operations``).
"""

from __future__ import annotations

import json

import polars as pl

OBJECT_TYPE = "Object"
ARRAY_OF_OBJECTS_TYPE = "ArrayOfObjects"
TIME_KEY = "$time"
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"
_DATE_FORMAT = "%Y-%m-%d"  # as in Braze's own nested-date examples
_ID, _TEXT, _KEYS = "id", "text", "keys"  # fields of an element's parts (``element_parts``)
_ROW = "__nested_row"
_EXACT_INTEGERS = 2**53  # floats below this are whole numbers exactly, and print as integers


def is_object(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Struct)


def is_array_of_objects(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)


def is_nested(dtype: pl.DataType) -> bool:
    return is_object(dtype) or is_array_of_objects(dtype)


def id_key_of(dtype: pl.DataType) -> str:
    """The id key of an array of objects: its element struct's first field."""
    return dtype.inner.fields[0].name  # type: ignore[attr-defined]


def json_text(expr: pl.Expr) -> pl.Expr:
    """JSON text of any value (strings escaped as JSON does), vectorized."""
    return (
        pl.struct(expr.alias("v"))
        .struct.json_encode()
        .str.strip_prefix('{"v":')
        .str.strip_suffix("}")
    )


def _is_time_struct(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Struct) and [f.name for f in dtype.fields] == [TIME_KEY]


def _time(text: pl.Expr) -> pl.Expr:
    return pl.when(text.is_not_null()).then(
        pl.concat_str([pl.lit('{"$time":'), json_text(text), pl.lit("}")])
    )


def value_json(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The JSON text of one field of an object (null: no value)."""
    if isinstance(dtype, pl.Datetime):
        zoned = expr.dt.convert_time_zone("UTC") if dtype.time_zone else expr
        return _time(zoned.dt.replace_time_zone(None).dt.strftime(_DATETIME_FORMAT))
    if dtype == pl.Date:
        return _time(expr.dt.strftime(_DATE_FORMAT))
    if _is_time_struct(dtype):  # a decoded canonical text: the time as sent
        return _time(expr.struct.field(TIME_KEY))
    if isinstance(dtype, pl.Struct):
        return object_json(expr, dtype)
    if dtype.is_float():
        # A whole number as an integer: 1.0 and 1 are the same number to Braze (JSON has one
        # number type), so a column that turns from Int64 to Float64 changes no value.
        whole = (expr == expr.round(0)) & (expr.abs() < _EXACT_INTEGERS)
        return (
            pl.when(expr.is_finite() & whole)
            .then(expr.cast(pl.Int64).cast(pl.String))
            .when(expr.is_finite())
            .then(expr.cast(pl.String))
        )
    if dtype == pl.Boolean or dtype.is_integer() or isinstance(dtype, pl.Decimal):
        return expr.cast(pl.String)
    return pl.when(expr.is_not_null()).then(json_text(expr))


def object_json(expr: pl.Expr, dtype: pl.Struct) -> pl.Expr:
    """Canonical JSON of a struct: keys sorted, fields without a value left out; null when no
    field has a value."""
    parts = [
        pl.concat_str(
            [
                pl.lit(json_text_literal(f.name) + ":"),
                value_json(expr.struct.field(f.name), f.dtype),
            ]
        )
        for f in sorted(dtype.fields, key=lambda f: f.name)
    ]
    body = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(expr.is_not_null() & (body != "")).then(
        pl.concat_str([pl.lit("{"), body, pl.lit("}")])
    )


def json_text_literal(text: str) -> str:
    """A Python string as JSON text (the same escapes polars writes)."""
    return json.dumps(text, ensure_ascii=False)


def _key_mask(expr: pl.Expr, dtype: pl.Struct) -> pl.Expr:
    """Which fields of an element have a value, as bits (field order of ``dtype``)."""
    return pl.sum_horizontal(
        pl.when(expr.struct.field(f.name).is_not_null())
        .then(pl.lit(1 << bit, pl.Int64))
        .otherwise(pl.lit(0, pl.Int64))
        for bit, f in enumerate(dtype.fields)
    )


def element_parts(expr: pl.Expr, dtype: pl.List) -> pl.Expr:
    """Per element of an array of objects: its id as JSON text, its canonical text and the bits
    of its fields that have a value; elements sorted by id."""
    inner = dtype.inner
    element = pl.element()
    parts = pl.struct(
        value_json(element.struct.field(id_key_of(dtype)), inner.fields[0].dtype).alias(_ID),
        object_json(element, inner).alias(_TEXT),
        _key_mask(element, inner).alias(_KEYS),
    )
    return expr.list.eval(parts.sort_by(element.struct.field(id_key_of(dtype))))


def array_json(expr: pl.Expr, dtype: pl.List) -> pl.Expr:
    """Canonical JSON of an array of objects (null when empty)."""
    texts = element_parts(expr, dtype).list.eval(pl.element().struct.field(_TEXT))
    return pl.when(expr.list.len() > 0).then(
        pl.concat_str([pl.lit("["), texts.list.join(","), pl.lit("]")])
    )


def canonical_json(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The canonical text of an object or array-of-objects column (null: no value)."""
    if is_array_of_objects(dtype):
        return array_json(expr, dtype)  # type: ignore[arg-type]
    return object_json(expr, dtype)  # type: ignore[arg-type]


def sent_dtype(dtype: pl.DataType) -> pl.DataType:
    """The dtype a canonical text decodes to: dates and times as ``{"$time": text}``."""
    if isinstance(dtype, pl.List):
        return pl.List(sent_dtype(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: sent_dtype(f.dtype) for f in dtype.fields})
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return pl.Struct({TIME_KEY: pl.String})
    return dtype


def _long(frame: pl.DataFrame, column: str, dtype: pl.List) -> pl.DataFrame:
    """One row per element: the row, the element's id, text and key bits (exploded first: the
    element-wise work is then plain column work)."""
    element, inner = pl.col(column), dtype.inner
    return (
        frame.select(_ROW, column)
        .explode(column)
        .filter(element.is_not_null())
        .select(
            _ROW,
            value_json(element.struct.field(id_key_of(dtype)), inner.fields[0].dtype).alias(_ID),
            object_json(element, inner).alias(_TEXT),
            _key_mask(element, inner).alias(_KEYS),
        )
        .filter(pl.col(_ID).is_not_null())
    )


def _operation_list(key: str, items: pl.Expr) -> pl.Expr:
    """``"$key":[items...]`` over the rows of a group (null when the group has none)."""
    joined = items.drop_nulls().str.join(",")
    return pl.when(items.is_not_null().any()).then(
        pl.concat_str([pl.lit(f'"{key}":['), joined, pl.lit("]")])
    )


def _per_row(pairs: pl.DataFrame, key: str) -> pl.DataFrame:
    """Per row, from its elements matched by id (old fields, new fields ``*_new``): the
    ``$remove`` and ``$update`` lists, whether an element was added, and whether an updated
    element lost a field."""
    added = pl.col(_TEXT).is_null()
    removed = pl.col(f"{_TEXT}_new").is_null()
    updated = ~added & ~removed & (pl.col(_TEXT) != pl.col(f"{_TEXT}_new"))
    identifies = pl.concat_str(
        [pl.lit('{"$identifier_key":' + key + ',"$identifier_value":'), pl.col(_ID)]
    )
    return pairs.group_by(_ROW).agg(
        added.any().alias("__adds"),
        _operation_list(
            "$remove", pl.when(removed).then(pl.concat_str([identifies, pl.lit("}")]))
        ).alias("__remove"),
        _operation_list(
            "$update",
            pl.when(updated).then(
                pl.concat_str(
                    [identifies, pl.lit(',"$new_object":'), pl.col(f"{_TEXT}_new"), pl.lit("}")]
                )
            ),
        ).alias("__update"),
        (updated & ((pl.col(_KEYS) & ~pl.col(f"{_KEYS}_new")) != 0)).any().alias("__lost_field"),
    )


def array_operations(before: pl.Series, now: pl.Series, dtype: pl.List) -> pl.DataFrame:
    """For people whose array of objects changed: the value to send when it is cheaper than the
    full list, as ``{"$remove": [...], "$update": [...]}`` (``operations``; null: send the full
    list), and whether it uses ``$update`` (``updates``: the object then needs
    ``"_merge_objects": true``). ``before`` holds the canonical texts Braze accepted, ``now``
    today's values, row for row.

    Only operations that may be applied twice are sent: a request can be applied and its answer
    lost, and then it is sent again (the client retries a dropped connection; the next sync
    resends what was not confirmed). ``$remove`` removes every match and ``$update`` merges the
    same element again, so both are safe; ``$add`` appends without looking at ids (Braze's docs:
    uniqueness "is not enforced"), so a resent ``$add`` would leave an element twice: a row that
    adds an element gets the full list, which Braze replaces whole.

    Elements are matched by id. ``$update`` deep-merges the whole new element into the old one
    (Braze's docs: it cannot remove a field), so a row where an updated element lost a field
    gets the full list; so does a row whose old or new list repeats an id. Braze applies
    ``$remove`` before ``$update``; ours name different ids, so the order does not matter."""
    key = json_text_literal(id_key_of(dtype))
    frame = pl.DataFrame(
        {"__before": before.cast(pl.String), "__now": now},
        schema={"__before": pl.String, "__now": dtype},
    ).with_row_index(_ROW)
    sent = sent_dtype(dtype)
    try:
        decoded = frame.with_columns(pl.col("__before").str.json_decode(sent))
    except pl.exceptions.ComputeError:  # a field's type changed past reading: full lists
        return pl.DataFrame(
            {"operations": [None] * frame.height, "updates": [False] * frame.height},
            schema={"operations": pl.String, "updates": pl.Boolean},
        )
    old = _long(decoded, "__before", sent)
    new = _long(frame, "__now", dtype)
    # The ledger's text read through today's type must give that text back: a field dropped
    # or renamed in the configuration, or a number type changed, would otherwise be merged
    # over (an $update keeps fields it does not name) or compared truncated. Full lists then.
    drifted = decoded.filter(
        array_json(pl.col("__before"), sent).ne_missing(frame.get_column("__before"))
    ).select(_ROW)
    repeated = pl.concat(
        [
            *(
                side.group_by(_ROW, _ID).len().filter(pl.col("len") > 1).select(_ROW)
                for side in (old, new)
            ),
            drifted,
        ]
    )
    per_row = _per_row(old.join(new, on=[_ROW, _ID], how="full", coalesce=True, suffix="_new"), key)
    operations = pl.concat_str(["__remove", "__update"], separator=",", ignore_nulls=True)
    # The full list's length: its elements' texts, their commas and the brackets.
    full = new.group_by(_ROW).agg(
        (pl.col(_TEXT).str.len_bytes().sum() + pl.len() + 1).alias("__full")
    )
    return (
        frame.join(per_row, on=_ROW, how="left", maintain_order="left")
        .join(full, on=_ROW, how="left", maintain_order="left")
        .with_columns(
            pl.when(operations != "")
            .then(pl.concat_str([pl.lit("{"), operations, pl.lit("}")]))
            .alias("__operations")
        )
        .select(
            pl.when(
                pl.col("__before").is_not_null()
                & pl.col("__operations").is_not_null()
                & ~pl.col("__lost_field").fill_null(False)
                & ~pl.col("__adds").fill_null(False)
                & ~pl.col(_ROW).is_in(repeated.get_column(_ROW).implode())
                & (pl.col("__operations").str.len_bytes() < pl.col("__full"))
            )
            .then(pl.col("__operations"))
            .alias("operations"),
        )
        .with_columns(
            updates=pl.col("operations").str.contains('"$update":[', literal=True).fill_null(False)
        )
    )


# -- the comparison key ------------------------------------------------------------------------
# Building the canonical text of a million arrays of objects takes seconds, so the diff compares
# a 64-bit hash of the value first (``value_key``, kept in the ledger beside the text under
# ``key_column``) and builds and compares the texts only where the keys differ. Correctness
# rests on the texts: a key that differs for an equal value (another polars version hashes
# otherwise, a reordered list) costs a text comparison, never a send.
KEY_PREFIX = "$key:"  # Braze refuses attribute names starting with "$": no clash possible


def key_column(name: str) -> str:
    """The ledger column holding the comparison key of nested attribute ``name``."""
    return f"{KEY_PREFIX}{name}"


def has_value(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Whether ``canonical_json`` has a value, without building it."""
    if is_array_of_objects(dtype):
        return (expr.list.len() > 0).fill_null(False)
    return pl.any_horizontal(
        expr.struct.field(f.name).is_not_null() for f in dtype.fields
    ).fill_null(False)


def value_key(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A 64-bit hash of the value (null: no value); an object's fields in name order. An array
    of objects' key is the sum (wrapping) of its elements' hashes, so that the elements' order,
    which is not part of the value, does not change it: arrays reordered alone are not even
    compared as text."""
    present = has_value(expr, dtype)
    if is_array_of_objects(dtype):
        summed = expr.list.eval(pl.element().hash(seed=0)).list.sum()
        return pl.when(present).then(summed.cast(pl.String))
    if is_object(dtype):
        expr = pl.struct(expr.struct.field(n) for n in sorted(f.name for f in dtype.fields))
    return pl.when(present).then(expr.hash(seed=0).cast(pl.String))
