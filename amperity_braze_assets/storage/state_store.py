"""The Dagster face of the state tables: a resource configured with a folder or an S3 prefix
that builds ``StateTables`` (``storage/state_tables.py``) over the one storage layer.

Assets hand ``state_store.tables()`` to the domain code (the ledger, Currents ingest), which
takes the plain ``TableStore`` protocol; the resource also answers that protocol itself, for
assets that read or write a table directly (identity's previous ids).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from pydantic import Field

from amperity_braze_assets.storage.files import STALE_TEMP_SECONDS, is_s3_url, storage_for
from amperity_braze_assets.storage.leases import Leases
from amperity_braze_assets.storage.state_tables import StateStoreError, StateTables

__all__ = ["STALE_TEMP_SECONDS", "StateStore", "StateStoreError"]


class StateStore(dg.ConfigurableResource):
    """Reads and atomically replaces named state tables under a folder or an S3 prefix."""

    base_path: str = Field(description="A local folder, or s3://bucket/prefix.")
    s3: S3Resource | None = None

    def tables(self) -> StateTables:
        """The plain state tables this resource points at (S3 access only for an s3:// base)."""
        client = self._client() if is_s3_url(self.base_path) else None
        return StateTables(storage_for(self.base_path, client))

    def read(self, name: str) -> pl.DataFrame | None:
        return self.tables().read(name)

    def write(self, name: str, frame: pl.DataFrame) -> str:
        return self.tables().write(name, frame)

    def list(self, prefix: str) -> list[str]:
        return self.tables().list(prefix)

    def remove_stale_temporaries(self, prefix: str) -> int:
        return self.tables().remove_stale_temporaries(prefix)

    def delete(self, name: str) -> None:
        self.tables().delete(name)

    def leases(self) -> Leases:
        return self.tables().leases()

    def _client(self) -> Any:
        return (self.s3 or S3Resource()).get_client()
