"""The stable hashes are pinned: these values were produced by the two hand-written FNV-1a
hashes before they became ``hashing.py``, and person ids, control groups and sync shards must
never move (Braze keys profiles on the ids; a moved control group contaminates a test)."""

from __future__ import annotations

import numpy as np
import polars as pl

from amperity_braze_assets.activation.audiences import in_control_group
from amperity_braze_assets.hashing import fnv1a_append, fnv1a_rows, stable_unit_interval
from amperity_braze_assets.identity.stable_ids import _mint

IDS = ["AMP-1", "", "ü漢字🙂", "x" * 70]


def test_fnv1a_matches_the_published_test_vectors():
    # From the FNV reference (draft-eastlake-fnv): FNV-1a 64 of "" and of "a".
    empty = fnv1a_rows(np.zeros((1, 0), dtype=np.uint8))
    assert int(empty[0]) == 0xCBF29CE484222325
    assert int(fnv1a_append(empty, b"a")[0]) == 0xAF63DC4C8601EC8C
    padded = np.frombuffer(b"a\x00\x00", dtype=np.uint8).reshape(1, 3)
    assert int(fnv1a_rows(padded, lengths=np.array([1]))[0]) == 0xAF63DC4C8601EC8C


def test_control_group_and_shard_fractions_are_pinned():
    # Pinned when the padding to the widest id stopped being hashed (each id's own bytes only):
    # the 70-character id, the widest, kept its number.
    ids = pl.Series([*IDS, None])
    assert stable_unit_interval(ids, "vip").tolist() == [
        0.5448659241451562,
        0.46898452915652866,
        0.9574010872735925,
        0.4478667530101531,
        0.46898452915652866,
    ]
    assert stable_unit_interval(ids, "sync-shard").tolist() == [
        0.9010416320653979,
        0.18299936908277548,
        0.586410657620869,
        0.3790569179351949,
        0.18299936908277548,
    ]
    assert in_control_group(ids, "vip", 0.5).to_list() == [False, True, False, True, True]


def test_minted_ids_are_pinned():
    assert _mint(pl.Series(IDS), 0).to_list() == [
        "AMP-5AF70D74386DBAE3901B",
        "AMP-F52A15E9A9B5E89BD78E",
        "AMP-C971A215110A8812827B",
        "AMP-5B843F9A6527B57570A7",
    ]
    assert _mint(pl.Series(IDS), 7).to_list() == [
        "AMP-72C76A1E9570AA0B17E4",
        "AMP-BE7E6D3FCECF3B31EE21",
        "AMP-360A5500098740CF3E0C",
        "AMP-5DB7986492189B30F17D",
    ]


def test_an_ids_number_does_not_depend_on_the_ids_beside_it():
    """A sync shard or a control group must not move when a longer id joins the batch (an email
    or an alias as the identifier): each id is hashed over its own bytes only."""
    alone = stable_unit_interval(pl.Series(["web-7"]), "sync-shard")
    beside_long = stable_unit_interval(
        pl.Series(["web-7", '{"alias_name":"L1234567890","alias_label":"loyalty_id"}']),
        "sync-shard",
    )
    assert alone[0] == beside_long[0]
