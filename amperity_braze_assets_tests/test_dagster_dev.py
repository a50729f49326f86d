"""`dagster dev` in the repository root serves the UI with every asset in its group."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QUERY = "{ assetNodes { assetKey { path } groupName } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.mark.slow
def test_dagster_dev_serves_every_asset_in_its_group(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "AMPERITY_BRAZE_DATA_DIR": str(tmp_path / "data"),
    }
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster = Path(sys.executable).with_name("dagster")
    # dagster dev ignores SIGINT when started in the background unless it is reset before exec.
    server = subprocess.Popen(
        [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        nodes = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                nodes = _graphql(port)["data"]["assetNodes"]
                if nodes:
                    break
            except (OSError, KeyError, TypeError, ValueError):
                pass
            time.sleep(0.5)  # polling a starting server, not waiting for time to pass
        assert nodes, f"dagster dev did not serve the graph: {server.stderr.read1(4000)!r}"
        groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert groups["raw_pos"] == "sources"
        assert groups["raw_orders_rejects"] == "sources"
        assert groups["identity_resolution"] == "customer360"
        assert groups["customer_360"] == "customer360"
        assert groups["customer_transactions"] == "customer360"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    assert server.returncode is not None
