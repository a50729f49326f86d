"""Stable ids: a person's ``amperity_id`` survives re-runs, because Braze keys profiles on it.

Each new cluster inherits the previous id that most of its records held, under one global
priority: more shared records first, then the larger previous cluster, then the older id, then
the id text. Each previous id goes to at most one cluster and each cluster takes at most one id,
so on a merge the larger (then older) cluster's id survives and on a split the larger part keeps
it. Clusters left without an id get a new one, derived from their smallest record key so that the
same input always yields the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

ID_PREFIX = "AMP-"


@dataclass
class IdAssignment:
    ids: pl.DataFrame  # label, amperity_id, id_created_run
    run: int
    inherited: int
    minted: int


def _mint(keys: list[str], salt: int) -> list[str]:
    return [
        ID_PREFIX + hashlib.blake2b(f"{key}#{salt}".encode(), digest_size=10).hexdigest().upper()
        for key in keys
    ]


def _mutual_best(candidates: pl.DataFrame) -> pl.DataFrame:
    """Greedy one-to-one matching of labels to previous ids in priority order.

    Repeatedly takes every candidate that is the best one both for its label and for its id;
    with a strict priority order this equals taking candidates one by one from the top, but
    runs as a few vectorized rounds instead of a Python loop.
    """
    order = ["overlap", "previous_size", "id_created_run", "amperity_id", "label"]
    descending = [True, True, False, False, False]
    remaining = candidates.sort(order, descending=descending).with_row_index("rank")
    chosen = []
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
    return pl.concat(chosen).select("label", "amperity_id", "id_created_run")


def assign_ids(current: pl.DataFrame, previous: pl.DataFrame | None) -> IdAssignment:
    """Ids for ``current`` (``source``, ``record_id``, ``label``) given an earlier output."""
    labels = current.group_by("label").agg(
        pl.concat_str("source", pl.lit("\x1f"), "record_id").min().alias("anchor")
    )
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
        used = set(prior.get_column("amperity_id").to_list())
    else:
        run = 0
        inherited = None
        used = set()
    if inherited is None:
        inherited = pl.DataFrame(
            schema={
                "label": current.schema["label"],
                "amperity_id": pl.String,
                "id_created_run": pl.Int64,
            }
        )

    fresh = labels.join(inherited.select("label"), on="label", how="anti").sort("anchor")
    anchors = fresh.get_column("anchor").to_list()
    minted = _mint(anchors, 0)
    # A minted id never reuses an id seen before (it may still name a profile in Braze) nor
    # collides within the run; the rare clash is re-minted with the next salt.
    salt = 0
    while True:
        seen: set[str] = set()
        clashes = []
        for index, value in enumerate(minted):
            if value in used or value in seen:
                clashes.append(index)
            seen.add(value)
        if not clashes:
            break
        salt += 1
        for index, value in zip(clashes, _mint([anchors[i] for i in clashes], salt), strict=True):
            minted[index] = value
    new_ids = fresh.select("label").with_columns(
        pl.Series("amperity_id", minted, dtype=pl.String),
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
