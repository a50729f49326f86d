"""Stable ids: a person's ``amperity_id`` survives re-runs, because Braze keys profiles on it.

Each new cluster inherits the previous id that most of its records held, under one global
priority: more shared records first, then the larger previous cluster, then the older id, then
the id text. Each previous id goes to at most one cluster and each cluster takes at most one id,
so on a merge the larger (then older) cluster's id survives and on a split the larger part keeps
it. Clusters left without an id get a new one, derived from their smallest record key so that the
same input always yields the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from amperity_braze_assets.hashing import fnv1a_rows, splitmix64_finalize

ID_PREFIX = "AMP-"


@dataclass
class IdAssignment:
    ids: pl.DataFrame  # label, amperity_id, id_created_run
    run: int
    inherited: int
    minted: int


_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def _mint(keys: pl.Series, salt: int) -> pl.Series:
    """``AMP-`` + 20 upper-case hex digits (80 bits) hashed from ``key`` and ``salt``.

    Two 64-bit lanes (FNV-1a, and a multiply-add lane seeded apart) run over the UTF-8 bytes of
    all keys at once in numpy, then are mixed with the salt and the length; a hash per key in
    Python cost over a second per million new people. Deterministic across runs, machines and
    library versions.
    """
    if keys.len() == 0:
        return pl.Series("amperity_id", [], dtype=pl.String)
    lengths = keys.str.len_bytes().to_numpy().astype(np.int64)
    width = max(int(lengths.max()), 1)
    encoded = keys.cast(pl.Binary).to_numpy()
    matrix = np.array(encoded, dtype=f"S{width}").view(np.uint8).reshape(len(keys), width)
    lane_a = fnv1a_rows(matrix, lengths)
    lane_b = np.full(len(keys), 0x9E3779B97F4A7C15, dtype=np.uint64)
    multiplier = np.uint64(0xD6E8FEB86659FD93)
    with np.errstate(over="ignore"):
        # In place, on the keys still that long only: a new array per step costs twice as much.
        step = np.empty(len(keys), dtype=np.uint64)
        for column in range(width):
            np.add(lane_b, matrix[:, column].astype(np.uint64), out=step)
            step += np.uint64(1)
            np.multiply(step, multiplier, out=lane_b, where=lengths > column)
        tail = lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
        high = splitmix64_finalize(lane_a ^ splitmix64_finalize(tail))
        low = splitmix64_finalize(
            lane_b ^ splitmix64_finalize(tail + np.uint64(0x632BE59BD9B4E019)) ^ high
        )
    nibbles = np.empty((len(keys), 20), dtype=np.uint8)
    for index in range(16):
        nibbles[:, index] = (high >> np.uint64(60 - 4 * index)) & np.uint64(0xF)
    for index in range(4):
        nibbles[:, 16 + index] = (low >> np.uint64(60 - 4 * index)) & np.uint64(0xF)
    digits = _HEX[nibbles].view("S20").reshape(-1)
    return (ID_PREFIX + pl.Series(digits, dtype=pl.Binary).cast(pl.String)).alias("amperity_id")


def _mutual_best(candidates: pl.DataFrame) -> pl.DataFrame:
    """Greedy one-to-one matching of labels to previous ids in priority order.

    Repeatedly takes every candidate that is the best one both for its label and for its id;
    with a strict priority order this equals taking candidates one by one from the top, but
    runs as a few vectorized rounds instead of a Python loop.
    """
    # A label whose only candidate is an id whose only candidate is that label competes with
    # nobody: it is taken whatever the order. Only the rest (a few thousand) is sorted.
    alone = (pl.len().over("label") == 1) & (pl.len().over("amperity_id") == 1)
    flagged = candidates.with_columns(alone.alias("alone"))
    chosen = [flagged.filter(pl.col("alone")).drop("alone")]
    order = ["overlap", "previous_size", "id_created_run", "amperity_id", "label"]
    descending = [True, True, False, False, False]
    remaining = (
        flagged.filter(~pl.col("alone"))
        .drop("alone")
        .sort(order, descending=descending)
        .with_row_index("rank")
    )
    while remaining.height:
        best_for_id = remaining.group_by("amperity_id").agg(pl.col("rank").min())
        best_for_label = remaining.group_by("label").agg(pl.col("rank").min())
        taken = remaining.join(best_for_id.select("rank"), on="rank").join(
            best_for_label.select("rank"), on="rank"
        )
        chosen.append(taken)
        remaining = remaining.join(taken.select("amperity_id"), on="amperity_id", how="anti").join(
            taken.select("label"), on="label", how="anti"
        )
    return pl.concat([frame.select("label", "amperity_id", "id_created_run") for frame in chosen])


def _clashes(minted: pl.Series, anchors: pl.Series, used: pl.Series) -> pl.Series:
    """Positions to mint again: ids seen before, and each id minted twice in this run except
    for its smallest anchor's, so the outcome does not depend on the order clusters come in
    (the few duplicates are sorted, never the millions of anchors)."""
    taken = minted.is_in(used.implode()).to_numpy()
    duplicated = minted.is_duplicated().to_numpy()
    if duplicated.any():
        rows = pl.Series(np.flatnonzero(duplicated).astype(np.uint32))
        twins = pl.DataFrame(
            {"row": rows, "id": minted.gather(rows), "anchor": anchors.gather(rows)}
        ).sort("anchor")
        keeper = twins.get_column("id").is_first_distinct().to_numpy()
        taken[twins.get_column("row").to_numpy()[~keeper]] = True
    return pl.Series(np.flatnonzero(taken).astype(np.uint32))


def assign_ids(current: pl.DataFrame, previous: pl.DataFrame | None) -> IdAssignment:
    """Ids for ``current`` (``source``, ``record_id``, ``label``) given an earlier output."""
    if previous is not None and previous.height:
        prior = previous.select(
            pl.col("source").cast(pl.String),
            pl.col("record_id").cast(pl.String),
            pl.col("amperity_id").cast(pl.String),
            (
                pl.col("id_created_run").cast(pl.Int64)
                if "id_created_run" in previous.columns
                else pl.lit(0, dtype=pl.Int64).alias("id_created_run")
            ),
        ).unique(["source", "record_id"], keep="first")
        sizes = prior.group_by("amperity_id").agg(
            pl.len().alias("previous_size"), pl.col("id_created_run").min()
        )
        run = int(prior.get_column("id_created_run").max() or 0) + 1
        candidates = (
            current.join(prior.drop("id_created_run"), on=["source", "record_id"])
            .group_by("label", "amperity_id")
            .agg(pl.len().alias("overlap"))
            .join(sizes, on="amperity_id")
        )
        inherited = _mutual_best(candidates) if candidates.height else None
        used = prior.get_column("amperity_id").unique()
    else:
        run = 0
        inherited = None
        used = pl.Series(dtype=pl.String)
    if inherited is None:
        inherited = pl.DataFrame(
            schema={
                "label": current.schema["label"],
                "amperity_id": pl.String,
                "id_created_run": pl.Int64,
            }
        )

    # Anchors (smallest record key) only for the clusters that need a new id.
    fresh = (
        current.join(inherited.select("label"), on="label", how="anti")
        .group_by("label")
        .agg(pl.concat_str("source", pl.lit("\x1f"), "record_id").min().alias("anchor"))
    )
    anchors = fresh.get_column("anchor")
    minted = _mint(anchors, 0)
    # A minted id never reuses an id seen before (it may still name a profile in Braze) nor
    # collides within the run; the rare clash is re-minted with the next salt.
    salt = 0
    while True:
        clashes = _clashes(minted, anchors, used)
        if clashes.len() == 0:
            break
        salt += 1
        minted = minted.scatter(clashes, _mint(anchors.gather(clashes), salt))
    new_ids = fresh.select("label").with_columns(
        minted.alias("amperity_id"),
        pl.lit(run, dtype=pl.Int64).alias("id_created_run"),
    )
    ids = pl.concat([inherited, new_ids])
    return IdAssignment(ids=ids, run=run, inherited=inherited.height, minted=new_ids.height)


def jitter(current: pl.DataFrame, previous: pl.DataFrame | None) -> tuple[float | None, int, int]:
    """(share, changed, seen): of records present in both runs, the share whose id changed."""
    if previous is None or previous.height == 0:
        return None, 0, 0
    both = current.select("source", "record_id", "amperity_id").join(
        previous.select(
            pl.col("source").cast(pl.String),
            pl.col("record_id").cast(pl.String),
            pl.col("amperity_id").cast(pl.String).alias("previous_id"),
        ).unique(["source", "record_id"], keep="first"),
        on=["source", "record_id"],
    )
    seen = both.height
    changed = int((both.get_column("amperity_id") != both.get_column("previous_id")).sum())
    return (changed / seen if seen else 0.0), changed, seen
