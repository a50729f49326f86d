"""Helpers the Braze and reliability tests share: a project folder with given attribute files,
and the sync's asset graph over three fake people, materialized against real resources.

Test modules import these from here, never from one another.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import dagster as dg
import polars as pl

from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.resources import build_braze_resources
from amperity_braze_assets.braze.sync_assets import build_sync_assets
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR, load_settings
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.conftest import make_settings


def make_project(
    tmp_path: Path,
    attributes: str = "",
    segments: str | None = None,
    sql: dict[str, str] | None = None,
):
    """A config folder with the sample sources and the given attribute files."""
    config_dir = tmp_path / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE_CONFIG_DIR / "sources.yaml", config_dir / "sources.yaml")
    (config_dir / "attributes.yaml").write_text(textwrap.dedent(attributes))
    if segments is not None:
        (config_dir / "segments.yaml").write_text(textwrap.dedent(segments))
    if sql:
        (config_dir / "audiences").mkdir(exist_ok=True)
        for name, query in sql.items():
            (config_dir / "audiences" / f"{name}.sql").write_text(query)
    settings = make_settings(tmp_path / "data", config_dir)
    return load_project_config(settings, check_files=False)


# -- the sync's graph over three people -------------------------------------------------------
PEOPLE = pl.DataFrame(
    {
        "external_id": ["a", "b", "c"],
        "first_name": ["Ann", "Bob", "Cy"],
        "audience_vip": [True, False, True],
    }
)
SYNC_SELECTION = [
    "braze_customer_attributes",
    "identity_resolution",
    "braze_attribute_diff",
    "braze_sync",
    "braze_sync_log",
]


@dg.asset(name="braze_customer_attributes")
def fake_attributes() -> pl.DataFrame:
    return PEOPLE


@dg.asset(name="identity_resolution")
def fake_identity() -> pl.DataFrame:
    return pl.DataFrame(
        {"amperity_id": ["a", "b", "c"], "previous_amperity_id": [None, None, None]},
        schema={"amperity_id": pl.String, "previous_amperity_id": pl.String},
    )


def settings_for(tmp_path, config_dir=SAMPLE_CONFIG_DIR, **env):
    return load_settings(
        {
            "AMPERITY_BRAZE_DATA_DIR": str(tmp_path),
            "AMPERITY_BRAZE_CONFIG_DIR": str(config_dir),
            **env,
        }
    )


def sync_resources(settings, destinations=None) -> dict:
    """The resources the sync's graph runs with: Parquet files, the state store, Braze."""
    destinations = load_destinations(settings) if destinations is None else destinations
    return {
        "io_manager": ParquetIOManager(base_path=str(settings.storage_base)),
        "state_store": StateStore(base_path=settings.state_base),
        **build_braze_resources(destinations, settings),
    }


def materialize(settings, selection, run_config=None, **options):
    """The fake attributes and identity, then the sync's assets, materialized for real."""
    destinations = load_destinations(settings)
    assets = [fake_attributes, fake_identity, *build_sync_assets(None, settings)]
    return dg.materialize(
        assets,
        selection=selection,
        run_config=run_config,
        resources=sync_resources(settings, destinations),
        **options,
    )


def sent_by_person(report) -> dict[str, dict]:
    """What a sync's log says each person was sent: external_id -> the object, without it."""
    sent = {}
    for text in report.log.get_column("object").to_list():
        body = json.loads(text)
        sent[body.pop("external_id")] = body
    return sent
