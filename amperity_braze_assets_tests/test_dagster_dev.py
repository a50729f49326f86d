"""`dagster dev` in the repository root serves the UI with every asset in its group."""

import pytest

from amperity_braze_assets.definitions import build_definitions
from amperity_braze_assets_tests.conftest import dagster_dev, graphql, make_settings


@pytest.mark.slow
def test_dagster_dev_serves_every_asset_in_its_group(tmp_path):
    expected = build_definitions(make_settings(tmp_path / "data")).resolve_asset_graph()
    expected_groups = {
        key.to_user_string(): expected.get(key).group_name for key in expected.get_all_asset_keys()
    }
    with dagster_dev(tmp_path / "home", tmp_path / "data") as port:
        nodes = graphql(port, "{ assetNodes { assetKey { path } groupName } }")["data"][
            "assetNodes"
        ]
    served = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    assert served == expected_groups
    assert served["raw_pos"] == "sources" and served["customer_360"] == "customer360"
