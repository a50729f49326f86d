"""Destinations end to end (issue 18, item 7): the real sync assets, materialized against the
emulator, for ``update_existing_only``, ``identifier: braze_id`` and two workspaces.

The figures come from the spec (shared/spec/braze-api.md): ``_update_existing_only: true`` never
creates a profile; a ``braze_id`` is assigned by Braze, so it names an existing profile only.
For an object whose profile does not exist the spec is silent on the answer; the emulator
answers an error entry (its documented choice), so the sync must count it rejected and its
ledger must not hold it as accepted.
"""

from __future__ import annotations

import json
import textwrap

import dagster as dg
import polars as pl

from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger
from amperity_braze_assets.braze.resources import build_braze_resources
from amperity_braze_assets.braze.sync_assets import build_sync_assets
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.braze.helpers import fake_identity, settings_for

KEY = "destinations-e2e-key-0001"
OTHER_KEY = "destinations-e2e-key-0002"
SYNC_STEPS = ("braze_attribute_diff", "braze_sync", "braze_sync_log")


def write_config(tmp_path, destinations: str):
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  crm:\n    files: x.csv\n    primary_key: id\n    columns: {a: email}\n"
    )
    (config / "destinations.yaml").write_text(textwrap.dedent(destinations))
    return config


def attributes_asset(frame: pl.DataFrame):
    @dg.asset(name="braze_customer_attributes")
    def braze_customer_attributes() -> pl.DataFrame:
        return frame

    return braze_customer_attributes


def run_sync(settings, frame: pl.DataFrame, suffixes=("",)):
    """Materialize the attributes, the identity and each destination's diff, sync and log."""
    selection = ["braze_customer_attributes", "identity_resolution"] + [
        step + suffix for suffix in suffixes for step in SYNC_STEPS
    ]
    return dg.materialize(
        [attributes_asset(frame), fake_identity, *build_sync_assets(None, settings)],
        selection=selection,
        resources={
            "io_manager": ParquetIOManager(base_path=str(settings.storage_base)),
            "state_store": StateStore(base_path=settings.state_base),
            **build_braze_resources(load_destinations(settings), settings),
        },
        raise_on_error=False,
    )


def ledger_of(settings, name: str) -> Ledger:
    return Ledger(StateStore(base_path=settings.state_base).tables(), name)


def sync_metadata(result, node: str = "braze_sync") -> dict:
    materializations = result.asset_materializations_for_node(node)
    assert len(materializations) == 1, f"{node} did not materialize"
    return {k: v.value for k, v in materializations[0].metadata.items()}


# -- update_existing_only -----------------------------------------------------------------------
UPDATE_ONLY = """\
    destinations:
      braze:
        api_key_env: BRAZE_API_KEY
        rest_endpoint_env: BRAZE_REST_ENDPOINT
        update_existing_only: true
        max_reject_share: 1.0   # people without a profile are refused by design here
"""
FIVE_PEOPLE = pl.DataFrame(
    {
        "external_id": ["a", "b", "c", "d", "e"],
        "first_name": ["Ann", "Bob", "Cy", "Di", "Ed"],
        "loyalty_tier": ["gold", "silver", "gold", "bronze", "silver"],
    }
)


def test_update_existing_only_updates_the_held_profiles_and_creates_none(tmp_path, monkeypatch):
    config = write_config(tmp_path, UPDATE_ONLY)
    with start_emulator(KEY) as emulator:
        emulator.add_profile("b", first_name="Robert", app_opens=12)  # made by the app's SDK
        emulator.add_profile("d", first_name="Diana")
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(
            tmp_path / "data", config, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url
        )
        result = run_sync(settings, FIVE_PEOPLE)
        profiles = emulator.profiles
        counters = emulator.counters
    # Braze: exactly the two held profiles, updated; the SDK's own attribute left alone.
    assert profiles == {
        "b": {"first_name": "Bob", "app_opens": 12, "loyalty_tier": "silver"},
        "d": {"first_name": "Di", "loyalty_tier": "bronze"},
    }
    assert counters.objects == 2 and counters.rejected_objects == 3
    # The sync: five new to the ledger, two accepted, three refused (no profile), none unknown.
    metadata = sync_metadata(result)
    assert (metadata["accepted"], metadata["rejected"], metadata["unknown"]) == (2, 3, 0)
    assert "| new | 5 | 2 | 3 | 0 |" in metadata["people"]
    # The ledger holds as synced only what Braze applied; the others as refused, with Braze's
    # reason, so they are not counted as synced and not resent until their data changes.
    view = ledger_of(settings, "default").view()
    assert sorted(view.accepted[IDENTIFIER]) == ["b", "d"]
    assert sorted(view.rejections[IDENTIFIER]) == ["a", "c", "e"]
    assert all("_update_existing_only" in r for r in view.rejections["reason"])
    assert ledger_of(settings, "default").read_sync_logs().height == 5  # a log row each


def test_update_existing_only_sends_the_switch_in_every_object(tmp_path, monkeypatch):
    config = write_config(tmp_path, UPDATE_ONLY)
    monkeypatch.delenv("BRAZE_API_KEY", raising=False)
    settings = settings_for(tmp_path / "data", config, BRAZE_REST_ENDPOINT="http://127.0.0.1:9")
    result = run_sync(settings, FIVE_PEOPLE)  # no key: a dry run writes the bodies
    assert result.success
    bodies = [
        obj
        for path in sorted((settings.data_dir / "braze" / "dry_run").rglob("*.jsonl"))
        for line in path.read_text().splitlines()
        for obj in json.loads(line)["attributes"]
    ]
    assert len(bodies) == 5
    assert all(obj["_update_existing_only"] is True for obj in bodies)


def test_a_profile_created_after_a_refusal_is_updated_on_the_next_sync(tmp_path, monkeypatch):
    """An update-only object Braze refused (no profile yet) is not held back: once the app
    creates the profile, the next sync updates it."""
    config = write_config(tmp_path, UPDATE_ONLY)
    with start_emulator(KEY) as emulator:
        emulator.add_profile("b", first_name="Robert")
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(
            tmp_path / "data", config, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url
        )
        assert run_sync(settings, FIVE_PEOPLE).success
        emulator.add_profile("a")  # Ann signs up in the app: Braze now holds her profile
        assert run_sync(settings, FIVE_PEOPLE).success
        profiles = emulator.profiles
    assert profiles["a"] == {"first_name": "Ann", "loyalty_tier": "gold"}


# -- identifier: braze_id -----------------------------------------------------------------------
BY_BRAZE_ID = """\
    destinations:
      braze:
        api_key_env: BRAZE_API_KEY
        rest_endpoint_env: BRAZE_REST_ENDPOINT
        identifier: braze_id
        max_reject_share: 1.0
"""


def test_braze_id_updates_the_profiles_it_names_and_creates_none(tmp_path, monkeypatch):
    config = write_config(tmp_path, BY_BRAZE_ID)
    with start_emulator(KEY) as emulator:
        anonymous = emulator.add_profile(first_name="Anon")  # an app user without external_id
        known = emulator.add_profile("cust-7", first_name="Kay", app_opens=3)
        people = pl.DataFrame(
            {
                "braze_id": [anonymous, known, "never-assigned", None],
                "external_id": ["p1", "p2", "p3", "p4"],  # not this destination's identifier
                "first_name": ["Ann", "Kai", "Ghost", "Nobody"],
                "loyalty_tier": ["gold", "silver", "bronze", "gold"],
            }
        )
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = settings_for(
            tmp_path / "data", config, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url
        )
        result = run_sync(settings, people)
        by_braze_id = emulator.profiles_by_braze_id()
        counters = emulator.counters
    # The two profiles the braze_ids name are updated; the unknown braze_id creates nothing,
    # and the external_id column is not sent (it would make a second identifier).
    assert by_braze_id == {
        anonymous: {"first_name": "Ann", "loyalty_tier": "gold"},
        known: {"first_name": "Kai", "app_opens": 3, "loyalty_tier": "silver"},
    }
    assert counters.objects == 2 and counters.rejected_objects == 1
    metadata = sync_metadata(result)
    assert (metadata["accepted"], metadata["rejected"], metadata["unknown"]) == (2, 1, 0)
    assert "| no identifier (not sent) | 1 |" in metadata["people"]
    view = ledger_of(settings, "default").view()
    assert sorted(view.accepted[IDENTIFIER]) == sorted([anonymous, known])
    assert view.rejections[IDENTIFIER].to_list() == ["never-assigned"]


# -- two workspaces -----------------------------------------------------------------------------
TWO_WORKSPACES = """\
    destinations:
      braze:
        api_key_env: BRAZE_API_KEY
        rest_endpoint_env: BRAZE_REST_ENDPOINT
        attributes: [first_name, loyalty_tier]
        ledger: default
      brand_b:
        api_key_env: BRAND_B_BRAZE_API_KEY
        rest_endpoint_env: BRAND_B_BRAZE_REST_ENDPOINT
        instance_env: null
        attributes: [last_name, audience_vip]
        ledger: brand_b
"""
PEOPLE = pl.DataFrame(
    {
        "external_id": ["a", "b", "c"],
        "first_name": ["Ann", "Bob", "Cy"],
        "last_name": ["Ash", "Birch", "Cedar"],
        "loyalty_tier": ["gold", "silver", "gold"],
        "audience_vip": [True, False, True],
        "email": ["a@x.org", "b@x.org", "c@x.org"],  # in neither list: sent to neither
    }
)


def test_two_workspaces_each_receive_only_their_own_attributes(tmp_path, monkeypatch):
    config = write_config(tmp_path, TWO_WORKSPACES)
    with start_emulator(KEY) as main, start_emulator(OTHER_KEY) as brand_b:
        env = {
            "BRAZE_API_KEY": KEY,
            "BRAZE_REST_ENDPOINT": main.url,
            "BRAND_B_BRAZE_API_KEY": OTHER_KEY,
            "BRAND_B_BRAZE_REST_ENDPOINT": brand_b.url,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = settings_for(tmp_path / "data", config, **env)
        result = run_sync(settings, PEOPLE, suffixes=("", "__brand_b"))
        main_profiles, brand_b_profiles = main.profiles, brand_b.profiles
    assert result.success
    assert main_profiles == {
        "a": {"first_name": "Ann", "loyalty_tier": "gold"},
        "b": {"first_name": "Bob", "loyalty_tier": "silver"},
        "c": {"first_name": "Cy", "loyalty_tier": "gold"},
    }
    assert brand_b_profiles == {
        "a": {"last_name": "Ash", "audience_vip": True},
        "b": {"last_name": "Birch", "audience_vip": False},
        "c": {"last_name": "Cedar", "audience_vip": True},
    }
    assert sync_metadata(result)["accepted"] == 3
    assert sync_metadata(result, "braze_sync__brand_b")["accepted"] == 3
    # Each ledger holds its own people and only its own attributes.
    main_ledger = ledger_of(settings, "default").view().accepted
    brand_b_ledger = ledger_of(settings, "brand_b").view().accepted
    assert set(main_ledger.columns) == {IDENTIFIER, "first_name", "loyalty_tier"}
    assert set(brand_b_ledger.columns) == {IDENTIFIER, "last_name", "audience_vip"}
    assert sorted(main_ledger[IDENTIFIER]) == sorted(brand_b_ledger[IDENTIFIER]) == ["a", "b", "c"]
