"""Security: the API key never appears anywhere a sync leaves traces; plain http only to
loopback; SQL audiences read the registered tables alone.

Every trace is gathered and grepped for a distinctive key: log records (DEBUG and up), captured
stdout/stderr, the Dagster run's event log, asset metadata, exceptions' str and repr, and every
file under the data dir (dry-run bodies, sync logs, ledger, storage).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from amperity_braze_assets.activation.config import plan_reads_files, sql_context
from amperity_braze_assets.braze.client import (
    BrazeAuthError,
    BrazeClient,
    BrazeConfigError,
    ClientSettings,
    resolve_rest_endpoint,
)
from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.resources import BrazeResource
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.orchestration.alerts import redact
from amperity_braze_assets_tests.braze.helpers import materialize, settings_for

KEY = "sk-LEAKCHECK-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SELECTION = [
    "braze_customer_attributes",
    "identity_resolution",
    "braze_attribute_diff",
    "braze_sync",
    "braze_sync_log",
]


def traces(result, tmp_path: Path, caplog, capsys) -> dict[str, str]:
    """Every place a key could leak to, as text."""
    found = {
        "logs": "\n".join(
            f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
        ),
        "captured": "".join(capsys.readouterr()),
    }
    if result is not None:
        found["events"] = "\n".join(repr(e) for e in result.all_events)
        found["metadata"] = "\n".join(
            repr(m.metadata)
            for e in result.all_events
            if e.is_step_materialization
            for m in [e.step_materialization_data.materialization]
        )
        found["run"] = repr(result.dagster_run)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            found[str(path)] = path.read_bytes().decode("latin-1")
    return found


def assert_no_key(found: dict[str, str], key: str = KEY) -> None:
    leaks = [where for where, text in found.items() if key in text]
    assert not leaks, f"the API key leaked into {leaks}"
    assert len(found) > 3


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_dry_run_leaves_no_key(tmp_path, monkeypatch, debug_logs, capsys):
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    settings = settings_for(tmp_path, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT="http://127.0.0.1:9")
    result = materialize(
        settings, SELECTION, {"ops": {"braze_sync": {"config": {"dry_run": True}}}}
    )
    assert result.success
    assert list((tmp_path / "braze" / "dry_run").glob("*/braze.jsonl"))
    assert_no_key(traces(result, tmp_path, debug_logs, capsys))


def test_real_sync_against_the_emulator_leaves_no_key(tmp_path, monkeypatch, debug_logs, capsys):
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(tmp_path, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url)
        result = materialize(settings, SELECTION)
        assert result.success and emulator.profiles["a"]["first_name"] == "Ann"
    found = traces(result, tmp_path, debug_logs, capsys)
    assert any("ledger" in where or "sync" in where for where in found)
    assert_no_key(found)


def test_wrong_key_401_echoing_the_key_leaves_no_key(tmp_path, monkeypatch, debug_logs, capsys):
    # The server knows another key and echoes the one presented in its 401 body.
    with start_emulator("the-right-key", echo_key_on_401=True) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(tmp_path, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url)
        from amperity_braze_assets_tests.braze import helpers as base

        failed = materialize_quietly(base, settings)
        assert not failed.success
        with BrazeClient(ClientSettings(rest_endpoint=emulator.url, max_attempts=1), KEY) as client:
            with pytest.raises(BrazeAuthError) as error:
                client.track({"attributes": [{"external_id": "a", "x": 1}]})
            assert KEY not in str(error.value) and KEY not in repr(error.value)
            assert KEY not in repr(client)
            assert "401" in str(error.value)
    found = traces(failed, tmp_path, debug_logs, capsys)
    assert "401" in found["events"]  # the failure is reported, without the key
    assert_no_key(found)


def materialize_quietly(base, settings):
    destinations = load_destinations(settings)
    from amperity_braze_assets.braze.resources import build_braze_resources
    from amperity_braze_assets.braze.sync_assets import build_sync_assets
    from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
    from amperity_braze_assets.storage.state_store import StateStore

    return dg.materialize(
        [base.fake_attributes, base.fake_identity, *build_sync_assets(None, settings)],
        selection=SELECTION,
        raise_on_error=False,
        resources={
            "io_manager": ParquetIOManager(base_path=str(settings.storage_base)),
            "state_store": StateStore(base_path=settings.state_base),
            **build_braze_resources(destinations, settings),
        },
    )


class _EchoingServerError(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - stdlib name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"message": f"upstream failed for {self.headers['Authorization']}"})
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def test_5xx_echoing_the_key_leaves_no_key(tmp_path, debug_logs, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingServerError)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        settings = ClientSettings(rest_endpoint=url, max_attempts=3, backoff_base=0.0)
        with BrazeClient(settings, KEY) as client:
            result = client.track({"attributes": [{"external_id": "a", "x": 1}]})
    finally:
        server.shutdown()
    assert result.outcome == "unknown" and result.server_errors == 3
    assert "503" in result.message and KEY not in result.message and KEY not in repr(result)
    assert_no_key({**traces(None, tmp_path, debug_logs, capsys), "result": repr(result), "x": ""})


def test_the_emulators_5xx_faults_leave_no_key(tmp_path, monkeypatch, debug_logs, capsys):
    with start_emulator(KEY, fail_requests=frozenset({1, 2})) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(tmp_path, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url)
        from amperity_braze_assets_tests.braze import helpers as base

        result = materialize_quietly(base, settings)
    assert_no_key(traces(result, tmp_path, debug_logs, capsys))


def test_alert_redaction_cuts_key_like_tokens():
    assert KEY not in redact(f"failed with Authorization: Bearer {KEY}")


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://braze.example.com",
        "http://10.0.0.5:9400",
        "http://192.168.1.1",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:8.8.8.8]",
        "ftp://127.0.0.1",
        "file:///etc/passwd",
    ],
)
def test_plain_http_off_loopback_is_refused(tmp_path, endpoint):
    with pytest.raises(BrazeConfigError):
        resolve_rest_endpoint(None, endpoint)
    with pytest.raises(BrazeConfigError):
        BrazeResource(api_key=KEY, rest_endpoint=endpoint).endpoint()
    with pytest.raises(BrazeConfigError):
        BrazeClient(ClientSettings(rest_endpoint=endpoint), KEY)
    (tmp_path / "destinations.yaml").write_text(
        f"destinations:\n  braze:\n    rest_endpoint: '{endpoint}'\n"
    )
    with pytest.raises(ConfigError) as error:
        load_destinations(settings_for(tmp_path, config_dir=tmp_path))
    assert "destinations.yaml" in str(error.value) and KEY not in str(error.value)


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:9400", "http://localhost:9400", "http://[::1]:9400"]
)
def test_plain_http_to_loopback_is_allowed(endpoint):
    assert resolve_rest_endpoint(None, endpoint) == endpoint


def test_sql_audiences_see_only_the_registered_tables(tmp_path):
    secret = tmp_path / "s.csv"
    secret.write_text("amperity_id\nLEAK\n")
    tables = {"customer_360": pl.DataFrame({"amperity_id": ["a"]})}
    context = sql_context(tables)
    assert context.tables() == ["customer_360"]  # no globals, no files
    assert not plan_reads_files(context.execute("SELECT * FROM customer_360"))
    assert plan_reads_files(context.execute(f"SELECT * FROM read_csv('{secret}')"))
    hidden_global = pl.DataFrame({"amperity_id": ["GLOBAL"]})  # noqa: F841 - must stay unseen
    with pytest.raises(Exception):  # noqa: B017 - polars raises its own SQL error types
        context.execute("SELECT * FROM hidden_global").collect()
