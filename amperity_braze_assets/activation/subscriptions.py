"""Consent into Braze: ``email_subscribe`` / ``push_subscribe`` and subscription group states.

``attributes.yaml`` maps consent columns under ``subscriptions:``::

    subscriptions:
      email_subscribe: {state: customer_360.email_opt_in, updated_at: customer_360.email_opt_in_at}
      subscription_groups:
        - group_id: 8d0f5a3e-2b7c-4c1e-9f6a-0c2d4e6f8a1b
          state: customer_360.newsletter_opt_in           # true/false or subscribed/unsubscribed
          updated_at: customer_360.newsletter_opt_in_at
        - group_id: 1c3e5a7b-9d2f-4b6a-8c0e-2f4a6c8e0b1d
          sources:                                        # several sources: see rule (a)
            - {state: customer_360.sms_opt_in_web, updated_at: customer_360.sms_opt_in_web_at}
            - {state: customer_360.sms_opt_in_store, updated_at: customer_360.sms_opt_in_store_at}

``email_subscribe`` / ``push_subscribe`` need ``allow_consent_fields: true`` (Braze holds consent
unless this project really is its source). Braze takes the groups inside the attributes object as
``"subscription_groups": [{"subscription_group_id": "<uuid>", "subscription_state":
"subscribed"}]`` (spec: Subscriptions); subscription changes are not data points.

The rule: **an opt-out is never overwritten by an older opt-in.**

(a) When sources disagree the latest consent timestamp wins; at equal times the opt-out wins; an
    opt-in without a timestamp never overrides an opt-out, and an opt-out without one is never
    overridden (no opt-in can be shown to be later).
(b) Braze may know better: the Currents tables give each person's latest subscription event in
    Braze (an email Unsubscribe, a global state change, a subscription group state change). When
    it is an unsubscribe later than our opt-in or at the same time (or our opt-in has no time),
    we do not send the opt-in: we send ``unsubscribed``, the state Braze already holds, and
    count it.

Values: a consent column is Boolean (true: opted in) or text (``subscribed``, ``opted_in``,
``true``, ``yes`` / ``unsubscribed``, ``opted_out``, ``false``, ``no``; any case); other text is
no value. The global fields send ``opted_in`` or ``unsubscribed``; groups ``subscribed`` or
``unsubscribed``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from amperity_braze_assets.config_file import refusals

GLOBAL_FIELDS = ("email_subscribe", "push_subscribe")
GROUPS_FIELD = "subscription_groups"
OPTED_IN, OPTED_OUT = "in", "out"
IN_WORDS = ("subscribed", "opted_in", "true", "yes", "y", "1")
OUT_WORDS = ("unsubscribed", "opted_out", "false", "no", "n", "0")
SENT = {
    "email_subscribe": {OPTED_IN: "opted_in", OPTED_OUT: "unsubscribed"},
    "push_subscribe": {OPTED_IN: "opted_in", OPTED_OUT: "unsubscribed"},
    GROUPS_FIELD: {OPTED_IN: "subscribed", OPTED_OUT: "unsubscribed"},
}
GROUP_DTYPE = pl.List(
    pl.Struct({"subscription_group_id": pl.String, "subscription_state": pl.String})
)
UTC = pl.Datetime("us", "UTC")
# Braze's channel of each global field in Currents (GlobalStateChange ``channel``).
CHANNELS = {"email_subscribe": "email", "push_subscribe": "push"}
# The Currents tables that hold Braze's subscription events.
BRAZE_CONSENT_TABLES = ("currents_email_unsubscribes", "currents_subscription_state_changes")
# Braze's latest subscription event per person and channel or group: ``braze_consent_events``.
BRAZE_EVENTS_SCHEMA = {
    "amperity_id": pl.String,
    "topic": pl.String,  # "email", "push", or a subscription_group_id
    "braze_state": pl.String,  # in | out
    "braze_at": UTC,
}


# -- configuration ---------------------------------------------------------------------------
class ConsentSource(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    state: str
    updated_at: str | None = None


class ConsentEntry(BaseModel):
    """One consent as written: ``state`` (+ ``updated_at``), or ``sources:`` several of them."""

    model_config = ConfigDict(extra="forbid", strict=True)
    state: str | None = None
    updated_at: str | None = None
    sources: list[ConsentSource] | None = None

    def all_sources(self) -> tuple[ConsentSource, ...]:
        if self.sources:
            return tuple(self.sources)
        return (ConsentSource(state=self.state, updated_at=self.updated_at),) if self.state else ()


class GroupEntry(ConsentEntry):
    group_id: str

    @field_validator("group_id", mode="before")
    @classmethod
    def _uuid(cls, value: Any) -> Any:
        """Braze's subscription group IDs are UUIDs in the 8-4-4-4-12 form."""
        text = str(value).strip().lower()
        try:
            canonical = str(uuid.UUID(text)) == text
        except ValueError:
            canonical = False
        if not canonical:
            raise ValueError(
                f"group_id {value!r} is not a UUID; copy the subscription group's ID from the "
                "Braze dashboard (Audience > Subscriptions), e.g. "
                "8d0f5a3e-2b7c-4c1e-9f6a-0c2d4e6f8a1b"
            )
        return text


class SubscriptionsEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email_subscribe: ConsentEntry | None = None
    push_subscribe: ConsentEntry | None = None
    subscription_groups: list[GroupEntry] = []


@dataclass(frozen=True)
class ConsentSpec:
    """One consent to send: a global field, or one subscription group."""

    field: str  # email_subscribe | push_subscribe | subscription_groups
    group_id: str | None
    sources: tuple[tuple[str, str | None], ...]  # (state column, updated_at column or None)

    @property
    def topic(self) -> str:
        return self.group_id or CHANNELS[self.field]

    def columns(self) -> set[str]:
        return {c for pair in self.sources for c in pair if c}


def parse_subscriptions(
    path: Path,
    raw: Any,
    allow_consent_fields: bool,
    column: Callable[[Any, str], str | None],
    errors: list[str],
) -> tuple[ConsentSpec, ...]:
    """The ``subscriptions:`` section, every problem reported into ``errors`` with the file, the
    entry and the fix; ``column`` checks a ``table.column`` (reporting a bad one, None)."""
    if raw is None:
        return ()
    where = f"{path}: subscriptions"
    try:
        entry = SubscriptionsEntry.model_validate(raw)
    except ValidationError as exc:
        messages = refusals(exc, _problem, validators_word_their_own=False)
        errors.extend(f"{where}.{m}" for m in messages)
        return ()
    specs: list[ConsentSpec] = []
    for name in GLOBAL_FIELDS:
        consent = getattr(entry, name)
        if consent is None:
            continue
        if not allow_consent_fields:
            errors.append(
                f"{where}.{name}: Braze holds consent, so {name} is left to Braze; remove it, or "
                "set allow_consent_fields: true if this project really is the source of consent."
            )
            continue
        specs.append(_spec(f"{where}.{name}", name, None, consent, column, errors))
    seen: set[str] = set()
    for position, group in enumerate(entry.subscription_groups):
        at = f"{where}.subscription_groups[{position}]"
        if group.group_id in seen:
            errors.append(f"{at}: group_id {group.group_id} is listed twice; keep one entry.")
            continue
        seen.add(group.group_id)
        specs.append(_spec(at, GROUPS_FIELD, group.group_id, group, column, errors))
    return tuple(s for s in specs if s.sources)


def _spec(
    where: str,
    name: str,
    group_id: str | None,
    entry: ConsentEntry,
    column: Callable[[Any, str], str | None],
    errors: list[str],
) -> ConsentSpec:
    sources = entry.all_sources()
    if not sources:
        errors.append(
            f"{where}: name the consent column, e.g. state: customer_360.email_opt_in (and "
            "updated_at: its timestamp column), or sources: [...] for several."
        )
    checked = []
    for source in sources:
        state = column(source.state, f"{where}.state")
        updated_at = column(source.updated_at, f"{where}.updated_at") if source.updated_at else None
        if state is not None:
            checked.append((state, updated_at))
    return ConsentSpec(name, group_id, tuple(checked))


def _problem(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "value_error":
        return f"{key}: {error['ctx']['error']}"
    return (
        f"{key}: {error['msg']}; expected e.g. subscription_groups: [{{group_id: <uuid>, "
        "state: customer_360.<column>, updated_at: customer_360.<column>}]."
    )


# -- resolution ----------------------------------------------------------------------------------
def _flag(column: str, dtype: pl.DataType) -> pl.Expr:
    """in / out / null from a consent column."""
    value = pl.col(column)
    if dtype == pl.Boolean:
        return pl.when(value).then(pl.lit(OPTED_IN)).when(~value).then(pl.lit(OPTED_OUT))
    text = value.cast(pl.String).str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.is_in(IN_WORDS))
        .then(pl.lit(OPTED_IN))
        .when(text.is_in(OUT_WORDS))
        .then(pl.lit(OPTED_OUT))
    )


def _time(column: str | None, dtype: pl.DataType | None) -> pl.Expr:
    if column is None or dtype is None or dtype == pl.Null:
        return pl.lit(None, UTC)
    value = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            return value.dt.convert_time_zone("UTC").cast(UTC)
        return value.dt.replace_time_zone("UTC").cast(UTC)
    if dtype == pl.Date:
        return value.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return value.cast(pl.String).str.to_datetime(strict=False, time_zone="UTC").cast(UTC)


def resolve_consent(
    frame: pl.DataFrame, sources: tuple[tuple[str, str | None], ...]
) -> tuple[pl.Expr, pl.Expr]:
    """(state in/out/null, its time) for one consent from its sources: rule (a)."""
    schema = frame.schema
    flags = [_flag(state, schema[state]) for state, _ in sources]
    times = [_time(at, schema.get(at) if at else None) for _, at in sources]
    ins = [f == OPTED_IN for f in flags]
    outs = [f == OPTED_OUT for f in flags]
    any_in = pl.any_horizontal(i.fill_null(False) for i in ins)
    any_out = pl.any_horizontal(o.fill_null(False) for o in outs)
    untimed_out = pl.any_horizontal(
        (o & t.is_null()).fill_null(False) for o, t in zip(outs, times, strict=True)
    )
    latest_in = pl.max_horizontal(pl.when(i).then(t) for i, t in zip(ins, times, strict=True))
    latest_out = pl.max_horizontal(pl.when(o).then(t) for o, t in zip(outs, times, strict=True))
    opted_in = any_in & (
        ~any_out | (latest_in.is_not_null() & ~untimed_out & (latest_in > latest_out))
    ).fill_null(False)
    state = pl.when(opted_in).then(pl.lit(OPTED_IN)).when(any_out).then(pl.lit(OPTED_OUT))
    at = pl.when(opted_in).then(latest_in).otherwise(latest_out)
    return state, at


def braze_consent_events(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Each person's latest subscription event in Braze per channel or group, from the Currents
    tables ``currents_email_unsubscribes`` and ``currents_subscription_state_changes`` (global
    state changes carry ``channel``, group state changes ``subscription_group_id``). A tie keeps
    the unsubscribe, the cautious reading."""
    parts = [pl.DataFrame(schema=BRAZE_EVENTS_SCHEMA)]
    unsubscribes = tables.get("currents_email_unsubscribes")
    if unsubscribes is not None and unsubscribes.height:
        parts.append(
            unsubscribes.select(
                pl.col("external_user_id").cast(pl.String).alias("amperity_id"),
                pl.lit("email").alias("topic"),
                pl.lit(OPTED_OUT).alias("braze_state"),
                pl.col("time").cast(UTC).alias("braze_at"),
            )
        )
    changes = tables.get("currents_subscription_state_changes")
    if changes is not None and changes.height:
        group = (
            pl.col("subscription_group_id").cast(pl.String).str.to_lowercase()
            if "subscription_group_id" in changes.columns
            else pl.lit(None, pl.String)
        )
        channel = (
            pl.col("channel").cast(pl.String).str.to_lowercase()
            if "channel" in changes.columns
            else pl.lit(None, pl.String)
        )
        status = pl.col("subscription_status").cast(pl.String).str.to_lowercase()
        parts.append(
            changes.select(
                pl.col("external_user_id").cast(pl.String).alias("amperity_id"),
                pl.coalesce(group, channel).alias("topic"),
                pl.when(status.is_in(OUT_WORDS))
                .then(pl.lit(OPTED_OUT))
                .otherwise(pl.lit(OPTED_IN))
                .alias("braze_state"),
                pl.col("time").cast(UTC).alias("braze_at"),
            )
        )
    return (
        pl.concat(parts)
        .drop_nulls(["amperity_id", "topic", "braze_at"])
        .sort("braze_at", pl.col("braze_state") == OPTED_OUT)
        .group_by("amperity_id", "topic", maintain_order=True)
        .last()
    )


@dataclass
class ConsentFigures:
    kept_unsubscribed_by_braze: int = 0  # opt-ins not sent: Braze holds a later unsubscribe


def consent_columns(
    people: pl.DataFrame,
    person_id: str,
    specs: tuple[ConsentSpec, ...],
    braze_events: pl.DataFrame | None,
    figures: ConsentFigures,
) -> pl.DataFrame:
    """The consent columns for ``people`` (in their order): ``email_subscribe`` /
    ``push_subscribe`` as Braze's values, ``subscription_groups`` as a list of group states
    (null when none has a value); rules (a) and (b)."""
    frame = people
    resolved: list[tuple[ConsentSpec, str]] = []
    for i, spec in enumerate(specs):
        state, at = resolve_consent(frame, spec.sources)
        frame = frame.with_columns(state.alias(f"__state{i}"), at.alias(f"__at{i}"))
        frame = _apply_braze(frame, person_id, spec, i, braze_events, figures)
        resolved.append((spec, f"__state{i}"))
    columns = [
        pl.col(state).replace_strict(SENT[spec.field], default=None).alias(spec.field)
        for spec, state in resolved
        if spec.field != GROUPS_FIELD
    ]
    groups = [
        pl.when(pl.col(state).is_not_null()).then(
            pl.struct(
                pl.lit(spec.group_id).alias("subscription_group_id"),
                pl.col(state)
                .replace_strict(SENT[GROUPS_FIELD], default=None)
                .alias("subscription_state"),
            )
        )
        for spec, state in resolved
        if spec.field == GROUPS_FIELD
    ]
    if groups:
        listed = pl.concat_list(groups).list.drop_nulls()
        columns.append(
            pl.when(listed.list.len() > 0).then(listed).cast(GROUP_DTYPE).alias(GROUPS_FIELD)
        )
    return frame.select(columns)


def _apply_braze(
    frame: pl.DataFrame,
    person_id: str,
    spec: ConsentSpec,
    i: int,
    braze_events: pl.DataFrame | None,
    figures: ConsentFigures,
) -> pl.DataFrame:
    """Rule (b): an opt-in Braze has a later or same-time unsubscribe for (or an untimed one)
    becomes out: at an equal time the opt-out wins, as between our own sources (rule (a))."""
    if braze_events is None or braze_events.height == 0:
        return frame
    latest = braze_events.filter(pl.col("topic") == spec.topic).select(
        pl.col("amperity_id").alias(person_id), "braze_state", "braze_at"
    )
    joined = frame.join(latest, on=person_id, how="left", maintain_order="left")
    state, at = pl.col(f"__state{i}"), pl.col(f"__at{i}")
    overruled = (
        (state == OPTED_IN)
        & (pl.col("braze_state") == OPTED_OUT)
        & (at.is_null() | (pl.col("braze_at") >= at))
    ).fill_null(False)
    figures.kept_unsubscribed_by_braze += int(joined.select(overruled.sum()).item())
    return joined.with_columns(
        pl.when(overruled).then(pl.lit(OPTED_OUT)).otherwise(state).alias(f"__state{i}")
    ).drop("braze_state", "braze_at")
