"""customer_engagement's logic on small frames: exact columns, windows, latest states."""

from datetime import UTC, datetime, timedelta

import polars as pl

from amperity_braze_assets.currents.engagement import ENGAGEMENT_SCHEMA, build_customer_engagement

NOW = datetime(2025, 6, 1, tzinfo=UTC)
UTC_US = pl.Datetime("us", "UTC")


def _events(rows: list[tuple], **columns) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "external_user_id": [r[0] for r in rows],
            "time": [NOW - timedelta(days=r[1]) for r in rows],
        },
        schema={"external_user_id": pl.String, "time": UTC_US},
    )
    return frame.with_columns(**{k: pl.Series(v) for k, v in columns.items()})


def test_engagement_figures_per_person():
    tables = {
        "currents_email_sends": _events([("a", 1), ("a", 40), ("b", 2), (None, 1)]),
        "currents_email_opens": _events([("a", 3), ("a", 35), ("a", -2)]),  # -2: after as-of
        "currents_email_clicks": _events([("a", 3)]),
        "currents_email_bounces": _events(
            [("b", 2), ("c", 2)],
            event_type=["users.messages.email.Bounce", "users.messages.email.SoftBounce"],
        ),
        "currents_email_spam_reports": _events([("b", 1)]),
        "currents_email_unsubscribes": _events([("a", 10), ("b", 5)]),
        "currents_subscription_state_changes": _events(
            [("a", 4), ("b", 6)],
            event_type=["users.behaviors.subscription.GlobalStateChange"] * 2,
            channel=["email", "email"],
            subscription_status=["Subscribed", "Subscribed"],
        ),
        "currents_purchases": _events([("c", 3), ("c", 1)]),
    }
    out = build_customer_engagement(tables, NOW)
    assert out.schema == pl.Schema(ENGAGEMENT_SCHEMA)
    rows = {r["amperity_id"]: r for r in out.iter_rows(named=True)}
    assert set(rows) == {"a", "b", "c"}
    a, b, c = rows["a"], rows["b"], rows["c"]
    assert a["last_email_open_at"] == NOW - timedelta(days=3)
    assert (a["email_opens_30d"], a["email_clicks_30d"]) == (1, 1)
    assert (a["email_sends_30d"], a["email_sends_total"]) == (1, 2)
    assert a["email_unsubscribed"] is False  # re-subscribed after unsubscribing
    assert b["email_unsubscribed"] is True  # unsubscribed after the subscribe
    assert (b["email_bounced"], b["email_marked_spam"]) == (True, True)
    assert c["email_bounced"] is False  # a soft bounce only
    assert (c["email_opens_30d"], c["email_sends_total"]) == (0, 0)
    assert c["last_purchase_in_app_at"] == NOW - timedelta(days=1)
    assert c["last_email_open_at"] is None


def test_no_events_gives_an_empty_table_with_the_contract_columns():
    out = build_customer_engagement({}, NOW)
    assert out.height == 0 and out.schema == pl.Schema(ENGAGEMENT_SCHEMA)


def test_machine_opens_and_bot_clicks_are_counted_apart_and_left_out():
    """Apple Mail Privacy Protection opens every message itself (Currents: machine_open "true")
    and corporate link scanners click every link (is_suspected_bot_click): neither says the
    reader engaged, so neither counts as an open or a click, nor as the last one, by default."""
    tables = {
        "currents_email_opens": _events(
            [("a", 1), ("a", 2), ("a", 5), ("m", 1)],
            machine_open=["true", None, "true", "true"],
        ),
        "currents_email_clicks": _events(
            [("a", 1), ("a", 4), ("m", 1)], is_suspected_bot_click=[True, False, True]
        ),
    }
    rows = {
        r["amperity_id"]: r for r in build_customer_engagement(tables, NOW).iter_rows(named=True)
    }
    a, m = rows["a"], rows["m"]
    assert (a["email_opens_30d"], a["email_machine_opens_30d"]) == (1, 2)
    assert a["last_email_open_at"] == NOW - timedelta(days=2)  # the human open, not day 1's
    assert (a["email_clicks_30d"], a["email_bot_clicks_30d"]) == (1, 1)
    assert a["last_email_click_at"] == NOW - timedelta(days=4)
    # Only machines engaged: no open, no click, no last open; the machine figures say why.
    assert (m["email_opens_30d"], m["email_clicks_30d"]) == (0, 0)
    assert (m["email_machine_opens_30d"], m["email_bot_clicks_30d"]) == (1, 1)
    assert m["last_email_open_at"] is None and m["last_email_click_at"] is None

    counted = build_customer_engagement(
        tables, NOW, count_machine_opens=True, count_bot_clicks=True
    )
    a = counted.filter(pl.col("amperity_id") == "a").row(0, named=True)
    assert (a["email_opens_30d"], a["email_clicks_30d"]) == (3, 2)
    assert a["last_email_open_at"] == NOW - timedelta(days=1)


def test_flags_as_booleans_or_text_and_missing_columns():
    """An older schema has no machine_open column; another writes the flag as a boolean."""
    tables = {
        "currents_email_opens": _events([("a", 1), ("b", 1)], machine_open=[True, False]),
        "currents_email_clicks": _events([("a", 1)]),  # no is_suspected_bot_click at all
    }
    rows = {
        r["amperity_id"]: r for r in build_customer_engagement(tables, NOW).iter_rows(named=True)
    }
    assert (rows["a"]["email_opens_30d"], rows["a"]["email_machine_opens_30d"]) == (0, 1)
    assert (rows["b"]["email_opens_30d"], rows["b"]["email_machine_opens_30d"]) == (1, 0)
    assert (rows["a"]["email_clicks_30d"], rows["a"]["email_bot_clicks_30d"]) == (1, 0)


def test_events_keyed_by_a_merged_away_id_count_for_the_survivor():
    """B was merged into A by identity resolution: Braze's events still carry external_id B
    (sent before the merge), and they are A's opens, clicks and unsubscribes now."""
    tables = {
        "currents_email_opens": _events([("A", 1), ("B", 2), ("B", 3)]),
        "currents_email_unsubscribes": _events([("B", 1)]),
    }
    retired = pl.DataFrame({"retired_id": ["B"], "amperity_id": ["A"]})
    rows = {
        r["amperity_id"]: r
        for r in build_customer_engagement(tables, NOW, retired_ids=retired).iter_rows(named=True)
    }
    assert set(rows) == {"A"}
    assert rows["A"]["email_opens_30d"] == 3
    assert rows["A"]["email_unsubscribed"] is True  # B's unsubscribe binds the merged person
    without = build_customer_engagement(tables, NOW)
    assert set(without["amperity_id"]) == {"A", "B"}
