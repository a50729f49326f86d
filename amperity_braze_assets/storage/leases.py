"""Leases: one holder at a time for a named thing (a sync ledger), kept in the one storage layer,
so local folders and S3 prefixes alike, and across processes, pods and machines.

A lease is a sequence of small JSON files, ``leases/<name>/<generation>.json``; the highest
generation says who holds the name, until when, or that it was released. Every change of hands
writes the next generation with ``Storage.create`` (create-if-absent, atomic: a hard link
locally, a conditional put on S3), so of two processes that both saw the name free, or both saw
its holder's lease expired, exactly one gets it; the other reads the winner and waits. The
holder renews by rewriting its own generation (an atomic replace) and learns on renewal that it
lost the lease if a later generation exists (it stalled past its expiry and was taken over).

Times are wall-clock seconds (the holders may be on different machines): a holder's clock that
runs ahead or behind shortens or lengthens its lease by the skew, which is why leases last
minutes and are renewed a few times within that.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from amperity_braze_assets.storage.files import Storage, Target

LEASES = "leases"
GENERATION_DIGITS = 12
# How many times a lost creation race is retried before answering with the winner's lease.
RACE_RETRIES = 20


@dataclass(frozen=True)
class Lease:
    """One generation of a name's lease: who holds it (a run id), since and until when."""

    name: str
    generation: int
    holder: str
    token: str  # this acquisition: the same run taking the name twice holds two tokens
    acquired_at: float
    expires_at: float
    host: str = ""
    released: bool = False

    def is_free(self, now: float) -> bool:
        return self.released or self.expires_at <= now

    def describe(self) -> str:
        """``run <id> on <host>, since <time> UTC, until <time> UTC``: for messages."""
        return (
            f"run {self.holder} on {self.host or 'an unknown host'}, since "
            f"{_utc(self.acquired_at)} UTC, until {_utc(self.expires_at)} UTC unless renewed"
        )

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()


class LeaseLost(RuntimeError):
    """The holder's lease was taken over: a later generation exists."""

    def __init__(self, lease: Lease, taker: Lease | None):
        self.lease = lease
        self.taker = taker
        by = taker.describe() if taker else "another run"
        super().__init__(
            f"the lease on {lease.name!r} of run {lease.holder} was taken over by {by}"
        )


class Leases:
    """The leases under ``leases/`` of a storage."""

    def __init__(self, storage: Storage, clock: Callable[[], float] = time.time):
        self.storage = storage
        self.clock = clock

    def current(self, name: str) -> Lease | None:
        """The latest generation of ``name``'s lease, or None when it was never taken."""
        for _ in range(RACE_RETRIES):
            generations = self._generations(name)
            if not generations:
                return None
            try:
                return self._read(name, generations[-1])
            except FileNotFoundError:
                continue  # pruned between the listing and the read: list again
        return None

    def try_acquire(self, name: str, holder: str, seconds: float) -> tuple[Lease | None, Lease]:
        """``(lease, lease)`` when ``holder`` now holds ``name`` for ``seconds``; ``(None,
        holder's lease)`` when another holds it. A lease that expired (its holder crashed, or
        stalled past its expiry) or that the same holder left behind is taken over."""
        for _ in range(RACE_RETRIES):
            latest = self.current(name)
            now = self.clock()
            if latest is not None and not latest.is_free(now) and latest.holder != holder:
                return None, latest
            lease = Lease(
                name=name,
                generation=(latest.generation + 1) if latest else 1,
                holder=holder,
                token=uuid.uuid4().hex,
                acquired_at=now,
                expires_at=now + seconds,
                host=socket.gethostname(),
            )
            if self.storage.create(self._key(name, lease.generation), lease.to_bytes()):
                if self._generations(name)[-1] == lease.generation:
                    self._prune(name, lease.generation)
                    return lease, lease
                # A stale listing made us recreate a pruned generation below the latest: not
                # the holder's; take it back and look again.
                self.storage.delete(self._key(name, lease.generation))
        latest = self.current(name)
        if latest is None:
            raise RuntimeError(f"lease {name!r}: could not be created or read")
        return None, latest

    def renew(self, lease: Lease, seconds: float) -> Lease:
        """Extend ``lease`` to ``seconds`` from now; ``LeaseLost`` when it was taken over."""
        generations = self._generations(lease.name)
        if generations and generations[-1] != lease.generation:
            raise LeaseLost(lease, self.current(lease.name))
        renewed = replace(lease, expires_at=self.clock() + seconds)
        self.storage.replace(self._key(lease.name, lease.generation), _writer(renewed.to_bytes()))
        return renewed

    def release(self, lease: Lease) -> None:
        """Hand the name back: the next generation says released (unless it was taken over)."""
        released = replace(
            lease, generation=lease.generation + 1, released=True, expires_at=self.clock()
        )
        self.storage.create(self._key(lease.name, released.generation), released.to_bytes())

    def _key(self, name: str, generation: int) -> str:
        return f"{LEASES}/{name}/{generation:0{GENERATION_DIGITS}d}.json"

    def _generations(self, name: str) -> list[int]:
        prefix = f"{LEASES}/{name}/"
        found = []
        for stored in self.storage.list(prefix):
            stem = stored.key[len(prefix) :].removesuffix(".json")
            if stem.isdigit() and len(stem) == GENERATION_DIGITS:
                found.append(int(stem))
        return sorted(found)

    def _read(self, name: str, generation: int) -> Lease:
        return Lease(**json.loads(self.storage.read(self._key(name, generation)).data))

    def _prune(self, name: str, latest: int) -> None:
        """Drop generations two or more behind the latest: the history is not needed, and the
        latest is never deleted, so generation numbers only grow."""
        for generation in self._generations(name):
            if generation < latest - 1:
                self.storage.delete(self._key(name, generation))


def _writer(data: bytes) -> Callable[[Target], int]:
    def write(target: Target) -> int:
        if isinstance(target, str):
            with open(target, "wb") as handle:
                return handle.write(data)
        return target.write(data)

    return write


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
