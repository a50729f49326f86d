"""Purchases and events under SIGKILL: a sync of attributes, purchases and events killed ten
times mid-sync (connections also dropped after Braze applied a request), then rerun to
completion against the emulator.

Braze does not deduplicate (spec): an occurrence sent twice is counted twice. With
``on_unknown: skip`` the end state must show no occurrence in Braze twice, each occurrence
either in Braze exactly once or reported unknown-skipped by the event ledger, and the attribute
profiles exact. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import polars as pl

from amperity_braze_assets.activation.events import EVENT_SCHEMA
from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.event_ledger import EventLedger
from amperity_braze_assets.braze.events import EventOptions
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import SyncOptions, run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.reliability.faults import (
    KEY,
    assert_ledger_equals_accepted,
    attributes_frame,
    expected_profiles,
    values_lost,
    wait_for_progress,
)

PEOPLE = 400
KILLS = 10
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[2]
LEDGER = "killed_events"

CHILD = textwrap.dedent(
    """
    import datetime as dt, sys
    from pathlib import Path
    import polars as pl
    from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
    from amperity_braze_assets.braze.events import EventOptions
    from amperity_braze_assets.braze.ledger import Ledger
    from amperity_braze_assets.braze.sync import SyncOptions, run_sync
    from amperity_braze_assets.storage.state_store import StateStore
    people, events, state, url, key, marker, run_id = sys.argv[1:8]
    ledger = Ledger(StateStore(base_path=state), "killed_events")
    # Paced (60 requests a second, two in flight) so kills land between and inside requests.
    settings = ClientSettings(rest_endpoint=url, rate_limit=60, rate_window_seconds=1,
                              rate_safety=1.0, concurrency=2, backoff_base=0.001,
                              backoff_max=0.01)
    choices = EventOptions(on_unknown="skip", lookback_days=3650,
                           now=dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC))
    Path(marker).write_text("started")
    with BrazeClient(settings, key) as client:
        run_sync(pl.read_parquet(people), ledger, client,
                 SyncOptions(run_id=run_id, concurrency=2, circuit_breaker_min_profiles=10**9,
                             event_options=choices),
                 events=pl.read_parquet(events))
    """
)


def occurrences(frame: pl.DataFrame) -> pl.DataFrame:
    """Two purchases and one event per person; each carries its key in its properties, so the
    emulator's copy says which occurrence it is."""
    rows = []
    for i, person in enumerate(frame["external_id"]):
        for kind, number in (("purchase", 0), ("purchase", 1), ("event", 0)):
            key = f"{kind}-{i}-{number}"
            purchase = kind == "purchase"
            rows.append(
                {
                    "event_key": key,
                    "amperity_id": person,
                    "kind": kind,
                    "name": f"SKU-{number}" if purchase else "loyalty_joined",
                    "time": NOW - dt.timedelta(days=i % 20, hours=number),
                    "currency": "EUR" if purchase else None,
                    "price": 10.0 + number if purchase else None,
                    "quantity": 1 + number if purchase else None,
                    "properties": json.dumps({"key": key}),
                }
            )
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


def _kill_mid_sync(emulator, tmp_path: Path, files: list[str], number: int, rng) -> bool:
    """Start a sync child and SIGKILL it once Braze has applied 1 to 3 more requests."""
    marker = tmp_path / f"started-{number}"
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, *files[:2], files[2], emulator.url, KEY, str(marker)]
        + [f"killed-{number}"],
        cwd=REPO,
        env={**os.environ},
    )
    applied = len(emulator.applied_ids())
    count = rng.randint(1, 3)
    alive = wait_for_progress(lambda: len(emulator.applied_ids()) >= applied + count, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return alive


def test_events_killed_ten_times_reach_braze_at_most_once(tmp_path):
    started = time.monotonic()
    rng = random.Random(20261205)
    frame = attributes_frame(PEOPLE, seed=5)
    events = occurrences(frame)
    files = [str(tmp_path / "people.parquet"), str(tmp_path / "events.parquet")]
    frame.write_parquet(files[0])
    events.write_parquet(files[1])
    state = tmp_path / "state"
    files.append(str(state))
    ledger = Ledger(StateStore(base_path=str(state)), LEDGER)
    with start_emulator(KEY, drop_after_apply=0.08, seed=11) as emulator:
        kills = sum(_kill_mid_sync(emulator, tmp_path, files, n, rng) for n in range(KILLS))
        assert kills == KILLS, "every kill should land mid-sync"
        dropped_during_kills = emulator.counters.dropped
        emulator.configure(drop_after_apply=0.0)
        settings = ClientSettings(rest_endpoint=emulator.url, concurrency=4, backoff_base=0.001)
        choices = EventOptions(on_unknown="skip", lookback_days=3650, now=NOW)
        reports = []
        with BrazeClient(settings, KEY) as client:
            for run in range(3):
                options = SyncOptions(
                    run_id=f"rerun-{run}",
                    concurrency=4,
                    circuit_breaker_min_profiles=10**9,
                    event_options=choices,
                )
                reports.append(run_sync(frame, ledger, client, options, events=events))
                if reports[-1].batches == 0:
                    break
        assert reports[-1].batches == 0, "the reruns should complete the sync"
        held = Counter(
            json.loads(json.dumps(entry["properties"]))["key"]
            for store in (emulator.purchases, emulator.events)
            for entries in store.values()
            for entry in entries
        )
        statuses = EventLedger(ledger.store, LEDGER).statuses()
        profiles = emulator.profiles
    by_status = dict(statuses.group_by("status").len().iter_rows())
    skipped = set(statuses.filter(pl.col("status") == "skipped_unknown")["event_key"])
    accepted = set(statuses.filter(pl.col("status") == "accepted")["event_key"])
    twice = {key: n for key, n in held.items() if n > 1}
    assert not twice, f"occurrences counted twice by Braze: {sorted(twice)[:5]}"
    assert set(events["event_key"]) == accepted | skipped
    assert all(held[key] == 1 for key in accepted)
    assert skipped, "ten kills and dropped connections leave some outcomes unknown"
    assert values_lost(expected_profiles(frame), profiles) == 0
    assert_ledger_equals_accepted(ledger, profiles, frame)
    missing = len(skipped - set(held))
    print(
        f"\n[fault suite] events SIGKILL x{KILLS} (+{dropped_during_kills} dropped connections): "
        f"{events.height} occurrences, in Braze once {len(held)}, twice 0, unknown-skipped "
        f"{len(skipped)} (of which never reached Braze {missing}); statuses {by_status}; "
        f"{time.monotonic() - started:.1f} s"
    )
