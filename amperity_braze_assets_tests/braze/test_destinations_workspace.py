"""Destinations that write to one Braze workspace: their attribute sets must not overlap (refused
at load, with the fix), and they and the sync's shards split the workspace's rate limit evenly,
so that, paced at their shares, they never earn a 429 from one another (against the emulator)."""

from __future__ import annotations

import textwrap
import threading

import pytest

from amperity_braze_assets.braze.client import BrazeClient, RateBudget
from amperity_braze_assets.braze.destinations import load_destinations, workspace_of
from amperity_braze_assets.braze.resources import build_braze_resources
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets_tests.braze.helpers import settings_for

KEY = "workspace-test-key-3c9d"
TWO_ON_ONE_WORKSPACE = """\
destinations:
  braze:
    attributes: [first_name, email, audience_vip]
  audiences_hourly:
    api_key_env: BRAZE_API_KEY
    attributes: [audience_vip, audience_lapsed]
"""


def load(tmp_path, text: str, **env):
    (tmp_path / "destinations.yaml").write_text(textwrap.dedent(text))
    settings = settings_for(tmp_path, config_dir=tmp_path, **env)
    return load_destinations(settings), settings


def test_two_destinations_on_one_workspace_sending_one_attribute_are_refused(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, TWO_ON_ONE_WORKSPACE, BRAZE_INSTANCE="US-03")
    message = str(refused.value)
    assert f"{tmp_path / 'destinations.yaml'}: destinations 'braze' and 'audiences_hourly'" in (
        message
    )
    assert "the same Braze workspace (BRAZE_API_KEY at https://rest.iad-03.braze.com)" in message
    assert "both send audience_vip." in message
    assert "list each attribute under one of the two destinations only" in message
    assert "its own api_key_env, or name them apart with workspace: <name>" in message


def test_attributes_all_overlaps_every_other_destination_on_the_workspace(tmp_path):
    text = "destinations:\n  braze: {}\n  hourly:\n    api_key_env: BRAZE_API_KEY\n"
    text += "    attributes: [audience_vip]\n"
    with pytest.raises(ConfigError, match=r"both send every attribute \('braze' sends attributes"):
        load(tmp_path, text)


def test_a_workspace_name_joins_two_key_variables(tmp_path):
    text = """\
    destinations:
      braze:
        workspace: brand_a
        attributes: [first_name]
      marketing:
        api_key_env: MARKETING_BRAZE_KEY
        workspace: brand_a
        attributes: [first_name, audience_vip]
    """
    with pytest.raises(ConfigError, match=r"same Braze workspace \(brand_a\) and both send first"):
        load(tmp_path, text)


def test_disjoint_destinations_on_one_workspace_split_its_rate_limit(tmp_path):
    text = TWO_ON_ONE_WORKSPACE.replace("[audience_vip, audience_lapsed]", "[audience_lapsed]")
    destinations, settings = load(tmp_path, text, BRAZE_REST_ENDPOINT="http://127.0.0.1:9")
    braze, hourly = destinations
    assert workspace_of(braze, settings) == workspace_of(hourly, settings)
    # The spec: 3,000 /users/track requests per 3 seconds per workspace, split between two.
    assert braze.rate_budget() == RateBudget(3000, 3.0, 2)
    assert braze.rate_budget().share == hourly.rate_budget().share == 1500
    assert braze.rate_budget().describe() == "1,500 of 3,000 requests per 3 s (shared by 2)"
    resources = build_braze_resources(destinations, settings)
    assert resources["braze"].rate_limit == resources["braze__audiences_hourly"].rate_limit == 1500


def test_shards_split_each_destinations_share_further(tmp_path):
    text = TWO_ON_ONE_WORKSPACE.replace("[audience_vip, audience_lapsed]", "[audience_lapsed]")
    destinations, settings = load(tmp_path, text, AMPERITY_BRAZE_SYNC_SHARDS="3")
    budget = destinations[0].rate_budget(settings.sync_shards)
    assert budget.describe() == "500 of 3,000 requests per 3 s (shared by 6)"
    assert build_braze_resources(destinations, settings)["braze"].rate_limit == 500


def test_the_strictest_stated_limit_is_the_workspaces(tmp_path):
    text = TWO_ON_ONE_WORKSPACE.replace("[audience_vip, audience_lapsed]", "[audience_lapsed]")
    text += "    rate_limit: 1000\n"
    destinations, _ = load(tmp_path, text)
    assert [d.rate_budget().describe() for d in destinations] == [
        "500 of 1,000 requests per 3 s (shared by 2)"
    ] * 2


def test_destinations_on_different_workspaces_keep_their_whole_limit(tmp_path):
    text = """\
    destinations:
      braze: {}
      brand_b:
        api_key_env: BRAND_B_KEY
        instance: EU-01
        rest_endpoint_env: null
        attributes: [first_name]
    """
    destinations, settings = load(tmp_path, text)
    assert [d.rate_budget().describe() for d in destinations] == [
        "3,000 of 3,000 requests per 3 s (shared by 1)"
    ] * 2
    assert workspace_of(destinations[1], settings) == "BRAND_B_KEY at https://rest.fra-01.braze.eu"


def _send_at_once(resources, requests: int) -> None:
    """Every resource's client sends ``requests`` one-object bodies, all clients at once."""
    start = threading.Barrier(len(resources))

    def send(resource, name: str) -> None:
        # The resource's settings (its paced share); the key as a value, not its dg.EnvVar.
        with BrazeClient(resource.client_settings(), KEY) as client:
            start.wait()
            for n in range(requests):
                client.track({"attributes": [{"external_id": f"{name}-{n}", "first_name": "A"}]})

    threads = [threading.Thread(target=send, args=(r, k)) for k, r in resources.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_two_destinations_paced_at_their_shares_earn_no_429_from_each_other(tmp_path):
    """A workspace allowing 20 requests a second: two destinations sending at once, each paced
    at its share (10), stay within it."""
    text = TWO_ON_ONE_WORKSPACE.replace("[audience_vip, audience_lapsed]", "[audience_lapsed]")
    text = text.replace("  braze:\n", "  braze:\n    rate_limit: 20\n    rate_window_seconds: 1\n")
    text += "    rate_limit: 20\n    rate_window_seconds: 1\n"
    with start_emulator(KEY, rate_limit=20, window_seconds=1.0) as emulator:
        destinations, settings = load(
            tmp_path, text, BRAZE_API_KEY=KEY, BRAZE_REST_ENDPOINT=emulator.url
        )
        resources = build_braze_resources(destinations, settings)
        assert [r.rate_limit for r in resources.values()] == [10, 10]
        _send_at_once(resources, requests=15)
        counters = emulator.counters
    assert counters.objects == 30 and counters.requests == 30
    assert counters.throttled == 0
