"""The evidence and rules that keep strangers apart: term frequency, the prior, disagreement,
the support rule, conflicts, chains and a steward's overrides. Each test builds the pattern it
names and asserts the decision, the figure or the refusal the rule gives."""

import numpy as np
import polars as pl
import pytest

from amperity_braze_assets.identity import resolve, resolve_with_stats
from amperity_braze_assets.identity.features import build_features
from amperity_braze_assets.identity.prior import estimate_prior
from amperity_braze_assets.identity.rules import (
    BIRTH_CONFLICT,
    EMAIL_CONFLICT,
    GENERATION_GAP,
    GIVEN_CONFLICT,
    NO_SUPPORT,
    REFUSALS,
    pair_rules,
)
from amperity_braze_assets.identity.scoring import (
    COMPARISONS,
    comparison_levels,
    default_model,
    pair_weights,
)
from amperity_braze_assets_tests.identity.helpers import COLUMNS, ids_by_record, records_frame


def _verdict(rows: list[tuple]) -> tuple[str, dict[str, str]]:
    """The rule's verdict on the first two rows and each field's level."""
    features = build_features(records_frame(rows))
    left, right = np.array([0]), np.array([1])
    levels = comparison_levels(features, left, right)
    refused = pair_rules(features, levels, left, right).refused[0]
    named = {
        c.name: ("missing" if level == 0 else c.levels[level - 1])
        for c, level in zip(COMPARISONS, levels[0], strict=True)
    }
    return REFUSALS[refused], named


# -- 1. Evidence that scales with the data --------------------------------------------------


def test_agreeing_on_a_rare_value_weighs_more_than_on_a_common_one():
    """Term frequency: 'Taylor' shared by many records proves less than 'Wisniewski'."""
    rng = np.random.default_rng(3)
    n = 2_000
    surnames = np.where(np.arange(n) < 400, "Taylor", [f"Name{i}" for i in range(n)])
    surnames[-2:] = "Wiśniewski"
    frame = pl.DataFrame(
        {
            "source": ["s"] * n,
            "record_id": [str(i) for i in range(n)],
            "surname": surnames,
            "given_name": rng.choice(["Anna", "Paul", "Maria", "John"], n),
        }
    )
    features = build_features(frame)
    model = default_model()
    left, right = np.array([0, n - 2]), np.array([1, n - 1])  # two Taylors, two Wiśniewskis
    levels = comparison_levels(features, left, right)
    parts = pair_weights(model, features, levels, left, use_frequencies=True, by_comparison=True)
    surname = [c.name for c in COMPARISONS].index("surname")
    taylor, wisniewski = parts[0, surname], parts[1, surname]
    # log2(m / f): f = 400/2000 for Taylor, 2/2000 for Wiśniewski.
    assert taylor == pytest.approx(np.log2(model.m[surname][-1] / 0.2), abs=0.01)
    assert wisniewski == pytest.approx(np.log2(model.m[surname][-1] / 0.001), abs=0.01)
    assert wisniewski - taylor == pytest.approx(np.log2(200), abs=0.01)


def test_the_prior_falls_as_the_records_grow():
    """The same share of duplicates among 10x the records: the prior is 10x smaller."""
    for records in (100_000, 1_000_000):
        # One true pair per ten records, each with overwhelming evidence; some noise pairs.
        weights = np.concatenate([np.full(records // 10, 60.0), np.full(records, -10.0)])
        prior = estimate_prior(weights, asserted=0, records=records)
        expected = (records // 10) / (records * (records - 1) / 2)
        assert prior == pytest.approx(expected, rel=0.01)


def test_asserted_pairs_count_as_matches_in_the_prior():
    assert estimate_prior(np.zeros(0), asserted=500, records=10_000) == pytest.approx(
        500 / (10_000 * 9_999 / 2), rel=0.01
    )


def test_the_prior_decides_a_pair_found_by_a_weak_key_at_scale():
    """Same birth date and postal code, nothing else agreeing: no link, whatever the size."""
    verdict, levels = _verdict(
        [
            ("a", "1", "Paul", "Green", None, None, None, None, "10001", "1990-07-26"),
            ("b", "2", "Michael", "Taylor", None, None, None, None, "10001", "1990-07-26"),
        ]
    )
    assert levels["birth"] == "exact" and levels["postal"] == "exact"
    assert verdict == REFUSALS[GIVEN_CONFLICT]


@pytest.mark.parametrize(
    "second",
    [
        # birth date and surname (Michael / John Taylor, given names missing on one side)
        ("b", "2", None, "Taylor", None, None, None, None, None, "1990-07-26"),
        # birth date and postal code
        ("b", "2", None, None, None, None, None, None, "10001", "1990-07-26"),
        # birth date and a given name
        ("b", "2", "Paul", None, None, None, None, None, None, "1990-07-26"),
        # the full name alone (namesakes), with nothing else to compare
        ("b", "2", "Paul", "Taylor", None, None, None, None, None, None),
    ],
    ids=["birth+surname", "birth+postal", "birth+given", "name alone"],
)
def test_name_alone_or_birth_date_plus_one_value_never_links(second):
    first = ("a", "1", "Paul", "Taylor", None, None, None, None, "10001", "1990-07-26")
    verdict, _ = _verdict([first, second])
    assert verdict == REFUSALS[NO_SUPPORT]
    result = resolve(records_frame([first, second]))
    assert result["amperity_id"].n_unique() == 2


def test_a_rare_name_alone_never_links_namesakes():
    """Namesakes with a rare name (a high weight) in two cities: still two people."""
    rows = [
        ("a", "1", "Zbigniew", "Wiśniewski", "zw@a.pl", "604-555-0101", "1 Main St", "Vancouver", "V6B 1A1", None),
        ("b", "2", "Zbigniew", "Wisniewski", "zbig@b.com", "206-555-0199", "9 Pine St", "Seattle", "98101", None),
    ]  # fmt: skip
    verdict, levels = _verdict(rows)
    assert levels["given"] == "exact_or_nickname" and levels["surname"] == "exact"
    assert verdict == REFUSALS[NO_SUPPORT]
    assert resolve(records_frame(rows))["amperity_id"].n_unique() == 2


def test_disagreement_is_evidence_against():
    """A different email, phone and address each take bits away; a move counts once."""
    rows = [
        ("a", "1", "Ashley", "Harris", "ash@a.com", "604-872-0101", "1 Main St", "Vancouver", "V6B 1A1", "1990-01-01"),
        ("b", "2", "Ashley", "Harris", "harris@b.com", "206-633-0199", "9 Pine St", "Seattle", "98101", "1990-01-01"),
    ]  # fmt: skip
    features = build_features(records_frame(rows))
    left, right = np.array([0]), np.array([1])
    levels = comparison_levels(features, left, right)
    parts = pair_weights(
        default_model(), features, levels, left, use_frequencies=False, by_comparison=True
    )[0]
    names = [c.name for c in COMPARISONS]
    for field in ("email", "phone", "address"):
        assert parts[names.index(field)] < 0, field
    # Street, postal code and city all differ: one move, counted on the street alone.
    assert parts[names.index("postal")] == 0 and parts[names.index("city")] == 0


def test_twins_do_not_merge():
    """Same birth date, surname, address and phone; a different given name: two people."""
    rows = [
        ("a", "1", "Emma", "Novak", "emma.n@a.com", "312-555-7000", "5 Elm St", "Chicago", "60601", "2001-04-09"),
        ("b", "2", "Olivia", "Novak", "liv@b.com", "312-555-7000", "5 Elm Street", "Chicago", "60601", "2001-04-09"),
    ]  # fmt: skip
    verdict, levels = _verdict(rows)
    assert levels["birth"] == "exact" and levels["given"] == "different"
    assert verdict == REFUSALS[GIVEN_CONFLICT]
    assert resolve(records_frame(rows))["amperity_id"].n_unique() == 2


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        ("Robert", "Bob", "exact_or_nickname"),
        ("Theodore", "Teddy", "exact_or_nickname"),
        ("Ignatius", "Ignatuis", "typo"),
        ("Micheal", "Michael", "typo"),
        ("J", "John", "initial_or_prefix"),
        ("Gus", "Gustavo", "initial_or_prefix"),
        ("Marg", "Margaret", "initial_or_prefix"),
        ("Michael", "Michelle", "different"),
        ("Daniel", "Danielle", "different"),
        ("Paul", "Paula", "different"),
        ("Mario", "Maria", "different"),
        ("Emma", "Olivia", "different"),
        ("Sasha", "Alexander", "exact_or_nickname"),
        ("Dima", "Dmitri", "exact_or_nickname"),
        ("Chuy", "Jesús", "exact_or_nickname"),
        ("Robert", "William", "different"),  # both BILL's, not each other's
        ("Jerome G.", "Jerome", "exact_or_nickname"),  # a middle initial dropped
        ("Ji", "Ji Woo", "initial_or_prefix"),
        ("Db", "Deborah", "initial_or_prefix"),  # an abbreviation
        ("Bo", "Deborah", "different"),
        ("Paig", "Paige", "typo"),  # not a name of its own, so a typo
        ("Ericaa", "Erica", "typo"),
    ],
)
def test_given_names_conflict_unless_nickname_initial_or_typo(first, second, level):
    rows = [
        ("a", "1", first, "Novak", None, None, None, None, None, None),
        ("b", "2", second, "Novak", None, None, None, None, None, None),
    ]
    _, levels = _verdict(rows)
    assert levels["given"] == level


def test_a_generation_apart_is_two_people():
    """Jr and Sr: same name, address and phone, born 28 years apart."""
    rows = [
        ("a", "1", "John", "Carter", None, "312-555-7000", "5 Elm St", "Chicago", "60601", "1958-03-14"),
        ("b", "2", "John", "Carter", None, "312-555-7000", "5 Elm St", "Chicago", "60601", "1986-11-02"),
    ]  # fmt: skip
    verdict, _ = _verdict(rows)
    assert verdict == REFUSALS[GENERATION_GAP]


def test_a_differing_birth_date_needs_the_name_and_a_place_or_contact():
    forgiven = [
        ("a", "1", "Nora", "Quill", None, None, "8 Oak Ave", "Denver", "80202", "1981-08-28"),
        ("b", "2", "Nora", "Quill", None, None, "8 Oak Avenue", "Denver", "80202", "1983-01-03"),
    ]
    assert _verdict(forgiven)[0] == ""
    not_forgiven = [
        ("a", "1", "Nora", "Quill", None, None, "8 Oak Ave", "Denver", "80202", "1981-08-28"),
        ("b", "2", "Nora", "Quill", None, None, "3 Elm St", "Boulder", "80301", "1983-01-03"),
    ]
    assert _verdict(not_forgiven)[0] == REFUSALS[BIRTH_CONFLICT]


def test_different_emails_need_the_given_name():
    spouse = [
        ("a", "1", None, "Decker", "aria@a.com", "305-555-8746", "16 Grant Blvd", "Miami", "33157", None),
        ("b", "2", "Patricia", "Decker", "patricia@b.com", "305-555-8746", "16 Grant Blvd", "Miami", "33157", None),
    ]  # fmt: skip
    assert _verdict(spouse)[0] == REFUSALS[EMAIL_CONFLICT]
    # The given name agrees, the surname is missing on one side: two mailboxes of one person.
    mailboxes = [
        ("a", "1", "Patricia", None, "pat@work.com", None, "16 Grant Blvd", "Miami", "33157", None),
        ("b", "2", "Patricia", "Decker", "patricia@b.com", None, "16 Grant Blvd", "Miami", "33157", None),
    ]  # fmt: skip
    assert _verdict(mailboxes)[0] == ""


def test_an_exact_email_alone_links():
    rows = [
        ("news", "1", None, None, "Kim.Lee@Fastmail.com", None, None, None, None, None),
        ("web", "2", "Kim", "Lee", "kim.lee@fastmail.com", "206-555-0100", None, None, None, None),
    ]
    assert _verdict(rows)[0] == ""
    assert resolve(records_frame(rows))["amperity_id"].n_unique() == 1


def test_a_shared_family_email_does_not_merge_spouses():
    rows = [
        ("a", "1", "Mark", "Olsen", "theolsens@mail.com", None, "4 Bay Rd", "Tampa", "33602", "1970-02-02"),
        ("b", "2", "Karen", "Olsen", "theolsens@mail.com", None, "4 Bay Rd", "Tampa", "33602", "1972-06-30"),
    ]  # fmt: skip
    assert _verdict(rows)[0] == REFUSALS[GIVEN_CONFLICT]


def test_names_swapped_with_a_typo_or_a_nickname_agree():
    rows = [
        ("a", "1", "Amelia", "Graham-Jones", None, None, "5 Mcgivern Cres", None, "2163", "1990-06-19"),
        ("b", "2", "Graham-Jones", "Amelua", None, None, "5 Mcgivern Cres", None, "2163", "1990-06-19"),
        ("c", "3", "Jimmy", "Calhurst", None, None, "1 First St", None, "70847", None),
        ("d", "4", "Calhurst", "James", None, None, "1 First St", None, "70847", None),
    ]  # fmt: skip
    features = build_features(records_frame(rows))
    levels = comparison_levels(features, np.array([0, 2]), np.array([1, 3]))
    assert (levels[:, 0] >= 3).all() and (levels[:, 1] >= 3).all()


def test_the_same_evidence_links_among_few_records_and_not_among_many():
    """A shared full name and birth date is a good bet among 2,500 records and a poorer one
    among 50,000 with the same name and date frequencies: the prior falls twentyfold, and the
    pair's posterior with it."""
    from amperity_braze_assets.identity.explain import score_pairs

    rng = np.random.default_rng(21)

    def run(records: int):
        given = rng.choice(["JOHN", "MARY", "PAUL", "ANNA", "MARK", "RUTH"], records)
        letters = "BCDFGHKLMNPRSTVZ"
        surname = rng.choice(
            [f"{a}A{b}E{c}" for a in letters for b in letters for c in "LNRS"][:300], records
        )
        email = np.array([f"p{i}@mail.com" for i in range(records)])
        # Two years of birth dates: every date is common at both sizes, so its weight holds still.
        birth = pl.Series(rng.integers(0, 365 * 2, records) - 365 * 30).cast(pl.Date)
        # One person in three has a second record: the same name, birth date and email.
        second = np.flatnonzero(rng.random(records) < 0.33)
        rows = np.concatenate([np.arange(records), second])
        frame = pl.DataFrame(
            {
                "source": ["s"] * rows.size,
                "record_id": [str(i) for i in range(rows.size)],
                "given_name": given[rows],
                "surname": surname[rows],
                "email": email[rows],
                "birthdate": birth.gather(rows).cast(pl.String),
            }
        )
        # The pair under test: the same name and a birth date as common as any, nothing else.
        day = str(birth[0])
        probe = pl.DataFrame(
            {
                "source": ["x", "y"],
                "record_id": ["probe1", "probe2"],
                "given_name": ["JOHN", "JOHN"],
                "surname": [surname[0], surname[0]],
                "email": [None, None],
                "birthdate": [day, day],
            }
        )
        frame = pl.concat([frame, probe], how="vertical_relaxed")
        resolution = resolve_with_stats(frame)
        features = build_features(frame)
        n = frame.height
        verdict = score_pairs(
            features, resolution.model, np.array([n - 2]), np.array([n - 1]), 0.8
        )[0]
        return resolution.model.random_match_probability, verdict.posterior_bits

    small_prior, small_bits = run(2_500)
    large_prior, large_bits = run(50_000)
    assert 12 <= small_prior / large_prior <= 35
    assert small_bits - large_bits >= 3.5
    # At a threshold of 0.99 the decision flips: linked among few, not among many.
    assert small_bits > np.log2(0.99 / 0.01) > large_bits


def test_precision_holds_as_the_same_population_grows():
    """Namesakes sharing a birth date and a common surname grow with the data; the prior
    keeps them apart at every size while true duplicates keep linking."""
    rng = np.random.default_rng(11)

    def population(people: int) -> tuple[pl.DataFrame, np.ndarray]:
        given = rng.choice(["JOHN", "MICHAEL", "PAUL", "DAVID", "JAMES", "ROBERT"], people)
        surname = rng.choice(["TAYLOR", "SMITH", "JONES", "BROWN"], people)
        birth = rng.integers(0, 365 * 60, people)
        email = np.array([f"p{i}@mail.com" for i in range(people)])
        person = np.arange(people)
        twice = rng.random(people) < 0.3  # a second record for 30% of people
        rows = np.concatenate([person, person[twice]])
        frame = pl.DataFrame(
            {
                "source": ["s"] * rows.size,
                "record_id": [str(i) for i in range(rows.size)],
                "given_name": given[rows],
                "surname": surname[rows],
                "email": email[rows],
                "birthdate": pl.Series(birth[rows] - 365 * 80).cast(pl.Date).cast(pl.String),
            }
        )
        return frame, rows

    precision = []
    for people in (4_000, 40_000):
        frame, person = population(people)
        result = resolve_with_stats(frame).output
        clusters = result["amperity_id"].to_numpy()
        same_cluster = pl.DataFrame({"c": clusters, "p": person})
        pairs = (
            same_cluster.group_by("c")
            .len()
            .select((pl.col("len") * (pl.col("len") - 1) / 2).sum())
            .item()
        )
        right = (
            same_cluster.group_by("c", "p")
            .len()
            .select((pl.col("len") * (pl.col("len") - 1) / 2).sum())
            .item()
        )
        precision.append(right / pairs)
    assert min(precision) >= 0.999
    assert abs(precision[0] - precision[1]) <= 0.005


# -- 2. Chains are checked -------------------------------------------------------------------


def _clusters(size, edges, conflicts):
    """Labels from ``cluster`` for hand-made links (a, b, bits, asserted) and conflicts."""
    from amperity_braze_assets.identity.clustering import cluster

    edge_frame = pl.DataFrame(
        edges, schema=["left", "right", "weight", "asserted"], orient="row"
    ).with_columns(pl.col("left", "right").cast(pl.Int64))
    conflict_frame = pl.DataFrame(
        conflicts, schema=["left", "right", "code"], orient="row"
    ).with_columns(pl.col("left", "right").cast(pl.Int64), pl.col("code").cast(pl.Int8))

    def no_more(a, b):
        return np.zeros(a.size, dtype=np.int8)

    return cluster(size, edge_frame, conflict_frame, no_more)


def test_a_chain_is_cut_at_its_weakest_link_and_the_core_stays():
    """A-B-C agree strongly; D hangs on C by a weak link and contradicts A. D leaves."""
    result = _clusters(
        4, [(0, 1, 30.0, False), (1, 2, 25.0, False), (2, 3, 6.0, False)], [(0, 3, 1)]
    )
    labels = result.labels
    assert labels[0] == labels[1] == labels[2] != labels[3]
    assert result.components_split == 1


def test_a_record_that_could_be_either_goes_where_its_strongest_link_is():
    """Jr (0) and Sr (1) conflict; a record without suffix (2) links to both, more strongly to
    Sr (same email); Sr's other record (3) links to Sr. The split keeps Jr apart, whole."""
    result = _clusters(
        4,
        [(0, 2, 18.0, False), (1, 2, 31.0, False), (1, 3, 28.0, False)],
        [(0, 1, 1)],
    )
    labels = result.labels
    assert labels[1] == labels[2] == labels[3] != labels[0]


def test_records_an_fk_joins_move_as_one():
    """A foreign key joins Chelsea's records although one has another given name (a replaced
    value, as FEBRL has); a fourth record agreeing with her other three is not thrown out for
    conflicting with that one."""
    columns = [*COLUMNS, "fk_card"]
    rows = [
        ("a", "1", "Chelsea", "Colquhoun", None, None, "22 Tillyard Dr", "Noarlunga", "2800", "1969-02-20", "428"),
        ("a", "2", "Natalie", "Colquhoun", None, None, "22 Tillyard Dr", "Noarlunga", "2800", "1969-02-20", "428"),
        ("a", "3", "Chelsea", "Colquhoun", None, None, "22 Tillyaryd Dr", "Noarlunga", "2800", "1969-02-20", "428"),
        ("a", "4", "Chelsea", "Colquhoun", None, None, "22 Tillyard Dr", "Noarlunga", "2800", "1969-02-20", "408"),
    ]  # fmt: skip
    result = resolve(pl.DataFrame(rows, schema=columns, orient="row"))
    assert result["amperity_id"].n_unique() == 1


def test_households_decide_whether_a_replaced_given_name_is_a_twin():
    """The same birth date, surname and home with another given name is a twin where the data
    has households, a typo where it has none; the data says which."""
    from amperity_braze_assets.identity.rules import twin_pattern_is_a_typo

    names = [c.name for c in COMPARISONS]
    top = {c.name: len(c.levels) for c in COMPARISONS}

    def pairs(count: int, birth: int) -> np.ndarray:
        levels = np.zeros((count, len(COMPARISONS)), dtype=np.int8)
        levels[:, names.index("given")] = 1
        levels[:, names.index("surname")] = top["surname"]
        levels[:, names.index("address")] = top["address"]
        levels[:, names.index("birth")] = birth
        return levels

    twin_like = pairs(300, top["birth"])
    no_households = np.concatenate([twin_like, pairs(20, 1)])
    households = np.concatenate([twin_like, pairs(5_000, 1)])
    assert twin_pattern_is_a_typo(no_households, 0.95)
    assert not twin_pattern_is_a_typo(households, 0.95)
    # Too few such pairs to tell: twins.
    assert not twin_pattern_is_a_typo(pairs(10, top["birth"]), 0.95)


def test_jr_and_sr_are_two_people():
    rows = [
        ("a", "1", "John", "Carter Jr", None, None, "5 Elm St", "Chicago", "60601", None),
        ("b", "2", "John", "Carter, Sr.", None, None, "5 Elm St", "Chicago", "60601", None),
        ("c", "3", "John", "Carter", None, None, "5 Elm St", "Chicago", "60601", None),
        ("d", "4", "John", "Carter", "jc@mail.com", None, "5 Elm St", "Chicago", "60601", None),
        ("e", "5", "John", "Carter Jr", "jc@mail.com", None, None, None, None, None),
    ]  # fmt: skip
    features = build_features(records_frame(rows))
    left, right = np.array([0, 0, 4]), np.array([1, 2, 3])
    refused = pair_rules(features, comparison_levels(features, left, right), left, right).refused
    # Jr against Sr; Jr against a bare John Carter at his home (the father as likely as him);
    # Jr against a John Carter with the same email: one person.
    assert [REFUSALS[code] for code in refused] == [
        REFUSALS[GENERATION_GAP],
        REFUSALS[GENERATION_GAP],
        "",
    ]


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        ("caatherine.morin49@rogers.com", "catherine.morin49@rogers.com", "typo"),
        ("johnoxdale@hotmail.co", "johnoxdale@hotmail.com", "typo"),
        ("monica.diaz@yahoo.com", "monicadiaz@yahoo.com", "different"),
        ("paulshah@yahoo.com", "paulshah@aol.com", "same_local_part"),
        ("jacobwilson@icloud.com", "jacobwilson583@icloud.com", "different"),
    ],
)
def test_email_typos_are_told_from_look_alike_mailboxes(first, second, level):
    _, levels = _verdict(
        [
            ("a", "1", None, None, first, None, None, None, None, None),
            ("b", "2", None, None, second, None, None, None, None, None),
        ]
    )
    assert levels["email"] == level


def test_a_double_surname_and_its_first_part_agree():
    _, levels = _verdict(
        [
            ("a", "1", "Fernando", "Cruz Martínez", None, None, None, None, None, None),
            ("b", "2", "Fernando", "Cruz", None, None, None, None, None, None),
        ]
    )
    assert levels["surname"] == "typo_or_jw92"


def test_a_shared_identifier_counts_the_strangers_who_hold_it_not_the_records():
    """An email on three records of one person is no weaker than one on two: what counts is
    how likely another holder is a stranger, estimated from how often the full name agrees."""
    from amperity_braze_assets.identity.scoring import (
        IDENTIFIERS,
        estimate_identifier_shares,
        pair_weights,
    )

    n = 6_000
    rng = np.random.default_rng(5)
    person = np.arange(n) // 2  # two records per person
    given = rng.choice(["ANNA", "PAUL", "MARIA", "JOHN", "LI", "OMAR"], n // 2)[person]
    surname = np.array([f"S{i}" for i in range(n // 2)])[person]
    email = np.array([f"p{i}@mail.com" for i in range(n // 2)])[person]
    frame = pl.DataFrame(
        {
            "source": ["s"] * n,
            "record_id": [str(i) for i in range(n)],
            "given_name": given,
            "surname": surname,
            "email": email,
        }
    )
    features = build_features(frame)
    left, right = np.arange(0, n, 2), np.arange(1, n, 2)
    levels = comparison_levels(features, left, right)
    model = default_model()
    plain = pair_weights(model, features, levels, left, by_comparison=True)[:, 3]
    model.same_person_share = estimate_identifier_shares(model, levels)
    assert set(model.same_person_share) <= set(IDENTIFIERS)
    assert model.same_person_share["email"] > 0.9
    corrected = pair_weights(model, features, levels, left, by_comparison=True)[:, 3]
    assert (corrected > plain + 3).all()


def test_a_link_needs_something_of_the_person_not_only_the_home():
    home_only = [
        ("a", "1", None, "Okafor", None, "312-874-6620", "5 Elm St", "Chicago", "60601", None),
        ("b", "2", "Ruth", "Okafor", None, "312-874-6620", "5 Elm St", "Chicago", "60601", None),
    ]
    assert _verdict(home_only)[0] == REFUSALS[NO_SUPPORT]
    # A given name at the same phone, the surname missing on one side: a person.
    given_at_home = [
        ("a", "1", "Ruth", None, None, "312-874-6620", None, None, None, None),
        ("b", "2", "Ruth", "Okafor", None, "312-874-6620", "5 Elm St", "Chicago", "60601", None),
    ]
    assert _verdict(given_at_home)[0] == ""


def test_an_exact_email_with_birth_and_surname_forgives_an_unknown_nickname():
    rows = [
        ("a", "1", "Xiu", "Wang", "xw@mail.cn", None, None, None, None, "1971-03-04"),
        ("b", "2", "Pamela", "Wang", "xw@mail.cn", None, None, None, None, "1971-03-04"),
    ]
    verdict, levels = _verdict(rows)
    assert levels["given"] == "different" and verdict == ""
    without_birth = [(*row[:-1], None) for row in rows]
    assert _verdict(without_birth)[0] == REFUSALS[GIVEN_CONFLICT]


def test_a_year_typed_wrong_is_not_a_generation():
    rows = [
        ("a", "1", "Lauren", "Frahn", None, None, "5 Solomon Cres", None, "2570", "1918-07-01"),
        ("b", "2", "Lauren", "Frahn", None, None, "5 Solomon Cres", None, "2570", "1981-07-01"),
    ]
    verdict, levels = _verdict(rows)
    assert levels["birth"] == "two_digits" and verdict == ""


def test_a_mailbox_name_at_another_domain_counts_half():
    rows = [
        ("a", "1", None, "Shah", "paulshah@yahoo.com", None, None, None, "27631", None),
        ("b", "2", None, "Shah", "paulshah@aol.com", None, None, None, "27631", None),
    ]
    # Surname (half), mailbox name (half), postal code (half): not two units.
    assert _verdict(rows)[0] == REFUSALS[NO_SUPPORT]
    rows[1] = (
        "b",
        "2",
        "Paul",
        "Shah",
        "paulshah@aol.com",
        None,
        None,
        None,
        "27631",
        "1980-01-01",
    )
    rows[0] = (
        "a",
        "1",
        "Paul",
        "Shah",
        "paulshah@yahoo.com",
        None,
        None,
        None,
        "27631",
        "1980-01-01",
    )
    assert _verdict(rows)[0] == ""


def test_data_without_households_reads_a_replaced_given_name_as_a_typo():
    """FEBRL's kind: records whose given name was replaced, and no households. With many such
    pairs and few households the run forgives the pattern; with households it does not."""
    rows = []
    given = ["Nora", "Ebony", "Liam", "Oscar", "Ruby", "Tess", "Vera", "Ivan"]
    for i in range(40):
        street = f"{i + 1} Lake Rd"
        surname = "Quill" + "abcdefghijklmnopqrstuvwxyzabcdefghijklmn"[i]
        born, postal = f"19{50 + i}-0{1 + i % 9}-1{i % 10}", f"80{200 + i}"
        first, second = given[i % 8], given[(i + 3) % 8]
        rows.append(("a", f"a{i}", first, surname, None, None, street, None, postal, born))
        rows.append(("b", f"b{i}", second, surname, None, None, street, None, postal, born))
    filler = [
        ("c", f"c{i}", f"Given{chr(65 + i % 26)}x", f"Fam{i}", f"f{i}@m.com", None, None, None, None, None)
        for i in range(2_000)
    ]  # fmt: skip
    run = resolve_with_stats(records_frame(rows + filler))
    assert run.model.twins_are_typos
    ids = ids_by_record(run.output)
    assert sum(ids[f"a{i}"] == ids[f"b{i}"] for i in range(40)) == 40
    # Add households (a given name and birth date apart at each home): twins again.
    households = [
        ("d", f"d{i}", "Marcus", "Quill" + "abcdefghijklmnopqrstuvwxyzabcdefghijklmn"[i % 40], None, None, f"{i % 40 + 1} Lake Rd", None, f"80{200 + i % 40}", f"19{10 + i % 30}-11-2{i % 10}")
        for i in range(500)
    ]  # fmt: skip
    run = resolve_with_stats(records_frame(rows + filler + households))
    assert not run.model.twins_are_typos
    ids = ids_by_record(run.output)
    assert sum(ids[f"a{i}"] == ids[f"b{i}"] for i in range(40)) == 0


def test_steward_overrides_beat_keys():
    """never_merge separates even a shared foreign key; always_merge joins even across a
    differing separation key."""
    columns = [*COLUMNS, "fk_card", "sk_crm"]
    rows = [
        ("a", "1", "Ann", "Lee", None, None, None, None, None, None, "C1", None),
        ("b", "2", "Bo", "Kim", None, None, None, None, None, None, "C1", None),
        ("c", "3", "Ann", "Lee", "al@x.com", None, None, None, None, None, None, "S1"),
        ("d", "4", "Ann", "Lee", "al@x.com", None, None, None, None, None, None, "S2"),
    ]  # fmt: skip
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    plain = ids_by_record(resolve(frame))
    assert plain["1"] == plain["2"] and plain["3"] != plain["4"]
    steered = ids_by_record(
        resolve_with_stats(
            frame, never_merge=[("a", "1", "b", "2")], always_merge=[("c", "3", "d", "4")]
        ).output
    )
    assert steered["1"] != steered["2"] and steered["3"] == steered["4"]


def test_a_hard_conflict_is_never_crossed_not_even_by_an_assertion():
    """Records 0-1 and 1-2 share a foreign key; 0 and 2 have differing sk (hard)."""
    result = _clusters(3, [(0, 1, 50.0, True), (1, 2, 50.0, True)], [(0, 2, 2)])
    assert result.labels[0] != result.labels[2]


def test_a_component_too_large_for_one_person_is_rebuilt_under_the_cap():
    from amperity_braze_assets.identity.clustering import MAX_CLUSTER_SIZE

    size = MAX_CLUSTER_SIZE + 10
    chain = [(i, i + 1, 30.0 - i * 0.01, False) for i in range(size - 1)]
    result = _clusters(size, chain, [])
    counts = np.bincount(result.labels, minlength=size)
    assert result.supersized == 1
    assert counts.max() <= MAX_CLUSTER_SIZE and (counts > 0).sum() >= 2


def test_the_model_kept_as_state_reads_back_as_it_decided():
    from amperity_braze_assets.identity.scoring import Model

    rng = np.random.default_rng(2)
    n = 3_000
    person = np.arange(n) // 2
    frame = pl.DataFrame(
        {
            "source": ["s"] * n,
            "record_id": [str(i) for i in range(n)],
            "given_name": rng.choice(["ANNA", "PAUL", "MARIA", "JOHN"], n // 2)[person],
            "surname": np.array([f"S{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}" for i in range(n // 2)])[person],
            "email": np.array([f"p{i}@mail.com" for i in range(n // 2)])[person],
        }
    )  # fmt: skip
    model = resolve_with_stats(frame).model
    assert model.estimated and model.same_person_share
    back, run = Model.from_description(model.describe({"records": n, "match_threshold": 0.8}))
    assert run == {"records": n, "match_threshold": 0.8}
    assert back.random_match_probability == model.random_match_probability
    assert back.same_person_share == pytest.approx(model.same_person_share)
    assert back.estimated and back.twins_are_typos == model.twins_are_typos
    for mine, theirs in zip(model.m + model.u, back.m + back.u, strict=True):
        assert np.allclose(mine[1:], theirs[1:])
