"""State that must survive runs: named Parquet tables written atomically, locally or on S3.

Identity ids of the previous run (and later the sync ledger and Currents cursors) live here
explicitly, never inferred from logs. Each table's name carries its format version
(``identity/assignments.v1``) so a change of layout starts a new file instead of misreading an
old one.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from pydantic import Field

from amperity_braze_assets.sources.files import split_s3_url


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
            return pl.read_parquet(io.BytesIO(body))
        return pl.read_parquet(location) if os.path.exists(location) else None

    def write(self, name: str, frame: pl.DataFrame) -> str:
        location = self._location(name)
        if location.startswith("s3://"):
            buffer = io.BytesIO()
            frame.write_parquet(buffer)
            bucket, key = split_s3_url(location)
            self._client().put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
            return location
        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        try:
            frame.write_parquet(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
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
            for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if key.endswith(".parquet"):
                        names.append(key[len(base_key) : -len(".parquet")])
            return sorted(names)
        folder, _, stem = f"{base}/{prefix}".rpartition("/")
        if not os.path.isdir(folder):
            return []
        relative_folder = os.path.relpath(folder, base).replace(os.sep, "/")
        relative_folder = "" if relative_folder == "." else relative_folder + "/"
        for entry in os.scandir(folder):
            if entry.is_file() and entry.name.startswith(stem) and entry.name.endswith(".parquet"):
                names.append(relative_folder + entry.name[: -len(".parquet")])
        return sorted(names)

    def delete(self, name: str) -> None:
        """Remove a stored table; removing one that does not exist is not an error."""
        location = self._location(name)
        if location.startswith("s3://"):
            bucket, key = split_s3_url(location)
            self._client().delete_object(Bucket=bucket, Key=key)
            return
        try:
            os.unlink(location)
        except FileNotFoundError:
            pass

    def _client(self) -> Any:
        return (self.s3 or S3Resource()).get_client()
