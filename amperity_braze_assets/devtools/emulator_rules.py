"""What Braze accepts, as the emulator enforces it: written from ``shared/spec/braze-api.md``.

This module deliberately imports nothing from ``braze_fields.py``. ``fields.py`` is how our
pipeline *builds* values; these rules are how the other side *judges* them. If both came from
one table, a mistake in that table would pass every emulator test. Where a rule needs a standard
(E.164, ISO 3166, IANA zones, RFC 5322 addresses) it reads the standard's own data (libphonenumber,
the tz database) or is written from the standard's grammar, never from our builder.

Where the spec leaves a choice, the line says which we made.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import math
import re
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers

# -- limits (spec: POST /users/track, Rate limits, Identity endpoints) ------------------------------
MAX_OBJECTS_PER_REQUEST = 75  # across attributes, events and purchases together
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_STRING_CHARS = 255
MAX_ATTRIBUTE_NAME_CHARS = 255
MAX_EXTERNAL_ID_BYTES = 987
MAX_PURCHASE_QUANTITY = 100
RATE_LIMIT_REQUESTS = 3_000
RATE_LIMIT_WINDOW_SECONDS = 3
MAX_MERGES_PER_REQUEST = 50
TRACK_PATH = "/users/track"
MERGE_PATH = "/users/merge"

IDENTIFIER_FIELDS = ("external_id", "braze_id", "user_alias")
# Per-object switches: they steer how an object is applied and write no attribute.
OBJECT_SWITCHES = ("_update_existing_only", "_merge_objects")
# Spec, Data points: identifiers and subscription-state changes are not billed.
NOT_BILLED = frozenset(
    {*IDENTIFIER_FIELDS, "email_subscribe", "push_subscribe", "subscription_groups"}
)

GENDERS = frozenset({"M", "F", "O", "N", "P"})
SUBSCRIPTION_STATES = frozenset({"opted_in", "subscribed", "unsubscribed"})
# ISO 639-1, the two-letter language codes (Library of Congress registration authority list).
ISO_639_1 = frozenset(
    " ".join(
        (
            "aa ab ae af ak am an ar as av ay az",
            "ba be bg bh bi bm bn bo br bs",
            "ca ce ch co cr cs cu cv cy",
            "da de dv dz",
            "ee el en eo es et eu",
            "fa ff fi fj fo fr fy",
            "ga gd gl gn gu gv",
            "ha he hi ho hr ht hu hy hz",
            "ia id ie ig ii ik io is it iu",
            "ja jv",
            "ka kg ki kj kk kl km kn ko kr ks ku kv kw ky",
            "la lb lg li ln lo lt lu lv",
            "mg mh mi mk ml mn mr ms mt my",
            "na nb nd ne ng nl nn no nr nv ny",
            "oc oj om or os",
            "pa pi pl ps pt",
            "qu",
            "rm rn ro ru rw",
            "sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw",
            "ta te tg th ti tk tl tn to tr ts tt tw ty",
            "ug uk ur uz",
            "ve vi vo",
            "wa wo",
            "xh",
            "yi yo",
            "za zh zu",
        )
    ).split()
)

# "A valid address" (spec): an RFC 5322 dot-atom local part, RFC 5321 lengths (local part 64
# octets, whole address 254) and RFC 1035 host labels (63, no edge hyphens). We choose to refuse
# quoted local parts ("a b"@x.io) and address literals (a@[10.0.0.1]): the spec is silent and a
# customer address of that form is a data error far more often than a real mailbox.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LABEL = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")  # ITU-T E.164: at most 15 digits after the +
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Spec, events: ISO 8601, or Braze's own ``yyyy-MM-dd'T'HH:mm:ss:SSSZ``.
_BRAZE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}:[0-9]{3}(?:Z|[+-][0-9]{4})"
)


def email_problem(value: str) -> str | None:
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    valid = (
        bool(at)
        and len(value) <= 254
        and len(local.encode()) <= 64
        and _LOCAL_PART.fullmatch(local) is not None
        and len(labels) >= 2
        and all(_HOST_LABEL.fullmatch(label) for label in labels[:-1])
        and _TOP_LABEL.fullmatch(labels[-1]) is not None
    )
    return None if valid else f"Invalid email address: {value}"


def phone_problem(value: str) -> str | None:
    """E.164: a plus, a country code in use, a national number of a length that plan allows."""
    if not _E164.fullmatch(value):
        return "phone is not E.164"
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return "phone is not E.164"
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        return "phone is not E.164: no number of that length under its country code"
    return None


def date_problem(value: str) -> str | None:
    if _DATE.fullmatch(value):
        try:
            dt.date.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "dob is not a YYYY-MM-DD date"


def _iso_3166_alpha_2() -> frozenset[str]:
    """Country codes as the IANA tz database lists them (``iso3166.tab``, ISO 3166-1 alpha-2)."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "iso3166.tab"
        if path.is_file():
            return _codes_in(path.read_text(encoding="utf-8"))
    table = importlib.resources.files("tzdata").joinpath("zoneinfo/iso3166.tab")
    return _codes_in(table.read_text(encoding="utf-8"))


def _codes_in(text: str) -> frozenset[str]:
    return frozenset(
        line.split("\t", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    )


ISO_3166_ALPHA_2 = _iso_3166_alpha_2()
IANA_TIME_ZONES = frozenset(zoneinfo.available_timezones())


def _at_most_255(field: str) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        if len(value) > MAX_STRING_CHARS:
            return f"{field} longer than {MAX_STRING_CHARS} characters"
        return None

    return problem


def _one_of(allowed: frozenset[str], message: str) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        return None if value in allowed else message

    return problem


# Spec, Standard profile fields: each field with the rule Braze applies to a string value.
STANDARD_RULES: dict[str, Callable[[str], str | None]] = {
    "first_name": _at_most_255("first_name"),
    "last_name": _at_most_255("last_name"),
    "home_city": _at_most_255("home_city"),
    "email": email_problem,
    "phone": phone_problem,
    "dob": date_problem,
    "gender": _one_of(GENDERS, "gender must be one of M, F, O, N, P"),
    "country": _one_of(ISO_3166_ALPHA_2, "country is not an ISO-3166-1 alpha-2 code"),
    "language": _one_of(ISO_639_1, "language is not an ISO-639-1 code"),
    "time_zone": _one_of(IANA_TIME_ZONES, "time_zone is not an IANA time zone name"),
    "email_subscribe": _one_of(
        SUBSCRIPTION_STATES, "email_subscribe must be one of opted_in, subscribed, unsubscribed"
    ),
    "push_subscribe": _one_of(
        SUBSCRIPTION_STATES, "push_subscribe must be one of opted_in, subscribed, unsubscribed"
    ),
}
# Spec, Standard profile fields, the "also" row as it reads there (less its markup): standard
# fields whose shape the emulator takes as sent.
OTHER_STANDARD_FIELDS = frozenset(
    (
        "current_location, date_of_first_session, date_of_last_session, subscription_groups, "
        "email_open_tracking_disabled, email_click_tracking_disabled, facebook, twitter, "
        "image_url, marked_email_as_spam_at"
    ).split(", ")
)
# Spec: "Sending birthday or Birthdate does not fill dob". We choose what else is a near-miss: a
# name equal to a standard one once case and every non-letter are dropped (``First_Name``,
# ``E-mail``, ``email2``).
_SPEC_NEAR_MISSES = {"birthday": "dob", "birthdate": "dob"}


def _squashed(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


_SQUASHED_STANDARD = {
    _squashed(name): name for name in (*STANDARD_RULES, *OTHER_STANDARD_FIELDS, *IDENTIFIER_FIELDS)
}


def standard_value_problem(field: str, value: Any) -> str | None:
    """Why Braze refuses ``value`` for standard ``field``; ``None`` (null) unsets and is fine."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{field} must be a string"
    return STANDARD_RULES[field](value)


def near_miss_of_standard(name: str) -> str | None:
    """The standard field a custom name imitates, which Braze would leave empty."""
    squashed = _squashed(name)
    return _SPEC_NEAR_MISSES.get(squashed) or _SQUASHED_STANDARD.get(squashed)


def custom_name_problem(name: str, refuse_near_misses: bool) -> str | None:
    """Spec, Attribute values: the rules for a custom name, in order; the first broken one."""
    standard = near_miss_of_standard(name) if refuse_near_misses else None
    rules = (
        (not name, "a custom attribute name must not be empty"),
        (
            len(name) > MAX_ATTRIBUTE_NAME_CHARS,
            f"custom attribute name is {len(name)} characters; Braze allows at most {MAX_ATTRIBUTE_NAME_CHARS}",
        ),
        (
            name.startswith("$"),
            f"custom attribute name {name[:40]!r} starts with '$', which Braze reserves",
        ),
        (
            standard,
            f"custom attribute {name!r} shadows the standard field {standard!r}: Braze would "
            f"store it apart and leave {standard!r} empty",
        ),
    )
    return next((message for broken, message in rules if broken), None)


def custom_value_problem(name: str, value: Any) -> str | None:
    """Spec, Attribute values: set, unset, increment, array add/remove, nested objects."""
    if isinstance(value, str):
        return _at_most_255(name)(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name}: numbers must be finite"
    if isinstance(value, list):
        return _array_problem(name, value)
    if isinstance(value, dict) and "inc" in value:
        increment = value["inc"]
        if set(value) != {"inc"} or isinstance(increment, bool):
            return f"{name}: increment must be {{'inc': <number>}}"
        return (
            None
            if isinstance(increment, int | float)
            else f"{name}: increment must be {{'inc': <number>}}"
        )
    if isinstance(value, dict) and value and set(value) <= {"add", "remove"}:
        for key, members in value.items():
            if not isinstance(members, list):
                return f"{name}: '{key}' must be an array"
            problem = _array_problem(name, members)
            if problem:
                return problem
    return None  # numbers, booleans, and nested objects (which replace, or merge when asked)


def _array_problem(name: str, members: list[Any]) -> str | None:
    for member in members:
        if isinstance(member, str) and len(member) > MAX_STRING_CHARS:
            return f"{name}: array element longer than {MAX_STRING_CHARS} characters"
    return None  # arrays of objects are allowed; their contents are not checked


def is_time(value: Any) -> bool:
    """ISO 8601 (what Python's parser reads, a trailing Z included) or Braze's own format."""
    if not isinstance(value, str):
        return False
    if _BRAZE_TIME.fullmatch(value):
        return True
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def event_problem(item: dict[str, Any]) -> str | None:
    """Spec, Events; braze.com's event object marks ``name`` and ``time`` required."""
    name = item.get("name")
    if not isinstance(name, str) or not name:
        return "event name must be a non-empty string"
    if not is_time(item.get("time")):
        return "event time is required, as ISO 8601"
    return _properties_problem(item.get("properties"))


def purchase_problem(item: dict[str, Any]) -> str | None:
    """Spec, Purchases: product, currency, price, optional quantity up to 100."""
    product = item.get("product_id")
    if not isinstance(product, str) or not product or len(product) > MAX_STRING_CHARS:
        return f"product_id must be a string of 1 to {MAX_STRING_CHARS} characters"
    currency = item.get("currency")
    if not isinstance(currency, str) or currency not in ISO_4217_CODES:
        return "currency must be an ISO 4217 code such as USD"
    price = item.get("price")
    if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
        return "price must be a number"
    quantity = item.get("quantity", 1)
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 1 <= quantity <= MAX_PURCHASE_QUANTITY
    ):
        return f"quantity must be a whole number from 1 to {MAX_PURCHASE_QUANTITY}"
    if not is_time(item.get("time")):
        return "purchase time is required, as ISO 8601"
    return _properties_problem(item.get("properties"))


# Spec, Events and purchases: properties at most 100 KB (events) or 50 KB (purchases), nested
# values included; measured as the compact JSON text of the properties object.
MAX_PROPERTIES_BYTES = {"events": 100 * 1024, "purchases": 50 * 1024}
# ISO 4217 (the maintenance agency's list A.1 of current codes), as the standard publishes it:
# a code of the right shape that is not on the list ("ABC") is refused.
ISO_4217_CODES = frozenset(
    " ".join(
        (
            "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN",
            "BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD",
            "CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK",
            "DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD",
            "HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY",
            "KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD",
            "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN",
            "NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR",
            "RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL",
            "THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS",
            "VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT",
            "XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL",
        )
    ).split()
)


def properties_size_problem(array: str, item: dict[str, Any]) -> str | None:
    properties = item.get("properties")
    if properties is None:
        return None
    size = len(json.dumps(properties, separators=(",", ":")).encode())
    limit = MAX_PROPERTIES_BYTES[array]
    if size > limit:
        return f"properties of {size:,} bytes, over the {limit // 1024} KB Braze allows"
    return None


def occurrence_time(time: str, now: dt.datetime) -> str:
    """When Braze files an event or purchase (its ``time``, checked by ``is_time``): a time
    without zone is UTC, a future one is clamped to now (spec); ISO 8601 UTC."""
    text = time
    if _BRAZE_TIME.fullmatch(text):  # 2026-11-30T14:03:00:000Z: the last colon is a dot
        text = text[:19] + "." + text[20:]
    parsed = dt.datetime.fromisoformat(text)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    moment = min(parsed, now)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _properties_problem(properties: Any) -> str | None:
    if properties is None:
        return None
    if not isinstance(properties, dict):
        return "properties must be an object"
    for key, value in properties.items():
        if not key or len(key) > MAX_STRING_CHARS or key.startswith("$"):
            return f"property name {key[:40]!r} is empty, too long or starts with '$'"
        if key in ("time", "event_name"):
            return f"property name {key!r} is reserved"
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            return f"property {key!r} longer than {MAX_STRING_CHARS} characters"
    return None


# -- the workspace schema (spec: Workspace schema; braze.com "Export custom attributes") -----------
CUSTOM_ATTRIBUTES_PATH = "/custom_attributes"
CUSTOM_ATTRIBUTES_PAGE_SIZE = 50  # alphabetical, the next page's cursor in the Link header
CUSTOM_ATTRIBUTES_HOURLY_LIMIT = 1_000
CUSTOM_ATTRIBUTES_WINDOW_SECONDS = 3600
ACTIVE, BLOCKLISTED = "Active", "Blocklisted"
# The permission each route needs (spec: the key needs users.track; custom_attributes.get).
PERMISSIONS = {
    TRACK_PATH: "users.track",
    MERGE_PATH: "users.merge",
    CUSTOM_ATTRIBUTES_PATH: "custom_attributes.get",
}
# A time as Braze detects one in a string: a calendar date first. We choose this narrower test
# than ``is_time`` so that digit strings such as "20240101" stay strings.
_TIME_STRING = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}.*)?")


def data_type_of(value: Any) -> str | None:
    """The data type Braze gives a new custom attribute from the first value it sees (spec: a
    custom attribute's type is fixed by the first value); ``None`` for null, which creates none."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "Time" if _TIME_STRING.fullmatch(value) and is_time(value) else "String"
    if isinstance(value, list):
        return "Array of Objects" if value and all(isinstance(v, dict) for v in value) else "Array"
    if isinstance(value, dict):
        keys = set(value)
        if keys == {"inc"}:
            return "Number"
        if keys and keys <= {"add", "remove"}:
            return "Array"
        if keys and keys <= {"$add", "$remove", "$update"}:
            return "Array of Objects"
        return "Object"
    return None


# -- identifiers beyond the primary ones, /users/identify, subscription groups ---------------------
# braze.com "Standard attributes", Identifiers: email identifies a user when there is no
# external_id and no user_alias (and wins over phone when both are sent); phone when there is
# none of external_id, user_alias or email. braze_id is a primary identifier too (spec).
SECONDARY_IDENTIFIER_FIELDS = ("email", "phone")
IDENTIFY_PATH = "/users/identify"
MAX_IDENTIFIES_PER_REQUEST = 50  # spec: Identity endpoints, at most 50 a request
PERMISSIONS[IDENTIFY_PATH] = "users.identify"
# Spec, Subscriptions: a group's state is one of these two (the global email_subscribe and
# push_subscribe also take opted_in).
SUBSCRIPTION_GROUP_STATES = frozenset({"subscribed", "unsubscribed"})
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def subscription_groups_problem(value: Any) -> str | None:
    """What Braze refuses in a ``subscription_groups`` value: not an array of objects each with a
    UUID ``subscription_group_id`` and a ``subscription_state`` of subscribed or unsubscribed."""
    if not isinstance(value, list) or not value:
        return "subscription_groups must be a non-empty array of objects"
    for entry in value:
        if not isinstance(entry, dict):
            return "subscription_groups entries must be objects"
        group = entry.get("subscription_group_id")
        if not isinstance(group, str) or not _UUID.fullmatch(group):
            return "subscription_group_id must be a UUID"
        if entry.get("subscription_state") not in SUBSCRIPTION_GROUP_STATES:
            return "subscription_state must be subscribed or unsubscribed"
    return None


def alias_problem(value: Any) -> str | None:
    """A ``user_alias`` object Braze refuses: both names must be non-empty strings."""
    if not isinstance(value, dict):
        return "user_alias must be an object with alias_name and alias_label"
    for key in ("alias_name", "alias_label"):
        if not isinstance(value.get(key), str) or not value[key]:
            return f"user_alias needs a non-empty {key} string"
    return None


# -- nested custom attributes (spec: Nested attributes and arrays of objects) -----------------------
MAX_NESTED_VALUE_BYTES = 100_000  # "100 KB" per attribute; we read KB as 1,000 bytes
ARRAY_OPERATIONS = ("$add", "$remove", "$update")
MAX_NESTED_YEAR = 3000  # Braze's docs: a nested time outside years 0-3000 is not stored


def is_nested_value(value: Any) -> bool:
    """An object (not an increment or a scalar array's add/remove), a list holding objects, or
    an array of objects' operations."""
    if isinstance(value, list):
        return any(isinstance(v, dict) for v in value)
    if not isinstance(value, dict):
        return False
    return not (set(value) == {"inc"} or (value and set(value) <= {"add", "remove"}))


def nested_size(value: Any) -> int:
    """The bytes of a value's JSON text, as the 100 KB limit counts them."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def nested_value_problem(name: str, value: Any) -> str | None:
    """Why Braze would drop a nested value (and with it every nested update of the request):
    a null inside, a bad ``$time``, a key with ``.``, ``$`` or a space, a key or string over 255
    characters, malformed ``$add``/``$remove``/``$update``."""
    if isinstance(value, dict) and value and set(value) <= set(ARRAY_OPERATIONS):
        return _operations_problem(name, value)
    return _nested_problem(name, value)


def _operations_problem(name: str, value: dict[str, Any]) -> str | None:
    for operation, items in value.items():
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return f"{name}: {operation} must be a list of objects"
        for item in items:
            if operation == "$add":
                problem = _nested_problem(name, item)
            elif "$identifier_key" not in item or "$identifier_value" not in item:
                problem = f"{name}: {operation} needs $identifier_key and $identifier_value"
            elif operation == "$update" and not isinstance(item.get("$new_object"), dict):
                problem = f"{name}: $update needs a $new_object object"
            else:
                problem = _nested_problem(name, item.get("$new_object", {}))
            if problem:
                return problem
    return None


def _nested_problem(name: str, value: Any) -> str | None:
    if value is None:
        return f"{name}: a null inside a nested value"
    if isinstance(value, str):
        return _at_most_255(name)(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name}: numbers must be finite"
    if isinstance(value, list):
        return next((p for p in (_nested_problem(name, v) for v in value) if p), None)
    if not isinstance(value, dict):
        return None
    if set(value) == {"$time"}:
        return _nested_time_problem(name, value["$time"])
    for key, inner in value.items():
        if not isinstance(key, str) or not key or len(key) > MAX_STRING_CHARS:
            return f"{name}: nested key {key!r} must be 1 to {MAX_STRING_CHARS} characters"
        if any(c in key for c in ".$ "):
            return f"{name}: nested key {key!r} has '.', '$' or a space"
        problem = _nested_problem(name, inner)
        if problem:
            return problem
    return None


def _nested_time_problem(name: str, value: Any) -> str | None:
    if not is_time(value):
        return f"{name}: $time {value!r} is not a time"
    # The year as written: Python's datetime cannot hold a year below 1, Braze's bound is 0.
    written = re.match(r"\s*([+-]?\d+)-", str(value))
    if written is None:
        return None  # Braze's own format: read by is_time
    year = int(written.group(1))
    if year < 0:
        return f"{name}: $time year below 0"
    return None if year <= MAX_NESTED_YEAR else f"{name}: $time year past {MAX_NESTED_YEAR}"
