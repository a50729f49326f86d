"""A strict Braze REST emulator on loopback: ``POST /users/track``, ``POST /users/merge`` and
``GET /custom_attributes``.

It enforces ``shared/spec/braze-api.md`` through ``emulator_rules.py``, written from the spec and
not from ``fields.py``: the code that builds attributes is judged by rules it does not share. It
keeps the profiles it was sent and counts what a bill would count.
Tests start it in a thread (``start_emulator``); users try the project without a Braze account
with ``amperity-braze emulator`` (``main``).

Faults are drawn from one seeded generator in request-arrival order, so a seed reproduces the
same number of 5xx answers, slow answers and dropped connections for the same traffic. A dropped
connection is dropped *after* the update was applied: that is the case a client cannot tell from
a failure and must not count as accepted.

Where the spec is silent we choose, and say so here:
- an object with ``_update_existing_only`` whose profile does not exist is rejected with an error
  entry (so a client records it instead of believing it applied); a ``braze_id`` Braze never
  assigned is rejected the same way whatever ``_update_existing_only`` says: Braze assigns
  braze_ids, so one can only name an existing profile;
- with ``strict_names`` (default) a custom attribute that shadows a standard field (``birthday``)
  is rejected, because in our pipeline it is always a mapping bug;
- ``email`` or ``phone`` identify an object only when it has no ``external_id``, ``braze_id`` or
  ``user_alias`` (email first); the profile updated is the most recently updated one holding that
  value, and a new one is created when none does (``_update_existing_only`` defaults to false,
  as for ``external_id``; it defaults to true for ``user_alias``, as the spec says);
- ``POST /users/identify`` (``aliases_to_identify``, at most 50) follows braze.com: an alias-only
  profile gains the ``external_id`` when no profile has it, else its fields missing on the
  identified profile are copied there, the alias moves there and the alias-only profile goes;
  an alias already on a profile with an ``external_id``, or an identified profile already
  holding an alias with that label, is left as it is (Braze: one alias per label). Unknown
  aliases are ignored and the request is still answered 201 with ``aliases_processed``;
- ``subscription_groups`` must be an array of ``{"subscription_group_id": <UUID>,
  "subscription_state": "subscribed" | "unsubscribed"}``; each group's state is kept per profile
  (a send names only the groups it changes), never billed;
- ``/users/merge`` fills the survivor's missing attributes from the absorbed profile (the
  survivor's own values win) and removes the absorbed profile; if the survivor does not exist
  the absorbed profile takes its identifier.

The workspace schema (``GET /custom_attributes``) lists the seeded attributes
(``custom_attributes``: name, data type, status) and every custom name ``/users/track`` has
written, typed by its first value, 50 a page in name order, the next page in the ``Link`` header.
A value sent to a blocklisted attribute is dropped without an error entry, as Braze documents
("no new requests for the attribute will be processed"): the object is still applied and
answered 201, the blocklisted value is neither stored nor billed, and ``blocklisted_dropped``
counts it. Keys: ``api_key`` holds every permission; ``key_permissions`` adds keys with only
the permissions listed (401 for an unknown key, 403 for a known key without the permission).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import datetime as dt
import json
import math
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from amperity_braze_assets.devtools import emulator_rules as rules

STATE_PATH = "/_emulator/state"


@dataclass
class EmulatorOptions:
    """How the emulator behaves; every default follows the spec."""

    api_key: str
    rate_limit: int = rules.RATE_LIMIT_REQUESTS
    window_seconds: float = rules.RATE_LIMIT_WINDOW_SECONDS
    max_objects: int = rules.MAX_OBJECTS_PER_REQUEST
    legacy_per_array_limit: bool = False
    max_body_bytes: int = rules.MAX_BODY_BYTES
    # Fault injection, drawn per /users/track request from one seeded generator.
    seed: int = 0
    fault_5xx: float = 0.0
    drop_after_apply: float = 0.0
    slow_share: float = 0.0
    slow_ms: float = 0.0
    # Exact request numbers (1-based, /users/track only) that fail or drop: for tests.
    fail_requests: frozenset[int] = frozenset()
    drop_requests: frozenset[int] = frozenset()
    # Request numbers (/users/track) applied and then answered by a gateway with this status
    # (502 or 504): the case a client cannot tell from a 503 by the code's class alone.
    gateway_requests: frozenset[int] = frozenset()
    gateway_status: int = 504
    # "epoch": X-RateLimit-Reset is the UTC epoch second the window ends; "delay": seconds left.
    reset_header: str = "epoch"
    strict_names: bool = True
    echo_key_on_401: bool = True  # like some Braze bodies: clients must redact
    clock: Callable[[], float] = time.time
    max_merges: int = rules.MAX_MERGES_PER_REQUEST
    # The workspace schema: attributes it has before any write ({"name", "data_type",
    # "status"?, "description"?, "tag_names"?, "array_length"?}), and other keys' permissions.
    custom_attributes: tuple[dict[str, Any], ...] = ()
    key_permissions: dict[str, frozenset[str]] = field(default_factory=dict)
    schema_page_size: int = rules.CUSTOM_ATTRIBUTES_PAGE_SIZE
    schema_rate_limit: int = rules.CUSTOM_ATTRIBUTES_HOURLY_LIMIT
    schema_window_seconds: float = rules.CUSTOM_ATTRIBUTES_WINDOW_SECONDS


@dataclass
class Counters:
    requests: int = 0  # every request to /users/track, whatever its answer
    accepted_requests: int = 0  # 201s
    throttled: int = 0  # 429s
    server_errors: int = 0  # injected 5xx
    dropped: int = 0  # connections dropped after apply
    slow: int = 0
    client_errors: int = 0  # 4xx other than 429
    objects: int = 0  # objects applied
    rejected_objects: int = 0
    # Billed values: attributes written (not identifiers nor subscriptions), events, purchases.
    data_points: int = 0
    merge_requests: int = 0
    merges: int = 0
    schema_requests: int = 0  # GET /custom_attributes answered 200
    blocklisted_dropped: int = 0  # values sent to a blocklisted attribute, dropped silently
    identify_requests: int = 0  # POST /users/identify answered 201
    identified: int = 0  # aliases identified: gained an external_id or joined its profile
    events: int = 0  # custom event objects applied (each one a new event: no deduplication)
    purchases: int = 0  # purchase objects applied
    # Nested values not applied, the request still answered 201 (spec: nested attributes):
    nested_invalid_dropped: int = 0  # dropped with the request's invalid nested value
    nested_too_large_dropped: int = 0  # would have passed 100 KB: the attribute stays as it was

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Profile:
    braze_id: str
    external_id: str | None = None
    alias: tuple[str, str] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    # Every alias the profile holds, label -> name (one per label: Braze's rule).
    aliases: dict[str, str] = field(default_factory=dict)
    # subscription_group_id -> subscribed | unsubscribed, as the sends left it.
    subscription_groups: dict[str, str] = field(default_factory=dict)
    updated: int = 0  # the order of the last write: "most recently updated" among duplicates
    # Events and purchases as Braze files them, in arrival order (a double send shows twice).
    occurrences: list[dict[str, Any]] = field(default_factory=list)


class _ObjectRejected(Exception):
    pass


class EmulatorState:
    """Profiles, counters and the rate-limit window, behind one lock."""

    def __init__(self, options: EmulatorOptions):
        self.options = options
        self.lock = threading.Lock()
        self._drop_nested = False  # the request being applied holds an invalid nested value
        self.counters = Counters()
        self._rng = random.Random(options.seed)
        self._profiles: dict[str, _Profile] = {}  # braze_id -> profile
        self._by_external: dict[str, str] = {}
        self._by_alias: dict[tuple[str, str], str] = {}
        self._next_braze_id = 1
        self._writes = 0  # /users/track writes so far, to order profiles by their last update
        self._window_start = self._window_of(options.clock())
        self._window_used = 0
        # Per /users/track request: the identifiers of the objects it applied (tests read it).
        self.applied_log: list[list[str]] = []
        self._schema: dict[str, dict[str, Any]] = {}
        for seeded in options.custom_attributes:
            self.define_attribute(**seeded)
        self._schema_window_start = self._window_of(options.clock(), options.schema_window_seconds)
        self._schema_window_used = 0

    # -- rate limit --------------------------------------------------------------------------------
    def _window_of(self, now: float, width: float | None = None) -> float:
        width = width or self.options.window_seconds
        return math.floor(now / width) * width

    def take_rate_slot(self) -> tuple[bool, dict[str, str]]:
        """Count one request against the fixed window; the headers every response carries."""
        with self.lock:
            now = self.options.clock()
            start = self._window_of(now)
            if start != self._window_start:
                self._window_start, self._window_used = start, 0
            allowed = self._window_used < self.options.rate_limit
            if allowed:
                self._window_used += 1
            return allowed, self._headers_locked(now)

    def rate_headers(self) -> dict[str, str]:
        with self.lock:
            now = self.options.clock()
            if self._window_of(now) != self._window_start:
                self._window_start, self._window_used = self._window_of(now), 0
            return self._headers_locked(now)

    def _headers_locked(self, now: float) -> dict[str, str]:
        reset_at = self._window_start + self.options.window_seconds
        reset = reset_at if self.options.reset_header == "epoch" else max(0.0, reset_at - now)
        return {
            "X-RateLimit-Limit": str(self.options.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.options.rate_limit - self._window_used)),
            "X-RateLimit-Reset": f"{reset:.3f}".rstrip("0").rstrip("."),
        }

    # -- faults -----------------------------------------------------------------------------------
    def draw_faults(self) -> tuple[int, bool, bool, bool]:
        """(request number, fail with 5xx, drop after apply, answer slowly) for the next request."""
        with self.lock:
            self.counters.requests += 1
            number = self.counters.requests
            fail = (
                self._rng.random() < self.options.fault_5xx or number in self.options.fail_requests
            )
            drop = (
                self._rng.random() < self.options.drop_after_apply
                or number in self.options.drop_requests
            )
            slow = self._rng.random() < self.options.slow_share
            return number, fail, drop and not fail, slow

    # -- /users/track -----------------------------------------------------------------------------
    def apply_track(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        arrays = {name: body.get(name) for name in ("attributes", "events", "purchases")}
        for name, items in arrays.items():
            if items is not None and not isinstance(items, list):
                return 400, {"message": f"'{name}' must be an array"}
        sizes = {name: len(items or []) for name, items in arrays.items()}
        limit = self.options.max_objects
        over = (
            any(size > limit for size in sizes.values())
            if self.options.legacy_per_array_limit
            else sum(sizes.values()) > limit
        )
        if over:
            return 400, {"message": "Max Input Length Exceeded"}
        if sum(sizes.values()) == 0:
            return 400, {"message": "nothing to process: send attributes, events or purchases"}
        errors: list[dict[str, Any]] = []
        processed = {name: 0 for name in arrays}
        applied_ids: list[str] = []
        with self.lock:
            self._drop_nested = _has_invalid_nested_value(arrays["attributes"] or [])
            for name, items in arrays.items():
                for index, item in enumerate(items or []):
                    try:
                        identity = self._apply_object(name, item)
                    except _ObjectRejected as exc:
                        errors.append({"type": str(exc), "input_array": name, "index": index})
                        self.counters.rejected_objects += 1
                        continue
                    processed[name] += 1
                    applied_ids.append(identity)
                    self.counters.objects += 1
            self.applied_log.append(applied_ids)
        if not applied_ids:
            return 400, {"message": "no valid objects", "errors": errors}
        answer: dict[str, Any] = {"message": "success"}
        for name in arrays:
            if arrays[name] is not None:
                answer[f"{name}_processed"] = processed[name]
        if errors:
            answer["errors"] = errors
        return 201, answer

    def _apply_object(self, array: str, item: Any) -> str:
        if not isinstance(item, dict):
            raise _ObjectRejected("object is not a JSON object")
        present = [key for key in rules.IDENTIFIER_FIELDS if key in item]
        if len(present) > 1:
            raise _ObjectRejected(
                "more than one primary identifier (external_id, braze_id, user_alias)"
            )
        if not present:  # email, then phone, identify only without a primary identifier
            present = [k for k in rules.SECONDARY_IDENTIFIER_FIELDS if item.get(k) is not None]
        if not present:
            raise _ObjectRejected(
                "missing identifier: external_id, braze_id, user_alias, email or phone"
            )
        id_field = present[0]
        id_value = item[id_field]
        if id_field == "user_alias":
            problem = rules.alias_problem(id_value)
            if problem:
                raise _ObjectRejected(problem)
        elif id_field in rules.SECONDARY_IDENTIFIER_FIELDS and isinstance(id_value, str):
            problem = rules.standard_value_problem(id_field, id_value)
            if problem:
                raise _ObjectRejected(problem)
        elif not isinstance(id_value, str) or not id_value:
            raise _ObjectRejected(f"{id_field} must be a non-empty string")
        elif id_field == "external_id" and len(id_value.encode()) > rules.MAX_EXTERNAL_ID_BYTES:
            raise _ObjectRejected("external_id too large")
        update_only = item.get("_update_existing_only", id_field == "user_alias")
        if not isinstance(update_only, bool):
            raise _ObjectRejected("_update_existing_only must be true or false")
        if array != "attributes":
            return self._apply_occurrence(array, item, id_field, id_value, update_only)
        updates = {k: v for k, v in item.items() if k not in rules.IDENTIFIER_FIELDS}
        merge_objects = updates.pop("_merge_objects", False) is True
        updates.pop("_update_existing_only", None)
        for name, value in updates.items():
            problem = self._value_problem(name, value)
            if problem:
                raise _ObjectRejected(problem)
        profile = self._profile_for(id_field, id_value, update_only)
        groups = updates.pop("subscription_groups", None)
        for entry in groups or []:
            profile.subscription_groups[entry["subscription_group_id"]] = entry[
                "subscription_state"
            ]
        self._touch(profile)
        dropped = {name for name in updates if self._blocklisted(name)}
        self.counters.blocklisted_dropped += len(dropped)
        updates = {k: v for k, v in updates.items() if k not in dropped}
        new_attributes = dict(profile.attributes)
        for name, value in updates.items():
            if (
                name not in rules.OTHER_STANDARD_FIELDS
                and rules.is_nested_value(value)
                and not self._apply_nested(new_attributes, name, value, merge_objects)
            ):
                continue
            _apply_value(new_attributes, name, value, merge_objects)
            self._register(name, value)
        profile.attributes = new_attributes
        self.counters.data_points += sum(1 for n in updates if n not in rules.NOT_BILLED)
        return self._label(id_field, id_value)

    def _profile_for(self, id_field: str, id_value: Any, update_only: bool) -> _Profile:
        """The profile an object updates: found, or created unless Braze would not."""
        profile = self._find(id_field, id_value)
        if profile is None:
            if update_only:
                raise _ObjectRejected(
                    f"no profile with this {id_field} and _update_existing_only is true"
                )
            if id_field == "braze_id":
                raise _ObjectRejected("braze_id does not exist")
            profile = self._create(id_field, id_value)
        return profile

    def _apply_occurrence(
        self, array: str, item: dict[str, Any], id_field: str, id_value: Any, update_only: bool
    ) -> str:
        """An event or purchase, checked as Braze checks it and filed on its profile (created
        for a new external_id unless ``_update_existing_only``)."""
        problem = (rules.event_problem if array == "events" else rules.purchase_problem)(item)
        problem = problem or rules.properties_size_problem(array, item)
        if problem:
            raise _ObjectRejected(problem)
        profile = self._profile_for(id_field, id_value, update_only)
        now = dt.datetime.fromtimestamp(self.options.clock(), dt.UTC)
        filed = {k: copy.deepcopy(v) for k, v in item.items() if k not in rules.IDENTIFIER_FIELDS}
        filed.pop("_update_existing_only", None)
        filed["time"] = rules.occurrence_time(item["time"], now)
        filed["array"] = array
        profile.occurrences.append(filed)
        if array == "events":
            self.counters.events += 1
        else:
            self.counters.purchases += 1
        # braze.com, Data points: each custom event and each purchase recorded is one.
        self.counters.data_points += 1
        return self._label(id_field, id_value)

    def _apply_nested(
        self, attributes: dict[str, Any], name: str, value: Any, merge_objects: bool
    ) -> bool:
        """Whether a nested value may be applied: not when the request holds an invalid nested
        value (every nested update of it is dropped), nor when the result would pass 100 KB
        (that update is dropped and the attribute stays as it was)."""
        if self._drop_nested:
            self.counters.nested_invalid_dropped += 1
            return False
        trial = {name: copy.deepcopy(attributes[name])} if name in attributes else {}
        _apply_value(trial, name, value, merge_objects)
        if rules.nested_size(trial.get(name)) > rules.MAX_NESTED_VALUE_BYTES:
            self.counters.nested_too_large_dropped += 1
            return False
        return True

    # -- the workspace schema ----------------------------------------------------------------------
    def define_attribute(
        self,
        name: str,
        data_type: str,
        status: str = rules.ACTIVE,
        description: str | None = None,
        tag_names: tuple[str, ...] | list[str] = (),
        array_length: int | None = None,
    ) -> None:
        """Add or replace a custom attribute as the dashboard would (seeded, or blocklisted)."""
        self._schema[name] = {
            "array_length": array_length,
            "data_type": data_type,
            "description": description,
            "name": name,
            "status": status,
            "tag_names": list(tag_names),
        }

    def _blocklisted(self, name: str) -> bool:
        known = self._schema.get(name)
        return known is not None and known["status"] == rules.BLOCKLISTED

    def _register(self, name: str, value: Any) -> None:
        """A custom name written for the first time becomes an attribute of its value's type."""
        if name in self._schema or name in rules.STANDARD_RULES:
            return
        if name in rules.OTHER_STANDARD_FIELDS or name in rules.OBJECT_SWITCHES:
            return
        data_type = rules.data_type_of(value)
        if data_type is not None:
            self.define_attribute(name, data_type)

    def take_schema_slot(self) -> bool:
        """One request against GET /custom_attributes' own hourly window."""
        with self.lock:
            width = self.options.schema_window_seconds
            start = self._window_of(self.options.clock(), width)
            if start != self._schema_window_start:
                self._schema_window_start, self._schema_window_used = start, 0
            if self._schema_window_used >= self.options.schema_rate_limit:
                return False
            self._schema_window_used += 1
            return True

    def schema_page(self, offset: int) -> tuple[list[dict[str, Any]], int | None]:
        """One page of attributes in name order, and the next page's offset (None: last)."""
        size = self.options.schema_page_size
        with self.lock:
            names = sorted(self._schema)
            page = [copy.deepcopy(self._schema[n]) for n in names[offset : offset + size]]
            self.counters.schema_requests += 1
        return page, (offset + size if offset + size < len(names) else None)

    def schema(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._schema)

    @staticmethod
    def _label(id_field: str, id_value: Any) -> str:
        if id_field == "user_alias":
            return f"alias:{id_value['alias_label']}:{id_value['alias_name']}"
        return id_value

    def _value_problem(self, name: str, value: Any) -> str | None:
        if name == "subscription_groups":
            return rules.subscription_groups_problem(value)
        if name in rules.STANDARD_RULES:
            return rules.standard_value_problem(name, value)
        if name in rules.OTHER_STANDARD_FIELDS:
            return None
        problem = rules.custom_name_problem(name, refuse_near_misses=self.options.strict_names)
        return problem or rules.custom_value_problem(name, value)

    def _find(self, id_field: str, id_value: Any) -> _Profile | None:
        if id_field == "external_id":
            key = self._by_external.get(id_value)
        elif id_field == "braze_id":
            key = id_value if id_value in self._profiles else None
        elif id_field in rules.SECONDARY_IDENTIFIER_FIELDS:
            return self._latest_holding(id_field, id_value)
        else:
            key = self._by_alias.get((id_value["alias_name"], id_value["alias_label"]))
        return self._profiles.get(key) if key else None

    def _create(self, id_field: str, id_value: Any) -> _Profile:
        braze_id = f"emu{self._next_braze_id:010d}"
        self._next_braze_id += 1
        profile = _Profile(braze_id=braze_id)
        if id_field == "external_id":
            profile.external_id = id_value
            self._by_external[id_value] = braze_id
        elif id_field == "user_alias":
            profile.alias = (id_value["alias_name"], id_value["alias_label"])
            profile.aliases[id_value["alias_label"]] = id_value["alias_name"]
            self._by_alias[profile.alias] = braze_id
        elif id_field in rules.SECONDARY_IDENTIFIER_FIELDS:
            profile.attributes[id_field] = id_value
        self._profiles[braze_id] = profile
        return profile

    def add_profile(self, external_id: str | None, attributes: dict[str, Any]) -> str:
        with self.lock:
            if external_id is not None and external_id in self._by_external:
                raise ValueError(f"a profile with external_id {external_id!r} exists")
            profile = (
                self._create("external_id", external_id)
                if external_id is not None
                else self._create("braze_id", None)  # anonymous: no other identifier
            )
            profile.attributes.update(copy.deepcopy(attributes))
            self._touch(profile)
            return profile.braze_id

    # -- /users/merge -----------------------------------------------------------------------------
    def apply_merge(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        updates = body.get("merge_updates")
        if not isinstance(updates, list) or not updates:
            return 400, {"message": "merge_updates must be a non-empty array"}
        if len(updates) > self.options.max_merges:
            return 400, {"message": f"at most {self.options.max_merges} merges a request"}
        parsed = []
        for update in updates:
            try:
                absorbed = update["identifier_to_merge"]["external_id"]
                survivor = update["identifier_to_keep"]["external_id"]
            except (KeyError, TypeError):
                return 400, {
                    "message": "each merge needs identifier_to_merge and identifier_to_keep "
                    "with an external_id"
                }
            if not isinstance(absorbed, str) or not isinstance(survivor, str):
                return 400, {"message": "external_id values must be strings"}
            parsed.append((absorbed, survivor))
        with self.lock:
            self.counters.merge_requests += 1
            for absorbed, survivor in parsed:
                self._merge(absorbed, survivor)
        return 202, {"message": "success"}

    def _merge(self, absorbed: str, survivor: str) -> None:
        absorbed_key = self._by_external.get(absorbed)
        if absorbed_key is None or absorbed == survivor:
            return
        absorbed_profile = self._profiles[absorbed_key]
        survivor_key = self._by_external.get(survivor)
        del self._by_external[absorbed]
        if survivor_key is None:
            absorbed_profile.external_id = survivor
            self._by_external[survivor] = absorbed_key
        else:
            kept = self._profiles[survivor_key]
            for name, value in absorbed_profile.attributes.items():
                kept.attributes.setdefault(name, copy.deepcopy(value))
            kept.occurrences.extend(absorbed_profile.occurrences)
            del self._profiles[absorbed_key]
        self.counters.merges += 1

    # -- /users/identify, email and phone lookup --------------------------------------------------
    def _touch(self, profile: _Profile) -> None:
        self._writes += 1
        profile.updated = self._writes

    def _latest_holding(self, field_name: str, value: str) -> _Profile | None:
        """The profile Braze updates by email or phone: among profiles holding that value, the
        most recently updated (braze.com: with duplicates, the most recently updated profile
        is prioritized); None when no profile holds it (a new one is then created)."""
        holding = [p for p in self._profiles.values() if p.attributes.get(field_name) == value]
        return max(holding, key=lambda p: p.updated) if holding else None

    def apply_identify(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        entries = body.get("aliases_to_identify")
        if not isinstance(entries, list) or not entries:
            return 400, {"message": "aliases_to_identify must be a non-empty array"}
        if len(entries) > rules.MAX_IDENTIFIES_PER_REQUEST:
            return 400, {"message": f"at most {rules.MAX_IDENTIFIES_PER_REQUEST} aliases a request"}
        pairs = []
        for entry in entries:
            external_id = entry.get("external_id") if isinstance(entry, dict) else None
            if not isinstance(external_id, str) or not external_id:
                return 400, {"message": "each alias to identify needs an external_id string"}
            problem = rules.alias_problem(entry.get("user_alias"))
            if problem:
                return 400, {"message": problem}
            alias = entry["user_alias"]
            pairs.append((external_id, alias["alias_name"], alias["alias_label"]))
        with self.lock:
            self.counters.identify_requests += 1
            for external_id, name, label in pairs:
                self._identify(external_id, name, label)
        return 201, {"message": "success", "aliases_processed": len(pairs)}

    def _identify(self, external_id: str, name: str, label: str) -> None:
        """braze.com /users/identify: an alias-only profile gains the external_id when no profile
        has it; otherwise the fields only the alias profile holds are copied to the identified
        one (its own values win), the alias moves there and the alias-only profile is removed.
        Not combined: an unknown alias, an alias whose profile already has an external_id, or an
        identified profile already holding an alias with that label (Braze: one per label)."""
        alias_key = self._by_alias.get((name, label))
        if alias_key is None or self._profiles[alias_key].external_id is not None:
            return
        alias_profile = self._profiles[alias_key]
        known_key = self._by_external.get(external_id)
        if known_key is None:
            alias_profile.external_id = external_id
            self._by_external[external_id] = alias_key
            self.counters.identified += 1
            return
        kept = self._profiles[known_key]
        if label in kept.aliases:
            return
        for attribute, value in alias_profile.attributes.items():
            kept.attributes.setdefault(attribute, copy.deepcopy(value))
        for group, state in alias_profile.subscription_groups.items():
            kept.subscription_groups.setdefault(group, state)
        for alias_label, alias_name in alias_profile.aliases.items():
            kept.aliases[alias_label] = alias_name
            self._by_alias[(alias_name, alias_label)] = known_key
        kept.alias = kept.alias or alias_profile.alias
        del self._profiles[alias_key]
        self.counters.identified += 1

    def aliases(self) -> dict[str, dict[str, str]]:
        """Each profile's aliases (label -> name), keyed as ``profiles`` keys them."""
        with self.lock:
            return {(p.external_id or p.braze_id): dict(p.aliases) for p in self._profiles.values()}

    def subscription_groups(self) -> dict[str, dict[str, str]]:
        """Each profile's subscription group states, keyed as ``profiles`` keys them."""
        with self.lock:
            return {
                (p.external_id or p.braze_id): dict(p.subscription_groups)
                for p in self._profiles.values()
            }

    # -- views --------------------------------------------------------------------------------------
    def profiles(self) -> dict[str, dict[str, Any]]:
        """Profiles keyed by external_id (else braze_id), attributes only."""
        with self.lock:
            return {
                (p.external_id or p.braze_id): copy.deepcopy(p.attributes)
                for p in self._profiles.values()
            }

    def profiles_by_braze_id(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {p.braze_id: copy.deepcopy(p.attributes) for p in self._profiles.values()}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            counters = self.counters.as_dict()
        return {"profiles": self.profiles(), "counters": counters, **self.occurrences()}

    def occurrences(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """``{"events": {profile: [...]}, "purchases": {profile: [...]}}``, profiles keyed as
        ``profiles`` keys them, each list in arrival order."""
        with self.lock:
            found: dict[str, dict[str, list[dict[str, Any]]]] = {"events": {}, "purchases": {}}
            for profile in self._profiles.values():
                for filed in profile.occurrences:
                    entry = {k: copy.deepcopy(v) for k, v in filed.items() if k != "array"}
                    key = profile.external_id or profile.braze_id
                    found[filed["array"]].setdefault(key, []).append(entry)
            return found


def _has_invalid_nested_value(objects: list[Any]) -> bool:
    return any(
        rules.nested_value_problem(name, value) is not None
        for item in objects
        if isinstance(item, dict)
        for name, value in item.items()
        if name not in rules.IDENTIFIER_FIELDS
        and name not in rules.OTHER_STANDARD_FIELDS  # subscription_groups, current_location
        and rules.is_nested_value(value)
    )


def _deep_merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and "$time" not in value:
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _apply_array_operations(current: Any, value: dict[str, Any], merge_objects: bool) -> list:
    """Braze's order: $add (appended, an id already there is not checked), then $remove (every
    element whose key has the value), then $update (every match; merged into the element with
    ``_merge_objects``, else the element is replaced by ``$new_object``)."""
    elements = copy.deepcopy(current) if isinstance(current, list) else []
    elements += copy.deepcopy(value.get("$add", []))
    for item in value.get("$remove", []):
        key, wanted = item["$identifier_key"], item["$identifier_value"]
        elements = [e for e in elements if not (isinstance(e, dict) and e.get(key) == wanted)]
    for item in value.get("$update", []):
        key, wanted, new = item["$identifier_key"], item["$identifier_value"], item["$new_object"]
        elements = [
            (_deep_merge(e, new) if merge_objects else copy.deepcopy(new))
            if isinstance(e, dict) and e.get(key) == wanted
            else e
            for e in elements
        ]
    return elements


def _apply_value(attributes: dict[str, Any], name: str, value: Any, merge_objects: bool) -> None:
    if value is None:
        attributes.pop(name, None)
        return
    if isinstance(value, dict) and value and set(value) <= set(rules.ARRAY_OPERATIONS):
        attributes[name] = _apply_array_operations(attributes.get(name), value, merge_objects)
        return
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        attributes[name] = copy.deepcopy(value)  # an array of objects: a list, not a set
        return
    if isinstance(value, dict) and "inc" in value and set(value) == {"inc"}:
        current = attributes.get(name, 0)
        if isinstance(current, bool) or not isinstance(current, int | float):
            current = 0
        attributes[name] = current + value["inc"]
        return
    if (
        isinstance(value, dict)
        and set(value) & {"add", "remove"}
        and set(value) <= {"add", "remove"}
    ):
        current = attributes.get(name)
        members = list(current) if isinstance(current, list) else []
        for element in value.get("add", []):
            if element not in members:
                members.append(element)
        removed = value.get("remove", [])
        members = [m for m in members if m not in removed]
        attributes[name] = members
        return
    if isinstance(value, list):
        unique: list[Any] = []
        for element in value:  # arrays are sets: duplicates collapse
            if element not in unique:
                unique.append(element)
        attributes[name] = unique
        return
    if isinstance(value, dict) and merge_objects and isinstance(attributes.get(name), dict):
        attributes[name] = _deep_merge(attributes[name], value)  # spec: a deep merge
        return
    attributes[name] = copy.deepcopy(value)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a pooled client reuses connections
    server: _EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests and benchmarks read counters, not access logs

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        remaining, chunks = length, []
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _authorized(self, path: str) -> bool:
        """401 for a key the workspace does not know, 403 for a key without the route's
        permission; True when the request may go on."""
        state = self.server.state
        options = state.options
        presented = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if presented == options.api_key:
            return True
        permissions = options.key_permissions.get(presented) if presented else None
        if permissions is None:
            message = (
                f"Invalid API key: {presented}" if options.echo_key_on_401 else "Invalid API key"
            )
            status = 401
        elif rules.PERMISSIONS[path] not in permissions:
            message = f"The API key lacks the {rules.PERMISSIONS[path]} permission"
            status = 403
        else:
            return True
        with state.lock:
            state.counters.client_errors += 1
        self._reply(status, {"message": message}, state.rate_headers())
        return False

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        state = self.server.state
        parts = urlsplit(self.path)
        if self.path == STATE_PATH:
            self._reply(200, state.snapshot(), {})
        elif parts.path == rules.CUSTOM_ATTRIBUTES_PATH:
            if self._authorized(parts.path):
                self._custom_attributes(parse_qs(parts.query).get("cursor", [None])[0])
        else:
            self._reply(404, {"message": "not found"}, state.rate_headers())

    def _custom_attributes(self, cursor: str | None) -> None:
        state = self.server.state
        if not state.take_schema_slot():
            self._reply(429, {"message": "rate limit exceeded"}, {"Retry-After": "60"})
            return
        offset = _offset_of(cursor)
        if offset is None:
            self._reply(400, {"message": f"invalid cursor {cursor!r}"}, {})
            return
        page, next_offset = state.schema_page(offset)
        headers = {}
        if next_offset is not None:
            host = self.headers.get("Host") or "127.0.0.1"
            url = f"http://{host}{rules.CUSTOM_ATTRIBUTES_PATH}?cursor={_cursor(next_offset)}"
            headers["Link"] = f'<{url}>; rel="next"'
        self._reply(200, {"message": "success", "attributes": page}, headers)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        state = self.server.state
        options = state.options
        body = self._read_body()
        if self.path not in (rules.TRACK_PATH, rules.MERGE_PATH, rules.IDENTIFY_PATH):
            self._reply(404, {"message": f"no route {self.path}"}, state.rate_headers())
            return
        if not self._authorized(self.path):
            return
        if self.path == rules.MERGE_PATH:
            self._merge(body)
            return
        if self.path == rules.IDENTIFY_PATH:
            self._identify(body)
            return
        allowed, headers = state.take_rate_slot()
        number, fail, drop, slow = state.draw_faults()
        if not allowed:
            with state.lock:
                state.counters.throttled += 1
            self._reply(429, {"message": "rate limit exceeded"}, headers)
            return
        if fail:
            with state.lock:
                state.counters.server_errors += 1
            self._reply(503, {"message": f"injected failure on request {number}"}, headers)
            return
        status, payload = self._track(body, headers)
        if number in options.gateway_requests:
            with state.lock:
                state.counters.server_errors += 1
            self._reply(options.gateway_status, {"message": "gateway: no answer upstream"}, headers)
            return
        if status == 201 and drop:
            with state.lock:
                state.counters.dropped += 1
            # Applied, but the client never learns it: close without a word.
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if slow and options.slow_ms > 0:
            with state.lock:
                state.counters.slow += 1
            time.sleep(options.slow_ms / 1000)
        self._reply(status, payload, headers)

    def _track(self, body: bytes | None, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        state = self.server.state
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            outcome = 415, {"message": "Content-Type must be application/json"}
        elif body is not None and len(body) > state.options.max_body_bytes:
            outcome = 413, {"message": "request body over 4 MB"}
        else:
            try:
                parsed = json.loads(body or b"")
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                outcome = 400, {"message": "invalid JSON body"}
            else:
                outcome = state.apply_track(parsed)
        status, _ = outcome
        if status == 201:
            with state.lock:
                state.counters.accepted_requests += 1
        else:
            with state.lock:
                state.counters.client_errors += 1
        return outcome

    def _merge(self, body: bytes | None) -> None:
        self._apply_json(body, self.server.state.apply_merge)

    def _identify(self, body: bytes | None) -> None:
        self._apply_json(body, self.server.state.apply_identify)

    def _apply_json(
        self, body: bytes | None, apply: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
    ) -> None:
        """An unpaced identity endpoint: a JSON object applied, else 400."""
        state = self.server.state
        try:
            parsed = json.loads(body or b"")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            self._reply(400, {"message": "invalid JSON body"}, state.rate_headers())
            return
        status, payload = apply(parsed)
        self._reply(status, payload, state.rate_headers())


def _cursor(offset: int) -> str:
    """Braze's documented cursor ``c2tpcDow`` is base64 of ``skip:0``: ours has that form."""
    return base64.urlsafe_b64encode(f"skip:{offset}".encode()).decode()


def _offset_of(cursor: str | None) -> int | None:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "skip" and number.isdigit() else None


class _EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: EmulatorState):
        super().__init__(address, _Handler)
        self.state = state


class EmulatorHandle:
    """A running emulator: ``url``, ``profiles``, ``counters``, ``stop()``; a context manager."""

    def __init__(self, server: _EmulatorServer, thread: threading.Thread):
        self._server = server
        self._thread = thread
        self.state = server.state
        host, port = server.server_address[:2]
        self.port = port
        self.url = f"http://{host}:{port}"

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        return self.state.profiles()

    @property
    def counters(self) -> Counters:
        with self.state.lock:
            return copy.copy(self.state.counters)

    @property
    def options(self) -> EmulatorOptions:
        return self.state.options

    @property
    def schema(self) -> dict[str, dict[str, Any]]:
        """The workspace's custom attributes as GET /custom_attributes lists them, by name."""
        return self.state.schema()

    def define_attribute(self, name: str, data_type: str, **details: Any) -> None:
        """Add or change an attribute as the dashboard would (e.g. ``status="Blocklisted"``)."""
        with self.state.lock:
            self.state.define_attribute(name, data_type, **details)

    def add_profile(self, external_id: str | None = None, **attributes: Any) -> str:
        """A profile made elsewhere (an app's SDK, another tool), as a test's starting point;
        without ``external_id`` an anonymous one, reachable by its ``braze_id`` only. Returns
        the ``braze_id``."""
        return self.state.add_profile(external_id, attributes)

    def profiles_by_braze_id(self) -> dict[str, dict[str, Any]]:
        """Every profile's attributes by its braze_id (``profiles`` prefers the external_id)."""
        return self.state.profiles_by_braze_id()

    def aliases(self) -> dict[str, dict[str, str]]:
        """Each profile's aliases (label -> name), keyed by external_id, else braze_id."""
        return self.state.aliases()

    def subscription_groups(self) -> dict[str, dict[str, str]]:
        """Each profile's subscription group states, keyed by external_id, else braze_id."""
        return self.state.subscription_groups()

    @property
    def events(self) -> dict[str, list[dict[str, Any]]]:
        """The custom events Braze holds, per profile (external_id, else braze_id)."""
        return self.state.occurrences()["events"]

    @property
    def purchases(self) -> dict[str, list[dict[str, Any]]]:
        """The purchases Braze holds, per profile (external_id, else braze_id)."""
        return self.state.occurrences()["purchases"]

    def applied_ids(self) -> list[list[str]]:
        """For each /users/track request, the identifiers whose objects it applied."""
        with self.state.lock:
            return [list(ids) for ids in self.state.applied_log]

    def configure(self, **changes: Any) -> None:
        """Change options while running (e.g. turn faults off for the rerun of a test)."""
        with self.state.lock:
            for name, value in changes.items():
                if not hasattr(self.state.options, name):
                    raise TypeError(f"unknown emulator option {name!r}")
                setattr(self.state.options, name, value)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(
    api_key: str, port: int = 0, host: str = "127.0.0.1", **options: Any
) -> EmulatorHandle:
    """Serve the emulator from a daemon thread; ``port=0`` picks a free port."""
    for name in ("fail_requests", "drop_requests"):
        if name in options:
            options[name] = frozenset(options[name])
    if "custom_attributes" in options:
        options["custom_attributes"] = tuple(options["custom_attributes"])
    state = EmulatorState(EmulatorOptions(api_key=api_key, **options))
    server = _EmulatorServer((host, port), state)
    thread = threading.Thread(target=server.serve_forever, name="braze-emulator", daemon=True)
    thread.start()
    return EmulatorHandle(server, thread)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amperity-braze emulator",
        description="A strict Braze /users/track emulator on 127.0.0.1 (state at GET /_emulator/state).",
    )
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--api-key", required=True, help="the bearer key clients must present")
    parser.add_argument("--rate-limit", type=int, default=rules.RATE_LIMIT_REQUESTS)
    parser.add_argument("--window", type=float, default=rules.RATE_LIMIT_WINDOW_SECONDS)
    parser.add_argument("--max-objects", type=int, default=rules.MAX_OBJECTS_PER_REQUEST)
    parser.add_argument("--legacy-per-array", action="store_true")
    parser.add_argument("--fault-5xx", type=float, default=0.0, help="share of requests failing")
    parser.add_argument("--drop-after-apply", type=float, default=0.0)
    parser.add_argument("--slow-ms", type=float, default=0.0)
    parser.add_argument("--slow-share", type=float, default=None, help="default 1 if --slow-ms")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reset-header", choices=("epoch", "delay"), default="epoch")
    parser.add_argument(
        "--custom-attribute",
        action="append",
        default=[],
        type=_seeded_attribute,
        metavar="NAME:TYPE[:Blocklisted]",
        help="an attribute the workspace already has, e.g. loyaltyTier:String or "
        "old_score:Number:Blocklisted (repeat for more)",
    )
    return parser


def _seeded_attribute(text: str) -> dict[str, Any]:
    name, _, rest = text.partition(":")
    data_type, _, status = rest.partition(":")
    if not name or not data_type or status not in ("", rules.ACTIVE, rules.BLOCKLISTED):
        raise argparse.ArgumentTypeError(
            f"--custom-attribute {text!r}: write NAME:TYPE or NAME:TYPE:Blocklisted, e.g. "
            "loyaltyTier:String"
        )
    return {"name": name, "data_type": data_type, "status": status or rules.ACTIVE}


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    slow_share = args.slow_share if args.slow_share is not None else (1.0 if args.slow_ms else 0.0)
    return {
        "rate_limit": args.rate_limit,
        "window_seconds": args.window,
        "max_objects": args.max_objects,
        "legacy_per_array_limit": args.legacy_per_array,
        "fault_5xx": args.fault_5xx,
        "drop_after_apply": args.drop_after_apply,
        "slow_ms": args.slow_ms,
        "slow_share": slow_share,
        "seed": args.seed,
        "reset_header": args.reset_header,
        "custom_attributes": tuple(args.custom_attribute),
    }


def main(argv: Iterable[str] | None = None) -> int:
    """``amperity-braze emulator``: serve until interrupted."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    handle = start_emulator(args.api_key, port=args.port, **options_from_args(args))
    print(f"Braze emulator listening on {handle.url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
