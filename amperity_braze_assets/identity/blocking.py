"""Blocking: the candidate pairs worth scoring.

Each blocking key puts records that share a cheap value (an email, a phone, a surname sound plus
postal code, ...) into a block; only pairs inside a block are scored. Blocks larger than a cap
are skipped: a key shared by hundreds of records is not a person, and scoring all of its pairs
would make the cost quadratic. With capped blocks the number of pairs grows linearly.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .coding import dictionary, key_codes
from .features import Features

MAX_BLOCK_SIZE = 60
# Keys that are weak on their own get a tighter cap: a full name shared by a handful of records
# is worth a look, one shared by sixty records across the country is not (at 1M records the
# 60-cap on given+surname produced 4M of the 5.5M candidate pairs, 0.1% of the true matches
# found only by it). A surname's sound within a postal code is weak too: its blocks fill up as
# the records grow (at 3M records, blocks of 11 to 60 gave 1.25M of 6.45M pairs and 157 of
# 1.34M true matches not found by another key).
TIGHT_BLOCK_SIZE = {"given+surname": 4, "email_local+surname": 4, "surname_sound+postal": 10}

_SOUNDEX_CODES = {
    **dict.fromkeys("BFPV", "1"),
    **dict.fromkeys("CGJKQSXZ", "2"),
    **dict.fromkeys("DT", "3"),
    "L": "4",
    **dict.fromkeys("MN", "5"),
    "R": "6",
}


def soundex(name: str) -> str:
    """American Soundex (R163 for ROBERT): surnames that sound alike share a code."""
    letters = [c for c in name if "A" <= c <= "Z"]
    if not letters:
        return ""
    out = [letters[0]]
    previous = _SOUNDEX_CODES.get(letters[0], "")
    for letter in letters[1:]:
        code = _SOUNDEX_CODES.get(letter, "")
        if code and code != previous:
            out.append(code)
        if letter not in "HW":  # H and W do not separate equal codes; vowels do
            previous = code
    return ("".join(out) + "000")[:4]


def _soundex_codes(features: Features) -> np.ndarray:
    """Per record, a code of its surname's Soundex (-1 without a surname)."""
    surname = features.fields["surname"]
    sounds = [soundex(value) for value in surname.values.to_list()]
    coded = dictionary(pl.Series("sound", sounds, dtype=pl.String))
    per_value = coded.codes
    if per_value.size == 0:
        return np.full(features.size, -1, dtype=np.int64)
    return np.where(surname.codes >= 0, per_value[np.maximum(surname.codes, 0)], -1)


def blocking_keys(features: Features) -> dict[str, np.ndarray]:
    """Named blocking keys as int64 codes per record; -1 puts the record in no block."""
    f = {name: coded.codes for name, coded in features.fields.items()}
    sound = _soundex_codes(features)
    keys: dict[str, np.ndarray] = {
        "email": f["email"].astype(np.int64),
        "phone": f["phone"].astype(np.int64),
        "surname_sound+postal": key_codes(sound, f["postal"]),
        "given+birthdate": key_codes(f["given_canonical"], f["birth"]),
        "surname+birthdate": key_codes(f["surname"], f["birth"]),
        "address+postal": key_codes(f["address"], f["postal"]),
        # Names mistyped or swapped and the street misspelt still leave the birthdate and
        # postal code: together they single out a person in all but the largest towns.
        "postal+birthdate": key_codes(f["postal"], f["birth"]),
        # The two names as an unordered pair, so that given name and surname typed into each
        # other's field still share the key.
        "given+surname": key_codes(
            np.minimum(features.name_as_given, features.name_as_surname),
            np.maximum(features.name_as_given, features.name_as_surname),
        ),
        "email_local+surname": key_codes(f["email_local"], f["surname"]),
        # Names swapped and mistyped, postal code mistyped: the street and birth date remain.
        "address+birthdate": key_codes(f["address"], f["birth"]),
        "surname_sound+birthdate": key_codes(sound, f["birth"]),
    }
    for name, codes in features.fk.items():
        keys[name] = codes.astype(np.int64)
    return keys


def block_pairs(key: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (left < right) of records sharing a key value, blocks of 2..cap records."""
    rows = np.flatnonzero(key >= 0)
    if rows.size < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    row_bits = max(int(key.size).bit_length(), 1)
    if int(key.max()) < (1 << (62 - row_bits)):
        # Sorting (key, row) packed into one int64 is several times faster than an argsort,
        # and leaves rows ascending within each block.
        packed = pl.Series((key[rows] << row_bits) | rows).sort().to_numpy()
        rows = packed & ((1 << row_bits) - 1)
        sorted_keys = packed >> row_bits
    else:
        order = np.argsort(key[rows], kind="stable")
        rows = rows[order]
        sorted_keys = key[rows]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, rows.size])
    keep = (sizes >= 2) & (sizes <= cap)
    starts, sizes = starts[keep], sizes[keep]
    if starts.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # Each member pairs with every later member of its block.
    position = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    member = np.repeat(starts, sizes) + position
    later = np.repeat(sizes, sizes) - position - 1
    left = np.repeat(member, later)
    first_partner = np.repeat(member + 1, later)
    offset = np.arange(left.size) - np.repeat(np.cumsum(later) - later, later)
    right = first_partner + offset
    return rows[left].astype(np.int64), rows[right].astype(np.int64)


def block_cap(name: str, max_block_size: int = MAX_BLOCK_SIZE) -> int:
    """The largest block of a key whose pairs are compared."""
    # A foreign key is an assertion, not a guess: its blocks get a far looser cap, kept only
    # so that one junk key cannot make the run quadratic.
    cap = max_block_size * 10 if name.startswith("fk_") else max_block_size
    return min(cap, TIGHT_BLOCK_SIZE.get(name, cap))


def keys_that_compare(
    features: Features, left: np.ndarray, right: np.ndarray, max_block_size: int = MAX_BLOCK_SIZE
) -> list[list[str]]:
    """Per pair, the blocking keys that make it a candidate: shared, in a block within the
    key's cap. A pair with none is never compared (what explain-match reports)."""
    found: list[list[str]] = [[] for _ in range(left.size)]
    for name, key in blocking_keys(features).items():
        shared = (key[left] >= 0) & (key[left] == key[right])
        if not shared.any():
            continue
        values, counts = np.unique(key[key >= 0], return_counts=True)
        size = counts[np.searchsorted(values, key[left[shared]])]
        for index in np.flatnonzero(shared)[size <= block_cap(name, max_block_size)]:
            found[index].append(name)
    return found


def candidate_pairs(
    features: Features, max_block_size: int = MAX_BLOCK_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs (left < right, sorted, row indices as int64) sharing at least one key."""
    packed = []
    for name, key in blocking_keys(features).items():
        left, right = block_pairs(key, block_cap(name, max_block_size))
        if left.size:
            packed.append((left.astype(np.uint64) << np.uint64(32)) | right.astype(np.uint64))
    if not packed:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ordered = pl.Series(np.concatenate(packed)).sort().to_numpy()  # polars sorts in parallel
    del packed
    distinct = ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
    del ordered
    left = (distinct >> np.uint64(32)).astype(np.int64)
    right = (distinct & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return left, right


def random_pairs(size: int, count: int, seed: int = 20240531) -> tuple[np.ndarray, np.ndarray]:
    """Random distinct pairs, for the chance that two unrelated records agree (u)."""
    rng = np.random.default_rng(seed)
    left = rng.integers(0, size, count, dtype=np.int64)
    right = rng.integers(0, size, count, dtype=np.int64)
    keep = left != right
    return left[keep], right[keep]
