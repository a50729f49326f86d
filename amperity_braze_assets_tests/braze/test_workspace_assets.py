"""``braze_workspace_check`` and ``amperity-braze check-braze`` against the emulator, over the
sample attribute mapping (loyalty_tier Varchar, loyalty_points Integer, ...)."""

from __future__ import annotations

import dagster as dg

from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.braze.sync_assets import build_sync_assets
from amperity_braze_assets.braze.workspace_assets import WORKSPACE_CHECK, build_workspace_assets
from amperity_braze_assets.cli import main
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets_tests.braze.helpers import (
    SYNC_SELECTION,
    fake_attributes,
    fake_identity,
    sync_resources,
)
from amperity_braze_assets_tests.conftest import make_settings

STAND_INS = [fake_attributes, fake_identity]

KEY = "workspace-asset-key"
# A workspace someone filled before us: one spelling differs, one type differs, one blocklisted.
SEEDED = [
    {"name": "LoyaltyTier", "data_type": "String"},
    {"name": "loyalty_points", "data_type": "String"},
    {"name": "rfm_score", "data_type": "Number", "status": "Blocklisted"},
    {"name": "multi_channel", "data_type": "Boolean"},
]


def materialize_check(tmp_path, monkeypatch, url: str | None):
    monkeypatch.delenv("BRAZE_API_KEY", raising=False)
    env = {"BRAZE_REST_ENDPOINT": url or "http://127.0.0.1:9"}
    if url:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        env["BRAZE_API_KEY"] = KEY
    settings = make_settings(tmp_path / "data", **env)
    destinations = load_destinations(settings)
    mapping = load_attribute_config(load_project_config(settings, check_files=False))
    assets = build_workspace_assets(mapping, settings, destinations)
    result = dg.materialize(
        [*assets, *STAND_INS, *build_sync_assets(None, settings)],
        selection=[*SYNC_SELECTION, "braze_workspace_check"],
        resources=sync_resources(settings, destinations),
        raise_on_error=False,
    )
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == WORKSPACE_CHECK]
    # A failing preflight (an error) stops the diff and the sync in the same run; a warning not.
    synced = bool(result.asset_materializations_for_node("braze_sync"))
    assert synced == (check.passed or check.severity == dg.AssetCheckSeverity.WARN)
    (materialization,) = result.asset_materializations_for_node("braze_workspace_check")
    return check, materialization.metadata


def test_the_check_fails_on_a_blocklisted_and_a_mistyped_attribute(tmp_path, monkeypatch):
    with start_emulator(KEY, custom_attributes=SEEDED) as emulator:
        check, metadata = materialize_check(tmp_path, monkeypatch, emulator.url)
        assert emulator.profiles == {}  # the preflight wrote nothing, and blocked the sync
    assert check.check_name == WORKSPACE_CHECK
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    counts = {k: metadata[k].value for k in ("blocklisted", "type_mismatch", "name_alignment")}
    assert counts == {"blocklisted": 1, "type_mismatch": 1, "name_alignment": 1}
    assert metadata["permission"].value == 0
    findings = metadata["findings"].value
    assert "rename 'loyalty_tier' to 'LoyaltyTier'" in findings
    assert "'rfm_score' is blocklisted" in findings
    assert "'loyalty_points' is declared Integer (Braze Number)" in findings


def test_name_flags_alone_warn(tmp_path, monkeypatch):
    with start_emulator(KEY, custom_attributes=SEEDED[:1]) as emulator:
        check, metadata = materialize_check(tmp_path, monkeypatch, emulator.url)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert metadata["name_alignment"].value == 1 and metadata["new"].value >= 10


def test_without_a_key_the_check_says_it_was_skipped_and_why(tmp_path, monkeypatch):
    check, metadata = materialize_check(tmp_path, monkeypatch, None)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.description.startswith("Skipped: no API key for 'braze' (BRAZE_API_KEY")
    assert metadata["skipped"].value == 1


def test_check_braze_prints_the_findings_and_exits_non_zero_on_a_failure(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("AMPERITY_BRAZE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AMPERITY_BRAZE_CONFIG_DIR", raising=False)
    with start_emulator(KEY, custom_attributes=SEEDED) as emulator:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        monkeypatch.setenv("BRAZE_REST_ENDPOINT", emulator.url)
        assert main(["check-braze"]) == 1
        failing = capsys.readouterr().out
        emulator.define_attribute("rfm_score", "Number")  # reactivated
        emulator.define_attribute("loyalty_points", "Number")  # retyped
        assert main(["check-braze", "--destination", "braze"]) == 0
        warning_only = capsys.readouterr().out
    assert failing.startswith("braze: 2 failing finding(s), 1 name flag(s).")
    assert "ERROR 'rfm_score' is blocklisted" in failing
    assert "WARN  the workspace has 'LoyaltyTier' but not 'loyalty_tier'" in warning_only
    assert main(["check-braze", "--destination", "nope"]) == 2


def test_check_braze_without_a_key_skips(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AMPERITY_BRAZE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BRAZE_API_KEY", raising=False)
    assert main(["check-braze"]) == 0
    assert "Skipped: no API key for 'braze'" in capsys.readouterr().out


def test_the_jobs_that_sync_run_the_preflight_first(tmp_path):
    from amperity_braze_assets.definitions import build_definitions

    defs = build_definitions(make_settings(tmp_path / "data"))
    graph = defs.resolve_asset_graph()
    check_key = dg.AssetKey("braze_workspace_check")
    assert check_key in graph.get(dg.AssetKey("braze_attribute_diff")).parent_keys
    for job in ("braze_sync_job", "audience_refresh_job", "demo_job"):
        assert check_key in defs.resolve_job_def(job).asset_layer.executable_asset_keys, job
