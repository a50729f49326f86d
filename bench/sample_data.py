"""Time the sample-data generator.

    python bench/sample_data.py --customers 1000000 --seed 1 --data-dir /tmp/x

Prints wall seconds, peak memory and records per source as a small table.

Peak memory is measured two ways:
- ru_maxrss: the process's peak resident set size from getrusage (covers numpy and polars'
  native allocations, which is where nearly all the memory is; it also counts the interpreter
  and imported modules);
- tracemalloc (only with --tracemalloc): peak of allocations made through Python's allocator.
  numpy reports its buffers to tracemalloc, polars (Rust) does not, so this understates the
  total; it also slows the run, so it is off by default and the timing is taken without it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from amperity_braze_assets.devtools.sample_data import generate_sample_data


def _max_rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/sample_data_bench"))
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also run once under tracemalloc"
    )
    args = parser.parse_args(argv)

    rss_before = _max_rss_mib()
    started = time.perf_counter()
    summary = generate_sample_data(args.data_dir, customers=args.customers, seed=args.seed)
    seconds = time.perf_counter() - started
    rss_peak = _max_rss_mib()

    traced_peak = None
    if args.tracemalloc:
        tracemalloc.start()
        generate_sample_data(args.data_dir, customers=args.customers, seed=args.seed)
        traced_peak = tracemalloc.get_traced_memory()[1] / (1024 * 1024)
        tracemalloc.stop()

    customer_rows = sum(summary["records"].values())
    total_rows = customer_rows + summary["orders"]
    sizes = {
        name: Path(path).stat().st_size / (1024 * 1024) for name, path in summary["paths"].items()
    }

    print(
        f"generate_sample_data(customers={args.customers:,}, seed={args.seed}) -> {args.data_dir}"
    )
    print(f"reference time of the data: {summary['reference_time']}")
    print()
    print(f"{'file':<10} {'rows':>12} {'corrupt':>8} {'MiB':>9}")
    for name in ("pos", "web", "loyalty"):
        rows, bad = summary["records"][name], summary["corrupt_rows"][name]
        print(f"{name:<10} {rows:>12,} {bad:>8,} {sizes[name]:>9.1f}")
    print(
        f"{'orders':<10} {summary['orders']:>12,} {summary['corrupt_rows']['orders']:>8,} {sizes['orders']:>9.1f}"
    )
    print(f"{'truth':<10} {customer_rows:>12,} {'':>8} {sizes['truth']:>9.1f}")
    print()
    print(f"persons                 {summary['persons']:>12,}")
    print(f"wall seconds            {seconds:>12.2f}")
    print(f"customer rows / s       {customer_rows / seconds:>12,.0f}")
    print(f"all rows (+orders) / s  {total_rows / seconds:>12,.0f}")
    print(f"peak RSS (ru_maxrss)    {rss_peak:>9.0f} MiB  (before the call: {rss_before:.0f} MiB)")
    if traced_peak is not None:
        print(f"peak tracemalloc        {traced_peak:>9.0f} MiB  (Python + numpy allocations only)")


if __name__ == "__main__":
    main()
