"""Shared fixtures: a local S3 server (moto's server mode) and a project folder per test."""

from __future__ import annotations

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
