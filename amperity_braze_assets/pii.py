"""Personal data masked before a frame leaves the data files for run metadata.

Dagster keeps run metadata (previews included) in its event log for as long as the instance
lives, readable by anyone with the UI and kept after the data files are gone. So a preview shows
the shape of the data, not the people: an email keeps its first character and its domain
(``j•••@gmail.com``), a phone its last two digits (``•••42``), names their initial (``J•••``),
and birth dates and street lines nothing but ``•••``. Columns are recognised by name, as the
sources, the customer 360 and the Braze attributes spell them; wherever an email address or a
long run of digits stands inside other text (a quarantined row's raw line, a rejected value) it
is masked too.
"""

from __future__ import annotations

import re

import polars as pl

MASK = "•••"

# Column names, lowercased with runs of other characters folded to "_", that hold each kind.
_EMAIL_WORDS = ("email", "e_mail")
_PHONE_WORDS = ("phone", "mobile", "telephone", "cell", "sms", "fax")
# first_name, FirstName, FIRST_NM, fname, surname, given, middle/full/nick/maiden name...
_NAME_PATTERN = re.compile(
    r"(first|last|given|middle|full|nick|maiden|family|sur)_?(name|nm)|^[fl]_?name$|surname|given"
)
_GONE_WORDS = ("birth", "dob", "address", "street", "addr", "line1", "line_1", "line2", "line_2")
# Free text that may hold any of it: quarantined rows and the values refused.
_FREE_TEXT = ("value", "original", "reason", "message")
# A quarantined row as read: every field of it.
_RAW_LINE = ("raw",)

# An address's local part and its "@": the first character stays, the rest goes.
_EMAIL_LOCAL = r"([\p{L}\p{N}])[\p{L}\p{N}._%+'\-!#$&*/=?^`{|}~]*@"
# Seven or more digits, with the separators phones are written with, ending in two digits kept.
_DIGIT_RUN = r"\+?\d(?:[\d\s().\-]{4,})(\d\d)\b"


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _kind(name: str) -> str | None:
    column = _normalized(name)
    if any(word in column for word in _GONE_WORDS):
        return "gone"
    if any(word in column for word in _EMAIL_WORDS):
        return "email"
    if any(word in column for word in _PHONE_WORDS):
        return "phone"
    if _NAME_PATTERN.search(column):
        return "name"
    if column in _RAW_LINE:
        return "raw"
    if column in _FREE_TEXT:
        return "text"
    return None


def _masked_text(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all(_EMAIL_LOCAL, f"${{1}}{MASK}@").str.replace_all(
        _DIGIT_RUN, f"{MASK}${{1}}"
    )


def _masked_as(kind: str | None, column: pl.Expr, is_text: bool) -> pl.Expr | None:
    """``column`` masked as a column of ``kind`` (None: nothing to mask in it)."""
    if kind == "gone":
        return pl.when(column.is_not_null()).then(pl.lit(MASK))
    if not is_text:
        return None
    if kind == "email":
        return column.str.replace(_EMAIL_LOCAL, f"${{1}}{MASK}@")
    if kind == "phone":
        digits = column.str.replace_all(r"\D", "")
        return (
            pl.when(digits.str.len_chars() > 2)
            .then(pl.lit(MASK) + digits.str.slice(-2))
            .otherwise(column)
        )
    if kind == "name":
        return (
            pl.when(column.str.len_chars() > 0)
            .then(column.str.slice(0, 1) + pl.lit(MASK))
            .otherwise(column)
        )
    if kind == "raw":  # the layout shows (separators, quotes, empty fields), each field's start
        return column.str.replace_all(r"([^,;\t|\"'\s])[^,;\t|\"]+", f"${{1}}{MASK}")
    if kind == "text":  # a raw line or a rejected value may hold an address or a phone
        return _masked_text(column)
    # Ids and codes stay readable (they are how a person is looked up); an address in them not.
    return column.str.replace_all(_EMAIL_LOCAL, f"${{1}}{MASK}@")


def _value_by_field(fields: pl.Series) -> pl.Expr:
    """A quarantined ``value`` masked by the kind of the source column ``field`` names: a
    refused first name keeps its initial, a refused birth date or street line goes."""
    value = pl.col("value")
    masked = _masked_text(value)
    for field in fields.drop_nulls().unique().sort().to_list():
        kind = _kind(str(field))
        if kind in ("gone", "email", "phone", "name"):
            masked = (
                pl.when(pl.col("field") == field)
                .then(_masked_as(kind, value, True))
                .otherwise(masked)
            )
    return masked.alias("value")


def mask_personal_data(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with emails, phones, names, birth dates and street lines masked, same shape.
    A ``value`` beside a ``field`` (a quarantined row) is masked as that field's column is."""
    masks = {
        name: expr.alias(name)
        for name, dtype in frame.schema.items()
        if (expr := _masked_as(_kind(name), pl.col(name), dtype == pl.String)) is not None
    }
    if "field" in frame.columns and frame.schema.get("value") == pl.String:
        masks["value"] = _value_by_field(frame.get_column("field").cast(pl.String))
    return frame.with_columns(masks.values()) if masks else frame
