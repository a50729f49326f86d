"""attributes.yaml's ``alias:`` and ``subscriptions:`` (issue 18, items 2 and 3): loading and its
refusals, the alias columns, the consent rule (an opt-out is never overwritten by an older
opt-in) in both its cases, and subscription groups end to end against the emulator.

Figures from the spec (shared/spec/braze-api.md, Subscriptions): a group entry is
``{"subscription_group_id": <uuid>, "subscription_state": "subscribed" | "unsubscribed"}`` inside
the attributes object; ``email_subscribe`` takes opted_in / subscribed / unsubscribed;
subscription changes are not data points.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import textwrap

import polars as pl
import pytest

from amperity_braze_assets.activation.attributes import build_braze_attributes
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.activation.subscriptions import (
    ConsentFigures,
    ConsentSpec,
    braze_consent_events,
    consent_columns,
)
from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.ledger import Ledger
from amperity_braze_assets.braze.sync import run_sync
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.helpers import SAMPLE_CONFIG_DIR, make_settings
from amperity_braze_assets_tests.braze.test_sync import options

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
NEWS = "8d0f5a3e-2b7c-4c1e-9f6a-0c2d4e6f8a1b"
SMS = "1c3e5a7b-9d2f-4b6a-8c0e-2f4a6c8e0b1d"
EXTRA_ATTRIBUTES = {
    "web_id": "web_id",
    "card": "loyalty_number",
    "news": "news_opt_in",
    "news_at": "news_opt_in_at",
    "sms_web": "sms_opt_in_web",
    "sms_web_at": "sms_opt_in_web_at",
    "sms_store": "sms_opt_in_store",
    "sms_store_at": "sms_opt_in_store_at",
    "email_ok": "email_opt_in",
    "email_ok_at": "email_opt_in_at",
}
KEY = "subscriptions-test-key-0001"


def project(tmp_path, attributes: str):
    """The sample sources, the loyalty source carrying the columns these tests read."""
    config = tmp_path / "config"
    config.mkdir(parents=True, exist_ok=True)
    sources = (SAMPLE_CONFIG_DIR / "sources.yaml").read_text()
    anchor = "      joined: loyalty_joined_on\n"
    extra = "".join(f"      {k}: {v}\n" for k, v in EXTRA_ATTRIBUTES.items())
    (config / "sources.yaml").write_text(sources.replace(anchor, anchor + extra))
    shutil.copy(SAMPLE_CONFIG_DIR / "identity.yaml", config / "identity.yaml")
    (config / "attributes.yaml").write_text(textwrap.dedent(attributes))
    return load_project_config(make_settings(tmp_path / "data", config), check_files=False)


def mapping_for(tmp_path, attributes: str):
    return load_attribute_config(project(tmp_path, attributes))


ALIAS_AND_GROUPS = f"""
identifier: external_id
identifier_source: customer_360.web_id
alias: {{name: customer_360.loyalty_number, label: loyalty_id}}
allow_consent_fields: true
custom:
  loyalty_tier: {{source: customer_360.loyalty_tier, type: Varchar(16)}}
subscriptions:
  email_subscribe: {{state: customer_360.email_opt_in, updated_at: customer_360.email_opt_in_at}}
  subscription_groups:
    - group_id: {NEWS}
      state: customer_360.news_opt_in
      updated_at: customer_360.news_opt_in_at
    - group_id: {SMS.upper()}
      sources:
        - {{state: customer_360.sms_opt_in_web, updated_at: customer_360.sms_opt_in_web_at}}
        - {{state: customer_360.sms_opt_in_store, updated_at: customer_360.sms_opt_in_store_at}}
"""


def at(day: int) -> str | None:
    return f"2025-05-{day:02d}T12:00:00Z"


def customers() -> pl.DataFrame:
    """Five people; each consent case is named beside its row."""
    return pl.DataFrame(
        {
            "amperity_id": ["P0", "P1", "P2", "P3", "P4"],
            "web_id": ["web-0", None, None, "web-3", "web-4"],
            "loyalty_number": ["L0", "L1", None, "L3", "L4"],
            "loyalty_tier": ["gold", "silver", "bronze", "gold", "gold"],
            "email_opt_in": ["true", "false", None, "yes", "true"],
            "email_opt_in_at": [at(1), at(2), None, None, at(3)],
            "news_opt_in": ["subscribed", "true", None, "true", "unsubscribed"],
            "news_opt_in_at": [at(10), at(5), None, None, at(1)],
            # P0: web opt-in newer than the store's opt-out: in. P1: opt-out newer: out.
            # P3: an opt-in without a time never beats an opt-out: out. P4: equal times: out.
            "sms_opt_in_web": ["true", "true", None, "true", "true"],
            "sms_opt_in_web_at": [at(9), at(3), None, None, at(4)],
            "sms_opt_in_store": ["false", "false", None, "false", "false"],
            "sms_opt_in_store_at": [at(8), at(7), None, at(1), at(4)],
        }
    )


def build(mapping, braze_events=None, figures=None):
    tables = {"customer_360": customers()}
    return build_braze_attributes(tables, None, mapping, AS_OF, braze_events, figures)


def groups_of(attributes: pl.DataFrame) -> dict[str, dict[str, str]]:
    out = {}
    for row in attributes.select("alias_name", "subscription_groups").to_dicts():
        entries = row["subscription_groups"] or []
        out[row["alias_name"]] = {
            e["subscription_group_id"]: e["subscription_state"] for e in entries
        }
    return out


def test_alias_and_subscriptions_load_and_make_their_columns(tmp_path):
    mapping = mapping_for(tmp_path, ALIAS_AND_GROUPS)
    assert mapping.output_columns == (
        "external_id",
        "alias_name",
        "alias_label",
        "loyalty_tier",
        "email_subscribe",
        "subscription_groups",
    )
    assert [s.group_id for s in mapping.subscriptions if s.group_id] == [NEWS, SMS]
    (
        attributes,
        rejects,
    ) = build(mapping)
    # P2 has neither a web id nor a loyalty number: rejected with the reason, held, not sent.
    assert attributes["alias_name"].to_list() == ["L0", "L1", "L3", "L4"]
    assert attributes["alias_label"].unique().to_list() == ["loyalty_id"]
    assert attributes["external_id"].to_list() == ["web-0", None, "web-3", "web-4"]
    reason = rejects.filter(pl.col("external_id") == "P2").row(0, named=True)
    assert reason["field"] == "external_id" and reason["action"] == "hold_row"
    assert "no identifier to send" in reason["reason"]


def test_rule_a_the_latest_consent_wins_and_an_untimed_opt_in_never_beats_an_opt_out(tmp_path):
    attributes, _ = build(mapping_for(tmp_path, ALIAS_AND_GROUPS))
    groups = groups_of(attributes)
    assert {k: v[SMS] for k, v in groups.items()} == {
        "L0": "subscribed",  # web opt-in (9th) after the store's opt-out (8th)
        "L1": "unsubscribed",  # store opt-out (7th) after the web opt-in (3rd)
        "L3": "unsubscribed",  # web opt-in has no time; store opt-out does
        "L4": "unsubscribed",  # same time: the opt-out wins
    }
    assert {k: v[NEWS] for k, v in groups.items()} == {
        "L0": "subscribed",
        "L1": "subscribed",
        "L3": "subscribed",  # one source, no disagreement: sent as it is
        "L4": "unsubscribed",
    }
    assert attributes["email_subscribe"].to_list() == [
        "opted_in",
        "unsubscribed",
        "opted_in",
        "opted_in",
    ]


def test_rule_b_a_later_unsubscribe_in_braze_keeps_an_older_opt_in_from_being_sent(tmp_path):
    currents = {
        "currents_subscription_state_changes": pl.DataFrame(
            {
                "external_user_id": ["P0", "P1", "P1", "P3"],
                "time": [
                    dt.datetime(2025, 5, 12, tzinfo=dt.UTC),  # after P0's opt-in (10th): out
                    dt.datetime(2025, 5, 4, tzinfo=dt.UTC),  # before P1's opt-in (5th)...
                    dt.datetime(2025, 5, 6, tzinfo=dt.UTC),  # ...and a later re-subscribe
                    dt.datetime(2025, 5, 1, tzinfo=dt.UTC),  # P3's opt-in has no time: out
                ],
                "subscription_status": [
                    "Unsubscribed",
                    "Unsubscribed",
                    "Subscribed",
                    "Unsubscribed",
                ],
                "subscription_group_id": [NEWS, NEWS, NEWS, NEWS],
                "channel": [None, None, None, None],
            }
        ),
        "currents_email_unsubscribes": pl.DataFrame(
            {
                "external_user_id": ["P4"],
                "time": [dt.datetime(2025, 5, 20, tzinfo=dt.UTC)],  # after P4's opt-in (3rd)
            }
        ),
    }
    events = braze_consent_events(currents)
    figures = ConsentFigures()
    attributes, _ = build(mapping_for(tmp_path, ALIAS_AND_GROUPS), events, figures)
    groups = groups_of(attributes)
    assert {k: v[NEWS] for k, v in groups.items()} == {
        "L0": "unsubscribed",
        "L1": "subscribed",  # Braze's latest event is a subscribe
        "L3": "unsubscribed",
        "L4": "unsubscribed",  # our own opt-out
    }
    assert attributes["email_subscribe"].to_list()[3] == "unsubscribed"  # P4, Braze's later one
    assert figures.kept_unsubscribed_by_braze == 3


def test_rule_b_an_unsubscribe_in_braze_at_the_same_time_as_our_opt_in_wins():
    """At an equal time the opt-out wins (rule (a) between our sources, rule (b) against Braze);
    a time with an offset is compared in UTC, a naive one read as UTC."""
    ten = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)
    people = pl.DataFrame(
        {
            "amperity_id": ["same", "offset", "earlier", "later"],
            "opt": [True, True, True, True],
            "opt_at": [
                "2026-11-01T10:00:00Z",
                "2026-11-01 03:00:00-07:00",  # 10:00 UTC, Braze's unsubscribe 10:00
                "2026-11-01T09:00:00",
                "2026-11-01T11:00:00Z",  # after Braze's unsubscribe: our opt-in is sent
            ],
        }
    )
    spec = ConsentSpec(field="email_subscribe", group_id=None, sources=(("opt", "opt_at"),))
    unsubscribes = pl.DataFrame(
        {"external_user_id": ["same", "offset", "earlier", "later"], "time": [ten] * 4}
    )
    events = braze_consent_events({"currents_email_unsubscribes": unsubscribes})
    figures = ConsentFigures()
    sent = consent_columns(people, "amperity_id", (spec,), events, figures)
    assert sent["email_subscribe"].to_list() == [
        "unsubscribed",
        "unsubscribed",
        "unsubscribed",
        "opted_in",
    ]
    assert figures.kept_unsubscribed_by_braze == 3


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "subscriptions:\n  subscription_groups:\n    - {group_id: not-a-uuid, state: "
            "customer_360.news_opt_in}\n",
            "subscriptions.subscription_groups.0.group_id: group_id 'not-a-uuid' is not a UUID",
        ),
        (
            "subscriptions:\n  email_subscribe: {state: customer_360.email_opt_in}\n",
            "allow_consent_fields: true",
        ),
        (
            "subscriptions:\n  subscription_groups:\n    - {group_id: " + NEWS + ", state: "
            "customer_360.news_optin}\n",
            "has no column 'news_optin'",
        ),
        ("alias: {name: customer_360.loyalty_number}\n", "alias must map name"),
    ],
)
def test_refusals_name_the_file_the_entry_and_the_fix(tmp_path, section, message):
    with pytest.raises(ConfigError) as refused:
        mapping_for(tmp_path, section)
    assert "attributes.yaml" in str(refused.value)
    assert message in str(refused.value)


def test_subscription_groups_reach_braze_per_profile_and_cost_no_data_points(tmp_path):
    attributes, _ = build(mapping_for(tmp_path, ALIAS_AND_GROUPS))
    ledger = Ledger(StateStore(base_path=str(tmp_path / "state")), "default")
    with start_emulator(KEY) as emulator:
        settings = ClientSettings(rest_endpoint=emulator.url, backoff_base=0.001)
        with BrazeClient(settings, KEY) as client:
            opts = options("r1", identifier_column="external_id", alias_fallback=True)
            report = run_sync(attributes, ledger, client, opts)
            again = run_sync(attributes, ledger, client, options("r2", alias_fallback=True))
        groups = emulator.subscription_groups()
        data_points = emulator.counters.data_points
    assert (report.accepted, report.rejected) == (4, 0)
    first = json.loads(report.log["object"][0])
    groups_sent = sorted(first["subscription_groups"], key=lambda g: g["subscription_group_id"])
    assert groups_sent == sorted(
        [
            {"subscription_group_id": NEWS, "subscription_state": "subscribed"},
            {"subscription_group_id": SMS, "subscription_state": "subscribed"},
        ],
        key=lambda g: g["subscription_group_id"],
    )
    assert first["email_subscribe"] == "opted_in"
    assert groups["web-0"] == {NEWS: "subscribed", SMS: "subscribed"}
    assert groups["web-4"] == {NEWS: "unsubscribed", SMS: "unsubscribed"}
    # Billed: loyalty_tier only (4 people); consent and identifiers are not data points.
    assert report.data_points_sent == 4 and data_points == 4
    assert again.objects_sent == 0  # unchanged consent is not resent
