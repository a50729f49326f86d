"""Benchmark: reading Braze Currents Avro files, three ways, on a tree of at least 1M events.

    .venv/bin/python bench/currents.py [--events 1000000] [--tree /tmp/currents_bench_tree]

The tree holds email Send, Open and Click files in Braze's layout, in two ``version=``
releases (the newer inserts ``message_extras`` mid-record), ``null`` and ``deflate`` codecs,
15,000 events per file and 2% of events delivered twice. It is built once and reused.

Printed side by side (events/s, higher is better):
- fastavro: decoding each file to Python records (the reference named in issue 6);
- polars read_avro: each file to a frame, nothing else;
- ours: ``read_currents_files`` per event type, i.e. decode, line up by field name across
  versions, convert ``time`` and deduplicate on ``id``: the tables, ready to append.
Target: ours at least 3x fastavro.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fastavro
import polars as pl

from amperity_braze_assets.currents.keys import currents_key
from amperity_braze_assets.currents.reader import read_currents_files
from amperity_braze_assets.devtools.sample_currents import CLICK, OPEN, SEND, avro_schema

FILE_EVENTS = 15_000
EVENT_TYPES = (SEND, OPEN, CLICK)


def _record(rng: random.Random, fields: list[str], at: int, n: int) -> dict:
    record = {name: None for name in fields}
    record.update(
        id=f"{rng.getrandbits(128):032x}",
        user_id=f"{rng.getrandbits(96):024x}",
        external_user_id=f"amp-{rng.randrange(200_000):07d}",
        app_group_id="3f2c1d7a-1b2c-4d5e-8f90-123456789abc",
        time=at,
        timezone="America/New_York",
        dispatch_id=f"d{n % 40}",
        campaign_id=f"c{n % 40}" if n % 3 else None,
        campaign_name=f"Campaign {n % 40}" if n % 3 else None,
        canvas_id=None if n % 3 else f"cv{n % 40}",
        send_id=None,
        email_address=f"p{rng.randrange(10**6)}@example.com",
    )
    if "user_agent" in record:
        record.update(user_agent="Mozilla/5.0", esp="sendgrid", is_amp=False, browser="Chrome")
    if "url" in record:
        record.update(url="https://shop.example.com/x", link_id="l1", is_suspected_bot_click=False)
    if "message_extras" in record and n % 5 == 0:
        record["message_extras"] = '{"offer":"SUMMER10"}'
    return record


def build_tree(root: Path, events: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    files = -(-events // FILE_EVENTS)
    start = datetime(2025, 5, 1, tzinfo=UTC)
    written = 0
    previous: list[dict] = []
    for n in range(files):
        event_type = EVENT_TYPES[n % len(EVENT_TYPES)]
        version = 1 if n < files // 2 else 2
        schema = avro_schema(event_type, version)
        names = [f["name"] for f in schema["fields"]]
        hour = start + timedelta(hours=n // len(EVENT_TYPES))
        at = int(hour.timestamp())
        count = min(FILE_EVENTS, events - written)
        records = [_record(rng, names, at + i % 3600, n) for i in range(count)]
        # 2% re-delivered from the previous file of the same type (at-least-once)
        if previous and n >= len(EVENT_TYPES):
            records[: count // 50] = [{k: r.get(k) for k in names} for r in previous[: count // 50]]
        previous = records if n % len(EVENT_TYPES) == len(EVENT_TYPES) - 1 else previous
        key = currents_key(
            integration_id="bench",
            event_type=event_type,
            hour=hour,
            partition=0,
            offset=written,
            version=version,
        )
        buffer = io.BytesIO()
        fastavro.writer(
            buffer, fastavro.parse_schema(schema), records, codec="deflate" if n % 2 else "null"
        )
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        written += count
    (root / "EVENTS").write_text(str(written))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tree", type=Path, default=Path("/tmp/currents_bench_tree"))
    args = parser.parse_args()
    marker = args.tree / "EVENTS"
    if not marker.exists() or int(marker.read_text()) != args.events:
        print(f"Building a tree of {args.events:,} events in {args.tree} ...")
        build_tree(args.tree, args.events)
    paths = {t: sorted(args.tree.rglob(f"event_type={t}/**/*.avro")) for t in EVENT_TYPES}
    all_paths = [p for group in paths.values() for p in group]
    contents = {p: p.read_bytes() for p in all_paths}  # warm the page cache for every reader

    started = time.perf_counter()
    decoded = 0
    for path in all_paths:
        for _ in fastavro.reader(io.BytesIO(contents[path])):
            decoded += 1
    fastavro_seconds = time.perf_counter() - started

    started = time.perf_counter()
    rows = sum(pl.read_avro(io.BytesIO(contents[p])).height for p in all_paths)
    polars_seconds = time.perf_counter() - started
    assert rows == decoded

    started = time.perf_counter()
    tables = {t: read_currents_files(group) for t, group in paths.items()}
    ours_seconds = time.perf_counter() - started
    kept = sum(t.height for t in tables.values())

    reference = decoded / fastavro_seconds
    print(f"\n{len(all_paths)} files, {decoded:,} events, {decoded - kept:,} duplicates dropped\n")
    print(f"{'reader':<44} {'seconds':>8} {'events/s':>12} {'vs fastavro':>12}")
    for name, seconds in (
        ("fastavro, records", fastavro_seconds),
        ("polars read_avro per file", polars_seconds),
        ("ours: read_currents_files (dedup, by name)", ours_seconds),
    ):
        rate = decoded / seconds
        print(f"{name:<44} {seconds:>8.2f} {rate:>12,.0f} {rate / reference:>11.1f}x")


if __name__ == "__main__":
    main()
