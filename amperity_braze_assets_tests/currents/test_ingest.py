"""Batches append exactly once, deduplicated across files and runs, with a quarantine ledger."""

from datetime import UTC, datetime

import polars as pl

from amperity_braze_assets.currents.ingest import (
    ingest_currents_batch,
    quarantine_table,
    read_currents_table,
    read_ledger,
)
from amperity_braze_assets.currents.source import LocalCurrentsSource
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.currents.helpers import (
    HOUR,
    OPEN_V1,
    avro_bytes,
    event_key,
    record,
    write_file,
)

T0 = int(HOUR.timestamp())
WEBHOOK = "users.messages.webhook.Send"


def _open(event_id: str, at: int = T0) -> dict:
    return record(event_id, at, campaign_id="c", email_address="a@x.com", ip_pool=None)


def test_duplicates_across_runs_retries_other_events_and_quarantine(tmp_path):
    root, store = tmp_path / "currents", StateStore(base_path=str(tmp_path / "state"))
    source = LocalCurrentsSource(root)
    write_file(root, event_key(offset=0), avro_bytes(OPEN_V1, [_open("e1"), _open("e2")]))
    webhook_fields = [
        ("id", "string"),
        ("user_id", "string"),
        ("external_user_id", ["null", "string"]),
        ("time", "int"),
        ("webhook_url", "string"),
    ]
    write_file(
        root,
        event_key(WEBHOOK),
        avro_bytes(webhook_fields, [record("w1", T0, webhook_url="https://h.example/x")]),
    )
    first = ingest_currents_batch(source, store)
    assert first.files_new == 2
    assert first.tables["currents_email_opens"].events_added == 2

    # Run 2: a late event under an old date= folder, a duplicate from run 1, a corrupt file.
    late_key = event_key(offset=2, hour=HOUR)  # old folder, new file
    write_file(root, late_key, avro_bytes(OPEN_V1, [_open("e2"), _open("e3", T0 - 3 * 86400)]))
    write_file(root, event_key(offset=3), b"Obj\x01truncated")
    second = ingest_currents_batch(source, store)
    opens = second.tables["currents_email_opens"]
    assert (second.files_new, second.files_already_done) == (2, 0)
    assert (opens.events, opens.duplicates_dropped, opens.events_added) == (2, 1, 1)
    assert opens.late_events == 1 and opens.total_events == 3
    assert second.quarantined["key"].to_list() == [event_key(offset=3)]

    table = read_currents_table(store, "currents_email_opens")
    assert sorted(table["id"]) == ["e1", "e2", "e3"]
    other = read_currents_table(store, "currents_other_events")
    assert other["event_type"].to_list() == [WEBHOOK]
    assert '"webhook_url":"https://h.example/x"' in other["record"][0]
    assert f'"time":{T0}' in other["record"][0]

    # Nothing new: nothing read, nothing written; naming old keys again changes nothing.
    third = ingest_currents_batch(source, store, keys=[event_key(offset=0), late_key])
    assert (third.files_new, third.files_already_done) == (0, 2)
    assert read_currents_table(store, "currents_email_opens").height == 3
    assert quarantine_table(store)["key"].to_list() == [event_key(offset=3)]
    assert read_ledger(store).height == 4


def test_a_retry_after_a_crash_before_the_commit_keeps_its_events(tmp_path):
    root, store = tmp_path / "currents", StateStore(base_path=str(tmp_path / "state"))
    source = LocalCurrentsSource(root)
    write_file(root, event_key(), avro_bytes(OPEN_V1, [_open("e1")]))

    class CrashOnLedger:
        def read(self, name):
            return store.read(name)

        def write(self, name, frame):
            if name == "currents/files.v1":
                raise RuntimeError("crash before the commit")
            return store.write(name, frame)

    try:
        ingest_currents_batch(source, CrashOnLedger())
    except RuntimeError:
        pass
    retry = ingest_currents_batch(source, store)
    assert retry.tables["currents_email_opens"].events_added == 1
    assert read_currents_table(store, "currents_email_opens")["id"].to_list() == ["e1"]


def test_arrival_lag_is_measured_from_event_time(tmp_path):
    root, store = tmp_path / "currents", StateStore(base_path=str(tmp_path / "state"))
    arrived = datetime.fromtimestamp(T0 + 600, UTC)
    write_file(root, event_key(), avro_bytes(OPEN_V1, [_open("e1", T0)]), mtime=arrived)
    result = ingest_currents_batch(LocalCurrentsSource(root), store)
    opens = result.tables["currents_email_opens"]
    assert opens.lag_max_seconds == 600.0
    assert read_currents_table(store, "currents_email_opens")["arrived_at"].to_list() == [arrived]
    assert read_currents_table(store, "currents_purchases").schema["time"] == pl.Datetime(
        "us", "UTC"
    )


def test_a_field_that_changes_type_is_kept_as_text_within_and_across_batches(tmp_path, caplog):
    root, store = tmp_path / "currents", StateStore(base_path=str(tmp_path / "state"))
    source = LocalCurrentsSource(root)

    def opens_with(kind: object) -> list[tuple[str, object]]:
        return [*OPEN_V1, ("tags", kind)]

    # One batch: a number in one file, a list of strings in another (no common type).
    write_file(
        root, event_key(offset=0), avro_bytes(opens_with("long"), [_open("e1") | {"tags": 5}])
    )
    write_file(
        root,
        event_key(offset=1),
        avro_bytes(
            opens_with({"type": "array", "items": "string"}), [_open("e2") | {"tags": ["a", "b"]}]
        ),
    )
    first = ingest_currents_batch(source, store)
    assert first.tables["currents_email_opens"].events_added == 2
    assert first.quarantined.height == 0
    assert "'tags' has no common type across files" in caplog.text
    assert f"Int64 in {event_key(offset=0)}" in caplog.text  # the files are named
    assert f"List(String) in {event_key(offset=1)}" in caplog.text
    # A later batch where the field is a record: its part stacks onto the earlier one.
    write_file(
        root,
        event_key(offset=2),
        avro_bytes(
            opens_with({"type": "record", "name": "T", "fields": [{"name": "k", "type": "long"}]}),
            [_open("e3") | {"tags": {"k": 7}}],
        ),
    )
    assert ingest_currents_batch(source, store).tables["currents_email_opens"].events_added == 1
    table = read_currents_table(store, "currents_email_opens").sort("id")
    assert table["tags"].to_list() == ["5", '["a","b"]', '{"k":7}']


def test_batch_parts_are_compacted_and_read_once(tmp_path, monkeypatch):
    from amperity_braze_assets.currents import ingest

    monkeypatch.setattr(ingest, "COMPACT_PARTS", 2)
    root, store = tmp_path / "currents", StateStore(base_path=str(tmp_path / "state"))
    source = LocalCurrentsSource(root)
    opens = "currents_email_opens"
    for batch in range(3):
        write_file(root, event_key(offset=batch), avro_bytes(OPEN_V1, [_open(f"e{batch}")]))
        ingest_currents_batch(source, store)
    # Batches 1 and 2 were folded after the second commit; the third waits for a second one.
    parts = [n for n in store.list(f"currents/{opens}.v1/") if n.rsplit("/", 1)[1][:2] == "20"]
    assert len(parts) == 1
    compacted = store.read(ingest.compacted_state(opens))
    assert compacted["id"].to_list() == ["e0", "e1"] and compacted["batch_id"].n_unique() == 2
    assert read_currents_table(store, opens)["id"].to_list() == ["e0", "e1", "e2"]

    # A duplicate of a compacted event is still dropped (the id index is not compacted away);
    # this batch makes two pending again, and they are folded.
    write_file(root, event_key(offset=3), avro_bytes(OPEN_V1, [_open("e0"), _open("e3")]))
    added = ingest_currents_batch(source, store).tables[opens]
    assert (added.events_added, added.duplicates_dropped) == (1, 1)
    assert store.read(ingest.compacted_state(opens))["id"].to_list() == ["e0", "e1", "e2", "e3"]

    # A crash after the compacted part is rewritten but before the parts are deleted: the
    # parts stay, and nothing is read twice.
    write_file(root, event_key(offset=4), avro_bytes(OPEN_V1, [_open("e4")]))
    monkeypatch.setattr(ingest, "COMPACT_PARTS", 10**6)
    ingest_currents_batch(source, store)

    class NoDeletes:
        def read(self, name):
            return store.read(name)

        def write(self, name, frame):
            return store.write(name, frame)

    assert ingest.compact_currents_table(NoDeletes(), opens, min_parts=1) == 1
    last_batch = store.read(ingest.compacted_state(opens))["batch_id"][-1]
    assert store.read(ingest.part_state(opens, last_batch)) is not None  # left behind
    assert read_currents_table(store, opens)["id"].to_list() == ["e0", "e1", "e2", "e3", "e4"]
    # The next compaction folds nothing new and deletes the part the crash left behind.
    assert ingest.compact_currents_table(store, opens, min_parts=1) == 0
    assert store.read(ingest.part_state(opens, last_batch)) is None
    assert read_currents_table(store, opens)["id"].to_list() == ["e0", "e1", "e2", "e3", "e4"]


def test_a_committed_batch_named_again_with_new_files_keeps_both(tmp_path):
    root, store = tmp_path / "currents", StateStore(base_path=str(tmp_path / "state"))
    source = LocalCurrentsSource(root)
    complete = avro_bytes(OPEN_V1, [_open("e2")])
    write_file(root, event_key(offset=0), avro_bytes(OPEN_V1, [_open("e1")]))
    write_file(root, event_key(offset=1), complete[: len(complete) // 2])  # still uploading
    keys = [event_key(offset=0), event_key(offset=1)]
    first = ingest_currents_batch(source, store, keys, batch_id="run-1")
    assert first.quarantined.height == 1
    # The same run re-executed (same batch id) once the file landed whole.
    write_file(root, event_key(offset=1), complete)
    second = ingest_currents_batch(source, store, keys, batch_id="run-1")
    assert second.batch_id != "run-1" and second.files_new == 1
    assert sorted(read_currents_table(store, "currents_email_opens")["id"]) == ["e1", "e2"]
