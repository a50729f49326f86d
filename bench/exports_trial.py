"""Held-out trial: a brand's Shopify and Salesforce exports, at scale, through the real pipeline.

    .venv/bin/python bench/exports_trial.py --people 20000 --seed 0
    .venv/bin/python bench/exports_trial.py --people 2000 --scenario wrong-encoding

The brand's people come from the independent held-out generator (``bench/identity_heldout.py``,
scenario ``retail_exports``: its Shopify accounts and Salesforce contacts, with their typos,
nicknames, movers, couples sharing a phone and a home, second emails). This script lays them out
as the vendors export them and adds what a commerce platform's order export holds:

- ``shopify/customers_export.csv``: Shopify's customer export (apostrophe-guarded ids and phones).
- ``shopify/orders_export_1.csv``: Shopify's order export, one row per line item, order-level
  values (email, totals, status, billing) on the first row only; ``Created at`` as
  ``2025-12-30 23:31:31 -0700``. Orders are paid (most), partially refunded, refunded, voided or
  pending; Canadians pay in CAD, everyone else in USD. The buyer's email is the account's, or a
  changed one (their second email), a typo'd one, or upper-cased; guests buy without an account,
  and a share of people (``GUEST_ONLY``) are in no customer file at all: their orders are all the
  brand knows of them.
- ``salesforce/contacts_report.csv``: a Salesforce contacts report saved by Excel on Windows, so
  Windows-1252 (a character the code page lacks becomes ``?``, as Excel writes it), every value
  quoted, multi-line Mailing Street, ``M/D/YYYY`` birth dates, ``M/D/YYYY h:mm AM`` times.
- ``truth/orders.parquet`` (order name -> true person, status, paid amount in USD) and
  ``truth/records.parquet`` (source, record id -> true person).

It writes a configuration (``config/``: the three sources, ``money`` with a rates file, a few
attributes), runs ``braze_sync_job`` of the real definitions as a dry run, and prints:

- **paid orders tied to the right person**. Each order that counts (paid or partially refunded)
  counts for one amperity_id, the cluster its buyer record resolved to. A true person's cluster
  is the one holding most of their counted orders (ties: the smallest id). An order is *tied
  right* when it counts for its person's cluster and at least 99% of that cluster's counted
  orders are that person's (a cluster that merged a couple ties neither one right). Target: 99%.
- **names kept as written**: the share of Braze profiles whose ``first_name`` is a spelling that
  one of the profile's records holds in its file (whitespace collapsed), or the true person's
  given name or nickname; ``S Ren`` for ``Søren`` or ``Jose`` for ``José`` is not.
- **lifetime spend error**: per true person with counted orders, ``lifetime_monetary`` of their
  cluster against the truth (paid less refunded, CAD at the rates file's 0.75): the share within
  one cent, and the summed absolute error as a share of the true total.
- **run time** of the pipeline (sources to the dry-run bodies).

``--scenario wrong-encoding`` writes the same files, syncs them for real to the project's Braze
emulator, then runs again with the Salesforce report declared ``utf-8``: the run must stop, name
the file and the encoding to set, and leave every profile in the emulator as it was.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl


def _load_bench(stem: str):
    """bench/<stem>.py by path (bench/ is not a package), loaded once per process."""
    name = f"bench_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parent / f"{stem}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


heldout = _load_bench("identity_heldout")
layouts = _load_bench("export_layouts")
ORDER_LEVEL = layouts.ORDER_LEVEL
SALESFORCE_HEADER = layouts.SALESFORCE_HEADER
SHOPIFY_CUSTOMER_HEADER = layouts.SHOPIFY_CUSTOMER_HEADER
SHOPIFY_ORDER_HEADER = layouts.SHOPIFY_ORDER_HEADER

REFERENCE_TIME = datetime(2026, 1, 15, tzinfo=UTC)
CAD_RATE = 0.75  # USD per CAD in the trial's rates file
TARGET_TIED_RIGHT = 0.99
CLUSTER_PURITY = 0.99

# Shares of people (or orders) with each behaviour.
GUEST_ONLY = 0.08  # people in no customer file: the brand knows them from their orders alone
ORDERS_WITH_ACCOUNT = 2.2  # mean orders of a person with a Shopify account (Poisson)
GUEST_BUYERS = 0.35  # people without an account who buy as guests
ORDERS_AS_GUEST = 1.3
EMAIL_CHANGED = 0.06  # the order carries the person's second email
EMAIL_TYPO = 0.025  # a typo in the domain or the mailbox
EMAIL_UPPER = 0.04
BILLING_PHONE = 0.55
NICKNAME_ON_ORDER = 0.3  # of people who go by a nickname
STATUSES = ("paid", "partially_refunded", "refunded", "voided", "pending")
STATUS_P = (0.85, 0.04, 0.04, 0.03, 0.04)
COUNTED = ("paid", "partially_refunded")
# Offsets Shopify writes per country (store time of the buyer's region).
OFFSETS = {"US": ("-0400", "-0500", "-0700", "-0800"), "CA": ("-0500", "-0800"), "GB": ("+0000",)}
PRODUCTS = (
    ("MC-CHA-M", "Merino Crew - Charcoal / M", 70.00),
    ("MC-OAT-L", "Merino Crew - Oat / L", 72.00),
    ("WS-OAT", "Wool Socks - Oat", 15.00),
    ("WS-MOS", "Wool Socks - Moss", 16.50),
    ("BN-RUS", "Beanie - Rust", 32.00),
    ("RS-NAV-S", "Rain Shell - Navy / S", 180.00),
    ("LS-WHI-M", "Linen Shirt - White / M", 75.00),
    ("CT-NAT", "Canvas Tote", 40.00),
    ("GC-25", "Gift Card", 25.00),
)
TIERS = ("Bronze", "Silver", "Gold", "Platinum")


@dataclass(frozen=True)
class Exports:
    shopify_customers: pl.DataFrame  # SHOPIFY_CUSTOMER_HEADER, all text
    shopify_orders: pl.DataFrame  # SHOPIFY_ORDER_HEADER, one row per line item
    salesforce: pl.DataFrame  # SALESFORCE_HEADER
    order_truth: pl.DataFrame  # order_id, person, status, currency, counted, paid_usd
    record_truth: pl.DataFrame  # source, record_id, person
    people: pl.DataFrame  # person, given_name, nickname (the true names)


def generate_exports(people: int, seed: int = 0) -> Exports:
    """The brand's exports for ``people`` true people; the same seed gives the same frames."""
    out = heldout.generate_detailed(people, seed, "retail_exports")
    rng = np.random.default_rng([seed, 15])
    persons = out.people
    guest_only = persons.select("person").with_columns(
        guest_only=pl.Series(rng.random(persons.height) < GUEST_ONLY)
    )
    truth = out.truth.join(guest_only, on="person").filter(~pl.col("guest_only"))
    records = out.records.join(truth.select("source", "record_id"), on=["source", "record_id"])
    shop_records = records.filter(pl.col("source") == "shopify")
    orders = _orders(persons, truth, shop_records, rng)
    lines = _line_items(orders, rng)
    orders = _with_money(orders, lines)
    spent = (
        orders.filter(pl.col("status").is_in(COUNTED))
        .group_by(account_email=pl.col("buyer_email").str.to_lowercase())
        .agg(spent=pl.col("paid").sum(), count=pl.len())
    )
    return Exports(
        shopify_customers=_shopify_customers(shop_records, spent),
        shopify_orders=_shopify_order_rows(orders, lines),
        salesforce=_salesforce(records.filter(pl.col("source") == "salesforce"), rng),
        order_truth=orders.select(
            "order_id",
            "person",
            "status",
            "currency",
            counted=pl.col("status").is_in(COUNTED),
            paid_usd=pl.when(pl.col("status").is_in(COUNTED))
            .then(pl.col("paid") * pl.when(pl.col("currency") == "CAD").then(CAD_RATE).otherwise(1))
            .otherwise(0.0),
        ),
        record_truth=pl.concat(
            [
                truth.select("source", "record_id", "person"),
                orders.select(
                    source=pl.lit("shopify_orders"), record_id="order_id", person="person"
                ),
            ]
        ),
        people=persons.select("person", "given_name", "nickname"),
    )


def _orders(
    persons: pl.DataFrame, truth: pl.DataFrame, shop: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """One row per order: the buyer's contact as the checkout recorded it, status and money."""
    account = (
        shop.join(truth, on=["source", "record_id"])
        .sort("record_id")
        .group_by("person", maintain_order=True)
        .agg(account_email=pl.col("email").first())
    )
    buyers = persons.join(account, on="person", how="left").with_columns(
        has_account=pl.col("person").is_in(account["person"].implode())
    )
    n = buyers.height
    guest_buys = rng.random(n) < GUEST_BUYERS
    counts = np.where(
        buyers["has_account"].to_numpy(),
        rng.poisson(ORDERS_WITH_ACCOUNT, n),
        np.where(guest_buys, 1 + rng.poisson(ORDERS_AS_GUEST - 1, n), 0),
    )
    orders = buyers.select(pl.all().gather(np.repeat(np.arange(n), counts)))
    m = orders.height
    draw = rng.random((m, 6))

    def flag(column: int, share: float) -> pl.Expr:
        return pl.lit(pl.Series(draw[:, column] < share))

    own = pl.coalesce("account_email", "email", "email2")
    email = (
        pl.when(flag(0, EMAIL_CHANGED) & pl.col("email2").is_not_null())
        .then(pl.col("email2"))
        .otherwise(own)
    )
    email = pl.when(flag(1, EMAIL_TYPO)).then(_typo_email(email)).otherwise(email)
    email = pl.when(flag(2, EMAIL_UPPER)).then(email.str.to_uppercase()).otherwise(email)
    given = (
        pl.when(
            pl.col("goes_by_nickname")
            & pl.col("nickname").is_not_null()
            & flag(3, NICKNAME_ON_ORDER)
        )
        .then(pl.col("nickname"))
        .otherwise(pl.col("given_name"))
    )
    choice = rng.integers(0, 4, m)
    offset = (
        pl.when(pl.col("country") == "CA")
        .then(pl.lit(pl.Series(np.array(OFFSETS["CA"])[choice % 2])))
        .when(pl.col("country") == "GB")
        .then(pl.lit("+0000"))
        .otherwise(pl.lit(pl.Series(np.array(OFFSETS["US"])[choice])))
    )
    seconds_ago = rng.integers(3_600, 730 * 86_400, m)
    return orders.with_columns(
        order_id=pl.format("#{}", pl.int_range(1001, 1001 + m)),
        status=pl.Series(np.array(STATUSES)[rng.choice(len(STATUSES), m, p=STATUS_P)]),
        buyer_email=email,
        billing_name=pl.concat_str([given, pl.col("surname")], separator=" ", ignore_nulls=True),
        billing_phone=pl.when(flag(4, BILLING_PHONE)).then(
            pl.coalesce("mobile_phone", "home_phone")
        ),
        currency=pl.when(pl.col("country") == "CA").then(pl.lit("CAD")).otherwise(pl.lit("USD")),
        offset=offset,
        created_utc=pl.lit(pl.Series(int(REFERENCE_TIME.timestamp()) - seconds_ago)),
        refund_share=pl.lit(pl.Series(np.round(0.2 + 0.4 * draw[:, 5], 2))),
    )


def _typo_email(email: pl.Expr) -> pl.Expr:
    """A domain typo where the domain has a common one, else two letters of the mailbox swapped."""
    return (
        pl.when(email.str.contains("@gmail.com", literal=True))
        .then(email.str.replace("@gmail.com", "@gmial.com", literal=True))
        .when(email.str.contains("@yahoo.", literal=True))
        .then(email.str.replace("@yahoo.", "@yaho.", literal=True))
        .otherwise(email.str.replace(r"^(.)(.)", "${2}${1}"))
    )


def _line_items(orders: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """1-4 line items per order: order_id, position, sku, name, quantity, price."""
    m = orders.height
    per_order = 1 + rng.choice(4, m, p=(0.55, 0.25, 0.12, 0.08))
    total = int(per_order.sum())
    product = rng.integers(0, len(PRODUCTS), total)
    skus, names, prices = (np.array(column) for column in zip(*PRODUCTS, strict=True))
    return pl.DataFrame(
        {
            "order_id": orders["order_id"].gather(np.repeat(np.arange(m), per_order)),
            "position": np.concatenate([np.arange(k) for k in per_order]) if m else [],
            "sku": skus[product],
            "item": names[product],
            "quantity": 1 + rng.choice(3, total, p=(0.8, 0.15, 0.05)),
            "price": prices[product].astype(float),
        }
    )


def _money(expr: pl.Expr) -> pl.Expr:
    return expr.round(2).map_batches(
        lambda s: s.cast(pl.Decimal(12, 2)).cast(pl.String), return_dtype=pl.String
    )


def _with_money(orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """The order's subtotal from its lines, and what was paid and kept (``paid``, in the order's
    currency): the subtotal, less a refunded share when partially refunded, 0 otherwise."""
    totals = lines.group_by("order_id").agg(subtotal=(pl.col("price") * pl.col("quantity")).sum())
    return orders.join(totals, on="order_id").with_columns(
        paid=pl.when(pl.col("status") == "partially_refunded")
        .then((pl.col("subtotal") * (1 - pl.col("refund_share"))).round(2))
        .when(pl.col("status") == "paid")
        .then(pl.col("subtotal"))
        .otherwise(0.0),
    )


def _shopify_order_rows(orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Shopify's order export: one row per line item, order-level values on the first only."""
    refunded = pl.col("subtotal") - pl.col("paid")
    refunded = pl.when(pl.col("status").is_in(["voided", "pending"])).then(0.0).otherwise(refunded)
    sign = pl.when(pl.col("offset").str.starts_with("-")).then(-1).otherwise(1)
    shift = sign * (
        pl.col("offset").str.slice(1, 2).cast(pl.Int64) * 3600
        + pl.col("offset").str.slice(3, 2).cast(pl.Int64) * 60
    )
    local = (
        ((pl.col("created_utc") + shift) * 1_000_000)
        .cast(pl.Datetime("us"))
        .dt.strftime("%Y-%m-%d %H:%M:%S")
        + " "
        + pl.col("offset")
    )
    street = pl.concat_str(["address", "unit"], separator=", ", ignore_nulls=True)
    paid_at = pl.when(pl.col("status").is_in(["paid", "partially_refunded", "refunded"])).then(
        local
    )
    order_values = orders.select(
        "order_id",
        "paid",
        "person",
        "status",
        "currency",
        **{
            "Email": pl.col("buyer_email"),
            "Financial Status": pl.col("status"),
            "Paid at": paid_at,
            "Fulfillment Status": pl.when(paid_at.is_not_null())
            .then(pl.lit("fulfilled"))
            .otherwise(pl.lit("unfulfilled")),
            "Fulfilled at": paid_at,
            "Accepts Marketing": pl.lit("yes"),
            "Currency": pl.col("currency"),
            "Subtotal": _money(pl.col("subtotal")),
            "Shipping": pl.lit("0.00"),
            "Taxes": pl.lit("0.00"),
            "Total": _money(pl.col("subtotal")),
            "Discount Amount": pl.lit("0.00"),
            "Shipping Method": pl.lit("Standard"),
            "Created at": local,
            "Billing Name": pl.col("billing_name"),
            "Billing Street": street,
            "Billing Address1": pl.col("address"),
            "Billing Address2": pl.col("unit"),
            "Billing City": pl.col("city"),
            "Billing Zip": pl.col("postal"),
            "Billing Province": pl.col("state"),
            "Billing Country": pl.col("country"),
            "Billing Phone": pl.col("billing_phone"),
            "Shipping Name": pl.col("billing_name"),
            "Shipping Street": street,
            "Shipping Address1": pl.col("address"),
            "Shipping Address2": pl.col("unit"),
            "Shipping City": pl.col("city"),
            "Shipping Zip": pl.col("postal"),
            "Shipping Province": pl.col("state"),
            "Shipping Country": pl.col("country"),
            "Shipping Phone": pl.col("billing_phone"),
            "Cancelled at": pl.when(pl.col("status") == "voided").then(local),
            "Payment Method": pl.lit("Shopify Payments"),
            "Refunded Amount": _money(refunded),
            "Outstanding Balance": pl.when(pl.col("status") == "pending")
            .then(_money(pl.col("subtotal")))
            .otherwise(pl.lit("0.00")),
            "Id": (pl.col("order_id").str.slice(1).cast(pl.Int64) + 5_810_000_000_000).cast(
                pl.String
            ),
            "Risk Level": pl.lit("Low"),
            "Source": pl.lit("web"),
        },
    )
    rows = lines.join(order_values, on="order_id").sort("order_id", "position")
    first = pl.col("position") == 0
    columns = {
        "Name": pl.col("order_id"),
        "Created at": pl.col("Created at"),
        "Lineitem quantity": pl.col("quantity").cast(pl.String),
        "Lineitem name": pl.col("item"),
        "Lineitem price": _money(pl.col("price")),
        "Lineitem sku": pl.col("sku"),
        "Lineitem requires shipping": pl.lit("true"),
        "Lineitem taxable": pl.lit("true"),
        "Lineitem fulfillment status": pl.lit("fulfilled"),
        "Vendor": pl.lit("North Loom"),
        "Lineitem discount": pl.lit("0.00"),
        **{name: pl.when(first).then(pl.col(name)) for name in ORDER_LEVEL},
    }
    table = rows.select(
        *(
            columns.get(name, pl.lit(None, dtype=pl.String)).cast(pl.String).alias(name)
            for name in SHOPIFY_ORDER_HEADER
        ),
        _person="person",
        _paid="paid",
    )
    return table


def _apostrophe(expr: pl.Expr) -> pl.Expr:
    """Shopify's guard against spreadsheets: ids and E.164 phones written as text ('+1...)."""
    return pl.when(expr.is_not_null()).then("'" + expr)


def _shopify_customers(shop: pl.DataFrame, spent: pl.DataFrame) -> pl.DataFrame:
    """Shopify's customer export; Total Spent and Total Orders from the orders under its email."""
    frame = shop.with_columns(account_email=pl.col("email").str.to_lowercase()).join(
        spent, on="account_email", how="left"
    )
    phone = (
        pl.when(pl.col("phone").str.starts_with("+"))
        .then(_apostrophe(pl.col("phone")))
        .otherwise(pl.col("phone"))
    )
    return frame.select(
        **{
            "Customer ID": _apostrophe(pl.col("record_id")),
            "First Name": pl.col("given_name"),
            "Last Name": pl.col("surname"),
            "Email": pl.col("email"),
            "Accepts Email Marketing": pl.lit("yes"),
            "Default Address Company": pl.lit(None, dtype=pl.String),
            "Default Address Address1": pl.col("address"),
            "Default Address Address2": pl.col("address2"),
            "Default Address City": pl.col("city"),
            "Default Address Province Code": pl.col("state"),
            "Default Address Country Code": pl.col("country"),
            "Default Address Zip": pl.col("postal"),
            "Default Address Phone": phone,
            "Phone": phone,
            "Accepts SMS Marketing": pl.lit("no"),
            "Total Spent": _money(pl.col("spent").fill_null(0.0)),
            "Total Orders": pl.col("count").fill_null(0).cast(pl.String),
            "Note": pl.lit(None, dtype=pl.String),
            "Tax Exempt": pl.lit("no"),
            "Tags": pl.lit(None, dtype=pl.String),
        }
    )


def _us_date(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD`` as a US-locale report writes it (``4/7/1986``); other text unchanged."""
    parsed = expr.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    us = pl.format("{}/{}/{}", parsed.dt.month(), parsed.dt.day(), parsed.dt.year())
    return pl.when(parsed.is_not_null()).then(us).otherwise(expr)


def _salesforce(contacts: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = contacts.height
    created = int(REFERENCE_TIME.timestamp()) - rng.integers(86_400, 900 * 86_400, n)
    modified = np.minimum(
        created + rng.integers(0, 400 * 86_400, n), int(REFERENCE_TIME.timestamp())
    )

    def report_time(epochs: np.ndarray) -> pl.Expr:
        stamp = pl.lit(pl.Series(epochs * 1_000_000)).cast(pl.Datetime("us"))
        hour = stamp.dt.hour()
        twelve = pl.when(hour % 12 == 0).then(12).otherwise(hour % 12)
        return pl.format(
            "{}/{}/{} {}:{} {}",
            stamp.dt.month(),
            stamp.dt.day(),
            stamp.dt.year(),
            twelve,
            stamp.dt.strftime("%M"),
            pl.when(hour < 12).then(pl.lit("AM")).otherwise(pl.lit("PM")),
        )

    street = pl.concat_str(["address", "address2"], separator="\n", ignore_nulls=True)
    return contacts.select(
        **{
            "Contact ID": pl.col("record_id"),
            "First Name": pl.col("given_name"),
            "Last Name": pl.col("surname"),
            "Account Name": pl.lit("Household"),
            "Title": pl.lit(None, dtype=pl.String),
            "Email": pl.col("email"),
            "Phone": pl.col("phone"),
            "Mobile": pl.lit(None, dtype=pl.String),
            "Mailing Street": street,
            "Mailing City": pl.col("city"),
            "Mailing State/Province": pl.col("state"),
            "Mailing Zip/Postal Code": pl.col("postal"),
            "Mailing Country": pl.col("country"),
            "Birthdate": _us_date(pl.col("birthdate")),
            "Loyalty Tier": pl.lit(pl.Series(np.array(TIERS)[rng.integers(0, 4, n)])),
            "Lead Source": pl.lit("Web"),
            "Created Date": report_time(created),
            "Last Modified Date": report_time(modified),
        }
    )


# ---------------------------------------------------------------------------------------------
# Files and configuration
# ---------------------------------------------------------------------------------------------


def write_exports(exports: Exports, data_dir: Path) -> dict[str, Path]:
    """The vendor files under ``<data_dir>/sources`` and the truth under ``<data_dir>/truth``."""
    files = {
        "shopify_customers": data_dir / "sources" / "shopify" / "customers_export.csv",
        "shopify_orders": data_dir / "sources" / "shopify" / "orders_export_1.csv",
        "salesforce": data_dir / "sources" / "salesforce" / "contacts_report.csv",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    exports.shopify_customers.write_csv(files["shopify_customers"], line_terminator="\r\n")
    exports.shopify_orders.select(SHOPIFY_ORDER_HEADER).write_csv(
        files["shopify_orders"], line_terminator="\r\n"
    )
    text = exports.salesforce.write_csv(quote_style="always", line_terminator="\r\n")
    # Excel's "CSV" on Windows: the ANSI code page; what it cannot hold becomes "?".
    files["salesforce"].write_bytes(text.encode("cp1252", errors="replace"))
    truth = data_dir / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    exports.order_truth.write_parquet(truth / "orders.parquet")
    exports.record_truth.write_parquet(truth / "records.parquet")
    return files


SOURCES_YAML = """\
money:
  reporting_currency: USD
  rates_file: currency_rates.csv
sources:
  shopify_customers:
    kind: customers
    files: sources/shopify/customers_export.csv
    primary_key: Customer ID
    columns:
      First Name: given-name
      Last Name: surname
      Email: email
      Phone: phone
      Default Address Company: company
      Default Address Address1: address
      Default Address Address2: address2
      Default Address City: city
      Default Address Province Code: state
      Default Address Zip: postal
      Default Address Country Code: country
    attributes:
      Total Spent: {{name: shopify_total_spent, aggregate: max}}
  shopify_orders:
    kind: transactions
    files: sources/shopify/orders_export_*.csv
    exclude_statuses: [pending, voided, refunded]
    columns:
      Name: order-id
      Total: amount
      Currency: currency
      Created at: order-time
      Refunded Amount: refund
      Financial Status: status
      Source: channel
      Email: email
      Billing Name: full-name
      Billing Phone: phone
      Billing Address1: address
      Billing Address2: address2
      Billing City: city
      Billing Province: state
      Billing Zip: postal
      Billing Country: country
      Lineitem sku: sku
      Lineitem name: product-name
      Lineitem quantity: quantity
      Lineitem price: price
  salesforce:
    kind: customers
    files: sources/salesforce/contacts_report.csv
    csv: {{encoding: {encoding}}}
    primary_key: Contact ID
    columns:
      First Name: given-name
      Last Name: surname
      Email: email
      Phone: phone
      Mailing Street: address
      Mailing City: city
      Mailing State/Province: state
      Mailing Zip/Postal Code: postal
      Mailing Country: country
      Birthdate: birthdate
      Last Modified Date: updated-at
    attributes:
      Loyalty Tier: loyalty_tier
survivorship:
  source_priority: [salesforce, shopify_customers]
"""

ATTRIBUTES_YAML = """\
identifier: external_id
standard:
  first_name: customer_360.given_name
  last_name: customer_360.surname
  email: customer_360.email
  phone: customer_360.phone
  dob: customer_360.birthdate
  country: customer_360.country
custom:
  loyalty_tier: {source: customer_360.loyalty_tier, type: Varchar(16)}
  lifetime_monetary: {source: customer_transactions.lifetime_monetary, type: Decimal(2)}
  lifetime_frequency: {source: customer_transactions.lifetime_frequency, type: Integer}
"""


def write_config(folder: Path, salesforce_encoding: str = "windows-1252") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.yaml").write_text(SOURCES_YAML.format(encoding=salesforce_encoding))
    (folder / "currency_rates.csv").write_text(f"currency,rate\nUSD,1\nCAD,{CAD_RATE}\n")
    (folder / "attributes.yaml").write_text(ATTRIBUTES_YAML)
    (folder / "destinations.yaml").write_text(
        "destinations:\n  braze:\n    api_key_env: BRAZE_API_KEY\n"
        "    rest_endpoint_env: BRAZE_REST_ENDPOINT\n    circuit_breaker_min_profiles: 1000000\n"
    )
    return folder


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


def score_orders(orders: pl.DataFrame) -> dict[str, float]:
    """``orders``: order_id, person (truth), amperity_id (null: the order counts for no one),
    counted orders only. Returns the tied-right share and what went wrong with the rest."""
    tied = orders.drop_nulls("amperity_id")
    home = (
        tied.group_by("person", "amperity_id")
        .len()
        .sort(["person", "len", "amperity_id"], descending=[False, True, False])
        .group_by("person", maintain_order=True)
        .first()
        .select("person", home="amperity_id")
    )
    share = (
        tied.group_by("amperity_id", "person")
        .len()
        .with_columns(share=pl.col("len") / pl.col("len").sum().over("amperity_id"))
        .select("amperity_id", "person", "share")
    )
    scored = (
        orders.join(home, on="person", how="left")
        .join(share, on=["amperity_id", "person"], how="left")
        .with_columns(
            right=(pl.col("amperity_id") == pl.col("home")).fill_null(False)
            & (pl.col("share") >= CLUSTER_PURITY).fill_null(False),
            mixed=(pl.col("share") < CLUSTER_PURITY).fill_null(False),
            split=(pl.col("amperity_id") != pl.col("home")).fill_null(False),
        )
    )
    total = max(scored.height, 1)
    return {
        "orders": scored.height,
        "tied_right": scored["right"].sum() / total,
        "untied": scored["amperity_id"].null_count() / total,
        "in_mixed_cluster": scored["mixed"].sum() / total,
        "away_from_own_cluster": scored["split"].sum() / total,
    }


def _collapse(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(r"\s+", " ").str.strip_chars()


def score_names(
    profiles: pl.DataFrame, identity: pl.DataFrame, spellings: pl.DataFrame
) -> dict[str, float]:
    """Share of profiles (external_id, first_name) whose first name is a spelling one of their
    records holds (``spellings``: source, record_id, spelling) or their true given name or
    nickname (already in ``spellings`` under source 'truth' keyed by the records' person)."""
    named = profiles.drop_nulls("first_name").select(
        amperity_id="external_id", first_name=_collapse(pl.col("first_name"))
    )
    known = (
        # Shopify's ids keep their apostrophe in the pipeline ('5100...) or lose it: either joins.
        identity.select("source", pl.col("record_id").str.strip_prefix("'"), "amperity_id")
        .join(spellings, on=["source", "record_id"])
        .select("amperity_id", spelling=_collapse(pl.col("spelling")))
        .unique()
    )
    kept = named.join(
        known,
        left_on=["amperity_id", "first_name"],
        right_on=["amperity_id", "spelling"],
        how="semi",
    )
    return {"profiles_named": named.height, "names_kept": kept.height / max(named.height, 1)}


def score_spend(
    order_truth: pl.DataFrame, orders: pl.DataFrame, transactions: pl.DataFrame
) -> dict[str, float]:
    """Per true person with counted orders: lifetime_monetary of their cluster vs the truth."""
    truth = order_truth.filter("counted").group_by("person").agg(truth=pl.col("paid_usd").sum())
    home = (
        orders.drop_nulls("amperity_id")
        .group_by("person", "amperity_id")
        .len()
        .sort(["person", "len", "amperity_id"], descending=[False, True, False])
        .group_by("person", maintain_order=True)
        .first()
        .select("person", "amperity_id")
    )
    compared = (
        truth.join(home, on="person", how="left")
        .join(transactions.select("amperity_id", "lifetime_monetary"), on="amperity_id", how="left")
        .with_columns(error=(pl.col("lifetime_monetary").fill_null(0.0) - pl.col("truth")).abs())
    )
    return {
        "people_with_orders": compared.height,
        "spend_exact": (compared["error"] <= 0.01).sum() / max(compared.height, 1),
        "spend_abs_error_share": compared["error"].sum() / max(compared["truth"].sum(), 1e-9),
    }


# ---------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------


def _settings(data_dir: Path, config_dir: Path, **env: str):
    from amperity_braze_assets.settings import load_settings

    return load_settings(
        {
            "AMPERITY_BRAZE_DATA_DIR": str(data_dir),
            "AMPERITY_BRAZE_CONFIG_DIR": str(config_dir),
            "AMPERITY_BRAZE_AS_OF": REFERENCE_TIME.isoformat(),
            **env,
        }
    )


def run_sync_job(settings, instance):
    from amperity_braze_assets.definitions import build_definitions

    return (
        build_definitions(settings)
        .resolve_job_def("braze_sync_job")
        .execute_in_process(instance=instance, raise_on_error=False)
    )


def failure_text(result) -> str:
    parts = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    parts += [e.description or "" for e in result.get_asset_check_evaluations() if not e.passed]
    return "\n".join(parts)


def dry_run_profiles(data_dir: Path, run_id: str) -> pl.DataFrame:
    rows: dict[str, dict] = {}
    for path in (data_dir / "braze" / "dry_run" / run_id).glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            for item in json.loads(line).get("attributes", []):
                rows.setdefault(item["external_id"], {}).update(item)
    return pl.DataFrame(
        [{"external_id": k, "first_name": v.get("first_name")} for k, v in rows.items()],
        schema={"external_id": pl.String, "first_name": pl.String},
    )


def spellings_of(exports: Exports, data_dir: Path) -> pl.DataFrame:
    """Given-name spellings as each file holds them (Salesforce as decoded from Windows-1252),
    the first word of each order's Billing Name, and each record's true given name and nickname."""
    salesforce = pl.read_csv(
        data_dir / "sources" / "salesforce" / "contacts_report.csv",
        encoding="windows-1252",
        infer_schema=False,
    )
    orders = exports.shopify_orders.filter(pl.col("Billing Name").is_not_null())
    files = pl.concat(
        [
            exports.shopify_customers.select(
                source=pl.lit("shopify_customers"),
                record_id=pl.col("Customer ID").str.strip_prefix("'"),
                spelling=pl.col("First Name"),
            ),
            salesforce.select(
                source=pl.lit("salesforce"),
                record_id=pl.col("Contact ID"),
                spelling=pl.col("First Name"),
            ),
            orders.select(
                source=pl.lit("shopify_orders"),
                record_id=pl.col("Name"),
                spelling=pl.col("Billing Name").str.split(" ").list.first(),
            ),
        ]
    )
    records = exports.record_truth.with_columns(
        source=pl.when(pl.col("source") == "shopify")
        .then(pl.lit("shopify_customers"))
        .otherwise(pl.col("source"))
    )
    true_names = (
        records.join(exports.people, on="person")
        .select(
            "source",
            "record_id",
            spelling=pl.concat_list("given_name", "nickname"),
        )
        .explode("spelling")
    )
    return pl.concat([files, true_names]).drop_nulls("spelling")


def trial(people: int, seed: int, out: Path) -> dict[str, float]:
    import dagster as dg

    started = time.perf_counter()
    exports = generate_exports(people, seed)
    data_dir = out / "data"
    write_exports(exports, data_dir)
    config = write_config(out / "config")
    generated = time.perf_counter() - started
    os.environ.pop("BRAZE_API_KEY", None)
    settings = _settings(data_dir, config, BRAZE_REST_ENDPOINT="http://127.0.0.1:9")
    started = time.perf_counter()
    with dg.instance_for_test() as instance:
        result = run_sync_job(settings, instance)
    seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"the pipeline failed:\n{failure_text(result)}")
    storage = Path(settings.storage_base)
    identity = pl.read_parquet(storage / "identity_resolution.parquet")
    transactions = pl.read_parquet(storage / "customer_transactions.parquet")
    counted = exports.order_truth.filter("counted").join(
        identity.filter(pl.col("source") == "shopify_orders").select(
            order_id="record_id", amperity_id="amperity_id"
        ),
        on="order_id",
        how="left",
    )
    figures = {
        "people": people,
        "records": identity.height,
        "generate_seconds": generated,
        "pipeline_seconds": seconds,
        **score_orders(counted),
        **score_names(
            dry_run_profiles(data_dir, result.run_id), identity, spellings_of(exports, data_dir)
        ),
        **score_spend(exports.order_truth, counted, transactions),
    }
    return figures


def wrong_encoding(people: int, seed: int, out: Path) -> bool:
    """A good sync to the emulator, then the Salesforce report read as UTF-8: stopped, untouched."""
    import dagster as dg

    from amperity_braze_assets.devtools.emulator import start_emulator

    exports = generate_exports(people, seed)
    data_dir = out / "data"
    write_exports(exports, data_dir)
    good_config = write_config(out / "config_good")
    bad_config = write_config(out / "config_wrong_encoding", salesforce_encoding="utf-8")
    key = "exports-trial-emulator-key"
    with start_emulator(key) as emulator:
        env = {"BRAZE_API_KEY": key, "BRAZE_REST_ENDPOINT": emulator.url}
        os.environ.update(env)
        try:
            with dg.instance_for_test() as instance:
                good = run_sync_job(_settings(data_dir, good_config, **env), instance)
                before = copy.deepcopy(emulator.profiles)
                requests = emulator.counters.requests
                started = time.perf_counter()
                bad = run_sync_job(_settings(data_dir, bad_config, **env), instance)
                seconds = time.perf_counter() - started
        finally:
            for name in env:
                os.environ.pop(name, None)
        untouched = emulator.profiles == before and emulator.counters.requests == requests
    print(f"good run: {'success' if good.success else 'FAILED'}, {len(before):,} profiles in Braze")
    print(
        f"run with csv.encoding: utf-8: {'STOPPED' if not bad.success else 'success'} in {seconds:.1f} s"
    )
    print(f"Braze untouched: {untouched}")
    print("message:\n  " + failure_text(bad).strip().replace("\n", "\n  ")[:2000])
    return good.success and not bad.success and untouched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", choices=("exports", "wrong-encoding"), default="exports")
    parser.add_argument("--out", type=Path, default=None, help="folder (default: a temp folder)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="exports_trial_"))
    print(f"exports trial: {args.people:,} people, seed {args.seed}, in {out}")
    if args.scenario == "wrong-encoding":
        return 0 if wrong_encoding(args.people, args.seed, out) else 1
    figures = trial(args.people, args.seed, out)
    rows = [
        ("records (customer files + orders)", f"{figures['records']:,}"),
        ("counted orders", f"{figures['orders']:,}"),
        (
            "paid orders tied to the right person",
            f"{figures['tied_right']:.2%}  (target >= {TARGET_TIED_RIGHT:.0%})",
        ),
        ("  untied", f"{figures['untied']:.2%}"),
        ("  in a cluster mixing people", f"{figures['in_mixed_cluster']:.2%}"),
        ("  away from the person's cluster", f"{figures['away_from_own_cluster']:.2%}"),
        ("names kept as written", f"{figures['names_kept']:.2%} of {figures['profiles_named']:,}"),
        ("people whose spend is exact", f"{figures['spend_exact']:.2%}"),
        ("spend error (sum |error| / total)", f"{figures['spend_abs_error_share']:.3%}"),
        ("generate (s)", f"{figures['generate_seconds']:.1f}"),
        ("pipeline to dry-run bodies (s)", f"{figures['pipeline_seconds']:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
    return 0 if figures["tied_right"] >= TARGET_TIED_RIGHT else 1


if __name__ == "__main__":
    raise SystemExit(main())
