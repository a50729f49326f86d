"""The whole pipeline at scale, stage by stage (run by hand; not a timed test).

    python bench/pipeline.py --customers 650000 6500000

For each size it generates the sample (kept in --work-dir and reused by a later run), then runs
the same domain functions the assets run, each stage in a fresh process that reads its inputs
from Parquet and writes its outputs to Parquet, as a Dagster step does: sources (read, tag,
quarantine), customer records (normalize once), identity resolution, customer 360, transaction
rollups, audiences and Braze attributes, and the diff against the ledger (a first sync against
an empty ledger, rendering every object, and a daily sync after 1% of people changed). It
prints wall seconds and peak RSS per stage, then how cost grows between sizes next to what
linear and n log n growth would give.

Targets (issue 8, 2 cores / 24 GB): 10M source records through the diff in at most 3 minutes
and 8 GB peak; cost growing no worse than n log n. About 1.56 source records per customer, so
6.4M customers is about 10M records.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

RECORDS_PER_CUSTOMER = 1.56


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


def _stage_sources(ctx: dict) -> int:
    from amperity_braze_assets.sources.reader import read_source

    config, settings = ctx["config"], ctx["settings"]
    customer_sources = frozenset(s.name for s in config.customer_sources)
    records = 0
    for source in config.sources:
        frame = read_source(source, settings.data_dir, customer_sources=customer_sources).records
        ctx["write"](f"raw_{source.name}", frame)
        if source.name in customer_sources:
            records += frame.height
    return records


def _stage_customer_records(ctx: dict) -> int:
    from amperity_braze_assets.identity.records import customer_records

    raw = [ctx["read"](f"raw_{s.name}") for s in ctx["config"].customer_sources]
    records = customer_records(raw)
    ctx["write"]("customer_records", records)
    return records.height


def _stage_identity(ctx: dict) -> int:
    from amperity_braze_assets.identity import resolve_with_stats
    from amperity_braze_assets.identity.features import matched_columns

    columns = matched_columns(pl.read_parquet_schema(ctx["path"]("customer_records")))
    run = resolve_with_stats(ctx["read"]("customer_records", columns), normalized=True)
    ctx["write"]("identity_resolution", run.output)
    ctx["extra"]["people"] = run.stats.clusters.people
    return run.output.height


def _stage_customer_360(ctx: dict) -> int:
    from amperity_braze_assets.customer360.merge import attribute_input_columns, merged_customers
    from amperity_braze_assets.customer360.survivorship import IDENTITY_LINK_COLUMNS

    config = ctx["config"]
    rules = config.survivorship_rules
    raw = {
        s.name: ctx["read"](f"raw_{s.name}", attribute_input_columns(s.attributes))
        for s in config.customer_sources
        if s.attributes
    }
    people, _ = merged_customers(
        raw,
        ctx["read"]("customer_records"),
        ctx["read"]("identity_resolution", IDENTITY_LINK_COLUMNS),
        rules,
        {s.name: s.attributes for s in config.customer_sources},
    )
    ctx["write"]("customer_360", people)
    return people.height


def _stage_transactions(ctx: dict) -> int:
    from amperity_braze_assets.customer360.survivorship import IDENTITY_LINK_COLUMNS
    from amperity_braze_assets.customer360.transactions import ORDER_COLUMNS, transaction_rollups

    sources = ctx["config"].transaction_sources
    orders = pl.concat(
        [ctx["read"](f"raw_{s.name}", ORDER_COLUMNS) for s in sources], how="diagonal_relaxed"
    )
    identity = ctx["read"]("identity_resolution", IDENTITY_LINK_COLUMNS)
    # As the asset calls it: the rollups and the unmatched count from one join.
    rollups, _ = transaction_rollups(orders, identity, AS_OF, distinct=len(sources) <= 1)
    ctx["write"]("customer_transactions", rollups)
    return rollups.height


def _stage_attributes(ctx: dict) -> int:
    from amperity_braze_assets.activation.attributes import build_braze_attributes
    from amperity_braze_assets.activation.audiences import build_audiences
    from amperity_braze_assets.activation.config import load_attribute_config

    tables = {
        name: ctx["read"](name)
        for name in ("customer_360", "customer_transactions", "customer_engagement")
    }
    mapping = load_attribute_config(ctx["config"])
    memberships = build_audiences(tables, mapping, AS_OF).memberships
    attributes, _ = build_braze_attributes(tables, memberships, mapping, AS_OF)
    ctx["write"]("braze_customer_attributes", attributes)
    return attributes.height


def _empty_ledger():
    from amperity_braze_assets.braze.ledger import IDENTIFIER, LedgerView

    return LedgerView(
        pl.DataFrame(schema={IDENTIFIER: pl.String}),
        pl.DataFrame(schema={IDENTIFIER: pl.String, "object": pl.String}),
    )


def _stage_first_diff(ctx: dict) -> int:
    from amperity_braze_assets.braze.diff import compute_diff

    first = compute_diff(ctx["read"]("braze_customer_attributes"), _empty_ledger())
    ctx["extra"]["object_bytes"] = _render_all(first)
    # What the sync leaves once Braze accepted everything: the next stage's ledger (untimed).
    ctx["untimed"](lambda: ctx["write"]("ledger_segment", first.full_segment()))
    return first.height


def _render_all(diff) -> int:
    """Bytes of every object the sync would send, rendered chunk by chunk as the sync renders
    them: the diff is not done until every object exists."""
    from amperity_braze_assets.braze.diff import OBJECT

    return sum(int(c.get_column(OBJECT).str.len_bytes().sum()) for c in diff.chunks())


def _stage_daily_diff(ctx: dict) -> int:
    from amperity_braze_assets.braze.diff import compute_diff
    from amperity_braze_assets.braze.ledger import LedgerView, apply_segments

    empty = _empty_ledger()
    ledger = LedgerView(
        apply_segments(empty.accepted, [ctx["read"]("ledger_segment")]), empty.rejections
    )
    attributes = ctx["read"]("braze_customer_attributes")
    rows = pl.int_range(pl.len())
    changed = attributes.with_columns(
        pl.when(rows % 100 == 0).then(pl.col("first_name") + "x").otherwise(pl.col("first_name"))
    )
    daily = compute_diff(changed, ledger)
    _render_all(daily)
    return daily.height


# (name, function, counted in the total through the first diff)
STAGES = [
    ("sources", _stage_sources, True),
    ("customer records (normalize)", _stage_customer_records, True),
    ("identity resolution", _stage_identity, True),
    ("customer 360", _stage_customer_360, True),
    ("customer transactions", _stage_transactions, True),
    ("audiences + attributes", _stage_attributes, True),
    ("diff, first sync (empty ledger)", _stage_first_diff, True),
    ("diff, daily (1% changed)", _stage_daily_diff, False),
]
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def run_stage(name: str, customers: int, seed: int, work_dir: Path) -> dict:
    """One stage in this (fresh) process: read its inputs from Parquet, compute, write its
    outputs, as a Dagster step does. Wall time covers reading and writing; peak is this
    process's maximum resident memory."""
    from amperity_braze_assets.config import load_project_config
    from amperity_braze_assets.settings import load_settings
    from amperity_braze_assets.storage.parquet_files import read_table, write_table

    data_dir = work_dir / f"data_{customers}"
    assets = work_dir / f"assets_{customers}"
    assets.mkdir(parents=True, exist_ok=True)
    settings = load_settings({"AMPERITY_BRAZE_DATA_DIR": str(data_dir)})
    untimed = [0.0]

    def run_untimed(action) -> None:
        started = time.perf_counter()
        action()
        untimed[0] += time.perf_counter() - started

    ctx = {
        "config": load_project_config(settings),
        "settings": settings,
        # The I/O manager's own reader and writer, with the columns each asset's inputs ask for.
        "path": lambda key: assets / f"{key}.parquet",
        "read": lambda key, columns=None: read_table(str(assets / f"{key}.parquet"), columns),
        "write": lambda key, frame: write_table(frame, str(assets / f"{key}.parquet")),
        "untimed": run_untimed,
        "extra": {},
    }
    function = {stage: fn for stage, fn, _ in STAGES}[name]
    started = time.perf_counter()
    rows = function(ctx)
    seconds = time.perf_counter() - started - untimed[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "stage": name,
        "seconds": seconds,
        "peak_gib": peak / 2**30,
        "rows": rows,
        **ctx["extra"],
    }


def _prepare(customers: int, seed: int, work_dir: Path) -> dict:
    """Generate the sample and the engagement table (neither is part of the total)."""
    from amperity_braze_assets.devtools.sample_data import generate_sample_data

    data_dir = work_dir / f"data_{customers}"
    summary = data_dir / "truth" / "summary.json"
    if summary.exists() and json.loads(summary.read_text())["seed"] == seed:
        return {
            "stage": "generate sample (reused)",
            "seconds": 0.0,
            "peak_gib": 0.0,
            "rows": customers,
        }
    started = time.perf_counter()
    generate_sample_data(data_dir, customers=customers, seed=seed, reference_time=AS_OF)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "stage": "generate sample (not in total)",
        "seconds": seconds,
        "peak_gib": peak / 2**30,
        "rows": customers,
    }


def _child(args: list[str]) -> dict:
    child = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        raise RuntimeError(child.stderr[-3000:])
    return json.loads(child.stdout.strip().splitlines()[-1])


def run_one(customers: int, seed: int, work_dir: Path) -> dict:
    common = ["--seed", str(seed), "--work-dir", str(work_dir)]
    stages = [_child(["--prepare", str(customers), *common])]
    assets = work_dir / f"assets_{customers}"
    assets.mkdir(parents=True, exist_ok=True)
    results = []
    for name, _, counted in STAGES:
        if name == "customer 360":
            _write_engagement(customers, seed, work_dir)
        result = _child(["--stage", name, "--one", str(customers), *common])
        result["counted"] = counted
        results.append(result)
        print(
            f"  [{customers:,}] {name}: {result['seconds']:.1f} s, {result['peak_gib']:.2f} GiB",
            file=sys.stderr,
            flush=True,
        )
    stages += results
    pipeline = [s for s in results if s["counted"]]
    source_records = results[0]["rows"]
    people = next(s for s in results if s["stage"] == "identity resolution")["people"]
    return {
        "customers": customers,
        "source_records": source_records,
        "people": people,
        "stages": stages,
        "total_seconds": sum(s["seconds"] for s in pipeline),
        "peak_gib": max(s["peak_gib"] for s in pipeline),
    }


def _write_engagement(customers: int, seed: int, work_dir: Path) -> None:
    assets = work_dir / f"assets_{customers}"
    ids = (
        pl.scan_parquet(assets / "identity_resolution.parquet")
        .select(pl.col("amperity_id").unique().sort())
        .collect()
        .get_column("amperity_id")
    )
    synthetic_engagement(ids, AS_OF, seed).write_parquet(assets / "customer_engagement.parquet")


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
    parser.add_argument("--stage", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="pipeline_bench_"))
    if args.prepare is not None:
        print(json.dumps(_prepare(args.prepare, args.seed, work_dir)))
        return 0
    if args.stage is not None:
        print(json.dumps(run_stage(args.stage, args.one, args.seed, work_dir)))
        return 0
    results = []
    for customers in args.customers:
        try:
            result = run_one(customers, args.seed, work_dir)
        except RuntimeError as failure:
            print(f"\n== {customers:,} customers: FAILED\n{failure}")
            continue
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
            if before["stage"].startswith("generate"):
                continue
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
