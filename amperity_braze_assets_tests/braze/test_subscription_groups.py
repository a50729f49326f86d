"""Subscription groups are compared and sent per group (issue 18, item 3; review finding 1).

From the spec (shared/spec/braze-api.md, Subscriptions) and Braze's docs for ``/users/track``:
``subscription_groups`` in the attributes object is a plain list of ``{"subscription_group_id":
<uuid>, "subscription_state": "subscribed" | "unsubscribed"}``; each listed group is set and the
others are left as they are; subscription changes are not data points. It is not a custom array
of objects: ``$add`` / ``$remove`` / ``$update`` and ``_merge_objects`` never apply to it (the
emulator refuses anything but a list).
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from amperity_braze_assets.activation.subscriptions import (
    ConsentFigures,
    ConsentSpec,
    consent_columns,
)
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger
from amperity_braze_assets.braze.subscription_groups import state_column
from amperity_braze_assets.braze.sync import run_sync
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.test_sync import KEY, client_for, options

NEWS = "8d0f5a3e-2b7c-4c1e-9f6a-0c2d4e6f8a1b"
SMS = "1c3e5a7b-9d2f-4b6a-8c0e-2f4a6c8e0b1d"
PUSH = "2e4a6c8e-0b1d-4f3a-9c5e-7a9b1d3f5e70"
OFFERS = "3f5b7d9f-1c2e-4a4b-8d6f-8b0c2e4a6f81"
GROUPS = (NEWS, SMS, PUSH, OFFERS)
JAN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
JUL = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)


def attributes(states: dict[str, tuple[bool | None, dt.datetime]]) -> pl.DataFrame:
    """One person, amp-1, with a consent column per group (None: the group has no value) made
    into ``subscription_groups`` the way braze_customer_attributes does."""
    specs = tuple(
        ConsentSpec("subscription_groups", g, ((f"g{i}", f"g{i}_at"),))
        for i, g in enumerate(states)
    )
    people = pl.DataFrame(
        {
            "amperity_id": ["amp-1"],
            **{f"g{i}": [opt] for i, (opt, _) in enumerate(states.values())},
            **{f"g{i}_at": [at] for i, (_, at) in enumerate(states.values())},
        },
        schema_overrides={f"g{i}": pl.Boolean for i in range(len(states))},
    )
    consent = consent_columns(people, "amperity_id", specs, None, ConsentFigures())
    return pl.DataFrame({"external_id": ["amp-1"], "first_name": ["Ann"]}).with_columns(consent)


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(StateStore(base_path=str(tmp_path / "state")), "default")


def sent_object(report) -> dict:
    assert report.log.height == 1
    return json.loads(report.log["object"][0])


def test_a_change_in_one_group_leaves_an_unsubscribe_made_in_braze_in_another(ledger):
    """The reviewer's scenario: the person unsubscribes from SMS in Braze (a preference centre);
    our newsletter opt-out arrives later, our SMS opt-in is still January's. Only the newsletter
    is sent, so SMS stays unsubscribed."""
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run_sync(attributes({NEWS: (True, JAN), SMS: (True, JAN)}), ledger, client, options("r1"))
        assert emulator.subscription_groups()["amp-1"] == {NEWS: "subscribed", SMS: "subscribed"}
        unsubscribe_sms = {"external_id": "amp-1", "subscription_groups": [{"subscription_group_id": SMS, "subscription_state": "unsubscribed"}]}  # fmt: skip
        client.track(json.dumps({"attributes": [unsubscribe_sms]}), 1)
        report = run_sync(
            attributes({NEWS: (False, JUL), SMS: (True, JAN)}), ledger, client, options("r2")
        )
        held = emulator.subscription_groups()["amp-1"]
        data_points = emulator.counters.data_points
    assert sent_object(report) == {
        "external_id": "amp-1",
        "subscription_groups": [{"subscription_group_id": NEWS, "subscription_state": "unsubscribed"}],
    }  # fmt: skip
    assert held == {NEWS: "unsubscribed", SMS: "unsubscribed"}
    assert report.log["fields"].to_list() == [["subscription_groups"]]
    assert (report.accepted, report.data_points_sent) == (1, 0)
    assert data_points == 1  # first_name, once; subscription changes are not data points
    # The ledger holds each group's accepted state: SMS as we last sent it, NEWS updated.
    row = ledger.view().accepted.filter(pl.col(IDENTIFIER) == "amp-1")
    assert row[state_column(NEWS)].to_list() == ["unsubscribed"]
    assert row[state_column(SMS)].to_list() == ["subscribed"]


def test_one_changed_group_of_four_is_sent_as_a_plain_list_of_that_group(ledger):
    """Never $update / $remove / _merge_objects, even where an element-wise operation would be
    shorter than the list; Braze (and the emulator) accept only the list."""
    before = dict.fromkeys(GROUPS, (True, JAN))
    after = {**before, PUSH: (False, JUL)}
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        first = run_sync(attributes(before), ledger, client, options("r1"))
        second = run_sync(attributes(after), ledger, client, options("r2"))
        third = run_sync(attributes(after), ledger, client, options("r3"))
        held = emulator.subscription_groups()["amp-1"]
    listed = sent_object(first)["subscription_groups"]
    assert sorted(g["subscription_group_id"] for g in listed) == sorted(GROUPS)
    body = second.log["object"][0]
    assert json.loads(body) == {
        "external_id": "amp-1",
        "subscription_groups": [{"subscription_group_id": PUSH, "subscription_state": "unsubscribed"}],
    }  # fmt: skip
    assert "$update" not in body and "$remove" not in body and "_merge_objects" not in body
    assert (second.accepted, second.rejected) == (1, 0)
    assert third.objects_sent == 0  # unchanged states are not resent
    assert held == {**dict.fromkeys(GROUPS, "subscribed"), PUSH: "unsubscribed"}


def test_a_group_gone_from_our_data_sends_nothing(ledger):
    """No value for a group is not an unsubscribe: Braze keeps what it holds, nothing is sent."""
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run_sync(attributes({NEWS: (True, JAN), SMS: (True, JAN)}), ledger, client, options("r1"))
        gone = run_sync(
            attributes({NEWS: (True, JAN), SMS: (None, JAN)}), ledger, client, options("r2")
        )
        # A change to the group still there sends only that one.
        changed = run_sync(
            attributes({NEWS: (False, JUL), SMS: (None, JAN)}), ledger, client, options("r3")
        )
        held = emulator.subscription_groups()["amp-1"]
    assert gone.objects_sent == 0 and gone.diff.cleared == 0
    assert sent_object(changed)["subscription_groups"] == [
        {"subscription_group_id": NEWS, "subscription_state": "unsubscribed"}
    ]
    assert held == {NEWS: "unsubscribed", SMS: "subscribed"}


def test_the_emulator_refuses_array_operations_on_subscription_groups():
    """What we never send, Braze does not take: subscription_groups is a plain list."""
    update = {"$update": [{"$identifier_key": "subscription_group_id", "$identifier_value": NEWS, "$new_object": {"subscription_state": "unsubscribed"}}]}  # fmt: skip
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        refused = client.track(
            {"attributes": [{"external_id": "amp-1", "subscription_groups": update}]}
        )
        listed = client.track(
            {
                "attributes": [
                    {
                        "external_id": "amp-1",
                        "subscription_groups": [
                            {"subscription_group_id": NEWS, "subscription_state": "subscribed"}
                        ],
                    }
                ]
            }  # fmt: skip
        )
        held = emulator.subscription_groups()
    assert (refused.outcome, listed.outcome) == ("rejected", "accepted")
    assert held == {"amp-1": {NEWS: "subscribed"}}
