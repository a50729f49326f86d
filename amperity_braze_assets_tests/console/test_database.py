"""The sync console over real runs: a sync Braze partly rejected and a dry run, refreshed by
``sync_console`` in each run; served by Datasette to its root actor only."""

import asyncio
import json
import sqlite3

import dagster as dg
import pytest

from amperity_braze_assets.console.database import console_path
from amperity_braze_assets.console.server import build_console
from amperity_braze_assets_tests.console.helpers import sync_then_dry_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("console")
    with pytest.MonkeyPatch.context() as monkeypatch, dg.instance_for_test() as instance:
        yield sync_then_dry_run(tmp_path, instance, monkeypatch)


def query(runs, sql: str, *params) -> list[sqlite3.Row]:
    conn = sqlite3.connect(console_path(runs.settings.data_dir))
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_each_run_has_its_status_and_figures_that_add_up(runs):
    syncs = {row["run_id"]: row for row in query(runs, "SELECT * FROM syncs")}
    assert set(syncs) == {runs.synced_run, runs.dry_run}
    synced = syncs[runs.synced_run]
    assert runs.emulator_rejected == 1
    assert (synced["status"], synced["sent"], synced["accepted"], synced["rejected"]) == (
        "warning",
        3,
        2,
        1,
    )
    assert synced["sent"] == synced["accepted"] + synced["rejected"] + synced["unknown"]
    assert synced["summary"] == "Sent 3 profiles: accepted 2, rejected 1, outcome unknown 0."
    assert synced["run_page"].endswith(f"/console/run?run_id={runs.synced_run}")
    assert synced["rejected_rows_page"].endswith(
        f"/console/sync_rows?outcome=rejected&run_id={runs.synced_run}"
    )
    assert synced["started"] and synced["dagster_status"] in ("SUCCESS", "STARTED")
    dry = syncs[runs.dry_run]
    # Ann's tier changed; Cy's rejected email is held back until it changes.
    # A dry run shows what it would send, and no sent, accepted or rejected figure at all.
    assert (dry["status"], dry["would_send"], dry["would_send_data_points"]) == ("dry run", 1, 1)
    assert (dry["sent"], dry["accepted"], dry["rejected"], dry["data_points"]) == (None,) * 4
    assert dry["summary"].startswith("Dry run: nothing was sent. Would send 1 profile (")


def test_rejected_row_has_its_reason_values_sent_and_is_searchable(runs):
    (rejected,) = query(runs, "SELECT * FROM sync_rows WHERE outcome = 'rejected'")
    assert rejected["identifier"] == "AMP-CY" and rejected["run_id"] == runs.synced_run
    assert rejected["reason"]
    assert json.loads(rejected["object"])["email"] == "not-an-email"
    found = query(
        runs,
        "SELECT identifier FROM sync_rows WHERE rowid IN "
        "(SELECT rowid FROM sync_rows_fts WHERE sync_rows_fts MATCH ?)",
        '"not-an-email"',
    )
    assert [row["identifier"] for row in found] == ["AMP-CY"]


def test_a_refresh_loads_each_log_once(runs):
    from amperity_braze_assets.braze.destinations import load_destinations
    from amperity_braze_assets.console.assets import console_inputs
    from amperity_braze_assets.console.database import refresh_console
    from amperity_braze_assets.storage.state_store import StateStore

    settings = runs.settings
    state = StateStore(base_path=settings.state_base).tables()
    inputs = console_inputs(settings, state, load_destinations(settings))
    figures = refresh_console(console_path(settings.data_dir), inputs)
    assert figures.logs_loaded == 0 and figures.runs == 2
    assert len(query(runs, "SELECT * FROM sync_rows")) == 3 + 1


def get(console, path: str, root: bool = True):
    cookies = {"ds_actor": console.sign({"a": {"id": "root"}}, "actor")} if root else {}
    return asyncio.run(console.client.get(path, cookies=cookies))


@pytest.fixture(scope="module")
def console(runs):
    return build_console(console_path(runs.settings.data_dir))


def person(console, lookup: str) -> list[dict]:
    response = get(console, f"/console/person.json?lookup={lookup}&_shape=objects")
    assert response.status_code == 200, response.text
    return response.json()["rows"]


@pytest.mark.parametrize(
    "lookup",
    ["AMP-ANN", "%20Ann.Lee%2Bnews@Fastmail.COM%20", "(617)%20238-4142", "617.238.4142"],
)
def test_person_lookup_by_external_id_email_or_phone(console, runs, lookup):
    rows = person(console, lookup)
    sections = {}
    for row in rows:
        sections.setdefault(row["section"], []).append(row)
    assert [r["item"] for r in sections["source record"]] == ["crm:C1", "web:W7"]
    assert "ann.lee@fastmail.com" in sections["source record"][0]["value"]
    evidence = {r["item"]: r["value"] for r in sections["match evidence"]}
    assert evidence["web:W7"] == "matched crm:C1 by email + name (score 0.970, threshold 0.800)"
    now = {r["item"]: r["value"] for r in sections["value now"]}
    assert now["loyalty_tier"] == "platinum" and now["email"] == "ann.lee@fastmail.com"
    sent = {(r["item"], r["value"], r["run_id"], r["answer"]) for r in sections["value sent"]}
    assert ("loyalty_tier", "gold", runs.synced_run, "accepted") in sent
    assert not any(run_id == runs.dry_run for _, _, run_id, _ in sent)
    dry = sections["would send (dry run)"]
    would = {(r["item"], r["value"], r["run_id"], r["answer"]) for r in dry}
    assert ("loyalty_tier", "platinum", runs.dry_run, "not sent") in would


def test_run_page_and_exports(console, runs):
    response = get(console, f"/console/run.json?run_id={runs.dry_run}&_shape=objects")
    (row,) = response.json()["rows"]
    assert row["status"] == "dry run"
    html = get(console, f"/console/run?run_id={runs.dry_run}").text
    assert "dry run" in html and "Dry run: nothing was sent" in html
    csv = get(console, "/console/sync_rows.csv?_search=rejected&_size=max").text
    assert csv.splitlines()[0].startswith("rowid,run_id,destination,started,identifier")
    assert len(csv.splitlines()) == 2 and "AMP-CY" in csv


@pytest.mark.parametrize(
    "path",
    ["/", "/console", "/console/syncs", "/console/sync_rows.csv", "/console/person?lookup=AMP-ANN"],
)
def test_nobody_but_root_sees_the_console(console, path):
    assert get(console, path, root=False).status_code == 403
    assert get(console, path, root=True).status_code == 200


def test_a_sync_run_that_failed_before_its_log_shows_failed(tmp_path):
    import polars as pl

    from amperity_braze_assets.console.database import ConsoleInputs, refresh_console
    from amperity_braze_assets.storage.files import LocalStorage

    def run(run_id: str, status: str, syncs: bool) -> dict:
        started = "2026-01-02T03:04:05Z"
        return dict(
            run_id=run_id,
            job="braze_sync_job",
            dagster_status=status,
            started=started,
            ended=started,
            syncs=syncs,
        )

    runs = pl.DataFrame(
        [
            run("r-failed", "FAILURE", True),
            run("r-other", "FAILURE", False),
            run("r-ok", "SUCCESS", True),
        ]
    )
    path = tmp_path / "console.db"
    inputs = ConsoleInputs(
        {}, LocalStorage(tmp_path / "storage"), tmp_path / "dry", "http://h", runs
    )
    figures = refresh_console(path, inputs)
    assert figures.runs == 1
    conn = sqlite3.connect(path)
    row = conn.execute("SELECT run_id, status, summary, run_page FROM syncs").fetchone()
    assert row == (
        "r-failed",
        "failed",
        "The run failed before the sync wrote its log: see the run in Dagster.",
        "http://h/console/run?run_id=r-failed",
    )


def test_the_database_is_readable_by_its_owner_only(runs):
    path = console_path(runs.settings.data_dir)
    assert path.stat().st_mode & 0o777 == 0o600
