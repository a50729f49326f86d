"""Read source files into the common vocabulary, quarantining what cannot be read.

Raw exports are messy in structure, not just in values: a line with an extra unquoted comma, a
name with bytes from another encoding, a quote that never closes, a record without its key. One
such line must not fail a run nor vanish: it goes to a rejects table with its file, line, field
and reason, and every good line flows on.

The CSV path is vectorized: lines are grouped into records by quote parity, quoted sections are
stripped with a regex to count fields, and only the few irregular records fall back to Python's
``csv`` module. The good records are then parsed by polars in one call.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import polars as pl

from amperity_braze_assets.sources.config import (
    DEFAULT_RATES_FILE,
    CsvOptions,
    MoneyConfig,
    SourceConfig,
)
from amperity_braze_assets.sources.files import expand_patterns, read_bytes
from amperity_braze_assets.sources.tags import BUYER_TAGS, IDENTIFYING_BUYER_TAGS, LINE_TAGS

REJECTS_SCHEMA: dict[str, Any] = {
    **dict.fromkeys(("source", "file"), pl.String),
    "line": pl.Int64,
    **dict.fromkeys(("field", "value", "reason", "raw"), pl.String),
    # the row's key (primary key, or order id) where it could be read: a record quarantined
    # this run keeps its last good version rather than vanishing from the customer 360
    "record_key": pl.String,
}
LINE_COLUMN = "source_line"
FILE_COLUMN = "source_file"
RAW_PREVIEW_CHARS = 1_000
REPLACEMENT_CHAR = "\ufffd"
# A piece of a delimited file, parsed: its rows, and its reject rows.
Parsed = tuple[pl.DataFrame, list[dict[str, Any]]]

_TZ_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%:z",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%:z",
)
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
)


@dataclass(frozen=True)
class SourceReadResult:
    records: pl.DataFrame
    rejects: pl.DataFrame
    files: tuple[str, ...]
    # a transaction source's line items and buyers (see assemble_orders), when mapped
    lines: pl.DataFrame | None = None
    buyers: pl.DataFrame | None = None
    # data rows in the files (read or rejected), and rows (orders) the where left out
    rows_read: int = 0
    filtered: int = 0
    # why the run must stop whatever the reject share (currencies that cannot be added)
    stops: tuple[str, ...] = ()


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTS_SCHEMA)


def _rejects(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        return empty_rejects()
    return pl.DataFrame(rows, schema=REJECTS_SCHEMA)


# Large delimited files are read in pieces of about this many bytes, cut at line ends, so memory
# follows the piece and the table read so far rather than several copies of the whole file.
CHUNK_BYTES = 64 * 2**20


def parse_delimited(
    data: bytes, file: str, options: CsvOptions, chunk_bytes: int = CHUNK_BYTES
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse delimited text into all-string columns plus ``source_line``, and the rejected lines.

    The header is the first line. Blank lines are skipped. Rejected: records whose field count
    differs from the header's, records with bytes the declared encoding cannot decode, and
    quotes that never close.
    """
    parsed = list(iter_delimited(data, file, options, chunk_bytes))
    frames = [frame for frame, _ in parsed if frame.height]
    rejects = [r for _, piece_rejects in parsed for r in piece_rejects]
    if len(frames) == 1:
        frame = frames[0]
    elif frames:
        frame = pl.concat(frames, how="vertical")
    else:
        frame = parsed[-1][0] if parsed else pl.DataFrame()
    return frame, _rejects(rejects)


def iter_delimited(
    data: bytes, file: str, options: CsvOptions, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[pl.DataFrame, list[dict[str, Any]]]]:
    """``parse_delimited`` piece by piece: (rows, reject rows) per piece of about
    ``chunk_bytes``, so a caller can type and shrink each piece before the next is read."""
    header_end = data.find(b"\n")
    if not _splits_at_newline_bytes(options.encoding) or header_end < 0 or len(data) <= chunk_bytes:
        yield from _parse_pieces([data], file, options)
        return
    # Pieces end just after a newline byte: in an encoding where "\n" is that byte (UTF-8 and
    # the single-byte code pages) no character is cut in two.
    pieces = []
    start = 0
    while start < len(data):
        end = data.rfind(b"\n", start, start + chunk_bytes) + 1
        if end <= start:  # one line longer than a piece: take it whole
            end = data.find(b"\n", start + chunk_bytes) + 1 or len(data)
        pieces.append(memoryview(data)[start:end])
        start = end
    yield from _parse_pieces(pieces, file, options)


def _splits_at_newline_bytes(encoding: str) -> bool:
    try:
        return "\n".encode(encoding) == b"\n" and "\r".encode(encoding) == b"\r"
    except LookupError:
        return False


def _parse_pieces(pieces, file: str, options: CsvOptions) -> Iterator[Parsed]:
    """Parse consecutive pieces of one file. A record still inside quotes at the end of a piece
    (a quoted line break) is carried into the next piece, so records are grouped exactly as if
    the file were read whole.

    Records are cut from piece after piece here, in order, while a worker thread parses the
    previous piece's records into fields (``_parse_records``): two pieces in flight keep a
    second core busy, and the pieces still come out in file order."""
    jobs = _record_pieces(pieces, file, options)
    with ThreadPoolExecutor(max_workers=1) as parser:
        parsing: Future | None = None
        while True:
            try:
                job = next(jobs, None)
            except Exception:
                # Cutting the next piece failed: the piece already parsed still comes out, as
                # it did when pieces were parsed one after the other.
                if parsing is not None:
                    yield parsing.result()
                raise
            if job is None:
                break
            following = parser.submit(job)
            if parsing is not None:
                yield parsing.result()
            parsing = following
        if parsing is not None:
            yield parsing.result()


def _parse_piece(
    records: pl.DataFrame, body: pl.DataFrame, header: list[str], file: str, options: CsvOptions
) -> Parsed:
    frame, piece_rejects = _parse_records(records, body, header, file, options)
    if not frame.height:
        frame = pl.DataFrame(
            schema={**{column: pl.String for column in header}, LINE_COLUMN: pl.Int64}
        )
    return frame, piece_rejects


def _headless_file(file: str) -> Parsed:
    reason = "the file is empty or its first line (the header) is blank"
    return pl.DataFrame(), [_reject_row(file, 1, None, None, reason, "")]


def _record_pieces(pieces, file: str, options: CsvOptions) -> Iterator[Callable[[], Parsed]]:
    """Per piece, the call that parses it (``_parse_piece``); for a file without a header, one
    call that gives its one reject."""
    header: list[str] | None = None
    header_text = ""
    carry = pl.DataFrame(schema={"line": pl.Int64, "text": pl.String})
    next_line = 1
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        text = bytes(piece).decode(options.encoding, errors="replace")
        if index == 0:
            text = text.lstrip("\ufeff")
        # Split in polars: millions of Python line strings cost more than the parse itself.
        split = pl.Series("text", [text], dtype=pl.String).str.split("\n").explode()
        del text
        if not last and split.len() and split[-1] == "":
            split = split.head(-1)  # the piece ended with its newline: no line follows it here
        lines = pl.DataFrame(
            {
                "line": pl.int_range(
                    next_line, next_line + split.len(), eager=True, dtype=pl.Int64
                ),
                "text": split,
            }
        )
        next_line += split.len()
        del split
        if header is None:
            if lines.height == 0 or not lines["text"][0].strip():
                yield partial(_headless_file, file)
                return
            header_text = lines["text"][0].removesuffix("\r")
            header = [c.strip() for c in _parse_line(header_text, options)]
            lines = lines.slice(1)
        body = pl.concat([carry, lines]) if carry.height else lines
        records, open_from = _group_into_records(body, options.quote, options.delimiter)
        if open_from is not None and not last:
            carry = body.filter(pl.col("line") >= open_from)
            records = records.filter(pl.col("line") < open_from)
        else:
            carry = carry.clear()
        yield partial(_parse_piece, records, body, header, file, options)


def _parse_records(
    records: pl.DataFrame,
    body: pl.DataFrame,
    header: list[str],
    file: str,
    options: CsvOptions,
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    n_columns = len(header)
    quote, sep = options.quote, options.delimiter
    records = records.with_columns(pl.col("text").str.strip_suffix("\r")).filter(
        pl.col("text").str.strip_chars("\r").str.len_chars() > 0  # blank lines are skipped
    )
    quoted_field = (
        f"(^|{re.escape(sep)}){re.escape(quote)}(?:[^{re.escape(quote)}]|{re.escape(quote * 2)})*"
        f"{re.escape(quote)}({re.escape(sep)}|$)"
    )
    # Two passes: one pass cannot see a quoted field whose leading separator the previous
    # match consumed ("a","b").
    unquoted = (
        pl.col("text")
        .str.replace_all(quoted_field, "${1}${2}")
        .str.replace_all(quoted_field, "${1}${2}")
    )
    # The regexes only run on records holding a quote: most lines of most exports have none.
    with_quotes = records.filter(pl.col("text").str.contains(quote, literal=True))
    records = records.join(
        with_quotes.select("line", _unquoted=unquoted), on="line", how="left", maintain_order="left"
    ).with_columns(pl.coalesce("_unquoted", "text").alias("_unquoted"))
    unquoted = pl.col("_unquoted")
    records = records.with_columns(
        n_fields=unquoted.str.count_matches(sep, literal=True) + 1,
        # A carriage return inside a line (a quoted old-Mac line break, or a stray one) is
        # left to Python's csv module, which keeps quoted ones exactly and refuses the rest.
        irregular=unquoted.str.contains(quote, literal=True)
        | pl.col("literal_quote")
        | pl.col("text").str.contains("\r", literal=True),
        undecodable=pl.col("text").str.contains(REPLACEMENT_CHAR, literal=True),
    )
    regular = records.filter(
        ~pl.col("irregular") & ~pl.col("undecodable") & (pl.col("n_fields") == n_columns)
    )
    suspicious = records.filter(
        pl.col("irregular") | pl.col("undecodable") | (pl.col("n_fields") != n_columns)
    )

    parsed = _parse_regular(regular, header, options)
    salvaged, reject_rows = _parse_suspicious(suspicious, body, header, file, options)
    frames = [f for f in (parsed, salvaged) if f.height]
    if not frames:
        return pl.DataFrame(), reject_rows
    return pl.concat(frames, how="vertical").sort(LINE_COLUMN), reject_rows


def _group_into_records(
    body: pl.DataFrame, quote: str, sep: str
) -> tuple[pl.DataFrame, int | None]:
    """Join lines into records: a record goes on while an odd number of quotes is open. Also
    returns the first line of a record still open after the last line (None if none is).

    A quote inside an unquoted value (``O"Brien``) is literal text, not quoting: it is left out
    of the count, or one such name would glue every following line into one broken record.
    """
    q, s = re.escape(quote), re.escape(sep)
    literal_quote = f"([^{s}{q}\r\n]){q}([^{s}{q}\r\n])"
    structural = (
        pl.col("text")
        .str.replace_all(literal_quote, "${1}${2}")
        .str.replace_all(literal_quote, "${1}${2}")
    )
    quoted_lines = body.filter(pl.col("text").str.contains(quote, literal=True)).select(
        "line",
        _quotes=structural.str.count_matches(quote, literal=True),
        literal_quote=structural.str.len_bytes() != pl.col("text").str.len_bytes(),
    )
    body = body.join(quoted_lines, on="line", how="left", maintain_order="left").with_columns(
        open_after=(pl.col("_quotes").fill_null(0).cum_sum() % 2) == 1,
        literal_quote=pl.col("literal_quote").fill_null(False),
    )
    if not body["open_after"].any():
        return body.select("line", "text", "literal_quote", last_line=pl.col("line")), None
    record_no = (~pl.col("open_after")).cast(pl.Int64).cum_sum().shift(1, fill_value=0)
    records = (
        body.with_columns(record_no=record_no)
        .group_by("record_no", maintain_order=True)
        .agg(
            line=pl.col("line").first(),
            last_line=pl.col("line").last(),
            text=pl.col("text").str.join("\n"),
            literal_quote=pl.col("literal_quote").any(),
        )
        .drop("record_no")
    )
    open_from = records.get_column("line")[-1] if body["open_after"][-1] else None
    return records, open_from


def _parse_regular(regular: pl.DataFrame, header: list[str], options: CsvOptions) -> pl.DataFrame:
    if regular.height == 0:
        return pl.DataFrame()
    # The rows go to polars as UTF-8 bytes straight from polars' own strings: no Python copy.
    payload = (
        regular.select(pl.col("text").str.join("\n") + "\n").to_series().cast(pl.Binary).item()
    )
    try:
        frame = pl.read_csv(
            io.BytesIO(payload),
            separator=options.delimiter,
            quote_char=options.quote,
            infer_schema=False,
            has_header=False,
            new_columns=header,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        frame = None
    if frame is None or frame.height != regular.height:
        # polars disagreed with the field count (an odd quoting polars refuses): let Python's
        # csv module, which follows the same rules as most exporters, read these records.
        rows = [_parse_line(t, options) for t in regular["text"].to_list()]
        frame = pl.DataFrame(rows, schema=[(name, pl.String) for name in header], orient="row")
    return frame.with_columns(regular["line"].alias(LINE_COLUMN))


def _parse_suspicious(
    suspicious: pl.DataFrame,
    body: pl.DataFrame,
    header: list[str],
    file: str,
    options: CsvOptions,
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Read the few records the fast path could not, line by line where a quote ran away."""
    good_rows: list[list[str]] = []
    good_lines: list[int] = []
    rejects: list[dict[str, Any]] = []
    if suspicious.height == 0:
        return pl.DataFrame(), rejects
    by_line = None
    for line, last_line, text in suspicious.select("line", "last_line", "text").iter_rows():
        candidates = [(line, text)]
        whole = _try_parse(text, options)
        if last_line != line and (isinstance(whole, str) or len(whole) != len(header)):
            # A stray quote (O"Brien) opened a "record" that swallowed the next lines: look at
            # each line on its own before giving up on any of them.
            if by_line is None:
                by_line = dict(zip(body["line"].to_list(), body["text"].to_list(), strict=True))
            candidates = [
                (n, by_line[n].removesuffix("\r"))
                for n in range(line, last_line + 1)
                if by_line[n].strip("\r")
            ]
        for number, candidate in candidates:
            fields = _try_parse(candidate, options)
            if isinstance(fields, str):
                rejects.append(_reject_row(file, number, None, None, fields, candidate))
            elif len(fields) != len(header):
                reason = f"expected {len(header)} fields, found {len(fields)}"
                rejects.append(_reject_row(file, number, None, None, reason, candidate))
            elif REPLACEMENT_CHAR in candidate:
                bad = [h for h, v in zip(header, fields, strict=True) if REPLACEMENT_CHAR in v]
                field = bad[0] if bad else None
                value = fields[header.index(field)] if field else None
                reason = f"undecodable bytes: not valid {options.encoding}"
                rejects.append(_reject_row(file, number, field, value, reason, candidate))
            else:
                good_rows.append([value if value != "" else None for value in fields])
                good_lines.append(number)
    frame = (
        pl.DataFrame(good_rows, schema=[(name, pl.String) for name in header], orient="row")
        if good_rows
        else pl.DataFrame()
    )
    if frame.height:
        frame = frame.with_columns(pl.Series(LINE_COLUMN, good_lines, dtype=pl.Int64))
    return frame, rejects


def _try_parse(text: str, options: CsvOptions) -> list[str] | str:
    """The record's fields, or why it cannot be parsed."""
    try:
        # One string, not a file: line breaks are data inside quotes and errors outside them.
        rows = list(
            csv.reader([text], delimiter=options.delimiter, quotechar=options.quote, strict=True)
        )
    except csv.Error as exc:
        if "new-line" in str(exc):
            return "line break inside an unquoted field"
        return f"unbalanced quotes ({exc})"
    if len(rows) != 1:
        return "unbalanced quotes"
    return rows[0]


def _parse_line(text: str, options: CsvOptions) -> list[str]:
    row = next(csv.reader([text], delimiter=options.delimiter, quotechar=options.quote), [])
    return row


def _reject_row(
    file: str, line: int | None, field: str | None, value: str | None, reason: str, raw: str
) -> dict[str, Any]:
    return {
        "source": None,
        "file": file,
        "line": line,
        "field": field,
        "value": value,
        "reason": reason,
        "raw": raw[:RAW_PREVIEW_CHARS] if raw else raw,
        "record_key": None,
    }


def first_lines(data: bytes, lines: int) -> bytes:
    """The first ``lines`` lines of a file (a quoted line break counts as a line end: enough
    for a sample)."""
    end = -1
    for _ in range(lines):
        end = data.find(b"\n", end + 1)
        if end < 0:
            return data
    return data[: end + 1]


def read_parquet_file(data: bytes) -> pl.DataFrame:
    frame = pl.read_parquet(io.BytesIO(data))
    # Sources keep their original values: everything becomes text here, typing happens downstream
    # where the meaning of each column is known.
    return (
        frame.with_columns(pl.all().cast(pl.String))
        .with_row_index(LINE_COLUMN, offset=1)
        .with_columns(pl.col(LINE_COLUMN).cast(pl.Int64))
    )


def read_file_pieces(
    file: str, source: SourceConfig, s3_client: Any = None, max_rows: int | None = None
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """One file as all-string columns plus ``source_line``, and its rejected lines, piece by
    piece (a large delimited file comes in pieces of about ``CHUNK_BYTES``); an unreadable file
    gives one empty piece and its reject."""
    try:
        data = read_bytes(file, s3_client)
        if source.format == "parquet":
            frame = read_parquet_file(data)
            yield (frame if max_rows is None else frame.head(max_rows)), empty_rejects()
            return
        if max_rows is not None:
            data = first_lines(data, max_rows + 1)
        for frame, rejects in iter_delimited(data, file, source.csv, CHUNK_BYTES):
            yield frame, _rejects(rejects)
    except (OSError, pl.exceptions.PolarsError, LookupError) as exc:
        reason = f"unreadable {source.format} file: {exc}"
        yield pl.DataFrame(), _rejects([_reject_row(file, None, None, None, reason, "")])
    except Exception as exc:  # botocore errors and the like: the file is quarantined, not the run
        reason = f"cannot fetch file: {type(exc).__name__}: {exc}"
        yield pl.DataFrame(), _rejects([_reject_row(file, None, None, None, reason, "")])


def read_source(
    source: SourceConfig,
    base_dir,
    s3_client: Any = None,
    customer_sources: frozenset[str] = frozenset(),
    money: MoneyConfig | None = None,
    max_rows: int | None = None,
) -> SourceReadResult:
    """Read every file of a source, map it to the common vocabulary and quarantine bad rows.

    ``max_rows`` reads only the first rows of each file (``check-sources`` on a sample)."""
    files = expand_patterns(source.files, base_dir, s3_client)
    if not files:
        raise FileNotFoundError(
            f"source '{source.name}' ({source.config_file}): no file matches {list(source.files)} "
            f"under {base_dir}. Generate the sample with `amperity-braze sample-data`, or fix "
            f"sources.{source.name}.files."
        )
    read = _read_files(files, source, s3_client, max_rows)
    rejects, filtered = list(read.rejects), read.filtered
    orders = source.kind != "customers"
    if read.records:
        records = pl.concat(read.records, how="diagonal_relaxed")
    elif orders:
        records = type_transactions(pl.DataFrame(schema=_empty_schema(source)), source)[0]
    else:
        records = pl.DataFrame(schema=_empty_schema(source))
    lines = buyers = None
    stops: tuple[str, ...] = ()
    if orders:
        assembled = assemble_orders(records, source, customer_sources, money)
        records, lines, buyers = assembled.orders, assembled.lines, assembled.buyers
        rejects.append(assembled.rejects)
        filtered += assembled.filtered
        stops = assembled.stops
    else:
        records = _typed_update_times(records, source)
        records, key_rejects = validate_customers(records, source)
        rejects.append(key_rejects)
    all_rejects = pl.concat([r for r in rejects if r.height] or [empty_rejects()], how="vertical")
    all_rejects = all_rejects.with_columns(source=pl.lit(source.name)).sort(
        "file", "line", nulls_last=True
    )
    return SourceReadResult(
        records=records,
        rejects=all_rejects,
        files=tuple(files),
        lines=lines,
        buyers=buyers,
        rows_read=read.rows_read,
        filtered=filtered,
        stops=stops,
    )


@dataclass(frozen=True)
class _FilesRead:
    """A source's files read piece by piece: the mapped records (orders typed, customers
    filtered by the ``where``), the rejected rows, the rows read and those the ``where`` left
    out."""

    records: list[pl.DataFrame]
    rejects: list[pl.DataFrame]
    rows_read: int
    filtered: int


def _read_files(
    files: list[str],
    source: SourceConfig,
    s3_client: Any,
    max_rows: int | None,
) -> _FilesRead:
    mapped: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    rows_read = filtered = 0
    condition = pl.sql_expr(source.where).fill_null(False) if source.where else None
    for file in files:
        for frame, file_rejects in read_file_pieces(file, source, s3_client, max_rows):
            if file_rejects.height and frame.width:
                file_rejects = _with_record_keys(file_rejects, frame.columns, source)
            rejects.append(file_rejects)
            rows_read += frame.height + file_rejects.filter(pl.col("line").is_not_null()).height
            if frame.width == 0:
                continue
            kept = _where_verdict(frame, condition, source, file)
            records, row_rejects = map_columns(frame, source, file)
            rejects.append(row_rejects)
            if records.width == 0:
                break  # the file lacks a mapped column: said once, for the whole file
            if source.kind != "customers":
                if kept is not None:
                    # An order is kept or left out whole, by its first row (see assemble_orders).
                    records = records.with_columns(kept.alias("_where"))
                # Typed piece by piece: ten million orders as text are several times their
                # typed size, and only the typed rows are kept.
                records, row_rejects = type_transactions(records, source)
                rejects.append(row_rejects)
            elif kept is not None:
                filtered += int((~kept).sum())
                records = records.filter(kept)
            mapped.append(records)
    return _FilesRead(mapped, rejects, rows_read, filtered)


def _where_verdict(
    frame: pl.DataFrame, condition: pl.Expr | None, source: SourceConfig, file: str
) -> pl.Series | None:
    """Per row, whether the source's ``where`` keeps it (None: no ``where``, or no rows)."""
    if condition is None or not frame.height:
        return None
    try:
        return frame.select(condition).to_series()
    except pl.exceptions.PolarsError as exc:
        raise ValueError(
            f"source '{source.name}' ({source.config_file}): where "
            f"{source.where!r} cannot be evaluated on {file}: {exc}. Every column "
            "is text: compare with 'quoted' values or CAST(\"Total\" AS DOUBLE)."
        ) from exc


def _typed_update_times(records: pl.DataFrame, source: SourceConfig) -> pl.DataFrame:
    """``updated_at`` written as ISO 8601 UTC where a ``formats:`` entry reads it (the built-in
    formats are read downstream): the one customer column whose text is rewritten."""
    column = next((c for c, t in source.columns.items() if t == "updated-at"), None)
    if column is None or not source.formats.get(column) or "updated_at" not in records.columns:
        return records
    parsed = parse_timestamp(pl.col("updated_at"), source.formats[column])
    return records.with_columns(
        pl.coalesce(parsed.dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ"), pl.col("updated_at")).alias(
            "updated_at"
        )
    )


def _with_record_keys(
    rejects: pl.DataFrame, header: list[str], source: SourceConfig
) -> pl.DataFrame:
    """The key of each rejected line, read from its raw text where the key's field can be
    trusted: the line has the header's field count, or the key is the first field."""
    if source.primary_key not in header or "raw" not in rejects.columns:
        return rejects
    position = header.index(source.primary_key)
    keys = []
    for raw in rejects.get_column("raw").to_list():  # rejects are few: plain Python is fine
        fields = _try_parse(raw, source.csv) if raw else ""
        trusted = isinstance(fields, list) and (len(fields) == len(header) or position == 0)
        value = fields[position].strip() if trusted and position < len(fields) else ""
        keys.append(value if value and REPLACEMENT_CHAR not in value else None)
    return rejects.with_columns(
        record_key=pl.coalesce(pl.col("record_key"), pl.Series(keys, dtype=pl.String))
    )


def _empty_schema(source: SourceConfig) -> dict[str, Any]:
    schema: dict[str, Any] = {"source": pl.String, "record_id": pl.String}
    schema.update({column: pl.String for column in source.column_map().values()})
    schema.update({FILE_COLUMN: pl.String, LINE_COLUMN: pl.Int64})
    return schema


def attribute_column(column: str) -> str:
    """Where an untagged column is kept: ``attr_<snake case name>``."""
    return "attr_" + (re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_") or "column")


def map_columns(
    frame: pl.DataFrame, source: SourceConfig, file: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rename tagged columns to the common vocabulary; keep the rest as ``attr_*`` columns."""
    column_map = source.column_map()
    needed = list(dict.fromkeys([source.primary_key, *column_map]))
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        reason = (
            f"file lacks mapped column(s) {missing}; its {frame.height} rows were not read. "
            f"Fix the file or sources.{source.name}.columns"
        )
        return pl.DataFrame(), _rejects([_reject_row(file, None, missing[0], None, reason, "")])
    selections = [
        pl.lit(source.name).alias("source"),
        # A leading apostrophe is a spreadsheet's "keep this as text" mark (Shopify writes
        # ids as '7001...), not part of the key.
        pl.col(source.primary_key).str.strip_chars().str.strip_prefix("'").alias("record_id"),
    ]
    selections += [pl.col(original).alias(common) for original, common in column_map.items()]
    taken = set(needed) | {LINE_COLUMN}
    selections += [
        pl.col(column).alias(attribute_column(column))
        for column in frame.columns
        if column not in taken
    ]
    selections += [pl.lit(file).alias(FILE_COLUMN), pl.col(LINE_COLUMN)]
    return frame.select(selections), empty_rejects()


def _key_rejects(
    bad: pl.DataFrame, field: str, reason: pl.Expr, value: pl.Expr, key: pl.Expr | None = None
) -> pl.DataFrame:
    return bad.select(
        source=pl.lit(None, pl.String),
        file=pl.col(FILE_COLUMN),
        line=pl.col(LINE_COLUMN),
        field=pl.lit(field),
        value=value.cast(pl.String),
        reason=reason,
        raw=pl.lit(None, pl.String),
        record_key=(value if key is None else key).cast(pl.String),
    )


def validate_customers(
    records: pl.DataFrame, source: SourceConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Quarantine rows without a primary key, and later duplicates of a key."""
    has_key = pl.col("record_id").is_not_null() & (pl.col("record_id") != "")
    keyless = records.filter(~has_key)
    keyed = records.filter(has_key).with_columns(
        _dupe=pl.col("record_id").is_first_distinct().not_()
    )
    duplicates = with_first_seen(keyed, "record_id")
    rejects = pl.concat(
        [
            _key_rejects(
                keyless,
                source.primary_key,
                pl.lit(f"missing primary key {source.primary_key}"),
                pl.col("record_id"),
            ),
            _key_rejects(
                duplicates,
                source.primary_key,
                pl.format(
                    "duplicate primary key (first seen at {}:{})",
                    pl.col("_first_file"),
                    pl.col("_first_line"),
                ),
                pl.col("record_id"),
            ),
        ]
    )
    good = keyed.filter(~pl.col("_dupe")).drop("_dupe")
    return good, rejects


def with_first_seen(marked: pl.DataFrame, key: str) -> pl.DataFrame:
    """The rows marked ``_dupe``, with where their key was first seen (``_first_file``,
    ``_first_line``). Only duplicated keys are looked up: duplicates are rare."""
    duplicates = marked.filter("_dupe")
    if duplicates.height == 0:
        return duplicates.with_columns(
            _first_file=pl.lit(None, pl.String), _first_line=pl.lit(None, pl.Int64)
        )
    first_seen = marked.filter(
        ~pl.col("_dupe") & pl.col(key).is_in(duplicates[key].unique().implode())
    ).select(key, _first_file=pl.col(FILE_COLUMN), _first_line=pl.col(LINE_COLUMN))
    return duplicates.join(first_seen, on=key, how="left")


def parse_timestamp(expr: pl.Expr, formats: tuple[str, ...] = ()) -> pl.Expr:
    """A UTC datetime from the timestamp formats exports use; null when none fits."""
    return expr.map_batches(
        partial(parse_timestamp_series, formats=formats), return_dtype=pl.Datetime("us", "UTC")
    )


# What the built-in formats read, for messages (and the README).
TIMESTAMP_FORMATS_TRIED = (
    "ISO 8601 (2025-12-30T23:31:31, with Z, +hh:mm or +hhmm, fractional seconds), "
    "2025-12-30 23:31:31 -0700, MM/DD/YYYY hh:mm[:ss] [AM/PM], YYYY-MM-DD, MM/DD/YYYY, "
    "epoch seconds or milliseconds"
)
_AMPM_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %I:%M %p")


def parse_timestamp_series(values: pl.Series, formats: tuple[str, ...] = ()) -> pl.Series:
    """Each format is tried only on the values no earlier format could read: an export uses one
    or two formats, so the first pass reads nearly everything and the rest touch a few rows.

    ``formats`` (strftime, from ``formats:`` in sources.yaml) are tried first, on every value;
    a format without a zone reads UTC."""
    text = values.cast(pl.String).str.strip_chars()
    parsed = pl.Series(values.name, [], dtype=pl.Datetime("us", "UTC")).extend_constant(
        None, len(text)
    )
    pending = text.is_not_null() & (text != "")
    for form in formats:
        parsed, pending = _try_format(text, parsed, pending, pending, form)
    # Offsets as exports write them, made one shape: "Z" and " UTC" are UTC (read naive),
    # "+0200", " -0700" (Shopify: a space before it) and "+02" become "+02:00".
    text = (
        text.str.replace(r"(?i)\s*(Z|UTC|GMT)$", "")
        .str.replace(r"\s*([+-])(\d\d):?(\d\d)$", "${1}${2}:${3}")
        .str.replace(r"(\d:\d\d(?:\.\d+)?)([+-]\d\d)$", "${1}${2}:00")
    )
    # A format is only tried on values of its shape (offset or not, 'T' or space, slashes):
    # an export's values then meet one failing pass at most instead of one per format.
    has_offset = text.str.contains(r"[+-]\d\d:\d\d$").fill_null(False)
    has_t = text.str.contains("T", literal=True).fill_null(False)
    has_space = text.str.contains(" ", literal=True).fill_null(False)
    has_slash = text.str.contains("/", literal=True).fill_null(False)
    # Fractional seconds: polars reads a format with %.f several times slower, so only the
    # values that have a fraction meet those formats.
    has_fraction = text.str.contains(".", literal=True).fill_null(False)
    for form, aware in [(f, True) for f in _TZ_FORMATS] + [(f, False) for f in _NAIVE_FORMATS]:
        if not pending.any():
            break
        shape = (
            (has_offset if aware else ~has_offset)
            & (has_t if "T" in form else ~has_t)
            & (has_space if " " in form else ~has_space)
            & (has_slash if "/" in form else ~has_slash)
            & (has_fraction if "%.f" in form else ~has_fraction)
        )
        parsed, pending = _try_format(text, parsed, pending, pending & shape, form)
    if pending.any():
        ampm = pending & text.str.contains(r"(?i)\d\s*[AP]\.?M\.?$").fill_null(False)
        if ampm.any():
            cleaned = text.str.replace(r"(?i)\s*([AP])\.?M\.?$", " ${1}M").str.to_uppercase()
            for form in _AMPM_FORMATS:
                parsed, pending = _try_format(cleaned, parsed, pending, pending & ampm, form)
    if pending.any():
        parsed, pending = _epoch(text, parsed, pending)
    return parsed


def _try_format(
    text: pl.Series, parsed: pl.Series, pending: pl.Series, candidates: pl.Series, form: str
) -> tuple[pl.Series, pl.Series]:
    """``parsed`` with the ``candidates`` that ``form`` reads filled in, and what is still
    pending."""
    index = candidates.arg_true()
    if index.len() == 0:
        return parsed, pending
    values = text if index.len() == len(text) else text.gather(index)
    aware = any(z in form for z in ("%z", "%:z", "%#z"))
    try:
        attempt = values.str.to_datetime(form, strict=False, time_unit="us")
    except pl.exceptions.PolarsError:  # a format polars cannot use reads nothing
        return parsed, pending
    if isinstance(attempt.dtype, pl.Datetime) and attempt.dtype.time_zone is not None:
        attempt = attempt.dt.convert_time_zone("UTC")
    elif aware:
        attempt = attempt.dt.convert_time_zone("UTC")
    else:
        attempt = attempt.dt.replace_time_zone("UTC")
    hit = attempt.is_not_null()
    if hit.any():
        parsed = parsed.scatter(index.filter(hit), attempt.filter(hit))
        pending = pending.scatter(index.filter(hit), False)
    return parsed, pending


def _epoch(text: pl.Series, parsed: pl.Series, pending: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Unix time: 9-10 digits are seconds, 12-13 milliseconds (2001 to 2286 either way); other
    digit runs are not read as times."""
    digits = text.str.replace(r"\.0+$", "")
    is_digits = digits.str.contains(r"^\d{9,10}$|^\d{12,13}$").fill_null(False)
    index = (pending & is_digits).arg_true()
    if index.len() == 0:
        return parsed, pending
    numbers = digits.gather(index).cast(pl.Int64)
    millis = (
        pl.Series(numbers)
        .to_frame("n")
        .select(pl.when(pl.col("n") >= 10**11).then(pl.col("n")).otherwise(pl.col("n") * 1000))
        .to_series()
    )
    times = (millis * 1000).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    parsed = parsed.scatter(index, times)
    pending = pending.scatter(index, False)
    return parsed, pending


def parse_amount(expr: pl.Expr) -> pl.Expr:
    """A number from money text: currency symbols, spaces and thousands separators removed."""
    return expr.str.replace_all(r"[\s$€£,]", "").cast(pl.Float64, strict=False)


def type_transactions(
    records: pl.DataFrame, source: SourceConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type one piece of a transaction source's rows (amount, refund, time, price, quantity),
    keeping the text of a value only where it failed to parse (for the rejects): pieces of a
    file are typed one at a time, and ten million orders as text are several times their typed
    size. Nothing is rejected here but rows without an order id: an export with one row per
    line item holds an order's totals on its first row only, so the order decides."""
    if "order_id" in records.columns:
        records = records.drop("record_id")
    else:
        records = records.rename({"record_id": "order_id"})
    records = records.with_columns(pl.col("order_id").str.strip_chars())
    keyless = records.filter(pl.col("order_id").is_null() | (pl.col("order_id") == ""))
    records = records.filter(pl.col("order_id").is_not_null() & (pl.col("order_id") != ""))
    time_column = next((c for c, t in source.columns.items() if t == "order-time"), None)
    formats = source.formats.get(time_column, ()) if time_column else ()
    typed = []
    for column, parse in (
        ("amount", parse_amount),
        ("refund", parse_amount),
        ("price", parse_amount),
        ("quantity", parse_amount),
        ("order_time", partial(parse_timestamp, formats=formats)),
    ):
        if column not in records.columns:
            continue
        text = pl.col(column).str.strip_chars()
        value = parse(text)
        typed += [
            value.alias(column),
            pl.when(value.is_null() & (text != "")).then(text).alias(f"_{column}_text"),
        ]
    rejects = _key_rejects(keyless, "order_id", pl.lit("missing order id"), pl.col("order_id"))
    return records.with_columns(typed), rejects


# Order-level values are taken from the first row of the order that has them: the columns
# below belong to each line item instead.
_LINE_COLUMNS = tuple(LINE_TAGS.values())
_BUYER_COLUMNS = tuple(BUYER_TAGS.values())
_IDENTIFYING_BUYER_COLUMNS = tuple(BUYER_TAGS[t] for t in IDENTIFYING_BUYER_TAGS)


@dataclass(frozen=True)
class Orders:
    """A transaction source read into orders: one row per order (``orders``), its line items
    (``lines``, when line-item tags are mapped), its buyers as customer records (``buyers``,
    when buyer tags are mapped), the rejected rows, how many orders the ``where`` left out,
    and the reasons the run must stop (currencies that cannot be converted)."""

    orders: pl.DataFrame
    lines: pl.DataFrame | None
    buyers: pl.DataFrame | None
    rejects: pl.DataFrame
    filtered: int
    stops: tuple[str, ...]


def assemble_orders(
    rows: pl.DataFrame,
    source: SourceConfig,
    customer_sources: frozenset[str],
    money: MoneyConfig | None = None,
) -> Orders:
    """Rows (typed by ``type_transactions``) into orders: rows sharing an order id are one
    order whose order-level values come from the first row that has them; the ``where``
    decides per order (on its first row); the order's buyer is its customer key or, failing
    that, its own buyer record; refunds come off the amount; excluded statuses do not count;
    amounts are converted to the reporting currency."""
    money = money or MoneyConfig()
    rows = _latest_export(rows)
    lines = _order_lines(rows, source) if source.has_lines else None
    rows = _one_row_per_order(rows)
    filtered = 0
    if "_where" in rows.columns:
        kept = rows.get_column("_where").fill_null(False)
        filtered = int((~kept).sum())
        rows = rows.filter(kept).drop("_where")
        if lines is not None and filtered:
            lines = lines.join(rows.select("order_id"), on="order_id", how="semi")
    rows = _with_order_buyer(rows, source)
    rows, rejects = _without_bad_orders(rows, _order_checks(rows, source, customer_sources))
    rows = _with_counted_amounts(rows, source)
    rows, currency_rejects, stops = _to_reporting_currency(rows, source, money)
    rejects.append(currency_rejects)
    buyers = _buyer_records(rows, source) if source.has_buyers else None
    orders = rows.drop("_problem", "_buyer", "_amount_text", "_order_time_text", "_refund_text")
    orders = orders.drop([c for c in ("_price_text", "_quantity_text") if c in orders.columns])
    if lines is not None:
        lines = lines.drop([c for c in ("_price_text", "_quantity_text") if c in lines.columns])
    return Orders(
        orders=orders,
        lines=lines,
        buyers=buyers,
        rejects=pl.concat(rejects, how="vertical"),
        filtered=filtered,
        stops=tuple(stops),
    )


# Columns an order's own row fills (its header row in a line-item export); a continuation row
# holds line-item values only.
_ORDER_HEADER_COLUMNS = ("order_time", "amount", "_order_time_text", "_amount_text")


def _latest_export(rows: pl.DataFrame) -> pl.DataFrame:
    """Each order as its latest export wrote it. An order whose own row is in several files
    (overlapping daily exports; an edit such as a refund, exported again) is read from the last
    of those files, in reading order, and the files after it (an export split mid-order): its
    totals are that file's, and its lines are never counted twice, nor an edited line kept
    beside its new version."""
    if FILE_COLUMN not in rows.columns or rows.get_column(FILE_COLUMN).n_unique() < 2:
        return rows
    header = [c for c in _ORDER_HEADER_COLUMNS if c in rows.columns]
    if not header:
        return rows
    is_header = pl.any_horizontal(pl.col(c).is_not_null() for c in header)
    last_header = pl.when(is_header).then(pl.col("_file_rank")).max().over("order_id")
    return (
        rows.with_row_index("_read")
        # the file's place in the read: the position of its first row
        .with_columns(pl.col("_read").min().over(FILE_COLUMN).alias("_file_rank"))
        .filter(last_header.is_null() | (pl.col("_file_rank") >= last_header))
        .drop("_read", "_file_rank")
    )


def _order_lines(rows: pl.DataFrame, source: SourceConfig) -> pl.DataFrame:
    """The line items: the rows holding a line-item value, numbered within their order (an
    order exported in several files is read from its latest export: ``_latest_export``)."""
    present = [c for c in _LINE_COLUMNS if c in rows.columns]
    written = rows.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in present))
    return written.select(
        pl.lit(source.name).alias("source"),
        "order_id",
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("order_id").alias("line_number"),
        *present,
        FILE_COLUMN,
        LINE_COLUMN,
    )


def _one_row_per_order(rows: pl.DataFrame) -> pl.DataFrame:
    """The order-level columns, one row per order id."""
    order_level = [c for c in rows.columns if c not in _LINE_COLUMNS and c != "order_id"]
    if not rows.get_column("order_id").is_duplicated().any():
        return rows.select("order_id", *order_level)
    # Line items: the order is its rows; each value from the first row holding one (the
    # file's position and the where's verdict from the order's first row).
    first_row = {FILE_COLUMN, LINE_COLUMN, "_where"}
    return rows.group_by("order_id", maintain_order=True).agg(
        [
            pl.col(c).first() if c in first_row else pl.col(c).drop_nulls().first()
            for c in order_level
        ]
    )


# The customer key as written: spreadsheets keep a leading ' that makes a number text.
_CUSTOMER_KEY = pl.col("customer_record_id").str.strip_chars().str.strip_prefix("'")


def _with_order_buyer(rows: pl.DataFrame, source: SourceConfig) -> pl.DataFrame:
    """Whose each order is: its customer key (in its customer source) or, when the order names
    a buyer by contact, the order's own buyer record (``_buyer``); codes in one case."""
    for optional in ("currency", "channel", "customer_record_id", "customer_source", "status"):
        if optional not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.String).alias(optional))
    identifying = [c for c in _IDENTIFYING_BUYER_COLUMNS if c in rows.columns]
    has_buyer = (
        pl.any_horizontal(pl.col(c).str.strip_chars().fill_null("") != "" for c in identifying)
        if identifying
        else pl.lit(False)
    )
    has_key = _CUSTOMER_KEY.is_not_null() & (_CUSTOMER_KEY != "")
    return rows.with_columns(
        _buyer=has_buyer,
        customer_record_id=pl.when(has_key)
        .then(_CUSTOMER_KEY)
        .when(has_buyer)
        .then(pl.col("order_id")),
        customer_source=pl.when(has_key)
        .then(
            pl.coalesce(
                pl.col("customer_source").str.strip_chars().str.to_lowercase(),
                pl.lit(source.customer_source),
            )
        )
        .when(has_buyer)
        .then(pl.lit(source.name)),
        currency=pl.col("currency").str.strip_chars().str.to_uppercase(),
        channel=pl.col("channel").str.strip_chars().str.to_lowercase(),
        status=pl.col("status").str.strip_chars().str.to_lowercase(),
    )


# A check on an order: the field it is about, the condition that rejects the order, the
# reason a user reads and the value the reject shows.
_OrderCheck = tuple[str, pl.Expr, str, pl.Expr]


def _order_checks(
    rows: pl.DataFrame, source: SourceConfig, customer_sources: frozenset[str]
) -> list[_OrderCheck]:
    """What makes an order unusable, in the order the reasons are named."""
    tried = TIMESTAMP_FORMATS_TRIED
    time_column = next((c for c, t in source.columns.items() if t == "order-time"), None)
    if time_column and source.formats.get(time_column):
        tried = "the formats " + ", ".join(source.formats[time_column]) + ", then " + tried
    no_buyer = (
        "order names no customer: no customer key and no buyer email, phone or name"
        if source.has_buyers
        else "missing customer key"
    )
    checks: list[_OrderCheck] = [
        ("customer_record_id", pl.col("customer_record_id").is_null(), no_buyer, _CUSTOMER_KEY),
        (
            "amount",
            pl.col("_amount_text").is_not_null(),
            "amount is not a number",
            pl.col("_amount_text"),
        ),
        ("amount", pl.col("amount").is_null(), "order has no amount", pl.col("amount")),
        (
            "order_time",
            pl.col("order_time").is_null(),
            f"order time is not a recognised timestamp (tried {tried}; set "
            f"sources.{source.name}.formats.{time_column or '<column>'} to its strftime format)",
            pl.col("_order_time_text"),
        ),
    ]
    if "refund" in rows.columns:
        checks.append(
            (
                "refund",
                pl.col("_refund_text").is_not_null(),
                "refund is not a number",
                pl.col("_refund_text"),
            )
        )
    valid_sources = sorted(customer_sources | ({source.name} if source.has_buyers else set()))
    if valid_sources:
        checks.append(
            (
                "customer_source",
                ~pl.col("customer_source").is_in(valid_sources),
                f"customer source is not one of the configured customer sources {valid_sources}",
                pl.col("customer_source"),
            )
        )
    return checks


def _without_bad_orders(
    rows: pl.DataFrame, checks: list[_OrderCheck]
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The orders no check rejects, and one reject row per rejected order, named by the first
    check it fails."""
    for column in ("_amount_text", "_order_time_text", "_refund_text"):
        if column not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.String).alias(column))
    reason = pl.when(checks[0][1]).then(pl.lit(0))
    for number, (_, condition, _, _) in enumerate(checks[1:], start=1):
        reason = reason.when(condition).then(pl.lit(number))
    rows = rows.with_columns(_problem=reason.otherwise(None))
    bad = rows.filter(pl.col("_problem").is_not_null())
    rejects = [
        _key_rejects(
            bad.filter(pl.col("_problem") == number),
            field,
            pl.lit(text),
            value.cast(pl.String),
            pl.col("order_id"),
        )
        for number, (field, _, text, value) in enumerate(checks)
    ]
    return rows.filter(pl.col("_problem").is_null()), rejects


def _with_counted_amounts(rows: pl.DataFrame, source: SourceConfig) -> pl.DataFrame:
    """Refunds off the amount; ``counted`` false for the statuses that are not spend."""
    if "refund" in rows.columns:
        rows = rows.with_columns(
            refund=pl.col("refund").fill_null(0.0),
            amount=pl.col("amount") - pl.col("refund").fill_null(0.0),
        )
    excluded = set(source.exclude_statuses)
    return rows.with_columns(
        counted=pl.col("status").is_null() | ~pl.col("status").is_in(sorted(excluded))
        if "status" in source.column_map().values()
        else pl.lit(True)
    )


def _buyer_records(rows: pl.DataFrame, source: SourceConfig) -> pl.DataFrame:
    """Each order naming its buyer by contact, as a customer record keyed by the order id."""
    present = [c for c in _BUYER_COLUMNS if c in rows.columns]
    return rows.filter("_buyer").select(
        pl.lit(source.name).alias("source"),
        pl.col("order_id").alias("record_id"),
        *present,
        # The order's time is when the source last saw these details: the most recent
        # order's contact wins survivorship's most-recent rule.
        pl.col("order_time").dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ").alias("updated_at"),
        FILE_COLUMN,
        LINE_COLUMN,
    )


def currencies_not_added(currencies: list[str]) -> str:
    """Why amounts in these currencies stop the run, and the fix."""
    return (
        f"orders are in {', '.join(currencies)}; amounts in two currencies are never added. Set "
        "money: {reporting_currency: USD, rates_file: currency_rates.csv} in sources.yaml, with "
        "a rate per currency in that file."
    )


def _to_reporting_currency(
    orders: pl.DataFrame, source: SourceConfig, money: MoneyConfig
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Amounts in the reporting currency (the order's own amount and currency kept as
    ``order_amount`` and ``order_currency``). An order in a currency without a rate is
    rejected and the run must stop; without a reporting currency, amounts in two currencies
    stop the run: two currencies are never added."""
    currencies = orders.get_column("currency").drop_nulls().unique().sort().to_list()
    if money.reporting_currency is None:
        stops = []
        if len(currencies) > 1:
            stops.append(f"source '{source.name}': {currencies_not_added(currencies)}")
        return orders, _key_rejects(orders.clear(), "", pl.lit(""), pl.lit("")), stops
    reporting = money.reporting_currency
    currency = pl.col("currency").fill_null(reporting)
    rate = currency.replace_strict(money.rates, default=None, return_dtype=pl.Float64)
    orders = orders.with_columns(_rate=rate)
    unknown = orders.filter(pl.col("_rate").is_null())
    stops = []
    if unknown.height:
        missing = unknown.get_column("currency").fill_null(reporting).unique().sort().to_list()
        where = money.rates_file or f"{DEFAULT_RATES_FILE} (not found)"
        stops.append(
            f"source '{source.name}': {unknown.height} order(s) in {', '.join(missing)} cannot be "
            f"converted to {reporting}: add a line currency,rate for each to {where}."
        )
    rejects = _key_rejects(
        unknown,
        "currency",
        pl.format("no rate from {} to " + reporting, pl.col("currency")),
        pl.col("currency"),
        pl.col("order_id"),
    )
    converted = orders.filter(pl.col("_rate").is_not_null()).with_columns(
        order_amount=pl.col("amount"),
        order_currency=currency,
        amount=pl.col("amount") * pl.col("_rate"),
        currency=pl.lit(reporting),
    )
    if "refund" in converted.columns:
        converted = converted.with_columns(refund=pl.col("refund") * pl.col("_rate"))
    return converted.drop("_rate"), rejects, stops
