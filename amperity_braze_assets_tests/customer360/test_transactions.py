from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from amperity_braze_assets.customer360.transactions import (
    build_customer_transactions,
    transaction_rollups,
    unmatched_orders,
)

AS_OF = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
YEAR_BEFORE = datetime(2023, 6, 15, 12, 0, tzinfo=UTC)

IDENTITY = pl.DataFrame(
    {
        "source": ["pos", "web", "pos", "web", "pos"],
        "record_id": ["p1", "w1", "p2", "w3", "p3"],
        "amperity_id": ["A1", "A1", "A2", "A3", "A3"],
    }
)


def orders_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "order_id": pl.String,
            "customer_source": pl.String,
            "customer_record_id": pl.String,
            "amount": pl.Float64,
            "currency": pl.String,
            "order_time": pl.Datetime("us", "UTC"),
            "channel": pl.String,
        },
        orient="row",
    )


ORDERS = orders_frame(
    [
        # A1: two records, two channels, one order exported twice.
        ("o1", "pos", "p1", 100.0, "USD", datetime(2024, 6, 1, tzinfo=UTC), "store"),
        ("o2", "web", "w1", 50.0, "USD", datetime(2022, 1, 1, tzinfo=UTC), "web"),
        ("o2", "web", "w1", 50.0, "USD", datetime(2022, 1, 1, tzinfo=UTC), "web"),
        ("o3", "web", "w1", 30.0, "USD", datetime(2024, 6, 15, 11, 0, tzinfo=UTC), "web"),
        # A2: exactly one order, exactly at the 12-month boundary.
        ("o4", "pos", "p2", 20.0, "USD", YEAR_BEFORE, "store"),
        # A3: one order just before the boundary, one after as_of (ignored), one without channel.
        ("o5", "web", "w3", 10.0, "USD", YEAR_BEFORE - timedelta(microseconds=1), "web"),
        ("o6", "pos", "p3", 999.0, "USD", AS_OF + timedelta(seconds=1), "store"),
        ("o7", "pos", "p3", 5.0, "USD", datetime(2024, 1, 1, tzinfo=UTC), None),
        # Unknown customer and missing customer key.
        ("o8", "pos", "nobody", 70.0, "USD", datetime(2024, 5, 1, tzinfo=UTC), "store"),
        ("o9", None, None, 70.0, "USD", datetime(2024, 5, 1, tzinfo=UTC), "store"),
    ]
)


def by_person(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["amperity_id"]: row for row in frame.iter_rows(named=True)}


def test_rollups_match_hand_computed_values():
    people = by_person(build_customer_transactions(ORDERS, IDENTITY, AS_OF))
    assert sorted(people) == ["A1", "A2", "A3"]

    a1 = people["A1"]
    assert a1["lifetime_frequency"] == 3  # o2 counted once
    assert a1["lifetime_monetary"] == 180.0
    assert a1["l12m_frequency"] == 2
    assert a1["l12m_monetary"] == 130.0
    assert a1["first_order_at"] == datetime(2022, 1, 1, tzinfo=UTC)
    assert a1["latest_order_at"] == datetime(2024, 6, 15, 11, 0, tzinfo=UTC)
    assert a1["average_order_value"] == pytest.approx(60.0)
    assert a1["days_since_last_order"] == 0  # one hour before as_of rounds down
    assert a1["channels"] == ["store", "web"]
    assert a1["multi_channel"] is True
    assert a1["one_and_done"] is False


def test_twelve_month_window_starts_inclusively_and_ends_at_as_of():
    people = by_person(build_customer_transactions(ORDERS, IDENTITY, AS_OF))
    a2, a3 = people["A2"], people["A3"]
    assert (a2["l12m_frequency"], a2["l12m_monetary"]) == (1, 20.0)
    assert a2["days_since_last_order"] == 366  # 2023-06-15 -> 2024-06-15 spans 29 February
    # A3: o5 is a microsecond too old for the window; o6 is after as_of and not counted at all.
    assert (a3["lifetime_frequency"], a3["lifetime_monetary"]) == (2, 15.0)
    assert (a3["l12m_frequency"], a3["l12m_monetary"]) == (1, 5.0)
    assert a3["latest_order_at"] == datetime(2024, 1, 1, tzinfo=UTC)


def test_one_and_done_and_channels_without_nulls():
    people = by_person(build_customer_transactions(ORDERS, IDENTITY, AS_OF))
    assert people["A2"]["one_and_done"] is True
    assert people["A2"]["multi_channel"] is False
    assert people["A3"]["channels"] == ["web"]  # the channel-less order adds no channel
    assert people["A3"]["multi_channel"] is False


def test_naive_as_of_is_read_as_utc():
    aware = build_customer_transactions(ORDERS, IDENTITY, AS_OF)
    naive = build_customer_transactions(ORDERS, IDENTITY, AS_OF.replace(tzinfo=None))
    assert aware.equals(naive)


def test_leap_day_as_of_looks_back_to_28_february():
    orders = orders_frame(
        [
            ("o1", "pos", "p2", 1.0, "USD", datetime(2023, 2, 28, tzinfo=UTC), "store"),
            ("o2", "pos", "p2", 1.0, "USD", datetime(2023, 2, 27, tzinfo=UTC), "store"),
        ]
    )
    result = build_customer_transactions(orders, IDENTITY, datetime(2024, 2, 29, tzinfo=UTC))
    assert result["l12m_frequency"].to_list() == [1]


def test_unmatched_orders_are_the_rest_of_the_distinct_orders():
    unmatched = unmatched_orders(ORDERS, IDENTITY)
    assert sorted(unmatched["order_id"].to_list()) == ["o8", "o9"]
    assert unmatched.columns == ORDERS.columns


def test_rollups_count_the_unmatched_orders_from_their_own_join():
    rollups, unmatched = transaction_rollups(ORDERS, IDENTITY, AS_OF)
    assert rollups.equals(build_customer_transactions(ORDERS, IDENTITY, AS_OF))
    assert unmatched == unmatched_orders(ORDERS, IDENTITY).height == 2
    # Orders already distinct (one source's raw table) give the same rollups unchecked.
    distinct = ORDERS.unique("order_id", keep="first", maintain_order=True)
    again, unmatched_again = transaction_rollups(distinct, IDENTITY, AS_OF, distinct=True)
    assert again.equals(rollups) and unmatched_again == 2


def test_a_buyer_without_any_channel_has_an_empty_channel_list():
    orders = orders_frame([("o1", "pos", "p2", 1.0, "USD", datetime(2024, 1, 1, tzinfo=UTC), None)])
    row = build_customer_transactions(orders, IDENTITY, AS_OF).row(0, named=True)
    assert row["channels"] == [] and row["multi_channel"] is False


def test_orders_without_order_id_are_not_merged_as_duplicates():
    orders = orders_frame(
        [
            (None, "pos", "p2", 1.0, "USD", datetime(2024, 1, 1, tzinfo=UTC), "store"),
            (None, "pos", "p2", 2.0, "USD", datetime(2024, 1, 2, tzinfo=UTC), "store"),
        ]
    )
    result = build_customer_transactions(orders, IDENTITY, AS_OF)
    assert result["lifetime_frequency"].to_list() == [2]


def deciles_for(frequencies: list[int]) -> pl.DataFrame:
    """One buyer per entry, each with that many 1.00 orders on the same day."""
    rows = []
    for buyer, count in enumerate(frequencies):
        for order in range(count):
            rows.append(
                (f"b{buyer}-{order}", "pos", f"r{buyer}", 1.0, "USD", datetime(2024, 1, 1), "x")
            )
    orders = orders_frame(rows)
    identity = pl.DataFrame(
        {
            "source": ["pos"] * len(frequencies),
            "record_id": [f"r{buyer}" for buyer in range(len(frequencies))],
            "amperity_id": [f"A{buyer:02d}" for buyer in range(len(frequencies))],
        }
    )
    return build_customer_transactions(orders, identity, AS_OF)


def test_deciles_spread_distinct_values_from_1_to_10():
    result = deciles_for(list(range(1, 11)))  # A00 buys once ... A09 buys ten times
    assert result["frequency_decile"].to_list() == list(range(1, 11))
    # Spend equals frequency here (1.00 per order).
    assert result["monetary_decile"].to_list() == list(range(1, 11))
    # Everyone last ordered on the same day: all tie, so all share decile 1.
    assert result["recency_decile"].to_list() == [1] * 10
    assert result["rfm_score"].to_list() == [round((1 + d + d) / 3, 2) for d in range(1, 11)]


def test_tied_buyers_share_the_decile_of_their_lowest_member():
    result = deciles_for([1, 1, 1, 1, 1, 1, 1, 2, 2, 5])
    # 7 one-order buyers: nobody worse -> 1; 2-order buyers: 7 of 10 worse -> 8; top -> 10.
    assert result["frequency_decile"].to_list() == [1] * 7 + [8, 8, 10]


def test_recency_decile_rewards_the_most_recent_buyer():
    orders = orders_frame(
        [
            ("o1", "pos", "p1", 1.0, "USD", datetime(2024, 6, 14, tzinfo=UTC), "store"),
            ("o2", "pos", "p2", 1.0, "USD", datetime(2020, 1, 1, tzinfo=UTC), "store"),
        ]
    )
    people = by_person(build_customer_transactions(orders, IDENTITY, AS_OF))
    assert people["A1"]["recency_decile"] == 6  # one of two buyers is worse
    assert people["A2"]["recency_decile"] == 1


def test_deciles_do_not_depend_on_row_order():
    orders = pl.concat([ORDERS] * 3).with_columns(
        pl.format("{}-{}", "order_id", pl.int_range(pl.len()) % 7).alias("order_id")
    )
    expected = build_customer_transactions(orders, IDENTITY, AS_OF)
    for seed in range(3):
        shuffled = orders.sample(fraction=1.0, shuffle=True, seed=seed)
        assert build_customer_transactions(shuffled, IDENTITY, AS_OF).equals(expected)


def test_integer_customer_keys_link_to_text_identity_and_keep_their_type():
    orders = ORDERS.with_columns(
        pl.when(pl.col("customer_record_id") == "p2")
        .then(pl.lit("2"))
        .otherwise(pl.lit("404"))
        .cast(pl.Int64)
        .alias("customer_record_id")
    )
    identity = pl.DataFrame({"source": ["pos"], "record_id": ["2"], "amperity_id": ["A2"]})
    result = build_customer_transactions(orders, identity, AS_OF)
    assert result["amperity_id"].to_list() == ["A2"]
    assert unmatched_orders(orders, identity).schema["customer_record_id"] == pl.Int64
