"""The records identity resolution reads, stacked from the raw customer sources."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from amperity_braze_assets.sources.tags import CUSTOMER_TAGS

IDENTITY_INPUT_COLUMNS = frozenset(CUSTOMER_TAGS.values()) - {"updated_at"}


def identity_records(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Stack the raw customer sources, keeping ``source``, ``record_id``, tags and keys."""
    stacked = pl.concat(list(frames), how="diagonal_relaxed")
    keep = [
        c
        for c in stacked.columns
        if c in ("source", "record_id")
        or c in IDENTITY_INPUT_COLUMNS
        or c.startswith(("fk_", "sk_"))
    ]
    return stacked.select(keep)
