"""One sync per ledger, against the real emulator on loopback: two syncs started at once on one
ledger send nothing twice and leave the ledger exact; a second sync waits, then gives up naming
the holder; a crashed sync's lease is taken over once it expires; a lease is renewed while a
sync runs and released at the end, on error too."""

from __future__ import annotations

import threading

import pytest

from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.ledger_lock import (
    LedgerBusy,
    LedgerHold,
    LedgerLost,
    LockSettings,
    hold_ledger,
    lease_name,
)
from amperity_braze_assets.braze.sync import SyncOptions, run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.files import LocalStorage
from amperity_braze_assets.storage.leases import Leases
from amperity_braze_assets.storage.state_tables import StateTables
from amperity_braze_assets_tests.braze import helpers
from amperity_braze_assets_tests.reliability.faults import (
    KEY,
    assert_ledger_equals_accepted,
    attributes_frame,
    expected_profiles,
)

PEOPLE = 600
PER_REQUEST = 25  # 24 requests a sync: long enough for two syncs to overlap


class Clock:
    """Wall time moved by hand (and by the fake sleep): no test sleeps for time to pass."""

    def __init__(self, now: float = 1_750_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def client_for(emulator) -> BrazeClient:
    settings = ClientSettings(
        rest_endpoint=emulator.url, concurrency=2, backoff_base=0.001, backoff_max=0.01
    )
    return BrazeClient(settings, KEY)


def options(run_id: str, **overrides) -> SyncOptions:
    values = dict(
        run_id=run_id,
        concurrency=2,
        objects_per_request=PER_REQUEST,
        circuit_breaker_min_profiles=10**9,
    )
    values.update(overrides)
    return SyncOptions(**values)


@pytest.fixture
def store(tmp_path) -> StateTables:
    return StateTables(LocalStorage(tmp_path / "state"))


def two_syncs_at_once(store, emulator, frame, *, locked: bool, meet_after_first_batch=None):
    """Two syncs of ledger 'default', each in its own thread with its own client and Ledger,
    released at the same instant. Returns their reports (None for one that gave up) and errors."""
    start = threading.Barrier(2)
    reports: dict[str, object] = {}
    errors: dict[str, BaseException] = {}
    lock = LockSettings(lease_seconds=30, wait_seconds=120, poll_seconds=0.05)

    def sync(run_id: str) -> None:
        ledger = Ledger(store, "default")
        run = options(run_id, after_batch=meet_after_first_batch)
        start.wait()
        try:
            with client_for(emulator) as client:
                if not locked:
                    reports[run_id] = run_sync(frame, ledger, client, run)
                    return
                with hold_ledger(store.leases(), "default", run_id, lock) as hold:
                    run.check_lease = hold.check
                    reports[run_id] = run_sync(frame, ledger, client, run)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            errors[run_id] = exc

    threads = [threading.Thread(target=sync, args=(f"run-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return reports, errors


def test_two_syncs_on_one_ledger_at_once_send_nothing_twice_and_the_ledger_stays_exact(store):
    frame = attributes_frame(PEOPLE, seed=4)
    with start_emulator(KEY) as emulator:
        reports, errors = two_syncs_at_once(store, emulator, frame, locked=True)
        counters = emulator.counters
        profiles = emulator.profiles
    assert errors == {}
    sent = sorted(report.objects_sent for report in reports.values())
    # The first sends everyone; the second waited for the ledger and found nothing to send.
    assert sent == [0, PEOPLE]
    assert counters.objects == PEOPLE  # every person applied exactly once
    assert counters.requests == PEOPLE // PER_REQUEST == 24
    assert profiles == expected_profiles(frame)
    assert_ledger_equals_accepted(Ledger(store, "default"), profiles, frame)
    assert store.leases().current(lease_name("default")).released


def test_without_the_lease_the_same_two_syncs_send_everyone_twice(store):
    """The control: the scenario above does double-send when nothing holds the ledger (both
    diff against the empty ledger before either records a batch), so the test can fail."""
    frame = attributes_frame(PEOPLE, seed=4)
    both_diffed = threading.Barrier(2, timeout=30)

    def meet(batch: int) -> None:
        if batch == 0:
            both_diffed.wait()

    with start_emulator(KEY) as emulator:
        reports, errors = two_syncs_at_once(
            store, emulator, frame, locked=False, meet_after_first_batch=meet
        )
        counters = emulator.counters
    assert counters.objects == 2 * PEOPLE  # everyone sent (and billed) twice
    assert all(report.objects_sent == PEOPLE for report in reports.values())
    # Worse, at times: one sync's compaction deletes segments the other is folding.
    assert all(isinstance(error, FileNotFoundError) for error in errors.values())


def test_a_second_sync_waits_then_gives_up_naming_the_holder_and_sends_nothing(store):
    clock = Clock()
    leases = Leases(store.storage, clock)
    holder, _ = leases.try_acquire(lease_name("default"), "run-holder", 120)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.sleep(seconds)

    lock = LockSettings(lease_seconds=120, wait_seconds=20, poll_seconds=5)
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        with pytest.raises(LedgerBusy) as busy:
            with hold_ledger(leases, "default", "run-waiting", lock, sleep=sleep):
                run_sync(attributes_frame(10), Ledger(store, "default"), client, options("x"))
        assert emulator.counters.requests == 0
    assert waits == [5, 5, 5, 5]  # polled every 5 s for the 20 s it may wait
    message = str(busy.value)
    assert "ledger 'default' is being synced by run run-holder" in message
    assert "This run (run-waiting) waited 20 s and sent nothing to Braze" in message
    assert "re-execute this run once run run-holder has finished" in message
    assert "AMPERITY_BRAZE_LEDGER_WAIT_SECONDS" in message
    assert busy.value.holder.token == holder.token
    assert leases.current(lease_name("default")).holder == "run-holder"  # untouched


def test_a_crashed_syncs_expired_lease_is_taken_over(store):
    clock = Clock()
    leases = Leases(store.storage, clock)
    crashed, _ = leases.try_acquire(lease_name("default"), "run-crashed", 120)
    clock.now += 121  # it never renewed: the process died
    frame = attributes_frame(50, seed=2)
    lock = LockSettings(lease_seconds=120, wait_seconds=0)
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        with hold_ledger(leases, "default", "run-next", lock, sleep=clock.sleep) as hold:
            assert hold.lease.holder == "run-next"
            assert hold.lease.generation == crashed.generation + 1
            report = run_sync(frame, Ledger(store, "default"), client, options("run-next"))
        profiles = emulator.profiles
    assert report.objects_sent == 50
    assert_ledger_equals_accepted(Ledger(store, "default"), profiles, frame)
    assert leases.current(lease_name("default")).released


def test_the_lease_is_renewed_during_a_long_sync_and_released_on_error(store):
    lock = LockSettings(lease_seconds=0.3, wait_seconds=0)  # renewed every 0.1 s
    leases = store.leases()
    seen = []

    def look_then_fail(batch: int) -> None:
        seen.append(leases.current(lease_name("default")))
        if batch == 11:
            raise RuntimeError("the process is stopping")

    frame = attributes_frame(PEOPLE, seed=1)
    # 4 requests a second: the twelve batches take about 3 s, ten lease lengths.
    with start_emulator(KEY) as emulator:
        settings = ClientSettings(
            rest_endpoint=emulator.url, concurrency=1, rate_limit=1, rate_window_seconds=0.25
        )
        with BrazeClient(settings, KEY) as client, pytest.raises(RuntimeError, match="stopping"):
            with hold_ledger(leases, "default", "run-long", lock) as hold:
                run = options("run-long", concurrency=1, after_batch=look_then_fail)
                run.check_lease = hold.check
                run_sync(frame, Ledger(store, "default"), client, run)
    last = seen[-1]
    assert last.holder == "run-long" and not last.released
    assert last.expires_at - last.acquired_at > 2 * lock.lease_seconds  # renewed, more than once
    after = leases.current(lease_name("default"))
    assert after.released and after.generation == last.generation + 1


def test_a_sync_whose_lease_was_taken_over_stops_before_its_next_batch(store):
    clock = Clock()
    leases = Leases(store.storage, clock)
    mine, _ = leases.try_acquire(lease_name("default"), "run-stalled", 120)
    hold = LedgerHold(leases, mine, LockSettings(lease_seconds=120), "default")
    frame = attributes_frame(PEOPLE, seed=3)

    def stall_then_lose(batch: int) -> None:
        if batch == 3:  # the process froze past its expiry; another sync took the ledger
            clock.now += 200
            leases.try_acquire(lease_name("default"), "run-taker", 120)
            hold.renew()

    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run = options("run-stalled", concurrency=1, after_batch=stall_then_lose)
        run.check_lease = hold.check
        with pytest.raises(LedgerLost, match="run-stalled stopped syncing ledger 'default'"):
            run_sync(frame, Ledger(store, "default"), client, run)
        requests = emulator.counters.requests
        profiles = emulator.profiles
    # Batches 0-3, and batch 4, already in flight (the sync keeps two per worker queued) and
    # recorded all the same; none submitted after the loss was noticed (24 in all otherwise).
    assert requests == 5
    assert_ledger_equals_accepted(Ledger(store, "default"), profiles, frame)


def test_braze_sync_fails_naming_the_holder_when_its_ledger_is_busy_then_syncs(
    tmp_path, monkeypatch
):
    """The Dagster face: ``braze_sync`` on a held ledger fails with the holder's run id and how to
    retry, sending nothing; once the holder releases, the same sync runs and states its share of
    the workspace's rate budget."""
    selection = ["braze_customer_attributes", "identity_resolution", "braze_sync"]
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = helpers.settings_for(
            tmp_path,
            BRAZE_API_KEY=KEY,
            BRAZE_REST_ENDPOINT=emulator.url,
            AMPERITY_BRAZE_LEDGER_WAIT_SECONDS="0",
        )
        leases = StateTables(LocalStorage(settings.state_base)).leases()
        holder, _ = leases.try_acquire(lease_name("default"), "run-audience-refresh", 120)
        busy = helpers.materialize(settings, selection, raise_on_error=False)
        requests_while_busy = emulator.counters.requests
        leases.release(holder)
        synced = helpers.materialize(settings, selection)
        objects = emulator.counters.objects
    failure = next(e for e in busy.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "ledger 'default' is being synced by run run-audience-refresh" in message
    assert "sent nothing to Braze" in message and "re-execute this run" in message
    assert failure.event_specific_data.user_failure_data.metadata["holder_run"].value == (
        "run-audience-refresh"
    )
    assert requests_while_busy == 0
    details = synced.asset_materializations_for_node("braze_sync")[0].metadata["details"].value
    assert "| rate budget | 3,000 of 3,000 requests per 3 s (shared by 1) |" in details
    assert objects == 3
