"""Names and places as written beside the folded values the matcher compares."""

import polars as pl

from amperity_braze_assets.identity import normalize_records
from amperity_braze_assets.identity.normalize import DISPLAY_COLUMNS, normalized_columns


def _records(**columns) -> pl.DataFrame:
    size = len(next(iter(columns.values())))
    return pl.DataFrame(
        {"source": ["s"] * size, "record_id": [str(i) for i in range(size)], **columns},
        schema_overrides={c: pl.String for c in columns},
    )


def test_names_keep_their_spelling_while_matching_folds_them():
    out = normalize_records(
        _records(
            given_name=["Søren", "Łukasz", "  Anne-Marie ", "王秀英", "ZOË", "MÃ¼ller"],
            surname=["Ørsted", "Kowalski", "O'Connor", None, "d'ARCY", "Jürgen"],
        )
    )
    assert out["given_name_display"].to_list() == [
        "Søren",
        "Łukasz",
        "Anne-Marie",
        "王秀英",
        "ZOË",
        "Müller",  # mojibake repaired, the letters kept
    ]
    assert out["surname_display"].to_list() == [
        "Ørsted",
        "Kowalski",
        "O'Connor",
        None,
        "d'ARCY",
        "Jürgen",
    ]
    # The matcher's values: folded to ASCII, Ø and Ł included; a Han name has none.
    assert out["given_name"].to_list() == ["SOREN", "LUKASZ", "ANNE MARIE", None, "ZOE", "MULLER"]
    assert out["surname"].to_list() == ["ORSTED", "KOWALSKI", "OCONNOR", None, "DARCY", "JURGEN"]


def test_full_names_split_as_written_and_junk_stays_null():
    out = normalize_records(
        _records(
            full_name=[
                "José Müller",
                "Smith-Jones, Mary Q",
                "Mr. Seán  O'Brien Jr.",
                "CASH CUSTOMER",
                "Ørsted",
                "  ",
            ],
            given_name=[None, None, None, None, None, "Dr. Jerome G."],
        )
    )
    assert out["given_name_display"].to_list() == ["José", "Mary", "Seán", None, None, "Jerome"]
    assert out["surname_display"].to_list() == [
        "Müller",
        "Smith-Jones",  # one surname as written, two words to the matcher
        "O'Brien",
        None,
        "Ørsted",
        None,
    ]
    assert out["full_name_display"].to_list() == [
        "José Müller",
        "Smith-Jones, Mary Q",
        "Seán O'Brien",
        None,
        "Ørsted",
        None,
    ]
    assert out["given_name"].to_list() == ["JOSE", "MARY", "SEAN", None, None, "JEROME"]
    assert out["surname"].to_list() == ["MULLER", "SMITH JONES", "OBRIEN", None, "ORSTED", None]


def test_a_given_name_column_wins_over_the_full_name_for_both_values():
    out = normalize_records(
        _records(full_name=["Jose Muller", "Ana Lopez"], given_name=["José", None])
    )
    assert out["given_name_display"].to_list() == ["José", "Ana"]
    assert out["given_name"].to_list() == ["JOSE", "ANA"]


def test_places_as_written_and_junk_nulled():
    out = normalize_records(
        _records(
            address=["  12 Rue de l'Église ", "UNKNOWN", "1 Main St."],
            address2=["Bâtiment B", None, "Apt 4B"],
            city=["Zürich", "N/A", "  new   york"],
        )
    )
    assert out["address_display"].to_list() == ["12 Rue de l'Église", None, "1 Main St."]
    assert out["address2_display"].to_list() == ["Bâtiment B", None, "Apt 4B"]
    assert out["city_display"].to_list() == ["Zürich", None, "new york"]
    assert out["city"].to_list() == ["ZURICH", None, "NEW YORK"]
    assert out["address"].to_list() == ["12 RUE DE LEGLISE", None, "1 MAIN STREET"]


def test_matching_asks_for_no_display_values():
    records = _records(given_name=["Søren"], full_name=["Søren Ørsted"], city=["Århus"])
    only = {"given_name", "surname", "city"}
    assert set(normalized_columns(records, only=only)) == only
    assert set(normalized_columns(records)) >= {
        "given_name_display",
        "surname_display",
        "full_name_display",
        "city_display",
    }
    assert set(DISPLAY_COLUMNS) >= {"given_name_display", "city_display", "address_display"}
