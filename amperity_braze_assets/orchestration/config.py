"""The orchestration's configuration: ``orchestration.yaml`` (schedules per job, freshness
windows per asset), validated at definitions load with the file, the entry and the fix."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any

from croniter import croniter
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError, field_validator
from pydantic_core import ErrorDetails

from amperity_braze_assets.config_file import ConfigError, load_yaml, refusals, suggestion

ORCHESTRATION_FILE = "orchestration.yaml"
DEFAULT_CRON = "0 6 * * *"


def is_valid_cron(cron: str) -> bool:
    """Whether Dagster's scheduler can run ``cron``: five fields (or @daily, @hourly, ...), each
    in range, naming a day that comes (not February 30th)."""
    if not croniter.is_valid(cron):
        return False
    fields, *_ = croniter.expand(cron)
    if len(fields) != 5:  # a sixth field is seconds: Dagster ticks at most once a minute
        return False
    _, _, days, months, _ = fields
    if months == [2] and len(days) == 1 and days[0] in (30, 31):
        return False
    # croniter reads "1W" as "the weekday nearest the 1st"; Dagster's scheduler does not know it.
    day_field = cron.split()[2] if len(cron.split()) == 5 else ""
    return "w" not in day_field.lower()


class ScheduleEntry(BaseModel):
    """A job's entry under ``schedules:`` as written; what it leaves out keeps the default
    (daily at 06:00 UTC). Every schedule starts stopped: a project starts no run by itself
    until someone writes ``enabled: true`` (or starts it in the UI)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str = DEFAULT_CRON
    timezone: str = "UTC"
    enabled: StrictBool = False
    # Skip the tick when no source file changed since the last run the schedule requested.
    only_when_sources_changed: StrictBool = False
    description: str = ""

    @field_validator("cron", "timezone", "description", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return str(value)

    @field_validator("cron")
    @classmethod
    def _runnable(cls, cron: str) -> str:
        if not is_valid_cron(cron):
            raise ValueError(
                f"cron {cron!r} is not a valid cron expression; use five fields, e.g. "
                "'0 6 * * *' (06:00 daily) or '*/15 * * * *'."
            )
        return cron

    @field_validator("timezone")
    @classmethod
    def _known(cls, timezone: str) -> str:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: absurd names
            raise ValueError(
                f"timezone {timezone!r} is unknown; use an IANA name such as America/New_York "
                "or UTC."
            ) from None
        return timezone


class ScheduleConfig(ScheduleEntry):
    """One job's schedule: its entry in the file, or the default."""

    job: str


SCHEDULE_KEYS = set(ScheduleEntry.model_fields)


def _flag_problem(error: ErrorDetails) -> str:
    """The one refusal beside the validators': a flag that is not a boolean."""
    return f"{error['loc'][0]} must be true or false."


def load_schedule_configs(
    config_dir: Path, known_jobs: dict[str, str]
) -> dict[str, ScheduleConfig]:
    """Schedules per job from ``orchestration.yaml``; every known job runs daily by default.

    ``known_jobs`` maps job name -> what it runs (for messages). A job left out of the file keeps
    the daily default; a schedule is on only with ``enabled: true``.
    """
    schedules = {job: ScheduleConfig(job=job) for job in known_jobs}
    path = config_dir / ORCHESTRATION_FILE
    if not path.exists():
        return schedules
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict) or set(raw) - {"schedules", "freshness_hours"}:
        raise ConfigError(
            f"{path}: expected the top-level keys 'schedules' (job name -> schedule) and "
            "'freshness_hours' (asset name -> hours)."
        )
    errors = []
    raw_schedules = raw.get("schedules") or {}
    if not isinstance(raw_schedules, dict):
        raise ConfigError(
            f"{path}: 'schedules' must map job names to schedules, e.g.\n"
            "schedules:\n  braze_sync_job:\n    cron: '0 6 * * *'"
        )
    for job, definition in raw_schedules.items():
        where = f"{path}: schedule '{job}'"
        if job not in known_jobs:
            errors.append(
                f"{where}: unknown job{suggestion(job, known_jobs)}; use one of the jobs: "
                + ", ".join(f"{name} ({what})" for name, what in known_jobs.items())
            )
            continue
        definition = definition or {}
        if not isinstance(definition, dict) or set(definition) - SCHEDULE_KEYS:
            errors.append(f"{where}: allowed keys are {sorted(SCHEDULE_KEYS)}.")
            continue
        try:
            schedules[job] = ScheduleConfig.model_validate({**definition, "job": job})
        except ValidationError as exc:
            errors += [f"{where}: {problem}" for problem in refusals(exc, _flag_problem)]
    if errors:
        raise ConfigError("Invalid orchestration:\n- " + "\n- ".join(errors))
    return schedules


DEFAULT_FRESHNESS_HOURS = {
    "customer_360": 26.0,
    "braze_customer_attributes": 26.0,
    "braze_sync": 26.0,
    "customer_engagement": 26.0,
}


def load_freshness_hours(config_dir: Path, known_assets: set[str]) -> dict[str, float]:
    """Freshness windows per key asset (``freshness_hours`` in ``orchestration.yaml``): an asset
    not materialized within its window shows as stale in the UI. Daily pipelines get 26 hours by
    default, a day plus slack."""
    hours = {k: v for k, v in DEFAULT_FRESHNESS_HOURS.items() if k in known_assets}
    path = config_dir / ORCHESTRATION_FILE
    if not path.exists():
        return hours
    document = load_yaml(path) or {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: expected the top-level keys 'schedules' (job name -> schedule) and "
            "'freshness_hours' (asset name -> hours)."
        )
    raw = document.get("freshness_hours") or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: freshness_hours maps asset names to hours, e.g. customer_360: 26"
        )
    for asset, value in raw.items():
        if asset not in known_assets:
            raise ConfigError(
                f"{path}: freshness_hours names unknown asset '{asset}'"
                f"{suggestion(asset, known_assets)}."
            )
        if value is None:
            hours.pop(asset, None)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(
                f"{path}: freshness_hours.{asset} must be a positive number of hours "
                "(or null for no freshness policy)."
            )
        hours[asset] = float(value)
    return hours
