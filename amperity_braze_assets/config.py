"""Load and validate the YAML configuration users edit.

Every mistake is reported at definitions load with the file, the source and the fix, because a
typo found at 3 a.m. by a failed run is a typo found too late. Errors are collected and reported
together so one edit round fixes them all.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import yaml

from amperity_braze_assets.settings import Settings

if TYPE_CHECKING:  # identity.config imports this module's helpers: no import at run time
    from amperity_braze_assets.identity.config import IdentityConfig
from amperity_braze_assets.sources.tags import (
    CUSTOMER_TAGS,
    KEY_TAGS,
    REQUIRED_TRANSACTION_TAGS,
    SOURCE_KINDS,
    TRANSACTION_TAGS,
    column_for_tag,
)

SOURCES_FILE = "sources.yaml"
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
}
CSV_KEYS = {"delimiter", "encoding", "quote"}
FORMATS = ("csv", "parquet")


class ConfigError(ValueError):
    """A configuration mistake, with where it is and how to fix it."""


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
    config_file: str = ""

    @property
    def asset_name(self) -> str:
        return f"raw_{self.name}"

    @property
    def rejects_asset_name(self) -> str:
        return f"raw_{self.name}_rejects"

    def column_map(self) -> dict[str, str]:
        """Original column -> common column name."""
        return {column: column_for_tag(tag) for column, tag in self.columns.items()}


@dataclass(frozen=True)
class ProjectConfig:
    config_dir: Path
    sources: tuple[SourceConfig, ...]
    survivorship: dict[str, Any] | None = None
    # identity.yaml (defaults when the file is absent)
    identity: IdentityConfig | None = None

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    @property
    def customer_sources(self) -> tuple[SourceConfig, ...]:
        return tuple(s for s in self.sources if s.kind == "customers")

    @property
    def transaction_sources(self) -> tuple[SourceConfig, ...]:
        return tuple(s for s in self.sources if s.kind == "transactions")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise ConfigError(
                f"{node.start_mark.name}: line {key_node.start_mark.line + 1}: a list or mapping "
                "is used as a key; keys must be plain names, e.g. email: customer_360.email."
            ) from None
        if key in seen:
            raise ConfigError(
                f"{node.start_mark.name}: line {key_node.start_mark.line + 1}: duplicate key "
                f"{key!r} (first at line {seen[key]}). Each name may appear once: rename or "
                "remove one of them."
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the configuration file ({exc.strerror}); check that it exists "
            "and is readable."
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8."
        ) from exc
    stream = io.StringIO(text)
    stream.name = str(path)  # type: ignore[misc]  # PyYAML's marks (line numbers) show the file
    try:
        return yaml.load(stream, Loader=_UniqueKeyLoader) if text.strip() else None
    except ConfigError:
        raise
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{path}: invalid YAML: {exc}\nFix the YAML at the line shown: check indentation "
            "(spaces, not tabs), colons and quotes; one document per file, no custom tags."
        ) from exc
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. a list or mapping as a key
        raise ConfigError(
            f"{path}: cannot be read as configuration ({type(exc).__name__}: {exc}); keys must "
            "be plain names, e.g. email: customer_360.email."
        ) from exc


def load_project_config(settings: Settings, check_files: bool = True) -> ProjectConfig:
    """Read ``sources.yaml`` from the configuration folder and validate it.

    With ``check_files`` the header of each local source's first file is read so that a mapped
    column that does not exist, or a file that cannot be read, fails now rather than mid-run.
    """
    config_dir = settings.config_dir
    path = config_dir / SOURCES_FILE
    if not path.exists():
        raise ConfigError(
            f"{path}: not found. AMPERITY_BRAZE_CONFIG_DIR={config_dir} must hold {SOURCES_FILE}; "
            "unset it to use the sample configuration shipped with the package."
        )
    raw = load_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), dict) or not raw["sources"]:
        raise ConfigError(
            f"{path}: expected a top-level 'sources:' mapping of source name to definition, "
            "e.g.\nsources:\n  pos:\n    kind: customers\n    files: sources/pos/*.csv\n"
            "    primary_key: CUST_NO\n    columns: {FIRST_NM: given-name}"
        )
    unknown_top = set(raw) - {"sources", "survivorship"}
    errors: list[str] = []
    if unknown_top:
        errors.append(
            f"{path}: unknown top-level key(s) {sorted(unknown_top, key=str)}; allowed: sources, survivorship."
        )
    sources: list[SourceConfig] = []
    for name, definition in raw["sources"].items():
        try:
            sources.append(_parse_source(path, name, definition))
        except ConfigError as exc:
            errors.append(str(exc))
    names = {s.name for s in sources}
    attribute_owner: dict[str, str] = {}
    for source in sources:
        for attribute in source.attributes.values():
            if attribute in attribute_owner:
                errors.append(
                    f"{path}: source '{source.name}': attribute '{attribute}' is also defined by "
                    f"source '{attribute_owner[attribute]}'; give each a distinct name."
                )
            attribute_owner[attribute] = source.name
    for source in sources:
        if source.customer_source and source.customer_source not in names:
            errors.append(
                f"{path}: source '{source.name}': customer_source '{source.customer_source}' is not "
                f"a configured source; use one of {sorted(names, key=str)}."
            )
        if check_files:
            errors.extend(_check_source_files(path, source, settings))
    if errors:
        raise ConfigError("Invalid configuration:\n- " + "\n- ".join(errors))
    survivorship = raw.get("survivorship")
    if survivorship is not None and not isinstance(survivorship, dict):
        raise ConfigError(f"{path}: 'survivorship' must be a mapping (source_priority, ...).")
    from amperity_braze_assets.customer360.survivorship import parse_survivorship_rules

    try:  # checked here so that every later reader of the rules gets valid ones
        parse_survivorship_rules(
            survivorship, {s.name for s in sources if s.kind == "customers"}, str(path)
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    from amperity_braze_assets.identity.config import load_identity_config

    identity = load_identity_config(config_dir, {s.name for s in sources if s.kind == "customers"})
    return ProjectConfig(
        config_dir=config_dir,
        sources=tuple(sources),
        survivorship=survivorship,
        identity=identity,
    )


def _parse_source(path: Path, name: Any, definition: Any) -> SourceConfig:
    where = f"{path}: source '{name}'"
    if not isinstance(name, str) or not SOURCE_NAME_PATTERN.match(name):
        raise ConfigError(
            f"{where}: the name must be lower case letters, digits and underscores, starting with "
            "a letter (it becomes the asset name raw_<name>)."
        )
    if not isinstance(definition, dict):
        raise ConfigError(f"{where}: expected a mapping with kind, files, primary_key, columns.")
    unknown = set(definition) - SOURCE_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown, key=str)}{_suggest(sorted(unknown, key=str)[0], SOURCE_KEYS)}; "
            f"allowed: {sorted(SOURCE_KEYS)}."
        )
    kind = definition.get("kind", "customers")
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"{where}: kind '{kind}' is unknown; use one of {list(SOURCE_KINDS)}.")
    files = definition.get("files")
    if isinstance(files, str):
        files = [files]
    if (
        not isinstance(files, list)
        or not files
        or not all(isinstance(f, str) and f.strip() for f in files)
    ):
        raise ConfigError(
            f"{where}: 'files' must name one or more paths or globs (relative to "
            "AMPERITY_BRAZE_DATA_DIR, absolute, or s3://bucket/key), e.g. files: sources/pos/*.csv"
        )
    file_format = definition.get("format") or _format_from_name(files[0])
    if file_format not in FORMATS:
        raise ConfigError(
            f"{where}: format '{file_format}' is unknown; set format: csv or format: parquet."
        )
    columns = definition.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ConfigError(
            f"{where}: 'columns' must map source columns to semantic tags, e.g. "
            "columns: {EMAIL_ADDR: email}."
        )
    tags = _validate_tags(where, kind, columns)
    primary_key = definition.get("primary_key")
    if kind == "transactions" and primary_key is None:
        primary_key = next((c for c, t in tags.items() if t == "order-id"), None)
    if not isinstance(primary_key, str) or not primary_key:
        raise ConfigError(
            f"{where}: 'primary_key' must name the column that identifies a record, "
            "e.g. primary_key: CUST_NO."
        )
    customer_source = definition.get("customer_source")
    if kind == "transactions":
        missing = [t for t in REQUIRED_TRANSACTION_TAGS if t not in tags.values()]
        if missing:
            raise ConfigError(
                f"{where}: a transaction source must map the tags {missing} to columns."
            )
        if "customer-source" not in tags.values() and not customer_source:
            raise ConfigError(
                f"{where}: say which customer source the orders' customer keys belong to: map a "
                "column to 'customer-source' or set customer_source: <source name>."
            )
    csv_options = CsvOptions()
    if "csv" in definition:
        raw_csv = definition["csv"] or {}
        if not isinstance(raw_csv, dict) or set(raw_csv) - CSV_KEYS:
            raise ConfigError(f"{where}: 'csv' accepts only {sorted(CSV_KEYS)}.")
        csv_options = CsvOptions(**{k: str(v) for k, v in raw_csv.items()})
        if len(csv_options.delimiter) != 1 or len(csv_options.quote) != 1:
            raise ConfigError(f"{where}: csv delimiter and quote must be single characters.")
        try:
            "".encode(csv_options.encoding)
        except LookupError as exc:
            raise ConfigError(
                f"{where}: encoding '{csv_options.encoding}' is unknown; use a Python codec name "
                "such as utf-8, latin-1 or cp1252."
            ) from exc
    attributes = definition.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise ConfigError(
            f"{where}: 'attributes' must map untagged columns to customer 360 column names, "
            "e.g. attributes: {tier: loyalty_tier}."
        )
    for column, attribute in attributes.items():
        if column in columns or column == primary_key:
            raise ConfigError(
                f"{where}: attribute column '{column}' is already mapped to a tag or is the "
                "primary key; list only untagged columns under 'attributes'."
            )
        if not isinstance(attribute, str) or not KEY_NAME_PATTERN.match(attribute):
            raise ConfigError(
                f"{where}: attribute name {attribute!r} for column '{column}' must be lower case "
                "letters, digits and underscores (it becomes a customer_360 column)."
            )
    if kind != "customers" and attributes:
        raise ConfigError(f"{where}: only customer sources can carry 'attributes'.")
    return SourceConfig(
        name=name,
        kind=kind,
        files=tuple(files),
        format=file_format,
        primary_key=primary_key,
        columns=tags,
        csv=csv_options,
        customer_source=customer_source,
        attributes={str(k): v for k, v in attributes.items()},
        config_file=str(path),
    )


def _validate_tags(where: str, kind: str, columns: dict[Any, Any]) -> dict[str, str]:
    vocabulary = CUSTOMER_TAGS if kind == "customers" else TRANSACTION_TAGS
    known = sorted(vocabulary) + ([f"{k}:<name>" for k in KEY_TAGS] if kind == "customers" else [])
    seen: dict[str, str] = {}
    for column, tag in columns.items():
        if not isinstance(tag, str):
            raise ConfigError(
                f"{where}: column '{column}' maps to {tag!r}; use a tag name (text), e.g. email."
            )
        tag = tag.strip()
        if ":" in tag or tag in KEY_TAGS:
            key_kind, _, key_name = tag.partition(":")
            if kind != "customers" or key_kind not in KEY_TAGS:
                raise ConfigError(
                    f"{where}: column '{column}' has unknown tag '{tag}'; known tags: {known}."
                )
            key_name = key_name or _snake(str(column))
            if not KEY_NAME_PATTERN.match(key_name):
                raise ConfigError(
                    f"{where}: column '{column}': key name '{key_name}' must be lower case letters, "
                    f"digits and underscores, e.g. {key_kind}:loyalty."
                )
            tag = f"{key_kind}:{key_name}"
        elif tag not in vocabulary:
            raise ConfigError(
                f"{where}: column '{column}' has unknown tag '{tag}'"
                f"{_suggest(tag, list(vocabulary) + list(KEY_TAGS))}; known tags: {known}."
            )
        if tag in seen:
            raise ConfigError(
                f"{where}: tag '{tag}' is mapped twice (columns '{seen[tag]}' and '{column}'); "
                "map each tag to one column."
            )
        seen[tag] = str(column)
    return {column: tag for tag, column in seen.items()}


def _check_source_files(path: Path, source: SourceConfig, settings: Settings) -> list[str]:
    """Read the header of the first local file to catch missing columns and unreadable files."""
    from amperity_braze_assets.sources.files import expand_local_patterns

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
    return [
        f"{where}: column '{column}' is not in {first}{_suggest(column, header)}; the file has "
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


def _suggest(word: str, candidates) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "key"


ORCHESTRATION_FILE = "orchestration.yaml"
SCHEDULE_KEYS = {"cron", "timezone", "enabled", "only_when_sources_changed", "description"}
DEFAULT_CRON = "0 6 * * *"


@dataclass(frozen=True)
class ScheduleConfig:
    job: str
    cron: str = DEFAULT_CRON
    timezone: str = "UTC"
    enabled: bool = True
    # Skip the tick when no source file changed since the last run the schedule requested.
    only_when_sources_changed: bool = False
    description: str = ""


def load_schedule_configs(
    config_dir: Path, known_jobs: dict[str, str]
) -> dict[str, ScheduleConfig]:
    """Schedules per job from ``orchestration.yaml``; every known job runs daily by default.

    ``known_jobs`` maps job name -> what it runs (for messages). A job left out of the file keeps
    the daily default; ``enabled: false`` turns its schedule off.
    """
    import zoneinfo

    from dagster._utils.schedules import is_valid_cron_string

    schedules = {job: ScheduleConfig(job=job) for job in known_jobs}
    path = config_dir / ORCHESTRATION_FILE
    if not path.exists():
        return schedules
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict) or set(raw) - {"schedules", "freshness_hours"}:
        raise ConfigError(
            f"{path}: expected the top-level keys 'schedules' (job name -> schedule) and "
            "'freshness_hours' (asset name -> hours)."
        )
    errors = []
    raw_schedules = raw.get("schedules") or {}
    if not isinstance(raw_schedules, dict):
        raise ConfigError(
            f"{path}: 'schedules' must map job names to schedules, e.g.\n"
            "schedules:\n  braze_sync_job:\n    cron: '0 6 * * *'"
        )
    for job, definition in raw_schedules.items():
        where = f"{path}: schedule '{job}'"
        if job not in known_jobs:
            errors.append(
                f"{where}: unknown job{_suggest(job, known_jobs)}; use one of the jobs: "
                + ", ".join(f"{name} ({what})" for name, what in known_jobs.items())
            )
            continue
        definition = definition or {}
        if not isinstance(definition, dict) or set(definition) - SCHEDULE_KEYS:
            errors.append(f"{where}: allowed keys are {sorted(SCHEDULE_KEYS)}.")
            continue
        cron = str(definition.get("cron", DEFAULT_CRON))
        if not is_valid_cron_string(cron):
            errors.append(
                f"{where}: cron {cron!r} is not a valid cron expression; use five fields, "
                "e.g. '0 6 * * *' (06:00 daily) or '*/15 * * * *'."
            )
        timezone = str(definition.get("timezone", "UTC"))
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: absurd names
            errors.append(
                f"{where}: timezone {timezone!r} is unknown; use an IANA name such as "
                "America/New_York or UTC."
            )
        for flag in ("enabled", "only_when_sources_changed"):
            if flag in definition and not isinstance(definition[flag], bool):
                errors.append(f"{where}: {flag} must be true or false.")
        schedules[job] = ScheduleConfig(
            job=job,
            cron=cron,
            timezone=timezone,
            enabled=bool(definition.get("enabled", True)),
            only_when_sources_changed=bool(definition.get("only_when_sources_changed", False)),
            description=str(definition.get("description", "")),
        )
    if errors:
        raise ConfigError("Invalid orchestration:\n- " + "\n- ".join(errors))
    return schedules


DEFAULT_FRESHNESS_HOURS = {
    "customer_360": 26.0,
    "braze_customer_attributes": 26.0,
    "braze_sync": 26.0,
    "customer_engagement": 26.0,
}


def load_freshness_hours(config_dir: Path, known_assets: set[str]) -> dict[str, float]:
    """Freshness windows per key asset (``freshness_hours`` in ``orchestration.yaml``): an asset
    not materialized within its window shows as stale in the UI. Daily pipelines get 26 hours by
    default, a day plus slack."""
    hours = {k: v for k, v in DEFAULT_FRESHNESS_HOURS.items() if k in known_assets}
    path = config_dir / ORCHESTRATION_FILE
    if not path.exists():
        return hours
    document = load_yaml(path) or {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: expected the top-level keys 'schedules' (job name -> schedule) and "
            "'freshness_hours' (asset name -> hours)."
        )
    raw = document.get("freshness_hours") or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: freshness_hours maps asset names to hours, e.g. customer_360: 26"
        )
    for asset, value in raw.items():
        if asset not in known_assets:
            raise ConfigError(
                f"{path}: freshness_hours names unknown asset '{asset}'"
                f"{_suggest(asset, known_assets)}."
            )
        if value is None:
            hours.pop(asset, None)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(
                f"{path}: freshness_hours.{asset} must be a positive number of hours "
                "(or null for no freshness policy)."
            )
        hours[asset] = float(value)
    return hours
