"""The held-out exports trial (``bench/exports_trial.py``): its files are in the vendors' layouts
with their quirks, its truth covers every order and record, and its scores mean what they say.

The trial is loaded from the bench folder by path (bench/ is not a package); sizes stay small.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
from pathlib import Path

import polars as pl
import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "exports_trial.py"
_SPEC = importlib.util.spec_from_file_location("bench_exports_trial", _PATH)
trial = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = trial  # dataclasses look their module up while the class is built
_SPEC.loader.exec_module(trial)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    exports = trial.generate_exports(400, seed=3)
    data_dir = tmp_path_factory.mktemp("trial") / "data"
    return exports, trial.write_exports(exports, data_dir)


def _rows(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def test_files_carry_the_vendors_headers(written):
    _, files = written
    assert _rows(files["shopify_customers"])[0] == trial.SHOPIFY_CUSTOMER_HEADER
    assert _rows(files["shopify_orders"])[0] == trial.SHOPIFY_ORDER_HEADER
    assert _rows(files["salesforce"], "cp1252")[0] == trial.SALESFORCE_HEADER
    customers = _rows(files["shopify_customers"])[1:]
    assert all(row[0].startswith("'") for row in customers)  # Shopify's apostrophe-guarded ids


def test_orders_are_line_items_with_order_values_on_the_first_row_only(written):
    exports, files = written
    header, *rows = _rows(files["shopify_orders"])
    column = {name: i for i, name in enumerate(header)}
    names = [row[column["Name"]] for row in rows]
    assert len(set(names)) < len(names)  # some orders have several line items
    seen: set[str] = set()
    for row in rows:
        first = row[column["Name"]] not in seen
        seen.add(row[column["Name"]])
        assert bool(row[column["Total"]]) == first
        assert bool(row[column["Financial Status"]]) == first
        assert row[column["Created at"]] and row[column["Lineitem sku"]]
    created = {row[column["Created at"]][-6:] for row in rows}
    assert created <= {" -0400", " -0500", " -0700", " -0800", " +0000"} and len(created) > 2
    statuses = {row[column["Financial Status"]] for row in rows} - {""}
    assert statuses == set(trial.STATUSES)
    assert {row[column["Currency"]] for row in rows} - {""} == {"USD", "CAD"}
    assert len(seen) == exports.order_truth.height


def test_the_salesforce_report_is_windows_1252_and_not_utf8(written):
    _, files = written
    data = files["salesforce"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rows = _rows(files["salesforce"], "cp1252")
    assert any("\n" in row[8] for row in rows[1:])  # multi-line Mailing Street
    assert any(row[-1].endswith(("AM", "PM")) for row in rows[1:])


def test_truth_covers_every_order_and_record_and_guests_exist(written):
    exports, _ = written
    truth = exports.record_truth
    assert truth.select("source", "record_id").is_unique().all()
    orders = exports.order_truth
    assert orders["order_id"].is_in(truth["record_id"].implode()).all()
    in_files = truth.filter(pl.col("source") != "shopify_orders")["person"].unique()
    buyers = orders["person"].unique()
    # People the brand knows only from their orders (GUEST_ONLY).
    assert buyers.is_in(in_files.implode()).not_().sum() >= 5
    # Spend: paid orders in USD, CAD at the rates file's rate, nothing for the others.
    assert orders.filter(~pl.col("counted"))["paid_usd"].abs().max() == 0
    assert orders.filter(pl.col("counted"))["paid_usd"].min() > 0


def test_the_same_seed_gives_the_same_exports():
    one, two = trial.generate_exports(150, seed=9), trial.generate_exports(150, seed=9)
    assert one.shopify_orders.equals(two.shopify_orders)
    assert one.salesforce.equals(two.salesforce)


def test_an_order_is_tied_right_only_in_its_persons_own_unmixed_cluster():
    orders = pl.DataFrame(
        {
            "order_id": [f"#{i}" for i in range(8)],
            "person": ["ann", "ann", "ann", "bob", "cy", "cy", "dee", "eve"],
            "amperity_id": ["A", "A", "X", "B", "C", "C", "C", None],
        }
    )
    scores = trial.score_orders(orders)
    # Ann: two in A (hers, pure), one away in X. Bob: right. Cy and Dee share C: neither right.
    assert scores["tied_right"] == pytest.approx(3 / 8)
    assert scores["untied"] == pytest.approx(1 / 8)
    assert scores["in_mixed_cluster"] == pytest.approx(3 / 8)
    assert scores["away_from_own_cluster"] == pytest.approx(1 / 8)


def test_names_are_kept_only_when_a_record_or_the_truth_holds_that_spelling():
    profiles = pl.DataFrame(
        {"external_id": ["A", "B", "C"], "first_name": ["Søren", "S Ren", None]}
    )
    identity = pl.DataFrame(
        {"source": ["s", "s", "s"], "record_id": ["1", "'2", "3"], "amperity_id": ["A", "B", "C"]}
    )
    spellings = pl.DataFrame(
        {
            "source": ["s", "s", "s"],
            "record_id": ["1", "2", "3"],
            "spelling": ["Søren ", "Søren", "X"],
        }
    )
    scores = trial.score_names(profiles, identity, spellings)
    assert scores == {"profiles_named": 2, "names_kept": 0.5}
