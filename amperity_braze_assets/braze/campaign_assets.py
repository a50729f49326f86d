"""The Dagster face of campaigns: per campaign one asset, ``campaign_<name>_sync`` (group
``campaigns``), that sends the campaign's members and attributes to its destination.

The campaign itself (whom, what, where, when) is checked and held by ``activation/campaigns.py``;
the wiring hands it here, so the transport imports nothing of activation. The sync is the
destination's own: its ledger (held by its lease, so a campaign and the regular sync of that
ledger never run at once), its client, pacing and checks. Restricted to the members and the
attributes, the diff neither sends nor records anything else, so the ledger stays exact for the
regular sync: it sends only what changed since. When the sync is sharded, each person's
ledger is their shard's: the campaign sends each shard's members on that shard's ledger, one shard
after the other.

The campaign's own flag (``campaign_<name>``) is kept in the ledger like any attribute: the people
it holds ``true`` for who are no longer members are sent ``false``. The regular sync leaves it
alone (no column of its table). The campaign's run log is ``<run id>.campaign_<name>`` and its dry
run writes into ``dry_run/<run id>/campaign_<name>/``, beside the regular sync's of the same run.
"""

from dataclasses import replace
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from amperity_braze_assets.braze import sync
from amperity_braze_assets.braze.destinations import Destination
from amperity_braze_assets.braze.diff import identifier_key_expr
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger
from amperity_braze_assets.braze.resources import BrazeResource
from amperity_braze_assets.braze.sync_assets import (
    ATTRIBUTES_ASSET,
    BrazeSyncConfig,
    _sync_holding_ledger,
    destination_sync_options,
    shard_ledger,
    stable_shard,
    sync_metadata,
    with_late_flags,
)
from amperity_braze_assets.braze.workspace_assets import WORKSPACE_ASSET
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.storage.state_tables import TableStore

if TYPE_CHECKING:  # checked and built by activation; handed over by the wiring
    from amperity_braze_assets.activation.campaigns import Campaign

CAMPAIGN_GROUP = "campaigns"


def build_campaign_assets(
    campaigns: "tuple[Campaign, ...]",
    destinations: tuple[Destination, ...],
    settings: Settings,
    late_audiences: str | None = None,
) -> list[dg.AssetsDefinition]:
    """One asset per campaign; ``late_audiences``: the second-stage flags' asset, read by the
    campaigns whose audience (or an exclusion) is second stage."""
    by_name = {destination.name: destination for destination in destinations}
    return [
        _campaign_asset(
            campaign,
            by_name[campaign.destination],
            settings,
            late_audiences if campaign.reads_attribute_audiences else None,
        )
        for campaign in campaigns
    ]


def _campaign_asset(
    campaign: "Campaign",
    destination: Destination,
    settings: Settings,
    late_audiences: str | None,
) -> dg.AssetsDefinition:
    ins = {
        "attributes": dg.AssetIn(key=ATTRIBUTES_ASSET),
        **({"late": dg.AssetIn(key=late_audiences)} if late_audiences else {}),
    }
    resource_key = destination.resource_key

    @dg.asset(
        name=campaign.asset_name,
        group_name=CAMPAIGN_GROUP,
        ins=ins,
        kinds={"braze"},
        required_resource_keys={"state_store", resource_key},
        # The workspace preflight first, as for the regular sync: its blocking check keeps a
        # workspace that refuses our attributes from being sent to.
        deps=[destination.asset_name(WORKSPACE_ASSET)],
        description=campaign.summary(),
        metadata={"campaign_file": dg.MetadataValue.path(str(campaign.file))},
    )
    def campaign_sync(
        context: dg.AssetExecutionContext,
        config: BrazeSyncConfig,
        attributes: pl.DataFrame,
        **late: pl.DataFrame,
    ) -> dg.MaterializeResult:
        resource: BrazeResource = getattr(context.resources, resource_key)
        options = destination_sync_options(
            context, destination, settings, config, campaign.asset_name
        )
        options.attributes = list(campaign.attributes)
        options.rate_budget = destination.rate_budget(1)
        # its bodies and log apart from the regular sync's in the same run
        options.dry_run_dir = options.dry_run_dir / campaign.job_name
        store = context.resources.state_store.tables()
        table = with_late_flags(attributes, late)
        sent_true = _sent_true_before(table, store, destination, campaign, settings.sync_shards)
        members = campaign.members(table, destination.identifier_columns, sent_true)
        joined = int(members[campaign.campaign_flag].sum())
        figures = {
            "campaign": dg.MetadataValue.text(campaign.name),
            "members": dg.MetadataValue.int(joined),
            "left_campaign": dg.MetadataValue.int(members.height - joined),
        }
        if settings.sync_shards <= 1:
            ledger = Ledger(store, destination.ledger, log_part=campaign.job_name)
            # No identity: merges are the regular sync's to send, for everyone at once.
            report = _sync_holding_ledger(members, ledger, resource, options, None, settings)
            return dg.MaterializeResult(metadata={**figures, **sync_metadata(report)})
        reports = _sync_each_shard(
            members, store, destination, resource, options, settings, campaign.job_name
        )
        return dg.MaterializeResult(metadata={**figures, **shards_metadata(reports)})

    return campaign_sync


def _sent_true_before(
    table: pl.DataFrame,
    store: TableStore,
    destination: Destination,
    campaign: "Campaign",
    shards: int,
) -> pl.Series:
    """Per row of ``table``: whether the ledger (each shard's, when sharded) holds the
    campaign's flag as Braze accepted it true, by the person's ledger key."""
    names = (
        [destination.ledger]
        if shards <= 1
        else [shard_ledger(destination, shard, shards) for shard in range(shards)]
    )
    flag = campaign.campaign_flag
    held = [Ledger(store, name).view().accepted for name in names]
    keys = pl.concat(
        [a.filter(pl.col(flag) == "true").select(IDENTIFIER) for a in held if flag in a.columns]
        or [pl.DataFrame(schema={IDENTIFIER: pl.String})]
    ).to_series()
    key = identifier_key_expr(
        destination.identifier_column, destination.identifier, destination.alias_fallback
    )
    return table.select(key.is_in(keys.implode()).fill_null(False)).to_series()


def _sync_each_shard(
    members: pl.DataFrame,
    store: TableStore,
    destination: Destination,
    resource: BrazeResource,
    options: sync.SyncOptions,
    settings: Settings,
    log_part: str,
) -> list[sync.SyncReport]:
    """A sharded sync keeps each person in one shard's ledger: the campaign sends each shard's
    members on that shard's ledger, holding its lease, one shard after the other. A person's
    shard is the regular sync's: a hash of the destination's identifier column."""
    shards = settings.sync_shards
    owners = stable_shard(members[destination.identifier_column], shards)
    reports = []
    for shard in range(shards):
        ledger = Ledger(store, shard_ledger(destination, shard, shards), log_part=log_part)
        part = members.filter(pl.Series(owners == shard))
        # each shard's dry-run bodies in their own folder, not over the previous shard's
        shard_options = replace(options, dry_run_dir=options.dry_run_dir / f"shard-{shard}")
        reports.append(_sync_holding_ledger(part, ledger, resource, shard_options, None, settings))
    return reports


def shards_metadata(reports: list[sync.SyncReport]) -> dict[str, dg.MetadataValue]:
    """The campaign's figures over the shards it synced one after the other."""
    total = {
        name: sum(getattr(report, name) for report in reports)
        for name in ("objects_sent", "accepted", "rejected", "unknown", "data_points_sent")
    }
    dry_run = any(report.dry_run for report in reports)
    if dry_run:
        series = {
            "would_send": dg.MetadataValue.int(total["objects_sent"]),
            "would_send_data_points": dg.MetadataValue.int(total["data_points_sent"]),
        }
    else:
        series = {
            "sent": dg.MetadataValue.int(total["objects_sent"]),
            "accepted": dg.MetadataValue.int(total["accepted"]),
            "rejected": dg.MetadataValue.int(total["rejected"]),
            "unknown": dg.MetadataValue.int(total["unknown"]),
            "data_points": dg.MetadataValue.int(total["data_points_sent"]),
        }
    return {
        "shards": dg.MetadataValue.int(len(reports)),
        "dry_run": dg.MetadataValue.bool(dry_run),
        **series,
        "seconds": dg.MetadataValue.float(round(sum(r.seconds for r in reports), 3)),
    }
