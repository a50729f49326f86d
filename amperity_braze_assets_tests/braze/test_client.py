"""The client against the real emulator: pacing, 429s, 5xx, errors mapped to rows, redaction."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
import requests

from amperity_braze_assets.braze.client import (
    BrazeAuthError,
    BrazeClient,
    BrazeConfigError,
    ClientSettings,
    RatePacer,
    may_have_been_sent,
    resolve_rest_endpoint,
    throttle_delay,
)
from amperity_braze_assets.braze.resources import BrazeResource
from amperity_braze_assets.devtools.emulator import start_emulator

KEY = "sekret-client-key-9f8e7d"


def body(*ids: str) -> dict:
    return {"attributes": [{"external_id": i, "n": 1} for i in ids]}


def fast_settings(url: str, **overrides) -> ClientSettings:
    values = dict(rest_endpoint=url, backoff_base=0.001, backoff_max=0.01, concurrency=2)
    values.update(overrides)
    return ClientSettings(**values)


def test_plain_http_is_refused_off_loopback():
    with pytest.raises(BrazeConfigError, match="plain http"):
        resolve_rest_endpoint(None, "http://rest.iad-03.braze.com")
    assert resolve_rest_endpoint(None, "http://127.0.0.1:9400/") == "http://127.0.0.1:9400"
    assert resolve_rest_endpoint("us-03", None) == "https://rest.iad-03.braze.com"
    with pytest.raises(BrazeConfigError, match="unknown Braze instance"):
        resolve_rest_endpoint("US-09", None)
    with pytest.raises(BrazeConfigError, match="plain http"):
        BrazeResource(api_key="k", rest_endpoint="http://example.com").get_client()


def test_rows_rejected_inside_a_201_are_mapped_to_their_index():
    with start_emulator(KEY) as emulator, BrazeClient(fast_settings(emulator.url), KEY) as client:
        result = client.track(
            {"attributes": [{"external_id": "a"}, {"external_id": "b", "email": "nope"}]}
        )
        assert result.outcome == "partial" and result.status == 201
        assert [(e.index, e.input_array) for e in result.errors] == [(1, "attributes")]
        assert "email" in result.errors[0].reason.lower()


def test_429_waits_for_the_window_and_5xx_and_drops_are_retried():
    # The client believes it may send 1000 a window; the emulator allows 3 per 50 ms window.
    with start_emulator(
        KEY, rate_limit=3, window_seconds=0.05, fail_requests={2}, drop_requests={4}
    ) as emulator:
        with BrazeClient(
            fast_settings(emulator.url, rate_limit=1000, rate_window_seconds=0.05), KEY
        ) as client:
            results = [client.track(body(f"p{i}")) for i in range(8)]
        assert all(r.outcome == "accepted" for r in results)
        assert sum(r.server_errors for r in results) == 1
        assert sum(r.ambiguous_attempts for r in results) == 1
        assert set(emulator.profiles) == {f"p{i}" for i in range(8)}
        assert emulator.counters.throttled == sum(r.throttled for r in results)


def test_a_429_is_waited_out_until_the_window_resets():
    now = [5_000.0]  # one fake clock for server and client: waiting advances it, no real sleep

    def sleep(seconds: float) -> None:
        now[0] += seconds

    clock = lambda: now[0]  # noqa: E731
    with start_emulator(KEY, rate_limit=2, window_seconds=3, clock=clock) as emulator:
        settings = fast_settings(emulator.url)
        with BrazeClient(settings, KEY, clock=clock, wall_clock=clock, sleep=sleep) as client:
            # Another writer spent the window: our first answer is a 429.
            for _ in range(2):
                client.session.post(emulator.url + "/users/track", json=body("other"), timeout=5)
            result = client.track(body("mine"))
        assert result.outcome == "accepted" and result.throttled == 1
        assert "mine" in emulator.profiles and now[0] >= 5_003.0


def test_exhausted_retries_leave_the_outcome_unknown():
    with start_emulator(KEY, fault_5xx=1.0) as emulator:
        with BrazeClient(fast_settings(emulator.url, max_attempts=3), KEY) as client:
            result = client.track(body("a"))
    assert result.outcome == "unknown" and result.attempts == 3 and result.server_errors == 3


def test_throttle_delay_reads_every_header_form():
    now = lambda: 2_000_000_000.0  # noqa: E731
    assert throttle_delay({"X-RateLimit-Reset": "2000000002"}, now, 3) == 2.0
    assert throttle_delay({"X-RateLimit-Reset": "1.5"}, now, 3) == 1.5
    assert throttle_delay({"X-Ratelimit-Retry-After": "4"}, now, 3) == 4.0
    assert throttle_delay({"Retry-After": "0.25"}, now, 3) == 0.25
    assert throttle_delay({}, now, 3) == 3.0


def test_pacer_spaces_requests_evenly_without_sleeping_for_real():
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = RatePacer(
        limit=100, window_seconds=1.0, safety=1.0, clock=lambda: clock[0], sleep=sleep
    )
    for _ in range(101):
        pacer.acquire()
    assert clock[0] == pytest.approx(1.0)
    pacer.pause_for(5.0)
    pacer.acquire()
    assert clock[0] == pytest.approx(6.0)


def test_the_key_never_appears_in_logs_errors_or_repr(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    with start_emulator("the-right-key") as emulator:
        client = BrazeClient(fast_settings(emulator.url), KEY)
        with pytest.raises(BrazeAuthError) as raised:
            client.track(body("a"))  # the emulator echoes the presented key in its 401 body
        assert KEY not in str(raised.value)
        assert KEY not in repr(client)
        client.close()
    resource = BrazeResource(api_key=KEY, rest_endpoint="http://127.0.0.1:1")
    assert KEY not in repr(resource) and KEY not in str(resource)
    captured = capsys.readouterr()
    assert KEY not in caplog.text and KEY not in captured.out and KEY not in captured.err


def test_only_a_connection_never_made_counts_as_not_sent():
    # Real exceptions from real sockets: nothing listens on a freshly closed port, and a server
    # that accepts then closes without answering drops the request after it was sent.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as refused:
        requests.post(f"http://127.0.0.1:{closed_port}/users/track", timeout=2)
    assert not may_have_been_sent(refused.value)

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def accept_and_drop() -> None:
            connection, _ = server.accept()
            connection.recv(65536)
            connection.close()

        threading.Thread(target=accept_and_drop, daemon=True).start()
        with pytest.raises(requests.ConnectionError) as dropped:
            requests.post(f"http://127.0.0.1:{server.getsockname()[1]}/users/track", timeout=2)
    assert may_have_been_sent(dropped.value)
    assert not may_have_been_sent(requests.ConnectTimeout("connect timed out"))
    assert may_have_been_sent(requests.ReadTimeout("read timed out"))
    # The words alone decide nothing: the old check searched repr(exc) for them.
    assert may_have_been_sent(requests.ConnectionError("NewConnectionError in the message"))
