"""The Parquet I/O manager: polars frames as Parquet, in a local folder or under an S3 prefix,
through the one storage layer (``storage/files.py``).

dagster-polars breaks on polars 2.x, so this small I/O manager is ours. Each asset is a file
``<base>/<asset key path>.parquet``; a partitioned asset keeps one file per partition under
``<base>/<asset key path>/<partition>.parquet``. Local writes go to a temporary file renamed into
place, so a crash never leaves half a table behind; S3 puts are atomic by nature.

An input may ask for only some columns: ``dg.AssetIn(metadata={"columns": [...]})`` reads just
those (the ones the table has), so a step that needs three columns of a wide table never holds
the rest.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from pydantic import Field

from amperity_braze_assets.storage.files import Storage, Target, is_s3_url, storage_for
from amperity_braze_assets.storage.parquet_files import read_table, sink_table, write_table


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores polars DataFrames (and LazyFrames, streamed) as Parquet files."""

    base_path: str = Field(description="A local folder, or s3://bucket/prefix for S3 storage.")
    s3: S3Resource | None = Field(
        default=None, description="S3 access, used when base_path is an s3:// URL."
    )

    def _storage(self) -> Storage:
        return storage_for(self.base_path, self._s3_client() if is_s3_url(self.base_path) else None)

    @staticmethod
    def _key(asset_key: dg.AssetKey, partition: str | None = None) -> str:
        stem = "/".join(asset_key.path)
        return f"{stem}/{partition}.parquet" if partition is not None else f"{stem}.parquet"

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return  # a side-effecting asset stores nothing here
        if not isinstance(obj, pl.DataFrame | pl.LazyFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: ParquetIOManager stores polars frames, "
                f"got {type(obj).__name__}."
            )
        partition = context.partition_key if context.has_partition_key else None
        storage = self._storage()
        key = self._key(context.asset_key, partition)
        rows = self._write(storage, obj, key)
        location = storage.location(key)
        context.add_output_metadata(
            {"row_count": dg.MetadataValue.int(rows), "path": dg.MetadataValue.path(location)}
        )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        asset_key = context.asset_key
        columns = (context.definition_metadata or {}).get("columns")
        storage = self._storage()
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            frames = [self._read(storage, self._key(asset_key, key), columns) for key in keys]
            return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
        return self._read(storage, self._key(asset_key), columns)

    def read_asset(self, key: str, columns: list[str] | None = None) -> pl.DataFrame:
        """An unpartitioned asset's stored table (or some of its columns), outside a run: what
        a command line tool reads from the same storage the runs write."""
        return self._read(self._storage(), self._key(dg.AssetKey(key)), columns)

    # -- plumbing -------------------------------------------------------------------------

    @staticmethod
    def _write(storage: Storage, frame: pl.DataFrame | pl.LazyFrame, key: str) -> int:
        def write(target: Target) -> int:
            if isinstance(frame, pl.LazyFrame) and isinstance(target, str):
                sink_table(frame, target)  # streamed to the local file, never held whole
                return pl.scan_parquet(target).select(pl.len()).collect().item()
            data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
            write_table(data, target)
            return data.height

        # An asset output is rebuilt by a rerun: atomic, but not flushed to disk.
        return storage.replace(key, write, durable=False)

    @staticmethod
    def _read(storage: Storage, key: str, columns: list[str] | None = None) -> pl.DataFrame:
        try:
            source = storage.readable(key)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{storage.location(key)} does not exist: materialize the upstream asset first."
            ) from None
        return read_table(source, columns)

    def _s3_client(self) -> Any:
        return (self.s3 or S3Resource()).get_client()
