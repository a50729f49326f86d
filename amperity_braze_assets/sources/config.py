"""The sources' configuration: what ``sources.yaml`` says of each source (its files, format,
tagged columns, filters, thresholds) and of money, checked with the file, the source and the fix.
Every mistake in a source is collected, so one edit round fixes them all."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from amperity_braze_assets.config_file import suggestion
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
SOURCE_KEYS = {
    "kind",
    "files",
    "format",
    "primary_key",
    "columns",
    "csv",
    "customer_source",
    "description",
    "attributes",
    "where",
    "formats",
    "max_reject_share",
    "max_row_drop",
    "phone_region",
    "exclude_statuses",
}
CSV_KEYS = {"delimiter", "encoding", "quote"}
FORMATS = ("csv", "parquet")
MONEY_KEYS = ("reporting_currency", "rates_file")
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


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","
    encoding: str = "utf-8"
    quote: str = '"'


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

    @property
    def asset_name(self) -> str:
        return f"raw_{self.name}"

    @property
    def rejects_asset_name(self) -> str:
        return f"raw_{self.name}_rejects"

    @property
    def lines_asset_name(self) -> str:
        return f"raw_{self.name}_lines"

    @property
    def buyers_asset_name(self) -> str:
        return f"raw_{self.name}_buyers"

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


def parse_money(path: Path, raw: Any, config_dir: Path) -> tuple[MoneyConfig, list[str]]:
    """``money: {reporting_currency: USD, rates_file: currency_rates.csv}``; the rates file
    (in the configuration folder) has the columns currency, rate."""
    if raw is None:
        return MoneyConfig(), []
    where = f"{path}: money"
    if not isinstance(raw, dict) or set(raw) - set(MONEY_KEYS):
        return MoneyConfig(), [
            f"{where}: expected a mapping with {', '.join(MONEY_KEYS)}, e.g. money: "
            "{reporting_currency: USD, rates_file: currency_rates.csv}."
        ]
    currency = str(raw.get("reporting_currency") or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        return MoneyConfig(), [
            f"{where}.reporting_currency: {raw.get('reporting_currency')!r} is not an ISO 4217 "
            "currency code; write three letters, e.g. reporting_currency: USD."
        ]
    rates_name = str(raw.get("rates_file") or DEFAULT_RATES_FILE)
    rates_path = config_dir / rates_name
    rates: dict[str, float] = {currency: 1.0}
    if not rates_path.exists():
        if "rates_file" in raw:
            return MoneyConfig(currency, rates, str(rates_path)), [
                f"{where}.rates_file: {rates_path} not found; write a CSV with the columns "
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
    if not isinstance(definition, dict):
        return None, [f"{where}: expected a mapping with kind, files, primary_key, columns."]
    errors: list[str] = [
        f"{where}: unknown key '{key}'{suggestion(key, SOURCE_KEYS)}; allowed: {sorted(SOURCE_KEYS)}."
        for key in sorted(set(definition) - SOURCE_KEYS, key=str)
    ]
    kind, kind_errors = _parse_kind(where, definition)
    files, file_format, file_errors = _parse_files(where, definition)
    columns, tags, column_errors = _parse_columns(where, kind, definition)
    primary_key, key_errors = _parse_primary_key(where, kind, definition, tags)
    customer_source = definition.get("customer_source")
    errors += kind_errors + file_errors + column_errors + key_errors
    if kind == "transactions" and tags:
        errors.extend(_whose_orders_errors(where, tags, customer_source))
    csv_options, csv_errors = _parse_csv_options(where, definition)
    attributes, aggregates, attribute_errors = _parse_attributes(
        where, kind, definition.get("attributes"), columns, primary_key
    )
    errors += csv_errors + attribute_errors
    condition = definition.get("where")
    if condition is not None:
        errors.extend(_check_where(where, condition))
    formats, format_errors = _parse_formats(where, definition.get("formats"), tags)
    shares, share_errors = _parse_shares(where, definition)
    phone_region, region_errors = _parse_phone_region(where, definition)
    exclude_statuses, status_errors = _parse_exclude_statuses(where, definition, tags)
    errors += format_errors + share_errors + region_errors + status_errors
    if errors:
        return None, errors
    return SourceConfig(
        name=name,
        kind=kind,
        files=tuple(files),
        format=file_format,
        primary_key=primary_key,
        columns=tags,
        csv=csv_options,
        customer_source=customer_source,
        attributes=attributes,
        attribute_aggregates=aggregates,
        config_file=str(path),
        where=condition.strip() if isinstance(condition, str) else None,
        formats=formats,
        max_reject_share=shares["max_reject_share"],
        max_row_drop=shares["max_row_drop"],
        phone_region=phone_region,
        exclude_statuses=exclude_statuses,
    ), []


def _parse_kind(where: str, definition: dict[Any, Any]) -> tuple[str, list[str]]:
    kind = definition.get("kind", "customers")
    if kind not in SOURCE_KINDS:
        # read on as a customer source so the rest of the definition is checked too
        return "customers", [f"{where}: kind '{kind}' is unknown; use one of {list(SOURCE_KINDS)}."]
    return kind, []


def _parse_files(where: str, definition: dict[Any, Any]) -> tuple[list[str], str, list[str]]:
    """``files:`` (one path or glob, or a list) and ``format:`` (default: from the first name)."""
    errors: list[str] = []
    files = definition.get("files")
    if isinstance(files, str):
        files = [files]
    if (
        not isinstance(files, list)
        or not files
        or not all(isinstance(f, str) and f.strip() for f in files)
    ):
        errors.append(
            f"{where}: 'files' must name one or more paths or globs (relative to "
            "AMPERITY_BRAZE_DATA_DIR, absolute, or s3://bucket/key), e.g. files: sources/pos/*.csv"
        )
        files = []
    file_format = definition.get("format") or (_format_from_name(files[0]) if files else "csv")
    if file_format not in FORMATS:
        errors.append(
            f"{where}: format '{file_format}' is unknown; set format: csv or format: parquet."
        )
    return files, file_format, errors


def _parse_columns(
    where: str, kind: str, definition: dict[Any, Any]
) -> tuple[dict[Any, Any], dict[str, str], list[str]]:
    """``columns:`` as written, and the column -> tag map once the tags are checked."""
    columns = definition.get("columns")
    if not isinstance(columns, dict) or not columns:
        return (
            {},
            {},
            [
                f"{where}: 'columns' must map source columns to semantic tags, e.g. "
                "columns: {EMAIL_ADDR: email}."
            ],
        )
    tags, tag_errors = _validate_tags(where, kind, columns)
    return columns, tags, tag_errors


def _parse_primary_key(
    where: str, kind: str, definition: dict[Any, Any], tags: dict[str, str]
) -> tuple[str, list[str]]:
    primary_key = definition.get("primary_key")
    if kind == "transactions" and primary_key is None:
        # A transaction source's key is its order id: rows sharing one are one order.
        primary_key = next((c for c, t in tags.items() if t == "order-id"), None)
    if not isinstance(primary_key, str) or not primary_key:
        return "", [
            f"{where}: 'primary_key' must name the column that identifies a record, "
            "e.g. primary_key: CUST_NO."
            + (" (or tag a column order-id)" if kind == "transactions" else "")
        ]
    return primary_key, []


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


def _parse_csv_options(where: str, definition: dict[Any, Any]) -> tuple[CsvOptions, list[str]]:
    if "csv" not in definition:
        return CsvOptions(), []
    raw_csv = definition["csv"] or {}
    if not isinstance(raw_csv, dict) or set(raw_csv) - CSV_KEYS:
        return CsvOptions(), [f"{where}: 'csv' accepts only {sorted(CSV_KEYS)}."]
    errors: list[str] = []
    csv_options = CsvOptions(**{k: str(v) for k, v in raw_csv.items()})
    if len(csv_options.delimiter) != 1 or len(csv_options.quote) != 1:
        errors.append(f"{where}: csv delimiter and quote must be single characters.")
    try:
        "".encode(csv_options.encoding)
    except LookupError:
        errors.append(
            f"{where}: encoding '{csv_options.encoding}' is unknown; use a Python codec "
            "name such as utf-8, windows-1252 (cp1252) or latin-1."
        )
    return csv_options, errors


def _parse_shares(where: str, definition: dict[Any, Any]) -> tuple[dict[str, float], list[str]]:
    """``max_reject_share`` and ``max_row_drop``: shares between 0 and 1."""
    shares: dict[str, float] = {}
    errors: list[str] = []
    for key, default in (
        ("max_reject_share", DEFAULT_MAX_REJECT_SHARE),
        ("max_row_drop", DEFAULT_MAX_ROW_DROP),
    ):
        value = definition.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            errors.append(f"{where}: {key} must be a share between 0 and 1, e.g. {key}: {default}.")
            value = default
        shares[key] = float(value)
    return shares, errors


def _parse_phone_region(where: str, definition: dict[Any, Any]) -> tuple[str | None, list[str]]:
    phone_region = definition.get("phone_region")
    if phone_region is None:
        return None, []
    phone_region = str(phone_region).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", phone_region):
        return phone_region, [
            f"{where}: phone_region {definition.get('phone_region')!r} must be an ISO "
            "3166-1 alpha-2 country code, e.g. phone_region: GB."
        ]
    return phone_region, []


def _parse_exclude_statuses(
    where: str, definition: dict[Any, Any], tags: dict[str, str]
) -> tuple[tuple[str, ...], list[str]]:
    """Order states that are not spend, lower case; they need a column tagged ``status``."""
    exclude_statuses = definition.get("exclude_statuses", list(DEFAULT_EXCLUDE_STATUSES))
    if not isinstance(exclude_statuses, list) or not all(
        isinstance(v, str) for v in exclude_statuses
    ):
        return DEFAULT_EXCLUDE_STATUSES, [
            f"{where}: exclude_statuses must be a list of order states, e.g. "
            "exclude_statuses: [refunded, voided, pending]."
        ]
    errors: list[str] = []
    if "exclude_statuses" in definition and "status" not in tags.values():
        errors.append(
            f"{where}: exclude_statuses needs a column tagged 'status' (e.g. "
            "'Financial Status': status)."
        )
    return tuple(v.strip().lower() for v in exclude_statuses), errors


def _parse_attributes(
    where: str, kind: str, raw: Any, columns: dict[Any, Any], primary_key: str
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """``attributes:`` column -> name, or column -> {name: ..., aggregate: ...}."""
    if raw is None:
        return {}, {}, []
    if not isinstance(raw, dict):
        return (
            {},
            {},
            [
                f"{where}: 'attributes' must map untagged columns to customer 360 column names, "
                "e.g. attributes: {tier: loyalty_tier} or {'Total Spent': {name: total_spent, "
                "aggregate: max}}."
            ],
        )
    if kind != "customers" and raw:
        return {}, {}, [f"{where}: only customer sources can carry 'attributes'."]
    attributes: dict[str, str] = {}
    aggregates: dict[str, str] = {}
    errors: list[str] = []
    for column, spec in raw.items():
        aggregate = "most_recent"
        if isinstance(spec, dict):
            unknown = set(spec) - {"name", "aggregate"}
            if unknown:
                errors.append(
                    f"{where}: attribute '{column}' has unknown key(s) {sorted(unknown)}; "
                    "use name and aggregate."
                )
            aggregate = str(spec.get("aggregate", "most_recent"))
            spec = spec.get("name", _snake(str(column)))
        if column in columns or column == primary_key:
            errors.append(
                f"{where}: attribute column '{column}' is already mapped to a tag or is the "
                "primary key; list only untagged columns under 'attributes'."
            )
        if not isinstance(spec, str) or not KEY_NAME_PATTERN.match(spec):
            errors.append(
                f"{where}: attribute name {spec!r} for column '{column}' must be lower case "
                "letters, digits and underscores (it becomes a customer_360 column)."
            )
            continue
        if aggregate not in AGGREGATES:
            errors.append(
                f"{where}: attribute '{column}': aggregate '{aggregate}' is unknown"
                f"{suggestion(aggregate, AGGREGATES)}; use one of {', '.join(AGGREGATES)}."
            )
        attributes[str(column)] = spec
        aggregates[spec] = aggregate
    return attributes, aggregates, errors


def _parse_formats(
    where: str, raw: Any, tags: dict[str, str]
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """``formats:`` original column -> a strftime format or a list of them, for timestamp
    columns (order-time, updated-at)."""
    if raw is None:
        return {}, []
    example = "formats: {'Created at': '%d.%m.%Y %H:%M'}"
    if not isinstance(raw, dict):
        return {}, [f"{where}: 'formats' must map a column to strftime formats, e.g. {example}."]
    formats: dict[str, tuple[str, ...]] = {}
    errors: list[str] = []
    for column, value in raw.items():
        values = [value] if isinstance(value, str) else value
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and "%" in v for v in values)
        ):
            errors.append(
                f"{where}: formats.{column} must be a strftime format or a list of them, "
                f"e.g. {example}."
            )
            continue
        if tags and tags.get(str(column)) not in TIME_TAGS:
            errors.append(
                f"{where}: formats.{column}: formats apply to columns tagged "
                f"{' or '.join(TIME_TAGS)}; '{column}' is "
                + (f"tagged {tags[str(column)]}." if str(column) in tags else "not tagged.")
            )
            continue
        formats[str(column)] = tuple(values)
    return formats, errors


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


def _check_where(where: str, condition: Any) -> list[str]:
    """A ``where:`` must be one read-only SQL condition (no statements, no subqueries)."""
    import sqlglot
    from sqlglot import exp

    example = "where: \"\\\"Financial Status\\\" IN ('paid', 'partially_refunded')\""
    if not isinstance(condition, str) or not condition.strip():
        return [f"{where}: 'where' must be an SQL condition as text, e.g. {example}."]
    try:
        parsed = sqlglot.parse_one(condition, into=exp.Condition)
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        return [
            f"{where}: where {condition!r} is not a valid SQL condition ({first}); quote column "
            f"names with spaces in double quotes and text in single quotes, e.g. {example}."
        ]
    forbidden = sorted(
        {node.key.upper() for node in parsed.walk() if type(node).__name__ in _FORBIDDEN_SQL}
    )
    if forbidden or ";" in condition:
        return [
            f"{where}: where {condition!r} must be one condition over the file's own columns "
            f"(it holds {', '.join(forbidden) or 'a statement separator'}); no subqueries, "
            "joins or statements."
        ]
    return []


def where_columns(condition: str) -> list[str]:
    """The columns a ``where:`` condition reads."""
    import sqlglot
    from sqlglot import exp

    parsed = sqlglot.parse_one(condition, into=exp.Condition)
    return list(dict.fromkeys(column.name for column in parsed.find_all(exp.Column)))


def _validate_tags(
    where: str, kind: str, columns: dict[Any, Any]
) -> tuple[dict[str, str], list[str]]:
    """Column -> tag, and every unknown or doubled tag (all of them, not the first)."""
    vocabulary = CUSTOMER_TAGS if kind == "customers" else TRANSACTION_TAGS
    known = sorted(vocabulary) + ([f"{k}:<name>" for k in KEY_TAGS] if kind == "customers" else [])
    seen: dict[str, str] = {}
    errors: list[str] = []
    for column, tag in columns.items():
        if not isinstance(tag, str):
            errors.append(
                f"{where}: column '{column}' maps to {tag!r}; use a tag name (text), e.g. email."
            )
            continue
        tag = tag.strip()
        if ":" in tag or tag in KEY_TAGS:
            key_kind, _, key_name = tag.partition(":")
            if kind != "customers" or key_kind not in KEY_TAGS:
                errors.append(
                    f"{where}: column '{column}' has unknown tag '{tag}'; known tags: {known}."
                )
                continue
            key_name = key_name or _snake(str(column))
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
        seen[tag] = str(column)
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
