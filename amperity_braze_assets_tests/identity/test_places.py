"""States and provinces as ISO 3166-2 codes; phones read in the record's country."""

import polars as pl
import pytest

from amperity_braze_assets.identity import normalize_records
from amperity_braze_assets.identity.normalize import normalize_phone_column, normalize_state
from amperity_braze_assets.identity.records import customer_records


def _records(source: str = "s", **columns) -> pl.DataFrame:
    size = len(next(iter(columns.values())))
    return pl.DataFrame(
        {"source": [source] * size, "record_id": [str(i) for i in range(size)], **columns},
        schema_overrides={c: pl.String for c in columns},
    )


STATES = [
    # (state as written, country as written, ISO 3166-2 code)
    ("California", "USA", "CA"),
    ("ca", "United States", "CA"),
    ("BRITISH COLUMBIA", "Canada", "BC"),
    ("Québec", "CA", "QC"),
    ("New South Wales", "Australia", "NSW"),
    ("N.S.W.", "AU", "NSW"),
    ("WA", "AU", "WA"),
    ("Bavaria", "Germany", "BY"),
    ("Bayern", "Deutschland", "BY"),
    ("Île-de-France", "France", "IDF"),
    ("São Paulo", "Brasil", "SP"),
    ("Ciudad de México", "Mexico", "CMX"),
    ("DF", "MX", "CMX"),
    ("Scotland", "United Kingdom", "SCT"),
    ("Northern Ireland", "GB", "NIR"),
    ("CA-ON", "Canada", "ON"),
    # Without a country: the one subdivision the name or code has anywhere, else the US one.
    ("British Columbia", None, "BC"),
    ("Bayern", None, "BY"),
    ("New South Wales", None, "NSW"),
    ("WA", None, "WA"),
    ("Texas", None, "TX"),
    # Unknown to the tables: folded as before; junk: null.
    ("Dublin", "Ireland", "DUBLIN"),
    ("Nowhere Land", "US", "NOWHERE LAND"),
    ("N/A", "US", None),
]


def test_states_become_iso_3166_2_codes_by_the_records_country():
    out = normalize_records(
        _records(state=[s for s, _, _ in STATES], country=[c for _, c, _ in STATES])
    )
    assert out["state"].to_list() == [code for _, _, code in STATES]
    assert out["country"].to_list()[:3] == ["US", "US", "CA"]


def test_one_state_written_two_ways_is_one_code():
    out = normalize_records(
        _records(
            state=["BRITISH COLUMBIA", "BC", "California", "CA"], country=["CA"] * 2 + [None] * 2
        )
    )
    assert out["state"].to_list() == ["BC", "BC", "CA", "CA"]


def test_state_expression_without_country_reads_names_known_anywhere():
    frame = pl.DataFrame({"state": ["British Columbia", "California", "Victoria", "none", "WA"]})
    assert frame.select(normalize_state(pl.col("state"))).to_series().to_list() == [
        "BC",
        "CA",
        "VIC",
        None,
        "WA",
    ]


def test_a_phone_without_country_code_takes_the_records_country():
    out = customer_records(
        [
            _records(
                "crm",
                phone=["07911 123456", "(415) 555-2671", "030 901820", "+1 415 555 2671"],
                country=["GB", "US", "Germany", "United Kingdom"],
            ),
            _records("pos", phone=["07911 123456", "(415) 555-2671"]),
            _records("web", phone=["07911 123456", "(415) 555-2671"]),
        ],
        "US",
        {"pos": "GB", "web": None},
    )
    assert out["phone"].to_list() == [
        "+447911123456",  # a UK number on a GB record, though the default is US
        "+14155552671",
        "+4930901820",
        "+14155552671",  # a country code wins over the record's country
        "+447911123456",  # no country: the source's region
        None,  # ...which reads a US number as a (too short) UK one
        None,  # no country, no source region: the default, US
        "+14155552671",
    ]


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("1.4155552671E+10", "+14155552671"),  # every digit kept: read
        ("1.4155552671e10", "+14155552671"),
        ("14155552671.0", "+14155552671"),
        ("4155552671.00", "+14155552671"),
        ("1.41555E+10", None),  # the spreadsheet rounded 5 digits away: not invented
        ("4.15555E+09", None),
    ],
)
def test_phones_a_spreadsheet_mangled(raw, e164):
    assert normalize_phone_column(pl.Series("phone", [raw]), "US").to_list() == [e164]
