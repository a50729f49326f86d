"""Choosing the Currents source from the settings: the S3 bucket when set, else the local folder."""

from __future__ import annotations

from dagster_aws.s3 import S3Resource

from amperity_braze_assets.currents.source import (
    CurrentsSource,
    LocalCurrentsSource,
    S3CurrentsSource,
)
from amperity_braze_assets.settings import Settings


def currents_source(settings: Settings, s3: S3Resource | None = None) -> CurrentsSource:
    """``CURRENTS_S3_BUCKET``/``CURRENTS_S3_PREFIX`` through dagster-aws's ``S3Resource`` (which
    honours ``AWS_ENDPOINT_URL``), or ``CURRENTS_LOCAL_DIR`` (default ``<data dir>/currents``)."""
    if settings.currents_s3_bucket:
        client = (s3 or S3Resource()).get_client()
        return S3CurrentsSource(client, settings.currents_s3_bucket, settings.currents_s3_prefix)
    return LocalCurrentsSource(settings.currents_local_dir)
