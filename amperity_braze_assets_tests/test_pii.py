"""Previews mask personal data as the issue asks: ``j•••@gmail.com``, phones to their last two
digits, no birth dates or street lines; ids stay readable."""

import polars as pl

from amperity_braze_assets.metadata import markdown_preview
from amperity_braze_assets.pii import mask_personal_data

PEOPLE = pl.DataFrame(
    {
        "record_id": ["P00012345", "web:4821"],
        "Email": ["jane.doe@gmail.com", None],
        "Billing Phone": ["+1 (415) 555-0142", "07700 900123"],
        "First Name": ["Jane", "Émile"],
        "last_name_display": ["Doe", "Zola"],
        "birth_date": ["1980-01-02", None],
        "Address1": ["1 Main St", "22 Rue de Rivoli"],
        "city": ["Springfield", "Paris"],
        "raw": ['P1,jane@x.com,"+44 7700 900123",1 Main St', None],
        "value": ["call +1 415 555 0142 or mail bob@corp.example", "31/02/2020"],
        "orders": [3, 1],
    }
)


def test_each_kind_is_masked_as_the_issue_says():
    masked = mask_personal_data(PEOPLE)
    assert masked.shape == PEOPLE.shape and masked.columns == PEOPLE.columns
    assert masked["Email"].to_list() == ["j•••@gmail.com", None]
    assert masked["Billing Phone"].to_list() == ["•••42", "•••23"]
    assert masked["First Name"].to_list() == ["J•••", "É•••"]
    assert masked["last_name_display"].to_list() == ["D•••", "Z•••"]
    assert masked["birth_date"].to_list() == ["•••", None]
    assert masked["Address1"].to_list() == ["•••", "•••"]
    assert masked["raw"].to_list() == ['P•••,j•••,"+•••",1•••', None]
    assert masked["value"][0] == "call •••42 or mail b•••@corp.example"
    # What finds a person or explains a figure stays: ids, cities, counts.
    for column in ("record_id", "city", "orders"):
        assert masked[column].to_list() == PEOPLE[column].to_list()


def test_a_date_typed_birth_date_goes_too():
    frame = pl.DataFrame({"dob": ["1980-01-02"]}).with_columns(pl.col("dob").str.to_date())
    assert mask_personal_data(frame)["dob"].to_list() == ["•••"]


def test_previews_mask_unless_asked(monkeypatch):
    monkeypatch.delenv("AMPERITY_BRAZE_PREVIEW_PII", raising=False)
    assert "jane.doe@gmail.com" not in markdown_preview(PEOPLE).value
    assert "j•••@gmail.com" in markdown_preview(PEOPLE).value
    monkeypatch.setenv("AMPERITY_BRAZE_PREVIEW_PII", "true")
    assert "jane.doe@gmail.com" in markdown_preview(PEOPLE).value
    assert "jane.doe@gmail.com" not in markdown_preview(PEOPLE, show_personal_data=False).value


def test_a_quarantined_value_is_masked_as_the_column_it_came_from():
    rejects = pl.DataFrame(
        {
            "field": ["FIRST_NM", "DOB", "Email", "Mobile", "Tier", None],
            "value": ["T\ufffdHOMAS", "1980-02-31", "jane@x", "07700 900123", "gold-ish", "a@b.co"],
            "reason": ["undecodable bytes"] * 6,
        }
    )
    assert mask_personal_data(rejects)["value"].to_list() == [
        "T•••",
        "•••",
        "j•••@x",
        "•••23",
        "gold-ish",
        "a•••@b.co",
    ]
