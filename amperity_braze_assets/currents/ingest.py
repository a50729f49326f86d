"""Appending a batch of Currents files to the event tables, exactly once.

Storage goes through the state tables (``storage/state_tables.py``: the ``TableStore``
protocol, local or S3 alike):

- ``currents/files.v1``: the ledger, one row per file ever handled (ingested or quarantined)
  with its batch. It is written last and is the commit point: a file in the ledger is never
  read again, and parts or ids written by a batch that crashed before committing are ignored.
- ``currents/<table>.v1/<batch_id>``: the rows a batch added to a table (one Parquet per batch:
  appends never rewrite earlier data).
- ``currents/<table>.v1/ids``: every event id in the table and its batch, so a duplicate that
  arrives runs later (at-least-once delivery) is dropped.
- ``currents/<table>.v1/compacted``: once ``COMPACT_PARTS`` batch parts of a table pile up,
  they are folded into this one part (with a ``batch_id`` column naming where each row came
  from) after the batch commits, their files deleted, and ``compacted_batches`` (the batches
  folded, so the next check reads a small table) rewritten last. Readers skip a batch part
  whose batch the compacted part holds, so a crash between the rewrite and the deletes reads
  nothing twice, and the next compaction deletes what it left.

A batch's id is derived from its keys, so retrying the same files overwrites the same parts
(a committed batch named again with new files gets a new id instead).

A file that cannot be decoded is quarantined with the reason, and the rest of the batch goes on.
Quarantine is not forever: a file that was half-written when it was read (a truncated Avro
container, an upload still in progress) is read again once it changes, i.e. once its size or
last-modified time differs from the ones recorded with the quarantine (``done_keys``). A file
whose bytes disagree with the size its listing gave is being written right now: it is left out of
the batch, not recorded at all, and picked up by a later batch (``IngestResult.deferred``).
Batches must run one at a time (the sensor waits for the previous run), since the ledger and
the id index are read, extended and replaced.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from amperity_braze_assets.currents.keys import try_parse_currents_key
from amperity_braze_assets.currents.reader import (
    EMPTY_EVENTS_SCHEMA,
    PROVENANCE_COLUMNS,
    QUARANTINE_SCHEMA,
    UTC_DATETIME,
    CurrentsBlob,
    read_currents_blobs,
    stack_by_name,
)
from amperity_braze_assets.currents.source import CurrentsObject, CurrentsSource
from amperity_braze_assets.currents.tables import (
    EVENT_TABLES,
    OTHER_EVENTS_TABLE,
    table_for_event_type,
)
from amperity_braze_assets.storage.state_tables import TableStore

log = logging.getLogger(__name__)

LEDGER_STATE = "currents/files.v1"
# Events in the ``date=`` folder of hour H were queued during H; one that happened more than
# this long before H was held back (an offline device) and counts as late.
LATE_AFTER = timedelta(hours=1)
LEDGER_SCHEMA = {
    "key": pl.String,
    "event_type": pl.String,
    "table": pl.String,
    "batch_id": pl.String,
    "arrived_at": UTC_DATETIME,
    "size": pl.Int64,
    "events": pl.Int64,
    "events_added": pl.Int64,
    "status": pl.String,
    "reason": pl.String,
    "processed_at": UTC_DATETIME,
}
OTHER_EVENTS_SCHEMA = {
    "id": pl.String,
    "event_type": pl.String,
    "time": UTC_DATETIME,
    "user_id": pl.String,
    "external_user_id": pl.String,
    "record": pl.String,
    "source_key": pl.String,
    "queued_hour": UTC_DATETIME,
    "arrived_at": UTC_DATETIME,
}
INGESTED, QUARANTINED = "ingested", "quarantined"
READ_THREADS = 8


# Batch parts of one table folded into its compacted part once this many are pending: an hourly
# sensor then reads a table in a few dozen files, not thousands.
COMPACT_PARTS = 32


@dataclass(frozen=True)
class TableFigures:
    """What one batch did to one table; the Dagster layer shows these as metadata."""

    table: str
    files: int
    events: int
    duplicates_dropped: int
    events_added: int
    late_events: int
    lag_p50_seconds: float | None
    lag_p95_seconds: float | None
    lag_max_seconds: float | None
    total_events: int
    added: pl.DataFrame


@dataclass(frozen=True)
class IngestResult:
    batch_id: str
    files_new: int
    files_already_done: int
    tables: dict[str, TableFigures]
    quarantined: pl.DataFrame
    total_quarantined: int
    # Keys left for a later batch: their content did not match their listing (still being written).
    deferred: tuple[str, ...] = ()


def part_state(table: str, batch_id: str) -> str:
    return f"currents/{table}.v1/{batch_id}"


def ids_state(table: str) -> str:
    return f"currents/{table}.v1/ids"


def compacted_state(table: str) -> str:
    return f"currents/{table}.v1/compacted"


def folded_state(table: str) -> str:
    """The batches the compacted part holds (a small table: checking whether to compact reads
    this, not the compacted part itself)."""
    return f"currents/{table}.v1/compacted_batches"


def batch_id_for(keys: Sequence[str], last_modified: datetime | None = None) -> str:
    """A stable name for a set of files: the newest arrival (for sorting) and a hash of the keys."""
    digest = hashlib.sha1("\n".join(sorted(keys)).encode()).hexdigest()[:12]
    stamp = (last_modified or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC)
    return f"{stamp:%Y%m%dT%H%M%SZ}-{digest}"


def read_ledger(store: TableStore) -> pl.DataFrame:
    ledger = store.read(LEDGER_STATE)
    return ledger if ledger is not None else pl.DataFrame(schema=LEDGER_SCHEMA)


def _latest_per_key(ledger: pl.DataFrame) -> pl.DataFrame:
    """The last ledger row of each key (a file quarantined, then re-read once complete, has two)."""
    return ledger.unique("key", keep="last", maintain_order=True)


def _quarantine_marks(ledger: pl.DataFrame) -> dict[str, tuple[int | None, datetime | None]]:
    """``key -> (size, arrived_at)`` recorded when each still-quarantined file was read."""
    latest = _latest_per_key(ledger).filter(pl.col("status") == QUARANTINED)
    return {k: (s, a) for k, s, a in latest.select("key", "size", "arrived_at").iter_rows()}


def _unchanged(mark: tuple[int | None, datetime | None], size: int, arrived: datetime | None):
    return mark == (size, arrived)


def done_keys(ledger: pl.DataFrame, objects: Sequence[CurrentsObject] | None = None) -> set[str]:
    """Keys never to read again: every ingested file, and every quarantined file that has not
    changed since (with ``objects``, the current listing, a quarantined file whose size or
    last-modified time changed is not done: the complete file landed)."""
    latest = _latest_per_key(ledger)
    done = set(latest["key"].to_list())
    if objects:
        marks = _quarantine_marks(ledger)
        done -= {
            o.key
            for o in objects
            if o.key in marks and not _unchanged(marks[o.key], o.size, o.last_modified)
        }
    return done


def pending_objects(source: CurrentsSource, ledger: pl.DataFrame) -> list[CurrentsObject]:
    """Currents files under the source not yet handled, oldest arrival first."""
    listing = source.list_objects()
    done = done_keys(ledger, listing)
    return sorted(
        (o for o in listing if o.key not in done and try_parse_currents_key(o.key) is not None),
        key=lambda o: (o.last_modified, o.key),
    )


def ingest_currents_batch(
    source: CurrentsSource,
    store: TableStore,
    keys: Sequence[str] | None = None,
    *,
    batch_id: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Read the given keys (None: every pending file) and append them to the tables."""
    ledger = read_ledger(store)
    fetched = _fetch_batch(source, ledger, keys)
    todo = fetched.todo
    batch_id = _batch_name(ledger, todo, fetched.newest, batch_id)
    now = now or datetime.now(UTC)

    committed = set(ledger["batch_id"].to_list())
    new_ledger_rows: list[pl.DataFrame] = []
    figures: dict[str, TableFigures] = {}
    quarantined: list[pl.DataFrame] = []
    for table, groups in _group_by_table(fetched.blobs).items():
        rows, table_figures, quarantine = _append_to_table(
            store, ledger, table, groups, batch_id, committed, now
        )
        figures[table] = table_figures
        new_ledger_rows.extend(rows)
        quarantined.append(quarantine)

    updated = pl.concat([ledger, *new_ledger_rows], how="vertical_relaxed")
    if todo:
        _commit(store, updated, figures)
    return IngestResult(
        batch_id=batch_id,
        files_new=len(todo),
        files_already_done=len(fetched.keys) - len(todo) - len(fetched.deferred),
        tables=figures,
        quarantined=pl.concat(quarantined),
        total_quarantined=_latest_per_key(updated).filter(pl.col("status") == QUARANTINED).height,
        deferred=fetched.deferred,
    )


@dataclass(frozen=True)
class _FetchedBatch:
    """The files a batch reads: the keys asked for, those to handle now (`todo`), their
    contents oldest arrival first, the newest arrival, and the keys left for a later batch."""

    keys: Sequence[str]
    todo: list[str]
    blobs: list[CurrentsBlob]
    newest: datetime | None
    deferred: tuple[str, ...]


def _fetch_batch(
    source: CurrentsSource, ledger: pl.DataFrame, keys: Sequence[str] | None
) -> _FetchedBatch:
    """Fetch the keys not yet done (None: every pending file); drop quarantined files that
    have not changed and files still being written."""
    marks = _quarantine_marks(ledger)
    listed_sizes: dict[str, int] = {}
    if keys is None:
        pending = pending_objects(source, ledger)
        listed_sizes = {o.key: o.size for o in pending}
        keys = [o.key for o in pending]
    # A quarantined key named again is fetched: it is skipped below if it has not changed.
    done = done_keys(ledger) - set(marks)
    todo = [k for k in dict.fromkeys(keys) if k not in done]
    # S3 GETs are latency-bound: a few in flight at once (boto3 clients are thread-safe).
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        fetched = list(pool.map(source.read_blob, todo))
    unchanged = {
        b.key
        for b in fetched
        if b.key in marks and _unchanged(marks[b.key], len(b.data), b.arrived_at)
    }
    # Bytes that disagree with the listing: the file is being written; leave it for later.
    deferred = tuple(
        b.key for b in fetched if b.key in listed_sizes and len(b.data) != listed_sizes[b.key]
    )
    skipped = unchanged | set(deferred)
    blobs = sorted(
        (b for b in fetched if b.key not in skipped),
        key=lambda b: (b.arrived_at or datetime.min.replace(tzinfo=UTC), b.key),
    )
    return _FetchedBatch(
        keys=keys,
        todo=[k for k in todo if k not in skipped],
        blobs=blobs,
        newest=max((b.arrived_at for b in blobs if b.arrived_at), default=None),
        deferred=deferred,
    )


def _batch_name(
    ledger: pl.DataFrame, todo: list[str], newest: datetime | None, batch_id: str | None
) -> str:
    """The given name, else one derived from the keys."""
    batch_id = batch_id or batch_id_for(todo, newest)
    if todo and batch_id in set(ledger["batch_id"].to_list()):
        # A committed batch named again with new work (a run re-executed after a quarantined
        # file landed): its parts and ids must not be overwritten, so it gets a name of its own.
        batch_id = batch_id_for([batch_id, *todo], newest)
    return batch_id


def _group_by_table(blobs: list[CurrentsBlob]) -> dict[str, dict[str, list[CurrentsBlob]]]:
    """Every event table (in EVENT_TABLES order), with its files per event type."""
    by_table: dict[str, dict[str, list[CurrentsBlob]]] = {t: {} for t in EVENT_TABLES}
    for blob in blobs:
        parsed = try_parse_currents_key(blob.key)
        event_type = parsed.event_type if parsed else ""
        by_table[table_for_event_type(event_type)].setdefault(event_type, []).append(blob)
    return by_table


def _append_to_table(
    store: TableStore,
    ledger: pl.DataFrame,
    table: str,
    groups: dict[str, list[CurrentsBlob]],
    batch_id: str,
    committed: set[str],
    now: datetime,
) -> tuple[list[pl.DataFrame], TableFigures, pl.DataFrame]:
    """Write the batch's new events of one table (its part and the id index); return its
    ledger rows (not yet written: the ledger is the commit point), figures and quarantine."""
    events, quarantine, files, read, in_batch_dupes = _read_groups(
        groups, other=table == OTHER_EVENTS_TABLE
    )
    added = events
    if events.height:  # a table this batch does not touch costs no reads
        index = _committed_ids(store, table, committed, batch_id)
        added = events.filter(~pl.col("id").is_in(index["id"].implode()))
    if added.height:
        store.write(part_state(table, batch_id), added)
        store.write(
            ids_state(table),
            pl.concat([index, added.select("id", pl.lit(batch_id).alias("batch_id"))]),
        )
    quarantined_keys = set(quarantine["key"].to_list())
    rows = [
        _ledger_rows(table, batch_id, groups, events, added, quarantined_keys, now),
        _quarantine_ledger_rows(table, batch_id, quarantine, now),
    ]
    earlier_total = ledger.filter(pl.col("table") == table)["events_added"].sum()
    figures = _figures(
        table, files, read, in_batch_dupes + events.height - added.height, added, earlier_total
    )
    return rows, figures, quarantine


def _commit(store: TableStore, updated: pl.DataFrame, figures: dict[str, TableFigures]) -> None:
    """Write the ledger (the commit point), then compact the tables the batch added to."""
    store.write(LEDGER_STATE, updated)
    for table in EVENT_TABLES:
        if figures[table].events_added:
            try:
                compact_currents_table(store, table, updated)
            except Exception as exc:  # only an optimisation: the batch is committed
                log.warning("Compacting %s failed (%s); its parts stay as they are", table, exc)


def _committed_batches(ledger: pl.DataFrame, table: str) -> list[str]:
    """The committed batches that added rows to ``table``, oldest first."""
    return (
        ledger.filter((pl.col("table") == table) & (pl.col("events_added") > 0))["batch_id"]
        .unique()
        .sort()
        .to_list()
    )


def _compacted(store: TableStore, table: str) -> tuple[pl.DataFrame | None, set[str]]:
    compacted = store.read(compacted_state(table))
    if compacted is None:
        return None, set()
    return compacted, set(compacted["batch_id"].unique().to_list())


def _listed_folded(store: TableStore, table: str) -> set[str]:
    """The batches on the folded list: folded into the compacted part, their parts deleted."""
    listed = store.read(folded_state(table))
    return set(listed["batch_id"].to_list()) if listed is not None else set()


def read_currents_table(store: TableStore, table: str) -> pl.DataFrame:
    """Every committed row of an event table: the compacted part, then the batch parts it does
    not hold, oldest batch first.

    The batch parts are read before the compacted part: if a compaction lands in between, the
    parts it folded are read twice and dropped here since the compacted part holds their batch;
    read the other way round, parts folded and deleted in between would be missed."""
    # Batches on the folded list were deleted after being folded: not asked for one by one.
    listed = _listed_folded(store, table)
    batches = [b for b in _committed_batches(read_ledger(store), table) if b not in listed]
    parts = {b: part for b in batches if (part := store.read(part_state(table, b))) is not None}
    compacted, folded = _compacted(store, table)
    stacked = [compacted.drop("batch_id")] if compacted is not None and compacted.height else []
    stacked += [part for b, part in parts.items() if b not in folded]
    if not stacked:
        return pl.DataFrame(
            schema=OTHER_EVENTS_SCHEMA if table == OTHER_EVENTS_TABLE else EMPTY_EVENTS_SCHEMA
        )
    # A field that changed type between batches is text in the stacked table, as within one.
    return stack_by_name(stacked)


def compact_currents_table(
    store: TableStore,
    table: str,
    ledger: pl.DataFrame | None = None,
    min_parts: int | None = None,
) -> int:
    """Fold a table's committed batch parts into its compacted part once ``min_parts``
    (default ``COMPACT_PARTS``) are pending; returns how many were folded. The rewrite is the
    commit point; the parts are deleted after it (a store without ``delete`` keeps them, and
    readers skip them; a later compaction deletes them)."""
    ledger = read_ledger(store) if ledger is None else ledger
    batches = _committed_batches(ledger, table)
    listed_folded = _listed_folded(store, table)
    if len([b for b in batches if b not in listed_folded]) < (
        COMPACT_PARTS if min_parts is None else min_parts
    ):
        return 0
    compacted, folded = _compacted(store, table)  # the truth; the list may trail it by a crash
    pending = [b for b in batches if b not in folded]
    parts = [
        part.with_columns(batch_id=pl.lit(b, pl.String))
        for b in pending
        if (part := store.read(part_state(table, b))) is not None
    ]
    if parts:
        tables = [p for p in (compacted, *parts) if p is not None]
        store.write(compacted_state(table), stack_by_name(tables))
    folded_now = folded | set(pending)
    # Deleted before the list is rewritten: parts a crash left behind stay off the list, so the
    # next compaction deletes them.
    delete = getattr(store, "delete", None)
    if delete is not None:
        for b in sorted(folded_now - listed_folded):
            delete(part_state(table, b))
        store.write(
            folded_state(table),
            pl.DataFrame({"batch_id": sorted(folded_now)}, schema={"batch_id": pl.String}),
        )
    return len(parts)


def quarantine_table(store: TableStore) -> pl.DataFrame:
    """Every file still quarantined (not read since, complete), with its key and why."""
    return (
        _latest_per_key(read_ledger(store))
        .filter(pl.col("status") == QUARANTINED)
        .select("key", "event_type", "reason", "size", "arrived_at", "batch_id", "processed_at")
    )


# -- plumbing -------------------------------------------------------------------------------


def _read_groups(
    groups: dict[str, list[CurrentsBlob]], other: bool
) -> tuple[pl.DataFrame, pl.DataFrame, int, int, int]:
    """Read each event type on its own (its fields are its own), then stack the table."""
    frames, quarantines = [], []
    files = read = dupes = 0
    for blobs in groups.values():
        result = read_currents_blobs(blobs)
        events = _as_other_events(result.events) if other else result.events
        frames.append(events)
        quarantines.append(result.quarantine)
        files, read, dupes = (
            files + result.files_read,
            read + result.events_read,
            dupes + result.duplicates_dropped,
        )
    empty = OTHER_EVENTS_SCHEMA if other else EMPTY_EVENTS_SCHEMA
    events = stack_by_name(frames) if frames else pl.DataFrame(schema=empty)
    if len(frames) > 1:  # ids are unique across types too; this only guards a Braze bug
        before = events.height
        events = events.filter(pl.col("id").is_first_distinct())
        dupes += before - events.height
    quarantine = pl.concat(quarantines) if quarantines else _empty_quarantine()
    return events, quarantine, files, read, dupes


def _as_other_events(events: pl.DataFrame) -> pl.DataFrame:
    """The generic shape: common columns plus the whole record as JSON (``time`` as Braze sent
    it, Unix seconds)."""
    fields = [c for c in events.columns if c != "event_type" and c not in PROVENANCE_COLUMNS]
    record = pl.struct(
        [pl.col("time").dt.epoch("s") if c == "time" else pl.col(c) for c in fields]
    ).struct.json_encode()
    columns = {name: pl.col(name) for name in events.columns}
    return events.select(
        [
            record.alias("record")
            if name == "record"
            else columns.get(name, pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in OTHER_EVENTS_SCHEMA.items()
        ]
    )


def _committed_ids(
    store: TableStore, table: str, committed: set[str], batch_id: str
) -> pl.DataFrame:
    index = store.read(ids_state(table))
    if index is None:
        return pl.DataFrame(schema={"id": pl.String, "batch_id": pl.String})
    # Rows of uncommitted batches (a crash before the ledger write) or of this very batch (a
    # retry) are not "seen before": dropping them keeps a retry from discarding its own events.
    return index.filter(
        pl.col("batch_id").is_in(pl.Series(sorted(committed), dtype=pl.String).implode())
        & (pl.col("batch_id") != batch_id)
    )


def _ledger_rows(
    table: str,
    batch_id: str,
    groups: dict[str, list[CurrentsBlob]],
    events: pl.DataFrame,
    added: pl.DataFrame,
    quarantined_keys: set[str],
    now: datetime,
) -> pl.DataFrame:
    read_counts = dict(events.group_by("source_key").len().iter_rows())
    added_counts = dict(added.group_by("source_key").len().iter_rows())
    rows = [
        {
            "key": blob.key,
            "event_type": event_type or None,
            "table": table,
            "batch_id": batch_id,
            "arrived_at": blob.arrived_at,
            "size": len(blob.data),
            "events": read_counts.get(blob.key, 0),
            "events_added": added_counts.get(blob.key, 0),
            "status": INGESTED,
            "reason": None,
            "processed_at": now,
        }
        for event_type, blobs in groups.items()
        for blob in blobs
        if blob.key not in quarantined_keys
    ]
    return pl.DataFrame(rows, schema=LEDGER_SCHEMA)


def _quarantine_ledger_rows(
    table: str, batch_id: str, quarantine: pl.DataFrame, now: datetime
) -> pl.DataFrame:
    return quarantine.select(
        "key",
        "event_type",
        pl.lit(table).alias("table"),
        pl.lit(batch_id).alias("batch_id"),
        "arrived_at",
        "size",
        pl.lit(0, pl.Int64).alias("events"),
        pl.lit(0, pl.Int64).alias("events_added"),
        pl.lit(QUARANTINED).alias("status"),
        "reason",
        pl.lit(now, UTC_DATETIME).alias("processed_at"),
    ).cast(LEDGER_SCHEMA)


def _empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _figures(
    table: str, files: int, read: int, duplicates: int, added: pl.DataFrame, earlier_total: int
) -> TableFigures:
    late = lag50 = lag95 = lagmax = None
    if added.height:
        late = added.filter(pl.col("time") < pl.col("queued_hour") - LATE_AFTER).height
        lag = added.select((pl.col("arrived_at") - pl.col("time")).dt.total_seconds().alias("lag"))[
            "lag"
        ].drop_nulls()
        if lag.len():
            lag50, lag95, lagmax = (
                float(lag.quantile(0.5)),
                float(lag.quantile(0.95)),
                float(lag.max()),
            )
    return TableFigures(
        table=table,
        files=files,
        events=read,
        duplicates_dropped=duplicates,
        events_added=added.height,
        late_events=late or 0,
        lag_p50_seconds=lag50,
        lag_p95_seconds=lag95,
        lag_max_seconds=lagmax,
        total_events=int(earlier_total or 0) + added.height,
        added=added,
    )
