"""Normalize raw tag columns so that equal facts compare equal.

Every function here works on whole columns with polars expressions. The only per-value Python
calls go to ``phonenumbers`` and are made once per distinct raw phone that the vectorized
North-American fast path cannot settle.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import phonenumbers
import polars as pl

from amperity_braze_assets.sources.tags import CUSTOMER_TAGS

from .coding import Coded, choose, coalesce, dictionary, map_values, recode
from .nicknames import CANONICAL_GIVEN_NAME
from .profiling import stage

# The tags identity resolution normalizes: the vocabulary less what carries no identity
# evidence here (company, generational suffix, the update clock).
TAG_COLUMNS: tuple[str, ...] = tuple(
    column
    for column in CUSTOMER_TAGS.values()
    if column not in ("company", "generational_suffix", "updated_at")
)

JUNK_TEXT = (
    "",
    "CASH",
    "CASH CUSTOMER",
    "CUSTOMER CASH",
    "WALK IN",
    "WALKIN",
    "VALUED CUSTOMER",
    "CUSTOMER VALUED",
    "CUSTOMER, VALUED",
    "STORE CUSTOMER",
    "IN STORE",
    "NA",
    "N A",
    "NONE",
    "NULL",
    "NIL",
    "UNKNOWN",
    "UNK",
    "TEST",
    "TESTING",
    "XXX",
    "XX",
    "X",
    "ASDF",
    "NOT PROVIDED",
    "NOT AVAILABLE",
    "NO NAME",
    "CUSTOMER",
    "GUEST",
    "DECLINED",
    "REFUSED",
)

JUNK_EMAIL_LOCAL_PARTS = (
    "test",
    "testing",
    "tester",
    "noreply",
    "no-reply",
    "no.reply",
    "donotreply",
    "do-not-reply",
    "do.not.reply",
    "none",
    "nobody",
    "noemail",
    "no-email",
    "no.email",
    "na",
    "n.a",
    "null",
    "nil",
    "unknown",
    "asdf",
    "asdfasdf",
    "qwerty",
    "abc",
    "abc123",
    "xxx",
    "xx",
    "x",
    "fake",
    "sample",
    "email",
    "noname",
    "no",
    "declined",
    "refused",
)

PLACEHOLDER_EMAIL_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    "test.com",
    "test.org",
    "none.com",
    "noemail.com",
    "nomail.com",
    "nowhere.com",
    "invalid.com",
    "domain.com",
    "email.invalid",
    "localhost",
    "fake.com",
    "asdf.com",
)

# USPS street-suffix and unit abbreviations (Publication 28) the sources actually use.
ADDRESS_ABBREVIATIONS: dict[str, str] = {
    "ST": "STREET",
    "STR": "STREET",
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "AVN": "AVENUE",
    "RD": "ROAD",
    "BLVD": "BOULEVARD",
    "BLV": "BOULEVARD",
    "DR": "DRIVE",
    "DRV": "DRIVE",
    "LN": "LANE",
    "CT": "COURT",
    "CRT": "COURT",
    "PL": "PLACE",
    "SQ": "SQUARE",
    "PKWY": "PARKWAY",
    "PKY": "PARKWAY",
    "HWY": "HIGHWAY",
    "CIR": "CIRCLE",
    "TER": "TERRACE",
    "TERR": "TERRACE",
    "TRL": "TRAIL",
    "CRES": "CRESCENT",
    "CRESC": "CRESCENT",
    "EXPY": "EXPRESSWAY",
    "FWY": "FREEWAY",
    "ALY": "ALLEY",
    "CTR": "CENTER",
    "PT": "POINT",
    "HTS": "HEIGHTS",
    "MT": "MOUNT",
    "FT": "FORT",
    "XING": "CROSSING",
    "LOOP": "LOOP",
    "WY": "WAY",
    "N": "NORTH",
    "S": "SOUTH",
    "E": "EAST",
    "W": "WEST",
    "NE": "NORTHEAST",
    "NW": "NORTHWEST",
    "SE": "SOUTHEAST",
    "SW": "SOUTHWEST",
    "APT": "APARTMENT",
    "APPT": "APARTMENT",
    "STE": "SUITE",
    "FL": "FLOOR",
    "FLR": "FLOOR",
    "BLDG": "BUILDING",
    "RM": "ROOM",
    "UNT": "UNIT",
    "PO": "PO",
    "BX": "BOX",
}

CITY_ABBREVIATIONS: dict[str, str] = {"ST": "SAINT", "STE": "SAINTE", "FT": "FORT", "MT": "MOUNT"}

US_STATES: dict[str, str] = {
    "ALABAMA": "AL",
    "ALASKA": "AK",
    "ARIZONA": "AZ",
    "ARKANSAS": "AR",
    "CALIFORNIA": "CA",
    "COLORADO": "CO",
    "CONNECTICUT": "CT",
    "DELAWARE": "DE",
    "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL",
    "GEORGIA": "GA",
    "HAWAII": "HI",
    "IDAHO": "ID",
    "ILLINOIS": "IL",
    "INDIANA": "IN",
    "IOWA": "IA",
    "KANSAS": "KS",
    "KENTUCKY": "KY",
    "LOUISIANA": "LA",
    "MAINE": "ME",
    "MARYLAND": "MD",
    "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI",
    "MINNESOTA": "MN",
    "MISSISSIPPI": "MS",
    "MISSOURI": "MO",
    "MONTANA": "MT",
    "NEBRASKA": "NE",
    "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH",
    "NEW JERSEY": "NJ",
    "NEW MEXICO": "NM",
    "NEW YORK": "NY",
    "NORTH CAROLINA": "NC",
    "NORTH DAKOTA": "ND",
    "OHIO": "OH",
    "OKLAHOMA": "OK",
    "OREGON": "OR",
    "PENNSYLVANIA": "PA",
    "RHODE ISLAND": "RI",
    "SOUTH CAROLINA": "SC",
    "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN",
    "TEXAS": "TX",
    "UTAH": "UT",
    "VERMONT": "VT",
    "VIRGINIA": "VA",
    "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV",
    "WISCONSIN": "WI",
    "WYOMING": "WY",
    "PUERTO RICO": "PR",
}

COUNTRIES: dict[str, str] = {
    "USA": "US",
    "US": "US",
    "U S": "US",
    "U S A": "US",
    "UNITED STATES": "US",
    "UNITED STATES OF AMERICA": "US",
    "AMERICA": "US",
    "CANADA": "CA",
    "CAN": "CA",
    "UK": "GB",
    "GBR": "GB",
    "UNITED KINGDOM": "GB",
    "GREAT BRITAIN": "GB",
    "ENGLAND": "GB",
    "MEXICO": "MX",
    "MEX": "MX",
    "AUSTRALIA": "AU",
    "AUS": "AU",
    "GERMANY": "DE",
    "DEU": "DE",
    "FRANCE": "FR",
    "FRA": "FR",
}

GENDERS: dict[str, str] = {
    "M": "M",
    "MALE": "M",
    "MAN": "M",
    "MR": "M",
    "F": "F",
    "FEMALE": "F",
    "WOMAN": "F",
    "W": "F",
    "MRS": "F",
    "MS": "F",
    "O": "O",
    "OTHER": "O",
    "X": "O",
    "NB": "O",
    "NON BINARY": "O",
    "NONBINARY": "O",
    "NON-BINARY": "O",
}

NAME_TITLES = ("MR", "MRS", "MS", "MISS", "DR", "PROF", "REV", "SIR")
NAME_SUFFIXES = ("JR", "SR", "II", "III", "IV", "V", "MD", "PHD", "ESQ", "DDS")

MONTHS = {
    "JAN": 1,
    "FEB": 2,
    "MAR": 3,
    "APR": 4,
    "MAY": 5,
    "JUN": 6,
    "JUL": 7,
    "AUG": 8,
    "SEP": 9,
    "SEPT": 9,
    "OCT": 10,
    "NOV": 11,
    "DEC": 12,
}

# Phone numbers nobody has: keyboard runs and the 555-01xx range reserved for fiction.
JUNK_PHONE_DIGITS = ("1234567890", "0123456789", "9876543210", "1231231234")


def fold_text(expr: pl.Expr) -> pl.Expr:
    """Upper-case, fold accents (é -> E), keep letters, digits and commas, squeeze spaces."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_uppercase()
        .str.replace_all(r"['’`]", "")
        .str.replace_all(r"[^A-Z0-9,]+", " ")
        .str.replace_all(r"\s*,\s*", ", ")
        .str.strip_chars(" ,")
    )


# Generational suffixes as one code each: JUNIOR and JR are one, II is a junior too.
GENERATIONS = {
    "SR": "SR",
    "SENIOR": "SR",
    "JR": "JR",
    "JUNIOR": "JR",
    "II": "JR",
    "2ND": "JR",
    "III": "III",
    "3RD": "III",
    "IV": "IV",
    "4TH": "IV",
}
_GENERATION_PATTERN = r"(?:^|\s)(" + "|".join(GENERATIONS) + r")(?:,|$)"


def generation_values(values: pl.Series) -> pl.Series:
    """The generational suffix a name or suffix field ends with (``Lee Sr.``, ``Notelwood Jr,
    Russell``, ``III``) as SR, JR, III or IV; null where there is none."""
    return _evaluate(
        values.cast(pl.String),
        lambda e: (
            fold_text(e)
            .str.extract(_GENERATION_PATTERN, 1)
            .replace_strict(GENERATIONS, default=None)
        ),
    )


def _null_if_junk(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_in(JUNK_TEXT) | expr.is_null()).then(None).otherwise(expr)


def normalize_name(expr: pl.Expr) -> pl.Expr:
    """A given name or surname: letters only, upper case, titles and suffixes dropped."""
    titles = "|".join(NAME_TITLES)
    suffixes = "|".join(NAME_SUFFIXES)
    folded = (
        fold_text(expr)
        .str.replace_all(r"[0-9,]+", " ")
        .str.replace(rf"^(?:(?:{titles})\s+)+", "")
        .str.replace(rf"(?:\s+(?:{suffixes}))+$", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return _null_if_junk(folded)


def canonical_given_name(expr: pl.Expr) -> pl.Expr:
    """The formal name behind a nickname (BOB -> ROBERT); other names unchanged."""
    return expr.replace(CANONICAL_GIVEN_NAME)


def split_full_name(full_names: pl.Series) -> pl.DataFrame:
    """(given_name, surname) for each full name: ``Last, First M``, ``First M Last`` or a
    lone ``Last``.

    Middle names and initials are dropped; titles and generational suffixes too.
    """
    titles = "|".join(NAME_TITLES)
    suffixes = "|".join(NAME_SUFFIXES)
    folded = (
        fold_text(pl.col("full_name"))
        .str.replace_all(r"[0-9]+", " ")
        .str.replace(rf"^(?:(?:{titles})\s+)+", "")
        .str.replace_all(rf"(?:\s+(?:{suffixes}))+(,|$)", "${1}")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ,")
    )
    frame = (
        pl.LazyFrame({"full_name": fold_accents(repair_mojibake(full_names))})
        .select(folded.alias("folded"))
        # "CASH CUSTOMER", "CUSTOMER, VALUED", "WALK IN": no name at all, not two names.
        .with_columns(
            pl.when(
                pl.col("folded").is_in(JUNK_TEXT)
                | pl.col("folded").str.replace_all(",", "").is_in(JUNK_TEXT)
            )
            .then(None)
            .otherwise(pl.col("folded"))
            .alias("folded")
        )
        .with_columns(
            pl.col("folded").str.contains(",").alias("has_comma"),
            pl.col("folded").str.replace_all(",", "").str.split(" ").alias("tokens"),
        )
    )
    tokens = pl.col("tokens")
    has_comma = pl.col("has_comma")
    return frame.select(
        _null_if_junk(
            pl.when(has_comma)
            .then(pl.col("folded").str.extract(r",\s*([A-Z]+)", 1))
            .when(tokens.list.len() >= 2)
            .then(tokens.list.first())
            .otherwise(None)
        ).alias("given_name"),
        # One word alone is taken as the surname: a given name typed there would conflict
        # with the person's other records, a surname only weighs against them.
        _null_if_junk(
            pl.when(has_comma)
            .then(pl.col("folded").str.extract(r"^([^,]+),", 1).str.strip_chars())
            .otherwise(tokens.list.last())
        ).alias("surname"),
    ).collect()


def normalize_email(expr: pl.Expr) -> pl.Expr:
    """Lower-case, trimmed, ``+tag`` removed; junk local parts and placeholder domains -> null."""
    email = (
        expr.str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"\s+", "")
        .str.replace(r"^mailto:", "")
        .str.replace(r"\+[^@]*@", "@")
    )
    local = email.str.extract(r"^([^@]+)@", 1)
    domain = email.str.extract(r"@([^@]+)$", 1)
    valid = email.str.contains(
        r"^[a-z0-9!#$%&'*/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$"
    )
    junk = local.is_in(JUNK_EMAIL_LOCAL_PARTS) | domain.is_in(PLACEHOLDER_EMAIL_DOMAINS)
    return pl.when(valid & ~junk.fill_null(False)).then(email).otherwise(None)


def _phones_by_library(raw_values: list[str], default_region: str) -> list[str | None]:
    out: list[str | None] = []
    for raw in raw_values:
        try:
            number = phonenumbers.parse(raw, default_region)
        except phonenumbers.NumberParseException:
            out.append(None)
            continue
        if phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number):
            out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        else:
            out.append(None)
    return out


def normalize_phone_column(series: pl.Series, default_region: str = "US") -> pl.Series:
    """E.164 phones. North-American numbers in the default region are formatted by expression
    (phonenumbers costs ~60 us a call and a million rows hold hundreds of thousands of distinct
    numbers); every other distinct value goes through phonenumbers once."""
    # An extension is not part of the number that identifies a person.
    cleaned = (
        pl.col("raw")
        .str.strip_chars()
        .str.replace(r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d+$", "")
        .str.replace(r"\.0$", "")  # numbers exported through a float column
    )
    nanp_region = default_region.upper() in {"US", "CA"}
    national = pl.col("digits").str.extract(r"^1?([2-9]\d{2}[2-9]\d{6})$", 1)
    plain = ~pl.col("cleaned").str.starts_with("+") & ~pl.col("cleaned").str.starts_with("00")
    fast = national if nanp_region else pl.lit(None, dtype=pl.String)
    junk = (
        pl.col("national").is_in(JUNK_PHONE_DIGITS)
        | pl.col("national").str.contains(r"^\d{3}55501\d{2}$")
        | pl.col("national").str.slice(1, 2).eq("11")  # N11 service codes are not area codes
        | pl.col("national").is_in([digit * 10 for digit in "23456789"])
    )
    # Step by step, each intermediate computed once.
    frame = (
        pl.LazyFrame({"raw": series.cast(pl.String)})
        .with_columns(cleaned.alias("cleaned"))
        .with_columns(pl.col("cleaned").str.replace_all(r"\D", "").alias("digits"))
        .with_columns(
            pl.when(plain | pl.col("cleaned").str.starts_with("+1")).then(fast).alias("national")
        )
        .with_columns(junk.fill_null(False).alias("junk"))
        .with_columns(
            pl.when(pl.col("national").is_not_null() & ~pl.col("junk"))
            .then(pl.lit("+1") + pl.col("national"))
            .alias("e164"),
            (pl.col("national").is_null() & (pl.col("digits").str.len_chars() >= 7)).alias("slow"),
        )
        .select("cleaned", "e164", "slow", "junk")
        .collect()
    )
    slow_values = (
        frame.filter(pl.col("slow") & ~pl.col("junk"))
        .select(pl.col("cleaned").unique())
        .to_series()
        .sort()
        .to_list()
    )
    if slow_values:
        lookup = pl.DataFrame(
            {
                "cleaned": slow_values,
                "library_e164": _phones_by_library(slow_values, default_region),
            },
            schema={"cleaned": pl.String, "library_e164": pl.String},
        )
        frame = frame.join(lookup, on="cleaned", how="left", maintain_order="left")
        result = pl.coalesce("e164", "library_e164")
    else:
        result = pl.col("e164")
    return frame.select(result.alias(series.name)).to_series()


def expand_tokens(text: pl.Expr, table: dict[str, str]) -> pl.Expr:
    """Replace whole space-separated tokens by ``table`` in one Aho-Corasick pass.

    Each token is wrapped in its own pair of spaces (spaces doubled), so that patterns
    `` ST `` never overlap and only whole tokens match; spaces are squeezed afterwards.
    """
    spaced = pl.lit(" ") + text.str.replace_all(" ", "  ", literal=True) + pl.lit(" ")
    expanded = spaced.str.replace_many(
        [f" {key} " for key in table], [f" {value} " for value in table.values()]
    )
    return expanded.str.replace_all(" +", " ").str.strip_chars(" ")


def normalize_address(expr: pl.Expr) -> pl.Expr:
    """Upper case, punctuation stripped, USPS abbreviations expanded (ST -> STREET)."""
    tokens = fold_text(expr).str.replace_all(r"[,\s]+", " ").str.strip_chars()
    return _null_if_junk(expand_tokens(tokens, ADDRESS_ABBREVIATIONS))


def normalize_city(expr: pl.Expr) -> pl.Expr:
    tokens = fold_text(expr).str.replace_all(r"[,\s]+", " ").str.strip_chars()
    return _null_if_junk(expand_tokens(tokens, CITY_ABBREVIATIONS))


def normalize_state(expr: pl.Expr) -> pl.Expr:
    folded = fold_text(expr).str.replace_all(",", "")
    return _null_if_junk(folded.replace(US_STATES))


def normalize_country(expr: pl.Expr) -> pl.Expr:
    folded = fold_text(expr).str.replace_all(",", "")
    return _null_if_junk(folded.replace(COUNTRIES))


def normalize_postal(expr: pl.Expr, country: pl.Expr, default_region: str = "US") -> pl.Expr:
    """US ZIPs to 5 digits, leading zeros restored (spreadsheets drop them: 02139 -> 2139);
    other postal codes upper case without spaces."""
    raw = expr.cast(pl.String).str.strip_chars().str.to_uppercase().str.replace(r"\.0$", "")
    compact = raw.str.replace_all(r"[^A-Z0-9]", "")
    digits_only = raw.str.contains(r"^[0-9 \-]+$")
    digits = raw.str.replace_all(r"\D", "")
    is_us = country.fill_null(default_region.upper()) == "US"
    zip5 = (
        pl.when(digits.str.len_chars().is_in([3, 4, 5]))
        .then(digits.str.zfill(5))
        .when(digits.str.len_chars().is_in([8, 9]))
        .then(digits.str.zfill(9).str.slice(0, 5))
        .otherwise(None)
    )
    out = pl.when(is_us & digits_only).then(zip5).otherwise(compact)
    return pl.when(out.is_in(["00000", "99999", ""])).then(None).otherwise(out)


def parse_birthdate(expr: pl.Expr, today: dt.date | None = None) -> pl.Expr:
    """A date from the formats sources use: YYYY-MM-DD, MM/DD/YYYY, M/D/YY, DD.MM.YYYY,
    YYYYMMDD, ``Mar 5 1980``. Placeholder and impossible dates -> null."""
    today = today or dt.date.today()
    text = expr.cast(pl.String).str.strip_chars().str.to_uppercase()
    iso = text.str.extract_groups(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T].*)?$")
    us = text.str.extract_groups(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
    dotted = text.str.extract_groups(r"^(\d{1,2})[.](\d{1,2})[.](\d{4})$")
    compact = text.str.extract_groups(r"^(\d{4})(\d{2})(\d{2})$")
    named = text.str.extract_groups(r"^([A-Z]{3,9})\.?\s+(\d{1,2})(?:ST|ND|RD|TH)?,?\s+(\d{4})$")
    named_dmy = text.str.extract_groups(r"^(\d{1,2})\s+([A-Z]{3,9})\.?,?\s+(\d{4})$")
    month_of = {**MONTHS, **{_full_month(k): v for k, v in MONTHS.items()}}

    def field(struct: pl.Expr, index: int) -> pl.Expr:
        return struct.struct.field(str(index)).cast(pl.Int32, strict=False)

    us_year = field(us, 3)
    pivot = today.year % 100
    us_year = (
        pl.when(us_year < 100)
        .then(pl.when(us_year <= pivot).then(us_year + 2000).otherwise(us_year + 1900))
        .otherwise(us_year)
    )
    year = pl.coalesce(
        field(iso, 1),
        us_year,
        field(dotted, 3),
        field(compact, 1),
        field(named, 3),
        field(named_dmy, 3),
    )
    month = pl.coalesce(
        field(iso, 2),
        field(us, 1),
        field(dotted, 2),
        field(compact, 2),
        named.struct.field("1").replace_strict(month_of, default=None, return_dtype=pl.Int32),
        named_dmy.struct.field("2").replace_strict(month_of, default=None, return_dtype=pl.Int32),
    )
    day = pl.coalesce(
        field(iso, 3),
        field(us, 2),
        field(dotted, 1),
        field(compact, 3),
        field(named, 2),
        field(named_dmy, 1),
    )
    as_text = pl.format(
        "{}-{}-{}",
        year.cast(pl.String).str.zfill(4),
        month.cast(pl.String).str.zfill(2),
        day.cast(pl.String).str.zfill(2),
    )
    date = as_text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    plausible = (
        (date > dt.date(1900, 1, 1))
        & (date <= today)
        & ~date.is_in([dt.date(1901, 1, 1), dt.date(1970, 1, 1)])
    )
    return pl.when(plausible).then(date).otherwise(None)


def _full_month(abbreviation: str) -> str:
    names = {
        "JAN": "JANUARY",
        "FEB": "FEBRUARY",
        "MAR": "MARCH",
        "APR": "APRIL",
        "MAY": "MAY",
        "JUN": "JUNE",
        "JUL": "JULY",
        "AUG": "AUGUST",
        "SEP": "SEPTEMBER",
        "SEPT": "SEPTEMBER",
        "OCT": "OCTOBER",
        "NOV": "NOVEMBER",
        "DEC": "DECEMBER",
    }
    return names[abbreviation]


def normalize_gender(expr: pl.Expr) -> pl.Expr:
    folded = fold_text(expr).str.replace_all(",", "")
    return folded.replace_strict(GENDERS, default=None, return_dtype=pl.String)


def _evaluate(values: pl.Series, expr_of) -> pl.Series:
    """An expression over a Series, lazily so that repeated sub-expressions run once."""
    frame = pl.LazyFrame({"value": values})
    return frame.select(expr_of(pl.col("value")).alias(values.name)).collect().to_series()


# Bytes of UTF-8 read as Windows-1252 (MÃ¼ller, JosÃ©, Ã‰ric): the lead bytes of two-byte
# letters as they then appear.
_MOJIBAKE = r"[ÃÂÅÄÐÑÎÏ][\u0080-\u00BF\u2018-\u203A\u20AC\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u02C6\u02DC]"


def repair_mojibake(values: pl.Series) -> pl.Series:
    """Text that went through a wrong encoding repaired (MÃ¼ller -> Müller, with ftfy), on
    the few values that show it; the rest untouched."""
    values = values.cast(pl.String)
    broken = np.flatnonzero(values.str.contains(_MOJIBAKE).fill_null(False).to_numpy())
    if broken.size == 0:
        return values
    import ftfy

    index = pl.Series(broken.astype(np.uint32))
    repaired = [ftfy.fix_text(text) for text in values.gather(index).to_list()]
    return values.scatter(index, pl.Series(repaired, dtype=pl.String))


def fold_accents(values: pl.Series) -> pl.Series:
    """Accents folded (é -> e) on the values that are not plain ASCII; the rest untouched."""
    non_ascii = np.flatnonzero((values.str.len_bytes() != values.str.len_chars()).to_numpy())
    if non_ascii.size == 0:
        return values
    index = pl.Series(non_ascii.astype(np.uint32))
    folded = values.gather(index).str.normalize("NFKD").str.replace_all(r"\p{M}", "")
    return values.scatter(index, folded)


def normalize_address_values(values: pl.Series) -> pl.Series:
    """``normalize_address`` for a Series, cheaper: accents folded only where present, and all
    punctuation squeezed in one pass (commas become spaces in an address anyway)."""
    plain = (
        fold_accents(values.cast(pl.String))
        .str.to_uppercase()
        .str.replace_all(r"['’`]", "")
        .str.replace_all(r"[^A-Z0-9]+", " ")
        .str.strip_chars(" ")
    )
    spaced = (" " + plain.str.replace_all(" ", "  ", literal=True) + " ").str.replace_many(
        [f" {key} " for key in ADDRESS_ABBREVIATIONS],
        [f" {value} " for value in ADDRESS_ABBREVIATIONS.values()],
    )
    expanded = spaced.str.replace_all("  ", " ", literal=True).str.strip_chars(" ")
    return _evaluate(expanded, _null_if_junk).alias(values.name)


def normalize_email_values(values: pl.Series) -> pl.Series:
    """``normalize_email`` for a Series: the rare rewrites only on the values that need them."""
    email = values.cast(pl.String).str.strip_chars().str.to_lowercase()
    needs_rewrite = email.str.contains(r"[\s+]|^mailto:").fill_null(False).to_numpy()
    if needs_rewrite.any():
        index = pl.Series(np.flatnonzero(needs_rewrite).astype(np.uint32))
        rewritten = (
            email.gather(index)
            .str.replace_all(r"\s+", "")
            .str.replace(r"^mailto:", "")
            .str.replace(r"\+[^@]*@", "@")
        )
        email = email.scatter(index, rewritten)
    valid = email.str.contains(
        r"^[a-z0-9!#$%&'*/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$"
    ).fill_null(False)
    parts = email.str.split_exact("@", 1)
    local = parts.struct.field("field_0")
    domain = parts.struct.field("field_1")
    junk = local.is_in(JUNK_EMAIL_LOCAL_PARTS) | domain.is_in(PLACEHOLDER_EMAIL_DOMAINS)
    keep = valid & ~junk.fill_null(False)
    return email.set(~keep, None).alias(values.name)


def parse_birthdate_values(values: pl.Series, today: dt.date | None = None) -> pl.Series:
    """``parse_birthdate`` for a Series: the common fixed-width layouts parsed directly, the
    rest by the general parser."""
    today = today or dt.date.today()
    text = values.cast(pl.String).str.strip_chars()
    frame = pl.DataFrame({"text": text})
    fast = frame.select(
        pl.when(pl.col("text").str.contains(r"^\d{4}-\d{2}-\d{2}$"))
        .then(pl.col("text").str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        .when(pl.col("text").str.contains(r"^\d{2}/\d{2}/\d{4}$"))
        .then(pl.col("text").str.strptime(pl.Date, "%m/%d/%Y", strict=False))
        .when(pl.col("text").str.contains(r"^\d{2}\.\d{2}\.\d{4}$"))
        .then(pl.col("text").str.strptime(pl.Date, "%d.%m.%Y", strict=False))
        .alias("date"),
        pl.col("text")
        .str.contains(r"^(?:\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|\d{2}\.\d{2}\.\d{4})$")
        .fill_null(False)
        .alias("fixed"),
    )
    date = fast.get_column("date")
    plausible = (
        (date > dt.date(1900, 1, 1))
        & (date <= today)
        & ~date.is_in([dt.date(1901, 1, 1), dt.date(1970, 1, 1)])
    ).fill_null(False)
    date = date.set(~plausible, None)
    slow = np.flatnonzero(~fast.get_column("fixed").to_numpy() & text.is_not_null().to_numpy())
    if slow.size:
        index = pl.Series(slow.astype(np.uint32))
        parsed = _evaluate(text.gather(index), lambda e: parse_birthdate(e, today))
        date = date.scatter(index, parsed)
    return date.alias(values.name)


def _name_values(values: pl.Series) -> pl.Series:
    return _evaluate(repair_mojibake(values), normalize_name)


def _given_name_values(values: pl.Series) -> pl.Series:
    """A given name without the middle initials typed after it (``Jerome G.``, ``Sandra P``),
    as a full name's split drops them."""
    return _evaluate(
        repair_mojibake(values),
        lambda e: normalize_name(e).str.replace(r"^(\S+(?:\s\S{2,})*)(?:\s\S)+$", "${1}"),
    )


def normalized_columns(
    records: pl.DataFrame, default_region: str = "US", only: set[str] | None = None
) -> dict[str, Coded]:
    """Each tag column (and ``fk_``/``sk_`` key) normalized, as codes into distinct values.

    ``given_name``/``surname`` are filled from ``full_name`` where missing; ``birthdate``
    values are ``pl.Date``. ``only`` limits the work to the named columns (those a caller
    needs); the result then holds just those of them that the records have.
    """
    present = set(records.columns)

    def wanted(column: str) -> bool:
        return only is None or column in only

    def raw(column: str) -> Coded:
        series = records.get_column(column)
        if column != "birthdate" and series.dtype != pl.String:
            series = series.cast(pl.String)
        return dictionary(series)

    out: dict[str, Coded] = {}
    country = (
        map_values(raw("country"), lambda v: _evaluate(v, normalize_country))
        if ("country" in present)
        else None
    )
    if country is not None and wanted("country"):
        out["country"] = country

    simple = {
        "email": normalize_email_values,
        "address": normalize_address_values,
        "address2": normalize_address_values,
        "city": lambda v: _evaluate(v, normalize_city),
        "state": lambda v: _evaluate(v, normalize_state),
        "gender": lambda v: _evaluate(v, normalize_gender),
        "phone": lambda v: normalize_phone_column(v, default_region),
    }
    for column, function in simple.items():
        if column in present and wanted(column):
            with stage(f"normalize {column}"):
                out[column] = map_values(raw(column), function)

    if "birthdate" in present and wanted("birthdate"):
        with stage("normalize birthdate (dictionary)"):
            coded = raw("birthdate")
        if coded.values.dtype in (pl.Date, pl.Datetime) or isinstance(
            coded.values.dtype, pl.Datetime
        ):
            out["birthdate"] = map_values(coded, lambda v: v.cast(pl.Date))
        else:
            out["birthdate"] = map_values(coded, parse_birthdate_values)

    if "postal" in present and wanted("postal"):
        with stage("normalize postal (dictionary)"):
            coded = raw("postal")
        region = default_region.upper()
        as_us = map_values(
            coded, lambda v: _evaluate(v, lambda e: normalize_postal(e, pl.lit("US"), region))
        )
        as_other = map_values(
            coded, lambda v: _evaluate(v, lambda e: normalize_postal(e, pl.lit("-"), region))
        )
        if country is not None:
            country_is_us = pl.Series(
                [value == "US" for value in country.values.to_list()], dtype=pl.Boolean
            ).to_numpy()
            is_us = np.where(
                country.codes >= 0,
                country_is_us[np.maximum(country.codes, 0)] if country_is_us.size else False,
                region == "US",
            )
        else:
            is_us = np.full(coded.codes.size, region == "US")
        out["postal"] = choose(is_us, as_us, as_other)

    for column, function in (("given_name", _given_name_values), ("surname", _name_values)):
        if column in present and wanted(column):
            with stage(f"normalize {column}"):
                out[column] = map_values(raw(column), function)
    if "full_name" in present and (
        wanted("full_name") or wanted("given_name") or wanted("surname")
    ):
        with stage("normalize full_name"):
            full = raw("full_name")
            split = split_full_name(full.values) if full.values.len() else None
        for column in ("given_name", "surname"):
            if not wanted(column):
                continue
            from_full = (
                recode(full, split.get_column(column))
                if split is not None
                else Coded(full.codes, full.values.cast(pl.String))
            )
            out[column] = coalesce([out[column], from_full]) if column in out else from_full
        if wanted("full_name"):
            out["full_name"] = map_values(full, _name_values)
    for column in ("given_name", "surname"):
        if column in out and not wanted(column):
            del out[column]

    # Jr or Sr: from the suffix tag, else from the end of a surname, full name or given name.
    if wanted("generation"):
        found = [
            map_values(raw(column), generation_values)
            for column in ("generational_suffix", "surname", "full_name", "given_name")
            if column in present
        ]
        if found:
            out["generation"] = coalesce(found)

    for column in records.columns:
        if column.startswith(("fk_", "sk_")) and wanted(column):
            out[column] = map_values(
                dictionary(records.get_column(column).cast(pl.String)),
                lambda v: _evaluate(
                    v, lambda e: _null_if_junk(e.str.strip_chars().str.to_uppercase())
                ),
            )
    return out


def normalize_records(records: pl.DataFrame, default_region: str = "US") -> pl.DataFrame:
    """The same frame with each tag column replaced by its normalized value (junk -> null).

    ``given_name``/``surname`` are filled from ``full_name`` where missing; ``generation`` (JR,
    SR, III, IV) is added where a suffix tag or a name ends with one; ``birthdate`` becomes a
    ``pl.Date``; ``fk_*``/``sk_*`` keys are trimmed and upper-cased. Missing tag columns are
    left missing.
    """
    coded = normalized_columns(records, default_region)
    frame = records.with_columns([coded[c].decode(c) for c in records.columns if c in coded])
    added = [
        c
        for c in ("given_name", "surname", "generation")
        if c in coded and c not in records.columns
    ]
    if added:
        frame = frame.with_columns([coded[c].decode(c) for c in added])
    return frame
