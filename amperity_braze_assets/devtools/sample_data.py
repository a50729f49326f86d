"""A deterministic, vectorized generator of realistically messy customer data.

`generate_sample_data(data_dir, customers, seed, profile=...)` invents `customers` people and
writes what three systems of one retailer would export about them, plus their orders and the
ground truth:

    sources/pos/pos_customers.csv         store tills, comma-separated, UPPER CASE habits
    sources/web/web_accounts.parquet      web-shop accounts, typed columns
    sources/loyalty/loyalty_members.csv   loyalty programme, semicolon-separated
    sources/orders/orders.csv             orders keyed by (customer_source, customer_id), one
                                          row per line item (sku, product_name, quantity,
                                          unit_price), the order's fields on its first row
    truth/sample_truth.parquet            which person each written customer row belongs to
    truth/relations.parquet               pairs of different persons built to look alike
    truth/summary.json                    the returned summary, with paths relative to data_dir

The truth has one row per written customer row, corrupt ones included: `source`, `record_id`
(the key exactly as written, "" where the corrupt row has none; web ids as text), `person_id`,
`is_corrupt`, `corruption` and `row_index` (0-based data row in its file, which is how a row
without a key is found). Corruption reasons: POS `extra_unquoted_field`, `invalid_utf8`,
`empty_primary_key`; loyalty `too_few_fields`, `empty_primary_key`. orders.csv also has a few
corrupt lines (`extra_unquoted_field`, `unparseable_amount`, `unparseable_timestamp`), counted
in the summary; they still name existing customer records.

The data is messy the way real exports are (case, whitespace, typos, nicknames, swapped names,
phone and date formats, placeholder junk, a store phone typed for many customers, people who
moved, households that share a phone and an address but are different people, duplicate
registrations) and has a few deliberately corrupt lines so quarantine can be shown.

Orders have line items from a small catalogue (sample_products): 1-4 lines, mostly one unit
each, whose quantity x unit price adds up to the order's amount to the cent; they are drawn
after everything else, so the orders' ids, buyers, times and amounts are what they were before
the orders had items. The file is laid out as a Shopify-style export writes it: one row per
item, the order id on each, the order's amount, time, buyer and channel on its first row only.

Two profiles. "classic" is the original population, byte for byte what the generator wrote
before profiles existed (orders.csv aside, which gained its line items): uniform birth dates 1940-2006, ~2,100 surnames and ~470 given names
with a mild Zipf skew, households of two, movers who change only their address. Identity
resolution finds it easy. "realistic" (the default) adds what real customer files have:

- birth dates over adult ages 18-90 at the reference time, weighted to 25-65, so that at 1M
  persons ~40 share each date; placeholder birth dates (1900-01-01, 1970-01-01, ...) on a few
  records;
- names with realistic frequency: Smith ~1% of people, the top ten surnames ~6%, the top ten
  given names of each gender ~18%, and a long tail of ~270,000 invented rare surnames (at 1M
  persons ~20% have a surname held by five people or fewer); names with diacritics (Wiśniewski,
  Łukasz, Søren, Nguyễn), apostrophes, spaces and hyphens, which the tills write without
  accents and the loyalty export now and then garbles (MÃ¼ller);
- namesakes: pairs forced to share given name and surname and nothing else (on top of the
  ones chance makes); twins: same birth date, surname, address and home phone, their own given
  names (sometimes alike: Daniel and Danielle) and emails; households of three and four beside
  the pairs, a quarter of them giving one email address for two members; Jr/Sr pairs: same
  name, address and phone, born 25-30 years apart, Jr/Sr sometimes written after the surname;
- movers whose record in one source has the old address and the old phone but the same email;
- work email addresses (first.last@employer) in one source for some people in two or more.

truth/relations.parquet has `person_a` < `person_b` (person ids) and `kind`: `namesake`,
`twin`, `household` (members of one household: same address and phone), `shared_email` (a
household pair that also gives one email address) or `jr_sr`; one row per pair, with its most
specific kind. It lists the pairs the generator built, not the namesakes chance makes (at 1M
persons those are about a million pairs; group the persons by name to find them). The classic
profile writes it too, with its household pairs, but its summary does not list it, so that
summary.json stays byte for byte the original; the realistic summary also has `profile` and
the number of relations per kind.

How it is built: every random draw comes from one `numpy.random.default_rng(seed)`, in a fixed
order, and every per-row transformation is a numpy or polars column operation, never a Python
loop over rows (Python loops only run over the name lists, once per process). The realistic
profile's extra draws are made only in its own code paths, so the classic profile's stream of
draws, and its files, are unchanged. Dates are relative to a reference time drawn from the
seed, not today's date, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import functools
import io
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from amperity_braze_assets.devtools import sample_names as names
from amperity_braze_assets.devtools.sample_products import CATALOGUE

SOURCES = ("pos", "web", "loyalty")
POS, WEB, LOYALTY = 0, 1, 2
PROFILES = ("realistic", "classic")
RELATION_KINDS = ("namesake", "twin", "household", "shared_email", "jr_sr")

# Share of persons present in each source before the "at least one source" fix-up; the fix-up
# lifts them to roughly 60% / 55% / 35%.
_SOURCE_BASE_RATES = np.array([0.55, 0.50, 0.32])
_DUPLICATE_RATE = 0.04  # persons with a second record inside one source
_MOVER_RATE = 0.06  # persons whose record in one source still has an old address
_HOUSEHOLD_PAIR_RATE = 0.04  # pairs of persons; both members share phone and address -> ~8%
_NO_EMAIL_RATE = 0.05  # persons who never gave an email
_CORRUPT_RATE = 0.0005  # share of corrupt lines per CSV file
_MIN_CORRUPT_PER_CSV = 3
_STORE_COUNT = 25

# Stands for the invalid UTF-8 bytes until the CSV text is encoded: polars strings must be
# valid UTF-8, so the bytes are patched in afterwards. A private-use character never occurs in
# the generated data.
_INVALID_UTF8_MARKER = "\ue000"
_INVALID_UTF8_BYTES = b"\xff\xfe"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_SECONDS = 86_400
_BIRTH_START = (datetime(1940, 1, 1, tzinfo=UTC) - _EPOCH).days
_BIRTH_END = (datetime(2006, 12, 31, tzinfo=UTC) - _EPOCH).days

# The realistic profile's populations, as shares of persons (pairs and households are counted
# per person, so 0.004 twin pairs per person puts 0.8% of persons in a twin pair).
_LARGE_HOUSEHOLD_RATE = 0.008  # households of 3-4 persons, on top of the pairs above
_LARGE_HOUSEHOLD_FOUR = 0.45  # share of the large households that have four members
_SHARED_EMAIL_RATE = 0.25  # households whose first two members give one email address
_TWIN_PAIR_RATE = 0.004
_SIMILAR_TWIN_NAMES = 0.3  # twins named alike (Daniel and Danielle, Mary and Maria)
_JR_SR_PAIR_RATE = 0.003  # father and son of the same name at one address
_NAMESAKE_PAIR_RATE = 0.015  # pairs forced to share a full name, on top of chance ones
_WORK_EMAIL_RATE = 0.06  # persons who give a work address in one source (if in two or more)
_ACCENTED_SHARE = 0.15  # bearers of Garcia, Muller, ... who write García, Müller

# Ages at the reference time, as (age, relative weight), interpolated per year of age: few
# customers under 22 or over 80, most between 25 and 65.
_AGE_WEIGHTS = (
    (18, 0.35), (22, 0.75), (25, 1.0), (35, 1.1), (50, 1.05), (65, 0.8), (75, 0.45),
    (85, 0.15), (90, 0.06),
)  # fmt: skip
_YEAR_DAYS = 365.2425

# Name frequency by rank as (rank, percent of people), interpolated on log-log scales. The
# surname anchors follow the US Census surname list (Smith 0.83%, the 10th 0.35%, the 100th
# 0.075%, the 1000th 0.009%) and continue into the invented tail; normalised, the top surname
# holds ~1% of people and the top ten ~6%. Given names are ranked within each gender; the top
# ten of each hold ~18%.
_SURNAME_RANK_PERCENT = (
    (1, 0.83), (10, 0.35), (100, 0.075), (1_000, 0.009), (10_000, 0.0008), (300_000, 0.00002),
)  # fmt: skip
_GIVEN_RANK_PERCENT = ((1, 2.4), (10, 1.0), (50, 0.45), (100, 0.2), (300, 0.04), (1_000, 0.005))
# Invented tail surnames are numbered through their syllable combinations with this stride
# (coprime with the number of combinations), so that neighbouring ranks do not share syllables.
_TAIL_STRIDE = 104_729


@dataclass(frozen=True)
class _SourceRecords:
    """Which person each record of one source belongs to, in file order."""

    person_index: np.ndarray  # 0-based index into the persons table
    is_duplicate: np.ndarray  # the second registration of a person in this source
    uses_old_address: np.ndarray  # the person moved; this record has the address before
    # realistic profile: this record has the person's work email instead (None in classic)
    uses_work_email: np.ndarray | None = None


@dataclass(frozen=True)
class _Vocabulary:
    """The names a profile draws from, indexed like the persons' given_idx and surname_idx."""

    given: pl.Series
    given_gender: np.ndarray  # "M" or "F" per given name
    surnames: pl.Series
    # as they go into email addresses: lower case ASCII letters only
    given_email: pl.Series
    surname_email: pl.Series
    # realistic profile only (None in classic): draw weights (given names within their gender),
    # spellings without diacritics, spellings garbled by a wrong code page, and which names
    # have anything beyond ASCII
    given_weights: np.ndarray | None = None
    surname_weights: np.ndarray | None = None
    given_folded: pl.Series | None = None
    given_mojibake: pl.Series | None = None
    given_non_ascii: np.ndarray | None = None
    surname_folded: pl.Series | None = None
    surname_mojibake: pl.Series | None = None
    surname_non_ascii: np.ndarray | None = None


@dataclass(frozen=True)
class _Extras:
    """Per-source rates of the realistic profile's record variations (shares of records)."""

    fold_accents: float  # diacritics dropped (Müller -> Muller), of records with such a name
    mojibake: float  # UTF-8 read as Windows-1252 (Müller -> MÃ¼ller), same base
    generation_suffix: float  # Jr / Sr written after the surname, of those persons' records
    placeholder_birthdate: float  # 1900-01-01 and the like instead of the birth date


# Tills cannot type accents; the web shop keeps what people type; the loyalty export went
# through a code-page conversion now and then.
_REALISTIC_EXTRAS = {
    "pos": _Extras(
        fold_accents=0.85, mojibake=0.0, generation_suffix=0.4, placeholder_birthdate=0.008
    ),
    "web": _Extras(
        fold_accents=0.05, mojibake=0.0, generation_suffix=0.2, placeholder_birthdate=0.002
    ),
    "loyalty": _Extras(
        fold_accents=0.3, mojibake=0.08, generation_suffix=0.3, placeholder_birthdate=0.004
    ),
}


@dataclass(frozen=True)
class _Profile:
    name: str
    vocabulary: _Vocabulary
    extras: dict[str, _Extras] | None  # None: the classic profile, no extra variations


# --------------------------------------------------------------------------------------------
# Small vectorized helpers
# --------------------------------------------------------------------------------------------


def _zipf_weights(count: int, shift: float, exponent: float = 1.0) -> np.ndarray:
    """Weights for a list ordered common-first: a few values dominate, a long tail stays rare."""
    weights = 1.0 / (np.arange(count) + shift) ** exponent
    return weights / weights.sum()


def _draw(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """Indices drawn with replacement according to `weights` (need not be normalised)."""
    cumulative = np.cumsum(np.asarray(weights, dtype=float))
    cumulative /= cumulative[-1]
    # inverse-CDF sampling; the clip guards against the last bound rounding below 1.0
    return np.searchsorted(cumulative, rng.random(n), side="right").clip(0, len(cumulative) - 1)


def _take(values, index: np.ndarray) -> pl.Series:
    """The strings `values[index]` as a polars Series (a gather, not a Python loop)."""
    return pl.Series(values=list(values), dtype=pl.String).gather(index)


def _seconds_to_datetime(seconds: np.ndarray) -> pl.Series:
    """Unix seconds as a UTC datetime Series."""
    return (
        pl.Series(seconds.astype(np.int64) * 1_000_000)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )


def _typo(col: pl.Expr, kind: pl.Expr, where: pl.Expr, letter: pl.Expr) -> pl.Expr:
    """One keyboard slip: substitute (kind 0), drop (1) or transpose (2) one character.

    The position avoids the first character (people rarely mistype it) and strings shorter than
    three characters are left alone. `where` is a uniform number in [0, 1) choosing the position.
    """
    length = col.str.len_chars()
    position = (1 + (where * (length - 2).clip(lower_bound=0)).floor()).cast(pl.Int64)
    head = col.str.slice(0, position)
    substituted = head + letter + col.str.slice(position + 1)
    dropped = head + col.str.slice(position + 1)
    transposed = (
        head
        + col.str.slice(position + 1, 1)
        + col.str.slice(position, 1)
        + col.str.slice(position + 2)
    )
    return (
        pl.when(length < 3)
        .then(col)
        .when(kind == 0)
        .then(substituted)
        .when(kind == 1)
        .then(dropped)
        .otherwise(transposed)
    )


def _write_lines(path: Path, header: str, lines: pl.Series, has_invalid_utf8: bool = False) -> None:
    """Write a header and pre-built CSV lines, patching in the invalid UTF-8 bytes if asked.

    The lines go out through polars' CSV writer with quoting off, which writes them verbatim.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame({"line": lines})
    if not has_invalid_utf8:
        with path.open("wb") as out:
            out.write((header + "\n").encode())
            frame.write_csv(out, include_header=False, quote_style="never")
        return
    buffer = io.BytesIO()
    buffer.write((header + "\n").encode())
    frame.write_csv(buffer, include_header=False, quote_style="never")
    path.write_bytes(
        buffer.getbuffer().tobytes().replace(_INVALID_UTF8_MARKER.encode(), _INVALID_UTF8_BYTES)
    )


def _corrupt_rows(rng: np.random.Generator, n_rows: int, kinds: tuple[str, ...]) -> pl.Series:
    """Choose the corrupt rows of a CSV file: about 0.05%, at least three; kinds cycle."""
    count = min(n_rows, max(_MIN_CORRUPT_PER_CSV, round(n_rows * _CORRUPT_RATE)))
    rows = np.sort(rng.choice(n_rows, size=count, replace=False))
    kinds_in_order = _take(kinds, np.arange(count) % len(kinds))
    reasons = pl.repeat(None, n_rows, dtype=pl.String, eager=True)
    return reasons.scatter(rows, kinds_in_order).alias("corruption")


def _increasing_ids(rng: np.random.Generator, n: int, start: int, max_gap: int) -> np.ndarray:
    """Unique ids in file order with gaps, like a sequence with deleted rows."""
    return start + np.cumsum(rng.integers(1, max_gap + 1, size=n))


# --------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------


def _random_addresses(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """House number, street, suffix, unit and city/ZIP indices for n addresses."""
    has_unit = rng.random(n) < 0.18
    return {
        # log-uniform house numbers: many short ones, some five-digit rural numbers
        "house_no": np.floor(10 ** rng.uniform(0.0, 4.3, size=n)).astype(np.int64),
        "street_idx": _draw(rng, n, _zipf_weights(len(names.STREET_NAMES), 8)),
        "suffix_idx": _draw(rng, n, [w for _, _, w in names.STREET_SUFFIXES]),
        "unit_prefix_idx": np.where(
            has_unit, _draw(rng, n, [5, 2, 2, 2, 1, 1, 1]), -1
        ),  # -1 = no unit
        "unit_no": rng.integers(1, 40, size=n),
        "unit_letter": rng.integers(0, 8, size=n),  # 0-3 -> A-D appended, else none
        "city_idx": _draw(rng, n, _zipf_weights(len(names.CITIES), 6)),
        "zip_tail": rng.integers(1, 100, size=n),
    }


def _address_columns(address: dict[str, np.ndarray]) -> list[pl.Series]:
    """The address indices as string columns: street line pieces, unit, city, state, ZIP."""
    city = address["city_idx"]
    has_unit = address["unit_prefix_idx"] >= 0
    # "Apt 4B", "Unit 12", "#305": built only for the addresses that have a unit
    unit_prefix = _take(names.UNIT_PREFIXES, address["unit_prefix_idx"][has_unit])
    unit_letter = _take(["A", "B", "C", "D", "", "", "", ""], address["unit_letter"][has_unit])
    unit_frame = pl.DataFrame(
        {
            "prefix": unit_prefix,
            "space": pl.Series(["", " "]).gather((unit_prefix != "#").cast(pl.Int8)),
            "no": pl.Series(address["unit_no"][has_unit]).cast(pl.String),
            "letter": unit_letter,
        }
    )
    unit = _patch(
        pl.repeat(None, len(city), dtype=pl.String, eager=True),
        has_unit,
        unit_frame.select(pl.concat_str(pl.all())).to_series(),
    )
    zip3 = _take([c[2] for c in names.CITIES], city)
    zip5 = (zip3 + pl.Series(address["zip_tail"]).cast(pl.String).str.zfill(2)).alias("zip")
    columns = [
        pl.Series("house_no", address["house_no"]).cast(pl.String),
        _take(names.STREET_NAMES, address["street_idx"]).alias("street"),
        _take([s[0] for s in names.STREET_SUFFIXES], address["suffix_idx"]).alias("suffix_abbr"),
        _take([s[1] for s in names.STREET_SUFFIXES], address["suffix_idx"]).alias("suffix_full"),
        unit.alias("unit"),
        _take([c[0] for c in names.CITIES], city).alias("city"),
        _take([c[1] for c in names.CITIES], city).alias("state"),
        zip5,
    ]
    return columns


def _make_persons(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """The true people: one row each, clean values, households already sharing addresses."""
    genders = np.array([g for _, g in names.GIVEN_NAMES])
    male_pool = np.flatnonzero(genders == "M")
    female_pool = np.flatnonzero(genders == "F")

    # 0 male, 1 female, 2 other (given name from either pool)
    gender = _draw(rng, n, [0.49, 0.50, 0.01])
    male_pick = male_pool[_draw(rng, n, _zipf_weights(len(male_pool), 6))]
    female_pick = female_pool[_draw(rng, n, _zipf_weights(len(female_pool), 6))]
    coin = rng.random(n) < 0.5
    given_idx = np.where(
        gender == 0,
        male_pick,
        np.where(gender == 1, female_pick, np.where(coin, male_pick, female_pick)),
    )
    surname_idx = _draw(rng, n, _zipf_weights(len(names.SURNAMES), 20))
    birth_day = rng.integers(_BIRTH_START, _BIRTH_END + 1, size=n)

    address = _random_addresses(rng, n)
    old_address = _random_addresses(rng, n)
    phone_exchange = rng.integers(200, 1000, size=n)
    phone_line = rng.integers(0, 10_000, size=n)

    # Households: pair persons; the second of each pair moves in with the first and, usually,
    # shares the surname. They keep their own given name, birthdate and email: different people.
    pair_count = int(round(n * _HOUSEHOLD_PAIR_RATE))
    order = rng.permutation(n)
    heads, mates = order[:pair_count], order[pair_count : 2 * pair_count]
    for key in address:
        address[key][mates] = address[key][heads]
    phone_exchange[mates] = phone_exchange[heads]
    phone_line[mates] = phone_line[heads]
    same_surname = rng.random(pair_count) < 0.8
    surname_idx[mates[same_surname]] = surname_idx[heads[same_surname]]
    # A different given name than the head: redraw the (few) clashes until none is left.
    clash = given_idx[mates] == given_idx[heads]
    while clash.any():
        redraw = mates[clash]
        pool = np.where(gender[redraw] == 0, 0, 1)
        given_idx[redraw] = np.where(
            pool == 0,
            male_pool[rng.integers(0, len(male_pool), size=len(redraw))],
            female_pool[rng.integers(0, len(female_pool), size=len(redraw))],
        )
        clash = given_idx[mates] == given_idx[heads]
    household_id = np.full(n, -1, dtype=np.int64)
    household_id[heads] = np.arange(pair_count)
    household_id[mates] = np.arange(pair_count)

    area_code = np.array([int(c[3]) for c in names.CITIES])[address["city_idx"]]
    phone = area_code * 10_000_000 + phone_exchange * 10_000 + phone_line

    persons = pl.DataFrame(
        [
            pl.Series("person_id", np.arange(1, n + 1, dtype=np.int64)),
            _take([g for g, _ in names.GIVEN_NAMES], given_idx).alias("given"),
            pl.Series("given_idx", given_idx.astype(np.int64)),
            pl.Series("surname_idx", surname_idx.astype(np.int64)),
            _take(names.SURNAMES, surname_idx).alias("surname"),
            _take(["M", "F", "O"], gender).alias("gender"),
            pl.Series("birth_date", birth_day.astype(np.int32)).cast(pl.Date),
            pl.Series("phone", phone.astype(np.int64)).cast(pl.String),
            pl.Series("household_id", household_id),
            *_address_columns(address),
            # The address before a move, as indices: turned into text only for the few
            # records that show it (see _base_records).
            *[pl.Series("old_" + key, values) for key, values in old_address.items()],
        ]
    )
    return persons.with_columns(_make_emails(rng, persons, _classic_vocabulary()))


def _adult_birth_days(rng: np.random.Generator, n: int, reference_day: int) -> np.ndarray:
    """Birth days (days since 1970) of adults aged 18-90 at the reference day, see _AGE_WEIGHTS."""
    ages = np.arange(18, 91)
    anchor_age, anchor_weight = zip(*_AGE_WEIGHTS, strict=True)
    age = ages[_draw(rng, n, np.interp(ages, anchor_age, anchor_weight))] + rng.random(n)
    return _days_before(reference_day, age)


def _days_before(reference_day: int, years) -> np.ndarray:
    """The day `years` (fractional, array or scalar) before the reference day, rounded back."""
    return reference_day - np.ceil(np.asarray(years) * _YEAR_DAYS).astype(np.int64)


def _make_realistic_persons(
    rng: np.random.Generator, n: int, reference: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The realistic profile's people, and the pairs of them that look alike (relations).

    On top of the classic profile's people: names with realistic frequencies, birth dates over
    an adult age range, larger households (some sharing one email address), twins, Jr/Sr pairs,
    forced namesakes, an old phone beside the old address, and work emails. The groups are
    carved from one permutation, so nobody is in two of them.
    """
    people = _DrawnPeople.draw(rng, n, reference)
    groups = _carve_groups(rng, n)
    _form_households(people, groups)
    _make_twins(people, groups)
    _make_jr_sr(people, groups)
    _make_namesakes(people, groups)
    persons = _realistic_persons_frame(people, _household_ids(n, groups))
    persons, shares_email = _with_realistic_emails(rng, persons, people, groups)
    return persons, _realistic_relations(groups, shares_email)


@dataclass
class _DrawnPeople:
    """The realistic people while the groups are carved: one array entry per person, which
    the group steps edit in place before the persons frame is built from them."""

    rng: np.random.Generator
    vocabulary: _Vocabulary
    reference_day: int
    gender: np.ndarray  # 0 male, 1 female, 2 other
    given_idx: np.ndarray
    surname_idx: np.ndarray
    birth_day: np.ndarray
    address: dict[str, np.ndarray]
    old_address: dict[str, np.ndarray]
    phone_exchange: np.ndarray
    phone_line: np.ndarray
    old_exchange: np.ndarray
    old_line: np.ndarray
    generation: np.ndarray  # 0 none, 1 Sr, 2 Jr

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, reference: int) -> _DrawnPeople:
        """`n` independent people; the draws keep the generator's order, so a seed still gives
        the same files."""
        vocabulary = _realistic_vocabulary()
        gender = _draw(rng, n, [0.49, 0.50, 0.01])
        reference_day = reference // _DAY_SECONDS
        return cls(
            rng=rng,
            vocabulary=vocabulary,
            reference_day=reference_day,
            gender=gender,
            given_idx=_pick_given(rng, vocabulary, gender),
            surname_idx=_draw(rng, n, vocabulary.surname_weights),
            birth_day=_adult_birth_days(rng, n, reference_day),
            address=_random_addresses(rng, n),
            old_address=_random_addresses(rng, n),
            phone_exchange=rng.integers(200, 1000, size=n),
            phone_line=rng.integers(0, 10_000, size=n),
            old_exchange=rng.integers(200, 1000, size=n),
            old_line=rng.integers(0, 10_000, size=n),
            generation=np.full(n, 0, dtype=np.int8),
        )

    def pick_given(self, gender_code: np.ndarray) -> np.ndarray:
        return _pick_given(self.rng, self.vocabulary, gender_code)

    def move_in(self, people: np.ndarray, hosts: np.ndarray) -> None:
        """`people` live with `hosts`: same address and home phone."""
        for key in self.address:
            self.address[key][people] = self.address[key][hosts]
        self.phone_exchange[people] = self.phone_exchange[hosts]
        self.phone_line[people] = self.phone_line[hosts]


def _pick_male_given(rng: np.random.Generator, vocabulary: _Vocabulary, count: int) -> np.ndarray:
    """`count` male given names drawn by frequency."""
    pool = np.flatnonzero(vocabulary.given_gender == "M")
    return pool[_draw(rng, count, vocabulary.given_weights[pool])]


def _pick_given(
    rng: np.random.Generator, vocabulary: _Vocabulary, gender_code: np.ndarray
) -> np.ndarray:
    """A given name drawn by frequency from each person's gender (either for "other")."""
    count = len(gender_code)
    male = _pick_male_given(rng, vocabulary, count)
    female_pool = np.flatnonzero(vocabulary.given_gender == "F")
    female = female_pool[_draw(rng, count, vocabulary.given_weights[female_pool])]
    coin = rng.random(count) < 0.5
    return np.where(
        gender_code == 0,
        male,
        np.where(gender_code == 1, female, np.where(coin, male, female)),
    )


@dataclass(frozen=True)
class _Groups:
    """The disjoint groups of the realistic profile, as person indices. Household h has head
    `heads[h]` and `sizes[h] - 1` members; `owner` and `position` (1 = the partner, 2.. the
    children) say, per member, whose household it is and where in it."""

    sizes: np.ndarray
    heads: np.ndarray
    members: np.ndarray
    owner: np.ndarray
    position: np.ndarray
    twin_a: np.ndarray
    twin_b: np.ndarray
    senior: np.ndarray
    junior: np.ndarray
    namesake_a: np.ndarray
    namesake_b: np.ndarray


def _carve_groups(rng: np.random.Generator, n: int) -> _Groups:
    """Household heads and their members, twins, Jr/Sr, namesakes: cut from one permutation,
    so nobody is in two of them."""
    pair_count = int(round(n * _HOUSEHOLD_PAIR_RATE))
    large_count = int(round(n * _LARGE_HOUSEHOLD_RATE))
    sizes = np.concatenate(
        [np.full(pair_count, 2), 3 + (rng.random(large_count) < _LARGE_HOUSEHOLD_FOUR)]
    ).astype(np.int64)
    twin_count = int(round(n * _TWIN_PAIR_RATE))
    jr_sr_count = int(round(n * _JR_SR_PAIR_RATE))
    namesake_count = int(round(n * _NAMESAKE_PAIR_RATE))
    order = rng.permutation(n)
    bounds = np.cumsum(
        [len(sizes), int((sizes - 1).sum())] + [twin_count] * 2 + [jr_sr_count] * 2
        + [namesake_count] * 2
    )  # fmt: skip
    assert bounds[-1] <= n
    heads, members, twin_a, twin_b, senior, junior, namesake_a, namesake_b = np.split(
        order[: bounds[-1]], bounds[:-1]
    )
    owner = np.repeat(np.arange(len(sizes)), sizes - 1)
    position = np.arange(len(members)) - np.repeat(np.cumsum(sizes - 1) - (sizes - 1), sizes - 1)
    position += 1
    return _Groups(
        sizes, heads, members, owner, position, twin_a, twin_b, senior, junior,
        namesake_a, namesake_b,
    )  # fmt: skip


def _form_households(people: _DrawnPeople, groups: _Groups) -> None:
    """Members 1.. of household h move in with its head; the first member is the head's
    partner (usually the same surname), further members are grown children."""
    sizes, heads, members = groups.sizes, groups.heads, groups.members
    owner, position = groups.owner, groups.position
    birth_day, reference_day = people.birth_day, people.reference_day
    people.move_in(members, heads[owner])
    same_surname = people.rng.random(len(members)) < np.where(position == 1, 0.8, 0.9)
    people.surname_idx[members[same_surname]] = people.surname_idx[heads[owner[same_surname]]]
    large = sizes[owner] > 2
    # In a large household the head is 45-70 and the partner within five years of the head;
    # children are born 22-36 years after the head, and are adults.
    large_heads = heads[sizes > 2]
    birth_day[large_heads] = np.minimum(
        birth_day[large_heads],
        _days_before(reference_day, people.rng.uniform(45, 70, len(large_heads))),
    )
    partner = members[large & (position == 1)]
    birth_day[partner] = np.clip(
        birth_day[heads[owner[large & (position == 1)]]]
        + np.round(people.rng.uniform(-5, 5, len(partner)) * _YEAR_DAYS).astype(np.int64),
        _days_before(reference_day, 90.99),
        _days_before(reference_day, 18),
    )
    children = members[position >= 2]
    born = birth_day[heads[owner[position >= 2]]] + np.round(
        people.rng.uniform(22, 36, len(children)) * _YEAR_DAYS
    ).astype(np.int64)
    birth_day[children] = np.minimum(
        born, _days_before(reference_day, people.rng.uniform(18, 22, len(children)))
    )
    _redraw_household_name_clashes(people, groups)


def _redraw_household_name_clashes(people: _DrawnPeople, groups: _Groups) -> None:
    """Everyone in a household has a given name of their own: redraw the clashes until none
    is left (sorting puts the head first among equal names, so the head keeps theirs)."""
    given_idx = people.given_idx
    everyone = np.concatenate([groups.heads, groups.members])
    household_of = np.concatenate([np.arange(len(groups.sizes)), groups.owner])
    not_head = np.concatenate(
        [np.zeros(len(groups.heads), bool), np.ones(len(groups.members), bool)]
    )
    while True:
        names_now = given_idx[everyone]
        by_name = np.lexsort((not_head, names_now, household_of))
        clash = np.zeros(len(everyone), bool)
        clash[by_name[1:]] = (household_of[by_name[1:]] == household_of[by_name[:-1]]) & (
            names_now[by_name[1:]] == names_now[by_name[:-1]]
        )
        if not clash.any():
            break
        given_idx[everyone[clash]] = people.pick_given(people.gender[everyone[clash]])


def _make_twins(people: _DrawnPeople, groups: _Groups) -> None:
    """Twins: same birth date, surname, address and phone; different given names, sometimes
    names that differ by a letter or two."""
    twin_a, twin_b = groups.twin_a, groups.twin_b
    given_idx, gender, rng = people.given_idx, people.gender, people.rng
    people.birth_day[twin_b] = people.birth_day[twin_a]
    people.surname_idx[twin_b] = people.surname_idx[twin_a]
    people.move_in(twin_b, twin_a)
    given_position = {g: i for i, g in enumerate(people.vocabulary.given)}
    similar = np.array(
        [[given_position[a], given_position[b]] for a, b in names.SIMILAR_GIVEN_NAMES]
    )
    alike = np.flatnonzero(rng.random(len(twin_a)) < _SIMILAR_TWIN_NAMES)
    pair = similar[rng.integers(0, len(similar), len(alike))]
    flip = rng.random(len(alike)) < 0.5
    given_idx[twin_a[alike]] = np.where(flip, pair[:, 1], pair[:, 0])
    given_idx[twin_b[alike]] = np.where(flip, pair[:, 0], pair[:, 1])
    for twin in (twin_a[alike], twin_b[alike]):
        gender[twin] = np.where(people.vocabulary.given_gender[given_idx[twin]] == "M", 0, 1)
    clash = given_idx[twin_b] == given_idx[twin_a]
    while clash.any():
        given_idx[twin_b[clash]] = people.pick_given(gender[twin_b[clash]])
        clash = given_idx[twin_b] == given_idx[twin_a]


def _make_jr_sr(people: _DrawnPeople, groups: _Groups) -> None:
    """Jr and Sr: father and son of one name at one address, born 25-30 years apart."""
    senior, junior = groups.senior, groups.junior
    count = len(senior)
    people.gender[senior] = people.gender[junior] = 0
    people.given_idx[senior] = _pick_male_given(people.rng, people.vocabulary, count)
    people.given_idx[junior] = people.given_idx[senior]
    people.surname_idx[junior] = people.surname_idx[senior]
    people.move_in(junior, senior)
    people.birth_day[junior] = _days_before(people.reference_day, people.rng.uniform(18, 55, count))
    people.birth_day[senior] = people.birth_day[junior] - np.round(
        people.rng.uniform(25, 30, count) * _YEAR_DAYS
    ).astype(np.int64)
    people.generation[senior], people.generation[junior] = 1, 2


def _make_namesakes(people: _DrawnPeople, groups: _Groups) -> None:
    """Namesakes: the same full name and nothing else. Their birth dates, addresses and phones
    were drawn independently; the rare exact coincidences are nudged apart."""
    namesake_a, namesake_b = groups.namesake_a, groups.namesake_b
    birth_day, address = people.birth_day, people.address
    phone_exchange, phone_line = people.phone_exchange, people.phone_line
    people.gender[namesake_b] = people.gender[namesake_a]
    people.given_idx[namesake_b] = people.given_idx[namesake_a]
    people.surname_idx[namesake_b] = people.surname_idx[namesake_a]
    same_day = namesake_b[birth_day[namesake_b] == birth_day[namesake_a]]
    # towards the middle of the age range, so the nudged date stays within it
    older = birth_day[same_day] < _days_before(people.reference_day, 50)
    birth_day[same_day] += np.where(older, 1, -1) * people.rng.integers(1, 3650, len(same_day))
    same_place = np.ones(len(namesake_a), bool)
    for key in ("house_no", "street_idx", "city_idx", "zip_tail"):  # units and suffixes aside
        same_place &= address[key][namesake_b] == address[key][namesake_a]
    address["house_no"][namesake_b[same_place]] += 1
    same_phone = (phone_exchange[namesake_b] == phone_exchange[namesake_a]) & (
        phone_line[namesake_b] == phone_line[namesake_a]
    )
    phone_line[namesake_b[same_phone]] = (phone_line[namesake_b[same_phone]] + 1) % 10_000


def _household_ids(n: int, groups: _Groups) -> np.ndarray:
    """Per person: the household, numbered heads first, then twin and Jr/Sr pairs; -1 alone."""
    household_id = np.full(n, -1, dtype=np.int64)
    household_id[groups.heads] = np.arange(len(groups.sizes))
    household_id[groups.members] = groups.owner
    for a, b in ((groups.twin_a, groups.twin_b), (groups.senior, groups.junior)):
        start = int(household_id.max()) + 1
        household_id[a] = household_id[b] = start + np.arange(len(a))
    return household_id


def _realistic_persons_frame(people: _DrawnPeople, household_id: np.ndarray) -> pl.DataFrame:
    """The persons table from the drawn arrays, before the emails are added."""
    n = len(household_id)
    vocabulary, address, old_address = people.vocabulary, people.address, people.old_address
    area_code = np.array([int(c[3]) for c in names.CITIES])
    phone = (
        area_code[address["city_idx"]] * 10_000_000
        + people.phone_exchange * 10_000
        + people.phone_line
    )
    old_phone = (
        area_code[old_address["city_idx"]] * 10_000_000
        + people.old_exchange * 10_000
        + people.old_line
    )
    return pl.DataFrame(
        [
            pl.Series("person_id", np.arange(1, n + 1, dtype=np.int64)),
            vocabulary.given.gather(people.given_idx).alias("given"),
            pl.Series("given_idx", people.given_idx.astype(np.int64)),
            pl.Series("surname_idx", people.surname_idx.astype(np.int64)),
            vocabulary.surnames.gather(people.surname_idx).alias("surname"),
            _take(["M", "F", "O"], people.gender).alias("gender"),
            pl.Series("birth_date", people.birth_day.astype(np.int32)).cast(pl.Date),
            pl.Series("phone", phone.astype(np.int64)).cast(pl.String),
            pl.Series("household_id", household_id),
            _set_null(_take(["", "Sr", "Jr"], people.generation), people.generation == 0).alias(
                "generation"
            ),
            *_address_columns(address),
            *[pl.Series("old_" + key, values) for key, values in old_address.items()],
            pl.Series("old_phone", old_phone.astype(np.int64)),
        ]
    )


def _with_realistic_emails(
    rng: np.random.Generator, persons: pl.DataFrame, people: _DrawnPeople, groups: _Groups
) -> tuple[pl.DataFrame, np.ndarray]:
    """The persons with personal and work emails; and, per household, whether its first two
    members share the head's address."""
    vocabulary, n = people.vocabulary, persons.height
    emails = _make_emails(rng, persons, vocabulary)

    # A quarter of households give one address for the first two members: the head's.
    heads = groups.heads
    first_members = groups.members[groups.position == 1]
    sharing = rng.random(len(groups.sizes)) < _SHARED_EMAIL_RATE
    local, domain = emails["email_local"].clone(), emails["email_domain"].clone()
    local.scatter(first_members[sharing], local.gather(heads[sharing]))
    domain.scatter(first_members[sharing], domain.gather(heads[sharing]))
    shares_email = sharing & local.gather(heads).is_not_null().to_numpy()

    # Work addresses (first.last@employer or flast@employer), unique like personal ones.
    has_work = np.flatnonzero(rng.random(n) < _WORK_EMAIL_RATE)
    first = vocabulary.given_email.gather(people.given_idx[has_work])
    last = vocabulary.surname_email.gather(people.surname_idx[has_work])
    dotted = rng.random(len(has_work)) < 0.65
    work_local = _patch(first.str.head(1) + last, dotted, (first + "." + last).filter(dotted))
    work_domain = _take(
        [d for d, _ in names.WORK_EMAIL_DOMAINS],
        _draw(rng, len(has_work), [w for _, w in names.WORK_EMAIL_DOMAINS]),
    )
    work_local = _unique_local_parts(rng, work_local, work_domain)
    nothing = pl.repeat(None, n, dtype=pl.String, eager=True)
    persons = persons.with_columns(
        local.alias("email_local"),
        domain.alias("email_domain"),
        nothing.clone().scatter(has_work, work_local).alias("work_email_local"),
        nothing.clone().scatter(has_work, work_domain).alias("work_email_domain"),
    )
    return persons, shares_email


def _realistic_relations(groups: _Groups, shares_email: np.ndarray) -> pl.DataFrame:
    """Relations: every pair inside a household, twins, Jr/Sr, namesakes."""
    slots = np.full((len(groups.sizes), 3), -1, dtype=np.int64)
    slots[groups.owner, groups.position - 1] = groups.members
    slots = np.column_stack([groups.heads, slots])
    firsts, seconds, kinds = [], [], []
    for i in range(4):
        for j in range(i + 1, 4):
            both = (slots[:, i] >= 0) & (slots[:, j] >= 0)
            firsts.append(slots[both, i])
            seconds.append(slots[both, j])
            kind = np.full(int(both.sum()), "household", dtype=object)
            if (i, j) == (0, 1):
                kind[shares_email[both]] = "shared_email"
            kinds.append(kind)
    for a, b, kind in (
        (groups.twin_a, groups.twin_b, "twin"),
        (groups.senior, groups.junior, "jr_sr"),
        (groups.namesake_a, groups.namesake_b, "namesake"),
    ):
        firsts.append(a)
        seconds.append(b)
        kinds.append(np.full(len(a), kind, dtype=object))
    return _relations_frame(np.concatenate(firsts), np.concatenate(seconds), np.concatenate(kinds))


_RELATIONS_SCHEMA = {"person_a": pl.Int64, "person_b": pl.Int64, "kind": pl.String}


def _relations_frame(first: np.ndarray, second: np.ndarray, kind: np.ndarray) -> pl.DataFrame:
    """Pairs of person indices as person ids, the smaller first, sorted."""
    return pl.DataFrame(
        {
            "person_a": np.minimum(first, second).astype(np.int64) + 1,
            "person_b": np.maximum(first, second).astype(np.int64) + 1,
            "kind": pl.Series(kind.tolist(), dtype=pl.String),
        },
        schema=_RELATIONS_SCHEMA,
    ).sort("person_a", "person_b")


def _household_relations(persons: pl.DataFrame) -> pl.DataFrame:
    """The classic profile's relations: its households are pairs, so one row per household."""
    pairs = (
        persons.filter(pl.col("household_id") >= 0)
        .group_by("household_id")
        .agg(
            pl.col("person_id").min().alias("person_a"), pl.col("person_id").max().alias("person_b")
        )
    )
    return (
        pairs.select("person_a", "person_b", kind=pl.lit("household"))
        .cast(_RELATIONS_SCHEMA)
        .sort("person_a", "person_b")
    )


# Letters that Unicode decomposition does not take apart into a base letter and a mark.
_TRANSLITERATION = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "ı": "i",
     "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th"}
)  # fmt: skip


def _ascii_fold(name: str) -> str:
    """The name without diacritics, as a till or an old system writes it (Łukasz -> Lukasz)."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_TRANSLITERATION))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _mojibake(name: str) -> str:
    """The name's UTF-8 bytes read as Windows-1252, as a careless export does (Müller -> MÃ¼ller)."""
    return name.encode("utf-8").decode("cp1252", errors="replace")


def _email_name(name: str) -> str:
    """How a name goes into an email address: lower case, letters only (O'Brien -> obrien)."""
    return "".join(c for c in _ascii_fold(name).lower() if "a" <= c <= "z")


def _rank_weights(ranks: np.ndarray, anchors) -> np.ndarray:
    """Share of people per name rank, interpolated between (rank, percent) anchors in log-log."""
    anchor_rank, anchor_percent = (np.array(v, dtype=float) for v in zip(*anchors, strict=True))
    return np.exp(np.interp(np.log(ranks), np.log(anchor_rank), np.log(anchor_percent)))


@functools.cache
def _classic_vocabulary() -> _Vocabulary:
    given = [g for g, _ in names.GIVEN_NAMES]
    return _Vocabulary(
        given=pl.Series(given, dtype=pl.String),
        given_gender=np.array([gender for _, gender in names.GIVEN_NAMES]),
        surnames=pl.Series(list(names.SURNAMES), dtype=pl.String),
        given_email=pl.Series([_email_name(g) for g in given], dtype=pl.String),
        surname_email=pl.Series([_email_name(s) for s in names.SURNAMES], dtype=pl.String),
    )


def _invented_surnames() -> pl.Series:
    """Every onset + vowel + middle + ending combination, in a scrambled but fixed order."""
    parts = (
        names.TAIL_SURNAME_ONSETS,
        names.TAIL_SURNAME_VOWELS,
        names.TAIL_SURNAME_MIDDLES,
        names.TAIL_SURNAME_ENDINGS,
    )
    total = int(np.prod([len(p) for p in parts]))
    combination = (np.arange(total, dtype=np.int64) * _TAIL_STRIDE) % total
    pieces = []
    for number, part in enumerate(parts):
        pieces.append(_take(part, combination % len(part)).alias(f"p{number}"))
        combination //= len(part)
    return pl.DataFrame(pieces).select(pl.concat_str(pl.all())).to_series()


@functools.cache
def _realistic_vocabulary() -> _Vocabulary:
    """More names than classic, each with a share of people: a heavy head and a long tail.

    Given names: the classic list (ranked within gender), then international names (with
    diacritics, hyphens and apostrophes) and invented rare ones. Surnames: the common US list,
    accented spellings of some of them (García, Müller), international, punctuated and
    hyphenated names, then ~270,000 invented rare names.
    """
    given, gender, given_weights = _realistic_given_names()
    head, tail, surname_weights = _realistic_surnames()
    surnames = pl.concat([pl.Series(head, dtype=pl.String), tail])
    return _Vocabulary(
        given=pl.Series(given, dtype=pl.String),
        given_gender=gender,
        surnames=surnames,
        given_email=pl.Series([_email_name(g) for g in given], dtype=pl.String),
        surname_email=pl.concat(
            [
                pl.Series([_email_name(s) for s in head], dtype=pl.String),
                tail.str.to_lowercase(),
            ]
        ),
        given_weights=given_weights,
        surname_weights=surname_weights / surname_weights.sum(),
        **_folded_spellings("given", given),
        **_folded_spellings("surname", head, tail),
    )


def _realistic_given_names() -> tuple[list[str], np.ndarray, np.ndarray]:
    """The given names, their genders ("M"/"F") and draw weights within their gender."""
    given_rows = (
        list(names.GIVEN_NAMES)
        + list(names.INTERNATIONAL_GIVEN_NAMES)
        + list(names.INVENTED_GIVEN_NAMES)
    )
    given = [g for g, _ in given_rows]
    gender = np.array([g for _, g in given_rows])
    # Rank within gender: the classic names in list order, international names spread over
    # ranks 150-600 and invented ones from rank 260 on, so both stay rare.
    group = np.repeat(
        [0, 1, 2],
        [
            len(names.GIVEN_NAMES),
            len(names.INTERNATIONAL_GIVEN_NAMES),
            len(names.INVENTED_GIVEN_NAMES),
        ],
    )
    rank = np.zeros(len(given))
    for g in ("M", "F"):
        for number, (start, step) in enumerate(((1, 1), (150, 8), (260, 1))):
            rows = np.flatnonzero((gender == g) & (group == number))
            rank[rows] = start + step * np.arange(len(rows))
    given_weights = _rank_weights(rank, _GIVEN_RANK_PERCENT)
    for g in ("M", "F"):
        given_weights[gender == g] /= given_weights[gender == g].sum()
    return given, gender, given_weights


def _realistic_surnames() -> tuple[list[str], pl.Series, np.ndarray]:
    """The named surnames (common, accented, punctuated, hyphenated), the invented tail, and
    their draw weights (head then tail, not yet normalised)."""
    common = list(names.COMMON_SURNAMES)
    common_weight = _rank_weights(np.arange(1, len(common) + 1), _SURNAME_RANK_PERCENT)
    weight_of = dict(zip(common, common_weight, strict=True))

    accented = [name for name, _ in names.ACCENTED_SURNAMES]
    accented_weight = np.where(
        [bool(ascii_name) for _, ascii_name in names.ACCENTED_SURNAMES],
        [
            _ACCENTED_SHARE * weight_of.get(ascii_name, 0.0)
            for _, ascii_name in names.ACCENTED_SURNAMES
        ],
        _spread_surname_weights(len(accented), 300, 25),
    )
    head = common + accented + list(names.PUNCTUATED_SURNAMES) + list(names.HYPHENATED_SURNAMES)
    head_weight = np.concatenate(
        [
            common_weight,
            accented_weight,
            _spread_surname_weights(len(names.PUNCTUATED_SURNAMES), 400, 30),
            _spread_surname_weights(len(names.HYPHENATED_SURNAMES), 1500, 40),
        ]
    )
    tail = _invented_surnames()
    tail = tail.filter(tail.is_first_distinct() & ~tail.is_in(head))
    tail_weight = _rank_weights(np.arange(len(tail)) + 1001.0, _SURNAME_RANK_PERCENT)
    return head, tail, np.concatenate([head_weight, tail_weight])


def _spread_surname_weights(count: int, start: int, step: int) -> np.ndarray:
    """Weights for `count` surnames at ranks start, start + step, ..."""
    return _rank_weights(start + step * np.arange(count), _SURNAME_RANK_PERCENT)


def _folded_spellings(
    kind: str, values: list[str], rest: pl.Series | None = None
) -> dict[str, pl.Series | np.ndarray]:
    """The vocabulary's `<kind>_folded`, `<kind>_mojibake` and `<kind>_non_ascii` fields: the
    values without diacritics, garbled by a wrong code page, and which have anything beyond
    ASCII; `rest` (plain ASCII, like the invented tail) is appended as it is."""
    non_ascii = np.array([not v.isascii() for v in values])
    series = [pl.Series([f(v) for v in values], dtype=pl.String) for f in (_ascii_fold, _mojibake)]
    if rest is not None:
        series = [pl.concat([s, rest]) for s in series]
        non_ascii = np.concatenate([non_ascii, np.zeros(len(rest), dtype=bool)])
    return {
        f"{kind}_folded": series[0],
        f"{kind}_mojibake": series[1],
        f"{kind}_non_ascii": non_ascii,
    }


# Email local-part patterns as (first piece, separator, second piece, suffix) with their weights.
# Pieces: "first", "last", "initial" (of the given name), "" (none); suffix: "number" (two
# random digits), "year" (birth year) or "".
_EMAIL_PATTERNS = (
    (("first", ".", "last", ""), 35),  # jane.doe
    (("initial", "", "last", ""), 15),  # jdoe
    (("first", "_", "last", "number"), 15),  # jane_doe42
    (("first", "", "last", "year"), 10),  # janedoe1985
    (("first", "", "", "number"), 10),  # jane42
    (("last", ".", "first", ""), 5),  # doe.jane
    (("initial", "", "last", "number"), 10),  # jdoe42
)


def _make_emails(
    rng: np.random.Generator, persons: pl.DataFrame, vocabulary: _Vocabulary
) -> pl.DataFrame:
    """Emails derived from the names (first.last, flast, first_last99, ...), unique per person.

    Returns the columns `email_local` and `email_domain`, both null for people without email.
    Each pattern is a concatenation of pieces picked per row, so building the addresses is one
    concatenation rather than one per pattern.
    """
    n = persons.height
    given_idx = persons["given_idx"].to_numpy()
    surname_idx = persons["surname_idx"].to_numpy()
    pieces = {
        "first": vocabulary.given_email.gather(given_idx),
        "last": vocabulary.surname_email.gather(surname_idx),
        "initial": vocabulary.given_email.str.head(1).gather(given_idx),
        "number": pl.Series(rng.integers(1, 100, size=n)).cast(pl.String).str.zfill(2),
        "year": persons["birth_date"].dt.year().cast(pl.String),
        "": pl.repeat("", n, dtype=pl.String, eager=True),
    }
    pattern = _draw(rng, n, [weight for _, weight in _EMAIL_PATTERNS])
    parts = []
    for position in range(4):
        # start from "" and patch in the piece each pattern wants at this position
        part = pieces[""]
        for number, (layout, _) in enumerate(_EMAIL_PATTERNS):
            token = layout[position]
            if position == 1:  # the separator is a literal, not a piece
                uses = pattern == number
                part = _patch(
                    part, uses, pl.repeat(token, int(uses.sum()), dtype=pl.String, eager=True)
                )
            elif token:
                uses = pattern == number
                part = _patch(part, uses, pieces[token].filter(uses))
        parts.append(part.alias(f"p{position}"))
    local = pl.DataFrame(parts).select(pl.concat_str(pl.all())).to_series()
    domain_weights = [w for _, w in names.EMAIL_DOMAINS]
    domain = _take([d for d, _ in names.EMAIL_DOMAINS], _draw(rng, n, domain_weights))
    local = _unique_local_parts(rng, local, domain)

    no_email = rng.random(n) < _NO_EMAIL_RATE
    return pl.DataFrame(
        [
            _set_null(local, no_email).alias("email_local"),
            _set_null(domain, no_email).alias("email_domain"),
        ]
    )


def _unique_local_parts(rng: np.random.Generator, local: pl.Series, domain: pl.Series) -> pl.Series:
    """`local` with numbers appended where `local@domain` repeats, so every address is unique.

    Mail providers hand out each address once. Later holders of a taken address get a random
    number appended (james.smith482@), redrawn until every address is unique; each round is a
    hash pass and touches only the few repeats, so this converges in a handful of rounds.
    """
    n = len(local)
    address = pl.DataFrame({"l": local, "d": domain}).select(pl.concat_str(["l", pl.lit("@"), "d"]))
    address = address.to_series()
    while True:
        # Repeats are found by sorting 64-bit hashes (stable, so the first holder in row order
        # keeps the address): much faster than hashing strings into groups. Polars' hash is
        # stable within a polars version, which is all determinism needs here.
        hashes = address.hash(seed=0).to_numpy()
        order = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[order]
        repeat = np.zeros(n, dtype=bool)
        repeat[order[1:][sorted_hashes[1:] == sorted_hashes[:-1]]] = True
        repeat_count = int(repeat.sum())
        if repeat_count == 0:
            break
        suffix = pl.Series(rng.integers(2, 1000, size=repeat_count)).cast(pl.String)
        local = _patch(local, repeat, local.filter(repeat) + suffix)
        address = _patch(address, repeat, local.filter(repeat) + "@" + domain.filter(repeat))
    return local


# --------------------------------------------------------------------------------------------
# Which records exist
# --------------------------------------------------------------------------------------------


def _assign_records(
    rng: np.random.Generator, n: int, has_work_email: np.ndarray | None = None
) -> list[_SourceRecords]:
    """Source membership (1-3 sources each), duplicate registrations and movers, per source.

    With `has_work_email` (realistic profile), those of these persons who are in two sources
    or more give their work address in one of them (not on a record with the old address).
    """
    member = rng.random((n, 3)) < _SOURCE_BASE_RATES
    nowhere = ~member.any(axis=1)
    fallback = _draw(rng, n, _SOURCE_BASE_RATES)
    member[np.flatnonzero(nowhere), fallback[nowhere]] = True

    def random_member_source() -> np.ndarray:
        # highest random score among the sources the person is in
        return (rng.random((n, 3)) * member).argmax(axis=1)

    is_duplicated = rng.random(n) < _DUPLICATE_RATE
    # Re-registration happens mostly at the till: POS if the person shops there.
    duplicate_source = np.where(member[:, POS], POS, random_member_source())
    is_mover = rng.random(n) < _MOVER_RATE
    old_address_source = random_member_source()
    if has_work_email is not None:
        has_work_email = has_work_email & (member.sum(axis=1) >= 2)
        work_email_source = random_member_source()

    records = []
    for source in (POS, WEB, LOYALTY):
        members = np.flatnonzero(member[:, source])
        duplicates = np.flatnonzero(is_duplicated & (duplicate_source == source))
        person_index = np.concatenate([members, duplicates])
        is_duplicate = np.concatenate(
            [np.zeros(len(members), bool), np.ones(len(duplicates), bool)]
        )
        # The first registration keeps the old address; a re-registration has the new one.
        uses_old = np.concatenate(
            [
                is_mover[members] & (old_address_source[members] == source),
                np.zeros(len(duplicates), bool),
            ]
        )
        uses_work = None
        if has_work_email is not None:
            first = has_work_email[members] & (work_email_source[members] == source)
            uses_work = np.concatenate(
                [first & ~uses_old[: len(members)], np.zeros(len(duplicates), bool)]
            )
        shuffle = rng.permutation(len(person_index))
        records.append(
            _SourceRecords(
                person_index[shuffle],
                is_duplicate[shuffle],
                uses_old[shuffle],
                None if uses_work is None else uses_work[shuffle],
            )
        )
    return records


# --------------------------------------------------------------------------------------------
# Per-record messiness shared by the sources
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Messiness:
    """Per-source rates of each variation (share of records)."""

    upper_case: float
    lower_case: float
    padding: float
    name_typo: float
    nickname: float
    name_swap: float
    missing_name: float
    email_plus_tag: float
    email_upper: float
    email_typo: float
    email_missing: float
    junk_email: float
    junk_phone: float
    phone_missing: float
    missing_birthdate: float


def _base_records(persons: pl.DataFrame, records: _SourceRecords) -> pl.DataFrame:
    """The true values of each record's person, with the old address where the person moved.

    Realistic profile: a mover's old record has the old phone too, and the records chosen for
    it carry the person's work email instead of the personal one.
    """
    old_keys = [c for c in persons.columns if c.startswith("old_") and c != "old_phone"]
    base = persons[records.person_index].with_columns(
        pl.Series("is_duplicate", records.is_duplicate)
    )
    uses_old = records.uses_old_address
    old_address = {key[4:]: base[key].filter(uses_old).to_numpy() for key in old_keys}
    old_columns = _address_columns(old_address)
    base = base.with_columns([_patch(base[c.name], uses_old, c) for c in old_columns]).drop(
        old_keys
    )
    if "old_phone" not in persons.columns:  # the classic profile
        return base
    work = records.uses_work_email
    return base.with_columns(
        _patch(base["phone"], uses_old, base["old_phone"].filter(uses_old).cast(pl.String)),
        _patch(base["email_local"], work, base["work_email_local"].filter(work)),
        _patch(base["email_domain"], work, base["work_email_domain"].filter(work)),
    ).drop("old_phone", "work_email_local", "work_email_domain")


@functools.cache
def _nickname_table(given_names: tuple[str, ...]) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Nicknames grouped by formal name: (nicknames, first index per given name, count)."""
    given_position = {g: i for i, g in enumerate(given_names)}
    pairs = sorted(
        (
            (given_position[formal], nick)
            for formal, nick in names.NICKNAMES
            if formal in given_position
        ),
        key=lambda pair: pair[0],
    )
    nicknames = pl.Series([nick for _, nick in pairs], dtype=pl.String)
    formal = np.array([g for g, _ in pairs])
    count = np.bincount(formal, minlength=len(given_names))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return nicknames, start, count


def _patch(column: pl.Series, mask: np.ndarray, values) -> pl.Series:
    """`column` with the rows where `mask` holds replaced by `values`.

    `values` is a Series for those rows only, or a function computing it from the Series of
    those rows: rare variations are computed on the few rows they touch, not on all rows (a
    polars when/then would evaluate every branch for every row).
    """
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return column
    if callable(values):
        values = values(column.gather(rows))
    return column.clone().scatter(rows, values)


def _set_null(column: pl.Series, mask: np.ndarray) -> pl.Series:
    return column.zip_with(
        pl.Series(~mask), pl.repeat(None, len(column), dtype=column.dtype, eager=True)
    )


def _spelling_variants(
    rng: np.random.Generator,
    base: pl.DataFrame,
    given: pl.Series,
    surname: pl.Series,
    nicknamed: np.ndarray,
    vocabulary: _Vocabulary,
    extras: _Extras,
) -> tuple[pl.Series, pl.Series]:
    """Realistic profile: accents dropped or garbled, Jr and Sr written after the surname.

    One draw per record decides for both names, as one system handles both: a till that cannot
    type accents folds the given name and the surname alike.
    """
    n = base.height
    draw = rng.random(n)
    fold = draw < extras.fold_accents
    garble = (draw >= extras.fold_accents) & (draw < extras.fold_accents + extras.mojibake)
    given_idx = base["given_idx"].to_numpy()
    surname_idx = base["surname_idx"].to_numpy()
    given_special = vocabulary.given_non_ascii[given_idx] & ~nicknamed
    surname_special = vocabulary.surname_non_ascii[surname_idx]
    for rows, table in ((given_special & fold, vocabulary.given_folded),
                        (given_special & garble, vocabulary.given_mojibake)):  # fmt: skip
        given = _patch(given, rows, table.gather(given_idx[rows]))
    for rows, table in ((surname_special & fold, vocabulary.surname_folded),
                        (surname_special & garble, vocabulary.surname_mojibake)):  # fmt: skip
        surname = _patch(surname, rows, table.gather(surname_idx[rows]))

    generation = base["generation"]
    suffixed = generation.is_not_null().to_numpy() & (rng.random(n) < extras.generation_suffix)
    style = _draw(rng, int(suffixed.sum()), [5, 2, 1, 2])
    is_junior = (generation.filter(suffixed) == "Jr").to_numpy()
    suffix = _patch(
        _take(names.SENIOR_SUFFIXES, style),
        is_junior,
        _take(names.JUNIOR_SUFFIXES, style[is_junior]),
    )
    surname = _patch(surname, suffixed, surname.filter(suffixed) + suffix)
    return given, surname


def _recorded_birth_dates(
    rng: np.random.Generator, base: pl.DataFrame, extras: _Extras | None
) -> pl.Series:
    """The birth dates as a source holds them: placeholders on a few records (realistic)."""
    dates = base["birth_date"]
    if extras is None:
        return dates
    placeholder = rng.random(base.height) < extras.placeholder_birthdate
    choices = pl.Series(
        [date.fromisoformat(d) for d, _ in names.PLACEHOLDER_BIRTH_DATES], dtype=pl.Date
    )
    weights = [w for _, w in names.PLACEHOLDER_BIRTH_DATES]
    return _patch(dates, placeholder, choices.gather(_draw(rng, int(placeholder.sum()), weights)))


def _typo_series(
    values: pl.Series, rng: np.random.Generator, position_from_end: bool = False
) -> pl.Series:
    """`values` with one keyboard slip each (see `_typo`); the draws are made here."""
    n = len(values)
    frame = pl.DataFrame(
        {
            "value": values,
            "kind": rng.integers(0, 3, size=n),
            "where": rng.random(n),
            "letter": _take("abcdefghijklmnopqrstuvwxyz", rng.integers(0, 26, size=n)),
        }
    )
    return frame.select(
        _typo(pl.col("value"), pl.col("kind"), pl.col("where"), pl.col("letter"))
    ).to_series()


def _messy_people_fields(
    rng: np.random.Generator,
    base: pl.DataFrame,
    rates: _Messiness,
    vocabulary: _Vocabulary,
    extras: _Extras | None = None,
) -> dict[str, pl.Series]:
    """Given name, surname, email and phone as one source would hold them.

    Returns Series `given`, `surname`, `email`, `phone` (10 digits or null) and `junk_phone`
    (a placeholder or null). The order of the variations mirrors how errors happen: the customer
    says a nickname, the system drops or garbles accents (realistic profile), a Jr or Sr is
    written after the surname (realistic), the clerk mistypes or swaps the fields, the system
    stores the case it likes, whitespace sneaks in, fields are left empty.
    """
    # re-registrations drift more from the first record
    duplicate_boost = np.where(base["is_duplicate"].to_numpy(), 3.0, 1.0)
    given, surname = _messy_names(rng, base, rates, vocabulary, extras, duplicate_boost)
    email = _messy_emails(rng, base, rates)
    phone_is_junk, phone_is_missing, junk_phone = _messy_phones(rng, base.height, rates)
    return {
        "given": given.alias("given"),
        "surname": surname.alias("surname"),
        "email": email.alias("email"),
        "phone": _set_null(base["phone"], phone_is_junk | phone_is_missing).alias("phone"),
        "junk_phone": junk_phone.alias("junk_phone"),
    }


def _messy_names(
    rng: np.random.Generator,
    base: pl.DataFrame,
    rates: _Messiness,
    vocabulary: _Vocabulary,
    extras: _Extras | None,
    duplicate_boost: np.ndarray,
) -> tuple[pl.Series, pl.Series]:
    """Given name and surname: nickname, spelling, typos, swapped fields, case, whitespace,
    left empty."""
    n = base.height
    given = base["given"]
    surname = base["surname"]
    nicknames, nick_start, nick_count = _nickname_table(tuple(vocabulary.given))
    given_idx = base["given_idx"].to_numpy()
    nick_pick = nick_start[given_idx] + np.floor(rng.random(n) * nick_count[given_idx]).astype(
        np.int64
    )
    # about one name in four has a nickname, so scale the rate to stay a share of all records
    use_nick = (nick_count[given_idx] > 0) & (rng.random(n) < rates.nickname * 4 * duplicate_boost)
    given = _patch(given, use_nick, nicknames.gather(nick_pick[use_nick]))
    if extras is not None:
        given, surname = _spelling_variants(rng, base, given, surname, use_nick, vocabulary, extras)

    given = _patch(
        given, rng.random(n) < rates.name_typo * duplicate_boost, lambda v: _typo_series(v, rng)
    )
    surname = _patch(
        surname, rng.random(n) < rates.name_typo * duplicate_boost, lambda v: _typo_series(v, rng)
    )

    swap = rng.random(n) < rates.name_swap
    given, surname = (
        _patch(given, swap, surname.filter(swap)),
        _patch(surname, swap, given.filter(swap)),
    )

    case_draw = rng.random(n)
    upper = case_draw < rates.upper_case
    lower = (case_draw >= rates.upper_case) & (case_draw < rates.upper_case + rates.lower_case)
    given = _patch(given, upper, lambda v: v.str.to_uppercase())
    surname = _patch(surname, upper, lambda v: v.str.to_uppercase())
    given = _patch(given, lower, lambda v: v.str.to_lowercase())
    surname = _patch(surname, lower, lambda v: v.str.to_lowercase())

    given = _patch(given, rng.random(n) < rates.padding, lambda v: _pad(rng, v))
    surname = _patch(surname, rng.random(n) < rates.padding, lambda v: _pad(rng, v))
    given = _set_null(given, rng.random(n) < rates.missing_name)
    surname = _set_null(surname, rng.random(n) < rates.missing_name / 2)

    return given, surname


def _pad(rng: np.random.Generator, values: pl.Series) -> pl.Series:
    """The values with a leading space, two trailing spaces, or one of each."""
    style = rng.integers(0, 3, size=len(values))
    left = _take([" ", "", " "], style)
    right = _take(["", "  ", " "], style)
    return (
        pl.DataFrame({"l": left, "v": values, "r": right})
        .select(pl.concat_str(["l", "v", "r"]))
        .to_series()
    )


def _messy_emails(rng: np.random.Generator, base: pl.DataFrame, rates: _Messiness) -> pl.Series:
    """The email as typed: plus tags, upper case, typos, junk placeholders, left empty."""
    n = base.height
    # Email variations are exclusive bands of one uniform draw, so the rates simply add up.
    local, domain = base["email_local"], base["email_domain"]
    email = (
        pl.DataFrame({"l": local, "d": domain})
        .select(pl.concat_str(["l", pl.lit("@"), "d"]))
        .to_series()
    )
    email_draw = rng.random(n)
    bands = np.cumsum(
        [
            rates.email_plus_tag,
            rates.email_upper,
            rates.email_typo / 2,
            rates.email_typo / 2,
            rates.junk_email,
        ]
    )
    in_band = [
        (email_draw >= lo) & (email_draw < hi)
        for lo, hi in zip(np.r_[0, bands[:-1]], bands, strict=True)
    ]
    plus_tag, upper_email, local_typo, domain_typo, junk = in_band
    tags = _take(
        ["shop", "news", "promo", "deals", "2023", "store"],
        rng.integers(0, 6, size=int(plus_tag.sum())),
    )
    email = _patch(
        email, plus_tag, local.filter(plus_tag) + "+" + tags + "@" + domain.filter(plus_tag)
    )
    email = _patch(email, upper_email, lambda v: v.str.to_uppercase())
    email = _patch(
        email,
        local_typo,
        _typo_series(local.filter(local_typo), rng) + "@" + domain.filter(local_typo),
    )
    email = _patch(
        email,
        domain_typo,
        local.filter(domain_typo) + "@" + _typo_series(domain.filter(domain_typo), rng),
    )
    email = _set_null(email, (rng.random(n) < rates.email_missing) & ~junk)
    # Junk even for people with no email: that is exactly when clerks type it.
    junk_emails = _take(names.JUNK_EMAILS, _draw(rng, int(junk.sum()), [4, 3, 2, 1, 1]))
    email = _patch(email, junk, junk_emails)

    return email


def _messy_phones(
    rng: np.random.Generator, n: int, rates: _Messiness
) -> tuple[np.ndarray, np.ndarray, pl.Series]:
    """Which records have a junk or a missing phone, and the junk placeholders (else null)."""
    phone_draw = rng.random(n)
    phone_is_junk = phone_draw < rates.junk_phone
    phone_is_missing = ~phone_is_junk & (phone_draw < rates.junk_phone + rates.phone_missing)
    junk_phone = pl.repeat(None, n, dtype=pl.String, eager=True)
    junk_phone = _patch(
        junk_phone,
        phone_is_junk,
        _take(names.JUNK_PHONES, _draw(rng, int(phone_is_junk.sum()), [4, 3, 2, 1, 1])),
    )
    return phone_is_junk, phone_is_missing, junk_phone


# Phone styles as the tokens around the area code, exchange and line; formatting is then one
# concatenation instead of a when/then per style.
#   0 (415) 555-0100   1 415.555.0100   2 4155550100   3 415-555-0100
#   4 +1 415 555 0100  5 +14155550100   6 415 555 0100 7 (415)555-0100
_PHONE_STYLE_TOKENS = {
    "before": ["", "", "", "", "+1 ", "+1", "", ""],
    "open": ["(", "", "", "", "", "", "", "("],
    "close": [") ", ".", "", "-", " ", "", " ", ")"],
    "middle": ["-", ".", "", "-", " ", "", " ", "-"],
}


def _format_phone(digits: pl.Series, style: np.ndarray, junk: pl.Series | None = None) -> pl.Series:
    """10-digit strings in the style chosen per row; a non-null `junk` value replaces the phone."""
    tokens = {name: _take(values, style) for name, values in _PHONE_STYLE_TOKENS.items()}
    frame = pl.DataFrame({"digits": digits, **tokens})
    d = pl.col("digits")
    formatted = frame.select(
        pl.concat_str(
            [
                pl.col("before"),
                pl.col("open"),
                d.str.head(3),
                pl.col("close"),
                d.str.slice(3, 3),
                pl.col("middle"),
                d.str.tail(4),
            ]
        )
    ).to_series()
    if junk is not None:
        formatted = formatted.zip_with(junk.is_null(), junk)
    return formatted


def _street_line(address: pl.DataFrame, full_suffix: np.ndarray) -> pl.Series:
    """'123 Oak St' or, where `full_suffix`, '123 Oak Street'."""
    frame = address.select("house_no", "street", "suffix_abbr", "suffix_full").with_columns(
        pl.Series("full", full_suffix)
    )
    suffix = pl.when(pl.col("full")).then(pl.col("suffix_full")).otherwise(pl.col("suffix_abbr"))
    return frame.select(
        pl.concat_str([pl.col("house_no"), pl.col("street"), suffix], separator=" ")
    ).to_series()


def _strftime(dates: pl.Series, fmt: str, other_fmt: str, use_other: np.ndarray) -> pl.Series:
    """Dates as text in `fmt`, or in `other_fmt` where `use_other` holds."""
    return _patch(
        dates.dt.strftime(fmt), use_other, lambda _: dates.filter(use_other).dt.strftime(other_fmt)
    )


def _csv_lines(columns: list[pl.Series], separator: str) -> pl.Series:
    """One RFC 4180 line per row (without the line break); nulls become empty fields.

    Only the few values that contain the separator, a quote or a line break are quoted, and
    only they are rewritten: quoting every value through a when/then costs far more.
    """
    special = f'[{separator}"\r\n]'
    fields = []
    for column in columns:
        text = column.cast(pl.String).fill_null("")
        needs_quotes = text.str.contains(special).to_numpy()
        text = _patch(
            text, needs_quotes, lambda v: '"' + v.str.replace_all('"', '""', literal=True) + '"'
        )
        fields.append(text.alias(f"c{len(fields)}"))
    return pl.DataFrame(fields).select(pl.concat_str(pl.all(), separator=separator)).to_series()


# --------------------------------------------------------------------------------------------
# The sources
# --------------------------------------------------------------------------------------------

_POS_HEADER = (
    "CUST_NO,FIRST_NM,LAST_NM,EMAIL_ADDR,PHONE,ADDR1,ADDR2,CITY,ST,ZIP,DOB,STORE_ID,UPDATED"
)
_LOYALTY_HEADER = "member_no;name_first;name_last;e_mail;mobile;address;town;state;zip;birthday;tier;points;joined"
_ORDERS_HEADER = (
    "order_id,customer_source,customer_id,amount,currency,ordered_at,channel,"
    "sku,product_name,quantity,unit_price"
)


def _truth(
    source: str, record_ids: pl.Series, base: pl.DataFrame, corruption: pl.Series
) -> pl.DataFrame:
    return pl.DataFrame(
        [
            pl.repeat(source, len(record_ids), dtype=pl.String, eager=True).alias("source"),
            record_ids.alias("record_id"),
            base["person_id"],
            corruption.is_not_null().alias("is_corrupt"),
            corruption.alias("corruption"),
            pl.Series("row_index", np.arange(len(record_ids), dtype=np.int64)),
        ]
    )


def _prefixed_ids(prefix: str, ids: np.ndarray, width: int, blank: np.ndarray) -> pl.Series:
    """'P00012345'-style keys; empty where `blank` (the corrupt rows without a key)."""
    keys = prefix + pl.Series(ids).cast(pl.String).str.zfill(width)
    return _patch(keys, blank, pl.repeat("", int(blank.sum()), dtype=pl.String, eager=True))


@dataclass(frozen=True)
class _Population:
    """What every source writer draws from: the one generator (the order of its draws makes
    the files), the people, the reference time (epoch seconds) and the profile."""

    rng: np.random.Generator
    persons: pl.DataFrame
    reference: int
    profile: _Profile


# How messy each source's people fields are (shares of records; see _Messiness).
_SOURCE_MESSINESS = {
    "pos": _Messiness(
        upper_case=0.55, lower_case=0.03, padding=0.06, name_typo=0.03, nickname=0.04,
        name_swap=0.015, missing_name=0.01, email_plus_tag=0.02, email_upper=0.08,
        email_typo=0.03, email_missing=0.12, junk_email=0.04, junk_phone=0.03,
        phone_missing=0.05, missing_birthdate=0.15,
    ),
    "web": _Messiness(
        upper_case=0.03, lower_case=0.07, padding=0.04, name_typo=0.015, nickname=0.03,
        name_swap=0.01, missing_name=0.005, email_plus_tag=0.05, email_upper=0.02,
        email_typo=0.015, email_missing=0.0, junk_email=0.005, junk_phone=0.01,
        phone_missing=0.25, missing_birthdate=0.35,
    ),
    "loyalty": _Messiness(
        upper_case=0.05, lower_case=0.05, padding=0.05, name_typo=0.02, nickname=0.06,
        name_swap=0.02, missing_name=0.01, email_plus_tag=0.03, email_upper=0.03,
        email_typo=0.02, email_missing=0.06, junk_email=0.02, junk_phone=0.02,
        phone_missing=0.04, missing_birthdate=0.05,
    ),
}  # fmt: skip


def _messy_records(
    population: _Population, records: _SourceRecords, source: str
) -> tuple[pl.DataFrame, _Extras | None, dict[str, pl.Series]]:
    """One source's records before its own formatting: the persons' true fields per record,
    the profile's extra variations for the source (None in classic), and the people fields as
    the source holds them (see _messy_people_fields)."""
    base = _base_records(population.persons, records)
    profile = population.profile
    extras = profile.extras[source] if profile.extras else None
    rates = _SOURCE_MESSINESS[source]
    messy = _messy_people_fields(population.rng, base, rates, profile.vocabulary, extras)
    return base, extras, messy


def _write_pos(population: _Population, records: _SourceRecords, path: Path) -> pl.DataFrame:
    """Store tills: UPPER CASE habits, mixed phone formats, a store phone typed for many."""
    rng, reference = population.rng, population.reference
    base, extras, messy = _messy_records(population, records, "pos")
    n = base.height
    corruption = _corrupt_rows(
        rng, n, ("extra_unquoted_field", "invalid_utf8", "empty_primary_key")
    )
    reason = corruption.to_numpy()
    cust_no = _prefixed_ids(
        "P", _increasing_ids(rng, n, 10_000, 30), 8, reason == "empty_primary_key"
    )

    # Clerks type the store's own number when the customer will not give one; a few stores
    # do most of the business, so their numbers end up on many records.
    store_id = _draw(rng, n, _zipf_weights(_STORE_COUNT, 1)) + 1
    store_area = np.array([int(c[3]) for c in names.CITIES[:_STORE_COUNT]])
    store_phones = pl.Series(
        store_area * 10_000_000 + 5_550_100 + np.arange(_STORE_COUNT) * 7
    ).cast(pl.String)
    uses_store_phone = rng.random(n) < 0.05
    digits = _patch(
        messy["phone"], uses_store_phone, store_phones.gather(store_id[uses_store_phone] - 1)
    )
    junk_phone = _set_null(messy["junk_phone"], uses_store_phone)
    phone = _format_phone(digits, _draw(rng, n, [35, 20, 25, 20]), junk_phone)

    # Half the stores write addresses in capitals; some put the unit after a comma in ADDR1.
    street = _street_line(base, rng.random(n) < 0.25)
    unit = base["unit"]
    merge_unit = (rng.random(n) < 0.3) & unit.is_not_null().to_numpy()
    addr1 = _patch(street, merge_unit, lambda v: v + ", " + unit.filter(merge_unit))
    addr2 = _set_null(unit, merge_unit)
    city = base["city"]
    address_upper = rng.random(n) < 0.5
    addr1, addr2, city = (
        _patch(c, address_upper, lambda v: v.str.to_uppercase()) for c in (addr1, addr2, city)
    )

    # The tills wrote "M/D/YY" for a while after a software change.
    birth_date = _recorded_birth_dates(rng, base, extras)
    dob = _strftime(birth_date, "%m/%d/%Y", "%-m/%-d/%y", rng.random(n) < 0.12)
    dob = _set_null(dob, rng.random(n) < _SOURCE_MESSINESS["pos"].missing_birthdate)
    updated = _seconds_to_datetime(reference - rng.integers(0, 5 * 365 * _DAY_SECONDS, size=n))

    # Corrupt lines. Invalid bytes inside the name, where a careless encoding conversion puts
    # them; an address whose comma was written without quotes (one field too many).
    broken_name = reason == "invalid_utf8"
    given = _patch(
        messy["given"],
        broken_name,
        lambda v: (
            v.fill_null("JOHN").str.head(2)
            + _INVALID_UTF8_MARKER
            + v.fill_null("JOHN").str.slice(2)
        ),
    )
    columns = [
        cust_no, given, messy["surname"], messy["email"], phone, addr1, addr2, city,
        base["state"], base["zip"], dob, pl.Series(store_id).cast(pl.String),
        updated.dt.strftime("%Y-%m-%d %H:%M:%S"),
    ]  # fmt: skip
    lines = _csv_lines(columns, ",")
    extra_field = reason == "extra_unquoted_field"
    unquoted_fields = [c.filter(extra_field).fill_null("") for c in columns]
    unquoted_fields[5] = street.filter(extra_field) + ", Apt 2"
    unquoted = pl.DataFrame([c.alias(f"c{i}") for i, c in enumerate(unquoted_fields)]).select(
        pl.concat_str(pl.all(), separator=",")
    )
    lines = _patch(lines, extra_field, unquoted.to_series())
    _write_lines(path, _POS_HEADER, lines, has_invalid_utf8=True)
    return _truth("pos", cust_no, base, corruption)


_US_COUNTRY = ["US", "USA", "United States", None]


def _write_web(population: _Population, records: _SourceRecords, path: Path) -> pl.DataFrame:
    """Web-shop accounts: typed parquet, full names in several orders, E.164-ish phones."""
    rng, reference = population.rng, population.reference
    base, extras, messy = _messy_records(population, records, "web")
    n = base.height
    account_id = _increasing_ids(rng, n, 100_000, 12)
    created = reference - rng.integers(30 * _DAY_SECONDS, 8 * 365 * _DAY_SECONDS, size=n)
    updated = created + (rng.random(n) * (reference - created)).astype(np.int64)

    full_name = _web_full_name(rng, messy["given"], messy["surname"])

    phone = _format_phone(
        messy["phone"], _draw(rng, n, [0, 0, 10, 10, 35, 35, 0, 10]), messy["junk_phone"]
    )

    region = _web_region(rng, base["state"])
    postal = _web_postal_code(rng, base["zip"])
    gender_text = _web_gender(rng, base["gender"])

    birth_date = _set_null(
        _recorded_birth_dates(rng, base, extras).dt.strftime("%Y-%m-%d"),
        rng.random(n) < _SOURCE_MESSINESS["web"].missing_birthdate,
    )
    web = pl.DataFrame(
        [
            pl.Series("account_id", account_id.astype(np.int64)),
            full_name.alias("full_name"),
            messy["email"],
            phone.alias("phone_number"),
            _street_line(base, rng.random(n) < 0.5).alias("street"),
            base["unit"].alias("street2"),
            base["city"],
            region.alias("region"),
            postal.alias("postal_code"),
            _take(_US_COUNTRY, _draw(rng, n, [50, 20, 20, 10])).alias("country"),
            birth_date.alias("birth_date"),
            gender_text.alias("gender"),
            _seconds_to_datetime(created).alias("created_at"),
            _seconds_to_datetime(updated).alias("updated_at"),
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    web.write_parquet(path, statistics=True)
    no_corruption = pl.repeat(None, n, dtype=pl.String, eager=True).alias("corruption")
    return _truth("web", web["account_id"].cast(pl.String), base, no_corruption)


def _web_full_name(rng: np.random.Generator, given: pl.Series, surname: pl.Series) -> pl.Series:
    """One name field: "First Last" mostly, "Last, First" from one signup form, and some
    middle initials; null when nothing is left."""
    n = len(given)
    name_style = _draw(rng, n, [80, 10, 10])
    middle = _take("ABCDEFGHJKLMNPRSTW", rng.integers(0, 18, n)) + "."
    names_frame = pl.DataFrame({"g": given, "s": surname, "m": middle, "style": name_style})
    full_name = names_frame.select(
        pl.concat_str(
            [
                pl.when(pl.col("style") == 1).then(pl.col("s") + ",").otherwise(pl.col("g")),
                pl.when(pl.col("style") == 2).then(pl.col("m")),
                pl.when(pl.col("style") == 1).then(pl.col("g")).otherwise(pl.col("s")),
            ],
            separator=" ",
            ignore_nulls=True,
        )
    ).to_series()
    return _set_null(
        full_name, full_name.str.strip_chars().str.len_chars().fill_null(0).to_numpy() == 0
    )


def _web_region(rng: np.random.Generator, state: pl.Series) -> pl.Series:
    """The state as a code, a full name, or a full name in lower case."""
    n = len(state)
    state_names = pl.Series(list(names.STATE_NAMES.values()))
    state_name = state.replace_strict(list(names.STATE_NAMES), state_names)
    state_style = _draw(rng, n, [60, 30, 10])  # code, full name, full name in lower case
    region = _patch(state, state_style == 1, state_name.filter(state_style == 1))
    return _patch(region, state_style == 2, state_name.filter(state_style == 2).str.to_lowercase())


def _web_postal_code(rng: np.random.Generator, zip5: pl.Series) -> pl.Series:
    """The ZIP, sometimes ZIP+4, sometimes without its leading zero."""
    n = len(zip5)
    zip_draw = rng.random(n)
    plus4 = zip_draw < 0.12
    # a spreadsheet round trip turned the ZIP into a number and dropped its leading zero
    lost_zero = (zip_draw >= 0.12) & (zip_draw < 0.5) & zip5.str.starts_with("0").to_numpy()
    zip4 = pl.Series(rng.integers(0, 10_000, int(plus4.sum()))).cast(pl.String).str.zfill(4)
    postal = _patch(zip5, plus4, zip5.filter(plus4) + "-" + zip4)
    return _patch(postal, lost_zero, lambda v: v.str.strip_chars_start("0"))


def _web_gender(rng: np.random.Generator, gender: pl.Series) -> pl.Series:
    """male/female, M/F, or not given."""
    n = len(gender)
    gender_style = _draw(rng, n, [55, 25, 20])  # male/female, M/F, not given
    words = gender.replace_strict(["M", "F", "O"], ["male", "female", "other"])
    letters = gender.replace_strict(["M", "F", "O"], ["M", "F", "other"])
    return _set_null(
        _patch(words, gender_style == 1, letters.filter(gender_style == 1)), gender_style == 2
    )


_TIERS = ["Bronze", "Silver", "Gold", "Platinum"]


def _write_loyalty(population: _Population, records: _SourceRecords, path: Path) -> pl.DataFrame:
    """Loyalty programme: semicolon-separated, European-style dates, one address line."""
    rng, reference = population.rng, population.reference
    base, extras, messy = _messy_records(population, records, "loyalty")
    n = base.height
    corruption = _corrupt_rows(rng, n, ("too_few_fields", "empty_primary_key"))
    reason = corruption.to_numpy()
    member_no = _prefixed_ids(
        "LY-", _increasing_ids(rng, n, 1_000_000, 40), 10, reason == "empty_primary_key"
    )
    phone = _format_phone(
        messy["phone"], _draw(rng, n, [0, 0, 40, 0, 0, 25, 20, 15]), messy["junk_phone"]
    )
    street = _street_line(base, rng.random(n) < 0.3)
    address = (
        pl.DataFrame({"s": street, "u": base["unit"]})
        .select(pl.concat_str(["s", "u"], separator=" ", ignore_nulls=True))
        .to_series()
    )
    state = _patch(base["state"], rng.random(n) < 0.05, lambda v: v.str.to_lowercase())
    plus4 = rng.random(n) < 0.08
    zip4 = pl.Series(rng.integers(0, 10_000, int(plus4.sum()))).cast(pl.String).str.zfill(4)
    postal = _patch(base["zip"], plus4, base["zip"].filter(plus4) + "-" + zip4)
    birth_date = _recorded_birth_dates(rng, base, extras)
    birthday = _strftime(birth_date, "%d.%m.%Y", "%b %-d %Y", rng.random(n) < 0.3)
    birthday = _set_null(birthday, rng.random(n) < _SOURCE_MESSINESS["loyalty"].missing_birthdate)
    points = np.floor(np.exp(rng.normal(6.5, 1.5, size=n))).astype(np.int64)
    tier = np.searchsorted([1_000, 5_000, 20_000], points, side="right")
    joined = (reference // _DAY_SECONDS) - rng.integers(0, 10 * 365, size=n)

    columns = [
        member_no, messy["given"], messy["surname"], messy["email"], phone, address,
        base["city"], state, postal, birthday, _take(_TIERS, tier),
        pl.Series(points).cast(pl.String),
        pl.Series(joined.astype(np.int32)).cast(pl.Date).dt.strftime("%Y-%m-%d"),
    ]  # fmt: skip
    lines = _csv_lines(columns, ";")
    # A line cut short after the address, as when an export job is killed mid-row.
    too_few = reason == "too_few_fields"
    lines = _patch(lines, too_few, _csv_lines([c.filter(too_few) for c in columns[:6]], ";"))
    _write_lines(path, _LOYALTY_HEADER, lines)
    return _truth("loyalty", member_no, base, corruption)


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------

# Orders per person, 0..12: many one-and-done, a long tail of regulars.
_ORDER_COUNT_WEIGHTS = [18, 34, 14, 9, 6.5, 5, 4, 3, 2.5, 2, 1.5, 1, 1]
# Channel weights (store, web, app) by the source whose customer id the order carries.
_CHANNEL_WEIGHTS = {"pos": [92, 0, 8], "web": [0, 70, 30], "loyalty": [50, 25, 25]}
# Lines per order (1..4) and units per line (1..3): most baskets are small.
_LINE_COUNT_WEIGHTS = [52, 28, 13, 7]
_MAX_LINES = len(_LINE_COUNT_WEIGHTS)
_QUANTITY_WEIGHTS = [80, 16, 4]
_LIST_CENTS = np.array([price for _, _, price in CATALOGUE], dtype=np.int64)  # ascending


def _write_orders(
    rng: np.random.Generator, truth: pl.DataFrame, n_persons: int, reference: int, path: Path
) -> tuple[int, int]:
    """Orders pointing at valid customer records; returns (orders, corrupt order lines)."""
    valid = truth.filter(~pl.col("is_corrupt")).sort("person_id", maintain_order=True)
    person_of_record = valid["person_id"].to_numpy() - 1
    records_per_person = np.bincount(person_of_record, minlength=n_persons)
    first_record = np.concatenate([[0], np.cumsum(records_per_person)[:-1]])

    orders_per_person = _draw(rng, n_persons, _ORDER_COUNT_WEIGHTS)
    orders_per_person[records_per_person == 0] = 0  # only corrupt rows: nothing to point at
    buyer = np.repeat(np.arange(n_persons), orders_per_person)
    m = len(buyer)
    record = first_record[buyer] + np.floor(rng.random(m) * records_per_person[buyer]).astype(
        np.int64
    )
    ordered_at = reference - rng.integers(0, 3 * 365 * _DAY_SECONDS, size=m)
    cents = np.maximum(199, np.round(np.exp(rng.normal(3.7, 0.8, size=m)) * 100)).astype(np.int64)
    channel_u = rng.random(m)
    dollar_sign = rng.random(m) < 0.01

    chosen = valid[record].select("source", "record_id")
    source_code = chosen["source"].replace_strict(list(SOURCES), [0, 1, 2]).to_numpy()
    weights = np.array([_CHANNEL_WEIGHTS[s] for s in SOURCES], dtype=float)
    cumulative = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    # the channel is the first band whose cumulative weight exceeds the uniform draw
    channel_idx = (channel_u[:, None] >= cumulative[source_code][:, :2]).sum(axis=1)
    channel = _take(["store", "web", "app"], channel_idx)

    # File order is time order; order ids count up with it.
    by_time = np.argsort(ordered_at, kind="stable")
    ordered_at, cents, dollar_sign = ordered_at[by_time], cents[by_time], dollar_sign[by_time]
    chosen = chosen[by_time]
    order_id = "ORD" + pl.Series(np.arange(1, m + 1)).cast(pl.String).str.zfill(9)

    amount = (
        pl.Series(cents // 100).cast(pl.String)
        + "."
        + pl.Series(cents % 100).cast(pl.String).str.zfill(2)
    )
    amount = _patch(amount, dollar_sign, lambda v: "$" + v)
    timestamp = _seconds_to_datetime(ordered_at).dt.strftime("%Y-%m-%dT%H:%M:%SZ")

    corruption = _corrupt_rows(
        rng, m, ("extra_unquoted_field", "unparseable_amount", "unparseable_timestamp")
    )
    reason = corruption.to_numpy()
    # a thousands separator written without quotes splits the amount into two fields
    amount = _patch(amount, reason == "extra_unquoted_field", lambda v: "1," + v.str.zfill(6))
    not_a_number = reason == "unparseable_amount"
    amount = _patch(amount, not_a_number, pl.repeat("N/A", int(not_a_number.sum()), eager=True))
    timestamp = _patch(
        timestamp, reason == "unparseable_timestamp", lambda v: v.str.slice(0, 10) + " noon"
    )

    fields = [
        order_id, chosen["source"], chosen["record_id"], amount,
        pl.repeat("USD", m, dtype=pl.String, eager=True), timestamp, channel[by_time],
    ]  # fmt: skip
    # Drawn after every order-level draw: ids, times and amounts are those the orders had
    # before they had line items.
    items = _order_line_items(rng, cents)
    _write_lines(path, _ORDERS_HEADER, _order_file_lines(fields, items))
    return m, int(corruption.is_not_null().sum())


def _order_line_items(rng: np.random.Generator, cents: np.ndarray) -> pl.DataFrame:
    """The line items of orders whose amounts are `cents` (one entry per order, file order).

    One row per line, each order's lines consecutive: `order` (its index), `line_number`,
    `sku`, `product_name`, `quantity` and `price_cents` (per unit). An order has 1-4 lines (at
    least $5 a line: a $6 order is one line), mostly one unit a line, of products near what it
    can spend per unit; the prices are the catalogue's scaled by the order's own factor
    (discounts, shipping and tax spread over its lines), so that quantity x price summed over
    an order's lines is its amount to the cent."""
    m = len(cents)
    lines = np.minimum(1 + _draw(rng, m, _LINE_COUNT_WEIGHTS), np.maximum(1, cents // 500))
    order = np.repeat(np.arange(m), lines)
    line_number = np.arange(len(order)) - np.repeat(np.cumsum(lines) - lines, lines) + 1
    quantity = 1 + _draw(rng, len(order), _QUANTITY_WEIGHTS)
    # The cents the scaling leaves over land on a line of one unit (a whole cent per unit):
    # an order without one has its first line made a single unit.
    has_single = np.bincount(order, weights=quantity == 1, minlength=m) > 0
    quantity[(line_number == 1) & ~has_single[order]] = 1
    units = np.bincount(order, weights=quantity, minlength=m)
    target = cents[order] / units[order] * np.exp(rng.normal(0.0, 0.35, size=len(order)))
    product = _distinct_per_order(
        order, np.searchsorted(_LIST_CENTS, target).clip(0, len(_LIST_CENTS) - 1)
    )
    listed = _LIST_CENTS[product]
    basket = np.bincount(order, weights=listed * quantity, minlength=m)
    price = np.floor(cents[order] * listed / basket[order]).astype(np.int64)
    left_over = cents - np.bincount(order, weights=price * quantity, minlength=m).astype(np.int64)
    singles = np.flatnonzero(quantity == 1)
    _, first_single = np.unique(order[singles], return_index=True)
    price[singles[first_single]] += left_over
    return pl.DataFrame(
        {
            "order": order,
            "line_number": line_number,
            "sku": _take([sku for sku, _, _ in CATALOGUE], product),
            "product_name": _take([name for _, name, _ in CATALOGUE], product),
            "quantity": quantity,
            "price_cents": price,
        }
    )


def _distinct_per_order(order: np.ndarray, product: np.ndarray) -> np.ndarray:
    """`product` with a product repeated in one order moved to the next dearer one (cyclic):
    an export writes two of one item as one line of quantity 2, not two lines. An order has
    at most four lines, so a few passes settle every order."""
    product = product.copy()
    for _ in range(_MAX_LINES):
        pair = pl.Series(order * len(_LIST_CENTS) + product)
        repeat = ~pair.is_first_distinct().to_numpy()
        if not repeat.any():
            break
        product[repeat] = (product[repeat] + 1) % len(_LIST_CENTS)
    return product


def _order_file_lines(fields: list[pl.Series], items: pl.DataFrame) -> pl.Series:
    """The orders file's lines as an export with line items writes them (Shopify's way): one
    line per item, the order id on each, the order's other fields on its first line only."""
    orders = pl.DataFrame([f.alias(f"c{i}") for i, f in enumerate(fields)])
    first_line = pl.col("line_number") == 1
    price = pl.col("price_cents")
    return (
        items.join(orders.with_row_index("order"), on="order", how="left", maintain_order="left")
        .select(
            pl.col("c0"),
            *(pl.when(first_line).then(pl.col(f"c{i}")).otherwise(pl.lit("")) for i in range(1, 7)),
            "sku",
            "product_name",
            pl.col("quantity").cast(pl.String),
            (price // 100).cast(pl.String) + "." + (price % 100).cast(pl.String).str.zfill(2),
        )
        .select(pl.concat_str(pl.all(), separator=","))
        .to_series()
    )


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _reference_time(rng: np.random.Generator) -> int:
    """A fixed 'now' for the data set, from the seed: a day in 2024-07-01 .. 2025-06-30, noon."""
    day = datetime(2024, 7, 1, 12, tzinfo=UTC) + timedelta(days=int(rng.integers(0, 365)))
    return int(day.timestamp())


def generate_sample_data(
    data_dir: str | Path,
    customers: int = 10_000,
    seed: int = 42,
    reference_time: datetime | None = None,
    *,
    profile: str = "realistic",
) -> dict:
    """Write the sample sources, orders and ground truth under `data_dir`; return a summary.

    Same `customers`, `seed`, `reference_time` and `profile` give byte-identical files. Dates
    count back from `reference_time` (the demo passes today, so recency figures look alive);
    without it the reference is drawn from the seed. `profile` is "realistic" (the default) or
    "classic" (the original, easier population; its files are byte for byte what the
    generator wrote before profiles existed). The summary holds the number of persons, records
    and corrupt rows per source, the number of orders, the reference time the dates are
    relative to, and the paths written; realistic adds the profile and the relations per kind.
    """
    if profile not in PROFILES:
        raise ValueError(
            f"unknown profile {profile!r}: valid profiles are {', '.join(map(repr, PROFILES))}"
        )
    if customers < 1:
        raise ValueError("customers must be at least 1")
    data_dir = Path(data_dir)
    rng = np.random.default_rng(seed)
    reference = _reference_time(rng)  # drawn even when overridden: the stream stays the same
    if reference_time is not None:
        moment = reference_time if reference_time.tzinfo else reference_time.replace(tzinfo=UTC)
        reference = int(moment.timestamp())
    paths = {
        "pos": data_dir / "sources" / "pos" / "pos_customers.csv",
        "web": data_dir / "sources" / "web" / "web_accounts.parquet",
        "loyalty": data_dir / "sources" / "loyalty" / "loyalty_members.csv",
        "orders": data_dir / "sources" / "orders" / "orders.csv",
        "truth": data_dir / "truth" / "sample_truth.parquet",
    }
    relations_path = data_dir / "truth" / "relations.parquet"

    settings, persons, relations, records = _population(rng, customers, reference, profile)
    pos_records, web_records, loyalty_records = records
    population = _Population(rng, persons, reference, settings)
    truth = pl.concat(
        [
            _write_pos(population, pos_records, paths["pos"]),
            _write_web(population, web_records, paths["web"]),
            _write_loyalty(population, loyalty_records, paths["loyalty"]),
        ]
    )
    households = int(persons["household_id"].max() + 1)
    # the largest frames: free them before the orders are built
    del persons, records, population
    paths["truth"].parent.mkdir(parents=True, exist_ok=True)
    truth.write_parquet(paths["truth"], statistics=True)
    relations.write_parquet(relations_path, statistics=True)
    order_count, corrupt_orders = _write_orders(rng, truth, customers, reference, paths["orders"])

    if profile != "classic":
        paths["relations"] = relations_path
    summary = _summary(
        seed=seed,
        customers=customers,
        profile=profile,
        reference=reference,
        truth=truth,
        relations=relations,
        households=households,
        orders=order_count,
        corrupt_orders=corrupt_orders,
        paths=paths,
    )
    relative = {**summary, "paths": {k: str(p.relative_to(data_dir)) for k, p in paths.items()}}
    (data_dir / "truth" / "summary.json").write_text(json.dumps(relative, indent=2) + "\n")
    return summary


def _population(
    rng: np.random.Generator, customers: int, reference: int, profile: str
) -> tuple[_Profile, pl.DataFrame, pl.DataFrame, tuple[_SourceRecords, ...]]:
    """The profile's settings, its people, the pairs of them that look alike, and which
    records each source holds for whom."""
    if profile == "classic":
        settings = _Profile(profile, _classic_vocabulary(), None)
        persons = _make_persons(rng, customers)
        relations = _household_relations(persons)
        records = _assign_records(rng, customers)
    else:
        settings = _Profile(profile, _realistic_vocabulary(), _REALISTIC_EXTRAS)
        persons, relations = _make_realistic_persons(rng, customers, reference)
        records = _assign_records(
            rng, customers, persons["work_email_local"].is_not_null().to_numpy()
        )
    return settings, persons, relations, records


def _summary(
    *,
    seed: int,
    customers: int,
    profile: str,
    reference: int,
    truth: pl.DataFrame,
    relations: pl.DataFrame,
    households: int,
    orders: int,
    corrupt_orders: int,
    paths: dict[str, Path],
) -> dict:
    """What generate_sample_data returns (see there)."""
    per_source = truth.group_by("source").agg(
        pl.len().alias("records"), pl.col("is_corrupt").sum().alias("corrupt")
    )
    records = dict(zip(per_source["source"], per_source["records"], strict=True))
    corrupt = dict(zip(per_source["source"], per_source["corrupt"], strict=True))
    summary = {
        "seed": seed,
        "persons": customers,
        "records": {s: int(records.get(s, 0)) for s in SOURCES},
        "orders": orders,
        "corrupt_rows": {**{s: int(corrupt.get(s, 0)) for s in SOURCES}, "orders": corrupt_orders},
        "households": households,
        "reference_time": datetime.fromtimestamp(reference, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "paths": {k: str(p) for k, p in paths.items()},
    }
    if profile != "classic":
        # The classic summary stays byte for byte the original, which did not have these.
        kinds = dict(relations.group_by("kind").len().iter_rows())
        summary = {
            "profile": profile,
            **summary,
            "relations": {k: int(kinds.get(k, 0)) for k in RELATION_KINDS},
        }
    return summary
