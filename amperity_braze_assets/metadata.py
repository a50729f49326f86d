"""Metadata helpers shared by the Dagster faces: previews and figures the UI can show."""

from __future__ import annotations

import dagster as dg
import polars as pl

PREVIEW_ROWS = 10


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """The first rows of a frame as a markdown table (rendered by the Dagster UI)."""
    if frame.width == 0:
        return dg.MetadataValue.md("_(no columns)_")
    with pl.Config(
        tbl_formatting="ASCII_MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=rows,
        tbl_cols=-1,
        fmt_str_lengths=60,
        tbl_width_chars=10_000,
    ):
        return dg.MetadataValue.md(str(frame.head(rows)))


def top_counts(frame: pl.DataFrame, column: str, limit: int = 10) -> dg.MetadataValue:
    """The most frequent values of a column (e.g. reject reasons) as a markdown table."""
    if frame.height == 0:
        return dg.MetadataValue.md("_(none)_")
    counts = frame.group_by(column).len("rows").sort("rows", column, descending=[True, False])
    return markdown_preview(counts, limit)
