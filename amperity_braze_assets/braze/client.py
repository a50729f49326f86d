"""The Braze REST client: one pooled session, pacing, retries, and answers mapped to rows.

No Dagster here: ``BrazeResource`` (``resources.py``) is a thin face over ``BrazeClient``.

What a request's answer means for its rows is decided here and only here:
- ``201`` without ``errors``: every object accepted;
- ``201`` with ``errors``: the listed objects rejected (with Braze's reason), the rest accepted;
- ``400`` with ``errors``: the listed rows rejected; without ``errors``: the whole batch rejected;
- ``429``: nothing applied; wait for the window to reset and send again (not a failure);
- ``5xx`` and network errors: retried with exponential backoff and full jitter; when attempts run
  out the outcome is *unknown*: never recorded as accepted, resent by the next run;
- ``401``/``403``: raise ``BrazeAuthError`` (every further request would fail the same way).

The API key never leaves this module in clear: ``redact`` replaces it in every body and message
this module logs or raises, and ``repr`` shows only that a key is set.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from amperity_braze_assets import braze_fields as fields

log = logging.getLogger("amperity_braze_assets.braze")

REDACTED = "[REDACTED]"
EPOCH_THRESHOLD = 1_000_000_000  # X-RateLimit-Reset below 10^9 is a delay, above an epoch
MAX_WAIT_SECONDS = 120.0
# Answers of a gateway in front of Braze (bad gateway, gateway timeout): the request may have
# been applied behind it, so for purchases and events they are ambiguous attempts.
GATEWAY_STATUSES = (502, 504)


class BrazeError(RuntimeError):
    """A Braze call failed in a way the caller must see; the message is already redacted."""


class BrazeAuthError(BrazeError):
    """401 or 403: the key is wrong, of another instance, or lacks ``users.track``."""


class BrazeConfigError(ValueError):
    """The endpoint or instance is unusable."""


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_rest_endpoint(instance: str | None, rest_endpoint: str | None) -> str:
    """The REST base URL from an instance (``US-03``) or an explicit endpoint.

    Plain ``http`` is refused except for loopback hosts (the emulator): the key travels in a
    header, and over http anyone on the path could read it.
    """
    if rest_endpoint:
        endpoint = rest_endpoint.strip().rstrip("/")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BrazeConfigError(
                f"Braze REST endpoint {endpoint!r} is not an http(s) URL; use e.g. "
                "https://rest.iad-03.braze.com, or set the instance (BRAZE_INSTANCE=US-03) instead."
            )
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise BrazeConfigError(
                f"Braze REST endpoint {endpoint!r} uses plain http to a non-loopback host; the "
                "API key would travel unencrypted. Use https, or http://127.0.0.1:<port> for the "
                "local emulator."
            )
        if parts.path not in ("", "/"):
            raise BrazeConfigError(
                f"Braze REST endpoint {endpoint!r} must be the base URL without a path "
                "(the client adds /users/track)."
            )
        return endpoint
    if instance:
        try:
            return fields.rest_endpoint_for(instance)
        except ValueError as exc:
            raise BrazeConfigError(str(exc)) from exc
    raise BrazeConfigError(
        "no Braze endpoint: set BRAZE_INSTANCE (e.g. US-03) or BRAZE_REST_ENDPOINT "
        "(e.g. http://127.0.0.1:9400 for the emulator)."
    )


@dataclass(frozen=True, kw_only=True)
class ClientTuning:
    """How hard the client pushes one workspace: the settings a destination may set
    (destinations.py), which its resource passes to the client unchanged (resources.py)."""

    objects_per_request: int = fields.MAX_OBJECTS_PER_REQUEST
    rate_limit: int = fields.RATE_LIMIT_REQUESTS  # requests per window
    rate_window_seconds: float = fields.RATE_LIMIT_WINDOW_SECONDS
    concurrency: int = 8
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 6  # for 5xx and network errors; 429 waits do not use attempts


CLIENT_TUNING = tuple(setting.name for setting in dataclasses.fields(ClientTuning))


@dataclass(frozen=True)
class RateBudget:
    """A workspace's ``/users/track`` limit, split evenly among the syncs that may write to it at
    once (destinations on the workspace × hash shards): each client paces at ``share``, so
    together they stay within the workspace's limit instead of earning 429s from one another."""

    limit: int  # requests per window, for the whole workspace
    window_seconds: float
    sharers: int = 1

    @property
    def share(self) -> int:
        return max(1, self.limit // max(1, self.sharers))

    def shared_by(self, more: int) -> RateBudget:
        """The same budget split ``more`` times further (the shards of each destination)."""
        return dataclasses.replace(self, sharers=self.sharers * max(1, more))

    def describe(self) -> str:
        return (
            f"{self.share:,} of {self.limit:,} requests per {self.window_seconds:g} s "
            f"(shared by {self.sharers})"
        )


@dataclass(frozen=True, kw_only=True)
class ClientSettings(ClientTuning):
    rest_endpoint: str
    # Pace at this share of the limit: a fixed-window server and an evenly paced client never
    # line up exactly, and the margin absorbs arrival jitter without 429s.
    rate_safety: float = 0.99
    max_throttle_waits: int = 50
    backoff_base: float = 0.5
    backoff_max: float = 30.0


@dataclass
class RowError:
    index: int
    input_array: str
    reason: str


@dataclass
class TrackResult:
    """What one batch's request came to, after retries."""

    outcome: str  # accepted | partial | rejected | unknown
    status: int | None
    errors: list[RowError] = field(default_factory=list)
    message: str = ""
    attempts: int = 0
    throttled: int = 0
    server_errors: int = 0
    # attempts that may have been applied without our knowing (dropped connection, read timeout)
    ambiguous_attempts: int = 0
    seconds: float = 0.0

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


class RatePacer:
    """Evenly spaced request slots at ``safety × limit / window``, plus a shared pause.

    Slots are handed out in order, so concurrent workers never burst; a 429 or an exhausted
    ``X-RateLimit-Remaining`` pauses every worker until the server's window resets.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        safety: float = 0.99,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = window_seconds / max(1.0, limit * safety)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = clock()
        self._paused_until = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self.interval
        if slot > now:
            self._sleep(slot - now)

    def pause_for(self, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            if until > self._paused_until:
                self._paused_until = until
            self._next_slot = max(self._next_slot, self._paused_until)


def throttle_delay(headers: Any, wall_clock: Callable[[], float], window_seconds: float) -> float:
    """Seconds to wait after a 429, from whichever header the server sent."""
    for name in ("X-Ratelimit-Retry-After", "Retry-After"):
        value = headers.get(name)
        if value:
            try:
                return _clamp(float(value))
            except ValueError:
                pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            number = float(reset)
        except ValueError:
            number = None
        if number is not None:
            delay = number - wall_clock() if number >= EPOCH_THRESHOLD else number
            return _clamp(delay)
    return _clamp(window_seconds)


def may_have_been_sent(exc: requests.RequestException) -> bool:
    """Whether a failed request may have reached Braze (and been applied) all the same.

    Only a connection that was never made proves it was not: a connect timeout, or a
    ``ConnectionError`` whose urllib3 cause is ``NewConnectionError`` (refused, unreachable,
    name not resolved). A dropped connection or a read timeout may have come after Braze applied
    the batch, so it counts as ambiguous.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if not isinstance(exc, requests.ConnectionError):
        return True
    return not any(isinstance(cause, NewConnectionError) for cause in _causes(exc))


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: requests puts urllib3's ``MaxRetryError`` in ``args[0]``,
    whose ``reason`` is the underlying error; Python chains the rest."""
    found: list[BaseException] = []
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or any(item is seen for seen in found):
            continue
        found.append(item)
        pending += [getattr(item, "reason", None), item.__cause__, item.__context__]
        pending += [arg for arg in item.args if isinstance(arg, BaseException)]
    return found


def _clamp(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_WAIT_SECONDS)


def identify_body(pairs: Sequence[tuple[str, str, str]]) -> str:
    """The ``/users/identify`` body for ``(external_id, alias_name, alias_label)`` triples."""
    return json.dumps(
        {
            "aliases_to_identify": [
                {
                    "external_id": external_id,
                    "user_alias": {"alias_name": name, "alias_label": label},
                }
                for external_id, name, label in pairs
            ]
        },
        separators=(",", ":"),
    )


class BrazeClient:
    """Sends ``/users/track`` and ``/users/merge`` requests; safe to share across threads."""

    def __init__(
        self,
        settings: ClientSettings,
        api_key: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ):
        if not api_key:
            raise BrazeConfigError("no Braze API key: set BRAZE_API_KEY (or run in dry-run mode).")
        resolve_rest_endpoint(None, settings.rest_endpoint)  # refuse http off loopback here too
        self.settings = settings
        self._api_key = api_key
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.pacer = RatePacer(
            settings.rate_limit, settings.rate_window_seconds, settings.rate_safety, clock, sleep
        )
        self._clock = clock
        self.session = requests.Session()
        pool = max(1, settings.concurrency)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool, max_retries=0, pool_block=True)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        )

    def __repr__(self) -> str:
        return f"BrazeClient(rest_endpoint={self.settings.rest_endpoint!r}, api_key={REDACTED})"

    def redact(self, text: str) -> str:
        return text.replace(self._api_key, REDACTED) if self._api_key else text

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> BrazeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- /users/track -------------------------------------------------------------------------
    def track(
        self,
        body: bytes | str | dict[str, Any],
        objects: int | None = None,
        *,
        resend_ambiguous: bool = True,
        before_send: Callable[[], None] | None = None,
    ) -> TrackResult:
        """Send one ``/users/track`` body (already batched) and classify the answer.

        ``resend_ambiguous=False``: after an attempt that may have been applied (a dropped
        connection, a read timeout, a gateway's 502 or 504) the outcome is ``unknown`` at once,
        never sent again: a body holding purchases or events would be counted twice. 429s,
        500s and 503s applied nothing and are retried either way. ``before_send`` is called once, after pacing and
        right before the first attempt leaves (the sync writes its events' keys ahead there)."""
        if isinstance(body, dict):
            payload = json.dumps(body, separators=(",", ":")).encode()
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = body
        return self._post(
            fields.TRACK_PATH, payload, resend_ambiguous=resend_ambiguous, before_send=before_send
        )

    # -- /users/merge -------------------------------------------------------------------------
    def merge(self, pairs: Sequence[tuple[str, str]]) -> TrackResult:
        """Merge ``(absorbed external_id, survivor external_id)`` pairs, 50 to a request."""
        if len(pairs) > fields.MAX_MERGES_PER_REQUEST:
            raise ValueError(f"at most {fields.MAX_MERGES_PER_REQUEST} merges a request")
        body = {
            "merge_updates": [
                {
                    "identifier_to_merge": {"external_id": absorbed},
                    "identifier_to_keep": {"external_id": survivor},
                }
                for absorbed, survivor in pairs
            ]
        }
        return self._post(fields.MERGE_PATH, json.dumps(body).encode(), paced=False)

    # -- /users/identify ----------------------------------------------------------------------
    def identify(self, pairs: Sequence[tuple[str, str, str]]) -> TrackResult:
        """Join alias-only profiles to an external_id: ``(external_id, alias_name, alias_label)``
        triples, 50 to a request. Not paced, like ``merge``: 50 a request against a shared
        20,000 requests a minute is a million a minute, beyond any sync's need."""
        if len(pairs) > fields.MAX_IDENTIFIES_PER_REQUEST:
            raise ValueError(f"at most {fields.MAX_IDENTIFIES_PER_REQUEST} aliases a request")
        return self._post(fields.IDENTIFY_PATH, identify_body(pairs).encode(), paced=False)

    # -- the one request loop ------------------------------------------------------------------------
    def _post(
        self,
        path: str,
        payload: bytes,
        paced: bool = True,
        resend_ambiguous: bool = True,
        before_send: Callable[[], None] | None = None,
    ) -> TrackResult:
        settings = self.settings
        url = settings.rest_endpoint + path
        result = TrackResult(outcome="unknown", status=None)
        started = self._clock()
        failures = 0
        while True:
            if paced:
                self.pacer.acquire()
            if before_send is not None:
                before_send()
                before_send = None
            result.attempts += 1
            try:
                response = self.session.post(
                    url, data=payload, timeout=(settings.connect_timeout, settings.read_timeout)
                )
            except requests.RequestException as exc:
                ambiguous = may_have_been_sent(exc)
                result.ambiguous_attempts += int(ambiguous)
                result.message = self.redact(f"{type(exc).__name__}: {exc}")
                failures += 1
                if failures >= settings.max_attempts or (ambiguous and not resend_ambiguous):
                    result.outcome = "unknown"
                    break
                self._back_off(failures, path, result.message)
                continue
            result.status = response.status_code
            self._observe_headers(response.headers)
            if response.status_code == 429:
                result.throttled += 1
                result.attempts -= 1  # a throttled request was not an attempt to apply
                if result.throttled > settings.max_throttle_waits:
                    result.outcome = "unknown"
                    result.message = "still rate limited after waiting for the window to reset"
                    break
                delay = throttle_delay(
                    response.headers, self._wall_clock, settings.rate_window_seconds
                )
                log.info("Braze %s: 429, waiting %.3fs for the rate-limit window", path, delay)
                self.pacer.pause_for(delay)
                continue
            if response.status_code >= 500:
                result.server_errors += 1
                failures += 1
                result.message = self.redact(f"HTTP {response.status_code}: {response.text[:500]}")
                # A 502 or 504 is a gateway's answer: the request may have reached Braze and
                # been applied behind it (a 500 or 503 is Braze's own: nothing applied).
                ambiguous = response.status_code in GATEWAY_STATUSES
                result.ambiguous_attempts += int(ambiguous)
                if failures >= settings.max_attempts or (ambiguous and not resend_ambiguous):
                    result.outcome = "unknown"
                    break
                self._back_off(failures, path, result.message)
                continue
            self._classify(response, result)
            break
        result.seconds = self._clock() - started
        return result

    def _classify(self, response: requests.Response, result: TrackResult) -> None:
        status = response.status_code
        text = self.redact(response.text)
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        result.message = str(body.get("message", ""))[:500] or text[:500]
        if status in (401, 403):
            raise BrazeAuthError(
                f"Braze answered {status} ({result.message}): check the API key, that it "
                "belongs to this instance, and that it has the users.track permission."
            )
        result.errors = [
            RowError(
                index=int(error.get("index", -1)),
                input_array=str(error.get("input_array", "attributes")),
                reason=str(error.get("type", "rejected")),
            )
            for error in body.get("errors") or []
            if isinstance(error, dict) and isinstance(error.get("index"), int)
        ]
        if 200 <= status < 300:
            result.outcome = "partial" if result.errors else "accepted"
        else:
            result.outcome = "rejected"
            log.warning("Braze rejected a request: HTTP %s %s", status, result.message)

    def _observe_headers(self, headers: Any) -> None:
        """A window already spent: hold every worker until it resets instead of earning 429s."""
        remaining = headers.get("X-RateLimit-Remaining")
        if remaining is not None and remaining.strip() == "0":
            delay = throttle_delay(headers, self._wall_clock, self.settings.rate_window_seconds)
            self.pacer.pause_for(delay)

    def _back_off(self, failures: int, path: str, message: str) -> None:
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (failures - 1))
        with self._rng_lock:
            delay = self._rng.uniform(0, ceiling)  # full jitter: retries of many workers spread
        log.info("Braze %s failed (%s); retry %d in %.3fs", path, message, failures, delay)
        self._sleep(delay)
