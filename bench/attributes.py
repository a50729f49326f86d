"""Time building audiences and Braze attributes for synthetic people.

    .venv/bin/python bench/attributes.py [--people 1000000] [--seed 7]

Generates customer_360, customer_transactions and customer_engagement frames (numpy + polars, no files), loads the
shipped sample configuration (standard fields, a dozen custom attributes of every type, two SQL
audiences, two segments), then times ``build_audiences`` and ``build_braze_attributes``. Target:
under 5 s for one million people. Peak RSS is the process high-water mark (includes the inputs).
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from amperity_braze_assets.activation.attributes import build_braze_attributes
from amperity_braze_assets.activation.audiences import build_audiences
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.settings import load_settings

AS_OF = datetime(2025, 6, 1, tzinfo=UTC)
TARGET_SECONDS = 5.0
DAY_US = 86_400 * 1_000_000


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def make_tables(n: int, rng: np.random.Generator) -> dict[str, pl.DataFrame]:
    index = pl.int_range(0, n, eager=True)
    ids = (
        pl.select(pl.format("AMP-{}", pl.lit(index).cast(pl.String).str.pad_start(20, "0")))
        .to_series()
        .alias("amperity_id")
    )
    customer_360 = pl.select(
        ids,
        pl.lit("JANE").alias("given_name"),
        pl.format("SURNAME{}", pl.lit(index % 997)).alias("surname"),
        pl.when(pl.Series(rng.random(n) < 0.02))
        .then(pl.lit("broken-email"))
        .otherwise(pl.format("p{}@example.com", pl.lit(index)))
        .alias("email"),
        pl.format(
            "+1415{}", pl.lit(index % 10_000_000).cast(pl.String).str.pad_start(7, "0")
        ).alias("phone"),
        pl.Series("birthdate", rng.integers(-15_000, 12_000, n)).cast(pl.Date),
        pl.Series("gender", rng.integers(0, 4, n)).replace_strict(
            {0: "M", 1: "F", 2: "O"}, default=None, return_dtype=pl.String
        ),
        pl.lit("US").alias("country"),
        pl.format("CITY {}", pl.lit(index % 500)).alias("city"),
        pl.format("S{}", pl.lit(index % 50)).alias("state"),
        pl.Series("loyalty_tier", rng.choice(5, n, p=[0.6, 0.2, 0.12, 0.06, 0.02])).replace_strict(
            {1: "Bronze", 2: "Silver", 3: "Gold", 4: "Platinum"},
            default=None,
            return_dtype=pl.String,
        ),
        pl.Series("loyalty_points", rng.integers(0, 5000, n)).cast(pl.String),
        pl.lit("2022-03-04").alias("loyalty_joined_on"),
    )
    buyers = np.flatnonzero(rng.random(n) < 0.8)
    m = buyers.size
    as_of_us = int(AS_OF.timestamp() * 1_000_000)
    latest = as_of_us - rng.integers(0, 1500, m) * DAY_US
    first = latest - rng.integers(0, 1500, m) * DAY_US
    frequency = rng.integers(1, 30, m)
    monetary = np.round(rng.gamma(2.0, 80.0, m), 2)
    transactions = pl.DataFrame(
        {
            "amperity_id": ids.gather(buyers),
            "lifetime_frequency": frequency,
            "lifetime_monetary": monetary * 3,
            "l12m_frequency": frequency // 3,
            "l12m_monetary": monetary,
            "first_order_at": pl.Series(first).cast(pl.Datetime("us", "UTC")),
            "latest_order_at": pl.Series(latest).cast(pl.Datetime("us", "UTC")),
            "average_order_value": monetary / frequency,
            "days_since_last_order": (as_of_us - latest) // DAY_US,
            "multi_channel": frequency > 3,
            "one_and_done": frequency == 1,
            "monetary_decile": rng.integers(1, 11, m).astype(np.int8),
            "rfm_score": np.round(rng.random(m) * 9 + 1, 2),
        }
    ).with_columns(
        channels=pl.when(pl.col("multi_channel"))
        .then(pl.lit(["store", "web"]))
        .otherwise(pl.lit(["web"]))
    )
    engaged = np.flatnonzero(rng.random(n) < 0.6)
    k = engaged.size
    sends = rng.integers(0, 20, k)
    opens = rng.integers(0, 10, k) * (sends > 0)
    engagement = pl.DataFrame(
        {
            "amperity_id": ids.gather(engaged),
            "last_email_open_at": pl.Series(
                as_of_us - rng.integers(0, 400 * 86_400, k) * 1_000_000
            ).cast(pl.Datetime("us", "UTC")),
            "last_email_click_at": pl.Series(
                as_of_us - rng.integers(0, 400 * 86_400, k) * 1_000_000
            ).cast(pl.Datetime("us", "UTC")),
            "email_opens_30d": opens,
            "email_clicks_30d": opens // 2,
            "email_sends_30d": sends,
            "email_sends_total": sends * 12,
            "email_bounced": rng.random(k) < 0.03,
            "email_unsubscribed": rng.random(k) < 0.05,
            "email_marked_spam": rng.random(k) < 0.005,
            "last_purchase_in_app_at": pl.Series(
                as_of_us - rng.integers(0, 400 * 86_400, k) * 1_000_000
            ).cast(pl.Datetime("us", "UTC")),
        }
    ).with_columns(  # a third never opened
        pl.when(pl.col("email_opens_30d") > 0).then(pl.col("last_email_open_at"))
    )
    return {
        "customer_360": customer_360,
        "customer_transactions": transactions,
        "customer_engagement": engagement,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = load_settings({"AMPERITY_BRAZE_DATA_DIR": str(Path("/tmp/bench-attributes"))})
    mapping = load_attribute_config(load_project_config(settings, check_files=False))
    started = time.perf_counter()
    tables = make_tables(args.people, np.random.default_rng(args.seed))
    generated = time.perf_counter() - started

    started = time.perf_counter()
    audiences = build_audiences(tables, mapping, AS_OF)
    audience_seconds = time.perf_counter() - started
    started = time.perf_counter()
    attributes, rejects = build_braze_attributes(tables, audiences.memberships, mapping, AS_OF)
    attribute_seconds = time.perf_counter() - started
    total = audience_seconds + attribute_seconds

    print(f"people            {args.people:>12,}")
    print(f"generate inputs   {generated:>12.2f} s (not timed)")
    print(
        f"build_audiences   {audience_seconds:>12.2f} s  memberships={audiences.memberships.height:,}"
    )
    print(
        f"build_attributes  {attribute_seconds:>12.2f} s  rows={attributes.height:,} "
        f"columns={attributes.width} rejects={rejects.height:,}"
    )
    print(
        f"total             {total:>12.2f} s  (target < {TARGET_SECONDS:.0f} s: "
        f"{'met' if total < TARGET_SECONDS else 'MISSED'})"
    )
    print(f"peak RSS          {peak_rss_mib():>12.0f} MiB")
    print(audiences.summary)


if __name__ == "__main__":
    main()
