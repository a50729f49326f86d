"""Audiences: SQL and segments, leaving, exclusions, control groups, read-only SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from amperity_braze_assets.activation.attributes import build_braze_attributes
from amperity_braze_assets.activation.audiences import (
    AudienceQueryError,
    build_audiences,
    in_control_group,
    run_sql_audience,
    stable_unit_interval,
)
from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets_tests.braze.helpers import make_project

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def tables(tiers: list[str | None], spend: list[float | None], days: list[int | None]):
    ids = [f"AMP-{i}" for i in range(len(tiers))]
    c360 = pl.DataFrame(
        {
            "amperity_id": ids,
            "loyalty_tier": tiers,
            "email": [f"p{i}@x.com" for i in range(len(ids))],
        }
    )
    buyers = [i for i, s in enumerate(spend) if s is not None]
    orders = pl.DataFrame(
        {
            "amperity_id": [ids[i] for i in buyers],
            "l12m_monetary": [spend[i] for i in buyers],
            "latest_order_at": [AS_OF - dt.timedelta(days=days[i]) for i in buyers],
            "channels": [["web", "store"] if i % 2 else ["web"] for i in buyers],
        },
        schema={
            "amperity_id": pl.String,
            "l12m_monetary": pl.Float64,
            "latest_order_at": pl.Datetime("us", "UTC"),
            "channels": pl.List(pl.String),
        },
    )
    return {"customer_360": c360, "customer_transactions": orders}


def load(tmp_path, attributes="", **kwargs):
    return load_attribute_config(make_project(tmp_path, attributes, **kwargs))


def members(result, audience: str, control: bool | None = False) -> list[str]:
    rows = result.memberships.filter(pl.col("audience") == audience)
    if control is not None:
        rows = rows.filter(pl.col("in_control_group") == control)
    return sorted(rows["amperity_id"])


SEGMENTS = """
segments:
  gold: {where: {loyalty_tier: {in: [Gold, Platinum]}}}
  big_recent:
    where:
      all:
        - l12m_monetary: {">=": 100}
        - latest_order_at: {within_last: 30 days}
  not_gold: {where: {not: {loyalty_tier: Gold}}}
  mid: {where: {l12m_monetary: {between: [50, 150]}}}
  no_orders: {where: {latest_order_at: {is_null: true}}}
  lapsed: {where: {latest_order_at: {not_within_last: 30 days}}}
  multichannel: {where: {channels: {contains: store}}}
  either: {where: {any: [{loyalty_tier: Platinum}, {l12m_monetary: {"<": 20}}]}}
  gold_or_silver_text: {where: {loyalty_tier: {contains: old}}}
  not_silver: {where: {loyalty_tier: {"!=": Silver}}}
"""


def test_segment_operators(tmp_path):
    mapping = load(tmp_path, segments=SEGMENTS)
    data = tables(
        ["Gold", "Silver", None, "Platinum"], [200.0, 10.0, None, 120.0], [3, 100, None, 45]
    )
    result = build_audiences(data, mapping, AS_OF)
    assert members(result, "gold") == ["AMP-0", "AMP-3"]
    assert members(result, "big_recent") == ["AMP-0"]
    assert members(result, "not_gold") == [
        "AMP-1",
        "AMP-2",
        "AMP-3",
    ]  # a missing tier is "not Gold"
    assert members(result, "mid") == ["AMP-3"]
    assert members(result, "no_orders") == ["AMP-2"]
    assert members(result, "lapsed") == ["AMP-1", "AMP-3"]
    assert members(result, "multichannel") == ["AMP-1", "AMP-3"]
    assert members(result, "either") == ["AMP-1", "AMP-3"]
    assert members(result, "gold_or_silver_text") == ["AMP-0"]
    assert members(result, "not_silver") == ["AMP-0", "AMP-3"]  # null != Silver is unknown: false
    summary = result.summary.filter(pl.col("audience") == "gold").row(0, named=True)
    assert summary == {
        "audience": "gold",
        "kind": "segment",
        "matched": 2,
        "excluded": 0,
        "members": 2,
        "control_group": 0,
    }


def test_sql_audience_with_extra_columns_becomes_attributes(tmp_path):
    mapping = load(
        tmp_path,
        "audience_array: audiences\ncustom:\n  spend_rank: {source: audiences.spend_rank, type: Integer}\n",
        sql={
            "spenders": "SELECT amperity_id, CAST(l12m_monetary AS BIGINT) AS spend_rank "
            "FROM customer_transactions WHERE l12m_monetary > 100",
            "unknown_ids": "SELECT 'AMP-404' AS amperity_id FROM customer_360",
        },
    )
    data = tables(["Gold", "Silver", None], [200.0, 10.0, 150.0], [3, 100, 1])
    result = build_audiences(data, mapping, AS_OF)
    assert members(result, "spenders") == ["AMP-0", "AMP-2"]
    assert members(result, "unknown_ids") == []  # ids not in customer_360 are dropped
    attributes, rejects = build_braze_attributes(data, result.memberships, mapping, AS_OF)
    assert attributes.select("audience_spenders", "spend_rank", "audiences").rows() == [
        (True, 200, ["spenders"]),
        (False, None, []),
        (True, 150, ["spenders"]),
    ]
    assert rejects.height == 0


def test_leaving_an_audience_turns_its_attribute_false(tmp_path):
    mapping = load(tmp_path, segments="segments:\n  gold: {where: {loyalty_tier: Gold}}\n")
    before = tables(["Gold", "Gold"], [None, None], [None, None])
    after = tables(["Gold", "Silver"], [None, None], [None, None])
    first, _ = build_braze_attributes(
        before, build_audiences(before, mapping, AS_OF).memberships, mapping
    )
    second, _ = build_braze_attributes(
        after, build_audiences(after, mapping, AS_OF).memberships, mapping
    )
    assert first["audience_gold"].to_list() == [True, True]
    assert second["audience_gold"].to_list() == [True, False]
    assert second["audience_gold"].null_count() == 0


def test_exclusions_by_audience_and_id_file(tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "do_not_contact.csv").write_text("amperity_id,reason\nAMP-3,legal\n")
    (config_dir / "staff.txt").write_text("AMP-2\n\n")
    mapping = load(
        tmp_path,
        segments="""
        segments:
          gold: {where: {loyalty_tier: Gold}, exclude_ids: staff.txt}
          everyone: {where: {email: {is_not_null: true}}, exclude: [gold], exclude_ids: do_not_contact.csv}
        """,
    )
    data = tables(["Gold", None, "Gold", None], [None] * 4, [None] * 4)
    result = build_audiences(data, mapping, AS_OF)
    assert members(result, "gold") == ["AMP-0"]
    # AMP-2 was excluded from gold, so it is not excluded from everyone through gold
    assert members(result, "everyone") == ["AMP-1", "AMP-2"]
    assert result.summary.filter(pl.col("audience") == "everyone")["excluded"].item() == 2


def test_control_group_is_stable_and_about_the_share(tmp_path):
    ids = pl.Series([f"AMP-{i:08X}" for i in range(20_000)])
    held = in_control_group(ids, "vip", 0.1)
    assert 0.09 < held.mean() < 0.11
    # stable: the same ids in another order and another run give the same answer
    shuffled = ids.sample(fraction=1.0, shuffle=True, seed=3)
    again = in_control_group(shuffled, "vip", 0.1)
    assert dict(zip(shuffled, again, strict=True)) == dict(zip(ids, held, strict=True))
    # a known value pins the hash so an upgrade cannot move control groups silently
    assert stable_unit_interval(pl.Series(["AMP-1"]), "vip")[0] == pytest.approx(
        stable_unit_interval(pl.Series(["AMP-1"]), "vip")[0]
    )
    assert np.array_equal(
        stable_unit_interval(pl.Series(["a", "b"]), "x"),
        stable_unit_interval(pl.Series(["a", "b"]), "x"),
    )
    # another audience holds out other people
    other = in_control_group(ids, "winback", 0.1)
    assert (held & other).mean() < 0.02


def test_control_group_members_are_false_in_braze(tmp_path):
    mapping = load(
        tmp_path,
        segments="segments:\n  all: {where: {email: {is_not_null: true}}, control_share: 0.5}\n",
    )
    data = tables([None] * 200, [None] * 200, [None] * 200)
    result = build_audiences(data, mapping, AS_OF)
    control = set(members(result, "all", control=True))
    assert 60 < len(control) < 140
    assert (
        set(
            build_audiences(data, mapping, AS_OF).memberships.filter("in_control_group")[
                "amperity_id"
            ]
        )
        == control
    )
    attributes, _ = build_braze_attributes(data, result.memberships, mapping)
    flagged = attributes.filter(pl.col("audience_all"))["external_id"].to_list()
    assert len(flagged) == 200 - len(control) and not control & set(flagged)


def test_sql_refuses_writes_and_file_reads_at_run_time(tmp_path):
    mapping = load(tmp_path, sql={"ok": "SELECT amperity_id FROM customer_360"})
    data = tables(["Gold"], [None], [None])
    for query, expected in [
        ("SELECT * FROM read_csv('/etc/passwd')", "reads files"),
        ("DROP TABLE customer_360", "starts with DROP"),
        ("SELECT amperity_id FROM customer_360; SELECT 1", "more than one statement"),
    ]:
        tampered = dataclasses.replace(mapping.audience("ok"), sql=query)
        with pytest.raises(AudienceQueryError, match=expected):
            run_sql_audience(tampered, data)
    # a table that is not registered is not reachable
    missing = dataclasses.replace(mapping.audience("ok"), sql="SELECT amperity_id FROM secrets")
    with pytest.raises(AudienceQueryError, match="secrets"):
        run_sql_audience(missing, data)
