"""One sync per ledger: a lease on the ledger in the state store, held for the whole sync.

Two syncs of one ledger at once would each diff against the same ledger and send the same
changes twice (data points billed twice, segments interleaved). ``hold_ledger`` takes the
ledger's lease (``storage/leases.py``, beside the ledger in the state store, so local or S3, and
across processes and pods), renews it from a background thread while the sync runs, and releases
it at the end, on error too. A second sync waits, up to ``wait_seconds``, then gives up with
``LedgerBusy``, whose message names the run that holds the ledger and how to retry; it has sent
nothing. A holder that crashed stops renewing, and its lease is taken over once it expires.

A holder that stalls past its own expiry (a frozen process) may find on waking that another
sync took the ledger: ``LedgerHold.check`` then raises ``LedgerLost``, and the sync stops before
its next batch (what Braze confirmed so far is in the ledger either way).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from amperity_braze_assets.storage.leases import Lease, LeaseLost, Leases

log = logging.getLogger("amperity_braze_assets.braze")


@dataclass(frozen=True)
class LockSettings:
    """How long a lease lasts between renewals and how long a second sync waits."""

    lease_seconds: float = 120.0  # renewed every third of it
    wait_seconds: float = 600.0
    poll_seconds: float = 5.0


class LedgerBusy(RuntimeError):
    """Another run holds the ledger and did not let go within the wait."""

    def __init__(self, ledger: str, run_id: str, holder: Lease, waited: float):
        self.holder = holder
        super().__init__(
            f"ledger '{ledger}' is being synced by {holder.describe()}. This run ({run_id}) "
            f"waited {waited:,.0f} s and sent nothing to Braze. To retry: re-execute this run "
            f"once run {holder.holder} has finished (or wait for the next schedule, which "
            f"continues from the ledger). If run {holder.holder} crashed, its lease expires at "
            "the time above and the next sync takes it over. "
            "AMPERITY_BRAZE_LEDGER_WAIT_SECONDS sets how long a sync waits."
        )


class LedgerLost(RuntimeError):
    """The lease was taken over while this sync ran: it must stop sending."""


def lease_name(ledger: str) -> str:
    return f"braze/{ledger.strip('/')}"


class LedgerHold:
    """A held ledger lease, renewed every third of its length until ``stop``."""

    def __init__(self, leases: Leases, lease: Lease, settings: LockSettings, ledger: str):
        self.leases = leases
        self.lease = lease
        self.settings = settings
        self.ledger = ledger
        self._lost: str | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="ledger-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def check(self) -> None:
        """Raise ``LedgerLost`` when the lease was taken over or could not be renewed in time."""
        if self._lost is None and self.leases.clock() >= self.lease.expires_at:
            self._lost = "its lease expired before it could be renewed"
        if self._lost is not None:
            raise LedgerLost(
                f"run {self.lease.holder} stopped syncing ledger '{self.ledger}': {self._lost}. "
                "The batches Braze confirmed are in the ledger; the next sync continues from it."
            )

    def renew(self) -> None:
        """Extend the lease once; a takeover is remembered for ``check``, a store that does not
        answer is logged and tried again at the next renewal."""
        try:
            self.lease = self.leases.renew(self.lease, self.settings.lease_seconds)
        except LeaseLost as exc:
            self._lost = str(exc)
        except Exception as exc:  # the store unreachable: its expiry is checked in ``check``
            log.warning("could not renew the lease on ledger %r: %s", self.ledger, exc)

    def _renew(self) -> None:
        while self._lost is None and not self._stopped.wait(self.settings.lease_seconds / 3):
            self.renew()


@contextmanager
def hold_ledger(
    leases: Leases,
    ledger: str,
    run_id: str,
    settings: LockSettings = LockSettings(),
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LedgerHold]:
    """Hold ``ledger`` for ``run_id`` while the block runs: wait for it (``LedgerBusy`` after
    ``settings.wait_seconds``), renew it, release it at the end, on error too."""
    lease = wait_for_ledger(leases, ledger, run_id, settings, sleep=sleep)
    hold = LedgerHold(leases, lease, settings, ledger)
    hold.start()
    try:
        yield hold
    finally:
        hold.stop()
        leases.release(hold.lease)


def wait_for_ledger(
    leases: Leases,
    ledger: str,
    run_id: str,
    settings: LockSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease:
    """The ledger's lease for ``run_id``, polling every ``poll_seconds`` while another holds it;
    ``LedgerBusy`` once ``wait_seconds`` have passed (on the leases' clock)."""
    started = leases.clock()
    logged = False
    while True:
        lease, holder = leases.try_acquire(lease_name(ledger), run_id, settings.lease_seconds)
        if lease is not None:
            return lease
        waited = leases.clock() - started
        if waited >= settings.wait_seconds:
            raise LedgerBusy(ledger, run_id, holder, waited)
        if not logged:
            log.info("ledger %r is held by %s; waiting", ledger, holder.describe())
            logged = True
        sleep(min(settings.poll_seconds, max(0.0, settings.wait_seconds - waited)))
