"""The prior: how likely two records drawn at random are one person.

A pair's match weight says how much likelier its agreements are for one person than for two
strangers; turning that into a probability needs the prior odds, and they fall as the data
grows. A person with two records makes one matching pair, but a million records make half a
trillion pairs: about one random pair in a million is a match, in ten million records one in
ten million. A shared birth date and surname, worth about 20 bits, is then an even bet at a
million records and a poor one at ten million, as it should be: the more records, the more
strangers share both.

The prior is also what makes how a pair was found count. Every candidate shares a blocking key
(an email, a surname and birth date, ...), and that agreement is part of its weight; starting
from the prior of a random pair (not the share of matches among candidates) counts it once. So
a pair found only by a weak key (a postal code and birth date) keeps a low posterior unless
its other fields agree, while one found by an email starts far ahead.

The prior is estimated from the run itself, without labels: it is the probability p for which
the matches the candidates are expected to hold, given p, are p times all the pairs there are
(the candidates' expected matches, over the number of pairs of records). Pairs a rule refuses
count as no match; pairs a foreign key or a steward asserts count as one.
"""

from __future__ import annotations

import numpy as np

# Weights are binned this finely (bits) to solve for the prior on a histogram, not on every pair.
BIN_BITS = 0.05
# The prior is kept within these bounds: more than one in two is no longer "random pairs".
PRIOR_BOUNDS = (1e-14, 0.5)


def _sigmoid_bits(bits: np.ndarray) -> np.ndarray:
    """Probability for log2 odds."""
    return 1.0 / (1.0 + np.exp2(-np.clip(bits, -1000, 1000)))


def estimate_prior(weights: np.ndarray, asserted: int, records: int) -> float:
    """The probability that two random records are one person.

    weights: the Bayes factor (bits) of each candidate pair no rule refuses and none asserts;
    asserted: how many pairs are asserted matches; records: how many records there are.
    """
    pairs = records * (records - 1) / 2.0
    if pairs <= 0:
        return PRIOR_BOUNDS[1]
    if weights.size:
        bins = np.round(weights / BIN_BITS).astype(np.int64)
        values, counts = np.unique(bins, return_counts=True)
        centres = values * BIN_BITS
        counts = counts.astype(np.float64)
    else:
        centres = counts = np.zeros(0)

    def excess(prior_bits: float) -> float:
        """log2(expected matches among candidates) - log2(prior * all pairs)."""
        expected = asserted + float((counts * _sigmoid_bits(prior_bits + centres)).sum())
        if expected <= 0:
            return -np.inf
        return np.log2(expected) - np.log2(pairs * _sigmoid_bits(np.asarray(prior_bits)))

    low = float(np.log2(PRIOR_BOUNDS[0] / (1 - PRIOR_BOUNDS[0])))
    high = float(np.log2(PRIOR_BOUNDS[1] / (1 - PRIOR_BOUNDS[1])))
    if excess(low) <= 0:
        return PRIOR_BOUNDS[0]
    if excess(high) >= 0:
        return PRIOR_BOUNDS[1]
    for _ in range(60):
        middle = (low + high) / 2
        if excess(middle) > 0:
            low = middle
        else:
            high = middle
    return float(_sigmoid_bits(np.asarray((low + high) / 2)))
