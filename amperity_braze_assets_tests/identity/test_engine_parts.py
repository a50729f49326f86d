"""The vectorized parts of the engine: dictionary coding, blocking, scoring rules, ids."""

import itertools
import re

import numpy as np
import polars as pl

from amperity_braze_assets.identity import normalize_records, resolve
from amperity_braze_assets.identity.blocking import block_pairs, blocking_keys, candidate_pairs
from amperity_braze_assets.identity.coding import (
    Coded,
    coalesce,
    dictionary,
    factorize,
    key_codes,
)
from amperity_braze_assets.identity.engine import _hysteresis
from amperity_braze_assets.identity.features import build_features
from amperity_braze_assets.identity.normalize import (
    normalize_address,
    normalize_address_values,
    normalize_email,
    normalize_email_values,
    parse_birthdate,
    parse_birthdate_values,
)
from amperity_braze_assets.identity.scoring import COMPARISONS, M_FLOOR, estimate_m
from amperity_braze_assets.identity.stable_ids import _clashes, _mint


def test_dictionary_round_trips_with_nulls():
    series = pl.Series("x", ["b", None, "a", "b", "c", None, "a"])
    coded = dictionary(series)
    assert coded.values.len() == 3
    assert coded.codes.tolist().count(-1) == 2
    assert coded.decode("x").to_list() == series.to_list()
    assert sorted(coded.counts().tolist()) == [1, 2, 2]


def test_coalesce_shares_one_dictionary():
    first = Coded(np.array([0, -1, 1, -1], dtype=np.int32), pl.Series(["A", "B"]))
    second = Coded(np.array([0, 0, -1, -1], dtype=np.int32), pl.Series(["B"]))
    out = coalesce([first, second])
    assert out.decode("v").to_list() == ["A", "B", "B", None]
    # Equal values from both parts get one code.
    assert out.codes[1] == out.codes[2]


def test_factorize_matches_numpy_unique():
    keys = np.random.default_rng(1).integers(0, 50, 1000)
    distinct, inverse = factorize(keys)
    expected, expected_inverse = np.unique(keys, return_inverse=True)
    assert np.array_equal(distinct, expected)
    assert np.array_equal(inverse, expected_inverse)


def test_key_codes_null_when_any_part_is_null():
    out = key_codes(np.array([0, 1, -1, 1]), np.array([2, 2, 0, -1]))
    assert out[2] == -1 and out[3] == -1
    assert out[0] != out[1]


def test_block_pairs_are_all_pairs_of_small_blocks():
    rng = np.random.default_rng(3)
    key = rng.integers(-1, 30, 400)
    left, right = block_pairs(key, cap=12)
    got = set(zip(left.tolist(), right.tolist(), strict=True))
    expected = set()
    for value in set(key.tolist()) - {-1}:
        rows = np.flatnonzero(key == value).tolist()
        if 2 <= len(rows) <= 12:
            expected |= set(itertools.combinations(rows, 2))
    assert got == expected
    assert all(a < b for a, b in got)


def test_fast_normalizers_agree_with_the_expressions():
    addresses = pl.Series(
        ["1 n st", "12  Main   Ave., Apt 4", "ST ST", "", " , ", "Rue de l'Église 5", None]
    )
    emails = pl.Series(
        ["John.Smith+news@Gmail.com ", "mailto:a@b.co", "test@x.com", "bad", "a b@c.org", None]
    )
    dates = pl.Series(
        ["1980-03-05", "03/05/1980", "5.3.1980", "05.03.1980", "3/5/80", "Mar 5 1980", "1970-01-01"]
    )
    for values, fast, expression in (
        (addresses, normalize_address_values, normalize_address),
        (emails, normalize_email_values, normalize_email),
        (dates, parse_birthdate_values, parse_birthdate),
    ):
        expected = pl.select(expression(pl.lit(values))).to_series().to_list()
        assert fast(values).to_list() == expected


def test_address_abbreviations_expand_token_by_token():
    frame = normalize_records(pl.DataFrame({"address": ["1 N St Ste 5", "9 Stanley Ave"]}))
    assert frame.get_column("address").to_list() == [
        "1 NORTH STREET SUITE 5",
        "9 STANLEY AVENUE",
    ]


def test_m_never_falls_below_the_floor():
    # Every matching pair agrees on the phone: without a floor, m(phone differs) would be ~0.
    rng = np.random.default_rng(0)
    levels = np.zeros((2000, len(COMPARISONS)), dtype=np.int8)
    for column, comparison in enumerate(COMPARISONS):
        levels[:, column] = len(comparison.levels)
    levels[1000:, :] = 1
    levels[1000:, 4] = rng.integers(1, 4, 1000)
    u = [np.r_[0.0, np.full(len(c.levels), 1.0 / len(c.levels))] for c in COMPARISONS]
    model = estimate_m(levels, u)
    for m in model.m:
        assert (m[1:] >= M_FLOOR * 0.5).all()
        assert abs(m[1:].sum() - 1.0) < 1e-9


def test_mint_is_deterministic_distinct_and_well_formed():
    keys = pl.Series([f"pos\x1f{i}" for i in range(5000)] + ["é\x1fx", "a", "a\x00"])
    first = _mint(keys, 0)
    assert first.to_list() == _mint(keys, 0).to_list()
    assert first.n_unique() == keys.len()
    assert all(re.fullmatch(r"AMP-[0-9A-F]{20}", value) for value in first.to_list())
    assert _mint(keys.head(1), 1).item() != first.item(0)
    # Ids live in Braze: the hash must never drift with numpy, polars or a rewrite.
    assert _mint(pl.Series(["pos\x1f1001", "loyalty\x1fL-7"]), 0).to_list() == [
        "AMP-AF6CFE4DBC228C380836",
        "AMP-B8232667E169F2ABE6C7",
    ]


def test_a_clash_is_reminted_for_the_larger_anchor_whatever_the_order():
    minted = pl.Series(["AMP-1", "AMP-2", "AMP-1", "AMP-3", "AMP-1"])
    anchors = pl.Series(["pos\x1f9", "pos\x1f2", "pos\x1f1", "pos\x1f3", "web\x1f0"])
    used = pl.Series(["AMP-3"])
    assert _clashes(minted, anchors, used).to_list() == [0, 3, 4]
    order = [4, 2, 0, 1, 3]
    reordered = _clashes(minted.gather(order), anchors.gather(order), used).to_list()
    assert sorted(order[i] for i in reordered) == [0, 3, 4]


def test_hysteresis_rewards_previous_links_and_penalizes_previous_splits():
    keys = pl.DataFrame({"source": ["s"] * 4, "record_id": ["1", "2", "3", "4"]})
    previous = pl.DataFrame(
        {"source": ["s"] * 3, "record_id": ["1", "2", "3"], "amperity_id": ["A", "A", "B"]}
    )
    bonus = _hysteresis(keys, previous, np.array([0, 0, 0]), np.array([1, 2, 3]))
    assert bonus[0] > 0 and bonus[1] < 0 and bonus[2] == 0


COLUMNS = ["source", "record_id", "given_name", "surname", "address", "postal", "birthdate"]


def test_one_mistyped_birthdate_is_forgiven_when_all_else_agrees():
    records = pl.DataFrame(
        [
            ("pos", "a", "Melissa", "Lanzotti", "24 Balfour Crescent", "2064", "1981-08-28"),
            # The same year, day and month scrambled: within a generation, so a typo.
            ("web", "b", "Melissa", "Lanzotti", "24 Balfour Cres", "2064", "1983-01-03"),
            # A household member: another first name and birthdate at the same address.
            ("web", "c", "Joel", "Lanzotti", "24 Balfour Crescent", "2064", "1979-02-11"),
            # The same name at the same address, born a generation earlier: Melissa's mother.
            ("web", "d", "Melissa", "Lanzotti", "24 Balfour Crescent", "2064", "1956-04-19"),
        ],
        schema=COLUMNS,
        orient="row",
    )
    result = resolve(records)
    ids = dict(zip(result["record_id"], result["amperity_id"], strict=True))
    assert ids["a"] == ids["b"]
    assert ids["c"] != ids["a"]
    assert ids["d"] != ids["a"] and ids["d"] != ids["c"]


def test_given_name_and_surname_swapped_are_compared():
    records = pl.DataFrame(
        [
            ("pos", "a", "Cameron", "Jessup", "19 Spofforth Street", "2208", "1956-11-17"),
            ("web", "b", "Jessup", "Cameron", "19 Spofforth Street", "2280", "1956-11-17"),
        ],
        schema=COLUMNS,
        orient="row",
    )
    result = resolve(records)
    assert result["amperity_id"].n_unique() == 1


def test_postal_code_and_birthdate_block_records_whose_names_and_street_are_mistyped():
    records = pl.DataFrame(
        [
            ("pos", "a", "Harvey", "Shepherdson", "34 Lumholtz Place", "6430", "1971-10-02"),
            # Names swapped and both mistyped, the street misspelt: only the postal code and
            # the birthdate still agree exactly.
            ("web", "b", "Shepherdosn", "Harvy", "34 Lumholtcz Place", "6430", "1971-10-02"),
            # Same postal code, another birthdate: no reason to compare.
            ("web", "c", "Riley", "Moss", "2 Other Road", "6430", "1980-01-01"),
        ],
        schema=COLUMNS,
        orient="row",
    )
    features = build_features(records, default_region="AU")
    keys = blocking_keys(features)
    others = {name: key for name, key in keys.items() if name != "postal+birthdate"}
    assert not any(key[0] >= 0 and key[0] == key[1] for key in others.values())
    assert keys["postal+birthdate"][0] == keys["postal+birthdate"][1]
    left, right = candidate_pairs(features)
    assert list(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 1)]
