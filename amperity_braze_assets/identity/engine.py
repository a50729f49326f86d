"""The identity-resolution run: normalize, block, score, cluster, assign stable ids."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from .blocking import MAX_BLOCK_SIZE, candidate_pairs, random_pairs
from .clustering import MAX_CLUSTER_SIZE, cluster
from .features import FREQUENCY_CAP, build_features
from .profiling import stage
from .scoring import (
    comparison_levels,
    default_model,
    estimate_m,
    estimate_u,
    hard_rules,
    pair_weights,
)
from .stable_ids import assign_ids, jitter

# A pair matches when its posterior match probability is at least this. Fixed in advance,
# not tuned on any labelled data: 0.9 means we accept one wrong link in ten borderline calls,
# and the cluster guard catches the links that contradict a third record.
MATCH_PROBABILITY = 0.9
# Below these counts the data cannot support estimates; the defaults are used instead.
MIN_RECORDS_FOR_ESTIMATES = 5_000
MIN_PAIRS_FOR_ESTIMATES = 1_000
RANDOM_PAIRS_FOR_U = 200_000

OUTPUT_SCHEMA = {
    "source": pl.String,
    "record_id": pl.String,
    "amperity_id": pl.String,
    "id_created_run": pl.Int64,
    "match_score": pl.Float64,
    "match_rule": pl.String,
    "matched_source": pl.String,
    "matched_record_id": pl.String,
}


@dataclass
class ResolveStats:
    """What a run did, for the asset's metadata and for alerting (jitter over 2%)."""

    records: int
    people: int
    largest_cluster: int
    supersized_clusters: int
    clusters_split: int
    candidate_pairs: int
    matched_pairs: int
    jitter: float | None
    ids_changed: int
    previously_seen: int
    ids_inherited: int
    ids_minted: int
    run: int
    match_share: float
    em_iterations: int
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def _empty_output() -> pl.DataFrame:
    return pl.DataFrame(schema=OUTPUT_SCHEMA)


def resolve_with_stats(
    records: pl.DataFrame,
    previous: pl.DataFrame | None = None,
    *,
    default_region: str = "US",
    match_probability: float = MATCH_PROBABILITY,
    max_cluster_size: int = MAX_CLUSTER_SIZE,
    max_block_size: int = MAX_BLOCK_SIZE,
    frequency_cap: int = FREQUENCY_CAP,
) -> tuple[pl.DataFrame, ResolveStats]:
    """Resolve records to people; see ``resolve``. Also returns the run's statistics."""
    started = time.perf_counter()
    for required in ("source", "record_id"):
        if required not in records.columns:
            raise ValueError(f"records need a {required!r} column")
    records = records.with_columns(
        pl.col("source").cast(pl.String), pl.col("record_id").cast(pl.String)
    )
    size = records.height
    keys = records.select("source", "record_id")
    if size == 0:
        return _empty_output(), ResolveStats(
            0, 0, 0, 0, 0, 0, 0, None, 0, 0, 0, 0, 0, 0.0, 0, time.perf_counter() - started
        )

    with stage("features"):
        features = build_features(
            records, default_region=default_region, frequency_cap=frequency_cap
        )
    with stage("blocking"):
        pairs = candidate_pairs(features, max_block_size=max_block_size)
    left = pairs.get_column("left").to_numpy().astype(np.int64)
    right = pairs.get_column("right").to_numpy().astype(np.int64)
    with stage("levels"):
        levels = comparison_levels(features, left, right)

    estimated = size >= MIN_RECORDS_FOR_ESTIMATES and left.size >= MIN_PAIRS_FOR_ESTIMATES
    with stage("estimate"):
        if estimated:
            random_left, random_right = random_pairs(size, RANDOM_PAIRS_FOR_U)
            random_u = estimate_u(features, random_left, random_right)
            has_fk = np.zeros(left.size, dtype=bool)
            for codes in features.fk.values():
                has_fk |= (codes[left] >= 0) & (codes[left] == codes[right])
            model = estimate_m(levels, random_u, has_fk)
        else:
            model = default_model()
            random_u = None
    with stage("weights+rules"):
        prior = np.log2(model.match_share / (1.0 - model.match_share))
        weights = prior + pair_weights(
            model, features, levels, left, right, use_frequencies=estimated, random_u=random_u
        )
        threshold = float(np.log2(match_probability / (1.0 - match_probability)))
        forced, forbidden, forced_by, contradicts = hard_rules(features, levels, left, right)
        matched = (forced | (weights >= threshold)) & ~forbidden

    # fk links go first in the greedy rebuild: they are assertions, not estimates.
    edges = pl.DataFrame(
        {
            "left": left[matched],
            "right": right[matched],
            "weight": weights[matched],
            "priority": np.where(forced[matched], weights[matched] + 1e6, weights[matched]),
            "rule": forced_by[matched].astype(str),
        }
    )
    contradicting_pairs = pl.DataFrame({"left": left[contradicts], "right": right[contradicts]})

    def contradict(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return hard_rules(features, comparison_levels(features, a, b), a, b)[3]

    with stage("cluster"):
        clusters = cluster(
            size, edges, contradicting_pairs, contradict, max_cluster_size=max_cluster_size
        )
    labels = clusters.labels

    current = keys.with_columns(pl.Series("label", labels))
    with stage("assign_ids"):
        assignment = assign_ids(current, previous)

    # Audit: the strongest link that holds each record in its final cluster.
    with stage("audit+output"):
        kept = edges.filter(
            pl.Series(
                labels[edges.get_column("left").to_numpy()]
                == labels[edges.get_column("right").to_numpy()]
            )
        )
        both_ways = pl.concat(
            [
                kept.select(
                    pl.col("left").alias("row"),
                    pl.col("right").alias("other"),
                    "weight",
                    "priority",
                    "rule",
                ),
                kept.select(
                    pl.col("right").alias("row"),
                    pl.col("left").alias("other"),
                    "weight",
                    "priority",
                    "rule",
                ),
            ]
        )
        best = (
            both_ways.sort(["row", "priority", "other"], descending=[False, True, False])
            .unique("row", keep="first")
            .with_columns(pl.col("row").cast(pl.Int64), pl.col("other").cast(pl.Int64))
        )
        keyed = keys.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
        audit = best.join(
            keyed.rename(
                {"row": "other", "source": "matched_source", "record_id": "matched_record_id"}
            ),
            on="other",
        )
        output = (
            keyed.with_columns(pl.Series("label", labels))
            .join(assignment.ids, on="label", how="left", maintain_order="left")
            .join(audit, on="row", how="left", maintain_order="left")
            .select(
                "source",
                "record_id",
                "amperity_id",
                "id_created_run",
                pl.col("weight").alias("match_score"),
                pl.when(pl.col("weight").is_null())
                .then(pl.lit("singleton"))
                .when(pl.col("rule") != "")
                .then(pl.col("rule"))
                .otherwise(pl.lit("probabilistic"))
                .alias("match_rule"),
                "matched_source",
                "matched_record_id",
            )
        )
    share, changed, seen = jitter(output, previous)
    cluster_sizes = output.group_by("amperity_id").len().get_column("len")
    stats = ResolveStats(
        records=size,
        people=cluster_sizes.len(),
        largest_cluster=int(cluster_sizes.max()),
        supersized_clusters=clusters.supersized,
        clusters_split=clusters.components_split,
        candidate_pairs=int(left.size),
        matched_pairs=int(kept.height),
        jitter=share,
        ids_changed=changed,
        previously_seen=seen,
        ids_inherited=assignment.inherited,
        ids_minted=assignment.minted,
        run=assignment.run,
        match_share=float(model.match_share),
        em_iterations=model.iterations,
        seconds=time.perf_counter() - started,
    )
    return output, stats


def resolve(records: pl.DataFrame, previous: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per input record: ``source``, ``record_id``, its person's ``amperity_id`` and the
    evidence (``match_score`` in bits, ``match_rule``, ``matched_source``/``matched_record_id``:
    the strongest link into its cluster). Ids in ``previous`` (an earlier output) persist.
    The run's statistics come with ``resolve_with_stats``."""
    output, _ = resolve_with_stats(records, previous)
    return output
