"""Transaction sources as platforms export them: one row per line item, buyers named by
contact, refunds and statuses, several currencies, row filters."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.settings import load_settings
from amperity_braze_assets.sources.config import MoneyConfig, parse_source
from amperity_braze_assets.sources.reader import read_source

SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Currency,Total,Refunded Amount,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing Phone,"
    "Billing Country\n"
)
SHOPIFY_ROWS = (
    "#1001,ann@example.com,paid,USD,30.00,0.00,2025-12-30 23:31:31 -0700,1,Mug,10.00,MUG-1,"
    "Ann Lee,555-0100,US\n"
    "#1001,,,,,,,2,Tee,10.00,TEE-1,,,\n"
    "#1002,bob@example.com,refunded,USD,50.00,50.00,2025-12-29 10:00:00 -0700,1,Hat,50.00,"
    "HAT-1,Bob Ray,,US\n"
    "#1003,cy@example.com,partially_refunded,CAD,100.00,20.00,2025-12-28 10:00:00 -0500,1,"
    "Coat,100.00,COAT-1,Cy Dee,,CA\n"
    "#1004,dee@example.com,pending,USD,5.00,0,12/30/2025 11:31 PM,1,Pin,5,PIN-1,Dee Fox,,US\n"
)
SHOPIFY_COLUMNS = {
    "Name": "order-id",
    "Email": "email",
    "Financial Status": "status",
    "Currency": "currency",
    "Total": "amount",
    "Refunded Amount": "refund",
    "Created at": "order-time",
    "Lineitem quantity": "quantity",
    "Lineitem name": "product-name",
    "Lineitem price": "price",
    "Lineitem sku": "sku",
    "Billing Name": "full-name",
    "Billing Phone": "phone",
    "Billing Country": "country",
}
USD_AND_CAD = MoneyConfig(reporting_currency="USD", rates={"USD": 1.0, "CAD": 0.75})


def shopify_source(**extra):
    source, errors = parse_source(
        Path("sources.yaml"),
        "shopify",
        {"kind": "transactions", "files": "orders.csv", "columns": SHOPIFY_COLUMNS, **extra},
    )
    assert not errors, errors
    return source


def write_orders(tmp_path: Path, rows: str = SHOPIFY_ROWS) -> None:
    (tmp_path / "orders.csv").write_text(SHOPIFY_HEADER + rows, encoding="utf-8")


def test_line_items_are_one_order_with_totals_from_the_first_row(tmp_path):
    write_orders(tmp_path)
    result = read_source(shopify_source(), tmp_path, money=USD_AND_CAD)

    assert result.rejects.height == 0
    orders = {row["order_id"]: row for row in result.records.iter_rows(named=True)}
    assert sorted(orders) == ["#1001", "#1002", "#1003", "#1004"]
    assert orders["#1001"]["amount"] == 30.0
    assert str(orders["#1001"]["order_time"]) == "2025-12-31 06:31:31+00:00"
    assert str(orders["#1004"]["order_time"]) == "2025-12-30 23:31:00+00:00"
    lines = result.lines.sort("order_id", "line_number")
    assert lines.filter(pl.col("order_id") == "#1001").select(
        "line_number", "sku", "quantity", "price"
    ).rows() == [(1, "MUG-1", 1.0, 10.0), (2, "TEE-1", 2.0, 10.0)]
    assert lines.height == 5


def test_buyers_become_customer_records_keyed_by_order(tmp_path):
    write_orders(tmp_path)
    result = read_source(shopify_source(), tmp_path, money=USD_AND_CAD)

    buyers = result.buyers.sort("record_id")
    assert buyers.get_column("record_id").to_list() == ["#1001", "#1002", "#1003", "#1004"]
    assert buyers.row(0, named=True)["email"] == "ann@example.com"
    assert buyers.row(0, named=True)["full_name"] == "Ann Lee"
    assert set(buyers.get_column("source")) == {"shopify"}
    # Each order counts for its own buyer record.
    orders = result.records.sort("order_id")
    assert orders.get_column("customer_source").to_list() == ["shopify"] * 4
    assert orders.get_column("customer_record_id").to_list() == orders["order_id"].to_list()


def test_refunds_statuses_and_currencies(tmp_path):
    write_orders(tmp_path)
    result = read_source(shopify_source(), tmp_path, money=USD_AND_CAD)

    orders = {row["order_id"]: row for row in result.records.iter_rows(named=True)}
    assert orders["#1002"]["amount"] == 0.0 and not orders["#1002"]["counted"]  # refunded
    assert not orders["#1004"]["counted"]  # pending
    assert orders["#1001"]["counted"] and orders["#1003"]["counted"]
    # 100 CAD less 20 refunded, at 0.75 USD per CAD.
    assert orders["#1003"]["amount"] == pytest.approx(60.0)
    assert orders["#1003"]["currency"] == "USD"
    assert orders["#1003"]["order_currency"] == "CAD"
    assert orders["#1003"]["order_amount"] == pytest.approx(80.0)


def test_two_currencies_without_a_reporting_currency_stop_the_run(tmp_path):
    write_orders(tmp_path)
    result = read_source(shopify_source(), tmp_path)
    assert len(result.stops) == 1
    assert "CAD, USD" in result.stops[0] and "reporting_currency" in result.stops[0]


def test_a_currency_without_a_rate_is_named_and_stops(tmp_path):
    write_orders(tmp_path)
    money = MoneyConfig(reporting_currency="USD", rates={"USD": 1.0}, rates_file="rates.csv")
    result = read_source(shopify_source(), tmp_path, money=money)
    assert "CAD cannot be converted to USD" in result.stops[0]
    assert "rates.csv" in result.stops[0]
    assert result.rejects.get_column("record_key").to_list() == ["#1003"]
    assert "#1003" not in result.records.get_column("order_id").to_list()


def test_where_keeps_or_drops_whole_orders_by_their_first_row(tmp_path):
    write_orders(tmp_path)
    source = shopify_source(where="\"Financial Status\" IN ('paid', 'partially_refunded')")
    result = read_source(source, tmp_path, money=USD_AND_CAD)

    assert sorted(result.records.get_column("order_id")) == ["#1001", "#1003"]
    assert result.filtered == 2
    # #1001's second line item has no status of its own, and still comes with its order.
    assert result.lines.filter(pl.col("order_id") == "#1001").height == 2
    assert sorted(result.buyers.get_column("record_id")) == ["#1001", "#1003"]


def test_where_on_a_customer_source_filters_rows(tmp_path):
    (tmp_path / "crm.csv").write_text("ID,Email,Status\n1,a@x.com,active\n2,b@x.com,deleted\n")
    source, errors = parse_source(
        Path("sources.yaml"),
        "crm",
        {
            "files": "crm.csv",
            "primary_key": "ID",
            "columns": {"Email": "email"},
            "where": "Status <> 'deleted'",
        },
    )
    assert not errors
    result = read_source(source, tmp_path)
    assert result.records.get_column("record_id").to_list() == ["1"]
    assert result.filtered == 1


def test_unreadable_times_name_the_column_and_the_formats_tried(tmp_path):
    write_orders(tmp_path, SHOPIFY_ROWS.replace("2025-12-29 10:00:00 -0700", "29.12.2025 10:00"))
    result = read_source(shopify_source(), tmp_path, money=USD_AND_CAD)
    reject = result.rejects.row(0, named=True)
    assert reject["field"] == "order_time" and reject["value"] == "29.12.2025 10:00"
    assert reject["record_key"] == "#1002"
    assert "-0700" in reject["reason"] and "formats.Created at" in reject["reason"]

    fixed = shopify_source(formats={"Created at": "%d.%m.%Y %H:%M"})
    result = read_source(fixed, tmp_path, money=USD_AND_CAD)
    assert result.rejects.height == 0
    times = dict(result.records.select("order_id", "order_time").iter_rows())
    assert str(times["#1002"]) == "2025-12-29 10:00:00+00:00"


def test_an_order_without_a_buyer_or_key_is_quarantined(tmp_path):
    write_orders(
        tmp_path,
        SHOPIFY_ROWS + "#1005,,paid,USD,9.00,0,2025-12-30 10:00:00 -0700,1,Cap,9,CAP-1,,,US\n",
    )
    result = read_source(shopify_source(), tmp_path, money=USD_AND_CAD)
    reject = result.rejects.row(0, named=True)
    assert reject["record_key"] == "#1005" and "no buyer email, phone or name" in reject["reason"]


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"where": "x IN (SELECT 1)"}, "no subqueries"),
        ({"where": "Status = "}, "not a valid SQL condition"),
        ({"formats": {"Email": "%Y"}}, "formats apply to columns tagged order-time"),
        ({"max_reject_share": 2}, "max_reject_share must be a share between 0 and 1"),
        ({"phone_region": "Britain"}, "alpha-2"),
        ({"attributes": {"Tier": {"name": "tier", "aggregate": "maximum"}}}, "did you mean 'max'"),
    ],
)
def test_bad_new_keys_fail_at_load_naming_the_source(definition, message):
    _, errors = parse_source(
        Path("sources.yaml"),
        "crm",
        {"files": "crm.csv", "primary_key": "ID", "columns": {"Email": "email"}, **definition},
    )
    assert any(message in error and "source 'crm'" in error for error in errors), errors


def test_every_config_error_is_reported_at_once(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n"
        "  crm:\n    files: crm.csv\n    primary_key: ID\n"
        "    columns: {A: emial, B: phnoe, C: given-name}\n"
        "  shop:\n    kind: transactions\n    files: o.csv\n"
        "    columns: {Name: order-id, Total: amount, At: order-time, Email: email}\n"
        "    where: 'x IN (SELECT 1)'\n"
        "money: {reporting_currency: dollars}\n"
    )
    monkeypatch.setenv("AMPERITY_BRAZE_CONFIG_DIR", str(config))
    monkeypatch.setenv("AMPERITY_BRAZE_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as error:
        load_project_config(load_settings())
    message = str(error.value)
    assert "4 problems" in message
    assert "'emial'" in message and "'phnoe'" in message
    assert "no subqueries" in message and "ISO 4217" in message


def test_order_lines_carry_the_buyer_of_counted_orders(tmp_path):
    from amperity_braze_assets.customer360.transactions import order_lines

    write_orders(tmp_path)
    result = read_source(shopify_source(), tmp_path, money=USD_AND_CAD)
    identity = pl.DataFrame(
        {
            "source": ["shopify"] * 4,
            "record_id": ["#1001", "#1002", "#1003", "#1004"],
            "amperity_id": ["ann", "bob", "cy", "dee"],
        }
    )
    lines = order_lines([result.lines], {"shopify": result.records}, identity)
    # Refunded #1002 and pending #1004 are not spend, so their items are not bought.
    assert lines.select("amperity_id", "sku", "quantity").rows() == [
        ("ann", "MUG-1", 1.0),
        ("ann", "TEE-1", 2.0),
        ("cy", "COAT-1", 1.0),
    ]


def test_an_order_exported_again_is_read_from_its_latest_export(tmp_path):
    """Daily exports overlap, and an order edited after its first export (a refund taking one
    tee off) is written again in full: the later file's version replaces the earlier one, its
    totals and its lines; the lines are not added to the first export's."""
    day1 = SHOPIFY_ROWS
    day2 = (
        "#1001,ann@example.com,partially_refunded,USD,20.00,10.00,2025-12-30 23:31:31 -0700,1,"
        "Mug,10.00,MUG-1,Ann Lee,555-0100,US\n"
        "#1001,,,,,,,1,Tee,10.00,TEE-1,,,\n"
        "#1005,eve@example.com,paid,USD,12.00,0.00,2025-12-31 09:00:00 -0700,1,Cap,12.00,CAP-1,"
        "Eve Oak,,US\n"
    )
    (tmp_path / "orders_2025-12-30.csv").write_text(SHOPIFY_HEADER + day1, encoding="utf-8")
    (tmp_path / "orders_2025-12-31.csv").write_text(SHOPIFY_HEADER + day2, encoding="utf-8")
    source = shopify_source(files="orders_*.csv")
    result = read_source(source, tmp_path, money=USD_AND_CAD)

    orders = {row["order_id"]: row for row in result.records.iter_rows(named=True)}
    assert sorted(orders) == ["#1001", "#1002", "#1003", "#1004", "#1005"]
    assert orders["#1001"]["amount"] == 20.0 - 10.0  # the refund in the day-2 export counted
    lines = result.lines.filter(pl.col("order_id") == "#1001").sort("line_number")
    assert lines.select("sku", "quantity").rows() == [("MUG-1", 1.0), ("TEE-1", 1.0)]
    assert result.lines.height == 6  # 5 lines of day 1, #1001's two replaced, #1005's one
