"""The Dagster face of purchases and custom events: ``braze_events`` and ``braze_event_rejects``
(group ``braze``), with their checks. Built only when ``events.yaml`` configures any."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from amperity_braze_assets.activation.assets import BRAZE_GROUP
from amperity_braze_assets.activation.config import QUERY_TABLES, sql_tables
from amperity_braze_assets.activation.events import DUPLICATE_KEY, build_events
from amperity_braze_assets.activation.events_config import EventsConfig, load_events_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.metadata import markdown_preview, top_counts

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig

EVENTS_ASSET = "braze_events"
EVENT_REJECTS_ASSET = "braze_event_rejects"
KEYS_CHECK = "event_keys_unique"
NO_REJECTS_CHECK = "no_rejected_events"


def tables_read(config: EventsConfig) -> list[str]:
    """The registered tables the purchases and events read, in ``QUERY_TABLES`` order."""
    used = {config.purchases.table} if config.purchases else set()
    for spec in config.events:
        used |= {spec.table} if spec.table else sql_tables(spec.sql or "")
    return [name for name in QUERY_TABLES if name in used]


def check_destination_events(config: EventsConfig, destinations) -> None:
    """A destination's ``events: [names]`` must name events of events.yaml."""
    known = set(config.event_names)
    for destination in destinations:
        unknown = sorted(set(destination.events or ()) - known)
        if unknown:
            raise ConfigError(
                f"destinations.yaml: destination '{destination.name}': events {unknown} are not "
                f"defined in events.yaml (defined: {sorted(known) or 'none'}); fix the names or "
                "define the events."
            )


def build_event_assets(project: ProjectConfig, destinations=()) -> list:
    """``braze_events`` and its rejects, or nothing when events.yaml configures no event."""
    config = load_events_config(project)
    check_destination_events(config, destinations)
    if config.purchases is None and not config.events:
        return []

    @dg.multi_asset(
        name=EVENTS_ASSET,
        group_name=BRAZE_GROUP,
        ins={name: dg.AssetIn(key=name) for name in tables_read(config)},
        outs={
            EVENTS_ASSET: dg.AssetOut(
                kinds={"polars", "braze"},
                description="Every purchase and custom event occurrence Braze may receive: "
                "its stable event_key, person, kind, name or product, time (UTC), currency, "
                "price, quantity and properties (JSON). The sync sends each once.",
            ),
            EVENT_REJECTS_ASSET: dg.AssetOut(
                kinds={"polars"},
                description="Occurrences Braze would refuse, not sent: key, person, kind, "
                "name, time and the reason.",
            ),
        },
        check_specs=[
            dg.AssetCheckSpec(
                KEYS_CHECK,
                asset=EVENTS_ASSET,
                blocking=True,
                description="No two occurrences with different content share an event_key "
                "(those are refused, not sent; identical rows are one occurrence).",
            ),
            dg.AssetCheckSpec(
                NO_REJECTS_CHECK,
                asset=EVENTS_ASSET,
                description="Every occurrence is valid for Braze; a warning names the reasons "
                "of those held back.",
            ),
        ],
    )
    def braze_events(**tables: pl.DataFrame):
        events, rejects = build_events(tables, config)
        counts = dict(events.group_by("kind").len().iter_rows())
        yield dg.Output(
            events,
            output_name=EVENTS_ASSET,
            metadata={
                "purchases": dg.MetadataValue.int(counts.get("purchase", 0)),
                "events": dg.MetadataValue.int(counts.get("event", 0)),
                "rejected": dg.MetadataValue.int(rejects.height),
                "by_name": top_counts(events, "name"),
                "preview": markdown_preview(events.drop("properties")),
            },
        )
        yield dg.Output(
            rejects,
            output_name=EVENT_REJECTS_ASSET,
            metadata={
                "rejects": dg.MetadataValue.int(rejects.height),
                "by_reason": top_counts(rejects, "reason"),
            },
        )
        # Counted before de-duplicating: occurrences sharing a key with different content are
        # refused (build_events), and the check says so.
        clashes = rejects.filter(pl.col("reason").str.starts_with(DUPLICATE_KEY))
        duplicates = (
            clashes["event_key"].n_unique() + events.height - events["event_key"].n_unique()
        )
        yield dg.AssetCheckResult(
            check_name=KEYS_CHECK,
            asset_key=EVENTS_ASSET,
            passed=duplicates == 0,
            metadata={
                "duplicate_keys": dg.MetadataValue.int(duplicates),
                "occurrences_refused": dg.MetadataValue.int(clashes.height),
                "by_reason": top_counts(clashes, "reason"),
            },
        )
        yield dg.AssetCheckResult(
            check_name=NO_REJECTS_CHECK,
            asset_key=EVENTS_ASSET,
            passed=rejects.height == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rejected": dg.MetadataValue.int(rejects.height),
                "by_reason": top_counts(rejects, "reason"),
            },
        )

    return [braze_events]
