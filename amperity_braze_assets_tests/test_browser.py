"""A real browser drives the Dagster UI (every group in the graph, a demo run launched and won)
and the sync console (its runs, a rejected row found by search and exported, a person looked up
by email, a dry run's page).

Headless Debian Chromium (/usr/bin/chromium) through Playwright's Python package: nothing is
downloaded at run time. The screenshots land in build/screenshots/ for a person to look at.
"""

import os
import shutil
import socket
import subprocess
import sys
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
def test_ui_shows_every_group_and_runs_the_demo_job(tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.delenv("BRAZE_API_KEY", raising=False)  # so the UI's sync is a dry run

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
        # Without a key the sync was a dry run, and its asset page says so first, not "sent".
        page.goto(f"{base}/assets/braze_sync")
        page.get_by_text("Dry run: nothing was sent.").first.wait_for(timeout=30_000)
        assert page.get_by_text("would_send", exact=True).count() >= 1
        assert page.get_by_text("accepted", exact=True).count() == 0
        page.screenshot(path=str(SCREENSHOTS / "braze_sync_dry_run.png"), full_page=True)
        page.goto(f"{base}/asset-groups")
        for group in sorted(groups):
            page.get_by_text(group, exact=True).first.wait_for(timeout=30_000)
        page.get_by_text("fetching statuses").first.wait_for(state="hidden", timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "asset_graph_materialized.png"))
        browser.close()
    assert run["status"] == "SUCCESS"
    assert (SCREENSHOTS / "asset_graph.png").stat().st_size > 10_000


@pytest.fixture
def console(tmp_path, monkeypatch):
    """``amperity-braze console`` over a sync Braze partly rejected and a dry run: its address,
    its one-time sign-in link and the two runs."""
    import dagster as dg

    from amperity_braze_assets_tests.console.helpers import sync_then_dry_run

    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        runs = sync_then_dry_run(tmp_path, instance, monkeypatch)
    port = _free_port()
    env = {
        **os.environ,
        "AMPERITY_BRAZE_DATA_DIR": str(runs.settings.data_dir),
        "AMPERITY_BRAZE_CONFIG_DIR": str(runs.settings.config_dir),
        "DAGSTER_HOME": str(home),
    }
    command = [sys.executable, "-u", "-m", "amperity_braze_assets.cli", "console"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        sign_in = None
        for line in server.stdout:  # the command prints the link, then serves
            if line.startswith("Sign in"):
                sign_in = line.split()[-1]
                break
        assert sign_in and sign_in.startswith(f"http://127.0.0.1:{port}/-/auth-token?token=")
        _wait_for_port(port)
        yield f"http://127.0.0.1:{port}", sign_in, runs
    finally:
        server.terminate()
        server.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, "the console did not start listening"
        time.sleep(0.2)  # the server is starting: polling its port


@pytest.mark.slow
def test_sync_console_in_a_browser(console):
    from playwright.sync_api import sync_playwright

    base, sign_in, runs = console
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        # Anyone else who reaches the port sees nothing.
        stranger = browser.new_page()
        assert stranger.goto(f"{base}/console/syncs").status == 403
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(sign_in)
        # The run list: the partly rejected sync warns, the dry run says so.
        page.goto(f"{base}/console/syncs")
        table = page.locator("table.rows-and-columns")
        table.get_by_text("warning", exact=True).wait_for()
        table.get_by_text("dry run", exact=True).wait_for()
        page.screenshot(path=str(SCREENSHOTS / "console_runs.png"), full_page=True)
        # A rejected row, found by search; its export.
        page.goto(f"{base}/console/sync_rows")
        page.fill("input[name=_search]", "rejected")
        page.press("input[name=_search]", "Enter")
        page.locator("table.rows-and-columns").get_by_text("AMP-CY", exact=True).wait_for()
        assert page.locator("table.rows-and-columns tbody tr").count() == 1
        page.get_by_role("link", name="CSV", exact=True).first.click()
        exported = page.locator("body").inner_text()
        assert exported.startswith("rowid,run_id,destination,started,identifier")
        assert "AMP-CY" in exported and "not-an-email" in exported
        # A person looked up by email, as anyone would type it.
        page.goto(f"{base}/console/person")
        page.fill("input[name=lookup]", " Ann.Lee@Fastmail.com")
        page.press("input[name=lookup]", "Enter")
        table = page.locator("table.rows-and-columns")
        for section in ("source record", "match evidence", "value now", "value sent"):
            table.get_by_text(section, exact=True).first.wait_for()
        table.get_by_text("platinum").first.wait_for()
        page.screenshot(path=str(SCREENSHOTS / "console_person.png"), full_page=True)
        # The dry run's page, where braze_sync's metadata links: it says so.
        page.goto(f"{base}/console/run?run_id={runs.dry_run}")
        page.get_by_text("Dry run: nothing was sent").wait_for()
        page.locator("table.rows-and-columns").get_by_text("dry run", exact=True).wait_for()
        page.screenshot(path=str(SCREENSHOTS / "console_run.png"), full_page=True)
        browser.close()
    assert (SCREENSHOTS / "console_person.png").stat().st_size > 10_000
