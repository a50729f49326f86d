"""Helpers for the fault suite: a ``braze_customer_attributes``-shaped frame, the state Braze must
end in, and the checks every scenario ends with (profiles = expected, ledger = accepted)."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import time
from dataclasses import dataclass

import polars as pl
from polars.testing import assert_frame_equal

from amperity_braze_assets.braze.diff import canonical_expr
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger

KEY = "fault-suite-key-7d6e5f4a3b2c"
FULL = os.environ.get("RELIABILITY_FULL") == "1" or os.environ.get("HYPOTHESIS_PROFILE") == "full"

TIERS = ["bronze", "silver", "gold", "platinum", None]
CATEGORIES = ["shoes", "bags", "outerwear", "denim", "kids", "home", "beauty"]
CHANNELS = ["web", "store", "app", "phone"]
CITIES = ["Seattle", "Lyon", "Osaka", "Recife", "Nairobi", None]


def attributes_frame(people: int, seed: int = 0) -> pl.DataFrame:
    """``external_id`` + 20 attributes of every type the attribute builder produces: standard
    fields as strings, Float64, Int64, Boolean audiences, Date, Datetime (UTC), List(String),
    with nulls where real data has them."""
    rng = random.Random(seed)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(people):
        categories = rng.sample(CATEGORIES, rng.randint(0, 3))
        rows.append(
            {
                "external_id": f"amp-{i:06d}",
                "first_name": f"First{i}",
                "last_name": f"Last{i % 977}",
                "email": f"person{i}@example.com" if i % 17 else None,
                "country": rng.choice(["US", "FR", "JP", "BR", "KE"]),
                "home_city": rng.choice(CITIES),
                "language": rng.choice(["en", "fr", "ja", "pt"]),
                "dob": f"{1950 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "lifetime_value": round(rng.uniform(0, 5000), 2),
                "average_order_value": round(rng.uniform(5, 400), 2) if i % 5 else None,
                "order_count": rng.randint(0, 200),
                "days_since_last_order_bucket": rng.choice([7, 30, 90, 365]),
                "first_order_date": (base - dt.timedelta(days=rng.randint(0, 3000))).date(),
                "last_order_at": base + dt.timedelta(milliseconds=rng.randint(0, 10**10))
                if i % 7
                else None,
                "loyalty_tier": rng.choice(TIERS),
                "preferred_channel": rng.choice(CHANNELS),
                "favourite_categories": categories,
                "audience_vip": i % 3 == 0,
                "audience_lapsed": i % 4 == 1,
                "audience_winback": rng.random() < 0.2,
                "churn_score": round(rng.random(), 3),
            }
        )
    return pl.DataFrame(
        rows,
        schema_overrides={
            "first_order_date": pl.Date,
            "last_order_at": pl.Datetime("us", "UTC"),
            "favourite_categories": pl.List(pl.String),
        },
    )


def attribute_names(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != "external_id"]


def _sent_value(value: object) -> object:
    """The JSON value Braze holds for one frame value (what the diff sends), or None."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00.000Z"
    if isinstance(value, list):
        return list(dict.fromkeys(value)) or None
    return value


def expected_profiles(frame: pl.DataFrame) -> dict[str, dict]:
    """What the emulator must hold after a complete sync of ``frame`` into an empty Braze."""
    out = {}
    for row in frame.to_dicts():
        key = row.pop("external_id")
        values = {k: _sent_value(v) for k, v in row.items()}
        out[key] = {k: v for k, v in values.items() if v is not None}
    return out


def values_lost(expected: dict[str, dict], profiles: dict[str, dict]) -> int:
    """Attribute values Braze should hold and does not (missing or different), plus values it
    holds that it should not."""
    lost = 0
    for key, attributes in expected.items():
        held = profiles.get(key, {})
        lost += sum(1 for name, value in attributes.items() if held.get(name) != value)
        lost += sum(1 for name in held if name not in attributes)
    lost += sum(len(v) for k, v in profiles.items() if k not in expected)
    return lost


def profiles_frame(profiles: dict[str, dict], like: pl.DataFrame) -> pl.DataFrame:
    """The emulator's profiles parsed back into ``like``'s schema (for canonical comparison)."""
    names = attribute_names(like)
    schema = like.schema
    text_schema = {
        "external_id": pl.String,
        **{
            a: (pl.String if schema[a] in (pl.Date,) or isinstance(schema[a], pl.Datetime) else t)
            for a, t in ((a, schema[a]) for a in names)
        },
    }
    rows = [
        {"external_id": key, **{a: attrs.get(a) for a in names}} for key, attrs in profiles.items()
    ]
    frame = pl.DataFrame(rows, schema=text_schema)
    return frame.with_columns(
        [pl.col(a).str.slice(0, 10).str.to_date("%Y-%m-%d") for a in names if schema[a] == pl.Date]
        + [
            pl.col(a).str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_unit="us", time_zone="UTC")
            for a in names
            if isinstance(schema[a], pl.Datetime)
        ]
    )


def canonical(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    return frame.select(
        pl.col("external_id").cast(pl.String).alias(IDENTIFIER),
        *[canonical_expr(a, frame.schema[a]).alias(a) for a in names],
    ).sort(IDENTIFIER)


def assert_ledger_equals_accepted(ledger: Ledger, profiles: dict[str, dict], like: pl.DataFrame):
    """Every ledger value is the value the emulator holds, and the ledger knows every value the
    emulator holds: nothing claimed that Braze lacks, nothing Braze has that a rerun would miss."""
    names = attribute_names(like)
    accepted = ledger.view().accepted
    missing = [a for a in names if a not in accepted.columns]
    accepted = accepted.with_columns(pl.lit(None, pl.String).alias(a) for a in missing)
    ours = accepted.select(IDENTIFIER, *names).sort(IDENTIFIER)
    # People whose every value is null are rows of neither side by construction; keep those
    # with at least one value.
    held = canonical(profiles_frame(profiles, like), names)
    held = held.filter(pl.any_horizontal(pl.col(a).is_not_null() for a in names))
    ours = ours.filter(pl.any_horizontal(pl.col(a).is_not_null() for a in names))
    assert_frame_equal(ours, held, check_dtypes=False)


@dataclass
class Figures:
    scenario: str
    faults: dict[str, int]
    runs: int
    minimum_data_points: int
    billed_data_points: int
    client_wasted: int
    lost: int

    @property
    def wasted(self) -> int:
        return self.billed_data_points - self.minimum_data_points

    def line(self) -> str:
        faults = ", ".join(f"{k}={v}" for k, v in self.faults.items())
        return (
            f"[fault suite] {self.scenario}: faults injected: {sum(self.faults.values())} "
            f"({faults}); runs: {self.runs}; values lost: {self.lost}; wasted data points: "
            f"{self.wasted} of {self.minimum_data_points} needed (client counted "
            f"{self.client_wasted})"
        )


def wait_for_progress(condition, process: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Poll until ``condition()`` (the child made the progress we kill at) or the child exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise TimeoutError("the sync child made no progress")
        time.sleep(0.002)  # polling the child's progress, not waiting for time to pass
    return True
