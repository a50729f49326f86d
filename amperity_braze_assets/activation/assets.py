"""The Dagster face of Braze attributes: ``audiences``, ``braze_customer_attributes`` and
``braze_attribute_rejects``, with their checks.

The attribute configuration is loaded in the builder, so a mistake in attributes.yaml,
segments.yaml or an audience query fails at definitions load. ``customer_engagement`` is an input
only when the configuration reads it.
"""

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from amperity_braze_assets.activation import config as activation_config
from amperity_braze_assets.activation.attribute_audiences import (
    ATTRIBUTE_AUDIENCES_ASSET,
    build_attribute_audiences,
)
from amperity_braze_assets.activation.attributes import build_braze_attributes, invalid_value_counts
from amperity_braze_assets.activation.attributes_sql import attribute_tables
from amperity_braze_assets.activation.audiences import build_audiences
from amperity_braze_assets.activation.subscriptions import (
    BRAZE_CONSENT_TABLES,
    ConsentFigures,
    braze_consent_events,
)
from amperity_braze_assets.currents.assets import currents_configured
from amperity_braze_assets.currents.ingest import read_currents_table
from amperity_braze_assets.metadata import markdown_preview, top_counts
from amperity_braze_assets.settings import Settings

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig


BRAZE_GROUP = "braze"
IDENTIFIER_CHECK = "identifier_unique_and_non_null"
VALUES_CHECK = "values_valid_for_types"
REJECT_SHARE_CHECK = "reject_share_under_threshold"


def _upstream_ins(mapping: activation_config.AttributeConfig) -> dict[str, dg.AssetIn]:
    """customer_360 and customer_transactions always (the builder reads both), the other tables
    when the configuration reads them, in the order of ``QUERY_TABLES``."""
    always = {activation_config.CUSTOMER_360, activation_config.CUSTOMER_TRANSACTIONS}
    used = always | mapping.tables_used
    return {name: dg.AssetIn(key=name) for name in activation_config.QUERY_TABLES if name in used}


def _braze_consent(context: dg.AssetExecutionContext) -> pl.DataFrame:
    """Braze's latest subscription event per person and channel or group (rule b)."""
    store = context.resources.state_store.tables()
    return braze_consent_events({t: read_currents_table(store, t) for t in BRAZE_CONSENT_TABLES})


def build_attribute_assets(config: "ProjectConfig", settings: Settings) -> list:
    mapping = activation_config.load_attribute_config(config)
    upstream = _upstream_ins(mapping)
    # Consent is checked against Braze's own later unsubscribes when Currents arrives.
    braze_consent = bool(mapping.subscriptions) and currents_configured(settings)

    @dg.asset(
        group_name=BRAZE_GROUP,
        ins=upstream,
        kinds={"polars"},
        description="Members of every SQL audience and segment after exclusions, one row per "
        "(amperity_id, audience), with the stable control group marked.",
    )
    def audiences(**tables: pl.DataFrame) -> dg.Output:
        result = build_audiences(tables, mapping, settings.reference_time())
        return dg.Output(result.memberships, metadata=audience_summary_metadata(result.summary))

    @dg.multi_asset(
        # The step is named after its main asset, so the run's steps read as the graph does.
        name="braze_customer_attributes",
        group_name=BRAZE_GROUP,
        ins={**upstream, "audiences": dg.AssetIn(key="audiences")},
        deps=list(BRAZE_CONSENT_TABLES) if braze_consent else None,
        required_resource_keys={"state_store"} if braze_consent else None,
        outs={
            "braze_customer_attributes": dg.AssetOut(
                kinds={"polars", "braze"},
                description="One row per person, one typed column per Braze field: the "
                "identifier, standard fields in Braze formats, custom attributes and audiences.",
            ),
            "braze_attribute_rejects": dg.AssetOut(
                kinds={"polars"},
                description="Values that could not be made valid for Braze: person, field, "
                "value, reason, and whether the field was nulled or the row held back.",
            ),
        },
        # Blocking: a failure stops the diff and the sync in the same run, before Braze.
        check_specs=[
            dg.AssetCheckSpec(
                IDENTIFIER_CHECK,
                asset="braze_customer_attributes",
                blocking=True,
                description="Every row has an identifier and no two rows share one.",
            ),
            dg.AssetCheckSpec(
                VALUES_CHECK,
                asset="braze_customer_attributes",
                blocking=True,
                description="Every value is valid for its Braze field or declared type.",
            ),
            dg.AssetCheckSpec(
                REJECT_SHARE_CHECK,
                asset="braze_customer_attributes",
                blocking=True,
                description=f"Share of people with a rejected value is at most "
                f"max_reject_share ({mapping.max_reject_share}).",
            ),
        ],
    )
    def braze_attributes(
        context: dg.AssetExecutionContext, audiences: pl.DataFrame, **tables: pl.DataFrame
    ):
        tables = attribute_tables(tables, mapping)  # attributes.sql: its rows are the people
        consent = ConsentFigures()
        events = _braze_consent(context) if braze_consent else None
        attributes, rejects = build_braze_attributes(
            tables, audiences, mapping, settings.reference_time(), events, consent
        )
        people = tables[activation_config.CUSTOMER_360].height
        rejected_people = rejects["external_id"].n_unique()
        held = int(people - attributes.height)
        reject_share = rejected_people / people if people else 0.0
        attributes_metadata = {
            "people": dg.MetadataValue.int(attributes.height),
            "held_rows": dg.MetadataValue.int(held),
            "fields": dg.MetadataValue.int(attributes.width - 1),
            "preview": markdown_preview(attributes),
        }
        if mapping.subscriptions:  # opt-ins not sent: Braze holds a later unsubscribe
            kept = consent.kept_unsubscribed_by_braze
            attributes_metadata["opt_ins_kept_by_braze_unsubscribe"] = dg.MetadataValue.int(kept)
        yield dg.Output(
            attributes, output_name="braze_customer_attributes", metadata=attributes_metadata
        )
        rejects_metadata = {
            "rejects": dg.MetadataValue.int(rejects.height),
            "people_rejected": dg.MetadataValue.int(rejected_people),
            "by_reason": top_counts(rejects, "reason"),
            "by_field": top_counts(rejects, "field"),
        }
        yield dg.Output(rejects, output_name="braze_attribute_rejects", metadata=rejects_metadata)
        identifier = attributes[mapping.identifier]
        # With an alias declared, a person without the identifier is sent by the alias.
        nulls = identifier.null_count()
        if mapping.alias_columns:
            nulls = attributes.filter(identifier.is_null() & pl.col("alias_name").is_null()).height
        duplicates = identifier.drop_nulls().len() - identifier.drop_nulls().n_unique()
        yield dg.AssetCheckResult(
            check_name=IDENTIFIER_CHECK,
            asset_key="braze_customer_attributes",
            passed=nulls == 0 and duplicates == 0,
            metadata={
                "null_identifiers": dg.MetadataValue.int(nulls),
                "duplicate_identifiers": dg.MetadataValue.int(duplicates),
            },
        )
        problems = invalid_value_counts(attributes, mapping)
        yield dg.AssetCheckResult(
            check_name=VALUES_CHECK,
            asset_key="braze_customer_attributes",
            passed=not problems,
            metadata={
                "invalid_columns": dg.MetadataValue.int(len(problems)),
                "problems": dg.MetadataValue.json(problems),
            },
        )
        yield dg.AssetCheckResult(
            check_name=REJECT_SHARE_CHECK,
            asset_key="braze_customer_attributes",
            passed=reject_share <= mapping.max_reject_share,
            metadata={
                "reject_share": dg.MetadataValue.float(round(reject_share, 6)),
                "max_reject_share": dg.MetadataValue.float(mapping.max_reject_share),
                "people_rejected": dg.MetadataValue.int(rejected_people),
            },
        )

    if not mapping.attribute_audiences:
        return [audiences, braze_attributes]
    return [audiences, braze_attributes, _attribute_audiences_asset(mapping, settings)]


def audience_summary_metadata(summary: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    """An audience stage's figures: how many audiences, the summary table, and per audience its
    members and control group (series the UI charts over time)."""
    metadata: dict[str, dg.MetadataValue] = {
        "audiences": dg.MetadataValue.int(summary.height),
        "summary": markdown_preview(summary, rows=max(summary.height, 1)),
    }
    for row in summary.iter_rows(named=True):
        metadata[f"members_{row['audience']}"] = dg.MetadataValue.int(row["members"])
        metadata[f"control_group_{row['audience']}"] = dg.MetadataValue.int(row["control_group"])
    return metadata


def _attribute_audiences_asset(
    mapping: activation_config.AttributeConfig, settings: Settings
) -> dg.AssetsDefinition:
    """The second stage: audiences over braze_customer_attributes, after it; the destinations'
    diff and sync join its flags onto the attributes."""
    names = ", ".join(a.name for a in mapping.attribute_audiences)

    @dg.asset(
        name=ATTRIBUTE_AUDIENCES_ASSET,
        group_name=BRAZE_GROUP,
        ins={"attributes": dg.AssetIn(key=activation_config.BRAZE_ATTRIBUTES)},
        kinds={"polars"},
        description=f"Audiences over braze_customer_attributes ({names}): per person its "
        "identifier and one flag per audience, sent with the attributes.",
    )
    def braze_attribute_audiences(attributes: pl.DataFrame) -> dg.Output:
        flags, summary = build_attribute_audiences(attributes, mapping, settings.reference_time())
        return dg.Output(flags, metadata=audience_summary_metadata(summary))

    return braze_attribute_audiences
