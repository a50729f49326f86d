"""Normalize raw tag columns so that equal facts compare equal.

Every function here works on whole columns with polars expressions. The only per-value Python
calls go to ``phonenumbers`` and are made once per distinct raw phone that the vectorized
North-American fast path cannot settle.
"""

from __future__ import annotations

import datetime as dt

import phonenumbers
import polars as pl

from .nicknames import CANONICAL_GIVEN_NAME
from .profiling import stage

TAG_COLUMNS: tuple[str, ...] = (
    "given_name",
    "surname",
    "full_name",
    "email",
    "phone",
    "address",
    "address2",
    "city",
    "state",
    "postal",
    "country",
    "birthdate",
    "gender",
)

JUNK_TEXT = (
    "",
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
    """(given_name, surname) for each full name: ``Last, First M`` or ``First M Last``.

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
    frame = pl.DataFrame({"full_name": full_names}).with_columns(folded.alias("folded"))
    tokens = pl.col("folded").str.replace_all(",", "").str.split(" ")
    has_comma = pl.col("folded").str.contains(",")
    return frame.select(
        _null_if_junk(
            pl.when(has_comma)
            .then(pl.col("folded").str.extract(r",\s*([A-Z]+)", 1))
            .otherwise(tokens.list.first())
        ).alias("given_name"),
        _null_if_junk(
            pl.when(has_comma)
            .then(pl.col("folded").str.extract(r"^([^,]+),", 1).str.strip_chars())
            .when(tokens.list.len() >= 2)
            .then(tokens.list.last())
            .otherwise(None)
        ).alias("surname"),
    )


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
    frame = pl.DataFrame({"raw": series.cast(pl.String)})
    # An extension is not part of the number that identifies a person.
    cleaned = (
        pl.col("raw")
        .str.strip_chars()
        .str.replace(r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d+$", "")
        .str.replace(r"\.0$", "")  # numbers exported through a float column
    )
    digits = cleaned.str.replace_all(r"\D", "")
    frame = frame.with_columns(cleaned.alias("cleaned"), digits.alias("digits"))
    nanp_region = default_region.upper() in {"US", "CA"}
    national = pl.col("digits").str.extract(r"^1?([2-9]\d{2}[2-9]\d{6})$", 1)
    plain = ~pl.col("cleaned").str.starts_with("+") & ~pl.col("cleaned").str.starts_with("00")
    fast = national if nanp_region else pl.lit(None, dtype=pl.String)
    frame = frame.with_columns(
        pl.when(plain | pl.col("cleaned").str.starts_with("+1")).then(fast).alias("national")
    )
    junk = (
        pl.col("national").is_in(JUNK_PHONE_DIGITS)
        | pl.col("national").str.contains(r"^\d{3}55501\d{2}$")
        | pl.col("national").str.slice(1, 2).eq("11")  # N11 service codes are not area codes
        | pl.col("national").is_in([digit * 10 for digit in "23456789"])
    )
    frame = frame.with_columns(
        pl.when(pl.col("national").is_not_null() & ~junk.fill_null(False))
        .then(pl.lit("+1") + pl.col("national"))
        .alias("e164"),
        (pl.col("national").is_null() & (pl.col("digits").str.len_chars() >= 7)).alias("slow"),
    )
    slow_values = (
        frame.filter(pl.col("slow") & ~junk.fill_null(False))
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


def _on_unique(frame: pl.DataFrame, column: str, expr_of: callable) -> pl.Series:
    """Apply an expensive expression to the distinct values only, then join back."""
    values = frame.get_column(column)
    uniques = pl.DataFrame({"value": values.unique()})
    mapped = uniques.with_columns(expr_of(pl.col("value")).alias("normalized"))
    return (
        pl.DataFrame({"value": values})
        .join(mapped, on="value", how="left", maintain_order="left", nulls_equal=True)
        .get_column("normalized")
        .alias(column)
    )


def normalize_records(records: pl.DataFrame, default_region: str = "US") -> pl.DataFrame:
    """The same frame with each tag column replaced by its normalized value (junk -> null).

    ``given_name``/``surname`` are filled from ``full_name`` where missing; ``birthdate`` becomes
    a ``pl.Date``; ``fk_*``/``sk_*`` keys are trimmed and upper-cased. Missing tag columns are
    left missing.
    """
    frame = records
    present = set(frame.columns)
    string_cast = [
        pl.col(c).cast(pl.String)
        for c in TAG_COLUMNS
        if c in present and c != "birthdate" and frame.schema[c] != pl.String
    ]
    if string_cast:
        frame = frame.with_columns(string_cast)

    if "country" in present:
        frame = frame.with_columns(_on_unique(frame, "country", normalize_country))
    for column, normalizer in (
        ("given_name", normalize_name),
        ("surname", normalize_name),
        ("email", normalize_email),
        ("address", normalize_address),
        ("address2", normalize_address),
        ("city", normalize_city),
        ("state", normalize_state),
        ("gender", normalize_gender),
    ):
        if column in present:
            with stage(f"normalize {column}"):
                frame = frame.with_columns(_on_unique(frame, column, normalizer))
    if "birthdate" in present:
        if frame.schema["birthdate"] in (pl.Date, pl.Datetime):
            frame = frame.with_columns(pl.col("birthdate").cast(pl.Date))
        else:
            frame = frame.with_columns(_on_unique(frame, "birthdate", parse_birthdate))
    if "postal" in present:
        country = pl.col("country") if "country" in present else pl.lit(None, dtype=pl.String)
        frame = frame.with_columns(
            normalize_postal(pl.col("postal"), country, default_region).alias("postal")
        )
    if "phone" in present:
        with stage("normalize phone"):
            frame = frame.with_columns(
                normalize_phone_column(frame.get_column("phone"), default_region)
            )
    if "full_name" in present:
        # Only distinct full names are split, then joined back.
        distinct = frame.get_column("full_name").cast(pl.String).unique()
        split = pl.concat(
            [pl.DataFrame({"full_name": distinct}), split_full_name(distinct)], how="horizontal"
        ).rename({"given_name": "_given_from_full", "surname": "_surname_from_full"})
        frame = frame.join(
            split, on="full_name", how="left", maintain_order="left", nulls_equal=True
        )
        frame = frame.with_columns(
            (
                pl.coalesce("given_name", "_given_from_full")
                if "given_name" in present
                else pl.col("_given_from_full")
            ).alias("given_name"),
            (
                pl.coalesce("surname", "_surname_from_full")
                if "surname" in present
                else pl.col("_surname_from_full")
            ).alias("surname"),
        ).drop("_given_from_full", "_surname_from_full")
        frame = frame.with_columns(_on_unique(frame, "full_name", normalize_name))
    added = [c for c in frame.columns if c not in present]
    frame = frame.select(*records.columns, *added)
    keys = [c for c in frame.columns if c.startswith(("fk_", "sk_"))]
    if keys:
        frame = frame.with_columns(
            _null_if_junk(pl.col(c).cast(pl.String).str.strip_chars().str.to_uppercase()).alias(c)
            for c in keys
        )
    return frame
