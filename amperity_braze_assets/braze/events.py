"""Purchases and custom events in the sync: which occurrences to send, their objects, the
requests they share with attributes, and what each answer means for them.

An occurrence is sent once across runs (Braze does not deduplicate): the event ledger
(``event_ledger.py``) holds every key sent, and its key is written *pending* before the request
that holds it leaves. What a run sends, per destination (``destinations.yaml``):

- the occurrences of ``braze_events`` the destination takes (``events: all | none | [names]``,
  ``purchases: true | false``);
- not those the ledger has settled (accepted, rejected, skipped after an unknown outcome);
- after an unknown outcome (pending at the start of a run: the process died after sending; or a
  connection dropped after the request left), ``on_unknown: skip`` records the key skipped and
  never sends it again; ``resend`` sends it again (Braze may then count it twice);
- not those of people without a profile in this sync (not in ``braze_customer_attributes``, or
  without an identifier): counted ``no_profile``, sent by a later run once they have one;
- with ``update_existing_only``, an occurrence Braze refuses because the person has no profile
  yet is left unsent (counted ``no_profile_in_braze``) and offered again by the next run, as
  update-only attribute objects are;
- a purchase Braze accepted whose line now has another quantity (a partial refund re-exported)
  is counted ``changed_after_sending`` and never sent again: Braze takes no negative purchases;
- not those older than ``event_lookback_days`` (so a first sync never replays years of revenue):
  counted ``older_than_lookback``.

Requests: the attribute objects first, then purchases, then events, ``objects_per_request`` in
total across the three arrays (spec: 75 in all): the last attribute request is filled up with
events, and every request is full but the last. An answer's ``errors`` entries name their
``input_array`` and ``index``: an attribute's outcome goes to the attribute ledger as before,
an event's to the event ledger.

An occurrence carries the one identifier its person's attributes object carries in this
destination (``people_keys``): the external_id, braze_id, email or phone value, or the
user_alias object (``user_alias`` destinations, and people sent by alias under
``alias_fallback``), so events follow the person's identifier.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import polars as pl

from amperity_braze_assets.braze.client import TrackResult
from amperity_braze_assets.braze.diff import (
    ALIAS_KEY_PREFIX,
    DATA_POINTS,
    FIELDS,
    IS_NEW,
    OBJECT,
    UPDATE_ONLY_MARK,
    identifier_key_expr,
)
from amperity_braze_assets.braze.event_ledger import (
    ACCEPTED,
    EVENT_LEDGER_SCHEMA,
    LINE_FACTS,
    PENDING,
    REJECTED,
    SETTLED,
    SKIPPED_UNKNOWN,
    UNKNOWN,
    UNRESOLVED,
    UNSENT,
    EventLedger,
)
from amperity_braze_assets.braze.ledger import IDENTIFIER
from amperity_braze_assets.braze.line_matching import match_to_ledger

PURCHASE, EVENT = "purchase", "event"
LINE_FACT_TYPES = {c: EVENT_LEDGER_SCHEMA[c] for c in LINE_FACTS}
ARRAYS = {PURCHASE: "purchases", EVENT: "events"}
ON_UNKNOWN = ("skip", "resend")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"  # millisecond ISO 8601 UTC
PERSON = "amperity_id"
# What an update-only occurrence's refusal says (Braze's errors entry: no profile to update).
NO_PROFILE_ERROR = "_update_existing_only"
NO_PROFILE_IN_BRAZE = "no profile in Braze yet"
EVENT_ROWS = {"event_key": pl.String, "kind": pl.String, "array": pl.String, "index": pl.Int64}
# An event-only request's attribute rows: none, in the shape the sync's classification takes.
NO_ATTRIBUTE_ROWS = {
    IDENTIFIER: pl.String,
    FIELDS: pl.List(pl.String),
    DATA_POINTS: pl.Int64,
    OBJECT: pl.String,
    IS_NEW: pl.Boolean,
}


@dataclass(frozen=True)
class EventOptions:
    """One destination's choices (``destinations.yaml``)."""

    events: tuple[str, ...] | None = None  # None: every event; (): none
    purchases: bool = True
    on_unknown: str = "skip"
    lookback_days: int = 30
    update_existing_only: bool = False
    identifier_type: str = "external_id"
    now: dt.datetime | None = None  # the lookback's reference; None: the time of the sync


@dataclass
class EventFigures:
    """What a run did with the occurrences; ``outcomes`` counts (kind, outcome) of those sent."""

    offered: int = 0  # occurrences of braze_events this destination takes
    already_sent: int = 0  # settled by an earlier run
    no_profile: int = 0
    older_than_lookback: int = 0
    unknown_skipped: int = 0  # unknown outcomes this run decided never to resend
    unknown_resent: int = 0  # unknown outcomes sent again (on_unknown: resend)
    # accepted purchases whose line now has another quantity: never resent (no negatives)
    changed_after_sending: int = 0
    no_profile_in_braze: int = 0  # update-only occurrences refused for now: offered again
    # pending or unknown in another shard's folder: that shard may be sending them right now,
    # so this run neither sends nor settles them (their shard resolves them)
    in_flight_elsewhere: int = 0
    outcomes: Counter = field(default_factory=Counter)

    def count(self, kind: str, outcome: str) -> int:
        return self.outcomes[(kind, outcome)]

    def sent(self, kind: str) -> int:
        return sum(n for (k, _), n in self.outcomes.items() if k == kind)

    def as_dict(self) -> dict[str, int]:
        figures = {
            "offered": self.offered,
            "already_sent": self.already_sent,
            "no_profile": self.no_profile,
            "older_than_lookback": self.older_than_lookback,
            "unknown_skipped": self.unknown_skipped,
            "unknown_resent": self.unknown_resent,
            "changed_after_sending": self.changed_after_sending,
            "no_profile_in_braze": self.no_profile_in_braze,
            "in_flight_elsewhere": self.in_flight_elsewhere,
        }
        for kind, plural in (("purchase", "purchases"), ("event", "events")):
            figures[f"{plural}_sent"] = self.sent(kind)
            for outcome in (ACCEPTED, REJECTED, UNKNOWN, UNSENT, "dry_run"):
                figures[f"{plural}_{outcome}"] = self.count(kind, outcome)
        return figures


@dataclass
class EventPlan:
    objects: pl.DataFrame  # event_key, kind, array, identifier, name, object: in sending order
    figures: EventFigures


def people_keys(
    current: pl.DataFrame, identifier_column: str, identifier_type: str, alias_fallback: bool
) -> pl.DataFrame:
    """Each person's ``amperity_id`` and the identifier key their attributes object carries in
    this destination (``IDENTIFIER``: the identifier's value, or the user_alias object's JSON
    text): the person's amperity_id is its ``amperity_id`` column where the table has one, else
    ``external_id`` (braze_customer_attributes' default identifier_source is the amperity_id)."""
    person = PERSON if PERSON in current.columns else "external_id"
    if person not in current.columns:
        return pl.DataFrame(schema={PERSON: pl.String, IDENTIFIER: pl.String})
    key = identifier_key_expr(identifier_column, identifier_type, alias_fallback)
    return (
        current.select(pl.col(person).cast(pl.String).alias(PERSON), key.alias(IDENTIFIER))
        .drop_nulls()
        .unique(PERSON, keep="first", maintain_order=True)
    )


def plan_events(
    events: pl.DataFrame,
    people: pl.DataFrame,
    ledger: EventLedger,
    options: EventOptions,
    run_id: str,
    dry_run: bool,
) -> EventPlan:
    """The occurrences this run sends, rendered, and the figures of those it does not."""
    figures = EventFigures()
    chosen = _chosen(events, options)
    figures.offered = chosen.height
    statuses = ledger.statuses() if dry_run else ledger.compact_events()
    # A re-exported order's lines take the keys the ledger holds for them (an added line
    # shifts no sent line onto a new key).
    chosen = match_to_ledger(chosen, statuses)
    unresolved, elsewhere = _unresolved(statuses, ledger)
    figures.in_flight_elsewhere = chosen.filter(
        pl.col("event_key").is_in(elsewhere.implode())
    ).height
    if options.on_unknown == "skip" and unresolved.height:
        figures.unknown_skipped = unresolved.height
        if not dry_run:
            ledger.record(unresolved["event_key"], SKIPPED_UNKNOWN, run_id)
    done = statuses.filter(pl.col("status").is_in(SETTLED)).get_column("event_key")
    if options.on_unknown == "skip":
        done = pl.concat([done, unresolved["event_key"]])
    fresh = chosen.filter(
        ~pl.col("event_key").is_in(done.implode()), ~pl.col("event_key").is_in(elsewhere.implode())
    )
    figures.already_sent = chosen.height - fresh.height - figures.in_flight_elsewhere
    figures.changed_after_sending = _changed_after_sending(chosen, statuses)
    with_profile = fresh.join(people, on=PERSON, how="inner", maintain_order="left")
    figures.no_profile = fresh.height - with_profile.height
    now = options.now or dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=options.lookback_days)
    recent = with_profile.filter(pl.col("time") >= start)
    figures.older_than_lookback = with_profile.height - recent.height
    if options.on_unknown == "resend" and unresolved.height:
        figures.unknown_resent = recent.filter(
            pl.col("event_key").is_in(unresolved["event_key"].implode())
        ).height
    ordered = recent.sort(pl.col("kind") != PURCHASE, maintain_order=True)
    objects = render_objects(ordered, options.identifier_type, options.update_existing_only)
    return EventPlan(objects, figures)


def _unresolved(statuses: pl.DataFrame, ledger: EventLedger) -> tuple[pl.DataFrame, pl.Series]:
    """(the unresolved keys this ledger wrote itself: its own unknown outcomes, to resolve;
    the keys of other shards' folders still pending or unknown). A shard running beside this
    one writes its keys pending before it sends them: taken for a dead process's, they would be
    settled skipped here while that shard may still be told Braze applied nothing."""
    unresolved = statuses.filter(pl.col("status").is_in(UNRESOLVED))
    own = ledger.own_statuses().filter(pl.col("status").is_in(UNRESOLVED)).get_column("event_key")
    mine = pl.col("event_key").is_in(own.implode())
    return unresolved.filter(mine), unresolved.filter(~mine).get_column("event_key")


def _changed_after_sending(chosen: pl.DataFrame, statuses: pl.DataFrame) -> int:
    """Purchases Braze accepted with another quantity than their line has now."""
    sent = statuses.filter(pl.col("status") == ACCEPTED, pl.col("quantity").is_not_null())
    return (
        chosen.filter(pl.col("kind") == PURCHASE)
        .join(sent.select("event_key", pl.col("quantity").alias("_sent")), on="event_key")
        .filter(pl.col("quantity") != pl.col("_sent"))
        .height
    )


def _chosen(events: pl.DataFrame, options: EventOptions) -> pl.DataFrame:
    kind = pl.col("kind")
    takes_purchases = (kind == PURCHASE) & pl.lit(options.purchases)
    if options.events is None:
        takes_events = kind == EVENT
    else:
        takes_events = (kind == EVENT) & pl.col("name").is_in(list(options.events))
    return events.filter(takes_purchases | takes_events)


def render_objects(
    events: pl.DataFrame, identifier_type: str = "external_id", update_existing_only: bool = False
) -> pl.DataFrame:
    """Each occurrence's JSON object as Braze receives it, e.g. ``{"external_id":"amp-1",
    "product_id":"SKU-1","currency":"USD","price":19.99,"quantity":2,
    "time":"2026-11-30T14:03:00.000Z","properties":{"product_name":"Wool coat"}}``: its one
    identifier is the person's key in ``IDENTIFIER`` (the amperity_id when absent), as their
    attributes object carries it (a user_alias object for an alias key)."""
    if IDENTIFIER not in events.columns:
        events = events.with_columns(pl.col(PERSON).alias(IDENTIFIER))
    time = pl.col("time").dt.strftime(TIME_FORMAT).alias("time")
    is_alias = pl.col(IDENTIFIER).str.starts_with(ALIAS_KEY_PREFIX)
    if identifier_type == "user_alias":
        is_alias = pl.lit(True)
    own = pl.struct(pl.col(IDENTIFIER).alias(identifier_type)).struct.json_encode().str.head(-1)
    alias = pl.lit('{"user_alias":') + pl.col(IDENTIFIER)
    identifier = pl.when(is_alias).then(alias).otherwise(own)
    purchase = pl.struct(
        pl.col("name").alias("product_id"), "currency", "price", "quantity", time
    ).struct.json_encode()
    event = pl.struct("name", time).struct.json_encode()
    body = pl.when(pl.col("kind") == PURCHASE).then(purchase).otherwise(event).str.slice(1)
    head = pl.concat_str([identifier, pl.lit(","), body.str.head(-1)])
    # As the attributes objects: an alias object says false unless the destination only
    # updates (for user_alias Braze defaults it to true and would create no profile).
    switch = (
        pl.lit("," + UPDATE_ONLY_MARK)
        if update_existing_only
        else pl.when(is_alias).then(pl.lit(',"_update_existing_only":false')).otherwise(pl.lit(""))
    )
    properties = (
        pl.when(pl.col("properties") != "{}")
        .then(pl.lit(',"properties":') + pl.col("properties"))
        .otherwise(pl.lit(""))
    )
    return events.select(
        "event_key",
        "kind",
        pl.col("kind").replace_strict(ARRAYS, return_dtype=pl.String).alias("array"),
        pl.col(IDENTIFIER),
        "name",
        pl.concat_str([head, switch, properties, pl.lit("}")]).alias(OBJECT),
        "quantity",
        # What the event ledger keeps of a purchase keyed by occurrence (line_matching.py).
        *[
            pl.col(c) if c in events.columns else pl.lit(None, dtype).alias(c)
            for c, dtype in LINE_FACT_TYPES.items()
        ],
    )


def request_body(attribute_objects: list[str], events: pl.DataFrame | None) -> str:
    """One ``/users/track`` body: attributes, then purchases, then events; empty arrays left
    out."""
    parts = []
    if attribute_objects:
        parts.append('"attributes":[' + ",".join(attribute_objects) + "]")
    if events is not None and events.height:
        for array in ("purchases", "events"):
            objects = events.filter(pl.col("array") == array).get_column(OBJECT).to_list()
            if objects:
                parts.append(f'"{array}":[' + ",".join(objects) + "]")
    return "{" + ",".join(parts) + "}"


def indexed(events: pl.DataFrame) -> pl.DataFrame:
    """A request's occurrences with their ``index`` in their array (as Braze's errors name
    them)."""
    return events.with_columns(pl.int_range(pl.len()).over("array").cast(pl.Int64).alias("index"))


def event_chunks(
    objects: pl.DataFrame, size: int, max_bytes: int, room: int
) -> Iterator[pl.DataFrame]:
    """The occurrences in request-sized chunks: first the ``room`` that fill the last attribute
    request (when ``room``), then requests of ``size``; a chunk whose body would pass
    ``max_bytes`` is halved until it fits."""
    start = 0
    if room > 0 and objects.height:
        yield objects.slice(0, room)
        start = min(room, objects.height)
    for low in range(start, objects.height, max(1, size)):
        pending = [objects.slice(low, size)]
        while pending:
            chunk = pending.pop(0)
            if len(request_body([], chunk).encode()) > max_bytes and chunk.height > 1:
                middle = chunk.height // 2
                pending[:0] = [chunk.slice(0, middle), chunk.slice(middle)]
                continue
            yield chunk


def outcomes(events: pl.DataFrame, result: TrackResult) -> pl.DataFrame:
    """Per occurrence of a request: ``status`` (the event ledger's) and ``reason``.

    An answer Braze gave with ``errors``: the named ones rejected, the others accepted (201) or
    not applied (a 400 applies nothing). No answer: ``unknown`` when an attempt may have
    reached Braze (a dropped connection, a read timeout), else ``unsent`` (429s, 5xx answers
    and connections never made apply nothing): sent again by the next run.
    """
    named = [
        (error.input_array, error.index, error.reason)
        for error in result.errors
        if error.input_array in ("purchases", "events")
    ]
    reasons = pl.DataFrame(
        named, schema={"array": pl.String, "index": pl.Int64, "reason": pl.String}, orient="row"
    ).unique(["array", "index"], keep="first", maintain_order=True)
    rows = events.join(reasons, on=["array", "index"], how="left", maintain_order="left")
    # An update-only occurrence refused for want of a profile is not settled: the person may
    # get one (the app, another source) and the next run offers it again.
    no_profile = pl.col("reason").str.contains(NO_PROFILE_ERROR, literal=True).fill_null(False)
    if result.outcome == "unknown":
        status = pl.lit(UNKNOWN if result.ambiguous_attempts else UNSENT)
        reason = pl.lit(result.message or "no answer")
    elif result.outcome == "rejected":
        status = (
            pl.when(pl.col("reason").is_not_null() & ~no_profile)
            .then(pl.lit(REJECTED))
            .otherwise(pl.lit(UNSENT))
        )
        reason = (
            pl.when(no_profile)
            .then(pl.lit(NO_PROFILE_IN_BRAZE))
            .otherwise(
                pl.col("reason").fill_null(pl.lit(result.message or f"HTTP {result.status}"))
            )
        )
    else:
        status = (
            pl.when(no_profile)
            .then(pl.lit(UNSENT))
            .when(pl.col("reason").is_not_null())
            .then(pl.lit(REJECTED))
            .otherwise(pl.lit(ACCEPTED))
        )
        reason = pl.when(no_profile).then(pl.lit(NO_PROFILE_IN_BRAZE)).otherwise(pl.col("reason"))
    return rows.with_columns(status=status, reason=reason)


def log_rows(events: pl.DataFrame, run_id: str, batch: int, dry_run: bool) -> pl.DataFrame:
    """The sync log's rows for a request's occurrences (same columns as the attributes'):
    ``fields`` says ``purchases:<product>`` or ``events:<name>``; data points 1 (Braze bills
    each custom event and each purchase recorded as one data point, as each attribute value
    set); ``new`` null (not a profile)."""
    if dry_run:
        outcome, reason = pl.lit("dry_run"), pl.lit(None, pl.String)
    else:
        # unsent: Braze applied nothing and the next run sends it again, as the log says of
        # attribute rows without an answer.
        outcome = pl.col("status").replace({UNSENT: UNKNOWN, PENDING: UNKNOWN})
        reason = pl.col("reason")
    return events.select(
        pl.lit(run_id, pl.String).alias("run_id"),
        pl.lit(batch, pl.Int64).alias("batch"),
        pl.col(IDENTIFIER),
        pl.concat_list(pl.format("{}:{}", "array", "name")).alias("fields"),
        pl.lit(1, pl.Int64).alias("data_points"),
        outcome.cast(pl.String).alias("outcome"),
        reason.cast(pl.String).alias("reason"),
        pl.col(OBJECT).alias("object"),
        pl.lit(None, pl.Boolean).alias("new"),
    )


def count_outcomes(figures: EventFigures, rows: pl.DataFrame, dry_run: bool) -> None:
    if dry_run:
        for kind, n in rows.group_by("kind").len().iter_rows():
            figures.outcomes[(kind, "dry_run")] += n
        return
    for kind, status, n in rows.group_by("kind", "status").len().iter_rows():
        figures.outcomes[(kind, status)] += n
    figures.no_profile_in_braze += rows.filter(pl.col("reason") == NO_PROFILE_IN_BRAZE).height
