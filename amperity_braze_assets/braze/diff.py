"""Attribute-level change detection against the ledger of what Braze accepted.

Every attribute is turned into a *canonical text* with vectorized expressions (no per-row
Python), so comparing a million people's thirty attributes is thirty string comparisons after one
join. The rules:

- a person the ledger does not know gets every non-null attribute (audience booleans included:
  ``false`` is a value);
- a known person gets only the attributes whose canonical text differs from the ledger's;
- a value that disappeared is sent as ``null`` (Braze unsets it); an audience the person left is
  ``false`` upstream, so it is sent as ``false``;
- array attributes are sent as **full replacement** of the set: idempotent (a request resent
  after an unknown outcome cannot double-apply), and Braze ends holding exactly our set. The cost
  is that values added to that array by another writer (an SDK) are overwritten: keep arrays we
  own separate from arrays apps write. Arrays compare as sets: a reordering or a duplicate alone is not a change.
  An empty array is treated as no value (sent as ``null``);
- a person whose exact object was rejected before is held back until its data changes, unless
  ``retry_rejected``.

Canonical forms (what the ledger stores): strings as is; booleans ``true``/``false``; integers and
decimals as their digits; floats as polars prints them (non-finite floats are no value); dates as
days since 1970; times as epoch milliseconds in UTC (what is sent is millisecond ISO-8601, so a
sub-millisecond change is not a change); arrays and objects as their JSON text.

Sent forms: dates as ``YYYY-MM-DDT00:00:00.000Z`` and times as ``YYYY-MM-DDTHH:MM:SS.mmmZ``
(Braze stores an unparseable time as a plain string, so we only send the unambiguous form).

Attributes the ledger knows but the current table no longer has are left alone in Braze (a column
dropped from the configuration is not a request to erase it everywhere).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import polars as pl

from amperity_braze_assets.braze import fields
from amperity_braze_assets.braze.ledger import CLEARED, IDENTIFIER, LedgerView

OBJECT = "__object"
FIELDS = "__fields"
DATA_POINTS = "__data_points"
IS_NEW = "__new"
WRITTEN = "__written"
IDENTIFIER_COLUMNS = ("external_id", "braze_id")


@dataclass
class DiffFigures:
    people: int = 0
    new: int = 0  # people Braze has accepted nothing for yet, with something to send
    changed: int = 0  # known people with at least one changed attribute
    unchanged: int = 0
    cleared: int = 0  # attribute values sent as null
    held_rejected: int = 0  # people held back: their exact object was rejected before
    data_points: int = 0  # billable attribute values the sync sends
    full_resend_data_points: int = 0  # what sending every non-null value would cost
    known_profiles: int = 0
    missing_identifier: int = 0
    seconds: float = 0.0

    @property
    def people_to_send(self) -> int:
        return self.new + self.changed

    @property
    def changed_share_of_known(self) -> float:
        return self.changed / self.known_profiles if self.known_profiles else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**self.__dict__, "changed_share_of_known": round(self.changed_share_of_known, 6)}


@dataclass
class AttributeDiff:
    """The people to send: ``identifier``, the JSON object, the fields, the data points, whether
    new, and ``__written`` (the canonical values that go into the ledger once accepted)."""

    changes: pl.DataFrame
    figures: DiffFigures
    attributes: list[str] = field(default_factory=list)

    def segment(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The ledger segment for accepted rows of ``changes``."""
        return rows.select(IDENTIFIER, pl.col(WRITTEN)).unnest(WRITTEN)


def attribute_columns(
    frame: pl.DataFrame | pl.LazyFrame, identifier_column: str, attributes: list[str] | None
) -> list[str]:
    """The columns to sync: the configured subset, or every column but identifiers."""
    columns = frame.collect_schema().names()
    if attributes is None:
        return [c for c in columns if c not in IDENTIFIER_COLUMNS and c != identifier_column]
    missing = [a for a in attributes if a not in columns]
    if missing:
        raise ValueError(
            f"attributes {missing} are configured for the destination but are not columns of "
            f"braze_customer_attributes (it has {sorted(columns)}); fix the destination's "
            "'attributes' list."
        )
    return list(attributes)


def _json_text(expr: pl.Expr) -> pl.Expr:
    """JSON text of any value, vectorized: encode a one-field struct and strip the wrapper."""
    return (
        pl.struct(expr.alias("v"))
        .struct.json_encode()
        .str.strip_prefix('{"v":')
        .str.strip_suffix("}")
    )


def _utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if getattr(dtype, "time_zone", None):
        return expr.dt.convert_time_zone("UTC")
    return expr.dt.replace_time_zone("UTC")


def _non_empty_list(expr: pl.Expr) -> pl.Expr:
    # No per-row unique or sort here: both are slow on string lists in polars 2.1. Duplicates
    # and order are settled as set comparisons on the few rows whose text differs.
    return pl.when(expr.list.len() > 0).then(expr)


def canonical_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """The text the ledger compares and stores for one attribute column (null: no value)."""
    column = pl.col(name)
    if dtype == pl.String:
        return column
    if dtype == pl.Boolean or dtype.is_integer() or isinstance(dtype, pl.Decimal):
        return column.cast(pl.String)
    if dtype.is_float():
        return pl.when(column.is_finite()).then(column.cast(pl.String))
    if dtype == pl.Date:
        return column.dt.epoch("d").cast(pl.String)
    if isinstance(dtype, pl.Datetime):
        return _utc(column, dtype).dt.epoch("ms").cast(pl.String)
    if isinstance(dtype, pl.List | pl.Array):
        unique = _non_empty_list(column if isinstance(dtype, pl.List) else column.arr.to_list())
        return pl.when(unique.is_not_null()).then(_json_text(unique))
    if dtype == pl.Null:
        return pl.lit(None, pl.String)
    return pl.when(column.is_not_null()).then(_json_text(column))


def json_value_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """The JSON text sent for one attribute (``null`` to unset)."""
    column = pl.col(name)
    if dtype == pl.String:
        value = _json_text(column)
    elif dtype == pl.Boolean or dtype.is_integer() or isinstance(dtype, pl.Decimal):
        value = column.cast(pl.String)
    elif dtype.is_float():
        value = pl.when(column.is_finite()).then(column.cast(pl.String))
    elif dtype == pl.Date:
        value = pl.lit('"') + column.dt.strftime("%Y-%m-%dT00:00:00.000Z") + pl.lit('"')
    elif isinstance(dtype, pl.Datetime):
        value = (
            pl.lit('"') + _utc(column, dtype).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ") + pl.lit('"')
        )
    elif isinstance(dtype, pl.List | pl.Array):
        unique = _non_empty_list(column if isinstance(dtype, pl.List) else column.arr.to_list())
        value = pl.when(unique.is_not_null()).then(_json_text(unique))
    else:
        value = pl.when(column.is_not_null()).then(_json_text(column))
    return value.fill_null(pl.lit("null"))


def compute_diff(
    current: pl.DataFrame,
    ledger: LedgerView,
    *,
    identifier_column: str = "external_id",
    identifier_type: str | None = None,
    attributes: list[str] | None = None,
    update_existing_only: bool = False,
    retry_rejected: bool = False,
) -> AttributeDiff:
    """Compare ``braze_customer_attributes`` with what Braze accepted; return what to send."""
    started = time.perf_counter()
    identifier_type = identifier_type or identifier_column
    if identifier_column not in current.columns:
        raise ValueError(
            f"braze_customer_attributes has no {identifier_column!r} column (the destination's "
            f"identifier); columns: {sorted(current.columns)}"
        )
    names = attribute_columns(current, identifier_column, attributes)
    schema = current.schema
    figures = DiffFigures(known_profiles=ledger.known_profiles)
    missing_id = current[identifier_column].null_count()
    if missing_id:
        current = current.filter(pl.col(identifier_column).is_not_null())
    figures.missing_identifier = missing_id
    figures.people = current.height

    accepted = ledger.accepted
    absent = [a for a in names if a not in accepted.columns]
    list_names = [a for a in names if _is_list(schema[a])]
    # Values are compared as 64-bit hashes of their canonical text, computed in this process on
    # both sides: the join then carries thirty integer columns instead of thirty string columns
    # (a collision, about 1 in 10^19 per value, would skip one changed value).
    previous = (
        accepted.lazy()
        .with_columns(pl.lit(None, pl.String).alias(a) for a in absent)
        .select(
            pl.col(IDENTIFIER).cast(pl.String).alias("__prev_identifier"),
            *[pl.col(a).cast(pl.String).hash().alias(f"{a}__prev") for a in names],
            pl.lit(True).alias("__known"),
        )
    )
    canonical = (
        current.lazy()
        .select(
            pl.col(identifier_column).cast(pl.String).alias(IDENTIFIER),
            *[canonical_expr(a, schema[a]).alias(a) for a in names],
        )
        .select(
            IDENTIFIER,
            *[pl.col(a).hash().alias(f"{a}__hash") for a in names],
            *[pl.col(a).is_not_null().alias(f"{a}__has") for a in names],
        )
        .with_row_index("__row")
    )

    def compare(on_hash: bool) -> pl.DataFrame:
        # Joining on a 64-bit hash of the identifier is several times faster than on the
        # string; a collision is detected below and answered with the exact string join.
        key = pl.col(IDENTIFIER).hash() if on_hash else pl.col(IDENTIFIER)
        prev_key = pl.col("__prev_identifier").hash() if on_hash else pl.col("__prev_identifier")
        known = pl.col("__known").fill_null(False)
        return (
            canonical.with_columns(key.alias("__key"))
            .join(previous.with_columns(prev_key.alias("__key")), on="__key", how="left")
            .select(
                "__row",
                IDENTIFIER,
                "__prev_identifier",
                known.alias("__known"),
                *[f"{a}__has" for a in names],
                *[
                    pl.when(known)
                    .then(pl.col(f"{a}__hash") != pl.col(f"{a}__prev"))
                    .otherwise(pl.col(f"{a}__has"))
                    .alias(f"{a}__send")
                    for a in names
                ],
            )
            .collect()
        )

    compared = compare(on_hash=True)
    collided = compared.height != current.height or bool(
        compared.select(
            (pl.col("__known") & (pl.col(IDENTIFIER) != pl.col("__prev_identifier"))).any()
        ).item()
    )
    if collided:
        compared = compare(on_hash=False)
    compared = compared.drop("__prev_identifier")
    if list_names:
        compared = _ignore_reordered_lists(compared, current, accepted, list_names, schema)
    send_flags = [pl.col(f"{a}__send") for a in names]
    any_send = pl.any_horizontal(send_flags) if names else pl.lit(False)
    billable = [a for a in names if a not in fields.NON_BILLABLE_FIELDS]
    totals = compared.select(
        new=(~pl.col("__known") & any_send).sum(),
        changed=(pl.col("__known") & any_send).sum(),
        unchanged=(pl.col("__known") & ~any_send).sum(),
        cleared=pl.sum_horizontal(
            [(pl.col(f"{a}__send") & ~pl.col(f"{a}__has")).sum() for a in names]
        )
        if names
        else pl.lit(0),
        full=pl.sum_horizontal([pl.col(f"{a}__has").sum() for a in billable])
        if billable
        else pl.lit(0),
    ).row(0, named=True)
    figures.new, figures.changed, figures.unchanged = (
        int(totals["new"]),
        int(totals["changed"]),
        int(totals["unchanged"]),
    )
    figures.cleared = int(totals["cleared"])
    figures.full_resend_data_points = int(totals["full"])

    to_send = compared.filter(any_send).sort("__row")
    changes = _build_objects(current, to_send, names, schema, identifier_type, update_existing_only)
    if ledger.rejections.height and not retry_rejected:
        held = changes.join(
            ledger.rejections.select(IDENTIFIER, pl.col("object").alias("__rejected_object")),
            on=IDENTIFIER,
            how="left",
            maintain_order="left",
        )
        is_held = pl.col(OBJECT) == pl.col("__rejected_object")
        held_rows = held.filter(is_held.fill_null(False))
        figures.held_rejected = held_rows.height
        if held_rows.height:
            figures.new -= int(held_rows[IS_NEW].sum())
            figures.changed -= int((~held_rows[IS_NEW]).sum())
        changes = held.filter(~is_held.fill_null(False)).drop("__rejected_object")
    figures.data_points = int(changes[DATA_POINTS].sum()) if changes.height else 0
    figures.seconds = time.perf_counter() - started
    return AttributeDiff(changes=changes, figures=figures, attributes=names)


def _is_list(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.List | pl.Array)


def _ignore_reordered_lists(
    compared: pl.DataFrame,
    current: pl.DataFrame,
    accepted: pl.DataFrame,
    list_names: list[str],
    schema: pl.Schema,
) -> pl.DataFrame:
    """A list whose text differs only by order or duplicates is not a change (arrays are sets
    in Braze). Checked only on the few rows whose text differs."""
    for a in list_names:
        if a not in accepted.columns:
            continue
        candidates = compared.filter(pl.col("__known") & pl.col(f"{a}__send") & pl.col(f"{a}__has"))
        if candidates.height == 0:
            continue
        rows = (
            candidates.select("__row", IDENTIFIER)
            .with_columns(
                current.select(canonical_expr(a, schema[a]).alias("__now"))[candidates["__row"]]
            )
            .join(accepted.select(IDENTIFIER, pl.col(a).alias("__before")), on=IDENTIFIER)
            .filter(pl.col("__before").is_not_null())
        )
        as_list = pl.List(pl.String)
        same = rows.filter(
            pl.col("__now")
            .str.json_decode(as_list)
            .list.set_symmetric_difference(pl.col("__before").str.json_decode(as_list))
            .list.len()
            == 0
        )["__row"]
        if same.len():
            compared = compared.with_columns(
                pl.when(pl.col("__row").is_in(same.implode()))
                .then(False)
                .otherwise(pl.col(f"{a}__send"))
                .alias(f"{a}__send")
            )
    return compared


def _build_objects(
    current: pl.DataFrame,
    to_send: pl.DataFrame,
    names: list[str],
    schema: pl.Schema,
    identifier_type: str,
    update_existing_only: bool,
) -> pl.DataFrame:
    """The exact JSON object per person, built with expressions, plus the ledger segment."""
    values = current.select(names)[to_send["__row"]] if names else pl.DataFrame()
    canonical = values.select(canonical_expr(a, schema[a]).alias(a) for a in names)
    flags = to_send.select([f"{a}__send" for a in names])
    frame = (
        pl.concat(
            [
                to_send.select(IDENTIFIER, "__known"),
                canonical,
                values.rename({a: f"{a}__value" for a in names}),
                flags,
            ],
            how="horizontal",
        )
        if to_send.height
        else None
    )
    empty_schema = {
        IDENTIFIER: pl.String,
        OBJECT: pl.String,
        FIELDS: pl.List(pl.String),
        DATA_POINTS: pl.Int64,
        IS_NEW: pl.Boolean,
        WRITTEN: pl.Struct({a: pl.String for a in names}),
    }
    if frame is None:
        return pl.DataFrame(schema=empty_schema)
    value_schema = {f"{a}__value": schema[a] for a in names}
    fragments = [
        pl.when(pl.col(f"{a}__send")).then(
            pl.lit(json.dumps(a) + ":")
            + json_value_expr(f"{a}__value", value_schema[f"{a}__value"])
        )
        for a in names
    ]
    head = pl.lit(json.dumps(identifier_type) + ":") + _json_text(pl.col(IDENTIFIER))
    tail = [pl.lit('"_update_existing_only":true')] if update_existing_only else []
    billable = [a for a in names if a not in fields.NON_BILLABLE_FIELDS]
    return frame.select(
        IDENTIFIER,
        (
            pl.lit("{")
            + pl.concat_str([head, *fragments, *tail], separator=",", ignore_nulls=True)
            + pl.lit("}")
        ).alias(OBJECT),
        pl.concat_list([pl.when(pl.col(f"{a}__send")).then(pl.lit(a)) for a in names])
        .list.drop_nulls()
        .alias(FIELDS),
        (
            pl.sum_horizontal([pl.col(f"{a}__send").cast(pl.Int64) for a in billable])
            if billable
            else pl.lit(0, pl.Int64)
        ).alias(DATA_POINTS),
        (~pl.col("__known")).alias(IS_NEW),
        pl.struct(
            [
                pl.when(pl.col(f"{a}__send")).then(pl.col(a).fill_null(pl.lit(CLEARED))).alias(a)
                for a in names
            ]
        ).alias(WRITTEN),
    )
