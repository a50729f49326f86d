"""Subscription groups in the diff: compared and sent per group, never as a whole list.

``braze_customer_attributes`` holds a person's groups as one ``subscription_groups`` column, a
list of ``{subscription_group_id, subscription_state}``. Braze takes the same list inside the
attributes object and sets **each listed group, leaving the others untouched** (spec:
Subscriptions; Braze's docs for ``/users/track`` and ``/v2/subscription/status/set``): it is not a
custom array of objects, so ``$add`` / ``$remove`` / ``$update`` and ``_merge_objects`` do not
apply to it. Sending the whole list when one group changed would overwrite an opt-out the person
made in Braze meanwhile in every other group.

So before the comparison the column becomes one state column per group found in the data
(``state_column``: ``$subscription_group:<id>``, a name Braze forbids for attributes, so it
cannot clash with one). Each is compared with the ledger like a scalar attribute, the ledger
keeps each group's accepted state under that name (a partial send updates only the groups
sent), and the renderer writes the changed groups back into one plain list. A group missing from
a person's data sends nothing: Braze's state for it stays as it is.
"""

from __future__ import annotations

import json

import polars as pl

GROUPS_FIELD = "subscription_groups"
GROUP_ID, GROUP_STATE = "subscription_group_id", "subscription_state"
STATE_PREFIX = "$subscription_group:"


def state_column(group_id: str) -> str:
    """The diff's (and ledger's) column holding one group's state."""
    return f"{STATE_PREFIX}{group_id}"


def is_state_column(name: str) -> bool:
    return name.startswith(STATE_PREFIX)


def _is_group_list(dtype: pl.DataType) -> bool:
    return (
        isinstance(dtype, pl.List)
        and isinstance(dtype.inner, pl.Struct)
        and {f.name for f in dtype.inner.fields} == {GROUP_ID, GROUP_STATE}
    )


def per_group_states(current: pl.DataFrame, names: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """The table with a state column per group found in ``subscription_groups`` (null where a
    person has no state for it) and the attribute names with those columns in its place."""
    if GROUPS_FIELD not in names or not _is_group_list(current.schema[GROUPS_FIELD]):
        return current, names
    entries = pl.col(GROUPS_FIELD)
    group_ids = (
        current.select(entries.explode().struct.field(GROUP_ID).drop_nulls().unique().sort())
        .to_series()
        .to_list()
    )
    element = pl.element().struct
    states = [
        entries.list.eval(element.field(GROUP_STATE).filter(element.field(GROUP_ID) == group))
        .list.first()
        .cast(pl.String)
        .alias(state_column(group))
        for group in group_ids
    ]
    at = names.index(GROUPS_FIELD)
    columns = [state_column(g) for g in group_ids]
    return current.with_columns(states), [*names[:at], *columns, *names[at + 1 :]]


def entry_json(name: str) -> pl.Expr:
    """One group's entry as Braze takes it, from its state column (null: no state)."""
    group = name.removeprefix(STATE_PREFIX)
    head = (
        "{" + json.dumps(GROUP_ID) + ":" + json.dumps(group) + "," + json.dumps(GROUP_STATE) + ':"'
    )
    return pl.concat_str([pl.lit(head), pl.col(name), pl.lit('"}')])
