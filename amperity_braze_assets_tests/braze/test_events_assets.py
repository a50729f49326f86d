"""The Dagster face of purchases and events: ``braze_events`` from the customer tables, sent
by ``braze_sync`` against the emulator, once; its figures in the metadata and the sync log."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap

import dagster as dg
import polars as pl
import pytest

from amperity_braze_assets.activation.events_assets import build_event_assets
from amperity_braze_assets.braze.sync_assets import build_sync_assets
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR
from amperity_braze_assets_tests.braze.helpers import (
    fake_attributes,
    fake_identity,
    settings_for,
    sync_resources,
)

KEY = "events-assets-key-31ce"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
EVENTS_YAML = """
purchases:
  default_currency: USD
events:
  - name: loyalty_joined
    table: customer_360
    time: loyalty_joined_on
    properties: [loyalty_tier]
    key: [amperity_id]
"""


@dg.asset(name="order_lines")
def fake_order_lines() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "amperity_id": ["a", "b", "b", "zz"],
            "source": ["shop"] * 4,
            "order_id": ["1001", "1002", "1002", "1003"],
            "line_number": [1, 1, 2, 1],
            "sku": ["SKU-1", "SKU-2", "SKU-3", "SKU-1"],
            "product_name": ["Wool coat", "Mug", "Tee", "Wool coat"],
            "quantity": [2.0, 1.0, 3.0, 1.0],
            "price": [19.99, 8.0, 12.5, 19.99],
            "order_time": [NOW - dt.timedelta(days=d) for d in (1, 2, 2, 3)],
            "currency": ["USD", None, None, "USD"],
        }
    )


@dg.asset(name="customer_360")
def fake_customer_360() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "amperity_id": ["a", "b", "c"],
            "loyalty_joined_on": [NOW.date() - dt.timedelta(days=5), NOW.date(), None],
            "loyalty_tier": ["gold", "silver", None],
        }
    )


def project_settings(tmp_path, events_yaml: str, destinations: str | None = None, **env):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    shutil.copy(SAMPLE_CONFIG_DIR / "sources.yaml", config_dir / "sources.yaml")
    (config_dir / "events.yaml").write_text(textwrap.dedent(events_yaml))
    if destinations:
        (config_dir / "destinations.yaml").write_text(textwrap.dedent(destinations))
    return settings_for(tmp_path / "data", config_dir, **env)


def materialize(settings):
    project = load_project_config(settings, check_files=False)
    assets = [
        fake_attributes,
        fake_identity,
        fake_order_lines,
        fake_customer_360,
        *build_event_assets(project),
        *build_sync_assets(None, settings, with_events=True),
    ]
    return dg.materialize(assets, resources=sync_resources(settings))


def test_braze_events_reach_braze_once_with_their_figures(tmp_path, monkeypatch):
    with start_emulator(KEY) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        settings = project_settings(
            tmp_path, EVENTS_YAML, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url
        )
        result = materialize(settings)
        assert result.success
        events = result.asset_materializations_for_node("braze_events")[0].metadata
        assert (events["purchases"].value, events["events"].value) == (4, 2)
        assert events["rejected"].value == 1  # c has not joined: no event time
        sync = result.asset_materializations_for_node("braze_sync")[0].metadata
        assert (sync["purchases"].value, sync["purchases_accepted"].value) == (3, 3)
        assert (sync["events"].value, sync["events_accepted"].value) == (2, 2)
        assert "| no profile in this sync (not sent) | 1 |" in sync["purchases_and_events"].value
        assert emulator.purchases["b"][1] == {
            "product_id": "SKU-3",
            "currency": "USD",
            "price": 12.5,
            "quantity": 3,
            "time": (NOW - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "properties": {"order_id": "1002", "product_name": "Tee", "source": "shop"},
        }
        assert emulator.events["a"][0]["properties"] == {"loyalty_tier": "gold"}
        # 3 profiles + 3 purchases + 2 events: one request of 8 objects.
        assert emulator.counters.accepted_requests == 1
        log = result.output_for_node("braze_sync_log")
        kinds = log["fields"].list.first().str.split(":").list.first()
        assert kinds.value_counts().sort("fields").rows() == [
            ("events", 2),
            ("first_name", 3),
            ("purchases", 3),
        ]
        again = materialize(settings)
        sync = again.asset_materializations_for_node("braze_sync")[0].metadata
        assert sync["purchases"].value == 0 and sync["events"].value == 0
        assert "| sent by an earlier run | 5 |" in sync["purchases_and_events"].value
        assert emulator.counters.purchases == 3 and emulator.counters.events == 2


def test_a_destination_naming_an_unknown_event_is_refused(tmp_path):
    settings = project_settings(
        tmp_path,
        EVENTS_YAML,
        destinations="""
        destinations:
          braze:
            events: [loyalty_joined, order_placed]
            on_unknown: resend
            event_lookback_days: 7
        """,
    )
    from amperity_braze_assets.braze.destinations import load_destinations

    (destination,) = load_destinations(settings)
    assert destination.on_unknown == "resend" and destination.event_lookback_days == 7
    with pytest.raises(ConfigError, match=r"events \['order_placed'\] are not defined"):
        build_event_assets(load_project_config(settings, check_files=False), (destination,))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("on_unknown: maybe", "on_unknown"),
        ("event_lookback_days: -1", "event_lookback_days must be a whole number"),
        ("events: some", "events must be 'all', 'none' or a list"),
    ],
)
def test_destination_event_keys_are_checked(tmp_path, entry, message):
    from amperity_braze_assets.braze.destinations import load_destinations

    settings = project_settings(
        tmp_path, EVENTS_YAML, destinations=f"destinations:\n  braze:\n    {entry}\n"
    )
    with pytest.raises(ConfigError, match=message):
        load_destinations(settings)
