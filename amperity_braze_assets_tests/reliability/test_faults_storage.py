"""Storage under faults: a ledger write interrupted midway, the S3 server stopping mid-read, and
Currents files that appear half-written."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster_aws.s3 import S3Resource
from moto.server import ThreadedMotoServer
from polars.testing import assert_frame_equal

from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger
from amperity_braze_assets.currents.ingest import (
    ingest_currents_batch,
    quarantine_table,
    read_currents_table,
    read_ledger,
)
from amperity_braze_assets.currents.source import (
    CurrentsObject,
    LocalCurrentsSource,
    S3CurrentsSource,
)
from amperity_braze_assets.sources.config import SourceConfig
from amperity_braze_assets.sources.reader import read_source
from amperity_braze_assets.storage.files import STALE_TEMP_SECONDS
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets.storage.state_store import StateStore, StateStoreError
from amperity_braze_assets_tests.currents.helpers import (
    HOUR,
    OPEN_V1,
    avro_bytes,
    event_key,
    record,
    write_file,
)
from amperity_braze_assets_tests.reliability.faults import FULL

REPO = Path(__file__).resolve().parents[2]
T0 = int(HOUR.timestamp())


def _segment(ids: list[str], value: str) -> pl.DataFrame:
    return pl.DataFrame({IDENTIFIER: ids, "tier": [value] * len(ids)})


# -- 3. a ledger write interrupted midway ------------------------------------------------------


def test_a_crash_between_the_temp_write_and_the_rename_keeps_the_old_state(tmp_path, monkeypatch):
    store = StateStore(base_path=str(tmp_path))
    ledger = Ledger(store, "atomic")
    ledger.record_accepted(_segment(["a", "b"], "gold"))
    before = ledger.compact().accepted

    class Crash(BaseException):
        pass

    def crash(src, dst):
        raise Crash  # the process dies after the temporary file is complete, before the rename

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Crash):
        ledger.record_accepted(_segment(["a", "c"], "silver"))  # a segment write
    with pytest.raises(Crash):
        store.write("braze/atomic/accepted.v1", _segment(["z"], "none"))
    monkeypatch.undo()
    assert_frame_equal(ledger.view().accepted, before)
    assert not list(tmp_path.rglob("*.tmp"))  # an in-process failure removes its temporary


def test_leftover_and_partial_temp_files_are_ignored_then_cleaned(tmp_path):
    store = StateStore(base_path=str(tmp_path))
    ledger = Ledger(store, "atomic")
    ledger.record_accepted(_segment(["a", "b"], "gold"))
    view = ledger.compact()
    folder = tmp_path / "braze" / "atomic"
    complete = (folder / "accepted.v1.parquet").read_bytes()
    # What SIGKILL leaves: a temporary cut in half next to the table, and one in the segments.
    partial = folder / ".accepted.v1.parquet.k1ll3d.tmp"
    partial.write_bytes(complete[: len(complete) // 2])
    (folder / "segments.v1").mkdir(exist_ok=True)
    garbage = folder / "segments.v1" / ".0000-00000009.parquet.x.tmp"
    garbage.write_bytes(b"PAR1 cut")
    assert_frame_equal(ledger.view().accepted, view.accepted)
    assert store.list("braze/atomic/segments.v1/") == []
    assert partial.exists() and garbage.exists()  # young: could be a live writer's, kept
    old = time.time() - 2 * STALE_TEMP_SECONDS
    for path in (partial, garbage):
        os.utime(path, (old, old))
    assert_frame_equal(ledger.compact().accepted, view.accepted)
    assert not partial.exists() and not garbage.exists()


WRITER = textwrap.dedent(
    """
    import sys
    import polars as pl
    from amperity_braze_assets.storage.state_store import StateStore
    store = StateStore(base_path=sys.argv[1])
    rows = int(sys.argv[2])
    version = 0
    while True:
        version += 1
        store.write("braze/killed/accepted.v1", pl.DataFrame(
            {"identifier": [f"p{i}" for i in range(rows)], "version": [version] * rows}))
    """
)


@pytest.mark.slow
def test_sigkill_during_ledger_writes_leaves_a_complete_table(tmp_path):
    """A writer replacing the table in a loop, killed at seeded random moments: every read sees
    one complete version, never a mix or a torn file."""
    rows, kills = 200_000, (5 if FULL else 2)
    rng = random.Random(8)
    store = StateStore(base_path=str(tmp_path))
    target = tmp_path / "braze" / "killed" / "accepted.v1.parquet"
    for _ in range(kills):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(rows)], cwd=REPO
        )
        replacements = rng.randint(1, 4)
        seen, last = 0, None
        deadline = time.monotonic() + 60
        while seen < replacements and time.monotonic() < deadline:
            stamp = target.stat().st_mtime_ns if target.exists() else None
            if stamp != last and stamp is not None:
                seen, last = seen + 1, stamp
            time.sleep(0.002)  # polling the writer's progress
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        table = store.read("braze/killed/accepted.v1")
        assert table is not None and table.height == rows
        assert table["version"].n_unique() == 1
    print(f"\n[fault suite] ledger writes killed: {kills}; every read complete")


# -- 4. the S3 server stopping mid-read ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    """A dedicated moto server that can be stopped (listening socket closed: connections are
    refused at once) and started again on the same port with the same data (moto keeps its
    backends in process)."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None
        self.start()

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server._server.server_close()
            self._server = None


@pytest.fixture
def s3(monkeypatch, request):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = S3Server()
    # One attempt and short timeouts: a stopped server must fail fast, not after retries.
    resource = S3Resource(endpoint_url=server.url, region_name="us-east-1", max_attempts=1)
    client = resource.get_client()
    bucket = "faults-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    client.create_bucket(Bucket=bucket)
    try:
        yield server, resource, client, bucket
    finally:
        server.stop()


def _stop_after(client, server: S3Server, operation: str, count: int) -> list[int]:
    """Stop the server after ``count`` successful calls of ``operation`` on ``client``."""
    calls = [0]

    def hook(**_):
        calls[0] += 1
        if calls[0] == count:
            server.stop()

    client.meta.events.register(f"after-call.s3.{operation}", hook)
    return calls


def _stop_before(client, server: S3Server, operation: str, count: int) -> list[bool]:
    """Stop the server before the ``count``-th call of ``operation`` (and every later one) is
    sent, even from concurrent threads: they wait until it is down."""
    calls, lock, armed = [0], threading.Lock(), [True]

    def hook(**_):
        with lock:
            calls[0] += 1
            if armed[0] and calls[0] >= count:
                server.stop()

    client.meta.events.register(f"before-call.s3.{operation}", hook)
    return armed


def test_state_store_and_ledger_survive_the_s3_server_stopping(s3, monkeypatch):
    server, resource, client, bucket = s3
    monkeypatch.setattr(StateStore, "_client", lambda self: client)
    store = StateStore(base_path=f"s3://{bucket}/state", s3=resource)
    ledger = Ledger(store, "s3")
    ledger.record_accepted(_segment(["a", "b"], "gold"))
    ledger.compact()
    ledger.record_accepted(_segment(["c"], "silver"))
    ledger.record_accepted(_segment(["a"], "platinum"))
    expected = ledger.view().accepted

    _stop_after(client, server, "GetObject", 2)  # mid-view: base and one segment read
    with pytest.raises(StateStoreError, match="could not read .*Nothing was taken as state"):
        ledger.view()
    # While it is down, writes fail as clearly and leave nothing behind.
    with pytest.raises(StateStoreError, match="could not"):
        ledger.compact()
    server.start()
    assert_frame_equal(ledger.view().accepted, expected)

    # Down between compaction's table write and its segment deletes: the retry converges.
    _stop_after(client, server, "PutObject", 2)
    with pytest.raises(StateStoreError):
        ledger.compact()
    server.start()
    assert_frame_equal(ledger.view().accepted, expected)
    assert_frame_equal(ledger.compact().accepted, expected)
    assert store.list("braze/s3/segments.v1/") == []


def test_parquet_io_manager_survives_the_s3_server_stopping(s3, monkeypatch):
    server, resource, client, bucket = s3
    monkeypatch.setattr(ParquetIOManager, "_s3_client", lambda self: client)
    manager = ParquetIOManager(base_path=f"s3://{bucket}/assets", s3=resource)
    partitions = dg.StaticPartitionsDefinition(["p1", "p2", "p3"])
    key = dg.AssetKey(["customers"])
    frames = {
        p: pl.DataFrame({"id": [f"{p}-{i}" for i in range(1000)]})
        for p in partitions.get_partition_keys()
    }
    for partition, frame in frames.items():
        manager.handle_output(
            dg.build_output_context(asset_key=key, partition_key=partition), frame
        )

    def load(partition: str) -> pl.DataFrame:
        return manager.load_input(
            dg.build_input_context(
                asset_key=key, partition_key=partition, asset_partitions_def=partitions
            )
        )

    _stop_after(client, server, "GetObject", 1)  # stops once p1 is read: p2 never arrives
    read = {}
    with pytest.raises(Exception, match="Could not connect to the endpoint URL"):
        for partition in frames:
            read[partition] = load(partition)
    assert list(read) == ["p1"]
    replacement = pl.DataFrame({"id": ["new"]})
    with pytest.raises(Exception, match="Could not connect"):
        manager.handle_output(
            dg.build_output_context(asset_key=key, partition_key="p2"), replacement
        )
    server.start()
    for partition, frame in frames.items():  # the failed write left the old p2 whole
        assert_frame_equal(load(partition), frame)


def _open(event_id: str) -> dict:
    return record(event_id, T0, campaign_id="c", email_address="a@x.com", ip_pool=None)


def test_currents_ingest_survives_the_s3_server_stopping(s3, tmp_path):
    server, _, client, bucket = s3
    for n in range(6):
        client.put_object(
            Bucket=bucket,
            Key="currents/" + event_key(offset=n),
            Body=avro_bytes(OPEN_V1, [_open(f"e{n}-{i}") for i in range(50)]),
        )
    source = S3CurrentsSource(client, bucket, "currents")
    store = StateStore(base_path=str(tmp_path / "state"))
    armed = _stop_before(client, server, "GetObject", 3)  # two reads arrive, the rest cannot
    with pytest.raises(Exception, match="Could not connect"):
        ingest_currents_batch(source, store)
    armed[0] = False
    assert read_ledger(store).height == 0  # no commit: nothing half-ingested is state
    server.start()
    result = ingest_currents_batch(source, store)
    assert result.files_new == 6 and result.quarantined.height == 0
    assert read_currents_table(store, "currents_email_opens").height == 300


def test_a_source_csv_on_s3_read_while_the_server_is_down_is_quarantined(s3):
    server, _, client, bucket = s3
    client.put_object(Bucket=bucket, Key="crm/a.csv", Body=b"ID,MAIL\nk1,a@x.com\nk2,b@x.com\n")
    source = SourceConfig(
        name="crm",
        kind="customers",
        files=(f"s3://{bucket}/crm/*.csv",),
        format="csv",
        primary_key="ID",
        columns={"MAIL": "email"},
    )
    _stop_after(client, server, "ListObjectsV2", 1)  # listed, then down before the GET
    result = read_source(source, Path("."), client)
    assert result.records.height == 0
    reasons = result.rejects["reason"].to_list()
    assert len(reasons) == 1 and "cannot fetch file" in reasons[0]
    assert "Could not connect" in reasons[0]
    print(
        f"\n[fault suite] S3 down mid-source: quarantined {result.rejects.height}: {reasons[0][:90]}"
    )
    server.start()
    again = read_source(source, Path("."), client)
    assert again.records.height == 2 and again.rejects.height == 0


# -- 5. Currents files that appear half-written ------------------------------------------------------


def test_a_truncated_currents_file_is_quarantined_until_the_complete_file_lands(tmp_path):
    root, store = tmp_path / "currents", StateStore(base_path=str(tmp_path / "state"))
    source = LocalCurrentsSource(root)
    arrived = datetime(2025, 5, 20, 15, tzinfo=UTC)
    write_file(root, event_key(offset=0), avro_bytes(OPEN_V1, [_open("a1"), _open("a2")]), arrived)
    complete = avro_bytes(OPEN_V1, [_open(f"b{i}") for i in range(200)])
    half = event_key(offset=1)
    write_file(root, half, complete[: len(complete) // 2], arrived)
    first = ingest_currents_batch(source, store)
    assert first.tables["currents_email_opens"].events_added == 2  # the rest of the batch goes on
    assert first.quarantined["key"].to_list() == [half]
    assert quarantine_table(store)["reason"][0]  # with the reason
    # Unchanged: still quarantined, not re-read, nothing new.
    again = ingest_currents_batch(source, store)
    assert again.files_new == 0 and quarantine_table(store).height == 1
    # The complete file lands (a new size and last-modified): it is read, and leaves quarantine.
    write_file(root, half, complete, arrived + timedelta(minutes=1))
    landed = ingest_currents_batch(source, store)
    assert landed.files_new == 1 and landed.tables["currents_email_opens"].events_added == 200
    assert quarantine_table(store).height == 0 and landed.total_quarantined == 0
    assert read_currents_table(store, "currents_email_opens").height == 202
    # Named explicitly (the sensor's path) an unchanged quarantined file is not read twice.
    assert ingest_currents_batch(source, store, keys=[half]).files_already_done == 1
    print(
        "\n[fault suite] half-written Currents file: quarantined 1, re-read on landing, "
        "values lost: 0"
    )


class GrowingSource(LocalCurrentsSource):
    """The listing was taken while a file was still being written: it names a larger size than
    the bytes a read gets."""

    def __init__(self, root: Path, growing: dict[str, int]):
        super().__init__(root)
        self.growing = growing

    def list_objects(self) -> list[CurrentsObject]:
        return [
            CurrentsObject(o.key, o.last_modified, self.growing.get(o.key, o.size))
            for o in super().list_objects()
        ]


def test_a_file_whose_content_differs_from_its_listing_waits_for_the_next_batch(tmp_path):
    root, store = tmp_path / "currents", StateStore(base_path=str(tmp_path / "state"))
    done_key, growing_key = event_key(offset=0), event_key(offset=1)
    write_file(root, done_key, avro_bytes(OPEN_V1, [_open("a1")]))
    complete = avro_bytes(OPEN_V1, [_open(f"g{i}") for i in range(50)])
    write_file(root, growing_key, complete[:100])
    source = GrowingSource(root, {growing_key: len(complete)})
    first = ingest_currents_batch(source, store)
    assert first.deferred == (growing_key,) and first.quarantined.height == 0
    assert read_ledger(store)["key"].to_list() == [done_key]  # not recorded: read again later
    write_file(root, growing_key, complete)
    second = ingest_currents_batch(source, store)
    assert second.deferred == () and second.tables["currents_email_opens"].events_added == 50
