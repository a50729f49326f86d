"""Alerts: a clear message (job, asset, reason, link to the run) to the log and a webhook.

Plain Python: the run-failure sensor and the check-failure hook in ``sensors.py`` call this.
The webhook body is Slack-compatible (``text``) and carries the fields separately for other
receivers. Nothing secret goes in: reasons are redacted of anything that looks like a key.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass

import requests

WEBHOOK_TIMEOUT_SECONDS = 10
# Long random tokens (API keys, bearer tokens) are cut from reasons before they travel.
# Mixed letters and digits, so long identifiers such as exception class names survive.
_SECRET_LIKE = re.compile(
    r"(?i)(bearer\s+)?\b(?=[a-z0-9_\-]*[0-9])(?=[a-z0-9_\-]*[a-z])[a-z0-9_\-]{32,}\b"
)

logger = logging.getLogger("amperity_braze_assets.orchestration.alerts")


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure | check_failure
    job: str
    asset: str | None
    reason: str
    run_id: str
    run_url: str

    @property
    def text(self) -> str:
        where = f"asset `{self.asset}` in job `{self.job}`" if self.asset else f"job `{self.job}`"
        headline = "Run failed" if self.kind == "run_failure" else "Check failed"
        return f"{headline}: {where}: {self.reason} ({self.run_url})"


def redact(text: str) -> str:
    return _SECRET_LIKE.sub("[redacted]", text)


def make_alert(
    kind: str, job: str, asset: str | None, reason: str, run_id: str, ui_url: str
) -> Alert:
    reason = redact(" ".join(reason.split()))[:1000]
    return Alert(kind, job, asset, reason, run_id, f"{ui_url.rstrip('/')}/runs/{run_id}")


def send_alert(
    alert: Alert, webhook_url: str | None, session: requests.Session | None = None
) -> bool:
    """Log the alert, post it to the webhook when one is set; True when the webhook took it."""
    logger.error(alert.text)
    if not webhook_url:
        return False
    payload = {"text": alert.text, **asdict(alert)}
    try:
        response = (session or requests).post(
            webhook_url, json=payload, timeout=WEBHOOK_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        logger.error("alert webhook unreachable: %s", type(exc).__name__)
        return False
    if response.status_code >= 300:
        logger.error("alert webhook answered %s", response.status_code)
        return False
    return True
