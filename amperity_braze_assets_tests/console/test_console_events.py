"""The console over a sync that sent profiles, purchases and events (real runs against the
emulator): profiles are the attribute objects; purchases and events are counted apart (their
log rows' fields say ``purchases:`` / ``events:``), never as profiles; a run with nothing to send
has no start time of its own (null, not 0)."""

from __future__ import annotations

import sqlite3

from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import run_sync
from amperity_braze_assets.console.database import ConsoleInputs, refresh_console
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.files import LocalStorage
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.test_events_sync import occurrences, options
from amperity_braze_assets_tests.braze.test_sync import KEY, client_for, people


def test_purchases_and_events_are_counted_apart_from_profiles(tmp_path):
    ledger = Ledger(StateStore(base_path=str(tmp_path / "state")), "default")
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        # 3 profiles, each with a purchase and an event; then a run with nothing new.
        run_sync(people(3), ledger, client, options("r1"), events=occurrences(3))
        run_sync(people(3), ledger, client, options("r2"), events=occurrences(3))
        assert emulator.counters.purchases == 3 and emulator.counters.events == 3
    path = tmp_path / "console.db"
    inputs = ConsoleInputs(
        {"default": ledger}, LocalStorage(tmp_path / "storage"), tmp_path / "dry", "http://h"
    )
    refresh_console(path, inputs)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    rows = {r["run_id"]: r for r in conn.execute("SELECT * FROM syncs")}
    first, empty = rows["r1"], rows["r2"]
    assert (first["sent"], first["accepted"], first["status"]) == (3, 3, "healthy")
    assert (first["purchases"], first["purchases_accepted"]) == (3, 3)
    assert (first["events"], first["events_accepted"]) == (3, 3)
    assert first["summary"] == (
        "Sent 3 profiles: accepted 3, rejected 0, outcome unknown 0. "
        "Purchases 3 (accepted 3), events 3 (accepted 3)."
    )
    assert first["started"] is not None
    assert (empty["sent"], empty["purchases"], empty["events"]) == (0, 0, 0)
    assert empty["started"] is None  # no Dagster record here: nothing to show, not "0"
