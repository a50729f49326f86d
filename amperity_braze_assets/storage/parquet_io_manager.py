"""The one storage layer: polars frames as Parquet, in a local folder or under an S3 prefix.

dagster-polars breaks on polars 2.x, so this small I/O manager is ours. Each asset is a file
``<base>/<asset key path>.parquet``; a partitioned asset keeps one file per partition under
``<base>/<asset key path>/<partition>.parquet``. Local writes go to a temporary file renamed into
place, so a crash never leaves half a table behind; S3 puts are atomic by nature.

An input may ask for only some columns: ``dg.AssetIn(metadata={"columns": [...]})`` reads just
those (the ones the table has), so a step that needs three columns of a wide table never holds
the rest.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from pydantic import Field

from amperity_braze_assets.sources.files import split_s3_url
from amperity_braze_assets.storage.parquet_files import (
    read_table,
    replace_file,
    sink_table,
    write_table,
)


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores polars DataFrames (and LazyFrames, streamed) as Parquet files."""

    base_path: str = Field(description="A local folder, or s3://bucket/prefix for S3 storage.")
    s3: S3Resource | None = Field(
        default=None, description="S3 access, used when base_path is an s3:// URL."
    )

    @property
    def _on_s3(self) -> bool:
        return self.base_path.startswith("s3://")

    def _location(self, asset_key: dg.AssetKey, partition: str | None = None) -> str:
        stem = "/".join([self.base_path.rstrip("/"), *asset_key.path])
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
        location = self._location(context.asset_key, partition)
        rows = self._write(obj, location)
        context.add_output_metadata(
            {"row_count": dg.MetadataValue.int(rows), "path": dg.MetadataValue.path(location)}
        )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        asset_key = context.asset_key
        columns = (context.definition_metadata or {}).get("columns")
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            frames = [self._read(self._location(asset_key, key), columns) for key in keys]
            return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
        return self._read(self._location(asset_key), columns)

    def read_asset(self, key: str, columns: list[str] | None = None) -> pl.DataFrame:
        """An unpartitioned asset's stored table (or some of its columns), outside a run: what
        a command line tool reads from the same storage the runs write."""
        return self._read(self._location(dg.AssetKey(key)), columns)

    # -- plumbing -------------------------------------------------------------------------

    def _write(self, frame: pl.DataFrame | pl.LazyFrame, location: str) -> int:
        if self._on_s3:
            data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
            buffer = io.BytesIO()
            write_table(data, buffer)
            bucket, key = split_s3_url(location)
            self._s3_client().put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
            return data.height

        def write(temporary: str) -> int:
            if isinstance(frame, pl.LazyFrame):
                sink_table(frame, temporary)
                return pl.scan_parquet(temporary).select(pl.len()).collect().item()
            write_table(frame, temporary)
            return frame.height

        # An asset output is rebuilt by a rerun: atomic, but not flushed to disk.
        return replace_file(Path(location), write, durable=False)

    def _read(self, location: str, columns: list[str] | None = None) -> pl.DataFrame:
        if self._on_s3:
            bucket, key = split_s3_url(location)
            body = self._s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
            return read_table(io.BytesIO(body), columns)
        if not os.path.exists(location):
            raise FileNotFoundError(
                f"{location} does not exist: materialize the upstream asset first."
            )
        return read_table(location, columns)

    def _s3_client(self) -> Any:
        return (self.s3 or S3Resource()).get_client()
