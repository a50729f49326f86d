"""``events.yaml``: the purchases and custom events Braze receives, validated at load.

No file, no events: ``load_events_config`` returns an empty configuration and ``braze_events``
is an empty table. Purchases come from ``order_lines`` (one purchase per line item); each custom
event reads one registered table (``table:`` with ``time:`` and ``properties:`` columns) or a
read-only query (``sql: events/<name>.sql``, guarded as SQL audiences are) returning
``amperity_id``, ``time`` and its property columns, with ``key:`` (the columns that tell one
occurrence apart besides its time; a table entry defaults to ``amperity_id``).

Every refusal names the file, the entry and the fix (``config_file``'s translator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import ErrorDetails

from amperity_braze_assets.activation.config import (
    ORDER_LINES,
    PERSON_ID,
    QUERY_TABLES,
    _query_schema,
    table_schemas,
)
from amperity_braze_assets.config_file import (
    ConfigError,
    load_yaml,
    unknown_keys_problem,
    validate_collecting,
)

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig

EVENTS_FILE = "events.yaml"
EVENTS_DIR = "events"
TOP_KEYS = ("purchases", "events")
MAX_NAME_CHARS = 255
# Spec, Events and purchases: property names never start with $, and these two are Braze's own.
RESERVED_PROPERTIES = frozenset({"time", "event_name"})
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .:\-]{0,254}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
# order_lines as the customer 360 builds it, with the order's currency.
PURCHASE_TABLE_EXTRA = {"currency": pl.String(), "line_id": pl.String()}


def property_name_problem(name: str) -> str | None:
    """Why Braze refuses ``name`` as a property key (spec: non-empty, at most 255 characters, not
    starting with $, not ``time`` or ``event_name``), or None."""
    if not name or len(name) > MAX_NAME_CHARS:
        return f"property name {name[:40]!r} must have 1 to {MAX_NAME_CHARS} characters"
    if name.startswith("$"):
        return f"property name {name!r} starts with '$', which Braze reserves"
    if name in RESERVED_PROPERTIES:
        return f"property name {name!r} is reserved by Braze (time and event_name)"
    return None


def column_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        raise ValueError("must be a list of column names, e.g. [order_id, source].")
    return tuple(value)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("properties", "key", mode="before", check_fields=False)
    @classmethod
    def _columns(cls, value: Any) -> Any:
        return None if value is None else column_list(value)


class PurchaseEntry(_Entry):
    """``purchases:`` as written: the columns of ``order_lines`` each purchase is built from."""

    product_id: str = "sku"
    price: str = "price"  # per unit, in the line's currency
    quantity: str = "quantity"
    time: str = "order_time"
    currency: str = "currency"
    default_currency: str | None = None
    properties: tuple[str, ...] = ("product_name", "order_id", "source")
    # The order's columns: a purchase is keyed by its order, its product and its occurrence
    # among the order's lines of that product (activation/events.py), never by file position.
    key: tuple[str, ...] = ("source", "order_id")

    @field_validator("key", mode="after")
    @classmethod
    def _order_key(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "line_number" in value:
            raise ValueError(
                "key may not hold line_number: it is the line's position in the export files "
                "and changes when an order is re-exported (the purchases would be sent again); "
                "name the order's columns, e.g. key: [source, order_id] (the product and its "
                "occurrence in the order are added)"
            )
        return value

    @field_validator("default_currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        if value is not None and not (isinstance(value, str) and CURRENCY_PATTERN.match(value)):
            raise ValueError(
                f"default_currency {value!r} is not an ISO 4217 code; write three capital "
                "letters, e.g. default_currency: USD."
            )
        return value


class EventEntry(_Entry):
    """One entry of ``events:`` as written."""

    name: str
    table: str | None = None
    sql: str | None = None
    time: str = "time"
    properties: tuple[str, ...] | None = None  # None: every column but amperity_id and time
    # The columns that tell one occurrence apart besides its time (always in the key); None:
    # amperity_id for a table entry; a query must say (its rows have no record key we know).
    key: tuple[str, ...] | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not NAME_PATTERN.match(value):
            raise ValueError(
                f"name {value!r} must be 1 to {MAX_NAME_CHARS} letters, digits, _ . : - or "
                "spaces, e.g. name: loyalty_joined."
            )
        return value


@dataclass(frozen=True)
class PurchaseSpec:
    product_id: str
    price: str
    quantity: str
    time: str
    currency: str
    default_currency: str | None
    properties: tuple[str, ...]
    key: tuple[str, ...]
    table: str = ORDER_LINES


@dataclass(frozen=True)
class EventSpec:
    name: str
    time: str
    properties: tuple[str, ...] | None
    key: tuple[str, ...] | None
    table: str | None = None
    sql: str | None = None  # the query's text
    sql_file: str | None = None

    @property
    def tables(self) -> set[str]:
        return {self.table} if self.table else set(QUERY_TABLES)


@dataclass(frozen=True)
class EventsConfig:
    purchases: PurchaseSpec | None = None
    events: tuple[EventSpec, ...] = ()
    path: Path | None = None

    @property
    def tables_used(self) -> set[str]:
        used = {ORDER_LINES} if self.purchases else set()
        for event in self.events:
            used |= event.tables
        return used

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(event.name for event in self.events)


@dataclass
class _Problems:
    path: Path
    messages: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.messages.append(f"{self.path}: {where}: {message}")


def _problem(error: ErrorDetails) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "entry"
    return f"{key}: {error['msg']}; see sample_config/events.yaml for the form."


def load_events_config(project: ProjectConfig) -> EventsConfig:
    """``events.yaml`` validated against the registered tables; empty when absent."""
    path = project.config_dir / EVENTS_FILE
    if not path.exists():
        return EventsConfig()
    raw = load_yaml(path)
    if raw is None:
        return EventsConfig(path=path)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping with keys {list(TOP_KEYS)}, e.g.\npurchases:\n"
            "  default_currency: USD\nevents:\n  - name: loyalty_joined\n"
            "    table: customer_360\n    time: loyalty_joined_on"
        )
    problems = _Problems(path)
    unknown = [key for key in raw if key not in TOP_KEYS]
    if unknown:
        problems.add("top level", unknown_keys_problem(unknown, TOP_KEYS))
    schemas = table_schemas(project)
    schemas[ORDER_LINES] = {**schemas[ORDER_LINES], **PURCHASE_TABLE_EXTRA}
    purchases = _purchases(raw.get("purchases"), schemas, problems)
    events = _events(project.config_dir, raw.get("events"), schemas, problems)
    if problems.messages:
        raise ConfigError("\n".join(problems.messages))
    return EventsConfig(purchases=purchases, events=events, path=path)


def _purchases(
    raw: Any, schemas: dict[str, dict[str, pl.DataType]], problems: _Problems
) -> PurchaseSpec | None:
    if raw is None or raw is False:
        return None
    raw = {} if raw is True else raw
    entry, messages = validate_collecting(PurchaseEntry, raw, "purchases", _problem)
    for message in messages:
        problems.messages.append(f"{problems.path}: {message}")
    if entry is None or messages:
        return None
    columns = schemas[ORDER_LINES]
    named = [entry.product_id, entry.price, entry.quantity, entry.time, entry.currency]
    for column in [*named, *entry.properties, *entry.key]:
        if column not in columns:
            problems.add(
                "purchases",
                f"order_lines has no column {column!r}; its columns are {sorted(columns)}.",
            )
    _check_properties("purchases", entry.properties, problems)
    return PurchaseSpec(**entry.model_dump())


def _events(
    config_dir: Path,
    raw: Any,
    schemas: dict[str, dict[str, pl.DataType]],
    problems: _Problems,
) -> tuple[EventSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("events", "expected a list of entries, each with name and table or sql.")
        return ()
    specs: list[EventSpec] = []
    seen: set[str] = set()
    for position, item in enumerate(raw, start=1):
        where = f"events entry {position}"
        entry, messages = validate_collecting(EventEntry, item, where, _problem)
        for message in messages:
            problems.messages.append(f"{problems.path}: {message}")
        if entry is None or messages:
            continue
        where = f"event '{entry.name}'"
        if entry.name in seen:
            problems.add(where, "is defined twice; each event name may appear once.")
        seen.add(entry.name)
        if (entry.table is None) == (entry.sql is None):
            problems.add(where, "give exactly one of table: <registered table> or sql: <file>.")
            continue
        spec = (
            _table_event(entry, schemas, where, problems)
            if entry.table
            else _sql_event(config_dir, entry, schemas, where, problems)
        )
        if spec is not None:
            specs.append(spec)
    return tuple(specs)


def _table_event(
    entry: EventEntry,
    schemas: dict[str, dict[str, pl.DataType]],
    where: str,
    problems: _Problems,
) -> EventSpec | None:
    assert entry.table is not None
    if entry.table not in schemas:
        problems.add(where, f"table {entry.table!r} is not registered; use one of {QUERY_TABLES}.")
        return None
    columns = schemas[entry.table]
    properties = entry.properties if entry.properties is not None else ()
    for column in [entry.time, *properties, *(entry.key or ())]:
        if column not in columns:
            problems.add(
                where, f"{entry.table} has no column {column!r}; its columns are {sorted(columns)}."
            )
    _check_properties(where, properties, problems)
    return EventSpec(entry.name, entry.time, properties, entry.key, table=entry.table)


def _sql_event(
    config_dir: Path,
    entry: EventEntry,
    schemas: dict[str, dict[str, pl.DataType]],
    where: str,
    problems: _Problems,
) -> EventSpec | None:
    assert entry.sql is not None
    if entry.key is None:
        problems.add(
            where,
            "a query's event needs key: the columns that tell one occurrence apart besides its "
            "time, e.g. key: [source, order_id] (a source record's key keeps the event's key "
            "when identity merges people; amperity_id does not).",
        )
    path = (config_dir / entry.sql).resolve()
    if not path.is_relative_to(config_dir.resolve()) or path.suffix != ".sql":
        problems.add(where, f"sql {entry.sql!r} must be a .sql file inside the config folder.")
        return None
    if not path.exists():
        problems.add(where, f"sql file {path} does not exist; write it or fix the path.")
        return None
    text = path.read_text(encoding="utf-8")
    # Compiled on empty tables of the registered schemas, as attributes.sql is: a column the
    # entry names and the query does not return is refused now, not at the sync's run.
    errors: list[str] = []
    returned = _query_schema(path, text, schemas, errors)
    for error in errors:
        problems.add(where, error)
    if returned is None:
        return None
    _check_query_columns(entry, returned, where, problems)
    if entry.key is None:
        return None
    return EventSpec(
        entry.name,
        entry.time,
        entry.properties,
        entry.key,
        sql=text,
        sql_file=str(path),
    )


def _check_query_columns(
    entry: EventEntry, returned: dict[str, pl.DataType], where: str, problems: _Problems
) -> None:
    """The columns a query's event is built from are among those it returns, its time is a
    time, and every property column is a name Braze takes."""
    columns = sorted(returned)
    for role, names in (
        ("amperity_id", (PERSON_ID,)),
        ("time", (entry.time,)),
        ("key", entry.key or ()),
        ("properties", entry.properties or ()),
    ):
        for name in names:
            if name not in returned:
                problems.add(
                    where,
                    f"{entry.sql}: the query returns no column {name!r} (named as {role}); it "
                    f"returns {columns}: return it (e.g. SELECT ... AS {name}) or fix the entry.",
                )
    time = returned.get(entry.time)
    if time is not None and not (isinstance(time, pl.Datetime) or time in (pl.Date, pl.String)):
        problems.add(
            where,
            f"{entry.sql}: column {entry.time!r} is {time}, not a time; return a timestamp, a "
            "date or ISO 8601 text.",
        )
    properties = entry.properties
    if properties is None:  # every other column is a property
        properties = tuple(c for c in returned if c not in (PERSON_ID, entry.time))
    _check_properties(where, properties, problems)


def _check_properties(where: str, properties: tuple[str, ...], problems: _Problems) -> None:
    for name in properties:
        if name == PERSON_ID:
            continue
        problem = property_name_problem(name)
        if problem:
            problems.add(where, f"{problem}; rename the column in the query or drop it.")
