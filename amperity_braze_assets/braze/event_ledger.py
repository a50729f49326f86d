"""The event ledger: which purchase and event occurrences Braze has been sent, so each reaches
it once across runs (Braze does not deduplicate: every object it applies is a new event).

Beside the attribute ledger (``ledger.py``), same ledger name and state tables, same write
order, under ``braze/<ledger>/``:

- ``events.v1``: the compacted table, one row per ``event_key``: its ``status``, ``reason``
  (Braze's, when rejected), the ``run_id`` and the time it was recorded;
- ``event_segments.v1/<sequence>``: statuses written during a run, the latest per key wins.

Statuses, and why each exists:
- ``pending``: written durably *before* the request holding the occurrence is sent
  (write-ahead). Found at the start of a run, the process died after it may have sent it: its
  outcome is unknown.
- ``accepted`` / ``rejected``: Braze's answer (never sent again).
- ``unknown``: the request may have been applied and no answer came (a dropped connection, a
  read timeout).
- ``skipped_unknown``: an unknown outcome the destination chose not to resend
  (``on_unknown: skip``): never sent again, counted once in the run that decided it.
- ``unsent``: Braze provably applied nothing (a 429 or 5xx answer, a 400, a connection never
  made): sent again by the next run like an occurrence never seen.

Written only by the sync that holds the ledger's lease (``ledger_lock.py``).

One event ledger per destination, whatever the number of sync shards: a shard writes its own
keys in its shard ledger's folder (``braze/<ledger>/shard-<i>-of-<n>/``) and compacts only its
own files, so shards running at once never lose each other's segments; every shard *reads* the
statuses of the whole destination (the unsharded folder and every shard folder, of any shard
count). Changing ``AMPERITY_BRAZE_SYNC_SHARDS`` therefore resends nothing: a key sent under one
shard count is settled under another. A settled status wins over any other of the same key.

``quantity``: a purchase's quantity when it was sent, so a line whose quantity changed after
Braze accepted it (a partial refund re-exported) is counted, never resent: Braze takes no
negative purchases.
"""

from __future__ import annotations

import polars as pl

from amperity_braze_assets.braze.ledger import Ledger

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
UNKNOWN, SKIPPED_UNKNOWN, UNSENT = "unknown", "skipped_unknown", "unsent"
# Never sent again, whatever the destination says.
SETTLED = (ACCEPTED, REJECTED, SKIPPED_UNKNOWN)
# Sent, outcome not known: resent only when the destination allows it.
UNRESOLVED = (PENDING, UNKNOWN)
EVENT_LEDGER_SCHEMA = {
    "event_key": pl.String,
    "status": pl.String,
    "reason": pl.String,
    "run_id": pl.String,
    "recorded_at": pl.Datetime("us", "UTC"),
    "quantity": pl.Int64,
    # A purchase keyed by its occurrence among its order's lines of its product: its line
    # group (the key's text without the occurrence), occurrence, unit price and first unit, so
    # a re-exported order's lines are matched to the keys sent (braze/line_matching.py).
    "line_group": pl.String,
    "occurrence": pl.Int64,
    "price": pl.Float64,
    "first_unit": pl.Int64,
}
# Facts of a key that hold whatever its status: kept from whichever of its rows has them.
LINE_FACTS = ("line_group", "occurrence", "price", "first_unit")
COMPACTED = "events.v1"
SEGMENTS = "event_segments.v1"
# How a shard's ledger is named under its destination's (braze/sync_assets.py shard_ledger).
SHARD_MARK = "/shard-"


def destination_ledger(name: str) -> str:
    """The destination's ledger a (possibly shard) ledger name belongs to."""
    return name.strip("/").split(SHARD_MARK)[0]


class EventLedger(Ledger):
    """The event side of one destination's ledger (the same name and write order)."""

    def record(self, keys: pl.Series, status: str, run_id: str) -> str | None:
        """Persist ``status`` for ``keys`` (one segment, durable before this returns)."""
        frame = pl.DataFrame({"event_key": keys.cast(pl.String)}).with_columns(
            status=pl.lit(status, pl.String), reason=pl.lit(None, pl.String)
        )
        return self.record_outcomes(frame, run_id)

    def record_outcomes(self, outcomes: pl.DataFrame, run_id: str) -> str | None:
        """Persist per-key outcomes: ``event_key``, ``status``, ``reason``."""
        if outcomes.height == 0:
            return None

        def kept(name: str) -> pl.Expr:
            value = pl.col(name) if name in outcomes.columns else pl.lit(None)
            return value.cast(EVENT_LEDGER_SCHEMA[name]).alias(name)

        frame = outcomes.select(
            pl.col("event_key").cast(pl.String),
            pl.col("status").cast(pl.String),
            pl.col("reason").cast(pl.String),
            pl.lit(run_id, pl.String).alias("run_id"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("recorded_at"),
            kept("quantity"),
            *[kept(name) for name in LINE_FACTS],
        ).with_columns(recorded_at=_now())
        return self._write_in_order(SEGMENTS, frame)

    def statuses(self) -> pl.DataFrame:
        """The latest status of every key of the destination, its shards' included (segments
        applied in memory; nothing written)."""
        prefix = f"braze/{destination_ledger(self.name)}/"
        names = [n for n in self.store.list(prefix) if _is_event_table(n[len(prefix) :])]
        return _fold(self.store, names)

    def own_statuses(self) -> pl.DataFrame:
        """The latest status of every key this ledger itself wrote (its own folder: one shard's,
        or the unsharded destination's), not another shard's."""
        names = [self._table(COMPACTED), *self.store.list(self._table(f"{SEGMENTS}/"))]
        return _fold(self.store, names)

    def compact_events(self) -> pl.DataFrame:
        """Fold this ledger's own segments into its ``events.v1`` and delete them (never another
        shard's: it may be writing now); the destination's latest status per key."""
        names = self.store.list(self._table(f"{SEGMENTS}/"))
        if names:
            own = _fold(self.store, [self._table(COMPACTED), *names])
            self.store.write(self._table(COMPACTED), own)
            for name in names:
                self.store.delete(name)
        return self.statuses()


def _is_event_table(relative: str) -> bool:
    """Whether a name under a destination's folder is one of its event tables: its own or a
    shard's (``shard-<i>-of-<n>/...``)."""
    if relative.startswith(SHARD_MARK[1:]):
        relative = relative.partition("/")[2]
    return relative == COMPACTED or relative.startswith(f"{SEGMENTS}/")


def _fold(store, names: list[str]) -> pl.DataFrame:
    """The latest status per key of these tables: a settled one if any, else the last recorded
    (tables listed in write order within a ledger, compacted first)."""
    frames = [f for f in (store.read(n) for n in names) if f is not None]
    stacked = pl.concat(
        [pl.DataFrame(schema=EVENT_LEDGER_SCHEMA), *frames], how="diagonal_relaxed"
    ).select(list(EVENT_LEDGER_SCHEMA))
    latest = stacked.sort(
        [pl.col("status").is_in(SETTLED), "recorded_at"], maintain_order=True, nulls_last=False
    ).unique("event_key", keep="last", maintain_order=True)
    with_facts = stacked.filter(pl.col("line_group").is_not_null())
    if with_facts.height:  # an outcome recorded without them (a 'skipped' decision) keeps them
        facts = with_facts.unique("event_key", keep="last").select("event_key", *LINE_FACTS)
        latest = (
            latest.drop(LINE_FACTS)
            .join(facts, on="event_key", how="left", maintain_order="left")
            .select(list(EVENT_LEDGER_SCHEMA))
        )
    return latest.cast(EVENT_LEDGER_SCHEMA)


def _now() -> pl.Expr:
    import datetime as dt

    return pl.lit(dt.datetime.now(dt.UTC), pl.Datetime("us", "UTC"))
