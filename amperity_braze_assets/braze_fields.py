"""The Braze field catalogue: one place for names, formats, limits and hosts.

Everything here follows ``shared/spec/braze-api.md``. The attribute builder, the diff and the
client read these tables; the emulator does not (``devtools/emulator_rules.py`` is written from
the spec on its own, so a mistake here shows as a disagreement with it). Each rule exists twice
only in form: a Python check for single values (one object at a time) and a polars expression
for whole columns (the attribute asset), both built from the same patterns and sets below.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

import polars as pl

# -- endpoints and their limits ----------------------------------------------------------------
TRACK_PATH = "/users/track"
MAX_OBJECTS_PER_REQUEST = 75  # across attributes, events and purchases together
MAX_BODY_BYTES = 4 * 1024 * 1024
RATE_LIMIT_REQUESTS = 3_000
RATE_LIMIT_WINDOW_SECONDS = 3
MERGE_PATH = "/users/merge"
MAX_MERGES_PER_REQUEST = 50
IDENTIFY_PATH = "/users/identify"
MAX_IDENTIFIES_PER_REQUEST = 50  # shares the 20,000 a minute of merge, delete, alias
# -- value limits ------------------------------------------------------------------------------
MAX_STRING_CHARS = 255
MAX_ATTRIBUTE_NAME_CHARS = 255
MAX_EXTERNAL_ID_BYTES = 987
# Nested custom attributes (objects, arrays of objects): Braze's docs give 100 KB a value; we
# count its JSON text in bytes and take 100,000 (the stricter reading of "KB").
MAX_NESTED_VALUE_BYTES = 100_000

# -- instances -----------------------------------------------------------------------------------
REST_HOSTS: dict[str, str] = {
    **{f"US-0{n}": f"rest.iad-0{n}.braze.com" for n in range(1, 9)},
    "US-10": "rest.us-10.braze.com",
    "EU-01": "rest.fra-01.braze.eu",
    "EU-02": "rest.fra-02.braze.eu",
    "AU-01": "rest.au-01.braze.com",
    "ID-01": "rest.id-01.braze.com",
}


def rest_endpoint_for(instance: str) -> str:
    """``https://<host>`` for an instance name such as ``US-03`` (case-insensitive)."""
    key = instance.strip().upper()
    if key not in REST_HOSTS:
        raise ValueError(
            f"unknown Braze instance {instance!r}; use one of {', '.join(REST_HOSTS)} "
            "(the dashboard URL dashboard-03.braze.com is US-03), or set the REST endpoint."
        )
    return f"https://{REST_HOSTS[key]}"


# -- identifiers -----------------------------------------------------------------------------------
IDENTIFIER_FIELDS = ("external_id", "braze_id", "user_alias")

# -- value sets --------------------------------------------------------------------------------------
GENDERS = ("M", "F", "O", "N", "P")
SUBSCRIPTION_STATES = ("opted_in", "subscribed", "unsubscribed")
ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW""".split()
)
ISO_LANGUAGES = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh
    zu""".split()
)
TIME_ZONES = frozenset(zoneinfo.available_timezones())

# -- formats -----------------------------------------------------------------------------------------
# Pragmatic address syntax: a local part, one @, a dotted domain with a 2+ letter TLD.
# RFC 5322's dot-atom local part (no leading, trailing or doubled dot); its 64-byte limit (RFC
# 5321) is checked beside the pattern (MAX_EMAIL_LOCAL_BYTES).
EMAIL_PATTERN = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MAX_EMAIL_LOCAL_BYTES = 64
_EMAIL_RE = re.compile(EMAIL_PATTERN)
_E164_RE = re.compile(E164_PATTERN)
_DATE_RE = re.compile(DATE_PATTERN)


@dataclass(frozen=True)
class StandardField:
    name: str
    kind: str  # string | email | phone | date | gender | country | language | time_zone | subscription
    description: str


# name | kind | what Braze expects, one field a line
_STANDARD_FIELD_TABLE = """
first_name      | string       | given name
last_name       | string       | surname
email           | email        | a valid email address
phone           | phone        | E.164, e.g. +14155550100
dob             | date         | date of birth as YYYY-MM-DD
gender          | gender       | one of M, F, O, N, P
country         | country      | ISO-3166-1 alpha-2, e.g. US
home_city       | string       | city
language        | language     | ISO-639-1, e.g. en
time_zone       | time_zone    | IANA name, e.g. America/New_York
email_subscribe | subscription | opted_in, subscribed or unsubscribed
push_subscribe  | subscription | opted_in, subscribed or unsubscribed
"""
STANDARD_FIELDS: dict[str, StandardField] = {
    f.name: f
    for f in (
        StandardField(*(cell.strip() for cell in line.split("|")))
        for line in _STANDARD_FIELD_TABLE.strip().splitlines()
    )
}
# Standard fields Braze also knows but the catalogue does not type; a custom attribute may not
# take these names either.
OTHER_STANDARD_NAMES = frozenset(
    {
        "current_location",
        "date_of_first_session",
        "date_of_last_session",
        "subscription_groups",
        "email_open_tracking_disabled",
        "email_click_tracking_disabled",
        "facebook",
        "twitter",
        "image_url",
        "marked_email_as_spam_at",
    }
)
# Fields Braze keeps consent in: sent only when a user explicitly enables them.
CONSENT_FIELDS = frozenset({"email_subscribe", "push_subscribe"})
RESERVED_NAMES = frozenset(STANDARD_FIELDS) | OTHER_STANDARD_NAMES | set(IDENTIFIER_FIELDS)

# Near-misses of standard names, compared after lower-casing and dropping non-letters. Sending
# `birthday` does not fill `dob`: it creates a custom attribute and `dob` stays empty.
_SHADOWS: dict[str, str] = {
    **dict.fromkeys(
        ["dob", "birthday", "birthdate", "dateofbirth", "birth", "bday", "birthdt"], "dob"
    ),
    **dict.fromkeys(["firstname", "fname", "givenname", "forename", "first"], "first_name"),
    **dict.fromkeys(["lastname", "lname", "surname", "familyname", "last"], "last_name"),
    **dict.fromkeys(["email", "emailaddress", "mail", "emailaddr"], "email"),
    **dict.fromkeys(
        ["phone", "phonenumber", "mobile", "mobilephone", "cellphone", "telephone", "tel"], "phone"
    ),
    **dict.fromkeys(["gender", "sex"], "gender"),
    **dict.fromkeys(["country", "countrycode"], "country"),
    **dict.fromkeys(["city", "homecity", "town"], "home_city"),
    **dict.fromkeys(["language", "lang", "locale"], "language"),
    **dict.fromkeys(["timezone", "tz"], "time_zone"),
    **dict.fromkeys(["externalid", "userid"], "external_id"),
    **dict.fromkeys(["emailsubscribe"], "email_subscribe"),
    **dict.fromkeys(["pushsubscribe"], "push_subscribe"),
}


def shadowed_standard_field(name: str) -> str | None:
    """The standard field a custom attribute name imitates (``Birthdate`` -> ``dob``), if any.

    Exact standard names are not shadows: they are the field itself.
    """
    if name in RESERVED_NAMES:
        return None
    squashed = re.sub(r"[^a-z]", "", name.lower())
    return _SHADOWS.get(squashed)


def custom_attribute_name_problem(name: str) -> str | None:
    """Why a custom attribute name is refused, with the fix; None when it is fine."""
    if not isinstance(name, str) or not name.strip():
        return "a custom attribute name must not be empty"
    if len(name) > MAX_ATTRIBUTE_NAME_CHARS:
        return f"custom attribute name is {len(name)} characters; Braze allows at most {MAX_ATTRIBUTE_NAME_CHARS}"
    if name.startswith("$"):
        return f"custom attribute name {name!r} starts with '$', which Braze reserves; rename it"
    if name in RESERVED_NAMES:
        return (
            f"{name!r} is a standard Braze field, not a custom attribute; map it under "
            "standard: instead, or rename the custom attribute"
        )
    shadow = shadowed_standard_field(name)
    if shadow:
        return (
            f"custom attribute {name!r} shadows the standard field {shadow!r}: Braze would store "
            f"it as a separate custom attribute and leave {shadow!r} empty; use `{shadow}`"
        )
    return None


# -- single-value checks (the emulator) -------------------------------------------------------------
def standard_value_problem(field: str, value: object) -> str | None:
    """Why Braze rejects ``value`` for a standard field; None when it is accepted (null unsets)."""
    if value is None:
        return None
    spec = STANDARD_FIELDS.get(field)
    if spec is None:
        return None
    if not isinstance(value, str):
        return f"{field} must be a string"
    kind = spec.kind
    if kind == "string":
        return (
            None
            if len(value) <= MAX_STRING_CHARS
            else f"{field} longer than {MAX_STRING_CHARS} characters"
        )
    if kind == "email":
        return (
            None
            if _EMAIL_RE.match(value)
            and len(value) <= MAX_STRING_CHARS
            and len(value.rpartition("@")[0].encode()) <= MAX_EMAIL_LOCAL_BYTES
            else f"Invalid email address: {value}"
        )
    if kind == "phone":
        return None if _E164_RE.match(value) else f"{field} is not E.164"
    if kind == "date":
        return None if _is_date(value) else f"{field} is not a YYYY-MM-DD date"
    if kind == "gender":
        return None if value in GENDERS else f"gender must be one of {', '.join(GENDERS)}"
    if kind == "country":
        return None if value in ISO_COUNTRIES else "country is not an ISO-3166-1 alpha-2 code"
    if kind == "language":
        return None if value in ISO_LANGUAGES else "language is not an ISO-639-1 code"
    if kind == "time_zone":
        return None if value in TIME_ZONES else "time_zone is not an IANA time zone name"
    if kind == "subscription":
        return (
            None
            if value in SUBSCRIPTION_STATES
            else f"{field} must be one of {', '.join(SUBSCRIPTION_STATES)}"
        )
    return None


def _is_date(value: str) -> bool:
    if not _DATE_RE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# -- column checks (the attribute asset) ------------------------------------------------------------
def standard_problem_expr(field: str, value: pl.Expr) -> pl.Expr:
    """A column of reasons (null where valid) for a standard field's string values."""
    spec = STANDARD_FIELDS[field]
    kind = spec.kind
    if kind == "string":
        bad = value.str.len_chars() > MAX_STRING_CHARS
        reason = f"{field} longer than {MAX_STRING_CHARS} characters"
    elif kind == "email":
        local = value.str.replace(r"@[^@]*$", "")
        bad = (
            ~value.str.contains(EMAIL_PATTERN)
            | (value.str.len_chars() > MAX_STRING_CHARS)
            | (local.str.len_bytes() > MAX_EMAIL_LOCAL_BYTES)
        )
        reason = "not a valid email address"
    elif kind == "phone":
        bad = ~value.str.contains(E164_PATTERN)
        reason = "phone is not E.164"
    elif kind == "date":
        bad = value.str.to_date("%Y-%m-%d", strict=False).is_null() | ~value.str.contains(
            DATE_PATTERN
        )
        reason = "not a real YYYY-MM-DD date"
    else:
        allowed = {
            "gender": GENDERS,
            "country": ISO_COUNTRIES,
            "language": ISO_LANGUAGES,
            "time_zone": TIME_ZONES,
            "subscription": SUBSCRIPTION_STATES,
        }[kind]
        bad = ~value.is_in(sorted(allowed))
        reason = f"{field} must be {spec.description}"
    return pl.when(value.is_not_null() & bad).then(pl.lit(reason)).otherwise(None)


# -- appended for the sync (issue 5) ----------------------------------------------------------------
# Keys that steer how Braze applies an object rather than writing an attribute.
OBJECT_CONTROL_KEYS = frozenset({"_update_existing_only", "_merge_objects"})
# Writes Braze does not bill as data points: identifiers and subscription-state changes.
NON_BILLABLE_FIELDS = frozenset(
    {*IDENTIFIER_FIELDS, "email_subscribe", "push_subscribe", "subscription_groups"}
)
