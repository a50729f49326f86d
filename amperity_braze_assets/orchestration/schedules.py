"""Schedules from ``orchestration.yaml``: one per job, cron and time zone configurable.

With ``only_when_sources_changed`` a tick first fingerprints the source files and skips when
they are the same as at the last run this schedule requested, so an unchanged day costs nothing.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING

import dagster as dg

from amperity_braze_assets.orchestration.config import ScheduleConfig
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.sources.sensors import (
    FINGERPRINT_TAG,
    s3_client_for_sources,
    sources_fingerprint,
)

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.activation.campaigns import Campaign
    from amperity_braze_assets.config import ProjectConfig


def build_schedule(
    schedule: ScheduleConfig, job, config: "ProjectConfig", settings: Settings
) -> dg.ScheduleDefinition:

    status = (
        dg.DefaultScheduleStatus.RUNNING if schedule.enabled else dg.DefaultScheduleStatus.STOPPED
    )
    description = (
        schedule.description or f"Runs {schedule.job} at '{schedule.cron}' ({schedule.timezone})."
    )

    if not schedule.only_when_sources_changed:
        return dg.ScheduleDefinition(
            name=f"{schedule.job}_schedule",
            job=job,
            cron_schedule=schedule.cron,
            execution_timezone=schedule.timezone,
            default_status=status,
            description=description,
        )

    @dg.schedule(
        name=f"{schedule.job}_schedule",
        job=job,
        cron_schedule=schedule.cron,
        execution_timezone=schedule.timezone,
        default_status=status,
        description=description + " Skips when no source file changed since its last run.",
    )
    def run_when_sources_changed(context: dg.ScheduleEvaluationContext):
        fingerprint, files = sources_fingerprint(
            config, settings, s3_client_for_sources(config, settings)
        )
        previous = context.instance.get_runs(
            filters=dg.RunsFilter(job_name=schedule.job, tags={FINGERPRINT_TAG: fingerprint}),
            limit=1,
        )
        if previous:
            return dg.SkipReason(
                f"{files} source file(s) unchanged since run {previous[0].run_id}: nothing to do"
            )
        scheduled = context.scheduled_execution_time
        return dg.RunRequest(
            run_key=f"{schedule.job}-{fingerprint}-{scheduled:%Y%m%d%H%M}" if scheduled else None,
            tags={FINGERPRINT_TAG: fingerprint},
        )

    return run_when_sources_changed


def build_schedules(
    schedules: dict[str, ScheduleConfig], jobs: dict, config: "ProjectConfig", settings: Settings
) -> list[dg.ScheduleDefinition]:
    return [build_schedule(s, jobs[name], config, settings) for name, s in schedules.items()]


def build_campaign_schedules(
    campaigns: "Iterable[Campaign]", jobs: dict, config: "ProjectConfig", settings: Settings
) -> list[dg.ScheduleDefinition]:
    """A schedule for each campaign with ``schedule:`` (``campaign_<name>_schedule``), stopped
    unless the campaign says ``enabled: true``, like every schedule; a campaign with
    ``once: true`` has none: its job is launched by hand."""
    return [
        build_schedule(
            ScheduleConfig(
                job=campaign.job_name,
                cron=campaign.schedule,
                timezone=campaign.timezone,
                enabled=campaign.enabled,
                description=f"{campaign.summary()} Cron '{campaign.schedule}'.",
            ),
            jobs[campaign.job_name],
            config,
            settings,
        )
        for campaign in campaigns
        if campaign.schedule is not None
    ]
