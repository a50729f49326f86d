"""The retired-id history: ids merged away, followed to whoever holds their records now."""

import polars as pl

from amperity_braze_assets.identity.retired_ids import update_retired_ids


def resolved(rows: list[tuple[str, str, str | None]]) -> pl.DataFrame:
    """(record_id, amperity_id, previous_amperity_id) per record."""
    return pl.DataFrame(
        rows, schema=["record_id", "amperity_id", "previous_amperity_id"], orient="row"
    )


def as_dict(frame: pl.DataFrame) -> dict[str, str]:
    return dict(frame.select("retired_id", "amperity_id").iter_rows())


def test_an_absorbed_id_points_to_the_survivor_and_is_followed_through_later_merges():
    # Run 2: B's two records join A. C keeps its id.
    run2 = resolved([("r1", "A", "A"), ("r2", "A", "B"), ("r3", "A", "B"), ("r4", "C", "C")])
    history = update_retired_ids(None, run2)
    assert as_dict(history) == {"B": "A"}
    # Run 3: A merges into C: B must now lead to C, not to the vanished A.
    run3 = resolved([("r1", "C", "A"), ("r2", "C", "A"), ("r3", "C", "A"), ("r4", "C", "C")])
    history = update_retired_ids(history, run3)
    assert as_dict(history) == {"A": "C", "B": "C"}
    # Run 4: nothing moves: the history stays.
    run4 = resolved([("r1", "C", "C"), ("r4", "C", "C")])
    assert as_dict(update_retired_ids(history, run4)) == {"A": "C", "B": "C"}


def test_a_split_goes_to_the_person_holding_most_records_and_a_reused_id_leaves():
    # D's three records split: two go to E, one to F; D itself no longer exists.
    split = resolved([("r1", "E", "D"), ("r2", "E", "D"), ("r3", "F", "D")])
    history = update_retired_ids(None, split)
    assert as_dict(history) == {"D": "E"}
    # An id that holds records again is not retired any more.
    back = resolved([("r1", "D", "E"), ("r2", "D", "E"), ("r3", "F", "F")])
    assert "D" not in as_dict(update_retired_ids(history, back))


def test_the_first_run_retires_nothing():
    first = resolved([("r1", "A", None), ("r2", "B", None)])
    assert update_retired_ids(None, first).height == 0
