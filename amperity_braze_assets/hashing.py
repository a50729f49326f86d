"""Stable hashes, vectorised over many keys at once: FNV-1a and two 64-bit finalizers.

Documented hashes rather than polars' ``Expr.hash`` (stable only within one polars version), so
what is derived from them stays put across runs, machines and upgrades: minted person ids
(``identity.stable_ids``), control groups and sync shards (``stable_unit_interval``).

Plain numpy; the uint64 arithmetic wraps on purpose.
"""

from __future__ import annotations

import numpy as np
import polars as pl

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


def fnv1a_rows(
    matrix: np.ndarray, lengths: np.ndarray | None = None, state: np.ndarray | None = None
) -> np.ndarray:
    """FNV-1a of each row of a ``uint8`` byte matrix, one byte column at a time; with
    ``lengths``, a row stops after its own length (the padding is not hashed). Continues from
    ``state`` when given (updated in place), else starts at the FNV offset."""
    rows, width = matrix.shape
    if state is None:
        state = np.full(rows, FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        if lengths is None:
            for column in range(width):
                state ^= matrix[:, column].astype(np.uint64)
                state *= FNV_PRIME
            return state
        # In place, on the rows still that long only: a new array per step costs twice as much.
        step = np.empty(rows, dtype=np.uint64)
        for column in range(width):
            np.bitwise_xor(state, matrix[:, column].astype(np.uint64), out=step)
            np.multiply(step, FNV_PRIME, out=state, where=lengths > column)
    return state


def fnv1a_append(state: np.ndarray, data: bytes) -> np.ndarray:
    """Continue every row's FNV-1a over the same ``data`` (a salt), in place."""
    with np.errstate(over="ignore"):
        for byte in data:
            state ^= np.uint64(byte)
            state *= FNV_PRIME
    return state


def splitmix64_finalize(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit moves about half the output bits."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def murmur3_finalize(state: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (fmix64), in place."""
    with np.errstate(over="ignore"):
        state ^= state >> np.uint64(33)
        state *= np.uint64(0xFF51AFD7ED558CCD)
        state ^= state >> np.uint64(33)
        state *= np.uint64(0xC4CEB9FE1A85EC53)
        state ^= state >> np.uint64(33)
    return state


def stable_unit_interval(ids: pl.Series, salt: str) -> np.ndarray:
    """A number in [0, 1) per id, fixed by the id and ``salt`` alone (same on every run, machine
    and polars version, whatever other ids are hashed beside it): FNV-1a over the hex-encoded
    id's own bytes, a separator and the salt, then fmix64; the top 53 bits make the fraction.

    The ids are laid out padded to the widest one, but the padding is not hashed: an id's
    number must not move when a longer id (an email, an alias) arrives in the same batch, or a
    person would change sync shard or control group from one run to the next."""
    n = ids.len()
    if n == 0:
        return np.zeros(0)
    hexed = ids.cast(pl.String).fill_null("").str.encode("hex")
    lengths = hexed.str.len_bytes().to_numpy().astype(np.int64)
    width = int(lengths.max())
    state = np.full(n, FNV_OFFSET, dtype=np.uint64)
    if width:
        joined = hexed.str.pad_end(width, ".").str.join("").item()
        matrix = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(n, width)
        fnv1a_rows(matrix, lengths=lengths, state=state)
    fnv1a_append(state, b"\x1f" + salt.encode("utf-8"))
    murmur3_finalize(state)
    return (state >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def stable_text_key(texts: pl.Series, salt: str) -> pl.Series:
    """A 32-digit key per text, fixed by the text and ``salt`` alone, whatever other texts are
    hashed beside it: FNV-1a over each text's own hex bytes (``fnv1a_rows`` with lengths: the
    padding to the batch's widest text is not hashed, so a longer text arriving in a later
    batch changes no other key), two salts, fmix64, the top 53 bits of each."""
    n = texts.len()
    hexed = texts.cast(pl.String).fill_null("").str.encode("hex")
    lengths = hexed.str.len_bytes().to_numpy().astype(np.int64)
    width = int(lengths.max()) if n else 0
    matrix = None
    if width:
        joined = hexed.str.pad_end(width, ".").str.join("").item()
        matrix = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(n, width)
    parts = []
    for number in (1, 2):
        state = np.full(n, FNV_OFFSET, dtype=np.uint64)
        if matrix is not None:
            fnv1a_rows(matrix, lengths=lengths, state=state)
        fnv1a_append(state, f"\x1f{salt}-{number}".encode())
        murmur3_finalize(state)
        parts.append(pl.Series(state >> np.uint64(11), dtype=pl.UInt64).cast(pl.String))
    return parts[0].str.zfill(16) + parts[1].str.zfill(16)
