"""Finding and fetching source files: local paths and globs, or s3:// URLs.

Listing and reading go through the one storage layer (``storage/files.py``); local patterns are
globbed here (``**``, ``~`` and absolute paths are pattern matters, not storage ones). S3 access
goes through a boto3-style client handed in by the caller (the Dagster layer passes
dagster-aws's ``S3Resource`` client), so this module stays free of Dagster and of credentials.
"""

from __future__ import annotations

import fnmatch
import glob
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from amperity_braze_assets.storage.files import (
    S3Storage,
    StoredFile,
    split_s3_url,
    storage_of_file,
)

GLOB_CHARS = set("*?[")


def expand_local_patterns(patterns: Iterable[str], base_dir: Path) -> list[str]:
    """Local files matching the patterns, relative ones taken from ``base_dir``; sorted, unique."""
    found: dict[str, None] = {}
    for pattern in patterns:
        if pattern.startswith("s3://"):
            continue
        full = Path(pattern).expanduser()
        if not full.is_absolute():
            full = base_dir / full
        for match in sorted(glob.glob(str(full), recursive=True)):
            if Path(match).is_file():
                found[match] = None
    return list(found)


def _s3_matches(pattern: str, s3_client: Any) -> list[tuple[str, StoredFile]]:
    """``(url, listed file)`` for each S3 object matching a pattern such as
    ``s3://bucket/exports/pos/*.csv``, in key order."""
    bucket, key_pattern = split_s3_url(pattern)
    glob_at = min((i for i, ch in enumerate(key_pattern) if ch in GLOB_CHARS), default=None)
    prefix = key_pattern if glob_at is None else key_pattern[:glob_at]
    return [
        (f"s3://{bucket}/{stored.key}", stored)
        for stored in S3Storage(s3_client, bucket).list(prefix)
        if fnmatch.fnmatchcase(stored.key, key_pattern)
    ]


def expand_s3_pattern(pattern: str, s3_client: Any) -> list[str]:
    """S3 keys matching a pattern such as ``s3://bucket/exports/pos/*.csv``; a pattern without
    glob characters names its one file, unlisted."""
    if not any(ch in GLOB_CHARS for ch in split_s3_url(pattern)[1]):
        return [pattern]
    return sorted(url for url, _ in _s3_matches(pattern, s3_client))


def expand_patterns(patterns: Iterable[str], base_dir: Path, s3_client: Any = None) -> list[str]:
    patterns = list(patterns)
    files = expand_local_patterns(patterns, base_dir)
    for pattern in patterns:
        if pattern.startswith("s3://"):
            if s3_client is None:
                raise ValueError(
                    f"{pattern}: an s3:// source needs S3 access; configure the AWS environment "
                    "variables (AWS_ENDPOINT_URL for an S3-compatible store)."
                )
            files.extend(expand_s3_pattern(pattern, s3_client))
    return files


def read_bytes(file: str, s3_client: Any = None) -> bytes:
    storage, key = storage_of_file(file, s3_client)
    return storage.read(key).data


def file_fingerprints(
    patterns: Iterable[str], base_dir: Path, s3_client: Any = None
) -> dict[str, str]:
    """What identifies the current content of each matching file, cheaply: size and mtime
    locally, size and ETag on S3. A changed map means new or changed source data."""
    patterns = list(patterns)
    prints: dict[str, str] = {}
    for file in expand_local_patterns(patterns, base_dir):
        stat = Path(file).stat()
        prints[file] = f"{stat.st_size}:{stat.st_mtime_ns}"
    for pattern in patterns:
        if pattern.startswith("s3://") and s3_client is not None:
            for url, stored in _s3_matches(pattern, s3_client):
                prints[url] = f"{stored.size}:{stored.version}"
    return prints
