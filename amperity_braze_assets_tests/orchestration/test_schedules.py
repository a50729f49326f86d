"""Schedules come from orchestration.yaml; 'only when sources changed' skips unchanged days."""

import datetime as dt

import dagster as dg
import pytest

from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.orchestration.config import load_schedule_configs
from amperity_braze_assets.orchestration.schedules import build_schedule
from amperity_braze_assets.sources.sensors import FINGERPRINT_TAG
from amperity_braze_assets_tests.conftest import make_settings

JOBS = {"sync_job": "sources to Braze", "other_job": "something else"}


@dg.asset
def placeholder():
    return 1


def project(tmp_path, orchestration: str | None):
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "sources.yaml").write_text(
        "sources:\n  crm:\n    files: sources/*.csv\n    primary_key: ID\n    columns: {MAIL: email}\n"
    )
    if orchestration is not None:
        (config_dir / "orchestration.yaml").write_text(orchestration)
    settings = make_settings(tmp_path / "data", config_dir)
    return settings, load_project_config(settings)


def test_defaults_are_daily_and_overrides_apply(tmp_path):
    settings, _ = project(tmp_path, None)
    schedules = load_schedule_configs(settings.config_dir, JOBS)
    assert {s.cron for s in schedules.values()} == {"0 6 * * *"}
    settings, _ = project(
        tmp_path,
        "schedules:\n  sync_job: {cron: '*/15 * * * *', timezone: America/New_York}\n"
        "  other_job: {enabled: false}\n",
    )
    schedules = load_schedule_configs(settings.config_dir, JOBS)
    assert schedules["sync_job"].cron == "*/15 * * * *"
    assert schedules["sync_job"].timezone == "America/New_York"
    assert schedules["other_job"].enabled is False


def test_quiet_by_default_nothing_runs_unattended_until_enabled(tmp_path):
    """The sample configuration starts no run by itself: every schedule and every sensor that
    launches runs starts stopped; only the failure alert watches. `enabled: true` turns one on."""
    from amperity_braze_assets.definitions import build_definitions

    (tmp_path / "data" / "currents").mkdir(parents=True)  # Currents configured: its sensor exists
    defs = build_definitions(make_settings(tmp_path / "data"))
    schedules = {s.name: s.default_status for s in defs.schedules}
    assert len(schedules) >= 4
    assert set(schedules.values()) == {dg.DefaultScheduleStatus.STOPPED}, schedules
    running = {s.name for s in defs.sensors if s.default_status == dg.DefaultSensorStatus.RUNNING}
    assert running == {"alert_on_run_failure"}, running
    assert "currents_sensor" in {s.name for s in defs.sensors}

    settings, _ = project(tmp_path, "schedules:\n  sync_job: {enabled: true}\n")
    schedules = load_schedule_configs(settings.config_dir, JOBS)
    assert schedules["sync_job"].enabled is True and schedules["other_job"].enabled is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("schedules:\n  sync_jbo: {}\n", "unknown job (did you mean 'sync_job'?)"),
        ("schedules:\n  sync_job: {cron: '61 * * * *'}\n", "is not a valid cron expression"),
        # seconds, a day that never comes, and croniter's nearest weekday: Dagster runs none
        ("schedules:\n  sync_job: {cron: '0 6 * * * *'}\n", "is not a valid cron expression"),
        ("schedules:\n  sync_job: {cron: '0 6 30 2 *'}\n", "is not a valid cron expression"),
        ("schedules:\n  sync_job: {cron: '0 6 1W * *'}\n", "is not a valid cron expression"),
        (
            "schedules:\n  sync_job: {timezone: Mars/Olympus}\n",
            "timezone 'Mars/Olympus' is unknown",
        ),
        ("schedules:\n  sync_job: {cronn: '0 * * * *'}\n", "allowed keys are"),
    ],
)
def test_bad_orchestration_says_how_to_fix(tmp_path, body, message):
    settings, _ = project(tmp_path, body)
    with pytest.raises(ConfigError, match="orchestration.yaml") as error:
        load_schedule_configs(settings.config_dir, JOBS)
    assert message in str(error.value)


def test_plain_schedule_requests_a_run_every_tick(tmp_path):
    settings, config = project(tmp_path, "schedules:\n  sync_job: {cron: '0 6 * * *'}\n")
    job = dg.define_asset_job("sync_job", selection=[placeholder])
    schedule = build_schedule(
        load_schedule_configs(settings.config_dir, JOBS)["sync_job"], job, config, settings
    )
    assert schedule.cron_schedule == "0 6 * * *"
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 2, 6))
    result = schedule.evaluate_tick(context)
    assert len(result.run_requests) == 1


def test_only_when_sources_changed(tmp_path):
    settings, config = project(
        tmp_path, "schedules:\n  sync_job: {cron: '0 6 * * *', only_when_sources_changed: true}\n"
    )
    (tmp_path / "data" / "sources").mkdir(parents=True)
    source_file = tmp_path / "data" / "sources" / "a.csv"
    source_file.write_text("ID,MAIL\n1,a@x.org\n")
    job = dg.define_asset_job("sync_job", selection=[placeholder])
    schedule = build_schedule(
        load_schedule_configs(settings.config_dir, JOBS)["sync_job"], job, config, settings
    )
    defs = dg.Definitions(
        assets=[placeholder], jobs=[job], resources={"io_manager": dg.mem_io_manager}
    )
    with dg.instance_for_test() as instance:
        first = schedule.evaluate_tick(
            dg.build_schedule_context(
                instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 2, 6)
            )
        )
        assert len(first.run_requests) == 1
        fingerprint = first.run_requests[0].tags[FINGERPRINT_TAG]
        # The requested run happens (the daemon would launch it; here we run it with its tags).
        defs.resolve_job_def("sync_job").execute_in_process(
            instance=instance, tags={FINGERPRINT_TAG: fingerprint}
        )
        unchanged = schedule.evaluate_tick(
            dg.build_schedule_context(
                instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 3, 6)
            )
        )
        assert not unchanged.run_requests and "unchanged" in unchanged.skip_message
        source_file.write_text("ID,MAIL\n1,a@x.org\n2,b@x.org\n")
        changed = schedule.evaluate_tick(
            dg.build_schedule_context(
                instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 4, 6)
            )
        )
        assert len(changed.run_requests) == 1
        assert changed.run_requests[0].tags[FINGERPRINT_TAG] != fingerprint


def test_freshness_policies_on_key_assets_and_their_config(tmp_path):
    from amperity_braze_assets.definitions import build_definitions
    from amperity_braze_assets.orchestration.config import load_freshness_hours

    defs = build_definitions(make_settings(tmp_path / "data"))
    graph = defs.resolve_asset_graph()
    policy = graph.get(dg.AssetKey("braze_sync")).freshness_policy
    assert policy is not None and policy.fail_window.to_timedelta() == dt.timedelta(hours=26)
    assert graph.get(dg.AssetKey("raw_pos")).freshness_policy is None

    settings, _ = project(tmp_path, "freshness_hours:\n  braze_sync: 2\n  customer_360: null\n")
    known = {"braze_sync", "customer_360"}
    assert load_freshness_hours(settings.config_dir, known) == {"braze_sync": 2.0}
    settings, _ = project(tmp_path, "freshness_hours:\n  braze_snyc: 2\n")
    with pytest.raises(
        ConfigError, match="unknown asset 'braze_snyc' \\(did you mean 'braze_sync'"
    ):
        load_freshness_hours(settings.config_dir, known)
    settings, _ = project(tmp_path, "freshness_hours:\n  braze_sync: -1\n")
    with pytest.raises(ConfigError, match="positive number of hours"):
        load_freshness_hours(settings.config_dir, known)


def test_each_destination_can_sync_on_its_own_schedule(tmp_path):
    """Attribute sets at different frequencies: two destinations on one workspace, each with
    its own attribute list, ledger, job and schedule."""
    import shutil

    from amperity_braze_assets.definitions import build_definitions
    from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR

    config_dir = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG_DIR, config_dir)
    # The sample campaign sends attributes these destinations do not list: it would be refused.
    shutil.rmtree(config_dir / "campaigns")
    (config_dir / "destinations.yaml").write_text(
        "destinations:\n  braze:\n    ledger: default\n"
        "    attributes: [first_name, last_name, email]\n"
        "  audiences_hourly:\n    api_key_env: BRAZE_API_KEY\n"
        "    attributes: [audience_high_value, audiences]\n"
        "    ledger: audiences_hourly\n"
    )
    with (config_dir / "orchestration.yaml").open("a") as orchestration:
        orchestration.write("  sync_audiences_hourly_job:\n    cron: '15 * * * *'\n")
    defs = build_definitions(make_settings(tmp_path / "data", config_dir))
    schedules = {s.name: s.cron_schedule for s in defs.schedules}
    assert schedules["sync_audiences_hourly_job_schedule"] == "15 * * * *"
    job = defs.resolve_job_def("sync_audiences_hourly_job")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {
        "braze_attribute_diff__audiences_hourly",
        "braze_sync__audiences_hourly",
        "braze_sync_log__audiences_hourly",
        "sync_console",  # the console shows the run as soon as it has synced
    }


@pytest.mark.parametrize(
    "cron",
    [
        "0 6 * * *",
        "*/15 * * * *",
        "@daily",
        "@hourly",
        "0 0 L * *",
        "0 0 * * MON#2",
        "0 6 * * sun",
        "0 0 29 2 *",
        "0 0 30 2,3 *",
        "61 * * * *",
        "0 6 * * * *",
        "0 0 30 2 *",
        "0 0 31 2 *",
        "0 6 1W * *",
        "@reboot",
        "0 6 * * 8",
        "* * * *",
        "",
    ],
)
def test_cron_check_agrees_with_dagsters_scheduler(cron):
    # What the load accepts, the Definitions accept: a cron that passes the check but not
    # Dagster would fail the load with Dagster's words instead of ours.
    from dagster._utils.schedules import is_valid_cron_string

    from amperity_braze_assets.orchestration.config import is_valid_cron

    assert is_valid_cron(cron) == is_valid_cron_string(cron)
