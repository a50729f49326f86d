"""Reading Braze Currents Avro files into polars frames, fast and by field name.

Each file is decoded with its own writer schema (the one in its header), so a field inserted in
the middle of a newer ``version=``, a removed field or a field turned nullable lines up by name
when the per-file frames are stacked (a diagonal concat that unifies types: ``int`` and ``long``
become Int64; a field whose types have nothing in common, a list in one file and a number in
another, becomes text, see ``stack_by_name``). Polars' native Avro reader decodes whole files
in Rust; files it cannot read (a codec it lacks, a type it does not map) fall back to fastavro,
and a file neither can read is quarantined with its key and the reason while the rest of the
batch goes on.

Events are deduplicated on ``id`` (Braze delivers at least once), keeping the first occurrence
in the order the files are given; ``time`` (Unix seconds) becomes a UTC datetime. Each row also
carries where it came from: ``event_type``, ``source_key``, ``queued_hour`` (the ``date=``
folder) and ``arrived_at`` (the file's last-modified time).
"""

from __future__ import annotations

import io
import itertools
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import polars as pl

from amperity_braze_assets.currents.keys import try_parse_currents_key

log = logging.getLogger(__name__)

AVRO_MAGIC = b"Obj\x01"
UTC_DATETIME = pl.Datetime("us", "UTC")
LEADING_COLUMNS = ("id", "event_type", "time", "user_id", "external_user_id")
PROVENANCE_COLUMNS = ("source_key", "queued_hour", "arrived_at")
EMPTY_EVENTS_SCHEMA = {
    "id": pl.String,
    "event_type": pl.String,
    "time": UTC_DATETIME,
    "user_id": pl.String,
    "external_user_id": pl.String,
    "source_key": pl.String,
    "queued_hour": UTC_DATETIME,
    "arrived_at": UTC_DATETIME,
}
QUARANTINE_SCHEMA = {
    "key": pl.String,
    "event_type": pl.String,
    "reason": pl.String,
    "size": pl.Int64,
    "arrived_at": UTC_DATETIME,
}
REQUIRED_FIELDS = ("id", "time")

_AVRO_PRIMITIVES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int32(),
    "long": pl.Int64(),
    "float": pl.Float32(),
    "double": pl.Float64(),
    "boolean": pl.Boolean(),
    "bytes": pl.Binary(),
    "null": pl.Null(),
}


@dataclass(frozen=True)
class CurrentsBlob:
    """One Currents file's bytes, its key and when it arrived (S3 LastModified or file mtime)."""

    key: str
    data: bytes
    arrived_at: datetime | None = None


@dataclass(frozen=True)
class CurrentsRead:
    """What a batch of files gave: deduplicated events, quarantined files and the figures."""

    events: pl.DataFrame
    quarantine: pl.DataFrame
    files_read: int
    events_read: int
    duplicates_dropped: int


class CorruptCurrentsFile(Exception):
    """A file that is not a readable Avro object container (truncated, garbled, not Avro)."""


def read_currents_files(paths: Iterable[str | Path]) -> pl.DataFrame:
    """Read local Currents Avro files (of one event type) into one deduplicated frame.

    Corrupt files are skipped with a logged warning; use :func:`read_currents_blobs` to get
    them back as a quarantine table.
    """
    blobs = []
    for path in paths:
        path = Path(path)
        arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        blobs.append(CurrentsBlob(key=path.as_posix(), data=path.read_bytes(), arrived_at=arrived))
    result = read_currents_blobs(blobs)
    for row in result.quarantine.iter_rows(named=True):
        log.warning("Quarantined Currents file %s: %s", row["key"], row["reason"])
    return result.events


def read_currents_blobs(blobs: Iterable[CurrentsBlob]) -> CurrentsRead:
    """Decode, line up by field name, convert ``time`` and deduplicate a batch of files."""
    frames: list[pl.DataFrame] = []
    quarantined: list[dict[str, Any]] = []
    for blob in blobs:
        parsed = try_parse_currents_key(blob.key)
        event_type = parsed.event_type if parsed else None
        try:
            frame = decode_avro(blob.data)
            missing = [name for name in REQUIRED_FIELDS if name not in frame.columns]
            if missing:
                raise CorruptCurrentsFile(f"the writer schema has no {', '.join(missing)} field")
            frame = _with_utc_time(frame)
        except CorruptCurrentsFile as exc:
            quarantined.append(
                {
                    "key": blob.key,
                    "event_type": event_type,
                    "reason": str(exc),
                    "size": len(blob.data),
                    "arrived_at": blob.arrived_at,
                }
            )
            continue
        frames.append(
            frame.with_columns(
                pl.lit(event_type, pl.String).alias("event_type"),
                pl.lit(blob.key, pl.String).alias("source_key"),
                pl.lit(parsed.hour if parsed else None, UTC_DATETIME).alias("queued_hour"),
                pl.lit(blob.arrived_at, UTC_DATETIME).alias("arrived_at"),
            )
        )
    quarantine = pl.DataFrame(quarantined, schema=QUARANTINE_SCHEMA)
    if not frames:
        return CurrentsRead(pl.DataFrame(schema=EMPTY_EVENTS_SCHEMA), quarantine, 0, 0, 0)
    stacked = stack_by_name(frames)
    events = (
        stacked.lazy()
        .with_columns(pl.col("time").cast(UTC_DATETIME))
        .filter(pl.col("id").is_first_distinct())
        .select(_column_order(stacked.columns))
        .collect()
    )
    return CurrentsRead(
        events=events,
        quarantine=quarantine,
        files_read=len(frames),
        events_read=stacked.height,
        duplicates_dropped=stacked.height - events.height,
    )


def stack_by_name(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Frames stacked by column name, their types unified (a diagonal concat).

    Types of one kind unify as polars does (``int`` and ``long``, a list of ints and a list of
    longs, a record that gained a field, enums and text). A field whose kinds differ across
    files (a list in one, a number in another, a date against a number, a record whose field
    changed kind: Braze changing a field's type, or a hand-made file) becomes text in every
    frame: values as their own text, lists and records as JSON text. No event is dropped and the
    batch goes on; the field is named in a warning.
    """
    if len(frames) == 1:
        return frames[0]
    types: dict[str, set[pl.DataType]] = {}
    for frame in frames:
        for name, dtype in frame.schema.items():
            if dtype != pl.Null:
                types.setdefault(name, set()).add(dtype)
    # Checked before stacking: polars' relaxed concat fails on some of these (a list against a
    # number) and silently mangles others (a record cast to text, a date read as its epoch).
    clashing = {
        name
        for name, dtypes in types.items()
        if not all(_same_kind(a, b) for a, b in itertools.combinations(dtypes, 2))
    }
    if not clashing:
        try:
            return pl.concat(frames, how="diagonal_relaxed")
        except (pl.exceptions.SchemaError, pl.exceptions.InvalidOperationError):
            # Kinds polars still cannot unify (datetimes in two time zones): as text too.
            clashing = {name for name, dtypes in types.items() if len(dtypes) > 1}
    for name in sorted(clashing):
        log.warning(
            "Currents field %r has no common type across files (%s); it is kept as text",
            name,
            "; ".join(sorted(_typed_in(frames, name))),
        )
    return pl.concat(
        [
            frame.with_columns(
                _as_text(name, frame.schema[name]) for name in clashing if name in frame.columns
            )
            for frame in frames
        ],
        how="diagonal_relaxed",
    )


def _typed_in(frames: Sequence[pl.DataFrame], name: str) -> set[str]:
    """Each type the field has, with the first file (``source_key``) that gives it that type."""
    first: dict[str, str] = {}
    for frame in frames:
        dtype = frame.schema.get(name)
        if dtype is None or dtype == pl.Null or str(dtype) in first:
            continue
        keys = frame.get_column("source_key") if "source_key" in frame.columns else None
        where = f" in {keys[0]}" if keys is not None and keys.len() and keys[0] else ""
        first[str(dtype)] = f"{dtype}{where}"
    return set(first.values())


def _same_kind(a: pl.DataType, b: pl.DataType) -> bool:
    """Whether polars unifies two types without losing what the values say: records field by
    field, lists by their items, and otherwise the same scalar kind."""
    if a == pl.Null or b == pl.Null:
        return True
    if isinstance(a, pl.Struct) and isinstance(b, pl.Struct):
        other = {f.name: f.dtype for f in b.fields}
        return all(_same_kind(f.dtype, other[f.name]) for f in a.fields if f.name in other)
    if isinstance(a, pl.List | pl.Array) and isinstance(b, pl.List | pl.Array):
        return _same_kind(a.inner, b.inner)
    return _scalar_kind(a) == _scalar_kind(b)


def _scalar_kind(dtype: pl.DataType) -> str:
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return "text"
    if dtype.is_numeric() or dtype == pl.Boolean:
        return "number"
    return str(dtype.base_type())  # List, Struct, Binary, Date, Datetime, Time, Duration, ...


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.Binary:
        return column.bin.encode("base64")
    if isinstance(dtype, pl.Duration):
        return column.dt.to_string().alias(name)  # ISO 8601, as PT5S
    if _scalar_kind(dtype) in ("text", "number") or dtype.is_temporal():
        return column.cast(pl.String)
    json = pl.struct(column.alias("v")).struct.json_encode()
    text = json.str.strip_prefix('{"v":').str.strip_suffix("}")
    return pl.when(column.is_not_null()).then(text).alias(name)


def decode_avro(data: bytes) -> pl.DataFrame:
    """One Avro object container file as a frame, columns as its writer schema names them."""
    if not data.startswith(AVRO_MAGIC):
        raise CorruptCurrentsFile("not an Avro object container file (bad magic bytes)")
    try:
        return pl.read_avro(io.BytesIO(data))
    # polars lacks a codec or type, or the file is damaged: ask fastavro. (Some types, e.g. Avro
    # maps, make polars' reader panic, and a PanicException is not an Exception.)
    except (Exception, pl.exceptions.PanicException):
        try:
            return _decode_with_fastavro(data)
        except Exception as exc:
            raise CorruptCurrentsFile(f"{type(exc).__name__}: {exc}") from exc


def _decode_with_fastavro(data: bytes) -> pl.DataFrame:
    reader = fastavro.reader(io.BytesIO(data))
    schema = reader.writer_schema
    records = list(reader)
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise CorruptCurrentsFile("the writer schema is not a record")
    columns = []
    for field in schema["fields"]:
        name = field["name"]
        values = [record.get(name) for record in records]
        dtype = _polars_dtype(field["type"])
        if dtype is None:  # maps, records, multi-type unions: kept as JSON text
            values = [None if v is None else json.dumps(v, default=str) for v in values]
            dtype = pl.String()
        columns.append(pl.Series(name, values, dtype=dtype, strict=False))
    return pl.DataFrame(columns)


def _polars_dtype(avro_type: Any) -> pl.DataType | None:
    """The polars type polars' own Avro reader gives, so both decoders stack cleanly."""
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        return _polars_dtype(branches[0]) if len(branches) == 1 else None
    if isinstance(avro_type, str):
        return _AVRO_PRIMITIVES.get(avro_type)
    if isinstance(avro_type, dict):
        kind = avro_type.get("type")
        if kind == "array":
            inner = _polars_dtype(avro_type["items"])
            return pl.List(inner) if inner is not None else None
        if kind == "enum":
            return pl.String()
        if isinstance(kind, str) and "logicalType" not in avro_type:
            return _AVRO_PRIMITIVES.get(kind)
    return None


# Unix seconds a datetime can hold: 0001-01-01 to 9999-12-31 23:59:59.
MIN_UNIX_SECONDS = -62_135_596_800
MAX_UNIX_SECONDS = 253_402_300_799


def _with_utc_time(frame: pl.DataFrame) -> pl.DataFrame:
    """``time`` as a UTC datetime, or ``CorruptCurrentsFile`` naming why it cannot be one (text,
    fractions beyond int64, or seconds outside years 1 to 9999)."""
    dtype = frame.schema["time"]
    if not (dtype.is_integer() or dtype.is_float() or dtype == pl.Null or dtype.is_temporal()):
        raise CorruptCurrentsFile(f"the time field is {dtype}, not Unix seconds")
    if dtype.is_integer() or dtype.is_float():
        seconds = frame["time"].cast(pl.Float64)  # compare in one type: int32 holds no bound
        finite = seconds.is_finite()
        bad = (
            (~finite.fill_null(True)) | (seconds < MIN_UNIX_SECONDS) | (seconds > MAX_UNIX_SECONDS)
        )
        if bad.fill_null(False).any():
            example = seconds.filter(bad.fill_null(False))[0]
            raise CorruptCurrentsFile(
                f"the time field holds {int(bad.fill_null(False).sum())} value(s) outside years "
                f"1 to 9999 (e.g. {example}), not Unix seconds"
            )
    try:
        return frame.with_columns(time=_utc_time(dtype))
    except (pl.exceptions.PolarsError, OverflowError, pl.exceptions.PanicException) as exc:
        raise CorruptCurrentsFile(f"the time field cannot be read: {exc}".splitlines()[0]) from exc


def _utc_time(dtype: pl.DataType) -> pl.Expr:
    """Braze's ``time`` is Unix seconds (``int`` or ``long``); a timestamp logical type would
    already be a datetime."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return pl.col("time").dt.replace_time_zone("UTC").cast(UTC_DATETIME)
        return pl.col("time").dt.convert_time_zone("UTC").cast(UTC_DATETIME)
    if dtype == pl.Null:
        return pl.col("time").cast(UTC_DATETIME)
    return pl.from_epoch(pl.col("time").cast(pl.Int64), time_unit="s").dt.replace_time_zone("UTC")


def _column_order(columns: Sequence[str]) -> list[str]:
    leading = [c for c in LEADING_COLUMNS if c in columns]
    trailing = [c for c in PROVENANCE_COLUMNS if c in columns]
    middle = [c for c in columns if c not in leading and c not in trailing]
    return [*leading, *middle, *trailing]
