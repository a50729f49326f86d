"""A re-exported order's purchase lines matched to the keys the event ledger already holds, so
an edit that adds a line never sends an already-sent line again.

A purchase without an export line id is keyed by its occurrence among its order's lines of
its product, numbered by content (price, quantity, properties: activation/events.py). An edit
that adds one more line of a product shifts those numbers: the line sent as occurrence 1 may now
be numbered 2, its key new, and it would reach Braze again (Braze does not deduplicate). Before
anything is sent, each current line of a group (kind, product, order: ``line_group``) is given
the occurrence the ledger holds for it:

1. a line whose unit price and quantity are those of a slot the ledger holds (the quantity
   sent, summed over the line's parts) takes that slot, the i-th such line the i-th such slot;
2. the remaining lines take the remaining slots of their price (a line re-quantified by a
   refund keeps its slot: its key is settled and counted changed_after_sending, never resent),
   then any remaining slot, in occurrence order;
3. lines left over are new: numbered after the group's highest slot.

Only slots Braze may hold count (accepted, rejected, pending, unknown, skipped): a key Braze
provably never applied (unsent) holds no line. Groups the ledger knows nothing of keep their
numbers, so their keys are those activation computed.
"""

from __future__ import annotations

import polars as pl

from amperity_braze_assets.braze.event_ledger import UNSENT
from amperity_braze_assets.hashing import stable_text_key

# activation/events.py: the key's text is the line group and the occurrence, \x1f apart, hashed
# with this salt; a part's key adds its unit range.
KEY_SALT = "event-key"
UNITS_PER_PART = 100
LINE = ["line_group", "occurrence"]


def match_to_ledger(events: pl.DataFrame, statuses: pl.DataFrame) -> pl.DataFrame:
    """``events`` with each purchase line renumbered to the ledger's slots and re-keyed."""
    if "line_group" not in events.columns or "line_group" not in statuses.columns:
        return events
    lines = (
        events.filter(pl.col("line_group").is_not_null())
        .group_by(LINE)
        .agg(pl.col("price").first(), pl.col("quantity").sum())
    )
    slots = (
        statuses.filter(pl.col("line_group").is_not_null(), pl.col("status") != UNSENT)
        .join(lines.select("line_group").unique(), on="line_group", how="semi")
        .group_by(LINE)
        .agg(pl.col("price").first(), pl.col("quantity").sum())
    )
    if lines.height == 0 or slots.height == 0:
        return events
    mapping = _mapping(lines, slots)
    renumbered = events.join(mapping, on=LINE, how="left", maintain_order="left").with_columns(
        pl.coalesce("_new", "occurrence").alias("_new")
    )
    changed = pl.col("_new") != pl.col("occurrence")
    text = pl.concat_str([pl.col("line_group"), pl.col("_new").cast(pl.String)], separator="\x1f")
    texts = renumbered.select(pl.when(changed).then(text)).to_series()
    rekeyed = stable_text_key(texts, KEY_SALT)
    last_unit = pl.col("first_unit") + (UNITS_PER_PART - 1)
    return renumbered.with_columns(
        event_key=pl.when(changed.fill_null(False))
        .then(pl.format("{}-u{}-{}", rekeyed, "first_unit", last_unit))
        .otherwise(pl.col("event_key")),
        occurrence=pl.col("_new"),
    ).drop("_new")


def _mapping(lines: pl.DataFrame, slots: pl.DataFrame) -> pl.DataFrame:
    """(line_group, occurrence, _new): each current line's slot, or its new number. Matched
    in rounds: identical price and quantity, then the same price (a refund changed the
    quantity), then any; within a round the i-th line of a kind takes the i-th slot."""
    matched = pl.DataFrame(
        schema={"line_group": pl.String, "occurrence": pl.Int64, "_new": pl.Int64}
    )
    for alike in (["price", "quantity"], ["price"], []):
        over = ["line_group", *alike]
        rest_lines = lines.join(matched.select(LINE), on=LINE, how="anti")
        rest_slots = slots.join(
            matched.select("line_group", occurrence="_new"), on=LINE, how="anti"
        )
        paired = _ranked(rest_lines, over).join(
            _ranked(rest_slots, over).select(*over, "_rank", _new="occurrence"),
            on=[*over, "_rank"],
        )
        matched = pl.concat([matched, paired.select(*LINE, "_new")])
    highest = slots.group_by("line_group").agg(pl.col("occurrence").max().alias("_highest"))
    new = (
        lines.join(matched.select(LINE), on=LINE, how="anti")
        .join(highest, on="line_group", how="left")
        .with_columns(
            _new=pl.col("_highest").fill_null(0)
            + pl.int_range(1, pl.len() + 1).over("line_group", order_by="occurrence")
        )
    )
    return pl.concat([matched, new.select(*LINE, pl.col("_new").cast(pl.Int64))])


def _ranked(frame: pl.DataFrame, over: list[str]) -> pl.DataFrame:
    """``_rank``: a line's (or slot's) place among those alike, in occurrence order."""
    return frame.with_columns(
        pl.int_range(pl.len()).over(over, order_by="occurrence").alias("_rank")
    )
