"""State that must survive runs: named Parquet tables written atomically, locally or on S3.

Identity ids of the previous run (and later the sync ledger and Currents cursors) live here
explicitly, never inferred from logs. Each table's name carries its format version
(``identity/assignments.v1``) so a change of layout starts a new file instead of misreading an
old one.

Local writes go to a dot-prefixed temporary file in the same folder, flushed to disk and
renamed into place (``replace_file``): a crash (even SIGKILL, or a power cut) before the rename
leaves the previous complete table and a ``.<name>.*.tmp`` file that no read or listing ever
takes for state; temporaries older than ``STALE_TEMP_SECONDS`` are removed when their folder is
listed. S3 puts are atomic. An S3 failure (the endpoint down, a
connection cut mid-read) raises ``StateStoreError`` naming the table and location; nothing is
cached, so the same call succeeds once the store is back.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from pydantic import Field

from amperity_braze_assets.sources.files import split_s3_url
from amperity_braze_assets.storage.parquet_files import replace_file, write_table

STALE_TEMP_SECONDS = 3600.0  # older than any write: left by a crashed writer


class StateStoreError(OSError):
    """The store could not be reached or answered with an error; the message names the table."""


def _s3_error(action: str, name: str, location: str, exc: Exception) -> StateStoreError:
    return StateStoreError(
        f"state table {name!r}: could not {action} {location} ({type(exc).__name__}: {exc}). "
        "Nothing was taken as state; retry once the S3 endpoint answers again."
    )


class StateStore(dg.ConfigurableResource):
    """Reads and atomically replaces named state tables under a folder or an S3 prefix."""

    base_path: str = Field(description="A local folder, or s3://bucket/prefix.")
    s3: S3Resource | None = None

    def _location(self, name: str) -> str:
        return f"{self.base_path.rstrip('/')}/{name}.parquet"

    def read(self, name: str) -> pl.DataFrame | None:
        """The stored table, or None when it was never written."""
        location = self._location(name)
        if location.startswith("s3://"):
            bucket, key = split_s3_url(location)
            client = self._client()
            try:
                body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except client.exceptions.NoSuchKey:
                return None
            except Exception as exc:  # botocore and urllib3 errors: endpoint down, cut reads
                raise _s3_error("read", name, location, exc) from exc
            return pl.read_parquet(io.BytesIO(body))
        return pl.read_parquet(location) if os.path.exists(location) else None

    def write(self, name: str, frame: pl.DataFrame) -> str:
        location = self._location(name)
        if location.startswith("s3://"):
            buffer = io.BytesIO()
            write_table(frame, buffer)
            bucket, key = split_s3_url(location)
            try:
                self._client().put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
            except Exception as exc:
                raise _s3_error("write", name, location, exc) from exc
            return location
        replace_file(Path(location), lambda temporary: write_table(frame, temporary), durable=True)
        return location

    def list(self, prefix: str) -> list[str]:
        """Names of the stored tables under ``prefix`` (a name prefix, e.g. ``braze/x/segments/``),
        sorted, without the ``.parquet`` suffix: what ``read`` and ``delete`` take."""
        base = self.base_path.rstrip("/")
        names: list[str] = []
        if base.startswith("s3://"):
            bucket, key_prefix = split_s3_url(f"{base}/{prefix}")
            base_key = split_s3_url(f"{base}/")[1]
            paginator = self._client().get_paginator("list_objects_v2")
            try:
                for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
                    for item in page.get("Contents", []):
                        key = item["Key"]
                        if key.endswith(".parquet"):
                            names.append(key[len(base_key) : -len(".parquet")])
            except Exception as exc:
                raise _s3_error("list", prefix, f"s3://{bucket}/{key_prefix}", exc) from exc
            return sorted(names)
        folder, _, stem = f"{base}/{prefix}".rpartition("/")
        if not os.path.isdir(folder):
            return []
        relative_folder = os.path.relpath(folder, base).replace(os.sep, "/")
        relative_folder = "" if relative_folder == "." else relative_folder + "/"
        stale_before = time.time() - STALE_TEMP_SECONDS
        for entry in os.scandir(folder):
            if not entry.is_file():
                continue
            if entry.name.startswith(stem) and entry.name.endswith(".parquet"):
                names.append(relative_folder + entry.name[: -len(".parquet")])
            elif _is_temporary(entry.name) and entry.stat().st_mtime < stale_before:
                try:  # a crashed writer's leftover; a live writer's file is younger
                    os.unlink(entry.path)
                except FileNotFoundError:
                    pass
        return sorted(names)

    def remove_stale_temporaries(self, prefix: str) -> int:
        """Remove crashed writers' leftovers in the folder of ``prefix`` (local stores only; S3
        puts leave none). ``list`` does the same for the folders it scans."""
        base = self.base_path.rstrip("/")
        folder = f"{base}/{prefix}".rpartition("/")[0]
        if base.startswith("s3://") or not os.path.isdir(folder):
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

    def delete(self, name: str) -> None:
        """Remove a stored table; removing one that does not exist is not an error."""
        location = self._location(name)
        if location.startswith("s3://"):
            bucket, key = split_s3_url(location)
            try:
                self._client().delete_object(Bucket=bucket, Key=key)
            except Exception as exc:
                raise _s3_error("delete", name, location, exc) from exc
            return
        try:
            os.unlink(location)
        except FileNotFoundError:
            pass

    def _client(self) -> Any:
        return (self.s3 or S3Resource()).get_client()


def _is_temporary(filename: str) -> bool:
    """A ``write`` in progress or abandoned: ``.<table>.parquet.<random>.tmp``."""
    return filename.startswith(".") and filename.endswith(".tmp") and ".parquet." in filename
