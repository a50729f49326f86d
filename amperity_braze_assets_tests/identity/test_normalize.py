import datetime as dt

import polars as pl

from amperity_braze_assets.identity import normalize_records
from amperity_braze_assets.identity.blocking import soundex


def _one_column(column: str, values: list, **extra) -> list:
    frame = pl.DataFrame(
        {
            "source": ["s"] * len(values),
            "record_id": [str(i) for i in range(len(values))],
            column: values,
            **extra,
        }
    )
    return normalize_records(frame).get_column(column).to_list()


def test_phones_in_many_formats_become_e164():
    raw = [
        "(212) 555-1234",
        "212.555.1234",
        "2125551234",
        "+1 212 555 1234",
        "1-212-555-1234",
        "212-555-1234 x12",
        "+44 20 7946 0958",
        "0000000000",
        "555-555-5555",
        "N/A",
        None,
    ]
    assert _one_column("phone", raw) == ["+12125551234"] * 6 + [
        "+442079460958",
        None,
        None,
        None,
        None,
    ]


def test_emails_lowercased_tag_removed_junk_nulled():
    raw = [
        " John.Smith+Promo@Gmail.COM ",
        "JANE@YAHOO.COM",
        "test@test.com",
        "none@none.com",
        "noreply@shop.com",
        "a@example.com",
        "no@email.com",
        "not-an-email",
        None,
    ]
    expected = ["john.smith@gmail.com", "jane@yahoo.com", None, None, None, None, None, None, None]
    assert _one_column("email", raw) == expected


def test_names_folded_and_full_names_split():
    frame = pl.DataFrame(
        {
            "source": ["s"] * 5,
            "record_id": list("abcde"),
            "full_name": [
                "Smith, John A.",
                "Mr. José Núñez Jr",
                "Zoë O'Brien",
                "Anna Maria Garcia",
                "  ",
            ],
            "given_name": [None, None, None, None, "  Élodie "],
        }
    )
    out = normalize_records(frame)
    assert out["given_name"].to_list() == ["JOHN", "JOSE", "ZOE", "ANNA", "ELODIE"]
    assert out["surname"].to_list() == ["SMITH", "NUNEZ", "OBRIEN", "GARCIA", None]


def test_nicknames_share_a_canonical_name():
    from amperity_braze_assets.identity.nicknames import CANONICAL_GIVEN_NAME, NICKNAME_PAIRS

    assert len(NICKNAME_PAIRS) >= 150
    assert CANONICAL_GIVEN_NAME["BOB"] == "ROBERT"
    assert CANONICAL_GIVEN_NAME["BILL"] == "WILLIAM"
    assert CANONICAL_GIVEN_NAME["LIZ"] == "ELIZABETH"
    assert CANONICAL_GIVEN_NAME["KATE"] == CANONICAL_GIVEN_NAME["CATHY"] == "KATHERINE"


def test_addresses_expanded_and_postal_codes_restored():
    raw = ["123 Main St.", "45 N. Oak Ave, Apt 4", "9 W 5th Blvd", "PO Box 12"]
    assert _one_column("address", raw) == [
        "123 MAIN STREET",
        "45 NORTH OAK AVENUE APARTMENT 4",
        "9 WEST 5TH BOULEVARD",
        "PO BOX 12",
    ]
    postal = ["2139", "02139-1234", "90210", "021391234", "00000", "K1A 0B6"]
    assert _one_column("postal", postal, country=["US", "usa", None, None, None, "Canada"]) == [
        "02139",
        "02139",
        "90210",
        "02139",
        None,
        "K1A0B6",
    ]


def test_birthdates_in_source_formats():
    raw = [
        "1980-03-05",
        "03/05/1980",
        "3/5/80",
        "05.03.1980",
        "Mar 5 1980",
        "March 5, 1980",
        "19800305",
    ]
    assert _one_column("birthdate", raw) == [dt.date(1980, 3, 5)] * len(raw)
    assert _one_column("birthdate", ["1900-01-01", "2999-01-01", "garbage", None]) == [None] * 4


def test_gender_codes():
    assert _one_column("gender", ["m", "Female", "F", "nonbinary", "unknown", None]) == [
        "M",
        "F",
        "F",
        "O",
        None,
        None,
    ]


def test_soundex():
    assert soundex("ROBERT") == "R163"
    assert soundex("RUPERT") == "R163"
    assert soundex("ASHCRAFT") == "A261"


def test_junk_full_names_mojibake_and_suffixes():
    from amperity_braze_assets.identity.normalize import normalize_records

    frame = pl.DataFrame(
        {
            "source": ["a"] * 5,
            "record_id": [str(i) for i in range(5)],
            "full_name": [
                "CASH CUSTOMER",
                "CUSTOMER, VALUED",
                "MÃ¼ller, JosÃ©",
                "Lee Sr.",
                "Ann B Lo",
            ],
        }
    )
    out = normalize_records(frame)
    assert out["given_name"].to_list() == [None, None, "JOSE", None, "ANN"]
    assert out["surname"].to_list() == [None, None, "MULLER", "LEE", "LO"]
    assert out["generation"].to_list() == [None, None, None, "SR", None]
