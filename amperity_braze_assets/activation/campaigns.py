"""Campaigns: ``campaigns/<name>.yaml``, one audience sent to one destination as one thing.

Plain Python and polars, no Dagster. A campaign names an audience (a segment or SQL audience of
either stage, or an inline ``sql:`` query over braze_customer_attributes, which has no flag to
send), the audiences it excludes, the destination, the attributes it sends (a subset of
the destination's) and when it runs (``schedule:`` a cron, or ``once: true``: a job without a
schedule, launched by hand). A campaign sends a flag of its own, ``campaign_<name>``: true for its
members (after the exclusions), false for whoever it sent true before and is no longer one, so a
Braze campaign targeting ``campaign_<name> is true`` reaches exactly the members. The audience's
own flag is the regular sync's to send (it is true for excluded people too), never the campaign's. Each becomes its own Dagster job
(``campaign_<name>``) that runs the audiences and the attributes from the stored customer 360,
then a diff and sync restricted to the campaign's members and attributes on the destination's
own ledger: people outside the campaign and attributes outside its list are neither sent nor
touched in the ledger, so the destination's regular sync sends only what changed since.

Everything is checked at definitions load, with the file, the entry and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, StrictBool, field_validator
from pydantic_core import ErrorDetails

from amperity_braze_assets.activation.audiences import ENGINE, run_read_only_query
from amperity_braze_assets.activation.config import (
    AUDIENCE_NAME_PATTERN,
    BRAZE_ATTRIBUTES,
    AttributeConfig,
    check_attribute_query,
)
from amperity_braze_assets.config_file import (
    ConfigError,
    load_yaml,
    suggestion,
    validate_collecting,
)
from amperity_braze_assets.orchestration.config import ScheduleEntry, is_valid_cron

CAMPAIGNS_DIR = "campaigns"
CAMPAIGN_TAG = "campaign"
EXAMPLE = (
    "audience: lapsing\nexclude: [vip]\ndestination: braze\n"
    "attributes: [first_name, lifecycle_status]\nschedule: '0 9 * * 1'"
)


class CampaignFile(BaseModel):
    """A campaign file as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audience: str | None = None
    sql: str | None = None  # an inline audience over braze_customer_attributes, instead
    exclude: tuple[str, ...] = ()
    destination: str | None = None  # None: the only destination
    attributes: tuple[str, ...]
    schedule: str | None = None
    timezone: str = "UTC"
    enabled: StrictBool = False  # a schedule starts stopped, as orchestration.yaml's do
    once: StrictBool = False
    description: str = ""

    @field_validator("exclude", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("attributes")
    @classmethod
    def _some(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(
                "attributes must list what the campaign sends, e.g. [first_name, "
                "lifecycle_status]; the campaign's own flag campaign_<name> is sent with them."
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_cron(value):
            raise ValueError(
                f"schedule {value!r} is not a valid cron expression; use five fields, e.g. "
                "'0 9 * * 1' (Mondays at 09:00), or once: true for a one-off."
            )
        return value


def _shape_problem(error: ErrorDetails) -> str:
    key = error["loc"][0] if error["loc"] else ""
    if error["type"] == "extra_forbidden":
        allowed = CampaignFile.model_fields
        return f"unknown key '{key}'{suggestion(str(key), allowed)}; allowed: {sorted(allowed)}."
    if error["type"] == "missing":
        return f"{key} is missing; a campaign file looks like:\n{EXAMPLE}"
    if key in ("once", "enabled"):
        return f"{key} must be true or false."
    return f"{key} {error.get('input')!r} is not valid; a campaign file looks like:\n{EXAMPLE}"


@dataclass(frozen=True)
class Campaign:
    """A checked campaign: whom (``flag`` true, no ``exclude_flags`` true), where, what
    (``attributes``, the last of them its own flag ``campaign_flag``)."""

    name: str
    file: Path
    audience: str  # its name, or "inline SQL"
    flag: str | None  # the audience's Boolean column, selecting the members; None: inline SQL
    exclude: tuple[str, ...]
    exclude_flags: tuple[str, ...]
    destination: str
    attributes: tuple[str, ...]  # what is sent: the listed attributes, then campaign_flag
    schedule: str | None
    timezone: str
    enabled: bool
    once: bool
    description: str
    reads_attribute_audiences: bool  # a flag comes from the second stage
    sql: str | None = None  # the inline audience: a query returning the identifier
    table_identifier: str = "external_id"  # braze_customer_attributes' key, the query returns

    @property
    def job_name(self) -> str:
        return f"campaign_{self.name}"

    @property
    def asset_name(self) -> str:
        return f"campaign_{self.name}_sync"

    @property
    def campaign_flag(self) -> str:
        """The campaign's own Boolean attribute in Braze: true exactly for its members."""
        return campaign_flag(self.name)

    def summary(self) -> str:
        """One line for the UI: audience, exclusions, destination, attributes, schedule."""
        when = f"on schedule '{self.schedule}' ({self.timezone})" if self.schedule else "once"
        excluding = f" excluding {', '.join(self.exclude)}" if self.exclude else ""
        text = (
            f"Campaign '{self.name}': audience {self.audience}{excluding} to destination "
            f"'{self.destination}', sending {', '.join(self.attributes)}; runs {when}."
        )
        return f"{text} {self.description}".strip()

    def members(
        self,
        attributes: pl.DataFrame,
        identifier_columns: tuple[str, ...],
        sent_true: pl.Series | None = None,
    ) -> pl.DataFrame:
        """The rows of ``attributes`` (second-stage flags joined) the campaign sends to: its
        members (in the audience, in none it excludes) with ``campaign_flag`` true, and the
        people it sent true before (``sent_true``, a mask over ``attributes``) who are no longer
        members, with it false; the destination's identifier columns (an alias's two, or the
        identifier and the alias's with alias_fallback) and the attributes it sends.
        An inline query returns the table's own identifier (``table_identifier``)."""
        excluded = [pl.col(flag).fill_null(False) for flag in self.exclude_flags]
        if self.sql is not None:
            found = run_read_only_query(
                self.sql, self.file, {BRAZE_ATTRIBUTES: attributes}, (BRAZE_ATTRIBUTES,)
            )
            key = self.table_identifier
            ids = found.select(key).collect(engine=ENGINE)[key]
            selected = pl.col(key).is_in(ids.implode())
        else:
            selected = pl.col(str(self.flag)).fill_null(False)
        if excluded:
            selected = selected & ~pl.any_horizontal(excluded)
        member = attributes.select(selected.alias(self.campaign_flag)).to_series()
        left = sent_true & ~member if sent_true is not None else pl.repeat(False, member.len())
        columns = dict.fromkeys((*identifier_columns, *self.attributes))
        return attributes.with_columns(member).filter(member | left).select(*columns)


def campaign_flag(name: str) -> str:
    """The Boolean attribute campaign ``name`` sends (``campaign_winback``)."""
    return f"campaign_{name}"


def campaign_flags(campaigns: tuple[Campaign, ...]) -> dict[str, tuple[str, ...]]:
    """Destination -> the flags its campaigns send: attributes of the destination beside its
    ``attributes:`` list, which the workspace check declares too."""
    flags: dict[str, tuple[str, ...]] = {}
    for campaign in campaigns:
        flags[campaign.destination] = (*flags.get(campaign.destination, ()), campaign.campaign_flag)
    return flags


def load_campaigns(
    config_dir: Path,
    mapping: AttributeConfig,
    destinations: Mapping[str, tuple[str, ...] | None],
) -> tuple[Campaign, ...]:
    """Every ``campaigns/*.yaml``, checked against the audiences, the destinations (name ->
    its attribute list, None for every column) and the attributes table's columns."""
    folder = config_dir / CAMPAIGNS_DIR
    errors: list[str] = []
    campaigns = []
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        campaign = _load_campaign(path, mapping, destinations, errors)
        if campaign is not None:
            campaigns.append(campaign)
    if errors:
        raise ConfigError("Invalid campaign configuration:\n- " + "\n- ".join(errors))
    return tuple(campaigns)


def _audience_flags(mapping: AttributeConfig) -> dict[str, tuple[str, bool]]:
    """Audience name -> (its flag column, whether it is second stage)."""
    return {
        **{a.name: (a.attribute, False) for a in mapping.audiences},
        **{a.name: (a.attribute, True) for a in mapping.attribute_audiences},
    }


def _load_campaign(
    path: Path,
    mapping: AttributeConfig,
    destinations: Mapping[str, tuple[str, ...] | None],
    errors: list[str],
) -> Campaign | None:
    name = path.stem
    if not AUDIENCE_NAME_PATTERN.match(name):
        errors.append(
            f"{path}: the campaign name '{name}' (the file name) must be lower case letters, "
            "digits and underscores, starting with a letter; rename the file."
        )
        return None
    raw = load_yaml(path)
    entry, problems = validate_collecting(CampaignFile, raw, str(path), _shape_problem)
    errors.extend(problems)
    if entry is None or problems:
        return None
    found = len(errors)
    flags = _audience_flags(mapping)
    _check_audiences(path, entry, mapping, flags, errors)
    destination = _destination(path, entry, destinations, errors)
    if len(errors) > found or destination is None:
        return None
    flag = flags[entry.audience][0] if entry.audience is not None else None
    sent = (*dict.fromkeys(entry.attributes), campaign_flag(name))
    _check_attributes(path, entry, sent, destination, destinations[destination], mapping, errors)
    if entry.schedule is None and not entry.once:
        errors.append(
            f"{path}: say when the campaign runs: schedule: '<cron>' (e.g. '0 9 * * 1'), or "
            "once: true for a one-off launched by hand."
        )
    if entry.schedule is not None and entry.once:
        errors.append(f"{path}: give schedule or once: true, not both.")
    timezone = {"cron": entry.schedule or "@daily", "timezone": entry.timezone}
    errors.extend(validate_collecting(ScheduleEntry, timezone, str(path), _shape_problem)[1])
    if len(errors) > found:
        return None
    named = [entry.audience] if entry.audience is not None else []
    return Campaign(
        name=name,
        file=path,
        audience=entry.audience or "inline SQL",
        flag=flag,
        exclude=entry.exclude,
        exclude_flags=tuple(flags[a][0] for a in entry.exclude),
        destination=destination,
        attributes=sent,
        schedule=entry.schedule,
        timezone=entry.timezone,
        enabled=entry.enabled,
        once=entry.once,
        description=entry.description,
        reads_attribute_audiences=any(flags[a][1] for a in (*named, *entry.exclude)),
        sql=entry.sql,
        table_identifier=mapping.identifier,
    )


def _check_audiences(
    path: Path,
    entry: CampaignFile,
    mapping: AttributeConfig,
    flags: dict[str, tuple[str, bool]],
    errors: list[str],
) -> None:
    """The campaign's audience (a name or an inline query, exactly one) and exclusions."""
    if (entry.audience is None) == (entry.sql is None):
        errors.append(
            f"{path}: give the audience: audience: <name> (a segment or SQL audience), or sql: "
            f"an inline query over {BRAZE_ATTRIBUTES} returning {mapping.identifier}; exactly "
            "one of them."
        )
    if entry.sql is not None:
        check_attribute_query(path, entry.sql, mapping, errors)
    named = [entry.audience] if entry.audience is not None else []
    for audience in (*named, *entry.exclude):
        if audience not in flags:
            errors.append(
                f"{path}: audience '{audience}' is unknown{suggestion(audience, flags)}; name a "
                f"segment (segments.yaml) or SQL audience (audiences/<name>.sql): "
                f"{sorted(flags) or 'none is configured'}."
            )


def _destination(
    path: Path,
    entry: CampaignFile,
    destinations: Mapping[str, tuple[str, ...] | None],
    errors: list[str],
) -> str | None:
    """The campaign's destination: the one it names, or the only one there is."""
    if entry.destination is None:
        if len(destinations) == 1:
            return next(iter(destinations))
        errors.append(
            f"{path}: there are several destinations; name one with destination: "
            f"{sorted(destinations)}."
        )
        return None
    if entry.destination not in destinations:
        errors.append(
            f"{path}: destination '{entry.destination}' is unknown"
            f"{suggestion(entry.destination, destinations)}; use one of destinations.yaml's: "
            f"{sorted(destinations)}."
        )
        return None
    return entry.destination


def _check_attributes(
    path: Path,
    entry: CampaignFile,
    sent: tuple[str, ...],
    destination: str,
    owned: tuple[str, ...] | None,
    mapping: AttributeConfig,
    errors: list[str],
) -> None:
    """What the campaign lists is the destination's to send: among its attributes (or, when it
    sends every column, among braze_customer_attributes' columns and the second-stage flags).
    Its own flag (``sent[-1]``) is no column of the table: the campaign alone sends it."""
    columns = (*mapping.output_columns[1:], *(a.attribute for a in mapping.attribute_audiences))
    flag = sent[-1]
    if flag in entry.attributes:
        errors.append(
            f"{path}: {flag} is the campaign's own flag, always sent with its attributes; "
            "remove it from attributes."
        )
    elif flag in columns or (owned is not None and flag in owned):
        errors.append(
            f"{path}: {flag} is the flag the campaign sends (campaign_<file name>), but it is "
            f"already a column of braze_customer_attributes or destination '{destination}''s "
            "attributes, which the regular sync would send too; rename that column, or the "
            "campaign file."
        )
    if owned is None:
        owned = columns
        where = "braze_customer_attributes' columns"
    else:
        where = f"destination '{destination}''s attributes"
    outside = [name for name in entry.attributes if name not in owned and name != flag]
    if outside:
        errors.append(
            f"{path}: {outside} are not among {where}"
            f"{suggestion(outside[0], owned)}; list only {sorted(owned)}, or add them to the "
            "destination in destinations.yaml."
        )
