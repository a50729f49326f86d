"""The Dagster face of source change detection: a sensor, and the fingerprint schedules use.

A change set is the map of every source file to its size and modification stamp (ETag on S3).
The sensor requests the sync job once per change set: the run key is the change set's hash, so
a re-evaluation never launches the same work twice.
"""

import hashlib
import json
from typing import TYPE_CHECKING

import dagster as dg
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.settings import Settings
from amperity_braze_assets.sources.files import file_fingerprints

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig


FINGERPRINT_TAG = "amperity_braze/sources_fingerprint"


def sources_fingerprint(
    config: "ProjectConfig", settings: Settings, s3_client=None
) -> tuple[str, int]:
    """A hash of every configured source file's identity, and the number of files."""
    prints: dict[str, str] = {}
    for source in config.sources:
        needs_s3 = any(p.startswith("s3://") for p in source.files)
        prints.update(
            file_fingerprints(source.files, settings.data_dir, s3_client if needs_s3 else None)
        )
    digest = hashlib.sha256(json.dumps(sorted(prints.items())).encode()).hexdigest()[:16]
    return digest, len(prints)


def s3_client_for_sources(config: "ProjectConfig", settings: Settings):
    if any(p.startswith("s3://") for s in config.sources for p in s.files):
        return S3Resource(
            endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region
        ).get_client()
    return None


def build_source_change_sensor(
    config: "ProjectConfig", settings: Settings, job, minimum_interval_seconds: int = 60
) -> dg.SensorDefinition:

    @dg.sensor(
        name="source_files_changed",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        description="Requests the sync job once for each new or changed set of source files "
        "(local folder or S3).",
    )
    def source_files_changed(context: dg.SensorEvaluationContext):
        fingerprint, files = sources_fingerprint(
            config, settings, s3_client_for_sources(config, settings)
        )
        if files == 0:
            return dg.SkipReason(
                "no source files yet: generate or drop them where sources.yaml says"
            )
        if fingerprint == context.cursor:
            return dg.SkipReason(f"{files} source file(s), unchanged since the last request")
        context.update_cursor(fingerprint)
        return dg.RunRequest(run_key=f"sources-{fingerprint}", tags={FINGERPRINT_TAG: fingerprint})

    return source_files_changed
