"""The sources' configuration: what ``sources.yaml`` says of each source (its files, format,
tagged columns, filters, thresholds) and of money, checked with the file, the source and the fix.
Every mistake in a source is collected, so one edit round fixes them all."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import ErrorDetails

from amperity_braze_assets.config_file import suggestion, validate_collecting
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.sources.files import expand_local_patterns
from amperity_braze_assets.sources.tags import (
    BUYER_TAGS,
    CUSTOMER_TAGS,
    IDENTIFYING_BUYER_TAGS,
    KEY_TAGS,
    LINE_TAGS,
    REQUIRED_TRANSACTION_TAGS,
    SOURCE_KINDS,
    TIME_TAGS,
    TRANSACTION_TAGS,
    column_for_tag,
)

SOURCE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
KEY_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FORMATS = ("csv", "parquet")
DEFAULT_RATES_FILE = "currency_rates.csv"
# A source whose rejected share of rows passes this stops the run before anything reaches
# Braze: a wrong encoding or a changed export format quarantines many rows, not a few.
DEFAULT_MAX_REJECT_SHARE = 0.01
# ... and so does one whose row count falls by more than this against its last good run.
DEFAULT_MAX_ROW_DROP = 0.2
# Order states that are not spend (``status`` tag), unless ``exclude_statuses`` says otherwise:
# Shopify's financial statuses and the usual words of other platforms.
DEFAULT_EXCLUDE_STATUSES = (
    "refunded",
    "voided",
    "void",
    "cancelled",
    "canceled",
    "pending",
    "failed",
    "expired",
    "declined",
    "abandoned",
)
AGGREGATES = (
    "most_recent",
    "first_by_priority",
    "most_frequent",
    "max",
    "min",
    "sum",
    "any",
    "all",
)
WHERE_EXAMPLE = "where: \"\\\"Financial Status\\\" IN ('paid', 'partially_refunded')\""
FORMATS_EXAMPLE = "formats: {'Created at': '%d.%m.%Y %H:%M'}"


def _listed(value: Any) -> Any:
    """One item written alone, as a list of one."""
    return [value] if isinstance(value, str) else value


# Text as it was written: YAML reads a column named 2024 or a delimiter 1 as numbers.
AsText = Annotated[str, BeforeValidator(str)]
Share = Annotated[float, Field(ge=0, le=1, strict=True)]
FilePatterns = Annotated[
    tuple[Annotated[str, StringConstraints(pattern=r"\S")], ...],
    BeforeValidator(_listed),
    Field(min_length=1),
]
StrftimeFormats = Annotated[
    tuple[Annotated[str, StringConstraints(pattern="%")], ...],
    BeforeValidator(_listed),
    Field(min_length=1),
]


class CsvOptions(BaseModel):
    """``csv:`` of a delimited source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: AsText = Field(",", min_length=1, max_length=1)
    encoding: AsText = "utf-8"
    quote: AsText = Field('"', min_length=1, max_length=1)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            "".encode(encoding)
        except LookupError:
            raise ValueError(
                f"encoding '{encoding}' is unknown; use a Python codec name such as utf-8, "
                "windows-1252 (cp1252) or latin-1."
            ) from None
        return encoding


class AttributeEntry(BaseModel):
    """One untagged column a customer source carries into the customer 360."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the customer_360 column
    name: AsText = Field(pattern=KEY_NAME_PATTERN.pattern)
    # how a person's records combine into one value
    aggregate: Literal[AGGREGATES] = "most_recent"


class SourceEntry(BaseModel):
    """One source as ``sources.yaml`` writes it; ``parse_source`` settles what depends on more
    than one key (the tags of its kind, its key, its format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal[SOURCE_KINDS] = "customers"
    files: FilePatterns
    # default: from the first file's name
    format: Literal[FORMATS] | None = None
    # default for a transaction source: the column tagged order-id
    primary_key: str | None = None
    columns: dict[AsText, str] = Field(min_length=1)
    csv: Annotated[CsvOptions, BeforeValidator(lambda options: options or {})] = CsvOptions()
    customer_source: AsText | None = None
    description: AsText | None = None
    # column -> name, or column -> {name: ..., aggregate: ...}
    attributes: dict[AsText, AttributeEntry] = {}
    where: str | None = None
    formats: dict[AsText, StrftimeFormats] = {}
    max_reject_share: Share = DEFAULT_MAX_REJECT_SHARE
    max_row_drop: Share = DEFAULT_MAX_ROW_DROP
    phone_region: AsText | None = None
    exclude_statuses: tuple[str, ...] = DEFAULT_EXCLUDE_STATUSES

    @field_validator("attributes", mode="before")
    @classmethod
    def _named(cls, attributes: Any) -> Any:
        """``column: name`` is short for ``column: {name: name}``; without a name, the column
        is carried under its own name in snake case."""
        if not isinstance(attributes, dict):
            return attributes
        return {
            column: {"name": _snake(str(column)), **spec}
            if isinstance(spec, dict)
            else {"name": spec}
            for column, spec in attributes.items()
        }

    @field_validator("where")
    @classmethod
    def _one_condition(cls, condition: str | None) -> str | None:
        if condition is None:
            return None
        problem = where_problem(condition)
        if problem:
            raise ValueError(problem)
        return condition.strip()

    @field_validator("phone_region")
    @classmethod
    def _country_code(cls, phone_region: str | None) -> str | None:
        if phone_region is None:
            return None
        if not re.fullmatch(r"[A-Z]{2}", phone_region.strip().upper()):
            raise ValueError(
                f"phone_region {phone_region!r} must be an ISO 3166-1 alpha-2 country code, "
                "e.g. phone_region: GB."
            )
        return phone_region.strip().upper()

    @field_validator("exclude_statuses")
    @classmethod
    def _lower_case(cls, statuses: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(status.strip().lower() for status in statuses)


SOURCE_KEYS = set(SourceEntry.model_fields)
CSV_KEYS = set(CsvOptions.model_fields)
FILES_PROBLEM = (
    "'files' must name one or more paths or globs (relative to AMPERITY_BRAZE_DATA_DIR, "
    "absolute, or s3://bucket/key), e.g. files: sources/pos/*.csv"
)


def _unknown_format(file_format: Any) -> str:
    return f"format '{file_format}' is unknown; set format: csv or format: parquet."


def _primary_key_problem(kind: str) -> str:
    return "'primary_key' must name the column that identifies a record, e.g. primary_key: " + (
        "CUST_NO. (or tag a column order-id)" if kind == "transactions" else "CUST_NO."
    )


def _share_problem(key: str) -> str:
    default = SourceEntry.model_fields[key].default
    return f"{key} must be a share between 0 and 1, e.g. {key}: {default}."


def _attribute_problem(location: tuple, value: Any) -> str:
    if len(location) < 3:
        return (
            "'attributes' must map untagged columns to customer 360 column names, e.g. "
            "attributes: {tier: loyalty_tier} or {'Total Spent': {name: total_spent, "
            "aggregate: max}}."
        )
    column, key = location[1], location[2]
    if key == "name":
        return (
            f"attribute name {value!r} for column '{column}' must be lower case letters, "
            "digits and underscores (it becomes a customer_360 column)."
        )
    if key == "aggregate":
        return (
            f"attribute '{column}': aggregate '{value}' is unknown"
            f"{suggestion(value, AGGREGATES)}; use one of {', '.join(AGGREGATES)}."
        )
    return f"attribute '{column}' has unknown key(s) ['{key}']; use name and aggregate."


# What is wrong with a key pydantic refused, and the fix, by key: (location, value) -> problem.
SOURCE_PROBLEMS: dict[str, Callable[[tuple, Any], str]] = {
    "kind": lambda location, value: f"kind '{value}' is unknown; use one of {list(SOURCE_KINDS)}.",
    "files": lambda location, value: FILES_PROBLEM,
    "format": lambda location, value: _unknown_format(value),
    "primary_key": lambda location, value: _primary_key_problem("customers"),
    "columns": lambda location, value: (
        f"column '{location[1]}' maps to {value!r}; use a tag name (text), e.g. email."
        if len(location) > 1
        else "'columns' must map source columns to semantic tags, e.g. "
        "columns: {EMAIL_ADDR: email}."
    ),
    "csv": lambda location, value: (
        "csv delimiter and quote must be single characters."
        if location[-1] in ("delimiter", "quote")
        else f"'csv' accepts only {sorted(CSV_KEYS)}."
    ),
    "attributes": _attribute_problem,
    "where": lambda location, value: (
        f"'where' must be an SQL condition as text, e.g. {WHERE_EXAMPLE}."
    ),
    "formats": lambda location, value: (
        f"formats.{location[1]} must be a strftime format or a list of them, e.g. "
        f"{FORMATS_EXAMPLE}."
        if len(location) > 1
        else f"'formats' must map a column to strftime formats, e.g. {FORMATS_EXAMPLE}."
    ),
    "max_reject_share": lambda location, value: _share_problem("max_reject_share"),
    "max_row_drop": lambda location, value: _share_problem("max_row_drop"),
    "exclude_statuses": lambda location, value: (
        "exclude_statuses must be a list of order states, e.g. "
        "exclude_statuses: [refunded, voided, pending]."
    ),
}


def _source_problem(error: ErrorDetails) -> str:
    """A refusal of ``SourceEntry`` in this file's words: what is wrong and the fix."""
    location = error["loc"]
    if not location:
        return "expected a mapping with kind, files, primary_key, columns."
    key = str(location[0])
    if len(location) == 1 and error["type"] == "extra_forbidden":
        return f"unknown key '{key}'{suggestion(key, SOURCE_KEYS)}; allowed: {sorted(SOURCE_KEYS)}."
    if key in SOURCE_PROBLEMS:
        return SOURCE_PROBLEMS[key](location, error["input"])
    return f"{'.'.join(map(str, location))}: {error['msg']}; fix the value."


def _raw_table(suffix: str) -> property:
    """The name of one of a source's tables: ``raw_<name><suffix>``."""
    return property(lambda source: f"raw_{source.name}{suffix}")


@dataclass(frozen=True)
class SourceConfig:
    """One configured source: where its files are and what its columns mean."""

    name: str
    kind: str
    files: tuple[str, ...]
    format: str
    primary_key: str
    # original column -> tag, in file order of the mapping
    columns: dict[str, str]
    csv: CsvOptions = field(default_factory=CsvOptions)
    # for transaction sources whose rows all belong to one customer source
    customer_source: str | None = None
    # untagged columns carried into the customer 360 as person attributes: column -> name
    attributes: dict[str, str] = field(default_factory=dict)
    # how a person's records combine into one value, per attribute name (default most_recent)
    attribute_aggregates: dict[str, str] = field(default_factory=dict)
    config_file: str = ""
    # a read-only SQL condition over the file's own columns: rows it rejects are not read
    where: str | None = None
    # original column -> strftime formats tried before the built-in timestamp formats
    formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE
    max_row_drop: float = DEFAULT_MAX_ROW_DROP
    # the region of phone numbers written without a country code, when a record has no country
    phone_region: str | None = None
    # order states (``status`` tag) that are not spend, compared case-insensitively
    exclude_statuses: tuple[str, ...] = DEFAULT_EXCLUDE_STATUSES

    # the source's tables: raw_<name>, and its rejects, order lines and buyers
    asset_name = _raw_table("")
    rejects_asset_name = _raw_table("_rejects")
    lines_asset_name = _raw_table("_lines")
    buyers_asset_name = _raw_table("_buyers")

    def column_map(self) -> dict[str, str]:
        """Original column -> common column name."""
        return {column: column_for_tag(tag) for column, tag in self.columns.items()}

    @property
    def has_buyers(self) -> bool:
        """A transaction source whose orders name their buyer by contact (email, name...): each
        order's buyer is a customer record keyed by the order id."""
        return self.kind == "transactions" and any(t in BUYER_TAGS for t in self.columns.values())

    @property
    def has_lines(self) -> bool:
        return self.kind == "transactions" and any(t in LINE_TAGS for t in self.columns.values())

    @property
    def records_asset_name(self) -> str:
        """The table of this source's customer records (its raw table, or its buyers)."""
        return self.buyers_asset_name if self.kind == "transactions" else self.asset_name


@dataclass(frozen=True)
class MoneyConfig:
    """``money:`` in sources.yaml: every amount is converted to ``reporting_currency`` through
    ``rates`` (currency -> units of the reporting currency per unit). Without it, amounts in
    more than one currency stop the run: two currencies are never added."""

    reporting_currency: str | None = None
    rates: dict[str, float] = field(default_factory=dict)
    rates_file: str | None = None


class MoneyEntry(BaseModel):
    """``money:`` as sources.yaml writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reporting_currency: AsText
    # in the configuration folder; default currency_rates.csv, which may be absent
    rates_file: AsText | None = None

    @field_validator("reporting_currency")
    @classmethod
    def _currency_code(cls, currency: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", currency.strip().upper()):
            raise ValueError(_currency_problem(currency))
        return currency.strip().upper()


def _currency_problem(written: str | None) -> str:
    return (
        f"money.reporting_currency: {written!r} is not an ISO 4217 currency code; write three "
        "letters, e.g. reporting_currency: USD."
    )


def _money_problem(error: ErrorDetails) -> str:
    # a missing currency (one the validator refused is said there)
    if error["loc"] == ("reporting_currency",):
        return _currency_problem(None)
    return (
        f"money: expected a mapping with {', '.join(MoneyEntry.model_fields)}, e.g. money: "
        "{reporting_currency: USD, rates_file: currency_rates.csv}."
    )


def parse_money(path: Path, raw: Any, config_dir: Path) -> tuple[MoneyConfig, list[str]]:
    """``money: {reporting_currency: USD, rates_file: currency_rates.csv}``; the rates file
    (in the configuration folder) has the columns currency, rate."""
    if raw is None:
        return MoneyConfig(), []
    entry, problems = validate_collecting(MoneyEntry, raw, str(path), _money_problem)
    if problems:
        return MoneyConfig(), problems
    currency = entry.reporting_currency
    rates_path = config_dir / (entry.rates_file or DEFAULT_RATES_FILE)
    rates: dict[str, float] = {currency: 1.0}
    if not rates_path.exists():
        if "rates_file" in entry.model_fields_set:
            return MoneyConfig(currency, rates, str(rates_path)), [
                f"{path}: money.rates_file: {rates_path} not found; write a CSV with the columns "
                f"currency,rate (units of {currency} per one unit of the currency) there."
            ]
        return MoneyConfig(currency, rates, None), []
    try:
        table = pl.read_csv(rates_path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        return MoneyConfig(currency, rates, str(rates_path)), [
            f"{rates_path}: cannot be read as CSV ({exc}); write the columns currency,rate."
        ]
    columns = {c.strip().lower(): c for c in table.columns}
    if not {"currency", "rate"} <= set(columns):
        return MoneyConfig(currency, rates, str(rates_path)), [
            f"{rates_path}: needs the columns currency,rate; it has {table.columns}."
        ]
    errors = []
    for line, (code, rate) in enumerate(
        table.select(columns["currency"], columns["rate"]).iter_rows(), start=2
    ):
        code = (code or "").strip().upper()
        try:
            value = float(rate)
        except (TypeError, ValueError):
            value = float("nan")
        if not re.fullmatch(r"[A-Z]{3}", code) or not value > 0 or value == float("inf"):
            errors.append(
                f"{rates_path}: line {line}: ({code!r}, {rate!r}) is not a currency code and a "
                f"positive rate (units of {currency} per one unit)."
            )
            continue
        rates[code] = value
    return MoneyConfig(currency, rates, str(rates_path)), errors


def parse_source(path: Path, name: Any, definition: Any) -> tuple[SourceConfig | None, list[str]]:
    """One source's definition, and every mistake in it (all at once: one edit round fixes
    them). The source is None when a mistake leaves nothing to build on."""
    where = f"{path}: source '{name}'"
    if not isinstance(name, str) or not SOURCE_NAME_PATTERN.match(name):
        return None, [
            f"{where}: the name must be lower case letters, digits and underscores, starting "
            "with a letter (it becomes the asset name raw_<name>)."
        ]
    entry, errors = validate_collecting(SourceEntry, definition, where, _source_problem)
    if entry is None:
        return None, errors
    tags, tag_errors = _validate_tags(where, entry.kind, entry.columns)
    primary_key = entry.primary_key
    if entry.kind == "transactions" and primary_key is None:
        # A transaction source's key is its order id: rows sharing one are one order.
        primary_key = next((c for c, t in tags.items() if t == "order-id"), None)
    errors += tag_errors + _cross_key_errors(where, entry, tags, primary_key)
    file_format = entry.format or _format_from_name(entry.files[0])
    if file_format not in FORMATS:
        errors.append(f"{where}: {_unknown_format(file_format)}")
    if errors:
        # a key refused by its shape and by the other keys is said once
        return None, list(dict.fromkeys(errors))
    attributes = entry.attributes.items()
    settled = {
        "name": name,
        "config_file": str(path),
        "format": file_format,
        "primary_key": primary_key,
        "columns": tags,
        "attributes": {column: attribute.name for column, attribute in attributes},
        "attribute_aggregates": {
            attribute.name: attribute.aggregate for _, attribute in attributes
        },
    }
    given = {key: value for key, value in entry if key != "description"}
    return SourceConfig(**(given | settled)), []


def _cross_key_errors(
    where: str, entry: SourceEntry, tags: dict[str, str], primary_key: str | None
) -> list[str]:
    """What one key of a source says against another: the key, whose orders, the attributes,
    the formats and the order states against the tagged columns."""
    errors = [] if primary_key else [f"{where}: {_primary_key_problem(entry.kind)}"]
    if entry.kind == "transactions" and tags:
        errors.extend(_whose_orders_errors(where, tags, entry.customer_source))
    if entry.kind != "customers" and entry.attributes:
        errors.append(f"{where}: only customer sources can carry 'attributes'.")
    errors += [
        f"{where}: attribute column '{column}' is already mapped to a tag or is the primary "
        "key; list only untagged columns under 'attributes'."
        for column in entry.attributes
        if entry.kind == "customers" and (column in entry.columns or column == primary_key)
    ]
    errors += [
        f"{where}: formats.{column}: formats apply to columns tagged {' or '.join(TIME_TAGS)}; "
        f"'{column}' is " + (f"tagged {tags[column]}." if column in tags else "not tagged.")
        for column in entry.formats
        if tags and tags.get(column) not in TIME_TAGS
    ]
    if "exclude_statuses" in entry.model_fields_set and "status" not in tags.values():
        errors.append(
            f"{where}: exclude_statuses needs a column tagged 'status' (e.g. "
            "'Financial Status': status)."
        )
    return errors


def _whose_orders_errors(where: str, tags: dict[str, str], customer_source: Any) -> list[str]:
    """A transaction source maps the order tags and says whose each order is: by the buyer's
    contact, or by a customer key of a named customer source."""
    errors: list[str] = []
    missing = [t for t in REQUIRED_TRANSACTION_TAGS if t not in tags.values()]
    if missing:
        errors.append(f"{where}: a transaction source must map the tags {missing} to columns.")
    by_key = "customer-key" in tags.values()
    by_contact = any(t in IDENTIFYING_BUYER_TAGS for t in tags.values())
    if not by_key and not by_contact:
        errors.append(
            f"{where}: say whose each order is: map the buyer's contact ("
            + ", ".join(IDENTIFYING_BUYER_TAGS)
            + ") so each buyer becomes a customer record, or map 'customer-key' to the "
            "column holding the customer record's id."
        )
    if by_key and "customer-source" not in tags.values() and not customer_source:
        errors.append(
            f"{where}: say which customer source the orders' customer keys belong to: map a "
            "column to 'customer-source' or set customer_source: <source name>."
        )
    return errors


# SQL a ``where:`` condition may not hold: it reads the row it is given, nothing else.
_FORBIDDEN_SQL = (
    "Select",
    "Subquery",
    "Insert",
    "Update",
    "Delete",
    "Drop",
    "Create",
    "Command",
    "Union",
    "Join",
)


def where_problem(condition: str) -> str | None:
    """What keeps ``condition`` from being one read-only SQL condition (no statements, no
    subqueries), and the fix; None when it is one."""
    import sqlglot
    from sqlglot import exp

    if not condition.strip():
        return f"'where' must be an SQL condition as text, e.g. {WHERE_EXAMPLE}."
    try:
        parsed = sqlglot.parse_one(condition, into=exp.Condition)
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        return (
            f"where {condition!r} is not a valid SQL condition ({first}); quote column names "
            f"with spaces in double quotes and text in single quotes, e.g. {WHERE_EXAMPLE}."
        )
    forbidden = sorted(
        {node.key.upper() for node in parsed.walk() if type(node).__name__ in _FORBIDDEN_SQL}
    )
    if forbidden or ";" in condition:
        return (
            f"where {condition!r} must be one condition over the file's own columns (it holds "
            f"{', '.join(forbidden) or 'a statement separator'}); no subqueries, joins or "
            "statements."
        )
    return None


def where_columns(condition: str) -> list[str]:
    """The columns a ``where:`` condition reads."""
    import sqlglot
    from sqlglot import exp

    parsed = sqlglot.parse_one(condition, into=exp.Condition)
    return list(dict.fromkeys(column.name for column in parsed.find_all(exp.Column)))


def _validate_tags(
    where: str, kind: str, columns: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Column -> tag, and every unknown or doubled tag (all of them, not the first)."""
    vocabulary = CUSTOMER_TAGS if kind == "customers" else TRANSACTION_TAGS
    known = sorted(vocabulary) + ([f"{k}:<name>" for k in KEY_TAGS] if kind == "customers" else [])
    seen: dict[str, str] = {}
    errors: list[str] = []
    for column, tag in columns.items():
        tag = tag.strip()
        if ":" in tag or tag in KEY_TAGS:
            key_kind, _, key_name = tag.partition(":")
            if kind != "customers" or key_kind not in KEY_TAGS:
                errors.append(
                    f"{where}: column '{column}' has unknown tag '{tag}'; known tags: {known}."
                )
                continue
            key_name = key_name or _snake(column)
            if not KEY_NAME_PATTERN.match(key_name):
                errors.append(
                    f"{where}: column '{column}': key name '{key_name}' must be lower case "
                    f"letters, digits and underscores, e.g. {key_kind}:loyalty."
                )
                continue
            tag = f"{key_kind}:{key_name}"
        elif tag not in vocabulary:
            errors.append(
                f"{where}: column '{column}' has unknown tag '{tag}'"
                f"{suggestion(tag, list(vocabulary) + list(KEY_TAGS))}; known tags: {known}."
            )
            continue
        if tag in seen:
            errors.append(
                f"{where}: tag '{tag}' is mapped twice (columns '{seen[tag]}' and '{column}'); "
                "map each tag to one column."
            )
            continue
        seen[tag] = column
    return {column: tag for tag, column in seen.items()}, errors


def check_source_files(path: Path, source: SourceConfig, settings: Settings) -> list[str]:
    """Read the header of the first local file to catch missing columns and unreadable files."""

    where = f"{path}: source '{source.name}'"
    if any(pattern.startswith("s3://") for pattern in source.files):
        return []  # checked when the asset runs: listing S3 at load would slow every load
    files = expand_local_patterns(source.files, settings.data_dir)
    if not files:
        return []  # no files yet (e.g. before sample-data): the asset reports it when it runs
    first = files[0]
    try:
        header = read_header(first, source)
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        return [
            f"{where}: cannot read {first}: {exc}. Check the path and format "
            f"(format: {source.format}) or fix the file."
        ]
    needed = [source.primary_key, *source.columns, *source.attributes]
    missing = [column for column in dict.fromkeys(needed) if column not in header]
    errors = [
        f"{where}: column '{column}' is not in {first}{suggestion(column, header)}; the file has "
        f"{header}. Fix the name under sources.{source.name}."
        + (
            "primary_key"
            if column == source.primary_key
            else "attributes"
            if column in source.attributes
            else "columns"
        )
        for column in missing
    ]
    if source.where:
        errors += [
            f"{where}: where reads column '{column}', which is not in {first}"
            f"{suggestion(column, header)}; the file has {header}. Quote names with spaces or "
            'capitals in double quotes: "Financial Status".'
            for column in where_columns(source.where)
            if column not in header
        ]
    return errors


def read_header(file: str, source: SourceConfig) -> list[str]:
    if source.format == "parquet":
        return list(pl.read_parquet_schema(file))
    with open(file, "rb") as handle:
        first_line = handle.readline(1 << 20)
    text = first_line.decode(source.csv.encoding).lstrip("\ufeff").rstrip("\r\n")
    row = next(csv.reader([text], delimiter=source.csv.delimiter, quotechar=source.csv.quote), [])
    return [column.strip() for column in row]


def _format_from_name(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".parquet", ".pq")):
        return "parquet"
    if lowered.endswith((".csv", ".txt", ".tsv", ".csv.gz")) or lowered.endswith("*"):
        return "csv"
    return lowered.rsplit(".", 1)[-1]


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "key"
