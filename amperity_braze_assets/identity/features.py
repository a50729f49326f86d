"""Matching features: normalized records turned into integer-coded columns.

Each compared field becomes an array of integer codes (one per distinct value, -1 for null) plus
the array of distinct values and how often each occurs. Pairs then compare codes (exact
agreement is an integer comparison) and fetch strings only for the pairs that need a fuzzy score.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .coding import Coded, dictionary, map_values, recode
from .nicknames import CANONICAL_GIVEN_NAME, FORMAL_NAMES
from .normalize import normalized_columns
from .profiling import stage
from .threads import WORKERS

# FORMAL_NAMES as a table (name, formal), to join the distinct names of a run against.
FORMAL_TABLE = pl.DataFrame(
    [(name, formal) for name, formals in FORMAL_NAMES.items() for formal in formals],
    schema={"name": pl.String, "formal": pl.String},
    orient="row",
)

# A value shared by more records than this is a store phone, a shared inbox or a placeholder:
# it proves nothing about identity, so it is treated as missing for matching.
FREQUENCY_CAP = 50

# The normalized columns matching reads; customer_records' others (full_name, address2, state,
# country, updated_at) are only the customer 360's.
MATCHED_COLUMNS = frozenset(
    {
        "given_name",
        "surname",
        "email",
        "phone",
        "address",
        "postal",
        "city",
        "gender",
        "birthdate",
        "generation",
    }
)


def matched_columns(columns: Iterable[str]) -> list[str]:
    """Of a ``customer_records`` table's columns, those resolution reads: the record key, the
    matched fields and every ``fk_``/``sk_`` key."""
    return [
        c
        for c in columns
        if c in ("source", "record_id") or c in MATCHED_COLUMNS or c.startswith(("fk_", "sk_"))
    ]


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
    "generation",
)


@dataclass
class CodedField:
    """One field as integer codes into ``values`` (-1 = null), with value frequencies."""

    codes: np.ndarray  # int32 per record
    # The distinct strings, indexed by code. Kept in polars: as Python objects ten million
    # distinct emails, phones and addresses cost gigabytes; only scored pairs are fetched.
    values: pl.Series
    frequency: np.ndarray  # float64 per code: share of non-null records holding the value
    present: int = 1  # records holding a value

    def strings(self, codes: np.ndarray) -> list[str]:
        """The values of ``codes`` (all present, >= 0) as Python strings."""
        return self.values.gather(pl.Series(codes.astype(np.uint32, copy=False))).to_list()

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
    # The names ``name_as_given`` and ``name_as_surname`` code, and for each the formal names
    # it may stand for (``code``, ``formal``; a name stands for itself too): two names agree
    # as nicknames when they share one, in either field (a swapped JAMES agrees with JIMMY).
    name_values: pl.Series = field(default_factory=lambda: pl.Series([], dtype=pl.String))
    name_formal: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"code": pl.Int32, "formal": pl.String})
    )


def _formal_table(values: pl.Series) -> pl.DataFrame:
    """(code, formal) for each distinct name and each formal name it may stand for (itself
    too, so that every name has a row)."""
    names = pl.DataFrame({"name": values}).with_row_index("code")
    known = FORMAL_TABLE.join(names, on="name").select(pl.col("code").cast(pl.Int32), "formal")
    itself = names.filter(pl.col("name").is_not_null()).select(
        pl.col("code").cast(pl.Int32), pl.col("name").alias("formal")
    )
    return pl.concat([known, itself]).unique()


def _field(coded: Coded) -> CodedField:
    counts = coded.counts()
    total = max(int(counts.sum()), 1)
    return CodedField(
        codes=coded.codes.astype(np.int32, copy=False),
        values=coded.values.cast(pl.String),
        frequency=counts.astype(np.float64) / total,
        present=total,
    )


def _capped(coded: Coded, cap: int) -> Coded:
    """Values held by more than ``cap`` records treated as missing."""
    counts = coded.counts()
    common = counts > cap
    if not common.any():
        return coded
    codes = np.where((coded.codes >= 0) & common[np.maximum(coded.codes, 0)], -1, coded.codes)
    return recode(
        Coded(codes.astype(np.int32), coded.values), coded.values.set(pl.Series(common), None)
    )


def _empty(size: int, dtype: pl.DataType = pl.String) -> Coded:
    return Coded(np.full(size, -1, dtype=np.int32), pl.Series("value", [], dtype=dtype))


def _per_row(coded: Coded, per_value: np.ndarray, missing: int = -1) -> np.ndarray:
    if per_value.size == 0:
        return np.full(coded.codes.size, missing, dtype=np.int64)
    return np.where(coded.codes >= 0, per_value[np.maximum(coded.codes, 0)], missing)


def _coded_as_is(series: pl.Series) -> Coded:
    """An already normalized column as codes; the same codes normalizing would have given,
    since both code the distinct normalized values."""
    if series.dtype != pl.Date and series.dtype != pl.String:
        series = series.cast(pl.String)
    return dictionary(series)


def build_features(
    records: pl.DataFrame,
    default_region: str = "US",
    frequency_cap: int = FREQUENCY_CAP,
    *,
    normalized: bool = False,
) -> Features:
    """Normalize the records and code every matching field (distinct values only).

    ``normalized=True`` says the records are already ``normalize_records`` output (the
    ``customer_records`` asset): the fields are then only coded, not normalized again.
    """
    keys = [c for c in records.columns if c.startswith(("fk_", "sk_"))]
    needed = {*MATCHED_COLUMNS, *keys}
    size = records.height
    with stage("normalize"):
        if normalized:
            columns = [c for c in records.columns if c in needed]
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                coded = dict(
                    zip(
                        columns,
                        pool.map(lambda c: _coded_as_is(records.get_column(c)), columns),
                        strict=True,
                    )
                )
        else:
            coded = normalized_columns(records, default_region=default_region, only=needed)

    def get(name: str, dtype: pl.DataType = pl.String) -> Coded:
        return coded.get(name) or _empty(size, dtype)

    given = get("given_name")
    canonical = map_values(given, lambda v: v.replace(CANONICAL_GIVEN_NAME))
    email = _capped(get("email"), frequency_cap)
    email_local = map_values(email, lambda v: v.str.extract(r"^([^@]+)@", 1))
    phone = _capped(get("phone"), frequency_cap)
    birthdate = get("birthdate", pl.Date)
    birth = map_values(birthdate, lambda v: v.cast(pl.Date).dt.strftime("%Y%m%d"))
    surname = get("surname")
    by_name = {
        "given": given,
        "given_canonical": canonical,
        "surname": surname,
        "email": email,
        "email_local": email_local,
        "phone": phone,
        "address": get("address"),
        "postal": get("postal"),
        "city": get("city"),
        "gender": get("gender"),
        "birth": birth,
        "generation": get("generation"),
    }
    fields = {name: _field(by_name[name]) for name in STRING_FIELDS}
    birth_numeric = _per_row(
        birth, birth.values.cast(pl.Int64, strict=False).fill_null(-1).to_numpy()
    ).astype(np.int64)
    phone_numeric = _per_row(
        phone,
        phone.values.str.replace_all(r"\D", "")
        .cast(pl.Int64, strict=False)
        .fill_null(-1)
        .to_numpy(),
    ).astype(np.int64)
    both = dictionary(pl.concat([given.values.cast(pl.String), surname.values.cast(pl.String)]))
    as_given = both.codes[: given.values.len()]
    as_surname = both.codes[given.values.len() :]
    return Features(
        size=size,
        fields=fields,
        birth_numeric=birth_numeric,
        phone_numeric=phone_numeric,
        name_as_given=_per_row(given, as_given).astype(np.int32),
        name_as_surname=_per_row(surname, as_surname).astype(np.int32),
        fk={c: coded[c].codes for c in keys if c.startswith("fk_") and c in coded},
        sk={c: coded[c].codes for c in keys if c.startswith("sk_") and c in coded},
        name_values=both.values.cast(pl.String),
        name_formal=_formal_table(both.values.cast(pl.String)),
    )
