"""The identity-resolution run: normalize, block, score, decide, cluster, assign stable ids.

Each candidate pair's decision is a posterior probability: the prior that two random records
are one person (``prior.py``, which falls as the records grow) times the Bayes factor of its
fields (``scoring.py``: term-frequency weighted agreements, disagreements against), compared
with the match threshold; and the rules of ``rules.py`` (conflicts, support, assertions) that no
weight overrules. Clusters are then checked link by link (``clustering.py``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, is_dataclass

import numpy as np
import polars as pl

from .blocking import MAX_BLOCK_SIZE, candidate_pairs, random_pairs
from .clustering import MAX_CLUSTER_SIZE, ClusterResult, cluster
from .coding import dictionary
from .config import MATCH_THRESHOLD, REVIEW_PAIRS
from .features import FREQUENCY_CAP, Features, build_features
from .prior import estimate_prior
from .profiling import stage
from .review import Candidates, review_table
from .rules import (
    HARD,
    HYSTERESIS_BITS,
    REFUSALS,
    StewardPairs,
    Verdicts,
    pair_keys,
    pair_rules,
    twin_pattern_is_a_typo,
    unpack_pairs,
)
from .scoring import (
    Model,
    comparison_levels,
    default_model,
    estimate_identifier_shares,
    estimate_m,
    estimate_u,
    pair_weights,
)
from .stable_ids import IdAssignment, assign_ids, jitter

# Below these counts the data cannot support estimates; the defaults are used instead.
MIN_RECORDS_FOR_ESTIMATES = 2_000
MIN_PAIRS_FOR_ESTIMATES = 1_000
RANDOM_PAIRS_FOR_U = 200_000

OUTPUT_SCHEMA = {
    "source": pl.String,
    "record_id": pl.String,
    "amperity_id": pl.String,
    "id_created_run": pl.Int64,
    "match_score": pl.Float64,
    "match_threshold": pl.Float64,
    "match_rule": pl.String,
    "matched_source": pl.String,
    "matched_record_id": pl.String,
}


@dataclass
class ClusterFigures:
    """How the records fell into people, and the clusters the link-by-link check took apart."""

    people: int = 0
    largest_cluster: int = 0
    supersized_clusters: int = 0
    clusters_checked: int = 0
    clusters_split: int = 0


def _cluster_figures(output: pl.DataFrame, clusters: ClusterResult) -> ClusterFigures:
    cluster_sizes = output.group_by("amperity_id").len().get_column("len")
    return ClusterFigures(
        people=cluster_sizes.len(),
        largest_cluster=int(cluster_sizes.max()),
        supersized_clusters=clusters.supersized,
        clusters_checked=clusters.components_checked,
        clusters_split=clusters.components_split,
    )


@dataclass
class LinkFigures:
    """The pairs blocking proposed, and those kept as links into the final clusters."""

    candidate_pairs: int = 0
    matched_pairs: int = 0


@dataclass
class IdFigures:
    """How the stable ids moved since the previous run (``jitter``: None on a first run)."""

    jitter: float | None = None
    ids_changed: int = 0
    previously_seen: int = 0
    ids_inherited: int = 0
    ids_minted: int = 0
    run: int = 0


def _id_figures(
    output: pl.DataFrame, previous: pl.DataFrame | None, assignment: IdAssignment
) -> IdFigures:
    share, changed, seen = jitter(output, previous)
    return IdFigures(
        ids_inherited=assignment.inherited,
        ids_minted=assignment.minted,
        run=assignment.run,
        jitter=share,
        ids_changed=changed,
        previously_seen=seen,
    )


@dataclass
class ModelFigures:
    """The model that decided: the prior, the posterior a pair needs, the EM rounds it took."""

    random_match_probability: float = 0.0
    match_threshold: float = MATCH_THRESHOLD
    em_iterations: int = 0


@dataclass
class RuleFigures:
    """Where the rules and the steward overruled the weights."""

    # Pairs whose weight cleared the threshold but a rule refused, by rule.
    refused_links: dict[str, int] = field(default_factory=dict)
    steward_links: int = 0


def _rule_figures(links: _Links) -> RuleFigures:
    return RuleFigures(
        refused_links={
            REFUSALS[code]: int(count) for code, count in enumerate(links.refused_counts) if code
        },
        steward_links=int((links.rule < 0).sum()),
    )


@dataclass
class ResolveStats:
    """What a run did, for the asset's metadata and for alerting (jitter over 2%), grouped by
    the stage that produced it; ``as_dict`` gives the figures flat, by name, in this order."""

    records: int = 0
    clusters: ClusterFigures = field(default_factory=ClusterFigures)
    links: LinkFigures = field(default_factory=LinkFigures)
    ids: IdFigures = field(default_factory=IdFigures)
    model: ModelFigures = field(default_factory=ModelFigures)
    rules: RuleFigures = field(default_factory=RuleFigures)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        figures: dict = {}
        for name, value in vars(self).items():
            figures.update(asdict(value) if is_dataclass(value) else {name: value})
        return figures


@dataclass
class Resolution:
    """A run's result: one row per record (``output``), its figures, the pairs a person should
    look at (``review``) and the model that decided (``model.describe()`` is kept as state)."""

    output: pl.DataFrame
    stats: ResolveStats
    review: pl.DataFrame
    model: Model


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


def _with_pairs(
    left: np.ndarray, right: np.ndarray, extra: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates plus the packed pairs ``extra`` that blocking did not find (a steward's
    always_merge pairs); the few extras go at the end, the candidates are not sorted again."""
    if extra.size == 0:
        return left, right
    packed = pair_keys(left, right)
    position = np.minimum(np.searchsorted(packed, extra), max(packed.size - 1, 0))
    missing = extra if packed.size == 0 else extra[packed[position] != extra]
    extra_left, extra_right = unpack_pairs(missing)
    return np.concatenate([left, extra_left]), np.concatenate([right, extra_right])


def _model_for(
    features: Features, levels: np.ndarray, left: np.ndarray, right: np.ndarray, size: int
) -> Model:
    if size < MIN_RECORDS_FOR_ESTIMATES or left.size < MIN_PAIRS_FOR_ESTIMATES:
        return default_model()
    random_left, random_right = random_pairs(size, RANDOM_PAIRS_FOR_U)
    random_u = estimate_u(features, random_left, random_right)
    has_fk = np.zeros(left.size, dtype=bool)
    for codes in features.fk.values():
        has_fk |= (codes[left] >= 0) & (codes[left] == codes[right])
    return estimate_m(levels, random_u, has_fk)


def _empty(started: float, threshold: float) -> Resolution:
    return Resolution(
        output=pl.DataFrame(schema=OUTPUT_SCHEMA),
        stats=ResolveStats(
            model=ModelFigures(match_threshold=threshold), seconds=time.perf_counter() - started
        ),
        review=review_table(None),
        model=default_model(),
    )


def _keyed(records: pl.DataFrame) -> pl.DataFrame:
    """The records with ``source`` and ``record_id`` as strings; a frame without them is an
    error that names the missing column."""
    for required in ("source", "record_id"):
        if required not in records.columns:
            raise ValueError(f"records need a {required!r} column")
    return records.with_columns(
        pl.col("source").cast(pl.String), pl.col("record_id").cast(pl.String)
    )


@dataclass
class _Decisions:
    """Per candidate pair, what the run decided: the evidence (``weights``, prior included),
    last run's decision (``carried``), whether it links (``matched``) and the rules' verdicts."""

    weights: np.ndarray
    carried: np.ndarray
    above: np.ndarray  # the weights and last run's decision clear the threshold
    matched: np.ndarray
    verdicts: Verdicts


def _decide(
    features: Features,
    levels: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray],
    model: Model,
    steward: StewardPairs,
    previous: pl.DataFrame | None,
    keys: pl.DataFrame,
    match_threshold: float,
) -> _Decisions:
    """Weigh and rule on every candidate pair; fills in the model's shares, twin reading and
    prior as it goes."""
    left, right = pairs
    if model.estimated:
        model.same_person_share = estimate_identifier_shares(model, levels)
    weights = pair_weights(model, features, levels, left, use_frequencies=model.estimated)
    model.twins_are_typos = twin_pattern_is_a_typo(levels, match_threshold)
    verdicts = pair_rules(features, levels, left, right, steward, model.twins_are_typos)
    open_pairs = ~verdicts.forced & (verdicts.refused == 0)
    model.random_match_probability = estimate_prior(
        weights[open_pairs], int(verdicts.forced.sum()), keys.height
    )
    weights += model.prior_bits
    # What the run decides adds last run's decision (hysteresis); what it reports (the
    # review, explain-match) is the evidence and the prior alone.
    carried = (
        _hysteresis(keys, previous, left, right)
        if previous is not None and previous.height
        else np.zeros(left.size, dtype=np.float64)
    )
    threshold = float(np.log2(match_threshold / (1.0 - match_threshold)))
    above = (weights + carried) >= threshold
    matched = verdicts.forced | (above & (verdicts.refused == 0))
    return _Decisions(weights, carried, above, matched, verdicts)


@dataclass
class _Links:
    """What clustering and the audit need of the candidate pairs, once the pairs are let go:
    the links (``edges``, and the same as arrays) and the pairs that may not share a cluster."""

    edges: pl.DataFrame
    conflicts: pl.DataFrame
    left: np.ndarray
    right: np.ndarray
    weight: np.ndarray  # evidence, prior and last run's decision (bits)
    rule: np.ndarray  # ``Verdicts.forced_by`` of each link
    priority: np.ndarray  # the audit's order: assertions first, then by weight
    candidate_pairs: int
    refused_counts: np.ndarray  # per ``REFUSALS`` code, pairs above the threshold it refused


def _links(
    pairs: tuple[np.ndarray, np.ndarray], decisions: _Decisions, steward: StewardPairs
) -> _Links:
    left, right = pairs
    verdicts, matched = decisions.verdicts, decisions.matched
    edge_left, edge_right = left[matched], right[matched]
    weight = decisions.weights[matched] + decisions.carried[matched]
    forced = verdicts.forced[matched]
    edges = pl.DataFrame(
        {"left": edge_left, "right": edge_right, "weight": weight, "asserted": forced}
    )
    conflicting = verdicts.conflict > 0
    never_left, never_right = unpack_pairs(steward.never)
    conflicts = pl.DataFrame(
        {
            "left": np.concatenate([left[conflicting], never_left]),
            "right": np.concatenate([right[conflicting], never_right]),
            "code": np.concatenate(
                [verdicts.conflict[conflicting], np.full(never_left.size, HARD, dtype=np.int8)]
            ),
        }
    )
    return _Links(
        edges=edges,
        conflicts=conflicts,
        left=edge_left,
        right=edge_right,
        weight=weight,
        rule=verdicts.forced_by[matched],
        # The audit names the strongest link into each record's cluster, assertions first.
        priority=np.where(forced, weight + 1e6, weight),
        candidate_pairs=int(left.size),
        refused_counts=np.bincount(
            verdicts.refused[decisions.above & ~verdicts.forced], minlength=len(REFUSALS)
        ),
    )


def _link_candidates(
    features: Features,
    keys: pl.DataFrame,
    previous: pl.DataFrame | None,
    steward: StewardPairs,
    match_threshold: float,
    max_block_size: int,
    review_pairs: int,
) -> tuple[_Links, Model, Candidates]:
    """Block, compare, estimate the model and decide every candidate pair: the links and
    conflicts, the model that decided and the pairs picked for review. Ten million records
    give tens of millions of candidate pairs: they live only inside this function."""
    with stage("blocking"):
        left, right = candidate_pairs(features, max_block_size=max_block_size)
        left, right = _with_pairs(left, right, steward.always)
    with stage("levels"):
        levels = comparison_levels(features, left, right)
    with stage("estimate"):
        model = _model_for(features, levels, left, right, keys.height)
    with stage("weights+rules"):
        decisions = _decide(
            features, levels, (left, right), model, steward, previous, keys, match_threshold
        )
        verdicts = decisions.verdicts
        review = Candidates.select(
            left,
            right,
            decisions.weights,
            decisions.carried,
            decisions.matched,
            verdicts.forced,
            verdicts.refused,
            review_pairs,
        )
    return _links((left, right), decisions, steward), model, review


@dataclass
class _Audit:
    """Per record, the strongest link that holds it in its final cluster."""

    other: np.ndarray  # the record at the link's other end, -1 for none
    score: np.ndarray  # the link's weight (bits), NaN for none
    rule: np.ndarray  # 0 singleton, 1 probabilistic, 2.. an fk, last a steward
    kept_pairs: int  # links that stayed inside a cluster


def _audit(links: _Links, labels: np.ndarray, steward_rule: int) -> _Audit:
    size = labels.size
    inside = labels[links.left] == labels[links.right]
    rows = np.concatenate([links.left[inside], links.right[inside]])
    others = np.concatenate([links.right[inside], links.left[inside]])
    twice = np.concatenate([np.flatnonzero(inside)] * 2)
    # By row, strongest first, then the other record: polars' multi-key sort is several
    # times numpy's lexsort here, and as stable.
    order = (
        pl.DataFrame({"row": rows, "priority": -links.priority[twice], "other": others})
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
    score[best_row] = links.weight[twice[best]]
    rule = np.zeros(size, dtype=np.int64)
    best_rule = links.rule[twice[best]].astype(np.int64)
    rule[best_row] = np.where(best_rule < 0, steward_rule, best_rule + 1)
    return _Audit(other=other, score=score, rule=rule, kept_pairs=int(inside.sum()))


def _output(
    keys: pl.DataFrame,
    labels: np.ndarray,
    assignment: IdAssignment,
    audit: _Audit,
    rule_names: list[str],
) -> pl.DataFrame:
    """One row per record (``OUTPUT_SCHEMA``): its person's id and the audit of its link."""
    linked = audit.other >= 0
    id_position = np.full(labels.size, -1, dtype=np.int64)
    id_labels = assignment.ids.get_column("label").to_numpy().astype(np.int64)
    id_position[id_labels] = np.arange(id_labels.size)
    at = pl.Series(id_position[labels].astype(np.uint32))
    other_at = pl.Series(np.where(linked, audit.other, 0).astype(np.uint32))
    unlinked = pl.Series(~linked)
    score_series = pl.Series(audit.score, dtype=pl.Float64).fill_nan(None)
    return pl.DataFrame(
        {
            "source": keys.get_column("source"),
            "record_id": keys.get_column("record_id"),
            "amperity_id": assignment.ids.get_column("amperity_id").gather(at),
            "id_created_run": assignment.ids.get_column("id_created_run").gather(at),
            "match_score": score_series,
            "match_threshold": (1.0 / (1.0 + (2.0 ** (-score_series.clip(-60, 60))))),
            "match_rule": pl.Series(["singleton", *rule_names], dtype=pl.String).gather(
                pl.Series(audit.rule.astype(np.uint32))
            ),
            "matched_source": keys.get_column("source").gather(other_at).set(unlinked, None),
            "matched_record_id": keys.get_column("record_id").gather(other_at).set(unlinked, None),
        },
        schema=OUTPUT_SCHEMA,
    )


def resolve_with_stats(
    records: pl.DataFrame,
    previous: pl.DataFrame | None = None,
    *,
    default_region: str = "US",
    match_threshold: float = MATCH_THRESHOLD,
    never_merge: list[tuple[str, str, str, str]] | None = None,
    always_merge: list[tuple[str, str, str, str]] | None = None,
    max_cluster_size: int = MAX_CLUSTER_SIZE,
    max_block_size: int = MAX_BLOCK_SIZE,
    frequency_cap: int = FREQUENCY_CAP,
    review_pairs: int = REVIEW_PAIRS,
    normalized: bool = False,
) -> Resolution:
    """Resolve records to people (see ``resolve``): the output, the run's figures, the review
    table and the model, as a ``Resolution``.

    ``match_threshold``: the posterior probability a pair needs to link. ``never_merge`` and
    ``always_merge``: a steward's pairs as (source, record_id, source, record_id); honoured
    whatever the evidence (never wins over always, and over foreign keys). ``normalized=True``:
    the records are ``normalize_records`` output and are not normalized again."""
    started = time.perf_counter()
    records = _keyed(records)
    size = records.height
    keys = records.select("source", "record_id")
    if size == 0:
        return _empty(started, match_threshold)
    steward = StewardPairs.for_records(keys, always_merge or [], never_merge or [])

    with stage("features"):
        features = build_features(
            records,
            default_region=default_region,
            frequency_cap=frequency_cap,
            normalized=normalized,
        )
    links, model, review = _link_candidates(
        features, keys, previous, steward, match_threshold, max_block_size, review_pairs
    )

    def conflict_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        levels = comparison_levels(features, a, b)
        return pair_rules(features, levels, a, b, steward, model.twins_are_typos).conflict

    with stage("cluster"):
        clusters = cluster(size, links.edges, links.conflicts, conflict_codes, max_cluster_size)
    labels = clusters.labels

    current = keys.with_columns(pl.Series("label", labels))
    with stage("assign_ids"):
        assignment = assign_ids(current, previous)

    # Audit: the strongest link that holds each record in its final cluster.
    with stage("audit+output"):
        rule_names = ["probabilistic", *features.fk, "steward"]
        audit = _audit(links, labels, steward_rule=len(rule_names))
        output = _output(keys, labels, assignment, audit, rule_names)
    with stage("review"):
        review_frame = review_table(review.finish(features, model, labels, keys, assignment.ids))
    stats = ResolveStats(
        records=size,
        clusters=_cluster_figures(output, clusters),
        links=LinkFigures(candidate_pairs=links.candidate_pairs, matched_pairs=audit.kept_pairs),
        ids=_id_figures(output, previous, assignment),
        model=ModelFigures(
            random_match_probability=model.random_match_probability,
            match_threshold=match_threshold,
            em_iterations=model.iterations,
        ),
        rules=_rule_figures(links),
        seconds=time.perf_counter() - started,
    )
    return Resolution(output=output, stats=stats, review=review_frame, model=model)


def resolve(records: pl.DataFrame, previous: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per input record: ``source``, ``record_id``, its person's ``amperity_id`` and the
    evidence (``match_score``: the posterior log2 odds of the strongest link into its cluster,
    ``match_threshold`` the same as a probability, ``match_rule``,
    ``matched_source``/``matched_record_id``: the record at its other end). Ids in ``previous``
    (an earlier output) persist. The run's figures come with ``resolve_with_stats``."""
    return resolve_with_stats(records, previous).output
