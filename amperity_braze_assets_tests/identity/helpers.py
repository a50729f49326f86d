"""What the identity tests share: records in the tag vocabulary, written as rows."""

import polars as pl

COLUMNS = [
    "source",
    "record_id",
    "given_name",
    "surname",
    "email",
    "phone",
    "address",
    "city",
    "postal",
    "birthdate",
]


def records_frame(rows: list[tuple], columns: list[str] = COLUMNS) -> pl.DataFrame:
    """Rows of (source, record_id, given_name, ..., birthdate) as a records frame."""
    return pl.DataFrame(rows, schema=columns, orient="row")


def ids_by_record(result: pl.DataFrame) -> dict[str, str]:
    """record_id -> amperity_id of a resolve output."""
    return dict(zip(result["record_id"], result["amperity_id"], strict=True))
