"""Braze destinations: ``<config dir>/destinations.yaml``, validated at load.

Each destination is one Braze workspace (two brands are two destinations) with its own key
variable, instance or endpoint, identifier, attribute set and ledger; each becomes its own
``braze_attribute_diff`` / ``braze_sync`` / ``braze_sync_log`` assets. The first destination's
assets carry the plain names; the others are suffixed ``__<name>``.

Secrets never live in the file: it names the environment variables that hold them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from amperity_braze_assets.braze import fields
from amperity_braze_assets.braze.client import BrazeConfigError, resolve_rest_endpoint
from amperity_braze_assets.config import ConfigError, load_yaml
from amperity_braze_assets.settings import Settings

DESTINATIONS_FILE = "destinations.yaml"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
ENV_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
IDENTIFIER_TYPES = ("external_id", "braze_id")
KEYS = {
    "api_key_env",
    "rest_endpoint_env",
    "instance_env",
    "instance",
    "rest_endpoint",
    "identifier",
    "update_existing_only",
    "attributes",
    "ledger",
    "objects_per_request",
    "rate_limit",
    "rate_window_seconds",
    "concurrency",
    "connect_timeout",
    "read_timeout",
    "max_attempts",
    "max_change_share",
    "circuit_breaker_min_profiles",
    "legacy_per_array_limit",
    "max_reject_share",
    "data_point_budget",
    "description",
}


@dataclass(frozen=True)
class Destination:
    name: str
    api_key_env: str = "BRAZE_API_KEY"
    rest_endpoint_env: str | None = "BRAZE_REST_ENDPOINT"
    instance_env: str | None = "BRAZE_INSTANCE"
    instance: str | None = None
    rest_endpoint: str | None = None
    identifier: str = "external_id"
    update_existing_only: bool = False
    attributes: tuple[str, ...] | None = None  # None: every column
    ledger: str = "default"
    objects_per_request: int = fields.MAX_OBJECTS_PER_REQUEST
    rate_limit: int = fields.RATE_LIMIT_REQUESTS
    rate_window_seconds: float = fields.RATE_LIMIT_WINDOW_SECONDS
    concurrency: int = 8
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 6
    max_change_share: float = 0.5
    circuit_breaker_min_profiles: int = 1000
    # The sync's check fails when Braze rejects more than this share of the objects sent.
    max_reject_share: float = 0.05
    # Data points one sync may cost; the diff's blocking check stops the sync above it.
    data_point_budget: int | None = None
    is_default: bool = True

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
    # dg.EnvVar is how Dagster reads the environment at definitions load.
    return dg.EnvVar(name).get_value() or None if name else None


def destination_endpoint(
    destination: Destination, settings: Settings
) -> tuple[str | None, str | None]:
    """(instance, rest endpoint) for a destination: literal values first, then its variables.
    The default variables come from ``Settings``; others through ``dg.EnvVar``."""
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
    if errors:
        raise ConfigError("Invalid Braze destinations:\n- " + "\n- ".join(errors))
    return tuple(parsed)


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
    values: dict[str, Any] = {
        "name": name,
        "is_default": is_default,
        "ledger": name if not is_default else "default",
    }
    for key in ("api_key_env", "rest_endpoint_env", "instance_env"):
        if key in body:
            value = body[key]
            if value is not None and (not isinstance(value, str) or not ENV_PATTERN.match(value)):
                raise ConfigError(
                    f"{where}: {key} must name an environment variable (upper case, e.g. "
                    f"BRAND_B_BRAZE_API_KEY), got {value!r}. Never put the key itself here."
                )
            values[key] = value
    if not is_default and "api_key_env" not in body:
        raise ConfigError(
            f"{where}: set api_key_env to the variable holding this workspace's key (each "
            "workspace has its own key)."
        )
    if body.get("instance") is not None:
        instance = str(body["instance"]).strip().upper()
        if instance not in fields.REST_HOSTS:
            raise ConfigError(
                f"{where}: instance {body['instance']!r} is unknown; use one of {sorted(fields.REST_HOSTS)}."
            )
        values["instance"] = instance
    if body.get("rest_endpoint") is not None:
        try:
            values["rest_endpoint"] = resolve_rest_endpoint(None, str(body["rest_endpoint"]))
        except BrazeConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
    identifier = body.get("identifier", "external_id")
    if identifier not in IDENTIFIER_TYPES:
        raise ConfigError(
            f"{where}: identifier must be one of {list(IDENTIFIER_TYPES)}, got {identifier!r}."
        )
    values["identifier"] = identifier
    if "update_existing_only" in body:
        if not isinstance(body["update_existing_only"], bool):
            raise ConfigError(f"{where}: update_existing_only must be true or false.")
        values["update_existing_only"] = body["update_existing_only"]
    attributes = body.get("attributes", "all")
    if attributes != "all":
        if not isinstance(attributes, list) or not all(
            isinstance(a, str) and a for a in attributes
        ):
            raise ConfigError(f"{where}: attributes must be 'all' or a list of column names.")
        problems = [
            p
            for a in attributes
            if a not in fields.STANDARD_FIELDS and (p := fields.custom_attribute_name_problem(a))
        ]
        if problems:
            raise ConfigError(f"{where}: " + "; ".join(problems))
        values["attributes"] = tuple(attributes)
    if "ledger" in body:
        ledger = body["ledger"]
        if not isinstance(ledger, str) or not re.match(r"^[a-z0-9][a-z0-9_\-/]{0,80}$", ledger):
            raise ConfigError(
                f"{where}: ledger must be a short name like 'brand_b' (lower case, digits, _ - /)."
            )
        values["ledger"] = ledger
    numbers = {
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
    for key, (kind, low, high) in numbers.items():
        if key not in body:
            continue
        value = body[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and not isinstance(value, int))
        ):
            raise ConfigError(f"{where}: {key} must be a number ({kind.__name__}), got {value!r}.")
        if not low <= value <= high:
            raise ConfigError(f"{where}: {key}={value} is outside {low}..{high}.")
        values[key] = kind(value)
    destination = Destination(**values)
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
    return destination
