"""Wiring only: settings and configuration in, one ``dg.Definitions`` out.

Loading this module validates the configuration, so a mistake in a YAML file fails here, at
``dagster dev`` or ``dagster job execute`` start-up, with a message that says how to fix it.
"""

import warnings
from datetime import timedelta

import dagster as dg
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.activation.assets import build_attribute_assets
from amperity_braze_assets.activation.attribute_audiences import ATTRIBUTE_AUDIENCES_ASSET
from amperity_braze_assets.activation.campaigns import campaign_flags, load_campaigns
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.activation.events_assets import build_event_assets
from amperity_braze_assets.braze.campaign_assets import build_campaign_assets
from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.resources import build_braze_resources
from amperity_braze_assets.braze.sync_assets import (
    build_shard_fanout_sensor,
    build_sync_assets,
    shard_partitions,
)
from amperity_braze_assets.braze.workspace_assets import build_workspace_assets
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.console.assets import CONSOLE_ASSET, build_console_assets
from amperity_braze_assets.currents.assets import build_currents_definitions
from amperity_braze_assets.customer360.assets import build_customer360_assets
from amperity_braze_assets.identity.assets import build_identity_assets
from amperity_braze_assets.orchestration.config import load_freshness_hours, load_schedule_configs
from amperity_braze_assets.orchestration.jobs import build_campaign_jobs, build_jobs, job_purposes
from amperity_braze_assets.orchestration.schedules import build_campaign_schedules, build_schedules
from amperity_braze_assets.orchestration.sensors import (
    build_check_failure_hook,
    build_run_failure_sensor,
)
from amperity_braze_assets.settings import Settings, load_settings
from amperity_braze_assets.sources.assets import build_source_assets
from amperity_braze_assets.sources.sensors import build_source_change_sensor
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets.storage.state_store import StateStore

# The job a change in the source files requests.
SOURCE_CHANGE_JOB = "braze_sync_job"


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    config = load_project_config(settings)
    s3 = S3Resource(endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)
    destinations = load_destinations(settings)
    currents_assets, currents_sensors, currents_jobs = build_currents_definitions(settings)
    mapping = load_attribute_config(config)
    late_audiences = ATTRIBUTE_AUDIENCES_ASSET if mapping.attribute_audiences else None
    campaigns = load_campaigns(
        config.config_dir, mapping, {d.name: d.attributes for d in destinations}
    )
    event_assets = build_event_assets(config, destinations)
    assets = [
        *build_source_assets(config, settings),
        *build_identity_assets(config, settings),
        *build_customer360_assets(config, settings),
        *build_attribute_assets(config, settings),
        *build_sync_assets(config, settings, destinations, late_audiences, bool(event_assets)),
        *build_workspace_assets(mapping, settings, destinations, campaign_flags(campaigns)),
        *build_console_assets(settings, destinations),
        *currents_assets,
        *event_assets,
        *build_campaign_assets(campaigns, destinations, settings, late_audiences),
    ]
    shards = shard_partitions(settings)
    destination_assets = {
        destination.name: [
            destination.asset_name(base)
            for base in ("braze_attribute_diff", "braze_sync", "braze_sync_log")
        ]
        for destination in destinations
    }
    sync_assets = [name for names in destination_assets.values() for name in names]
    hook = build_check_failure_hook(settings)
    jobs = build_jobs(
        hook,
        sync_assets,
        shards,
        destination_assets,
        CONSOLE_ASSET,
        ledgers={destination.name: destination.ledger for destination in destinations},
    )
    jobs.update({job.name: job for job in currents_jobs})
    # A sharded sync's ledgers are the shards', guarded by their leases (as build_jobs does).
    ledgers = {} if shards else {d.name: d.ledger for d in destinations}
    jobs.update(build_campaign_jobs(campaigns, ledgers, hook))
    schedules = build_schedules(
        load_schedule_configs(config.config_dir, job_purposes(list(destination_assets))),
        jobs,
        config,
        settings,
    ) + build_campaign_schedules(campaigns, jobs, config, settings)
    sensors = [
        build_run_failure_sensor(settings),
        build_source_change_sensor(config, settings, jobs[SOURCE_CHANGE_JOB]),
        *currents_sensors,
        *([build_shard_fanout_sensor(jobs["braze_sync_shards_job"], settings)] if shards else []),
    ]
    defs = dg.Definitions(
        assets=assets,
        jobs=list(jobs.values()),
        schedules=schedules,
        sensors=sensors,
        resources={
            "io_manager": ParquetIOManager(base_path=settings.storage_base, s3=s3),
            "s3": s3,
            "state_store": StateStore(base_path=settings.state_base, s3=s3),
            **build_braze_resources(destinations, settings),
        },
    )
    return with_freshness_policies(defs, config)


def with_freshness_policies(defs: dg.Definitions, config) -> dg.Definitions:
    """Attach the freshness window of each key asset (orchestration.yaml ``freshness_hours``)."""
    graph = defs.resolve_asset_graph()
    known = {key.to_user_string() for key in graph.get_all_asset_keys()}
    hours = load_freshness_hours(config.config_dir, known)

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        window = hours.get(spec.key.to_user_string())
        if window is None:
            return spec
        policy = dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=window), warn_window=timedelta(hours=window * 0.9)
        )
        return dg.apply_freshness_policy(spec, policy)

    with warnings.catch_warnings():  # map_asset_specs is marked preview; its use here is plain
        warnings.simplefilter("ignore", dg.PreviewWarning)
        warnings.simplefilter("ignore", dg.BetaWarning)
        return defs.map_asset_specs(func=attach)


defs = build_definitions()
