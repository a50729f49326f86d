"""Does an attributes frame hold only values Braze's spec accepts? Judged without ``fields.py``.

This helper judges each value, one at a time, by the emulator's rules
(``devtools/emulator_rules.py``), written from ``shared/spec/braze-api.md`` and sharing no code
with the builder. The production check ``values_valid_for_types`` judges whole columns by its own
rules (``activation/spec_rules.py``), also written from the spec; the tests hold the two to agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from amperity_braze_assets.devtools import emulator_rules as spec


def spec_problems(attributes: pl.DataFrame, identifier: str = "external_id") -> dict[str, str]:
    """Columns holding values the spec refuses, with a count and one example; empty when clean."""
    problems: dict[str, str] = {}
    for column in attributes.columns:
        judge = _judge_for(column, identifier)
        if isinstance(judge, str):
            problems[column] = judge
            continue
        verdicts: dict[Any, str | None] = {}
        bad = 0
        example = None
        for value in attributes[column].to_list():
            if value is None:
                continue
            key = repr(value)
            if key not in verdicts:
                verdicts[key] = judge(_as_sent(value))
            if verdicts[key]:
                bad += 1
                example = example or verdicts[key]
        if bad:
            problems[column] = f"{bad} value(s) the spec refuses, e.g. {example}"
    return problems


def _judge_for(column: str, identifier: str):
    """The rule a column's values answer to, or why the column itself is refused."""
    if column == identifier:
        return _identifier_problem
    if column in spec.STANDARD_RULES:
        return lambda value: spec.standard_value_problem(column, value)
    if column in spec.OTHER_STANDARD_FIELDS:
        return lambda value: None
    name_problem = spec.custom_name_problem(column, refuse_near_misses=True)
    if name_problem:
        return name_problem
    return lambda value: spec.custom_value_problem(column, value)


def _identifier_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "external_id must be a non-empty string"
    if len(value.encode()) > spec.MAX_EXTERNAL_ID_BYTES:
        return f"external_id over {spec.MAX_EXTERNAL_ID_BYTES} bytes"
    return None


def _as_sent(value: Any) -> Any:
    """A frame value as JSON would carry it: times as ISO 8601 text, lists element by element."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_as_sent(member) for member in value]
    return value
