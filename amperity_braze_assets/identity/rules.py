"""Rules no match weight overrules: what links two records whatever their score, what keeps
them apart, and how much independent evidence a link needs.

A weight adds evidence field by field as if the fields were independent. For the people who
look most alike they are not: a household shares its surname, street, phone and postal code,
twins their birthday too, and namesakes a name that proves nothing by itself. So beside the
weight a link must pass these rules:

- **Conflicts refuse a link.** Given names that clearly differ (not a nickname, an initial or a
  typo) are two people, however much else agrees: relatives share everything else. Only an
  exact email with the birth date and surname forgives it (a nickname our table lacks), or data
  without households, where a name that differs beside the same birth date, surname and home
  is a typo, not a twin (``twin_pattern_is_a_typo`` measures which the data is). Birth
  dates a generation apart, or names that say Jr and Sr (or Jr on one record only, with
  nothing but the name and home to go on), are two people. Other differing birth dates are
  forgiven only where the full name and an address, email or phone agree and no email or phone
  differs. Different emails link only where the given name agrees.
- **Support.** A link needs two independent identifying agreements among the full name, birth
  date, email, phone and street address (a name part alone, a mailbox name at another domain
  or a postal code counts half; an initial nothing), or an exact email, or a given name at the same
  home; and one of them must be the person's own (a given name, a birth date, an email), not
  only the home's (a surname, street and phone are the household's). Name alone, or a birth
  date with a surname, a postal code or a given name, never links, at any weight.
- **Assertions.** A foreign key that agrees links (an ``sk`` that differs still separates), and a
  steward's ``always_merge`` links against every rule but their own ``never_merge``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .features import Features
from .scoring import ADDRESS, BIRTH, EMAIL, GIVEN, PHONE, POSTAL, SURNAME, TOP

# Why a pair was refused, by code (0: not refused). Order is precedence: the first that applies.
REFUSALS: tuple[str, ...] = (
    "",
    "separation key differs",
    "steward: never merge",
    "a generation apart (Jr/Sr, or birth dates)",
    "given names conflict",
    "birth dates conflict",
    "emails differ without the given name",
    "too little identifying evidence",
)
(
    SEPARATION_KEY,
    NEVER_MERGE,
    GENERATION_GAP,
    GIVEN_CONFLICT,
    BIRTH_CONFLICT,
    EMAIL_CONFLICT,
    NO_SUPPORT,
) = range(1, 8)
# Conflict codes, as clustering reads them.
SOFT, HARD = 1, 2
# Bits added to a pair whose records shared a cluster in the previous run, and taken from a pair
# whose records were apart: a borderline pair keeps last run's decision unless the evidence moved
# by more than this, so re-estimated parameters do not reshuffle untouched people (jitter).
HYSTERESIS_BITS = 4.0
# Birth years this far apart are a parent and a child sharing a name, not a typo.
GENERATION_YEARS = 15


def pair_keys(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """One uint64 per unordered pair of row numbers: (low << 32) | high."""
    low = np.minimum(left, right).astype(np.uint64)
    high = np.maximum(left, right).astype(np.uint64)
    return (low << np.uint64(32)) | high


def unpack_pairs(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pair_keys`` back to (left, right) row numbers."""
    return (packed >> np.uint64(32)).astype(np.int64), (packed & np.uint64(0xFFFFFFFF)).astype(
        np.int64
    )


@dataclass(frozen=True)
class StewardPairs:
    """A steward's overrides as pair keys over the run's row numbers (sorted, distinct)."""

    always: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    never: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))

    @classmethod
    def for_records(
        cls,
        keys: pl.DataFrame,
        always_merge: list[tuple[str, str, str, str]],
        never_merge: list[tuple[str, str, str, str]],
    ) -> StewardPairs:
        """The pairs (source, record_id, source, record_id) whose two records are both among
        ``keys`` (``source``, ``record_id``, in row order)."""
        return cls(always=_rows_of(keys, always_merge), never=_rows_of(keys, never_merge))


def _rows_of(keys: pl.DataFrame, pairs: list[tuple[str, str, str, str]]) -> np.ndarray:
    if not pairs:
        return np.zeros(0, dtype=np.uint64)
    rows = keys.select(
        pl.col("source").cast(pl.String), pl.col("record_id").cast(pl.String)
    ).with_row_index("row")
    wanted = pl.DataFrame(
        pairs, schema=["source_a", "record_id_a", "source_b", "record_id_b"], orient="row"
    )
    found = wanted.join(
        rows.rename({"source": "source_a", "record_id": "record_id_a", "row": "row_a"}),
        on=["source_a", "record_id_a"],
    ).join(
        rows.rename({"source": "source_b", "record_id": "record_id_b", "row": "row_b"}),
        on=["source_b", "record_id_b"],
    )
    found = found.filter(pl.col("row_a") != pl.col("row_b"))
    return np.unique(
        pair_keys(
            found.get_column("row_a").to_numpy().astype(np.int64),
            found.get_column("row_b").to_numpy().astype(np.int64),
        )
    )


NO_STEWARD = StewardPairs()


@dataclass
class Verdicts:
    """Per pair: forced links, the refusal that applies (``REFUSALS`` code, 0 = none) and
    whether the two may share a cluster at all (``conflict``: 0, ``SOFT`` or ``HARD``)."""

    forced: np.ndarray  # bool
    forced_by: np.ndarray  # int16: 0 none, 1.. the fk in ``features.fk`` order, -1 a steward
    refused: np.ndarray  # int8
    conflict: np.ndarray  # int8


def _member(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    if table.size == 0:
        return np.zeros(keys.size, dtype=bool)
    position = np.minimum(np.searchsorted(table, keys), table.size - 1)
    return table[position] == keys


# At most this share of the pairs of different people who share a home and a surname share a
# birthday too (twins; far fewer in real populations). What ``twin_pattern_is_a_typo`` assumes.
TWIN_RATE = 0.1
# Fewer pairs of that pattern than this say nothing about the data: they are taken as twins.
TWIN_PATTERN_EVIDENCE = 30


def twin_pattern_is_a_typo(levels: np.ndarray, match_threshold: float) -> bool:
    """Whether, in this data, a given name that conflicts while the birth date, surname and
    address or phone agree is a data-entry error rather than a twin.

    Where people share homes, the pairs that agree on all of that but the given name are few
    beside those that differ in birth date too (the households): twins are at most
    ``TWIN_RATE`` of the households, so the first hold up to that many twins. Only where those
    could be no more than 1 - match_threshold of them (a data set with no households, whose
    records had given names replaced: FEBRL's kind) is the pattern one person.
    """
    given, surname, birth = levels[:, GIVEN], levels[:, SURNAME], levels[:, BIRTH]
    home = (levels[:, ADDRESS] >= 2) | (levels[:, PHONE] == TOP[PHONE])
    household = (given == 1) & (surname >= 3) & home
    same_birthday = int((household & (birth == TOP[BIRTH])).sum())
    apart = int((household & (birth == 1)).sum())
    if same_birthday < TWIN_PATTERN_EVIDENCE:
        return False
    return TWIN_RATE * apart / same_birthday <= 1.0 - match_threshold


def _a_generation_apart(
    features: Features, levels: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Birth years a generation apart (not a typo'd year), suffixes that differ, or Jr on one
    record only with nothing but the name and home to go on."""
    given, birth, email = levels[:, GIVEN], levels[:, BIRTH], levels[:, EMAIL]
    birth_left, birth_right = features.birth_numeric[left], features.birth_numeric[right]
    # A year typed wrong keeps the day and month: 1918-07-01 and 1981-07-01 are one date.
    year_typo = (birth == 2) & (birth_left % 10000 == birth_right % 10000)
    generation = features.fields["generation"].codes
    generation_left, generation_right = generation[left], generation[right]
    apart = (
        (birth >= 1)
        & (birth <= 2)
        & ~year_typo
        & (np.abs(birth_left // 10000 - birth_right // 10000) >= GENERATION_YEARS)
    ) | ((generation_left >= 0) & (generation_right >= 0) & (generation_left != generation_right))
    # JR on one record and no suffix on the other, the same name at the same home: as likely
    # the father as the son, unless a birth date or an email says which.
    one_suffix = (generation_left >= 0) != (generation_right >= 0)
    return apart | (one_suffix & (given >= 3) & (birth < 3) & (email < 3))


def _supported(levels: np.ndarray, full_name: np.ndarray, home: np.ndarray) -> np.ndarray:
    """Enough independent identifying evidence, some of it the person's own."""
    given, surname, birth = levels[:, GIVEN], levels[:, SURNAME], levels[:, BIRTH]
    email, phone, address = levels[:, EMAIL], levels[:, PHONE], levels[:, ADDRESS]
    # Support in half units: each identifying agreement counts two (an email typo too); a name
    # part alone, a mailbox name at another domain or a postal code without the street one; an
    # initial nothing (J SMITH is a surname and a letter).
    # Two units link: a birth date needs a full name, a contact or an address, or both a name
    # part and the postal code.
    half_units = (
        2 * full_name.astype(np.int8)
        + 2 * (birth >= 3)
        + 2 * (email >= 3)
        + (email == 2)
        + 2 * (phone == TOP[PHONE])
        + 2 * (address >= 2)
        + ((given >= 3) & ~full_name)
        + ((surname >= 3) & ~full_name)
        + ((levels[:, POSTAL] == TOP[POSTAL]) & (address < 2))
    )
    # And something of the person, not only of the home: a given name, a birth date or an
    # email. A surname, a street and a phone are a household's as much as one member's.
    personal = (given >= 3) | (birth >= 3) | (email >= 3)
    return (
        (half_units >= 4)
        # An exact email is one mailbox: enough alone (a newsletter sign-up), unless the given
        # names conflict.
        | ((email == TOP[EMAIL]) & (given != 1))
        # A given name at the same home or phone is a person: a household's members share
        # the surname, not the given name (Jr and Sr are told apart by _a_generation_apart).
        | ((given >= 3) & home)
    ) & personal


def _separated(features: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """An ``sk`` that both records have and that differs."""
    separated = np.zeros(left.size, dtype=bool)
    for codes in features.sk.values():
        separated |= (codes[left] >= 0) & (codes[right] >= 0) & (codes[left] != codes[right])
    return separated


def _facts(
    features: Features,
    levels: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    twins_are_typos: bool,
) -> dict[str, np.ndarray]:
    """The agreements and conflicts the rules read, each a bool per pair."""
    given, surname, birth = levels[:, GIVEN], levels[:, SURNAME], levels[:, BIRTH]
    email, phone, address = levels[:, EMAIL], levels[:, PHONE], levels[:, ADDRESS]
    email_exact = email == TOP[EMAIL]
    phone_exact = phone == TOP[PHONE]
    home = (address >= 2) | phone_exact
    # The full name: a given name (exact, nickname or typo; an initial is only a name part)
    # and the surname.
    full_name = (given >= 3) & (surname >= 3)
    given_conflict = (
        (given == 1)
        & ~(email_exact & (birth >= 3) & (surname >= 3))
        & ~(twins_are_typos & (birth == TOP[BIRTH]) & (surname >= 3) & home)
    )
    birth_conflict = (birth == 1) & ~(
        full_name & ((address >= 2) | email_exact | phone_exact) & (email != 1) & (phone != 1)
    )
    emails_differ = email == 1
    # Two mailboxes are one person's only where the given name says so; a record with a
    # surname alone and another email is as likely the person's spouse.
    emails_differ_without_given = emails_differ & (given < 3)
    return {
        "supported": _supported(levels, full_name, home),
        "emails_differ": emails_differ,
        "emails_differ_without_given": emails_differ_without_given,
        "birth_conflict": birth_conflict,
        "given_conflict": given_conflict,
        "a_generation_apart": _a_generation_apart(features, levels, left, right),
        "separated": _separated(features, left, right),
    }


def _forced_by(
    features: Features, left: np.ndarray, right: np.ndarray, always: np.ndarray
) -> np.ndarray:
    forced_by = np.zeros(left.size, dtype=np.int16)
    for index, codes in enumerate(features.fk.values(), start=1):
        agree = (codes[left] >= 0) & (codes[left] == codes[right])
        forced_by[agree & (forced_by == 0)] = index
    forced_by[always] = -1
    return forced_by


def pair_rules(
    features: Features,
    levels: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    steward: StewardPairs = NO_STEWARD,
    twins_are_typos: bool = False,
) -> Verdicts:
    """The rules for pairs (see the module's description), and whether each pair may share a
    cluster when a chain of links joins them.

    The second is looser than what refuses a direct link, since records of one person drift
    apart through the ones between them (an old address here, a typo'd birth date there): two
    members conflict (``SOFT``) when they are two people by the household rules (given names
    that conflict, a generation apart) or when both birth date and email differ; a pair a
    foreign key or a steward links never does. An ``sk`` that differs or a steward's
    ``never_merge`` is ``HARD``: even an assertion does not cross it.
    """
    packed = pair_keys(left, right)
    always = _member(packed, steward.always)
    never = _member(packed, steward.never)
    facts = _facts(features, levels, left, right, twins_are_typos)
    forced_by = _forced_by(features, left, right, always)
    refused = np.zeros(left.size, dtype=np.int8)
    # Lowest precedence first, so that the first rule that applies is the one left standing.
    refused[~facts["supported"]] = NO_SUPPORT
    refused[facts["emails_differ_without_given"]] = EMAIL_CONFLICT
    refused[facts["birth_conflict"]] = BIRTH_CONFLICT
    refused[facts["given_conflict"]] = GIVEN_CONFLICT
    refused[facts["a_generation_apart"]] = GENERATION_GAP
    # A foreign key asserts one person: it overrides what the data says, not an sk.
    refused[forced_by > 0] = 0
    refused[facts["separated"]] = SEPARATION_KEY
    refused[always] = 0
    refused[never] = NEVER_MERGE
    forced = (forced_by != 0) & (refused == 0)

    two_people = (
        facts["given_conflict"]
        | facts["a_generation_apart"]
        | (facts["birth_conflict"] & facts["emails_differ"])
    )
    conflict = np.where(two_people & (forced_by == 0), SOFT, 0).astype(np.int8)
    conflict[(facts["separated"] & ~always) | never] = HARD
    return Verdicts(forced=forced, forced_by=forced_by, refused=refused, conflict=conflict)
