"""The sync console's database: one SQLite file over what the project already writes.

Datasette serves it (``console/server.py``); this module only builds it, from:

- each destination's ledger: the run logs and the objects each row sent
  (``Ledger.sync_log_names`` / ``read_sync_log``);
- each dry run's log beside its request bodies
  (``<data dir>/braze/dry_run/<run id>/<destination>.log.parquet``, a campaign's in
  ``<run id>/<job>/``);
- the stored assets: ``braze_customer_attributes`` (the values now), ``identity_resolution``
  (the match evidence) and ``customer_records`` (the source records);
- Dagster's run records when the caller has them (a run that failed before its sync wrote a log
  shows only there).

Tables: ``sync_rows`` (per person, run and destination: outcome, reason, data points, fields and
the JSON values sent; full-text searchable through ``sync_rows_fts``), ``sync_figures`` (per run
and destination), ``dagster_runs``, the view ``syncs`` (each run with its status: dry run,
failed, warning or healthy, a one-line summary and its page), ``people`` (attribute values now,
as JSON), ``person_keys`` (external_id, email and phone to the person), ``source_records`` and
``match_evidence``.

A refresh loads each run log once (``loaded_logs`` remembers them) and replaces the tables of
what holds now, all in one SQLite transaction in WAL mode: a console reading the file sees the
previous state or the new one, never half of it, and keeps its open connection. (A temporary
file renamed into place would be atomic too, but a running console would go on reading the file
it had opened.)
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger
from amperity_braze_assets.braze.sync import DRY_RUN_LOG_SUFFIX, STARTED_AT
from amperity_braze_assets.storage.files import Storage
from amperity_braze_assets.storage.parquet_files import read_table

CONSOLE_DATABASE = "console"  # the file's stem is its name in the console's addresses
# Bumped when a table's layout changes: the file is then rebuilt from scratch.
LAYOUT_VERSION = 3
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DAGSTER_RUN_COLUMNS = {
    "run_id": pl.String,
    "job": pl.String,
    "dagster_status": pl.String,
    "started": pl.String,
    "ended": pl.String,
    "syncs": pl.Boolean,  # the run was meant to sync (a failed one shows among the syncs)
}


def console_path(data_dir: Path) -> Path:
    return data_dir / "console" / f"{CONSOLE_DATABASE}.db"


@dataclass(frozen=True)
class ConsoleInputs:
    """Where the console's data comes from."""

    ledgers: dict[str, Ledger]  # destination name -> its ledger
    assets: Storage  # the stored assets' Parquet files (``settings.storage_base``)
    dry_run_dir: Path  # ``<data dir>/braze/dry_run``
    base_url: str  # where the console serves: the run pages' links
    runs: pl.DataFrame | None = None  # Dagster's run records, ``DAGSTER_RUN_COLUMNS``


@dataclass(frozen=True)
class RefreshFigures:
    logs_loaded: int
    runs: int
    people: int
    source_records: int


def refresh_console(path: Path, inputs: ConsoleInputs) -> RefreshFigures:
    """Bring the console's database up to date with what the project wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # It holds names, emails, phones and values sent: readable by its owner only (SQLite gives
    # its -wal and -shm files the database's permissions).
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    with _connection(path) as conn:
        if conn.execute("PRAGMA user_version").fetchone()[0] != LAYOUT_VERSION:
            _drop_everything(conn)
        _run_script(conn, INCREMENTAL_TABLES)
        loaded = {name for (name,) in conn.execute("SELECT name FROM loaded_logs")}
        logs = 0
        for name, destination, rows in _new_logs(inputs, loaded):
            _append_rows(conn, rows, (*_run_of(name), destination))
            conn.execute("INSERT INTO loaded_logs VALUES (?)", (name,))
            logs += 1
        now = now_tables(inputs.assets)
        for table, frame in now.items():
            replace_table(conn, table, frame)
        replace_table(conn, "dagster_runs", _dagster_runs(inputs.runs))
        _run_script(conn, INDEXES)
        _run_script(conn, syncs_view(inputs.base_url))
        conn.execute(f"PRAGMA user_version = {LAYOUT_VERSION}")
        runs = conn.execute("SELECT count(*) FROM syncs").fetchone()[0]
    return RefreshFigures(logs, runs, now["people"].height, now["source_records"].height)


@contextlib.contextmanager
def _connection(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")  # readers go on reading while it is written
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Statements one by one, inside the refresh's transaction (``executescript`` would commit
    it first). The console's scripts hold no ``;`` but between statements."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _drop_everything(conn: sqlite3.Connection) -> None:
    kinds = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'table') "
        "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'sync_rows_fts_%'"
    ).fetchall()
    for kind, name in sorted(kinds, key=lambda entry: entry[0] != "view"):
        conn.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')


INCREMENTAL_TABLES = """
CREATE TABLE IF NOT EXISTS loaded_logs (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS sync_rows (
    run_id TEXT, destination TEXT, started TEXT, identifier TEXT, outcome TEXT, reason TEXT,
    data_points INTEGER, fields TEXT, object TEXT, batch INTEGER
);
CREATE VIRTUAL TABLE IF NOT EXISTS sync_rows_fts USING fts5(
    identifier, outcome, reason, object, content="sync_rows"
);
CREATE TABLE IF NOT EXISTS sync_figures (
    run_id TEXT, destination TEXT, started TEXT, dry_run INTEGER, sent INTEGER,
    accepted INTEGER, rejected INTEGER, unknown INTEGER, would_send INTEGER,
    data_points INTEGER, data_points_accepted INTEGER, top_reason TEXT,
    purchases INTEGER, purchases_accepted INTEGER, events INTEGER, events_accepted INTEGER,
    PRIMARY KEY (run_id, destination)
);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS sync_rows_identifier ON sync_rows (identifier);
CREATE INDEX IF NOT EXISTS sync_rows_run ON sync_rows (run_id, outcome);
CREATE INDEX IF NOT EXISTS person_keys_key ON person_keys (key);
CREATE INDEX IF NOT EXISTS source_records_person ON source_records (amperity_id);
CREATE INDEX IF NOT EXISTS match_evidence_person ON match_evidence (amperity_id);
CREATE INDEX IF NOT EXISTS people_external_id ON people (external_id);
"""


def syncs_view(base_url: str) -> str:
    """Each run and destination with its status and summary; a run that failed before its sync
    wrote a log is there too, from Dagster's records."""
    base = base_url.rstrip("/").replace("'", "''")
    return f"""
DROP VIEW IF EXISTS syncs;
CREATE VIEW syncs AS
SELECT coalesce(f.started, d.started) AS started, f.destination,
    CASE WHEN f.dry_run THEN 'dry run'
         WHEN d.dagster_status = 'FAILURE' OR (f.sent + f.purchases + f.events > 0
              AND f.accepted + f.purchases_accepted + f.events_accepted = 0) THEN 'failed'
         WHEN f.rejected + f.unknown > 0
              OR f.purchases + f.events > f.purchases_accepted + f.events_accepted
              THEN 'warning'
         ELSE 'healthy' END AS status,
    -- Profiles are the attribute objects, purchases and events are counted apart.
    CASE WHEN f.dry_run THEN printf(
            'Dry run: nothing was sent. Would send %,d profile%s (%,d data points).',
            f.would_send, iif(f.would_send = 1, '', 's'), f.data_points)
         ELSE printf('Sent %,d profile%s: accepted %,d, rejected %,d, outcome unknown %,d.',
            f.sent, iif(f.sent = 1, '', 's'), f.accepted, f.rejected, f.unknown) END
    || CASE WHEN f.purchases + f.events = 0 THEN ''
            WHEN f.dry_run THEN printf(' Would send %,d purchase%s and %,d event%s.',
                f.purchases, iif(f.purchases = 1, '', 's'), f.events, iif(f.events = 1, '', 's'))
            ELSE printf(' Purchases %,d (accepted %,d), events %,d (accepted %,d).',
                f.purchases, f.purchases_accepted, f.events, f.events_accepted) END
        AS summary,
    -- A dry run has no sent, accepted or rejected figures: it has what it would send.
    iif(f.dry_run, NULL, f.sent) AS sent, iif(f.dry_run, NULL, f.accepted) AS accepted,
    iif(f.dry_run, NULL, f.rejected) AS rejected, iif(f.dry_run, NULL, f.unknown) AS unknown,
    f.would_send, iif(f.dry_run, NULL, f.data_points) AS data_points,
    iif(f.dry_run, f.data_points, NULL) AS would_send_data_points,
    iif(f.dry_run, NULL, f.data_points_accepted) AS data_points_accepted, f.top_reason,
    f.purchases, iif(f.dry_run, NULL, f.purchases_accepted) AS purchases_accepted,
    f.events, iif(f.dry_run, NULL, f.events_accepted) AS events_accepted,
    '{base}/console/run?run_id=' || f.run_id AS run_page,
    '{base}/console/sync_rows?run_id=' || f.run_id AS rows_page,
    CASE WHEN f.rejected > 0
         THEN '{base}/console/sync_rows?outcome=rejected&run_id=' || f.run_id END
        AS rejected_rows_page,
    f.run_id, d.job, d.dagster_status
FROM sync_figures f LEFT JOIN dagster_runs d ON d.run_id = f.run_id
UNION ALL
SELECT d.started, NULL, 'failed',
    'The run failed before the sync wrote its log: see the run in Dagster.',
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    '{base}/console/run?run_id=' || d.run_id, NULL, NULL, d.run_id, d.job, d.dagster_status
FROM dagster_runs d
WHERE d.syncs AND d.dagster_status = 'FAILURE' AND d.run_id NOT IN (SELECT run_id FROM sync_figures);
"""


# -- run logs -------------------------------------------------------------------------------------
def _new_logs(inputs: ConsoleInputs, loaded: set[str]) -> Iterator[tuple[str, str, pl.DataFrame]]:
    """``(name, destination, sync rows)`` of every run log not loaded yet: the ledgers', then
    the dry runs'."""
    for destination, ledger in inputs.ledgers.items():
        for name in ledger.sync_log_names():
            if name not in loaded:
                log = ledger.read_sync_log(name)
                if log is not None:
                    yield name, destination, sync_rows(log, destination)
        # A campaign's dry run writes into its own folder of the run's (``<run id>/<job>/``),
        # a sharded one a folder per shard below it.
        dry_runs = sorted(inputs.dry_run_dir.glob(f"*/**/{destination}{DRY_RUN_LOG_SUFFIX}"))
        for path in dry_runs:
            name = f"dry_run/{path.relative_to(inputs.dry_run_dir).as_posix()}"
            if name not in loaded:
                yield name, destination, sync_rows(pl.read_parquet(path), destination)


def sync_rows(log: pl.DataFrame, destination: str) -> pl.DataFrame:
    """A run log as the console's rows. Logs written before the objects and start times were
    kept have neither: their values sent and start are empty."""

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name) if name in log.columns else pl.lit(None, dtype).alias(name)

    return log.select(
        pl.col("run_id").cast(pl.String),
        pl.lit(destination, pl.String).alias("destination"),
        column(STARTED_AT, pl.Datetime("us", "UTC")).dt.strftime(TIME_FORMAT).alias("started"),
        pl.col(IDENTIFIER).cast(pl.String),
        pl.col("outcome").cast(pl.String),
        pl.col("reason").cast(pl.String),
        pl.col("data_points").cast(pl.Int64),
        column("fields", pl.List(pl.String)).list.join(", ").alias("fields"),
        column("object", pl.String).alias("object"),
        column("batch", pl.Int64).cast(pl.Int64),
    )


def _run_of(name: str) -> tuple[str, bool]:
    """The run id a log's name holds (``.../sync_log.v1/<run id>``, a campaign's
    ``<run id>.<job>``, ``dry_run/<run id>/...``) and whether it is a dry run's."""
    parts = name.split("/")
    return (parts[1], True) if parts[0] == "dry_run" else (parts[-1].split(".")[0], False)


def sync_figures(rows: pl.DataFrame) -> pl.DataFrame:
    """Per run and destination: profiles (the attribute rows) sent = accepted + rejected +
    unknown, a dry run sending none and would send its rows; purchases and events (the rows
    whose fields say ``purchases:`` / ``events:``, braze/events.py) counted apart, sent or
    would send, and accepted; data points of all."""
    outcome = pl.col("outcome")
    sent = outcome != "dry_run"
    array = pl.col("fields").str.extract(r"^(purchases|events):", 1)
    profile = array.is_null()
    return rows.group_by("run_id", "destination", maintain_order=True).agg(
        pl.col("started").min(),
        (outcome == "dry_run").any().cast(pl.Int64).alias("dry_run"),
        (sent & profile).sum().cast(pl.Int64).alias("sent"),
        ((outcome == "accepted") & profile).sum().cast(pl.Int64).alias("accepted"),
        ((outcome == "rejected") & profile).sum().cast(pl.Int64).alias("rejected"),
        ((outcome == "unknown") & profile).sum().cast(pl.Int64).alias("unknown"),
        (~sent & profile).sum().cast(pl.Int64).alias("would_send"),
        pl.col("data_points").sum().cast(pl.Int64),
        pl.col("data_points")
        .filter(outcome == "accepted")
        .sum()
        .cast(pl.Int64)
        .alias("data_points_accepted"),
        pl.col("reason").drop_nulls().mode().sort().first().alias("top_reason"),
        *[
            count
            for name in ("purchases", "events")
            for count in (
                (array == name).sum().cast(pl.Int64).alias(name),
                ((array == name) & (outcome == "accepted"))
                .sum()
                .cast(pl.Int64)
                .alias(f"{name}_accepted"),
            )
        ],
    )


def _append_rows(conn: sqlite3.Connection, rows: pl.DataFrame, run: tuple[str, bool, str]) -> None:
    """A run log's rows, and its figures added to the run's (a run with nothing to send shows
    with its figures zero)."""
    last = conn.execute("SELECT coalesce(max(rowid), 0) FROM sync_rows").fetchone()[0]
    _insert(conn, "sync_rows", rows)
    conn.execute(
        "INSERT INTO sync_rows_fts (rowid, identifier, outcome, reason, object) "
        "SELECT rowid, identifier, outcome, reason, object FROM sync_rows WHERE rowid > ?",
        (last,),
    )
    figures = sync_figures(rows)
    if rows.height == 0:
        run_id, dry_run, destination = run
        zero = {"run_id": run_id, "destination": destination, "dry_run": dry_run}
        # No row, no start time: null (the view then shows Dagster's start of the run).
        figures = (
            pl.DataFrame([zero])
            .select(pl.col(c) if c in zero else pl.lit(0).alias(c) for c in figures.columns)
            .cast(figures.schema)
            .with_columns(started=pl.lit(None, pl.String), top_reason=pl.lit(None, pl.String))
        )
    # A run split over several logs (its shards) adds up into one row per destination.
    known = pl.DataFrame(
        conn.execute(
            f"SELECT {', '.join(figures.columns)} FROM sync_figures "
            "WHERE run_id IN (SELECT value FROM json_each(?))",
            (json.dumps(figures["run_id"].unique().to_list()),),
        ).fetchall(),
        schema=figures.schema,
        orient="row",
    )
    if known.height:
        conn.execute(
            "DELETE FROM sync_figures WHERE run_id IN (SELECT value FROM json_each(?))",
            (json.dumps(known["run_id"].unique().to_list()),),
        )
        figures = _added_up(pl.concat([known, figures]))
    _insert(conn, "sync_figures", figures)


def _added_up(figures: pl.DataFrame) -> pl.DataFrame:
    counts = [c for c, t in figures.schema.items() if t == pl.Int64 and c != "dry_run"]
    return (
        figures.group_by("run_id", "destination", maintain_order=True)
        .agg(
            pl.col("started").min(),
            pl.col("dry_run").max(),
            *[pl.col(c).sum() for c in counts],
            pl.col("top_reason").drop_nulls().first(),
        )
        .select(figures.columns)
    )


def _dagster_runs(runs: pl.DataFrame | None) -> pl.DataFrame:
    if runs is None:
        return pl.DataFrame(schema=DAGSTER_RUN_COLUMNS)
    return runs.select([pl.col(c).cast(t) for c, t in DAGSTER_RUN_COLUMNS.items()])


# -- what holds now -------------------------------------------------------------------------------
# The fields of a source record the console shows (as written, where a ``*_display`` exists).
RECORD_COLUMNS = tuple(
    "given_name surname full_name address address2 city email phone state postal country "
    "birthdate".split()
)
EVIDENCE_COLUMNS = (
    "matched_source",
    "matched_record_id",
    "match_score",
    "match_threshold",
    "match_rule",
    "previous_amperity_id",
)


def now_tables(assets: Storage) -> dict[str, pl.DataFrame]:
    """``people``, ``person_keys``, ``source_records`` and ``match_evidence`` from the stored
    assets; a table whose asset was never materialized is empty."""
    attributes = _read_asset(assets, "braze_customer_attributes")
    identity = _read_asset(assets, "identity_resolution")
    records = _read_asset(assets, "customer_records")
    people = (
        attributes.select(
            pl.col("external_id").cast(pl.String),
            pl.struct(pl.all()).struct.json_encode().alias("values_now"),
        )
        if "external_id" in attributes.columns
        else pl.DataFrame(schema={"external_id": pl.String, "values_now": pl.String})
    )
    source_records = _source_records(identity, records)
    return {
        "people": people,
        "person_keys": _person_keys(people, source_records),
        "source_records": source_records,
        "match_evidence": _match_evidence(identity),
    }


def _read_asset(assets: Storage, name: str) -> pl.DataFrame:
    try:
        return read_table(assets.readable(f"{name}.parquet"))
    except FileNotFoundError:
        return pl.DataFrame()


def _source_records(identity: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Each source record of a person as written (the ``*_display`` spelling where there is
    one), with its person's id; a field the records lack is empty."""
    keys = ["source", "record_id"]
    if not {"amperity_id", *keys} <= set(identity.columns) or not set(keys) <= set(records.columns):
        return _with_columns(pl.DataFrame(), ["amperity_id", *keys, *RECORD_COLUMNS])
    shown = [
        (pl.coalesce(f"{c}_display", c) if f"{c}_display" in records.columns else pl.col(c))
        .cast(pl.String)
        .alias(c)
        for c in RECORD_COLUMNS
        if c in records.columns
    ]
    joined = identity.select(pl.col("amperity_id").cast(pl.String), *keys).join(
        records.select(*keys, *shown), on=keys, how="inner", maintain_order="left"
    )
    return _with_columns(joined, ["amperity_id", *keys, *RECORD_COLUMNS])


def _match_evidence(identity: pl.DataFrame) -> pl.DataFrame:
    """Why each record joined its person: the record it matched, the rule and the score."""
    return _with_columns(identity, ["amperity_id", "source", "record_id", *EVIDENCE_COLUMNS])


def _with_columns(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """``names`` in order, those the frame lacks empty: the console's queries name them all."""
    if frame.width == 0:
        return pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    return frame.select(
        pl.col(n) if n in frame.columns else pl.lit(None, pl.String).alias(n) for n in names
    )


def _person_keys(people: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """What a person is looked up by: their external_id, and every email and phone their
    records hold, as identity resolution normalized them (lower-case emails, E.164 phones)."""
    parts = [
        people.select(
            pl.col("external_id").alias("key"),
            pl.lit("external_id").alias("kind"),
            pl.col("external_id").alias("amperity_id"),
        )
    ]
    for kind in ("email", "phone"):
        if kind in records.columns:
            parts.append(
                records.select(
                    pl.col(kind).alias("key"), pl.lit(kind).alias("kind"), "amperity_id"
                ).drop_nulls("key")
            )
    return pl.concat(parts, how="vertical_relaxed").unique(maintain_order=True)


# -- SQLite plumbing ------------------------------------------------------------------------------
def _sqlite_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns SQLite stores as they are: times and dates as ISO text, lists and structs as
    JSON, booleans as 0/1."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Boolean:
            column = column.cast(pl.Int64)
        elif isinstance(dtype, pl.Datetime):
            column = column.dt.strftime(TIME_FORMAT)
        elif dtype.is_temporal():
            column = column.cast(pl.String)
        elif isinstance(dtype, pl.List | pl.Array | pl.Struct):
            # JSON of the value: encoded as the one field of a struct, then unwrapped.
            column = pl.struct(column.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
        columns.append(column.alias(name))
    return frame.select(columns)


def _sqlite_type(dtype: pl.DataType) -> str:
    if dtype.is_integer() or dtype == pl.Boolean:
        return "INTEGER"
    return "REAL" if dtype.is_float() else "TEXT"


def replace_table(conn: sqlite3.Connection, table: str, frame: pl.DataFrame) -> None:
    columns = ", ".join(f'"{c}" {_sqlite_type(t)}' for c, t in frame.schema.items())
    conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    conn.execute(f'CREATE TABLE "{table}" ({columns})')
    _insert(conn, table, frame)


def _insert(conn: sqlite3.Connection, table: str, frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    frame = _sqlite_ready(frame)
    names = ", ".join(f'"{c}"' for c in frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', frame.iter_rows())
