"""Load and validate the YAML configuration users edit.

Every mistake is reported at definitions load with the file, the source and the fix, because a
typo found at 3 a.m. by a failed run is a typo found too late. Errors are collected and reported
together so one edit round fixes them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from amperity_braze_assets.config_file import (
    ConfigError,
    load_yaml,
    suggestion,
    validate_collecting,
)
from amperity_braze_assets.customer360.survivorship import (
    SurvivorshipRules,
    parse_survivorship_rules,
)
from amperity_braze_assets.identity.config import IdentityConfig, load_identity_config
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.sources.config import (
    MoneyConfig,
    SourceConfig,
    check_source_files,
    parse_money,
    parse_source,
)

SOURCES_FILE = "sources.yaml"


@dataclass(frozen=True)
class ProjectConfig:
    config_dir: Path
    sources: tuple[SourceConfig, ...]
    # ``survivorship:`` as written, and the rules parsed from it once, at load
    survivorship: dict[str, Any] | None = None
    survivorship_rules: SurvivorshipRules = field(default_factory=SurvivorshipRules)
    # identity.yaml (defaults when the file is absent)
    identity: IdentityConfig | None = None
    money: MoneyConfig = field(default_factory=lambda: MoneyConfig())

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

    @property
    def record_sources(self) -> tuple[SourceConfig, ...]:
        """The sources that give customer records: customer sources, and transaction sources
        whose buyers are named by contact."""
        return tuple(s for s in self.sources if s.kind == "customers" or s.has_buyers)


def load_project_config(settings: Settings, check_files: bool = True) -> ProjectConfig:
    """Read ``sources.yaml`` from the configuration folder and validate it.

    With ``check_files`` the header of each local source's first file is read so that a mapped
    column that does not exist, or a file that cannot be read, fails now rather than mid-run.
    """
    config_dir = settings.config_dir
    path = config_dir / SOURCES_FILE
    document, errors = _read_sources_file(path, config_dir)
    sources: list[SourceConfig] = []
    for name, definition in document.sources.items():
        source, source_errors = parse_source(path, name, definition)
        errors.extend(source_errors)
        if source is not None:
            sources.append(source)
    money, money_errors = parse_money(path, document.money, config_dir)
    errors.extend(money_errors)
    errors.extend(_shared_attribute_errors(path, sources))
    errors.extend(_source_reference_errors(path, sources, settings, check_files))
    survivorship = document.survivorship
    record_sources = {s.name for s in sources if s.kind == "customers" or s.has_buyers}
    rules, survivorship_errors = _parse_survivorship(path, survivorship, record_sources)
    errors.extend(survivorship_errors)
    identity, identity_errors = _load_identity(config_dir, record_sources)
    errors.extend(identity_errors)
    if errors:
        raise ConfigError(
            f"Invalid configuration ({len(errors)} problem{'s' if len(errors) > 1 else ''}):\n- "
            + "\n- ".join(errors)
        )
    return ProjectConfig(
        config_dir=config_dir,
        sources=tuple(sources),
        survivorship=survivorship,
        survivorship_rules=rules,
        identity=identity,
        money=money,
    )


class SourcesFile(BaseModel):
    """``sources.yaml`` at the top: the sources by name, and what survivorship and money say
    (each checked by its own parser)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[Any, Any] = Field(min_length=1)
    survivorship: dict[Any, Any] | None = None
    money: Any = None


def _top_level_problem(error: ErrorDetails) -> str:
    """A refusal beside ``sources:`` (one of ``sources:`` itself stops the load, see below)."""
    key = error["loc"][0] if error["loc"] else "sources"
    if key == "survivorship":
        return "'survivorship' must be a mapping (source_priority, ...)."
    if key == "sources":
        return "'sources' must map source names to definitions."
    return (
        f"unknown top-level key(s) {[key]}{suggestion(key, SourcesFile.model_fields)}; "
        f"allowed: {', '.join(SourcesFile.model_fields)}."
    )


def _read_sources_file(path: Path, config_dir: Path) -> tuple[SourcesFile, list[str]]:
    """``sources.yaml`` with a non-empty ``sources:``, and what is wrong beside it; or the
    error that says how to write one."""
    if not path.exists():
        raise ConfigError(
            f"{path}: not found. AMPERITY_BRAZE_CONFIG_DIR={config_dir} must hold {SOURCES_FILE}; "
            "unset it to use the sample configuration shipped with the package."
        )
    document, errors = validate_collecting(
        SourcesFile, load_yaml(path), str(path), _top_level_problem
    )
    if document is None:  # no usable ``sources:``: nothing else can be checked
        raise ConfigError(
            f"{path}: expected a top-level 'sources:' mapping of source name to definition, "
            "e.g.\nsources:\n  pos:\n    kind: customers\n    files: sources/pos/*.csv\n"
            "    primary_key: CUST_NO\n    columns: {FIRST_NM: given-name}"
        )
    return document, errors


def _shared_attribute_errors(path: Path, sources: list[SourceConfig]) -> list[str]:
    """Two sources carrying an attribute of the same name would fill one customer_360 column."""
    errors: list[str] = []
    attribute_owner: dict[str, str] = {}
    for source in sources:
        for attribute in source.attributes.values():
            if attribute in attribute_owner:
                errors.append(
                    f"{path}: source '{source.name}': attribute '{attribute}' is also defined by "
                    f"source '{attribute_owner[attribute]}'; give each a distinct name."
                )
            attribute_owner[attribute] = source.name
    return errors


def _source_reference_errors(
    path: Path, sources: list[SourceConfig], settings: Settings, check_files: bool
) -> list[str]:
    """Each ``customer_source`` names a configured source; with ``check_files``, each source's
    first local file has the columns the source maps."""
    names = {s.name for s in sources}
    errors: list[str] = []
    for source in sources:
        if source.customer_source and source.customer_source not in names:
            errors.append(
                f"{path}: source '{source.name}': customer_source '{source.customer_source}' is not "
                f"a configured source; use one of {sorted(names, key=str)}."
            )
        if check_files:
            errors.extend(check_source_files(path, source, settings))
    return errors


def _parse_survivorship(
    path: Path, survivorship: Any, record_sources: set[str]
) -> tuple[SurvivorshipRules | None, list[str]]:
    """The survivorship rules, parsed here once so that every later reader gets valid ones."""
    try:
        return parse_survivorship_rules(survivorship, record_sources, str(path)), []
    except ValueError as exc:
        return None, [str(exc)]


def _load_identity(
    config_dir: Path, record_sources: set[str]
) -> tuple[IdentityConfig | None, list[str]]:

    try:
        return load_identity_config(config_dir, record_sources), []
    except ConfigError as exc:
        return None, [str(exc)]
