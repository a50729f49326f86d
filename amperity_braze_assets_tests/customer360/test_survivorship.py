from datetime import date, datetime

import polars as pl
import pytest

from amperity_braze_assets.customer360 import survivorship
from amperity_braze_assets.customer360.survivorship import (
    DEFAULT_FIELD_GROUPS,
    SurvivorshipRules,
    build_customer_360,
    parse_survivorship_rules,
)

KNOWN_SOURCES = {"loyalty", "web", "pos"}
PRIORITY = SurvivorshipRules(source_priority=("loyalty", "web", "pos"))


def records_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {
        "source": pl.String,
        "record_id": pl.String,
        "given_name": pl.String,
        "surname": pl.String,
        "email": pl.String,
        "address": pl.String,
        "city": pl.String,
        "postal": pl.String,
        "birthdate": pl.Date,
        "updated_at": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(rows, schema=schema)


def identity_for(records: pl.DataFrame, amperity_id: str = "A1") -> pl.DataFrame:
    return records.select("source", "record_id").with_columns(amperity_id=pl.lit(amperity_id))


def at(day: int) -> datetime:
    return datetime(2024, 1, day)


def one_person(records: pl.DataFrame, rules: SurvivorshipRules = PRIORITY) -> dict:
    merged = build_customer_360(records, identity_for(records), rules)
    assert merged.height == 1
    return merged.row(0, named=True)


def test_source_priority_beats_recency():
    records = records_frame(
        [
            {"source": "web", "record_id": "w1", "email": "new@x.com", "updated_at": at(20)},
            {"source": "loyalty", "record_id": "l1", "email": "old@x.com", "updated_at": at(1)},
        ]
    )
    person = one_person(records)
    assert person["email"] == "old@x.com"
    assert person["email_source"] == "loyalty"


def test_most_recent_decides_within_one_source():
    records = records_frame(
        [
            {"source": "web", "record_id": "w1", "email": "old@x.com", "updated_at": at(1)},
            {"source": "web", "record_id": "w2", "email": "new@x.com", "updated_at": at(9)},
            {"source": "web", "record_id": "w3", "email": "undated@x.com", "updated_at": None},
        ]
    )
    assert one_person(records)["email"] == "new@x.com"


def test_undated_records_still_compete_when_none_is_dated():
    records = records_frame(
        [
            {"source": "web", "record_id": "w1", "email": "once@x.com", "updated_at": None},
            {"source": "web", "record_id": "w2", "email": "twice@x.com", "updated_at": None},
            {"source": "web", "record_id": "w3", "email": "twice@x.com", "updated_at": None},
        ]
    )
    assert one_person(records)["email"] == "twice@x.com"


def test_most_frequent_decides_when_priority_and_time_tie():
    records = records_frame(
        [
            {"source": "pos", "record_id": "p1", "email": "rare@x.com", "updated_at": at(5)},
            {"source": "pos", "record_id": "p2", "email": "common@x.com", "updated_at": at(5)},
            {"source": "pos", "record_id": "p3", "email": "common@x.com", "updated_at": at(5)},
        ]
    )
    assert one_person(records)["email"] == "common@x.com"


def test_most_frequent_counts_the_whole_group_value():
    # Both records share a given name but differ in surname: the pair (given, surname) is what
    # must repeat, so the repeated full name wins even though "ANN" alone is as frequent.
    records = records_frame(
        [
            {"source": "pos", "record_id": "p1", "given_name": "ANN", "surname": "A"},
            {"source": "pos", "record_id": "p2", "given_name": "ANN", "surname": "B"},
            {"source": "pos", "record_id": "p3", "given_name": "ANN", "surname": "B"},
        ]
    )
    person = one_person(records)
    assert (person["given_name"], person["surname"]) == ("ANN", "B")


def test_tie_breaker_order_is_configurable():
    records = records_frame(
        [
            {"source": "loyalty", "record_id": "l1", "email": "old@x.com", "updated_at": at(1)},
            {"source": "web", "record_id": "w1", "email": "new@x.com", "updated_at": at(20)},
            {"source": "pos", "record_id": "p1", "email": "freq@x.com", "updated_at": at(2)},
            {"source": "pos", "record_id": "p2", "email": "freq@x.com", "updated_at": at(3)},
        ]
    )
    recent_first = SurvivorshipRules(
        source_priority=("loyalty", "web", "pos"),
        tie_breakers=("most_recent", "source_priority", "most_frequent"),
    )
    frequent_first = SurvivorshipRules(
        source_priority=("loyalty", "web", "pos"),
        tie_breakers=("most_frequent", "source_priority", "most_recent"),
    )
    assert one_person(records, PRIORITY)["email"] == "old@x.com"
    assert one_person(records, recent_first)["email"] == "new@x.com"
    assert one_person(records, frequent_first)["email"] == "freq@x.com"


def test_final_tie_break_is_source_then_record_id_and_ignores_row_order():
    records = records_frame(
        [
            {"source": "web", "record_id": "w2", "email": "b@x.com", "updated_at": at(3)},
            {"source": "web", "record_id": "w1", "email": "a@x.com", "updated_at": at(3)},
            {"source": "web", "record_id": "w3", "email": "c@x.com", "updated_at": at(3)},
        ]
    )
    assert one_person(records)["email"] == "a@x.com"
    for seed in range(5):
        assert one_person(records.sample(fraction=1.0, shuffle=True, seed=seed))["email"] == (
            "a@x.com"
        )


def test_unlisted_sources_rank_after_listed_ones():
    records = records_frame(
        [
            {"source": "kiosk", "record_id": "k1", "email": "kiosk@x.com", "updated_at": at(30)},
            {"source": "pos", "record_id": "p1", "email": "pos@x.com", "updated_at": at(1)},
        ]
    )
    assert one_person(records)["email"] == "pos@x.com"


def test_address_fields_come_together_from_one_record():
    records = records_frame(
        [
            # Highest priority, but no postal code: its null must not be filled from elsewhere.
            {
                "source": "loyalty",
                "record_id": "l1",
                "address": "1 MAIN STREET",
                "city": "SEATTLE",
                "postal": None,
            },
            {
                "source": "web",
                "record_id": "w1",
                "address": "9 ELM AVENUE",
                "city": "PORTLAND",
                "postal": "97201",
            },
        ]
    )
    person = one_person(records)
    assert (person["address"], person["city"], person["postal"]) == (
        "1 MAIN STREET",
        "SEATTLE",
        None,
    )
    assert person["address_source"] == "loyalty"


def test_a_city_without_street_does_not_win_the_address():
    records = records_frame(
        [
            {"source": "loyalty", "record_id": "l1", "city": "SEATTLE"},
            {
                "source": "pos",
                "record_id": "p1",
                "address": "9 ELM AVENUE",
                "city": "PORTLAND",
                "postal": "97201",
            },
        ]
    )
    person = one_person(records)
    assert (person["address"], person["city"], person["address_source"]) == (
        "9 ELM AVENUE",
        "PORTLAND",
        "pos",
    )


def test_null_values_are_skipped_and_each_group_has_its_own_winner():
    records = records_frame(
        [
            {"source": "loyalty", "record_id": "l1", "given_name": "ANN", "email": None},
            {
                "source": "pos",
                "record_id": "p1",
                "given_name": "ANNE",
                "email": "ann@x.com",
                "birthdate": date(1990, 5, 1),
            },
        ]
    )
    person = one_person(records)
    assert (person["given_name"], person["name_source"]) == ("ANN", "loyalty")
    assert (person["email"], person["email_source"]) == ("ann@x.com", "pos")
    assert person["birthdate"] == date(1990, 5, 1)
    assert (person["address"], person["address_source"]) == (None, None)


def test_summary_columns_and_membership():
    records = records_frame(
        [
            {"source": "web", "record_id": "w1", "email": "a@x.com", "updated_at": at(5)},
            {"source": "loyalty", "record_id": "l1", "email": "a@x.com", "updated_at": None},
            {"source": "web", "record_id": "w2", "email": "a@x.com", "updated_at": at(2)},
            {"source": "pos", "record_id": "stray", "email": "z@x.com", "updated_at": at(9)},
            {"source": "pos", "record_id": "p9", "email": "b@x.com", "updated_at": at(7)},
        ]
    )
    identity = pl.DataFrame(
        {
            "source": ["web", "loyalty", "web", "pos", "pos"],
            "record_id": ["w1", "l1", "w2", "p9", "no-record"],
            "amperity_id": ["A1", "A1", "A1", "A2", "A3"],
        }
    )
    merged = build_customer_360(records, identity, PRIORITY)
    assert merged["amperity_id"].to_list() == ["A1", "A2"]
    first = merged.row(0, named=True)
    assert first["source_count"] == 2
    assert first["record_count"] == 3
    assert first["sources"] == ["loyalty", "web"]
    assert first["first_seen_at"].day == 2
    assert first["last_updated_at"].day == 5
    assert merged.row(1, named=True)["email"] == "b@x.com"


def test_missing_columns_skip_groups_and_updated_at_is_optional():
    records = pl.DataFrame(
        {
            "source": ["web", "pos", "pos"],
            "record_id": ["w1", "p1", "p2"],
            "email": ["w@x.com", "p@x.com", "p@x.com"],
            "city": ["SEATTLE", None, "TACOMA"],
        }
    )
    rules = SurvivorshipRules(tie_breakers=("most_recent", "most_frequent"))
    merged = build_customer_360(records, identity_for(records), rules)
    assert merged.columns == [
        "amperity_id",
        "email",
        "email_source",
        "city",
        "address_source",
        "source_count",
        "record_count",
        "sources",
    ]
    person = merged.row(0, named=True)
    # No updated_at and no priority: frequency decides the email; the address group falls back
    # to its present column (city) as the key, and the source/record_id order decides.
    assert person["email"] == "p@x.com"
    assert (person["city"], person["address_source"]) == ("TACOMA", "pos")


def test_integer_record_ids_link_to_text_identity():
    records = pl.DataFrame({"source": ["pos"], "record_id": [7], "email": ["a@x.com"]})
    identity = pl.DataFrame({"source": ["pos"], "record_id": ["7"], "amperity_id": ["A1"]})
    assert build_customer_360(records, identity, PRIORITY)["email"].to_list() == ["a@x.com"]


def test_identity_assigning_a_record_to_two_people_is_refused():
    records = pl.DataFrame({"source": ["pos"], "record_id": ["1"], "email": ["a@x.com"]})
    identity = pl.DataFrame(
        {"source": ["pos", "pos"], "record_id": ["1", "1"], "amperity_id": ["A1", "A2"]}
    )
    with pytest.raises(ValueError, match="more than one amperity_id"):
        build_customer_360(records, identity, PRIORITY)


# --- configuration -------------------------------------------------------------------------


def test_missing_config_means_defaults():
    rules = parse_survivorship_rules(None, KNOWN_SOURCES, "survivorship.yaml")
    assert rules.source_priority == ()
    assert rules.field_groups == DEFAULT_FIELD_GROUPS
    assert rules.tie_breakers == ("source_priority", "most_recent", "most_frequent")


def test_config_is_parsed_and_tag_spellings_accepted():
    rules = parse_survivorship_rules(
        {
            "source_priority": ["loyalty", "web"],
            "tie_breakers": ["most_recent", "source_priority"],
            "field_groups": {"name": ["given-name", "surname"], "contact": ["email", "phone"]},
            "key_columns": {"name": ["surname"]},
        },
        KNOWN_SOURCES,
        "survivorship.yaml",
    )
    assert rules.source_priority == ("loyalty", "web")
    assert rules.tie_breakers == ("most_recent", "source_priority")
    assert rules.field_groups == {"name": ("given_name", "surname"), "contact": ("email", "phone")}
    assert rules.keys_of("name") == ("surname",)
    assert rules.keys_of("contact") == ("email", "phone")


@pytest.mark.parametrize(
    ("raw", "message_parts"),
    [
        (
            {"source_priority": ["loyalty", "webb"]},
            ["unknown source 'webb'", "Did you mean 'web'", "Known sources: loyalty, pos, web"],
        ),
        (
            {"source_priority": "loyalty"},
            ["source_priority must be a list"],
        ),
        (
            {"source_priority": ["web", "web"]},
            ["lists source 'web' twice"],
        ),
        (
            {"tie_breakers": ["source_priority", "newest"]},
            ["unknown tie breaker 'newest'", "source_priority, most_recent, most_frequent"],
        ),
        (
            {"tie_breakers": []},
            ["tie_breakers is empty"],
        ),
        (
            {"field_groups": {"name": ["given_name", "firstname"]}},
            ["field_groups.name has unknown column 'firstname'", "Known columns:"],
        ),
        (
            {"field_groups": {"contact": ["email", "phone"], "email": ["email"]}},
            ["field_groups.email lists column 'email' and in group 'contact'", "only one"],
        ),
        (
            {"field_groups": {"when": ["updated_at"]}},
            ["unknown column 'updated_at'"],
        ),
        (
            {"key_columns": {"address": ["phone"]}},
            ["key_columns.address has column 'phone'", "not in field group 'address'"],
        ),
        (
            {"priority": ["web"]},
            ["unknown key 'priority'", "Allowed keys: source_priority"],
        ),
    ],
)
def test_config_errors_name_the_file_the_key_and_the_fix(raw, message_parts):
    with pytest.raises(ValueError) as error:
        parse_survivorship_rules(raw, KNOWN_SOURCES, "config/survivorship.yaml")
    message = str(error.value)
    assert message.startswith("config/survivorship.yaml: ")
    for part in message_parts:
        assert part in message


def test_rules_built_in_code_are_checked_too():
    with pytest.raises(ValueError, match="unknown tie breaker 'latest'"):
        SurvivorshipRules(tie_breakers=("latest",))


def test_building_in_parts_of_people_gives_the_same_table(monkeypatch):
    """Large inputs are built a range of people at a time; the rules only compare one person's
    records, so any split gives the whole table."""
    rows = []
    for person in range(40):
        for copy, source in enumerate(("web", "loyalty", "pos")[: 1 + person % 3]):
            rows.append(
                {
                    "source": source,
                    "record_id": f"{person}-{copy}",
                    "given_name": f"N{(person * 7 + copy) % 5}",
                    "email": None if (person + copy) % 4 == 0 else f"{person}.{copy}@x.com",
                    "city": f"C{copy}",
                    "updated_at": at(1 + (person * 3 + copy) % 20) if copy != 1 else None,
                }
            )
    records = records_frame(rows)
    identity = records.select(
        "source",
        "record_id",
        amperity_id=pl.format("A{}", pl.col("record_id").str.extract("^(\\d+)")),
    )
    rules = SurvivorshipRules(
        source_priority=("loyalty", "web", "pos"),
        tie_breakers=("most_frequent", "source_priority", "most_recent"),
    )
    whole = build_customer_360(records, identity, rules)
    monkeypatch.setattr(survivorship, "PART_RECORDS", 7)
    assert build_customer_360(records, identity, rules).equals(whole)
    assert whole.height == 40 and whole["amperity_id"].is_sorted()


def _with_display(rows: list[dict]) -> pl.DataFrame:
    """Records as customer_records has them: folded values and their display twins."""
    columns = ("given_name", "surname", "city", "address")
    schema = {
        "source": pl.String,
        "record_id": pl.String,
        **{c: pl.String for c in columns},
        **{f"{c}_display": pl.String for c in columns},
        "updated_at": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(rows, schema=schema)


def test_the_360_carries_the_winning_records_values_as_written():
    web = {
        "source": "web",
        "record_id": "w1",
        "given_name": "SOREN",
        "given_name_display": "Søren",
        "surname": "ORSTED",
        "surname_display": "Ørsted",
        "address": "1 NORREGADE",
        "address_display": "1 Nørregade",
        "city": "KOBENHAVN",
        "city_display": "København",
        "updated_at": at(1),
    }
    pos = {
        "source": "pos",
        "record_id": "p1",
        "given_name": "SOREN",
        "given_name_display": "SØREN",
        "surname": "ORSTED",
        "surname_display": "ØRSTED",
        "address": "2 VESTERGADE",
        "address_display": "2 VESTERGADE",
        "city": "AARHUS",
        "city_display": "AARHUS",
        "updated_at": at(9),
    }
    records = _with_display([web, pos])
    person = one_person(records, SurvivorshipRules(source_priority=("web", "pos")))
    assert (person["given_name"], person["surname"], person["name_source"]) == (
        "Søren",
        "Ørsted",
        "web",
    )
    assert (person["address"], person["city"]) == ("1 Nørregade", "København")
    assert "given_name_display" not in person
    # The recent record wins by recency: its spelling comes with it, its street with its city.
    person = one_person(records, SurvivorshipRules(tie_breakers=("most_recent",)))
    assert (person["given_name"], person["address"], person["city"]) == (
        "SØREN",
        "2 VESTERGADE",
        "AARHUS",
    )


def test_a_name_the_matcher_cannot_fold_still_names_the_person():
    records = _with_display(
        [
            {
                "source": "web",
                "record_id": "w1",
                "given_name_display": "王秀英",
                "updated_at": at(1),
            },
            {"source": "pos", "record_id": "p1", "updated_at": at(2)},
        ]
    )
    person = one_person(records)
    assert (person["given_name"], person["surname"], person["name_source"]) == (
        "王秀英",
        None,
        "web",
    )
