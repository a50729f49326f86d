"""Where Currents files come from: an S3 bucket and prefix, or a local folder with the same layout.

Both list every key under the root with its last-modified time (Braze recommends listing rather
than building paths: naming may change) and read a key's bytes, through the one storage layer
(``storage/files.py``). S3 access goes through a boto3-style client handed in by the caller (the
Dagster layer passes dagster-aws's ``S3Resource`` client), so this module stays free of Dagster
and of credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from amperity_braze_assets.currents.reader import CurrentsBlob
from amperity_braze_assets.storage.files import LocalStorage, S3Storage, Storage


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


class StorageCurrentsSource:
    """Every file under ``prefix`` of a storage; keys are the storage's keys."""

    def __init__(self, storage: Storage, prefix: str, description: str):
        self.storage = storage
        self.list_prefix = prefix
        self.description = description

    def list_objects(self) -> list[CurrentsObject]:
        return [
            CurrentsObject(key=f.key, last_modified=f.last_modified, size=f.size)
            for f in self.storage.list(self.list_prefix)
        ]

    def read_blob(self, key: str) -> CurrentsBlob:
        stored = self.storage.read(key)
        return CurrentsBlob(key=key, data=stored.data, arrived_at=stored.last_modified)


class LocalCurrentsSource(StorageCurrentsSource):
    """A folder laid out as the bucket prefix; keys are paths relative to it, with ``/``."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        super().__init__(LocalStorage(self.root), "", f"local folder {self.root}")


class S3CurrentsSource(StorageCurrentsSource):
    """Every object under ``s3://bucket/prefix/``; keys are full object keys."""

    def __init__(self, client: Any, bucket: str, prefix: str = "currents"):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        super().__init__(
            S3Storage(client, bucket),
            f"{self.prefix}/" if self.prefix else "",
            f"s3://{bucket}/{self.prefix}",
        )
