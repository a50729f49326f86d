"""``identity.yaml``: the match threshold and a data steward's overrides.

```yaml
match_threshold: 0.8           # the probability a pair needs to link (0.5 < p < 1)
review_pairs: 100              # match_review lists this many pairs of each kind
never_merge:                   # pairs of source:record_id that are two people
  - [pos:P00012345, web:48213]
always_merge:                  # pairs that are one person, whatever the evidence
  - [loyalty:L0099812, pos:P00077102]
```

The file is optional (every key has a default). It is read when the definitions load, so a
mistake stops ``dagster dev`` with the entry and the fix, and its overrides are honoured on every
run: ``never_merge`` even against a shared foreign key, ``always_merge`` against every rule of
the matcher.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from amperity_braze_assets.config_file import ConfigError, load_yaml, refusals

IDENTITY_FILE = "identity.yaml"
# The default match threshold, a posterior probability: chosen on bench/identity.py's data
# (its generators and FEBRL, never a held-out set), where F1 is flat from 0.5 to 0.95 with
# precision unchanged; 0.8 keeps every link at four to one or better.
MATCH_THRESHOLD = 0.8
# Pairs match_review lists of each kind.
REVIEW_PAIRS = 100

RecordRef = Annotated[str, Field(description="source:record_id")]


def parse_reference(text: str) -> tuple[str, str]:
    """``source:record_id`` as (source, record_id); the record id may itself hold colons."""
    source, separator, record_id = str(text).partition(":")
    if not separator or not source or not record_id:
        raise ValueError(
            f"{text!r} is not source:record_id (e.g. pos:P00012345, the source name from "
            "sources.yaml and the record's primary key)"
        )
    return source.strip(), record_id.strip()


class IdentityConfig(BaseModel):
    """What ``identity.yaml`` may say; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match_threshold: float = Field(default=MATCH_THRESHOLD, gt=0.5, lt=1.0)
    review_pairs: int = Field(default=REVIEW_PAIRS, ge=0, le=10_000)
    never_merge: list[tuple[RecordRef, RecordRef]] = Field(default_factory=list)
    always_merge: list[tuple[RecordRef, RecordRef]] = Field(default_factory=list)

    @field_validator("never_merge", "always_merge")
    @classmethod
    def _references(cls, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for first, second in pairs:
            parse_reference(first)
            parse_reference(second)
            if parse_reference(first) == parse_reference(second):
                raise ValueError(f"[{first}, {second}] names one record twice")
        return pairs

    def steward_pairs(self, which: str) -> list[tuple[str, str, str, str]]:
        """``never_merge`` or ``always_merge`` as (source, record_id, source, record_id)."""
        return [
            (*parse_reference(first), *parse_reference(second))
            for first, second in getattr(self, which)
        ]


def _where(location: tuple) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def _refusal_problem(error: ErrorDetails) -> str:
    """A refusal of ``identity.yaml``, its validators' included, at the entry it names (e.g.
    ``never_merge.0``), with the fix."""
    where = _where(error["loc"])
    if error["type"] == "extra_forbidden":
        return (
            f"unknown key {where!r}; allowed: match_threshold, review_pairs, never_merge, "
            "always_merge."
        )
    if where.startswith("match_threshold"):
        return (
            f"match_threshold: {error['msg']}; give a probability above 0.5 and below 1, e.g. "
            "0.8 (higher merges fewer pairs)."
        )
    return (
        f"{where}: {error['msg']}; each entry is a pair of two records, e.g. - [pos:P00012345, "
        "web:48213]."
    )


def load_identity_config(config_dir: Path, customer_sources: set[str]) -> IdentityConfig:
    """Read and check ``identity.yaml`` (defaults when the file is absent)."""
    path = config_dir / IDENTITY_FILE
    if not path.exists():
        return IdentityConfig()
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping (match_threshold, review_pairs, never_merge, "
            "always_merge), e.g.\nmatch_threshold: 0.8\nnever_merge:\n  - [pos:P1, web:7]"
        )
    try:
        config = IdentityConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{path}: {problem}"
            for problem in refusals(exc, _refusal_problem, validators_word_their_own=False)
        ]
        raise ConfigError("Invalid identity configuration:\n- " + "\n- ".join(problems)) from None
    problems = []
    for which in ("never_merge", "always_merge"):
        for number, pair in enumerate(config.steward_pairs(which)):
            for source in (pair[0], pair[2]):
                if source not in customer_sources:
                    problems.append(
                        f"{path}: {which}.{number}: source {source!r} is not a customer source "
                        f"in sources.yaml; use one of {sorted(customer_sources)}."
                    )
    never = {frozenset([(a, b), (c, d)]) for a, b, c, d in config.steward_pairs("never_merge")}
    for number, (a, b, c, d) in enumerate(config.steward_pairs("always_merge")):
        if frozenset([(a, b), (c, d)]) in never:
            problems.append(
                f"{path}: always_merge.{number}: {a}:{b} and {c}:{d} are also in never_merge; "
                "keep the pair in one list."
            )
    if problems:
        raise ConfigError("Invalid identity configuration:\n- " + "\n- ".join(problems))
    return config
