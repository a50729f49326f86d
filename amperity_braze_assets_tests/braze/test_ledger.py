"""The ledger: segments per accepted batch, compaction, rejections, merges; local and S3."""

from __future__ import annotations

import polars as pl

from amperity_braze_assets.braze.ledger import (
    CLEARED,
    IDENTIFIER,
    Ledger,
    apply_merges,
    apply_segments,
)
from amperity_braze_assets.storage.files import LocalStorage, storage_for
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets.storage.state_tables import StateTables, TableStore


def segment(rows: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={k: pl.String for k in rows})


def exercise(store: TableStore) -> None:
    ledger = Ledger(store, "brand")
    ledger.record_accepted(segment({IDENTIFIER: ["a", "b"], "x": ["1", "2"], "y": ["t", None]}))
    ledger.record_accepted(segment({IDENTIFIER: ["a"], "x": [CLEARED], "y": [None], "z": ["new"]}))
    view = ledger.view()  # pending segments applied in memory, nothing written
    assert len(store.list("braze/brand/segments.v1/")) == 2
    compacted = ledger.compact()
    assert store.list("braze/brand/segments.v1/") == []
    for frame in (view.accepted, compacted.accepted, ledger.view().accepted):
        rows = {r[IDENTIFIER]: r for r in frame.sort(IDENTIFIER).to_dicts()}
        assert rows["a"] == {IDENTIFIER: "a", "x": None, "y": "t", "z": "new"}
        assert rows["b"] == {IDENTIFIER: "b", "x": "2", "y": None, "z": None}
    ledger.record_rejected(
        pl.DataFrame(
            {
                IDENTIFIER: ["c"],
                "object": ['{"external_id":"c"}'],
                "reason": ["bad"],
                "run_id": ["r1"],
            }
        )
    )
    assert ledger.compact().rejections[IDENTIFIER].to_list() == ["c"]


def test_local_segments_compact_into_the_ledger(tmp_path):
    exercise(StateTables(LocalStorage(tmp_path)))  # the plain layer: no Dagster below the assets


def test_s3_segments_compact_into_the_ledger(s3_bucket):
    from dagster_aws.s3 import S3Resource

    client, bucket = s3_bucket
    exercise(StateTables(storage_for(f"s3://{bucket}/plain", client)))
    exercise(  # through the Dagster resource, as the assets build it
        StateStore(
            base_path=f"s3://{bucket}/state",
            s3=S3Resource(endpoint_url=client.meta.endpoint_url, region_name="us-east-1"),
        )
    )


def test_segments_overlay_in_place_and_new_people_follow():
    base = segment({IDENTIFIER: ["c", "a", "b"], "x": ["3", "1", "2"], "y": ["r", "p", None]})
    first = segment({IDENTIFIER: ["b", "d"], "x": [None, "9"], "z": ["new", CLEARED]})
    second = segment({IDENTIFIER: ["a", "b", "e"], "x": [CLEARED, "7", None], "y": [None] * 3})
    out = apply_segments(base, [first, second])
    # The compacted table's order holds (the diff then meets it aligned); new people follow.
    assert out.rows() == [
        ("c", "3", "r", None),
        ("a", None, "p", None),
        ("b", "7", None, "new"),
        ("d", "9", None, None),
        ("e", None, None, None),
    ]
    assert out.columns == [IDENTIFIER, "x", "y", "z"]
    assert base.get_column("x").to_list() == ["3", "1", "2"]  # the caller's table is untouched
    empty = pl.DataFrame(schema={IDENTIFIER: pl.String})
    assert apply_segments(empty, [first]).rows() == [("b", None, "new"), ("d", "9", None)]


def test_state_store_list_and_delete(tmp_path):
    store = StateStore(base_path=str(tmp_path))
    frame = pl.DataFrame({"a": [1]})
    for name in ("x/seg/002", "x/seg/001", "x/other"):
        store.write(name, frame)
    assert store.list("x/seg/") == ["x/seg/001", "x/seg/002"]
    store.delete("x/seg/001")
    store.delete("x/seg/missing")
    assert store.list("x/seg/") == ["x/seg/002"] and store.list("nothing/") == []


def test_merges_keep_the_survivor_values_and_drop_the_absorbed(tmp_path):
    ledger = Ledger(StateTables(LocalStorage(tmp_path)), "m")
    ledger.record_accepted(segment({IDENTIFIER: ["old", "new"], "x": ["1", None], "y": ["o", "n"]}))
    view = ledger.compact()
    merged = apply_merges(view, pl.DataFrame({"absorbed": ["old"], "survivor": ["new"]}))
    assert merged.accepted.to_dicts() == [{IDENTIFIER: "new", "x": "1", "y": "n"}]


def test_gains_and_segments_fold_in_the_order_they_were_written(tmp_path):
    def email_after(*writes: str) -> str | None:
        ledger = Ledger(StateTables(LocalStorage(tmp_path / "-".join(writes))), "shard-1")
        ledger.record_accepted(segment({IDENTIFIER: ["s"], "email": ["x@example.com"]}))
        ledger.compact()
        for write in writes:
            if write == "gain":  # another shard's merge: Braze fills only a missing value
                ledger.record_gained(segment({IDENTIFIER: ["s"], "email": ["z@example.com"]}))
            else:  # this shard's sync clears the email
                ledger.record_accepted(segment({IDENTIFIER: ["s"], "email": [CLEARED]}))
        return ledger.compact().accepted.row(0, named=True)["email"]

    assert email_after("gain", "clear") is None  # the merge found x: nothing filled; then cleared
    assert email_after("clear", "gain") == "z@example.com"  # cleared, then the merge filled it


def test_a_segment_sets_a_column_the_table_holds_only_nulls_in():
    base = pl.DataFrame({IDENTIFIER: ["a"], "x": [None]})  # x read back as the Null type
    out = apply_segments(base, [segment({IDENTIFIER: ["a"], "x": ["1"]})])
    assert out.rows() == [("a", "1")] and out.schema["x"] == pl.String


def test_a_run_log_keeps_the_objects_sent_apart_and_reads_them_back(tmp_path):
    store = StateTables(LocalStorage(tmp_path))
    log = pl.DataFrame(
        {
            "run_id": ["r1", "r1"],
            "batch": [0, 0],
            IDENTIFIER: ["a", "b"],
            "outcome": ["accepted", "rejected"],
            "reason": [None, "bad email"],
            "object": ['{"external_id":"a","email":"a@x.org"}', '{"external_id":"b"}'],
        }
    )
    for name in ("brand", "brand/shard-1-of-2"):
        Ledger(store, name).write_sync_log("r1", log)
    ledger = Ledger(store, "brand")
    # The log that braze_sync_log shows holds outcomes; the values sent live beside it.
    assert "object" not in ledger.read_sync_logs().columns
    names = ledger.sync_log_names()
    assert names == ["braze/brand/shard-1-of-2/sync_log.v1/r1", "braze/brand/sync_log.v1/r1"]
    for name in names:
        assert ledger.read_sync_log(name).equals(log)
