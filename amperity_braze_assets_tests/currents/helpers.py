"""Hand-made Currents files for the tests: Avro written where Braze would put it."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path

import fastavro

from amperity_braze_assets.currents.keys import currents_key

INTEGRATION = "5a9ee6a1-0000-4000-8000-000000000001"
OPEN = "users.messages.email.Open"
HOUR = datetime(2025, 5, 20, 14, tzinfo=UTC)


def avro_bytes(fields: list[tuple[str, object]], records: list[dict], codec: str = "null") -> bytes:
    schema = {
        "type": "record",
        "name": "Event",
        "fields": [
            {"name": n, "type": t, **({"default": None} if isinstance(t, list) else {})}
            for n, t in fields
        ],
    }
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), records, codec=codec)
    return buffer.getvalue()


def event_key(
    event_type: str = OPEN,
    hour: datetime = HOUR,
    offset: int = 0,
    version: int | None = 1,
    schema_id: int | None = None,
) -> str:
    return currents_key(
        integration_id=INTEGRATION,
        event_type=event_type,
        hour=hour,
        partition=0,
        offset=offset,
        version=version,
        schema_id=schema_id,
    )


def write_file(root: Path, key: str, data: bytes, mtime: datetime | None = None) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def record(event_id: str, at: int, external: str | None = "amp-1", **extra) -> dict:
    return {
        "id": event_id,
        "user_id": "u-" + event_id,
        "external_user_id": external,
        "time": at,
        **extra,
    }


# version 1 of an Open: no message_extras; version 2 inserts it mid-record, drops ip_pool and
# turns email_address nullable.
OPEN_V1 = [
    ("id", "string"),
    ("user_id", "string"),
    ("external_user_id", ["null", "string"]),
    ("time", "int"),
    ("campaign_id", ["null", "string"]),
    ("email_address", "string"),
    ("ip_pool", ["null", "string"]),
]
OPEN_V2 = [
    ("id", "string"),
    ("user_id", "string"),
    ("external_user_id", ["null", "string"]),
    ("time", "long"),
    ("message_extras", ["null", "string"]),
    ("campaign_id", ["null", "string"]),
    ("email_address", ["null", "string"]),
    ("suspected_bot_click_reason", ["null", {"type": "array", "items": "string"}]),
]
