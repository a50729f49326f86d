"""Load and validate the attribute mapping, the segments and the SQL audiences.

Three inputs, all under the configuration folder:

- ``attributes.yaml``: the identifier, the standard Braze fields and the custom attributes, each
  fed by ``<table>.<column>`` of ``customer_360``, ``customer_transactions``,
  ``customer_engagement`` or ``audiences`` (extra columns returned by SQL audiences); options per
  audience (attribute name, exclusions, control group).
- ``segments.yaml``: audiences without SQL, as conditions on columns.
- ``audiences/*.sql``: one audience per file (named after the file), a single read-only query.

Everything is checked here, at definitions load, with the file, the attribute and the fix: the
columns of every table are known statically (``table_schemas``), so an unknown column or a SQL
query that does not compile fails before any run. Errors are collected and reported together.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, NamedTuple, TypeVar

import polars as pl
import sqlglot
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from sqlglot import exp
from sqlglot.lineage import lineage

from amperity_braze_assets import braze_fields
from amperity_braze_assets.activation import nested_config
from amperity_braze_assets.activation.nested_config import NESTED_TYPES, NestedSpec
from amperity_braze_assets.activation.subscriptions import ConsentSpec, parse_subscriptions
from amperity_braze_assets.config_file import (
    ConfigError,
    load_yaml,
    refusals,
    suggestion,
    unknown_keys_problem,
)
from amperity_braze_assets.currents.engagement import ENGAGEMENT_SCHEMA
from amperity_braze_assets.sources.tags import CUSTOMER_TAGS

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig


ATTRIBUTES_FILE = "attributes.yaml"
SEGMENTS_FILE = "segments.yaml"
AUDIENCES_DIR = "audiences"
# The mapping written as one SELECT whose output columns are the Braze fields (instead of
# attributes.yaml's standard/custom), and the name its result goes by inside the builder.
ATTRIBUTES_SQL_FILE = "attributes.sql"
ATTRIBUTES_QUERY = "attributes_sql"
# The table the second stage of audiences reads (seed step 2b).
BRAZE_ATTRIBUTES = "braze_customer_attributes"

CUSTOMER_360 = "customer_360"
CUSTOMER_TRANSACTIONS = "customer_transactions"
CUSTOMER_ENGAGEMENT = "customer_engagement"
ORDER_LINES = "order_lines"
AUDIENCES = "audiences"
QUERY_TABLES = (CUSTOMER_360, CUSTOMER_TRANSACTIONS, CUSTOMER_ENGAGEMENT, ORDER_LINES)
SOURCE_TABLES = (*QUERY_TABLES, AUDIENCES)
PERSON_ID = "amperity_id"

UTC_DATETIME = pl.Datetime("us", "UTC")

# The columns of the tables built elsewhere, in one place. customer_360's depend on the sources
# configuration and are derived in ``customer_360_schema``.
# One row per line item of the counted orders (``customer360.lines``), with its buyer.
ORDER_LINES_SCHEMA: dict[str, pl.DataType] = {
    PERSON_ID: pl.String(),
    "source": pl.String(),
    "order_id": pl.String(),
    "line_number": pl.Int64(),
    "sku": pl.String(),
    "product_name": pl.String(),
    "quantity": pl.Float64(),
    "price": pl.Float64(),
    "order_time": UTC_DATETIME,
}
CUSTOMER_TRANSACTIONS_SCHEMA: dict[str, pl.DataType] = {
    PERSON_ID: pl.String(),
    "lifetime_frequency": pl.Int64(),
    "lifetime_monetary": pl.Float64(),
    "l12m_frequency": pl.Int64(),
    "l12m_monetary": pl.Float64(),
    "first_order_at": UTC_DATETIME,
    "latest_order_at": UTC_DATETIME,
    "average_order_value": pl.Float64(),
    "days_since_last_order": pl.Int64(),
    "channels": pl.List(pl.String),
    "multi_channel": pl.Boolean(),
    "one_and_done": pl.Boolean(),
    "recency_decile": pl.Int8(),
    "frequency_decile": pl.Int8(),
    "monetary_decile": pl.Int8(),
    "rfm_score": pl.Float64(),
}
# The Currents rollup's own schema: one definition, where the table is built.
CUSTOMER_ENGAGEMENT_SCHEMA: dict[str, pl.DataType] = dict(ENGAGEMENT_SCHEMA)
CUSTOMER_360_SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "source_count": pl.Int64(),
    "record_count": pl.Int64(),
    "sources": pl.List(pl.String),
    "first_seen_at": UTC_DATETIME,
    "last_updated_at": UTC_DATETIME,
}
CUSTOMER_360_TYPED_TAGS: dict[str, pl.DataType] = {"birthdate": pl.Date()}

CUSTOM_TYPES = ("Boolean", "Date", "Datetime", "Decimal", "Float", "Integer", "String", "Varchar")
ARRAY_TYPE = "Array"  # a list of strings, e.g. customer_transactions.channels
TYPE_PATTERN = re.compile(r"^(?P<name>[A-Za-z]+)\s*(?:\(\s*(?P<arg>[0-9]+)\s*\))?$")
OnInvalid = Literal["null_field", "hold_row"]
DEFAULT_MAX_REJECT_SHARE = 0.05
AUDIENCE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

COMPARISONS = {"=": "eq", "==": "eq", "!=": "ne", "<>": "ne", "<": "lt", ">": "gt", "<=": "le"}
COMPARISONS[">="] = "ge"
LEAF_OPERATORS = {
    *COMPARISONS,
    "eq",
    "ne",
    "lt",
    "gt",
    "le",
    "ge",
    "between",
    "in",
    "not_in",
    "is_null",
    "is_not_null",
    "contains",
    "within_last",
    "not_within_last",
}
COMBINATORS = {"all": "and", "and": "and", "any": "or", "or": "or", "not": "not"}
DURATION_PATTERN = re.compile(r"^\s*(?P<n>[0-9]+)\s*(?P<unit>days?|weeks?|months?|years?)\s*$")
DAYS_PER_UNIT = {"day": 1, "week": 7, "month": 30, "year": 365}


@dataclass(frozen=True)
class Condition:
    """A node of a segment condition: ``and``/``or``/``not`` over children, or a leaf test of
    one column (qualified ``table.column``) with an operator and a value."""

    op: str
    column: str | None = None
    value: Any = None
    children: tuple[Condition, ...] = ()

    def columns(self) -> set[str]:
        found = {self.column} if self.column else set()
        for child in self.children:
            found |= child.columns()
        return found


@dataclass(frozen=True)
class Bucket:
    """Values up to ``upper`` (inclusive; None: no upper bound) get ``label``."""

    upper: float | None
    label: str


@dataclass(frozen=True)
class Case:
    condition: Condition
    value: Any


@dataclass(frozen=True)
class AttributeSpec:
    """One Braze field: where its value comes from and what it must look like.

    ``braze_type`` is the standard field's kind (``email``, ``date``, ...) for standard fields and
    one of ``CUSTOM_TYPES`` or ``Array`` for custom attributes.
    """

    name: str
    standard: bool
    braze_type: str
    source: str | None = None  # "table.column"
    value: Any = None  # a constant, when there is no source
    length: int | None = None  # Varchar(n)
    scale: int | None = None  # Decimal(scale)
    buckets: tuple[Bucket, ...] = ()
    cases: tuple[Case, ...] = ()
    default: Any = None
    on_invalid: str = "null_field"
    nested: NestedSpec | None = None  # Object and ArrayOfObjects

    def columns(self) -> set[str]:
        found = {self.source} if self.source else set()
        for case in self.cases:
            found |= case.condition.columns()
        if self.nested is not None:
            found |= self.nested.columns()
        return found


@dataclass(frozen=True)
class AudienceSpec:
    name: str
    kind: str  # sql | segment
    attribute: str
    sql: str | None = None
    sql_file: Path | None = None
    condition: Condition | None = None
    exclude: tuple[str, ...] = ()
    exclude_ids: Path | None = None
    control_share: float = 0.0
    # extra columns a SQL audience returns besides amperity_id, with their types
    extra_columns: dict[str, pl.DataType] = field(default_factory=dict)
    # second stage: reads braze_customer_attributes (members by its identifier column)
    reads_attributes: bool = False


@dataclass(frozen=True)
class AttributeConfig:
    config_file: Path
    identifier: str = "external_id"
    identifier_source: str = f"{CUSTOMER_360}.{PERSON_ID}"
    on_invalid: str = "null_field"
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE
    allow_consent_fields: bool = False
    audience_array: str | None = None
    standard: tuple[AttributeSpec, ...] = ()
    custom: tuple[AttributeSpec, ...] = ()
    # in dependency order: an audience comes after those it excludes
    audiences: tuple[AudienceSpec, ...] = ()
    schemas: dict[str, dict[str, pl.DataType]] = field(default_factory=dict)
    # attributes.sql: the query whose columns are the fields (their sources are its columns)
    attributes_sql: str | None = None
    attributes_sql_file: Path | None = None
    # Audiences over braze_customer_attributes, computed after it (dependency order); their
    # flags are not columns of braze_customer_attributes but of braze_attribute_audiences.
    attribute_audiences: tuple[AudienceSpec, ...] = ()
    # ``alias: {name: <table.column>, label: <literal or table.column>}``: the alias_name and
    # alias_label columns, for destinations that send by user_alias (or alias_fallback).
    alias_name_source: str | None = None
    alias_label_source: str | None = None
    alias_label: str | None = None
    subscriptions: tuple[ConsentSpec, ...] = ()

    @property
    def alias_columns(self) -> tuple[str, ...]:
        return ("alias_name", "alias_label") if self.alias_name_source else ()

    @property
    def consent_columns(self) -> tuple[str, ...]:
        """email_subscribe / push_subscribe / subscription_groups, once each, in that order."""
        return tuple(dict.fromkeys(s.field for s in self.subscriptions))

    @property
    def fields(self) -> tuple[AttributeSpec, ...]:
        return (*self.standard, *self.custom)

    def audience(self, name: str) -> AudienceSpec:
        return next(a for a in self.audiences if a.name == name)

    @property
    def output_columns(self) -> tuple[str, ...]:
        """The columns of ``braze_customer_attributes``, in order."""
        return (
            self.identifier,
            *self.alias_columns,
            *(f.name for f in self.fields),
            *(a.attribute for a in self.audiences),
            *([self.audience_array] if self.audience_array else []),
            *self.consent_columns,
        )

    def referenced_columns(self) -> set[str]:
        """Every ``table.column`` the attributes and segments read."""
        found = {self.identifier_source}
        found |= {c for c in (self.alias_name_source, self.alias_label_source) if c}
        for consent in self.subscriptions:
            found |= consent.columns()
        for spec in self.fields:
            found |= spec.columns()
        for audience in self.audiences:
            if audience.condition is not None:
                found |= audience.condition.columns()
        return found

    @property
    def tables_used(self) -> set[str]:
        """The upstream tables the assets need (``audiences`` is ours, not upstream)."""
        used = {c.split(".", 1)[0] for c in self.referenced_columns()} - {
            AUDIENCES,
            ATTRIBUTES_QUERY,
        }
        used |= {f.nested.from_table for f in self.fields if f.nested and f.nested.from_table}
        for audience in self.audiences:
            if audience.sql is not None:
                used |= sql_tables(audience.sql)
        if self.attributes_sql is not None:
            used |= sql_tables(self.attributes_sql)
        return used | {CUSTOMER_360}

    @property
    def uses_engagement(self) -> bool:
        return CUSTOMER_ENGAGEMENT in self.tables_used


# -- table schemas -----------------------------------------------------------------------------
def customer_360_schema(project: ProjectConfig) -> dict[str, pl.DataType]:
    """customer_360's columns: tag columns, ``<group>_source`` per survivorship field group, the
    summary columns and the source ``attributes``, as ``build_customer_360`` makes them."""
    rules = project.survivorship_rules  # parsed once, at load
    schema: dict[str, pl.DataType] = {PERSON_ID: pl.String()}
    for group, columns in rules.field_groups.items():
        for column in columns:
            schema[column] = CUSTOMER_360_TYPED_TAGS.get(column, pl.String())
        schema[f"{group}_source"] = pl.String()
    for column in CUSTOMER_TAGS.values():
        if column != "updated_at":
            schema.setdefault(column, CUSTOMER_360_TYPED_TAGS.get(column, pl.String()))
    schema |= CUSTOMER_360_SUMMARY_SCHEMA
    for source in project.customer_sources:
        for attribute in source.attributes.values():
            schema[attribute] = pl.String()
    return schema


def table_schemas(project: ProjectConfig) -> dict[str, dict[str, pl.DataType]]:
    """The columns of every table a query or an attribute may read."""
    return {
        CUSTOMER_360: customer_360_schema(project),
        CUSTOMER_TRANSACTIONS: dict(CUSTOMER_TRANSACTIONS_SCHEMA),
        CUSTOMER_ENGAGEMENT: dict(CUSTOMER_ENGAGEMENT_SCHEMA),
        ORDER_LINES: dict(ORDER_LINES_SCHEMA),
    }


# -- read-only SQL ------------------------------------------------------------------------------
# Audience queries are parsed with sqlglot in DuckDB's dialect, the nearest to polars' SQL among
# sqlglot's (block comments nest, strings take no backslash escapes, "..." quotes names). The
# guard allows, rather than denies: one query (SELECT, or set operations and CTEs of SELECTs)
# whose every FROM/JOIN names a registered table or one of its own CTEs. Table functions
# (read_csv, read_parquet...), file paths, DDL/DML and a second statement are all refused.
SQL_DIALECT = "duckdb"
# sqlglot logs a warning before it reads an unknown statement as a generic Command; the guard
# refuses those anyway, so the warning is noise in a user's log.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def _parse_sql(sql: str) -> tuple[exp.Expression | None, str | None]:
    """The single statement of ``sql``, or the reason it cannot be accepted."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=SQL_DIALECT) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, (
            f"it does not parse as one SQL query ({reason[:200]}); write a single SELECT "
            "(or WITH ... SELECT) in plain SQL"
        )
    if not statements:
        return None, "the query is empty; write one SELECT returning amperity_id"
    if len(statements) > 1:
        return (
            None,
            "it holds more than one statement; keep exactly one SELECT (or WITH ... SELECT)",
        )
    return statements[0], None


def _statement_kind(statement: exp.Expression) -> str:
    if isinstance(statement, exp.Command):
        kind = str(statement.this).upper()
    else:
        kind = statement.key.upper()
    return f"WITH ... {kind}" if statement.args.get("with") else kind


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return node.sql_name().lower()


def read_only_sql_problem(sql: str, tables: tuple[str, ...] = QUERY_TABLES) -> str | None:
    """Why a query is refused as an audience (with the fix), or None for a single read-only query
    over ``tables``."""
    statement, problem = _parse_sql(sql)
    if statement is None:
        return problem
    if not isinstance(statement, exp.Query) or isinstance(statement, exp.Values):
        return (
            f"it starts with {_statement_kind(statement)}; an audience is a read-only query: "
            "only a single SELECT (or WITH ... SELECT) is allowed"
        )
    if statement.find(exp.DDL, exp.DML, exp.Command, exp.Into):
        return (
            "it uses INTO or a statement inside the query; an audience is a read-only query over "
            "the registered tables: remove the write"
        )
    registered = ", ".join(tables)
    for node in statement.find_all(exp.Func):
        name = _function_name(node)
        if isinstance(node, exp.ReadCSV | exp.ReadParquet) or name.startswith(
            ("read_", "scan_", "glob")
        ):
            return (
                f"it calls {name}(), which reads files; audiences may only read the registered "
                f"tables {registered}"
            )
    cte_names = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            name = _function_name(table.this) if isinstance(table.this, exp.Func) else "a function"
            return (
                f"it reads from {name}() instead of a table; audiences may only read the "
                f"registered tables {registered}"
            )
        if table.args.get("db") or table.args.get("catalog"):
            return (
                f"it reads {table.sql(dialect=SQL_DIALECT)}, a qualified name; name a registered "
                f"table alone: {registered}"
            )
        if table.name not in tables and table.name.lower() not in cte_names:
            return (
                f"it reads {table.name!r}, which is not a registered table; audiences may only "
                f"read {registered} (and the query's own WITH names)"
            )
    return None


def sql_tables(sql: str) -> set[str]:
    """The registered tables a query reads (none when it does not parse)."""
    statement, _ = _parse_sql(sql)
    if statement is None:
        return set()
    return {t.name for t in statement.find_all(exp.Table) if t.name in QUERY_TABLES}


# The plan is checked too: what polars will run, whatever its parser made of the text. A file
# scan shows as ``Csv SCAN [path]``, ``Parquet SCAN``...; a registered frame as ``DF [...]``.
FILE_SCAN = re.compile(r"(?m)^\s*(?:[A-Za-z]+ )?SCAN\b")


def plan_reads_files(frame: pl.LazyFrame) -> bool:
    """Whether a query's plan scans anything but the registered in-memory tables (a file scan
    shows as ``Csv SCAN [path]``, ``Parquet SCAN``...; a registered frame as ``DF [...]``)."""
    return bool(FILE_SCAN.search(frame.explain(optimized=False)))


def sql_context(tables: dict[str, pl.LazyFrame | pl.DataFrame]) -> pl.SQLContext:
    """A SQL context that sees exactly ``tables`` (no globals, no files)."""
    context = pl.SQLContext(register_globals=False)
    for name, frame in tables.items():
        context.register(name, frame.lazy())
    return context


# -- loading -----------------------------------------------------------------------------------
class AttributeSettings(BaseModel):
    """The top-level settings of ``attributes.yaml``; the mappings under ``standard``,
    ``custom`` and ``audiences`` are parsed by ``_Loader``, which knows the table schemas."""

    model_config = ConfigDict(extra="forbid", strict=True)

    identifier: Literal["external_id", "braze_id"] = "external_id"
    identifier_source: Any = None
    on_invalid: OnInvalid = "null_field"
    max_reject_share: float = Field(DEFAULT_MAX_REJECT_SHARE, ge=0, le=1)
    allow_consent_fields: bool = False
    audience_array: Any = None
    standard: Any = None
    custom: Any = None
    audiences: Any = None
    alias: Any = None
    subscriptions: Any = None


TOP_KEYS = set(AttributeSettings.model_fields)

# The settings AttributeConfig takes as they are.
PASSED_SETTINGS = {"identifier", "on_invalid", "max_reject_share", "allow_consent_fields"}

# What is wrong with a setting pydantic refused, and the fix, in this file's words.
SETTING_PROBLEMS = {
    "identifier": lambda value: (
        f"identifier {value!r} is unknown; use external_id (the amperity_id) or braze_id (with "
        "identifier_source naming the column that holds it)."
    ),
    "on_invalid": lambda value: (
        f"on_invalid {value!r} is unknown; use null_field (send the row without the bad value) "
        "or hold_row (send nothing for that person until it is fixed)."
    ),
    "max_reject_share": lambda value: (
        f"max_reject_share {value!r} must be a share between 0 and 1, e.g. "
        f"{DEFAULT_MAX_REJECT_SHARE}."
    ),
    "allow_consent_fields": lambda value: "allow_consent_fields must be true or false.",
}


def _settings(
    path: Path, raw: dict[Any, Any], errors: list[str]
) -> tuple[AttributeSettings, dict[str, str]]:
    """The valid top-level settings, each invalid one left at its default, and the problem of
    each invalid one by key (unknown keys are reported into ``errors`` directly)."""
    unknown = list(set(raw) - TOP_KEYS)
    if unknown:
        errors.append(f"{path}: {unknown_keys_problem(unknown, TOP_KEYS, 'top-level key(s)')}")
    known = {k: v for k, v in raw.items() if k in TOP_KEYS}
    try:
        return AttributeSettings.model_validate(known), {}
    except ValidationError as exc:
        refused = {str(e["loc"][0]): e["input"] for e in exc.errors()}
    problems = {key: f"{path}: {SETTING_PROBLEMS[key](value)}" for key, value in refused.items()}
    valid = {k: v for k, v in known.items() if k not in refused}
    return AttributeSettings.model_validate(valid), problems


def _identifier_source(path: Path, settings: AttributeSettings, loader: _Loader) -> str:
    """The ``table.column`` holding each person's identifier (checked)."""
    default_source = f"{CUSTOMER_360}.{PERSON_ID}"
    if settings.identifier_source is not None:
        checked = loader.column(
            settings.identifier_source, "identifier_source", allow_audiences=False
        )
        return checked or default_source
    # An explicit ``identifier_source: null`` is refused as missing too.
    if settings.identifier == "braze_id" or "identifier_source" in settings.model_fields_set:
        loader.errors.append(
            f"{path}: identifier braze_id needs identifier_source: <table>.<column> naming the "
            "column that holds each person's braze_id, e.g. customer_360.braze_id (a source "
            "attribute)."
        )
    return default_source


def _alias(path: Path, raw: Any, loader: _Loader) -> dict[str, str | None]:
    """``alias: {name: <table.column>, label: <literal or table.column>}``, checked: the
    AttributeConfig fields it sets (none when absent)."""
    if raw is None:
        return {}
    example = "alias: {name: customer_360.loyalty_number, label: loyalty_id}"
    if not isinstance(raw, dict) or set(raw) != {"name", "label"}:
        loader.error(f"alias must map name (a column) and label (a word or a column): {example}.")
        return {}
    name = loader.column(raw["name"], "alias.name", allow_audiences=False)
    label = raw["label"]
    if not isinstance(label, str) or not label.strip():
        loader.error(
            f"alias.label must be a word (the alias_label, e.g. loyalty_id) or a column: {example}."
        )
        return {}
    table = label.partition(".")[0]
    if table in QUERY_TABLES:
        column = loader.column(label, "alias.label", allow_audiences=False)
        return {"alias_name_source": name, "alias_label_source": column} if name and column else {}
    return {"alias_name_source": name, "alias_label": label.strip()} if name else {}


def load_attribute_config(project: ProjectConfig) -> AttributeConfig:
    """Read and validate ``attributes.yaml``, ``segments.yaml`` and ``audiences/*.sql``.

    Without ``attributes.yaml`` the mapping is empty (identifier only), so a project that does not
    use Braze attributes still loads.
    """
    path = project.config_dir / ATTRIBUTES_FILE
    schemas = table_schemas(project)
    raw = load_yaml(path) if path.exists() else {}
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping with keys {sorted(TOP_KEYS)}, e.g.\n"
            "standard:\n  email: customer_360.email\ncustom:\n  loyalty_tier:\n"
            "    source: customer_360.loyalty_tier\n    type: Varchar(16)"
        )
    errors: list[str] = []
    loader = _Loader(path, schemas, errors)
    settings, problems = _settings(path, raw, errors)
    # In the order of the file's keys: the identifier, then its source, then the rest.
    if "identifier" in problems:
        errors.append(problems.pop("identifier"))
    names: dict[str, str] = {}  # Braze name -> where it is defined, for duplicates
    sql_file = project.config_dir / ATTRIBUTES_SQL_FILE
    sql = sql_file.read_text(encoding="utf-8") if sql_file.exists() else None
    if sql is not None:
        errors.extend(problems.values())
        identifier_source, standard, custom = _sql_mapping(sql_file, sql, raw, settings, loader)
        for spec in (*standard, *custom):
            _claim(names, spec.name, "a column", sql_file, errors)
    else:
        identifier_source = _identifier_source(path, settings, loader)
        errors.extend(problems.values())
        standard = _section_fields(loader, settings, "standard", names)
        custom = _section_fields(loader, settings, "custom", names)
    schemas[BRAZE_ATTRIBUTES] = attributes_table_schema(settings.identifier, standard, custom)
    audiences, late = _load_audiences(project, raw.get("audiences"), loader, errors)
    for audience in (*audiences, *late):
        _claim(names, audience.attribute, f"audience '{audience.name}'", path, errors)
    audience_array = settings.audience_array
    if audience_array is not None:
        problem = _custom_name_problem(audience_array)
        if problem:
            errors.append(f"{path}: audience_array: {problem}.")
        else:
            _claim(names, audience_array, "audience_array", path, errors)
    _check_audience_columns(path, custom, audiences, errors)
    alias = _alias(path, settings.alias, loader)
    subscriptions = parse_subscriptions(
        path, settings.subscriptions, settings.allow_consent_fields, loader.column, errors
    )
    for name in dict.fromkeys(s.field for s in subscriptions):
        _claim(names, name, "subscriptions", path, errors)
    if errors:
        raise ConfigError("Invalid attribute configuration:\n- " + "\n- ".join(errors))
    return AttributeConfig(
        config_file=path,
        **settings.model_dump(include=PASSED_SETTINGS),
        identifier_source=identifier_source,
        audience_array=audience_array,
        standard=tuple(standard),
        custom=tuple(custom),
        audiences=tuple(audiences),
        **alias,
        subscriptions=subscriptions,
        attributes_sql=sql,
        attributes_sql_file=sql_file if sql is not None else None,
        attribute_audiences=tuple(late),
        schemas={
            **schemas,
            AUDIENCES: {c: t for a in audiences for c, t in a.extra_columns.items()},
        },
    )


def _mapping(loader: _Loader, raw: Any, problem: str) -> dict:
    """A section that must be a mapping: itself (empty when absent), or, reported, nothing."""
    section = raw or {}
    if isinstance(section, dict):
        return section
    loader.error(problem)
    return {}


# What each section of fields must be, and the fix.
SECTION_PROBLEMS = {
    "standard": "'standard' must map Braze standard fields to columns, e.g. "
    "standard: {email: customer_360.email}.",
    "custom": "'custom' must map custom attribute names to a source and a type, e.g. "
    "custom: {l12m_frequency: {source: customer_transactions.l12m_frequency, type: Integer}}.",
}


def _section_fields(
    loader: _Loader, settings: AttributeSettings, section: str, names: dict[str, str]
) -> list[AttributeSpec]:
    """The fields under ``standard`` or ``custom``, each Braze name claimed once."""
    parse = loader.standard_field if section == "standard" else loader.custom_attribute
    raw = _mapping(loader, getattr(settings, section), SECTION_PROBLEMS[section])
    specs: list[AttributeSpec] = []
    for name, definition in raw.items():
        spec = parse(name, definition, settings)
        if spec is not None:
            _claim(names, spec.name, section, loader.path, loader.errors)
            specs.append(spec)
    return specs


def _check_audience_columns(
    path: Path, custom: list[AttributeSpec], audiences: list[AudienceSpec], errors: list[str]
) -> None:
    """Each extra column of the SQL audiences comes from one query, and every custom attribute
    reading ``audiences.<column>`` names one of them."""
    extra_owner: dict[str, str] = {}
    for audience in audiences:
        for column in audience.extra_columns:
            if column in extra_owner:
                errors.append(
                    f"{audience.sql_file}: returns column '{column}', which audience "
                    f"'{extra_owner[column]}' also returns; an extra column feeds one attribute, "
                    "so rename it in one of the queries."
                )
            extra_owner[column] = audience.name
    for spec in custom:
        if not (spec.source and spec.source.startswith(f"{AUDIENCES}.")):
            continue
        column = spec.source.split(".", 1)[1]
        if column not in extra_owner:
            errors.append(
                f"{path}: custom attribute '{spec.name}': source audiences.{column} is not a "
                f"column any SQL audience returns{suggestion(column, extra_owner)}; use a column the "
                f"audience queries return: {sorted(extra_owner, key=str) or 'no extra columns'}."
            )


def _claim(names: dict[str, str], name: str, what: str, path: Path, errors: list[str]) -> None:
    if name in names:
        errors.append(
            f"{path}: Braze field '{name}' is defined twice ({names[name]} and {what}); each "
            "Braze field must have one source: rename or remove one."
        )
    else:
        names[name] = what


def _custom_name_problem(name: Any) -> str | None:
    if not isinstance(name, str):
        return f"custom attribute name {name!r} must be text"
    return braze_fields.custom_attribute_name_problem(name)


# -- entries of the mapping ---------------------------------------------------------------------
# pydantic checks the shape of an entry: its keys, the ones it needs, their kinds and choices.
# What the values name (columns of the tables and their types, the segment language) is checked
# by ``_Loader``, which knows the table schemas. Validators raise ValueError with the problem and
# its fix; ``config_file.refusals`` words pydantic's own refusals through each entry's
# ``*_problem``.
KNOWN_TYPES = (
    f"{', '.join(CUSTOM_TYPES)}, {ARRAY_TYPE}, {', '.join(NESTED_TYPES)} (Varchar(n) with n <= "
    f"{braze_fields.MAX_STRING_CHARS}, Decimal(scale))"
)
DECIMAL_SCALE_PROBLEM = "a Decimal scale is 0 to 12 digits, e.g. Decimal(2)."
BUCKETS_EXAMPLE = '[{up_to: 30, label: "0-30"}, {up_to: 90, label: "31-90"}, {label: "91+"}]'
CASES_PROBLEM = (
    "cases must be a list of {when: <condition>, value: <value>}, checked in order; the first "
    "that matches wins and default applies otherwise."
)


EntryModel = TypeVar("EntryModel", bound=BaseModel)


class DeclaredType(NamedTuple):
    """A custom attribute's ``type``: one of ``CUSTOM_TYPES`` or ``Array``, and the number in
    brackets (Varchar's length, Decimal's scale) when there is one."""

    name: str
    argument: int | None


class _Entry(BaseModel):
    """What every field under ``standard`` and ``custom`` has: a column (``source``) or a
    constant (``value``, which may be null), and its own on_invalid."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    NO_ORIGIN: ClassVar[str] = "give a source (<table>.<column>) or a constant value."

    source: Any = None  # "table.column", checked against the schemas by _Loader.column
    value: Any = None
    on_invalid: OnInvalid | None = None  # None: the file's on_invalid

    def origins(self) -> list[str]:
        """Where the entry's value comes from: ``source`` when set, ``value`` when given."""
        return [
            key
            for key in ("source", "value")
            if key in self.model_fields_set and (key == "value" or self.source is not None)
        ]

    def inconsistency(self) -> str | None:
        given = self.origins()
        if "cases" in given and len(given) > 1:
            return "give cases, or a source, or a value: only one of them."
        if len(given) > 1:
            return "give either source or value, not both."
        return None if given else self.NO_ORIGIN

    @model_validator(mode="after")
    def _consistent(self) -> _Entry:
        problem = self.inconsistency()
        if problem:
            raise ValueError(problem)
        return self


class StandardFieldEntry(_Entry):
    """A field under ``standard`` (``email: customer_360.email`` is short for ``{source: ...}``)."""


class BucketEntry(BaseModel):
    """A range of ``buckets``: values up to ``up_to`` (none: every larger value) get ``label``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: StrictInt | StrictFloat | None = None
    label: Annotated[str, BeforeValidator(str)]


class CaseEntry(BaseModel):
    """One of ``cases``: the condition (parsed by ``_Loader.condition``) and the value it gives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: Any
    value: Any


class CustomAttributeEntry(_Entry):
    """A custom attribute: its type and its value's origin (a column, a constant or cases), the
    column's numbers turned into labels by ``buckets``, ``default`` when nothing matches."""

    NO_ORIGIN: ClassVar[str] = "give a source (<table>.<column>), a constant value, or cases."

    type: DeclaredType
    scale: Annotated[int, Field(strict=True, ge=0, le=12)] | None = None
    buckets: tuple[BucketEntry, ...] = ()
    cases: tuple[CaseEntry, ...] = ()
    default: Any = None
    description: Any = None
    # Object and ArrayOfObjects (``nested_config``): checked there, with the table schemas.
    fields: Any = None
    id_key: Any = None
    from_: Any = Field(None, alias="from")
    order_by: Any = None
    limit: Any = None

    def nested_keys(self) -> dict[str, Any]:
        """The keys set that say where a value comes from, by their names in the file."""
        names = {"from_": "from"}
        return {names.get(k, k): getattr(self, k) for k in self.model_fields_set}

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, raw: Any) -> DeclaredType:
        if not isinstance(raw, str):
            raise ValueError(f"declare a type: one of {KNOWN_TYPES}.")
        match = TYPE_PATTERN.match(raw.strip())
        canonical = {t.lower(): t for t in (*CUSTOM_TYPES, ARRAY_TYPE, *NESTED_TYPES)}
        name = canonical.get(match.group("name").lower()) if match else None
        if match is None or name is None:
            word = match.group("name") if match else raw
            raise ValueError(
                f"unknown type {raw!r}{suggestion(word, canonical.values())}; use one of "
                f"{KNOWN_TYPES}."
            )
        argument = int(match.group("arg")) if match.group("arg") else None
        if name == "Varchar" and not 1 <= (argument or 0) <= braze_fields.MAX_STRING_CHARS:
            raise ValueError(
                f"Varchar needs a length from 1 to {braze_fields.MAX_STRING_CHARS} (Braze's limit "
                "for strings), e.g. Varchar(32)."
            )
        if name == "Decimal" and argument is not None and argument > 12:
            raise ValueError(DECIMAL_SCALE_PROBLEM)
        if name not in ("Varchar", "Decimal") and argument is not None:
            raise ValueError(f"type {name} takes no argument; write {name}.")
        return DeclaredType(name, argument)

    @field_validator("buckets")
    @classmethod
    def _ranges(cls, buckets: tuple[BucketEntry, ...]) -> tuple[BucketEntry, ...]:
        if not buckets:
            raise ValueError(f"buckets must be a list of ranges, e.g. {BUCKETS_EXAMPLE}.")
        previous = -math.inf
        for position, bucket in enumerate(buckets, 1):
            if bucket.up_to is None and position < len(buckets):
                raise ValueError(
                    "only the last bucket may omit up_to (it takes every larger value)."
                )
            if bucket.up_to is not None and bucket.up_to <= previous:
                raise ValueError(
                    f"bucket {position}: up_to must be a number larger than the previous "
                    f"bucket's; got {bucket.up_to!r}."
                )
            if not 1 <= len(bucket.label) <= braze_fields.MAX_STRING_CHARS:
                raise ValueError(
                    f"bucket {position}: the label must be 1 to "
                    f"{braze_fields.MAX_STRING_CHARS} characters."
                )
            previous = previous if bucket.up_to is None else bucket.up_to
        return buckets

    @field_validator("cases")
    @classmethod
    def _some_cases(cls, cases: tuple[CaseEntry, ...]) -> tuple[CaseEntry, ...]:
        if not cases:
            raise ValueError(CASES_PROBLEM)
        return cases

    def origins(self) -> list[str]:
        return [*super().origins(), *(["cases"] if "cases" in self.model_fields_set else [])]

    def inconsistency(self) -> str | None:
        if self.type.name in NESTED_TYPES:
            return nested_config.entry_problem(self.type.name, self.nested_keys())
        stray = [k for k in nested_config.NESTED_KEYS if k in self.nested_keys()]
        if stray:
            return f"{', '.join(stray)} apply to {' and '.join(NESTED_TYPES)} only."
        if "scale" in self.model_fields_set and self.type.name != "Decimal":
            return "scale applies to Decimal only."
        problem = super().inconsistency()
        if problem is None and self.buckets and self.type.name not in ("String", "Varchar"):
            return (
                "buckets turn values into labels, so the type must be String or Varchar(n), "
                f"not {self.type.name}."
            )
        return problem

    @property
    def length(self) -> int | None:
        """Varchar's length."""
        return self.type.argument if self.type.name == "Varchar" else None

    @property
    def decimal_scale(self) -> int | None:
        """Decimal's scale: ``Decimal(n)``, else ``scale:``, else 2."""
        if self.type.name != "Decimal":
            return None
        if self.type.argument is not None:
            return self.type.argument
        return 2 if self.scale is None else self.scale


def _on_invalid_problem(value: Any) -> str:
    return f"on_invalid {value!r} is unknown; use null_field or hold_row."


def _custom_entry_problem(error: ErrorDetails) -> str:
    """What pydantic refused in a custom attribute's entry, and the fix."""
    key, *inner = error["loc"] or ("",)
    if key == "type":  # missing: the validator words every other refusal
        return f"declare a type: one of {KNOWN_TYPES}."
    if key == "scale":
        return DECIMAL_SCALE_PROBLEM
    if key == "on_invalid":
        return _on_invalid_problem(error["input"])
    if key == "buckets" and not inner:
        return f"buckets must be a list of ranges, e.g. {BUCKETS_EXAMPLE}."
    if key == "buckets" and inner[1:2] == ["up_to"]:
        return (
            f"bucket {int(inner[0]) + 1}: up_to must be a number larger than the previous "
            f"bucket's; got {error['input']!r}."
        )
    if key == "buckets":
        return (
            f"bucket {int(inner[0]) + 1} must be {{up_to: <number>, label: <text>}}; e.g. "
            f"{BUCKETS_EXAMPLE}."
        )
    if key == "cases":
        return (
            f"case {int(inner[0]) + 1} must have exactly when and value."
            if inner
            else CASES_PROBLEM
        )
    return (
        "expected a mapping with source and type, e.g. "
        "{source: customer_transactions.l12m_frequency, type: Integer}."
    )


class _Loader:
    """Parses the parts of the mapping, appending messages to ``errors`` instead of raising."""

    def __init__(
        self, path: Path, schemas: dict[str, dict[str, pl.DataType]], errors: list[str]
    ) -> None:
        self.path = path
        self.schemas = schemas
        self.errors = errors

    def error(self, message: str) -> None:
        self.errors.append(f"{self.path}: {message}")

    def column(self, ref: Any, where: str, allow_audiences: bool = True) -> str | None:
        """``table.column`` (or a bare column that exactly one table has), checked; None if bad."""
        if not isinstance(ref, str) or not ref.strip():
            self.error(f"{where}: source must be <table>.<column>, e.g. customer_360.email.")
            return None
        ref = ref.strip()
        table, _, column = ref.partition(".")
        if not column:
            owners = [t for t in QUERY_TABLES if ref in self.schemas[t]]
            if len(owners) == 1:
                return f"{owners[0]}.{ref}"
            if len(owners) > 1:
                self.error(
                    f"{where}: column '{ref}' is in {owners}; qualify it, e.g. {owners[0]}.{ref}."
                )
                return None
            known = [c for t in QUERY_TABLES for c in self.schemas[t]]
            self.error(
                f"{where}: unknown column '{ref}'{suggestion(ref, known)}; write <table>.<column> "
                f"with a table among {list(SOURCE_TABLES)}."
            )
            return None
        if table == AUDIENCES and allow_audiences:
            return ref  # checked once the SQL audiences are compiled
        if table not in self.schemas:
            tables = list(SOURCE_TABLES if allow_audiences else QUERY_TABLES)
            self.error(
                f"{where}: unknown table '{table}'{suggestion(table, tables)}; use one of {tables}."
            )
            return None
        if column not in self.schemas[table]:
            self.error(
                f"{where}: table {table} has no column '{column}'"
                f"{suggestion(column, self.schemas[table])}; use one of its columns "
                f"{sorted(self.schemas[table])}."
            )
            return None
        return ref

    def entry(
        self,
        model: type[EntryModel],
        where: str,
        raw: Any,
        problem: Callable[[ErrorDetails], str],
        allowed: Iterable[str] | None = None,
        what: str = "key(s)",
        **validation: Any,
    ) -> EntryModel | None:
        """``raw`` as ``model``, or None with every refusal reported."""
        try:
            return model.model_validate(raw, **validation)
        except ValidationError as exc:
            for message in refusals(exc, problem, allowed, what):
                self.error(f"{where}: {message}")
            return None

    def _entry_source(self, where: str, entry: _Entry) -> tuple[bool, str | None]:
        """(whether the entry's source is usable, the checked ``table.column`` or None)."""
        if entry.source is None:
            return True, None
        column = self.column(entry.source, where)
        return column is not None, column

    def standard_field(
        self, name: Any, definition: Any, settings: AttributeSettings
    ) -> AttributeSpec | None:
        name = str(name)
        where = f"standard field '{name}'"
        if name in braze_fields.IDENTIFIER_FIELDS:
            self.error(
                f"{where}: the identifier is set with identifier: external_id | braze_id (and "
                "identifier_source), not under standard."
            )
            return None
        if name not in braze_fields.STANDARD_FIELDS:
            shadow = braze_fields.shadowed_standard_field(name)
            hint = f"; use `{shadow}`" if shadow else suggestion(name, braze_fields.STANDARD_FIELDS)
            self.error(
                f"{where}: not a Braze standard field{hint}. Standard fields: "
                f"{', '.join(braze_fields.STANDARD_FIELDS)}; put other attributes under custom."
            )
            return None
        if name in braze_fields.CONSENT_FIELDS and not settings.allow_consent_fields:
            self.error(
                f"{where}: Braze holds consent, so {name} is left to Braze; remove it, or set "
                "allow_consent_fields: true if this project really is the source of consent."
            )
            return None
        shape = (
            f"expected <table>.<column> or a mapping with {sorted(StandardFieldEntry.model_fields)}"
            f", e.g. {name}: customer_360.{name}."
        )
        entry = self.entry(
            StandardFieldEntry,
            where,
            {"source": definition} if isinstance(definition, str) else definition,
            lambda error: (
                _on_invalid_problem(error["input"]) if error["loc"] == ("on_invalid",) else shape
            ),
        )
        usable, source = (False, None) if entry is None else self._entry_source(where, entry)
        if entry is None or not usable:
            return None
        return AttributeSpec(
            name=name,
            standard=True,
            braze_type=braze_fields.STANDARD_FIELDS[name].kind,
            source=source,
            value=entry.value,
            on_invalid=entry.on_invalid or settings.on_invalid,
        )

    def custom_attribute(
        self, name: Any, definition: Any, settings: AttributeSettings
    ) -> AttributeSpec | None:
        problem = _custom_name_problem(name)
        if problem:
            self.error(f"custom attribute {name!r}: {problem}.")
            return None
        where = f"custom attribute '{name}'"
        entry = self.entry(
            CustomAttributeEntry,
            where,
            definition,
            _custom_entry_problem,
            allowed=[*(k for k in CustomAttributeEntry.model_fields if k != "from_"), "from"],
        )
        if entry is not None and entry.type.name in NESTED_TYPES:
            return self._nested_attribute(name, where, entry, settings)
        usable, source = (False, None) if entry is None else self._entry_source(where, entry)
        if entry is None or not usable:
            return None
        cases = self._cases(where, entry.cases)
        if cases is None or (entry.buckets and not self._numeric(where, source)):
            return None
        return AttributeSpec(
            name=name,
            standard=False,
            braze_type=entry.type.name,
            source=source,
            value=entry.value,
            length=entry.length,
            scale=entry.decimal_scale,
            buckets=tuple(
                Bucket(None if b.up_to is None else float(b.up_to), b.label) for b in entry.buckets
            ),
            cases=cases,
            default=entry.default,
            on_invalid=entry.on_invalid or settings.on_invalid,
        )

    def _nested_attribute(
        self, name: str, where: str, entry: CustomAttributeEntry, settings: AttributeSettings
    ) -> AttributeSpec | None:
        problem = nested_config.name_problem(name)
        if problem:
            self.error(f"{where}: {problem}.")
            return None
        nested = nested_config.nested_spec(
            entry.type.name, entry.nested_keys(), self.schemas, self.errors, f"{self.path}: {where}"
        )
        if nested is None:
            return None
        return AttributeSpec(
            name=name,
            standard=False,
            braze_type=entry.type.name,
            on_invalid=entry.on_invalid or settings.on_invalid,
            nested=nested,
        )

    def _numeric(self, where: str, source: str | None) -> bool:
        """Whether buckets can range over ``source`` (a column of a known table is numeric)."""
        table, _, column = (source or "").partition(".")
        if table not in self.schemas:
            return True
        dtype = self.schemas[table][column]
        if not dtype.is_numeric():
            self.error(f"{where}: buckets need a numeric source; {source} is {dtype}.")
        return dtype.is_numeric()

    def _cases(self, where: str, entries: tuple[CaseEntry, ...]) -> tuple[Case, ...] | None:
        cases: list[Case] = []
        for position, entry in enumerate(entries, 1):
            condition = self.condition(f"{where}: case {position}", entry.when)
            if condition is None:
                return None
            cases.append(Case(condition, entry.value))
        return tuple(cases)

    def condition(self, where: str, raw: Any) -> Condition | None:
        """Parse a segment condition: ``{all: [...]}``, ``{any: [...]}``, ``{not: ...}`` or
        ``{<column>: {<operator>: <value>, ...}}``; several keys in one mapping are ANDed."""
        if not isinstance(raw, dict) or not raw:
            self.error(
                f"{where}: write the condition as a mapping such as {{l12m_monetary: {{'>=': 200}}}} or "
                "{all: [<condition>, ...]}; got " + repr(raw) + "."
            )
            return None
        parts: list[Condition] = []
        for key, value in raw.items():
            if key in COMBINATORS:
                op = COMBINATORS[key]
                if op == "not":
                    child = self.condition(where, value)
                    if child is None:
                        return None
                    parts.append(Condition("not", children=(child,)))
                    continue
                if not isinstance(value, list) or not value:
                    self.error(f"{where}: {key} takes a list of conditions.")
                    return None
                children = [self.condition(where, item) for item in value]
                if any(child is None for child in children):
                    return None
                parts.append(Condition(op, children=tuple(children)))  # type: ignore[arg-type]
                continue
            column = self.column(key, where, allow_audiences=False)
            if column is None:
                return None
            leaves = self._leaves(where, column, value)
            if leaves is None:
                return None
            parts.extend(leaves)
        return parts[0] if len(parts) == 1 else Condition("and", children=tuple(parts))

    def _leaves(self, where: str, column: str, raw: Any) -> list[Condition] | None:
        table, _, name = column.partition(".")
        dtype = self.schemas[table][name]
        if not isinstance(raw, dict):
            raw = {"=": raw}  # `loyalty_tier: Gold` reads as equality
        leaves: list[Condition] = []
        for operator, value in raw.items():
            if operator not in LEAF_OPERATORS:
                self.error(
                    f"{where}: {column}: unknown operator {operator!r}"
                    f"{suggestion(str(operator), LEAF_OPERATORS)}; use one of "
                    f"{sorted(LEAF_OPERATORS)}."
                )
                return None
            op = COMPARISONS.get(operator, operator)
            here = f"{where}: {column} {operator}"
            if op in ("is_null", "is_not_null"):
                if value is not True and value is not False:
                    self.error(f"{here}: write {operator}: true.")
                    return None
                negate = (op == "is_null") != value
                leaves.append(Condition("is_not_null" if negate else "is_null", column))
                continue
            if op in ("within_last", "not_within_last"):
                if not dtype.is_temporal():
                    self.error(
                        f"{here}: relative dates need a date or time column; {column} is {dtype}."
                    )
                    return None
                match = DURATION_PATTERN.match(str(value))
                if not match:
                    self.error(
                        f"{here}: write a duration such as '90 days', '6 weeks', '12 months' or '1 year'."
                    )
                    return None
                unit = match.group("unit").rstrip("s")
                days = int(match.group("n")) * DAYS_PER_UNIT[unit]
                leaves.append(Condition(op, column, dt.timedelta(days=days)))
                continue
            if op == "contains":
                if not (dtype == pl.String or isinstance(dtype, pl.List)):
                    self.error(
                        f"{here}: contains needs a text or list column; {column} is {dtype}."
                    )
                    return None
                if not isinstance(value, str):
                    self.error(f"{here}: contains takes a text value.")
                    return None
                leaves.append(Condition(op, column, value))
                continue
            if op in ("in", "not_in", "between"):
                if not isinstance(value, list) or (op == "between" and len(value) != 2):
                    shape = "[low, high]" if op == "between" else "a list of values"
                    self.error(f"{here}: takes {shape}.")
                    return None
                literals = [self._literal(here, dtype, item) for item in value]
                if any(item is _BAD for item in literals):
                    return None
                leaves.append(Condition(op, column, tuple(literals)))
                continue
            literal = self._literal(here, dtype, value)
            if literal is _BAD:
                return None
            leaves.append(Condition(op, column, literal))
        return leaves

    def _literal(self, where: str, dtype: pl.DataType, value: Any) -> Any:
        """A comparison value as the column's type; ``_BAD`` (with an error) when it can't be."""
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            if isinstance(value, dt.datetime | dt.date):
                return value
            try:
                parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                self.error(
                    f"{where}: {value!r} is not an ISO date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ."
                )
                return _BAD
            if dtype == pl.Date:
                return parsed.date()
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        if dtype.is_numeric():
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.error(
                    f"{where}: {value!r} is not a number, and the column is {dtype}; use a number."
                )
                return _BAD
            return value
        if dtype == pl.Boolean:
            if not isinstance(value, bool):
                self.error(
                    f"{where}: {value!r} is not true or false, and the column is Boolean; use true or false."
                )
                return _BAD
            return value
        if isinstance(dtype, pl.List):
            self.error(f"{where}: a list column supports contains and is_null only.")
            return _BAD
        return str(value) if isinstance(value, int | float) else value


_BAD = object()


def _load_audiences(
    project: ProjectConfig, raw_options: Any, loader: _Loader, errors: list[str]
) -> tuple[list[AudienceSpec], list[AudienceSpec]]:
    """The SQL audiences (``audiences/*.sql`` with their options from ``attributes.yaml``) and
    the segments (``segments.yaml``), checked, each after those it excludes: those over the
    customer tables, then those over ``braze_customer_attributes`` (the second stage)."""
    path = loader.path
    options = _audience_options(path, raw_options, errors)
    found = _sql_audience_entries(project.config_dir, loader, options)
    found |= _segment_entries(project.config_dir / SEGMENTS_FILE, loader, found, options, errors)
    for name in options:
        errors.append(
            f"{path}: audiences: '{name}' has options but no {AUDIENCES_DIR}/{name}.sql and no "
            f"segment of that name{suggestion(name, found)}."
        )
    _mark_stages(found, loader.schemas, errors)
    specs: dict[str, AudienceSpec] = {}
    for name, entry in found.items():
        spec = _audience_spec(name, entry, loader.schemas, errors)
        if spec is not None:
            specs[name] = spec
    return _split_stages(path, _in_exclusion_order(path, specs, found, errors), errors)


def _audience_options(path: Path, raw_options: Any, errors: list[str]) -> dict[str, Any]:
    """``audiences:`` of ``attributes.yaml``: options by SQL audience name."""
    if raw_options is None:
        return {}
    if not isinstance(raw_options, dict):
        errors.append(
            f"{path}: 'audiences' must map SQL audience names (file names without .sql) to "
            f"options {sorted(AUDIENCE_OPTION_KEYS)}."
        )
        return {}
    return dict(raw_options)


def _sql_audience_entries(
    config_dir: Path, loader: _Loader, options: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """One entry per ``<name>.sql`` with its options (taken out of ``options``), checked."""
    sql_dir = config_dir / AUDIENCES_DIR
    found: dict[str, dict[str, Any]] = {}
    for sql_file in sorted(sql_dir.glob("*.sql")) if sql_dir.is_dir() else []:
        name = sql_file.stem
        if not AUDIENCE_NAME_PATTERN.match(name):
            loader.errors.append(
                f"{sql_file}: the audience name '{name}' (the file name) must be lower case "
                "letters, digits and underscores, starting with a letter; rename the file."
            )
            continue
        entry_options = loader.entry(
            AudienceOptions,
            f"audiences.{name} ({sql_file})",
            options.pop(name, None) or {},
            lambda error: (
                f"expected a mapping of options {sorted(AUDIENCE_OPTION_KEYS)}, e.g. "
                "{control_share: 0.1}."
            ),
            allowed=AUDIENCE_OPTION_KEYS,
            what="option(s)",
            context={"name": name, "config_dir": config_dir},
        )
        if entry_options is not None:
            found[name] = {"kind": "sql", "file": sql_file, "options": entry_options}
    return found


class SegmentsFile(BaseModel):
    """``segments.yaml``: one key, ``segments``, mapping each segment's name to its entry."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    segments: dict[Any, Any]


def _segment_entries(
    segments_path: Path,
    loader: _Loader,
    sql_audiences: dict[str, dict[str, Any]],
    options: dict[str, Any],
    errors: list[str],
) -> dict[str, dict[str, Any]]:
    """One entry per segment of ``segments.yaml``, its options checked and its condition
    parsed."""
    raw_segments = load_yaml(segments_path) if segments_path.exists() else None
    if raw_segments is None:
        return {}
    try:
        segments = SegmentsFile.model_validate(raw_segments).segments
    except ValidationError:
        errors.append(
            f"{segments_path}: expected a top-level 'segments:' mapping of segment name to "
            "{where: <condition>, ...options}."
        )
        return {}
    segment_loader = _Loader(segments_path, loader.schemas, errors)
    found: dict[str, dict[str, Any]] = {}
    for name, definition in segments.items():
        where = f"{segments_path}: segment '{name}'"
        if not isinstance(name, str) or not AUDIENCE_NAME_PATTERN.match(name):
            errors.append(
                f"{where}: the name must be lower case letters, digits and underscores, "
                "starting with a letter."
            )
            continue
        if name in sql_audiences:
            errors.append(
                f"{where}: an audience named '{name}' already exists "
                f"({sql_audiences[name]['file']}); give the segment another name."
            )
            continue
        if name in options:
            errors.append(
                f"{where}: its options belong in {SEGMENTS_FILE} with the segment, not "
                f"under audiences in {ATTRIBUTES_FILE}."
            )
            options.pop(name)
        entry = segment_loader.entry(
            SegmentEntry,
            f"segment '{name}'",
            definition,
            lambda error: "give its condition under where:.",
            allowed=SegmentEntry.model_fields,
            context={"name": name, "config_dir": segments_path.parent},
        )
        condition = (
            None if entry is None else segment_loader.condition(f"segment '{name}'", entry.where)
        )
        if condition is not None:
            found[name] = {"kind": "segment", "condition": condition, "options": entry}
    return found


def _in_exclusion_order(
    path: Path,
    specs: dict[str, AudienceSpec],
    found: dict[str, dict[str, Any]],
    errors: list[str],
) -> list[AudienceSpec]:
    """The audiences, each after those it excludes; unknown and circular exclusions reported."""
    for spec in specs.values():
        for other in spec.exclude:
            if other not in found:
                errors.append(
                    f"{_where_audience(path, spec)}: exclude names unknown audience '{other}'"
                    f"{suggestion(other, found)}; use one of {sorted(found, key=str)}."
                )
    sorter = graphlib.TopologicalSorter(
        {name: [o for o in spec.exclude if o in specs] for name, spec in specs.items()}
    )
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        errors.append(
            f"{path}: audience exclusions form a cycle ({cycle}); an audience cannot, through "
            "others, exclude itself. Remove one of the excludes."
        )
        order = list(specs)
    return [specs[name] for name in order]


def _where_audience(path: Path, spec: AudienceSpec) -> str:
    return (
        f"{spec.sql_file}"
        if spec.kind == "sql"
        else f"{path.parent / SEGMENTS_FILE}: segment '{spec.name}'"
    )


class AudienceOptions(BaseModel):
    """The options of one audience (under ``audiences:`` for a SQL audience, beside ``where:``
    for a segment). Validated with ``context={"name": ..., "config_dir": ...}``; each refusal's
    message names the fix. Fields in the order their problems are reported."""

    model_config = ConfigDict(extra="forbid", strict=True)

    attribute: str | None = None  # None: audience_<name>
    exclude: tuple[str, ...] = ()
    exclude_ids: Path | None = None  # resolved against the config folder
    control_share: float = 0.0
    description: Any = None

    @field_validator("attribute", mode="before")
    @classmethod
    def _attribute(cls, value: Any) -> Any:
        problem = _custom_name_problem(value)
        if problem:
            raise ValueError(f"attribute: {problem}.")
        return value

    @field_validator("exclude", mode="before")
    @classmethod
    def _exclude(cls, value: Any, info: ValidationInfo) -> Any:
        exclude = [value] if isinstance(value, str) else value or []
        if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
            raise ValueError("exclude must list audience names, e.g. exclude: [vip].")
        if info.context["name"] in exclude:
            raise ValueError("an audience cannot exclude itself.")
        return tuple(exclude)

    @field_validator("exclude_ids", mode="before")
    @classmethod
    def _exclude_ids(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        path = Path(str(value))
        path = path if path.is_absolute() else info.context["config_dir"] / path
        if path.suffix not in (".csv", ".txt") or not path.is_file():
            raise ValueError(
                f"exclude_ids {value!r} must be an existing .csv (with an amperity_id column) "
                "or .txt (one id a line) file, relative to the config folder."
            )
        return path

    @field_validator("control_share", mode="before")
    @classmethod
    def _control_share(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise ValueError(
                f"control_share {value!r} must be a share from 0 to below 1, e.g. 0.1 to hold "
                "out a tenth of the members."
            )
        return float(value)


class SegmentEntry(AudienceOptions):
    """A segment of ``segments.yaml``: its condition under ``where``, and its options."""

    where: Any


AUDIENCE_OPTION_KEYS = set(AudienceOptions.model_fields)


def _audience_spec(
    name: str,
    entry: dict[str, Any],
    schemas: dict[str, dict[str, pl.DataType]],
    errors: list[str],
) -> AudienceSpec | None:
    options: AudienceOptions = entry["options"]
    sql = None
    extra: dict[str, pl.DataType] | None = {}
    late = entry.get("reads_attributes", False)
    if entry.get("refused"):
        return None
    if entry["kind"] == "sql":
        sql = entry["file"].read_text(encoding="utf-8")
        if late:  # members by the table's identifier, its first column
            key = next(iter(schemas[BRAZE_ATTRIBUTES]))
            extra = _compile_sql(entry["file"], sql, schemas, errors, key, (BRAZE_ATTRIBUTES,))
            extra = _no_late_extras(entry["file"], key, extra, errors)
        else:
            extra = _compile_sql(entry["file"], sql, schemas, errors)
        if extra is None:
            return None
    return AudienceSpec(
        name=name,
        kind=entry["kind"],
        attribute=options.attribute or f"audience_{name}",
        sql=sql,
        sql_file=entry.get("file"),
        condition=entry.get("condition"),
        exclude=options.exclude,
        exclude_ids=options.exclude_ids,
        control_share=options.control_share,
        extra_columns=extra,
        reads_attributes=late,
    )


def _query_schema(
    sql_file: Path,
    sql: str,
    schemas: dict[str, dict[str, pl.DataType]],
    errors: list[str],
    tables: tuple[str, ...] = QUERY_TABLES,
) -> dict[str, pl.DataType] | None:
    """Check a query is read-only over ``tables`` and compiles against empty tables of the known
    schemas; return its output columns and their types."""
    problem = read_only_sql_problem(sql, tables)
    if problem:
        errors.append(f"{sql_file}: refused: {problem}.")
        return None
    empty = {t: pl.LazyFrame(schema=schemas[t]) for t in tables}
    try:
        compiled = sql_context(empty).execute(sql, eager=False)
        if plan_reads_files(compiled):
            errors.append(
                f"{sql_file}: refused: the query reads files; queries may only read the "
                f"registered tables {', '.join(tables)}."
            )
            return None
        return dict(compiled.collect_schema())
    except Exception as exc:  # polars raises several types for SQL mistakes
        errors.append(
            f"{sql_file}: the query does not run against {', '.join(tables)}: "
            f"{str(exc).splitlines()[0]}. Fix the query (tables and columns are listed in the "
            "README)."
        )
        return None


def _compile_sql(
    sql_file: Path,
    sql: str,
    schemas: dict[str, dict[str, pl.DataType]],
    errors: list[str],
    key: str = PERSON_ID,
    tables: tuple[str, ...] = QUERY_TABLES,
) -> dict[str, pl.DataType] | None:
    """Check an audience query (``_query_schema``) and that it returns its members' ``key``;
    return its extra columns (all but the key) and their types."""
    schema = _query_schema(sql_file, sql, schemas, errors, tables)
    if schema is None:
        return None
    if key not in schema:
        errors.append(
            f"{sql_file}: the query must return an {key} column (the members); it returns "
            f"{list(schema)}."
        )
        return None
    extra = {c: t for c, t in schema.items() if c != key}
    # Extra columns feed attributes in the first stage only; the others refuse any.
    for column in extra if key == PERSON_ID else ():
        problem = _custom_name_problem(column)
        if problem:
            errors.append(f"{sql_file}: extra column {column!r}: {problem}; alias it in the query.")
            return None
    return extra


# -- the second stage: audiences over braze_customer_attributes ---------------------------------
def _stage_tables(entry: dict[str, Any]) -> set[str]:
    """The tables an audience entry reads: its query's, or its condition's columns' tables."""
    if entry["kind"] == "sql":
        statement, _ = _parse_sql(entry["file"].read_text(encoding="utf-8"))
        return set() if statement is None else {t.name for t in statement.find_all(exp.Table)}
    return {column.split(".", 1)[0] for column in entry["condition"].columns()}


def _mark_stages(
    found: dict[str, dict[str, Any]], schemas: dict[str, dict[str, pl.DataType]], errors: list[str]
) -> None:
    """Mark each audience reading braze_customer_attributes as second stage (refusing one that
    reads the customer tables too), and add the first stage's flags to that table's schema: a
    second-stage query may read them, as they are columns of it."""
    for name, entry in found.items():
        tables = _stage_tables(entry)
        entry["reads_attributes"] = BRAZE_ATTRIBUTES in tables
        earlier = sorted(tables & set(SOURCE_TABLES))
        if entry["reads_attributes"] and earlier:
            where = entry.get("file") or f"{SEGMENTS_FILE}: segment '{name}'"
            errors.append(
                f"{where}: reads {BRAZE_ATTRIBUTES} and {', '.join(earlier)}: a cycle, since "
                f"{BRAZE_ATTRIBUTES} is built from {', '.join(earlier)} and the audiences over "
                f"them. Read only {BRAZE_ATTRIBUTES} (its fields hold what you need), or only the "
                "customer tables."
            )
            entry["refused"] = True
    for name, entry in found.items():
        if not entry["reads_attributes"]:
            flag = entry["options"].attribute or f"audience_{name}"
            schemas[BRAZE_ATTRIBUTES][flag] = pl.Boolean()


def _no_late_extras(
    sql_file: Path, key: str, extra: dict[str, pl.DataType] | None, errors: list[str]
) -> dict[str, pl.DataType] | None:
    """A second-stage query returns its members only: an extra column could feed no attribute
    (braze_customer_attributes is built before it)."""
    if extra:
        errors.append(
            f"{sql_file}: returns {sorted(extra)} besides {key}; it reads {BRAZE_ATTRIBUTES}, "
            f"which is built before it, so an extra column could feed no attribute (a cycle). "
            f"Return {key} alone."
        )
        return None
    return extra


def check_attribute_query(
    source: Path, sql: str, mapping: AttributeConfig, errors: list[str]
) -> bool:
    """Whether an inline query over braze_customer_attributes (a campaign's audience) is
    read-only, compiles against the table's columns and returns its identifier alone; the
    problems are reported into ``errors``."""
    key = mapping.identifier
    tables = (BRAZE_ATTRIBUTES,)
    extra = _compile_sql(source, sql, mapping.schemas, errors, key, tables)
    return _no_late_extras(source, key, extra, errors) is not None


def _split_stages(
    path: Path, ordered: list[AudienceSpec], errors: list[str]
) -> tuple[list[AudienceSpec], list[AudienceSpec]]:
    """(first stage, second stage), each in exclusion order; a first-stage audience excluding a
    second-stage one is refused, naming the cycle."""
    late = {spec.name for spec in ordered if spec.reads_attributes}
    for spec in ordered:
        for other in spec.exclude if not spec.reads_attributes else ():
            if other in late:
                errors.append(
                    f"{_where_audience(path, spec)}: excludes '{other}', which reads "
                    f"{BRAZE_ATTRIBUTES}: a cycle ({spec.name} -> {BRAZE_ATTRIBUTES} -> {other} "
                    f"-> {spec.name}), as {BRAZE_ATTRIBUTES} holds {spec.name}'s flag. Exclude "
                    f"'{spec.name}' in '{other}' instead, or let '{spec.name}' read "
                    f"{BRAZE_ATTRIBUTES} too."
                )
    return (
        [spec for spec in ordered if not spec.reads_attributes],
        [spec for spec in ordered if spec.reads_attributes],
    )


def attributes_table_schema(
    identifier: str, standard: Iterable[AttributeSpec], custom: Iterable[AttributeSpec]
) -> dict[str, pl.DataType]:
    """The columns of braze_customer_attributes a second-stage audience may read: the identifier
    and the fields, typed as the builder types them (the first stage's flags join later)."""
    # Imported here: attributes.py builds on this module.
    from amperity_braze_assets.activation.attributes import output_dtype

    return {identifier: pl.String(), **{s.name: output_dtype(s) for s in (*standard, *custom)}}


# -- attributes.sql: the mapping as one SELECT ----------------------------------------------------
SQL_CASTS = "VARCHAR, BIGINT, DOUBLE, DECIMAL(p, s), BOOLEAN, DATE or TIMESTAMP"


def sql_custom_type(dtype: pl.DataType) -> str | None:
    """The custom attribute type a query column declares (its CAST), or None when Braze has
    none for it."""
    if isinstance(dtype, pl.Decimal):
        return f"Decimal({dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "Datetime"
    if isinstance(dtype, pl.List):
        return ARRAY_TYPE if dtype.inner == pl.String else None
    if dtype.is_integer():
        return "Integer"
    if dtype.is_float():
        return "Float"
    simple = {pl.String: "String", pl.Boolean: "Boolean", pl.Date: "Date"}
    return next((name for kind, name in simple.items() if dtype == kind), None)


def _standard_type_problem(name: str, dtype: pl.DataType) -> str | None:
    """Why a query column cannot feed the standard field ``name``: Braze takes text (``dob``:
    a date, or YYYY-MM-DD text)."""
    is_date = braze_fields.STANDARD_FIELDS[name].kind == "date"
    if dtype == pl.String or (is_date and (dtype == pl.Date or isinstance(dtype, pl.Datetime))):
        return None
    wanted, cast = ("a date (or YYYY-MM-DD text)", "DATE") if is_date else ("text", "VARCHAR")
    return (
        f"the standard field {name} is {dtype} in the query, and Braze takes {wanted}; "
        f"CAST it AS {cast}."
    )


def _sql_mapping(
    sql_file: Path, sql: str, raw: dict[Any, Any], settings: AttributeSettings, loader: _Loader
) -> tuple[str, list[AttributeSpec], list[AttributeSpec]]:
    """attributes.sql: (the identifier's source, standard fields, custom attributes). The query
    runs on empty tables of the known schemas; each output column is a field, checked by the
    YAML loader's own rules (names, shadows, consent), its type checked (standard) or taken as
    the custom attribute's type (the query's CASTs declare them)."""
    identifier = settings.identifier
    source = f"{ATTRIBUTES_QUERY}.{identifier}"
    mixed = sorted(key for key in ("standard", "custom", "identifier_source") if key in raw)
    if mixed:
        loader.error(
            f"{', '.join(mixed)} and {sql_file} both hold the attribute mapping; keep one: "
            f"move the fields into the query's columns (c.given_name AS first_name) and remove "
            f"{', '.join(mixed)} from {ATTRIBUTES_FILE} (its options stay), or delete {sql_file}."
        )
    errors = loader.errors
    schema = _query_schema(sql_file, sql, loader.schemas, errors)
    if schema is not None and _duplicated_columns(sql_file, sql, errors):
        schema = None
    if schema is not None and identifier not in schema:
        errors.append(
            f"{sql_file}: the query must return the identifier column {identifier}, e.g. "
            f"c.amperity_id AS {identifier}; it returns {list(schema)}."
        )
        schema = None
    if schema is None:
        return source, [], []
    if identifier != "external_id" and PERSON_ID not in schema:
        errors.append(
            f"{sql_file}: with identifier: {identifier} the query must also return amperity_id "
            "(each person's key, not sent to Braze), e.g. SELECT c.amperity_id, ..."
        )
    elif PERSON_ID not in schema and not _is_amperity_id(sql, identifier, loader.schemas):
        errors.append(
            f"{sql_file}: column '{identifier}': without an amperity_id column the identifier "
            f"is taken as each person's amperity_id (their key for the audiences, consent and "
            f"events), so it must be a table's amperity_id as it is (c.amperity_id AS "
            f"{identifier}). To send another value as {identifier}, return the key too: SELECT "
            f"c.amperity_id, c.<column> AS {identifier}, ..."
        )
    sql_loader = _Loader(sql_file, {ATTRIBUTES_QUERY: schema}, errors)
    standard: list[AttributeSpec] = []
    custom: list[AttributeSpec] = []
    for column, dtype in schema.items():
        if column not in (identifier, PERSON_ID):
            spec = _sql_field(sql_loader, column, dtype, settings)
            if spec is not None:
                (standard if spec.standard else custom).append(spec)
    return source, standard, custom


def _duplicated_columns(sql_file: Path, sql: str, errors: list[str]) -> bool:
    """Whether the query names an output column twice (reported, with the fix): polars would
    rename one (``email:1``) or keep one, and each output column is one Braze field."""
    statement, _ = _parse_sql(sql)  # it parsed: _query_schema checked it
    names = [n for n in getattr(statement, "named_selects", []) if n != "*"]
    twice = sorted({n for n in names if names.count(n) > 1})
    for name in twice:
        errors.append(
            f"{sql_file}: the query returns the column '{name}' {names.count(name)} times; each "
            f"output column is one Braze field: keep one '{name}', and alias any other to its "
            "own name (c.surname AS last_name)."
        )
    return bool(twice)


def _is_amperity_id(sql: str, column: str, schemas: dict[str, dict[str, pl.DataType]]) -> bool:
    """Whether the query's output ``column`` is a table's amperity_id passed through as it is
    (renamed, through subqueries and CTEs, or a USING join's coalesced key), traced by sqlglot's
    lineage over the known tables; a function of it (UPPER) or of another column is not."""
    tables = {t: {c: "text" for c in schemas[t]} for t in QUERY_TABLES if t in schemas}
    try:
        node = lineage(column, sql, schema=tables, dialect=SQL_DIALECT)
    except sqlglot.errors.SqlglotError:
        return False
    steps = list(node.walk())
    for step in steps:
        if step.downstream:  # a projection: a column as it is, or a coalesce of such
            value = step.expression.unalias()
            parts = [value.this, *value.expressions] if isinstance(value, exp.Coalesce) else [value]
            if not all(isinstance(part, exp.Column) for part in parts):
                return False
        elif not (
            isinstance(step.expression, exp.Table)
            and step.expression.name.lower() in tables
            and step.name.rsplit(".", 1)[-1].lower() == PERSON_ID
        ):
            return False
    return True


def _sql_field(
    loader: _Loader, column: str, dtype: pl.DataType, settings: AttributeSettings
) -> AttributeSpec | None:
    """One output column of attributes.sql as a field, or None with the problem reported."""
    source = f"{ATTRIBUTES_QUERY}.{column}"
    where = f"column '{column}'"
    if column in braze_fields.IDENTIFIER_FIELDS:
        loader.error(
            f"{where}: the query returns {column} besides the identifier {settings.identifier}; "
            f"Braze takes exactly one identifier per object: drop the column, or set identifier: "
            f"{column} in {ATTRIBUTES_FILE}."
        )
        return None
    if column in braze_fields.STANDARD_FIELDS:
        problem = _standard_type_problem(column, dtype)
        if problem:
            loader.error(f"{where}: {problem}")
            return None
        return loader.standard_field(column, source, settings)
    custom_type = sql_custom_type(dtype)
    if custom_type is None and _custom_name_problem(column) is None:
        loader.error(
            f"{where}: its type {dtype} has no Braze custom attribute type; CAST it in the "
            f"query to {SQL_CASTS} (a list of strings is an Array)."
        )
        return None
    return loader.custom_attribute(
        column, {"source": source, "type": custom_type or "String"}, settings
    )
