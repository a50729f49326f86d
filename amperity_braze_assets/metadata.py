"""Metadata helpers shared by the Dagster faces: previews and figures the UI can show."""

from __future__ import annotations

import dagster as dg
import polars as pl

from amperity_braze_assets.pii import mask_personal_data
from amperity_braze_assets.settings import load_settings

PREVIEW_ROWS = 10


def markdown_preview(
    frame: pl.DataFrame, rows: int = PREVIEW_ROWS, show_personal_data: bool | None = None
) -> dg.MetadataValue:
    """The first rows of a frame as a markdown table (rendered by the Dagster UI), personal data
    masked: run metadata outlives the data files and anyone with the UI reads it. Shown as it is
    only when ``show_personal_data``, by default when ``AMPERITY_BRAZE_PREVIEW_PII=true``."""
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
        if show_personal_data is None:
            show_personal_data = load_settings().preview_personal_data
        head = frame.head(rows)
        return dg.MetadataValue.md(str(head if show_personal_data else mask_personal_data(head)))


def top_counts(frame: pl.DataFrame, column: str, limit: int = 10) -> dg.MetadataValue:
    """The most frequent values of a column (e.g. reject reasons) as a markdown table."""
    if frame.height == 0:
        return dg.MetadataValue.md("_(none)_")
    counts = frame.group_by(column).len("rows").sort("rows", column, descending=[True, False])
    return markdown_preview(counts, limit)
