"""Alerts reach a local HTTP receiver: run failures (sensor) and check failures (hook)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from amperity_braze_assets.orchestration.alerts import make_alert, redact, send_alert
from amperity_braze_assets.orchestration.sensors import (
    build_check_failure_hook,
    build_run_failure_sensor,
)
from amperity_braze_assets_tests.conftest import make_settings


@pytest.fixture
def receiver():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


@dg.asset
def exploding_asset():
    raise ValueError("source file sources/pos/a.csv vanished")


@dg.asset(check_specs=[dg.AssetCheckSpec("rows_present", asset="checked_asset")])
def checked_asset():
    yield dg.Output(1)
    yield dg.AssetCheckResult(
        check_name="rows_present", passed=False, metadata={"rows": dg.MetadataValue.int(0)}
    )


def test_run_failure_sensor_sends_job_asset_reason_and_link(tmp_path, receiver):
    url, received = receiver
    settings = make_settings(tmp_path, ALERT_WEBHOOK_URL=url, DAGSTER_UI_URL="http://ui.local:3000")
    sensor = build_run_failure_sensor(settings)
    job = dg.define_asset_job("nightly_job", selection=[exploding_asset])
    defs = dg.Definitions(assets=[exploding_asset], jobs=[job], sensors=[sensor])
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("nightly_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        sensor(context)
    assert len(received) == 1
    alert = received[0]
    assert alert["job"] == "nightly_job" and alert["asset"] == "exploding_asset"
    assert "vanished" in alert["reason"]
    assert alert["run_url"] == f"http://ui.local:3000/runs/{result.run_id}"
    assert alert["text"].startswith("Run failed: asset `exploding_asset` in job `nightly_job`")


def test_check_failure_hook_sends_the_check_and_its_figures(tmp_path, receiver):
    url, received = receiver
    hook = build_check_failure_hook(make_settings(tmp_path, ALERT_WEBHOOK_URL=url))
    job = dg.define_asset_job("checked_job", selection=[checked_asset], hooks={hook})
    defs = dg.Definitions(
        assets=[checked_asset], jobs=[job], resources={"io_manager": dg.mem_io_manager}
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("checked_job").execute_in_process(instance=instance)
    assert result.success
    assert len(received) == 1
    assert received[0]["kind"] == "check_failure"
    assert received[0]["asset"] == "checked_asset"
    assert "check `rows_present` failed (ERROR): rows=0" in received[0]["reason"]


def test_alert_without_webhook_logs_and_secrets_are_redacted(caplog):
    alert = make_alert(
        "run_failure",
        "j",
        None,
        "401 for key 0123456789abcdef0123456789abcdef99",
        "run1",
        "http://x",
    )
    assert "0123456789abcdef" not in alert.reason and "[redacted]" in alert.reason
    assert send_alert(alert, None) is False
    assert "Run failed: job `j`" in caplog.text
    assert redact("short token abc") == "short token abc"


def test_unreachable_webhook_does_not_raise(tmp_path):
    alert = make_alert("run_failure", "j", None, "boom", "r", "http://x")
    assert send_alert(alert, "http://127.0.0.1:9/nowhere") is False
