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


@dataclass(frozen=True)
class Settings:
    """Where data, configuration and asset storage live.

    ``data_dir`` holds the raw sources (``sources/``), local asset storage (``storage/``) and
    state that must survive runs (``state/``). ``storage_url``, when set to ``s3://bucket/prefix``,
    moves asset storage to S3 (``AWS_ENDPOINT_URL`` points it at an S3-compatible store).
    """

    data_dir: Path
    config_dir: Path
    storage_url: str | None
    aws_endpoint_url: str | None
    aws_region: str | None
    default_phone_region: str
    dagster_home_override: Path | None = None
    # The "today" of recency figures (days since last order, last 12 months); None means now.
    as_of: datetime | None = None

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
    return Settings(
        data_dir=data_dir,
        config_dir=config_dir.resolve(),
        storage_url=storage_url,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        default_phone_region=(env.get("AMPERITY_BRAZE_PHONE_REGION") or "US").upper(),
        dagster_home_override=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
        as_of=as_of,
    )
