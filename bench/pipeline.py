"""The whole pipeline at scale, stage by stage (run by hand; not a timed test).

    python bench/pipeline.py --customers 650000 6500000

For each size (in its own process, so memory figures do not mix) it generates the sample,
then runs the same domain functions the assets run: sources (read, tag, quarantine), identity
resolution, customer 360 and transaction rollups, audiences and Braze attributes, and the diff
against the ledger (a first sync against an empty ledger, and a daily sync after 1% of people
changed). It prints wall seconds and peak RSS per stage, then how cost grows between sizes next
to what linear and n log n growth would give.

Targets (issue 8, 2 cores / 24 GB): 10M source records through the diff in at most 3 minutes
and 8 GB peak; cost growing no worse than n log n. About 1.56 source records per customer, so
6.4M customers is about 10M records.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

RECORDS_PER_CUSTOMER = 1.56


class PeakRss:
    """Samples this process's resident memory so each stage gets its own peak."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def current() -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(self.interval)

    def reset(self) -> None:
        self.peak = self.current()

    def stop(self) -> None:
        self._stop.set()


def synthetic_engagement(ids: pl.Series, as_of: datetime, seed: int) -> pl.DataFrame:
    """Engagement for 60% of people, shaped like customer_engagement (Currents is benchmarked
    on its own in bench/currents.py)."""
    from amperity_braze_assets.currents.engagement import ENGAGEMENT_SCHEMA

    rng = np.random.default_rng(seed)
    engaged = ids.filter(pl.Series(rng.random(ids.len()) < 0.6))
    k = engaged.len()
    as_of_us = int(as_of.timestamp() * 1_000_000)
    opens = rng.integers(0, 10, k)
    frame = pl.DataFrame(
        {
            "amperity_id": engaged,
            "last_email_open_at": pl.Series(
                as_of_us - rng.integers(0, 400 * 86_400, k) * 1_000_000
            ),
            "last_email_click_at": pl.Series(
                as_of_us - rng.integers(0, 400 * 86_400, k) * 1_000_000
            ),
            "email_opens_30d": opens,
            "email_clicks_30d": opens // 2,
            "email_sends_30d": opens + rng.integers(0, 10, k),
            "email_sends_total": opens * 5,
            "email_bounced": rng.random(k) < 0.02,
            "email_unsubscribed": rng.random(k) < 0.03,
            "email_marked_spam": rng.random(k) < 0.001,
            "last_purchase_in_app_at": pl.Series(
                as_of_us - rng.integers(0, 400 * 86_400, k) * 1_000_000
            ),
        }
    )
    return frame.cast(ENGAGEMENT_SCHEMA)


def run_one(customers: int, seed: int, work_dir: Path) -> dict:
    from amperity_braze_assets.braze.attribute_config import load_attribute_config
    from amperity_braze_assets.braze.attributes import build_braze_attributes
    from amperity_braze_assets.braze.audiences import build_audiences
    from amperity_braze_assets.braze.diff import compute_diff
    from amperity_braze_assets.braze.ledger import IDENTIFIER, LedgerView, apply_segments
    from amperity_braze_assets.config import load_project_config
    from amperity_braze_assets.customer360.merge import merged_customers
    from amperity_braze_assets.customer360.survivorship import parse_survivorship_rules
    from amperity_braze_assets.customer360.transactions import build_customer_transactions
    from amperity_braze_assets.identity import resolve_with_stats
    from amperity_braze_assets.identity.records import identity_records
    from amperity_braze_assets.sample_data import generate_sample_data
    from amperity_braze_assets.settings import load_settings
    from amperity_braze_assets.sources.reader import read_source

    as_of = datetime(2026, 6, 1, tzinfo=UTC)
    stages: list[dict] = []
    rss = PeakRss()

    def stage(name: str, started: float, rows: int) -> None:
        stages.append(
            {
                "stage": name,
                "seconds": time.perf_counter() - started,
                "peak_gib": rss.peak / 2**30,
                "rows": rows,
            }
        )
        rss.reset()

    data_dir = work_dir / f"data_{customers}"
    rss.reset()
    started = time.perf_counter()
    generate_sample_data(data_dir, customers=customers, seed=seed, reference_time=as_of)
    stage("generate sample (not in total)", started, customers)

    settings = load_settings({"AMPERITY_BRAZE_DATA_DIR": str(data_dir)})
    config = load_project_config(settings)
    customer_sources = frozenset(s.name for s in config.customer_sources)

    started = time.perf_counter()
    raw = {
        s.name: read_source(s, settings.data_dir, customer_sources=customer_sources).records
        for s in config.sources
    }
    source_records = sum(raw[s.name].height for s in config.customer_sources)
    stage("sources", started, source_records)

    started = time.perf_counter()
    customer_raw = {s.name: raw[s.name] for s in config.customer_sources}
    identity, stats = resolve_with_stats(identity_records(list(customer_raw.values())))
    stage("identity resolution", started, identity.height)

    started = time.perf_counter()
    rules = parse_survivorship_rules(config.survivorship, set(customer_raw), "sources.yaml")
    people, _ = merged_customers(
        customer_raw, identity, rules, {s.name: s.attributes for s in config.customer_sources}
    )
    orders = pl.concat([raw[s.name] for s in config.transaction_sources], how="diagonal_relaxed")
    transactions = build_customer_transactions(orders, identity, as_of)
    stage("customer 360 + transactions", started, people.height)

    tables = {
        "customer_360": people,
        "customer_transactions": transactions,
        "customer_engagement": synthetic_engagement(people["amperity_id"], as_of, seed),
    }
    mapping = load_attribute_config(config)
    started = time.perf_counter()
    memberships = build_audiences(tables, mapping, as_of).memberships
    attributes, rejects = build_braze_attributes(tables, memberships, mapping, as_of)
    stage("audiences + attributes", started, attributes.height)

    empty = LedgerView(
        pl.DataFrame(schema={IDENTIFIER: pl.String}),
        pl.DataFrame(schema={IDENTIFIER: pl.String, "object": pl.String}),
    )
    started = time.perf_counter()
    first = compute_diff(attributes, empty)
    stage("diff, first sync (empty ledger)", started, first.changes.height)

    ledger = LedgerView(
        apply_segments(empty.accepted, [first.segment(first.changes)]), empty.rejections
    )
    del first
    rows = pl.int_range(pl.len())
    changed = attributes.with_columns(
        pl.when(rows % 100 == 0).then(pl.col("first_name") + "x").otherwise(pl.col("first_name"))
    )
    rss.reset()
    started = time.perf_counter()
    daily = compute_diff(changed, ledger)
    stage("diff, daily (1% changed)", started, daily.changes.height)
    rss.stop()

    pipeline = [s for s in stages if not s["stage"].startswith("generate")]
    return {
        "customers": customers,
        "source_records": source_records,
        "people": people.height,
        "stages": stages,
        "total_seconds": sum(s["seconds"] for s in pipeline if "daily" not in s["stage"]),
        "peak_gib": max(s["peak_gib"] for s in pipeline),
        "jitter": stats.jitter,
    }


def print_run(result: dict) -> None:
    print(
        f"\n== {result['customers']:,} customers: {result['source_records']:,} source records, "
        f"{result['people']:,} people"
    )
    print(f"{'stage':36} {'seconds':>9} {'peak GiB':>9} {'rows':>12}")
    for s in result["stages"]:
        print(f"{s['stage']:36} {s['seconds']:9.1f} {s['peak_gib']:9.2f} {s['rows']:12,}")
    print(
        f"{'total, sources through first diff':36} {result['total_seconds']:9.1f} "
        f"{result['peak_gib']:9.2f}   (targets at 10M records: 180 s, 8 GiB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[650_000, 6_500_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="pipeline_bench_"))
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.seed, work_dir)))
        return 0
    results = []
    for customers in args.customers:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(customers),
                "--seed",
                str(args.seed),
                "--work-dir",
                str(work_dir),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(f"\n== {customers:,} customers: FAILED\n{child.stderr[-3000:]}")
            continue
        result = json.loads(child.stdout.strip().splitlines()[-1])
        results.append(result)
        print_run(result)
    if len(results) >= 2:
        small, large = results[0], results[-1]
        n_ratio = large["source_records"] / small["source_records"]
        nlogn = n_ratio * math.log(large["source_records"]) / math.log(small["source_records"])
        print(
            f"\ngrowth from {small['source_records']:,} to {large['source_records']:,} records "
            f"(x{n_ratio:.1f}): linear x{n_ratio:.1f}, n log n x{nlogn:.1f}"
        )
        for before, after in zip(small["stages"], large["stages"], strict=True):
            ratio = after["seconds"] / before["seconds"] if before["seconds"] else float("nan")
            verdict = "ok" if ratio <= nlogn * 1.15 else "worse than n log n"
            print(f"  {before['stage']:36} x{ratio:6.1f}  {verdict}")
        total = large["total_seconds"] / small["total_seconds"]
        print(
            f"  {'total':36} x{total:6.1f}  {'ok' if total <= nlogn * 1.15 else 'worse than n log n'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
