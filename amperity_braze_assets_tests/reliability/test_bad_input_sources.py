"""Bad input on purpose: the source reader never crashes on data, loses no line, and keeps
every good row exactly as written."""

import csv
import io
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import example, given
from hypothesis import strategies as st

from amperity_braze_assets.sources.config import CsvOptions, SourceConfig
from amperity_braze_assets.sources.reader import parse_delimited, read_source

HEADER = ["ID", "NAME", "NOTE"]
# Field content that breaks naive readers: separators, quotes, newlines, control characters,
# formulas, non-ASCII, and now and then a huge value.
NASTY = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab ,;\"'\n\r\t\x00\x07=+-@|éü漢🙂")), max_size=12),
    st.sampled_from(["=cmd|' /C calc'!A0", "@SUM(1+1)", "'; DROP TABLE x; --", "<script>", "NaN"]),
    st.just("x" * 5_000),
)


def rows_strategy():
    return st.lists(st.tuples(st.integers(0, 10**6), NASTY, NASTY), min_size=1, max_size=25)


# Rows the hostile files gave, for the closing figures: read on, or quarantined with a reason.
FIGURES = {"rows_read": 0, "rows_quarantined": 0}


def _count(frame: pl.DataFrame, rejects: pl.DataFrame) -> None:
    FIGURES["rows_read"] += frame.height
    FIGURES["rows_quarantined"] += rejects.height


@given(rows_strategy(), st.sampled_from([",", ";", "\t", "|"]))
def test_well_formed_csv_round_trips_exactly(rows, delimiter):
    buffer = io.StringIO(newline="")
    # CRLF line ends, as exporters write them: the writer then quotes any field holding a CR
    # or LF. (A bare CR in an unquoted field is ambiguous; the reader quarantines it.)
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(row)
    data = buffer.getvalue().replace("\x00", "")  # NUL is no text a CSV exporter writes
    expected = list(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter))[1:]
    frame, rejects = parse_delimited(data.encode(), "f.csv", CsvOptions(delimiter=delimiter))
    assert rejects.height == 0, rejects.to_dicts()
    values = [[v if v is not None else "" for v in r] for r in frame.select(HEADER).rows()]
    # Rows whose fields are all empty on a single line are blank lines, which readers skip.
    assert values == expected


def _lines_without_quotes(text: str) -> list[int]:
    return [n for n, line in enumerate(text.split("\n"), start=1) if n > 1 and line.strip("\r")]


@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("ab,;\t\x00é=\r")), max_size=20),
        min_size=1,
        max_size=30,
    ),
    st.binary(max_size=8),
)
def test_every_line_is_either_read_or_quarantined(lines, junk):
    """Without quotes every non-blank line is one record: accepted or rejected, never both,
    never neither, whatever its field count or bytes."""
    text = "ID,NAME,NOTE\n" + "\n".join(lines)
    data = text.encode() + (b"\n" + junk.replace(b'"', b"") if junk.strip(b"\n\r") else b"")
    frame, rejects = parse_delimited(data, "f.csv", CsvOptions())
    _count(frame, rejects)
    accepted = set(frame["source_line"].to_list()) if frame.height else set()
    rejected = set(rejects["line"].to_list())
    assert not accepted & rejected
    decoded = data.decode("utf-8", errors="replace")
    assert accepted | rejected == set(_lines_without_quotes(decoded))
    for reason in rejects["reason"]:
        assert reason and ("fields" in reason or "undecodable" in reason or "line break" in reason)


@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list('ab,"\r\n;é=')), max_size=30),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 60),
    st.sampled_from(["utf-8", "latin-1", "utf-16"]),
)
# Found by the full search: a piece whose only rows are all empty once salvaged.
@example(lines=['"\n,,', '"\n,,'], piece_bytes=1, encoding="utf-8")
def test_reading_in_pieces_equals_reading_whole(lines, piece_bytes, encoding):
    """Large files are read in pieces cut at line ends; a quoted line break, a runaway quote or
    a blank line across a cut must give the same rows and rejects as one read."""
    text = "ID,NAME,NOTE\n" + "\n".join(lines)
    data = text.encode(encoding, errors="replace")
    options = CsvOptions(encoding=encoding)
    whole = parse_delimited(data, "f.csv", options, chunk_bytes=len(data) + 1)
    pieces = parse_delimited(data, "f.csv", options, chunk_bytes=piece_bytes)
    assert pieces[0].equals(whole[0]) and pieces[1].equals(whole[1])


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data):
    frame, rejects = parse_delimited(b"ID,NAME\n" + data, "f.csv", CsvOptions())
    assert isinstance(frame, pl.DataFrame) and isinstance(rejects, pl.DataFrame)
    assert rejects["reason"].null_count() == 0
    _count(frame, rejects)


@given(st.lists(NASTY, min_size=1, max_size=10))
def test_keys_and_values_of_any_shape_reach_the_common_vocabulary(values):
    folder = Path(tempfile.mkdtemp())
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["ID", "MAIL"])
    for n, value in enumerate(values):
        writer.writerow([value if n % 3 == 0 else f"k{n}", value])
    (folder / "a.csv").write_bytes(buffer.getvalue().replace("\x00", "").encode())
    source = SourceConfig(
        name="crm",
        kind="customers",
        files=("a.csv",),
        format="csv",
        primary_key="ID",
        columns={"MAIL": "email"},
    )
    result = read_source(source, folder)
    # Every data row is accounted for: kept, or quarantined with a reason.
    text = (folder / "a.csv").read_bytes().decode()
    data_rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    data_rows = [r for r in data_rows if r != []]
    assert result.records.height + result.rejects.height == len(data_rows)
    assert result.rejects["reason"].null_count() == 0
    _count(result.records, result.rejects)
