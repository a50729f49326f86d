"""Reading sources: tags applied, originals kept, bad rows quarantined with their reasons."""

from __future__ import annotations

import polars as pl
import pytest

from amperity_braze_assets.sources import reader
from amperity_braze_assets.sources.config import CsvOptions, SourceConfig
from amperity_braze_assets.sources.reader import parse_delimited, read_source


def customer_source(files=("crm/*.csv",), **kwargs) -> SourceConfig:
    defaults = dict(
        name="crm",
        kind="customers",
        files=files,
        format="csv",
        primary_key="ID",
        columns={"FIRST": "given-name", "MAIL": "email", "LOYALTY": "fk:loyalty"},
    )
    defaults.update(kwargs)
    return SourceConfig(**defaults)


def test_structural_problems_are_quarantined_and_good_rows_flow_on():
    data = (
        b'ID,NAME,CITY\n1,Ann,"Paris, FR"\n2,O"Brien,X\n3,Bob,Y\n4,"multi\nline",Z\n\n'
        b'5,too,many,fields\n6,bad\xff\xfebytes,Q\n7,short\n8,"unterminated,Q\n9,ok,ok\n'
    )
    frame, rejects = parse_delimited(data, "t.csv", CsvOptions())
    assert frame["ID"].to_list() == ["1", "2", "3", "4", "9"]
    assert frame["NAME"].to_list() == ["Ann", 'O"Brien', "Bob", "multi\nline", "ok"]
    assert frame["CITY"][0] == "Paris, FR"
    assert frame["source_line"].to_list() == [2, 3, 4, 5, 12]
    by_line = {row["line"]: row for row in rejects.iter_rows(named=True)}
    assert by_line[8]["reason"] == "expected 3 fields, found 4"
    assert by_line[9]["field"] == "NAME" and "undecodable bytes" in by_line[9]["reason"]
    assert by_line[10]["reason"] == "expected 3 fields, found 2"
    assert by_line[11]["reason"].startswith("unbalanced quotes")
    assert set(rejects["file"]) == {"t.csv"}
    assert rejects["raw"][0] == "5,too,many,fields"


def test_other_delimiters_encodings_crlf_and_bom():
    text = '\ufeffid;name\r\n1;Zoë\r\n2;"A;B"\r\n'
    frame, rejects = parse_delimited(
        text.encode("latin-1", errors="ignore"),
        "x.csv",
        CsvOptions(delimiter=";", encoding="latin-1"),
    )
    assert rejects.height == 0
    frame, rejects = parse_delimited(text.encode("utf-8"), "x.csv", CsvOptions(delimiter=";"))
    assert frame.columns == ["id", "name", "source_line"]
    assert frame["name"].to_list() == ["Zoë", "A;B"]
    assert rejects.height == 0


def test_empty_file_is_a_file_level_reject():
    frame, rejects = parse_delimited(b"", "empty.csv", CsvOptions())
    assert frame.height == 0
    assert rejects["reason"][0].startswith("the file is empty")


def test_read_source_maps_tags_keeps_originals_and_rejects_keys(tmp_path):
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "a.csv").write_text(
        "ID,FIRST,MAIL,LOYALTY,TIER\n"
        "1, ann ,ANN@X.ORG,L1,gold\n"
        ",bob,bob@x.org,L2,silver\n"
        "1,ann2,a2@x.org,L3,\n"
        "2,Cy,cy@x.org,,bronze\n"
    )
    (folder / "b.csv").write_text("ID,FIRST,MAIL,LOYALTY,TIER\n3,Di,di@x.org,L9,gold\n")
    result = read_source(customer_source(), tmp_path)
    records = result.records
    assert records.columns == [
        "source",
        "record_id",
        "given_name",
        "email",
        "fk_loyalty",
        "attr_tier",
        "source_file",
        "source_line",
    ]
    assert records["record_id"].to_list() == ["1", "2", "3"]
    # Original values are kept as they were: normalization is identity resolution's job.
    assert records["given_name"][0] == " ann " and records["email"][0] == "ANN@X.ORG"
    assert records["source_line"].to_list() == [2, 5, 2]
    reasons = dict(zip(rejects_lines(result.rejects), result.rejects["reason"], strict=True))
    assert reasons[3] == "missing primary key ID"
    assert reasons[4].startswith("duplicate primary key (first seen at ") and reasons[4].endswith(
        "a.csv:2)"
    )
    assert set(result.rejects["source"]) == {"crm"}
    assert set(result.rejects["field"]) == {"ID"}


def rejects_lines(rejects: pl.DataFrame) -> list[int]:
    return rejects["line"].to_list()


def test_file_missing_a_mapped_column_is_quarantined_not_fatal(tmp_path):
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "a.csv").write_text("ID,FIRST,MAIL,LOYALTY\n1,Ann,a@x.org,L1\n")
    (folder / "b.csv").write_text("ID,FIRST\n2,Bob\n")
    result = read_source(customer_source(), tmp_path)
    assert result.records["record_id"].to_list() == ["1"]
    reject = result.rejects.row(0, named=True)
    assert reject["file"].endswith("b.csv") and reject["field"] == "MAIL"
    assert "lacks mapped column(s) ['MAIL', 'LOYALTY']" in reject["reason"]


def test_no_matching_file_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="sample-data"):
        read_source(customer_source(), tmp_path)


def test_parquet_source_values_become_text(tmp_path):
    pl.DataFrame(
        {
            "ID": [10, 11, None],
            "FIRST": ["A", "B", "C"],
            "MAIL": ["a@x", None, "c@x"],
            "LOYALTY": [None, "L", "M"],
        }
    ).write_parquet(tmp_path / "c.parquet")
    source = customer_source(files=("*.parquet",), format="parquet")
    result = read_source(source, tmp_path)
    assert result.records["record_id"].to_list() == ["10", "11"]
    assert result.rejects["line"].to_list() == [3]


def orders_source() -> SourceConfig:
    return SourceConfig(
        name="orders",
        kind="transactions",
        files=("orders.csv",),
        format="csv",
        primary_key="order_id",
        columns={
            "order_id": "order-id",
            "src": "customer-source",
            "cust": "customer-key",
            "amount": "amount",
            "cur": "currency",
            "at": "order-time",
            "ch": "channel",
        },
    )


def test_transactions_are_typed_and_unattributable_orders_quarantined(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,src,cust,amount,cur,at,ch\n"
        'o1,pos,P1,"$1,234.50",usd,2025-06-01T12:03:00Z,Store\n'
        "o2,web,W1,12,USD,2025-06-02 08:00:00,web\n"
        "o3,web,,5,USD,2025-06-02 08:00:00,web\n"
        "o4,web,W2,abc,USD,2025-06-02 08:00:00,web\n"
        "o5,web,W2,5,USD,yesterday,web\n"
        "o6,fax,W2,5,USD,2025-06-02,web\n"
        "o2,web,W1,12,USD,2025-06-02 08:00:00,web\n"
    )
    result = read_source(orders_source(), tmp_path, customer_sources=frozenset({"pos", "web"}))
    orders = result.records
    assert orders["order_id"].to_list() == ["o1", "o2"]
    assert orders["amount"].to_list() == [1234.5, 12.0]
    assert orders["currency"].to_list() == ["USD", "USD"]
    assert orders["channel"].to_list() == ["store", "web"]
    assert orders.schema["order_time"] == pl.Datetime("us", "UTC")
    rejects = {
        r["line"]: (r["field"], r["value"], r["reason"])
        for r in result.rejects.iter_rows(named=True)
    }
    assert rejects[4] == ("customer_record_id", None, "missing customer key")
    assert rejects[5] == ("amount", "abc", "amount is not a number")
    assert rejects[6][0:2] == ("order_time", "yesterday")
    assert rejects[7][0:2] == ("customer_source", "fax")
    # Rows sharing an order id are one order (line items): o2's second row adds nothing.
    assert 8 not in rejects


def test_s3_source_is_read_through_the_client(s3_bucket):
    client, bucket = s3_bucket
    client.put_object(
        Bucket=bucket, Key="exports/crm/a.csv", Body=b"ID,FIRST,MAIL,LOYALTY\n1,A,a@x,L\n2,B\n"
    )
    client.put_object(Bucket=bucket, Key="exports/other/z.csv", Body=b"ID\n9\n")
    source = customer_source(files=(f"s3://{bucket}/exports/crm/*.csv",))
    result = read_source(source, "/nonexistent", s3_client=client)
    assert result.files == (f"s3://{bucket}/exports/crm/a.csv",)
    assert result.records["record_id"].to_list() == ["1"]
    assert result.rejects["reason"].to_list() == ["expected 4 fields, found 2"]


def test_orders_typed_piece_by_piece_equal_one_read(tmp_path, monkeypatch):
    """A large orders file is typed piece by piece; duplicates across pieces, bad rows and a
    quoted line break across a cut come out as from one read."""
    lines = ["order_id,src,cust,amount,cur,at,ch"]
    for n in range(400):
        amount = "abc" if n % 37 == 0 else f'"${n},000.50"' if n % 5 == 0 else str(n)
        note = '"store\nfront"' if n % 11 == 0 else "web"
        order = f"o{n % 300}"  # ids 0..99 come twice, the second time in a later piece
        lines.append(f"{order},web,W{n},{amount},usd,2025-06-01T12:{n % 60:02}:00Z,{note}")
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n")
    customers = frozenset({"web"})

    whole = read_source(orders_source(), tmp_path, customer_sources=customers)
    monkeypatch.setattr(reader, "CHUNK_BYTES", 700)
    pieces = read_source(orders_source(), tmp_path, customer_sources=customers)

    # ids seen twice are one order each (line items), so 300 orders less the 11 "abc" ones
    assert whole.records.height == 289 and whole.rejects.height == 11
    assert pieces.records.equals(whole.records)
    assert pieces.rejects.equals(whole.rejects)


def test_pieces_parsed_before_a_failing_piece_still_come_out(monkeypatch):
    data = b"id,name\n" + b"".join(b"%d,n%d\n" % (i, i) for i in range(300))
    real_group = reader._group_into_records
    calls = []

    def group_then_fail(*args):
        calls.append(1)
        if len(calls) == 3:
            raise pl.exceptions.ComputeError("piece three cannot be cut")
        return real_group(*args)

    monkeypatch.setattr(reader, "_group_into_records", group_then_fail)
    pieces = reader.iter_delimited(data, "t.csv", CsvOptions(), chunk_bytes=512)
    seen = []
    with pytest.raises(pl.exceptions.ComputeError, match="piece three"):
        for frame, _ in pieces:
            seen.append(frame)
    # Pieces one and two were cut and parsed before the third failed: both come out, in order.
    assert len(seen) == 2
    ids = pl.concat(seen)["id"].cast(pl.Int64).to_list()
    assert ids == list(range(len(ids))) and len(ids) > 50


def test_a_spreadsheet_text_mark_is_not_part_of_the_key(tmp_path):
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "c.csv").write_text("ID,FIRST,MAIL,LOYALTY\n'7001234,Ann,a@x.com,\n")
    result = read_source(customer_source(), tmp_path)
    assert result.records.get_column("record_id").to_list() == ["7001234"]
