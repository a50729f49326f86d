"""Why two records are, or are not, one person: each field's evidence, the prior, the rules and
the decision, and the chain of links when the two meet only through other records.

``explain_match`` is what ``amperity-braze explain-match SOURCE:ID SOURCE:ID`` prints. It
scores the pair again with the model and the threshold the last run kept
(``identity/model.v1``) over the stored ``customer_records``, so value frequencies are the
run's own, and says when the records or the settings changed since. A pair blocking never put
side by side is never linked, whatever its evidence, and the explanation says so. The hysteresis
that keeps a borderline pair where the previous run put it (``rules.HYSTERESIS_BITS``) is not
added: the explanation names it where it could have decided.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import polars as pl

from .blocking import keys_that_compare
from .features import Features, build_features
from .rules import (
    HYSTERESIS_BITS,
    NO_STEWARD,
    REFUSALS,
    StewardPairs,
    pair_rules,
)
from .scoring import COMPARISONS, MISSING, Model, comparison_levels, pair_weights


def _level_name(column: int, level: int) -> str:
    return "missing" if level == MISSING else COMPARISONS[column].levels[level - 1]


def evidence_text(
    features: Features, model: Model, left: np.ndarray, right: np.ndarray
) -> list[str]:
    """Per pair, each present field's level and bits: ``given exact_or_nickname +5.1; ...``."""
    if left.size == 0:
        return []
    levels = comparison_levels(features, left, right)
    parts = pair_weights(
        model, features, levels, left, use_frequencies=model.estimated, by_comparison=True
    )
    texts = []
    for row in range(left.size):
        items = [
            f"{c.name} {_level_name(column, int(levels[row, column]))} {parts[row, column]:+.1f}"
            for column, c in enumerate(COMPARISONS)
            if levels[row, column] != MISSING
        ]
        texts.append("; ".join(items))
    return texts


@dataclass
class PairVerdict:
    """One pair scored as the run scores it."""

    levels: np.ndarray  # per comparison
    parts: np.ndarray  # bits per comparison
    bayes_bits: float
    posterior_bits: float
    probability: float
    refusal: str
    forced_by: str
    compared_by: list[str]  # the blocking keys that made it a candidate (none: never compared)
    linked: bool


def _probability(bits: float) -> float:
    return float(1.0 / (1.0 + 2.0 ** (-np.clip(bits, -60, 60))))


def score_pairs(
    features: Features,
    model: Model,
    left: np.ndarray,
    right: np.ndarray,
    threshold: float,
    steward: StewardPairs = NO_STEWARD,
) -> list[PairVerdict]:
    """Each pair's evidence, rules and decision, hysteresis aside."""
    levels = comparison_levels(features, left, right)
    parts = pair_weights(
        model, features, levels, left, use_frequencies=model.estimated, by_comparison=True
    )
    verdicts = pair_rules(features, levels, left, right, steward, model.twins_are_typos)
    compared_by = keys_that_compare(features, left, right)
    threshold_bits = float(np.log2(threshold / (1 - threshold)))
    fk_names = list(features.fk)
    out = []
    for row in range(left.size):
        bayes = float(parts[row].sum())
        posterior = bayes + model.prior_bits
        forced_by = int(verdicts.forced_by[row])
        refused = int(verdicts.refused[row])
        forced = bool(verdicts.forced[row])
        steward_link = forced and forced_by < 0
        out.append(
            PairVerdict(
                levels=levels[row],
                parts=parts[row],
                bayes_bits=bayes,
                posterior_bits=posterior,
                probability=_probability(posterior),
                refusal=REFUSALS[refused],
                forced_by=(
                    "steward: always merge"
                    if forced_by < 0
                    else (fk_names[forced_by - 1] if forced_by > 0 else "")
                ),
                compared_by=compared_by[row],
                linked=steward_link
                or (
                    bool(compared_by[row])
                    and (forced or (refused == 0 and posterior >= threshold_bits))
                ),
            )
        )
    return out


def _value(features: Features, field: str, row: int) -> str:
    coded = features.fields[field]
    code = int(coded.codes[row])
    return "" if code < 0 else str(coded.values[code])


def _widest_path(members: np.ndarray, links: dict[tuple[int, int], float], a: int, b: int):
    """The chain of links from a to b whose weakest link is strongest (members are rows)."""
    neighbours: dict[int, list[tuple[int, float]]] = {int(m): [] for m in members}
    for (x, y), probability in links.items():
        neighbours[x].append((y, probability))
        neighbours[y].append((x, probability))
    best = {a: 1.0}
    came_from: dict[int, int] = {}
    heap = [(-1.0, a)]
    while heap:
        width, node = heapq.heappop(heap)
        width = -width
        if node == b:
            break
        if width < best.get(node, 0.0):
            continue
        for other, probability in neighbours[node]:
            candidate = min(width, probability)
            if candidate > best.get(other, 0.0):
                best[other] = candidate
                came_from[other] = node
                heapq.heappush(heap, (-candidate, other))
    if b not in came_from:
        return None
    path = [b]
    while path[-1] != a:
        path.append(came_from[path[-1]])
    return path[::-1]


def _row_of(keys: pl.DataFrame, reference: tuple[str, str]) -> int:
    found = keys.with_row_index("row").filter(
        (pl.col("source") == reference[0]) & (pl.col("record_id") == reference[1])
    )
    if found.height == 0:
        raise LookupError(
            f"{reference[0]}:{reference[1]} is not among the stored customer records; check the "
            "source name and record id (as in identity_resolution), or materialize "
            "customer_records again."
        )
    return int(found.get_column("row")[0])


def explain_match(
    records: pl.DataFrame,
    resolved: pl.DataFrame,
    model: Model,
    run: dict[str, float],
    first: tuple[str, str],
    second: tuple[str, str],
    steward: StewardPairs = NO_STEWARD,
    configured_threshold: float | None = None,
) -> str:
    """The explanation of two records (``customer_records`` rows, already normalized) as text.

    resolved: the last run's ``identity_resolution`` (the cluster each record is in); model and
    run: what the run kept (``Model.from_description``); configured_threshold: what
    identity.yaml says now, to warn when it changed since the run."""
    records = records.with_columns(
        pl.col("source").cast(pl.String), pl.col("record_id").cast(pl.String)
    )
    keys = records.select("source", "record_id")
    a, b = _row_of(keys, first), _row_of(keys, second)
    threshold = float(run.get("match_threshold", configured_threshold or 0.8))
    features = build_features(records, normalized=True)
    verdict = score_pairs(features, model, np.array([a]), np.array([b]), threshold, steward)[0]
    name_a, name_b = f"{first[0]}:{first[1]}", f"{second[0]}:{second[1]}"
    lines = [f"explain-match {name_a} {name_b}", ""]
    if "records" in run and int(run["records"]) != records.height:
        lines.append(
            f"note: the last identity run saw {int(run['records']):,} records, customer_records "
            f"now holds {records.height:,}: materialize identity_resolution again for its view."
        )
    if configured_threshold is not None and abs(configured_threshold - threshold) > 1e-12:
        lines.append(
            f"note: identity.yaml now says match_threshold {configured_threshold}; the last run "
            f"used {threshold}, shown here."
        )
    shown = [(_value(features, c.name, a), _value(features, c.name, b)) for c in COMPARISONS]
    width = max(16, len(name_a), len(name_b), *(len(v) for pair in shown for v in pair)) + 2
    lines.append(f"{'field':<10}{name_a:<{width}}{name_b:<{width}}{'level':<22}{'bits':>8}")
    for column, comparison in enumerate(COMPARISONS):
        level = int(verdict.levels[column])
        value_a, value_b = shown[column]
        lines.append(
            f"{comparison.name:<10}{value_a:<{width}}{value_b:<{width}}"
            f"{_level_name(column, level):<22}{verdict.parts[column]:>+8.2f}"
        )
    for name in features.fk:
        codes = features.fk[name]
        agree = codes[a] >= 0 and codes[a] == codes[b]
        lines.append(f"{name + ' ':<10}{'agree: one person' if agree else 'no agreement'}")
    prior = model.random_match_probability
    threshold_bits = float(np.log2(threshold / (1 - threshold)))
    lines += [
        "",
        f"evidence (Bayes factor)            {verdict.bayes_bits:>+8.2f} bits",
        f"prior: two random records are one person 1 in {1 / prior:,.0f} (this run's)"
        f"   {model.prior_bits:>+8.2f} bits",
        "compared because they share: "
        + (
            ", ".join(verdict.compared_by)
            if verdict.compared_by
            else "no blocking key (within its block cap): never compared"
        ),
        f"posterior                          {verdict.posterior_bits:>+8.2f} bits"
        f" = probability {verdict.probability:.6f}",
        f"threshold                          {threshold_bits:>+8.2f} bits = {threshold}",
    ]
    if verdict.forced_by:
        lines.append(f"assertion: {verdict.forced_by} links them whatever the evidence")
    if verdict.refusal:
        lines.append(f"rule: refused ({verdict.refusal})")
    if not verdict.refusal and abs(verdict.posterior_bits - threshold_bits) < HYSTERESIS_BITS:
        lines.append(
            f"note: within {HYSTERESIS_BITS:.0f} bits of the threshold, where the previous "
            "run's decision for the pair (hysteresis) is added to keep ids steady"
        )
    decision = "LINK" if verdict.linked else "NO LINK"
    lines.append(f"decision for this pair: {decision}")
    lines.append("")
    lines.extend(_outcome(features, model, threshold, steward, keys, resolved, a, b, verdict))
    return "\n".join(lines)


def _outcome(features, model, threshold, steward, keys, resolved, a, b, verdict) -> list[str]:
    """What the run made of the pair: one person (directly or through a chain), or two."""
    ids = keys.join(
        resolved.select(
            pl.col("source").cast(pl.String), pl.col("record_id").cast(pl.String), "amperity_id"
        ),
        on=["source", "record_id"],
        how="left",
        maintain_order="left",
    ).get_column("amperity_id")
    id_a, id_b = ids[a], ids[b]
    if id_a is None or id_b is None:
        return ["outcome: not in the last run's identity_resolution; materialize it again."]
    if id_a != id_b:
        lines = [f"outcome: two people ({id_a} and {id_b})"]
        if verdict.linked:
            lines.append(
                "  the pair links on its own, but the cluster check kept them apart: "
                + _conflict_between(features, model, steward, keys, ids, id_a, id_b)
            )
        return lines
    if verdict.linked:
        return [f"outcome: one person ({id_a}), linked directly"]
    members = np.flatnonzero((ids == id_a).to_numpy())
    left, right = np.triu_indices(members.size, k=1)
    scored = score_pairs(features, model, members[left], members[right], threshold, steward)
    links = {
        (int(members[i]), int(members[j])): s.probability if not s.forced_by else 1.0
        for i, j, s in zip(left, right, scored, strict=True)
        if s.linked
    }
    path = _widest_path(members, links, a, b)
    lines = [f"outcome: one person ({id_a}), through other records"]
    if path is None:
        lines.append("  no chain of links joins them now (the run's hysteresis kept them together)")
        return lines
    for x, y in zip(path, path[1:], strict=False):
        key = (min(x, y), max(x, y))
        lines.append(
            f"  {keys['source'][x]}:{keys['record_id'][x]} -> "
            f"{keys['source'][y]}:{keys['record_id'][y]}  probability {links[key]:.6f}"
        )
    return lines


def _conflict_between(features, model, steward, keys, ids, id_a, id_b) -> str:
    rows_a = np.flatnonzero((ids == id_a).to_numpy())
    rows_b = np.flatnonzero((ids == id_b).to_numpy())
    left = np.repeat(rows_a, rows_b.size)
    right = np.tile(rows_b, rows_a.size)
    levels = comparison_levels(features, left, right)
    verdicts = pair_rules(features, levels, left, right, steward, model.twins_are_typos)
    conflicts = verdicts.conflict > 0
    if not conflicts.any():
        return (
            "no member of one conflicts with the other: the last run's hysteresis, the size "
            "cap or stronger links elsewhere kept them apart"
        )
    x, y = int(left[conflicts][0]), int(right[conflicts][0])
    return (
        f"{keys['source'][x]}:{keys['record_id'][x]} and "
        f"{keys['source'][y]}:{keys['record_id'][y]} are two people"
    )
