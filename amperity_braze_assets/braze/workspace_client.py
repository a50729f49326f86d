"""A small read client for a Braze workspace's schema: ``GET /custom_attributes`` and the key's
permissions. No Dagster here; ``workspace_assets.py`` and ``amperity-braze check-braze`` use it.

What Braze documents (spec, "Workspace schema"; braze.com "Export custom attributes"):
- the key needs ``custom_attributes.get``; 401 is a wrong key (or another instance's), 403 a key
  without that permission;
- 50 attributes a page, alphabetical; the next page's URL (with its ``cursor``) comes in the
  ``Link`` header with ``rel="next"`` (RFC 8288), never in the body; no ``Link`` ``next``: done;
- 1,000 requests an hour, shared with ``/events``, ``/events/list`` and
  ``/purchases/product_list``: this client spends at most ``hourly_limit`` in any hour and waits
  on a 429 as the sync's client does (``throttle_delay``).

It is the sync client (``BrazeClient``) with two more calls: the same endpoint rule
(``resolve_rest_endpoint``: https, or http to loopback), settings (timeouts, attempts, backoff),
session and key redaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from amperity_braze_assets import braze_fields as fields
from amperity_braze_assets.braze.client import (
    BrazeAuthError,
    BrazeClient,
    BrazeError,
    ClientSettings,
    throttle_delay,
)

log = logging.getLogger("amperity_braze_assets.braze")

CUSTOM_ATTRIBUTES_PATH = "/custom_attributes"
CUSTOM_ATTRIBUTES_PERMISSION = "custom_attributes.get"
TRACK_PERMISSION = "users.track"
CUSTOM_ATTRIBUTES_HOURLY_LIMIT = 1_000  # shared with /events, /events/list, /purchases/product_list
HOUR_SECONDS = 3600.0
# Braze serves 50 a page: 400 pages is 20,000 attributes, far past any real workspace; a server
# that keeps sending "next" beyond it is looping.
MAX_PAGES = 400
BLOCKLISTED = "Blocklisted"


class BrazePermissionError(BrazeAuthError):
    """401 or 403 on a workspace read or probe; ``permission`` is the one the call needs."""

    def __init__(self, message: str, permission: str, status: int):
        super().__init__(message)
        self.permission = permission
        self.status = status


@dataclass(frozen=True)
class WorkspaceAttribute:
    """One custom attribute as ``GET /custom_attributes`` lists it."""

    name: str
    data_type: str
    status: str = "Active"
    description: str | None = None
    array_length: int | None = None
    tag_names: tuple[str, ...] = ()

    @property
    def blocklisted(self) -> bool:
        return self.status.strip().lower() == BLOCKLISTED.lower()

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> WorkspaceAttribute:
        length = item.get("array_length")
        return cls(
            name=str(item.get("name", "")),
            data_type=str(item.get("data_type") or ""),
            status=str(item.get("status") or "Active"),
            description=item.get("description"),
            array_length=length if isinstance(length, int) else None,
            tag_names=tuple(str(tag) for tag in item.get("tag_names") or ()),
        )


@dataclass(frozen=True)
class PermissionProbe:
    """Whether the key holds ``permission``, from the status Braze answered a harmless call."""

    permission: str
    granted: bool
    status: int | None
    message: str = ""


class HourlyBudget:
    """At most ``limit`` requests in any ``window`` seconds (a sliding log): a few pages go out
    at once, and only a client that would pass the limit waits for its oldest request to age."""

    def __init__(
        self,
        limit: int,
        window: float = HOUR_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limit, self.window = limit, window
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()

    def acquire(self) -> None:
        now = self._clock()
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            wait = self._sent[0] + self.window - now
            log.info("Braze /custom_attributes: hourly budget spent, waiting %.0fs", wait)
            self._sleep(wait)
            self._sent.popleft()
            now = self._clock()
        self._sent.append(now)


class WorkspaceClient(BrazeClient):
    """Reads one workspace's custom attributes and probes the key's permissions: the sync
    client's session, key handling and backoff, with this endpoint's own hourly budget."""

    def __init__(
        self,
        settings: ClientSettings,
        api_key: str,
        *,
        hourly_limit: int = CUSTOM_ATTRIBUTES_HOURLY_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ):
        super().__init__(
            settings, api_key, clock=clock, wall_clock=wall_clock, sleep=sleep, seed=seed
        )
        self.budget = HourlyBudget(hourly_limit, HOUR_SECONDS, clock, sleep)
        self.requests = 0

    # -- GET /custom_attributes -----------------------------------------------------------------
    def custom_attributes(self) -> list[WorkspaceAttribute]:
        """Every custom attribute of the workspace, following ``Link: <...>; rel="next"``."""
        url: str | None = self.settings.rest_endpoint + CUSTOM_ATTRIBUTES_PATH
        found: list[WorkspaceAttribute] = []
        pages = 0
        while url:
            pages += 1
            if pages > MAX_PAGES:
                raise BrazeError(
                    f"Braze /custom_attributes still had a next page after {MAX_PAGES} pages; "
                    "stopped reading (a looping cursor?)."
                )
            response = self._send("GET", url, CUSTOM_ATTRIBUTES_PERMISSION, paced=True)
            if response.status_code != 200:
                raise BrazeError(
                    f"Braze /custom_attributes answered {response.status_code}: "
                    f"{self.redact(response.text[:300])}"
                )
            found.extend(WorkspaceAttribute.from_json(a) for a in _attributes_of(response))
            url = self._next_page(response)
        return found

    def _next_page(self, response: requests.Response) -> str | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        # The header may carry a path or a full URL; only ever follow it on our own host.
        if link.startswith("/"):
            return self.settings.rest_endpoint + link
        if not link.startswith(self.settings.rest_endpoint + "/"):
            raise BrazeError(f"Braze's Link header points off the REST host: {link[:200]}")
        return link

    # -- permission probes ------------------------------------------------------------------------
    def probe_track_permission(self) -> PermissionProbe:
        """Whether the key may call ``/users/track``, with a request that cannot write: an empty
        ``attributes`` array. Braze checks the key before the body (401/403), so a key without
        ``users.track`` is refused; a key with it gets the body's answer (400 nothing to process,
        or 201 with nothing processed). Nothing is written either way."""
        url = self.settings.rest_endpoint + fields.TRACK_PATH
        try:
            response = self._send("POST", url, TRACK_PERMISSION, body={"attributes": []})
        except BrazePermissionError as exc:
            return PermissionProbe(TRACK_PERMISSION, False, exc.status, str(exc))
        granted = response.status_code < 300 or response.status_code == 400
        return PermissionProbe(
            TRACK_PERMISSION, granted, response.status_code, self.redact(response.text[:200])
        )

    def probe_custom_attributes_permission(self) -> PermissionProbe:
        """Whether the key may read the schema: the first page of ``/custom_attributes``."""
        url = self.settings.rest_endpoint + CUSTOM_ATTRIBUTES_PATH
        try:
            response = self._send("GET", url, CUSTOM_ATTRIBUTES_PERMISSION, paced=True)
        except BrazePermissionError as exc:
            return PermissionProbe(CUSTOM_ATTRIBUTES_PERMISSION, False, exc.status, str(exc))
        return PermissionProbe(CUSTOM_ATTRIBUTES_PERMISSION, True, response.status_code)

    # -- the one request loop ----------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        permission: str,
        *,
        body: dict[str, Any] | None = None,
        paced: bool = False,
    ) -> requests.Response:
        """One call with the sync's retry rules: 429 waits for the window, 5xx and network
        errors back off with full jitter; 401/403 raise ``BrazePermissionError``."""
        settings = self.settings
        failures = throttled = 0
        data = json.dumps(body).encode() if body is not None else None
        while True:
            self.requests += 1
            if paced:  # the hourly budget binds reads; the probe is one request
                self.budget.acquire()
            try:
                response = self.session.request(
                    method,
                    url,
                    data=data,
                    timeout=(settings.connect_timeout, settings.read_timeout),
                )
            except requests.RequestException as exc:
                failures += 1
                if failures >= settings.max_attempts:
                    raise BrazeError(self.redact(f"{type(exc).__name__}: {exc}")) from None
                self._back_off(failures, url, "retrying")
                continue
            status = response.status_code
            if status in (401, 403):
                raise BrazePermissionError(self._refusal(status, permission), permission, status)
            if status == 429:
                throttled += 1
                if throttled > settings.max_throttle_waits:
                    raise BrazeError(f"Braze {url}: still rate limited after {throttled} waits")
                self._sleep(throttle_delay(response.headers, self._wall_clock, HOUR_SECONDS / 60))
                continue
            if status >= 500:
                failures += 1
                if failures >= settings.max_attempts:
                    raise BrazeError(f"Braze {url} answered {status} {failures} times")
                self._back_off(failures, url, "retrying")
                continue
            return response

    @staticmethod
    def _refusal(status: int, permission: str) -> str:
        if status == 401:
            return (
                "Braze answered 401: the API key is wrong, revoked, or of another instance "
                f"(check the REST endpoint); the call needs a valid key with {permission}."
            )
        return (
            f"Braze answered 403: the API key lacks the {permission} permission. Fix: in Braze, "
            f"Settings > APIs and Identifiers, edit the key and tick {permission}."
        )


def _attributes_of(response: requests.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        raise BrazeError("Braze /custom_attributes answered a body that is not JSON") from None
    items = body.get("attributes") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise BrazeError("Braze /custom_attributes answered without an 'attributes' list")
    return [item for item in items if isinstance(item, dict)]
