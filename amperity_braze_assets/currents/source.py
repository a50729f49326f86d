"""Where Currents files come from: an S3 bucket and prefix, or a local folder with the same layout.

Both list every key under the root with its last-modified time (Braze recommends listing rather
than building paths: naming may change) and read a key's bytes. S3 access goes through a
boto3-style client handed in by the caller (the Dagster layer passes dagster-aws's
``S3Resource`` client), so this module stays free of Dagster and of credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from amperity_braze_assets.currents.reader import CurrentsBlob


@dataclass(frozen=True)
class CurrentsObject:
    """A listed file: its key, when it last changed (its arrival) and its size."""

    key: str
    last_modified: datetime
    size: int


class CurrentsSource(Protocol):
    description: str

    def list_objects(self) -> list[CurrentsObject]: ...

    def read_blob(self, key: str) -> CurrentsBlob: ...


class LocalCurrentsSource:
    """A folder laid out as the bucket prefix; keys are paths relative to it, with ``/``."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.description = f"local folder {self.root}"

    def list_objects(self) -> list[CurrentsObject]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*"):
            # Dot-files are the in-progress temporaries of an atomic write: not arrived yet.
            if path.name.startswith(".") or not path.is_file():
                continue
            stat = path.stat()
            found.append(
                CurrentsObject(
                    key=path.relative_to(self.root).as_posix(),
                    last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                    size=stat.st_size,
                )
            )
        return sorted(found, key=lambda o: o.key)

    def read_blob(self, key: str) -> CurrentsBlob:
        path = self.root / key
        arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return CurrentsBlob(key=key, data=path.read_bytes(), arrived_at=arrived)


class S3CurrentsSource:
    """Every object under ``s3://bucket/prefix/``; keys are full object keys."""

    def __init__(self, client: Any, bucket: str, prefix: str = "currents"):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"s3://{bucket}/{self.prefix}"

    def list_objects(self) -> list[CurrentsObject]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                modified = item["LastModified"]
                found.append(
                    CurrentsObject(
                        key=item["Key"],
                        last_modified=modified.astimezone(UTC),
                        size=int(item.get("Size", 0)),
                    )
                )
        return found

    def read_blob(self, key: str) -> CurrentsBlob:
        response = self.client.get_object(Bucket=self.bucket, Key=key)
        return CurrentsBlob(
            key=key,
            data=response["Body"].read(),
            arrived_at=response["LastModified"].astimezone(UTC),
        )
