"""Wiring only: settings and configuration in, one ``dg.Definitions`` out.

Loading this module validates the configuration, so a mistake in a YAML file fails here, at
``dagster dev`` or ``dagster job execute`` start-up, with a message that says how to fix it.
"""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.customer360.assets import build_customer360_assets
from amperity_braze_assets.identity.assets import build_identity_assets
from amperity_braze_assets.settings import Settings, load_settings
from amperity_braze_assets.sources.assets import build_source_assets
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets.storage.state_store import StateStore


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    config = load_project_config(settings)
    s3 = S3Resource(endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)
    assets = [
        *build_source_assets(config, settings),
        *build_identity_assets(config, settings),
        *build_customer360_assets(config, settings),
    ]
    return dg.Definitions(
        assets=assets,
        resources={
            "io_manager": ParquetIOManager(base_path=settings.storage_base, s3=s3),
            "s3": s3,
            "state_store": StateStore(base_path=settings.state_base, s3=s3),
        },
    )


defs = build_definitions()
