"""Which table each Currents event type lands in.

One table per event family our engagement models use; every other event type (about 95 exist,
and releases add more) goes to ``currents_other_events`` with the record as JSON text, so
nothing Braze sends is lost.
"""

from __future__ import annotations

EVENT_FAMILY_TABLES: dict[str, tuple[str, ...]] = {
    "currents_email_sends": ("users.messages.email.Send",),
    "currents_email_deliveries": ("users.messages.email.Delivery",),
    "currents_email_opens": ("users.messages.email.Open",),
    "currents_email_clicks": ("users.messages.email.Click",),
    "currents_email_bounces": ("users.messages.email.Bounce", "users.messages.email.SoftBounce"),
    "currents_email_unsubscribes": ("users.messages.email.Unsubscribe",),
    "currents_email_spam_reports": ("users.messages.email.MarkAsSpam",),
    "currents_push_sends": ("users.messages.pushnotification.Send",),
    "currents_push_opens": ("users.messages.pushnotification.Open",),
    "currents_custom_events": ("users.behaviors.CustomEvent",),
    "currents_purchases": ("users.behaviors.Purchase",),
    "currents_subscription_state_changes": (
        "users.behaviors.subscription.GlobalStateChange",
        "users.behaviors.subscriptiongroup.StateChange",
    ),
    "currents_campaign_conversions": ("users.campaigns.Conversion",),
    "currents_canvas_entries": ("users.canvas.Entry",),
}
OTHER_EVENTS_TABLE = "currents_other_events"
QUARANTINE_TABLE = "currents_quarantine"
EVENT_TABLES: tuple[str, ...] = (*EVENT_FAMILY_TABLES, OTHER_EVENTS_TABLE)

TABLE_BY_EVENT_TYPE: dict[str, str] = {
    event_type: table
    for table, event_types in EVENT_FAMILY_TABLES.items()
    for event_type in event_types
}

HARD_BOUNCE = "users.messages.email.Bounce"
SOFT_BOUNCE = "users.messages.email.SoftBounce"
GLOBAL_STATE_CHANGE = "users.behaviors.subscription.GlobalStateChange"


def table_for_event_type(event_type: str) -> str:
    return TABLE_BY_EVENT_TYPE.get(event_type, OTHER_EVENTS_TABLE)
