import polars as pl
import pytest

from amperity_braze_assets.identity import resolve, resolve_with_stats
from amperity_braze_assets.identity.rules import REFUSALS

COLUMNS = [
    "source",
    "record_id",
    "given_name",
    "surname",
    "email",
    "phone",
    "address",
    "postal",
    "birthdate",
]


def _output_and_stats(*args, **kwargs):
    run = resolve_with_stats(*args, **kwargs)
    return run.output, run.stats


def _records(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=COLUMNS, orient="row")


def _id_of(result: pl.DataFrame, record_id: str) -> str:
    return result.filter(pl.col("record_id") == record_id).get_column("amperity_id").item()


JOHN = [
    (
        "pos",
        "p1",
        "John",
        "Smith",
        "john.smith@gmail.com",
        "(212) 555-1234",
        "1 Main St",
        "10001",
        "1980-03-05",
    ),
    (
        "web",
        "w1",
        "JOHNNY",
        "SMITH",
        "John.Smith+news@gmail.com",
        "212.555.1234",
        "1 Main Street",
        "10001",
        "03/05/1980",
    ),
]
ANNA = [
    (
        "pos",
        "p2",
        "Anna",
        "Lee",
        "anna.lee@yahoo.com",
        "415-555-2000",
        "9 Oak Ave",
        "94110",
        "1975-07-01",
    ),
    ("loyalty", "l2", "ANNA", "LEE", "anna.lee@yahoo.com", None, "9 OAK AVENUE", "94110", None),
]


def test_same_person_merges_and_people_stay_apart():
    result, stats = _output_and_stats(_records(JOHN + ANNA))
    assert result.height == 4
    assert _id_of(result, "p1") == _id_of(result, "w1")
    assert _id_of(result, "p2") == _id_of(result, "l2")
    assert _id_of(result, "p1") != _id_of(result, "p2")
    assert stats.clusters.people == 2 and stats.clusters.largest_cluster == 2
    evidence = result.filter(pl.col("record_id") == "p1").row(0, named=True)
    assert evidence["match_rule"] == "probabilistic" and evidence["match_score"] > 0
    assert evidence["matched_record_id"] == "w1"


def test_household_members_do_not_merge():
    household = [
        (
            "pos",
            "h1",
            "Mary",
            "Jones",
            "mary.j@gmail.com",
            "312-555-7000",
            "5 Elm St",
            "60601",
            "1970-01-02",
        ),
        (
            "pos",
            "h2",
            "Peter",
            "Jones",
            "pete.j@gmail.com",
            "312-555-7000",
            "5 Elm St",
            "60601",
            "1968-11-30",
        ),
        ("web", "h3", "Peter", "Jones", None, "312-555-7000", "5 Elm Street", "60601", None),
    ]
    result = resolve(_records(household))
    assert _id_of(result, "h1") != _id_of(result, "h2")
    assert _id_of(result, "h1") != _id_of(result, "h3")
    assert _id_of(result, "h2") == _id_of(result, "h3")


def test_chain_through_a_sparse_record_is_cut():
    chain = [
        (
            "pos",
            "a",
            "John",
            "Smith",
            "js@gmail.com",
            "212-555-1111",
            "1 Main St",
            "10001",
            "1980-01-01",
        ),
        ("web", "b", "John", "Smith", "js@gmail.com", "718-555-2222", None, None, None),
        (
            "pos",
            "c",
            "John",
            "Smith",
            "john.s@aol.com",
            "718-555-2222",
            "7 Pine St",
            "11201",
            "1990-06-06",
        ),
    ]
    result, stats = _output_and_stats(_records(chain))
    assert _id_of(result, "a") != _id_of(result, "c")
    assert stats.clusters.clusters_split == 1
    assert result.get_column("amperity_id").n_unique() == 2


def test_fk_joins_and_sk_separates():
    frame = _records(
        [
            ("loyalty", "l1", "Kim", "Park", None, None, None, None, None),
            ("loyalty", "l2", "Kimberly", "Parks", None, "646-555-0199", None, None, None),
            (
                "pos",
                "p1",
                "John",
                "Smith",
                "js@gmail.com",
                "212-555-1111",
                "1 Main St",
                "10001",
                "1980-01-01",
            ),
            (
                "pos",
                "p2",
                "John",
                "Smith",
                "js@gmail.com",
                "212-555-1111",
                "1 Main St",
                "10001",
                "1980-01-01",
            ),
        ]
    ).with_columns(
        pl.Series("fk_loyalty", ["LY-1", "ly-1 ", None, None]),
        pl.Series("sk_pos", [None, None, "C1", "C2"]),
    )
    result = resolve(frame)
    assert _id_of(result, "l1") == _id_of(result, "l2")
    assert (
        result.filter(pl.col("record_id") == "l1").get_column("match_rule").item() == "fk_loyalty"
    )
    assert _id_of(result, "p1") != _id_of(result, "p2")


def test_missing_columns_are_allowed():
    frame = pl.DataFrame(
        {
            "source": ["a", "b", "c"],
            "record_id": [1, 2, 3],
            "email": ["xavier@yahoo.com", "XAVIER@YAHOO.COM", None],
        }
    )
    result = resolve(frame)
    assert result.get_column("record_id").to_list() == ["1", "2", "3"]
    assert _id_of(result, "1") == _id_of(result, "2") != _id_of(result, "3")
    empty = resolve(
        pl.DataFrame(
            {"source": [], "record_id": []}, schema={"source": pl.String, "record_id": pl.String}
        )
    )
    assert empty.height == 0


def test_resolve_is_deterministic():
    frame = _records(JOHN + ANNA)
    assert resolve(frame).equals(resolve(frame))
    assert resolve(frame.reverse()).sort("record_id").equals(resolve(frame).sort("record_id"))


def test_ids_survive_additions_and_deletions():
    first, _ = _output_and_stats(_records(JOHN + ANNA))
    new_person = (
        "web",
        "w9",
        "Zed",
        "Quinn",
        "zq@mail.com",
        "917-555-3333",
        "3 Elm St",
        "10002",
        "1999-09-09",
    )
    johns_new = ("loyalty", "l1", "Jon", "Smith", "john.smith@gmail.com", None, None, None, None)
    second, stats = _output_and_stats(
        _records(JOHN + ANNA[:1] + [new_person, johns_new]), previous=first
    )
    assert _id_of(second, "p1") == _id_of(first, "p1")
    assert _id_of(second, "l1") == _id_of(first, "p1")
    assert _id_of(second, "p2") == _id_of(first, "p2")  # lost l2, keeps its id
    assert _id_of(second, "w9") not in set(first.get_column("amperity_id").to_list())
    assert stats.ids.jitter == 0.0 and stats.ids.previously_seen == 3
    assert (
        stats.ids.run == 1
        and second.filter(pl.col("record_id") == "w9")["id_created_run"].item() == 1
    )


def test_on_merge_the_larger_cluster_keeps_its_id():
    lone = ("pos", "p3", "John", "Smith", None, "917-555-4444", None, None, None)
    first = resolve(_records(JOHN + [lone]))
    assert _id_of(first, "p3") != _id_of(first, "p1")
    bridge = (
        "web",
        "w3",
        "John",
        "Smith",
        "john.smith@gmail.com",
        "917-555-4444",
        "1 Main St",
        "10001",
        "1980-03-05",
    )
    second, stats = _output_and_stats(_records(JOHN + [lone, bridge]), previous=first)
    assert second.get_column("amperity_id").n_unique() == 1
    assert _id_of(second, "p3") == _id_of(first, "p1")
    assert stats.ids.ids_changed == 1 and stats.ids.jitter == pytest.approx(1 / 3)


def test_on_split_the_larger_part_keeps_its_id():
    extra = (
        "loyalty",
        "l1",
        "John",
        "Smith",
        "john.smith@gmail.com",
        None,
        "1 Main St",
        "10001",
        None,
    )
    first = resolve(_records(JOHN + [extra]))
    assert first.get_column("amperity_id").n_unique() == 1
    moved_on = (
        "loyalty",
        "l1",
        "Maria",
        "Gomez",
        "maria.g@mail.com",
        None,
        "8 Bay Rd",
        "33101",
        "1991-02-02",
    )
    second = resolve(_records(JOHN + [moved_on]), previous=first)
    assert _id_of(second, "p1") == _id_of(second, "w1") == _id_of(first, "p1")
    assert _id_of(second, "l1") != _id_of(first, "p1")


def test_run_figures_keep_their_names_and_order_and_say_what_the_run_did():
    # The asset's metadata, the bench's report and alerting read these names: the figures are
    # built by name from parts of the run, so a part that forgets or swaps one shows here.
    first = resolve_with_stats(_records(JOHN + ANNA))
    run = resolve_with_stats(
        _records(JOHN + ANNA),
        first.output,
        always_merge=[("pos", "p1", "web", "w1")],
        never_merge=[("pos", "p2", "loyalty", "l2")],
        match_threshold=0.9,
    )
    figures = run.stats.as_dict()
    seconds = figures.pop("seconds")
    refused = figures.pop("refused_links")
    assert 0 < seconds < 60
    assert refused == {name: int(name == "steward: never merge") for name in REFUSALS[1:]}
    assert 0 < figures.pop("random_match_probability") < 1
    assert figures == {
        "records": 4,
        "people": 3,
        "largest_cluster": 2,
        "supersized_clusters": 0,
        "clusters_checked": 0,
        "clusters_split": 0,
        "candidate_pairs": 2,
        "matched_pairs": 1,
        "jitter": 0.25,
        "ids_changed": 1,
        "previously_seen": 4,
        "ids_inherited": 2,
        "ids_minted": 1,
        "run": 1,
        "match_threshold": 0.9,
        "em_iterations": 0,
        "steward_links": 1,
    }
    assert list(run.stats.as_dict()) == [
        "records",
        "people",
        "largest_cluster",
        "supersized_clusters",
        "clusters_checked",
        "clusters_split",
        "candidate_pairs",
        "matched_pairs",
        "jitter",
        "ids_changed",
        "previously_seen",
        "ids_inherited",
        "ids_minted",
        "run",
        "random_match_probability",
        "match_threshold",
        "em_iterations",
        "refused_links",
        "steward_links",
        "seconds",
    ]
