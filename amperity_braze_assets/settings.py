"""Settings read from the environment, in one place.

Every knob a deployment turns lives here, with its default. Nothing else in the package reads
``os.environ`` for project settings, so the README's table of variables is this file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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
    return Settings(
        data_dir=data_dir,
        config_dir=config_dir.resolve(),
        storage_url=storage_url,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        default_phone_region=(env.get("AMPERITY_BRAZE_PHONE_REGION") or "US").upper(),
        dagster_home_override=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
    )
