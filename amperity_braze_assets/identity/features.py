"""Matching features: normalized records turned into integer-coded columns.

Each compared field becomes an array of integer codes (one per distinct value, -1 for null) plus
the array of distinct values and how often each occurs. Pairs then compare codes (exact
agreement is an integer comparison) and fetch strings only for the pairs that need a fuzzy score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .normalize import canonical_given_name, normalize_records
from .profiling import stage

# A value shared by more records than this is a store phone, a shared inbox or a placeholder:
# it proves nothing about identity, so it is treated as missing for matching.
FREQUENCY_CAP = 50

STRING_FIELDS = (
    "given",
    "given_canonical",
    "surname",
    "email",
    "email_local",
    "phone",
    "address",
    "postal",
    "city",
    "gender",
    "birth",
)


@dataclass
class CodedField:
    """One field as integer codes into ``values`` (-1 = null), with value frequencies."""

    codes: np.ndarray  # int32 per record
    values: np.ndarray  # object array of the distinct strings, indexed by code
    frequency: np.ndarray  # float64 per code: share of non-null records holding the value

    @property
    def agreement_probability(self) -> float:
        """Chance that two random records with the field both present agree on it."""
        return float(np.square(self.frequency).sum())


@dataclass
class Features:
    """Everything pair scoring needs, aligned on the row index of the input records."""

    size: int
    fields: dict[str, CodedField]
    birth_numeric: np.ndarray  # int64 YYYYMMDD, -1 = null
    phone_numeric: np.ndarray  # int64 of the E.164 digits, -1 = null
    # Given name and surname coded in one shared space, to spot the two fields swapped.
    name_as_given: np.ndarray
    name_as_surname: np.ndarray
    fk: dict[str, np.ndarray] = field(default_factory=dict)  # int32 codes, -1 = null
    sk: dict[str, np.ndarray] = field(default_factory=dict)
    frame: pl.DataFrame | None = None  # the keyed frame, used by blocking


def _code(series: pl.Series) -> CodedField:
    frame = pl.DataFrame({"value": series})
    counts = (
        frame.drop_nulls()
        .group_by("value")
        .len()
        .sort("value")
        .with_row_index("code")
        .with_columns(pl.col("code").cast(pl.Int32))
    )
    codes = (
        frame.join(counts.select("value", "code"), on="value", how="left", maintain_order="left")
        .get_column("code")
        .fill_null(-1)
        .to_numpy()
        .astype(np.int32, copy=False)
    )
    total = max(int(counts.get_column("len").sum()), 1)
    return CodedField(
        codes=codes,
        values=np.asarray(counts.get_column("value").to_list(), dtype=object),
        frequency=counts.get_column("len").to_numpy().astype(np.float64) / total,
    )


def _capped(expr: pl.Expr, cap: int) -> pl.Expr:
    return pl.when(pl.len().over(expr) > cap).then(None).otherwise(expr)


def build_features(
    records: pl.DataFrame, default_region: str = "US", frequency_cap: int = FREQUENCY_CAP
) -> Features:
    """Normalize the records and code every matching field."""
    with stage("normalize"):
        normalized = normalize_records(records, default_region=default_region)

    def column(name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
        if name in normalized.columns:
            return pl.col(name)
        return pl.lit(None, dtype=dtype)

    keyed = normalized.select(
        column("given_name").alias("given"),
        canonical_given_name(column("given_name")).alias("given_canonical"),
        column("surname").alias("surname"),
        _capped(column("email"), frequency_cap).alias("email"),
        _capped(column("phone"), frequency_cap).alias("phone"),
        column("address").alias("address"),
        column("postal").alias("postal"),
        column("city").alias("city"),
        column("gender").alias("gender"),
        column("birthdate", pl.Date).dt.strftime("%Y%m%d").alias("birth"),
        *[pl.col(c) for c in normalized.columns if c.startswith(("fk_", "sk_"))],
    ).with_columns(pl.col("email").str.extract(r"^([^@]+)@", 1).alias("email_local"))

    fields = {name: _code(keyed.get_column(name)) for name in STRING_FIELDS}
    birth_numeric = keyed.get_column("birth").cast(pl.Int64, strict=False).fill_null(-1).to_numpy()
    phone_numeric = (
        keyed.get_column("phone")
        .str.replace_all(r"\D", "")
        .cast(pl.Int64, strict=False)
        .fill_null(-1)
        .to_numpy()
    )
    both_names = _code(pl.concat([keyed.get_column("given"), keyed.get_column("surname")]))
    name_as_given = both_names.codes[: normalized.height]
    name_as_surname = both_names.codes[normalized.height :]
    fk = {c: _code(keyed.get_column(c)).codes for c in keyed.columns if c.startswith("fk_")}
    sk = {c: _code(keyed.get_column(c)).codes for c in keyed.columns if c.startswith("sk_")}
    return Features(
        size=normalized.height,
        fields=fields,
        birth_numeric=birth_numeric,
        phone_numeric=phone_numeric,
        name_as_given=name_as_given,
        name_as_surname=name_as_surname,
        fk=fk,
        sk=sk,
        frame=keyed,
    )
