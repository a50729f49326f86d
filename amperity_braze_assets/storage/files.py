"""The one storage layer: list, read, write (an atomic replace) and delete files under a root,
a local folder or an S3 prefix, behind one ``Storage`` protocol.

Every state user reaches files through it: the Parquet I/O manager, the state tables (sync
ledger, identity's ids, Currents cursors and tables), the Currents source and the source
readers. S3 access goes through a boto3-style client handed in by the caller (the Dagster layer
passes dagster-aws's ``S3Resource`` client), so this module stays free of Dagster and of
credentials.

Keys are relative to the root and use ``/``. A file that is not there raises
``FileNotFoundError`` on either side; any other S3 failure (the endpoint down, a read cut
midway) is raised as botocore gave it, for the caller to name what it was doing.

Local writes go to a dot-prefixed temporary file in the same folder renamed into place
(``replace_file``): a reader sees the old file or the new one, never part of one. Listings skip
dot-files, so an in-progress temporary is never taken for a file. S3 puts are atomic by nature.

``create`` writes a file only when none exists under its key, atomically: of two writers racing
for one key, exactly one succeeds (a hard link of a complete temporary locally, a conditional
put with ``If-None-Match: *`` on S3). The ledger leases (``storage/leases.py``) stand on it.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

STALE_TEMP_SECONDS = 3600.0  # older than any write: left by a crashed writer

Written = TypeVar("Written")
# What a write callback receives: a local temporary path, or an in-memory buffer for S3.
Target = str | IO[bytes]


@dataclass(frozen=True)
class StoredFile:
    """A listed file: its key, size, when it last changed, and what identifies its content
    cheaply (the modification time in nanoseconds locally, the ETag on S3)."""

    key: str
    size: int
    last_modified: datetime
    version: str


@dataclass(frozen=True)
class StoredBytes:
    data: bytes
    last_modified: datetime


class Storage(Protocol):
    url: str  # the root: a local folder or s3://bucket/prefix

    def location(self, key: str) -> str: ...

    def list(self, prefix: str = "") -> list[StoredFile]: ...

    def read(self, key: str) -> StoredBytes: ...

    def readable(self, key: str) -> Target: ...

    def replace(
        self, key: str, write: Callable[[Target], Written], *, durable: bool = False
    ) -> Written: ...

    def create(self, key: str, data: bytes) -> bool: ...

    def delete(self, key: str) -> None: ...

    def remove_stale_temporaries(self, prefix: str) -> int: ...


# What S3 answers a conditional put that lost: the key exists (412), or another conditional
# write to it is in flight (409); either way this writer did not create the object.
S3_CREATE_LOST = ("PreconditionFailed", "ConditionalRequestConflict")


def is_s3_url(url: str) -> bool:
    return url.startswith("s3://")


def split_s3_url(url: str) -> tuple[str, str]:
    without_scheme = url[len("s3://") :]
    bucket, _, key = without_scheme.partition("/")
    return bucket, key


def storage_for(url: str, s3_client: Any = None) -> Storage:
    """The storage rooted at ``url``: an s3:// prefix (through ``s3_client``) or a local folder."""
    if is_s3_url(url):
        bucket, prefix = split_s3_url(url.rstrip("/"))
        return S3Storage(s3_client, bucket, prefix)
    return LocalStorage(url)


def storage_of_file(location: str, s3_client: Any = None) -> tuple[Storage, str]:
    """The storage holding one file named by its full path or s3:// URL, and its key there."""
    if is_s3_url(location):
        bucket, key = split_s3_url(location)
        return S3Storage(s3_client, bucket), key
    path = Path(location)
    return LocalStorage(path.parent), path.name


class LocalStorage:
    """Files under a local folder (created on the first write)."""

    def __init__(self, root: Path | str):
        # Kept as given (not resolved): locations shown to users read as configured.
        self.url = str(root).rstrip("/") or "/"
        self.root = Path(root)

    def location(self, key: str) -> str:
        return f"{self.url}/{key}" if self.url != "/" else f"/{key}"

    def list(self, prefix: str = "") -> list[StoredFile]:
        folder = self.root / prefix.rpartition("/")[0]
        if not folder.is_dir():
            return []
        found = []
        for path in folder.rglob("*"):
            # Dot-files are the in-progress temporaries of an atomic write: not arrived yet.
            if path.name.startswith(".") or not path.is_file():
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                stat = path.stat()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                found.append(StoredFile(key, stat.st_size, modified, str(stat.st_mtime_ns)))
        return sorted(found, key=lambda stored: stored.key)

    def read(self, key: str) -> StoredBytes:
        path = self.root / key
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return StoredBytes(path.read_bytes(), modified)

    def readable(self, key: str) -> Target:
        """The file's path (read in place, never copied into memory)."""
        location = self.location(key)
        if not os.path.exists(location):
            raise FileNotFoundError(f"{location} does not exist")
        return location

    def replace(
        self, key: str, write: Callable[[Target], Written], *, durable: bool = False
    ) -> Written:
        return replace_file(Path(self.location(key)), write, durable=durable)

    def create(self, key: str, data: bytes) -> bool:
        """Write ``data`` under ``key`` only if no file is there: True when this call created it.

        The bytes go to a flushed temporary first, hard-linked to the key (``link`` fails when
        the name exists, atomically): a reader never sees a created file half written, which an
        ``O_CREAT | O_EXCL`` open followed by a write would show.
        """
        path = Path(self.location(key))

        def link(temporary: str) -> bool:
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                return False
            return True

        return _with_temporary(path, link)

    def delete(self, key: str) -> None:
        """Remove a file; removing one that does not exist is not an error."""
        try:
            os.unlink(self.location(key))
        except FileNotFoundError:
            pass

    def remove_stale_temporaries(self, prefix: str) -> int:
        """Remove crashed writers' leftovers in the folder of ``prefix``: temporaries older than
        ``STALE_TEMP_SECONDS`` (a live writer's file is younger)."""
        folder = self.location(prefix).rpartition("/")[0]
        if not os.path.isdir(folder):
            return 0
        stale_before = time.time() - STALE_TEMP_SECONDS
        removed = 0
        for entry in os.scandir(folder):
            if entry.is_file() and _is_temporary(entry.name):
                if entry.stat().st_mtime < stale_before:
                    try:
                        os.unlink(entry.path)
                        removed += 1
                    except FileNotFoundError:
                        pass
        return removed


class S3Storage:
    """Objects under ``s3://bucket/prefix/``; a key is the object key after the prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    def _object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"{self.url}/{key}"

    def list(self, prefix: str = "") -> list[StoredFile]:
        found = []
        start = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._object_key(prefix)):
            for item in page.get("Contents", []):
                found.append(
                    StoredFile(
                        key=item["Key"][start:],
                        size=int(item.get("Size", 0)),
                        last_modified=item["LastModified"].astimezone(UTC),
                        version=str(item.get("ETag", "")),
                    )
                )
        return found  # S3 lists in key order

    def read(self, key: str) -> StoredBytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(f"{self.location(key)} does not exist ({exc})") from exc
        data = response["Body"].read()
        return StoredBytes(data, response["LastModified"].astimezone(UTC))

    def readable(self, key: str) -> Target:
        """The object's bytes, in memory."""
        return io.BytesIO(self.read(key).data)

    def replace(
        self, key: str, write: Callable[[Target], Written], *, durable: bool = False
    ) -> Written:
        """``write`` fills a buffer, put in one request: S3 puts are atomic (and durable)."""
        buffer = io.BytesIO()
        result = write(buffer)
        self.client.put_object(
            Bucket=self.bucket, Key=self._object_key(key), Body=buffer.getvalue()
        )
        return result

    def create(self, key: str, data: bytes) -> bool:
        """A conditional put (``If-None-Match: *``): True when this call created the object."""
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._object_key(key), Body=data, IfNoneMatch="*"
            )
        except Exception as exc:  # botocore's ClientError, without importing botocore here
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in S3_CREATE_LOST:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def remove_stale_temporaries(self, prefix: str) -> int:
        return 0  # puts leave no temporaries


def replace_file(path: Path, write: Callable[[str], Written], *, durable: bool) -> Written:
    """``write(temporary path)``, then the temporary renamed onto ``path``: a reader sees the old
    file or the new one, never part of one, even if the process is killed mid-write (the
    temporary, ``.<name>.<random>.tmp``, is left for cleanup).

    ``durable``: the file and then its folder are flushed to disk around the rename, so a power
    cut or an OS crash cannot lose the new file or leave a torn one. State that cannot be
    recomputed (the sync ledger, identity's ids) asks for it; asset outputs, which a rerun
    rebuilds, skip the flush of gigabytes.
    """
    created = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]

    def write_and_rename(temporary: str) -> Written:
        result = write(temporary)
        if durable:
            _flush(temporary, os.O_RDONLY)
        os.replace(temporary, path)
        if durable and hasattr(os, "O_DIRECTORY"):  # POSIX: the rename itself is on disk,
            # and so is every folder made for it (an entry in its own parent).
            for folder in (path.parent, *(created_folder.parent for created_folder in created)):
                _flush(str(folder), os.O_RDONLY | os.O_DIRECTORY)
        return result

    return _with_temporary(path, write_and_rename)


def _with_temporary(path: Path, use: Callable[[str], Written]) -> Written:
    """``use(temporary)`` on a fresh ``.<name>.<random>.tmp`` beside ``path`` (its folders made),
    the temporary removed afterwards if still there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        return use(temporary)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _flush(location: str, flags: int) -> None:
    descriptor = os.open(location, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _is_temporary(filename: str) -> bool:
    """A ``replace_file`` in progress or abandoned: ``.<name>.<random>.tmp``."""
    return filename.startswith(".") and filename.endswith(".tmp")
