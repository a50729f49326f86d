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
