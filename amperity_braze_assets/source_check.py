"""``amperity-braze check-sources``: read each source as a run would and say how it went.

Before a brand's exports feed a run, a person wants to see, per source, the files matched, the
rows read and quarantined and why, and per tagged column how many values parse as their tag,
with a few that do not. Everything here is plain polars over what ``read_source`` returns: the
same reader, the same rejects, so what this says is what a run will do.
"""

from __future__ import annotations

import codecs
import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

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
from amperity_braze_assets.sources.config import DEFAULT_MAX_REJECT_SHARE, MoneyConfig, SourceConfig
from amperity_braze_assets.sources.files import read_bytes
from amperity_braze_assets.sources.health import UNDECODABLE, guess_encoding, source_health
from amperity_braze_assets.sources.reader import (
    parse_amount,
    parse_timestamp_series,
    read_source,
)
from amperity_braze_assets.sources.tags import LINE_TAGS, TIME_TAGS, column_for_tag

# Lines of the report: reasons and files shown per source, failing values shown per column.
TOP_REASONS = 5
FILES_SHOWN = 3
FAILING_SHOWN = 3
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
class SourceCheck:
    name: str
    kind: str
    files: tuple[str, ...] = ()
    # data rows in the files, read or quarantined
    rows_read: int = 0
    rows_quarantined: int = 0
    # rows (orders) the source's where: left out
    rows_filtered: int = 0
    # what the rows became: customer records, or orders and their line items
    records: int = 0
    line_items: int | None = None
    reasons: tuple[RejectReason, ...] = ()
    columns: tuple[ColumnHealth, ...] = ()
    encoding_hints: tuple[EncodingHint, ...] = ()
    # why a run would stop here (health.source_health's words); none: the source is fine
    problems: tuple[str, ...] = ()
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE
    rows_limit: int | None = None
    # why the source could not be read at all (no file matches, no S3 access)
    error: str | None = None

    @property
    def reject_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.problems


def check_source(
    source: SourceConfig,
    base_dir: Path,
    s3_client: Any = None,
    customer_sources: frozenset[str] = frozenset(),
    rows: int | None = None,
    default_phone_region: str = "US",
    money: MoneyConfig | None = None,
) -> SourceCheck:
    """Read ``source`` as a run would (its first ``rows`` data rows per file when given) and
    measure what came of it."""
    try:
        result = read_source(
            source, base_dir, s3_client, customer_sources, money=money, max_rows=rows
        )
    except (FileNotFoundError, ValueError, OSError) as exc:
        return SourceCheck(
            source.name,
            source.kind,
            max_reject_share=source.max_reject_share,
            rows_limit=rows,
            error=str(exc),
        )
    rejects = result.rejects
    guesses: dict[str, str | None] = {}

    def encoding_of(file: str) -> str | None:
        if file not in guesses:
            data = read_bytes(file, s3_client)[:ENCODING_SAMPLE_BYTES]
            guesses[file] = likely_encoding(data, source.csv.encoding)
        return guesses[file]

    undecodable = (
        rejects.filter(pl.col("reason").str.starts_with(UNDECODABLE))
        .get_column("file")
        .unique(maintain_order=True)
        .to_list()
    )
    hints = tuple(
        EncodingHint(file, source.csv.encoding, encoding_of(file))
        for file in undecodable
        if encoding_of(file)
    )
    # The verdict a run would reach, in its words (the fall against the last good run aside:
    # that needs the run's state).
    verdict = source_health(
        source,
        result.records.height,
        rejects,
        result.rows_read,
        None,
        tuple(result.stops),
        encoding_of,
    )
    return SourceCheck(
        name=source.name,
        kind=source.kind,
        files=result.files,
        rows_read=result.rows_read,
        rows_quarantined=verdict.rejected_rows,
        rows_filtered=result.filtered,
        records=result.records.height,
        line_items=result.lines.height if result.lines is not None else None,
        reasons=reject_reasons(rejects),
        columns=column_health(
            result.records,
            rejects,
            source,
            source.phone_region or default_phone_region,
            customer_sources,
            lines=result.lines,
        ),
        encoding_hints=hints,
        problems=verdict.problems,
        max_reject_share=source.max_reject_share,
        rows_limit=rows,
    )


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


def likely_encoding(data: bytes, declared: str = "utf-8") -> str | None:
    """The encoding a file with undecodable bytes was likely saved in (``health``'s guess,
    the one a stopped run names), or None when it is the declared encoding after all."""
    likely = guess_encoding(data, declared)
    return likely if likely and _codec_name(likely) != _codec_name(declared) else None


REPLACEMENT = "\ufffd"
NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _codec_name(encoding: str) -> str:
    """A codec's usual name, so that cp1252 and windows-1252 compare equal."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


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


def _name(expr: pl.Expr) -> pl.Expr:
    """A name the pipeline uses: folded for matching, or (in a non-Latin script, which does
    not fold) kept as written for Braze."""
    non_latin = expr.str.contains(r"[\p{L}&&[^\p{Latin}]]")
    return pl.when(normalize_name(expr).is_not_null() | non_latin).then(expr)


TAG_PARSERS: dict[str, Callable[[pl.Series], pl.Series]] = {
    "email": normalize_email_values,
    "birthdate": parse_birthdate_values,
    "given-name": _by_expression(_name),
    "surname": _by_expression(_name),
    "full-name": _by_expression(_name),
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


def column_health(
    records: pl.DataFrame,
    rejects: pl.DataFrame,
    source: SourceConfig,
    phone_region: str = "US",
    customer_sources: frozenset[str] = frozenset(),
    lines: pl.DataFrame | None = None,
) -> tuple[ColumnHealth, ...]:
    """Per tagged column, the share of its non-empty values that parse as the tag (line-item
    columns are read from ``lines``).

    Text columns are parsed here with the pipeline's own normalizers. Columns the reader has
    already typed (a transaction's amount and time) count their kept values as parsed, and
    the values it quarantined for that field as failing."""
    out = []
    for original, tag in source.columns.items():
        common = column_for_tag(tag)
        if tag in LINE_TAGS and lines is not None and common in lines.columns:
            frame = lines
        elif common in records.columns:
            frame = records
        else:
            continue
        values = frame.get_column(common)
        if values.dtype == pl.String:
            out.append(
                _text_column_health(frame, original, tag, source, phone_region, customer_sources)
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
        parsed = parse_timestamp_series(text.filter(present), source.formats.get(original, ()))
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


def _percent(share: float) -> str:
    # Rounded down: 5,097 of 5,098 is 99.9%, not a 100.0% beside a failing value.
    return f"{math.floor(share * 1000) / 10:.1f}%"


def _quoted(value: str | None, width: int = 40) -> str:
    text = "" if value is None else re.sub(r"\s+", " ", value)
    return '"' + (text if len(text) <= width else text[: width - 1] + "…") + '"'


def _read_lines(health: SourceCheck) -> list[str]:
    """Files matched, rows read, quarantined and left out, and what was kept."""
    shown = ", ".join(health.files[:FILES_SHOWN])
    more = f" and {len(health.files) - FILES_SHOWN} more" if len(health.files) > 3 else ""
    limit = f" (first {health.rows_limit:,} per file)" if health.rows_limit else ""
    lines = [
        f"  files: {len(health.files)} matched: {shown}{more}",
        f"  rows{limit}: {health.rows_read:,} read, {health.rows_quarantined:,} quarantined "
        # The stop message's rounding, so both lines give one figure.
        f"({health.reject_share:.1%}; limit max_reject_share "
        f"{health.max_reject_share:.1%})"
        + (f", {health.rows_filtered:,} left out by where" if health.rows_filtered else ""),
    ]
    if health.kind == "transactions":
        items = f", {health.line_items:,} line items" if health.line_items is not None else ""
        lines.append(f"  kept: {health.records:,} orders{items}")
    else:
        lines.append(f"  kept: {health.records:,} customer records")
    return lines


def _quarantine_lines(health: SourceCheck) -> list[str]:
    """The reasons rows were quarantined, what stops the run, and the encoding fixes."""
    lines: list[str] = []
    if health.reasons:
        lines.append("  quarantined by reason:")
        for reason in health.reasons:
            example = f"first at {reason.first_at}"
            if reason.field:
                example += f", {reason.field} = {_quoted(reason.value)}"
            lines.append(f"    {reason.rows:>8,}  {reason.reason} ({example})")
    for problem in health.problems:
        # The message wrapped for a terminal; its fix on a line of its own, whole.
        message, _, fix = problem.partition(" Fix: ")
        lines.append(
            textwrap.fill(
                f"stops the run: {message}",
                100,
                initial_indent="  ",
                subsequent_indent="    ",
                break_on_hyphens=False,
                break_long_words=False,
            )
        )
        if fix:
            lines.append(f"    Fix: {fix}")
    for hint in health.encoding_hints:
        if any(f"csv.encoding: {hint.likely}" in problem for problem in health.problems):
            continue  # the stop message gives the fix already
        lines.append(
            f"  {_short(hint.file)} is not {hint.declared}: its bytes look like {hint.likely}."
            f" Fix: under sources.{health.name} set  csv.encoding: {hint.likely}"
        )
    return lines


def _column_lines(health: SourceCheck) -> list[str]:
    """Per tagged column, the share of its values that parse as its tag, and failing ones."""
    if not health.columns:
        return []
    lines = ["  tagged columns (share of non-empty values that parse as the tag):"]
    width = max(len(c.column) for c in health.columns)
    tag_width = max(len(c.tag) for c in health.columns)
    for column in health.columns:
        failing = (
            "  failing: " + ", ".join(_quoted(v, 30) for v in column.failing)
            if column.failing
            else ""
        )
        rate = (
            f"{_percent(column.parse_rate):>6} of {column.values:,}"
            if column.values
            else "    no values"
        )
        lines.append(
            f"    {column.column.ljust(width)}  {column.tag.ljust(tag_width)}  {rate}{failing}"
        )
    return lines


def format_report(results: list[SourceCheck]) -> str:
    """The report a person reads in a terminal: per source its files, rows and quarantine,
    the fix for a wrong encoding, and how each tagged column parses; a verdict at the end."""
    lines: list[str] = []
    for health in results:
        verdict = "ok" if health.ok else "FAILS"
        lines.append(f"source {health.name} ({health.kind}): {verdict}")
        if health.error:
            lines.append(f"  cannot read: {health.error}")
        else:
            lines += _read_lines(health)
            lines += _quarantine_lines(health)
            lines += _column_lines(health)
        lines.append("")
    failing = [h.name for h in results if not h.ok]
    if failing:
        lines.append(
            f"{len(failing)} of {len(results)} source(s) would stop a run: {', '.join(failing)}"
        )
    else:
        lines.append(f"All {len(results)} source(s) read within their limits.")
    return "\n".join(lines)
