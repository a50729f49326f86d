"""Blocking: the candidate pairs worth scoring.

Each blocking key puts records that share a cheap value (an email, a phone, a surname sound plus
postal code, ...) into a block; only pairs inside a block are scored. Blocks larger than a cap
are skipped: a key shared by hundreds of records is not a person, and scoring all of its pairs
would make the cost quadratic. With capped blocks the number of pairs grows linearly.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .features import Features

MAX_BLOCK_SIZE = 60

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


def _soundex_column(surnames: pl.Series) -> pl.Series:
    distinct = surnames.drop_nulls().unique().sort()
    lookup = pl.DataFrame(
        {"surname": distinct, "sound": [soundex(s) for s in distinct.to_list()]},
        schema={"surname": pl.String, "sound": pl.String},
    )
    return (
        pl.DataFrame({"surname": surnames})
        .join(lookup, on="surname", how="left", maintain_order="left")
        .get_column("sound")
    )


def blocking_keys(features: Features) -> dict[str, pl.Expr]:
    """Named blocking keys; a null key puts the record in no block."""
    frame = features.frame
    keys: dict[str, pl.Expr] = {
        "email": pl.col("email"),
        "phone": pl.col("phone"),
        "surname_sound+postal": pl.concat_str(pl.col("surname_sound"), pl.col("postal")),
        "given+birthdate": pl.concat_str(pl.col("given_canonical"), pl.col("birth")),
        "surname+birthdate": pl.concat_str(pl.col("surname"), pl.col("birth")),
        "address+postal": pl.concat_str(pl.col("address"), pl.col("postal"), separator="|"),
        "given+surname": pl.concat_str(pl.col("given_canonical"), pl.col("surname"), separator="|"),
        "email_local+surname": pl.concat_str(pl.col("email_local"), pl.col("surname")),
    }
    for name in frame.columns:
        if name.startswith("fk_"):
            keys[name] = pl.col(name)
    return keys


def candidate_pairs(features: Features, max_block_size: int = MAX_BLOCK_SIZE) -> pl.DataFrame:
    """Distinct pairs (left < right, row indices as UInt32) that share at least one key."""
    frame = features.frame.with_columns(
        _soundex_column(features.frame.get_column("surname")).alias("surname_sound")
    ).with_row_index("row")
    parts = []
    for name, key in blocking_keys(features).items():
        # A foreign key is an assertion, not a guess: its blocks get a far looser cap, kept
        # only so that one junk key cannot make the run quadratic.
        cap = max_block_size * 10 if name.startswith("fk_") else max_block_size
        block = frame.select("row", key.alias("key")).drop_nulls("key")
        block = block.filter(pl.len().over("key") > 1)
        block = block.filter(pl.len().over("key") <= cap)
        if block.height == 0:
            continue
        pairs = (
            block.join(block, on="key", suffix="_right")
            .filter(pl.col("row") < pl.col("row_right"))
            .select(pl.col("row").alias("left"), pl.col("row_right").alias("right"))
        )
        parts.append(pairs)
    if not parts:
        return pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32})
    return pl.concat(parts).unique().sort("left", "right")


def random_pairs(size: int, count: int, seed: int = 20240531) -> tuple[np.ndarray, np.ndarray]:
    """Random distinct pairs, for the chance that two unrelated records agree (u)."""
    rng = np.random.default_rng(seed)
    left = rng.integers(0, size, count, dtype=np.int64)
    right = rng.integers(0, size, count, dtype=np.int64)
    keep = left != right
    return left[keep], right[keep]
