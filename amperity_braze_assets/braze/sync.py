"""The Braze sync: merges, then the diff in full batches, with the ledger updated per batch.

Order of a run:
1. compact the ledger (fold segments left by an earlier, possibly killed, run);
2. identity merges: an ``amperity_id`` that disappeared, is known to Braze, and whose records now
   carry another id is merged into that survivor with ``/users/merge`` (50 to a request), and the
   ledger is rewritten the way Braze merges (the survivor gains the values it lacked); in a
   sharded sync a survivor that lives in another shard is handed to that shard's ledger;
3. the diff against the ledger, recomputed here rather than read from ``braze_attribute_diff``
   so a rerun after a crash never resends what the ledger already confirms;
4. the circuit breaker: refuse when more than ``max_change_share`` of known profiles would
   change, unless overridden for the run;
5. batches of ``objects_per_request`` objects (all full but the last), rendered a chunk of people
   at a time as they are needed and sent ``concurrency`` at a time; each answer is classified
   per row (accepted / rejected / unknown) and the accepted rows are written to a ledger
   segment as soon as their answers arrive;
6. compact again and write the per-row sync log.

Dry run writes the exact request bodies (one JSON document a line) under
``<data dir>/braze/dry_run/<run id>/<destination>.jsonl``, its per-row log beside them
(``<destination>.log.parquet``, what the sync console reads), and reports the same figures.

Each log row carries the JSON object sent (``object``) and the time the run started; the
ledger keeps the objects apart from the log (``Ledger.write_sync_log``).

Known limit: a merge accepted by Braze whose ledger rewrite is lost to a crash is not replayed
(identity resolution has already moved on); the next diff then sends the survivor's values in
full, so Braze still converges, but the absorbed profile may linger.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from amperity_braze_assets import braze_fields as fields
from amperity_braze_assets.braze import events as braze_events
from amperity_braze_assets.braze.client import BrazeClient, RateBudget, TrackResult, identify_body
from amperity_braze_assets.braze.diff import (
    ALIAS_COLUMNS,
    DATA_POINTS,
    FIELDS,
    IS_NEW,
    OBJECT,
    RENDER_ROWS,
    AttributeDiff,
    DiffFigures,
    alias_key_expr,
    compute_diff,
)
from amperity_braze_assets.braze.event_ledger import (
    ACCEPTED,
    LINE_FACTS,
    PENDING,
    EventLedger,
)
from amperity_braze_assets.braze.ledger import (
    IDENTIFIER,
    Ledger,
    LedgerView,
    apply_merges,
)

log = logging.getLogger("amperity_braze_assets.braze")

SYNC_LOG_SCHEMA = {
    "run_id": pl.String,
    "batch": pl.Int64,
    IDENTIFIER: pl.String,
    "fields": pl.List(pl.String),
    "data_points": pl.Int64,
    "outcome": pl.String,  # accepted | rejected | unknown | dry_run
    "reason": pl.String,
    "object": pl.String,  # the JSON object sent: the person's values, as Braze received them
    "new": pl.Boolean,  # Braze had accepted nothing for this person before: a new profile
}
# Added when the log is written: one time for every row of the run.
STARTED_AT = "started_at"


class CircuitBreakerTripped(RuntimeError):
    """The diff would change an implausible share of known profiles."""


@dataclass
class SyncOptions:
    run_id: str
    destination: str = "braze"
    identifier_column: str = "external_id"
    identifier_type: str = "external_id"
    attributes: list[str] | None = None
    update_existing_only: bool = False
    objects_per_request: int = fields.MAX_OBJECTS_PER_REQUEST
    max_body_bytes: int = fields.MAX_BODY_BYTES
    concurrency: int = 8
    dry_run: bool = False
    dry_run_dir: Path | None = None
    max_change_share: float = 0.5
    circuit_breaker_min_profiles: int = 1000
    override_circuit_breaker: bool = False
    retry_rejected: bool = False
    # Called after each batch's outcome is recorded (tests abort a run here).
    after_batch: Callable[[int], None] | None = None
    # Raises when this sync must stop sending: the ledger's lease was taken over
    # (``LedgerHold.check``). Asked before each new batch; batches in flight are still recorded.
    check_lease: Callable[[], None] | None = None
    # The workspace's rate budget and this sync's share of it, for the report.
    rate_budget: RateBudget | None = None
    # A sharded sync: given the ledger rows of merge survivors, records in their own shard's
    # ledger those that live in another shard (``Ledger.record_gained``) and returns the rows
    # that stay in this one. None: one ledger holds everyone.
    hand_off_survivors: Callable[[pl.DataFrame], pl.DataFrame] | None = None
    # identifier external_id only: people without one go by alias; one who gained an
    # external_id is identified (/users/identify) before the diff.
    alias_fallback: bool = False
    # Purchases and events: the destination's choices (braze/events.py); None sends none.
    event_options: braze_events.EventOptions | None = None


@dataclass
class SyncReport:
    run_id: str
    dry_run: bool
    diff: DiffFigures
    batches: int = 0
    requests: int = 0  # HTTP requests to /users/track, retries and 429s included
    objects_sent: int = 0
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    data_points_sent: int = 0
    data_points_accepted: int = 0
    wasted_data_points: int = 0  # sent in attempts whose outcome we could not learn
    merges: int = 0
    merge_requests: int = 0
    identified: int = 0  # aliases Braze accepted to join to an external_id (or would, dry run)
    identify_requests: int = 0
    identify_pending: int = 0  # not confirmed by Braze: still sent by alias this run
    seconds: float = 0.0
    send_seconds: float = 0.0  # the sending phase, rendering the objects included
    batch_sizes: list[int] = field(default_factory=list)
    dry_run_file: str | None = None
    rate_budget: RateBudget | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    log: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SYNC_LOG_SCHEMA))
    # Purchases and events: their figures, and their rows of the sync log (apart from the
    # attribute rows, which the people figures count).
    events: braze_events.EventFigures = field(default_factory=braze_events.EventFigures)
    event_log: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SYNC_LOG_SCHEMA))

    @property
    def objects_per_second(self) -> float:
        return self.objects_sent / self.seconds if self.seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def top_reasons(self, limit: int = 10) -> pl.DataFrame:
        rejected = self.log.filter(pl.col("outcome") == "rejected")
        return (
            rejected.group_by("reason")
            .len("rows")
            .sort("rows", "reason", descending=[True, False])
            .head(limit)
        )


def plan_merges(
    identity: pl.DataFrame | None, known: pl.DataFrame, current_ids: pl.Series
) -> pl.DataFrame:
    """``absorbed -> survivor`` pairs: ids that vanished, are known to Braze, and whose records
    now carry another id. A split id goes to the survivor holding most of its records."""
    empty = pl.DataFrame(schema={"absorbed": pl.String, "survivor": pl.String})
    if identity is None or identity.height == 0 or known.height == 0:
        return empty
    if "previous_amperity_id" not in identity.columns:
        return empty
    moved = identity.filter(
        pl.col("previous_amperity_id").is_not_null()
        & (pl.col("previous_amperity_id") != pl.col("amperity_id"))
    )
    if moved.height == 0:
        return empty
    return (
        moved.group_by(
            pl.col("previous_amperity_id").cast(pl.String).alias("absorbed"),
            pl.col("amperity_id").cast(pl.String).alias("survivor"),
        )
        .len("records")
        .filter(~pl.col("absorbed").is_in(current_ids.cast(pl.String).implode()))
        .filter(pl.col("absorbed").is_in(known[IDENTIFIER].implode()))
        .sort(["absorbed", "records", "survivor"], descending=[False, True, False])
        .unique("absorbed", keep="first", maintain_order=True)
        .select("absorbed", "survivor")
    )


def batch_bodies(objects: list[str], size: int, max_bytes: int) -> list[tuple[int, int, str]]:
    """``(start, end, body)`` per request: ``size`` objects each, the last one shorter.

    A batch whose body would pass Braze's 4 MB cap is halved until it fits (only possible with
    very long arrays or objects), which is the one case a batch is not full.
    """
    batches: list[tuple[int, int, str]] = []
    for start in range(0, len(objects), size):
        pending = [(start, min(start + size, len(objects)))]
        while pending:
            low, high = pending.pop(0)
            body = '{"attributes":[' + ",".join(objects[low:high]) + "]}"
            if len(body.encode()) > max_bytes and high - low > 1:
                middle = (low + high) // 2
                pending[:0] = [(low, middle), (middle, high)]
                continue
            batches.append((low, high, body))
    return batches


@dataclass
class Batch:
    """One request: its rows of the diff's changes, and the body sent."""

    number: int
    rows: pl.DataFrame
    body: str
    # The purchases and events it holds (braze/events.py: event_key, kind, array, index...).
    events: pl.DataFrame | None = None


def diff_batches(diff: AttributeDiff, options: SyncOptions) -> Iterator[Batch]:
    """The requests of a diff, in order, rendered a chunk of people at a time so that a large
    first sync never holds every object (or body) at once. Chunks are whole numbers of
    batches, so every batch is full but the last (and any halved for the size cap)."""
    size = max(1, options.objects_per_request)
    number = 0
    for chunk in diff.chunks(size * max(1, RENDER_ROWS // size)):
        objects = chunk.get_column(OBJECT).to_list()
        for low, high, body in batch_bodies(objects, size, options.max_body_bytes):
            yield Batch(number, chunk.slice(low, high - low), body)
            number += 1


def with_events(
    batches: Iterator[Batch], plan: braze_events.EventPlan | None, options: SyncOptions
) -> Iterator[Batch]:
    """The attribute requests, the last one filled up with purchases and events, then the rest
    of them in full requests: ``objects_per_request`` objects in all per request (spec)."""
    if plan is None or plan.objects.height == 0:
        yield from batches
        return
    size = max(1, options.objects_per_request)
    last: Batch | None = None
    for batch in batches:
        if last is not None:
            yield last
        last = batch
    room = size - last.rows.height if last is not None else 0
    number = last.number + 1 if last is not None else 0
    chunks = braze_events.event_chunks(plan.objects, size, options.max_body_bytes, room)
    if last is not None:
        if room > 0:
            fill = next(chunks)
            body = braze_events.request_body(last.rows.get_column(OBJECT).to_list(), fill)
            if len(body.encode()) <= options.max_body_bytes:
                last = Batch(last.number, last.rows, body, braze_events.indexed(fill))
            else:  # over Braze's 4 MB together: the occurrences go in requests of their own
                chunks = itertools.chain(
                    braze_events.event_chunks(fill, size, options.max_body_bytes, 0), chunks
                )
        yield last
    no_rows = pl.DataFrame(schema=braze_events.NO_ATTRIBUTE_ROWS)
    for chunk in chunks:
        events = braze_events.indexed(chunk)
        yield Batch(number, no_rows, braze_events.request_body([], events), events)
        number += 1


def run_sync(
    current: pl.DataFrame,
    ledger: Ledger,
    client: BrazeClient | None,
    options: SyncOptions,
    identity: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
) -> SyncReport:
    """One sync run; see the module docstring for the order of things. ``events``:
    ``braze_events``, sent as ``options.event_options`` says."""
    started = time.perf_counter()
    view = ledger.compact()
    merges = plan_merges(identity, view.accepted, current[options.identifier_column])
    if options.identifier_type != "external_id":
        merges = merges.clear()  # /users/merge by external_id only
    report = SyncReport(
        run_id=options.run_id,
        dry_run=options.dry_run,
        diff=DiffFigures(),
        rate_budget=options.rate_budget,
    )
    if options.dry_run:
        view = apply_merges(view, merges)
        report.merges = merges.height
    elif merges.height:
        if client is None:
            raise ValueError("a real sync needs a Braze client")
        view = _send_merges(client, ledger, view, merges, report, options.hand_off_survivors)
    if options.alias_fallback:
        current, view = _identify_aliases(current, client, ledger, view, options, report)
    diff = compute_diff(
        current,
        view,
        identifier_column=options.identifier_column,
        identifier_type=options.identifier_type,
        attributes=options.attributes,
        update_existing_only=options.update_existing_only,
        retry_rejected=options.retry_rejected,
        alias_fallback=options.alias_fallback,
        unconfirmed=ledger.unconfirmed_fields(),
    )
    report.diff = diff.figures
    check_circuit_breaker(diff.figures, options)
    plan = _plan_events(events, current, ledger, options)
    if plan is not None:
        report.events = plan.figures
    batches = _counted(with_events(diff_batches(diff, options), plan, options), report)
    if options.dry_run:
        _dry_run(diff, batches, options, report)
    else:
        if client is None:
            raise ValueError("a real sync needs a Braze client (or dry_run=True)")
        sending = time.perf_counter()
        try:
            _send(diff, batches, ledger, client, options, report)
        finally:
            report.send_seconds = time.perf_counter() - sending
            ledger.compact()
            if plan is not None:
                EventLedger(ledger.store, ledger.name).compact_events()
            ledger.write_sync_log(options.run_id, timed_log(report))
    report.seconds = time.perf_counter() - started
    return report


def _plan_events(
    events: pl.DataFrame | None, current: pl.DataFrame, ledger: Ledger, options: SyncOptions
) -> braze_events.EventPlan | None:
    if events is None or options.event_options is None:
        return None
    people = braze_events.people_keys(
        current, options.identifier_column, options.identifier_type, options.alias_fallback
    )
    # The occurrences follow the attributes' identifier and update-only switch.
    event_options = dataclasses.replace(
        options.event_options,
        identifier_type=options.identifier_type,
        update_existing_only=options.update_existing_only
        or options.event_options.update_existing_only,
    )
    return braze_events.plan_events(
        events,
        people,
        EventLedger(ledger.store, ledger.name),
        event_options,
        options.run_id,
        options.dry_run,
    )


def check_circuit_breaker(figures: DiffFigures, options: SyncOptions) -> None:
    if options.override_circuit_breaker:
        return
    if figures.known_profiles < max(1, options.circuit_breaker_min_profiles):
        return
    share = figures.changed_share_of_known
    if share > options.max_change_share:
        raise CircuitBreakerTripped(
            f"the sync would change {figures.changed:,} of {figures.known_profiles:,} known "
            f"profiles ({share:.1%}), more than the {options.max_change_share:.0%} this "
            "destination allows. Check the upstream data; if the change is intended, rerun with "
            "override_circuit_breaker: true for this run."
        )


def _send_merges(
    client: BrazeClient,
    ledger: Ledger,
    view: LedgerView,
    merges: pl.DataFrame,
    report: SyncReport,
    hand_off_survivors: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> LedgerView:
    pairs = list(merges.iter_rows())
    for start in range(0, len(pairs), fields.MAX_MERGES_PER_REQUEST):
        chunk = pairs[start : start + fields.MAX_MERGES_PER_REQUEST]
        result = client.merge(chunk)
        report.merge_requests += 1
        if result.outcome != "accepted":
            log.warning("Braze merge request not accepted (%s): %s", result.outcome, result.message)
            continue
        applied = pl.DataFrame(chunk, schema=["absorbed", "survivor"], orient="row")
        view = apply_merges(view, applied)
        if hand_off_survivors is not None:
            view = _hand_off(view, applied, hand_off_survivors)
        ledger.replace(view)  # at once: the next batch must diff against the merged state
        report.merges += len(chunk)
    return view


def plan_identifies(current: pl.DataFrame, accepted: pl.DataFrame) -> pl.DataFrame:
    """People Braze knows by alias only (the ledger holds their alias key) who now have an
    external_id the ledger does not know: ``external_id, alias_name, alias_label, alias_key``."""
    schema = {
        "external_id": pl.String,
        **{c: pl.String for c in ALIAS_COLUMNS},
        "alias_key": pl.String,
    }
    if accepted.height == 0 or any(c not in current.columns for c in ALIAS_COLUMNS):
        return pl.DataFrame(schema=schema)
    known = accepted.get_column(IDENTIFIER).cast(pl.String).implode()
    return (
        current.lazy()
        .select(
            pl.col("external_id").cast(pl.String),
            *[pl.col(c).cast(pl.String) for c in ALIAS_COLUMNS],
            alias_key_expr().alias("alias_key"),
        )
        .filter(
            pl.col("external_id").is_not_null()
            & pl.col("alias_key").is_in(known)
            & ~pl.col("external_id").is_in(known)
        )
        .unique("alias_key", keep="first", maintain_order=True)
        .collect()
    )


def _identify_aliases(
    current: pl.DataFrame,
    client: BrazeClient | None,
    ledger: Ledger,
    view: LedgerView,
    options: SyncOptions,
    report: SyncReport,
) -> tuple[pl.DataFrame, LedgerView]:
    """``/users/identify`` for people who gained an external_id, 50 to a request, so Braze joins
    their alias profile to it instead of creating a second profile. A confirmed pair's ledger
    row moves from the alias key to the external_id (written at once); an unconfirmed one keeps
    being sent by alias this run (its external_id is set aside), so nothing is duplicated. A dry
    run writes the bodies to ``<destination>.identify.jsonl`` and proceeds as if accepted."""
    plan = plan_identifies(current, view.accepted)
    if plan.height == 0:
        return current, view
    triples = list(plan.select("external_id", *ALIAS_COLUMNS).iter_rows())
    keys = plan.get_column("alias_key").to_list()
    step = fields.MAX_IDENTIFIES_PER_REQUEST
    chunks = [(triples[i : i + step], keys[i : i + step]) for i in range(0, len(triples), step)]
    pending: list[str] = []
    if options.dry_run:
        _write_identify_bodies([c for c, _ in chunks], options)
    for chunk, chunk_keys in chunks:
        if not options.dry_run:
            if client is None:
                raise ValueError("a real sync needs a Braze client")
            result = client.identify(chunk)
            report.identify_requests += 1
            if result.outcome != "accepted":
                log.warning("Braze identify not accepted (%s): %s", result.outcome, result.message)
                pending += [external_id for external_id, _, _ in chunk]
                continue
        moved = dict(zip(chunk_keys, [external_id for external_id, _, _ in chunk], strict=True))
        accepted = view.accepted.with_columns(
            pl.col(IDENTIFIER).cast(pl.String).replace(moved).alias(IDENTIFIER)
        )
        view = LedgerView(accepted, view.rejections)
        if not options.dry_run:
            ledger.replace(view)  # at once: a crash after this must not identify again
        report.identified += len(chunk)
    report.identify_pending = len(pending)
    if pending:
        current = current.with_columns(
            pl.when(pl.col("external_id").is_in(pl.Series(pending, dtype=pl.String).implode()))
            .then(None)
            .otherwise(pl.col("external_id"))
            .alias("external_id")
        )
    return current, view


def _write_identify_bodies(chunks: list[list[tuple[str, str, str]]], options: SyncOptions) -> None:
    folder = options.dry_run_dir
    if folder is None:
        raise ValueError("dry run needs dry_run_dir")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{options.destination}{IDENTIFY_SUFFIX}").open("w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(identify_body(chunk) + "\n")


IDENTIFY_SUFFIX = ".identify.jsonl"


def _hand_off(
    view: LedgerView,
    applied: pl.DataFrame,
    hand_off_survivors: Callable[[pl.DataFrame], pl.DataFrame],
) -> LedgerView:
    """Survivors that live in another shard leave this ledger: what they gained is recorded in
    theirs first (a crash before this ledger is rewritten repeats the merge, and gains are
    idempotent), so their shard's next diff knows what Braze now holds for them."""
    survivors = view.accepted.filter(pl.col(IDENTIFIER).is_in(applied["survivor"].implode()))
    staying = hand_off_survivors(survivors)
    leaving = survivors.filter(~pl.col(IDENTIFIER).is_in(staying[IDENTIFIER].implode()))
    if leaving.height == 0:
        return view
    accepted = view.accepted.filter(~pl.col(IDENTIFIER).is_in(leaving[IDENTIFIER].implode()))
    return LedgerView(accepted, view.rejections)


def _counted(batches: Iterator[Batch], report: SyncReport) -> Iterator[Batch]:
    for batch in batches:
        report.batches += 1
        report.batch_sizes.append(batch.rows.height)
        yield batch


def _dry_run(
    diff: AttributeDiff,
    batches: Iterator[Batch],
    options: SyncOptions,
    report: SyncReport,
) -> None:
    folder = options.dry_run_dir
    if folder is None:
        raise ValueError("dry run needs dry_run_dir")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{options.destination}.jsonl"
    logs = [pl.DataFrame(schema=SYNC_LOG_SCHEMA)]
    with path.open("w", encoding="utf-8") as out:
        for batch in batches:
            out.write(batch.body + "\n")
            logs.append(_log_rows(batch.rows, options.run_id, batch.number, "dry_run", None))
            if batch.events is not None:
                _record_event_rows(report, batch.events, options.run_id, batch.number, True)
    report.dry_run_file = str(path)
    report.objects_sent = diff.height
    report.data_points_sent += diff.figures.data_points  # the occurrences' are counted in
    report.log = pl.concat(logs, how="vertical")
    timed_log(report).write_parquet(folder / f"{options.destination}{DRY_RUN_LOG_SUFFIX}")


DRY_RUN_LOG_SUFFIX = ".log.parquet"


def timed_log(report: SyncReport) -> pl.DataFrame:
    """The run's log as it is kept: every row with the time the run started."""
    started = pl.lit(report.started_at, pl.Datetime("us", "UTC")).alias(STARTED_AT)
    log = pl.concat([report.log, report.event_log], how="vertical_relaxed")
    return log.with_columns(started)


def _log_rows(
    rows: pl.DataFrame, run_id: str, batch: int | None, outcome: str, reason: str | None
) -> pl.DataFrame:
    return rows.select(
        pl.lit(run_id, pl.String).alias("run_id"),
        pl.lit(batch, pl.Int64).alias("batch"),
        pl.col(IDENTIFIER),
        pl.col(FIELDS).alias("fields"),
        pl.col(DATA_POINTS).cast(pl.Int64).alias("data_points"),
        pl.lit(outcome, pl.String).alias("outcome"),
        pl.lit(reason, pl.String).alias("reason"),
        pl.col(OBJECT).alias("object"),
        pl.col(IS_NEW).alias("new"),
    )


def _send(
    diff: AttributeDiff,
    batches: Iterator[Batch],
    ledger: Ledger,
    client: BrazeClient,
    options: SyncOptions,
    report: SyncReport,
) -> None:
    logs: list[pl.DataFrame] = []
    batches = iter(batches)
    max_in_flight = max(1, options.concurrency) * 2
    in_flight: dict[Future[TrackResult], Batch] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="braze")
    lost: Exception | None = None
    try:
        while True:
            lost = lost or _lease_lost(options)
            # Batches are rendered as they are needed, so only a chunk is held at a time.
            room = 0 if lost else max_in_flight - len(in_flight)
            for batch in itertools.islice(batches, room):
                future = pool.submit(
                    client.track,
                    batch.body,
                    batch.rows.height,
                    resend_ambiguous=_resend_ambiguous(batch, options),
                    before_send=_write_ahead(batch, ledger, options),
                )
                in_flight[future] = batch
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            accepted_parts: list[pl.DataFrame] = []
            rejected_parts: list[pl.DataFrame] = []
            event_parts: list[pl.DataFrame] = []
            unconfirmed_parts: list[pl.DataFrame] = []
            finished: list[int] = []
            for future in done:
                batch = in_flight.pop(future)
                number, rows = batch.number, batch.rows
                result = future.result()  # BrazeAuthError propagates: every batch would fail
                accepted, rejected, log_rows = _classify(rows, result, options.run_id, number)
                _count(report, result, rows, accepted)
                if accepted.height:
                    accepted_parts.append(diff.segment(accepted))
                if rejected.height:
                    rejected_parts.append(rejected)
                logs.append(log_rows)
                unconfirmed_parts.append(_unconfirmed_rows(diff, rows, result, accepted))
                if batch.events is not None:
                    event_parts.append(braze_events.outcomes(batch.events, result))
                    _record_event_rows(
                        report, event_parts[-1], options.run_id, number, False, result
                    )
                finished.append(number)
            # One segment for every batch whose answer arrived together: durable before more
            # work is recorded, and few enough files at high request rates.
            if accepted_parts:
                ledger.record_accepted(pl.concat(accepted_parts, how="diagonal_relaxed"))
            if rejected_parts:
                ledger.record_rejected(pl.concat(rejected_parts, how="vertical"))
            ledger.record_unconfirmed(pl.concat(unconfirmed_parts, how="vertical"))
            if event_parts:
                EventLedger(ledger.store, ledger.name).record_outcomes(
                    pl.concat(event_parts, how="vertical"), options.run_id
                )
            for number in sorted(finished):
                if options.after_batch is not None:
                    options.after_batch(number)
    finally:
        for future in in_flight:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        if logs:
            report.log = pl.concat(logs, how="vertical")
    if lost is not None:
        raise lost


def _unconfirmed_rows(
    diff: AttributeDiff, rows: pl.DataFrame, result: TrackResult, accepted: pl.DataFrame
) -> pl.DataFrame:
    """Ledger rows for the fields of a batch: unconfirmed when its outcome is unknown (applied
    or not: the diff sends them again), confirmed again when Braze accepted an object that
    resent a person's unconfirmed fields. Rows of neither kind: none."""
    if result.outcome == "unknown":
        settled, unconfirmed = rows, True
    elif diff.unconfirmed_people is not None and accepted.height:
        people = diff.unconfirmed_people.implode()
        settled, unconfirmed = accepted.filter(pl.col(IDENTIFIER).is_in(people)), False
    else:
        settled, unconfirmed = rows.clear(), False
    return (
        settled.select(IDENTIFIER, pl.col(FIELDS).alias("field"))
        .explode("field")
        .filter(pl.col("field").is_not_null())
        .with_columns(unconfirmed=pl.lit(unconfirmed))
        .cast({IDENTIFIER: pl.String, "field": pl.String})
    )


def _write_ahead(batch: Batch, ledger: Ledger, options: SyncOptions) -> Callable[[], None] | None:
    """What the client calls right before a request holding purchases or events leaves: their
    keys written durably as pending, so a run that dies after sending finds them pending (an
    unknown outcome). Written then, not when the request is queued, so a kill leaves as few
    keys pending that never left as it can."""
    if batch.events is None:
        return None
    # With each purchase's line facts, so a key left pending is still matched to its line.
    pending = batch.events.select(
        "event_key",
        *LINE_FACTS,
        "quantity",
        status=pl.lit(PENDING),
        reason=pl.lit(None, pl.String),
    )
    return lambda: EventLedger(ledger.store, ledger.name).record_outcomes(pending, options.run_id)


def _resend_ambiguous(batch: Batch, options: SyncOptions) -> bool:
    """Whether the client may send a request again after an attempt that may have been applied:
    always for attributes (setting a value twice is harmless), for a request holding events
    only when the destination says ``on_unknown: resend`` (Braze would count them twice)."""
    if batch.events is None or options.event_options is None:
        return True
    return options.event_options.on_unknown == "resend"


def _record_event_rows(
    report: SyncReport,
    rows: pl.DataFrame,
    run_id: str,
    batch: int,
    dry_run: bool,
    result: TrackResult | None = None,
) -> None:
    braze_events.count_outcomes(report.events, rows, dry_run)
    # Braze bills each custom event and each purchase recorded as one data point (its data
    # points page): an occurrence is one, as the log's rows say.
    report.data_points_sent += rows.height
    if result is not None:
        report.data_points_accepted += rows.filter(pl.col("status") == ACCEPTED).height
        report.wasted_data_points += result.ambiguous_attempts * rows.height
    logged = braze_events.log_rows(rows, run_id, batch, dry_run)
    report.event_log = pl.concat([report.event_log, logged], how="vertical_relaxed")


def _lease_lost(options: SyncOptions) -> Exception | None:
    """The reason to stop sending new batches (the ledger's lease was lost), or None."""
    if options.check_lease is None:
        return None
    try:
        options.check_lease()
    except Exception as exc:
        return exc
    return None


def _classify(
    rows: pl.DataFrame, result: TrackResult, run_id: str, batch: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split a batch into accepted rows, rejected rows (with reasons) and its log rows."""
    empty = rows.clear()
    if result.outcome == "unknown":
        reason = result.message or "no answer"
        return empty, pl.DataFrame(), _log_rows(rows, run_id, batch, "unknown", reason)
    reasons: dict[int, str] = {}
    for error in result.errors:
        if error.input_array == "attributes" and 0 <= error.index < rows.height:
            reasons.setdefault(error.index, error.reason)
    if result.outcome == "rejected" and not reasons:
        reasons = {i: result.message or f"HTTP {result.status}" for i in range(rows.height)}
    if result.outcome == "rejected" and reasons and len(reasons) < rows.height:
        # A 400 naming some rows applied nothing: the others are neither accepted nor at fault.
        others = [i for i in range(rows.height) if i not in reasons]
        unknown_rows = rows[others]
        bad = sorted(reasons)
        rejected = _rejected_rows(rows[bad], [reasons[i] for i in bad], run_id)
        logs = pl.concat(
            [
                _log_rows(rows[bad], run_id, batch, "rejected", None).with_columns(
                    reason=pl.Series([reasons[i] for i in bad], dtype=pl.String)
                ),
                _log_rows(unknown_rows, run_id, batch, "unknown", result.message),
            ]
        )
        return empty, rejected, logs
    outcome = pl.Series(
        ["rejected" if i in reasons else "accepted" for i in range(rows.height)], dtype=pl.String
    )
    reason = pl.Series([reasons.get(i) for i in range(rows.height)], dtype=pl.String)
    logs = _log_rows(rows, run_id, batch, "accepted", None).with_columns(
        outcome=outcome, reason=reason
    )
    accepted = rows.filter(outcome == "accepted")
    bad = sorted(reasons)
    rejected = (
        _rejected_rows(rows[bad], [reasons[i] for i in bad], run_id) if bad else pl.DataFrame()
    )
    return accepted, rejected, logs


def _rejected_rows(rows: pl.DataFrame, reasons: list[str], run_id: str) -> pl.DataFrame:
    return rows.select(
        IDENTIFIER,
        pl.col(OBJECT).alias("object"),
        pl.Series("reason", reasons, dtype=pl.String),
        pl.lit(run_id, pl.String).alias("run_id"),
    )


def _count(
    report: SyncReport, result: TrackResult, rows: pl.DataFrame, accepted: pl.DataFrame
) -> None:
    batch_points = int(rows[DATA_POINTS].sum()) if rows.height else 0
    report.requests += result.attempts + result.throttled
    report.retries += result.retries
    report.throttled += result.throttled
    report.server_errors += result.server_errors
    report.objects_sent += rows.height
    report.data_points_sent += batch_points
    report.wasted_data_points += result.ambiguous_attempts * batch_points
    report.accepted += accepted.height
    report.data_points_accepted += int(accepted[DATA_POINTS].sum()) if accepted.height else 0
    if result.outcome == "unknown":
        report.unknown += rows.height
    else:
        report.rejected += rows.height - accepted.height
