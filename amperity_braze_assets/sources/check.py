"""``amperity-braze check-sources``: read each source as a run would and say how it went.

Before a brand's exports feed a run, a person wants to see, per source, the files matched, the
rows read and quarantined and why, and per tagged column how many values parse as their tag,
with a few that do not. Everything here is plain polars over what ``read_source`` returns: the
same reader, the same rejects, so what this says is what a run will do.
"""

from __future__ import annotations

import inspect
import io
import math
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from amperity_braze_assets.config import SourceConfig
from amperity_braze_assets.identity.normalize import (
    JUNK_TEXT,
    fold_text,
    normalize_address,
    normalize_city,
    normalize_country,
    normalize_email_values,
    normalize_gender,
    normalize_name,
    normalize_phone_column,
    normalize_state,
    parse_birthdate_values,
)
from amperity_braze_assets.sources.files import expand_patterns, read_bytes
from amperity_braze_assets.sources.reader import (
    FILE_COLUMN,
    parse_amount,
    parse_timestamp_series,
    read_source,
)
from amperity_braze_assets.sources.tags import column_for_tag

DEFAULT_MAX_REJECT_SHARE = 0.01
# Lines of the report: reasons and files shown per source, failing values shown per column.
TOP_REASONS = 5
FILES_SHOWN = 3
FAILING_SHOWN = 3
UNDECODABLE = "undecodable bytes"
# Bytes looked at to guess a file's encoding: enough for any export's accented names.
ENCODING_SAMPLE_BYTES = 4 * 2**20


@dataclass(frozen=True)
class RejectReason:
    reason: str
    rows: int
    # where the first row with this reason is: file:line, and its field and value if known
    first_at: str
    field: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class ColumnHealth:
    """How the non-empty values of one tagged column parse as their tag."""

    column: str
    tag: str
    values: int
    parsed: int
    failing: tuple[str, ...] = ()

    @property
    def parse_rate(self) -> float:
        return self.parsed / self.values if self.values else 1.0


@dataclass(frozen=True)
class EncodingHint:
    file: str
    declared: str
    likely: str


@dataclass(frozen=True)
class SourceHealth:
    name: str
    kind: str
    files: tuple[str, ...] = ()
    rows_kept: int = 0
    rows_quarantined: int = 0
    # files quarantined whole (a missing column, an unreadable file): their rows are not counted
    files_quarantined: int = 0
    reasons: tuple[RejectReason, ...] = ()
    columns: tuple[ColumnHealth, ...] = ()
    encoding_hints: tuple[EncodingHint, ...] = ()
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE
    rows_limit: int | None = None
    # why the source could not be read at all (no file matches, no S3 access)
    error: str | None = None

    @property
    def rows_read(self) -> int:
        return self.rows_kept + self.rows_quarantined

    @property
    def reject_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.files_quarantined == 0
            and self.reject_share <= self.max_reject_share
        )


def check_source(
    source: SourceConfig,
    base_dir: Path,
    s3_client: Any = None,
    customer_sources: frozenset[str] = frozenset(),
    rows: int | None = None,
    default_phone_region: str = "US",
) -> SourceHealth:
    """Read ``source`` (its first ``rows`` data rows per file when given) and measure it."""
    limit = getattr(source, "max_reject_share", DEFAULT_MAX_REJECT_SHARE)
    try:
        result, file_bytes = _read(source, base_dir, s3_client, customer_sources, rows)
    except (FileNotFoundError, ValueError, OSError) as exc:
        return SourceHealth(
            source.name, source.kind, max_reject_share=limit, rows_limit=rows, error=str(exc)
        )
    rejects = result.rejects
    undecodable = (
        rejects.filter(pl.col("reason").str.starts_with(UNDECODABLE))
        .get_column("file")
        .unique(maintain_order=True)
        .to_list()
    )
    hints = []
    for file in undecodable:
        data = file_bytes.get(file)
        if data is None:
            data = read_bytes(file, s3_client)[:ENCODING_SAMPLE_BYTES]
        likely = guess_encoding(data)
        if likely and likely != _codec_name(source.csv.encoding):
            hints.append(EncodingHint(file, source.csv.encoding, likely))
    region = getattr(source, "phone_region", None) or default_phone_region
    return SourceHealth(
        name=source.name,
        kind=source.kind,
        files=result.files,
        rows_kept=result.records.height,
        rows_quarantined=rejects.filter(pl.col("line").is_not_null())
        .select("file", "line")
        .n_unique(),
        files_quarantined=rejects.filter(pl.col("line").is_null()).height,
        reasons=reject_reasons(rejects),
        columns=column_health(result.records, rejects, source, region, customer_sources),
        encoding_hints=tuple(hints),
        max_reject_share=limit,
        rows_limit=rows,
    )


def _read(
    source: SourceConfig,
    base_dir: Path,
    s3_client: Any,
    customer_sources: frozenset[str],
    rows: int | None,
):
    """``read_source``'s result, and the bytes read here (only when ``rows`` cuts the files)."""
    if rows is None:
        return read_source(source, base_dir, s3_client, customer_sources), {}
    if "max_rows" in inspect.signature(read_source).parameters:
        result = read_source(source, base_dir, s3_client, customer_sources, max_rows=rows)
        return result, {}
    # The reader reads whole files: hand it the head of each file instead, then put the
    # original names back in what it reports.
    files = expand_patterns(source.files, base_dir, s3_client)
    if not files:  # let the reader say it, as a run would
        return read_source(source, base_dir, s3_client, customer_sources), {}
    heads: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="check-sources-") as folder:
        names: dict[str, str] = {}
        for index, file in enumerate(files):
            data = read_bytes(file, s3_client)
            head = (
                parquet_head(data, rows)
                if source.format == "parquet"
                else delimited_head(data, rows, source.csv.quote, source.csv.encoding)
            )
            heads[file] = head
            copy = Path(folder) / f"{index:05d}_{Path(file).name}"
            copy.write_bytes(head)
            names[str(copy)] = file
        result = read_source(
            replace(source, files=tuple(names)), Path(folder), None, customer_sources
        )
    renamed = {
        "records": _rename_files(result.records, FILE_COLUMN, names),
        "rejects": _rename_files(result.rejects, "file", names),
        "files": tuple(names.get(f, f) for f in result.files),
    }
    return replace(result, **renamed), heads


def _rename_files(frame: pl.DataFrame, column: str, names: dict[str, str]) -> pl.DataFrame:
    if column not in frame.columns:
        return frame
    return frame.with_columns(pl.col(column).replace(names))


def delimited_head(data: bytes, rows: int, quote: str = '"', encoding: str = "utf-8") -> bytes:
    """The header and the first ``rows`` records of delimited text. A record ends at a line
    end outside quotes, so a quoted line break does not cut a record in two."""
    if "\n".encode(encoding, errors="ignore") != b"\n":
        return data  # a wide encoding (UTF-16): lines are not cut at one byte
    quote_byte = quote.encode(encoding)
    position, records, open_quote = 0, 0, False
    # A loop over the first rows only: the rest of the file is never looked at.
    while records <= rows:
        end = data.find(b"\n", position)
        if end < 0:
            return data
        open_quote ^= data.count(quote_byte, position, end) % 2 == 1
        position = end + 1
        if not open_quote:
            records += 1
    return data[:position]


def parquet_head(data: bytes, rows: int) -> bytes:
    buffer = io.BytesIO()
    pl.read_parquet(io.BytesIO(data), n_rows=rows).write_parquet(buffer)
    return buffer.getvalue()


def reject_reasons(rejects: pl.DataFrame, top: int = TOP_REASONS) -> tuple[RejectReason, ...]:
    """The commonest reasons, most rows first. Details that differ row by row (where a
    duplicate was first seen, a parser's message) are left out of the grouping."""
    if rejects.height == 0:
        return ()
    grouped = (
        rejects.with_columns(
            reason=pl.col("reason").str.replace_all(r"\s*\([^)]*\)", "").str.strip_chars()
        )
        .group_by("reason", maintain_order=True)
        .agg(
            rows=pl.len(),
            file=pl.col("file").first(),
            line=pl.col("line").first(),
            field=pl.col("field").first(),
            value=pl.col("value").first(),
        )
        .sort("rows", descending=True, maintain_order=True)
        .head(top)
    )
    return tuple(
        RejectReason(
            reason=row["reason"],
            rows=row["rows"],
            first_at=f"{_short(row['file'])}:{row['line'] if row['line'] is not None else '-'}",
            field=row["field"],
            value=row["value"],
        )
        for row in grouped.iter_rows(named=True)
    )


def _short(file: str | None) -> str:
    return Path(file).name if file and not file.startswith("s3://") else str(file)


def guess_encoding(data: bytes) -> str | None:
    """The encoding these bytes look like: the sources' ``health.guess_encoding`` when it
    exists; else utf-8 if they decode as UTF-8, windows-1252 if they decode as that (the usual
    export of a Windows spreadsheet or CRM), else charset-normalizer's best guess."""
    try:
        from amperity_braze_assets.sources.health import guess_encoding as shared_guess
    except ImportError:
        shared_guess = None
    if shared_guess is not None:
        return shared_guess(data)
    text = data.decode("utf-8", errors="replace")
    stray = text.count(REPLACEMENT)
    # A UTF-8 file with a few stray bytes (one pasted name) is still UTF-8: switching its
    # encoding would garble every other accented name in it.
    if stray < len(NON_ASCII.findall(text)) - stray:
        return "utf-8"
    try:
        data.decode("cp1252")
        return "windows-1252"
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    return best.encoding.replace("_", "-") if best is not None else None


REPLACEMENT = "\ufffd"
NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _codec_name(encoding: str) -> str:
    """A codec's usual name, so that cp1252 and windows-1252 compare equal."""
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return {"cp1252": "windows-1252", "utf-8": "utf-8"}.get(name, name)


# What "parses" means per tag: the value the pipeline would use is not null. Tags whose values
# are kept as written (keys, product names, statuses) always parse when present.
def _by_expression(function: Callable[[pl.Expr], pl.Expr]) -> Callable[[pl.Series], pl.Series]:
    def parse(values: pl.Series) -> pl.Series:
        return pl.DataFrame({"value": values}).select(function(pl.col("value"))).to_series()

    return parse


def _state(expr: pl.Expr) -> pl.Expr:
    # A region code (CA, NSW, or ISO 3166-2's CA-BC); a province written out is not one yet.
    state = normalize_state(expr)
    return pl.when(state.str.contains(r"^(?:[A-Z]{2}-)?[A-Z0-9]{1,3}$")).then(state)


def _country(expr: pl.Expr) -> pl.Expr:
    country = normalize_country(expr)  # Braze takes alpha-2 codes
    return pl.when(country.str.contains(r"^[A-Z]{2}$")).then(country)


def _text(expr: pl.Expr) -> pl.Expr:
    folded = fold_text(expr)
    return pl.when((folded != "") & ~folded.is_in(JUNK_TEXT)).then(folded)


def _currency(expr: pl.Expr) -> pl.Expr:
    code = expr.str.strip_chars().str.to_uppercase()
    return pl.when(code.str.contains(r"^[A-Z]{3}$")).then(code)


TAG_PARSERS: dict[str, Callable[[pl.Series], pl.Series]] = {
    "email": normalize_email_values,
    "birthdate": parse_birthdate_values,
    "given-name": _by_expression(normalize_name),
    "surname": _by_expression(normalize_name),
    "full-name": _by_expression(normalize_name),
    "address": _by_expression(normalize_address),
    "address2": _by_expression(normalize_address),
    "city": _by_expression(normalize_city),
    "state": _by_expression(_state),
    "country": _by_expression(_country),
    "gender": _by_expression(normalize_gender),
    "company": _by_expression(_text),
    "currency": _by_expression(_currency),
    **{tag: _by_expression(parse_amount) for tag in ("amount", "price", "refund", "quantity")},
}
TIME_TAGS = ("order-time", "updated-at")


def column_health(
    records: pl.DataFrame,
    rejects: pl.DataFrame,
    source: SourceConfig,
    phone_region: str = "US",
    customer_sources: frozenset[str] = frozenset(),
) -> tuple[ColumnHealth, ...]:
    """Per tagged column, the share of its non-empty values that parse as the tag.

    Text columns are parsed here with the pipeline's own normalizers. Columns the reader has
    already typed (a transaction's amount and time) count their kept values as parsed, and
    the values it quarantined for that field as failing."""
    out = []
    for original, tag in source.columns.items():
        common = column_for_tag(tag)
        if common not in records.columns:
            continue
        values = records.get_column(common)
        if values.dtype == pl.String:
            out.append(
                _text_column_health(records, original, tag, source, phone_region, customer_sources)
            )
            continue
        failed = rejects.filter(
            pl.col("field").is_in([common, original])
            & pl.col("value").is_not_null()
            & (pl.col("value").str.strip_chars() != "")
        ).get_column("value")
        parsed = values.is_not_null().sum()
        out.append(
            ColumnHealth(
                original,
                tag,
                values=parsed + failed.len(),
                parsed=parsed,
                failing=tuple(failed.unique(maintain_order=True).head(FAILING_SHOWN).to_list()),
            )
        )
    return tuple(out)


def _text_column_health(
    records: pl.DataFrame,
    original: str,
    tag: str,
    source: SourceConfig,
    phone_region: str,
    customer_sources: frozenset[str],
) -> ColumnHealth:
    common = column_for_tag(tag)
    text = records.get_column(common).str.strip_chars()
    present = text.is_not_null() & (text != "")
    if tag == "phone":
        parsed = _phones(records.filter(present), common, phone_region)
    elif tag in TIME_TAGS:
        parsed = _timestamps(text.filter(present), getattr(source, "formats", {}).get(original))
    elif tag == "customer-source" and customer_sources:
        kept = text.filter(present).str.to_lowercase()
        parsed = kept.set(~kept.is_in(sorted(customer_sources)), None)
    elif tag in TAG_PARSERS:
        parsed = TAG_PARSERS[tag](text.filter(present))
    else:
        parsed = text.filter(present)  # kept as written: present is parsed
    raw = records.get_column(common).filter(present)
    failing = raw.filter(parsed.is_null()).unique(maintain_order=True).head(FAILING_SHOWN)
    return ColumnHealth(
        original,
        tag,
        values=raw.len(),
        parsed=parsed.is_not_null().sum(),
        failing=tuple(failing.to_list()),
    )


def _phones(records: pl.DataFrame, column: str, default_region: str) -> pl.Series:
    """E.164 phones, each read in its record's country when the record has one (a UK number
    on a GB record), else in the source's region: one normalizer call per country."""
    if "country" in records.columns:
        country = _by_expression(_country)(records.get_column("country").cast(pl.String))
        region = country.fill_null(default_region.upper())
    else:
        region = pl.Series([default_region.upper()] * records.height, dtype=pl.String)
    frame = records.select(pl.col(column).cast(pl.String).alias("raw")).with_columns(
        region=region, row=pl.int_range(pl.len())
    )
    parts = [
        part.select(
            "row", normalize_phone_column(part.get_column("raw"), part["region"][0]).alias("e164")
        )
        for part in frame.partition_by("region")
    ]
    if not parts:
        return pl.Series("e164", [], dtype=pl.String)
    return pl.concat(parts).sort("row").get_column("e164")


def _timestamps(values: pl.Series, formats: tuple[str, ...] | None) -> pl.Series:
    """The pipeline's timestamp parser, with the column's own ``formats:`` when it takes them."""
    if formats and "formats" in inspect.signature(parse_timestamp_series).parameters:
        return parse_timestamp_series(values, formats=formats)
    return parse_timestamp_series(values)


def _percent(share: float) -> str:
    # Rounded down: 5,097 of 5,098 is 99.9%, not a 100.0% beside a failing value.
    return f"{math.floor(share * 1000) / 10:.1f}%"


def _quoted(value: str | None, width: int = 40) -> str:
    text = "" if value is None else re.sub(r"\s+", " ", value)
    return '"' + (text if len(text) <= width else text[: width - 1] + "…") + '"'


def format_report(results: list[SourceHealth]) -> str:
    """The report a person reads in a terminal: per source its files, rows and quarantine,
    the fix for a wrong encoding, and how each tagged column parses; a verdict at the end."""
    lines: list[str] = []
    for health in results:
        verdict = "ok" if health.ok else "FAILS"
        lines.append(f"source {health.name} ({health.kind}): {verdict}")
        if health.error:
            lines.append(f"  cannot read: {health.error}")
            lines.append("")
            continue
        shown = ", ".join(health.files[:FILES_SHOWN])
        more = f" and {len(health.files) - FILES_SHOWN} more" if len(health.files) > 3 else ""
        lines.append(f"  files: {len(health.files)} matched: {shown}{more}")
        limit = f" (first {health.rows_limit:,} per file)" if health.rows_limit else ""
        lines.append(
            f"  rows{limit}: {health.rows_read:,} read, {health.rows_kept:,} kept, "
            f"{health.rows_quarantined:,} quarantined ({_percent(health.reject_share)}; "
            f"limit max_reject_share {_percent(health.max_reject_share)})"
        )
        if health.files_quarantined:
            lines.append(f"  files quarantined whole: {health.files_quarantined}")
        if health.reasons:
            lines.append("  quarantined by reason:")
            for reason in health.reasons:
                example = f"first at {reason.first_at}"
                if reason.field:
                    example += f", {reason.field} = {_quoted(reason.value)}"
                lines.append(f"    {reason.rows:>8,}  {reason.reason} ({example})")
        for hint in health.encoding_hints:
            lines.append(
                f"  {_short(hint.file)} is not {hint.declared}: its bytes look like {hint.likely}."
                f" Fix: under sources.{health.name} set  csv.encoding: {hint.likely}"
            )
        if health.columns:
            lines.append("  tagged columns (share of non-empty values that parse as the tag):")
            width = max(len(c.column) for c in health.columns)
            tag_width = max(len(c.tag) for c in health.columns)
            for column in health.columns:
                failing = (
                    "  failing: " + ", ".join(_quoted(v, 30) for v in column.failing)
                    if column.failing
                    else ""
                )
                lines.append(
                    f"    {column.column.ljust(width)}  {column.tag.ljust(tag_width)}  "
                    f"{_percent(column.parse_rate):>6} of {column.values:,}{failing}"
                )
        lines.append("")
    failing = [h.name for h in results if not h.ok]
    if failing:
        lines.append(
            f"{len(failing)} of {len(results)} source(s) would stop a run: {', '.join(failing)}"
        )
    else:
        lines.append(f"All {len(results)} source(s) read within their limits.")
    return "\n".join(lines)
