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
  ``retry_rejected``;
- a field sent with an unknown outcome (``Ledger.unconfirmed_fields``: Braze may or may not hold
  what was sent) is sent again in full, whether or not it differs from the ledger: its current
  value, null when it has none, and an array of objects as its full list, never operations;
- objects (Struct columns) are sent whole: Braze replaces the object, so a resend is harmless
  and Braze ends holding exactly ours (a merge would keep a field we dropped);
- arrays of objects (List(Struct) columns, the element's first field is the id key) are compared
  element by element (``nested_values.array_operations``): a known person whose array changed
  gets ``{"$remove": [...], "$update": [...]}`` when that is shorter than the full list and
  nothing was added (a resent ``$add`` would add an element twice; both others may be applied
  twice), with ``"_merge_objects": true`` in the object when ``$update`` is used (then any
  object attribute sent with it would be merged, so such a person gets full lists instead);
- ``subscription_groups`` is compared and sent per group (``braze/subscription_groups.py``):
  only the groups whose state changed, as a plain list; a group gone from our data sends
  nothing, and the ledger keeps each group's accepted state.

Canonical forms (what the ledger stores): strings as is; booleans ``true``/``false``; integers and
decimals as their digits; floats as polars prints them (non-finite floats are no value); dates as
days since 1970; times as epoch milliseconds in UTC (what is sent is millisecond ISO-8601, so a
sub-millisecond change is not a change); arrays as their JSON text; objects and arrays of
objects as their canonical JSON (``nested_values``: keys sorted, elements by id, times as
``{"$time": ...}``), which is also what is sent. After an accepted ``$remove``/``$update``
the ledger holds the full new value, which is what Braze then holds.

Sent forms: dates as ``YYYY-MM-DDT00:00:00.000Z`` and times as ``YYYY-MM-DDTHH:MM:SS.mmmZ``
(Braze stores an unparseable time as a plain string, so we only send the unambiguous form).

Attributes the ledger knows but the current table no longer has are left alone in Braze (a column
dropped from the configuration is not a request to erase it everywhere).

What to send is decided for everyone at once, but the JSON objects, field lists and ledger values
are rendered ``RENDER_ROWS`` people at a time (``AttributeDiff.chunks``): a first sync of ten
million people is gigabytes of JSON, which the sync never needs all at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import polars as pl

from amperity_braze_assets import braze_fields as fields
from amperity_braze_assets import nested_values
from amperity_braze_assets.braze import subscription_groups
from amperity_braze_assets.braze.ledger import CLEARED, IDENTIFIER, LedgerView

OBJECT = "__object"
FIELDS = "__fields"
DATA_POINTS = "__data_points"
IS_NEW = "__new"
# Whether an object carries "_merge_objects": true (it sends an array of objects' $update).
MERGE_OBJECTS = "__merge_objects"
# How an object asks Braze never to create a profile (rendered last in the object).
UPDATE_ONLY_MARK = '"_update_existing_only":true'
WRITTEN = "__written"
IDENTIFIER_COLUMNS = ("external_id", "braze_id", "alias_name", "alias_label")
# A person sent by alias is keyed in the ledger by the JSON text of their user_alias object,
# {"alias_name":...,"alias_label":...}: JSON escaping makes it unambiguous, and it is the very
# text the object carries. With alias_fallback, an external_id that begins like one is refused.
ALIAS_COLUMNS = ("alias_name", "alias_label")
ALIAS_KEY_PREFIX = '{"alias_name":'
_KEY = "__identifier_key"
# People rendered at a time: enough that polars' fixed cost per call vanishes, few enough that
# the intermediate strings of one chunk stay in the low hundreds of megabytes.
RENDER_ROWS = 100_000
# Attributes compared at a time: each holds the ledger's values in the current table's order
# and the current canonical texts, so this bounds the comparison's memory at any table size.
COMPARE_GROUP = 6
_ROW = "__row"  # the person's row in the current table
_PATTERN = "__pattern"  # the person's set of sent attributes, numbered
_MASK_BITS = 64
_CONCAT_GROUP = 8  # pieces of a JSON object concatenated in one pass
# Characters JSON escapes inside a string; polars' encoder escapes exactly these, so a string
# without them is its own JSON text between quotes.
_ESCAPED = ['"', "\\", *[chr(c) for c in range(0x20)]]


def _send(name: str) -> str:
    return f"{name}__send"


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
    def changed_share_of_known(self) -> float:
        return self.changed / self.known_profiles if self.known_profiles else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**self.__dict__, "changed_share_of_known": round(self.changed_share_of_known, 6)}


@dataclass
class AttributeDiff:
    """The people to send.

    ``plan`` holds one small row per person (identifier, row in the current table, whether new,
    data points, which attributes are sent). ``chunks()`` renders the plan ``RENDER_ROWS`` people
    at a time as *changes* frames: ``identifier``, the JSON object, the fields, the data points,
    whether new, and ``__written`` (the canonical values that go into the ledger once accepted).
    ``changes`` is every chunk at once, kept: for small diffs, tests and the diff asset.
    """

    plan: pl.DataFrame
    figures: DiffFigures
    attributes: list[str]
    renderer: _Renderer
    # The people whose unconfirmed fields this diff sends again (the sync marks those fields
    # confirmed once Braze accepts them).
    unconfirmed_people: pl.Series | None = None

    @property
    def height(self) -> int:
        """People to send."""
        return self.plan.height

    def chunks(self, rows: int = RENDER_ROWS) -> Iterator[pl.DataFrame]:
        """The changes, rendered ``rows`` people at a time, in plan order."""
        step = max(1, rows)
        for start in range(0, self.plan.height, step):
            yield self.renderer.render(self.plan.slice(start, step))

    @cached_property
    def changes(self) -> pl.DataFrame:
        """Every change at once (a large first sync is gigabytes: use ``chunks`` there)."""
        parts = list(self.chunks())
        return pl.concat(parts, rechunk=False) if parts else self.renderer.render(self.plan)

    def segment(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The ledger segment for accepted rows of ``changes``."""
        return rows.select(IDENTIFIER, pl.col(WRITTEN)).unnest(WRITTEN)

    def full_segment(self) -> pl.DataFrame:
        """The ledger segment as if Braze accepted every row, without rendering any object."""
        step = RENDER_ROWS
        parts = [
            self.renderer.segment(self.plan.slice(start, step))
            for start in range(0, self.plan.height, step)
        ]
        return pl.concat(parts) if parts else self.renderer.segment(self.plan)


def attribute_columns(
    frame: pl.DataFrame | pl.LazyFrame, identifier_column: str, attributes: list[str] | None
) -> list[str]:
    """The columns to sync: the configured subset, or every column but identifiers."""
    columns = [c for c in frame.collect_schema().names() if c != _KEY]
    if attributes is None:
        return [c for c in columns if c not in IDENTIFIER_COLUMNS and c != identifier_column]
    identifiers = [a for a in attributes if a in IDENTIFIER_COLUMNS or a == identifier_column]
    if identifiers:
        raise ValueError(
            f"attributes {identifiers} are identifiers, and Braze takes exactly one identifier "
            f"per object (this destination's is {identifier_column}); remove them from the "
            "destination's 'attributes' list."
        )
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
    return nested_values.json_text(expr)


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
    if nested_values.is_nested(dtype):
        return nested_values.canonical_json(column, dtype)
    if isinstance(dtype, pl.List | pl.Array):
        unique = _non_empty_list(column if isinstance(dtype, pl.List) else column.arr.to_list())
        return pl.when(unique.is_not_null()).then(_json_text(unique))
    if dtype == pl.Null:
        return column.cast(pl.String)  # all null, as long as the column
    return pl.when(column.is_not_null()).then(_json_text(column))


def has_value_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """Whether ``canonical_expr`` has a value (never null), without building its text."""
    column = pl.col(name)
    if dtype.is_float():
        return column.is_finite().fill_null(False)
    if nested_values.is_object(dtype):
        return nested_values.has_value(column, dtype)
    if isinstance(dtype, pl.List):
        return (column.list.len() > 0).fill_null(False)
    if isinstance(dtype, pl.Array):
        return (column.arr.to_list().list.len() > 0).fill_null(False)
    return column.is_not_null()


def alias_key_expr() -> pl.Expr:
    """The ledger key of a person sent by alias (null without both non-empty names)."""
    name, label = (pl.col(c).cast(pl.String) for c in ALIAS_COLUMNS)
    return pl.when((name.str.len_bytes() > 0) & (label.str.len_bytes() > 0)).then(
        pl.struct(name.alias("alias_name"), label.alias("alias_label")).struct.json_encode()
    )


def identifier_key_expr(identifier_column: str, identifier_type: str, alias_fallback: bool):
    """Each person's ledger key: the identifier's value, or the alias key (``user_alias``, or
    ``alias_fallback`` for people without the identifier); null: no identifier, not sent."""
    if identifier_type == "user_alias":
        return alias_key_expr()
    key = pl.col(identifier_column).cast(pl.String)
    if not alias_fallback:
        return key
    own = pl.when(~key.str.starts_with(ALIAS_KEY_PREFIX)).then(key)
    return pl.coalesce(own, alias_key_expr())


def _keyed(
    current: pl.DataFrame, identifier_column: str, identifier_type: str, alias_fallback: bool
) -> tuple[pl.DataFrame, str]:
    """The table and the column holding each person's ledger key (added when derived)."""
    needed = [
        *(ALIAS_COLUMNS if identifier_type == "user_alias" or alias_fallback else ()),
        *([identifier_column] if identifier_type != "user_alias" else []),
    ]
    absent = [c for c in needed if c not in current.columns]
    if absent:
        raise ValueError(
            f"braze_customer_attributes has no {absent} column(s) (the destination's "
            f"identifier {identifier_type}); columns: {sorted(current.columns)}"
        )
    if identifier_type != "user_alias" and not alias_fallback:
        return current, identifier_column
    key = identifier_key_expr(identifier_column, identifier_type, alias_fallback)
    return current.with_columns(key.alias(_KEY)), _KEY


def compute_diff(
    current: pl.DataFrame,
    ledger: LedgerView,
    *,
    identifier_column: str = "external_id",
    identifier_type: str | None = None,
    attributes: list[str] | None = None,
    update_existing_only: bool = False,
    retry_rejected: bool = False,
    alias_fallback: bool = False,
    unconfirmed: pl.DataFrame | None = None,
) -> AttributeDiff:
    """Compare ``braze_customer_attributes`` with what Braze accepted; return what to send.
    ``unconfirmed`` (identifier, field): fields sent with an unknown outcome, sent again."""
    started = time.perf_counter()
    identifier_type = identifier_type or identifier_column
    current, key_column = _keyed(current, identifier_column, identifier_type, alias_fallback)
    names = attribute_columns(current, identifier_column, attributes)
    current, names = subscription_groups.per_group_states(current, names)
    figures = DiffFigures(known_profiles=ledger.known_profiles)
    missing_id = current[key_column].null_count()
    if missing_id:
        current = current.filter(pl.col(key_column).is_not_null())
    figures.missing_identifier = missing_id
    figures.people = current.height

    compared = _compare(current, ledger.accepted, key_column, names, figures)
    compared, unconfirmed_people = _force_unconfirmed(compared, unconfirmed, names)
    any_send = pl.any_horizontal([pl.col(_send(a)) for a in names]) if names else pl.lit(False)
    totals = compared.select(
        new=(pl.col(IS_NEW) & any_send).sum(),
        changed=(~pl.col(IS_NEW) & any_send).sum(),
        unchanged=(~pl.col(IS_NEW) & ~any_send).sum(),
    ).row(0, named=True)
    figures.new, figures.changed, figures.unchanged = (
        int(totals["new"]),
        int(totals["changed"]),
        int(totals["unchanged"]),
    )
    plan, fields_by_pattern = _number_patterns(compared.filter(any_send), names)
    del compared
    plan = _nested_operations(plan, current, ledger.accepted, names)
    renderer = _Renderer(
        current.select(names),
        names,
        fields_by_pattern,
        identifier_type,
        update_existing_only,
        alias_fallback,
    )
    if ledger.rejections.height and not retry_rejected:
        plan = _hold_rejected(plan, ledger.rejections, renderer, figures)
    figures.data_points = int(plan[DATA_POINTS].sum()) if plan.height else 0
    figures.seconds = time.perf_counter() - started
    return AttributeDiff(
        plan=plan,
        figures=figures,
        attributes=names,
        renderer=renderer,
        unconfirmed_people=unconfirmed_people,
    )


def _forced(name: str) -> str:
    return f"__forced:{name}"


def _force_unconfirmed(
    compared: pl.DataFrame, unconfirmed: pl.DataFrame | None, names: list[str]
) -> tuple[pl.DataFrame, pl.Series | None]:
    """The send flags with every unconfirmed field of a person set (Braze may hold what was
    sent with an unknown outcome, or not: only sending the value again makes it sure), a
    ``__forced:<name>`` column per attribute forced (arrays of objects then go as full lists),
    and the people concerned."""
    if unconfirmed is None or unconfirmed.height == 0:
        return compared, None
    wanted = unconfirmed.filter(pl.col("field").is_in(names))
    if wanted.height == 0:
        return compared, None
    forced = {
        a: ids.get_column(IDENTIFIER).cast(pl.String).implode()
        for (a,), ids in wanted.group_by("field")
    }
    compared = compared.with_columns(
        pl.col(IDENTIFIER).is_in(ids).alias(_forced(a)) for a, ids in forced.items()
    ).with_columns((pl.col(_send(a)) | pl.col(_forced(a))).alias(_send(a)) for a in forced)
    return compared, wanted.get_column(IDENTIFIER).cast(pl.String).unique()


def _billable(names: list[str]) -> list[str]:
    """The attributes Braze bills: not identifiers nor consent (subscription groups included)."""
    return [
        a
        for a in names
        if a not in fields.NON_BILLABLE_FIELDS and not subscription_groups.is_state_column(a)
    ]


def _is_list(dtype: pl.DataType) -> bool:
    """A list of scalars (a set in Braze); arrays of objects are compared by element id."""
    return isinstance(dtype, pl.List | pl.Array) and not nested_values.is_nested(dtype)


def _ledger_rows(people: pl.DataFrame, accepted: pl.DataFrame) -> pl.Series | None:
    """Each person's row in the ledger, in the order of ``people`` (null: unknown to Braze);
    None when the ledger is empty."""
    if accepted.height == 0:
        return None
    ledger_ids = accepted.select(
        pl.col(IDENTIFIER).cast(pl.String).alias("__ledger_identifier")
    ).with_row_index("__ledger_row")

    def join(on_hash: bool) -> pl.DataFrame:
        # Joining on a 64-bit hash of the identifier is several times faster than on the
        # string; a collision is detected below and answered with the exact string join.
        key = pl.col(IDENTIFIER).hash() if on_hash else pl.col(IDENTIFIER)
        ledger_key = pl.col("__ledger_identifier")
        ledger_key = ledger_key.hash() if on_hash else ledger_key
        return people.select(IDENTIFIER, key.alias("__key")).join(
            ledger_ids.with_columns(ledger_key.alias("__key")),
            on="__key",
            how="left",
            maintain_order="left",
        )

    joined = join(on_hash=True)
    collided = joined.height != people.height or bool(
        joined.select((pl.col(IDENTIFIER) != pl.col("__ledger_identifier")).any()).item()
    )
    if collided:
        # The ledger holds one row per person; should it not, the last row is the latest.
        ledger_ids = ledger_ids.unique("__ledger_identifier", keep="last", maintain_order=True)
        joined = join(on_hash=False)
    return joined.get_column("__ledger_row")


def _compare(
    current: pl.DataFrame,
    accepted: pl.DataFrame,
    identifier_column: str,
    names: list[str],
    figures: DiffFigures,
) -> pl.DataFrame:
    """Per person of ``current``: identifier, row, whether new, and per attribute whether to send
    it. Counts the cleared values and the full-resend data points on the way."""
    schema = current.schema
    people = current.select(pl.col(identifier_column).cast(pl.String).alias(IDENTIFIER))
    ledger_rows = _ledger_rows(people, accepted)
    is_new = (
        ledger_rows.is_null()
        if ledger_rows is not None
        else pl.repeat(True, current.height, eager=True)
    )
    aligned = None
    if ledger_rows is not None and ledger_rows.null_count() == 0 and ledger_rows.is_sorted():
        first, last = ledger_rows[0], ledger_rows[-1]
        if last - first + 1 == current.height:
            aligned = accepted.slice(first, current.height)
    billable = set(_billable(names))
    keyed = {a for a in names if nested_values.key_column(a) in accepted.columns}
    cleared = full = 0
    sends: list[pl.DataFrame] = []
    for start in range(0, len(names), COMPARE_GROUP):
        group = names[start : start + COMPARE_GROUP]
        compared = [a for a in group if ledger_rows is not None and a in accepted.columns]
        frame = pl.concat(
            [current.select(group), _previous(accepted, compared, aligned, ledger_rows, keyed)],
            how="horizontal",
        )
        flags = frame.select(
            *[
                _send_expr(a, schema[a], a in compared, aligned is not None, a in keyed).alias(
                    _send(a)
                )
                for a in group
            ],
            *[has_value_expr(a, schema[a]).alias(f"{a}__has") for a in group],
        )
        for a in compared:
            ledger = aligned if aligned is not None else accepted
            at = None if aligned is not None else ledger_rows
            if _is_list(schema[a]):
                flags = _unflag_where(flags, current, a, schema[a], ledger[a], at, _same_set())
            elif a in keyed:  # keys differ: is the canonical text the ledger's after all?
                same_text = pl.col("__now") == pl.col("__before")
                flags = _unflag_where(flags, current, a, schema[a], ledger[a], at, same_text)
        counts = flags.select(
            cleared=pl.sum_horizontal(
                (pl.col(_send(a)) & ~pl.col(f"{a}__has")).sum() for a in group
            ),
            full=pl.sum_horizontal(
                [pl.col(f"{a}__has").sum() for a in group if a in billable] or [pl.lit(0)]
            ),
        ).row(0, named=True)
        cleared += int(counts["cleared"])
        full += int(counts["full"])
        sends.append(flags.select(_send(a) for a in group))
        del frame, flags
    figures.cleared = cleared
    figures.full_resend_data_points = full
    return pl.concat(
        [people.with_row_index(_ROW), pl.DataFrame(is_new.alias(IS_NEW)), *sends],
        how="horizontal",
    )


def _previous(
    accepted: pl.DataFrame,
    names: list[str],
    aligned: pl.DataFrame | None,
    ledger_rows: pl.Series | None,
    keyed: set[str] = frozenset(),
) -> pl.DataFrame:
    """The ledger's value of each attribute for each person of the current table, as
    ``<name>__before`` (for a nested attribute in ``keyed``, its comparison key).

    When the ledger lists everyone in the current table's order (``aligned``), that is its
    canonical text, compared exactly. Otherwise it is the text's 64-bit hash, gathered into the
    current table's order: gathered text would make every comparison read memory at random,
    while hashes are computed in the ledger's order and gathered as plain numbers. A collision,
    about 1 in 10^19 per value, would skip one change. A person the ledger does not know gets
    the hash of no value, so whatever value they have is sent.
    """
    text = [
        pl.col(nested_values.key_column(a) if a in keyed else a)
        .cast(pl.String)
        .alias(f"{a}__before")
        for a in names
    ]
    if aligned is not None:
        return aligned.select(text)
    no_value = pl.lit(None, pl.String).hash()
    # One chunk first: gathering at random from several chunks is many times slower.
    return (
        accepted.select(t.hash() for t in text)
        .rechunk()
        .select(pl.all().gather(ledger_rows).fill_null(no_value))
    )


def _send_expr(
    name: str, dtype: pl.DataType, compared: bool, aligned: bool, keyed: bool = False
) -> pl.Expr:
    """Whether to send an attribute: its canonical text differs from the ledger's (see
    ``_previous``), or for a ``keyed`` nested attribute its comparison key (the texts are
    then compared where the keys differ); a person or attribute the ledger does not know sends any value."""
    if not compared:
        return has_value_expr(name, dtype)
    now = nested_values.value_key(pl.col(name), dtype) if keyed else canonical_expr(name, dtype)
    if aligned:
        differs = now.ne_missing(pl.col(f"{name}__before"))
    else:
        differs = now.hash() != pl.col(f"{name}__before")
    if subscription_groups.is_state_column(name):
        # A group gone from our data is not unset: Braze keeps the state it holds.
        return differs & has_value_expr(name, dtype)
    return differs


def _same_set() -> pl.Expr:
    """A list whose text differs only by order or duplicates is not a change (arrays are sets
    in Braze): for ``_unflag_where``, checked only on the few rows whose text differs."""
    as_list = pl.List(pl.String)
    return pl.col("__before").is_not_null() & (
        pl.col("__now")
        .str.json_decode(as_list)
        .list.set_symmetric_difference(pl.col("__before").str.json_decode(as_list))
        .list.len()
        == 0
    )


def _unflag_where(
    flags: pl.DataFrame,
    current: pl.DataFrame,
    name: str,
    dtype: pl.DataType,
    ledger: pl.Series,
    ledger_rows: pl.Series | None,
    same: pl.Expr,
) -> pl.DataFrame:
    """The flags with ``name`` no longer sent where ``same`` holds of today's canonical text
    (``__now``) and the ledger's (``__before``), judged only on the rows sending a value.
    ``ledger`` holds the ledger's texts, at ``ledger_rows`` (or in the current table's order)."""
    rows = flags.select(
        pl.arg_where(pl.col(_send(name)) & pl.col(f"{name}__has")).alias("__i")
    ).to_series()
    if rows.len() == 0:
        return flags
    before = ledger.gather(ledger_rows.gather(rows) if ledger_rows is not None else rows)
    same_rows = (
        current.select(pl.col(name).gather(rows))
        .select(canonical_expr(name, dtype).alias("__now"))
        .with_columns(rows, before.cast(pl.String).alias("__before"))
        .filter(same)
        .get_column("__i")
    )
    if same_rows.len() == 0:
        return flags
    return flags.with_columns(
        pl.when(pl.int_range(pl.len(), dtype=pl.UInt32).is_in(same_rows.implode()))
        .then(False)
        .otherwise(pl.col(_send(name)))
        .alias(_send(name))
    )


def _number_patterns(to_send: pl.DataFrame, names: list[str]) -> tuple[pl.DataFrame, pl.Series]:
    """The plan (people to send, with their pattern number and data points) and the field list
    of each pattern. People share a few hundred sets of sent attributes, so each set's fields
    and data points are worked out once, not once a person."""
    if to_send.height == 0:
        plan = to_send.with_columns(
            pl.lit(0, pl.UInt32).alias(_PATTERN), pl.lit(0, pl.Int64).alias(DATA_POINTS)
        )
        return plan, pl.Series(FIELDS, [], dtype=pl.List(pl.String))
    billable = _billable(names)
    words = [names[i : i + _MASK_BITS] for i in range(0, len(names), _MASK_BITS)]
    masks = [f"__mask{w}" for w in range(len(words))]
    keyed = to_send.with_columns(
        pl.sum_horizontal(
            pl.col(_send(a)).cast(pl.UInt64) * pl.lit(1 << bit, pl.UInt64)
            for bit, a in enumerate(word)
        ).alias(mask)
        for mask, word in zip(masks, words, strict=True)
    )
    patterns = (
        keyed.select(*masks, *[_send(a) for a in names])
        .unique(subset=masks, keep="first", maintain_order=True)
        .with_row_index(_PATTERN)
        .with_columns(
            (
                pl.sum_horizontal(pl.col(_send(a)).cast(pl.Int64) for a in billable)
                if billable
                else pl.lit(0, pl.Int64)
            ).alias(DATA_POINTS)
        )
    )
    position = {a: i for i, a in enumerate(names)}
    # The log names the field sent: subscription_groups, once, whichever groups it lists.
    groups = {
        a: subscription_groups.GROUPS_FIELD for a in names if subscription_groups.is_state_column(a)
    }
    lists = (
        patterns.select(_PATTERN, *[pl.col(_send(a)).alias(a) for a in names])
        .unpivot(index=_PATTERN, on=names, variable_name="__field", value_name="__sent")
        .filter("__sent")
        .with_columns(
            pl.col("__field").replace_strict(position, return_dtype=pl.Int64).alias("__at")
        )
        .sort(_PATTERN, "__at")
        .group_by(_PATTERN, maintain_order=True)
        .agg(pl.col("__field").replace(groups).unique(maintain_order=True).alias(FIELDS))
    )
    fields_by_pattern = (
        patterns.select(_PATTERN)
        .join(lists, on=_PATTERN, how="left", maintain_order="left")
        .get_column(FIELDS)
    )
    plan = keyed.join(
        patterns.select(*masks, _PATTERN, DATA_POINTS), on=masks, how="left", maintain_order="left"
    )
    return plan.drop(masks), fields_by_pattern


def _hold_rejected(
    plan: pl.DataFrame, rejections: pl.DataFrame, renderer: _Renderer, figures: DiffFigures
) -> pl.DataFrame:
    """The plan without people whose exact object was rejected before (only their objects are
    rendered to find out). An update-only object is never held back: Braze refuses it while the
    person has no profile, and the app may create one at any time, so it is offered again."""
    held_back = rejections.filter(
        ~pl.col("object").str.contains(UPDATE_ONLY_MARK, literal=True).fill_null(False)
    )
    candidates = (
        plan.with_row_index("__plan_row")
        .join(
            held_back.select(
                pl.col(IDENTIFIER).cast(pl.String), pl.col("object").alias("__rejected_object")
            ),
            on=IDENTIFIER,
            how="inner",
        )
        .sort("__plan_row")
    )
    held_parts = []
    for start in range(0, candidates.height, RENDER_ROWS):
        part = candidates.slice(start, RENDER_ROWS)
        rendered = renderer.render(part)
        held_parts.append(
            part.filter(
                rendered.get_column(OBJECT) == part.get_column("__rejected_object")
            ).get_column("__plan_row")
        )
    held = pl.concat(held_parts).unique() if held_parts else pl.Series([], dtype=pl.UInt32)
    if held.len() == 0:
        return plan
    held_new = int(plan.get_column(IS_NEW).gather(held).sum())
    figures.held_rejected = held.len()
    figures.new -= held_new
    figures.changed -= held.len() - held_new
    return (
        plan.with_row_index("__plan_row")
        .filter(~pl.col("__plan_row").is_in(held.implode()))
        .drop("__plan_row")
    )


def _operations_column(name: str) -> str:
    return f"{name}__operations"


def _nested_operations(
    plan: pl.DataFrame, current: pl.DataFrame, accepted: pl.DataFrame, names: list[str]
) -> pl.DataFrame:
    """The plan with, per array of objects, the operations to send instead of the full list
    (``<name>__operations``; null: the full list) and ``MERGE_OBJECTS``. Worked out only for
    known people whose array changed: the ledger's text is joined for those few."""
    schema = current.schema
    arrays = [
        a for a in names if nested_values.is_array_of_objects(schema[a]) and a in accepted.columns
    ]
    if not arrays or plan.height == 0:
        return plan
    ledger = accepted.select(pl.col(IDENTIFIER).cast(pl.String), *arrays)
    plan = plan.with_row_index("__plan_row")
    for a in arrays:
        # An unconfirmed array goes whole: operations merge into what Braze may or may not hold.
        unsure = pl.col(_forced(a)) if _forced(a) in plan.columns else pl.lit(False)
        rows = plan.filter(~pl.col(IS_NEW) & pl.col(_send(a)) & ~unsure).select(
            "__plan_row", IDENTIFIER, _ROW
        )
        before = rows.join(
            ledger.select(IDENTIFIER, a), on=IDENTIFIER, how="left", maintain_order="left"
        )
        found = nested_values.array_operations(
            before.get_column(a), current.get_column(a).gather(rows.get_column(_ROW)), schema[a]
        )
        plan = plan.join(
            pl.concat([rows.select("__plan_row"), found], how="horizontal").rename(
                {"operations": _operations_column(a), "updates": f"{a}__updates"}
            ),
            on="__plan_row",
            how="left",
            maintain_order="left",
        )
    updates = pl.any_horizontal(pl.col(f"{a}__updates").fill_null(False) for a in arrays)
    objects = [pl.col(_send(a)) for a in names if nested_values.is_object(schema[a])]
    # "_merge_objects": true would merge the objects sent beside an $update, not replace them.
    conflict = updates & pl.any_horizontal(objects) if objects else pl.lit(False)
    plan = plan.with_columns(
        pl.when(conflict & pl.col(f"{a}__updates"))
        .then(None)
        .otherwise(pl.col(_operations_column(a)))
        .alias(_operations_column(a))
        for a in arrays
    ).with_columns((updates & ~conflict).alias(MERGE_OBJECTS))
    return plan.drop("__plan_row", *[f"{a}__updates" for a in arrays])


def _value_pieces(name: str, dtype: pl.DataType, escape: bool) -> list[str | pl.Expr]:
    """``,"name":<JSON value>`` for one attribute of the render frame, as literal text and
    expressions to concatenate; any expression is null where the attribute has no value."""
    key = "," + json.dumps(name) + ":"
    if dtype == pl.String:
        column = pl.col(name)
        if escape:
            return [key, pl.when(column.is_not_null()).then(_json_text(column))]
        return [key + '"', column, '"']
    # Dates and times: the key and quotes go into the format, so one strftime pass does it all.
    # UTC is formatted naive: the same digits without a time zone lookup per value.
    literal = (key + '"').replace("%", "%%")
    if dtype == pl.Date:
        return [pl.col(_raw(name)).dt.strftime(literal + '%Y-%m-%dT00:00:00.000Z"')]
    if isinstance(dtype, pl.Datetime):
        naive = _utc(pl.col(_raw(name)), dtype).dt.replace_time_zone(None)
        return [naive.dt.strftime(literal + '%Y-%m-%dT%H:%M:%S%.3fZ"')]
    # Numbers, booleans, arrays and objects: the canonical text is the JSON text.
    return [key, pl.col(name)]


def _merge_literals(pieces: list[str | pl.Expr]) -> list[str | pl.Expr]:
    merged: list[str | pl.Expr] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def _concat(pieces: list[str | pl.Expr], ignore_nulls: bool = False) -> pl.Expr:
    """Literal text and expressions concatenated; null where any expression is null, unless
    ``ignore_nulls``."""
    exprs = [pl.lit(p) if isinstance(p, str) else p for p in _merge_literals(pieces)]
    return exprs[0] if len(exprs) == 1 else pl.concat_str(exprs, ignore_nulls=ignore_nulls)


def _raw(name: str) -> str:
    return f"{name}__raw"


def _is_time(dtype: pl.DataType) -> bool:
    return dtype == pl.Date or isinstance(dtype, pl.Datetime)


def changes_schema(names: list[str]) -> dict[str, pl.DataType]:
    """The columns of ``AttributeDiff.changes`` for the attributes ``names``."""
    return {
        IDENTIFIER: pl.String,
        OBJECT: pl.String,
        FIELDS: pl.List(pl.String),
        DATA_POINTS: pl.Int64,
        IS_NEW: pl.Boolean,
        WRITTEN: pl.Struct({a: pl.String for a in names}),
    }


@dataclass(frozen=True)
class _Renderer:
    """Turns rows of the plan into changes: JSON objects, field lists and ledger values."""

    values: pl.DataFrame  # the current table's attribute columns (shares memory with it)
    names: list[str]
    fields_by_pattern: pl.Series
    identifier_type: str
    update_existing_only: bool
    alias_fallback: bool = False

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=changes_schema(self.names))

    def render(self, plan: pl.DataFrame) -> pl.DataFrame:
        if plan.height == 0:
            return self.empty()
        frame, masked = self._frame(plan)
        return pl.concat(
            [
                self._objects(frame, masked),
                plan.select(
                    self.fields_by_pattern.gather(plan.get_column(_PATTERN)).alias(FIELDS),
                    DATA_POINTS,
                    IS_NEW,
                ),
                frame.select(self._written(masked).alias(WRITTEN)),
            ],
            how="horizontal",
        )

    def segment(self, plan: pl.DataFrame) -> pl.DataFrame:
        """The ledger segment for rows of the plan, without rendering their objects."""
        if plan.height == 0:
            return self.empty().select(IDENTIFIER, WRITTEN).unnest(WRITTEN)
        frame, masked = self._frame(plan)
        return frame.select(IDENTIFIER, self._written(masked).alias(WRITTEN)).unnest(WRITTEN)

    def _frame(self, plan: pl.DataFrame) -> tuple[pl.DataFrame, set[str]]:
        """Identifier, send flags, canonical texts (and dates and times as they are) of the
        plan's rows; and the attributes whose send flags matter: they differ from "has a value"
        for someone (a known person's unchanged or cleared values). New people, all of a first
        sync, have none."""
        names, schema = self.names, self.values.schema
        rows = plan.get_column(_ROW)
        if rows.is_sorted() and rows[-1] - rows[0] + 1 == rows.len():
            values = self.values.slice(rows[0], rows.len())  # a first sync: no copy
        else:
            values = self.values.select(pl.all().gather(rows))
        frame = pl.concat(
            [
                plan.select(
                    IDENTIFIER,
                    *[_send(a) for a in names],
                    *[
                        c
                        for c in (*map(_operations_column, names), MERGE_OBJECTS)
                        if c in plan.columns
                    ],
                ),
                values.select(
                    *[canonical_expr(a, schema[a]).alias(a) for a in names],
                    *[
                        nested_values.value_key(pl.col(a), schema[a]).alias(
                            nested_values.key_column(a)
                        )
                        for a in names
                        if nested_values.is_nested(schema[a])
                    ],
                    *[pl.col(a).alias(_raw(a)) for a in names if _is_time(schema[a])],
                ),
            ],
            how="horizontal",
        )
        differs = frame.select(
            (pl.col(_send(a)) != pl.col(a).is_not_null()).any().alias(a) for a in names
        )
        return frame, {a for a, flag in differs.row(0, named=True).items() if flag}

    def _written(self, masked: set[str]) -> pl.Expr:
        """The ledger's values: each attribute's canonical text, and a nested one's key."""
        schema = self.values.schema
        columns = [
            (a, c)
            for a in self.names
            for c in (a, *[nested_values.key_column(a)] * nested_values.is_nested(schema[a]))
        ]
        return pl.struct(
            (
                pl.when(pl.col(_send(a))).then(pl.col(c).fill_null(pl.lit(CLEARED)))
                if a in masked
                else pl.col(c)
            ).alias(c)
            for a, c in columns
        )

    def _objects(self, frame: pl.DataFrame, masked: set[str]) -> pl.DataFrame:
        """Identifier and JSON object of each row of the render frame."""
        names, schema = self.names, self.values.schema
        texts = [IDENTIFIER, *[a for a in names if schema[a] == pl.String]]
        escape = frame.select(pl.col(a).str.contains_any(_ESCAPED).any() for a in texts)
        escape = escape.row(0, named=True)
        pieces = _identifier_pieces(self.identifier_type, self.alias_fallback, escape[IDENTIFIER])
        # One concatenation of everything, with no pass per attribute: the pieces of a value
        # someone lacks are null for them (its literal text too), and nulls are skipped.
        for a in names:
            if subscription_groups.is_state_column(a):
                continue  # one list for all groups, below
            value = _value_pieces(a, schema[a], escape.get(a, False))
            if _operations_column(a) in frame.columns:  # an array of objects' $remove/$update
                value = [value[0], pl.coalesce(pl.col(_operations_column(a)), pl.col(a))]
            if a in masked:
                null = pl.lit("," + json.dumps(a) + ":null")
                pieces.append(pl.when(pl.col(_send(a))).then(_concat(value).fill_null(null)))
            elif frame.get_column(a).null_count() == 0:
                pieces += value
            else:
                has = pl.col(a).is_not_null()
                pieces += [pl.when(has).then(pl.lit(v)) if isinstance(v, str) else v for v in value]
        if groups := [a for a in names if subscription_groups.is_state_column(a)]:
            pieces.append(_groups_piece(groups))
        if MERGE_OBJECTS in frame.columns:
            pieces.append(pl.when(pl.col(MERGE_OBJECTS)).then(pl.lit(',"_merge_objects":true')))
        pieces.append(
            _object_end(self.identifier_type, self.alias_fallback, self.update_existing_only)
        )
        # In groups, then the groups: concat_str slows down with many inputs, and the groups
        # are computed in parallel.
        merged = _merge_literals(pieces)
        groups = [merged[i : i + _CONCAT_GROUP] for i in range(0, len(merged), _CONCAT_GROUP)]
        parts = frame.select(
            IDENTIFIER,
            *[_concat(g, ignore_nulls=True).alias(f"__part{i}") for i, g in enumerate(groups)],
        )
        return parts.select(
            IDENTIFIER,
            pl.concat_str(
                [pl.col(f"__part{i}") for i in range(len(groups))], ignore_nulls=True
            ).alias(OBJECT),
        )


def _groups_piece(states: list[str]) -> pl.Expr:
    """``,"subscription_groups":[...]`` with the groups sent (null: none is)."""
    sent = [pl.col(_send(a)) & pl.col(a).is_not_null() for a in states]
    entries = [
        pl.when(s).then(subscription_groups.entry_json(a))
        for s, a in zip(sent, states, strict=True)
    ]
    listed = pl.concat_str(entries, separator=",", ignore_nulls=True)
    head = "," + json.dumps(subscription_groups.GROUPS_FIELD) + ":["
    return pl.when(pl.any_horizontal(sent)).then(pl.concat_str([pl.lit(head), listed, pl.lit("]")]))


def _identifier_pieces(identifier_type: str, alias_fallback: bool, escape: bool) -> list:
    """The opening of each object: its one identifier. The alias key is the user_alias object's
    JSON text itself; with ``alias_fallback`` a key in that form is an alias, else external_id."""
    alias = ['{"user_alias":', pl.col(IDENTIFIER)]
    if identifier_type == "user_alias":
        return alias
    head = "{" + json.dumps(identifier_type) + ":"
    own: list[str | pl.Expr] = (
        [head, _json_text(pl.col(IDENTIFIER))] if escape else [head + '"', pl.col(IDENTIFIER), '"']
    )
    if not alias_fallback:
        return own
    is_alias = pl.col(IDENTIFIER).str.starts_with(ALIAS_KEY_PREFIX)
    return [pl.when(is_alias).then(_concat(alias)).otherwise(_concat(own))]


def _object_end(identifier_type: str, alias_fallback: bool, update_existing_only: bool):
    """The close of each object. An alias object says ``_update_existing_only: false`` unless the
    destination only updates: for user_alias Braze defaults it to true and would create none."""
    if update_existing_only:
        return f",{UPDATE_ONLY_MARK}}}"
    creates = ',"_update_existing_only":false}'
    if identifier_type == "user_alias":
        return creates
    if alias_fallback:
        is_alias = pl.col(IDENTIFIER).str.starts_with(ALIAS_KEY_PREFIX)
        return pl.when(is_alias).then(pl.lit(creates)).otherwise(pl.lit("}"))
    return "}"
