"""Braze Currents object keys: what a key says about the file behind it.

Two layouts exist (see ``shared/spec/currents.md``)::

    <prefix>/dataexport.<cluster>.<conn>.integration.<id>/event_type=<type>/date=<YYYY-MM-DD-HH>/
        version=<n>/<environment>/dataexport.<cluster>.<conn>.integration.<id>+<partition>+<offset>.avro
    <prefix>/dataexport.<cluster>.<conn>.integration.<id>/event_type=<type>/date=<YYYY-MM-DD-HH>/
        <schema id>/<zone>/dataexport.<cluster>.<conn>.integration.<id>+<partition>+<offset>.avro

Braze warns that naming may change, so the parser anchors on the ``dataexport.`` folder and the
``event_type=``/``date=`` segments, and accepts anything before them as the prefix. Keys taken
from S3 event notifications arrive URL-encoded (``event_type%3D...``, ``%2B0%2B...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

_EXPORT = (
    r"dataexport\.(?P<cluster>[^./]+)\.(?P<connection>[^./]+)\.integration\.(?P<integration>[^/+]+)"
)
_KEY = re.compile(
    r"^(?:(?P<prefix>.*?)/)?"
    + _EXPORT
    + r"/event_type=(?P<event_type>[^/]+)"
    + r"/date=(?P<date>\d{4}-\d{2}-\d{2}-\d{2})"
    + r"/(?:version=(?P<version>\d+)|(?P<schema_id>\d+))"
    + r"/(?P<environment>[^/]+)"
    + r"/(?P<file>[^/]+?\+(?P<partition>\d+)\+(?P<offset>\d+)\.avro)$"
)


@dataclass(frozen=True)
class CurrentsKey:
    """One parsed Currents key. ``hour`` is the UTC hour Braze queued the events in (not the
    event time); ``version`` is set for the current layout, ``schema_id`` for the legacy one."""

    key: str
    prefix: str
    cluster: str
    connection: str
    integration_id: str
    event_type: str
    hour: datetime
    version: int | None
    schema_id: int | None
    environment: str
    partition: int
    offset: int

    @property
    def layout(self) -> str:
        return "current" if self.version is not None else "legacy"


def decode_key(key: str) -> str:
    """The key as stored in S3. Only notification-style keys carry ``%`` escapes; a plain key
    keeps its literal ``+`` separators (decoding it would turn them into spaces)."""
    return unquote_plus(key) if "%" in key else key


def parse_currents_key(key: str) -> CurrentsKey:
    """Parse a Currents key (either layout, URL-encoded or not); ``ValueError`` if it is not one."""
    decoded = decode_key(key)
    match = _KEY.match(decoded)
    if match is None:
        raise ValueError(
            f"{key!r} is not a Braze Currents key: expected .../dataexport.<cluster>.<conn>."
            "integration.<id>/event_type=<type>/date=<YYYY-MM-DD-HH>/(version=<n>|<schema id>)/"
            "<environment>/...+<partition>+<offset>.avro"
        )
    try:
        hour = datetime.strptime(match["date"], "%Y-%m-%d-%H").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{key!r}: date={match['date']} is not a valid UTC hour.") from exc
    return CurrentsKey(
        key=decoded,
        prefix=match["prefix"] or "",
        cluster=match["cluster"],
        connection=match["connection"],
        integration_id=match["integration"],
        event_type=match["event_type"],
        hour=hour,
        version=int(match["version"]) if match["version"] is not None else None,
        schema_id=int(match["schema_id"]) if match["schema_id"] is not None else None,
        environment=match["environment"],
        partition=int(match["partition"]),
        offset=int(match["offset"]),
    )


def try_parse_currents_key(key: str) -> CurrentsKey | None:
    """The parsed key, or None for anything else under the prefix (markers, stray files)."""
    try:
        return parse_currents_key(key)
    except ValueError:
        return None


def currents_key(
    *,
    integration_id: str,
    event_type: str,
    hour: datetime,
    partition: int,
    offset: int,
    version: int | None = 1,
    schema_id: int | None = None,
    environment: str = "prod-01",
    cluster: str = "prod-01",
    prefix: str = "",
) -> str:
    """Build a key in Braze's layout (current when ``version`` is set, else legacy): the sample
    generator and tests write files where Braze would."""
    export = f"dataexport.{cluster}.S3.integration.{integration_id}"
    if version is not None:
        release, offset_text = f"version={version}", str(offset)
    elif schema_id is not None:
        release, offset_text = str(schema_id), f"{offset:010d}"
    else:
        raise ValueError("currents_key needs a version (current layout) or a schema_id (legacy).")
    parts = [
        export,
        f"event_type={event_type}",
        f"date={hour.astimezone(UTC):%Y-%m-%d-%H}",
        release,
        environment,
        f"{export}+{partition}+{offset_text}.avro",
    ]
    return "/".join([prefix.strip("/"), *parts] if prefix.strip("/") else parts)
