"""customer_records: tags normalized once, read by identity resolution and the customer 360."""

from datetime import UTC, datetime

import dagster as dg
import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.customer360.survivorship import (
    build_customer_360,
    link_to_identity,
    parse_survivorship_rules,
)
from amperity_braze_assets.devtools.sample_data import generate_sample_data
from amperity_braze_assets.identity import normalize_records, resolve_with_stats
from amperity_braze_assets.identity import records as records_module
from amperity_braze_assets.identity.records import customer_records, identity_records
from amperity_braze_assets.sources.reader import read_source
from amperity_braze_assets_tests.conftest import make_settings


def _output_and_stats(*args, **kwargs):
    run = resolve_with_stats(*args, **kwargs)
    return run.output, run.stats


def _raw_sources(tmp_path) -> tuple[list[pl.DataFrame], object]:
    generate_sample_data(
        tmp_path, customers=6_000, seed=5, reference_time=datetime(2026, 6, 1, tzinfo=UTC)
    )
    config = load_project_config(make_settings(tmp_path))
    names = frozenset(s.name for s in config.customer_sources)
    frames = [
        read_source(s, tmp_path, customer_sources=names).records for s in config.customer_sources
    ]
    return frames, config


def test_resolving_customer_records_equals_resolving_the_raw_records(tmp_path):
    frames, config = _raw_sources(tmp_path)
    records = customer_records(frames)

    from_raw, raw_stats = _output_and_stats(identity_records(frames))
    from_records, stats = _output_and_stats(records, normalized=True)

    assert stats.records > 8_000 and stats.links.candidate_pairs == raw_stats.links.candidate_pairs
    assert_frame_equal(from_records, from_raw)
    # The 360 reads the same rows in the same order, so it links without a join.
    assert_frame_equal(
        records.select(pl.col("source"), pl.col("record_id")),
        from_records.select("source", "record_id"),
    )
    rules = parse_survivorship_rules(
        config.survivorship, {s.name for s in config.customer_sources}, "sources.yaml"
    )
    joined = build_customer_360(records.sample(fraction=1.0, shuffle=True, seed=1), from_raw, rules)
    aligned = build_customer_360(records, from_raw, rules)
    assert_frame_equal(aligned, joined)


def test_customer_records_parse_updated_at_and_keep_every_record_in_order(tmp_path, monkeypatch):
    frames, _ = _raw_sources(tmp_path)
    monkeypatch.setattr(records_module, "NORMALIZE_ROWS", 997)  # normalized in ten pieces
    records = customer_records(frames)
    stacked = identity_records(frames)

    assert records.height == stacked.height
    assert records.schema["updated_at"] == pl.Datetime("us", "UTC")
    assert records.schema["birthdate"] == pl.Date
    assert_frame_equal(
        records.drop("updated_at"), normalize_records(stacked), check_column_order=False
    )
    with_updated = sum(
        f.get_column("updated_at").is_not_null().sum() for f in frames if "updated_at" in f.columns
    )
    assert records.get_column("updated_at").is_not_null().sum() >= with_updated * 0.99


def test_link_to_identity_without_a_join_only_when_rows_line_up():
    identity = pl.DataFrame(
        {"source": ["a", "a", "b"], "record_id": ["1", "2", "1"], "amperity_id": ["x", "y", "x"]}
    )
    frame = pl.DataFrame({"source": ["b", "a", "a"], "record_id": ["1", "2", "1"], "v": [1, 2, 3]})

    def ids_by_value(linked: pl.DataFrame) -> dict[int, str]:
        return dict(linked.select("v", "amperity_id").iter_rows())

    expected = {1: "x", 2: "y", 3: "x"}
    assert ids_by_value(link_to_identity(frame, identity, "source", "record_id")) == expected
    lined_up = frame.sort("source", "record_id")
    assert ids_by_value(link_to_identity(lined_up, identity, "source", "record_id")) == expected


def test_identity_reads_only_matched_columns_and_names_split_from_full_name(tmp_path):
    """identity_resolution asks the I/O manager for the columns it matches on; given_name and
    surname are among them even when every source tags only full_name (normalizing splits it)."""
    import dataclasses

    from amperity_braze_assets.identity.assets import build_identity_assets

    settings = make_settings(tmp_path)
    config = load_project_config(settings)
    full_name_only = tuple(
        dataclasses.replace(
            s,
            columns={c: t for c, t in s.columns.items() if t not in ("given_name", "surname")},
        )
        if s.kind == "customers"
        else s
        for s in config.sources
    )
    config = dataclasses.replace(config, sources=full_name_only)
    identity_asset = next(
        a
        for a in build_identity_assets(config, settings)
        if dg.AssetKey("identity_resolution") in a.keys
    )
    (records_input,) = [
        i for i in identity_asset.node_def.input_defs if i.name == "customer_records"
    ]
    columns = set(records_input.metadata["columns"])
    assert {"source", "record_id", "given_name", "surname", "email", "fk_loyalty"} <= columns
    assert not columns & {"full_name", "updated_at", "address2", "state", "country"}


def test_comparison_levels_in_two_lanes_equal_one_after_another(tmp_path, monkeypatch):
    from amperity_braze_assets.identity import scoring
    from amperity_braze_assets.identity.blocking import candidate_pairs
    from amperity_braze_assets.identity.features import build_features

    frames, _ = _raw_sources(tmp_path)
    features = build_features(customer_records(frames), normalized=True)
    left, right = candidate_pairs(features)
    monkeypatch.setattr(scoring, "WORKERS", 2)
    monkeypatch.setattr(scoring, "PARALLEL_PAIRS", left.size + 1)
    one_after_another = scoring.comparison_levels(features, left, right)
    monkeypatch.setattr(scoring, "PARALLEL_PAIRS", 0)
    in_lanes = scoring.comparison_levels(features, left, right)
    assert left.size > 1000
    assert np.array_equal(in_lanes, one_after_another)
    # Every comparison was written: each has pairs with a value on both sides.
    assert (in_lanes > 0).any(axis=0).all()
