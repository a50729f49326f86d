"""Identifiers (issue 18, item 2) end to end against the emulator: user_alias, email, phone,
alias_fallback with /users/identify, and exactly one identifier per object.

Figures from the spec (shared/spec/braze-api.md) and braze.com where it is silent: each object
carries exactly one of external_id, braze_id, user_alias; email (then phone) identifies only
without one; ``_update_existing_only`` defaults to true for user_alias, so an alias object that
must create a profile says false; /users/identify takes at most 50 aliases a request and joins
an alias-only profile to the external_id (one profile afterwards, the alias kept).
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from amperity_braze_assets.braze.client import BrazeClient, ClientSettings
from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.diff import compute_diff
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger, LedgerView
from amperity_braze_assets.braze.sync import run_sync
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.helpers import settings_for
from amperity_braze_assets_tests.braze.test_sync import options

KEY = "identifiers-test-key-0001"
EMPTY = LedgerView(
    pl.DataFrame(schema={IDENTIFIER: pl.String}),
    pl.DataFrame(schema={IDENTIFIER: pl.String, "object": pl.String}),
)


def client_for(emulator) -> BrazeClient:
    settings = ClientSettings(rest_endpoint=emulator.url, backoff_base=0.001, backoff_max=0.01)
    return BrazeClient(settings, KEY)


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(StateStore(base_path=str(tmp_path / "state")), "default")


def alias_key(name: str, label: str = "loyalty_id") -> str:
    return json.dumps({"alias_name": name, "alias_label": label}, separators=(",", ":"))


def loyalty(external_ids: list[str | None], tiers: list[str]) -> pl.DataFrame:
    """Loyalty members L0..Ln: an alias each, an external_id once they have a web account."""
    n = len(external_ids)
    return pl.DataFrame(
        {
            "external_id": pl.Series(external_ids, dtype=pl.String),
            "alias_name": [f"L{i}" for i in range(n)],
            "alias_label": ["loyalty_id"] * n,
            "loyalty_tier": tiers,
        }
    )


def test_an_alias_destination_creates_alias_profiles_keyed_by_the_alias_text(ledger):
    frame = loyalty([None, None, "web-2"], ["gold", "silver", "bronze"])
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        opts = options("r1", identifier_column="alias_name", identifier_type="user_alias")
        report = run_sync(frame, ledger, client, opts)
        objects = [json.loads(o) for o in report.log["object"]]
        assert (report.accepted, report.rejected, report.unknown) == (3, 0, 0)
        assert emulator.counters.objects == 3
        aliases = emulator.aliases()
        profiles = emulator.profiles
    # One identifier each: the alias; the external_id column is not sent; created, so false.
    assert objects[0] == {
        "user_alias": {"alias_name": "L0", "alias_label": "loyalty_id"},
        "loyalty_tier": "gold",
        "_update_existing_only": False,
    }
    assert all("external_id" not in o and "alias_name" not in o for o in objects)
    assert sorted(a["loyalty_id"] for a in aliases.values()) == ["L0", "L1", "L2"]
    assert sorted(p["loyalty_tier"] for p in profiles.values()) == ["bronze", "gold", "silver"]
    assert sorted(ledger.compact().accepted[IDENTIFIER]) == sorted(
        alias_key(f"L{i}") for i in range(3)
    )


def test_the_emulator_creates_no_alias_profile_without_update_existing_only_false():
    body = {"attributes": [{"user_alias": {"alias_name": "L9", "alias_label": "x"}, "a": 1}]}
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        result = client.track(body)
        assert result.outcome == "rejected"
        assert "_update_existing_only is true" in result.message + str(result.errors)
        assert emulator.profiles == {}


def test_a_member_who_gains_an_external_id_is_identified_and_ends_as_one_profile(ledger):
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        fallback = dict(identifier_column="external_id", alias_fallback=True)
        first = run_sync(
            loyalty([None, None, "web-2"], ["gold", "silver", "bronze"]),
            ledger,
            client,
            options("r1", **fallback),
        )
        assert (first.accepted, first.identified) == (3, 0)
        # L0 creates a web account: web-0. L1 also changes tier.
        second = run_sync(
            loyalty(["web-0", None, "web-2"], ["gold", "platinum", "bronze"]),
            ledger,
            client,
            options("r2", **fallback),
        )
        profiles, aliases = emulator.profiles, emulator.aliases()
        counters = emulator.counters
    assert (second.identified, second.identify_requests, second.identify_pending) == (1, 1, 0)
    assert counters.identify_requests == 1 and counters.identified == 1
    # L0 is one profile: web-0, holding the attributes sent by alias and the alias itself.
    assert profiles["web-0"] == {"loyalty_tier": "gold"}
    assert aliases["web-0"] == {"loyalty_id": "L0"}
    assert len(profiles) == 3  # web-0, the alias-only L1, web-2: no duplicate
    # Nothing changed for web-0, so nothing is resent: only L1's tier goes, by alias.
    assert [json.loads(o) for o in second.log["object"]] == [
        {
            "user_alias": {"alias_name": "L1", "alias_label": "loyalty_id"},
            "loyalty_tier": "platinum",
            "_update_existing_only": False,
        }
    ]
    keys = sorted(ledger.compact().accepted[IDENTIFIER])
    assert keys == sorted(["web-0", alias_key("L1"), "web-2"])


def test_an_identify_joins_a_profile_the_app_already_made_for_that_external_id(ledger):
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        fallback = dict(identifier_column="external_id", alias_fallback=True)
        run_sync(loyalty([None], ["gold"]), ledger, client, options("r1", **fallback))
        emulator.add_profile("web-0", app_opens=7)  # the SDK made the account's profile
        report = run_sync(loyalty(["web-0"], ["gold"]), ledger, client, options("r2", **fallback))
        profiles, aliases = emulator.profiles, emulator.aliases()
    assert report.identified == 1 and report.objects_sent == 0
    # braze.com: fields only the alias profile held are copied; the alias-only profile goes.
    assert profiles == {"web-0": {"app_opens": 7, "loyalty_tier": "gold"}}
    assert aliases == {"web-0": {"loyalty_id": "L0"}}


def test_an_unconfirmed_identify_keeps_the_person_on_their_alias(ledger):
    fallback = dict(identifier_column="external_id", alias_fallback=True)
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        run_sync(loyalty([None], ["gold"]), ledger, client, options("r1", **fallback))
        url = emulator.url
    # Braze cannot be reached: the identify's outcome is unknown, so L0 stays on the alias
    # (its changed tier goes by alias, never by the external_id, which would make a second
    # profile) and the ledger keeps the alias key, to identify on the next run.
    settings = ClientSettings(rest_endpoint=url, max_attempts=1, backoff_base=0.001)
    with BrazeClient(settings, KEY) as client:
        report = run_sync(loyalty(["web-0"], ["silver"]), ledger, client, options("r2", **fallback))
    assert (report.identified, report.identify_pending, report.unknown) == (0, 1, 1)
    assert [json.loads(o) for o in report.log["object"]] == [
        {
            "user_alias": {"alias_name": "L0", "alias_label": "loyalty_id"},
            "loyalty_tier": "silver",
            "_update_existing_only": False,
        }
    ]
    assert ledger.compact().accepted[IDENTIFIER].to_list() == [alias_key("L0")]


def test_identify_requests_carry_at_most_50_aliases_and_the_dry_run_shows_them(ledger, tmp_path):
    n = 120
    ids: list[str | None] = [None] * n
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        fallback = dict(identifier_column="external_id", alias_fallback=True)
        run_sync(loyalty(ids, ["gold"] * n), ledger, client, options("r1", **fallback))
        web = [f"web-{i}" for i in range(n)]
        dry = run_sync(
            loyalty(web, ["gold"] * n),
            ledger,
            None,
            options("dry", dry_run=True, dry_run_dir=tmp_path / "dry", **fallback),
        )
        bodies = [json.loads(line) for line in (tmp_path / "dry" / "braze.identify.jsonl").open()]
        assert [len(b["aliases_to_identify"]) for b in bodies] == [50, 50, 20]
        assert bodies[0]["aliases_to_identify"][0] == {
            "external_id": "web-0",
            "user_alias": {"alias_name": "L0", "alias_label": "loyalty_id"},
        }
        assert dry.identified == n and dry.objects_sent == 0
        assert emulator.counters.identify_requests == 0  # a dry run sends nothing
        real = run_sync(loyalty(web, ["gold"] * n), ledger, client, options("r2", **fallback))
        assert (real.identify_requests, real.identified) == (3, n)
        assert len(emulator.profiles) == n and set(emulator.profiles) == set(web)


def test_an_email_destination_sends_email_as_the_one_identifier(ledger):
    frame = pl.DataFrame(
        {
            "external_id": ["amp-1", "amp-2", "amp-3"],
            "email": ["a@example.com", "b@example.com", None],
            "first_name": ["Ann", "Bob", "Cy"],
        }
    )
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        first = emulator.add_profile("app-a", email="a@example.com", first_name="Old")
        second = emulator.add_profile(None, email="a@example.com")  # updated later: chosen
        opts = options("r1", identifier_column="email", identifier_type="email")
        report = run_sync(frame, ledger, client, opts)
        by_braze_id = emulator.profiles_by_braze_id()
    objects = [json.loads(o) for o in report.log["object"]]
    assert objects == [
        {"email": "a@example.com", "first_name": "Ann"},
        {"email": "b@example.com", "first_name": "Bob"},
    ]
    assert report.diff.missing_identifier == 1  # Cy: no email, not sent
    assert by_braze_id[second] == {"email": "a@example.com", "first_name": "Ann"}
    assert by_braze_id[first]["first_name"] == "Old"
    assert {"email": "b@example.com", "first_name": "Bob"} in by_braze_id.values()
    assert sorted(ledger.compact().accepted[IDENTIFIER]) == ["a@example.com", "b@example.com"]


def test_a_phone_destination_and_an_invalid_phone_is_refused(ledger):
    frame = pl.DataFrame({"phone": ["+14155550100", "not a phone"], "first_name": ["A", "B"]})
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        opts = options("r1", identifier_column="phone", identifier_type="phone")
        report = run_sync(frame, ledger, client, opts)
        profiles = list(emulator.profiles.values())
    assert (report.accepted, report.rejected) == (1, 1)
    assert profiles == [{"phone": "+14155550100", "first_name": "A"}]


def test_exactly_one_identifier_per_object_and_a_row_without_one_is_counted_not_sent():
    frame = loyalty([None, "web-1", None], ["gold", "silver", "bronze"]).with_columns(
        pl.Series("alias_name", ["L0", "L1", None])
    )
    diff = compute_diff(frame, EMPTY, alias_fallback=True)
    objects = [json.loads(o) for o in diff.changes["__object"]]
    identifiers = [{"external_id", "braze_id", "user_alias"} & set(o) for o in objects]
    assert identifiers == [{"user_alias"}, {"external_id"}]
    assert diff.figures.missing_identifier == 1  # the third: neither external_id nor alias
    with pytest.raises(ValueError, match="exactly one identifier"):
        compute_diff(frame, EMPTY, attributes=["loyalty_tier", "alias_name"])
    with_email = frame.with_columns(email=pl.lit("a@example.com"))
    with pytest.raises(ValueError, match="exactly one identifier"):
        compute_diff(
            with_email,
            EMPTY,
            identifier_column="email",
            identifier_type="email",
            attributes=["external_id"],
        )


def test_the_emulator_refuses_two_primary_identifiers_and_takes_email_before_phone():
    with start_emulator(KEY) as emulator, client_for(emulator) as client:
        two = {"external_id": "x", "user_alias": {"alias_name": "a", "alias_label": "b"}, "a": 1}
        result = client.track({"attributes": [two]})
        assert result.outcome == "rejected"
        both = {"email": "e@example.com", "phone": "+14155550100", "a": 1}
        assert client.track({"attributes": [both]}).outcome == "accepted"
        again = {"email": "e@example.com", "phone": "+14155550199", "a": 2}
        assert client.track({"attributes": [again]}).outcome == "accepted"
        profiles = list(emulator.profiles.values())
    assert profiles == [{"email": "e@example.com", "phone": "+14155550199", "a": 2}]


def test_destinations_load_the_new_identifiers_and_refuse_alias_fallback_without_external_id(
    tmp_path,
):
    (tmp_path / "destinations.yaml").write_text(
        "destinations:\n  braze:\n    identifier: external_id\n    alias_fallback: true\n"
        "  loyalty:\n    api_key_env: LOYALTY_KEY\n    identifier: user_alias\n"
    )
    braze, loyalty_destination = load_destinations(settings_for(tmp_path, config_dir=tmp_path))
    assert (braze.identifier, braze.alias_fallback, braze.identifier_column) == (
        "external_id",
        True,
        "external_id",
    )
    assert (loyalty_destination.identifier, loyalty_destination.identifier_column) == (
        "user_alias",
        "alias_name",
    )
    (tmp_path / "destinations.yaml").write_text(
        "destinations:\n  braze:\n    identifier: email\n    alias_fallback: true\n"
    )
    with pytest.raises(ConfigError, match="alias_fallback .* needs identifier: external_id"):
        load_destinations(settings_for(tmp_path, config_dir=tmp_path))


def test_alias_fallback_with_a_sharded_sync_is_refused_at_load(tmp_path):
    """A person's shard follows their key, which changes when their alias is identified."""
    (tmp_path / "destinations.yaml").write_text(
        "destinations:\n  braze:\n    identifier: external_id\n    alias_fallback: true\n"
    )
    sharded = settings_for(tmp_path, config_dir=tmp_path, AMPERITY_BRAZE_SYNC_SHARDS="4")
    with pytest.raises(ConfigError) as refused:
        load_destinations(sharded)
    message = str(refused.value)
    assert "destinations.yaml: destination 'braze': alias_fallback" in message
    assert (
        "AMPERITY_BRAZE_SYNC_SHARDS=4" in message and "Set AMPERITY_BRAZE_SYNC_SHARDS=1" in message
    )
    # user_alias shards well (its key never changes); one shard takes alias_fallback
    (tmp_path / "destinations.yaml").write_text(
        "destinations:\n  braze:\n    identifier: user_alias\n"
    )
    assert load_destinations(sharded)[0].identifier_columns == ("alias_name", "alias_label")
    (tmp_path / "destinations.yaml").write_text(
        "destinations:\n  braze:\n    identifier: external_id\n    alias_fallback: true\n"
    )
    one = settings_for(tmp_path, config_dir=tmp_path, AMPERITY_BRAZE_SYNC_SHARDS="1")
    assert load_destinations(one)[0].identifier_columns == (
        "external_id",
        "alias_name",
        "alias_label",
    )
