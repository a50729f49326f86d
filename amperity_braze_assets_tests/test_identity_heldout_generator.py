"""Properties of the held-out identity-resolution data generator (``bench/identity_heldout.py``).

The generator is loaded from the bench folder by path (bench/ is not a package). Sizes stay small
so each test runs in well under two seconds; the one at-scale property (birth dates shared by many
people) uses the generator's own birth-date sampler at 200k people.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "identity_heldout.py"
_SPEC = importlib.util.spec_from_file_location("bench_identity_heldout", _PATH)
heldout = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = heldout  # dataclasses look their module up while the class is built
_SPEC.loader.exec_module(heldout)

TAGS = list(heldout._TAGS)
KINDS = {"namesake", "household", "twin", "shared_email"}


def fold(column: str) -> pl.Expr:
    """Lower case, accents and punctuation removed: "María" and "Maria" compare equal."""
    return (
        pl.col(column)
        .str.replace_many(["Đ", "đ", "Ł", "ł", "Ø", "ø", "ß"], ["D", "d", "L", "l", "O", "o", "ss"])
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]", "")
    )


def digits(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(r"\D", "").str.slice(-10)


def postal_key(column: str) -> pl.Expr:
    """ZIP, ZIP+4 and ZIPs that lost a leading zero share a key; other codes lose spaces."""
    code = pl.col(column).str.replace_all(r"[^0-9A-Za-z]", "").str.to_uppercase()
    numeric = code.str.contains(r"^\d+$")
    return (
        pl.when(numeric & (code.str.len_chars() >= 9))
        .then(code.str.slice(0, 5))
        .when(numeric)
        .then(code.str.zfill(5))
        .otherwise(code)
    )


def home(column_suffix: str = "") -> pl.Expr:
    return pl.concat_str(
        [
            pl.col("address" + column_suffix),
            pl.col("unit" + column_suffix).fill_null(""),
            pl.col("city" + column_suffix),
        ],
        separator="|",
    )


@pytest.fixture(scope="module")
def three():
    return heldout.generate_detailed(20_000, seed=11)


@pytest.fixture(scope="module")
def retail():
    return heldout.generate_detailed(3_300, seed=0, scenario="retail_exports")


@pytest.fixture(scope="module")
def linked(three):
    """Records with their true person."""
    return three.records.join(three.truth, on=["source", "record_id"], how="left")


def pairs(out, kind: str) -> pl.DataFrame:
    people = out.people
    rel = out.relations.filter(pl.col("kind") == kind)
    return rel.join(people, left_on="person_a", right_on="person").join(
        people, left_on="person_b", right_on="person", suffix="_b"
    )


def test_public_api_shapes_and_types():
    records, truth, relations = heldout.generate(1_500, seed=2)
    assert records.columns == TAGS
    assert all(dtype == pl.String for dtype in records.dtypes)
    assert truth.columns == ["source", "record_id", "person"]
    assert relations.columns == ["person_a", "person_b", "kind"]
    assert set(relations["kind"].unique()) <= KINDS
    assert set(records["source"].unique()) == {"pos", "shopify", "salesforce"}
    with pytest.raises(ValueError):
        heldout.generate(10, scenario="nope")


def test_same_seed_same_frames_other_seed_other_frames():
    first = heldout.generate(3_000, seed=7)
    again = heldout.generate(3_000, seed=7)
    other = heldout.generate(3_000, seed=8)
    for a, b in zip(first, again, strict=True):
        assert a.equals(b)
    assert not first[0].equals(other[0])
    detailed = heldout.generate_detailed(3_000, seed=7)
    assert detailed.records.equals(first[0]) and detailed.relations.equals(first[2])
    assert detailed.people.equals(heldout.generate_detailed(3_000, seed=7).people)


@pytest.mark.parametrize("name", ["three", "retail"])
def test_truth_covers_every_record_exactly_once(name, request):
    out = request.getfixturevalue(name)
    records, truth = out.records, out.truth
    assert records.select(pl.struct("source", "record_id").is_unique().all()).item()
    assert truth.height == records.height
    joined = records.join(truth, on=["source", "record_id"], how="left")
    assert joined.height == records.height and joined["person"].null_count() == 0
    assert set(truth["person"].unique()) == set(out.people["person"])  # everyone has a record
    assert records.height / out.people.height == pytest.approx(1.5, abs=0.1)


def test_relations_reference_existing_different_people(three):
    rel, people = three.relations, set(three.people["person"])
    assert set(rel["kind"].unique()) == KINDS
    assert rel["person_a"].is_in(list(people)).all() and rel["person_b"].is_in(list(people)).all()
    assert (rel["person_a"] < rel["person_b"]).all()
    assert rel.is_unique().all()
    counts = dict(rel.group_by("kind").len().iter_rows())
    assert counts["namesake"] > 500 and counts["household"] > 1_500
    assert counts["twin"] > 40 and counts["shared_email"] > 150


def test_namesakes_share_the_name_and_nothing_else(three):
    ns = pairs(three, "namesake")
    assert ns.height > 500
    same = ns.select(
        given=(fold("given_name") == fold("given_name_b")).all(),
        surname=(fold("surname") == fold("surname_b")).all(),
        email=(pl.col("email") != pl.col("email_b")).fill_null(True).all(),
        home_phone=(pl.col("home_phone") != pl.col("home_phone_b")).fill_null(True).all(),
        mobile=(pl.col("mobile_phone") != pl.col("mobile_phone_b")).fill_null(True).all(),
        address=(home() != home("_b")).all(),
        household=(pl.col("household") != pl.col("household_b")).all(),
        birthdate=(pl.col("birthdate") != pl.col("birthdate_b")).mean(),
        city=(pl.col("city") != pl.col("city_b")).mean(),
    ).row(0, named=True)
    assert same["given"] and same["surname"] and same["email"] and same["address"]
    assert same["home_phone"] and same["mobile"] and same["household"]
    assert same["birthdate"] >= 0.99 and same["city"] >= 0.9
    injected = ns.filter(
        (pl.col("namesake_of") == pl.col("person_b"))
        | (pl.col("namesake_of_b") == pl.col("person_a"))
    )
    assert injected.height >= 30  # 0.25% of people copy another person's name
    assert (injected["birthdate"] != injected["birthdate_b"]).all()
    assert (injected["city"] != injected["city_b"]).all()
    assert (injected["country"] != injected["country_b"]).any()
    # common names make most of them: James Smith, María García, Linh Nguyen
    natural = ns.height - injected.height
    assert natural > 10 * injected.height


def test_twins_share_birthdate_surname_home_but_not_given_name(three):
    tw = pairs(three, "twin")
    assert tw.height > 40
    gendered = {"ska": "ski", "cka": "cki", "ova": "ov", "eva": "ev"}
    stem = pl.col("surname").str.replace_many(list(gendered), list(gendered.values()))
    stem_b = pl.col("surname_b").str.replace_many(list(gendered), list(gendered.values()))
    assert (tw["birthdate"] == tw["birthdate_b"]).all()
    assert tw.select((stem == stem_b).all()).item()
    assert tw.select((home() == home("_b")).all()).item()
    assert tw["home_phone"].null_count() == 0 and (tw["home_phone"] == tw["home_phone_b"]).all()
    assert (tw["given_name"] != tw["given_name_b"]).all()
    assert tw.select((pl.col("email") != pl.col("email_b")).fill_null(True).all()).item()
    table = {frozenset(p[:2]) for p in heldout.TWIN_NAMES}
    similar = sum(
        frozenset(p) in table for p in zip(tw["given_name"], tw["given_name_b"], strict=True)
    )
    assert similar >= 0.03 * tw.height  # Mary/Maria, Daniel/Danielle


def test_households_share_home_and_phone(three):
    hh = pairs(three, "household")
    assert hh.select((home() == home("_b")).all()).item()
    assert (hh["home_phone"] == hh["home_phone_b"]).all()
    assert hh.select((pl.col("surname") == pl.col("surname_b")).mean()).item() > 0.6
    assert (hh["birthdate"] != hh["birthdate_b"]).mean() > 0.99
    same_given = hh.filter(pl.col("given_name") == pl.col("given_name_b"))
    assert same_given.height > 5  # Jr/Sr pairs, and only those
    assert set(zip(same_given["suffix"], same_given["suffix_b"], strict=True)) <= {
        ("Jr", "Sr"),
        ("Sr", "Jr"),
    }
    gap = (same_given["birthdate"] - same_given["birthdate_b"]).dt.total_days().abs() / 365.25
    assert (gap > 24).all() and (gap < 31.5).all()
    assert (same_given["surname"] == same_given["surname_b"]).all()
    shared = pairs(three, "shared_email")
    assert (shared["email"] == shared["email_b"]).all()
    keyed = three.relations.filter(pl.col("kind") == "household").select("person_a", "person_b")
    assert (
        shared.select("person_a", "person_b")
        .join(keyed, on=["person_a", "person_b"], how="anti")
        .is_empty()
    )


def _visible(linked: pl.DataFrame, people: pl.DataFrame, flag: str) -> pl.DataFrame:
    recs = linked.join(people.filter(flag).select("person"), on="person").with_columns(
        em=pl.col("email").str.to_lowercase().str.strip_chars(),
        ph=digits("phone"),
        pc=postal_key("postal"),
    )
    return recs.filter(pl.col("source").n_unique().over("person") >= 2)


def test_movers_keep_email_but_change_address_and_phone(three, linked):
    recs = _visible(linked, three.people, "mover")
    movers = recs["person"].n_unique()
    assert movers > 300
    cross = recs.join(recs, on="person", suffix="_b").filter(pl.col("source") < pl.col("source_b"))
    shown = cross.filter(
        (pl.col("em") == pl.col("em_b"))
        & (pl.col("ph") != pl.col("ph_b"))
        & (pl.col("pc") != pl.col("pc_b"))
    )
    assert shown["person"].n_unique() == movers
    people = three.people.filter("mover")
    assert people["old_address"].null_count() == 0 and people["old_phone"].null_count() == 0
    assert (people["old_postal"] != people["postal"]).all()


def test_people_with_two_emails_use_both_across_sources(three, linked):
    recs = _visible(linked, three.people, "two_emails")
    assert recs["person"].n_unique() > 300
    per = recs.group_by("person").agg(pl.col("em").drop_nulls().n_unique().alias("emails"))
    assert (per["emails"] >= 2).all()
    work = three.people.filter("two_emails")["email2"].str.contains(
        r"\.(org|gov|co\.uk)$|@[a-z]+(logistics|capital|health|law)"
    )
    assert work.any()
    assert three.people.filter("two_emails")["work_phone"].drop_nulls().len() > 100


def test_birth_dates_are_shared_by_many_at_scale(three):
    days = heldout.sample_birthdays(np.random.default_rng(0), 200_000)
    per_date = pl.Series(days).value_counts()["count"]
    assert per_date.median() >= 5
    ref = (heldout.REF_DATE - heldout.date(1970, 1, 1)).days
    age = (ref - days) / 365.2425
    assert age.min() >= 18 and age.max() < 91
    assert ((age >= 25) & (age < 65)).mean() > 0.6
    assert (age >= 75).mean() > 0.03
    # the generated people follow the same distribution
    people_age = three.people.select(
        age=(pl.lit(heldout.REF_DATE) - pl.col("birthdate")).dt.total_days() / 365.2425
    )["age"]
    assert people_age.min() >= 18 and people_age.max() < 91
    assert people_age.is_between(25, 65).mean() > 0.6


def test_names_have_a_heavy_head_and_a_long_tail(three):
    people = three.people.with_columns(g=fold("given_name"), s=fold("surname"))
    n = people.height
    given = people["g"].value_counts(sort=True)["count"]
    surname = people["s"].value_counts(sort=True)
    top10_given = given.head(10).sum() / n
    top10_surname = surname["count"].head(10).sum() / n
    assert 0.12 <= top10_given <= 0.22
    assert 0.035 <= top10_surname <= 0.08
    assert 0.005 <= surname["count"][0] / n <= 0.015
    assert "smith" in surname["s"].head(5).to_list()
    rare = surname.filter(pl.col("count") <= 2)["count"].sum() / n
    assert rare > 0.15  # a long tail of rare surnames
    assert surname.height > 0.25 * n
    names = people["surname"]
    assert (~names.str.contains(r"^[\x00-\x7F]*$")).mean() > 0.01  # Wiśniewski, Müller, Nguyễn
    assert names.str.contains("-").sum() > 20 and names.str.contains(" ").sum() > 20
    assert names.str.starts_with("O'").sum() > 5


def test_records_carry_name_variants(three, linked):
    people = three.people.select("person", "given_name", "nickname", "surname", "maiden_name")
    web = linked.filter(pl.col("source") != "pos").join(people, on="person", suffix="_true")
    g = pl.col("given_name").str.strip_chars()
    nick = web.filter(g.str.to_lowercase() == pl.col("nickname").str.to_lowercase())
    assert nick.height / web.height > 0.05
    assert web.filter(g.str.contains(r"^[A-Z]\.?$")).height > 10  # initials
    swapped = web.filter(
        (g == pl.col("surname_true"))
        & (pl.col("surname").str.strip_chars() == pl.col("given_name_true"))
    )
    assert swapped.height > 10
    assert (
        web.filter(g.str.to_lowercase() == pl.col("given_name_true").str.to_lowercase())[
            "given_name"
        ]
        .str.contains(r"^[a-z]")
        .sum()
        > 50
    )  # typed in lower case
    typos = web.filter(
        (g.str.to_lowercase() != pl.col("given_name_true").str.to_lowercase())
        & (g.str.to_lowercase() != pl.col("nickname").str.to_lowercase()).fill_null(True)
        & (g.str.len_chars() > 3)
        & ~g.str.contains(" ")
        & (g != pl.col("surname_true"))
    )
    assert typos.height > 50
    assert (
        web["given_name"].null_count() > 20
        and web["surname"].is_in(["Unknown", "[not provided]"]).sum() > 5
    )
    maiden = web.filter(pl.col("maiden_name").is_not_null())
    assert maiden.filter(pl.col("surname").str.strip_chars() == pl.col("maiden_name")).height > 20


def test_junk_and_shared_values(three, linked):
    pos = three.records.filter(pl.col("source") == "pos")
    junk = set(heldout.JUNK_PHONES)
    top = pos.filter(pl.col("phone").is_not_null() & ~pl.col("phone").is_in(list(junk)))[
        "phone"
    ].value_counts(sort=True)
    assert top["count"][0] >= 30  # the store's number typed in for customers without one
    assert linked.filter(pl.col("phone") == top["phone"][0])["person"].n_unique() >= 30
    emails = three.records["email"]
    for placeholder in ("none@none.com", "noemail@gmail.com", "test@test.com"):
        assert (emails == placeholder).sum() > 5
    assert three.records["phone"].is_in(["0000000000", "1234567890", "555-555-5555"]).sum() > 10
    assert pos["full_name"].is_in(["GUEST", "N/A", "UNKNOWN"]).sum() > 5


def test_sources_export_in_their_own_formats(three):
    rec = three.records
    pos = rec.filter(pl.col("source") == "pos")
    shop = rec.filter(pl.col("source") == "shopify")
    sf = rec.filter(pl.col("source") == "salesforce")
    assert (
        pos["given_name"].null_count() == pos.height and pos["surname"].null_count() == pos.height
    )
    full = pos["full_name"].drop_nulls()
    assert (full == full.str.to_uppercase()).all() and full.str.contains(", ").mean() > 0.4
    pos_dates = pos["birthdate"].drop_nulls()
    assert pos_dates.str.contains(r"^(\d{1,2}/\d{1,2}/\d{2}|\d{2}/\d{2}/\d{4})$").all()
    assert (
        pos_dates.str.contains(r"^\d{1,2}/\d{1,2}/\d{2}$").any()
        and pos_dates.str.contains(r"/\d{4}$").any()
    )
    for layout in (
        r"^\(\d{3}\) \d{3}-\d{4}$",
        r"^\d{3}\.\d{3}\.\d{4}$",
        r"^\d{10}$",
        r"^\d{3}-\d{4}$",
    ):
        assert pos["phone"].drop_nulls().str.contains(layout).any(), layout
    assert (
        shop["birthdate"].null_count() == shop.height and shop["gender"].null_count() == shop.height
    )
    assert shop["phone"].drop_nulls().str.contains(r"^\+(1\d{10}|44\d{10})$").all()
    assert set(shop["country"].drop_nulls().unique()) == {"US", "CA", "GB"}
    assert shop["email"].drop_nulls().str.to_lowercase().str.strip_chars().is_unique().all()
    sf_dates = sf["birthdate"].drop_nulls()
    assert sf_dates.str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert (sf_dates == "1900-01-01").sum() > 3 and (
        pos_dates.is_in(["01/01/1900", "1/1/00", "01/01/1970", "1/1/70"])
    ).sum() > 3
    assert (
        sf["full_name"].null_count() == sf.height
        and sf["address"].drop_nulls().str.contains("\n").sum() > 50
    )
    assert (
        sf["state"].is_in(["British Columbia", "Ontario", "California"]).any()
        and sf["state"].is_in(["BC", "ON", "CA"]).any()
    )


def test_emails_look_like_real_ones(three, linked):
    people = three.people
    local = people["email"].drop_nulls().str.extract(r"^([^@]+)@", 1)
    domains = people["email"].drop_nulls().str.extract(r"@(.+)$", 1).value_counts(sort=True)
    assert domains["email"][0] == "gmail.com"
    for provider in (
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "icloud.com",
        "rogers.com",
        "shaw.ca",
        "btinternet.com",
    ):
        assert provider in domains["email"].to_list(), provider
    assert local.str.contains(r"\.").mean() > 0.25 and local.str.contains(r"\d").mean() > 0.2
    with_name = people.filter(pl.col("email").is_not_null()).select(
        hit=pl.col("email").str.contains(fold("surname").str.slice(0, 4), literal=True)
    )["hit"]
    assert (
        0.5 < with_name.mean() < 0.95
    )  # most derive from the name; handles like sunnydays88@ do not
    assert (
        people["email"].drop_nulls().is_unique().sum() < people["email"].drop_nulls().len()
    )  # shared ones
    per = (
        linked.filter(pl.col("email").is_not_null())
        .group_by("person")
        .agg(
            exact=pl.col("email").n_unique(),
            folded=pl.col("email").str.to_lowercase().str.strip_chars().n_unique(),
        )
    )
    assert per.filter((pl.col("exact") > 1) & (pl.col("folded") == 1)).height > 100  # case changes
    typo_domains = {"gmial.com", "gmail.con", "hotmial.com", "yaho.com", "yahoo.cm", "outlok.com"}
    assert (
        linked["email"].drop_nulls().str.extract(r"@(.+)$", 1).is_in(list(typo_domains)).sum() > 10
    )


def test_addresses_vary_like_real_exports(three):
    rec = three.records
    addr, postal = rec["address"].drop_nulls(), rec["postal"].drop_nulls()
    assert addr.str.contains(r" St\.?$| ST$").any() and addr.str.contains(r" Street$").any()
    assert addr.str.contains(r"(?i)\bapt\.? \w+").any() and addr.str.contains(r"#\w+").any()
    assert rec["address2"].drop_nulls().len() > 100
    assert addr.str.contains(r"^\w+-\d+ ").any()  # Canadian "4B-1234 Main St"
    assert addr.str.contains(r"\brue\b").any()  # Quebec
    assert postal.str.contains(r"^\d{5}$").any() and postal.str.contains(r"^\d{5}-\d{4}$").any()
    assert (
        postal.str.contains(r"^[A-Z]\d[A-Z] \d[A-Z]\d$").any()
        and postal.str.contains(r"^[A-Z]\d[A-Z]\d[A-Z]\d$").any()
    )
    assert postal.str.contains(r"^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$").any()  # UK
    people = three.people
    assert set(people["country"].unique()) == {"US", "CA", "GB"}


def _year(text: pl.Expr) -> pl.Expr:
    year = text.cast(pl.Int32, strict=False)
    return (
        pl.when(year < 100)
        .then(year + pl.when(year <= 25).then(2000).otherwise(1900))
        .otherwise(year)
    )


def strong_keys(out) -> pl.DataFrame:
    """Each record's strong identifiers, simply normalised: email (lower case, ``+tag`` removed),
    phone (last 10 digits), street address (its numbers and postal code, so "1234 N Main St Apt 5"
    and "5-1234 North Main Street" agree), birth date (both readings of a till's d/m or m/d date).
    Values five or more people share (none@none.com, 0000000000, a store's own number) and
    placeholder birth dates identify no one."""
    bd = pl.col("birthdate")
    parts = [bd.str.split("/").list.get(k, null_on_oob=True) for k in range(3)]
    a, b = (x.cast(pl.Int32, strict=False) for x in parts[:2])

    def on(month: pl.Expr, day: pl.Expr) -> pl.Expr:
        valid = month.is_between(1, 12) & day.is_between(1, 31)
        return pl.when(valid).then(pl.date(_year(parts[2]), month, day))

    address = pl.concat_str([pl.col("address"), pl.col("address2").fill_null("")], separator=" ")
    keys = out.records.join(out.truth, on=["source", "record_id"]).select(
        "person",
        "source",
        em=pl.col("email").str.to_lowercase().str.strip_chars().str.replace(r"\+[^@]*@", "@"),
        ph=pl.when(digits("phone").str.len_chars() == 10).then(digits("phone")),
        ad=address.str.extract_all(r"\d+").list.sort().list.join(" ") + "|" + postal_key("postal"),
        bd=pl.coalesce(bd.str.to_date("%Y-%m-%d", strict=False), on(a, b)),
        bd2=on(b, a),
    )
    placeholder = [heldout.date(1900, 1, 1), heldout.date(1970, 1, 1)]
    return keys.with_columns(
        *(pl.when(pl.col("person").n_unique().over(c) < 5).then(c).alias(c) for c in ("em", "ph")),
        *(pl.when(~pl.col(c).is_in(placeholder)).then(c).alias(c) for c in ("bd", "bd2")),
    )


def shares_strong() -> pl.Expr:
    def same(a: str, b: str) -> pl.Expr:
        return (pl.col(a) == pl.col(b)).fill_null(False)

    return (
        same("em", "em_b")
        | same("ph", "ph_b")
        | same("ad", "ad_b")
        | same("bd", "bd_b")
        | same("bd", "bd2_b")
        | same("bd2", "bd_b")
    )


@pytest.mark.parametrize("name", ["three", "retail"])
def test_records_of_one_person_share_an_identifier(name, request):
    """Real exports link up (the web shop and CRM by email, the till by phone): pairs of one
    person's records sharing only a name are rare (walk-ins, typos), unlike namesake pairs."""
    out = request.getfixturevalue(name)
    keys = strong_keys(out).with_row_index("i")
    same_person = keys.join(keys, on="person", suffix="_b").filter(pl.col("i") < pl.col("i_b"))
    assert same_person.height > 0.3 * out.people.height
    bare = same_person.select((~shares_strong()).mean()).item()
    assert bare <= 0.04, bare
    if name == "three":  # till walk-ins giving only a name are still there
        assert bare > 0.005, bare
        walk_in = keys.filter(
            (pl.col("source") == "pos") & pl.col("em").is_null() & pl.col("ph").is_null()
        )
        assert walk_in["person"].is_in(same_person["person"].implode()).sum() > 50
    # namesakes (different people with one name) share none of these identifiers
    ns = out.relations.filter(pl.col("kind") == "namesake")
    namesake_pairs = ns.join(keys, left_on="person_a", right_on="person").join(
        keys, left_on="person_b", right_on="person", suffix="_b"
    )
    assert namesake_pairs.height > 20
    assert namesake_pairs.select(shares_strong().sum()).item() == 0


def test_retail_exports_scenario(retail):
    rec, people = retail.records, retail.people
    assert 4_500 <= rec.height <= 5_500
    assert set(rec["source"].unique()) == {"shopify", "salesforce"}
    counts = dict(retail.relations.group_by("kind").len().iter_rows())
    assert 15 <= counts["namesake"] <= 70
    assert (
        counts["household"] > 100
        and counts.get("twin", 0) > 3
        and counts.get("shared_email", 0) > 10
    )
    share = people["country"].value_counts(normalize=True)
    by_country = dict(zip(share["country"], share["proportion"], strict=True))
    assert by_country["US"] > 0.4 and by_country["CA"] > 0.3 and 0 < by_country["GB"] < 0.1
