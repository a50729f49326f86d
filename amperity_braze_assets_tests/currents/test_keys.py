"""Currents keys parse in both layouts, URL-encoded or not."""

from datetime import UTC, datetime

import pytest

from amperity_braze_assets.currents.keys import (
    currents_key,
    parse_currents_key,
    try_parse_currents_key,
)

CURRENT = (
    "currents/dataexport.prod-01.S3.integration.5a9ee6a1-0000-4000-8000-000000000001/"
    "event_type=users.messages.email.Open/date=2025-05-20-14/version=3/prod-01/"
    "dataexport.prod-01.S3.integration.5a9ee6a1-0000-4000-8000-000000000001+2+15000.avro"
)
LEGACY = (
    "my/prefix/dataexport.prod-03.S3.integration.abc123/event_type=users.behaviors.Purchase/"
    "date=2019-01-29-16/304/prod-03/dataexport.prod-03.S3.integration.abc123+0+0000000042.avro"
)


def test_current_layout():
    key = parse_currents_key(CURRENT)
    assert key.prefix == "currents"
    assert key.cluster == "prod-01" and key.connection == "S3"
    assert key.integration_id == "5a9ee6a1-0000-4000-8000-000000000001"
    assert key.event_type == "users.messages.email.Open"
    assert key.hour == datetime(2025, 5, 20, 14, tzinfo=UTC)
    assert (key.version, key.schema_id, key.environment) == (3, None, "prod-01")
    assert (key.partition, key.offset, key.layout) == (2, 15000, "current")


def test_legacy_layout_with_schema_id_zone_and_padded_offset():
    key = parse_currents_key(LEGACY)
    assert key.prefix == "my/prefix"
    assert key.event_type == "users.behaviors.Purchase"
    assert (key.version, key.schema_id, key.environment) == (None, 304, "prod-03")
    assert (key.partition, key.offset, key.layout) == (0, 42, "legacy")


def test_url_encoded_key_from_an_s3_notification():
    encoded = CURRENT.replace("=", "%3D").replace("+", "%2B")
    key = parse_currents_key(encoded)
    assert key.key == CURRENT
    assert (key.event_type, key.partition, key.offset) == ("users.messages.email.Open", 2, 15000)


def test_key_without_prefix_and_absolute_local_path():
    bare = CURRENT.removeprefix("currents/")
    assert parse_currents_key(bare).prefix == ""
    assert parse_currents_key("/tmp/x/" + bare).event_type == "users.messages.email.Open"


@pytest.mark.parametrize(
    "key",
    ["currents/_SUCCESS", "currents/readme.txt", CURRENT.replace("date=2025-05-20-14", "date=x")],
)
def test_other_keys_are_not_currents_keys(key):
    assert try_parse_currents_key(key) is None
    with pytest.raises(ValueError, match="not a Braze Currents key"):
        parse_currents_key(key)


def test_built_keys_round_trip_in_both_layouts():
    hour = datetime(2025, 5, 20, 14, tzinfo=UTC)
    for version, schema_id in ((2, None), (None, 265)):
        key = currents_key(
            integration_id="i-1",
            event_type="users.canvas.Entry",
            hour=hour,
            partition=1,
            offset=7,
            version=version,
            schema_id=schema_id,
            prefix="currents",
        )
        parsed = parse_currents_key(key)
        assert (parsed.version, parsed.schema_id, parsed.offset, parsed.hour) == (
            version,
            schema_id,
            7,
            hour,
        )
