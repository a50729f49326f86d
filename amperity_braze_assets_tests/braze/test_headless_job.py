"""`dagster job execute -m amperity_braze_assets.definitions -j braze_sync_job` works against
the emulator, configured by environment variables alone."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.devtools.sample_data import generate_sample_data
from amperity_braze_assets_tests.conftest import REPO_ROOT

KEY = "headless-test-key-0123456789abcdef"


@pytest.mark.slow
def test_braze_sync_job_runs_headless_against_the_emulator(tmp_path):
    data_dir = tmp_path / "data"
    generate_sample_data(data_dir, customers=300, seed=5)
    home = tmp_path / "home"
    home.mkdir()
    with start_emulator(KEY) as emulator:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "AMPERITY_BRAZE_DATA_DIR": str(data_dir),
            "BRAZE_API_KEY": KEY,
            "BRAZE_REST_ENDPOINT": emulator.url,
        }
        dagster = Path(sys.executable).with_name("dagster")
        result = subprocess.run(
            [
                str(dagster),
                "job",
                "execute",
                "-m",
                "amperity_braze_assets.definitions",
                "-j",
                "braze_sync_job",
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        assert "RUN_SUCCESS" in output
        people = len(emulator.profiles)
        counters = emulator.counters.as_dict()
    assert people > 250
    assert counters["objects"] == people and counters["data_points"] > 0
    # The key stays secret: not in the logs, not in any file the run wrote.
    assert KEY not in output
    for path in data_dir.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert KEY.encode() not in path.read_bytes(), path
