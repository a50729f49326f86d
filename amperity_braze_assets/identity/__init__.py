"""Identity resolution (Amperity's Stitch): raw source records in, stable person ids out.

No Dagster here: the asset that runs it lives elsewhere and reports ``ResolveStats``.
"""

from .engine import MATCH_THRESHOLD, Resolution, ResolveStats, resolve, resolve_with_stats
from .normalize import normalize_records

__all__ = [
    "MATCH_THRESHOLD",
    "Resolution",
    "ResolveStats",
    "normalize_records",
    "resolve",
    "resolve_with_stats",
]
