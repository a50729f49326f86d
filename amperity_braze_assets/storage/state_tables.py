"""State that must survive runs: named Parquet tables written atomically, over the one storage
layer (``storage/files.py``), so local or S3 alike.

Identity ids of the previous run, the sync ledger and the Currents cursors and tables live here
explicitly, never inferred from logs. Each table's name carries its format version
(``identity/assignments.v1``) so a change of layout starts a new file instead of misreading an
old one.

Local writes are flushed to disk around the rename (``replace_file``, durable): a crash (even
SIGKILL, or a power cut) before the rename leaves the previous complete table and a
``.<name>.*.tmp`` file that no read or listing ever takes for state; temporaries older than
``STALE_TEMP_SECONDS`` are removed when their folder is listed. S3 puts are atomic. An S3
failure (the endpoint down, a connection cut mid-read) raises ``StateStoreError`` naming the
table and location; nothing is cached, so the same call succeeds once the store is back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import polars as pl

from amperity_braze_assets.storage.files import Storage, is_s3_url
from amperity_braze_assets.storage.leases import Leases
from amperity_braze_assets.storage.parquet_files import read_table, write_table

SUFFIX = ".parquet"
# Every amperity_id identity resolution retired by merging it into another person, and the id
# that person holds now (``retired_id``, ``amperity_id``): written by the identity room, read by
# the Currents room, whose events Braze keyed by the retired id count for the survivor.
RETIRED_IDS = "identity/retired_ids.v1"
Result = TypeVar("Result")


class TableStore(Protocol):
    """What every state user takes: ``StateTables``, or the Dagster ``StateStore`` wrapping it."""

    def read(self, name: str) -> pl.DataFrame | None: ...

    def write(self, name: str, frame: pl.DataFrame) -> str: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, name: str) -> None: ...

    def remove_stale_temporaries(self, prefix: str) -> int: ...

    def leases(self) -> Leases: ...


class StateStoreError(OSError):
    """The store could not be reached or answered with an error; the message names the table."""


class StateTables:
    """Reads and atomically replaces named state tables in a storage."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def read(self, name: str) -> pl.DataFrame | None:
        """The stored table, or None when it was never written."""
        try:
            source = self._guarded("read", name, lambda: self.storage.readable(name + SUFFIX))
        except FileNotFoundError:
            return None
        return read_table(source)

    def write(self, name: str, frame: pl.DataFrame) -> str:
        key = name + SUFFIX
        self._guarded(
            "write",
            name,
            lambda: self.storage.replace(
                key, lambda target: write_table(frame, target), durable=True
            ),
        )
        return self.storage.location(key)

    def list(self, prefix: str) -> list[str]:
        """Names of the stored tables under ``prefix`` (a name prefix, e.g. ``braze/x/segments/``),
        sorted, without the ``.parquet`` suffix: what ``read`` and ``delete`` take."""
        self.storage.remove_stale_temporaries(prefix)  # a crashed writer's leftovers
        listed = self._guarded("list", prefix, lambda: self.storage.list(prefix))
        return sorted(f.key[: -len(SUFFIX)] for f in listed if f.key.endswith(SUFFIX))

    def remove_stale_temporaries(self, prefix: str) -> int:
        """Remove crashed writers' leftovers in the folder of ``prefix`` (local stores only; S3
        puts leave none). ``list`` does the same for the folders it scans."""
        return self.storage.remove_stale_temporaries(prefix)

    def delete(self, name: str) -> None:
        """Remove a stored table; removing one that does not exist is not an error."""
        self._guarded("delete", name, lambda: self.storage.delete(name + SUFFIX))

    def leases(self) -> Leases:
        """The leases kept beside the tables (``leases/``): one sync per ledger."""
        return Leases(self.storage)

    def _guarded(self, action: str, name: str, call: Callable[[], Result]) -> Result:
        """``call()``; an S3 failure other than a missing file is raised naming the table. Local
        errors keep their own message (it names the file)."""
        try:
            return call()
        except FileNotFoundError:
            raise
        except Exception as exc:  # botocore and urllib3 errors: endpoint down, cut reads
            if not is_s3_url(self.storage.url):
                raise
            location = self.storage.location(name if action == "list" else name + SUFFIX)
            raise StateStoreError(
                f"state table {name!r}: could not {action} {location} "
                f"({type(exc).__name__}: {exc}). "
                "Nothing was taken as state; retry once the S3 endpoint answers again."
            ) from exc
