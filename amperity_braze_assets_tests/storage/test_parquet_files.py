"""Local tables are replaced atomically; state that cannot be recomputed is flushed to disk."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from amperity_braze_assets.storage.parquet_files import replace_file, write_table
from amperity_braze_assets.storage.state_store import StateStore


@pytest.fixture
def flushed(monkeypatch) -> list[str]:
    """What was fsynced: 'file' or 'folder', in order."""
    calls: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        calls.append("folder" if os.path.isdir(f"/proc/self/fd/{descriptor}") else "file")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def test_state_tables_are_flushed_before_and_after_the_rename(tmp_path, flushed):
    store = StateStore(base_path=str(tmp_path))
    store.write("braze/x/accepted.v1", pl.DataFrame({"a": [0]}))
    # The file, its folder, and the parents of the two folders the write made (braze/, x/).
    assert flushed == ["file", "folder", "folder", "folder"]
    flushed.clear()
    store.write("braze/x/accepted.v1", pl.DataFrame({"a": [1]}))
    assert flushed == ["file", "folder"]
    assert pl.read_parquet(tmp_path / "braze/x/accepted.v1.parquet")["a"].to_list() == [1]
    assert [p.name for p in (tmp_path / "braze/x").iterdir()] == ["accepted.v1.parquet"]


def test_a_failed_write_leaves_the_old_table_and_no_temporary(tmp_path, flushed):
    target = Path(tmp_path) / "t.parquet"
    write_table(pl.DataFrame({"a": [1]}), str(target))

    def fail(temporary: str) -> None:
        Path(temporary).write_bytes(b"half a table")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_file(target, fail, durable=True)
    assert pl.read_parquet(target)["a"].to_list() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    assert flushed == []  # nothing reached the rename


def test_asset_outputs_are_atomic_but_not_flushed(tmp_path, flushed):
    rows = replace_file(
        Path(tmp_path) / "asset.parquet",
        lambda temporary: write_table(pl.DataFrame({"a": [1, 2]}), temporary) or 2,
        durable=False,
    )
    assert rows == 2 and flushed == []
