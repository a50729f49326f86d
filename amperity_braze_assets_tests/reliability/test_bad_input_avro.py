"""Hostile Currents files: ``read_currents_blobs`` never raises, quarantines every file it cannot
read (with its key and a reason) and lets every good file's events through.

``FIGURES`` counts what the suite tried; ``conftest.py`` prints it after the run."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import fastavro
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amperity_braze_assets.currents.reader import CurrentsBlob, read_currents_blobs

ARRIVED = datetime(2025, 6, 1, tzinfo=UTC)
BASE_FIELDS = [
    {"name": "id", "type": "string"},
    {"name": "time", "type": "long"},
    {"name": "user_id", "type": ["null", "string"], "default": None},
    {"name": "external_user_id", "type": ["null", "string"], "default": None},
]
ODD_FIELDS = [
    {"name": "props", "type": {"type": "map", "values": "string"}},
    {"name": "channel", "type": {"type": "enum", "name": "Channel", "symbols": ["EMAIL", "SMS"]}},
    {
        "name": "device",
        "type": {
            "type": "record",
            "name": "Device",
            "fields": [{"name": "os", "type": "string"}, {"name": "v", "type": "int"}],
        },
    },
    {"name": "mixed", "type": ["null", "string", "long", "double", "boolean"]},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "blob", "type": "bytes"},
]
ODD_VALUES = {
    "props": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    "channel": st.sampled_from(["EMAIL", "SMS"]),
    "device": st.builds(lambda o, v: {"os": o, "v": v}, st.text(max_size=5), st.integers(-5, 5)),
    "mixed": st.one_of(
        st.none(), st.text(max_size=5), st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans()
    ),
    "tags": st.lists(st.text(max_size=4), max_size=3),
    "blob": st.binary(max_size=8),
}
# Unix seconds: normal, negative, past year 9999, at the int64 edges.
TIMES = st.one_of(
    st.integers(0, 2_000_000_000),
    st.integers(-(2**63), -1),
    st.integers(253_402_300_800, 2**63 - 1),  # after 9999-12-31
    st.sampled_from([-(2**63), 2**63 - 1, 253_402_300_799, -62_135_596_800]),
)
HUGE = st.sampled_from(["x" * 100_000, "é" * 50_000, "\x00" * 1000])


def avro_file(fields: list[dict], records: list[dict], codec: str = "null") -> bytes:
    schema = {"type": "record", "name": "Event", "fields": fields}
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), records, codec=codec)
    return buffer.getvalue()


@st.composite
def good_files(draw, sane_times: bool = True):
    odd = draw(st.lists(st.sampled_from(ODD_FIELDS), unique_by=lambda f: f["name"], max_size=3))
    fields = BASE_FIELDS + odd
    n = draw(st.integers(1, 6))
    records = []
    for i in range(n):
        record = {
            "id": draw(st.one_of(st.text(min_size=1, max_size=8), HUGE)) + f"-{i}",
            "time": draw(st.integers(0, 2_000_000_000) if sane_times else TIMES),
            "user_id": draw(st.one_of(st.none(), st.text(max_size=6))),
            "external_user_id": draw(st.one_of(st.none(), st.text(max_size=6), HUGE)),
        }
        for field in odd:
            record[field["name"]] = draw(ODD_VALUES[field["name"]])
        records.append(record)
    codec = draw(st.sampled_from(["null", "deflate"]))
    return avro_file(fields, records, codec), records


def wrong_files(data: st.DataObject, good: bytes) -> bytes:
    kind = data.draw(st.sampled_from(["random", "truncated", "magic", "corrupt", "schema"]))
    if kind == "random":
        return data.draw(st.binary(max_size=300))
    if kind == "truncated":
        return good[: data.draw(st.integers(0, len(good) - 1))]
    if kind == "magic":
        return data.draw(st.sampled_from([b"Obj\x02", b"PAR1", b"\x00\x00\x00\x00"])) + good[4:]
    if kind == "corrupt":  # keep the header, garble bytes after it
        position = data.draw(st.integers(min(len(good) - 1, 40), len(good) - 1))
        junk = data.draw(st.binary(min_size=1, max_size=16))
        return good[:position] + junk + good[position + len(junk) :]
    # a valid file whose schema lacks the required fields
    return avro_file([{"name": "other", "type": "string"}], [{"other": "x"}])


def check_batch(blobs: list[CurrentsBlob], good_ids: set[str], bad_keys: set[str]) -> None:
    result = read_currents_blobs(blobs)  # never raises
    quarantined = set(result.quarantine["key"].to_list())
    assert bad_keys <= quarantined, (bad_keys, result.quarantine.to_dicts())
    assert result.quarantine["reason"].null_count() == 0
    assert all(result.quarantine["reason"].str.len_chars() > 0)
    ids = set(result.events["id"].to_list()) if result.events.height else set()
    # every good file's events flow on (a damaged file may have been readable in part: its
    # rows are fine to keep as long as it is not also quarantined)
    good_keys = {b.key for b in blobs} - bad_keys
    assert not good_keys & quarantined, result.quarantine.to_dicts()
    assert good_ids <= ids
    assert result.events.schema["time"] == pl.Datetime("us", "UTC")
    FIGURES["files"] += len(blobs)
    FIGURES["quarantined"] += result.quarantine.height
    FIGURES["events"] += result.events.height


FIGURES = {"files": 0, "quarantined": 0, "events": 0}


@given(good=good_files(), data=st.data())
def test_bad_files_are_quarantined_and_good_ones_flow_on(good, data):
    good_bytes, records = good
    blobs = [CurrentsBlob("currents/good.avro", good_bytes, ARRIVED)]
    bad_keys = set()
    for n in range(data.draw(st.integers(1, 3))):
        bad = wrong_files(data, good_bytes)
        key = f"currents/bad-{n}.avro"
        blobs.insert(data.draw(st.integers(0, len(blobs))), CurrentsBlob(key, bad, ARRIVED))
        result = read_currents_blobs([CurrentsBlob(key, bad, ARRIVED)])
        if result.quarantine.height:
            bad_keys.add(key)
        else:  # a truncation at a block boundary, or garbling inside a string, can stay readable
            assert result.events.height <= len(records)
    check_batch(blobs, {r["id"] for r in records}, bad_keys)


# One field name, a different type per file: Braze changing a field's type between exports.
SHARED_FIELD_TYPES = [(field["type"], ODD_VALUES[field["name"]]) for field in ODD_FIELDS] + [
    ("long", st.integers(-(2**63), 2**63 - 1)),
    ("string", st.text(max_size=5)),
    ("double", st.floats()),
    ("boolean", st.booleans()),
]


@given(
    kinds=st.lists(st.integers(0, len(SHARED_FIELD_TYPES) - 1), min_size=2, max_size=4),
    data=st.data(),
)
def test_a_field_typed_differently_in_each_file_never_fails_the_batch(kinds, data):
    blobs, ids = [], set()
    for n, kind in enumerate(kinds):
        avro_type, values = SHARED_FIELD_TYPES[kind]
        records = [
            {
                "id": f"typed-{n}-{i}",
                "time": 1_700_000_000,
                "user_id": None,
                "external_user_id": None,
                "shared": data.draw(values),
            }
            for i in range(2)
        ]
        fields = [*BASE_FIELDS, {"name": "shared", "type": avro_type}]
        blobs.append(CurrentsBlob(f"currents/typed-{n}.avro", avro_file(fields, records), ARRIVED))
        ids |= {r["id"] for r in records}
    check_batch(blobs, ids, set())


@given(good=good_files(sane_times=False))
def test_absurd_times_never_crash_and_are_quarantined_or_kept(good):
    good_bytes, records = good
    sane = avro_file(BASE_FIELDS, [{"id": "sane-1", "time": 1_700_000_000}])
    result = read_currents_blobs(
        [CurrentsBlob("currents/absurd.avro", good_bytes, ARRIVED), CurrentsBlob("s.avro", sane)]
    )
    assert "sane-1" in result.events["id"].to_list()
    representable = all(-62_135_596_800 <= r["time"] <= 253_402_300_799 for r in records)
    if result.quarantine.height:
        assert result.quarantine["key"].to_list() == ["currents/absurd.avro"]
        assert "time" in result.quarantine["reason"][0]
        assert not representable
    else:
        assert representable
        kept = result.events.filter(pl.col("source_key") == "currents/absurd.avro")
        assert kept.height == len({r["id"] for r in records})


def test_every_prefix_of_a_small_file_is_read_or_quarantined():
    data = avro_file(BASE_FIELDS, [{"id": f"e{i}", "time": 1_700_000_000 + i} for i in range(5)])
    sane = avro_file(BASE_FIELDS, [{"id": "sane", "time": 1_700_000_000}])
    step = 1 if settings().max_examples > 100 else 3
    lengths = range(0, len(data), step)
    quarantined = 0
    for length in lengths:
        blobs = [CurrentsBlob("p.avro", data[:length]), CurrentsBlob("sane.avro", sane)]
        result = read_currents_blobs(blobs)
        assert "sane" in result.events["id"].to_list()
        assert result.quarantine["key"].to_list() in ([], ["p.avro"])
        if result.quarantine.height == 0:  # a prefix ending on a block boundary is readable
            assert result.events.height <= 6
        quarantined += result.quarantine.height
    # Every prefix short of the header and the first block is unreadable; only a cut on a block
    # boundary (a handful of lengths) reads.
    assert quarantined >= len(lengths) - 3, (quarantined, len(lengths))
    FIGURES["files"] += 2 * len(lengths)
    FIGURES["quarantined"] += quarantined


@pytest.mark.parametrize(
    "values",
    [
        {"id": 5, "time": 1},  # an id that is a number
        {"id": "x", "time": "yesterday"},  # a time that is text
        {"id": "x", "time": 1.5e300},  # a time far beyond int64
        {"id": None, "time": None},
    ],
)
def test_wrong_types_for_required_fields(values):
    kinds = {
        "id": "long" if isinstance(values["id"], int) else ["null", "string"],
        "time": "string"
        if isinstance(values["time"], str)
        else "double"
        if isinstance(values["time"], float)
        else ["null", "long"],
    }
    bad = avro_file([{"name": k, "type": v} for k, v in kinds.items()], [values])
    sane = avro_file(BASE_FIELDS, [{"id": "sane", "time": 1_700_000_000}])
    result = read_currents_blobs([CurrentsBlob("w.avro", bad), CurrentsBlob("s.avro", sane)])
    assert "sane" in result.events["id"].to_list()
    if result.quarantine.height:
        assert result.quarantine["key"].to_list() == ["w.avro"]
    FIGURES["quarantined"] += result.quarantine.height
