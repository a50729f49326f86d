"""Normalize raw tag columns so that equal facts compare equal.

Every function here works on whole columns with polars expressions. The only per-value Python
calls go to ``phonenumbers`` and are made once per distinct raw phone that the vectorized
North-American fast path cannot settle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import phonenumbers
import polars as pl

from amperity_braze_assets.sources.tags import CUSTOMER_TAGS

from .coding import Coded, choose, coalesce, dictionary, factorize, map_values, recode
from .nicknames import CANONICAL_GIVEN_NAME
from .places import (
    ASCII_LETTERS,
    UNIQUE_LOOKUP,
    US_LOOKUP,
    ascii_upper_expr,
    place_key_expr,
    subdivision_codes,
)
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

# Country names and ISO alpha-3 codes as sources write them -> ISO 3166-1 alpha-2 (folded
# keys, as fold_text leaves them). A two-letter value is taken as the alpha-2 code it is.
COUNTRIES: dict[str, str] = {
    "USA": "US",
    "U S": "US",
    "U S A": "US",
    "UNITED STATES": "US",
    "UNITED STATES OF AMERICA": "US",
    "AMERICA": "US",
    "ESTADOS UNIDOS": "US",
    "CANADA": "CA",
    "CAN": "CA",
    "UK": "GB",
    "U K": "GB",
    "GBR": "GB",
    "UNITED KINGDOM": "GB",
    "GREAT BRITAIN": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "MEXICO": "MX",
    "MEX": "MX",
    "AUSTRALIA": "AU",
    "AUS": "AU",
    "GERMANY": "DE",
    "DEUTSCHLAND": "DE",
    "DEU": "DE",
    "FRANCE": "FR",
    "FRA": "FR",
    "BRAZIL": "BR",
    "BRASIL": "BR",
    "BRA": "BR",
    "IRELAND": "IE",
    "IRL": "IE",
    "NEW ZEALAND": "NZ",
    "NZL": "NZ",
    "SPAIN": "ES",
    "ESPANA": "ES",
    "ESP": "ES",
    "ITALY": "IT",
    "ITALIA": "IT",
    "ITA": "IT",
    "NETHERLANDS": "NL",
    "THE NETHERLANDS": "NL",
    "HOLLAND": "NL",
    "NEDERLAND": "NL",
    "NLD": "NL",
    "BELGIUM": "BE",
    "BELGIQUE": "BE",
    "BEL": "BE",
    "SWITZERLAND": "CH",
    "SCHWEIZ": "CH",
    "SUISSE": "CH",
    "CHE": "CH",
    "AUSTRIA": "AT",
    "OSTERREICH": "AT",
    "AUT": "AT",
    "DENMARK": "DK",
    "DANMARK": "DK",
    "DNK": "DK",
    "SWEDEN": "SE",
    "SVERIGE": "SE",
    "SWE": "SE",
    "NORWAY": "NO",
    "NORGE": "NO",
    "NOR": "NO",
    "FINLAND": "FI",
    "SUOMI": "FI",
    "FIN": "FI",
    "POLAND": "PL",
    "POLSKA": "PL",
    "POL": "PL",
    "PORTUGAL": "PT",
    "PRT": "PT",
    "JAPAN": "JP",
    "JPN": "JP",
    "CHINA": "CN",
    "CHN": "CN",
    "INDIA": "IN",
    "IND": "IN",
    "SINGAPORE": "SG",
    "SGP": "SG",
    "SOUTH AFRICA": "ZA",
    "ZAF": "ZA",
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
    """Upper-case, fold accents (é -> E, Ø -> O, Ł -> L), keep letters, digits and commas,
    squeeze spaces. For matching only: what reaches Braze keeps its spelling (``*_display``)."""
    return (
        ascii_upper_expr(expr)
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


def _unexponent(text: pl.Expr) -> pl.Expr:
    """A number a spreadsheet wrote in scientific notation (``1.5550123456E+10``) as its
    digits; null when the mantissa has fewer digits than the number (``1.55501E+10``: the
    spreadsheet rounded it away, and no digits are invented). Other text unchanged."""
    parts = text.str.extract_groups(r"^([0-9])(?:[.,]([0-9]*))?[eE]\+?([0-9]{1,2})$")
    lead, fraction = parts.struct.field("1"), parts.struct.field("2").fill_null("")
    exponent = parts.struct.field("3").cast(pl.Int32)
    return (
        pl.when(lead.is_null())
        .then(text)
        .when(fraction.str.len_chars() == exponent)
        .then(lead + fraction)
    )


def normalize_phone_column(series: pl.Series, default_region: str = "US") -> pl.Series:
    """E.164 phones. North-American numbers in the default region are formatted by expression
    (phonenumbers costs ~60 us a call and a million rows hold hundreds of thousands of distinct
    numbers); every other distinct value goes through phonenumbers once."""
    # An extension is not part of the number that identifies a person.
    cleaned = (
        pl.col("raw")
        .str.strip_chars()
        .str.replace(r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d+$", "")
        .str.replace(r"\.0+$", "")  # numbers exported through a float column
    )
    cleaned = _unexponent(cleaned)
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


# Without a country: the subdivision a key names in one country only (BC, BAYERN, NSW), else
# the US one (WA is Washington, not Western Australia).
_STATE_WITHOUT_COUNTRY: dict[str, str] = {
    **dict(US_LOOKUP.iter_rows()),
    **dict(UNIQUE_LOOKUP.iter_rows()),
}


def normalize_state(expr: pl.Expr) -> pl.Expr:
    """A state or province as its ISO 3166-2 code (California -> CA, British Columbia -> BC)
    when the name or code is known without a country; other values folded (``fold_text``).
    ``normalize_state_values`` reads each value by its record's country."""
    folded = _null_if_junk(fold_text(expr).str.replace_all(",", ""))
    code = place_key_expr(expr).replace_strict(
        _STATE_WITHOUT_COUNTRY, default=None, return_dtype=pl.String
    )
    return pl.when(folded.is_not_null()).then(pl.coalesce(code, folded))


def normalize_state_values(states: pl.Series, countries: pl.Series) -> pl.Series:
    """Each state as its ISO 3166-2 code by its row's country (alpha-2 or null; see
    ``places.subdivision_codes``); values no table knows stay folded, junk becomes null."""
    frame = pl.DataFrame({"state": states.cast(pl.String)}).select(
        _null_if_junk(fold_text(pl.col("state")).str.replace_all(",", "")).alias("folded"),
        place_key_expr(pl.col("state")).alias("key"),
    )
    code = subdivision_codes(frame.get_column("key"), countries)
    folded = frame.get_column("folded")
    return (
        pl.DataFrame({"folded": folded, "code": code})
        .select(pl.when(pl.col("folded").is_not_null()).then(pl.coalesce("code", "folded")))
        .to_series()
        .alias(states.name)
    )


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
        .str.replace_many(list(ASCII_LETTERS), list(ASCII_LETTERS.values()))
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


# -- values as written ----------------------------------------------------------------------
# What goes to Braze as text keeps its spelling (Søren, Łukasz, O'Connor, José Müller, 王秀英):
# beside each matched name and place column, customer_records keeps ``<column>_display``, the
# value as written less what normalization also drops (titles, suffixes, middle initials).
DISPLAY_COLUMNS: tuple[str, ...] = (
    "given_name_display",
    "surname_display",
    "full_name_display",
    "address_display",
    "address2_display",
    "city_display",
)
_TITLES_AS_WRITTEN = r"(?i)^(?:(?:" + "|".join(NAME_TITLES) + r")\.?\s+)+"
_SUFFIXES_AS_WRITTEN = r"(?i)(?:,?\s+(?:" + "|".join(NAME_SUFFIXES) + r")\.?)+"
# A letter of a script that fold_text drops (Han, Cyrillic, Arabic...): such a name has no
# matching value, yet it is a name.
_NON_LATIN_LETTER = r"[\p{L}&&[^\p{Latin}]]"


def as_written(values: pl.Series) -> pl.Series:
    """Text trimmed, inner whitespace squeezed and mojibake repaired; spelling, accents,
    apostrophes, hyphens, scripts and case kept."""
    text = repair_mojibake(values)
    # Squeezed only where there is something to squeeze: a regex replace on every value
    # costs three times the test.
    spaced = np.flatnonzero(text.str.contains(r"\s\s|[^\S ]").fill_null(False).to_numpy())
    if spaced.size:
        index = pl.Series(spaced.astype(np.uint32))
        text = text.scatter(index, text.gather(index).str.replace_all(r"\s+", " "))
    return text.str.strip_chars(" ,;").alias(values.name)


def _name_as_written(expr: pl.Expr, given: bool = False) -> pl.Expr:
    name = (
        expr.str.replace_all(r"[0-9]+", " ")
        .str.replace(_TITLES_AS_WRITTEN, "")
        .str.replace(_SUFFIXES_AS_WRITTEN + "$", "")
    )
    if given:  # ``Jerome G.`` is Jerome, as _given_name_values reads it
        name = name.str.replace(r"^(.+?)(?:\s+\p{L}\.?)+$", "${1}")
    return name.str.replace_all(r"\s+", " ").str.strip_chars(" ,;")


def split_full_name_as_written(full_names: pl.Series, written: bool = False) -> pl.DataFrame:
    """``split_full_name`` keeping each part's spelling: (given_name, surname) of ``Last,
    First M``, ``First M Last`` or a lone ``Last``, titles and suffixes dropped. A hyphen
    joins (``Smith-Jones`` is one surname here, two words to the matcher). ``written``: the
    names are ``as_written`` already."""
    text = full_names if written else as_written(full_names)
    cleaned = (
        pl.col("full_name")
        .str.replace_all(r"[0-9]+", " ")
        .str.replace(_TITLES_AS_WRITTEN, "")
        .str.replace_all(
            r"(?i)(?:\s+(?:" + "|".join(NAME_SUFFIXES) + r")\.?)+(,|$)",
            "${1}",
        )
        .str.replace_all(r"\s*,\s*", ", ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ,")
    )
    frame = (
        pl.LazyFrame({"full_name": text})
        .select(cleaned.alias("cleaned"))
        .with_columns(
            pl.col("cleaned").str.contains(",").alias("has_comma"),
            pl.col("cleaned").str.replace_all(",", "").str.split(" ").alias("tokens"),
        )
    )
    tokens, has_comma = pl.col("tokens"), pl.col("has_comma")
    return frame.select(
        pl.when(has_comma)
        .then(pl.col("cleaned").str.extract(r",\s*([^\s,]+)", 1))
        .when(tokens.list.len() >= 2)
        .then(tokens.list.first())
        .alias("given_name"),
        pl.when(has_comma)
        .then(pl.col("cleaned").str.extract(r"^([^,]+),", 1).str.strip_chars())
        .otherwise(tokens.list.last())
        .alias("surname"),
    ).collect()


def display_beside(written: pl.Series, normalized: pl.Series) -> pl.Series:
    """The value as written wherever its normalized twin exists (the normalized value if
    cleaning left nothing), and where it is written in a script folding drops; null where
    normalization found junk. So a display value is null exactly when the matcher has nothing,
    save for non-Latin names. Both aligned with the same distinct raw values."""
    return (
        pl.DataFrame({"written": written.cast(pl.String), "normalized": normalized.cast(pl.String)})
        .select(
            pl.when(pl.col("normalized").is_not_null())
            .then(pl.coalesce(pl.when(pl.col("written") != "").then("written"), "normalized"))
            .when(pl.col("written").str.contains(_NON_LATIN_LETTER))
            .then("written")
            .alias(written.name)
        )
        .to_series()
    )


def _normalized_and_display(coded: Coded, normalize, written) -> tuple[Coded, Coded | None]:
    """(normalized, display) of a coded raw column: each distinct raw value normalized once
    and, unless ``written`` is None (no display wanted), written out once."""
    if coded.values.len() == 0:
        empty = Coded(coded.codes, coded.values.cast(pl.String))
        return empty, (empty if written is not None else None)
    normalized = normalize(coded.values)
    if written is None:
        return recode(coded, normalized), None
    shown = display_beside(written(coded.values), normalized)
    return recode(coded, normalized), _beside(coded, shown)


def _beside(coded: Coded, mapped: pl.Series) -> Coded:
    """``coded`` with each distinct value replaced by ``mapped`` (aligned with its values),
    null where ``mapped`` is: ``recode`` without merging equal results, for a display value,
    which is only ever decoded (its values need not be distinct, and hashing them is a
    tenth of normalizing a column)."""
    missing = mapped.is_null().to_numpy()
    blank = np.where(coded.codes >= 0, missing[np.maximum(coded.codes, 0)], True)
    return Coded(np.where(blank, -1, coded.codes).astype(np.int32), mapped)


def _first_beside(parts: list[Coded]) -> Coded:
    """Per row, the first part's display value that is not null: ``coalesce`` without merging
    equal values (see ``_beside``)."""
    values = pl.concat([part.values.cast(pl.String) for part in parts])
    out = np.full(parts[0].codes.size, -1, dtype=np.int32)
    offset = 0
    for part in parts:
        mapped = np.where(part.codes >= 0, part.codes + offset, -1)
        out = np.where(out >= 0, out, mapped).astype(np.int32)
        offset += part.values.len()
    return Coded(out, values)


# -- per row: phones by region, states by country ---------------------------------------------
def _by_pairs(first: Coded, second_codes: np.ndarray, second_values: pl.Series, function) -> Coded:
    """``function(firsts, seconds)`` (two aligned Series -> one) over the distinct pairs of
    ``first``'s value and a second coded column (``second_codes``, -1 = null, into
    ``second_values``), recoded per row: a value read in the light of another (a phone by its
    region, a state by its country), each distinct pair once."""
    width = second_values.len() + 1
    key = np.where(first.codes >= 0, first.codes.astype(np.int64) * width + (second_codes + 1), -1)
    present = key >= 0
    distinct, inverse = factorize(key[present])
    firsts = first.values.gather(pl.Series((distinct // width).astype(np.uint32)))
    second_index = distinct % width - 1
    if second_values.len():
        seconds = second_values.gather(
            pl.Series(np.maximum(second_index, 0).astype(np.uint32))
        ).set(pl.Series(second_index < 0), None)
    else:
        seconds = pl.Series([None] * distinct.size, dtype=pl.String)
    codes = np.full(first.codes.size, -1, dtype=np.int32)
    codes[present] = inverse
    return recode(Coded(codes, firsts), function(firsts, seconds))


def _phone_regions(
    records: pl.DataFrame,
    country: Coded | None,
    regions: Mapping[str, str] | None,
    default_region: str,
) -> tuple[np.ndarray, list[str]]:
    """Per row, the region a phone without a country code is read in, as codes into the
    region names: the record's country when phonenumbers knows it, else its source's region
    (``regions``: source name -> region), else ``default_region``."""
    names: dict[str, int] = {_dialling_rules(default_region): 0}

    def code_of(region: str) -> int:
        return names.setdefault(_dialling_rules(region), len(names))

    row = np.zeros(records.height, dtype=np.int64)
    if regions and "source" in records.columns:
        sources = dictionary(records.get_column("source").cast(pl.String))
        per_source = np.array(
            [code_of(regions.get(s) or default_region) for s in sources.values.to_list()] or [0]
        )
        row = np.where(sources.codes >= 0, per_source[np.maximum(sources.codes, 0)], 0)
    if country is not None and country.values.len():
        per_country = np.array(
            [
                code_of(c) if c in phonenumbers.SUPPORTED_REGIONS else -1
                for c in country.values.to_list()
            ]
        )
        from_country = np.where(country.codes >= 0, per_country[np.maximum(country.codes, 0)], -1)
        row = np.where(from_country >= 0, from_country, row)
    return row, list(names)


def _dialling_rules(region: str) -> str:
    """The region whose rules read a number written without a country code as ``region``
    does: one for all of North America (+1 everywhere, the same trunk and international
    prefixes), so US and Canadian records share one parse of each number."""
    region = region.upper()
    if (
        region in phonenumbers.SUPPORTED_REGIONS
        and phonenumbers.country_code_for_region(region) == 1
    ):
        return "US"
    return region


def _phones_by_region(phones: pl.Series, regions: pl.Series) -> pl.Series:
    """``normalize_phone_column`` of each phone in its row's region: one call per region."""
    out = pl.Series(phones.name, [None] * phones.len(), dtype=pl.String)
    for region in regions.unique().to_list():
        rows = (regions == region).to_numpy()
        index = pl.Series(np.flatnonzero(rows).astype(np.uint32))
        out = out.scatter(index, normalize_phone_column(phones.gather(index), region))
    return out


class _Columns:
    """The records ``normalized_columns`` reads, and which of their columns its caller wants."""

    def __init__(self, records: pl.DataFrame, only: set[str] | None):
        self.records = records
        self.present = set(records.columns)
        self.only = only

    def wanted(self, column: str) -> bool:
        return self.only is None or column in self.only

    def asked(self, column: str) -> bool:
        """The records have ``column`` and the caller wants it."""
        return column in self.present and self.wanted(column)

    def raw(self, column: str) -> Coded:
        series = self.records.get_column(column)
        if column != "birthdate" and series.dtype != pl.String:
            series = series.cast(pl.String)
        return dictionary(series)


def _country(columns: _Columns) -> Coded | None:
    if "country" not in columns.present:
        return None
    return map_values(columns.raw("country"), lambda v: _evaluate(v, normalize_country))


_SIMPLE_COLUMNS = {
    "email": normalize_email_values,
    "address": normalize_address_values,
    "address2": normalize_address_values,
    "city": lambda v: _evaluate(v, normalize_city),
    "gender": lambda v: _evaluate(v, normalize_gender),
}


def _add_simple_columns(columns: _Columns, out: dict[str, Coded]) -> None:
    """The columns one function normalizes value by value, with their as-written display."""
    for column, function in _SIMPLE_COLUMNS.items():
        display = f"{column}_display"
        if column not in columns.present:
            continue
        if display in DISPLAY_COLUMNS and columns.wanted(display):
            with stage(f"normalize {column} (and as written)"):
                normalized, shown = _normalized_and_display(
                    columns.raw(column), function, as_written
                )
                out[display] = shown
            if columns.wanted(column):
                out[column] = normalized
        elif columns.wanted(column):
            with stage(f"normalize {column}"):
                out[column] = map_values(columns.raw(column), function)


def _state(columns: _Columns, country: Coded | None) -> Coded:
    """ISO 3166-2 codes, read by the record's country where it has one."""
    with stage("normalize state"):
        if country is None:
            return map_values(columns.raw("state"), lambda v: _evaluate(v, normalize_state))
        return _by_pairs(
            columns.raw("state"), country.codes, country.values, normalize_state_values
        )


def _phone(
    columns: _Columns,
    country: Coded | None,
    regions: Mapping[str, str] | None,
    default_region: str,
) -> Coded:
    """E.164 phones, each read in its row's region (``_phone_regions``)."""
    with stage("normalize phone"):
        phones = columns.raw("phone")
        region_codes, region_names = _phone_regions(
            columns.records, country, regions, default_region
        )
        # A number with its country code reads the same in every region: once, in the first.
        international = (
            phones.values.str.strip_chars().str.contains(r"^(?:\+|00)").fill_null(False)
        ).to_numpy()
        if international.size:
            dialled = np.where(phones.codes >= 0, international[np.maximum(phones.codes, 0)], False)
            region_codes = np.where(dialled, 0, region_codes)
        # Every value in the first region (most rows), then the rows of other regions
        # by their (phone, region) pairs, which are few.
        phone = map_values(phones, lambda v: normalize_phone_column(v, region_names[0]))
        elsewhere = (region_codes != 0) & (phones.codes >= 0)
        if elsewhere.any():
            theirs = _by_pairs(
                Coded(np.where(elsewhere, phones.codes, -1), phones.values),
                region_codes,
                pl.Series(region_names),
                _phones_by_region,
            )
            phone = choose(elsewhere, theirs, phone)
        return phone


def _birthdate(columns: _Columns) -> Coded:
    with stage("normalize birthdate (dictionary)"):
        coded = columns.raw("birthdate")
    if coded.values.dtype in (pl.Date, pl.Datetime) or isinstance(coded.values.dtype, pl.Datetime):
        return map_values(coded, lambda v: v.cast(pl.Date))
    return map_values(coded, parse_birthdate_values)


def _postal(columns: _Columns, country: Coded | None, default_region: str) -> Coded:
    """Postal codes read as the US writes them where the record's country (else the default
    region) is the US, and as the rest of the world does elsewhere."""
    with stage("normalize postal (dictionary)"):
        coded = columns.raw("postal")
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
    return choose(is_us, as_us, as_other)


_NAMES = ("given_name", "surname")
_NAME_FUNCTIONS = {"given_name": _given_name_values, "surname": _name_values}
_NAME_AS_WRITTEN = {
    "given_name": lambda v: _evaluate(as_written(v), lambda e: _name_as_written(e, True)),
    "surname": lambda v: _evaluate(as_written(v), _name_as_written),
}


def _add_names(columns: _Columns, out: dict[str, Coded]) -> None:
    """``given_name`` and ``surname`` as tagged, with their as-written display when wanted."""
    for column in _NAMES:
        display = f"{column}_display"
        if column in columns.present and (columns.wanted(column) or columns.wanted(display)):
            with stage(f"normalize {column}"):
                out[column], shown = _normalized_and_display(
                    columns.raw(column),
                    _NAME_FUNCTIONS[column],
                    _NAME_AS_WRITTEN[column] if columns.wanted(display) else None,
                )
            if shown is not None:
                out[display] = shown


def _add_full_name(columns: _Columns, out: dict[str, Coded]) -> None:
    """``given_name``/``surname`` filled from ``full_name`` where missing (their displays too),
    and ``full_name`` itself when wanted."""
    displays = [c for c in ("given_name_display", "surname_display") if columns.wanted(c)]
    if "full_name" not in columns.present or not (
        any(columns.wanted(c) for c in ("full_name", "full_name_display", *_NAMES)) or displays
    ):
        return
    with stage("normalize full_name"):
        full = columns.raw("full_name")
        split = split_full_name(full.values) if full.values.len() else None
        full_text = (
            as_written(full.values)
            if (displays or columns.wanted("full_name_display")) and full.values.len()
            else None
        )
        written = (
            split_full_name_as_written(full_text, written=True)
            if displays and full_text is not None
            else None
        )
    for column in _NAMES:
        display = f"{column}_display"
        if split is None:
            from_full = from_full_display = Coded(full.codes, full.values.cast(pl.String))
        else:
            from_full = recode(full, split.get_column(column))
            if written is not None:
                from_full_display = _beside(
                    full, display_beside(written.get_column(column), split.get_column(column))
                )
        out[column] = coalesce([out[column], from_full]) if column in out else from_full
        if display in displays:
            out[display] = (
                _first_beside([out[display], from_full_display])
                if display in out
                else from_full_display
            )
    if columns.wanted("full_name") or columns.wanted("full_name_display"):
        out["full_name"], shown = _normalized_and_display(
            full,
            _name_values,
            (lambda _: _evaluate(full_text, _name_as_written))
            if columns.wanted("full_name_display")
            else None,
        )
        if shown is not None:
            out["full_name_display"] = shown


def _generation(columns: _Columns) -> Coded | None:
    """Jr or Sr: from the suffix tag, else from the end of a surname, full name or given name."""
    found = [
        map_values(columns.raw(column), generation_values)
        for column in ("generational_suffix", "surname", "full_name", "given_name")
        if column in columns.present
    ]
    return coalesce(found) if found else None


def _key(columns: _Columns, column: str) -> Coded:
    """An ``fk_``/``sk_`` key trimmed and upper-cased, junk as null."""
    return map_values(
        dictionary(columns.records.get_column(column).cast(pl.String)),
        lambda v: _evaluate(v, lambda e: _null_if_junk(e.str.strip_chars().str.to_uppercase())),
    )


def normalized_columns(
    records: pl.DataFrame,
    default_region: str = "US",
    only: set[str] | None = None,
    regions: Mapping[str, str] | None = None,
) -> dict[str, Coded]:
    """Each tag column (and ``fk_``/``sk_`` key) normalized, as codes into distinct values,
    and the names and places as written (``DISPLAY_COLUMNS``).

    ``given_name``/``surname`` are filled from ``full_name`` where missing; ``birthdate``
    values are ``pl.Date``; ``state`` is its ISO 3166-2 code by the record's country. A phone
    without a country code is read in the record's country, else its source's region
    (``regions``: source name -> region, e.g. ``{"pos": "GB"}``), else ``default_region``.
    ``only`` limits the work to the named columns (those a caller needs); the result then
    holds just those of them that the records have.
    """
    columns = _Columns(records, only)
    out: dict[str, Coded] = {}
    country = _country(columns)
    if country is not None and columns.wanted("country"):
        out["country"] = country
    _add_simple_columns(columns, out)
    if columns.asked("state"):
        out["state"] = _state(columns, country)
    if columns.asked("phone"):
        out["phone"] = _phone(columns, country, regions, default_region)
    if columns.asked("birthdate"):
        out["birthdate"] = _birthdate(columns)
    if columns.asked("postal"):
        out["postal"] = _postal(columns, country, default_region)
    _add_names(columns, out)
    _add_full_name(columns, out)
    # Names are filled from one another; what the caller did not ask for goes now.
    for column in (*_NAMES, "full_name", *DISPLAY_COLUMNS):
        if column in out and not columns.wanted(column):
            del out[column]
    if columns.wanted("generation"):
        generation = _generation(columns)
        if generation is not None:
            out["generation"] = generation
    for column in records.columns:
        if column.startswith(("fk_", "sk_")) and columns.wanted(column):
            out[column] = _key(columns, column)
    return out


def normalize_records(
    records: pl.DataFrame,
    default_region: str = "US",
    regions: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """The same frame with each tag column replaced by its normalized value (junk -> null),
    and the names and places as written beside them (``DISPLAY_COLUMNS``).

    ``given_name``/``surname`` are filled from ``full_name`` where missing; ``generation`` (JR,
    SR, III, IV) is added where a suffix tag or a name ends with one; ``birthdate`` becomes a
    ``pl.Date``; ``state`` an ISO 3166-2 code; ``fk_*``/``sk_*`` keys are trimmed and
    upper-cased. Phones are read by region as ``normalized_columns`` says. Missing tag
    columns are left missing.
    """
    coded = normalized_columns(records, default_region, regions=regions)
    frame = records.with_columns([coded[c].decode(c) for c in records.columns if c in coded])
    added = [c for c in coded if c not in records.columns]
    if added:
        frame = frame.with_columns([coded[c].decode(c) for c in added])
    return frame
