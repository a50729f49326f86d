"""Merged customers: one row per ``amperity_id``, each field group chosen whole by survivorship.

A field group (name, email, phone, address, birthdate, gender) is taken *together* from one
winning record, never assembled column by column: a street from one source and a postal code from
another would be an address nobody lives at.

Among a person's records that hold a value for the group's key column(s), the winner is ranked by
the tie breakers in the configured order (default: source priority, then the most recent
``updated_at``, then the most frequent value of the group among the person's records) and finally
by ``source`` and ``record_id`` so that reruns on the same input choose the same record.

Names and places reach the 360 as written: where ``records`` has ``<column>_display`` beside a
group's column (``customer_records`` keeps given_name_display, city_display, ...), the winner is
chosen on the normalized values and the 360's column holds the winning record's value as
written (Søren, O'Connor, 王秀英), not the folded one the matcher compares (SOREN, OCONNOR).

Plain polars, no Dagster: the assets wrap these functions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from amperity_braze_assets.identity.coding import dictionary
from amperity_braze_assets.sources.tags import CUSTOMER_TAGS

SOURCE_PRIORITY = "source_priority"
MOST_RECENT = "most_recent"
MOST_FREQUENT = "most_frequent"
TIE_BREAKERS: tuple[str, ...] = (SOURCE_PRIORITY, MOST_RECENT, MOST_FREQUENT)

# updated_at is the clock of the "most recent" rule, not a value a person has.
SURVIVABLE_COLUMNS: frozenset[str] = frozenset(CUSTOMER_TAGS.values()) - {"updated_at"}

DEFAULT_FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("given_name", "surname", "full_name"),
    "email": ("email",),
    "phone": ("phone",),
    "address": ("address", "address2", "city", "state", "postal", "country"),
    "birthdate": ("birthdate",),
    "gender": ("gender",),
}

# A record competes for a group only if one of these is non-null. A city or country alone is not
# a mailing address, so the street line decides for "address"; any name part counts for "name".
# Groups not listed here use all of their columns.
DEFAULT_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("given_name", "surname", "full_name"),
    "address": ("address",),
}

RULES_KEYS: tuple[str, ...] = ("source_priority", "tie_breakers", "field_groups", "key_columns")

RECORD_KEY_COLUMNS: tuple[str, str] = ("source", "record_id")
# What the customer 360 and the transaction rollups read of identity_resolution.
IDENTITY_LINK_COLUMNS: tuple[str, str, str] = (*RECORD_KEY_COLUMNS, "amperity_id")


def _default_key_columns(field_groups: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The default keys of the groups whose columns still contain them."""
    return {
        group: keys
        for group, keys in DEFAULT_KEY_COLUMNS.items()
        if group in field_groups and set(keys) <= set(field_groups[group])
    }


@dataclass(frozen=True)
class SurvivorshipRules:
    """How the merged customer picks each field group's winning record.

    ``source_priority``: source names, earlier wins; sources not listed rank after all listed ones
    (and tie with each other, so the next tie breaker decides).
    ``field_groups``: group name -> the columns that survive together.
    ``tie_breakers``: order in which ``source_priority``, ``most_recent`` and ``most_frequent``
    are applied; a subset is allowed.
    ``key_columns``: group name -> columns of which at least one must be non-null for a record to
    compete for the group; ``None`` means the defaults (street line for address, any name part for
    name, every column for the other groups).
    """

    source_priority: tuple[str, ...] = ()
    field_groups: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_FIELD_GROUPS)
    )
    tie_breakers: tuple[str, ...] = TIE_BREAKERS
    key_columns: dict[str, tuple[str, ...]] | None = None

    def __post_init__(self) -> None:
        # Frozen: normalise through object.__setattr__ so callers may pass lists.
        object.__setattr__(self, "source_priority", tuple(self.source_priority))
        object.__setattr__(self, "tie_breakers", tuple(self.tie_breakers))
        object.__setattr__(
            self,
            "field_groups",
            {group: tuple(columns) for group, columns in self.field_groups.items()},
        )
        key_columns = (
            _default_key_columns(self.field_groups)
            if self.key_columns is None
            else {group: tuple(columns) for group, columns in self.key_columns.items()}
        )
        object.__setattr__(self, "key_columns", key_columns)
        _check_rules(
            self.source_priority,
            self.field_groups,
            self.tie_breakers,
            key_columns,
            where="SurvivorshipRules",
        )

    def keys_of(self, group: str) -> tuple[str, ...]:
        """The columns that make a record eligible for ``group``."""
        assert self.key_columns is not None  # set in __post_init__
        return self.key_columns.get(group, self.field_groups[group])


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def _listing(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def _check_rules(
    source_priority: tuple[str, ...],
    field_groups: Mapping[str, tuple[str, ...]],
    tie_breakers: tuple[str, ...],
    key_columns: Mapping[str, tuple[str, ...]],
    where: str,
) -> None:
    """Consistency checks shared by the YAML parser and direct construction."""
    for position, source in enumerate(source_priority):
        if source in source_priority[:position]:
            raise ValueError(
                f"{where}: survivorship.source_priority lists source '{source}' twice; "
                "list each source once, highest priority first."
            )
    if not tie_breakers:
        raise ValueError(
            f"{where}: survivorship.tie_breakers is empty; name at least one of "
            f"{', '.join(TIE_BREAKERS)}, or leave the key out for the default order."
        )
    for position, tie_breaker in enumerate(tie_breakers):
        if tie_breaker not in TIE_BREAKERS:
            raise ValueError(
                f"{where}: survivorship.tie_breakers has unknown tie breaker '{tie_breaker}'."
                f"{_did_you_mean(tie_breaker, TIE_BREAKERS)} "
                f"Use any order of: {', '.join(TIE_BREAKERS)}."
            )
        if tie_breaker in tie_breakers[:position]:
            raise ValueError(
                f"{where}: survivorship.tie_breakers lists '{tie_breaker}' twice; "
                "name each tie breaker once."
            )
    if not field_groups:
        raise ValueError(
            f"{where}: survivorship.field_groups is empty; define at least one group, "
            "or leave the key out for the default groups."
        )
    group_of_column: dict[str, str] = {}
    for group, columns in field_groups.items():
        if not columns:
            raise ValueError(
                f"{where}: survivorship.field_groups.{group} has no columns; "
                "list its columns or remove the group."
            )
        for column in columns:
            if column not in SURVIVABLE_COLUMNS:
                raise ValueError(
                    f"{where}: survivorship.field_groups.{group} has unknown column '{column}'."
                    f"{_did_you_mean(column, SURVIVABLE_COLUMNS)} "
                    f"Known columns: {_listing(SURVIVABLE_COLUMNS)}."
                )
            if column in group_of_column:
                other = group_of_column[column]
                place = "twice" if other == group else f"and in group '{other}'"
                raise ValueError(
                    f"{where}: survivorship.field_groups.{group} lists column '{column}' {place}; "
                    "a column survives with exactly one group, so keep it in only one."
                )
            group_of_column[column] = group
    for group, keys in key_columns.items():
        if group not in field_groups:
            raise ValueError(
                f"{where}: survivorship.key_columns names unknown group '{group}'."
                f"{_did_you_mean(group, field_groups)} Known groups: {_listing(field_groups)}."
            )
        if not keys:
            raise ValueError(
                f"{where}: survivorship.key_columns.{group} is empty; list at least one of "
                f"its columns ({', '.join(field_groups[group])}) or remove the entry."
            )
        for key in keys:
            if key not in field_groups[group]:
                raise ValueError(
                    f"{where}: survivorship.key_columns.{group} has column '{key}', which is not "
                    f"in field group '{group}' ({', '.join(field_groups[group])}); "
                    "a key column must belong to its group."
                )


def _string_list(value: object, what: str, where: str) -> tuple[str, ...]:
    """A YAML list of strings; a bare string is refused because it is usually a missing dash."""
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}: {what} must be a list of names, e.g. [a, b]; got {value!r}.")
    return tuple(item.strip() for item in value)


def _column_name(name: str) -> str:
    # Configs may spell columns as tags (given-name) or as columns (given_name).
    return name.replace("-", "_")


def _group_mapping(value: object, what: str, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{where}: {what} must be a mapping of group name to a list of columns, "
            f"e.g. {{name: [given_name, surname]}}; got {value!r}."
        )
    groups: dict[str, tuple[str, ...]] = {}
    for group, columns in value.items():
        if not isinstance(group, str) or not group.strip():
            raise ValueError(f"{where}: {what} has a group without a name ({group!r}).")
        groups[group.strip()] = tuple(
            _column_name(column) for column in _string_list(columns, f"{what}.{group}", where)
        )
    return groups


def parse_survivorship_rules(
    raw: Mapping[str, object] | None, known_sources: set[str], where: str
) -> SurvivorshipRules:
    """Validate the YAML ``survivorship`` mapping; ``where`` (the config file) heads every error.

    ``field_groups``, when given, replaces the default groups entirely (so a column can't land in
    two groups by accident); ``key_columns`` defaults per group as in :class:`SurvivorshipRules`.
    """
    if raw is None:
        return SurvivorshipRules()
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"{where}: survivorship must be a mapping with keys {', '.join(RULES_KEYS)}; "
            f"got {raw!r}."
        )
    for key in raw:
        if key not in RULES_KEYS:
            raise ValueError(
                f"{where}: survivorship has unknown key '{key}'.{_did_you_mean(str(key), RULES_KEYS)} "
                f"Allowed keys: {', '.join(RULES_KEYS)}."
            )

    source_priority: tuple[str, ...] = ()
    if raw.get("source_priority") is not None:
        source_priority = _string_list(
            raw["source_priority"], "survivorship.source_priority", where
        )
        for source in source_priority:
            if source not in known_sources:
                raise ValueError(
                    f"{where}: survivorship.source_priority names unknown source '{source}'."
                    f"{_did_you_mean(source, known_sources)} "
                    f"Known sources: {_listing(known_sources)}. "
                    "Fix the name or add a source config for it."
                )

    tie_breakers = TIE_BREAKERS
    if raw.get("tie_breakers") is not None:
        tie_breakers = _string_list(raw["tie_breakers"], "survivorship.tie_breakers", where)

    field_groups = dict(DEFAULT_FIELD_GROUPS)
    if raw.get("field_groups") is not None:
        field_groups = _group_mapping(raw["field_groups"], "survivorship.field_groups", where)

    key_columns = _default_key_columns(field_groups)
    if raw.get("key_columns") is not None:
        key_columns |= _group_mapping(raw["key_columns"], "survivorship.key_columns", where)

    # Check here, with `where`, so the config author sees the file rather than the class name.
    _check_rules(source_priority, field_groups, tie_breakers, key_columns, where)
    return SurvivorshipRules(
        source_priority=source_priority,
        field_groups=field_groups,
        tie_breakers=tie_breakers,
        key_columns=key_columns,
    )


def require_columns(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} lacks column(s) {', '.join(missing)}; it has {', '.join(frame.columns)}."
        )


def _aligned(
    frame: pl.DataFrame, identity: pl.DataFrame, source_column: str, record_id_column: str
) -> bool:
    if frame.height != identity.height:
        return False
    pairs = ((source_column, "source"), (record_id_column, "record_id"))
    for mine, theirs in pairs:
        left, right = frame.get_column(mine), identity.get_column(theirs)
        if left.dtype != right.dtype or not left.equals(right):
            return False
    return True


def placing(rows: np.ndarray, size: int) -> pl.Series:
    """The gather index that puts row ``i`` of a frame at row ``rows[i]`` of a ``size``-row
    frame (``rows`` distinct); rows nothing lands on gather null."""
    at = np.full(size, -1, dtype=np.int64)
    at[rows] = np.arange(rows.size)
    return pl.Series(at).cast(pl.UInt32, strict=False)  # -1 becomes null


def link_to_identity(
    frame: pl.DataFrame,
    identity: pl.DataFrame,
    source_column: str,
    record_id_column: str,
    how: Literal["inner", "anti"] = "inner",
) -> pl.DataFrame:
    """``frame`` joined to ``identity`` on (source, record_id): ``how="inner"`` adds ``amperity_id``,
    ``how="anti"`` keeps the rows no identity row claims.

    Raises if identity assigns one record to two people, since every row of that record would
    otherwise be counted for both.
    """
    require_columns(identity, IDENTITY_LINK_COLUMNS, "identity")
    if how == "inner" and _aligned(frame, identity, source_column, record_id_column):
        # identity_resolution emits one row per record in its input's order, and the customer
        # 360 reads that same input: row i is record i, no join (and no double claim) possible.
        return frame.with_columns(identity.get_column("amperity_id"))
    keys = identity.select(*IDENTITY_LINK_COLUMNS)
    # identity_resolution lists each record once; only when a key repeats is it grouped, to
    # drop the repeats and find records claimed by two people (a duplicate check is a quarter
    # of the cost of that group-by).
    if keys.select(*RECORD_KEY_COLUMNS).is_duplicated().any():
        keys = keys.group_by(*RECORD_KEY_COLUMNS).agg(
            pl.col("amperity_id").first(),
            pl.col("amperity_id").n_unique().alias("_people"),
        )
        conflicts = keys.filter(pl.col("_people") > 1)
        if conflicts.height:
            example = conflicts.sort(*RECORD_KEY_COLUMNS).head(3).select(*RECORD_KEY_COLUMNS).rows()
            raise ValueError(
                f"identity maps {conflicts.height} record(s) to more than one amperity_id, "
                f"e.g. (source, record_id) {example}; each record must belong to exactly one "
                "person."
            )
        keys = keys.drop("_people")
    # Sources often type ids differently (int in one export, text in another): compare as text,
    # on temporary columns so the caller's columns keep their types.
    join_keys = ["_link_source", "_link_record_id"]
    keys = keys.select(
        pl.col("source").cast(pl.String).alias("_link_source"),
        pl.col("record_id").cast(pl.String).alias("_link_record_id"),
        "amperity_id",
    )
    frame = frame.with_columns(
        pl.col(source_column).cast(pl.String).alias("_link_source"),
        pl.col(record_id_column).cast(pl.String).alias("_link_record_id"),
    )
    return frame.join(keys, on=join_keys, how=how).drop(join_keys)


@dataclass
class _RuleOrder:
    """Every record once in the order the tie breakers rank them, computed once for all groups.

    ``rows``: per position, the record's row in ``linked``; ``person``: its ``_person``.
    With most_frequent among the rules (it depends on the group's values), ``tier`` numbers the
    runs of records the rules before it cannot tell apart and ``in_tier`` is the position within
    the run, which the rules after it decided.
    """

    rows: pl.Series
    person: pl.Series
    tier: pl.Series | None = None
    in_tier: pl.Series | None = None
    # Positions of the people with a run of two or more records: only there can the count
    # decide anything, so only their records are counted.
    counted: pl.Series | None = None


def _rule_order(linked: pl.DataFrame, rules: SurvivorshipRules, has_updated_at: bool) -> _RuleOrder:
    before: list[tuple[str, bool]] = []  # (column, larger is better), in the configured order
    after: list[tuple[str, bool]] = []
    frequency = False
    for tie_breaker in rules.tie_breakers:
        target = after if frequency else before
        if tie_breaker == SOURCE_PRIORITY:
            target.append(("_source_rank", False))
        elif tie_breaker == MOST_RECENT and has_updated_at:
            target.append(("updated_at", True))
        elif tie_breaker == MOST_FREQUENT:
            frequency = True
    after.append(("_record_order", False))  # (source, record_id): reruns pick the same one
    if not frequency:
        before, after = before + after, []
    keys = [("_person", False), *before, *after]
    ordered, prefix_shift = _sorted_by_rules(linked, keys, len(after) - 1 if frequency else 0)
    order = _RuleOrder(ordered.get_column("_row"), ordered.get_column("_person"))
    if frequency:
        if prefix_shift is not None:
            prefix = pl.col("_packed") // (1 << prefix_shift)
            starts = prefix.ne(prefix.shift(1)).fill_null(True)
        else:
            tier_columns = ["_person", *(c for c, _ in before)]
            starts = pl.any_horizontal(
                pl.col(c).ne_missing(pl.col(c).shift(1)) for c in tier_columns
            ).fill_null(True)
        position = pl.int_range(pl.len(), dtype=pl.UInt64)
        tiers = ordered.select(
            tier=starts.cum_sum().cast(pl.UInt64),
            in_tier=position - pl.when(starts).then(position).forward_fill(),
        )
        tied = (pl.col("in_tier") > 0) | (pl.col("in_tier").shift(-1) > 0).fill_null(False)
        tied_rows = tiers.select(tied).to_series().to_numpy()
        # Rows are in person order: "any tied row" per person is a reduce over each run.
        person = order.person.to_numpy()
        starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]]) if person.size else person
        per_person = np.logical_or.reduceat(tied_rows, starts) if person.size else tied_rows
        lengths = np.diff(np.r_[starts, person.size])
        counted = np.flatnonzero(np.repeat(per_person, lengths))
        order.tier, order.in_tier = tiers.get_column("tier"), tiers.get_column("in_tier")
        order.counted = pl.Series(counted.astype(np.uint32))
    return order


def _sorted_by_rules(
    linked: pl.DataFrame, keys: list[tuple[str, bool]], after_frequency: int
) -> tuple[pl.DataFrame, int | None]:
    """``linked``'s ``_row`` and key columns in rule order, and (when the keys fit one 64-bit
    integer) how many low bits of ``_packed`` the rules after most_frequent take.

    Nulls go last: max()/min() skip them, so an undated record wins only when the person has
    no dated one. Ties keep input order (only a record listed twice can tie on every key).
    """
    *leading, (last, _) = keys  # the last key is the record order: unique per record
    # Each leading key as a dense rank, best first, nulls after every value.
    ranks = linked.select(
        pl.col(column)
        .rank("dense", descending=larger)
        .cast(pl.UInt64)
        .fill_null(pl.col(column).rank("dense").max().cast(pl.UInt64).fill_null(0) + 1)
        .alias(column)
        for column, larger in leading
    )
    widths = [max(int(ranks.get_column(c).max() or 0).bit_length(), 1) for c, _ in leading]
    if sum(widths) > 64:
        # Too wide to pack: one multi-column sort (several times slower).
        ordered = linked.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"), *(c for c, _ in keys)
        ).sort(
            [c for c, _ in keys],
            descending=[larger for _, larger in keys],
            nulls_last=True,
            maintain_order=True,
        )
        return ordered, None
    packed = pl.lit(0, dtype=pl.UInt64)
    for (column, _), width in zip(leading, widths, strict=True):
        packed = packed * (1 << width) + pl.col(column)
    frame = ranks.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
        packed.alias("_packed"),
        pl.col("_person"),
    ).with_columns(linked.get_column(last).alias(last))
    # Least significant key first, then a stable sort on the packed rest: two one-column
    # sorts instead of one sort on four columns.
    ordered = frame.sort(last, maintain_order=True).sort("_packed", maintain_order=True)
    shift = sum(widths[len(widths) - after_frequency :]) if after_frequency else 0
    return ordered, shift


def _group_winners(
    linked: pl.DataFrame,
    order: _RuleOrder,
    group: str,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    shown: Mapping[str, str],
) -> pl.DataFrame:
    """Per person (``_person``): the group's columns from its winning record, and its source.

    Winners are chosen on integers only; the group's (text) columns are gathered once, for the
    winning rows, as written where ``shown`` names a display column for them. A key written
    in a script the matcher folds away (王秀英) still makes a record eligible."""
    eligible = linked.select(
        pl.any_horizontal(
            pl.col(c).is_not_null() for k in keys for c in (k, shown.get(k)) if c is not None
        )
    ).to_series()
    frame = pl.DataFrame(
        {"_row": order.rows, "_person": order.person, "_eligible": eligible.gather(order.rows)}
    )
    if order.tier is not None:
        # most_frequent: counted over the person's eligible records before any other rule
        # narrows them. Counting before the eligibility filter gives the same counts: a row
        # that is not eligible has null keys, so it never shares a value tuple with one that is.
        counts = pl.Series("_frequency", [], dtype=pl.UInt64).extend_constant(0, frame.height)
        if order.counted is not None and order.counted.len():
            of_tied = (
                linked.select("_person", *columns)
                .gather(order.rows.gather(order.counted))
                .select(pl.len().over("_person", *columns).cast(pl.UInt64))
                .to_series()
            )
            counts = counts.scatter(order.counted, of_tied)
        frame = frame.with_columns(_tier=order.tier, _in_tier=order.in_tier, _frequency=counts)
        if int(frame.get_column("_in_tier").max() or 0) < 1 << 16:
            # One 64-bit key: the tier, then more frequent first, then the later rules.
            cap = (1 << 16) - 1
            key = (
                pl.col("_tier") * (1 << 32)
                + (cap - pl.col("_frequency").clip(upper_bound=cap)) * (1 << 16)
                + pl.col("_in_tier")
            )
            frame = frame.filter("_eligible").sort(key)
        else:
            frame = frame.filter("_eligible").sort(
                ["_tier", "_frequency", "_in_tier"], descending=[False, True, False]
            )
    else:
        frame = frame.filter("_eligible")
    first_of_person = (pl.col("_person") != pl.col("_person").shift(1)).fill_null(True)
    winners = frame.filter(first_of_person).select("_person", "_row")
    values = linked.select(
        *(pl.col(shown.get(c, c)).alias(c) for c in columns),
        pl.col("source").alias(f"{group}_source"),
    ).gather(winners.get_column("_row"))
    return pl.concat([winners.select("_person"), values], how="horizontal")


def _person_numbers(amperity_ids: pl.Series) -> tuple[pl.Series, pl.Series]:
    """``_person`` per row: its id's rank (from 1) among the distinct ids in sorted order; and
    those distinct ids, sorted. Only the distinct ids are sorted (the costly string sort), once;
    every per-person table is then in output order by an integer sort."""
    coded = dictionary(amperity_ids)
    by_id = coded.values.arg_sort()
    ranks = np.empty(coded.values.len(), dtype=np.uint32)
    ranks[by_id.to_numpy()] = np.arange(1, coded.values.len() + 1)
    person = np.where(coded.codes >= 0, ranks[np.maximum(coded.codes, 0)], 0)
    return pl.Series("_person", person, dtype=pl.UInt32), coded.values.gather(by_id)


# A set of names kept as one Int64 bit mask holds at most this many (the sign bit stays clear).
MASK_NAMES = 62


def mask_of(column: str, names: pl.Series) -> pl.Expr:
    """Aggregation: the bit mask of the ``names`` (sorted, at most ``MASK_NAMES``) that a
    group's ``column`` holds; nulls add nothing. ``lists_of_masks`` reads it back."""
    return (
        pl.col(column)
        .replace_strict(
            {name: 1 << bit for bit, name in enumerate(names.to_list())},
            default=0,
            return_dtype=pl.Int64,
        )
        .fill_null(0)
        .bitwise_or()
    )


def lists_of_masks(masks: pl.Series, names: pl.Series) -> pl.Series:
    """Bit masks over ``names`` (sorted) as the sorted lists of the names they hold: a set of a
    few names per person kept as one integer, read back once per distinct mask (a sorted
    unique list per person costs seconds at millions of people)."""
    distinct = masks.unique().sort()
    lists = [
        [name for bit, name in enumerate(names.to_list()) if mask >> bit & 1]
        for mask in distinct.to_list()
    ]
    lookup = pl.DataFrame(
        {"_source_mask": distinct, "sources": pl.Series(lists, dtype=pl.List(pl.String))}
    )
    return (
        masks.to_frame("_source_mask")
        .join(lookup, on="_source_mask", how="left", maintain_order="left")
        .get_column("sources")
    )


def build_customer_360(
    records: pl.DataFrame, identity: pl.DataFrame, rules: SurvivorshipRules
) -> pl.DataFrame:
    """One row per ``amperity_id`` that has records, sorted by ``amperity_id``.

    Columns: ``amperity_id``; per field group with at least one column in ``records``, the present
    columns from the winning record (as written where ``records`` has ``<column>_display``) plus
    ``<group>_source``; ``source_count``, ``record_count``,
    ``sources`` (sorted, distinct); and, when ``records`` has ``updated_at``, ``first_seen_at``
    and ``last_updated_at`` (min and max of it). A person with no eligible record for a group gets
    nulls for it. Records absent from ``identity`` and identity rows without records are ignored.
    """
    require_columns(records, RECORD_KEY_COLUMNS, "records")
    has_updated_at = "updated_at" in records.columns
    present_groups = {
        group: tuple(column for column in columns if column in records.columns)
        for group, columns in rules.field_groups.items()
    }
    present_groups = {group: columns for group, columns in present_groups.items() if columns}

    value_columns = [column for columns in present_groups.values() for column in columns]
    shown = {c: display for c in value_columns if (display := f"{c}_display") in records.columns}
    linked = link_to_identity(
        records.select(
            *RECORD_KEY_COLUMNS,
            *value_columns,
            *shown.values(),
            *(["updated_at"] if has_updated_at else []),
        ),
        identity,
        "source",
        "record_id",
    )
    person, sorted_ids = _person_numbers(linked.get_column("amperity_id"))
    linked = linked.drop("amperity_id").with_columns(person)
    source_names = linked.get_column("source").unique().sort()
    people = sorted_ids.len()
    parts = max(1, min(-(-linked.height // PART_RECORDS), people))
    if parts == 1:
        return _people_part(
            linked, sorted_ids, rules, present_groups, shown, source_names, has_updated_at
        )
    # Whole people per part, by ranges of _person (amperity_id order), so the parts stack in
    # output order; one part's copy exists at a time.
    bounds = np.linspace(0, people, parts + 1).astype(np.int64)
    numbers = person.to_numpy()
    frames = []
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        # A ready mask: filtering by an expression held several gigabytes more at 10M records.
        in_part = pl.Series((numbers > low) & (numbers <= high))
        part = linked.filter(in_part).with_columns(pl.col("_person") - int(low))
        frames.append(
            _people_part(
                part,
                sorted_ids.slice(int(low), int(high - low)),
                rules,
                present_groups,
                shown,
                source_names,
                has_updated_at,
            )
        )
        del part
    return pl.concat(frames, how="vertical")


# The people are built in parts of about this many records (whole people, by amperity_id
# range): every sort, rank and gather of the survivorship rules then works on one part's
# arrays, which keeps the peak to a part's and the arrays nearer the processor's caches. The
# rules only ever compare records of one person, so parts give the same table.
PART_RECORDS = 2_000_000


def _people_part(
    linked: pl.DataFrame,
    sorted_ids: pl.Series,
    rules: SurvivorshipRules,
    present_groups: dict[str, tuple[str, ...]],
    shown: Mapping[str, str],
    source_names: pl.Series,
    has_updated_at: bool,
) -> pl.DataFrame:
    """The customer 360 rows of the people in ``linked`` (``_person`` numbered 1..n in the
    order of ``sorted_ids``, their amperity_ids)."""
    # Integer stand-ins make the per-group sorts and joins cheap: _person numbers the people,
    # _record_order like (source, record_id).
    # A multi-column sort on text is several times slower than two single-column ranks, hence the
    # composite integer (source rank in the high half, record_id rank in the low half).
    linked = linked.with_columns(
        (
            pl.col("source").rank("dense").cast(pl.UInt64) * (1 << 32)
            + pl.col("record_id").rank("dense").cast(pl.UInt64)
        ).alias("_record_order"),
        pl.col("source")
        .replace_strict(
            {source: rank for rank, source in enumerate(rules.source_priority)},
            default=len(rules.source_priority),
            return_dtype=pl.UInt32,
        )
        .alias("_source_rank"),
    )

    # A person's distinct sources as a bit mask (one bit per source, in name order), read back
    # as sorted lists once per distinct mask: a sorted unique list per person costs seconds.
    by_mask = source_names.len() <= MASK_NAMES
    summary_aggregations = [
        pl.len().cast(pl.Int64).alias("record_count"),
        (
            mask_of("source", source_names).alias("_source_mask")
            if by_mask
            else pl.col("source").unique().sort().alias("sources")
        ),
    ]
    if has_updated_at:
        summary_aggregations += [
            pl.col("updated_at").min().alias("first_seen_at"),
            pl.col("updated_at").max().alias("last_updated_at"),
        ]
    if not by_mask:
        summary_aggregations.append(
            pl.col("source").n_unique().cast(pl.Int64).alias("source_count")
        )
    # _person is a dense rank from 1 in amperity_id order, so sorted by it person p sits at row
    # p - 1 and the table is already in output order: each group's winners are placed by a
    # gather, not a join, and nothing is sorted by text again.
    customers = linked.group_by("_person").agg(*summary_aggregations).sort("_person")
    customers = customers.with_columns(sorted_ids.alias("amperity_id"))

    group_frames: list[pl.DataFrame] = []
    order = _rule_order(linked, rules, has_updated_at)
    for group, columns in present_groups.items():
        keys = tuple(key for key in rules.keys_of(group) if key in columns) or columns
        winners = _group_winners(linked, order, group, columns, keys, shown)
        rows = winners.get_column("_person").to_numpy().astype(np.int64) - 1
        group_frames.append(winners.drop("_person").gather(placing(rows, customers.height)))

    if by_mask:
        customers = customers.with_columns(
            lists_of_masks(customers.get_column("_source_mask"), source_names),
            pl.col("_source_mask").bitwise_count_ones().cast(pl.Int64).alias("source_count"),
        )
    summary_columns = ["source_count", "record_count", "sources"]
    if has_updated_at:
        summary_columns += ["first_seen_at", "last_updated_at"]
    return pl.concat(
        [customers.select("amperity_id"), *group_frames, customers.select(summary_columns)],
        how="horizontal",
    )
