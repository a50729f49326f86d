"""Finding and fetching source files: local paths and globs, or s3:// URLs.

S3 access goes through a boto3-style client handed in by the caller (the Dagster layer passes
dagster-aws's ``S3Resource`` client), so this module stays free of Dagster and of credentials.
"""

from __future__ import annotations

import fnmatch
import glob
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


def split_s3_url(url: str) -> tuple[str, str]:
    without_scheme = url[len("s3://") :]
    bucket, _, key = without_scheme.partition("/")
    return bucket, key


def expand_s3_pattern(pattern: str, s3_client: Any) -> list[str]:
    """S3 keys matching a pattern such as ``s3://bucket/exports/pos/*.csv``."""
    bucket, key_pattern = split_s3_url(pattern)
    glob_at = min((i for i, ch in enumerate(key_pattern) if ch in GLOB_CHARS), default=None)
    if glob_at is None:
        return [pattern]
    prefix = key_pattern[:glob_at]
    matches = []
    paginator = s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if fnmatch.fnmatchcase(item["Key"], key_pattern):
                matches.append(f"s3://{bucket}/{item['Key']}")
    return sorted(matches)


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
    if file.startswith("s3://"):
        bucket, key = split_s3_url(file)
        return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return Path(file).read_bytes()


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
        if not pattern.startswith("s3://") or s3_client is None:
            continue
        bucket, key_pattern = split_s3_url(pattern)
        glob_at = min((i for i, ch in enumerate(key_pattern) if ch in GLOB_CHARS), default=None)
        prefix = key_pattern if glob_at is None else key_pattern[:glob_at]
        paginator = s3_client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if fnmatch.fnmatchcase(item["Key"], key_pattern):
                    prints[f"s3://{bucket}/{item['Key']}"] = f"{item['Size']}:{item['ETag']}"
    return prints
