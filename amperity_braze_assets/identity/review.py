"""The pairs a person should check after a run: the weakest links that made people, and the
strongest pairs that did not link (below the threshold, or refused by a rule).

A steward reads them in the UI (the ``match_review`` asset), confirms or corrects them with
``never_merge`` / ``always_merge`` in ``identity.yaml``, and ``amperity-braze explain-match``
shows any one of them field by field. The table holds keys, probabilities and the evidence
per field (level and bits), never the values themselves: it is safe to preview. Probabilities
are the evidence and the prior, as explain-match shows them; ``last_run_bits`` is what last
run's decision added (hysteresis: a borderline pair keeps last run's decision).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .explain import evidence_text
from .features import Features
from .rules import REFUSALS
from .scoring import Model

# Candidates kept before clustering, per kind: clustering may join or part some of them.
_HEADROOM = 4

REVIEW_SCHEMA = {
    "kind": pl.String,
    **dict.fromkeys(("probability", "weight_bits", "last_run_bits"), pl.Float64),
    **dict.fromkeys(("linked", "same_person"), pl.Boolean),
    "reason": pl.String,
    # The pair's two records, a then b: keys only, never the values.
    **{
        f"{key}_{side}": pl.String
        for side in "ab"
        for key in ("source", "record_id", "amperity_id")
    },
    "evidence": pl.String,
}
WEAKEST_LINK = "weakest link"
BELOW_THRESHOLD = "strongest non-link: below threshold"
REFUSED = "strongest non-link: refused by a rule"


def _lowest(values: np.ndarray, eligible: np.ndarray, count: int) -> np.ndarray:
    """Positions of the ``count`` lowest ``values`` where ``eligible`` (any order)."""
    total = int(eligible.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    masked = np.where(eligible, values, np.inf)
    if total <= count:
        return np.flatnonzero(eligible)
    chosen = np.argpartition(masked, count)[:count]
    return chosen[eligible[chosen]]


@dataclass
class Candidates:
    """Review candidates picked from all pairs before the pair arrays are let go."""

    left: np.ndarray
    right: np.ndarray
    weights: np.ndarray  # evidence and prior (bits), without last run's decision
    carried: np.ndarray  # the bits last run's decision added (hysteresis)
    linked: np.ndarray
    refused: np.ndarray
    kind: np.ndarray  # 0 weakest link, 1 below threshold, 2 refused
    count: int

    @classmethod
    def select(
        cls,
        left: np.ndarray,
        right: np.ndarray,
        weights: np.ndarray,
        carried: np.ndarray,
        matched: np.ndarray,
        forced: np.ndarray,
        refused: np.ndarray,
        count: int,
    ) -> Candidates:
        keep = count * _HEADROOM
        decided = weights + carried
        weakest = _lowest(decided, matched & ~forced, keep)
        below = _lowest(-decided, ~matched & (refused == 0), keep)
        refusals = _lowest(-weights, ~matched & (refused > 0), keep)
        chosen = np.concatenate([weakest, below, refusals])
        kind = np.repeat(np.arange(3, dtype=np.int8), [weakest.size, below.size, refusals.size])
        return cls(
            left=left[chosen],
            right=right[chosen],
            weights=weights[chosen],
            carried=carried[chosen],
            linked=matched[chosen],
            refused=refused[chosen],
            kind=kind,
            count=count,
        )

    def finish(
        self, features: Features, model: Model, labels: np.ndarray, keys: pl.DataFrame, ids
    ) -> pl.DataFrame | None:
        """The review rows, now that clusters are final: links that stayed inside a cluster
        (weakest first), non-links whose records stayed apart (strongest first)."""
        same = labels[self.left] == labels[self.right]
        decided = self.weights + self.carried
        rows = []
        for kind, wanted, sign in ((0, True, 1.0), (1, False, -1.0), (2, False, -1.0)):
            index = np.flatnonzero((self.kind == kind) & (same == wanted))
            index = index[np.argsort(sign * decided[index], kind="stable")][: self.count]
            rows.append(index)
        index = np.concatenate(rows)
        if index.size == 0:
            return None
        left, right = self.left[index], self.right[index]
        label_to_id = ids.select(
            pl.col("label").cast(pl.Int64), pl.col("amperity_id").cast(pl.String)
        )

        def amperity_ids(rows_: np.ndarray) -> pl.Series:
            return (
                pl.DataFrame({"label": labels[rows_].astype(np.int64)})
                .join(label_to_id, on="label", how="left", maintain_order="left")
                .get_column("amperity_id")
            )

        def at(column: str, rows_: np.ndarray) -> pl.Series:
            return keys.get_column(column).gather(pl.Series(rows_.astype(np.uint32)))

        weights = self.weights[index]
        kind_names = np.array([WEAKEST_LINK, BELOW_THRESHOLD, REFUSED], dtype=object)
        reasons = np.array(REFUSALS, dtype=object)[self.refused[index]]
        reasons = np.where(self.kind[index] == 1, "below the match threshold", reasons)
        return pl.DataFrame(
            {
                "kind": kind_names[self.kind[index]].tolist(),
                "probability": 1.0 / (1.0 + np.exp2(-np.clip(weights, -60, 60))),
                "weight_bits": weights,
                "last_run_bits": self.carried[index],
                "linked": self.linked[index],
                "same_person": same[index],
                "reason": reasons.tolist(),
                "source_a": at("source", left),
                "record_id_a": at("record_id", left),
                "amperity_id_a": amperity_ids(left),
                "source_b": at("source", right),
                "record_id_b": at("record_id", right),
                "amperity_id_b": amperity_ids(right),
                "evidence": evidence_text(features, model, left, right),
            },
            schema=REVIEW_SCHEMA,
        )


def review_table(frame: pl.DataFrame | None) -> pl.DataFrame:
    return frame if frame is not None else pl.DataFrame(schema=REVIEW_SCHEMA)
