"""Past one machine, proven on one: storage and state on S3 (a local S3 server), steps in
separate processes (the multiprocess executor), and the sync fanned out over hash shards run
as concurrent processes, all from the same definitions and environment variables."""

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.devtools.sample_data import generate_sample_data
from amperity_braze_assets_tests.conftest import REPO_ROOT

KEY = "distributed-test-key-5f5f"
DAGSTER = str(Path(sys.executable).with_name("dagster"))
SHARD_ASSETS = "braze_attribute_diff,braze_sync,braze_sync_log"


@pytest.mark.slow
def test_graph_on_s3_with_processes_and_sync_shards(tmp_path, aws_env):
    bucket = "pipeline-distributed"
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    data_dir = tmp_path / "data"
    generate_sample_data(data_dir, customers=250, seed=9)
    home = tmp_path / "home"
    home.mkdir()
    with start_emulator(KEY) as emulator:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "AMPERITY_BRAZE_ENV": "production",
            "AMPERITY_BRAZE_STORAGE_URL": f"s3://{bucket}/pipeline",
            "AMPERITY_BRAZE_DATA_DIR": str(data_dir),
            "AMPERITY_BRAZE_SYNC_SHARDS": "2",
            "BRAZE_API_KEY": KEY,
            "BRAZE_REST_ENDPOINT": emulator.url,
        }
        module = ["-m", "amperity_braze_assets.definitions"]
        upstream = subprocess.run(
            [DAGSTER, "job", "execute", *module, "-j", "braze_sync_job"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        log = upstream.stdout + upstream.stderr
        assert upstream.returncode == 0, log[-4000:]
        assert "Multiprocess executor" in log  # every step ran in its own process
        shards = [
            subprocess.Popen(
                [
                    DAGSTER,
                    "asset",
                    "materialize",
                    *module,
                    "--select",
                    SHARD_ASSETS,
                    "--partition",
                    str(shard),
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for shard in (0, 1)
        ]
        outputs = [p.communicate(timeout=600)[0] for p in shards]
        for process, output in zip(shards, outputs, strict=True):
            assert process.returncode == 0, output[-4000:]
        people = len(emulator.profiles)
        objects = emulator.counters.objects
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "pipeline/braze_customer_attributes.parquet" in keys
    assert "pipeline/identity_resolution.parquet" in keys
    shard_ledgers = {k.split("/shard-")[1].split("/")[0] for k in keys if "/shard-" in k}
    assert shard_ledgers == {"0-of-2", "1-of-2"}
    # Every person reached Braze exactly once, through one shard or the other.
    assert people > 200 and objects == people
