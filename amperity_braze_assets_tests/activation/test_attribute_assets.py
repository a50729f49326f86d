"""The Dagster face: audiences and Braze attributes materialized with their checks."""

from __future__ import annotations

import dagster as dg
import polars as pl

from amperity_braze_assets.activation.assets import (
    IDENTIFIER_CHECK,
    REJECT_SHARE_CHECK,
    VALUES_CHECK,
    build_attribute_assets,
)
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets_tests.braze.helpers import make_project
from amperity_braze_assets_tests.conftest import make_settings

ATTRIBUTES = """
max_reject_share: 0.3
standard:
  email: customer_360.email
custom:
  points: {source: customer_360.loyalty_points, type: Integer}
  spend: {source: customer_transactions.l12m_monetary, type: Decimal(2)}
  opens: {source: customer_engagement.email_opens_30d, type: Integer}
"""


def stand_ins(emails: list[str]) -> list[dg.AssetsDefinition]:
    ids = [f"AMP-{i}" for i in range(len(emails))]

    @dg.asset(name="customer_360")
    def customer_360() -> pl.DataFrame:
        return pl.DataFrame(
            {"amperity_id": ids, "email": emails, "loyalty_points": ["5"] * len(ids)}
        )

    @dg.asset(name="customer_transactions")
    def customer_transactions() -> pl.DataFrame:
        return pl.DataFrame({"amperity_id": ids[:1], "l12m_monetary": [123.456]})

    @dg.asset(name="customer_engagement")
    def customer_engagement() -> pl.DataFrame:
        return pl.DataFrame({"amperity_id": ids[:1], "email_opens_30d": [4]})

    return [customer_360, customer_transactions, customer_engagement]


@dg.asset(deps=["braze_customer_attributes"])
def downstream_of_attributes() -> None:
    """Stands for the diff and the sync: what a blocking check keeps from running."""


def materialize(tmp_path, emails: list[str]) -> dg.ExecuteInProcessResult:
    project = make_project(
        tmp_path,
        ATTRIBUTES,
        segments="segments:\n  spenders: {where: {l12m_monetary: {'>': 100}}}\n",
        sql={"openers": "SELECT amperity_id FROM customer_engagement WHERE email_opens_30d > 0"},
    )
    settings = make_settings(
        tmp_path / "data", project.config_dir, AMPERITY_BRAZE_AS_OF="2025-06-01"
    )
    assets = [
        *stand_ins(emails),
        *build_attribute_assets(project, settings),
        downstream_of_attributes,
    ]
    return dg.materialize(
        assets,
        resources={"io_manager": ParquetIOManager(base_path=str(tmp_path / "storage"))},
        raise_on_error=False,
    )


def check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_assets_materialize_and_checks_pass(tmp_path):
    result = materialize(tmp_path, ["a@example.com", "b@example.com", "c@example.com"])
    assert result.success
    assert check_outcomes(result) == {
        IDENTIFIER_CHECK: True,
        VALUES_CHECK: True,
        REJECT_SHARE_CHECK: True,
    }
    attributes = pl.read_parquet(tmp_path / "storage" / "braze_customer_attributes.parquet")
    assert attributes.columns == [
        "external_id",
        "email",
        "points",
        "spend",
        "opens",
        "audience_openers",
        "audience_spenders",
    ]
    assert attributes.row(0) == ("AMP-0", "a@example.com", 5, 123.46, 4, True, True)
    memberships = pl.read_parquet(tmp_path / "storage" / "audiences.parquet")
    assert memberships.columns == ["amperity_id", "audience", "in_control_group"]
    audiences_metadata = result.asset_materializations_for_node("audiences")[0].metadata
    assert audiences_metadata["members_spenders"].value == 1
    assert audiences_metadata["members_openers"].value == 1
    assert "spenders" in audiences_metadata["summary"].value


def test_reject_share_check_fails_when_too_many_values_are_bad(tmp_path):
    result = materialize(tmp_path, ["a@example.com", "nope", "also nope"])
    # The check blocks: the attributes are written (for a person to inspect), nothing after them
    # runs, so nothing reaches Braze.
    assert not result.success
    assert result.asset_materializations_for_node("braze_customer_attributes")
    assert not result.asset_materializations_for_node("downstream_of_attributes")
    assert check_outcomes(result) == {
        IDENTIFIER_CHECK: True,
        VALUES_CHECK: True,
        REJECT_SHARE_CHECK: False,
    }
    rejects = pl.read_parquet(tmp_path / "storage" / "braze_attribute_rejects.parquet")
    assert sorted(rejects["external_id"]) == ["AMP-1", "AMP-2"]
    assert set(rejects["action"]) == {"null_field"}
