"""Leases in the one storage layer: create-if-absent is atomic on a folder and on S3 (moto's
server), one holder at a time, an expired lease is taken over, a taken-over holder learns it."""

from __future__ import annotations

import threading
import uuid

import boto3
import pytest

from amperity_braze_assets.storage.files import LocalStorage, S3Storage
from amperity_braze_assets.storage.leases import Lease, LeaseLost, Leases


class Clock:
    """Wall time the test moves by hand: no test sleeps for time to pass."""

    def __init__(self, now: float = 1_750_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "state")
    endpoint = request.getfixturevalue("aws_env")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"leases-{uuid.uuid4().hex[:12]}"  # the parametrized test name is no bucket name
    client.create_bucket(Bucket=bucket)
    return S3Storage(client, bucket, "state")


def test_create_writes_only_when_nothing_is_there(storage):
    assert storage.create("locks/a.json", b"first") is True
    assert storage.create("locks/a.json", b"second") is False
    assert storage.read("locks/a.json").data == b"first"
    assert [f.key for f in storage.list("locks/")] == ["locks/a.json"]  # no temporary left


def test_of_many_racing_creators_exactly_one_wins(storage):
    start = threading.Barrier(8)
    wins: list[int] = []

    def race(n: int) -> None:
        start.wait()
        if storage.create("locks/race.json", str(n).encode()):
            wins.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert storage.read("locks/race.json").data == str(wins[0]).encode()


def test_one_holder_at_a_time_and_a_release_frees_the_name(storage):
    clock = Clock()
    leases = Leases(storage, clock)
    mine, current = leases.try_acquire("braze/default", "run-a", 300)
    assert mine is not None and mine.generation == 1 and current == mine
    refused, holder = leases.try_acquire("braze/default", "run-b", 300)
    assert refused is None and holder.holder == "run-a"
    assert "run run-a" in holder.describe() and "unless renewed" in holder.describe()
    leases.release(mine)
    assert leases.current("braze/default").released
    theirs, _ = leases.try_acquire("braze/default", "run-b", 300)
    assert theirs is not None and theirs.holder == "run-b" and theirs.generation == 3


def test_an_expired_lease_is_taken_over_and_its_holder_learns_it_on_renewal(storage):
    clock = Clock()
    leases = Leases(storage, clock)
    crashed, _ = leases.try_acquire("braze/default", "run-crashed", 300)
    clock.now += 299
    assert leases.try_acquire("braze/default", "run-b", 300)[0] is None  # still held
    clock.now += 2  # past the expiry: the holder stopped renewing
    taker, _ = leases.try_acquire("braze/default", "run-b", 300)
    assert taker is not None and taker.generation == crashed.generation + 1
    with pytest.raises(LeaseLost, match="run-b"):
        leases.renew(crashed, 300)
    leases.release(crashed)  # the old holder's release does not free the taker's lease
    assert leases.current("braze/default").holder == "run-b"
    assert not leases.current("braze/default").is_free(clock.now)


def test_renewal_extends_the_lease(storage):
    clock = Clock()
    leases = Leases(storage, clock)
    lease, _ = leases.try_acquire("braze/default", "run-a", 300)
    clock.now += 250
    renewed = leases.renew(lease, 300)
    assert renewed.expires_at == clock.now + 300
    clock.now += 100  # past the first expiry, within the renewed one
    assert leases.try_acquire("braze/default", "run-b", 300)[0] is None


def test_old_generations_are_pruned_and_shard_leases_are_apart(tmp_path):
    storage = LocalStorage(tmp_path)
    leases = Leases(storage, Clock())
    for _ in range(5):
        lease, _ = leases.try_acquire("braze/default", "run-a", 300)
        leases.release(lease)
    shard, _ = leases.try_acquire("braze/default/shard-0-of-2", "run-b", 300)
    assert shard is not None and shard.generation == 1
    own = [f.key for f in storage.list("leases/braze/default/") if "shard" not in f.key]
    # The last acquisition (generation 9) kept the one before it; the release wrote 10.
    assert own == [
        "leases/braze/default/000000000008.json",
        "leases/braze/default/000000000009.json",
        "leases/braze/default/000000000010.json",
    ]


def test_a_recreated_pruned_generation_is_not_taken_for_the_lease(tmp_path):
    """A racer whose listing was stale creates a generation below the latest: it must see
    it is not the holder, take it back, and answer with the real holder."""
    storage = LocalStorage(tmp_path)
    clock = Clock()
    leases = Leases(storage, clock)
    holder = Lease("x", 7, "run-a", "t", clock.now, clock.now + 300)
    storage.create("leases/x/000000000007.json", holder.to_bytes())
    stale = Leases(storage, clock)
    views = iter([Lease("x", 2, "run-old", "o", 0.0, 1.0)])  # a stale first look, then the truth
    stale.current = lambda name: next(views, None) or leases.current(name)
    mine, current = stale.try_acquire("x", "run-b", 300)
    assert mine is None and current.holder == "run-a"
    assert [f.key for f in storage.list("leases/x/")] == ["leases/x/000000000007.json"]
    assert leases.current("x").holder == "run-a"
