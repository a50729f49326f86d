"""The Dagster face of the sync console: ``sync_console`` (group ``braze``) refreshes its
database after every destination's ``braze_sync_log``, so the console the sync jobs keep up to
date shows each run as soon as it has synced. ``amperity-braze console`` refreshes it the same
way before it serves.
"""

import os
from dataclasses import replace
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.braze.destinations import Destination, load_destinations
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.console.database import (
    DAGSTER_RUN_COLUMNS,
    ConsoleInputs,
    RefreshFigures,
    console_path,
    refresh_console,
)
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.storage.files import is_s3_url, storage_for
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets.storage.state_tables import TableStore

CONSOLE_ASSET = "sync_console"
# How far back the console looks in Dagster's run history for a run's status.
RUN_HISTORY = 1_000


def _s3(settings: Settings) -> S3Resource:
    """S3 access as the definitions configure it (``settings``' endpoint and region)."""
    return S3Resource(endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)


def console_inputs(
    settings: Settings,
    state: TableStore,
    destinations: tuple[Destination, ...],
    runs: pl.DataFrame | None = None,
) -> ConsoleInputs:
    s3 = _s3(settings).get_client() if is_s3_url(settings.storage_base) else None
    return ConsoleInputs(
        ledgers={d.name: Ledger(state, d.ledger) for d in destinations},
        assets=storage_for(settings.storage_base, s3),
        dry_run_dir=settings.data_dir / "braze" / "dry_run",
        base_url=settings.console_url,
        runs=runs,
    )


def sync_runs(instance: dg.DagsterInstance, sync_assets: set[str]) -> pl.DataFrame:
    """Dagster's record of the latest runs: status, start and end, and whether the run was
    meant to sync (its own selection, or its job's), so that one that failed before its sync
    wrote a log shows as a failed sync."""
    rows = []
    for record in instance.get_run_records(limit=RUN_HISTORY):
        run = record.dagster_run
        selected = {key.to_user_string() for key in run.asset_selection or ()}
        syncs = bool(selected & sync_assets) or (not selected and _sync_job(run.job_name))
        rows.append(
            (
                run.run_id,
                run.job_name,
                run.status.value,
                _time(record.start_time),
                _time(record.end_time),
                syncs,
            )
        )
    return pl.DataFrame(rows, schema=DAGSTER_RUN_COLUMNS, orient="row")


def _sync_job(job: str) -> bool:
    return job in ("braze_sync_job", "audience_refresh_job", "demo_job") or (
        job.startswith("sync_") and job.endswith("_job")
    )


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def refresh_outside_a_run(settings: Settings, base_url: str) -> tuple[Path, RefreshFigures]:
    """The refresh ``amperity-braze console`` makes before it serves at ``base_url``: the run
    statuses from the Dagster instance the runs wrote (``DAGSTER_HOME``), when there is one."""
    destinations = load_destinations(settings)
    runs = None
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    if (home / "dagster.yaml").exists() or (home / "history").exists():
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = sync_runs(instance, {d.asset_name("braze_sync") for d in destinations})
    state = StateStore(base_path=settings.state_base, s3=_s3(settings)).tables()
    inputs = replace(console_inputs(settings, state, destinations, runs), base_url=base_url)
    path = console_path(settings.data_dir)
    return path, refresh_console(path, inputs)


def build_console_assets(settings: Settings, destinations: tuple[Destination, ...]) -> list:
    """``sync_console``, downstream of every destination's ``braze_sync_log``."""
    logs = [d.asset_name("braze_sync_log") for d in destinations]
    sync_assets = {d.asset_name("braze_sync") for d in destinations}

    @dg.asset(
        name=CONSOLE_ASSET,
        group_name="braze",
        deps=logs,
        kinds={"sqlite"},
        required_resource_keys={"state_store"},
        description="The sync console's database (amperity-braze console serves it): every "
        "sync per destination with its status and figures, rejected rows with their reason, "
        "and per person the source records, match evidence, values now and values sent.",
    )
    def sync_console(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        state = context.resources.state_store.tables()
        runs = sync_runs(context.instance, sync_assets)
        path = console_path(settings.data_dir)
        figures = refresh_console(path, console_inputs(settings, state, destinations, runs))
        return dg.MaterializeResult(
            metadata={
                "runs": dg.MetadataValue.int(figures.runs),
                "logs_loaded": dg.MetadataValue.int(figures.logs_loaded),
                "people": dg.MetadataValue.int(figures.people),
                "source_records": dg.MetadataValue.int(figures.source_records),
                "path": dg.MetadataValue.path(str(path)),
                "console": dg.MetadataValue.url(f"{settings.console_url}/console/syncs"),
            }
        )

    return [sync_console]
