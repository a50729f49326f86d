"""The one storage layer behaves the same on a local folder and under an S3 prefix."""

from __future__ import annotations

import io

import polars as pl
import pytest

from amperity_braze_assets.storage.files import LocalStorage, Storage, storage_for
from amperity_braze_assets.storage.state_tables import StateStoreError, StateTables


def _write(data: bytes):
    def write(target) -> int:
        if isinstance(target, str):
            with open(target, "wb") as handle:
                handle.write(data)
        else:
            target.write(data)
        return len(data)

    return write


def exercise(storage: Storage) -> None:
    assert storage.list() == []
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        storage.read("a/missing.txt")
    with pytest.raises(FileNotFoundError):
        storage.readable("a/missing.txt")
    assert storage.replace("a/2.txt", _write(b"two")) == 3
    storage.replace("a/1.txt", _write(b"one"), durable=True)
    storage.replace("a/b/3.txt", _write(b"three"))
    storage.replace("ab.txt", _write(b"other"))
    assert [f.key for f in storage.list("a/")] == ["a/1.txt", "a/2.txt", "a/b/3.txt"]
    listed = {f.key: f for f in storage.list()}
    assert listed["ab.txt"].size == 5 and listed["ab.txt"].version
    stored = storage.read("a/1.txt")
    assert stored.data == b"one" and stored.last_modified.tzinfo is not None
    storage.replace("a/1.txt", _write(b"uno"))
    readable = storage.readable("a/1.txt")
    body = open(readable, "rb").read() if isinstance(readable, str) else readable.read()
    assert body == b"uno"
    storage.delete("a/2.txt")
    storage.delete("a/never-written.txt")  # not an error
    assert [f.key for f in storage.list("a/")] == ["a/1.txt", "a/b/3.txt"]
    assert storage.location("a/1.txt") == f"{storage.url}/a/1.txt"


def test_local_storage(tmp_path):
    storage = storage_for(str(tmp_path / "root"))
    assert isinstance(storage, LocalStorage)
    exercise(storage)
    (tmp_path / "root" / "a" / ".1.txt.x1.tmp").write_bytes(b"half")  # a write in progress
    assert [f.key for f in storage.list("a/")] == ["a/1.txt", "a/b/3.txt"]


def test_s3_storage(s3_bucket):
    client, bucket = s3_bucket
    exercise(storage_for(f"s3://{bucket}/root/", client))
    assert [f.key for f in storage_for(f"s3://{bucket}", client).list("root/a/b")] == [
        "root/a/b/3.txt"
    ]


class Unreachable:
    """An S3 client whose endpoint is down."""

    class exceptions:
        class NoSuchKey(Exception):
            pass

    def get_object(self, **_):
        raise ConnectionError("Could not connect to the endpoint URL")

    put_object = delete_object = get_object


def test_state_tables_name_the_table_when_s3_fails_and_keep_local_errors():
    tables = StateTables(storage_for("s3://bucket/state", Unreachable()))
    with pytest.raises(StateStoreError, match="'x/t': could not read s3://bucket/state/x/t"):
        tables.read("x/t")
    with pytest.raises(StateStoreError, match="could not write .*Nothing was taken as state"):
        tables.write("x/t", pl.DataFrame({"a": [1]}))
    with pytest.raises(StateStoreError, match="could not delete"):
        tables.delete("x/t")

    class Broken(LocalStorage):
        def replace(self, key, write, *, durable=False):
            raise PermissionError("read-only folder")

    with pytest.raises(PermissionError, match="read-only folder"):
        StateTables(Broken("/nowhere")).write("x/t", pl.DataFrame({"a": [1]}))


def test_state_tables_round_trip_and_read_none_when_never_written(tmp_path):
    tables = StateTables(LocalStorage(tmp_path))
    assert tables.read("x/t.v1") is None
    frame = pl.DataFrame({"a": [1, 2]})
    assert tables.write("x/t.v1", frame) == f"{tmp_path}/x/t.v1.parquet"
    assert tables.read("x/t.v1").equals(frame)
    assert tables.list("x/") == ["x/t.v1"]
    assert pl.read_parquet(io.BytesIO((tmp_path / "x/t.v1.parquet").read_bytes())).equals(frame)
