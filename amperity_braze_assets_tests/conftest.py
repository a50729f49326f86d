"""Shared fixtures: a local S3 server (moto's server mode) and a project folder per test."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import boto3
import pytest

from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR, Settings, load_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible HTTP server on loopback, for the whole session."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch, s3_endpoint):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    return s3_endpoint


@pytest.fixture
def s3_bucket(aws_env, request):
    client = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    name = "test-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    client.create_bucket(Bucket=name)
    return client, name


def make_settings(data_dir: Path, config_dir: Path | None = None, **env: str) -> Settings:
    environ = {
        "AMPERITY_BRAZE_DATA_DIR": str(data_dir),
        "AMPERITY_BRAZE_CONFIG_DIR": str(config_dir or SAMPLE_CONFIG_DIR),
        **env,
    }
    return load_settings(environ)


REPO_ROOT = Path(__file__).resolve().parents[1]


def graphql(port: int, query: str) -> dict:
    import json
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@contextlib.contextmanager
def dagster_dev(home: Path, data_dir: Path, startup_seconds: float = 180):
    """``dagster dev`` on a free loopback port in the repository root; yields the port.

    dagster dev ignores SIGINT when started in the background unless SIGINT is reset to its
    default before exec; it is then stopped cleanly through its process group id.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "AMPERITY_BRAZE_DATA_DIR": str(data_dir)}
    log = open(home / "dagster_dev.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster")), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"dagster dev exited: {(home / 'dagster_dev.log').read_text()[-3000:]}"
                )
            try:
                if graphql(port, "{ assetNodes { id } }")["data"]["assetNodes"]:
                    break
            except (OSError, KeyError, TypeError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"dagster dev did not serve the graph in {startup_seconds} s")
            time.sleep(0.5)  # polling a starting server
        yield port
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()
