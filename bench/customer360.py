"""Time the customer 360 builders on synthetic data.

    .venv/bin/python bench/customer360.py [--records 1000000] [--orders 3000000] [--seed 7]

Generates (numpy + polars, no files) source records across three sources, an identity table
clustering them into people, and orders with a share of duplicates and unknown customers, then
times ``build_customer_360`` and ``build_customer_transactions``. Peak RSS is the process
high-water mark (ru_maxrss), so it includes the generated inputs.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime

import numpy as np
import polars as pl

from amperity_braze_assets.customer360.survivorship import SurvivorshipRules, build_customer_360
from amperity_braze_assets.customer360.transactions import (
    build_customer_transactions,
    unmatched_orders,
)

SOURCES = np.array(["loyalty", "web", "pos"])
SOURCE_SHARES = [0.2, 0.4, 0.4]
CHANNELS = np.array(["store", "web", "app", "call_center"])
AS_OF = datetime(2024, 6, 15, tzinfo=UTC)
EPOCH_US = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
SPAN_US = int((AS_OF - datetime(2019, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def current_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def with_nulls(values: pl.Expr, null_mask: np.ndarray) -> pl.Expr:
    return pl.when(pl.Series(null_mask)).then(None).otherwise(values)


def person_value(template: str, person: pl.Expr, variant: pl.Expr) -> pl.Expr:
    """Mostly the person's own value; a variant number > 0 makes a competing spelling."""
    return (
        pl.when(variant == 0)
        .then(pl.format(template, person, pl.lit("")))
        .otherwise(pl.format(template, person, variant))
    )


def make_records(n_records: int, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_people = int(n_records / 1.7)
    person = rng.integers(0, n_people, n_records)
    source = rng.choice(len(SOURCES), n_records, p=SOURCE_SHARES)

    def variants(share: float) -> np.ndarray:
        return np.where(rng.random(n_records) < share, rng.integers(1, 4, n_records), 0)

    updated_us = EPOCH_US + rng.integers(0, SPAN_US, n_records)
    birth_days = rng.integers(-18_000, 12_000, n_records)  # days since 1970-01-01
    frame = pl.DataFrame(
        {
            "source": SOURCES[source],
            "_person": person,
            "_row": np.arange(n_records),
            "_name_variant": variants(0.2),
            "_email_variant": variants(0.3),
            "_phone_variant": variants(0.2),
            "_address_variant": variants(0.25),
            "_updated_us": updated_us,
            "_birth_days": birth_days,
        }
    )
    person_col = pl.col("_person")
    records = frame.select(
        "source",
        pl.format("{}-{}", pl.col("source").str.slice(0, 1), pl.col("_row")).alias("record_id"),
        with_nulls(
            person_value("GIVEN{}{}", person_col % 5000, pl.col("_name_variant")),
            rng.random(n_records) < 0.1,
        ).alias("given_name"),
        pl.format("SURNAME{}", person_col % 20000).alias("surname"),
        with_nulls(
            person_value("P{}{}@EXAMPLE.COM", person_col, pl.col("_email_variant")),
            rng.random(n_records) < 0.25,
        ).alias("email"),
        with_nulls(
            person_value("+1206{}{}", person_col, pl.col("_phone_variant")),
            rng.random(n_records) < 0.4,
        ).alias("phone"),
        with_nulls(
            person_value("{}{} MAIN STREET", person_col, pl.col("_address_variant")),
            rng.random(n_records) < 0.3,
        ).alias("address"),
        pl.format("CITY{}", person_col % 900).alias("city"),
        pl.lit("WA").alias("state"),
        pl.format("9{}", (person_col % 9000) + 1000).alias("postal"),
        pl.lit("US").alias("country"),
        with_nulls(pl.col("_birth_days").cast(pl.Date), rng.random(n_records) < 0.5).alias(
            "birthdate"
        ),
        with_nulls(
            pl.Series(np.array(["F", "M", "U"])[rng.integers(0, 3, n_records)]),
            rng.random(n_records) < 0.5,
        ).alias("gender"),
        with_nulls(
            pl.col("_updated_us").cast(pl.Datetime("us", "UTC")), rng.random(n_records) < 0.05
        ).alias("updated_at"),
    )
    identity = records.select("source", "record_id").with_columns(
        pl.format("A{}", pl.Series(person)).alias("amperity_id")
    )
    return records, identity


def make_orders(records: pl.DataFrame, n_orders: int, rng: np.random.Generator) -> pl.DataFrame:
    n_distinct = int(n_orders * 0.99)
    # Skewed: a few customers order a lot, most order once or twice.
    customer_row = np.minimum(
        (rng.pareto(1.2, n_distinct) * records.height / 20).astype(np.int64), records.height - 1
    )
    customer_row = rng.permutation(records.height)[customer_row]
    keys = records.select("source", "record_id")[customer_row]
    unknown = rng.random(n_distinct) < 0.03
    orders = pl.DataFrame(
        {
            "order_id": pl.Series(np.arange(n_distinct)).cast(pl.String),
            "customer_source": keys["source"],
            "customer_record_id": keys["record_id"],
            "amount": np.round(rng.lognormal(4.0, 0.8, n_distinct), 2),
            "currency": "USD",
            "order_time": pl.Series(EPOCH_US + rng.integers(0, SPAN_US, n_distinct)).cast(
                pl.Datetime("us", "UTC")
            ),
            "channel": CHANNELS[rng.integers(0, len(CHANNELS), n_distinct)],
        }
    ).with_columns(
        pl.when(pl.Series(unknown))
        .then(pl.lit("unknown"))
        .otherwise(pl.col("customer_record_id"))
        .alias("customer_record_id")
    )
    duplicates = orders[rng.integers(0, n_distinct, n_orders - n_distinct)]
    return pl.concat([orders, duplicates])


def timed(label: str, build, *args) -> pl.DataFrame:
    before = current_rss_mib()
    started = time.perf_counter()
    result = build(*args)
    seconds = time.perf_counter() - started
    print(
        f"{label:<32} {seconds:7.2f} s  rows={result.height:>9,}  "
        f"rss before={before:,.0f} MiB  peak so far={peak_rss_mib():,.0f} MiB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    records, identity = make_records(args.records, rng)
    orders = make_orders(records, args.orders, rng)
    print(
        f"generated {records.height:,} records, {identity['amperity_id'].n_unique():,} people, "
        f"{orders.height:,} orders in {time.perf_counter() - started:.1f} s; "
        f"polars {pl.__version__}, threads {pl.thread_pool_size()}"
    )

    rules = SurvivorshipRules(source_priority=("loyalty", "web", "pos"))
    timed("build_customer_360", build_customer_360, records, identity, rules)
    timed("build_customer_transactions", build_customer_transactions, orders, identity, AS_OF)
    timed("unmatched_orders", unmatched_orders, orders, identity)
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
