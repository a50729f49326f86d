"""Jobs: what Amperity calls orchestrations, as asset selections.

Each job has a schedule from ``orchestration.yaml`` (``schedules.py``) and can be launched by
hand from the UI. The check-failure hook rides on every job so a failed check alerts.
"""

import dagster as dg

CUSTOMER360_GROUPS = ("sources", "customer360")
# Jobs that ingest Currents files carry this tag; the instance's run queue lets one run at a time
# hold it (tag_concurrency_limits in dagster.yaml), so batches never append concurrently.
CURRENTS_SERIAL_TAG = {"currents/ingest": "serial"}


def build_jobs(
    hook: dg.HookDefinition | None = None,
    sync_assets: list[str] = (),
    shard_partitions: dg.PartitionsDefinition | None = None,
    destination_assets: dict[str, list[str]] | None = None,
    console_asset: str | None = None,
) -> dict:
    """``sync_assets``: every destination's diff, sync and sync log asset names;
    ``console_asset``: the sync console's database, refreshed after them by every job that syncs
    as one run (a sharded sync's shards leave it to the next such run, or to the command).

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
    sharded = (
        [
            dg.define_asset_job(
                "braze_sync_shards_job",
                selection=sync_selection,
                partitions_def=shard_partitions,
                description="One hash shard of the Braze sync: its diff, sync and sync log.",
                hooks=hooks,
            )
        ]
        if shard_partitions is not None
        else []
    )
    per_destination = _destination_jobs(
        destination_assets or {},
        shard_partitions,
        console if shard_partitions is None else None,
        hooks,
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
            tags=CURRENTS_SERIAL_TAG,
        ),
        dg.define_asset_job(
            "audience_refresh_job",
            selection=(
                upstream - dg.AssetSelection.groups(*CUSTOMER360_GROUPS, "currents")
            ).required_multi_asset_neighbors(),
            description="Audiences and attributes from the stored customer 360, then the sync: "
            "membership changes reach Braze without re-reading the sources.",
            hooks=hooks,
        ),
        dg.define_asset_job(
            "demo_job",
            selection=dg.AssetSelection.all()
            if shard_partitions is None
            else dg.AssetSelection.all() - sync_selection,
            description="Everything, end to end: what `make demo` materializes.",
            hooks=hooks,
            tags=CURRENTS_SERIAL_TAG,
        ),
        dg.define_asset_job(
            "customer360_job",
            selection=dg.AssetSelection.groups(*CUSTOMER360_GROUPS),
            description="Sources through identity resolution to the customer 360.",
            hooks=hooks,
        ),
    ]
    return {job.name: job for job in jobs}


def _destination_jobs(
    destination_assets: dict[str, list[str]],
    shard_partitions: dg.PartitionsDefinition | None,
    console: dg.AssetSelection | None,
    hooks: set | None,
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
