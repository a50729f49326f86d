"""Braze destinations: ``<config dir>/destinations.yaml``, validated at load.

Each destination is one Braze workspace (two brands are two destinations) with its own key
variable, instance or endpoint, identifier, attribute set and ledger; each becomes its own
``braze_attribute_diff`` / ``braze_sync`` / ``braze_sync_log`` assets. The first destination's
assets carry the plain names; the others are suffixed ``__<name>``.

Secrets never live in the file: it names the environment variables that hold them.

Destinations that write to one Braze workspace (the same key variable at the same endpoint, or
the same ``workspace:`` name) share its rate limit, split evenly (``RateBudget``), and must send
disjoint attribute sets: each ledger sees only its own writes, so two ledgers tracking one
attribute would both send it (billed twice) and undo each other's values. Such a pair is
refused at load.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from amperity_braze_assets import braze_fields as fields
from amperity_braze_assets.braze.client import (
    BrazeConfigError,
    ClientTuning,
    RateBudget,
    resolve_rest_endpoint,
)
from amperity_braze_assets.config_file import ConfigError, load_yaml, refusal
from amperity_braze_assets.settings import Settings

DESTINATIONS_FILE = "destinations.yaml"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
ENV_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
IDENTIFIER_TYPES = ("external_id", "braze_id", "user_alias", "email", "phone")


@dataclass(frozen=True, kw_only=True)
class Destination(ClientTuning):
    """One Braze workspace as configured: its variables, identifier and ledger, and the client
    tuning (``ClientTuning``'s settings and defaults) its resource passes on."""

    name: str
    api_key_env: str = "BRAZE_API_KEY"
    rest_endpoint_env: str | None = "BRAZE_REST_ENDPOINT"
    instance_env: str | None = "BRAZE_INSTANCE"
    instance: str | None = None
    rest_endpoint: str | None = None
    identifier: str = "external_id"
    # identifier external_id only: people without one are sent by their user_alias, and one who
    # gains an external_id is joined to their alias profile with /users/identify first.
    alias_fallback: bool = False
    update_existing_only: bool = False
    attributes: tuple[str, ...] | None = None  # None: every column
    ledger: str = "default"
    max_change_share: float = 0.5
    circuit_breaker_min_profiles: int = 1000
    # The sync's check fails when Braze rejects more than this share of the objects sent.
    max_reject_share: float = 0.05
    # Data points one sync may cost; the diff's blocking check stops the sync above it.
    data_point_budget: int | None = None
    # A name for the Braze workspace, when two key variables open the same one; by default a
    # workspace is a key variable at an endpoint.
    workspace: str | None = None
    is_default: bool = True
    # Set at load: the workspace's limit and how many destinations share it.
    workspace_budget: RateBudget | None = None
    # Purchases and custom events (braze/events.py): the events sent (None: every event of
    # events.yaml; (): none), whether purchases are, whether an occurrence whose outcome is
    # unknown is sent again, and how old an occurrence may be and still be sent.
    events: tuple[str, ...] | None = None
    purchases: bool = True
    on_unknown: str = "skip"
    event_lookback_days: int = 30

    def rate_budget(self, shards: int = 1) -> RateBudget:
        """This destination's share of its workspace's rate limit, split among ``shards``."""
        budget = self.workspace_budget or RateBudget(self.rate_limit, self.rate_window_seconds)
        return budget.shared_by(shards)

    @property
    def identifier_column(self) -> str:
        """The column of braze_customer_attributes that names each person (an alias: two)."""
        return "alias_name" if self.identifier == "user_alias" else self.identifier

    @property
    def identifier_columns(self) -> tuple[str, ...]:
        """Every column of braze_customer_attributes the sync reads a person's identifier from:
        the alias's two for user_alias, the identifier and the alias's with alias_fallback."""
        alias = ("alias_name", "alias_label")
        if self.identifier == "user_alias":
            return alias
        return (self.identifier, *alias) if self.alias_fallback else (self.identifier,)

    @property
    def suffix(self) -> str:
        return "" if self.is_default else f"__{self.name}"

    @property
    def resource_key(self) -> str:
        return f"braze{self.suffix}"

    def asset_name(self, base: str) -> str:
        return f"{base}{self.suffix}"


DEFAULT_DESTINATION = Destination(name="braze")


def _env(name: str | None) -> str | None:
    # Read here, at definitions load, to check the endpoint; the key itself reaches the resource
    # as a dg.EnvVar (resources.py), never as a value.
    return os.environ.get(name) or None if name else None


def destination_endpoint(
    destination: Destination, settings: Settings
) -> tuple[str | None, str | None]:
    """(instance, rest endpoint) for a destination: literal values first, then its variables.
    The default variables come from ``Settings``; others from the environment."""
    instance = destination.instance
    endpoint = destination.rest_endpoint
    if instance is None and destination.instance_env:
        instance = (
            settings.braze_instance
            if destination.instance_env == "BRAZE_INSTANCE"
            else _env(destination.instance_env)
        )
    if endpoint is None and destination.rest_endpoint_env:
        endpoint = (
            settings.braze_rest_endpoint
            if destination.rest_endpoint_env == "BRAZE_REST_ENDPOINT"
            else _env(destination.rest_endpoint_env)
        )
    return instance, endpoint


def api_key_set(destination: Destination, settings: Settings) -> bool:
    if destination.api_key_env == "BRAZE_API_KEY":
        return settings.braze_api_key_set
    return bool(_env(destination.api_key_env))


def load_destinations(settings: Settings) -> tuple[Destination, ...]:
    """The configured destinations; one default destination when the file does not exist."""
    path = Path(settings.config_dir) / DESTINATIONS_FILE
    if not path.exists():
        return (DEFAULT_DESTINATION,)
    raw = load_yaml(path)
    if raw is None:
        return (DEFAULT_DESTINATION,)
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("destinations"), dict)
        or not raw["destinations"]
    ):
        raise ConfigError(
            f"{path}: expected a top-level 'destinations:' mapping of name to settings, e.g.\n"
            "destinations:\n  braze:\n    api_key_env: BRAZE_API_KEY\n    identifier: external_id"
        )
    unknown = set(raw) - {"destinations"}
    errors: list[str] = []
    if unknown:
        errors.append(
            f"{path}: unknown top-level key(s) {sorted(unknown, key=str)}; allowed: destinations."
        )
    parsed: list[Destination] = []
    for position, (name, body) in enumerate(raw["destinations"].items()):
        try:
            parsed.append(_parse(path, name, body, is_default=position == 0, settings=settings))
        except ConfigError as exc:
            errors.append(str(exc))
    ledgers: dict[str, str] = {}
    for destination in parsed:
        if destination.ledger in ledgers:
            errors.append(
                f"{path}: destinations '{ledgers[destination.ledger]}' and '{destination.name}' "
                f"share the ledger '{destination.ledger}'; each workspace needs its own ledger."
            )
        ledgers[destination.ledger] = destination.name
    workspaces = _by_workspace(parsed, settings)
    errors += _overlaps(path, workspaces)
    if errors:
        raise ConfigError("Invalid Braze destinations:\n- " + "\n- ".join(errors))
    budgets = {
        d.name: _shared_budget(members)
        for members in workspaces.values()
        for d in members
        if len(members) > 1
    }
    return tuple(replace(d, workspace_budget=budgets.get(d.name)) for d in parsed)


def workspace_of(destination: Destination, settings: Settings) -> str:
    """Which Braze workspace a destination writes to: its ``workspace:`` name, or its key
    variable at its endpoint (one key opens one workspace)."""
    if destination.workspace:
        return destination.workspace
    instance, endpoint = destination_endpoint(destination, settings)
    host = endpoint or (
        fields.rest_endpoint_for(instance)
        if instance and instance.strip().upper() in fields.REST_HOSTS
        else f"{destination.rest_endpoint_env or destination.instance_env or 'no endpoint'}"
    )
    return f"{destination.api_key_env} at {host}"


def _by_workspace(
    destinations: list[Destination], settings: Settings
) -> dict[str, list[Destination]]:
    grouped: dict[str, list[Destination]] = {}
    for destination in destinations:
        grouped.setdefault(workspace_of(destination, settings), []).append(destination)
    return grouped


def _overlaps(path: Path, workspaces: dict[str, list[Destination]]) -> list[str]:
    """One refusal per pair of destinations on one workspace whose attribute sets overlap."""
    problems = []
    for workspace, members in workspaces.items():
        for position, first in enumerate(members):
            for second in members[position + 1 :]:
                if first.attributes is None or second.attributes is None:
                    every = first.name if first.attributes is None else second.name
                    shared = f"every attribute ('{every}' sends attributes: all)"
                else:
                    common = sorted(set(first.attributes) & set(second.attributes))
                    if not common:
                        continue
                    shared = ", ".join(common)
                problems.append(
                    f"{path}: destinations '{first.name}' and '{second.name}' write to the same "
                    f"Braze workspace ({workspace}) and both send {shared}. Each ledger sees only "
                    "its own writes, so both would send these (billed twice) and undo each "
                    "other's values. Fix: list each attribute under one of the two destinations "
                    "only (attributes: [...]); if they are different workspaces, give each its "
                    "own api_key_env, or name them apart with workspace: <name>."
                )
    return problems


def _shared_budget(members: list[Destination]) -> RateBudget:
    """The workspace's limit (the strictest its destinations state), split among them."""
    slowest = min(members, key=lambda d: d.rate_limit / d.rate_window_seconds)
    return RateBudget(slowest.rate_limit, slowest.rate_window_seconds, len(members))


# The numeric settings: (type, lowest, highest), for the model's bounds and the message.
NUMBER_RANGES: dict[str, tuple[type, float, float]] = {
    "objects_per_request": (int, 1, fields.MAX_OBJECTS_PER_REQUEST),
    "rate_limit": (int, 1, 10_000_000),
    "rate_window_seconds": (float, 0.001, 3600.0),
    "concurrency": (int, 1, 256),
    "connect_timeout": (float, 0.1, 600.0),
    "read_timeout": (float, 0.1, 600.0),
    "max_attempts": (int, 1, 100),
    "max_change_share": (float, 0.0, 1.0),
    "circuit_breaker_min_profiles": (int, 0, 10**12),
    "max_reject_share": (float, 0.0, 1.0),
    "data_point_budget": (int, 0, 10**15),
}
ENV_SETTINGS = ("api_key_env", "rest_endpoint_env", "instance_env")
MISSING_KEY_ENV = (
    "set api_key_env to the variable holding this workspace's key (each workspace has its own key)."
)
LEDGER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-/]{0,80}$")


def _number(key: str) -> Any:
    _kind, low, high = NUMBER_RANGES[key]
    return Field(None, ge=low, le=high)


class DestinationEntry(BaseModel):
    """One entry of ``destinations.yaml`` as written; ``Destination`` is what it resolves to.
    Fields in the order their problems are reported (the first problem of an entry is shown)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    api_key_env: str | None = None
    rest_endpoint_env: str | None = None
    instance_env: str | None = None
    instance: str | None = None
    rest_endpoint: str | None = None
    identifier: Literal["external_id", "braze_id", "user_alias", "email", "phone"] = "external_id"
    alias_fallback: bool = False
    update_existing_only: bool = False
    attributes: tuple[str, ...] | None = None
    ledger: str | None = None
    objects_per_request: int = _number("objects_per_request")
    rate_limit: int = _number("rate_limit")
    rate_window_seconds: float = _number("rate_window_seconds")
    concurrency: int = _number("concurrency")
    connect_timeout: float = _number("connect_timeout")
    read_timeout: float = _number("read_timeout")
    max_attempts: int = _number("max_attempts")
    max_change_share: float = _number("max_change_share")
    circuit_breaker_min_profiles: int = _number("circuit_breaker_min_profiles")
    max_reject_share: float = _number("max_reject_share")
    data_point_budget: int = _number("data_point_budget")
    workspace: str | None = None
    # Accepted and unused (an emulator option once written here); kept so such files load.
    legacy_per_array_limit: Any = None
    description: Any = None
    events: tuple[str, ...] | None = None
    purchases: bool = True
    on_unknown: Literal["skip", "resend"] = "skip"
    event_lookback_days: int = 30

    @field_validator("events", mode="before")
    @classmethod
    def _events(cls, value: Any) -> Any:
        if value == "all":
            return None
        if value == "none":
            return ()
        if not isinstance(value, list) or not all(isinstance(e, str) and e for e in value):
            raise ValueError(
                "events must be 'all', 'none' or a list of event names from events.yaml."
            )
        return tuple(value)

    @field_validator("event_lookback_days", mode="before")
    @classmethod
    def _lookback(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36_500:
            raise ValueError(
                f"event_lookback_days must be a whole number of days from 0 to 36500 (older "
                f"purchases and events are not sent), got {value!r}."
            )
        return value

    @field_validator(*ENV_SETTINGS, mode="before")
    @classmethod
    def _env_name(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and (not isinstance(value, str) or not ENV_PATTERN.match(value)):
            raise ValueError(
                f"{info.field_name} must name an environment variable (upper case, e.g. "
                f"BRAND_B_BRAZE_API_KEY), got {value!r}. Never put the key itself here."
            )
        return value

    @field_validator("instance", mode="before")
    @classmethod
    def _instance(cls, value: Any) -> Any:
        if value is None:
            return None
        instance = str(value).strip().upper()
        if instance not in fields.REST_HOSTS:
            raise ValueError(
                f"instance {value!r} is unknown; use one of {sorted(fields.REST_HOSTS)}."
            )
        return instance

    @field_validator("rest_endpoint", mode="before")
    @classmethod
    def _rest_endpoint(cls, value: Any) -> Any:
        # BrazeConfigError is a ValueError: its message (with the fix) becomes the error's.
        return None if value is None else resolve_rest_endpoint(None, str(value))

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, value: Any) -> Any:
        if value == "all":
            return None
        if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
            raise ValueError("attributes must be 'all' or a list of column names.")
        problems = [
            p
            for a in value
            if a not in fields.STANDARD_FIELDS and (p := fields.custom_attribute_name_problem(a))
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return tuple(value)

    @field_validator("ledger", mode="before")
    @classmethod
    def _ledger(cls, value: Any) -> Any:
        if not isinstance(value, str) or not LEDGER_PATTERN.match(value):
            raise ValueError(
                "ledger must be a short name like 'brand_b' (lower case, digits, _ - /)."
            )
        return value


KEYS = set(DestinationEntry.model_fields)
IGNORED_KEYS = {"legacy_per_array_limit", "description"}
FIELD_ORDER = {name: position for position, name in enumerate(DestinationEntry.model_fields)}


def _entry_problem(error: ErrorDetails) -> str:
    """A refusal beside a validator's in this file's words: the setting, what is wrong, the fix."""
    key = str(error["loc"][0]) if error["loc"] else ""
    value = error.get("input")
    if key == "identifier":
        return f"identifier must be one of {list(IDENTIFIER_TYPES)}, got {value!r}."
    if key == "update_existing_only":
        return "update_existing_only must be true or false."
    if key == "alias_fallback":
        return "alias_fallback must be true or false."
    if key in NUMBER_RANGES:
        kind, low, high = NUMBER_RANGES[key]
        if error["type"] in ("greater_than_equal", "less_than_equal"):
            return f"{key}={value} is outside {low}..{high}."
        return f"{key} must be a number ({kind.__name__}), got {value!r}."
    return f"{key}: {error['msg']}."


def _parse(
    path: Path, name: Any, body: Any, *, is_default: bool, settings: Settings
) -> Destination:
    where = f"{path}: destination '{name}'"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ConfigError(
            f"{where}: the name must be lower case letters, digits and underscores starting with "
            "a letter (it suffixes the asset names, e.g. braze_sync__brand_b)."
        )
    body = body or {}
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: expected a mapping of settings.")
    unknown = set(body) - KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown, key=str)}; allowed: {sorted(KEYS)}."
        )
    try:
        entry = DestinationEntry.model_validate(body)
    except ValidationError as exc:
        problems = [
            (FIELD_ORDER[str(e["loc"][0])], refusal(e, _entry_problem)) for e in exc.errors()
        ]
        if not is_default and "api_key_env" not in body:
            problems.append((FIELD_ORDER["api_key_env"] + 2.5, MISSING_KEY_ENV))
        raise ConfigError(f"{where}: {min(problems)[1]}") from None
    if not is_default and "api_key_env" not in body:
        raise ConfigError(f"{where}: {MISSING_KEY_ENV}")
    if entry.alias_fallback and entry.identifier != "external_id":
        raise ConfigError(
            f"{where}: alias_fallback sends people without an external_id by their alias, so it "
            f"needs identifier: external_id (got {entry.identifier}); remove alias_fallback, or "
            "use identifier: user_alias to send everyone by alias."
        )
    if entry.alias_fallback and settings.sync_shards > 1:
        # A person's shard is a hash of their identifier, which changes from the alias to the
        # external_id when they are identified: their ledger rows would be in another shard.
        raise ConfigError(
            f"{where}: alias_fallback does not work with a sharded sync "
            f"(AMPERITY_BRAZE_SYNC_SHARDS={settings.sync_shards}): a person's shard follows their "
            "identifier, which changes when their alias is identified. Set "
            "AMPERITY_BRAZE_SYNC_SHARDS=1 (or unset it), or remove alias_fallback (identifier: "
            "user_alias sends everyone by alias and may be sharded)."
        )
    given = entry.model_dump(include=set(body) - IGNORED_KEYS)
    destination = Destination(
        name=name, is_default=is_default, **{"ledger": "default" if is_default else name, **given}
    )
    _check_resolved_endpoint(where, destination, settings)
    return destination


def _check_resolved_endpoint(where: str, destination: Destination, settings: Settings) -> None:
    """The endpoint the destination will use, once its variables are read, must be usable."""
    instance, endpoint = destination_endpoint(destination, settings)
    if endpoint:
        try:
            resolve_rest_endpoint(None, endpoint)
        except BrazeConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
    elif instance and instance.strip().upper() not in fields.REST_HOSTS:
        raise ConfigError(
            f"{where}: instance {instance!r} (from {destination.instance_env}) is unknown; use "
            f"one of {sorted(fields.REST_HOSTS)}."
        )
