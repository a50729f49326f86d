"""The identity-resolution run: normalize, block, score, cluster, assign stable ids."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from .blocking import MAX_BLOCK_SIZE, candidate_pairs, random_pairs
from .clustering import MAX_CLUSTER_SIZE, cluster
from .coding import dictionary
from .features import FREQUENCY_CAP, build_features
from .profiling import stage
from .scoring import (
    comparison_levels,
    default_model,
    estimate_m,
    estimate_u,
    hard_rules,
    pair_weights,
    rest_weights,
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


# Bits added to a pair whose records shared a cluster in the previous run, and taken from a pair
# whose records were apart: a borderline pair keeps last run's decision unless the evidence moved
# by more than this, so re-estimated parameters do not reshuffle untouched people (jitter).
HYSTERESIS_BITS = 4.0


def _hysteresis(
    keys: pl.DataFrame, previous: pl.DataFrame, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    before = keys.join(
        previous.select(
            pl.col("source").cast(pl.String),
            pl.col("record_id").cast(pl.String),
            pl.col("amperity_id").cast(pl.String),
        ).unique(["source", "record_id"], keep="first"),
        on=["source", "record_id"],
        how="left",
        maintain_order="left",
    )
    codes = dictionary(before.get_column("amperity_id")).codes
    seen = (codes[left] >= 0) & (codes[right] >= 0)
    same = codes[left] == codes[right]
    return np.where(seen, np.where(same, HYSTERESIS_BITS, -HYSTERESIS_BITS), 0.0)


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
    normalized: bool = False,
) -> tuple[pl.DataFrame, ResolveStats]:
    """Resolve records to people; see ``resolve``. Also returns the run's statistics.

    ``normalized=True``: the records are ``normalize_records`` output and are not normalized
    again."""
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
            records,
            default_region=default_region,
            frequency_cap=frequency_cap,
            normalized=normalized,
        )
    with stage("blocking"):
        left, right = candidate_pairs(features, max_block_size=max_block_size)
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
        if previous is not None and previous.height:
            weights = weights + _hysteresis(keys, previous, left, right)
        threshold = float(np.log2(match_probability / (1.0 - match_probability)))
        forced, forbidden, forced_by, contradicts = hard_rules(
            features, levels, left, right, rest_weights(model, levels)
        )
        matched = (forced | (weights >= threshold)) & ~forbidden
    # fk links go first in the greedy rebuild: they are assertions, not estimates.
    edge_left, edge_right = left[matched], right[matched]
    edge_weight = weights[matched]
    edge_priority = np.where(forced[matched], edge_weight + 1e6, edge_weight)
    # Which fk forced each edge (0: none), as hard_rules names it: the first that agrees.
    edge_rule = np.zeros(edge_left.size, dtype=np.int16)
    for index, codes in enumerate(features.fk.values(), start=1):
        agree = (codes[edge_left] >= 0) & (codes[edge_left] == codes[edge_right])
        edge_rule[agree & (edge_rule == 0)] = index
    edges = pl.DataFrame(
        {"left": edge_left, "right": edge_right, "weight": edge_weight, "priority": edge_priority}
    )
    contradicting_pairs = pl.DataFrame({"left": left[contradicts], "right": right[contradicts]})
    candidate_count = int(left.size)
    # Ten million records give tens of millions of candidate pairs: from here on only the
    # matched and the contradicting ones are needed.
    del left, right, weights, levels, forced, forbidden, forced_by, matched, contradicts
    if estimated:
        del has_fk

    def contradict(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        member_levels = comparison_levels(features, a, b)
        return hard_rules(features, member_levels, a, b, rest_weights(model, member_levels))[3]

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
        rule_names = ["", *features.fk]
        inside = labels[edge_left] == labels[edge_right]
        kept_pairs = int(inside.sum())
        rows = np.concatenate([edge_left[inside], edge_right[inside]])
        others = np.concatenate([edge_right[inside], edge_left[inside]])
        twice = np.concatenate([np.flatnonzero(inside)] * 2)
        # By row, strongest first, then the other record: polars' multi-key sort is several
        # times numpy's lexsort here, and as stable.
        order = (
            pl.DataFrame({"row": rows, "priority": -edge_priority[twice], "other": others})
            .select(pl.arg_sort_by(["row", "priority", "other"], maintain_order=True))
            .to_series()
            .to_numpy()
        )
        ordered_rows = rows[order]
        first = np.r_[True, ordered_rows[1:] != ordered_rows[:-1]] if order.size else order
        best = order[first.astype(bool)] if order.size else order
        best_row = rows[best]
        other = np.full(size, -1, dtype=np.int64)
        other[best_row] = others[best]
        score = np.full(size, np.nan)
        score[best_row] = edge_weight[twice[best]]
        rule = np.full(size, -1, dtype=np.int64)
        rule[best_row] = edge_rule[twice[best]]
        linked = other >= 0
        rule_text = np.array(
            ["singleton"] + [name if name else "probabilistic" for name in rule_names],
            dtype=object,
        )

        id_position = np.full(size, -1, dtype=np.int64)
        id_labels = assignment.ids.get_column("label").to_numpy().astype(np.int64)
        id_position[id_labels] = np.arange(id_labels.size)
        at = pl.Series(id_position[labels].astype(np.uint32))
        other_at = pl.Series(np.where(linked, other, 0).astype(np.uint32))
        unlinked = pl.Series(~linked)
        output = pl.DataFrame(
            {
                "source": keys.get_column("source"),
                "record_id": keys.get_column("record_id"),
                "amperity_id": assignment.ids.get_column("amperity_id").gather(at),
                "id_created_run": assignment.ids.get_column("id_created_run").gather(at),
                "match_score": pl.Series(score, dtype=pl.Float64).fill_nan(None),
                "match_rule": pl.Series(rule_text.tolist(), dtype=pl.String).gather(
                    pl.Series((rule + 1).astype(np.uint32))
                ),
                "matched_source": keys.get_column("source").gather(other_at).set(unlinked, None),
                "matched_record_id": keys.get_column("record_id")
                .gather(other_at)
                .set(unlinked, None),
            },
            schema=OUTPUT_SCHEMA,
        )
    share, changed, seen = jitter(output, previous)
    cluster_sizes = output.group_by("amperity_id").len().get_column("len")
    stats = ResolveStats(
        records=size,
        people=cluster_sizes.len(),
        largest_cluster=int(cluster_sizes.max()),
        supersized_clusters=clusters.supersized,
        clusters_split=clusters.components_split,
        candidate_pairs=candidate_count,
        matched_pairs=kept_pairs,
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
