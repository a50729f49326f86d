"""Pair scoring: a Fellegi-Sunter model whose parameters come from the data itself.

Every candidate pair gets a comparison level per field (missing, different, similar, ..., exact).
The model weighs each level by log2(m/u): m is the chance a true match shows that level, u the
chance two unrelated records do. u comes from random record pairs (exact agreement from the
value frequencies directly), m from expectation-maximisation over the candidate pairs, so no
labelled data is needed. Exact agreement is weighted by how common the agreed value is: two
SMITHs prove less than two ZBIGNIEWSKIs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from rapidfuzz import distance, fuzz, process

from .coding import factorize
from .features import CodedField, Features
from .nicknames import FORMAL_NAMES
from .profiling import stage
from .threads import WORKERS

MISSING = 0  # level 0 in every comparison: a side is null, the field proves nothing
# Before a run estimates its own: about one pair in a million random pairs is one person.
DEFAULT_RANDOM_MATCH_PROBABILITY = 1e-6


@dataclass(frozen=True)
class Comparison:
    """One compared field: its level names (index 1 = different ... last = exact)."""

    name: str
    levels: tuple[str, ...]
    frequency_field: str | None  # exact agreement weighted by this field's value frequency


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "given",
        ("different", "initial_or_prefix", "typo", "exact_or_nickname"),
        "given_canonical",
    ),
    Comparison("surname", ("different", "jw80", "typo_or_jw92", "exact"), "surname"),
    Comparison("birth", ("different", "two_digits", "one_digit_or_swapped", "exact"), "birth"),
    Comparison("email", ("different", "same_local_part", "typo", "exact"), "email"),
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
# Optimal string alignment: edits, each swap of two neighbours counting as one.
_OSA = distance.OSA.distance


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
    typo_level: int | None = None,
) -> np.ndarray:
    """Level per pair: 0 missing, 1 different, 2.. one per threshold passed, top = exact;
    with ``typo_level``, values one edit apart reach at least that level."""
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
        if typo_level is not None:
            # One keyboard slip (a letter changed, dropped, added or two swapped) is a typo
            # whatever Jaro-Winkler says of a short name: ROY/RXY, JOEL/JOLE.
            below = index[levels[index] < typo_level]
            # Two- and one-letter values are one edit from too much (AL/ED, J/K).
            length = coded.values.str.len_chars().fill_null(0).to_numpy()
            below = below[(length[code_left[below]] >= 3) & (length[code_right[below]] >= 3)]
            if below.size:
                slips = _similarity(
                    coded, code_left[below], code_right[below], _OSA, deduplicate, 1
                )
                levels[below[slips <= 1]] = typo_level
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
    left: np.ndarray,
    right: np.ndarray,
    digits: int,
    also_near: np.ndarray | None = None,
    two_digit_level: bool = False,
) -> np.ndarray:
    """0 missing, 1 different, then (with ``two_digit_level``) two digits off, then one digit
    off (or ``also_near``), top equal."""
    present = (left >= 0) & (right >= 0)
    top = 4 if two_digit_level else 3
    levels = np.where(present, 1, MISSING).astype(np.int8)
    levels[present & (left == right)] = top
    index = np.flatnonzero(levels == 1)
    if index.size:
        differences = _digit_differences(left[index], right[index], digits)
        near = differences <= 1
        if also_near is not None:
            near |= also_near[index]
        if two_digit_level:
            levels[index[differences == 2]] = 2
        levels[index[near]] = top - 1
    return levels


def _share_formal(features: Features, codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """Whether two names (codes of ``features.name_values``) may stand for one formal name
    (TEDDY and THEODORE), per pair."""
    pairs = pl.DataFrame(
        {
            "pair": np.arange(codes_a.size, dtype=np.int64),
            "code": codes_a.astype(np.int32),
            "other": codes_b.astype(np.int32),
        }
    )
    formal = features.name_formal
    shared = (
        pairs.join(formal, on="code")
        .join(formal.rename({"code": "other"}), on=["other", "formal"], how="semi")
        .get_column("pair")
        .unique()
        .to_numpy()
    )
    agree = np.zeros(codes_a.size, dtype=bool)
    agree[shared] = True
    return agree


# The names the nickname tables know: only these have other-gender forms.
_KNOWN_NAMES = pl.Series(list(FORMAL_NAMES), dtype=pl.String)
# What turns a given name into its other-gender form (PAUL+A, LOUIS+E, DANIEL+LE, PAUL+INE).
GENDERED_ENDINGS = ["A", "E", "LE", "NE", "INE", "INA", "ETTE", "ELLE", "IA"]


def _given_levels(features: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Given-name levels: exact or a nickname (BOB/ROBERT, TEDDY/THEODORE); a typo (one edit,
    or two in names of eight letters or more); an initial or a prefix (J/JOHN, CHRIS/
    CHRISTOPHER); else different. Names that only look alike are different: MICHAEL/MICHELLE,
    PAUL/PAULA, DANIEL/DANIELLE are two people, as twins and spouses are. Distinct name pairs are judged once."""
    names = features.name_as_given
    name_left, name_right = names[left], names[right]
    present = (name_left >= 0) & (name_right >= 0)
    levels = np.where(present, 1, MISSING).astype(np.int8)
    canonical = features.fields["given_canonical"].codes
    levels[present & (canonical[left] == canonical[right])] = 4
    rest = np.flatnonzero(levels == 1)
    if rest.size == 0:
        return levels
    keys = (name_left[rest].astype(np.int64) << 32) | name_right[rest].astype(np.int64)
    distinct, inverse = factorize(keys)
    code_a = (distinct >> 32).astype(np.int64)
    code_b = (distinct & 0xFFFFFFFF).astype(np.int64)
    nickname = _share_formal(features, code_a, code_b)
    values = features.name_values
    first = values.gather(pl.Series(code_a.astype(np.uint32)))
    second = values.gather(pl.Series(code_b.astype(np.uint32)))
    edits = process.cpdist(
        first.to_list(), second.to_list(), scorer=_OSA, workers=-1, score_cutoff=2
    )
    a, b = pl.col("a"), pl.col("b")
    a_first = a.str.len_chars() <= b.str.len_chars()
    shorter = pl.when(a_first).then(a).otherwise(b)
    longer = pl.when(a_first).then(b).otherwise(a)
    # A name and its other-gender form look like a typo or a prefix but are two names:
    # PAUL/PAULA, LOUIS/LOUISE, DANIEL/DANIELLE, MARIO/MARIA.
    ending = longer.str.slice(shorter.str.len_chars())
    # ERICAA is ERICA typed with a doubled letter, not a name of its own.
    doubled = ending == shorter.str.tail(1)
    suffixed = longer.str.starts_with(shorter) & ending.is_in(GENDERED_ENDINGS) & ~doubled
    o_and_a = (
        (a.str.len_chars() == b.str.len_chars())
        & (a.str.head(-1) == b.str.head(-1))
        & pl.concat_str(a.str.tail(1), b.str.tail(1)).is_in(["OA", "AO"])
    )
    known = _KNOWN_NAMES.implode()
    frame = pl.DataFrame({"a": first, "b": second}).select(
        # Only real names have other-gender forms: PAIG is PAIGE mistyped, PAUL is not PAULA.
        ((suffixed & shorter.is_in(known)) | (o_and_a & (a.is_in(known) | b.is_in(known)))).alias(
            "gendered"
        ),
        # JI and JI WOO, SU and SU BIN: a given name of several words and its first word.
        (longer.str.contains(" ") & (longer.str.split(" ").list.first() == shorter)).alias(
            "first_word"
        ),
        shorter.str.len_chars().alias("short"),
        (longer.str.len_chars() - shorter.str.len_chars()).alias("extra"),
        longer.str.starts_with(shorter).alias("prefix"),
        (a.str.head(1) == b.str.head(1)).alias("same_first"),
        # DB for DEBORAH, JO for JOHN: two letters the longer name holds, in order, from its
        # first; an abbreviation, as an initial is.
        (
            (shorter.str.len_chars() == 2)
            & longer.str.contains(
                pl.concat_str(pl.lit("^"), shorter.str.head(1), pl.lit(".*"), shorter.str.tail(1))
            )
        ).alias("abbreviation"),
    )
    short = frame.get_column("short").to_numpy()
    gendered = frame.get_column("gendered").to_numpy()
    typo = (((edits <= 1) & (short >= 3)) | ((edits <= 2) & (short >= 8))) & ~gendered
    initial = ((short == 1) & frame.get_column("same_first").to_numpy()) | frame.get_column(
        "abbreviation"
    ).to_numpy()
    # A short name starting a longer one: SAM/SAMANTHA, CHRIS/CHRISTOPHER (not DANIEL/DANIELLE).
    prefix = (
        frame.get_column("prefix").to_numpy()
        & (short >= 3)
        & (short <= 5)
        & (frame.get_column("extra").to_numpy() >= 2)
        & ~gendered
    ) | frame.get_column("first_word").to_numpy()
    judged = np.where(nickname, 4, np.where(typo, 3, np.where(initial | prefix, 2, 1)))
    levels[rest] = judged[inverse].astype(np.int8)
    return levels


def _names_agree(features: Features, codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """Whether two names (codes of ``features.name_values``, from either field) are one name
    but for a typo (Jaro-Winkler 0.92, or one edit) or a nickname; distinct pairs once."""
    keys = (codes_a.astype(np.int64) << 32) | codes_b.astype(np.int64)
    distinct, inverse = factorize(keys)
    code_a, code_b = distinct >> 32, distinct & 0xFFFFFFFF
    values = features.name_values
    first = values.gather(pl.Series(code_a.astype(np.uint32))).to_list()
    second = values.gather(pl.Series(code_b.astype(np.uint32))).to_list()
    similar = process.cpdist(first, second, scorer=_JARO_WINKLER, workers=-1) >= 0.92
    slips = process.cpdist(first, second, scorer=_OSA, workers=-1, score_cutoff=1) <= 1
    length = values.str.len_chars().fill_null(0).to_numpy()
    short = np.minimum(length[code_a], length[code_b])
    # LO and LO RUSSO: one word of a name of several.
    within = (
        pl.DataFrame({"a": first, "b": second}, schema={"a": pl.String, "b": pl.String})
        .select(
            pl.col("a").str.split(" ").list.contains(pl.col("b"))
            | pl.col("b").str.split(" ").list.contains(pl.col("a"))
        )
        .to_series()
        .to_numpy()
    )
    agree = similar | (slips & (short >= 3)) | within | _share_formal(features, code_a, code_b)
    return agree[inverse]


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
        out[:, 0] = _given_levels(features, left, right)

    def surname() -> None:
        coded = f["surname"]
        levels = _string_levels(coded, left, right, (0.80, 0.92), _JARO_WINKLER, typo_level=3)
        # A double surname written in full in one record and shortened in the other (CRUZ /
        # CRUZ MARTINEZ, GRAHAM JONES / JONES): one surname, as a typo is.
        below = np.flatnonzero((levels == 1) | (levels == 2))
        if below.size:
            keys = (coded.codes[left[below]].astype(np.int64) << 32) | coded.codes[
                right[below]
            ].astype(np.int64)
            distinct, inverse = factorize(keys)
            a = coded.values.gather(pl.Series((distinct >> 32).astype(np.uint32)))
            b = coded.values.gather(pl.Series((distinct & 0xFFFFFFFF).astype(np.uint32)))
            part = (
                pl.DataFrame({"a": a, "b": b})
                .select(
                    pl.col("a").str.split(" ").list.contains(pl.col("b"))
                    | pl.col("b").str.split(" ").list.contains(pl.col("a"))
                )
                .to_series()
                .to_numpy()
            )
            levels[below[part[inverse]]] = 3
        out[:, 1] = levels

    def birth() -> None:
        # Birthdate: one mistyped digit, or day and month swapped (DD/MM read as MM/DD); two
        # digits off is neither agreement nor conflict.
        birth_left = features.birth_numeric[left]
        birth_right = features.birth_numeric[right]
        swapped = (birth_left // 10000 == birth_right // 10000) & (
            (birth_left // 100 % 100 == birth_right % 100)
            & (birth_left % 100 == birth_right // 100 % 100)
        )
        out[:, 2] = _numeric_levels(birth_left, birth_right, 8, swapped, two_digit_level=True)

    def email() -> None:
        # Email: exact; a typo of it, one edit (caatherine.morin49@, @hotmail.co) but not a dot
        # or dash left out (monica.diaz@ and monicadiaz@ are two namesakes' mailboxes); the
        # same mailbox name at another domain (weaker: jsmith@ is many people's).
        coded = f["email"]
        local = f["email_local"]
        el = coded.codes[left]
        er = coded.codes[right]
        levels = _string_levels(coded, left, right, (), _JARO_WINKLER)  # 0, 1, 2 = exact
        levels[levels == 2] = 4
        fuzzy = np.flatnonzero(levels == 1)
        if fuzzy.size:
            keys = (el[fuzzy].astype(np.int64) << 32) | er[fuzzy].astype(np.int64)
            distinct, inverse = factorize(keys)
            a = coded.values.gather(pl.Series((distinct >> 32).astype(np.uint32)))
            b = coded.values.gather(pl.Series((distinct & 0xFFFFFFFF).astype(np.uint32)))
            edits = process.cpdist(
                a.to_list(), b.to_list(), scorer=_OSA, workers=-1, score_cutoff=1
            )
            separators_only = (
                a.str.replace_all(r"[._\-]", "") == b.str.replace_all(r"[._\-]", "")
            ).to_numpy()
            typo = (edits <= 1) & ~separators_only
            levels[fuzzy[typo[inverse]]] = 3
        same_local = (local.codes[left] == local.codes[right]) & (el >= 0) & (er >= 0) & (el != er)
        levels[same_local & (levels < 3)] = 2
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

    # Given name and surname typed into each other's field: both agree, crosswise (exactly,
    # or each within a typo: GRAHAM-JONES AMELUA is AMELIA GRAHAM-JONES).
    as_given, as_surname = features.name_as_given, features.name_as_surname
    swapped = (
        (as_given[left] >= 0)
        & (as_surname[left] >= 0)
        & (as_given[left] == as_surname[right])
        & (as_surname[left] == as_given[right])
    )
    out[swapped, 0] = 4
    out[swapped, 1] = 4
    maybe = np.flatnonzero(
        ((out[:, 0] == 1) | (out[:, 1] == 1))
        & (out[:, 0] != MISSING)
        & (out[:, 1] != MISSING)
        & ~swapped
    )
    if maybe.size:
        a, b = left[maybe], right[maybe]
        crosswise = _names_agree(features, as_given[a], as_surname[b]) & _names_agree(
            features, as_surname[a], as_given[b]
        )
        out[maybe[crosswise], 0] = 3
        out[maybe[crosswise], 1] = 3
    return out


@dataclass
class Model:
    """Fellegi-Sunter parameters: per comparison, m and u for each level (index 0 unused), and
    the prior: the probability that two records drawn at random are one person."""

    m: list[np.ndarray]
    u: list[np.ndarray]
    iterations: int
    # Set by ``estimate_prior`` once pairs are weighed; a random pair of a million records
    # matches about once in a million tries, of ten million once in ten million.
    random_match_probability: float = DEFAULT_RANDOM_MATCH_PROBABILITY
    estimated: bool = False  # m and u came from this data, not from the defaults
    # Set by the run (``rules.twin_pattern_is_a_typo``): in this data a different given name
    # beside the same birth date, surname and home is a typo, not a twin.
    twins_are_typos: bool = False
    # Per identifier (email, phone, address): the share of the pairs agreeing on one value that
    # are one person (``estimate_identifier_shares``); 0 reads agreement as names are read.
    same_person_share: dict[str, float] = field(default_factory=dict)

    @property
    def prior_bits(self) -> float:
        """The prior as log2 odds: the match weight a pair starts from."""
        p = self.random_match_probability
        return float(np.log2(p / (1.0 - p)))

    def level_weights(self) -> list[np.ndarray]:
        weights = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(np.maximum(m, 1e-9) / np.maximum(u, 1e-9))
            w[MISSING] = 0.0
            weights.append(w)
        return weights

    def describe(self, run: dict[str, float] | None = None) -> pl.DataFrame:
        """The model as a table, kept as state for ``explain-match``: one ``level`` row per
        comparison level (m, u, weight in bits); the ``prior`` (value: the probability two
        random records are one person); whether m and u came from the data (``m_and_u``); each
        identifier's ``same_person_share``; the ``twin_pattern`` reading; and ``run`` facts
        (records, match_threshold, run number) so that a reader can tell it reads the run's."""
        rows = []
        for comparison, m, u, w in zip(
            COMPARISONS, self.m, self.u, self.level_weights(), strict=True
        ):
            for level, name in enumerate(comparison.levels, start=1):
                rows.append(("level", comparison.name, name, m[level], u[level], w[level], None))
        rows.append(("prior", "", "", None, None, self.prior_bits, self.random_match_probability))
        rows.append(
            ("m_and_u", "", "estimated" if self.estimated else "default", None, None, None, None)
        )
        for name, share in self.same_person_share.items():
            rows.append(("same_person_share", name, "", None, None, None, share))
        rows.append(
            (
                "twin_pattern",
                "",
                "typo" if self.twins_are_typos else "twins",
                None,
                None,
                None,
                None,
            )
        )
        for name, value in (run or {}).items():
            rows.append(("run", name, "", None, None, None, value))
        return pl.DataFrame(
            rows,
            schema={
                "kind": pl.String,
                "comparison": pl.String,
                "level": pl.String,
                "m": pl.Float64,
                "u": pl.Float64,
                "weight": pl.Float64,
                "value": pl.Float64,
            },
            orient="row",
        )

    @classmethod
    def from_description(cls, table: pl.DataFrame) -> tuple[Model, dict[str, float]]:
        """The model and the run facts ``describe`` wrote, read back."""
        m = [np.zeros(len(c.levels) + 1) for c in COMPARISONS]
        u = [np.zeros(len(c.levels) + 1) for c in COMPARISONS]
        index = {c.name: i for i, c in enumerate(COMPARISONS)}
        model = cls(m=m, u=u, iterations=0)
        run: dict[str, float] = {}
        for row in table.iter_rows(named=True):
            kind = row["kind"]
            if kind == "level":
                column = index[row["comparison"]]
                level = COMPARISONS[column].levels.index(row["level"]) + 1
                m[column][level], u[column][level] = row["m"], row["u"]
            elif kind == "prior":
                model.random_match_probability = row["value"]
            elif kind == "m_and_u":
                model.estimated = row["level"] == "estimated"
            elif kind == "same_person_share":
                model.same_person_share[row["comparison"]] = row["value"]
            elif kind == "twin_pattern":
                model.twins_are_typos = row["level"] == "typo"
            elif kind == "run":
                run[row["comparison"]] = row["value"]
        return model, run


# Parameters typical of consumer records, used when a run has too few records or pairs for the
# estimates to mean anything (a handful of hand-made rows): one entry per level, index 0 unused.
DEFAULT_M: tuple[tuple[float, ...], ...] = (
    (0.0, 0.02, 0.05, 0.08, 0.85),
    (0.0, 0.02, 0.04, 0.06, 0.88),
    (0.0, 0.03, 0.02, 0.05, 0.90),
    (0.0, 0.15, 0.03, 0.02, 0.80),
    (0.0, 0.15, 0.05, 0.80),
    (0.0, 0.15, 0.10, 0.75),
    (0.0, 0.10, 0.90),
    (0.0, 0.10, 0.05, 0.85),
    (0.0, 0.03, 0.97),
)
DEFAULT_U: tuple[tuple[float, ...], ...] = (
    (0.0, 0.90, 0.07, 0.02, 0.01),
    (0.0, 0.95, 0.035, 0.01, 0.005),
    (0.0, 0.975, 0.02, 0.0049, 0.0001),
    (0.0, 0.99998, 1e-5, 1e-6, 1e-6),
    (0.0, 0.99998, 1e-5, 1e-6),
    (0.0, 0.999, 0.0009, 0.0001),
    (0.0, 0.999, 0.001),
    (0.0, 0.98, 0.005, 0.015),
    (0.0, 0.5, 0.5),
)


def default_model() -> Model:
    return Model(
        m=[np.asarray(m, dtype=np.float64) for m in DEFAULT_M],
        u=[np.asarray(u, dtype=np.float64) for u in DEFAULT_U],
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
# The least chance that one person's two records differ in a contact or place field: people
# move (one in ten a year in the US), change phones and keep several mailboxes. Data whose
# matches rarely show it (records of one snapshot) would otherwise make a move a veto.
CHANGE_FLOOR = 0.05
_CHANGES = ("email", "phone", "address", "postal", "city")


def _floored(m: np.ndarray, different: float = M_FLOOR) -> np.ndarray:
    out = m.copy()
    out[1:] = np.maximum(out[1:], M_FLOOR)
    out[1] = max(out[1], different)
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
    matches share contact details, pairs with the same email or foreign key teach how often
    matches share names and birthdates. A shared phone does not open the second session: the
    people of one household share it, and would teach that matches often differ in name.
    """
    m = [np.asarray(values, dtype=np.float64).copy() for values in DEFAULT_M]
    names = {c.name: i for i, c in enumerate(COMPARISONS)}
    identity = [names["given"], names["surname"], names["birth"]]
    contact = [i for i in range(len(COMPARISONS)) if i not in identity]
    top = [len(c.levels) for c in COMPARISONS]

    same_identity = np.ones(levels.shape[0], dtype=bool)
    for column in identity:
        same_identity &= levels[:, column] == top[column]
    same_contact = levels[:, names["email"]] == top[names["email"]]
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
    m = [
        _floored(values, CHANGE_FLOOR if c.name in _CHANGES else M_FLOOR)
        for c, values in zip(COMPARISONS, m, strict=True)
    ]
    return Model(m=m, u=u, iterations=iterations, estimated=True)


_INDEX = {c.name: i for i, c in enumerate(COMPARISONS)}
# The comparisons' positions, by the names the variables spell.
GIVEN, SURNAME, BIRTH, EMAIL, PHONE, ADDRESS, POSTAL, CITY, GENDER = (
    _INDEX[name] for name in "given surname birth email phone address postal city gender".split()
)
TOP = tuple(len(c.levels) for c in COMPARISONS)


# The identifiers whose agreement is read as "how many strangers hold this value": a value held
# by a few records is mostly one person's (an email on three of their records), unlike a name.
IDENTIFIERS = ("email", "phone", "address")


def _strangers_frequency(frequency: np.ndarray, present: int, share: float) -> np.ndarray:
    """The chance that another record holding the value is someone else: of the other records
    that hold it, the share ``1 - share`` are strangers (``share``: of pairs agreeing on such a
    value, how many are one person). Never below one stranger in a hundred records holding it."""
    others = np.maximum(frequency * present - 1.0, 0.0) / max(present - 1, 1)
    return np.maximum(others * (1.0 - share), 0.01 / max(present, 1))


def estimate_identifier_shares(model: Model, levels: np.ndarray) -> dict[str, float]:
    """Per identifier, the share of candidate pairs agreeing on it that are one person: those
    whose full name agrees too, over the chance a match's full name agrees (from m). Strangers
    rarely share both, so the ratio estimates how often a shared value is one person's."""
    name_agrees = (levels[:, GIVEN] == TOP[GIVEN]) & (levels[:, SURNAME] == TOP[SURNAME])
    both_named = (levels[:, GIVEN] != MISSING) & (levels[:, SURNAME] != MISSING)
    match_name = float(model.m[GIVEN][TOP[GIVEN]] * model.m[SURNAME][TOP[SURNAME]])
    shares = {}
    for name in IDENTIFIERS:
        column = _INDEX[name]
        agree = (levels[:, column] == TOP[column]) & both_named
        if agree.sum() < 100 or match_name <= 0:
            continue
        observed = float(name_agrees[agree].mean())
        shares[name] = min(max(observed / match_name, 0.0), 0.99)
    return shares


def _parts(
    model: Model,
    features: Features,
    levels: np.ndarray,
    left: np.ndarray,
    use_frequencies: bool,
) -> Iterator[tuple[int, np.ndarray]]:
    """(comparison, bits per pair) for each comparison in turn.

    Exact agreement weighs log2(m / f), f the share of records holding the agreed value: two
    SMITHs prove less than two ZBIGNIEWSKIs, a birthday shared by forty people less than an
    email shared by two. Place is counted once: a street address that agrees already says the
    postal code and city agree, and a postal code the city, so those agreements add nothing
    more; and a street that differs already says the move, so a postal code and city that
    differ with it add nothing against.
    """
    address, postal = levels[:, ADDRESS], levels[:, POSTAL]
    address_agrees = address >= 2
    implied = {POSTAL: address_agrees, CITY: address_agrees | (postal == TOP[POSTAL])}
    # A move changes street, postal code and city at once: one disagreement, counted once.
    moved = {POSTAL: address == 1, CITY: (address == 1) | (postal == 1)}
    for column, (comparison, level_weight) in enumerate(
        zip(COMPARISONS, model.level_weights(), strict=True)
    ):
        level = levels[:, column]
        part = level_weight[level].astype(np.float32)
        if comparison.frequency_field is not None and use_frequencies:
            coded = features.fields[comparison.frequency_field]
            top = TOP[column]
            exact = np.flatnonzero(level == top)
            if exact.size:
                codes = coded.codes[left[exact]]
                frequency = coded.frequency[np.maximum(codes, 0)]
                share = model.same_person_share.get(comparison.name)
                if share is not None:
                    frequency = _strangers_frequency(frequency, coded.present, share)
                frequency = np.maximum(frequency, 1e-9)
                part[exact] = np.log2(max(float(model.m[column][top]), 1e-9) / frequency)
        if column in implied:
            agreeing = implied[column] & (level >= 2)
            part[agreeing] = np.minimum(part[agreeing], 0.0)
            part[moved[column] & (level == 1)] = 0.0
        yield column, part


def pair_weights(
    model: Model,
    features: Features,
    levels: np.ndarray,
    left: np.ndarray,
    use_frequencies: bool = True,
    *,
    by_comparison: bool = False,
) -> np.ndarray:
    """Match weight in bits per pair: the log2 Bayes factor, prior excluded (float64). With
    ``by_comparison``, the bits each comparison adds, pairs x comparisons, for explaining a few
    pairs (the per-pair sum keeps one column at a time: candidate pairs run to the millions)."""
    if by_comparison:
        parts = np.zeros(levels.shape, dtype=np.float64)
        for column, part in _parts(model, features, levels, left, use_frequencies):
            parts[:, column] = part
        return parts
    weights = np.zeros(levels.shape[0], dtype=np.float64)
    for _, part in _parts(model, features, levels, left, use_frequencies):
        weights += part
    return weights
