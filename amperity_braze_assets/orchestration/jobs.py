"""Jobs: what Amperity calls orchestrations, as asset selections.

Each job has a schedule from ``orchestration.yaml`` (``schedules.py``) and can be launched by
hand from the UI. The check-failure hook rides on every job so a failed check alerts.
"""

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:  # checked and built by activation; handed over by the wiring
    from amperity_braze_assets.activation.campaigns import Campaign

CUSTOMER360_GROUPS = ("sources", "customer360")
# Jobs that ingest Currents files carry this tag; the instance's run queue lets one run at a time
# hold it (tag_concurrency_limits in dagster.yaml), so batches never append concurrently.
CURRENTS_SERIAL_TAG = {"currents/ingest": "serial"}
# Jobs that sync carry one tag per ledger they write, ``braze-ledger/<ledger>: "1"``, and the
# instance's run queue lets one run at a time hold each (``ledger_concurrency_limits``): a second
# sync of a ledger stays queued instead of starting. A key per ledger, not one key with the
# ledger as its value, because a run holds one value per key and braze_sync_job writes every
# destination's ledger. (The lease in the state store still guards runs the queue does not see:
# execute_in_process, another instance, the shards of a sharded sync.)
LEDGER_TAG_NAMESPACE = "braze-ledger"
MAX_TAG_NAME = 63  # Dagster: each part of a tag key at most 63 of [A-Za-z0-9_.-]


def ledger_tag_key(ledger: str) -> str:
    """The run tag key of one ledger (``braze-ledger/brand_b``); ``/`` in a ledger name becomes
    ``.``, and a name too long for a tag key is shortened with a hash of it."""
    name = ledger.strip("/").replace("/", ".")
    if len(name) > MAX_TAG_NAME:
        digest = hashlib.sha1(ledger.encode()).hexdigest()[:8]
        name = f"{name[: MAX_TAG_NAME - 9]}-{digest}"
    return f"{LEDGER_TAG_NAMESPACE}/{name}"


def ledger_tags(ledgers: Iterable[str]) -> dict[str, str]:
    return {ledger_tag_key(ledger): "1" for ledger in ledgers}


def ledger_concurrency_limits(ledgers: Iterable[str]) -> list[dict]:
    """The ``run_queue.tag_concurrency_limits`` entries that let one run at a time sync each
    ledger (the demo's dagster.yaml writes them; a deployment adds them to its own)."""
    return [{"key": key, "limit": 1} for key in sorted(ledger_tags(ledgers))]


def default_ledgers(destination_names: Iterable[str]) -> dict[str, str]:
    """Each destination's ledger when destinations.yaml does not name one: ``default`` for the
    first destination, its own name for the others (``destinations.py``)."""
    return {name: "default" if i == 0 else name for i, name in enumerate(destination_names)}


def build_jobs(
    hook: dg.HookDefinition | None = None,
    sync_assets: list[str] = (),
    shard_partitions: dg.PartitionsDefinition | None = None,
    destination_assets: dict[str, list[str]] | None = None,
    console_asset: str | None = None,
    ledgers: Mapping[str, str] | None = None,
) -> dict:
    """``sync_assets``: every destination's diff, sync and sync log asset names;
    ``console_asset``: the sync console's database, refreshed after them by every job that syncs
    as one run (a sharded sync's shards leave it to the next such run, or to the command);
    ``ledgers``: each destination's ledger (by default as ``default_ledgers`` names them), for
    the one-run-per-ledger tags of the jobs that sync.

    With ``shard_partitions`` the sync is sharded: the two sync jobs stop at the attributes, and
    ``braze_sync_shards_job`` (one run per shard, fanned out by a sensor) sends them.
    """
    hooks = {hook} if hook else None
    sync_selection = dg.AssetSelection.assets(*sync_assets)
    console = dg.AssetSelection.assets(*([console_asset] if console_asset else []))
    upstream = sync_selection.upstream()
    if shard_partitions is not None:
        upstream = upstream - sync_selection
    else:
        upstream = upstream | console
    sharded = _shards_job(sync_selection, shard_partitions, hooks)
    ledgers = dict(ledgers or default_ledgers(destination_assets or {"braze": []}))
    # A sharded sync's shards are separate ledgers running at once: their leases guard them.
    syncing = {} if shard_partitions is not None else ledger_tags(ledgers.values())
    per_destination = _destination_jobs(
        destination_assets or {},
        shard_partitions,
        console if shard_partitions is None else None,
        hooks,
        {} if shard_partitions is not None else ledgers,
    )
    jobs = [
        *sharded,
        *per_destination,
        dg.define_asset_job(
            "braze_sync_job",
            selection=upstream.required_multi_asset_neighbors(),
            description="Sources to Braze: identity, customer 360, attributes and audiences, "
            "the diff against what Braze accepted, the sync and its log, then the sync console.",
            hooks=hooks,
            tags={**CURRENTS_SERIAL_TAG, **syncing},
        ),
        dg.define_asset_job(
            "audience_refresh_job",
            selection=(
                upstream - dg.AssetSelection.groups(*CUSTOMER360_GROUPS, "currents")
            ).required_multi_asset_neighbors(),
            description="Audiences and attributes from the stored customer 360, then the sync: "
            "membership changes reach Braze without re-reading the sources.",
            hooks=hooks,
            tags=syncing,
        ),
        dg.define_asset_job(
            "demo_job",
            selection=dg.AssetSelection.all()
            if shard_partitions is None
            else dg.AssetSelection.all() - sync_selection,
            description="Everything, end to end: what `make demo` materializes.",
            hooks=hooks,
            tags={**CURRENTS_SERIAL_TAG, **syncing},
        ),
        dg.define_asset_job(
            "customer360_job",
            selection=dg.AssetSelection.groups(*CUSTOMER360_GROUPS),
            description="Sources through identity resolution to the customer 360.",
            hooks=hooks,
        ),
    ]
    return {job.name: job for job in jobs}


def _shards_job(
    sync_selection: dg.AssetSelection,
    shard_partitions: dg.PartitionsDefinition | None,
    hooks: set | None,
) -> list:
    """With shards: the job of one hash shard, a run per shard fanned out by a sensor."""
    if shard_partitions is None:
        return []
    return [
        dg.define_asset_job(
            "braze_sync_shards_job",
            selection=sync_selection,
            partitions_def=shard_partitions,
            description="One hash shard of the Braze sync: its diff, sync and sync log.",
            hooks=hooks,
        )
    ]


def _destination_jobs(
    destination_assets: dict[str, list[str]],
    shard_partitions: dg.PartitionsDefinition | None,
    console: dg.AssetSelection | None,
    hooks: set | None,
    ledgers: Mapping[str, str],
) -> list:
    """With several destinations (attribute sets at different frequencies, or several brands),
    each can sync on its own schedule from the stored attributes; the console follows an
    unsharded sync."""
    if len(destination_assets) < 2:
        return []
    return [
        dg.define_asset_job(
            f"sync_{name}_job",
            selection=dg.AssetSelection.assets(*assets) | (console or dg.AssetSelection.assets()),
            partitions_def=shard_partitions,
            description=f"Destination '{name}' alone: its diff, sync and sync log from the "
            "stored attributes, then the sync console.",
            hooks=hooks,
            tags=ledger_tags([ledgers[name]] if name in ledgers else []),
        )
        for name, assets in destination_assets.items()
    ]


def job_purposes(destination_names: list[str]) -> dict[str, str]:
    """Every job with a schedule, and what it runs (for orchestration.yaml messages)."""
    purposes = dict(JOB_PURPOSES)
    if len(destination_names) > 1:
        purposes.update(
            {f"sync_{name}_job": f"the sync to destination '{name}'" for name in destination_names}
        )
    return purposes


JOB_PURPOSES = {
    "braze_sync_job": "sources through identity, customer 360 and attributes to Braze",
    "audience_refresh_job": "audiences and attributes to Braze from the stored customer 360",
    "demo_job": "every asset",
    "customer360_job": "sources to customer_360 and customer_transactions",
    "currents_ingest_job": "new Braze Currents files to the engagement tables",
}


CAMPAIGN_TAG = "campaign"


def build_campaign_jobs(
    campaigns: "Iterable[Campaign]",
    ledgers: Mapping[str, str],
    hook: dg.HookDefinition | None = None,
) -> dict:
    """One job per campaign, ``campaign_<name>``: its audiences and attributes from the stored
    customer 360, then its sync; described as the campaign is, tagged ``campaign: <name>`` and
    with its destination's ledger tag (one sync of a ledger at a time, with the regular ones).
    ``ledgers``: each destination's ledger (none when the sync is sharded: the shards' leases
    guard their ledgers, as for the regular sync)."""
    jobs = [
        dg.define_asset_job(
            campaign.job_name,
            selection=(
                dg.AssetSelection.assets(campaign.asset_name).upstream()
                - dg.AssetSelection.groups(*CUSTOMER360_GROUPS, "currents")
            ).required_multi_asset_neighbors(),
            description=campaign.summary(),
            hooks={hook} if hook else None,
            tags={
                CAMPAIGN_TAG: campaign.name,
                **ledger_tags(
                    [ledgers[campaign.destination]] if campaign.destination in ledgers else []
                ),
            },
        )
        for campaign in campaigns
    ]
    return {job.name: job for job in jobs}
