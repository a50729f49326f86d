"""The pairs a person should check after a run: the weakest links that made people, and the
strongest pairs that did not link (below the threshold, or refused by a rule).

A steward reads them in the UI (the ``match_review`` asset), confirms or corrects them with
``never_merge`` / ``always_merge`` in ``identity.yaml``, and ``amperity-braze explain-match``
shows any one of them field by field. The table holds keys, probabilities and the evidence
per field (level and bits), never the values themselves: it is safe to preview.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .features import Features
from .rules import REFUSALS
from .scoring import Model

# Pairs listed of each kind.
REVIEW_PAIRS = 100
# Candidates kept before clustering, per kind: clustering may join or part some of them.
_HEADROOM = 4

REVIEW_SCHEMA = {
    "kind": pl.String,
    "probability": pl.Float64,
    "weight_bits": pl.Float64,
    "linked": pl.Boolean,
    "same_person": pl.Boolean,
    "reason": pl.String,
    "source_a": pl.String,
    "record_id_a": pl.String,
    "amperity_id_a": pl.String,
    "source_b": pl.String,
    "record_id_b": pl.String,
    "amperity_id_b": pl.String,
    "evidence": pl.String,
}
WEAKEST_LINK = "weakest link"
BELOW_THRESHOLD = "strongest non-link: below threshold"
REFUSED = "strongest non-link: refused by a rule"


def _lowest(index: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    if index.size <= count:
        return index
    return index[np.argpartition(values[index], count)[:count]]


@dataclass
class Candidates:
    """Review candidates picked from all pairs before the pair arrays are let go."""

    left: np.ndarray
    right: np.ndarray
    weights: np.ndarray
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
        matched: np.ndarray,
        forced: np.ndarray,
        refused: np.ndarray,
        count: int,
    ) -> Candidates:
        keep = count * _HEADROOM
        weakest = _lowest(np.flatnonzero(matched & ~forced), weights, keep)
        below = _lowest(np.flatnonzero(~matched & (refused == 0)), -weights, keep)
        refusals = _lowest(np.flatnonzero(~matched & (refused > 0)), -weights, keep)
        chosen = np.concatenate([weakest, below, refusals])
        kind = np.repeat(np.arange(3, dtype=np.int8), [weakest.size, below.size, refusals.size])
        return cls(
            left=left[chosen],
            right=right[chosen],
            weights=weights[chosen],
            linked=matched[chosen],
            refused=refused[chosen],
            kind=kind,
            count=count,
        )

    def finish(self, features: Features, model: Model, labels: np.ndarray, keys, assignment):
        """The review rows, now that clusters are final: links that stayed inside a cluster
        (weakest first), non-links whose records stayed apart (strongest first)."""
        from .explain import evidence_text

        same = labels[self.left] == labels[self.right]
        rows = []
        for kind, wanted, sign in ((0, True, 1.0), (1, False, -1.0), (2, False, -1.0)):
            index = np.flatnonzero((self.kind == kind) & (same == wanted))
            index = index[np.argsort(sign * self.weights[index], kind="stable")][: self.count]
            rows.append(index)
        index = np.concatenate(rows)
        if index.size == 0:
            return None
        left, right = self.left[index], self.right[index]
        ids = assignment.ids.select("label", "amperity_id")
        label_frame = pl.DataFrame({"label": labels})
        amperity = label_frame.join(ids, on="label", how="left", maintain_order="left").get_column(
            "amperity_id"
        )
        source = keys.get_column("source")
        record_id = keys.get_column("record_id")

        def at(series: pl.Series, rows_: np.ndarray) -> pl.Series:
            return series.gather(pl.Series(rows_.astype(np.uint32)))

        weights = self.weights[index]
        kind_names = np.array([WEAKEST_LINK, BELOW_THRESHOLD, REFUSED], dtype=object)
        reasons = np.array(REFUSALS, dtype=object)[self.refused[index]]
        reasons = np.where(self.kind[index] == 1, "below the match threshold", reasons)
        return pl.DataFrame(
            {
                "kind": kind_names[self.kind[index]].tolist(),
                "probability": 1.0 / (1.0 + np.exp2(-np.clip(weights, -60, 60))),
                "weight_bits": weights,
                "linked": self.linked[index],
                "same_person": same[index],
                "reason": reasons.tolist(),
                "source_a": at(source, left),
                "record_id_a": at(record_id, left),
                "amperity_id_a": at(amperity, left),
                "source_b": at(source, right),
                "record_id_b": at(record_id, right),
                "amperity_id_b": at(amperity, right),
                "evidence": evidence_text(features, model, left, right),
            },
            schema=REVIEW_SCHEMA,
        )


def review_table(frame: pl.DataFrame | None) -> pl.DataFrame:
    return frame if frame is not None else pl.DataFrame(schema=REVIEW_SCHEMA)
