"""A console over real runs: three people from two sources synced to the emulator (Braze
rejects one email), then a dry run with one change; shared by the console and browser tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl

from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.sync_assets import build_sync_assets
from amperity_braze_assets.console.assets import build_console_assets
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR
from amperity_braze_assets_tests.braze.helpers import settings_for, sync_resources

KEY = "console-test-key-0001"
RECORDS = pl.DataFrame(
    {
        "source": ["crm", "web", "crm", "crm"],
        "record_id": ["C1", "W7", "C2", "C3"],
        "given_name": ["ANN", "ANN", "BOB", "CY"],
        "given_name_display": ["Ann", "Ann", "Bob", "Cy"],
        "surname": ["LEE", "LEE", "RAY", "DOE"],
        "email": ["ann.lee@fastmail.com", "ann.lee@fastmail.com", "bob@fastmail.com", None],
        "phone": ["+16172384142", None, "+16172384199", "+16172384123"],
    }
)
IDENTITY = pl.DataFrame(
    {
        "source": ["crm", "web", "crm", "crm"],
        "record_id": ["C1", "W7", "C2", "C3"],
        "amperity_id": ["AMP-ANN", "AMP-ANN", "AMP-BOB", "AMP-CY"],
        "match_score": [None, 0.97, None, None],
        "match_threshold": [0.8, 0.8, 0.8, 0.8],
        "match_rule": [None, "email + name", None, None],
        "matched_source": [None, "crm", None, None],
        "matched_record_id": [None, "C1", None, None],
        "previous_amperity_id": [None, None, None, None],
    },
    schema_overrides={"match_score": pl.Float64, "previous_amperity_id": pl.String},
)
# Braze refuses Cy's email: the one rejected row.
SYNCED = pl.DataFrame(
    {
        "external_id": ["AMP-ANN", "AMP-BOB", "AMP-CY"],
        "first_name": ["Ann", "Bob", "Cy"],
        "email": ["ann.lee@fastmail.com", "bob@fastmail.com", "not-an-email"],
        "loyalty_tier": ["gold", "silver", "bronze"],
    }
)
# The dry run: Ann moved to platinum.
CHANGED = SYNCED.with_columns(
    loyalty_tier=pl.when(pl.col("external_id") == "AMP-ANN")
    .then(pl.lit("platinum"))
    .otherwise(pl.col("loyalty_tier"))
)


@dg.asset(name="customer_records")
def fake_records() -> pl.DataFrame:
    return RECORDS


@dg.asset(name="identity_resolution")
def fake_identity() -> pl.DataFrame:
    return IDENTITY


def attributes_asset(frame: pl.DataFrame) -> dg.AssetsDefinition:
    @dg.asset(name="braze_customer_attributes")
    def braze_customer_attributes() -> pl.DataFrame:
        return frame

    return braze_customer_attributes


@dataclass(frozen=True)
class ConsoleRuns:
    settings: object
    synced_run: str
    dry_run: str
    emulator_rejected: int


def sync_then_dry_run(tmp_path: Path, instance: dg.DagsterInstance, monkeypatch) -> ConsoleRuns:
    """A sync that Braze partly rejects, then a dry run; each refreshes the console."""
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        monkeypatch.setenv("BRAZE_REST_ENDPOINT", emulator.url)
        settings = settings_for(
            tmp_path / "data",
            _config(tmp_path),
            BRAZE_API_KEY=KEY,
            BRAZE_REST_ENDPOINT=emulator.url,
        )
        synced = _materialize(settings, instance, SYNCED, dry_run=False)
        rejected = emulator.counters.rejected_objects
    dry = _materialize(settings, instance, CHANGED, dry_run=True)
    return ConsoleRuns(settings, synced, dry, rejected)


def _config(tmp_path: Path) -> Path:
    """The sample configuration, with room for one rejection in three: the rejection check
    would otherwise stop the run before its log and the console."""
    config = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG_DIR, config)
    destinations = config / "destinations.yaml"
    text = destinations.read_text().replace("max_reject_share: 0.05", "max_reject_share: 0.5")
    destinations.write_text(text)
    return config


def _materialize(settings, instance, attributes: pl.DataFrame, dry_run: bool) -> str:
    destinations = load_destinations(settings)
    result = dg.materialize(
        [
            attributes_asset(attributes),
            fake_identity,
            fake_records,
            *build_sync_assets(None, settings, destinations),
            *build_console_assets(settings, destinations),
        ],
        resources=sync_resources(settings, destinations),
        run_config={"ops": {"braze_sync": {"config": {"dry_run": dry_run}}}},
        instance=instance,
    )
    assert result.success
    return result.run_id
