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
}
COMPACTED = "events.v1"
SEGMENTS = "event_segments.v1"


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
        frame = outcomes.select(
            pl.col("event_key").cast(pl.String),
            pl.col("status").cast(pl.String),
            pl.col("reason").cast(pl.String),
            pl.lit(run_id, pl.String).alias("run_id"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("recorded_at"),
        ).with_columns(recorded_at=_now())
        return self._write_in_order(SEGMENTS, frame)

    def statuses(self) -> pl.DataFrame:
        """The latest status of every key (segments applied in memory; nothing written)."""
        table, _ = self._fold_events()
        return table

    def compact_events(self) -> pl.DataFrame:
        """Fold the segments into ``events.v1`` and delete them; the latest status per key."""
        table, names = self._fold_events()
        if names:
            self.store.write(self._table(COMPACTED), table)
            for name in names:
                self.store.delete(name)
        return table

    def _fold_events(self) -> tuple[pl.DataFrame, list[str]]:
        base = self.store.read(self._table(COMPACTED))
        if base is None:
            base = pl.DataFrame(schema=EVENT_LEDGER_SCHEMA)
        names = self.store.list(self._table(f"{SEGMENTS}/"))
        frames = [f for f in (self.store.read(n) for n in names) if f is not None]
        if not frames:
            return base, names
        stacked = pl.concat([base, *frames], how="vertical_relaxed")
        # Names sort in write order, so the last row of a key is its latest status.
        latest = stacked.unique("event_key", keep="last", maintain_order=True)
        return latest.select(list(EVENT_LEDGER_SCHEMA)).cast(EVENT_LEDGER_SCHEMA), names


def _now() -> pl.Expr:
    import datetime as dt

    return pl.lit(dt.datetime.now(dt.UTC), pl.Datetime("us", "UTC"))
