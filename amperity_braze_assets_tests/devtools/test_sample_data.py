"""Tests for the sample-data generator: determinism, ground truth, corruption, messiness.

Most tests run on the default (realistic) profile; the classic profile is checked against
digests of what the generator wrote before profiles existed.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from amperity_braze_assets.devtools import sample_names
from amperity_braze_assets.devtools.sample_data import (
    PROFILES,
    RELATION_KINDS,
    _make_realistic_persons,
    generate_sample_data,
)
from amperity_braze_assets.devtools.sample_products import CATALOGUE

CUSTOMERS = 2_000
SEED = 7
POS_COLUMNS = 13
LOYALTY_COLUMNS = 13


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    data_dir = tmp_path_factory.mktemp("sample_a")
    return data_dir, generate_sample_data(data_dir, customers=CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def truth(generated) -> pl.DataFrame:
    data_dir, _ = generated
    return pl.read_parquet(data_dir / "truth" / "sample_truth.parquet")


def _csv_rows(path: Path, delimiter: str) -> tuple[list[str], list[bytes], list[list[str]]]:
    """Header, raw data lines and parsed rows; tolerant of the deliberately corrupt lines."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]  # no field holds a line break, so lines are rows
    header = lines[0].decode().split(delimiter)
    data = lines[1:]
    rows = [
        next(csv.reader([line.decode("utf-8", errors="surrogateescape")], delimiter=delimiter))
        for line in data
    ]
    return header, data, rows


def _files(data_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(data_dir)): p.read_bytes()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file()
    }


def _truth_of(truth: pl.DataFrame, source: str) -> pl.DataFrame:
    return truth.filter(pl.col("source") == source).sort("row_index")


_PLACEHOLDER_DATES = {date.fromisoformat(d) for d, _ in sample_names.PLACEHOLDER_BIRTH_DATES}


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(generated, tmp_path):
    data_dir, _ = generated
    generate_sample_data(tmp_path, customers=CUSTOMERS, seed=SEED)
    first, second = _files(data_dir), _files(tmp_path)
    assert set(first) == set(second)
    assert "sources/web/web_accounts.parquet" in first
    for name, content in first.items():
        assert content == second[name], name


def test_different_seed_gives_different_data(generated, tmp_path):
    data_dir, _ = generated
    generate_sample_data(tmp_path, customers=CUSTOMERS, seed=SEED + 1)
    first, second = _files(data_dir), _files(tmp_path)
    for name in (
        "sources/pos/pos_customers.csv",
        "sources/web/web_accounts.parquet",
        "sources/loyalty/loyalty_members.csv",
        "sources/orders/orders.csv",
    ):
        assert first[name] != second[name], name


# --- files, summary and ground truth -------------------------------------------------------


def test_summary_matches_files(generated, truth):
    data_dir, summary = generated
    assert summary["persons"] == CUSTOMERS
    for name, path in summary["paths"].items():
        assert Path(path).is_file(), name
    _, pos_lines, _ = _csv_rows(data_dir / "sources/pos/pos_customers.csv", ",")
    _, loyalty_lines, _ = _csv_rows(data_dir / "sources/loyalty/loyalty_members.csv", ";")
    web = pl.read_parquet(data_dir / "sources/web/web_accounts.parquet")
    _, _, order_rows = _csv_rows(data_dir / "sources/orders/orders.csv", ",")
    assert summary["records"] == {
        "pos": len(pos_lines),
        "web": web.height,
        "loyalty": len(loyalty_lines),
    }
    assert summary["orders"] == len({row[0] for row in order_rows})  # one row per line item
    counts = dict(truth.group_by("source").len().iter_rows())
    assert counts == summary["records"]
    # roughly 60% / 55% / 35% of persons per source, plus a few duplicate records
    assert 0.55 < counts["pos"] / CUSTOMERS < 0.72
    assert 0.50 < counts["web"] / CUSTOMERS < 0.65
    assert 0.30 < counts["loyalty"] / CUSTOMERS < 0.42


def test_truth_schema_and_every_person_present(truth):
    assert truth.schema["source"] == pl.String
    assert truth.schema["record_id"] == pl.String
    assert truth.schema["person_id"] == pl.Int64
    assert truth.schema["is_corrupt"] == pl.Boolean
    assert truth.schema["corruption"] == pl.String
    assert set(truth["person_id"].unique()) == set(range(1, CUSTOMERS + 1))
    per_person = truth.group_by("person_id").agg(pl.col("source").n_unique().alias("sources"))
    assert per_person["sources"].is_between(1, 3).all()
    # keys are unique within a source (the corrupt rows with an empty key aside)
    keyed = truth.filter(pl.col("record_id") != "")
    assert keyed.select("source", "record_id").is_unique().all()
    assert (truth["is_corrupt"] == truth["corruption"].is_not_null()).all()


def test_pos_rows_match_truth(generated, truth):
    data_dir, _ = generated
    header, lines, rows = _csv_rows(data_dir / "sources/pos/pos_customers.csv", ",")
    assert (
        header
        == "CUST_NO,FIRST_NM,LAST_NM,EMAIL_ADDR,PHONE,ADDR1,ADDR2,CITY,ST,ZIP,DOB,STORE_ID,UPDATED".split(
            ","
        )
    )
    expected = _truth_of(truth, "pos")
    assert expected["row_index"].to_list() == list(range(len(rows)))
    for line, row, record in zip(lines, rows, expected.iter_rows(named=True), strict=True):
        reason = record["corruption"]
        if reason is None:
            line.decode("utf-8")  # strict
            assert len(row) == POS_COLUMNS
            assert re.fullmatch(r"P\d{8}", row[0])
            assert row[0] == record["record_id"]
        elif reason == "extra_unquoted_field":
            assert len(row) == POS_COLUMNS + 1
            assert row[0] == record["record_id"]
        elif reason == "invalid_utf8":
            assert b"\xff\xfe" in line
            with pytest.raises(UnicodeDecodeError):
                line.decode("utf-8")
            assert row[0] == record["record_id"]
        elif reason == "empty_primary_key":
            assert row[0] == "" and record["record_id"] == ""
            assert len(row) == POS_COLUMNS
        else:
            pytest.fail(f"unexpected corruption {reason}")


def test_loyalty_rows_match_truth(generated, truth):
    data_dir, _ = generated
    header, lines, rows = _csv_rows(data_dir / "sources/loyalty/loyalty_members.csv", ";")
    assert header[0] == "member_no" and header[-1] == "joined" and len(header) == LOYALTY_COLUMNS
    expected = _truth_of(truth, "loyalty")
    assert len(rows) == expected.height
    for line, row, record in zip(lines, rows, expected.iter_rows(named=True), strict=True):
        line.decode("utf-8")
        reason = record["corruption"]
        if reason is None:
            assert len(row) == LOYALTY_COLUMNS
            assert re.fullmatch(r"LY-\d{10}", row[0]) and row[0] == record["record_id"]
            assert row[10] in {"Bronze", "Silver", "Gold", "Platinum"}
            int(row[11])
        elif reason == "too_few_fields":
            assert len(row) < LOYALTY_COLUMNS
            assert row[0] == record["record_id"]
        elif reason == "empty_primary_key":
            assert row[0] == "" and record["record_id"] == "" and len(row) == LOYALTY_COLUMNS
        else:
            pytest.fail(f"unexpected corruption {reason}")


def test_web_rows_match_truth(generated, truth):
    data_dir, _ = generated
    web = pl.read_parquet(data_dir / "sources/web/web_accounts.parquet")
    assert web.schema["account_id"] == pl.Int64
    assert web.schema["created_at"] == pl.Datetime("us", "UTC")
    assert web.schema["updated_at"] == pl.Datetime("us", "UTC")
    assert web["account_id"].is_unique().all()
    assert (web["created_at"] <= web["updated_at"]).all()
    expected = _truth_of(truth, "web")
    assert web["account_id"].cast(pl.String).to_list() == expected["record_id"].to_list()
    assert not expected["is_corrupt"].any()


def test_person_ids_consistent_across_sources(generated, truth):
    """The same person's records agree on what never gets mangled: the birthdate."""
    data_dir, _ = generated
    web = pl.read_parquet(data_dir / "sources/web/web_accounts.parquet").with_row_index("row_index")
    web_dates = web.join(_truth_of(truth, "web"), on="row_index").select(
        "person_id", pl.col("birth_date").str.to_date("%Y-%m-%d").alias("web_dob")
    )
    _, _, rows = _csv_rows(data_dir / "sources/loyalty/loyalty_members.csv", ";")
    loyalty = _truth_of(truth, "loyalty").with_columns(
        pl.Series("birthday", [row[9] if len(row) > 9 else "" for row in rows])
    )
    loyalty_dates = loyalty.select(
        "person_id",
        pl.coalesce(
            pl.col("birthday").str.to_date("%d.%m.%Y", strict=False),
            pl.col("birthday").str.to_date("%b %-d %Y", strict=False),
        ).alias("loyalty_dob"),
    )
    both = web_dates.join(loyalty_dates, on="person_id").drop_nulls()
    # The realistic profile types a placeholder (1900-01-01, ...) on a few records instead of
    # the birthdate; those are junk by design, not a disagreement about the person.
    placeholders = list(_PLACEHOLDER_DATES)
    both = both.filter(
        ~pl.col("web_dob").is_in(placeholders) & ~pl.col("loyalty_dob").is_in(placeholders)
    )
    assert both.height > 50
    assert (both["web_dob"] == both["loyalty_dob"]).all()


def test_corrupt_rows_present_in_every_csv(generated, truth):
    _, summary = generated
    reasons = (
        truth.filter(pl.col("is_corrupt")).group_by("source").agg(pl.col("corruption").unique())
    )
    reasons = {source: set(values) for source, values in reasons.iter_rows()}
    assert reasons["pos"] == {"extra_unquoted_field", "invalid_utf8", "empty_primary_key"}
    assert reasons["loyalty"] == {"too_few_fields", "empty_primary_key"}
    assert "web" not in reasons
    for name in ("pos", "loyalty", "orders"):
        assert summary["corrupt_rows"][name] >= 3
    assert summary["corrupt_rows"]["web"] == 0
    corrupt_share = truth["is_corrupt"].mean()
    assert corrupt_share < 0.01  # a few lines, not a flood, even at small N


def test_orders_reference_existing_records(generated, truth):
    data_dir, summary = generated
    header, _, rows = _csv_rows(data_dir / "sources/orders/orders.csv", ",")
    assert header == [
        "order_id",
        "customer_source",
        "customer_id",
        "amount",
        "currency",
        "ordered_at",
        "channel",
        "sku",
        "product_name",
        "quantity",
        "unit_price",
    ]
    valid = truth.filter(~pl.col("is_corrupt"))
    person_of = {
        (s, r): p for s, r, p in valid.select("source", "record_id", "person_id").iter_rows()
    }
    reference = datetime.strptime(summary["reference_time"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )
    orders_per_person: dict[int, int] = defaultdict(int)
    malformed = 0
    # The order's fields are on its first row; the rows after it hold only its id and an item.
    first_rows = [row for row in rows if row[1:3] != ["", ""]]
    for row in first_rows:
        assert (row[1], row[2]) in person_of, row
        orders_per_person[person_of[row[1], row[2]]] += 1
        if len(row) != len(header):
            malformed += 1
            continue
        try:
            amount = float(row[3].removeprefix("$"))
            ordered_at = datetime.strptime(row[5], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            malformed += 1
            continue
        assert amount > 0 and row[4] == "USD" and row[6] in {"store", "web", "app"}
        assert reference - timedelta(days=3 * 366) <= ordered_at <= reference
    assert malformed == summary["corrupt_rows"]["orders"]
    assert len({row[0] for row in first_rows}) == len(first_rows) == summary["orders"]
    assert all(row[3:7] == ["", "", "", ""] for row in rows if row not in first_rows)
    counts = list(orders_per_person.values())
    assert max(counts) <= 12
    # skewed: one-and-done is the most common count among buyers
    assert max(set(counts), key=counts.count) == 1


def _order_lines(data_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The well-formed orders (id, amount in cents, time) and every line item (id, sku,
    product, quantity, unit price in cents) of the orders file, read as text."""
    text = pl.read_csv(
        data_dir / "sources/orders/orders.csv", infer_schema=False, truncate_ragged_lines=True
    )
    cents = (pl.col("amount").str.strip_prefix("$").cast(pl.Float64, strict=False) * 100).round()
    # (a row whose unquoted thousands separator shifted its fields has no currency there)
    orders = text.filter(pl.col("currency") == "USD").select(
        "order_id",
        cents.cast(pl.Int64).alias("cents"),
        pl.col("ordered_at").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False, time_zone="UTC"),
    )
    lines = text.select(
        "order_id",
        "sku",
        "product_name",
        pl.col("quantity").cast(pl.Int64, strict=False),
        (pl.col("unit_price").cast(pl.Float64, strict=False) * 100).round().cast(pl.Int64),
    )
    return orders, lines


def test_order_lines_sum_to_the_order_amount(generated):
    data_dir, summary = generated
    orders, lines = _order_lines(data_dir)
    # The corrupt rows aside (an unquoted thousands separator shifts that row's fields), every
    # line is an item of the catalogue, 1-3 units at a positive price.
    shifted = lines.filter(pl.col("quantity").is_null() | pl.col("unit_price").is_null())
    assert shifted.height <= summary["corrupt_rows"]["orders"]
    lines = lines.filter(pl.col("quantity").is_not_null() & pl.col("unit_price").is_not_null())
    catalogue = {(sku, name) for sku, name, _ in CATALOGUE}
    assert set(lines.select("sku", "product_name").iter_rows()) <= catalogue
    assert lines["quantity"].is_between(1, 3).all() and (lines["unit_price"] > 0).all()
    assert (lines["quantity"] == 1).mean() > 0.75  # mostly single units
    per_order = lines.group_by("order_id").agg(
        pl.len().alias("lines"),
        pl.col("sku").n_unique().alias("skus"),
        (pl.col("quantity") * pl.col("unit_price")).sum().alias("line_cents"),
    )
    # Every order has 1-4 lines, each product once, and they add up to its amount exactly.
    assert per_order.height == summary["orders"]
    assert per_order["lines"].is_between(1, 4).all()
    assert (per_order["lines"] == per_order["skus"]).all()
    assert per_order["lines"].max() == 4 and (per_order["lines"] == 1).mean() < 0.7
    summed = orders.filter(pl.col("cents").is_not_null()).join(per_order, on="order_id")
    assert summed.height >= summary["orders"] - summary["corrupt_rows"]["orders"]
    assert (summed["line_cents"] == summed["cents"]).all()


def test_some_orders_fall_in_the_last_30_days(generated):
    """The sync sends purchases of the last event_lookback_days (30 by default): the sample
    has some to send."""
    data_dir, summary = generated
    orders, _ = _order_lines(data_dir)
    reference = datetime.strptime(summary["reference_time"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )
    recent = orders.filter(pl.col("ordered_at") >= reference - timedelta(days=30)).height
    assert 0.01 * summary["orders"] < recent < 0.05 * summary["orders"]


# --- messiness -----------------------------------------------------------------------------


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)[-10:]


def test_pos_messiness(generated, truth):
    data_dir, _ = generated
    _, _, rows = _csv_rows(data_dir / "sources/pos/pos_customers.csv", ",")
    rows = [row for row in rows if len(row) == POS_COLUMNS]
    phones = [row[4] for row in rows]
    formats = {
        "paren": r"\(\d{3}\) \d{3}-\d{4}",
        "dots": r"\d{3}\.\d{3}\.\d{4}",
        "plain": r"\d{10}",
        "dashes": r"\d{3}-\d{3}-\d{4}",
    }
    for name, pattern in formats.items():
        assert sum(bool(re.fullmatch(pattern, p)) for p in phones) > 20, name
    assert "0000000000" in phones or "555-555-5555" in phones
    dobs = [row[10] for row in rows if row[10]]
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4}", d) for d in dobs)
    assert any(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}", d) and len(d) < 10 for d in dobs)
    first_names = [row[1] for row in rows if row[1]]
    assert sum(name.isupper() for name in first_names) > len(first_names) / 3
    assert any(name != name.strip() for name in first_names)
    assert any("," in row[5] for row in rows)  # a quoted address with a comma
    emails = [row[3] for row in rows]
    assert "test@test.com" in emails or "none@none.com" in emails

    # A store's phone is typed for many different customers.
    _, _, all_rows = _csv_rows(data_dir / "sources/pos/pos_customers.csv", ",")
    persons_by_phone: dict[str, set[int]] = defaultdict(set)
    for row, person in zip(all_rows, _truth_of(truth, "pos")["person_id"], strict=True):
        phone = _digits(row[4])
        if len(phone) == 10 and len(set(phone)) > 2:  # junk like 0000000000 aside
            persons_by_phone[phone].add(person)
    assert max(len(p) for p in persons_by_phone.values()) >= 10


def test_emails_have_tags_typos_and_case(generated):
    data_dir, _ = generated
    _, _, pos = _csv_rows(data_dir / "sources/pos/pos_customers.csv", ",")
    web = pl.read_parquet(data_dir / "sources/web/web_accounts.parquet")
    emails = [row[3] for row in pos if len(row) > 3] + web["email"].drop_nulls().to_list()
    assert sum(bool(re.search(r"\+[a-z0-9]+@", e)) for e in emails) >= 10
    assert sum(e.isupper() and "@" in e for e in emails) >= 10
    assert "" in [row[3] for row in pos]  # missing
    known_domains = {d for d, _ in sample_names.EMAIL_DOMAINS} | {
        "test.com",
        "none.com",
        "example.com",
        "email.com",
    }
    assert any("@" in e and e.lower().split("@")[1] not in known_domains for e in emails)  # typo


def test_web_and_loyalty_formats(generated):
    data_dir, _ = generated
    web = pl.read_parquet(data_dir / "sources/web/web_accounts.parquet")
    names = web["full_name"].drop_nulls().to_list()
    assert any(re.fullmatch(r"\S+, \S+", n.strip()) for n in names)  # Last, First
    assert any(re.fullmatch(r"\S+ [A-Z]\. \S+", n.strip()) for n in names)  # middle initial
    phones = web["phone_number"].drop_nulls().to_list()
    assert any(re.fullmatch(r"\+1 \d{3} \d{3} \d{4}", p) for p in phones)
    assert any(re.fullmatch(r"\+1\d{10}", p) for p in phones)
    postal = web["postal_code"].drop_nulls().to_list()
    assert any(re.fullmatch(r"\d{5}-\d{4}", p) for p in postal)
    assert any(re.fullmatch(r"\d{4}", p) for p in postal)  # lost its leading zero
    assert {"US", "USA", "United States", None} <= set(web["country"].to_list())
    assert any(len(r) > 2 for r in web["region"].drop_nulls())  # full state names
    assert set(web["gender"].drop_nulls()) <= {"male", "female", "M", "F", "other"}

    _, _, rows = _csv_rows(data_dir / "sources/loyalty/loyalty_members.csv", ";")
    birthdays = [row[9] for row in rows if len(row) == LOYALTY_COLUMNS and row[9]]
    assert any(re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", b) for b in birthdays)
    assert any(re.fullmatch(r"[A-Z][a-z]{2} \d{1,2} \d{4}", b) for b in birthdays)


def test_nicknames_duplicates_and_households(generated, truth):
    data_dir, _ = generated
    _, _, rows = _csv_rows(data_dir / "sources/pos/pos_customers.csv", ",")
    given_names = {g.upper() for g, _ in sample_names.GIVEN_NAMES}
    nicknames = {nick.upper() for _, nick in sample_names.NICKNAMES} - given_names
    assert any(row[1].strip().upper() in nicknames for row in rows)

    # ~4% of persons have two records in one source
    duplicated = truth.group_by("source", "person_id").len().filter(pl.col("len") > 1)
    assert 0.02 * CUSTOMERS < duplicated.height < 0.07 * CUSTOMERS

    # Households: different persons with the same phone and street address but different
    # given names (store phones and junk share a phone, not a house number and ZIP).
    pos_truth = _truth_of(truth, "pos")
    members: dict[tuple[str, str, str], dict[int, str]] = defaultdict(dict)
    for row, person in zip(rows, pos_truth["person_id"], strict=True):
        if len(row) != POS_COLUMNS or len(_digits(row[4])) != 10:
            continue
        house_number = row[5].split(" ")[0]
        members[_digits(row[4]), house_number, row[9]][person] = row[1].strip().upper()
    households = [m for m in members.values() if len(m) >= 2]
    assert len(households) >= 5
    assert sum(len(set(m.values())) >= 2 for m in households) >= 5


def test_small_and_tiny_inputs(tmp_path):
    summary = generate_sample_data(tmp_path / "tiny", customers=10, seed=3)
    truth = pl.read_parquet(tmp_path / "tiny" / "truth" / "sample_truth.parquet")
    assert truth.height == sum(summary["records"].values())
    assert set(truth["person_id"]) == set(range(1, 11))
    with pytest.raises(ValueError):
        generate_sample_data(tmp_path / "none", customers=0)


# --- profiles ------------------------------------------------------------------------------

# sha256 of what the generator wrote before it had profiles (commit dfb5e80) for customers=300,
# seed=5: CSV files and summary byte for byte, parquet files by their content written as CSV
# (a parquet file's bytes also carry the version of the polars that wrote it). orders.csv is
# the one exception: since the orders have line items (issue 18, so the demo sends purchases)
# it is one row per item; its digest is that file's, and the orders themselves are still the
# original's (_ORIGINAL_ORDERS_DIGEST, checked on the order fields of each order's first row).
_CLASSIC_DIGESTS = {
    "sources/pos/pos_customers.csv": "507a5683eafbaf68bfac50e15e7eb4e097cdb861da97a815b985ee38febe8130",
    "sources/loyalty/loyalty_members.csv": "a2c63ea7fda4c61ad44cd772ba070f24cea02acde43434f1dab2872ec34576c3",
    "sources/orders/orders.csv": "7d7999bd4701e22aae9f1cbeb1c448e673f93e0d46fcadfef98f10a108386179",
    "sources/web/web_accounts.parquet": "547f1385c966d1a8c68efb92319b308bcda19fd0c3947255b0f4d8a5ceb51b28",
    "truth/sample_truth.parquet": "43b2a06db843c65e0f3b98ee54b269410d9e18f219d41dda8715d839423d5c0e",
    "truth/summary.json": "e063087fa383fdb2a0e9f36190363e4907d46731efc5722fc89d1d283a95828c",
}


_ORIGINAL_ORDERS_DIGEST = "c385042418e21d5b17a7ae4112f99678543a0c8887f8450bfcfe1f79129991a0"


def _orders_without_items_digest(path: Path) -> str:
    """sha256 of the orders file as it was before line items: each order's first row without
    its four item fields (the rows after it only add items)."""
    lines = path.read_bytes().split(b"\n")[:-1]
    first_rows = [line for line in lines if not line.split(b",")[1:3] == [b"", b""]]
    kept = [b",".join(line.split(b",")[:-4]) for line in first_rows]
    return hashlib.sha256(b"\n".join(kept) + b"\n").hexdigest()


def _digest(data_dir: Path, name: str) -> str:
    if name.endswith(".parquet"):
        return hashlib.sha256(pl.read_parquet(data_dir / name).write_csv().encode()).hexdigest()
    return hashlib.sha256((data_dir / name).read_bytes()).hexdigest()


def test_classic_profile_is_the_original_generator(tmp_path):
    first, second, realistic = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    summary = generate_sample_data(first, customers=300, seed=5, profile="classic")
    assert {name: _digest(first, name) for name in _CLASSIC_DIGESTS} == _CLASSIC_DIGESTS
    orders = first / "sources/orders/orders.csv"
    assert _orders_without_items_digest(orders) == _ORIGINAL_ORDERS_DIGEST
    assert "profile" not in summary and "relations" not in summary["paths"]
    generate_sample_data(second, customers=300, seed=5, profile="classic")
    assert _files(first) == _files(second)
    # Its relations file lists its households, which are all pairs.
    relations = pl.read_parquet(first / "truth" / "relations.parquet")
    assert set(relations["kind"]) == {"household"}
    assert relations.height == summary["households"] == 12
    assert generate_sample_data(realistic, customers=300, seed=5)["profile"] == "realistic"
    pos = "sources/pos/pos_customers.csv"
    assert (first / pos).read_bytes() != (realistic / pos).read_bytes()


def test_unknown_profile_is_refused(tmp_path):
    assert PROFILES == ("realistic", "classic")
    with pytest.raises(ValueError, match="'realistic', 'classic'"):
        generate_sample_data(tmp_path / "x", customers=10, profile="hard")
    assert not (tmp_path / "x").exists()


# --- the realistic profile: relations and the people behind them -------------------------

CUSTOMERS_LARGE = 20_000
_REFERENCE = int(datetime(2025, 1, 15, 12, tzinfo=UTC).timestamp())


def test_relations_reference_existing_persons(generated, truth):
    data_dir, summary = generated
    path = data_dir / "truth" / "relations.parquet"
    assert summary["paths"]["relations"] == str(path)
    relations = pl.read_parquet(path)
    assert relations.schema == {"person_a": pl.Int64, "person_b": pl.Int64, "kind": pl.String}
    assert set(relations["kind"]) == set(RELATION_KINDS)
    assert (relations["person_a"] < relations["person_b"]).all()
    persons = set(truth["person_id"])
    assert set(relations["person_a"]) <= persons and set(relations["person_b"]) <= persons
    assert relations.select("person_a", "person_b").is_unique().all()
    counts = dict(relations.group_by("kind").len().iter_rows())
    assert counts == summary["relations"]
    # 2,000 persons: 1.5% namesake pairs, 0.4% twin pairs, 0.3% Jr/Sr pairs; 80 two-person and
    # 16 three- or four-person households (3 or 6 pairs each), a quarter sharing an email.
    assert (counts["namesake"], counts["twin"], counts["jr_sr"]) == (30, 8, 6)
    assert 80 + 16 * 3 <= counts["household"] + counts["shared_email"] <= 80 + 16 * 6
    assert 10 <= counts["shared_email"] <= 40
    assert summary["households"] == 96 + 8 + 6  # households, twins and Jr/Sr live together


@pytest.fixture(scope="module")
def people() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The realistic profile's clean persons and relations, before any source mangles them."""
    return _make_realistic_persons(np.random.default_rng(11), CUSTOMERS_LARGE, _REFERENCE)


def _pairs(people, kind: str) -> pl.DataFrame:
    """The relations of one kind with both persons' clean values, suffixed _a and _b."""
    persons, relations = people
    view = persons.select(
        "person_id", "given", "surname", "gender", "birth_date", "phone", "household_id",
        pl.concat_str(["house_no", "street", "suffix_abbr", "unit", "city", "zip"],
                      separator="|", ignore_nulls=True).alias("address"),
        pl.concat_str(["email_local", pl.lit("@"), "email_domain"]).alias("email"),
    )  # fmt: skip
    pairs = relations.filter(pl.col("kind") == kind)
    for side in ("a", "b"):
        named = view.rename({c: f"{c}_{side}" for c in view.columns})
        pairs = pairs.join(named, left_on=f"person_{side}", right_on=f"person_id_{side}")
    return pairs


def _shared(pairs: pl.DataFrame, column: str) -> pl.Series:
    """Whether both persons have the value and it is the same (two missing emails are not,
    nor two persons outside any household)."""
    shared = (pairs[f"{column}_a"] == pairs[f"{column}_b"]).fill_null(False)
    return shared & (pairs[f"{column}_a"] != -1) if column == "household_id" else shared


def test_namesakes_share_the_full_name_and_nothing_else(people):
    pairs = _pairs(people, "namesake")
    assert pairs.height == 300  # 1.5% of 20,000
    assert _shared(pairs, "given").all() and _shared(pairs, "surname").all()
    for column in ("birth_date", "email", "phone", "address", "household_id"):
        assert not _shared(pairs, column).any(), column
    assert pairs["email_a"].is_not_null().sum() > 250


def test_twins_share_birth_surname_and_home_not_given_name(people):
    pairs = _pairs(people, "twin")
    assert pairs.height == 80
    for column in ("birth_date", "surname", "address", "phone", "household_id"):
        assert _shared(pairs, column).all(), column
    assert not _shared(pairs, "given").any()
    assert not _shared(pairs, "email").any()  # each has their own address, if any
    similar = {frozenset(pair) for pair in sample_names.SIMILAR_GIVEN_NAMES}
    named_alike = sum(
        frozenset(names) in similar for names in pairs.select("given_a", "given_b").iter_rows()
    )
    assert 10 <= named_alike <= 40  # 30% of 80


def test_households_jr_sr_and_shared_emails(people):
    persons, _ = people
    sizes = persons.filter(pl.col("household_id") >= 0).group_by("household_id").len()
    assert set(sizes["len"]) == {2, 3, 4}
    assert (sizes["len"] >= 3).sum() == 160  # 0.8% of 20,000, besides 800 pairs
    for kind in ("household", "shared_email", "jr_sr"):
        pairs = _pairs(people, kind)
        for column in ("address", "phone", "household_id"):
            assert _shared(pairs, column).all(), (kind, column)
    household = _pairs(people, "household")
    assert not _shared(household, "given").any()
    assert not _shared(household, "email").any()
    shared = _pairs(people, "shared_email")
    assert 150 <= shared.height <= 300 and _shared(shared, "email").all()
    assert not _shared(shared, "given").any()
    juniors = _pairs(people, "jr_sr")
    assert juniors.height == 60
    for column in ("given", "surname"):
        assert _shared(juniors, column).all(), column
    assert (juniors["gender_a"] == "M").all() and (juniors["gender_b"] == "M").all()
    years_apart = (juniors["birth_date_b"] - juniors["birth_date_a"]).dt.total_days().abs() / 365.25
    assert years_apart.is_between(24.9, 30.1).all()
    generations = persons.filter(pl.col("generation").is_not_null())["generation"]
    assert generations.value_counts().sort("generation").rows() == [("Jr", 60), ("Sr", 60)]


def test_birth_dates_cover_adult_ages_and_crowd_with_size(people):
    persons, _ = people
    age = (_REFERENCE // 86_400 - persons["birth_date"].cast(pl.Int32)) / 365.2425
    assert age.min() >= 18 and age.max() < 91
    assert 0.65 < age.is_between(25, 65, closed="left").mean() < 0.85
    assert age.lt(25).mean() < 0.12 and age.ge(80).mean() < 0.08
    decades = (age // 10).value_counts().sort("birth_date")["count"] / persons.height
    assert decades.len() == 9  # teens (18, 19) to 90s (90 only)
    assert decades[1:5].min() > 0.15 and decades[8] < 0.01  # each of 20s-50s; the 90s

    def persons_per_date(frame: pl.DataFrame) -> float:
        return frame.height / frame["birth_date"].n_unique()

    small, _ = _make_realistic_persons(np.random.default_rng(5), 2_000, _REFERENCE)
    big, _ = _make_realistic_persons(np.random.default_rng(5), 200_000, _REFERENCE)
    crowding = [persons_per_date(f) for f in (small, persons, big)]
    assert crowding == sorted(crowding)
    assert crowding[0] < 1.1 and 1.4 < crowding[1] < 2.5 and crowding[2] > 6
    assert big["birth_date"].value_counts()["count"].max() >= 20


def test_names_have_a_heavy_head_and_a_long_tail(people):
    persons, _ = people
    surnames = persons["surname"].value_counts(sort=True)
    assert surnames["surname"][0] == "Smith"
    assert 0.006 < surnames["count"][0] / CUSTOMERS_LARGE < 0.016
    assert 0.045 < surnames["count"].head(10).sum() / CUSTOMERS_LARGE < 0.09
    rare = surnames.filter(pl.col("count") <= 5)["count"].sum() / CUSTOMERS_LARGE
    assert rare > 0.3 and surnames.height > 8_000
    for gender in ("M", "F"):
        given = persons.filter(pl.col("gender") == gender)["given"].value_counts(sort=True)
        share = given["count"].head(10).sum() / given["count"].sum()
        assert 0.14 < share < 0.23, gender
    non_ascii = ~persons["surname"].str.contains(r"^[\x00-\x7F]*$")
    assert 0.004 < non_ascii.mean() < 0.03
    assert persons["surname"].str.contains("-").any()
    assert persons["surname"].str.contains("'").any()
    assert (~persons["given"].str.contains(r"^[\x00-\x7F]*$")).mean() > 0.005


# --- the realistic profile in the written files ------------------------------------------


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> tuple[Path, dict]:
    data_dir = tmp_path_factory.mktemp("realistic_large")
    return data_dir, generate_sample_data(data_dir, customers=CUSTOMERS_LARGE, seed=13)


@pytest.fixture(scope="module")
def large_classic(tmp_path_factory) -> tuple[Path, dict]:
    data_dir = tmp_path_factory.mktemp("classic_large")
    summary = generate_sample_data(data_dir, customers=CUSTOMERS_LARGE, seed=13, profile="classic")
    return data_dir, summary


SOURCES = ("pos", "web", "loyalty")
_JUNK_EMAILS = {e.lower() for e in sample_names.JUNK_EMAILS}
_WORK_DOMAINS = {d for d, _ in sample_names.WORK_EMAIL_DOMAINS}


def _fold(text: str | None) -> str | None:
    """Upper case without diacritics or padding; None when empty."""
    if text is None or not text.strip():
        return None
    decomposed = unicodedata.normalize("NFKD", text.strip().upper())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _clean_email(text: str | None) -> str | None:
    if not text or "@" not in text or text.strip().lower() in _JUNK_EMAILS:
        return None
    local, _, domain = text.strip().lower().partition("@")
    return local.split("+")[0] + "@" + domain


def _clean_phone(text: str | None) -> str | None:
    """Ten digits; None for junk (0000000000, 555-555-5555) and the stores' 555 numbers."""
    digits = re.sub(r"\D", "", text or "")[-10:]
    if len(digits) != 10 or len(set(digits)) <= 2 or digits[3:6] == "555":
        return None
    return digits


def _clean_place(street: str | None, postal: str | None) -> str | None:
    """House number and five-digit ZIP: what a mover changes and messiness leaves alone."""
    house = (street or "").strip().split(" ")[0]
    zip5 = re.sub(r"\D", "", (postal or "").split("-")[0])
    return f"{house}|{zip5.zfill(5)}" if house.isdigit() and zip5 else None


def _clean_birth(text: str | None, latest: date) -> date | None:
    """A birth date in any of the sources' formats; None for placeholders."""
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%b %d %Y", "%m/%d/%y"):
        try:
            parsed = datetime.strptime((text or "").strip(), fmt).date()
        except ValueError:
            continue
        if parsed > latest:  # a two-digit year from the wrong century
            parsed = parsed.replace(year=parsed.year - 100)
        return None if parsed in _PLACEHOLDER_DATES else parsed
    return None


def _tidy_records(data_dir: Path, summary: dict) -> pl.DataFrame:
    """Every valid customer record of the three sources, normalised the same way."""
    truth = pl.read_parquet(data_dir / "truth" / "sample_truth.parquet")
    latest = datetime.strptime(summary["reference_time"][:10], "%Y-%m-%d").date()
    rows = []

    def add(source, person, given, surname, email, phone, street, postal, dob):
        rows.append(
            (source, person, _fold(given), _fold(surname), _clean_email(email),
             _clean_phone(phone), _clean_place(street, postal), _clean_birth(dob, latest))
        )  # fmt: skip

    people = {s: _truth_of(truth, s).select("person_id", "is_corrupt").rows() for s in SOURCES}
    _, _, pos = _csv_rows(data_dir / "sources/pos/pos_customers.csv", ",")
    for row, (person, corrupt) in zip(pos, people["pos"], strict=True):
        if not corrupt:
            add("pos", person, row[1], row[2], row[3], row[4], row[5], row[9], row[10])
    _, _, loyalty = _csv_rows(data_dir / "sources/loyalty/loyalty_members.csv", ";")
    for row, (person, corrupt) in zip(loyalty, people["loyalty"], strict=True):
        if not corrupt:
            add("loyalty", person, *row[1:6], row[8], row[9])
    web = pl.read_parquet(data_dir / "sources/web/web_accounts.parquet")
    for record, (person, _) in zip(web.iter_rows(named=True), people["web"], strict=True):
        name = (record["full_name"] or "").strip()
        if "," in name:  # Last, First
            surname, _, given = name.partition(",")
        else:
            tokens = name.split()
            given, surname = (tokens[0], tokens[-1]) if len(tokens) > 1 else (name, None)
        add("web", person, given, surname, record["email"],
            record["phone_number"], record["street"], record["postal_code"], record["birth_date"])  # fmt: skip
    columns = ["source", "person_id", "given", "surname", "email", "phone", "place", "birth"]
    return pl.DataFrame(rows, schema=columns, orient="row").with_row_index("record")


@pytest.fixture(scope="module")
def large_records(large) -> pl.DataFrame:
    return _tidy_records(*large)


def _moved_pairs(records: pl.DataFrame) -> pl.DataFrame:
    """Pairs of one person's records that show two different addresses."""
    pairs = records.join(records, on="person_id", suffix="_2")
    return pairs.filter(
        (pl.col("record") < pl.col("record_2")) & (pl.col("place") != pl.col("place_2"))
    )


def test_movers_keep_their_email_but_not_address_or_phone(large_records, large_classic):
    moved = _moved_pairs(large_records)
    movers = moved["person_id"].n_unique()
    # 6% of persons move; it shows where they have records in two places
    assert 0.015 * CUSTOMERS_LARGE < movers < 0.05 * CUSTOMERS_LARGE
    personal = ~pl.col("email").str.split("@").list.last().is_in(list(_WORK_DOMAINS))
    emails = moved.drop_nulls(["email", "email_2"]).filter(
        personal & ~pl.col("email_2").str.split("@").list.last().is_in(list(_WORK_DOMAINS))
    )
    assert emails.height > 200
    assert (emails["email"] == emails["email_2"]).mean() > 0.9  # typos aside
    phones = moved.drop_nulls(["phone", "phone_2"])
    assert phones.height > 200
    assert (phones["phone"] != phones["phone_2"]).mean() > 0.97
    # The classic profile's movers kept their phone: the old phone is what is new here.
    classic = _moved_pairs(_tidy_records(*large_classic)).drop_nulls(["phone", "phone_2"])
    assert (classic["phone"] != classic["phone_2"]).mean() < 0.1


def test_some_people_give_a_work_email_in_one_source(large_records):
    domain = pl.col("email").str.split("@").list.last()
    work = large_records.filter(domain.is_in(list(_WORK_DOMAINS)))
    workers = work["person_id"].unique()
    # 6% of persons, if they are in two sources or more (about 45% are)
    assert 0.01 * CUSTOMERS_LARGE < len(workers) < 0.04 * CUSTOMERS_LARGE
    assert work.group_by("person_id").agg(pl.col("source").n_unique())["source"].max() == 1
    personal = large_records.filter(
        pl.col("person_id").is_in(workers.implode()) & ~domain.is_in(list(_WORK_DOMAINS))
    )
    assert personal.drop_nulls("email")["person_id"].n_unique() > 0.6 * len(workers)


def test_lookalikes_survive_into_the_files(large, large_records):
    data_dir, _ = large
    relations = pl.read_parquet(data_dir / "truth" / "relations.parquet")

    def record_pairs(kind: str) -> pl.DataFrame:
        pairs = relations.filter(pl.col("kind") == kind)
        a = large_records.rename(lambda c: f"{c}_a")
        b = large_records.rename(lambda c: f"{c}_b")
        return pairs.join(a, left_on="person_a", right_on="person_id_a").join(
            b, left_on="person_b", right_on="person_id_b"
        )

    def share_of_pairs(frame: pl.DataFrame, condition: pl.Expr) -> float:
        """Share of the relation pairs where some record of each shows `condition`, among
        the pairs where some record pair has the values to tell (names and birth dates go
        missing)."""
        shown = frame.group_by("person_a", "person_b").agg(
            condition.fill_null(False).any().alias("shown"),
            condition.is_not_null().any().alias("known"),
        )
        return shown.filter("known")["shown"].mean()

    namesakes = record_pairs("namesake")
    same_given = pl.col("given_a") == pl.col("given_b")
    same_name = same_given & (pl.col("surname_a") == pl.col("surname_b"))
    assert share_of_pairs(namesakes, same_name) > 0.75  # ~0.85: nicknames and typos aside
    assert not (namesakes["birth_a"] == namesakes["birth_b"]).any()
    assert not (namesakes["email_a"] == namesakes["email_b"]).any()
    assert not (namesakes["phone_a"] == namesakes["phone_b"]).any()
    assert not (namesakes["place_a"] == namesakes["place_b"]).any()
    twins = record_pairs("twin")
    same_home = (pl.col("birth_a") == pl.col("birth_b")) & (pl.col("place_a") == pl.col("place_b"))
    assert share_of_pairs(twins, same_home) > 0.8  # ~0.92: typos, a mover's old address
    assert share_of_pairs(twins, pl.col("surname_a") == pl.col("surname_b")) > 0.9
    assert share_of_pairs(twins, ~same_given) > 0.95


def test_realistic_junk_and_spelling_in_the_files(large):
    data_dir, _ = large
    _, _, pos = _csv_rows(data_dir / "sources/pos/pos_customers.csv", ",")
    pos = [row for row in pos if len(row) == POS_COLUMNS]
    placeholder_dobs = {"01/01/1900", "1/1/00", "01/01/1970", "1/1/70", "01/01/1901", "1/1/01"}
    assert sum(row[10] in placeholder_dobs for row in pos) >= 20  # 0.8% of ~12,700
    assert sum(bool(re.search(r"(,| )(JR|SR|Jr|Sr)\.?$", row[2].strip())) for row in pos) >= 10

    def non_ascii_share(values) -> float:
        values = [v for v in values if v]
        return sum(not v.isascii() for v in values) / len(values)

    web = pl.read_parquet(data_dir / "sources/web/web_accounts.parquet")
    web_share = non_ascii_share(web["full_name"].to_list())
    assert web_share > 0.02  # Müller, José, Nguyễn ... as typed
    assert non_ascii_share(row[2] for row in pos) < web_share / 3  # tills drop the accents
    loyalty = (data_dir / "sources/loyalty/loyalty_members.csv").read_text()
    assert "Ã" in loyalty or "Å" in loyalty  # UTF-8 read as Windows-1252 (MÃ¼ller)
