"""Braze's value formats as column checks, written from ``shared/spec/braze-api.md``.

The asset check ``values_valid_for_types`` judges the built attributes with these rules. They
import nothing from ``braze_fields.py``: that module is how the builder *makes* and nulls values,
and a check that re-ran its predicates could never fail. Where a format is a standard (RFC 5322
and 5321 addresses, E.164, ISO 3166-1, ISO 639-1, IANA zones) the rule follows the standard's
grammar or reads the standard's own data (libphonenumber, the tz database's ``iso3166.tab``).

Every rule is a polars expression over a String column, true where the spec refuses the value
(null values unset a field and are never refused). Only the phone rule calls Python: number plans
live in libphonenumber, whose per-code lengths settle most numbers in polars; the few a plan's
lengths do not settle are parsed once per distinct number.
"""

from __future__ import annotations

import importlib.resources
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import phonenumbers
import polars as pl

# Spec, POST /users/track: "string values at most 255 characters".
MAX_STRING_CHARS = 255

# Spec, Standard profile fields: "email: a valid address". RFC 5322 dot-atom local part (no
# leading, trailing or doubled dot), RFC 5321 lengths (local part 64 octets, address 254), RFC
# 1035 host labels (1 to 63 characters, no edge hyphen) and a top label of letters or an IDNA
# ``xn--`` label. Quoted local parts and address literals are refused: the spec is silent, and in
# customer data they are errors far more often than mailboxes.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
ADDRESS_SHAPE = rf"^{_ATEXT}(?:\.{_ATEXT})*@(?:{_HOST_LABEL}\.)+{_TOP_LABEL}$"
MAX_LOCAL_PART_BYTES = 64
MAX_ADDRESS_CHARS = 254
# ITU-T E.164: a plus, a country code not starting with 0, at most 15 digits in all.
E164_SHAPE = r"^\+[1-9][0-9]{1,14}$"
DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

GENDERS = frozenset({"M", "F", "O", "N", "P"})
SUBSCRIPTION_STATES = frozenset({"opted_in", "subscribed", "unsubscribed"})
# ISO 639-1, as its registration authority (the Library of Congress) lists it: code and language.
_ISO_639_1_TABLE = """
    aa Afar; ab Abkhazian; ae Avestan; af Afrikaans; ak Akan; am Amharic; an Aragonese;
    ar Arabic; as Assamese; av Avaric; ay Aymara; az Azerbaijani; ba Bashkir; be Belarusian;
    bg Bulgarian; bh Bihari; bi Bislama; bm Bambara; bn Bengali; bo Tibetan; br Breton;
    bs Bosnian; ca Catalan; ce Chechen; ch Chamorro; co Corsican; cr Cree; cs Czech;
    cu Church Slavic; cv Chuvash; cy Welsh; da Danish; de German; dv Divehi; dz Dzongkha;
    ee Ewe; el Greek; en English; eo Esperanto; es Spanish; et Estonian; eu Basque; fa Persian;
    ff Fulah; fi Finnish; fj Fijian; fo Faroese; fr French; fy Western Frisian; ga Irish;
    gd Gaelic; gl Galician; gn Guarani; gu Gujarati; gv Manx; ha Hausa; he Hebrew; hi Hindi;
    ho Hiri Motu; hr Croatian; ht Haitian; hu Hungarian; hy Armenian; hz Herero;
    ia Interlingua; id Indonesian; ie Interlingue; ig Igbo; ii Sichuan Yi; ik Inupiaq; io Ido;
    is Icelandic; it Italian; iu Inuktitut; ja Japanese; jv Javanese; ka Georgian; kg Kongo;
    ki Kikuyu; kj Kuanyama; kk Kazakh; kl Kalaallisut; km Central Khmer; kn Kannada; ko Korean;
    kr Kanuri; ks Kashmiri; ku Kurdish; kv Komi; kw Cornish; ky Kirghiz; la Latin;
    lb Luxembourgish; lg Ganda; li Limburgan; ln Lingala; lo Lao; lt Lithuanian;
    lu Luba-Katanga; lv Latvian; mg Malagasy; mh Marshallese; mi Maori; mk Macedonian;
    ml Malayalam; mn Mongolian; mr Marathi; ms Malay; mt Maltese; my Burmese; na Nauru;
    nb Norwegian Bokmål; nd North Ndebele; ne Nepali; ng Ndonga; nl Dutch;
    nn Norwegian Nynorsk; no Norwegian; nr South Ndebele; nv Navajo; ny Chichewa; oc Occitan;
    oj Ojibwa; om Oromo; or Oriya; os Ossetian; pa Punjabi; pi Pali; pl Polish; ps Pashto;
    pt Portuguese; qu Quechua; rm Romansh; rn Rundi; ro Romanian; ru Russian; rw Kinyarwanda;
    sa Sanskrit; sc Sardinian; sd Sindhi; se Northern Sami; sg Sango; si Sinhala; sk Slovak;
    sl Slovenian; sm Samoan; sn Shona; so Somali; sq Albanian; sr Serbian; ss Swati;
    st Southern Sotho; su Sundanese; sv Swedish; sw Swahili; ta Tamil; te Telugu; tg Tajik;
    th Thai; ti Tigrinya; tk Turkmen; tl Tagalog; tn Tswana; to Tonga; tr Turkish; ts Tsonga;
    tt Tatar; tw Twi; ty Tahitian; ug Uighur; uk Ukrainian; ur Urdu; uz Uzbek; ve Venda;
    vi Vietnamese; vo Volapük; wa Walloon; wo Wolof; xh Xhosa; yi Yiddish; yo Yoruba;
    za Zhuang; zh Chinese; zu Zulu
"""
ISO_639_1 = frozenset(entry.split()[0] for entry in _ISO_639_1_TABLE.split(";"))
IANA_TIME_ZONES = frozenset(zoneinfo.available_timezones())


def _country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2, read from the tz database's ``iso3166.tab`` (system copy or tzdata)."""
    tables = [Path(folder) / "iso3166.tab" for folder in zoneinfo.TZPATH]
    table = next((path for path in tables if path.is_file()), None)
    text = (
        table.read_text(encoding="utf-8")
        if table is not None
        else importlib.resources.files("tzdata").joinpath("zoneinfo/iso3166.tab").read_text("utf-8")
    )
    rows = (line for line in text.splitlines() if line and not line.startswith("#"))
    return frozenset(row.partition("\t")[0] for row in rows)


ISO_3166_ALPHA_2 = _country_codes()


def refused_email(value: pl.Expr) -> pl.Expr:
    local_part = value.str.extract(r"^(.*)@", 1)
    return (
        ~value.str.contains(ADDRESS_SHAPE)
        | (value.str.len_chars() > MAX_ADDRESS_CHARS)
        | (local_part.str.len_bytes() > MAX_LOCAL_PART_BYTES)
    )


def refused_phone(value: pl.Expr) -> pl.Expr:
    """Not E.164, or no number of that length exists under its country code (libphonenumber)."""
    return ~value.str.contains(E164_SHAPE) | value.map_batches(
        _impossible_numbers, return_dtype=pl.Boolean
    )


def _impossible_numbers(values: pl.Series) -> pl.Series:
    """Numbers libphonenumber finds impossible. A national part of a length its plan lists is
    possible whatever its digits, so only the rest (few in real data) are parsed one by one."""
    number = pl.col("number")
    doubtful = (
        values.to_frame("number")
        .filter(number.str.contains(E164_SHAPE) & ~_length_is_possible(number))
        .get_column("number")
        .unique()
    )
    impossible = [text for text in doubtful.to_list() if not _possible_number(text)]
    return values.is_in(impossible)


def _plan_lengths() -> dict[str, list[int]]:
    """Per country calling code, the national-number lengths its plan allows (libphonenumber)."""
    lengths: dict[str, list[int]] = {}
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None:
            continue
        general = metadata.general_desc
        allowed = set(general.possible_length) - set(general.possible_length_local_only) - {-1}
        lengths[str(code)] = sorted(allowed)
    return lengths


_PLAN_LENGTHS = _plan_lengths()
# Code and national length as one key, e.g. ``1:10``: the pairs a possible number can have.
_POSSIBLE_KEYS = sorted(f"{code}:{n}" for code, allowed in _PLAN_LENGTHS.items() for n in allowed)


def _length_is_possible(number: pl.Expr) -> pl.Expr:
    digits = number.str.slice(1)
    # Calling codes are prefix-free (ITU-T E.164), so at most one of these is a code.
    code = pl.when(digits.str.slice(0, 1).is_in(list(_PLAN_LENGTHS))).then(digits.str.slice(0, 1))
    for size in (2, 3):
        prefix = digits.str.slice(0, size)
        code = code.when(prefix.is_in(list(_PLAN_LENGTHS))).then(prefix)
    national_length = digits.str.len_chars() - code.str.len_chars()
    key = pl.concat_str(code, pl.lit(":"), national_length.cast(pl.String))
    return key.is_in(_POSSIBLE_KEYS).fill_null(False)


def _possible_number(text: str) -> bool:
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return False
    reason = phonenumbers.is_possible_number_with_reason(number)
    return reason == phonenumbers.ValidationResult.IS_POSSIBLE


def refused_date(value: pl.Expr) -> pl.Expr:
    """Not ``YYYY-MM-DD``, or a day the calendar does not have (``2023-02-30``)."""
    day = value.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    return ~value.str.contains(DATE_SHAPE) | day.is_null()


def refused_string(value: pl.Expr) -> pl.Expr:
    return value.str.len_chars() > MAX_STRING_CHARS


def _not_one_of(allowed: frozenset[str]) -> Callable[[pl.Expr], pl.Expr]:
    members = sorted(allowed)
    return lambda value: ~value.is_in(members)


# Spec, Standard profile fields: the rule each field's string value answers to.
STANDARD_FIELD_RULES: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "first_name": refused_string,
    "last_name": refused_string,
    "home_city": refused_string,
    "email": refused_email,
    "phone": refused_phone,
    "dob": refused_date,
    "gender": _not_one_of(GENDERS),
    "country": _not_one_of(ISO_3166_ALPHA_2),
    "language": _not_one_of(ISO_639_1),
    "time_zone": _not_one_of(IANA_TIME_ZONES),
    "email_subscribe": _not_one_of(SUBSCRIPTION_STATES),
    "push_subscribe": _not_one_of(SUBSCRIPTION_STATES),
}


def refused_standard_value(field: str, value: pl.Expr) -> pl.Expr:
    """True where the spec refuses a standard field's value; false for nulls (they unset).

    A standard field the spec gives no format for is held to the string limit."""
    rule = STANDARD_FIELD_RULES.get(field, refused_string)
    return value.is_not_null() & rule(value).fill_null(True)
