"""The records identity resolution reads, stacked from the raw customer sources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from amperity_braze_assets.identity.normalize import normalize_records
from amperity_braze_assets.identity.threads import WORKERS
from amperity_braze_assets.sources.reader import parse_timestamp
from amperity_braze_assets.sources.tags import CUSTOMER_TAGS

IDENTITY_INPUT_COLUMNS = frozenset(CUSTOMER_TAGS.values()) - {"updated_at"}
NORMALIZE_ROWS = 1_000_000


def identity_records(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Stack the raw customer sources, keeping ``source``, ``record_id``, tags and keys."""

    def kept(frame: pl.DataFrame) -> pl.DataFrame:
        # Columns are dropped before stacking, so untagged columns are never copied.
        return frame.select(
            c
            for c in frame.columns
            if c in ("source", "record_id")
            or c in IDENTITY_INPUT_COLUMNS
            or c.startswith(("fk_", "sk_"))
        )

    return pl.concat([kept(frame) for frame in frames], how="diagonal_relaxed")


def customer_records(
    frames: Sequence[pl.DataFrame],
    default_region: str = "US",
    regions: Mapping[str, str | None] | None = None,
) -> pl.DataFrame:
    """The stacked customer records with every tag normalized once (``normalize_records``) and
    ``updated_at`` parsed to UTC: what identity resolution matches on and what the customer 360
    picks its values from, so neither normalizes a million records again.

    Beside the normalized names and places, ``<column>_display`` keeps them as written
    (``normalize.DISPLAY_COLUMNS``) for what reaches Braze. A phone without a country code is
    read in the record's country, else in its source's region (``regions``: source name ->
    phone region, e.g. ``{"pos": "GB"}``; a source missing or None there has none), else in
    ``default_region``."""
    frames = list(frames)
    stacked = identity_records(frames)
    # Normalizing is row by row (each distinct value once per piece), so pieces give the same
    # table while the working set stays that of the pieces in flight.
    slices = [
        stacked.slice(offset, NORMALIZE_ROWS)
        for offset in range(0, max(stacked.height, 1), NORMALIZE_ROWS)
    ]
    del stacked
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        by_source = {name: region for name, region in (regions or {}).items() if region}
        pieces = list(
            pool.map(lambda piece: normalize_records(piece, default_region, by_source), slices)
        )
    del slices
    records = pl.concat(pieces, how="diagonal_relaxed")
    del pieces
    # Stacked in the same order as identity_records, so the column lines up row for row.
    updated_at = pl.concat(
        [
            f.get_column("updated_at").cast(pl.String)
            if "updated_at" in f.columns
            else pl.Series("updated_at", [None] * f.height, dtype=pl.String)
            for f in frames
        ]
    )
    return records.with_columns(
        updated_at.to_frame("updated_at").select(parse_timestamp(pl.col("updated_at"))).to_series()
    )
