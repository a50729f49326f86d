"""Settings read from the environment, in one place.

Every knob a deployment turns lives here, with its default. Nothing else in the package reads
``os.environ`` for project settings, so the README's table of variables is this file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SAMPLE_CONFIG_DIR = Path(__file__).parent / "sample_config"
ENVIRONMENTS = ("local", "production")


@dataclass(frozen=True)
class Settings:
    """Where data, configuration and asset storage live.

    ``data_dir`` holds the raw sources (``sources/``), local asset storage (``storage/``) and
    state that must survive runs (``state/``). ``storage_url``, when set to ``s3://bucket/prefix``,
    moves asset storage to S3 (``AWS_ENDPOINT_URL`` points it at an S3-compatible store).
    """

    data_dir: Path
    config_dir: Path
    # local: everything under AMPERITY_BRAZE_DATA_DIR. production: asset storage and state on S3
    # (AMPERITY_BRAZE_STORAGE_URL), so steps on other processes, pods or machines share them.
    environment: str
    storage_url: str | None
    aws_endpoint_url: str | None
    aws_region: str | None
    default_phone_region: str
    dagster_home_override: Path | None = None
    # The "today" of recency figures (days since last order, last 12 months); None means now.
    as_of: datetime | None = None
    # Braze. The API key itself is never held here: assets read it through dg.EnvVar at run
    # time; only whether it is set decides the dry-run default.
    braze_rest_endpoint: str | None = None
    braze_instance: str | None = None
    braze_api_key_set: bool = False
    braze_dry_run: bool = True
    # Hash shards of the sync: above 1, each destination's diff and sync are partitioned by a
    # stable hash of the identifier, one ledger per shard, so shards run in separate processes
    # or pods at once.
    sync_shards: int = 1
    # One sync per ledger (a lease in the state store): how long a second sync of a ledger waits
    # for the first before giving up, sending nothing; and how long a lease lasts unless renewed
    # (its holder renews it every third of that; a crashed holder's lease is taken over after).
    ledger_wait_seconds: float = 600.0
    ledger_lease_seconds: float = 120.0
    # AMPERITY_BRAZE_DRY_RUN as set (None when unset: each destination is then a dry run exactly
    # when its own key variable is unset).
    braze_dry_run_override: bool | None = None
    # Braze Currents: an S3 bucket and prefix, or a local folder with the same layout.
    currents_s3_bucket: str | None = None
    currents_s3_prefix: str = "currents"
    currents_local_dir_override: Path | None = None
    # The Currents freshness check fails when no new file arrived for this long.
    currents_max_file_age_hours: float = 24.0
    # Alerts: an optional webhook (Slack-compatible JSON with a "text" field) and the UI's address
    # for links to runs.
    alert_webhook_url: str | None = None
    dagster_ui_url: str = "http://127.0.0.1:3000"
    # The sync console (``amperity-braze console``): braze_sync's metadata links to its run's page.
    console_url: str = "http://127.0.0.1:8010"
    # Previews in run metadata show personal data unmasked: for local work on sample data only,
    # since Dagster keeps run metadata for as long as the instance lives.
    preview_personal_data: bool = False
    # customer_engagement counts opens a mail client made on its own (Apple Mail Privacy
    # Protection: Currents' machine_open) and clicks Braze suspects a bot made, when true.
    count_machine_opens: bool = False
    count_bot_clicks: bool = False

    @property
    def currents_local_dir(self) -> Path:
        return self.currents_local_dir_override or self.data_dir / "currents"

    def reference_time(self) -> datetime:
        return self.as_of or datetime.now(UTC)

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def storage_base(self) -> str:
        """Base location of the Parquet asset storage: an S3 URL or a local folder."""
        return self.storage_url.rstrip("/") if self.storage_url else str(self.data_dir / "storage")

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def state_base(self) -> str:
        """Where state that must survive runs lives: beside the asset storage."""
        return f"{self.storage_url.rstrip('/')}/state" if self.storage_url else str(self.state_dir)

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance the demo and ``make ui`` share."""
        return self.dagster_home_override or self.data_dir / "dagster_home"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("AMPERITY_BRAZE_DATA_DIR") or "./data").expanduser().resolve()
    config_dir = Path(env.get("AMPERITY_BRAZE_CONFIG_DIR") or SAMPLE_CONFIG_DIR).expanduser()
    storage_url = env.get("AMPERITY_BRAZE_STORAGE_URL") or None
    environment = (env.get("AMPERITY_BRAZE_ENV") or "local").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ValueError(
            f"AMPERITY_BRAZE_ENV={environment!r} is unknown; use one of {', '.join(ENVIRONMENTS)}."
        )
    if environment == "production" and not storage_url:
        raise ValueError(
            "AMPERITY_BRAZE_ENV=production keeps asset storage and state on S3, shared by every "
            "process and pod: set AMPERITY_BRAZE_STORAGE_URL=s3://<bucket>/<prefix>."
        )
    if storage_url is not None and not storage_url.startswith("s3://"):
        raise ValueError(
            f"AMPERITY_BRAZE_STORAGE_URL={storage_url!r} is not an s3:// URL. Set it to "
            "s3://<bucket>/<prefix> for S3 storage, or unset it to store assets under "
            "AMPERITY_BRAZE_DATA_DIR/storage."
        )
    as_of = None
    if env.get("AMPERITY_BRAZE_AS_OF"):
        try:
            as_of = datetime.fromisoformat(env["AMPERITY_BRAZE_AS_OF"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"AMPERITY_BRAZE_AS_OF={env['AMPERITY_BRAZE_AS_OF']!r} is not an ISO-8601 date or "
                "time (e.g. 2025-06-10 or 2025-06-10T12:00:00Z); unset it to use the current time."
            ) from exc
        as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    api_key_set = bool(env.get("BRAZE_API_KEY"))
    dry_run_override = _flag(
        env, "AMPERITY_BRAZE_DRY_RUN", "dry run exactly when BRAZE_API_KEY is not set"
    )
    dry_run = (not api_key_set) if dry_run_override is None else dry_run_override
    return Settings(
        environment=environment,
        data_dir=data_dir,
        config_dir=config_dir.resolve(),
        storage_url=storage_url,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        default_phone_region=(env.get("AMPERITY_BRAZE_PHONE_REGION") or "US").upper(),
        dagster_home_override=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
        as_of=as_of,
        braze_rest_endpoint=env.get("BRAZE_REST_ENDPOINT") or None,
        braze_instance=env.get("BRAZE_INSTANCE") or None,
        braze_api_key_set=api_key_set,
        braze_dry_run=dry_run,
        sync_shards=_positive_int(env, "AMPERITY_BRAZE_SYNC_SHARDS", 1),
        ledger_wait_seconds=_seconds(env, "AMPERITY_BRAZE_LEDGER_WAIT_SECONDS", 600.0, lowest=0),
        ledger_lease_seconds=_seconds(env, "AMPERITY_BRAZE_LEDGER_LEASE_SECONDS", 120.0, lowest=3),
        braze_dry_run_override=dry_run_override,
        alert_webhook_url=env.get("ALERT_WEBHOOK_URL") or None,
        dagster_ui_url=(env.get("DAGSTER_UI_URL") or "http://127.0.0.1:3000").rstrip("/"),
        console_url=(env.get("AMPERITY_BRAZE_CONSOLE_URL") or "http://127.0.0.1:8010").rstrip("/"),
        preview_personal_data=bool(_flag(env, "AMPERITY_BRAZE_PREVIEW_PII", "false")),
        count_machine_opens=bool(_flag(env, "AMPERITY_BRAZE_COUNT_MACHINE_OPENS", "false")),
        count_bot_clicks=bool(_flag(env, "AMPERITY_BRAZE_COUNT_BOT_CLICKS", "false")),
        currents_max_file_age_hours=_positive_float(env, "CURRENTS_MAX_FILE_AGE_HOURS", 24.0),
        currents_s3_bucket=env.get("CURRENTS_S3_BUCKET") or None,
        currents_s3_prefix=(env.get("CURRENTS_S3_PREFIX") or "currents").strip("/"),
        currents_local_dir_override=(
            Path(env["CURRENTS_LOCAL_DIR"]).expanduser().resolve()
            if env.get("CURRENTS_LOCAL_DIR")
            else None
        ),
    )


def _flag(env: Mapping[str, str], name: str, when_unset: str) -> bool | None:
    """A true/false variable; None when unset (``when_unset`` says what that means)."""
    text = (env.get(name) or "").strip().lower()
    if text not in ("", "1", "0", "true", "false", "yes", "no"):
        raise ValueError(f"{name}={text!r}: use true or false (unset: {when_unset}).")
    return (text in ("1", "true", "yes")) if text else None


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    problem = f"must be a positive number (unset it for {default})."
    return _float_above(env, name, default, 0.0, problem, inclusive=False)


def _seconds(env: Mapping[str, str], name: str, default: float, *, lowest: float) -> float:
    problem = f"must be a number of seconds of at least {lowest:g} (unset: {default:g})."
    return _float_above(env, name, default, lowest, problem, inclusive=True)


def _float_above(
    env: Mapping[str, str], name: str, default: float, lowest: float, problem: str, *, inclusive
) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")  # compares false: refused below
    if not (value >= lowest if inclusive else value > lowest):
        raise ValueError(f"{name}={text!r} {problem}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(
            f"{name}={text!r} must be a whole number of at least 1 (unset: {default})."
        )
    return int(text)
