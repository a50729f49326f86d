"""The orchestration's configuration: ``orchestration.yaml`` (schedules per job, freshness
windows per asset), validated at definitions load with the file, the entry and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from croniter import croniter

from amperity_braze_assets.config_file import ConfigError, load_yaml, suggestion

ORCHESTRATION_FILE = "orchestration.yaml"
SCHEDULE_KEYS = {"cron", "timezone", "enabled", "only_when_sources_changed", "description"}
DEFAULT_CRON = "0 6 * * *"


@dataclass(frozen=True)
class ScheduleConfig:
    job: str
    cron: str = DEFAULT_CRON
    timezone: str = "UTC"
    enabled: bool = True
    # Skip the tick when no source file changed since the last run the schedule requested.
    only_when_sources_changed: bool = False
    description: str = ""


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


def load_schedule_configs(
    config_dir: Path, known_jobs: dict[str, str]
) -> dict[str, ScheduleConfig]:
    """Schedules per job from ``orchestration.yaml``; every known job runs daily by default.

    ``known_jobs`` maps job name -> what it runs (for messages). A job left out of the file keeps
    the daily default; ``enabled: false`` turns its schedule off.
    """
    import zoneinfo

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
        cron = str(definition.get("cron", DEFAULT_CRON))
        if not is_valid_cron(cron):
            errors.append(
                f"{where}: cron {cron!r} is not a valid cron expression; use five fields, "
                "e.g. '0 6 * * *' (06:00 daily) or '*/15 * * * *'."
            )
        timezone = str(definition.get("timezone", "UTC"))
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: absurd names
            errors.append(
                f"{where}: timezone {timezone!r} is unknown; use an IANA name such as "
                "America/New_York or UTC."
            )
        for flag in ("enabled", "only_when_sources_changed"):
            if flag in definition and not isinstance(definition[flag], bool):
                errors.append(f"{where}: {flag} must be true or false.")
        schedules[job] = ScheduleConfig(
            job=job,
            cron=cron,
            timezone=timezone,
            enabled=bool(definition.get("enabled", True)),
            only_when_sources_changed=bool(definition.get("only_when_sources_changed", False)),
            description=str(definition.get("description", "")),
        )
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
