"""A real browser drives the Dagster UI: every group in the graph, a demo run launched and won.

Headless Debian Chromium (/usr/bin/chromium) through Playwright's Python package: nothing is
downloaded at run time. The screenshots land in build/screenshots/ for a person to look at.
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from amperity_braze_assets.definitions import build_definitions
from amperity_braze_assets.devtools.sample_data import generate_sample_data
from amperity_braze_assets_tests.conftest import REPO_ROOT, dagster_dev, graphql, make_settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# The flags a closed network needs: no background calls home, no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", REPO_ROOT / "build" / "screenshots"))
RUN_TIMEOUT_SECONDS = 420
LATEST_DEMO_RUN = '{ runsOrError(filter: {pipelineName: "demo_job"}, limit: 1) { ... on Runs { results { runId status } } } }'


def latest_demo_run(port: int) -> dict | None:
    runs = graphql(port, LATEST_DEMO_RUN)["data"]["runsOrError"]["results"]
    return runs[0] if runs else None


@pytest.mark.slow
def test_ui_shows_every_group_and_runs_the_demo_job(tmp_path):
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium package (make test does it as root)"
    )
    data_dir = tmp_path / "data"
    generate_sample_data(data_dir, customers=300, seed=11)
    graph = build_definitions(make_settings(data_dir)).resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with dagster_dev(tmp_path / "home", data_dir) as port, sync_playwright() as playwright:
        base = f"http://127.0.0.1:{port}"
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{base}/asset-groups")
        skip = page.get_by_role("button", name="Skip")  # the community sign-up dialog
        skip.click(timeout=30_000)
        for group in sorted(groups):
            page.get_by_text(group, exact=True).first.wait_for(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "asset_graph.png"))

        assert latest_demo_run(port) is None
        page.goto(f"{base}/locations/amperity_braze_assets/jobs/demo_job")
        page.get_by_role("button", name="Materialize all").click(timeout=30_000)
        page.get_by_text("Launched run").wait_for(timeout=30_000)

        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        run = latest_demo_run(port)
        while run["status"] in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED"):
            assert time.monotonic() < deadline, f"demo run still {run['status']}"
            page.wait_for_timeout(1_000)  # polling the run's status
            run = latest_demo_run(port)
        page.goto(f"{base}/runs/{run['runId']}")
        page.get_by_text("Success").first.wait_for(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "demo_run.png"))
        page.goto(f"{base}/asset-groups")
        for group in sorted(groups):
            page.get_by_text(group, exact=True).first.wait_for(timeout=30_000)
        page.get_by_text("fetching statuses").first.wait_for(state="hidden", timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "asset_graph_materialized.png"))
        browser.close()
    assert run["status"] == "SUCCESS"
    assert (SCREENSHOTS / "asset_graph.png").stat().st_size > 10_000
