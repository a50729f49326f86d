"""The sample destinations.yaml: the demo's destination creates profiles, and the commented
``app_users`` example, once uncommented, is a destination that only updates existing ones."""

from __future__ import annotations

import re

from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR
from amperity_braze_assets_tests.braze.helpers import settings_for


def uncommented(text: str, entry: str) -> str:
    """The file with the commented entry ``entry`` (its name line and the lines under it that
    are indented further) turned into YAML."""
    lines = text.splitlines()
    start = lines.index(f"  # {entry}:")
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not re.match(r"  #   \S", line):
            break
        block.append(line)
    return "\n".join(lines) + "\n" + "\n".join(line.replace("  # ", "  ", 1) for line in block)


def test_the_demo_creates_profiles_and_the_app_users_example_only_updates(tmp_path):
    text = (SAMPLE_CONFIG_DIR / "destinations.yaml").read_text()
    config = tmp_path / "config"
    config.mkdir()
    (config / "destinations.yaml").write_text(uncommented(text, "app_users") + "\n")
    destinations = {d.name: d for d in load_destinations(settings_for(tmp_path, config))}
    assert set(destinations) == {"braze", "app_users"}
    assert destinations["braze"].update_existing_only is False  # the demo still creates
    app_users = destinations["app_users"]
    assert app_users.update_existing_only is True
    assert app_users.identifier == "external_id"
    assert app_users.ledger == "app_users"
    assert app_users.max_reject_share == 0.9
    # As shipped, the example is a comment: the sample has one destination, which creates.
    (shipped,) = load_destinations(settings_for(tmp_path, SAMPLE_CONFIG_DIR))
    assert shipped.name == "braze" and shipped.update_existing_only is False
