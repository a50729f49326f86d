"""The sync under faults, against the real emulator on loopback: 5xx, connections dropped after
the update was applied, 429 storms, slow answers (some past the client's timeout), all at once,
and the sync process killed with SIGKILL at random points and rerun.

Every scenario ends with Braze's profiles equal to the attributes frame, the ledger equal to what
Braze accepted, and a printed line: faults injected, values lost (0), wasted data points (values
Braze billed beyond the minimum a fault-free sync needs). Run with ``-s`` to see the lines.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.diff import compute_diff
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger, LedgerView
from amperity_braze_assets.braze.sync import SyncOptions, run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.reliability.faults import (
    FULL,
    KEY,
    Figures,
    assert_ledger_equals_accepted,
    attributes_frame,
    expected_profiles,
    values_lost,
    wait_for_progress,
)

PEOPLE = 5000 if FULL else 3000  # 40 to 67 full batches of 75
MAX_RUNS = 6
REPO = Path(__file__).resolve().parents[2]


def _minimum_data_points(frame: pl.DataFrame) -> int:
    empty = LedgerView(
        pl.DataFrame(schema={IDENTIFIER: pl.String}),
        pl.DataFrame(schema={IDENTIFIER: pl.String, "object": pl.String}),
    )
    return compute_diff(frame, empty).figures.data_points


def _options(run_id: str) -> SyncOptions:
    return SyncOptions(run_id=run_id, concurrency=4, circuit_breaker_min_profiles=10**9)


def _client(url: str, **overrides) -> BrazeClient:
    settings = dict(
        rest_endpoint=url, concurrency=4, backoff_base=0.001, backoff_max=0.01, max_attempts=6
    )
    settings.update(overrides)
    return BrazeClient(ClientSettings(**settings), KEY, seed=7)


def _check_end_state(emulator, ledger: Ledger, frame: pl.DataFrame) -> int:
    expected = expected_profiles(frame)
    profiles = emulator.profiles
    lost = values_lost(expected, profiles)
    assert lost == 0
    assert profiles == expected
    assert_ledger_equals_accepted(ledger, profiles, frame)
    # Converged: the ledger leaves nothing to send.
    assert compute_diff(frame, ledger.view()).changes.height == 0
    return lost


SCENARIOS = {
    "5xx 10%": (dict(fault_5xx=0.10), {}),
    "dropped after apply 5%": (dict(drop_after_apply=0.05), {}),
    # One request per 40 ms window against a client pacing at 1,000 a second: most are 429s.
    "429 storm": (dict(rate_limit=1, window_seconds=0.04), {}),
    "slow answers": (dict(slow_share=0.2, slow_ms=60), dict(read_timeout=5.0)),
    # The update is applied, then the answer comes after the client gave up: an unknown outcome.
    "slow past the timeout": (dict(slow_share=0.1, slow_ms=400), dict(read_timeout=0.25)),
    "all combined": (
        dict(
            fault_5xx=0.10,
            drop_after_apply=0.05,
            rate_limit=2,
            window_seconds=0.02,
            slow_share=0.1,
            slow_ms=400,
        ),
        dict(read_timeout=0.25),
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_sync_converges_under_faults(scenario, tmp_path):
    emulator_faults, client_overrides = SCENARIOS[scenario]
    frame = attributes_frame(PEOPLE, seed=11)
    minimum = _minimum_data_points(frame)
    ledger = Ledger(StateStore(base_path=str(tmp_path / "state")), "faults")
    client_wasted = runs = 0
    with (
        start_emulator(KEY, seed=3, **emulator_faults) as emulator,
        _client(emulator.url, **client_overrides) as client,
    ):
        for runs in range(1, MAX_RUNS + 1):
            report = run_sync(frame, ledger, client, _options(f"run-{runs}"))
            client_wasted += report.wasted_data_points
            assert report.rejected == 0
            if report.unknown == 0:
                break
        else:
            pytest.fail(f"{scenario}: still unknown outcomes after {MAX_RUNS} runs")
        lost = _check_end_state(emulator, ledger, frame)
        counters = emulator.counters
    faults = {
        "5xx": counters.server_errors,
        "dropped": counters.dropped,
        "429": counters.throttled,
        "slow": counters.slow,
    }
    figures = Figures(scenario, faults, runs, minimum, counters.data_points, client_wasted, lost)
    print("\n" + figures.line())
    assert sum(faults.values()) > 0
    # Data points are billed only when applied: 5xx and 429 cost nothing; a dropped connection
    # or a timeout costs one resend of its batch at most. Braze's bill over the minimum is
    # therefore covered by what the client itself counted as sent with an unknown outcome. On a
    # loaded machine an answer that was not made slow can still miss the 0.25 s timeout, so the
    # client's own count, not the emulator's slow answers, is the bound.
    if not (emulator_faults.keys() & {"drop_after_apply", "slow_ms"}) or scenario == "slow answers":
        assert figures.wasted == 0
    else:
        assert 0 <= figures.wasted <= client_wasted
        # ...and no attempt is counted twice: at most one batch per request the emulator saw.
        assert client_wasted <= counters.requests * 75 * len(frame.columns)


# -- SIGKILL at random points ---------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import polars as pl
    from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
    from amperity_braze_assets.braze.ledger import Ledger
    from amperity_braze_assets.braze.sync import SyncOptions, run_sync
    from amperity_braze_assets.storage.state_store import StateStore
    people, state, url, key, marker, run_id = sys.argv[1:7]
    ledger = Ledger(StateStore(base_path=state), "killed")
    # Paced (80 requests a second, two in flight) so kills land between and inside batches.
    settings = ClientSettings(rest_endpoint=url, rate_limit=80, rate_window_seconds=1,
                              rate_safety=1.0, concurrency=2)
    frame = pl.read_parquet(people)
    Path(marker).write_text("started")
    with BrazeClient(settings, key) as client:
        run_sync(frame, ledger, client, SyncOptions(run_id=run_id, concurrency=2,
                 circuit_breaker_min_profiles=10**9))
    """
)


@pytest.mark.slow
def test_sync_killed_with_sigkill_at_random_points_converges(tmp_path):
    kills_planned = 10 if FULL else 3
    rng = random.Random(20250520)
    frame = attributes_frame(PEOPLE, seed=12)
    minimum = _minimum_data_points(frame)
    people = tmp_path / "people.parquet"
    frame.write_parquet(people)
    state = tmp_path / "state"
    segments = state / "braze" / "killed" / "segments.v1"
    store = StateStore(base_path=str(state))
    kills: list[tuple[int, set[str]]] = []  # (applied requests before the rerun, confirmed ids)
    points: list[str] = []
    started = time.monotonic()
    with start_emulator(KEY) as emulator:
        for number in range(kills_planned):
            marker = tmp_path / f"started-{number}"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(people),
                    str(state),
                    emulator.url,
                    KEY,
                    str(marker),
                    f"killed-{number}",
                ],
                cwd=REPO,
                env={**os.environ},
            )
            applied = len(emulator.applied_ids())
            kind = rng.choice(["start", "requests", "requests", "segments"])
            if number == kills_planned - 1:
                kind = "segments"  # the last kill after confirmed batches: resends are checked
            if kind == "start":
                point = "at start (compaction, diff)"

                def reached(marker=marker) -> bool:
                    return marker.exists()
            elif kind == "requests":
                count = rng.randint(1, 5)
                point = f"after {count} applied request(s)"

                def reached(count=count, applied=applied) -> bool:
                    return len(emulator.applied_ids()) >= applied + count
            else:
                before = len(list(segments.glob("*.parquet"))) if segments.exists() else 0
                count = rng.randint(1, 3)
                point = f"after {count} ledger segment(s)"

                def reached(count=count, before=before) -> bool:
                    present = len(list(segments.glob("*.parquet"))) if segments.exists() else 0
                    return present >= before + count

            alive = wait_for_progress(reached, process)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            assert alive, f"the child finished before kill {number} ({point})"
            points.append(point)
            confirmed = set(Ledger(store, "killed").view().accepted[IDENTIFIER].to_list())
            kills.append((len(emulator.applied_ids()), confirmed))
        assert 0 < len(kills[-1][1]) < PEOPLE, "the kills should land mid-sync"
        ledger = Ledger(store, "killed")
        with _client(emulator.url) as client:
            for run in range(MAX_RUNS):
                report = run_sync(frame, ledger, client, _options(f"rerun-{run}"))
                if report.unknown == 0:
                    break
        applied_log = emulator.applied_ids()
        for applied_before, confirmed in kills:
            resent = {i for ids in applied_log[applied_before:] for i in ids}
            assert not resent & confirmed, "a batch confirmed before a kill was sent again"
        lost = _check_end_state(emulator, ledger, frame)
        billed = emulator.counters.data_points
    leftovers = [p.name for p in state.rglob("*.tmp")]
    figures = Figures(
        f"SIGKILL x{len(kills)}", {"kills": len(kills)}, len(kills) + 1, minimum, billed, 0, lost
    )
    print("\n" + figures.line())
    print(
        f"[fault suite] kill points: {points}; leftover temp files: {len(leftovers)}; "
        f"{time.monotonic() - started:.1f} s"
    )
    # Only batches in flight at a kill (at most two) can be resent: 2 × 75 people each time.
    assert 0 <= figures.wasted <= len(kills) * 2 * 75 * len(frame.columns)
