"""identity_resolution and match_review materialized for real (Parquet storage, state store),
identity.yaml honoured, the jitter check on a first and a later run, and explain-match."""

import shutil

import dagster as dg
import polars as pl
import pytest

from amperity_braze_assets import cli
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.identity.assets import build_identity_assets
from amperity_braze_assets.identity.normalize import normalize_records
from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets.storage.state_tables import RETIRED_IDS
from amperity_braze_assets_tests.conftest import make_settings
from amperity_braze_assets_tests.identity.helpers import records_frame

PEOPLE = [
    # Jane, three records: web and pos share the email, loyalty shares only the phone with pos.
    ("web", "w1", "Jane", "Okafor", "jane.okafor@fastmail.com", None, None, None, None, None),
    ("pos", "p1", "Jane", "Okafor", "jane.okafor@fastmail.com", "312-874-6620", "5 Elm St", "Chicago", "60601", "1984-05-02"),
    ("loyalty", "l1", "Jane", "Okafor", None, "(312) 874-6620", "5 Elm Street", "Chicago", "60601", "1984-05-02"),
    # Her twin sister: same birth date, surname, address and phone.
    ("pos", "p2", "Ruth", "Okafor", "ruth.o@mailbox.org", "312-874-6620", "5 Elm St", "Chicago", "60601", "1984-05-02"),
    # Two more people.
    ("pos", "p3", "Tomasz", "Wiśniewski", "tw@wp.pl", "773-555-0199", "9 Oak Ave", "Chicago", "60614", "1969-12-30"),
    ("web", "w3", "Tomasz", "Wisniewski", "tw@wp.pl", None, None, None, None, None),
    ("web", "w4", "Ines", "Duarte", "ines.duarte@sapo.pt", None, None, None, None, None),
]  # fmt: skip


def _project(tmp_path, identity_yaml: str | None = None):
    config_dir = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG_DIR, config_dir)
    if identity_yaml is not None:
        (config_dir / "identity.yaml").write_text(identity_yaml)
    settings = make_settings(tmp_path / "data", config_dir)
    return settings, load_project_config(settings, check_files=False)


def _materialize(settings, config, rows, instance):
    normalized = normalize_records(records_frame(rows))
    storage = settings.storage_base
    ParquetIOManager(base_path=storage)  # the layout below is the I/O manager's
    (settings.data_dir / "storage").mkdir(parents=True, exist_ok=True)
    normalized.write_parquet(f"{storage}/customer_records.parquet")
    assets = build_identity_assets(config, settings)
    identity = next(a for a in assets if dg.AssetKey("identity_resolution") in a.keys)
    # customer_records as stored by its asset: read through the I/O manager, as a run does.
    records_asset = dg.AssetSpec("customer_records").with_io_manager_key("io_manager")
    return dg.materialize(
        [records_asset, identity],
        resources={
            "io_manager": ParquetIOManager(base_path=storage),
            "state_store": StateStore(base_path=settings.state_base),
        },
        instance=instance,
    )


def _stored_ids(settings) -> dict[str, str]:
    frame = pl.read_parquet(f"{settings.storage_base}/identity_resolution.parquet")
    return dict(zip(frame["record_id"], frame["amperity_id"], strict=True))


def _check(result, name: str) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def test_people_twins_and_the_review_table(tmp_path):
    settings, config = _project(tmp_path)
    with dg.instance_for_test() as instance:
        result = _materialize(settings, config, PEOPLE, instance)
    assert result.success
    ids = _stored_ids(settings)
    assert ids["w1"] == ids["p1"] == ids["l1"]
    assert ids["p2"] != ids["p1"]  # the twin
    assert ids["p3"] == ids["w3"] and ids["w4"] not in (ids["p1"], ids["p3"])

    review = pl.read_parquet(f"{settings.storage_base}/match_review.parquet")
    twin = review.filter(
        pl.struct("record_id_a", "record_id_b").map_elements(
            lambda r: {r["record_id_a"], r["record_id_b"]} in ({"p1", "p2"}, {"l1", "p2"}),
            return_dtype=pl.Boolean,
        )
    )
    assert twin.height >= 1
    assert set(twin["reason"]) == {"given names conflict"}
    assert not twin["linked"].any() and twin["probability"].min() > 0.5
    assert "given different" in twin["evidence"][0] and "birth exact" in twin["evidence"][0]
    weakest = review.filter(pl.col("kind") == "weakest link")
    assert weakest.height >= 1 and weakest["linked"].all() and weakest["same_person"].all()
    # No values in the review table: keys, probabilities and levels only.
    assert "okafor" not in review.write_csv().lower()

    metadata = result.asset_materializations_for_node("identity_resolution")[0].metadata
    assert metadata["refused_by_rule"].value["given names conflict"] >= 1
    # Three matching pairs among the 21 pairs of 7 records: about one in seven.
    assert 3 <= metadata["prior_one_in"].value <= 20


def test_the_jitter_check_says_no_previous_run_then_fails_on_churn(tmp_path):
    settings, config = _project(tmp_path)
    with dg.instance_for_test() as instance:
        first = _materialize(settings, config, PEOPLE, instance)
        check = _check(first, "identity_jitter_under_2_percent")
        assert check.passed and "No previous run" in check.description
        assert check.metadata["jitter"].value == "no previous run"

        # Unchanged input: nothing moves, the check passes on a measured 0.
        again = _materialize(settings, config, PEOPLE, instance)
        check = _check(again, "identity_jitter_under_2_percent")
        assert check.passed and check.metadata["jitter"].value == 0.0

        # Jane's web record changes email and name: it leaves her, 1 of 7 records moves.
        churned = [
            ("web", "w1", "Janet", "Okoro", "j.okoro@fastmail.com", None, None, None, None, None),
            *PEOPLE[1:],
        ]
        third = _materialize(settings, config, churned, instance)
        check = _check(third, "identity_jitter_under_2_percent")
        assert not check.passed
        assert check.metadata["ids_changed"].value == 1
        assert check.metadata["jitter"].value == pytest.approx(1 / 7, abs=1e-6)
        assert check.severity == dg.AssetCheckSeverity.WARN


def test_steward_overrides_are_honoured_on_every_run(tmp_path):
    yaml = """
match_threshold: 0.95
never_merge:
  - [web:w3, pos:p3]
always_merge:
  - [pos:p2, pos:p1]
"""
    settings, config = _project(tmp_path, yaml)
    with dg.instance_for_test() as instance:
        for _ in range(2):
            result = _materialize(settings, config, PEOPLE, instance)
            ids = _stored_ids(settings)
            assert ids["p3"] != ids["w3"]  # one email, yet kept apart
            assert ids["p1"] == ids["p2"]  # the steward says one person, despite the names
    metadata = result.asset_materializations_for_node("identity_resolution")[0].metadata
    assert metadata["steward_links"].value == 1


def test_a_higher_threshold_links_fewer_pairs(tmp_path):
    rows = [
        # Same name and birth date, nothing else: a bet that a stricter threshold refuses.
        ("pos", "a", "Ines", "Duarte", None, None, "4 Rua Nova", "Newark", "07105", "1990-01-02"),
        ("web", "b", "Ines", "Duarte", None, None, None, None, "07105", "1990-01-02"),
    ]
    # Three hundred other people, so that the prior means something (two records alone are
    # one person at even odds).
    rows += [
        ("crm", f"c{i}", f"Given{i}", f"Family{i}", f"person{i}@mail.com", None, None, None, None, None)
        for i in range(300)
    ]  # fmt: skip
    linked = {}
    for threshold in (0.6, 0.999999999):
        settings, config = _project(tmp_path / str(threshold), f"match_threshold: {threshold}\n")
        with dg.instance_for_test() as instance:
            _materialize(settings, config, rows, instance)
        ids = _stored_ids(settings)
        linked[threshold] = ids["a"] == ids["b"]
    assert linked == {0.6: True, 0.999999999: False}


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("match_threshold: 1.5\n", "match_threshold"),
        ("match_treshold: 0.9\n", "unknown key 'match_treshold'"),
        ("never_merge:\n  - [pos:P1]\n", "never_merge.0"),
        ("never_merge:\n  - [pos-P1, web:2]\n", "is not source:record_id"),
        ("always_merge:\n  - [shop:1, web:2]\n", "source 'shop' is not a customer source"),
        (
            "never_merge:\n  - [pos:1, web:2]\nalways_merge:\n  - [web:2, pos:1]\n",
            "also in never_merge",
        ),
        ("always_merge:\n  - [pos:1, pos:1]\n", "names one record twice"),
    ],
)
def test_a_bad_identity_yaml_fails_at_load_with_the_fix(tmp_path, yaml, message):
    with pytest.raises(ConfigError, match="identity.yaml") as error:
        _project(tmp_path, yaml)
    assert message in str(error.value)


def test_explain_match_prints_evidence_prior_decision_and_the_chain(tmp_path, monkeypatch, capsys):
    settings, config = _project(tmp_path)
    with dg.instance_for_test() as instance:
        _materialize(settings, config, PEOPLE, instance)
    monkeypatch.setenv("AMPERITY_BRAZE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("AMPERITY_BRAZE_CONFIG_DIR", str(settings.config_dir))

    assert cli.main(["explain-match", "web:w1", "pos:p1"]) == 0
    linked = capsys.readouterr().out
    assert "decision for this pair: LINK" in linked
    assert "email" in linked and "exact" in linked and "jane.okafor@fastmail.com" in linked
    assert "prior: two random records are one person 1 in" in linked
    assert "compared because they share: email" in linked
    assert "outcome: one person" in linked

    assert cli.main(["explain-match", "pos:p1", "pos:p2"]) == 0
    refused = capsys.readouterr().out
    assert "rule: refused (given names conflict)" in refused
    assert "decision for this pair: NO LINK" in refused
    assert "outcome: two people" in refused

    # Jane's web record (email only) and loyalty record (no email) meet only through pos:p1.
    assert cli.main(["explain-match", "web:w1", "loyalty:l1"]) == 0
    chain = capsys.readouterr().out
    assert "NO LINK" in chain and "through other records" in chain
    assert "web:w1 -> pos:p1" in chain and "pos:p1 -> loyalty:l1" in chain

    # Two people who share nothing but a city: never compared, so never linked.
    assert cli.main(["explain-match", "web:w4", "pos:p3"]) == 0
    strangers = capsys.readouterr().out
    assert "never compared" in strangers and "decision for this pair: NO LINK" in strangers

    assert cli.main(["explain-match", "web:w1", "web:nobody"]) == 2
    assert "web:nobody is not among the stored customer records" in capsys.readouterr().err


def test_a_merge_records_the_retired_id_for_the_currents_tables(tmp_path):
    """Tomasz's web record only joins his store record once it carries the same email: one of
    the two ids is retired, and the state store says whose it is now (what customer_engagement
    reads to count Braze's events of the old id for him)."""
    settings, config = _project(tmp_path)
    apart = [(*row[:4], "tomek.w@gmail.com", *row[5:]) if row[1] == "w3" else row for row in PEOPLE]
    with dg.instance_for_test() as instance:
        _materialize(settings, config, apart, instance)
        before = _stored_ids(settings)
        assert before["w3"] != before["p3"]
        _materialize(settings, config, PEOPLE, instance)
        after = _stored_ids(settings)
    assert after["w3"] == after["p3"]
    retired = StateStore(base_path=settings.state_base).tables().read(RETIRED_IDS)
    (absorbed,) = {before["w3"], before["p3"]} - {after["p3"]}
    assert dict(retired.iter_rows()) == {absorbed: after["p3"]}
