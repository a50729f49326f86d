"""Whether a source read well enough to go on to Braze (plain polars, no Dagster).

One bad row is quarantined and the run goes on; a wrong encoding, a changed export format or a
half-copied file quarantines many rows or loses them, and carrying on would turn a partial read
into deletions in Braze. So a source whose reject share passes ``max_reject_share``, whose row
count falls by more than ``max_row_drop`` against its last good run, or whose amounts cannot be
added stops the run, with a message that names the file, the main reason and the fix.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import polars as pl

from amperity_braze_assets.pii import mask_personal_data
from amperity_braze_assets.sources.config import SourceConfig

UNDECODABLE = "undecodable bytes"
# A share over max_reject_share stops the run only from this many rejected rows: in a file of a
# hundred rows one bad row is 1%, and one bad row never fails a run.
MIN_REJECTED_ROWS_TO_STOP = 10
# Encodings exports are written in, most likely first: a file that decodes as one of these and
# not as the configured one is probably in it.
LIKELY_ENCODINGS = ("utf-8", "windows-1252", "utf-16")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class SourceHealth:
    rows_read: int
    rejected_rows: int
    reject_share: float
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def guess_encoding(data: bytes, declared: str = "utf-8") -> str | None:
    """The encoding ``data`` most likely is, when it is not ``declared``: the first of the
    usual export encodings that decodes it, else charset-normalizer's best guess. None when it
    is the declared UTF-8 after all: a UTF-8 file with a few stray bytes (one pasted name)
    stays UTF-8, as switching it would garble every other accented name in it."""
    sample = data[: 4 * 2**20]
    if codecs.lookup(declared).name == "utf-8":
        text = sample.decode("utf-8", errors="replace")
        stray = text.count("\ufffd")
        if stray < len(_NON_ASCII.findall(text)) - stray:
            return None
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for encoding in LIKELY_ENCODINGS:
        if encoding.replace("-", "") == declared.lower().replace("-", "").replace("_", ""):
            continue
        try:
            sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-16" and b"\x00" not in sample:
            continue  # most byte strings of even length "decode" as UTF-16
        return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding.replace("_", "-") if best is not None else None


def source_health(
    source: SourceConfig,
    records: int,
    rejects: pl.DataFrame,
    rows_read: int,
    previous_rows: int | None,
    stops: tuple[str, ...] = (),
    encoding_of=None,
) -> SourceHealth:
    """The verdict on one source's read. ``records``: rows (orders) kept; ``rows_read``: data
    rows in its files; ``previous_rows``: ``records`` at the last good run (None if none);
    ``encoding_of(file)`` guesses a file's encoding for the message (read only on failure)."""
    problems = list(stops)
    row_rejects = rejects.filter(pl.col("line").is_not_null())
    share = row_rejects.height / rows_read if rows_read else 0.0
    where = f"source '{source.name}' ({source.config_file})"
    for row in rejects.filter(pl.col("line").is_null()).iter_rows(named=True):
        problems.append(f"{where}: {row['file']}: {row['reason']}")
    too_many = row_rejects.height >= MIN_REJECTED_ROWS_TO_STOP and share > source.max_reject_share
    if previous_rows and records < previous_rows * (1 - source.max_row_drop):
        drop = 1 - records / previous_rows
        problems.append(
            f"{where}: {records} rows against {previous_rows} at the last good run, a fall of "
            f"{drop:.0%} (max_row_drop is {source.max_row_drop:.0%}). Check that every file "
            f"arrived whole ({', '.join(source.files)}); if the source really shrank, raise "
            f"sources.{source.name}.max_row_drop for one run."
        )
        # Rows that fell into the rejects are the likelier cause: say which and the fix.
        too_many = too_many or bool(row_rejects.height and share > source.max_reject_share)
    if not too_many and encoding_of is not None:
        # A small file in the wrong encoding stops too: two or more undecodable rows in a file
        # whose bytes read as another encoding is the file's encoding, not a stray byte.
        undecodable = row_rejects.filter(pl.col("reason").str.starts_with(UNDECODABLE))
        for file, rows in undecodable.group_by("file").len().iter_rows():
            if rows >= 2 and encoding_of(file):
                too_many = True
                break
    if too_many:
        problems.append(_reject_message(source, row_rejects, rows_read, share, encoding_of))
    return SourceHealth(rows_read, row_rejects.height, share, tuple(problems))


def _reject_message(
    source: SourceConfig, rejects: pl.DataFrame, rows_read: int, share: float, encoding_of
) -> str:
    top = (
        rejects.with_columns(
            # Reasons that name a value ("no rate from CAD") are grouped by their field.
            _reason=pl.col("reason").str.replace(r" \(first seen at .*\)$", "")
        )
        .group_by("_reason")
        .agg(pl.len().alias("n"), pl.col("file").first(), pl.col("field").first())
        .sort("n", descending=True)
        .row(0, named=True)
    )
    reason, file = top["_reason"], top["file"]
    of_reason = rejects.filter(pl.col("reason").str.starts_with(reason[:40]))
    examples = of_reason.get_column("value").drop_nulls().unique(maintain_order=True)
    # The message lands in the run's history: the values are masked as their column's previews.
    column = str(top["field"] or "value")
    examples = mask_personal_data(pl.DataFrame({column: examples.head(3)}))[column].to_list()
    lines = of_reason.get_column("line").head(3).to_list()
    message = (
        f"source '{source.name}': {rejects.height} of {rows_read} rows ({share:.1%}) were "
        f"quarantined, more than max_reject_share {source.max_reject_share:.1%}; the run stops "
        f"before anything reaches Braze. Main reason ({top['n']} rows): {reason}"
        + (f" in column {top['field']!r}" if top["field"] else "")
        + f", in {file} (lines {', '.join(str(n) for n in lines)})"
        + (f"; values such as {examples}" if examples else "")
        + f". The rows are in raw_{source.name}_rejects."
    )
    if reason.startswith(UNDECODABLE):
        guess = encoding_of(file) if encoding_of else None
        message += (
            f" Fix: the file is not {source.csv.encoding}"
            + (
                f"; its bytes look like {guess}: set sources.{source.name}.csv.encoding: {guess}"
                if guess
                else f"; set sources.{source.name}.csv.encoding to the encoding it was saved in"
            )
            + "."
        )
    elif top["field"] == "order_time" or "timestamp" in reason:
        message += f" Fix: set sources.{source.name}.formats for that column."
    else:
        message += (
            f" Fix the file or the mapping in sources.{source.name}; if this share is expected, "
            f"raise sources.{source.name}.max_reject_share."
        )
    return message
