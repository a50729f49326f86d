"""Dictionary coding: a column as integer codes into its distinct values.

Normalizing a million rows value by value repeats the same work for every copy of a value, and
joining normalized strings back onto the rows costs as much again. Instead each raw column is
turned into codes (one per distinct raw value, found by hashing), the distinct values are
normalized once, and the normalized values are coded in turn; a row's normalized code is then
one numpy gather. Matching compares codes; strings are only fetched for fuzzy scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass
class Coded:
    """A column as ``codes`` (int32 per row, -1 = null) into the distinct ``values``."""

    codes: np.ndarray
    values: pl.Series

    def decode(self, name: str) -> pl.Series:
        """The column as values again (null where the code is -1)."""
        if self.values.len() == 0:
            return pl.Series(name, [None] * self.codes.size, dtype=self.values.dtype)
        index = pl.Series(np.where(self.codes >= 0, self.codes, 0).astype(np.uint32))
        out = self.values.gather(index)
        return out.set(pl.Series(self.codes < 0), None).alias(name)

    def counts(self) -> np.ndarray:
        """Rows holding each value."""
        present = self.codes[self.codes >= 0]
        return np.bincount(present, minlength=self.values.len()).astype(np.int64)


def _argsort(keys: pl.Series) -> np.ndarray:
    """Positions that sort ``keys``: polars' parallel sort, 2-3x numpy's argsort on millions
    of 64-bit keys (np.unique(return_inverse=True) sorts stably and costs 4x more again)."""
    return keys.arg_sort().to_numpy()


def _groups(ordered: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For keys sorted by ``order`` (``ordered`` = keys[order], not empty): where each run of
    equal keys starts in ``ordered``, and each key's run number in its original position."""
    starts = np.empty(ordered.size, dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    # int32 positions: tens of millions of pairs, each index half the bytes of int64.
    inverse = np.empty(ordered.size, dtype=np.int32)
    inverse[order] = np.cumsum(starts, dtype=np.int32) - 1
    return starts, inverse


def dictionary(series: pl.Series) -> Coded:
    """Codes of ``series`` into its distinct non-null values, ordered by hash.

    Values are told apart by a 64-bit hash and every row is checked against the value its code
    names, so a hash collision (never seen in practice) falls back to an exact join.
    """
    size = series.len()
    valid = series.is_not_null().to_numpy()
    rows = np.flatnonzero(valid)
    if rows.size == 0:
        return Coded(np.full(size, -1, dtype=np.int32), series.head(0))
    present = series if rows.size == size else series.gather(pl.Series(rows.astype(np.uint32)))
    hash_series = present.hash(seed=0x5EED)
    hashes = hash_series.to_numpy()
    order = _argsort(hash_series)
    starts, inverse = _groups(hashes[order], order)
    representative = order[starts]
    # A second, independent hash must agree within every group: two different values sharing
    # the first hash (about 1 in 10^7 for a million values) are caught without comparing
    # strings, and then the column is coded by an exact join instead.
    check = present.hash(seed=0xC0FFEE).to_numpy()
    if not np.array_equal(check, check[representative][inverse]):
        return _dictionary_by_join(series)
    values = present.gather(pl.Series(representative.astype(np.uint32)))
    codes = np.full(size, -1, dtype=np.int32)
    codes[rows] = inverse
    return Coded(codes, values.alias(series.name))


def factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct sorted keys, index of each key's distinct value): ``np.unique`` with
    ``return_inverse``, without its stable sort (fewer than 2**31 keys)."""
    if keys.size == 0:
        return keys, np.zeros(0, dtype=np.int32)
    order = _argsort(pl.Series(keys))
    ordered = keys[order]
    starts, inverse = _groups(ordered, order)
    return ordered[starts], inverse


def _dictionary_by_join(series: pl.Series) -> Coded:
    values = series.drop_nulls().unique(maintain_order=True)
    lookup = pl.DataFrame({"value": values}).with_row_index("code")
    codes = (
        pl.DataFrame({"value": series})
        .join(lookup, on="value", how="left", maintain_order="left")
        .get_column("code")
        .fill_null(-1)
        .to_numpy()
        .astype(np.int32)
    )
    return Coded(codes, values.alias(series.name))


def recode(coded: Coded, mapped: pl.Series) -> Coded:
    """``coded`` with each distinct value replaced by ``mapped`` (aligned with ``coded.values``;
    null drops the value), equal results sharing one code."""
    inner = dictionary(mapped)
    composed = np.where(coded.codes >= 0, inner.codes[np.maximum(coded.codes, 0)], -1)
    if inner.codes.size == 0:
        composed = np.full(coded.codes.size, -1, dtype=np.int32)
    return Coded(composed.astype(np.int32), inner.values)


def map_values(coded: Coded, function) -> Coded:
    """Apply a Series -> Series function to the distinct values only, then recode."""
    if coded.values.len() == 0:
        return coded
    return recode(coded, function(coded.values))


def coalesce(parts: list[Coded]) -> Coded:
    """Per row, the first part's value that is not null, in one shared dictionary."""
    dtype = next((part.values.dtype for part in parts if part.values.len()), parts[0].values.dtype)
    combined = dictionary(pl.concat([part.values.cast(dtype) for part in parts]))
    out = np.full(parts[0].codes.size, -1, dtype=np.int32)
    offset = 0
    for part in parts:
        size = part.values.len()
        shared = combined.codes[offset : offset + size]
        offset += size
        if size == 0:
            continue
        mapped = np.where(part.codes >= 0, shared[np.maximum(part.codes, 0)], -1)
        out = np.where(out >= 0, out, mapped)
    return Coded(out.astype(np.int32), combined.values)


def choose(condition: np.ndarray, when_true: Coded, when_false: Coded) -> Coded:
    """Per row, ``when_true`` where ``condition`` else ``when_false``, in one dictionary."""
    blank_true = Coded(np.where(condition, when_true.codes, -1), when_true.values)
    blank_false = Coded(np.where(condition, -1, when_false.codes), when_false.values)
    return coalesce([blank_true, blank_false])


def key_codes(*codes: np.ndarray) -> np.ndarray:
    """One int64 code per row for a combination of coded fields; -1 if any field is null."""
    out = np.zeros(codes[0].size, dtype=np.int64)
    valid = np.ones(codes[0].size, dtype=bool)
    for code in codes:
        width = int(code.max()) + 1 if code.size else 1
        out = out * max(width, 1) + np.maximum(code, 0)
        valid &= code >= 0
    return np.where(valid, out, -1)
