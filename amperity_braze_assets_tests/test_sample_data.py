"""Tests for the sample-data generator: determinism, ground truth, corruption, messiness."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from amperity_braze_assets import sample_names
from amperity_braze_assets.sample_data import generate_sample_data

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
    _, order_lines, _ = _csv_rows(data_dir / "sources/orders/orders.csv", ",")
    assert summary["records"] == {
        "pos": len(pos_lines),
        "web": web.height,
        "loyalty": len(loyalty_lines),
    }
    assert summary["orders"] == len(order_lines)
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
    for row in rows:
        assert (row[1], row[2]) in person_of, row
        orders_per_person[person_of[row[1], row[2]]] += 1
        if len(row) != 7:
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
    assert len({row[0] for row in rows}) == len(rows)
    counts = list(orders_per_person.values())
    assert max(counts) <= 12
    # skewed: one-and-done is the most common count among buyers
    assert max(set(counts), key=counts.count) == 1


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
