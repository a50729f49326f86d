"""Data points of purchases and events: Braze bills each custom event and each purchase recorded
as one data point, as each attribute value set (Braze's data points page, user_guide/data/
infrastructure/data_points). The sync log gives each occurrence 1, and the run's data points
sent, accepted (and in a dry run, would send) count them beside the attribute values."""

from __future__ import annotations

import polars as pl

from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.test_events_sync import occurrences, options
from amperity_braze_assets_tests.braze.test_sync import KEY, client_for, people

DATA_POINTS_PER_OCCURRENCE = 1  # Braze: each custom event or purchase recorded is one


def test_each_purchase_and_event_is_one_data_point(tmp_path):
    store = StateStore(base_path=str(tmp_path / "state"))
    dry = run_sync(
        people(4),
        Ledger(store, "default"),
        None,
        options("dry", dry_run=True, dry_run_dir=tmp_path / "dry"),
        events=occurrences(4, purchases_each=2),
    )
    attribute_points = dry.diff.data_points
    assert attribute_points > 0
    # 4 people x (2 purchases + 1 event)
    assert dry.data_points_sent == attribute_points + 12 * DATA_POINTS_PER_OCCURRENCE
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        ledger = Ledger(store, "default")
        report = run_sync(
            people(4), ledger, client, options("r1"), events=occurrences(4, purchases_each=2)
        )
        assert emulator.counters.purchases == 8 and emulator.counters.events == 4
    assert report.data_points_sent == attribute_points + 12
    assert report.data_points_accepted == attribute_points + 12
    log = report.event_log
    assert log.height == 12 and log["data_points"].to_list() == [1] * 12
    written = ledger.read_sync_log(ledger.sync_log_names()[-1])
    occurrence_rows = written.filter(
        pl.col("fields").list.first().str.contains(r"^(purchases|events):")
    )
    assert occurrence_rows["data_points"].sum() == 12
    assert written["data_points"].sum() == report.data_points_sent
