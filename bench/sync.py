"""Benchmark of the Braze sync against the emulator (run by hand; not a timed test).

1. capacity: how many /users/track requests of 75 objects a second this machine's emulator
   serves (unlimited, for a few seconds);
2. sustained sync: the emulator limited to 80% of that capacity; the sync must reach >= 95% of
   the limit with <= 1% of requests answered 429 and every request full but the last;
3. diff: one million people x 30 attributes against a ledger holding the previous state;
4. data points sent by an incremental run vs a full resend (the baseline).

The emulator runs in its own process (loopback only) so client and server do not share a GIL.
Usage: python bench/sync.py [--people 60000] [--seconds 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import polars as pl

from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.diff import compute_diff
from amperity_braze_assets.braze.events import EventOptions
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger, LedgerView, apply_segments
from amperity_braze_assets.braze.sync import SyncOptions, run_sync
from amperity_braze_assets.storage.state_store import StateStore

KEY = "bench-key"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # the occurrences' time and the lookback's now


def people(n: int, seed: int = 1, attributes: int = 30) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {"external_id": [f"amp-{i:08d}" for i in range(n)]}
    for k in range(10):
        columns[f"segment_{k}"] = [f"v{x}" for x in rng.integers(0, 1000, n)]
    for k in range(6):
        columns[f"count_{k}"] = rng.integers(0, 100, n)
    for k in range(4):
        columns[f"score_{k}"] = np.round(rng.random(n), 2)
    for k in range(attributes - 20):
        columns[f"audience_{k}"] = rng.random(n) < 0.3
    return pl.DataFrame(columns)


def start_emulator_process(port: int, rate_limit: int, window: float) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "amperity_braze_assets.devtools.emulator",
        "--port",
        str(port),
        "--api-key",
        KEY,
        "--rate-limit",
        str(rate_limit),
        "--window",
        str(window),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    process.stdout.readline()  # "listening on ..."
    return process


def state(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/state", timeout=30) as r:
        return json.loads(r.read())["counters"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_capacity(seconds: float, concurrency: int) -> float:
    port = free_port()
    process = start_emulator_process(port, 10**9, 1.0)
    try:
        frame = people(75 * 4000, seed=9, attributes=30)
        objects = [json.dumps(r) for r in frame.head(75 * 200).to_dicts()]
        bodies = [
            '{"attributes":[' + ",".join(objects[i : i + 75]) + "]}"
            for i in range(0, len(objects), 75)
        ]
        settings = ClientSettings(
            rest_endpoint=f"http://127.0.0.1:{port}",
            rate_limit=10**9,
            rate_window_seconds=1,
            concurrency=concurrency,
        )
        from concurrent.futures import ThreadPoolExecutor

        with BrazeClient(settings, KEY) as client, ThreadPoolExecutor(concurrency) as pool:
            deadline = time.perf_counter() + seconds
            started = time.perf_counter()
            sent = 0

            def worker(offset: int) -> int:
                count = 0
                while time.perf_counter() < deadline:
                    client.track(bodies[(offset + count) % len(bodies)])
                    count += 1
                return count

            sent = sum(pool.map(worker, range(concurrency)))
            return sent / (time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=10)


def bench_events(frame: pl.DataFrame, per_person: int) -> pl.DataFrame:
    """``braze_events`` rows: ``per_person`` occurrences each, purchases and events alternating."""
    ids = frame.get_column("external_id")
    number = pl.int_range(ids.len() * per_person, eager=True).alias("number")
    purchase = pl.col("number") % 2 == 0
    return pl.DataFrame(number).select(
        event_key=pl.lit("k") + pl.col("number").cast(pl.String),
        amperity_id=pl.lit(ids).gather(pl.col("number") // per_person),
        kind=pl.when(purchase).then(pl.lit("purchase")).otherwise(pl.lit("event")),
        name=pl.when(purchase).then(pl.lit("SKU-1")).otherwise(pl.lit("order_placed")),
        time=pl.lit(NOW, pl.Datetime("us", "UTC")),
        currency=pl.when(purchase).then(pl.lit("USD")),
        price=pl.when(purchase).then(pl.lit(19.99)),
        quantity=pl.when(purchase).then(pl.lit(2, pl.Int64)),
        properties=pl.lit('{"order_id":"') + pl.col("number").cast(pl.String) + pl.lit('"}'),
    )


def sustained_sync(
    limit: int, window: float, n: int, concurrency: int, events_per_person: int = 0
) -> dict:
    port = free_port()
    process = start_emulator_process(port, limit, window)
    try:
        with tempfile.TemporaryDirectory() as folder:
            ledger = Ledger(StateStore(base_path=folder), "bench")
            settings = ClientSettings(
                rest_endpoint=f"http://127.0.0.1:{port}",
                rate_limit=limit,
                rate_window_seconds=window,
                concurrency=concurrency,
            )
            with BrazeClient(settings, KEY) as client:
                frame = people(n, seed=2)
                events = bench_events(frame, events_per_person) if events_per_person else None
                choices = EventOptions(now=NOW) if events_per_person else None
                options = SyncOptions(
                    run_id="bench", concurrency=concurrency, event_options=choices
                )
                started = time.perf_counter()
                report = run_sync(frame, ledger, client, options, events=events)
                elapsed = time.perf_counter() - started
        counters = state(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
    send_seconds = report.send_seconds  # the sending phase: diff and compaction excluded
    return {
        "limit_per_s": limit / window,
        "requests": counters["requests"],
        "throttled": counters["throttled"],
        "requests_per_s": report.requests / send_seconds,
        "batches": report.batches,
        "full_batches": sum(1 for s in report.batch_sizes[:-1] if s == 75),
        "last_batch": report.batch_sizes[-1] if report.batch_sizes else 0,
        "accepted": report.accepted,
        "events_accepted": report.events.count("purchase", "accepted")
        + report.events.count("event", "accepted"),
        "seconds": elapsed,
    }


def diff_benchmark(n: int) -> dict:
    frame = people(n, seed=3)
    empty = LedgerView(
        pl.DataFrame(schema={IDENTIFIER: pl.String}),
        pl.DataFrame(schema={IDENTIFIER: pl.String, "object": pl.String}),
    )
    started = time.perf_counter()
    full = compute_diff(frame, empty)
    full_seconds = time.perf_counter() - started
    ledger = LedgerView(apply_segments(empty.accepted, [full.full_segment()]), empty.rejections)
    # 5% of people change one segment, 2% leave an audience.
    rows = pl.int_range(pl.len())
    changed = frame.with_columns(
        pl.when(rows % 20 == 0)
        .then(pl.col("segment_0") + "x")
        .otherwise(pl.col("segment_0"))
        .alias("segment_0"),
        pl.when(rows % 50 == 1).then(False).otherwise(pl.col("audience_0")).alias("audience_0"),
    )
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        incremental = compute_diff(changed, ledger)
        timings.append(time.perf_counter() - started)
    f = incremental.figures
    return {
        "people": n,
        "attributes": frame.width - 1,
        "first_diff_s": full_seconds,
        "incremental_diff_s": min(timings),
        "changed_people": f.changed,
        "data_points": f.data_points,
        "full_resend_data_points": f.full_resend_data_points,
    }


def nested_people(n: int, seed: int = 3) -> pl.DataFrame:
    """``people`` with 27 flat attributes, 2 objects and 1 array of 5 objects: 30 in all."""
    rng = np.random.default_rng(seed)
    flat = people(n, seed=seed, attributes=27)
    base = pl.datetime(2025, 1, 1, time_zone="UTC")
    orders = [
        pl.struct(
            (pl.lit("o") + pl.col("external_id") + f"-{k}").alias("order_id"),
            (base + pl.duration(days=pl.col("count_0") + k)).alias("placed_at"),
            (pl.col("score_0") * 100 + k).round(2).alias("total"),
            pl.lit("web" if k % 2 else "pos").alias("channel"),
        )
        for k in range(5)
    ]
    return flat.with_columns(
        tier=pl.Series([f"t{x}" for x in rng.integers(0, 4, n)]),
        points=pl.Series(rng.integers(0, 10_000, n)),
    ).select(
        pl.exclude("tier", "points"),
        pl.struct("tier", "points", pl.col("count_1").alias("visits")).alias("loyalty"),
        pl.struct(pl.col("segment_1").alias("store"), pl.col("score_1").alias("share")).alias(
            "preferences"
        ),
        pl.concat_list(orders).alias("recent_orders"),
    )


def nested_diff_benchmark(n: int) -> dict:
    """1M people x 30 attributes (2 objects, 1 array of 5 objects) against a ledger of the
    previous state; 5% of people change their array: an element updated, removed or added."""
    frame = nested_people(n)
    empty = LedgerView(
        pl.DataFrame(schema={IDENTIFIER: pl.String}),
        pl.DataFrame(schema={IDENTIFIER: pl.String, "object": pl.String}),
    )
    ledger = LedgerView(
        apply_segments(empty.accepted, [compute_diff(frame, empty).full_segment()]),
        empty.rejections,
    )
    rows = pl.int_range(pl.len()) % 60
    orders = pl.col("recent_orders")
    updated = orders.list.eval(
        pl.element().struct.with_fields(pl.field("total") + 1)
    )  # every element changes: above half, so the full list is cheaper and sent
    one_updated = pl.concat_list(updated.list.slice(0, 1), orders.list.slice(1))
    added = pl.concat_list(
        orders,
        orders.list.slice(0, 1).list.eval(
            pl.element().struct.with_fields(pl.field("order_id") + "-new")
        ),
    )
    changed = frame.with_columns(
        pl.when(rows == 0)
        .then(one_updated)
        .when(rows == 20)
        .then(orders.list.slice(0, 4))
        .when(rows == 40)
        .then(added)
        .otherwise(orders)
        .alias("recent_orders")
    )
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        incremental = compute_diff(changed, ledger)
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    objects = incremental.changes.get_column("__object")
    render_seconds = time.perf_counter() - started
    forms = {
        form: int(objects.str.contains(f'"{form}":[', literal=True).sum())
        for form in ("$remove", "$update")
    }
    forms["full list"] = incremental.figures.changed - sum(forms.values())
    # Everyone's elements in another order and nothing else: no change (the order is not part
    # of the value), found without building anyone's text.
    reordered = frame.with_columns(pl.col("recent_orders").list.reverse())
    started = time.perf_counter()
    unchanged = compute_diff(reordered, ledger)
    reordered_seconds = time.perf_counter() - started
    return {
        "reordered_diff_s": reordered_seconds,
        "reordered_sent": unchanged.height,
        "people": n,
        "attributes": frame.width - 1,
        "incremental_diff_s": min(timings),
        "render_s": render_seconds,
        "changed_people": incremental.figures.changed,
        "forms": forms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=60_000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--diff-people", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    capacity = measure_capacity(args.seconds, args.concurrency)
    limit = max(10, int(capacity * 0.8))
    sync = sustained_sync(limit, 1.0, args.people, args.concurrency)
    diff = diff_benchmark(args.diff_people)
    nested = nested_diff_benchmark(args.diff_people)
    share = sync["requests_per_s"] / sync["limit_per_s"]
    throttled = sync["throttled"] / max(1, sync["requests"])
    rows = [
        ("emulator capacity (req/s, 75 objects)", f"{capacity:.0f}", "measured"),
        ("emulator limit (req/s)", f"{sync['limit_per_s']:.0f}", "80% of capacity"),
        (
            "sync sustained (req/s)",
            f"{sync['requests_per_s']:.0f}",
            f"{share:.1%} of limit (target >= 95%)",
        ),
        (
            "requests answered 429",
            f"{sync['throttled']} / {sync['requests']}",
            f"{throttled:.2%} (target <= 1%)",
        ),
        (
            "batches full (75) but the last",
            f"{sync['full_batches']} / {sync['batches'] - 1}",
            f"last = {sync['last_batch']}",
        ),
        ("people accepted", f"{sync['accepted']:,}", f"in {sync['seconds']:.1f} s"),
        (
            f"diff {diff['people']:,} x {diff['attributes']}: first (all new)",
            f"{diff['first_diff_s']:.2f} s",
            "builds every object",
        ),
        (
            f"diff {diff['people']:,} x {diff['attributes']}: incremental",
            f"{diff['incremental_diff_s']:.2f} s",
            "target <= 3 s",
        ),
        (
            "data points: incremental vs full resend",
            f"{diff['data_points']:,} / {diff['full_resend_data_points']:,}",
            f"ratio {diff['data_points'] / diff['full_resend_data_points']:.4f}",
        ),
        (
            f"diff {nested['people']:,} x {nested['attributes']} with nested values: incremental",
            f"{nested['incremental_diff_s']:.2f} s",
            "2 objects + 1 array of 5 objects, 5% changed; target <= 3 s",
        ),
        (
            "  nested: people sending $remove / $update / the full list",
            " / ".join(f"{v:,}" for v in nested["forms"].values()),
            f"of {nested['changed_people']:,} changed; rendered in {nested['render_s']:.2f} s",
        ),
        (
            "  nested: every array's elements reordered, nothing else",
            f"{nested['reordered_diff_s']:.2f} s",
            f"{nested['reordered_sent']:,} people sent (target 0, <= 3 s)",
        ),
    ]
    # The same limit with two purchases or events per person mixed into the requests (75 objects
    # in all): the event ledger's write-ahead must not cost the rate.
    mixed = sustained_sync(limit, 1.0, args.people, args.concurrency, events_per_person=2)
    mixed_share = mixed["requests_per_s"] / mixed["limit_per_s"]
    rows.insert(
        3,
        (
            "sync sustained, purchases + events mixed (req/s)",
            f"{mixed['requests_per_s']:.0f}",
            f"{mixed_share:.1%} of limit (target >= 95%; attributes only {share:.1%}); "
            f"{mixed['events_accepted']:,} occurrences accepted",
        ),
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)} | value | note")
    for name, value, note in rows:
        print(f"{name.ljust(width)} | {value} | {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
