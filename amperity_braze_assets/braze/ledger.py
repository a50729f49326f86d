"""The sync ledger: what Braze ACCEPTED, per person and attribute, and nothing else.

Layout (state tables through storage's ``TableStore`` protocol, so local or S3 alike; the
assets pass ``StateStore.tables()``), under ``braze/<ledger>/``:

- ``accepted.v1``: the compacted wide table: ``identifier`` plus one String column per
  attribute holding the canonical text (see ``diff.canonical_expr``) of the last value Braze
  accepted; null means Braze holds no value. A person is a row once any write was accepted.
- ``segments.v1/<sequence>``: one small file per group of accepted batches, written as soon as
  their answers arrive, so a crash, kill or timeout mid-sync loses nothing that was confirmed.
  Same columns as ``accepted.v1`` for the attributes written; null means *not written*, and
  ``CLEARED`` means *accepted as null*.
- ``gained.v1/<name>``: values a merge gave this ledger's people from a profile another ledger
  held (a sharded sync: the absorbed id lived in another shard). Folded in as Braze merges: they
  fill only the values a person lacks.
- ``rejections.v1`` and ``rejection_segments.v1/<sequence>``: objects Braze rejected, with the
  exact object sent and the reason; the diff holds them back until their data changes or a retry
  is asked for.
- ``unconfirmed.v1`` and ``unconfirmed_segments.v1/<sequence>``: the fields of objects whose
  outcome is unknown (the connection dropped after the client's last attempt: Braze may or may
  not hold the value), one row per person and field, ``unconfirmed`` false once Braze accepted
  that field again. The ledger keeps its old value for them; the diff sends every unconfirmed
  field again in full, whether or not it differs from the ledger.
- ``sync_log.v1/<run id>``: the per-row log of each run's sync of the ledger, and
  ``sync_log.v1/<run id>.<part>`` the log of another sync of it in the same run (a campaign's,
  ``<part>`` its job's name: ``campaign_winback``), so neither overwrites the other;
- ``sent_objects.v1/<run id>[.<part>]``: beside it, the JSON object each row sent (``identifier``,
  ``batch``, ``object``): the values themselves, personal data included, kept apart so that the
  log (and what shows it) holds only outcomes; the sync console reads both.

Compaction folds segments into the compacted tables (at run start and end). Applying a segment
twice is harmless (it sets values), so a crash between writing the compacted table and deleting
the segments only repeats work. One sync per ledger at a time: two at once would diff against
the same state and send the same changes twice, and one's compaction would delete segments the
other is folding. ``braze_sync`` holds the ledger's lease for the whole sync (``ledger_lock.py``)
and the run queue holds back a second run tagged with the ledger (``orchestration/jobs.py``).
Other shards' syncs write only ``gained.v1`` here, which is safe alongside this ledger's sync.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass

import polars as pl

from amperity_braze_assets.storage.state_tables import TableStore

IDENTIFIER = "identifier"
SYNC_LOGS = "sync_log.v1"
SENT_OBJECTS = "sent_objects.v1"
SENT_OBJECT = "object"  # the column of a sync log that holds the JSON object sent
CLEARED = "\x00"  # in segments: the attribute was accepted as null (unset)
REJECTION_SCHEMA = {
    IDENTIFIER: pl.String,
    "object": pl.String,
    "reason": pl.String,
    "run_id": pl.String,
    "rejected_at": pl.Datetime("us", "UTC"),
}
UNCONFIRMED_SCHEMA = {IDENTIFIER: pl.String, "field": pl.String, "unconfirmed": pl.Boolean}


@dataclass(frozen=True)
class LedgerView:
    accepted: pl.DataFrame  # identifier + attribute columns (String canonical)
    rejections: pl.DataFrame  # identifier, object, reason, run_id, rejected_at

    @property
    def known_profiles(self) -> int:
        return self.accepted.height


class Ledger:
    """One destination's ledger in the state tables."""

    def __init__(self, store: TableStore, name: str, log_part: str = ""):
        self.store = store
        self.name = name.strip("/")
        # Names this sync's run log apart from another sync of the ledger in the same run (a
        # campaign's beside the regular sync's): ``<run id>.<log_part>``.
        self.log_part = log_part
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._token = f"{time.time_ns():020d}"
        self._last_written = 0

    def _table(self, suffix: str) -> str:
        return f"braze/{self.name}/{suffix}"

    def _next_sequence(self) -> str:
        # Names sort in write order: the time of writing, then the ledger's opening and a
        # counter. Segments and gains (written by other shards' syncs) fold in that one order.
        with self._lock:
            # Never backwards within this ledger, even if the clock is stepped back.
            self._last_written = max(self._last_written + 1, time.time_ns())
            return f"{self._last_written:020d}-{self._token}-{next(self._counter):08d}"

    def _write_in_order(self, folder: str, frame: pl.DataFrame) -> str:
        """Write ``frame`` as the next table of ``folder``, named in write order."""
        name = self._table(f"{folder}/{self._next_sequence()}")
        self.store.write(name, frame)
        return name

    # -- writing, batch by batch -------------------------------------------------------------
    def record_accepted(self, segment: pl.DataFrame) -> str | None:
        """Persist accepted writes: ``identifier`` + attribute columns (null = not written,
        ``CLEARED`` = accepted as null). Returns the segment's name."""
        return self._write_in_order("segments.v1", segment) if segment.height else None

    def record_gained(self, rows: pl.DataFrame) -> str | None:
        """Persist values merges gave this ledger's people: ``identifier`` + attribute columns
        (null = nothing gained). Written by another shard's sync, possibly while this ledger's
        own sync runs: its own folder, named in the same write order as segments."""
        return self._write_in_order("gained.v1", rows) if rows.height else None

    def record_rejected(self, rows: pl.DataFrame) -> str | None:
        """Persist rejected objects: identifier, object (the JSON sent), reason, run_id."""
        if rows.height == 0:
            return None
        frame = rows.with_columns(rejected_at=pl.lit(_now(), pl.Datetime("us", "UTC"))).select(
            [pl.col(c).cast(t) for c, t in REJECTION_SCHEMA.items()]
        )
        return self._write_in_order("rejection_segments.v1", frame)

    def record_unconfirmed(self, rows: pl.DataFrame) -> str | None:
        """Persist fields sent with an unknown outcome (``unconfirmed`` true) or accepted since
        (false): identifier, field, unconfirmed."""
        if rows.height == 0:
            return None
        frame = rows.select([pl.col(c).cast(t) for c, t in UNCONFIRMED_SCHEMA.items()])
        return self._write_in_order("unconfirmed_segments.v1", frame)

    def unconfirmed_fields(self) -> pl.DataFrame:
        """The fields still unconfirmed, pending segments applied: identifier, field."""
        return self._fold_unconfirmed()[0].select(IDENTIFIER, "field")

    def write_sync_log(self, run_id: str, log: pl.DataFrame) -> str:
        """The run's log; an ``object`` column (what each row sent) goes to its own table.
        Named ``<run id>``, or ``<run id>.<log_part>`` for a second sync in the run."""
        name = _safe(f"{run_id}.{self.log_part}" if self.log_part else run_id)
        if SENT_OBJECT in log.columns:
            sent = log.select(IDENTIFIER, "batch", SENT_OBJECT)
            self.store.write(self._table(f"{SENT_OBJECTS}/{name}"), sent)
            log = log.drop(SENT_OBJECT)
        return self.store.write(self._table(f"{SYNC_LOGS}/{name}"), log)

    def read_sync_logs(self) -> pl.DataFrame | None:
        names = self.store.list(self._table(f"{SYNC_LOGS}/"))
        frames = [f for f in (self.store.read(n) for n in names) if f is not None]
        return pl.concat(frames, how="diagonal_relaxed") if frames else None

    def sync_log_names(self) -> list[str]:
        """Every run log this ledger holds, its shards' included (``<ledger>/shard-*``): the
        names ``read_sync_log`` takes."""
        return [n for n in self.store.list(self._table("")) if f"/{SYNC_LOGS}/" in n]

    def read_sync_log(self, name: str) -> pl.DataFrame | None:
        """One run's log (a name from ``sync_log_names``), with each row's ``object`` when the
        objects sent were kept."""
        log = self.store.read(name)
        sent = self.store.read(name.replace(f"/{SYNC_LOGS}/", f"/{SENT_OBJECTS}/"))
        if log is None or sent is None or log.height != sent.height:
            return log
        # Written together, row for row (``write_sync_log``).
        return log.with_columns(sent.get_column(SENT_OBJECT))

    # -- reading ------------------------------------------------------------------------------------
    def view(self) -> LedgerView:
        """The compacted tables with pending segments applied, in memory (nothing written)."""
        accepted, _ = self._fold_accepted()
        rejections, _ = self._fold_rejections()
        return LedgerView(accepted, rejections)

    def compact(self) -> LedgerView:
        """Fold every pending segment into the compacted tables, then delete the segments."""
        accepted, segment_names = self._fold_accepted()
        rejections, rejection_names = self._fold_rejections()
        self.store.remove_stale_temporaries(self._table(""))  # a killed run's half-written tables
        self._compact_unconfirmed()
        if segment_names or rejection_names:
            self.store.write(self._table("accepted.v1"), accepted)
            self.store.write(self._table("rejections.v1"), rejections)
            for name in [*segment_names, *rejection_names]:
                self.store.delete(name)
        return LedgerView(accepted, rejections)

    def replace(self, view: LedgerView) -> None:
        """Write whole compacted tables (after merges); callers compact first."""
        self.store.write(self._table("accepted.v1"), view.accepted)
        self.store.write(self._table("rejections.v1"), view.rejections)

    def _fold_accepted(self) -> tuple[pl.DataFrame, list[str]]:
        base = self.store.read(self._table("accepted.v1"))
        if base is None:
            base = pl.DataFrame(schema={IDENTIFIER: pl.String})
        names = self.store.list(self._table("segments.v1/"))
        gained_names = self.store.list(self._table("gained.v1/"))
        # In the order they were written (each name starts with its time): a value this
        # ledger's sync cleared after a merge stays cleared, one it cleared before is refilled.
        ordered = sorted(
            [(n.rsplit("/", 1)[1], False, n) for n in names]
            + [(n.rsplit("/", 1)[1], True, n) for n in gained_names]
        )
        for gained, run in itertools.groupby(ordered, key=lambda entry: entry[1]):
            frames = [f for f in (self.store.read(entry[2]) for entry in run) if f is not None]
            if frames:
                base = apply_gained(base, frames) if gained else apply_segments(base, frames)
        return base, [*names, *gained_names]

    def _compact_unconfirmed(self) -> None:
        unconfirmed, names = self._fold_unconfirmed()
        if names:
            self.store.write(self._table("unconfirmed.v1"), unconfirmed)
            for name in names:
                self.store.delete(name)

    def _fold_unconfirmed(self) -> tuple[pl.DataFrame, list[str]]:
        """The latest state of each (person, field), in write order; only unconfirmed kept."""
        base = self.store.read(self._table("unconfirmed.v1"))
        if base is None:
            base = pl.DataFrame(schema=UNCONFIRMED_SCHEMA)
        names = self.store.list(self._table("unconfirmed_segments.v1/"))
        frames = [f for f in (self.store.read(n) for n in sorted(names)) if f is not None]
        if not frames:
            return base, names
        latest = (
            pl.concat([base, *frames], how="vertical_relaxed")
            .unique([IDENTIFIER, "field"], keep="last", maintain_order=True)
            .filter("unconfirmed")
        )
        return latest, names

    def _fold_rejections(self) -> tuple[pl.DataFrame, list[str]]:
        base = self.store.read(self._table("rejections.v1"))
        if base is None:
            base = pl.DataFrame(schema=REJECTION_SCHEMA)
        names = self.store.list(self._table("rejection_segments.v1/"))
        frames = [f for f in (self.store.read(n) for n in names) if f is not None]
        combined = pl.concat([base, *frames], how="diagonal_relaxed") if frames else base
        # The latest rejection per person is the one that holds its data back. It holds back
        # only the exact object that was rejected, so a person accepted since is unaffected.
        latest = combined.unique(IDENTIFIER, keep="last", maintain_order=True)
        return latest, names


def apply_segments(base: pl.DataFrame, segments: list[pl.DataFrame]) -> pl.DataFrame:
    """Overlay segments (in order) on the compacted table: the latest write of each value wins.

    The compacted table keeps its row order and people new to it follow. Only the values a
    segment wrote are set, column by column, and the columns no segment wrote stay the base's
    own memory: at ten million people the table is gigabytes of string views, and a full join
    of base and segments held three copies of it.
    """
    stacked = pl.concat(
        [s.with_columns(_order=pl.lit(i, pl.Int64)) for i, s in enumerate(segments)],
        how="diagonal_relaxed",
    )
    attributes = [c for c in stacked.columns if c not in (IDENTIFIER, "_order")]
    stacked = stacked.with_columns(pl.col(c).cast(pl.String) for c in (IDENTIFIER, *attributes))
    if stacked[IDENTIFIER].is_duplicated().any():
        stacked = (
            stacked.sort("_order", maintain_order=True)
            .group_by(IDENTIFIER, maintain_order=True)
            .agg(pl.col(a).drop_nulls().last() for a in attributes)
        )
    stacked = stacked.select(IDENTIFIER, *attributes)
    missing = [a for a in attributes if a not in base.columns]
    base = base.with_columns(pl.lit(None, pl.String).alias(a) for a in missing).with_columns(
        pl.col(a).cast(pl.String) for a in attributes if base.schema.get(a) != pl.String
    )
    where = (
        stacked.select(IDENTIFIER)
        .with_row_index("__segment_row")
        .join(
            base.select(pl.col(IDENTIFIER).cast(pl.String)).with_row_index("__base_row"),
            on=IDENTIFIER,
            how="left",
            maintain_order="left",
        )
    )
    known = where.get_column("__base_row").is_not_null()
    updates = where.filter(known)
    written = stacked.gather(updates.get_column("__segment_row"))
    base_rows = updates.get_column("__base_row")
    columns = []
    for name in base.columns:
        column = base.get_column(name)
        if name in attributes:
            values = written.get_column(name)
            wrote = values.is_not_null()
            if wrote.any():
                # scatter copies the column: the caller's base is left as it was.
                column = column.clone().scatter(
                    base_rows.filter(wrote), _uncleared(values.filter(wrote))
                )
        columns.append(column)
    updated = pl.DataFrame(columns)
    # None known (a first sync): every segment row is new, taken as it is rather than gathered.
    added = (
        stacked.gather(where.filter(~known).get_column("__segment_row"))
        if updates.height
        else stacked
    )
    if added.height == 0:
        return updated
    added = pl.DataFrame(
        [
            added.get_column(c)
            if c == IDENTIFIER
            else _uncleared(added.get_column(c))
            if c in attributes
            else pl.repeat(None, added.height, dtype=pl.String, eager=True).alias(c)
            for c in base.columns
        ]
    ).cast(updated.schema)
    return pl.concat([updated, added])


def _uncleared(values: pl.Series) -> pl.Series:
    """Written values with ``CLEARED`` (accepted as null) as null."""
    cleared = values == CLEARED
    return values.set(cleared, None) if cleared.any() else values


def apply_gained(base: pl.DataFrame, gained: list[pl.DataFrame]) -> pl.DataFrame:
    """Values merges gave (``record_gained``) folded in the way Braze merges: a person keeps
    every value they hold and takes a gained one only where they hold none; a person the table
    does not know yet is added with what they gained."""
    stacked = pl.concat(gained, how="diagonal_relaxed")
    attributes = [c for c in stacked.columns if c != IDENTIFIER]
    stacked = (
        stacked.with_columns(pl.col(c).cast(pl.String) for c in (IDENTIFIER, *attributes))
        .group_by(IDENTIFIER, maintain_order=True)
        .agg(pl.col(a).drop_nulls().first() for a in attributes)
    )
    held = [a for a in attributes if a in base.columns]
    current = stacked.select(IDENTIFIER).join(
        base.select(pl.col(IDENTIFIER).cast(pl.String), *held).unique(IDENTIFIER, keep="last"),
        on=IDENTIFIER,
        how="left",
        maintain_order="left",
    )
    # As a segment: written only where the person holds no value (null = not written).
    segment = stacked.select(
        IDENTIFIER,
        *[
            pl.when(current.get_column(a).is_null()).then(pl.col(a)).alias(a)
            if a in held
            else pl.col(a)
            for a in attributes
        ],
    )
    return apply_segments(base, [segment])


def apply_merges(view: LedgerView, merges: pl.DataFrame) -> LedgerView:
    """What Braze holds after ``/users/merge``: the survivor keeps its values and gains the
    absorbed profile's values it lacked; the absorbed profile is gone."""
    if merges.height == 0 or view.accepted.height == 0:
        return view
    accepted = view.accepted
    attributes = [c for c in accepted.columns if c != IDENTIFIER]
    absorbed_rows = (
        accepted.join(
            merges.select(pl.col("absorbed").alias(IDENTIFIER), "survivor"), on=IDENTIFIER
        )
        .drop(IDENTIFIER)
        .rename({"survivor": IDENTIFIER})
    )
    absorbed_rows = absorbed_rows.group_by(IDENTIFIER, maintain_order=True).agg(
        pl.col(a).drop_nulls().first() for a in attributes
    )
    remaining = accepted.filter(~pl.col(IDENTIFIER).is_in(merges["absorbed"].implode()))
    joined = remaining.join(
        absorbed_rows, on=IDENTIFIER, how="full", coalesce=True, suffix="__absorbed"
    )
    merged = joined.select(
        IDENTIFIER, *[pl.coalesce(a, f"{a}__absorbed").alias(a) for a in attributes]
    )
    rejections = view.rejections.filter(~pl.col(IDENTIFIER).is_in(merges["absorbed"].implode()))
    return LedgerView(merged, rejections)


def _now():
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
