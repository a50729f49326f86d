"""Sample Braze Currents data: a folder tree in Braze's key layout for a list of people.

What Braze really does, in miniature: email campaigns and Canvases (sends, deliveries, opens,
clicks, hard and soft bounces, unsubscribes, spam reports), push sends and opens, custom events,
purchases, global subscription changes, campaign conversions and Canvas entries. And the rough
edges a reader must survive: the same event in two files (at-least-once delivery), events queued
days after they happened (late, in a newer ``date=`` folder), two ``version=`` releases where the
newer one inserts ``message_extras`` in the middle of the record and turns push ``platform``
nullable, null campaign or Canvas fields and names, anonymous users, ``deflate`` and ``null``
codecs. Same ids, seed and reference time give byte-identical files (and modification times:
each file's mtime is when Braze would have flushed it).
"""

from __future__ import annotations

import io
import json
import os
import random
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import polars as pl

from amperity_braze_assets.currents.keys import currents_key

ASSIGNMENTS_FILE = Path("state/identity/assignments.v1.parquet")
FILE_EVENT_LIMIT = 15_000  # Braze flushes at 15,000 events (or every 5 minutes)
NEWER_VERSION_DAYS = 10  # the last 10 days are written by the newer release
S, NS = "string", ["null", "string"]
NULL_BOOL, NULL_INT = ["null", "boolean"], ["null", "int"]

_COMMON = [("id", S), ("user_id", S), ("external_user_id", NS), ("app_group_id", NS)]
_MESSAGE = [
    ("dispatch_id", NS),
    ("message_extras", NS),  # new in version 2, inserted mid-record
    ("campaign_id", NS),
    ("campaign_name", NS),
    ("message_variation_id", NS),
    ("message_variation_name", NS),
    ("canvas_id", NS),
    ("canvas_name", NS),
    ("canvas_variation_id", NS),
    ("canvas_variation_name", NS),
    ("canvas_step_id", NS),
    ("canvas_step_name", NS),
    ("send_id", NS),
]
_EMAIL = [("time", "int"), ("timezone", NS), *_MESSAGE, ("email_address", S), ("ip_pool", NS)]
_OPEN = [
    ("user_agent", NS),
    ("machine_open", NS),
    ("esp", NS),
    ("is_amp", NULL_BOOL),
    ("device_class", NS),
    ("device_os", NS),
    ("browser", NS),
    ("mailbox_provider", NS),
]
_DEVICE = [("app_id", NS), ("platform", NS), ("os_version", NS), ("device_model", NS)]
SEND, DELIVERY, OPEN, CLICK = (
    f"users.messages.email.{t}" for t in ("Send", "Delivery", "Open", "Click")
)
BOUNCE, SOFT_BOUNCE = "users.messages.email.Bounce", "users.messages.email.SoftBounce"
UNSUBSCRIBE, SPAM = "users.messages.email.Unsubscribe", "users.messages.email.MarkAsSpam"
PUSH_SEND, PUSH_OPEN = (
    "users.messages.pushnotification.Send",
    "users.messages.pushnotification.Open",
)
CUSTOM, PURCHASE = "users.behaviors.CustomEvent", "users.behaviors.Purchase"
STATE_CHANGE = "users.behaviors.subscription.GlobalStateChange"
CONVERSION, CANVAS_ENTRY = "users.campaigns.Conversion", "users.canvas.Entry"

FIELDS: dict[str, list[tuple[str, Any]]] = {
    SEND: [*_COMMON, *_EMAIL, ("from_domain", NS)],
    DELIVERY: [*_COMMON, *_EMAIL, ("sending_ip", NS), ("esp", NS)],
    OPEN: [*_COMMON, *_EMAIL, *_OPEN],
    CLICK: [
        *_COMMON,
        *_EMAIL,
        *_OPEN,
        ("url", NS),
        ("link_id", NS),
        ("link_alias", NS),
        ("is_suspected_bot_click", NULL_BOOL),
        ("suspected_bot_click_reason", ["null", {"type": "array", "items": "string"}]),
    ],
    BOUNCE: [*_COMMON, *_EMAIL, ("sending_ip", NS), ("esp", NS), ("bounce_reason", NS), ("is_drop", NULL_BOOL)],
    SOFT_BOUNCE: [*_COMMON, *_EMAIL, ("sending_ip", NS), ("esp", NS), ("bounce_reason", NS), ("is_drop", NULL_BOOL)],
    UNSUBSCRIBE: [*_COMMON, *_EMAIL],
    SPAM: [*_COMMON, *_EMAIL],
    PUSH_SEND: [*_COMMON, ("time", "int"), ("timezone", NS), ("app_id", S), ("platform", S), *_MESSAGE, ("device_id", NS), ("push_token", NS)],
    PUSH_OPEN: [*_COMMON, ("time", "int"), ("timezone", NS), ("app_id", S), ("platform", NS), *_MESSAGE, ("device_id", NS)],
    CUSTOM: [*_COMMON, ("time", "int"), ("timezone", NS), *_DEVICE, ("device_id", NS), ("name", S), ("properties", S)],
    # Purchase is one of the few schemas whose time is a long.
    PURCHASE: [*_COMMON, ("time", "long"), ("timezone", NS), *_DEVICE, ("product_id", S), ("price", "float"), ("currency", S), ("properties", S)],
    STATE_CHANGE: [*_COMMON, ("time", "int"), ("timezone", NS), ("email_address", NS), ("state_change_source", NS), ("subscription_status", S), ("channel", NS), *_MESSAGE],
    CONVERSION: [*_COMMON, ("time", "int"), ("timezone", NS), ("campaign_id", S), ("campaign_name", NS), ("message_variation_id", NS), ("send_id", NS), ("conversion_behavior_index", NULL_INT), ("conversion_behavior", NS)],
    CANVAS_ENTRY: [*_COMMON, ("time", "int"), ("timezone", NS), ("canvas_id", S), ("canvas_name", NS), ("canvas_variation_id", S), ("canvas_step_id", NS), ("in_control_group", "boolean")],
}  # fmt: skip
# Push Open's platform was required before version 2 (a field that became nullable).
REQUIRED_IN_VERSION_1 = {(PUSH_OPEN, "platform")}
NEW_IN_VERSION_2 = {"message_extras"}
TIMEZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", None]
CUSTOM_EVENT_NAMES = [
    "viewed_product",
    "added_to_cart",
    "started_checkout",
    "searched",
    "app_review",
]


def avro_schema(event_type: str, version: int) -> dict:
    """The writer schema of an event type in a release (1 or 2)."""
    fields = []
    for name, avro_type in FIELDS[event_type]:
        if version < 2 and name in NEW_IN_VERSION_2:
            continue
        if version < 2 and (event_type, name) in REQUIRED_IN_VERSION_1:
            avro_type = next(t for t in avro_type if t != "null")
        field: dict[str, Any] = {"name": name, "type": avro_type}
        if isinstance(avro_type, list) and avro_type[0] == "null":
            field["default"] = None
        fields.append(field)
    record = event_type.rsplit(".", 1)[-1]
    return {"type": "record", "name": record, "namespace": "com.braze.currents", "fields": fields}


def read_sample_external_ids(data_dir: Path) -> list[str]:
    """The amperity ids of a demo data folder (after identity resolution has run), sorted."""
    path = Path(data_dir) / ASSIGNMENTS_FILE
    if not path.exists():
        return []
    return pl.read_parquet(path, columns=["amperity_id"])["amperity_id"].unique().sort().to_list()


def sample_currents_for_data_dir(
    data_dir: Path,
    out_dir: Path | None = None,
    seed: int = 11,
    reference_time: datetime | None = None,
    fallback_people: int = 1_000,
) -> dict:
    """What ``amperity-braze sample-currents --data-dir DIR`` does: Currents files for the
    people identity resolution found in DIR (or ``fallback_people`` made-up ids before it has
    run), under ``out_dir`` (default ``DIR/currents``), relative to ``reference_time`` (default:
    today's start, UTC, as the demo's sample data)."""
    ids = read_sample_external_ids(data_dir) or [
        f"sample-{n:06d}" for n in range(1, fallback_people + 1)
    ]
    reference = reference_time or datetime.now(UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return generate_sample_currents(
        Path(out_dir) if out_dir else Path(data_dir) / "currents",
        ids,
        seed=seed,
        reference_time=reference,
    )


def generate_sample_currents(
    out_dir: str | Path,
    external_ids: list[str],
    seed: int = 11,
    reference_time: datetime | None = None,
    days: int = 45,
    campaigns_per_week: float = 2.5,
) -> dict:
    """Write Currents files for these people under ``out_dir``; return a summary.

    Events span the ``days`` before ``reference_time`` (default: 2025-06-01 UTC, so the output
    depends only on the arguments).
    """
    out_dir = Path(out_dir)
    reference = (reference_time or datetime(2025, 6, 1, tzinfo=UTC)).astimezone(UTC)
    rng = random.Random(seed)
    world = _World(rng, reference, days)
    events: list[tuple[str, int, dict]] = []  # (event type, queue time, record)
    people = [_person(rng, external_id) for external_id in external_ids]
    for message in world.messages(campaigns_per_week):
        for person in people:
            events.extend(world.message_events(message, person))
    for person in people:
        events.extend(world.behavior_events(person))
    duplicates = world.duplicates(events)
    files = _write_tree(out_dir, rng, reference, world.integration_id, events + duplicates)
    late = sum(1 for _, queued, record in events if queued - record["time"] > 3600)
    by_type: dict[str, int] = defaultdict(int)
    for event_type, _, _ in events:
        by_type[event_type] += 1
    return {
        "out_dir": str(out_dir),
        "people": len(people),
        "files": files,
        "events": len(events),
        "duplicate_deliveries": len(duplicates),
        "late_events": late,
        "reference_time": reference.isoformat(),
        "event_types": dict(sorted(by_type.items())),
    }


# -- the simulated world --------------------------------------------------------------------


def _hex(rng: random.Random, digits: int = 24) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _person(rng: random.Random, external_id: str) -> dict:
    anonymous = rng.random() < 0.02  # a Braze user not (yet) identified: no external id
    return {
        "external_user_id": None if anonymous else external_id,
        "user_id": _hex(rng),
        "email": f"{external_id.lower()}@example.com",
        "timezone": rng.choice(TIMEZONES),
        "emailable": rng.random() < 0.9,
        "bouncy": rng.random() < 0.02,
        "engagement": rng.betavariate(1.2, 3.0),
        "has_app": rng.random() < 0.4,
        "platform": rng.choice(["ios", "android"]),
        "device_id": _uuid(rng),
        "unsubscribed_at": None,
    }


class _World:
    def __init__(self, rng: random.Random, reference: datetime, days: int):
        self.rng = rng
        self.end = int(reference.timestamp()) - 6 * 3600  # nothing happens in the last hours
        self.start = int(reference.timestamp()) - days * 86400
        self.cutover = int(reference.timestamp()) - NEWER_VERSION_DAYS * 86400
        self.integration_id = _uuid(rng)
        self.app_group_id = _uuid(rng)
        self.app_id = _uuid(rng)

    def messages(self, per_week: float) -> list[dict]:
        count = max(1, round((self.end - self.start) / 86400 / 7 * per_week))
        messages = []
        for n in range(count):
            at = self.start + (n + 1) * (self.end - self.start) // (count + 1)
            canvas = n % 3 == 2  # a third of messages come from a Canvas step
            named = self.rng.random() > 0.1  # names are null just after a rename
            channel = "push" if n % 4 == 3 else "email"
            messages.append(
                {
                    "at": at - at % 86400 + 15 * 3600,  # sent at 15:00 UTC
                    "channel": channel,
                    "dispatch_id": _hex(self.rng),
                    "campaign_id": None if canvas else _hex(self.rng),
                    "campaign_name": None if canvas or not named else f"Campaign {n + 1}",
                    "message_variation_id": None if canvas else _uuid(self.rng),
                    "message_variation_name": None if canvas else "Variant A",
                    "canvas_id": _hex(self.rng) if canvas else None,
                    "canvas_name": (f"Journey {n + 1}" if named else None) if canvas else None,
                    "canvas_variation_id": _uuid(self.rng) if canvas else None,
                    "canvas_variation_name": "Variant 1" if canvas else None,
                    "canvas_step_id": _uuid(self.rng) if canvas else None,
                    "canvas_step_name": "Step 1" if canvas else None,
                    "reach": self.rng.uniform(0.5, 0.9),
                }
            )
        return messages

    def _base(self, person: dict, at: int) -> dict:
        return {
            "id": _uuid(self.rng),
            "user_id": person["user_id"],
            "external_user_id": person["external_user_id"],
            "app_group_id": self.app_group_id,
            "time": at,
            "timezone": person["timezone"],
        }

    def _queued(self, at: int) -> int:
        return at + self.rng.randint(1, 90)

    def message_events(self, message: dict, person: dict) -> list[tuple[str, int, dict]]:
        rng = self.rng
        if rng.random() > message["reach"]:
            return []
        sent_at = message["at"] + rng.randint(0, 1200)
        fields = {k: v for k, v in message.items() if k not in ("at", "channel", "reach")}
        fields["send_id"] = None
        fields["message_extras"] = json.dumps({"offer": "SUMMER10"}) if rng.random() < 0.2 else None
        if message["channel"] == "push":
            return self._push_events(fields, person, sent_at)
        if not person["emailable"] or person["unsubscribed_at"]:
            return []
        return self._email_events(message, person, fields, sent_at)

    def _email_events(
        self, message: dict, person: dict, fields: dict, sent_at: int
    ) -> list[tuple[str, int, dict]]:
        """An email's send and delivery (or bounce), a rare spam report, and if the person
        engages, what follows the open."""
        rng = self.rng
        email = {"email_address": person["email"], "ip_pool": None, **fields}
        out: list[tuple[str, int, dict]] = []
        if message["canvas_id"]:
            out.append(self._canvas_entry(message, person, sent_at - 5))
        send = {**self._base(person, sent_at), **email, "from_domain": "mail.example.com"}
        out.append((SEND, self._queued(sent_at), send))
        delivered_at = sent_at + rng.randint(1, 30)
        delivery_like = {**email, "sending_ip": "192.0.2.10", "esp": "sendgrid"}
        if person["bouncy"] or rng.random() < 0.01:
            out.append(self._bounce(person, delivered_at, delivery_like))
            return out
        out.append(
            (
                DELIVERY,
                self._queued(delivered_at),
                {**self._base(person, delivered_at), **delivery_like},
            )
        )
        if rng.random() < 0.001:
            spam_at = delivered_at + rng.randint(600, 86400)
            out.append((SPAM, self._queued(spam_at), {**self._base(person, spam_at), **email}))
        if rng.random() > 0.15 + 0.6 * person["engagement"]:
            return out
        return out + self._open_events(message, person, email, fields, delivered_at)

    def _canvas_entry(self, message: dict, person: dict, at: int) -> tuple[str, int, dict]:
        entry = self._base(person, at)
        entry.update(
            canvas_id=message["canvas_id"],
            canvas_name=message["canvas_name"],
            canvas_variation_id=message["canvas_variation_id"],
            canvas_step_id=message["canvas_step_id"],
            in_control_group=self.rng.random() < 0.1,
        )
        return (CANVAS_ENTRY, self._queued(at), entry)

    def _bounce(self, person: dict, at: int, delivery_like: dict) -> tuple[str, int, dict]:
        """A hard bounce for a bouncy address, else a soft one (mailbox full)."""
        kind = BOUNCE if person["bouncy"] else SOFT_BOUNCE
        bounce = {
            **self._base(person, at),
            **delivery_like,
            "bounce_reason": "550 5.1.1 mailbox unavailable"
            if kind == BOUNCE
            else "452 4.2.2 mailbox full",
            "is_drop": False,
        }
        return (kind, self._queued(at), bounce)

    def _open_events(
        self, message: dict, person: dict, email: dict, fields: dict, delivered_at: int
    ) -> list[tuple[str, int, dict]]:
        """The open, and after it perhaps a conversion, a click, an unsubscribe."""
        rng = self.rng
        open_at = min(delivered_at + int(rng.expovariate(1 / 10800)), self.end)
        open_fields = {
            **email,
            "user_agent": "Mozilla/5.0",
            "machine_open": "true" if rng.random() < 0.3 else None,
            "esp": "sendgrid",
            "is_amp": False,
            "device_class": rng.choice(["desktop", "mobile", None]),
            "device_os": None,
            "browser": rng.choice(["Chrome", "Safari", None]),
            "mailbox_provider": rng.choice(["Gmail", "Yahoo", "Outlook"]),
        }
        out = [(OPEN, self._queued(open_at), {**self._base(person, open_at), **open_fields})]
        if rng.random() < 0.05:
            conv_at = open_at + rng.randint(60, 7200)
            if message["campaign_id"]:
                out.append(self._conversion(message, person, conv_at))
        if rng.random() < 0.3:
            click_at = open_at + int(rng.expovariate(1 / 600))
            bot = rng.random() < 0.05
            click = {
                **self._base(person, click_at),
                **open_fields,
                "url": "https://shop.example.com/summer",
                "link_id": "l1",
                "link_alias": "hero" if rng.random() < 0.5 else None,
                "is_suspected_bot_click": bot,
                "suspected_bot_click_reason": ["user_agent", "timing"] if bot else None,
            }
            out.append((CLICK, self._queued(click_at), click))
        if rng.random() < 0.01:
            out.extend(self._unsubscribe(person, email, fields, open_at + rng.randint(30, 600)))
        return out

    def _conversion(self, message: dict, person: dict, at: int) -> tuple[str, int, dict]:
        conversion = {
            **self._base(person, at),
            "campaign_id": message["campaign_id"],
            "campaign_name": message["campaign_name"],
            "message_variation_id": message["message_variation_id"],
            "send_id": None,
            "conversion_behavior_index": 0,
            "conversion_behavior": json.dumps({"type": "purchase"}),
        }
        return (CONVERSION, self._queued(at), conversion)

    def _unsubscribe(
        self, person: dict, email: dict, fields: dict, at: int
    ) -> list[tuple[str, int, dict]]:
        """The unsubscribe and the subscription state change a second later; the person gets
        no more email."""
        person["unsubscribed_at"] = at
        unsubscribe = (UNSUBSCRIBE, self._queued(at), {**self._base(person, at), **email})
        change = {
            **self._base(person, at + 1),
            **fields,
            "email_address": person["email"],
            "state_change_source": "Unsubscribe Link",
            "subscription_status": "Unsubscribed",
            "channel": "email",
        }
        return [unsubscribe, (STATE_CHANGE, self._queued(at + 1), change)]

    def _push_events(self, fields: dict, person: dict, sent_at: int) -> list:
        if not person["has_app"]:
            return []
        rng = self.rng
        device = {
            "app_id": self.app_id,
            "platform": person["platform"],
            "device_id": person["device_id"],
        }
        push = {**fields, **device}
        out = [
            (
                PUSH_SEND,
                self._queued(sent_at),
                {**self._base(person, sent_at), **push, "push_token": _hex(rng, 32)},
            )
        ]
        if rng.random() < 0.12 + 0.3 * person["engagement"]:
            open_at = min(sent_at + int(rng.expovariate(1 / 3600)), self.end)
            opened = {**self._base(person, open_at), **push}
            if open_at >= self.cutover and rng.random() < 0.1:
                opened["platform"] = None  # nullable from version 2 on
            out.append((PUSH_OPEN, self._late_or_queued(open_at), opened))
        return out

    def _late_or_queued(self, at: int) -> int:
        # An offline device queues its events until it is back online: a newer date= folder.
        if self.rng.random() < 0.04:
            return min(at + self.rng.randint(2 * 3600, 4 * 86400), self.end + 5 * 3600)
        return self._queued(at)

    def behavior_events(self, person: dict) -> list[tuple[str, int, dict]]:
        rng = self.rng
        out: list[tuple[str, int, dict]] = []
        device = {
            "app_id": self.app_id if person["has_app"] else None,
            "platform": person["platform"] if person["has_app"] else "web",
            "os_version": "17.4" if person["platform"] == "ios" else "14",
            "device_model": None,
        }
        for _ in range(int(rng.expovariate(1 / (1 + 6 * person["engagement"])))):
            at = rng.randint(self.start, self.end)
            name = rng.choice(CUSTOM_EVENT_NAMES)
            custom = {
                **self._base(person, at),
                **device,
                "device_id": person["device_id"] if person["has_app"] else None,
                "name": name,
                "properties": json.dumps({"sku": f"SKU-{rng.randint(1, 500)}"}),
            }
            out.append((CUSTOM, self._late_or_queued(at), custom))
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 3)):
                at = rng.randint(self.start, self.end)
                purchase = {
                    **self._base(person, at),
                    **device,
                    "product_id": f"SKU-{rng.randint(1, 500)}",
                    "price": round(rng.uniform(5, 250), 2),
                    "currency": "USD",
                    "properties": json.dumps({"channel": device["platform"]}),
                }
                out.append((PURCHASE, self._late_or_queued(at), purchase))
        if person["unsubscribed_at"] and rng.random() < 0.2:
            at = min(person["unsubscribed_at"] + rng.randint(86400, 10 * 86400), self.end)
            resubscribe = {
                **self._base(person, at),
                **dict.fromkeys(k for k, _ in _MESSAGE),
                "email_address": person["email"],
                "state_change_source": "Preference Center",
                "subscription_status": "Subscribed",
                "channel": "email",
            }
            out.append((STATE_CHANGE, self._queued(at), resubscribe))
        return out

    def duplicates(self, events: list) -> list[tuple[str, int, dict]]:
        """About 2% of events delivered a second time, an hour later, in another file."""
        return [
            (event_type, queued + 3600 + self.rng.randint(0, 600), record)
            for event_type, queued, record in events
            if self.rng.random() < 0.02
        ]


# -- writing --------------------------------------------------------------------------------


def _write_tree(
    out_dir: Path, rng: random.Random, reference: datetime, integration_id: str, events: list
) -> int:
    cutover = int(reference.timestamp()) - NEWER_VERSION_DAYS * 86400
    grouped: dict[tuple[str, int, int], list[tuple[int, dict]]] = defaultdict(list)
    for event_type, queued, record in sorted(events, key=lambda e: (e[1], e[2]["id"])):
        version = 2 if queued >= cutover else 1
        grouped[(event_type, queued - queued % 3600, version)].append((queued, record))
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    schemas: dict[tuple[str, int], Any] = {}
    files = 0
    for (event_type, hour, version), queued_records in sorted(grouped.items()):
        for start in range(0, len(queued_records), FILE_EVENT_LIMIT):
            chunk = [record for _, record in queued_records[start : start + FILE_EVENT_LIMIT]]
            last_queued = queued_records[start : start + FILE_EVENT_LIMIT][-1][0]
            partition = files % 2
            offset = offsets[(event_type, partition)]
            offsets[(event_type, partition)] += len(chunk)
            key = currents_key(
                integration_id=integration_id,
                event_type=event_type,
                hour=datetime.fromtimestamp(hour, UTC),
                partition=partition,
                offset=offset,
                version=version,
            )
            if (event_type, version) not in schemas:
                schemas[(event_type, version)] = fastavro.parse_schema(
                    avro_schema(event_type, version)
                )
            codec = "null" if files % 3 == 0 else "deflate"
            buffer = io.BytesIO()
            fastavro.writer(
                buffer,
                schemas[(event_type, version)],
                chunk,
                codec=codec,
                sync_marker=rng.getrandbits(128).to_bytes(16, "big"),
            )
            flushed_at = min(hour + 3600, last_queued + 300)  # Braze flushes every 5 minutes
            _write_atomically(out_dir / key, buffer.getvalue(), flushed_at)
            files += 1
    return files


def _write_atomically(path: Path, data: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.utime(tmp, (mtime, mtime))
    os.replace(tmp, path)
