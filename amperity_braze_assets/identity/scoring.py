"""Pair scoring: a Fellegi-Sunter model whose parameters come from the data itself.

Every candidate pair gets a comparison level per field (missing, different, similar, ..., exact).
The model weighs each level by log2(m/u): m is the chance a true match shows that level, u the
chance two unrelated records do. u comes from random record pairs (exact agreement from the
value frequencies directly), m from expectation-maximisation over the candidate pairs, so no
labelled data is needed. Exact agreement is weighted by how common the agreed value is: two
SMITHs prove less than two ZBIGNIEWSKIs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import distance, fuzz, process

from .coding import factorize
from .features import CodedField, Features
from .profiling import stage
from .threads import WORKERS

MISSING = 0  # level 0 in every comparison: a side is null, the field proves nothing


@dataclass(frozen=True)
class Comparison:
    """One compared field: its level names (index 1 = different ... last = exact)."""

    name: str
    levels: tuple[str, ...]
    frequency_field: str | None  # exact agreement weighted by this field's value frequency


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "given", ("different", "initial_or_jw80", "jw92", "exact_or_nickname"), "given_canonical"
    ),
    Comparison("surname", ("different", "jw80", "jw92", "exact"), "surname"),
    Comparison("birth", ("different", "one_digit_or_swapped", "exact"), "birth"),
    Comparison("email", ("different", "same_local_or_jw92", "exact"), "email"),
    Comparison("phone", ("different", "one_digit", "exact"), "phone"),
    Comparison("address", ("different", "token_set85", "exact"), "address"),
    Comparison("postal", ("different", "exact"), "postal"),
    Comparison("city", ("different", "jw90", "exact"), "city"),
    Comparison("gender", ("different", "exact"), None),
)

_JARO_WINKLER = distance.JaroWinkler.normalized_similarity
# rapidfuzz's own token-set ratio (0..100): a native scorer, so cpdist never calls back into
# Python per pair.
_TOKEN_SET = fuzz.token_set_ratio


def _similarity(
    coded: CodedField,
    left: np.ndarray,
    right: np.ndarray,
    scorer: Callable,
    deduplicate: bool = True,
    cutoff: float | None = None,
) -> np.ndarray:
    """Scores for code pairs, batched through rapidfuzz; distinct pairs scored once. Scores
    below ``cutoff`` may come back as 0 (rapidfuzz then skips work on hopeless pairs)."""
    if left.size == 0:
        return np.zeros(0, dtype=np.float32)
    if deduplicate:
        # Each distinct (low, high) value pair as one 64-bit key, built in place.
        keys = np.minimum(left, right).astype(np.int64)
        keys <<= 32
        keys |= np.maximum(left, right)
        distinct, inverse = factorize(keys)
        del keys
        with stage(f"  cpdist {distinct.size} of {left.size}"):
            scores = _scores(coded, distinct >> 32, distinct & 0xFFFFFFFF, scorer, cutoff)
        return scores[inverse]
    return _scores(coded, left, right, scorer, cutoff)


# Pairs scored per rapidfuzz call: the Python strings of one batch (two lists) stay in the
# hundreds of megabytes, where ten million pairs at once held gigabytes.
SCORE_BATCH = 1_000_000


def _scores(
    coded: CodedField,
    left: np.ndarray,
    right: np.ndarray,
    scorer: Callable,
    cutoff: float | None,
) -> np.ndarray:
    scores = np.empty(left.size, dtype=np.float32)
    for start in range(0, left.size, SCORE_BATCH):
        end = start + SCORE_BATCH
        scores[start:end] = process.cpdist(
            coded.strings(left[start:end]),
            coded.strings(right[start:end]),
            scorer=scorer,
            workers=-1,
            dtype=np.float32,
            score_cutoff=cutoff,
        )
    return scores


def _string_levels(
    coded: CodedField,
    left: np.ndarray,
    right: np.ndarray,
    thresholds: tuple[float, ...],
    scorer: Callable,
    exact: np.ndarray | None = None,
    deduplicate: bool = True,
) -> np.ndarray:
    """Level per pair: 0 missing, 1 different, 2.. one per threshold passed, top = exact."""
    code_left = coded.codes[left]
    code_right = coded.codes[right]
    present = (code_left >= 0) & (code_right >= 0)
    if exact is None:
        exact = code_left == code_right
    exact = exact & present
    levels = np.where(present, 1, MISSING).astype(np.int8)
    fuzzy = present & ~exact
    if thresholds:
        index = np.flatnonzero(fuzzy)
        scores = _similarity(
            coded, code_left[index], code_right[index], scorer, deduplicate, min(thresholds)
        )
        passed = np.zeros(index.size, dtype=np.int8)
        for threshold in thresholds:
            passed += scores >= threshold
        levels[index] = 1 + passed
    levels[exact] = len(thresholds) + 2
    return levels


def _digit_differences(left: np.ndarray, right: np.ndarray, digits: int) -> np.ndarray:
    """How many decimal digit positions differ between two integer arrays."""
    differences = np.zeros(left.size, dtype=np.int8)
    a = left.copy()
    b = right.copy()
    for _ in range(digits):
        differences += (a % 10) != (b % 10)
        a //= 10
        b //= 10
    return differences


def _numeric_levels(
    left: np.ndarray, right: np.ndarray, digits: int, also_near: np.ndarray | None = None
) -> np.ndarray:
    """0 missing, 1 different, 2 one digit off (or ``also_near``), 3 equal."""
    present = (left >= 0) & (right >= 0)
    levels = np.where(present, 1, MISSING).astype(np.int8)
    levels[present & (left == right)] = 3
    index = np.flatnonzero(levels == 1)
    if index.size:
        near = _digit_differences(left[index], right[index], digits) <= 1
        if also_near is not None:
            near |= also_near[index]
        levels[index[near]] = 2
    return levels


# Below this many pairs the comparisons run one after another: threads would cost more than
# they save.
PARALLEL_PAIRS = 1_000_000


def comparison_levels(features: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Matrix (pairs x comparisons) of int8 levels, columns in ``COMPARISONS`` order.

    Most of the work is numpy gathers over tens of millions of pairs, one core each, so the
    comparisons run in two lanes on two threads (numpy, polars and rapidfuzz release the GIL).
    The two comparisons with the most distinct values to score, address and email, share a
    lane: they never hold their working sets at the same time.
    """
    f = features.fields
    out = np.zeros((left.size, len(COMPARISONS)), dtype=np.int8)

    def given() -> None:
        # Given name: nicknames agree exactly; an initial agrees with a name it starts.
        coded = f["given"]
        canonical = f["given_canonical"]
        canonical_equal = canonical.codes[left] == canonical.codes[right]
        levels = _string_levels(coded, left, right, (0.80, 0.92), _JARO_WINKLER, canonical_equal)
        gl = coded.codes[left]
        gr = coded.codes[right]
        maybe_initial = (levels == 1) & (gl >= 0) & (gr >= 0)
        if maybe_initial.any():
            index = np.flatnonzero(maybe_initial)
            a, b = gl[index], gr[index]
            length, first = features.given_length, features.given_first
            initial = ((length[a] == 1) | (length[b] == 1)) & (first[a] == first[b])
            levels[index[initial]] = 2
        out[:, 0] = levels

    def surname() -> None:
        out[:, 1] = _string_levels(f["surname"], left, right, (0.80, 0.92), _JARO_WINKLER)

    def birth() -> None:
        # Birthdate: one mistyped digit, or day and month swapped (DD/MM read as MM/DD).
        birth_left = features.birth_numeric[left]
        birth_right = features.birth_numeric[right]
        swapped = (birth_left // 10000 == birth_right // 10000) & (
            (birth_left // 100 % 100 == birth_right % 100)
            & (birth_left % 100 == birth_right // 100 % 100)
        )
        out[:, 2] = _numeric_levels(birth_left, birth_right, 8, swapped)

    def email() -> None:
        # Email: exact, or the same mailbox name at another domain / with a typo.
        coded = f["email"]
        local = f["email_local"]
        el = coded.codes[left]
        er = coded.codes[right]
        levels = _string_levels(coded, left, right, (0.92,), _JARO_WINKLER)
        same_local = (local.codes[left] == local.codes[right]) & (el >= 0) & (er >= 0) & (el != er)
        levels[same_local] = 2
        out[:, 3] = levels

    def phone() -> None:
        out[:, 4] = _numeric_levels(features.phone_numeric[left], features.phone_numeric[right], 15)

    def address() -> None:
        out[:, 5] = _string_levels(f["address"], left, right, (85.0,), _TOKEN_SET)

    def rest() -> None:
        out[:, 6] = _string_levels(f["postal"], left, right, (), _JARO_WINKLER)
        out[:, 7] = _string_levels(f["city"], left, right, (0.90,), _JARO_WINKLER)
        out[:, 8] = _string_levels(f["gender"], left, right, (), _JARO_WINKLER)

    lanes = [[address, email], [given, surname, birth, phone, rest]]
    if left.size < PARALLEL_PAIRS or WORKERS < 2:
        for lane in lanes:
            for compare in lane:
                compare()
    else:
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            running = [
                pool.submit(lambda lane=lane: [compare() for compare in lane]) for lane in lanes
            ]
            for lane in running:
                lane.result()

    # Given name and surname typed into each other's field: both agree, crosswise.
    as_given, as_surname = features.name_as_given, features.name_as_surname
    swapped = (
        (as_given[left] >= 0)
        & (as_surname[left] >= 0)
        & (as_given[left] == as_surname[right])
        & (as_surname[left] == as_given[right])
    )
    out[swapped, 0] = 4
    out[swapped, 1] = 4
    return out


@dataclass
class Model:
    """Fellegi-Sunter parameters: per comparison, m and u for each level (index 0 unused)."""

    m: list[np.ndarray]
    u: list[np.ndarray]
    match_share: float  # EM's estimate of the share of candidate pairs that are matches
    iterations: int

    def level_weights(self) -> list[np.ndarray]:
        weights = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(np.maximum(m, 1e-9) / np.maximum(u, 1e-9))
            w[MISSING] = 0.0
            weights.append(w)
        return weights

    def describe(self) -> pl.DataFrame:
        rows = []
        for comparison, m, u, w in zip(
            COMPARISONS, self.m, self.u, self.level_weights(), strict=True
        ):
            for level, name in enumerate(comparison.levels, start=1):
                rows.append(
                    {
                        "comparison": comparison.name,
                        "level": name,
                        "m": float(m[level]),
                        "u": float(u[level]),
                        "weight": float(w[level]),
                    }
                )
        return pl.DataFrame(rows)


# Parameters typical of consumer records, used when a run has too few records or pairs for the
# estimates to mean anything (a handful of hand-made rows): one entry per level, index 0 unused.
DEFAULT_M: tuple[tuple[float, ...], ...] = (
    (0.0, 0.02, 0.05, 0.08, 0.85),
    (0.0, 0.02, 0.04, 0.06, 0.88),
    (0.0, 0.03, 0.07, 0.90),
    (0.0, 0.15, 0.05, 0.80),
    (0.0, 0.15, 0.05, 0.80),
    (0.0, 0.15, 0.10, 0.75),
    (0.0, 0.10, 0.90),
    (0.0, 0.10, 0.05, 0.85),
    (0.0, 0.03, 0.97),
)
DEFAULT_U: tuple[tuple[float, ...], ...] = (
    (0.0, 0.90, 0.07, 0.02, 0.01),
    (0.0, 0.95, 0.035, 0.01, 0.005),
    (0.0, 0.995, 0.0049, 0.0001),
    (0.0, 0.99998, 1e-5, 1e-6),
    (0.0, 0.99998, 1e-5, 1e-6),
    (0.0, 0.999, 0.0009, 0.0001),
    (0.0, 0.999, 0.001),
    (0.0, 0.98, 0.005, 0.015),
    (0.0, 0.5, 0.5),
)
DEFAULT_MATCH_SHARE = 0.3


def default_model() -> Model:
    return Model(
        m=[np.asarray(m) for m in DEFAULT_M],
        u=[np.asarray(u) for u in DEFAULT_U],
        match_share=DEFAULT_MATCH_SHARE,
        iterations=0,
    )


def estimate_u(features: Features, left: np.ndarray, right: np.ndarray) -> list[np.ndarray]:
    """u per level from random pairs; exact agreement from the value frequencies (sum of squared
    shares), which is precise even where random pairs almost never agree (emails, phones)."""
    levels = comparison_levels(features, left, right)
    result = []
    for column, comparison in enumerate(COMPARISONS):
        count = len(comparison.levels) + 1
        observed = np.bincount(levels[:, column], minlength=count).astype(np.float64)[:count]
        observed[MISSING] = 0.0
        u = (observed + 0.5) / (observed.sum() + 0.5 * (count - 1))
        u[MISSING] = 0.0
        exact_field = comparison.frequency_field or comparison.name
        if exact_field in features.fields:
            exact = features.fields[exact_field].agreement_probability
            others = u[1:-1]
            u[-1] = max(exact, 1e-9)
            u[1:-1] = others / max(others.sum(), 1e-12) * (1.0 - u[-1])
        result.append(u)
    return result


def _pattern_table(levels: np.ndarray, columns: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct comparison patterns over ``columns`` and how many pairs show each."""
    radix = [len(COMPARISONS[c].levels) + 1 for c in columns]
    pattern = np.zeros(levels.shape[0], dtype=np.int64)
    for column, base in zip(columns, radix, strict=True):
        pattern = pattern * base + levels[:, column]
    counted = pl.Series("pattern", pattern).value_counts()
    patterns = counted.get_column("pattern").to_numpy()
    counts = counted.get_column("count").to_numpy().astype(np.float64)
    table = np.zeros((patterns.size, len(columns)), dtype=np.int64)
    remainder = patterns.copy()
    for index in reversed(range(len(columns))):
        table[:, index] = remainder % radix[index]
        remainder //= radix[index]
    return table, counts


def _log_likelihoods(
    table: np.ndarray, columns: list[int], m: list[np.ndarray], u: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    log_m = np.zeros(table.shape[0])
    log_u = np.zeros(table.shape[0])
    for index, column in enumerate(columns):
        level = table[:, index]
        known = level != MISSING
        log_m[known] += np.log(np.maximum(m[column][level[known]], 1e-12))
        log_u[known] += np.log(np.maximum(u[column][level[known]], 1e-12))
    return log_m, log_u


def _em_session(
    levels: np.ndarray,
    columns: list[int],
    m: list[np.ndarray],
    u: list[np.ndarray],
    max_iterations: int,
) -> tuple[int, float]:
    """EM for m of ``columns`` (updated in place) and the session's match share; u fixed."""
    table, counts = _pattern_table(levels, columns)
    share = 0.5
    for iteration in range(1, max_iterations + 1):
        log_m, log_u = _log_likelihoods(table, columns, m, u)
        odds = np.clip(np.log(1 - share) + log_u - np.log(share) - log_m, -700, 700)
        as_match = counts / (1.0 + np.exp(odds))
        change = 0.0
        for index, column in enumerate(columns):
            totals = np.bincount(table[:, index], weights=as_match, minlength=m[column].size)
            totals[MISSING] = 0.0
            updated = (totals + 1e-3) / (totals.sum() + 1e-3 * (totals.size - 1))
            updated[MISSING] = 0.0
            change = max(change, float(np.abs(updated - m[column]).max()))
            m[column] = updated
        share = min(max(float(as_match.sum() / counts.sum()), 1e-6), 1 - 1e-6)
        if change < 1e-5:
            return iteration, share
    return max_iterations, share


# The least chance a true match shows any level of any comparison.
M_FLOOR = 0.003


def _floored(m: np.ndarray) -> np.ndarray:
    out = m.copy()
    out[1:] = np.maximum(out[1:], M_FLOOR)
    out[1:] /= out[1:].sum()
    out[MISSING] = 0.0
    return out


def estimate_m(
    levels: np.ndarray,
    u: list[np.ndarray],
    has_fk: np.ndarray | None = None,
    max_iterations: int = 50,
) -> Model:
    """m by expectation-maximisation in two sessions, u held at its random-pair value.

    Over all candidates at once EM has no anchor: candidates that are not matches still share a
    blocking key, so they look nothing like random pairs and EM calls everything a match. So,
    as Splink does, each session takes the pairs that agree on one set of fields and estimates
    m only for the other fields: pairs with the same name and birthdate teach how often
    matches share contact details, pairs with the same email, phone or foreign key teach how
    often matches share names and birthdates. Then, with m and u fixed, EM over all candidates
    gives the share of matches among them.
    """
    m = [np.asarray(values, dtype=np.float64).copy() for values in DEFAULT_M]
    names = {c.name: i for i, c in enumerate(COMPARISONS)}
    identity = [names["given"], names["surname"], names["birth"]]
    contact = [i for i in range(len(COMPARISONS)) if i not in identity]
    top = [len(c.levels) for c in COMPARISONS]

    same_identity = np.ones(levels.shape[0], dtype=bool)
    for column in identity:
        same_identity &= levels[:, column] == top[column]
    same_contact = (levels[:, names["email"]] == top[names["email"]]) | (
        levels[:, names["phone"]] == top[names["phone"]]
    )
    if has_fk is not None:
        same_contact |= has_fk
    iterations = 0
    if same_identity.sum() >= 100:
        iterations += _em_session(levels[same_identity], contact, m, u, max_iterations)[0]
    if same_contact.sum() >= 100:
        iterations += _em_session(levels[same_contact], identity, m, u, max_iterations)[0]

    # No level is impossible for a true match: people change phones and emails and mistype.
    # Without a floor, a level EM never saw among matches (a different phone) gets m ~ 0 and
    # vetoes a pair with -30 bits; then 1% of edited records moves m to 0.01, the veto drops
    # to -7 bits and thousands of untouched records change clusters between runs.
    m = [_floored(values) for values in m]

    # The share of matches among all candidates, every parameter fixed.
    columns = list(range(len(COMPARISONS)))
    table, counts = _pattern_table(levels, columns)
    log_m, log_u = _log_likelihoods(table, columns, m, u)
    share = 0.5
    for _ in range(200):
        odds = np.clip(np.log(1 - share) + log_u - np.log(share) - log_m, -700, 700)
        updated = float((counts / (1.0 + np.exp(odds))).sum() / counts.sum())
        updated = min(max(updated, 1e-6), 1 - 1e-6)
        if abs(updated - share) < 1e-7:
            share = updated
            break
        share = updated
    return Model(m=m, u=u, match_share=share, iterations=iterations)


def pair_weights(
    model: Model,
    features: Features,
    levels: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    use_frequencies: bool = True,
    random_u: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Match weight in bits per pair (log2 Bayes factor, prior excluded). Exact agreement on a
    value is adjusted by how rare that value is against the average value: log2(u_avg / tf)."""
    weights = np.zeros(levels.shape[0], dtype=np.float64)
    for column, (comparison, level_weight) in enumerate(
        zip(COMPARISONS, model.level_weights(), strict=True)
    ):
        level = levels[:, column]
        weights += level_weight[level]
        if comparison.frequency_field is None or not use_frequencies:
            continue
        coded = features.fields[comparison.frequency_field]
        top = len(comparison.levels)
        exact = np.flatnonzero(level == top)
        if exact.size == 0:
            continue
        codes = coded.codes[left[exact]]
        frequency = np.maximum(coded.frequency[np.maximum(codes, 0)], 1e-9)
        # Replace the average exact-agreement u with this value's own frequency.
        average = random_u[column][top] if random_u is not None else coded.agreement_probability
        weights[exact] += np.log2(max(average, 1e-9) / frequency)
    return weights


# Evidence (bits) besides name and birthdate above which one differing birthdate is forgiven.
FORGIVE_BIRTH_BITS = 20.0
_REST = ("surname", "email", "phone", "address", "postal", "city")


def rest_weights(model: Model, levels: np.ndarray) -> np.ndarray:
    """Per pair, the bits of evidence from the fields other than given name and birthdate."""
    index = {c.name: i for i, c in enumerate(COMPARISONS)}
    level_weights = model.level_weights()
    out = np.zeros(levels.shape[0], dtype=np.float64)
    for name in _REST:
        column = index[name]
        out += level_weights[column][levels[:, column]]
    return out


def hard_rules(
    features: Features,
    levels: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    rest_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(forced, forbidden, forced_by, contradicts) per pair.

    contradicts: what two members of one cluster may not do; for now the same as forbidden
    (a looser test, ignoring missing birthdates, cost more precision than it won recall).

    forced: an ``fk`` agrees, so the records are one person whatever else differs.
    forbidden: an ``sk`` differs; or, while no email agrees, the birthdates clearly differ or the
    given names clearly differ without the same birthdate. The latter is the household guard: people who share a phone, an address and
    a surname but not a first name or a birthday are relatives, not one person, however much
    address evidence piles up.
    """
    forced = np.zeros(left.size, dtype=bool)
    forced_by = np.full(left.size, "", dtype=object)
    for name, codes in features.fk.items():
        agree = (codes[left] >= 0) & (codes[left] == codes[right])
        forced_by[agree & ~forced] = name
        forced |= agree
    forbidden = np.zeros(left.size, dtype=bool)
    for codes in features.sk.values():
        forbidden |= (codes[left] >= 0) & (codes[right] >= 0) & (codes[left] != codes[right])
    given_differs = levels[:, 0] == 1
    birth_differs = levels[:, 2] == 1
    birth_agrees = levels[:, 2] == 3
    email_agrees = levels[:, 3] == 3
    # A clearly different first name is forgiven only with the very same birthdate (a typo'd
    # or unlisted nickname); twins are the accepted casualty of that.
    guard = ((given_differs & ~birth_agrees) | birth_differs) & ~email_agrees & ~forced
    if rest_weight is not None:
        # One birthdate that differs (a mistyped or scrambled date) is forgiven when all else
        # agrees strongly: given name and surname agree, the address agrees, no email or phone
        # differs, and the fields besides name and birthdate bring FORGIVE_BIRTH_BITS. A
        # household's members differ in given name too, so they stay apart; a Jr/Sr pair
        # sharing name, address and phone is the accepted casualty.
        forgiven = (
            birth_differs
            & (levels[:, 0] >= 3)
            & (levels[:, 1] >= 3)
            & (levels[:, 5] >= 2)
            & (levels[:, 3] != 1)
            & (levels[:, 4] != 1)
            & (rest_weight >= FORGIVE_BIRTH_BITS)
        )
        guard &= ~forgiven
    contradicts = forbidden | guard
    return forced & ~forbidden, forbidden | guard, forced_by, contradicts
