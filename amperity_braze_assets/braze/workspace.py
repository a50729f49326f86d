"""Workspace preflight: what we will write, held against what the Braze workspace already has.

No Dagster here. ``workspace_assets.py`` (the ``braze_workspace_check`` asset) and
``amperity-braze check-braze`` call ``check_workspace``.

Findings, each with its fix:
- ``blocklisted`` (error): Braze drops every value sent to a blocklisted attribute without an
  error entry (a 201), so the sync would report success and the workspace would never change;
- ``type_mismatch`` (error): Braze fixes a custom attribute's type with the first value it sees,
  so values of our declared type land in an attribute of another type and its filters misread
  them;
- ``name_alignment`` (warn): the workspace has the name in another spelling (``loyaltyTier`` for
  our ``loyalty_tier``): names are case-sensitive, so we would create a second attribute beside
  the one campaigns already use. The fix names the existing spelling;
- ``permission`` (error): the key cannot read the schema or lacks ``users.track``;
- ``new`` (info): Braze has no attribute of that name yet; the first sync creates it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import polars as pl

from amperity_braze_assets import braze_fields as fields
from amperity_braze_assets.braze.workspace_client import (
    BrazePermissionError,
    WorkspaceAttribute,
    WorkspaceClient,
)

if TYPE_CHECKING:  # the attribute mapping is parsed upstream (activation/config.py)
    from amperity_braze_assets.activation.config import AttributeConfig

ERROR, WARN, INFO = "error", "warn", "info"
FINDING_KINDS = ("blocklisted", "type_mismatch", "permission", "name_alignment", "new", "skipped")
# Our declared types (attributes.yaml ``type``) and the Braze data type their values take on the
# wire: dates and times go out as ISO 8601 strings, which Braze types as Time.
BRAZE_DATA_TYPES = {
    "Boolean": "Boolean",
    "Date": "Time",
    "Datetime": "Time",
    "Decimal": "Number",
    "Float": "Number",
    "Integer": "Number",
    "String": "String",
    "Varchar": "String",
    "Array": "Array",
    "Object": "Object",
    "ArrayOfObjects": "Array of Objects",
}
# Spellings of the same Braze type: the export documents "Number"; the dashboard has shown
# "Integer"/"Float" and "Date". We choose to read them as the type they name.
_BRAZE_TYPE_ALIASES = {
    "integer": "Number",
    "float": "Number",
    "number": "Number",
    "date": "Time",
    "time": "Time",
    "string": "String",
    "boolean": "Boolean",
    "array": "Array",
    "object": "Object",
    "array of objects": "Array of Objects",
    "object array": "Array of Objects",  # the dashboard's wording; the export documents none
}
DASHBOARD_PLACE = "Braze: Data Settings > Custom Attributes"


class DeclaredAttribute(NamedTuple):
    """A custom attribute we write: its name, our declared type and Braze's data type for it."""

    name: str
    declared_type: str
    braze_type: str


@dataclass(frozen=True)
class Finding:
    """One row of the findings table (``FINDINGS_SCHEMA``, the same names in the same order)."""

    attribute: str  # our name; the permission's name for a permission finding
    finding: str  # one of FINDING_KINDS
    severity: str  # error | warn | info
    message: str  # what is wrong and the fix
    declared_type: str | None = None  # as attributes.yaml declares it
    workspace_name: str | None = None  # the workspace's spelling: the one to use
    workspace_type: str | None = None  # the workspace's data_type


FINDINGS_SCHEMA = {f.name: pl.String for f in dataclasses.fields(Finding)}


def declared_attributes(
    mapping: AttributeConfig,
    only: Sequence[str] | None = None,
    campaign_flags: Sequence[str] = (),
) -> list[DeclaredAttribute]:
    """The custom attributes a destination writes: ``custom`` entries, each audience's Boolean
    (second-stage audiences' too) and the audience array; standard fields are not custom
    attributes and are left out. ``only``: the destination's ``attributes`` list (None: every column).
    ``campaign_flags``: its campaigns' own Booleans (``campaign_<name>``), sent beside the list."""
    declared = [
        DeclaredAttribute(spec.name, spec.braze_type, BRAZE_DATA_TYPES[spec.braze_type])
        for spec in mapping.custom
    ]
    # Both stages' flags: the second stage's (audiences over braze_customer_attributes) join on
    # at the sync and are sent like the first's.
    audiences = (*mapping.audiences, *mapping.attribute_audiences)
    declared += [DeclaredAttribute(a.attribute, "Boolean", "Boolean") for a in audiences]
    if mapping.audience_array:
        declared.append(DeclaredAttribute(mapping.audience_array, "Array", "Array"))
    wanted = set(only) if only is not None else None
    return [
        d
        for d in declared
        if d.name not in fields.RESERVED_NAMES and (wanted is None or d.name in wanted)
    ] + [DeclaredAttribute(name, "Boolean", "Boolean") for name in campaign_flags]


def name_key(name: str) -> str:
    """A name with case and separators dropped: ``loyaltyTier``, ``Loyalty-Tier`` and
    ``loyalty_tier`` share ``loyaltytier``."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def braze_type_of(data_type: str) -> str:
    return _BRAZE_TYPE_ALIASES.get(data_type.strip().lower(), data_type.strip())


def compare(
    declared: Iterable[DeclaredAttribute], workspace: Iterable[WorkspaceAttribute]
) -> list[Finding]:
    """The findings for every declared attribute against the workspace's attributes."""
    existing = list(workspace)
    by_name = {a.name: a for a in existing}
    by_key: dict[str, list[WorkspaceAttribute]] = {}
    for attribute in existing:
        by_key.setdefault(name_key(attribute.name), []).append(attribute)
    findings: list[Finding] = []
    for ours in declared:
        theirs = by_name.get(ours.name)
        if theirs is None:
            findings.append(_missing(ours, by_key.get(name_key(ours.name), [])))
        elif theirs.blocklisted:
            findings.append(_blocklisted(ours, theirs))
        elif braze_type_of(theirs.data_type) != ours.braze_type:
            findings.append(_type_mismatch(ours, theirs))
    return findings


def _missing(ours: DeclaredAttribute, variants: list[WorkspaceAttribute]) -> Finding:
    if not variants:
        return Finding(
            ours.name,
            "new",
            INFO,
            f"'{ours.name}' is not in the workspace yet: the first sync creates it as "
            f"{ours.braze_type}.",
            ours.declared_type,
        )
    # Prefer an active spelling: that is the one segments and campaigns read.
    use = next((v for v in variants if not v.blocklisted), variants[0])
    others = ", ".join(f"'{v.name}'" for v in variants)
    return Finding(
        ours.name,
        "name_alignment",
        WARN,
        f"the workspace has {others} but not '{ours.name}': names are case-sensitive, so the "
        f"sync would create a second attribute beside it. Fix: rename '{ours.name}' to "
        f"'{use.name}' in attributes.yaml (custom:), so the output matches the name already in "
        "the workspace.",
        ours.declared_type,
        use.name,
        use.data_type,
    )


def _blocklisted(ours: DeclaredAttribute, theirs: WorkspaceAttribute) -> Finding:
    message = (
        f"'{ours.name}' is blocklisted in the workspace: Braze drops every value sent to it "
        "without an error, so the sync would report success and change nothing. Fix: reactivate "
        f"it ({DASHBOARD_PLACE}), or remove it from attributes.yaml (or from this destination's "
        "attributes list)."
    )
    return _held_against(ours, theirs, "blocklisted", message)


def _type_mismatch(ours: DeclaredAttribute, theirs: WorkspaceAttribute) -> Finding:
    message = (
        f"'{ours.name}' is declared {ours.declared_type} (Braze {ours.braze_type}) but the "
        f"workspace holds it as {theirs.data_type}: Braze keeps the type of the first value it "
        "saw, so filters would misread ours. Fix: declare a type that sends "
        f"{braze_type_of(theirs.data_type)} in attributes.yaml, or change the attribute's data "
        f"type in Braze ({DASHBOARD_PLACE}), or send it under a new name."
    )
    return _held_against(ours, theirs, "type_mismatch", message)


def _held_against(
    ours: DeclaredAttribute, theirs: WorkspaceAttribute, kind: str, message: str
) -> Finding:
    """A failing finding about an attribute the workspace has under our very name."""
    return Finding(
        ours.name, kind, ERROR, message, ours.declared_type, theirs.name, theirs.data_type
    )


def permission_finding(exc: BrazePermissionError) -> Finding:
    return Finding(exc.permission, "permission", ERROR, str(exc))


def check_workspace(
    client: WorkspaceClient, declared: Sequence[DeclaredAttribute]
) -> list[Finding]:
    """Probe the key (``users.track`` with a request that writes nothing), read the schema,
    compare. A key that cannot read the schema is a finding, not a crash."""
    findings: list[Finding] = []
    track = client.probe_track_permission()
    if not track.granted:
        findings.append(Finding(track.permission, "permission", ERROR, track.message))
    try:
        workspace = client.custom_attributes()
    except BrazePermissionError as exc:
        return [*findings, permission_finding(exc)]
    return findings + compare(declared, workspace)


def skipped(reason: str) -> list[Finding]:
    return [Finding("", "skipped", WARN, reason)]


def findings_frame(findings: Sequence[Finding]) -> pl.DataFrame:
    return (
        pl.DataFrame(
            [finding.__dict__ for finding in findings], schema=FINDINGS_SCHEMA, orient="row"
        )
        if findings
        else pl.DataFrame(schema=FINDINGS_SCHEMA)
    )


@dataclass(frozen=True)
class Verdict:
    """What the findings come to: ``failed`` with ``severity`` (error before warn), and a line."""

    failed: bool
    severity: str | None
    summary: str


def verdict(frame: pl.DataFrame) -> Verdict:
    counts = dict(frame.group_by("severity").len().iter_rows()) if frame.height else {}
    if (frame["finding"] == "skipped").any():
        return Verdict(True, WARN, f"Skipped: {frame['message'][0]}")
    errors, warnings = counts.get(ERROR, 0), counts.get(WARN, 0)
    if errors:
        return Verdict(True, ERROR, f"{errors} failing finding(s), {warnings} name flag(s).")
    if warnings:
        return Verdict(True, WARN, f"{warnings} name(s) differ from the workspace's spelling.")
    return Verdict(False, None, "The workspace takes every declared attribute as we send it.")


def _ordered(frame: pl.DataFrame) -> list[dict]:
    order = {ERROR: 0, WARN: 1, INFO: 2}
    return sorted(frame.iter_rows(named=True), key=lambda r: order.get(r["severity"], 3))


def format_findings(destination: str, frame: pl.DataFrame) -> str:
    """Plain text for the terminal: the verdict, then one line per finding, errors first."""
    lines = [f"{destination}: {verdict(frame).summary}"]
    lines += [f"  {row['severity'].upper():5s} {row['message']}" for row in _ordered(frame)]
    return "\n".join(lines)


def findings_markdown(frame: pl.DataFrame) -> str:
    """The findings as a markdown list for the UI, whole messages (they hold the fix); names of
    attributes only, no personal data."""
    if not frame.height:
        return "_(no findings)_"
    return "\n".join(f"- **{row['severity']}** {row['message']}" for row in _ordered(frame))
