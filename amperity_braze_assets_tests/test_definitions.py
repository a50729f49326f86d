"""The definitions load, with every asset in its group, and a bad config fails at load."""

import subprocess
import sys

import dagster as dg

from amperity_braze_assets.definitions import build_definitions
from amperity_braze_assets_tests.conftest import make_settings

EXPECTED_GROUPS = {
    "raw_pos": "sources",
    "raw_pos_rejects": "sources",
    "raw_web": "sources",
    "raw_loyalty": "sources",
    "raw_orders": "sources",
    "raw_orders_rejects": "sources",
    "customer_records": "customer360",
    "identity_resolution": "customer360",
    "customer_360": "customer360",
    "customer_transactions": "customer360",
    "order_lines": "customer360",
    "audiences": "braze",
    "braze_customer_attributes": "braze",
    "braze_attribute_rejects": "braze",
}


def test_definitions_load_with_every_asset_in_its_group(tmp_path):
    defs = build_definitions(make_settings(tmp_path))
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    for asset, group in EXPECTED_GROUPS.items():
        assert groups[asset] == group
    dg.Definitions.validate_loadable(defs)


def test_module_loads_as_dagster_does_and_bad_config_fails_at_load(tmp_path):
    env = {"AMPERITY_BRAZE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(
        [
            sys.executable,
            "-c",
            "import amperity_braze_assets.definitions as d; print(type(d.defs).__name__)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "Definitions"

    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "sources.yaml").write_text(
        "sources:\n  crm:\n    files: x.csv\n    primary_key: id\n    columns: {a: e-mail}\n"
    )
    bad = subprocess.run(
        [sys.executable, "-c", "import amperity_braze_assets.definitions"],
        env={**env, "AMPERITY_BRAZE_CONFIG_DIR": str(config_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0
    assert "unknown tag 'e-mail' (did you mean 'email'?)" in bad.stderr
    assert str(config_dir / "sources.yaml") in bad.stderr
