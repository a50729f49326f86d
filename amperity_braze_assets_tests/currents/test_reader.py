"""The reader resolves each file by field name and survives what Braze sends."""

from datetime import UTC, datetime, timedelta

import polars as pl

from amperity_braze_assets.currents.reader import (
    CurrentsBlob,
    read_currents_blobs,
    read_currents_files,
)
from amperity_braze_assets.devtools.sample_currents import generate_sample_currents
from amperity_braze_assets_tests.currents.helpers import (
    HOUR,
    OPEN_V1,
    OPEN_V2,
    avro_bytes,
    event_key,
    record,
    write_file,
)

T0 = int(HOUR.timestamp())


def _v1(event_id: str, at: int = T0, **extra) -> dict:
    fields = {"campaign_id": "c1", "email_address": "a@x.com", "ip_pool": "p1"}
    return record(event_id, at, **{**fields, **extra})


def _v2(event_id: str, at: int = T0, **extra) -> dict:
    fields = {
        "message_extras": '{"a":1}',
        "campaign_id": "c2",
        "email_address": None,
        "suspected_bot_click_reason": ["ua", "timing"],
    }
    return record(event_id, at, **{**fields, **extra})


def test_evolution_by_name_mid_record_insert_removed_field_int_and_long_time(tmp_path):
    old = write_file(tmp_path, event_key(version=1), avro_bytes(OPEN_V1, [_v1("e1"), _v1("e2")]))
    new = write_file(
        tmp_path,
        event_key(version=2, offset=2),
        avro_bytes(OPEN_V2, [_v2("e3", T0 + 60), _v2("e4", suspected_bot_click_reason=None)]),
    )
    events = read_currents_files([old, new]).sort("id")
    assert events["id"].to_list() == ["e1", "e2", "e3", "e4"]
    assert events.schema["time"] == pl.Datetime("us", "UTC")
    assert events["time"][2] == datetime(2025, 5, 20, 14, 1, tzinfo=UTC)
    # by name, not position: the inserted field did not shift campaign_id or email_address
    assert events["campaign_id"].to_list() == ["c1", "c1", "c2", "c2"]
    assert events["email_address"].to_list() == ["a@x.com", "a@x.com", None, None]
    assert events["message_extras"].to_list() == [None, None, '{"a":1}', '{"a":1}']
    assert events["ip_pool"].to_list() == ["p1", "p1", None, None]  # removed in version 2
    assert events.schema["suspected_bot_click_reason"] == pl.List(pl.String)
    assert events["suspected_bot_click_reason"].to_list()[2:] == [["ua", "timing"], None]
    assert set(events["event_type"]) == {"users.messages.email.Open"}
    assert events["queued_hour"].unique().to_list() == [HOUR]


def test_codecs_null_deflate_and_one_polars_lacks(tmp_path):
    paths = [
        write_file(tmp_path, event_key(offset=n), avro_bytes(OPEN_V1, [_v1(f"e{n}")], codec))
        for n, codec in enumerate(["null", "deflate", "bzip2"])  # bzip2: read by fastavro
    ]
    events = read_currents_files(paths)
    assert sorted(events["id"]) == ["e0", "e1", "e2"]
    assert events.schema["time"] == pl.Datetime("us", "UTC")
    assert events.schema["campaign_id"] == pl.String


def test_duplicates_across_files_keep_the_first_delivery():
    first = avro_bytes(OPEN_V1, [_v1("e1"), _v1("e2")])
    again = avro_bytes(OPEN_V1, [_v1("e2", campaign_id="later"), _v1("e3")])
    result = read_currents_blobs(
        [CurrentsBlob(event_key(offset=0), first), CurrentsBlob(event_key(offset=2), again)]
    )
    assert result.events_read == 4 and result.duplicates_dropped == 1
    assert result.events.sort("id")["campaign_id"].to_list() == ["c1", "c1", "c1"]


def test_corrupt_truncated_and_non_avro_files_are_quarantined_and_the_rest_goes_on(tmp_path):
    good = avro_bytes(OPEN_V1, [_v1(f"e{n}") for n in range(2000)], "deflate")
    truncated = good[: len(good) // 2]
    garbled = bytearray(avro_bytes(OPEN_V1, [_v1(f"g{n}") for n in range(2000)]))
    garbled[len(garbled) // 2 : len(garbled) // 2 + 40] = b"\xff" * 40
    blobs = [
        CurrentsBlob(event_key(offset=0), good),
        CurrentsBlob(event_key(offset=1), truncated, datetime(2025, 5, 20, 15, tzinfo=UTC)),
        CurrentsBlob(event_key(offset=2), bytes(garbled)),
        CurrentsBlob(event_key(offset=3), b"<html>Access Denied</html>"),
        CurrentsBlob(event_key(offset=4), avro_bytes([("x", "string")], [{"x": "no id"}])),
    ]
    result = read_currents_blobs(blobs)
    assert result.events.height == 2000 and result.files_read == 1
    quarantine = result.quarantine.sort("key")
    assert quarantine["key"].to_list() == [b.key for b in blobs[1:]]
    assert quarantine["event_type"].to_list() == ["users.messages.email.Open"] * 4
    reasons = quarantine["reason"].to_list()
    assert "magic bytes" in reasons[2] and "no id, time field" in reasons[3]
    assert quarantine["size"][0] == len(truncated)
    # the plain function does not raise either: it skips them
    write_file(tmp_path, event_key(offset=9), truncated)
    assert read_currents_files([tmp_path / event_key(offset=9)]).height == 0


def test_legacy_and_url_encoded_keys_give_the_event_type():
    legacy = event_key(version=None, schema_id=304)
    encoded = event_key(offset=5).replace("=", "%3D").replace("+", "%2B")
    result = read_currents_blobs(
        [
            CurrentsBlob(legacy, avro_bytes(OPEN_V1, [_v1("e1")])),
            CurrentsBlob(encoded, avro_bytes(OPEN_V1, [_v1("e2")])),
        ]
    )
    assert result.events["event_type"].to_list() == ["users.messages.email.Open"] * 2
    assert result.events["queued_hour"].to_list() == [HOUR, HOUR]


def test_sample_tree_reads_with_both_versions_nulls_and_duplicates(tmp_path):
    summary = generate_sample_currents(tmp_path, [f"amp-{n}" for n in range(60)], seed=5)
    assert summary["duplicate_deliveries"] > 0 and summary["late_events"] > 0
    opens = sorted(tmp_path.rglob("event_type=users.messages.pushnotification.Open/**/*.avro"))
    versions = {p.parent.parent.name for p in opens}
    assert versions == {"version=1", "version=2"}
    events = read_currents_files(opens)
    assert events["id"].is_unique().all()
    assert events.height == summary["event_types"]["users.messages.pushnotification.Open"]
    assert events.schema["platform"] == pl.String  # required in version 1, nullable in 2
    sends = read_currents_files(
        sorted(tmp_path.rglob("event_type=users.messages.email.Send/**/*.avro"))
    )
    assert sends.height == summary["event_types"]["users.messages.email.Send"]
    # a message comes from a campaign or a Canvas: one group of fields is null
    assert (sends["campaign_id"].is_null() ^ sends["canvas_id"].is_null()).all()
    purchases = read_currents_files(
        sorted(tmp_path.rglob("event_type=users.behaviors.Purchase/**/*.avro"))
    )
    assert purchases.schema["time"] == pl.Datetime("us", "UTC")
    assert purchases.schema["price"] == pl.Float32


def test_sample_is_deterministic(tmp_path):
    ids = [f"amp-{n}" for n in range(20)]
    generate_sample_currents(tmp_path / "a", ids, seed=9)
    generate_sample_currents(tmp_path / "b", ids, seed=9)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.avro"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.avro"))
    assert files_a == files_b
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a
    )


def test_stacking_unifies_one_kind_and_keeps_clashing_kinds_as_text():
    from amperity_braze_assets.currents.reader import stack_by_name

    def column(values, dtype) -> pl.DataFrame:
        return pl.DataFrame({"x": pl.Series(values, dtype=dtype)})

    # One kind: unified as polars does (Avro evolution), never turned into text.
    lists = stack_by_name([column([[1]], pl.List(pl.Int32)), column([[2]], pl.List(pl.Int64))])
    assert lists.schema["x"] == pl.List(pl.Int64) and lists["x"].to_list() == [[1], [2]]
    grown = stack_by_name(
        [
            column([{"a": 1}], pl.Struct({"a": pl.Int64})),
            column([{"a": 2, "b": "n"}], pl.Struct({"a": pl.Int64, "b": pl.String})),
        ]
    )
    assert grown["x"].to_list() == [{"a": 1, "b": None}, {"a": 2, "b": "n"}]
    enums = stack_by_name([column(["EMAIL"], pl.Categorical), column(["SMS"], pl.String)])
    assert enums["x"].to_list() == ["EMAIL", "SMS"]
    # Kinds that clash: text, each value as itself or as JSON.
    mixed = stack_by_name(
        [
            column([5], pl.Int64),
            column([["p"]], pl.List(pl.String)),
            column([{"k": 7}], pl.Struct({"k": pl.Int64})),
            column(["plain"], pl.String),
            column([None], pl.Null),
        ]
    )
    assert mixed["x"].to_list() == ["5", '["p"]', '{"k":7}', "plain", None]
    # Kinds polars would unify by losing what the values say: a date read as its epoch, a
    # number nulled, a record field that turned into a record, list items that turned into
    # records. All text instead.
    when = datetime(2025, 6, 1, tzinfo=UTC)
    for left, right, expected in [
        (column([5], pl.Int64), column([when], pl.Datetime("us", "UTC")), "5"),
        (column([5], pl.UInt64), column([when], pl.Datetime("us", "UTC")), "5"),
        (column([1.5], pl.Float64), column([when], pl.Datetime("us", "UTC")), "1.5"),
        (column([5], pl.Int64), column([timedelta(seconds=5)], pl.Duration("us")), "5"),
        (
            column([{"a": 1}], pl.Struct({"a": pl.Int64})),
            column([{"a": {"b": 2}}], None),
            '{"a":1}',
        ),
        (column([["p"]], pl.List(pl.String)), column([[{"k": 1}]], None), '["p"]'),
    ]:
        stacked = stack_by_name([left, right])
        assert stacked.schema["x"] == pl.String, (left.schema, right.schema)
        assert stacked["x"][0] == expected and stacked["x"][1] is not None
