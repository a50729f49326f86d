"""The two nested custom attribute types of ``attributes.yaml``: ``Object`` and ``ArrayOfObjects``.

An object gathers columns of one person's row::

    loyalty:
      type: Object
      fields:
        tier: customer_360.loyalty_tier
        points: {source: customer_360.loyalty_points, type: Integer}   # a text column, read

An array of objects gathers a table with several rows a person (``from``), one element per
distinct ``id_key`` value; a field is a column of that table (its first value in the element's
rows) or ``{sum|min|max|first|count: column}``; ``order_by`` and ``limit`` keep the elements with
the largest ``order_by`` (the latest, for a time)::

    recent_orders:
      type: ArrayOfObjects
      from: order_lines
      id_key: order_id
      fields: {order_id: order_id, placed_at: {max: order_time}, channel: source}
      order_by: placed_at
      limit: 5

Plain Python, no Dagster; ``config._Loader`` calls ``nested_spec`` with the table schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from amperity_braze_assets import braze_fields
from amperity_braze_assets.config_file import suggestion
from amperity_braze_assets.nested_values import ARRAY_OF_OBJECTS_TYPE, OBJECT_TYPE

NESTED_TYPES = (OBJECT_TYPE, ARRAY_OF_OBJECTS_TYPE)
NESTED_KEYS = ("fields", "id_key", "from", "order_by", "limit")
AGGREGATES = ("sum", "min", "max", "first", "count")
# The types an object's field may be read as ({source: <table>.<column>, type: Integer}): a
# column of text (customer_360's are) becomes a number, a time or a boolean inside the object.
FIELD_TYPES: dict[str, pl.DataType] = {
    "String": pl.String(),
    "Integer": pl.Int64(),
    "Float": pl.Float64(),
    "Boolean": pl.Boolean(),
    "Date": pl.Date(),
    "Datetime": pl.Datetime("us", "UTC"),
}
OBJECT_EXAMPLE = "{tier: customer_360.loyalty_tier, points: customer_360.loyalty_points}"
ARRAY_EXAMPLE = (
    "from: order_lines, id_key: order_id, fields: {order_id: order_id, placed_at: {max: "
    "order_time}}, order_by: placed_at, limit: 5"
)


@dataclass(frozen=True)
class NestedField:
    name: str
    source: str  # "table.column"
    aggregate: str | None = None  # arrays of objects: how an element's rows give the value
    cast: str | None = None  # objects: the type a text column is read as (FIELD_TYPES)


@dataclass(frozen=True)
class NestedSpec:
    """Where a nested attribute's value comes from and its polars type (a Struct, or a
    List(Struct) whose first field is the id key)."""

    fields: tuple[NestedField, ...]
    dtype: pl.DataType
    from_table: str | None = None
    id_key: str | None = None
    order_by: str | None = None
    limit: int | None = None

    def columns(self) -> set[str]:
        """The ``table.column`` an object reads from the person's row (arrays read ``from``)."""
        return {f.source for f in self.fields} if self.from_table is None else set()


def key_problem(key: Any) -> str | None:
    """Braze's rules for a key inside a nested value (its nested-attribute page)."""
    if not isinstance(key, str) or not 1 <= len(key) <= braze_fields.MAX_STRING_CHARS:
        return f"field name {key!r} must be text of 1 to {braze_fields.MAX_STRING_CHARS} characters"
    if any(c in key for c in ".$ "):
        return f"field name {key!r} may not hold '.', '$' or a space (Braze refuses them)"
    return None


def entry_problem(type_name: str, given: dict[str, Any]) -> str | None:
    """What is wrong with the keys of a nested entry (``given``: the keys set and their values)."""
    if any(k in given for k in ("source", "value", "cases", "buckets")):
        return f"a {type_name} is built from fields:, not from source, value, cases or buckets."
    if not isinstance(given.get("fields"), dict) or not given["fields"]:
        example = OBJECT_EXAMPLE if type_name == OBJECT_TYPE else ARRAY_EXAMPLE
        return f"a {type_name} needs fields: a mapping of field name to column, e.g. {example}."
    if type_name == OBJECT_TYPE:
        extra = [k for k in ("id_key", "from", "order_by", "limit") if k in given]
        return f"{', '.join(extra)} apply to ArrayOfObjects only." if extra else None
    if not isinstance(given.get("from"), str):
        return f"an ArrayOfObjects needs from: <table> (rows per person), e.g. {ARRAY_EXAMPLE}."
    if given.get("id_key") not in given["fields"]:
        return (
            "an ArrayOfObjects needs id_key: one of its fields, unique within the array (Braze "
            f"finds elements by it for $update and $remove); fields: {sorted(given['fields'])}."
        )
    if isinstance(given["fields"][given["id_key"]], dict):
        return (
            f"the id_key field {given['id_key']!r} must be a column of the from table, not an "
            "aggregate: an element is one id's rows, so its id is the column grouped by; write "
            f"{given['id_key']}: <column>."
        )
    if "order_by" in given and given["order_by"] not in given["fields"]:
        return f"order_by must name one of the fields {sorted(given['fields'])}."
    limit = given.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        return f"limit must be a whole number of elements, at least 1; got {limit!r}."
    if limit is not None and "order_by" not in given:
        return (
            "limit needs order_by: the field whose largest values are kept (e.g. order_by: "
            "placed_at for the latest); without it the elements kept would be arbitrary."
        )
    return None


def name_problem(name: str) -> str | None:
    """Braze's rule for a nested attribute's own name: segments reach inside it by dotted paths,
    and its docs forbid '.', '$' and spaces in nested payloads."""
    if any(c in name for c in ".$ "):
        fixed = "".join("_" if c in ".$ " else c for c in name).strip("_") or "name"
        return (
            f"a nested attribute's name may not hold '.', '$' or a space (Braze reads dots as "
            f"paths inside it); rename it, e.g. {fixed!r}"
        )
    return None


def nested_spec(
    type_name: str,
    given: dict[str, Any],
    schemas: dict[str, dict[str, pl.DataType]],
    errors: list[str],
    where: str,
) -> NestedSpec | None:
    """The checked spec of a nested entry whose keys passed ``entry_problem``; None (with the
    problems in ``errors``) when a field names an unknown column or a bad key."""
    table = given.get("from")
    if table is not None and table not in schemas:
        errors.append(f"{where}: from: unknown table {table!r}{suggestion(table, schemas)}.")
        return None
    names = list(given["fields"])
    if type_name == ARRAY_OF_OBJECTS_TYPE:  # the id key first: the diff finds it there
        names.remove(given["id_key"])
        names.insert(0, given["id_key"])
    fields, dtypes = [], {}
    for name in names:
        parsed = _field(name, given["fields"][name], table, schemas, f"{where}: field '{name}'")
        if isinstance(parsed, str):
            errors.append(parsed)
            continue
        fields.append(parsed[0])
        dtypes[name] = parsed[1]
    if len(fields) < len(names):
        return None
    struct = pl.Struct(dtypes)
    return NestedSpec(
        fields=tuple(fields),
        dtype=struct if table is None else pl.List(struct),
        from_table=table,
        id_key=given.get("id_key"),
        order_by=given.get("order_by"),
        limit=given.get("limit"),
    )


def _field(
    name: Any,
    raw: Any,
    table: str | None,
    schemas: dict[str, dict[str, pl.DataType]],
    where: str,
) -> tuple[NestedField, pl.DataType] | str:
    """A field and its type, or the problem."""
    problem = key_problem(name)
    if problem:
        return f"{where}: {problem}."
    aggregate = cast = None
    if isinstance(raw, dict) and table is None:
        if set(raw) != {"source", "type"} or raw["type"] not in FIELD_TYPES:
            return f"{where}: write <table>.<column> or {{source: <table>.<column>, type: <{'|'.join(FIELD_TYPES)}>}}."
        raw, cast = raw["source"], raw["type"]
    if isinstance(raw, dict) and table is not None:
        if len(raw) != 1 or next(iter(raw)) not in AGGREGATES:
            return f"{where}: write a column or {{<{'|'.join(AGGREGATES)}>: <column>}}."
        aggregate, raw = next(iter(raw.items()))
    if not isinstance(raw, str):
        form = "<column> of the from table" if table else "<table>.<column>"
        return f"{where}: write {form}."
    ref_table, _, column = raw.rpartition(".") if table is None else (table, ".", raw)
    columns = schemas.get(ref_table)
    if columns is None or column not in columns:
        known = sorted(columns or [])
        return f"{where}: unknown column {raw!r}{suggestion(column, known)}; columns: {known}."
    dtype = columns[column] if cast is None else FIELD_TYPES[cast]
    if aggregate == "sum" and not dtype.is_numeric():
        return (
            f"{where}: {{sum: {column}}} adds numbers, and {column} holds {dtype}; write "
            f"{{count: {column}}}, {{first: {column}}}, {{min: ...}} or {{max: ...}}, or sum a "
            "numeric column."
        )
    if aggregate == "count":
        dtype = pl.Int64()
    elif aggregate == "sum":
        dtype = pl.Int64() if dtype.is_integer() else pl.Float64()
    return NestedField(str(name), f"{ref_table}.{column}", aggregate, cast), dtype
