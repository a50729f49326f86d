"""Campaign files and the second stage's load-time refusals: each names the file, the entry and
the fix; a campaign's job and schedule are built as the file says."""

from __future__ import annotations

import textwrap

import pytest

from amperity_braze_assets.activation.campaigns import load_campaigns
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.definitions import build_definitions
from amperity_braze_assets_tests.activation.test_authoring_end_to_end import WINBACK, write_project
from amperity_braze_assets_tests.braze.helpers import settings_for

DESTINATIONS = {"braze": None, "brand_b": ("first_name", "audience_lapsing")}


def load(tmp_path, text: str, destinations=None, name: str = "winback"):
    config_dir = write_project(tmp_path, {name: text})
    settings = settings_for(tmp_path / "data", config_dir)
    mapping = load_attribute_config(load_project_config(settings, check_files=False))
    return load_campaigns(config_dir, mapping, destinations or DESTINATIONS)


def test_a_campaign_loads_with_its_own_flag_sent_and_its_stage_known(tmp_path):
    (campaign,) = load(tmp_path, WINBACK)
    assert campaign.attributes == ("first_name", "lifecycle_status", "campaign_winback")
    assert campaign.exclude_flags == ("audience_high_value",)
    assert campaign.reads_attribute_audiences and campaign.job_name == "campaign_winback"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audience": "lapsed"}, "audience 'lapsed' is unknown (did you mean 'lapsing'?)"),
        ({"exclude": "[vip]"}, "audience 'vip' is unknown; name a segment"),
        ({"destination": "brazed"}, "destination 'brazed' is unknown (did you mean 'braze'?)"),
        ({"attributes": "[first_name, lifecycle]"}, "['lifecycle'] are not among"),
        ({"schedule": "'0 25 * * *'"}, "schedule '0 25 * * *' is not a valid cron expression"),
        ({"schedule": "'0 9 * * 1'\nonce: true"}, "give schedule or once: true, not both"),
        ({"timezone": "Mars/Base"}, "timezone 'Mars/Base' is unknown"),
        ({"attributes": "[]"}, "attributes must list what the campaign sends"),
        ({"sql": "SELECT external_id FROM braze_customer_attributes"}, "exactly one of them"),
        ({"audience": "null\nsql: SELECT amperity_id FROM customer_360"}, "refused: it reads"),
        (
            {
                "audience": "null\nsql: SELECT external_id, first_name FROM braze_customer_attributes"
            },
            "returns ['first_name'] besides external_id",
        ),
        ({"send": "now"}, "unknown key 'send'; allowed: "),
    ],
)
def test_a_bad_campaign_is_refused_with_the_file_and_the_fix(tmp_path, change, message):
    lines = dict(line.split(": ", 1) for line in textwrap.dedent(WINBACK).strip().splitlines())
    lines.update(change)
    text = "\n".join(f"{key}: {value}" for key, value in lines.items())
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, text)
    assert "campaigns/winback.yaml" in str(refused.value)
    assert message in str(refused.value)


def test_attributes_outside_the_destinations_set_are_refused(tmp_path):
    text = WINBACK.replace("destination: braze", "destination: brand_b")
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, text)
    assert "['lifecycle_status'] are not among destination 'brand_b''s attributes" in str(
        refused.value
    )


def test_a_campaign_without_a_schedule_or_once_is_refused(tmp_path):
    text = WINBACK.replace('schedule: "0 9 * * 1"', "")
    with pytest.raises(ConfigError, match="say when the campaign runs"):
        load(tmp_path, text)


def test_the_campaigns_job_and_schedule_exist_as_the_files_say(tmp_path):
    once = WINBACK.replace('schedule: "0 9 * * 1"', "once: true")
    config_dir = write_project(tmp_path, {"winback": WINBACK, "spring_promo": once})
    (config_dir / "destinations.yaml").unlink()  # the default destination, braze
    defs = build_definitions(settings_for(tmp_path / "data", config_dir))
    schedule = defs.resolve_schedule_def("campaign_winback_schedule")
    assert schedule.cron_schedule == "0 9 * * 1" and schedule.job_name == "campaign_winback"
    assert schedule.default_status.value == "STOPPED"  # like every schedule until enabled
    job = defs.resolve_job_def("campaign_spring_promo")
    assert job.tags["campaign"] == "spring_promo"
    names = {s.name for s in defs.schedules}
    assert "campaign_winback_schedule" in names
    assert not any("spring_promo" in name for name in names)  # once: launched by hand


# -- the second stage's refusals ------------------------------------------------------------------
def load_mapping(tmp_path, sql: dict[str, str]):
    config_dir = write_project(tmp_path)
    for name, query in sql.items():
        (config_dir / "audiences" / f"{name}.sql").write_text(query)
    settings = settings_for(tmp_path / "data", config_dir)
    return load_attribute_config(load_project_config(settings, check_files=False))


def test_the_second_stage_is_split_from_the_first(tmp_path):
    mapping = load_mapping(tmp_path, {})
    assert [a.name for a in mapping.audiences] == ["high_value_buyers"]
    assert {a.name for a in mapping.attribute_audiences} == {"gold_lapsing", "lapsing"}
    assert "audience_lapsing" not in mapping.output_columns


def test_an_audience_reading_both_stages_is_refused_naming_the_cycle(tmp_path):
    both = (
        "SELECT a.external_id FROM braze_customer_attributes a "
        "JOIN customer_360 c ON c.amperity_id = a.external_id"
    )
    with pytest.raises(ConfigError) as refused:
        load_mapping(tmp_path, {"both": both})
    assert "audiences/both.sql: reads braze_customer_attributes and customer_360: a cycle" in str(
        refused.value
    )


def test_a_first_stage_audience_excluding_a_second_stage_one_is_refused(tmp_path):
    options = "  high_value_buyers: {attribute: audience_high_value, exclude: [lapsing]}\n"
    config_dir = write_project(tmp_path)
    path = config_dir / "attributes.yaml"
    text = path.read_text().replace(
        "  high_value_buyers: {attribute: audience_high_value}\n", options
    )
    path.write_text(text)
    settings = settings_for(tmp_path / "data", config_dir)
    with pytest.raises(ConfigError) as refused:
        load_attribute_config(load_project_config(settings, check_files=False))
    assert (
        "a cycle (high_value_buyers -> braze_customer_attributes -> lapsing -> "
        "high_value_buyers)" in str(refused.value)
    )


def test_a_second_stage_query_returning_extra_columns_is_refused(tmp_path):
    extra = "SELECT external_id, loyalty_tier AS tier FROM braze_customer_attributes"
    with pytest.raises(ConfigError, match=r"returns \['tier'\] besides external_id"):
        load_mapping(tmp_path, {"tiers": extra})
