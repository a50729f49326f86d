"""The Dagster face of the sync: per destination ``braze_attribute_diff``, ``braze_sync`` and
``braze_sync_log`` (group ``braze``), and ``braze_sync_job``.

``braze_sync`` recomputes the diff against the ledger at run time instead of loading
``braze_attribute_diff``: after a crash the ledger has moved on, and a stale diff would resend
what Braze already accepted. ``braze_attribute_diff`` is the preview (what a sync would send now,
and what it would cost), and ``braze_sync`` runs after it.
"""

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from amperity_braze_assets.braze import events as braze_events
from amperity_braze_assets.braze import ledger_lock, sync
from amperity_braze_assets.braze.client import BrazeConfigError, BrazeError
from amperity_braze_assets.braze.destinations import Destination, api_key_set, load_destinations
from amperity_braze_assets.braze.diff import DATA_POINTS, FIELDS, IS_NEW, OBJECT, compute_diff
from amperity_braze_assets.braze.event_ledger import SHARD_MARK
from amperity_braze_assets.braze.ledger import IDENTIFIER, Ledger, apply_merges
from amperity_braze_assets.braze.resources import BrazeResource
from amperity_braze_assets.braze.workspace_assets import WORKSPACE_ASSET
from amperity_braze_assets.hashing import stable_unit_interval
from amperity_braze_assets.metadata import markdown_preview
from amperity_braze_assets.settings import Settings

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig


BRAZE_GROUP = "braze"
ATTRIBUTES_ASSET = "braze_customer_attributes"
IDENTITY_ASSET = "identity_resolution"
EVENTS_ASSET = "braze_events"


class BrazeSyncConfig(dg.Config):
    """Run configuration of ``braze_sync``."""

    dry_run: bool | None = None  # None: dry run exactly when no key is set (or forced by env)
    override_circuit_breaker: bool = False
    retry_rejected: bool = False


DATA_POINT_BUDGET_CHECK = "data_points_within_budget"
SYNC_REJECTION_CHECK = "sync_rejection_rate_under_threshold"
# Fails as a warning on a dry run, so a run that sent nothing never shows all green.
SENT_TO_BRAZE_CHECK = "sent_to_braze"
# Fails as a warning when Braze refused any row: the sync completed, with errors.
NO_REJECTED_ROWS_CHECK = "no_rejected_rows"
DRY_RUN_TAG = "dry_run"


def default_dry_run(destination: Destination, settings: Settings) -> bool:
    """AMPERITY_BRAZE_DRY_RUN when set; otherwise a dry run exactly when the key is missing."""
    if settings.braze_dry_run_override is not None:
        return settings.braze_dry_run_override
    return not api_key_set(destination, settings)


def build_sync_assets(
    config: "ProjectConfig | None",
    settings: Settings,
    destinations: tuple[Destination, ...] | None = None,
    late_audiences: str | None = None,
    with_events: bool = False,
) -> list:
    """Per destination: ``braze_attribute_diff``, ``braze_sync``, ``braze_sync_log``.
    ``late_audiences``: the asset of the second-stage audiences' flags, when there are any;
    ``with_events``: ``braze_sync`` also sends ``braze_events`` (purchases and events)."""
    destinations = destinations or load_destinations(settings)
    assets: list = []
    for destination in destinations:
        assets.extend(_destination_assets(destination, settings, late_audiences, with_events))
    return assets


def with_late_flags(attributes: pl.DataFrame, late: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """braze_customer_attributes with the second-stage audiences' flags joined on (their frame:
    the identifier column first, then a Boolean per audience); false for anyone it lacks."""
    for flags in late.values():
        key, names = flags.columns[0], flags.columns[1:]
        attributes = attributes.join(flags, on=key, how="left", maintain_order="left")
        attributes = attributes.with_columns(pl.col(name).fill_null(False) for name in names)
    return attributes


def _run_shard(context: dg.AssetExecutionContext) -> tuple[int, int] | None:
    """(this run's shard, the number of shards), or None when the sync runs as one."""
    if not context.has_partition_key:
        return None
    return int(context.partition_key), len(context.assets_def.partitions_def.get_partition_keys())


def _ledger(context: dg.AssetExecutionContext, destination: Destination) -> Ledger:
    # The plain storage layer: the ledger takes no Dagster type.
    store = context.resources.state_store.tables()
    sharded = _run_shard(context)
    if sharded is None:
        return Ledger(store, destination.ledger)
    return Ledger(store, shard_ledger(destination, *sharded))


def shard_ledger(destination: Destination, shard: int, shards: int) -> str:
    """The ledger of one shard: each shard's people, and only theirs, live in it. Its event
    keys too, but the event ledger reads the whole destination's (``SHARD_MARK``), so a
    re-sharded sync resends no purchase or event."""
    return f"{destination.ledger}{SHARD_MARK}{shard}-of-{shards}"


def _hand_off_survivors(context: dg.AssetExecutionContext, destination: Destination):
    """When sharded: merge survivors that live in another shard are recorded in that shard's
    ledger (``Ledger.record_gained``), the rest stay in this one's."""
    sharded = _run_shard(context)
    if sharded is None:
        return None
    store = context.resources.state_store.tables()
    shard, shards = sharded

    def hand_off(survivors: pl.DataFrame) -> pl.DataFrame:
        owners = stable_shard(survivors[IDENTIFIER], shards)
        for owner in sorted(set(owners.tolist()) - {shard}):
            Ledger(store, shard_ledger(destination, owner, shards)).record_gained(
                survivors.filter(pl.Series(owners == owner))
            )
        return survivors.filter(pl.Series(owners == shard))

    return hand_off


def shard_partitions(settings: Settings) -> dg.StaticPartitionsDefinition | None:
    """The hash shards of the sync, or None when it runs as one."""
    if settings.sync_shards <= 1:
        return None
    return dg.StaticPartitionsDefinition([str(i) for i in range(settings.sync_shards)])


def _this_shard(
    context: dg.AssetExecutionContext, attributes: pl.DataFrame, identifier_column: str
) -> pl.DataFrame:
    """The people of this run's shard: a stable hash of the identifier, the same on every run,
    machine and polars version, so a person's ledger rows always live in one shard."""
    sharded = _run_shard(context)
    if sharded is None:
        return attributes
    shard, shards = sharded
    return attributes.filter(
        pl.Series(stable_shard(attributes[identifier_column], shards) == shard)
    )


def stable_shard(ids: pl.Series, shards: int):
    return (stable_unit_interval(ids, "sync-shard") * shards).astype("int64")


def _sync_ins(late_audiences: str | None) -> dict[str, dg.AssetIn]:
    """What the diff and the sync read: the attributes, the identity and, when there are
    second-stage audiences, their flags (``with_late_flags`` joins them on)."""
    return {
        "attributes": dg.AssetIn(key=ATTRIBUTES_ASSET),
        "identity": dg.AssetIn(key=IDENTITY_ASSET),
        **({"late": dg.AssetIn(key=late_audiences)} if late_audiences else {}),
    }


def _destination_assets(
    destination: Destination,
    settings: Settings,
    late_audiences: str | None = None,
    with_events: bool = False,
) -> list:
    partitions = shard_partitions(settings)
    diff_name = destination.asset_name("braze_attribute_diff")
    sync_name = destination.asset_name("braze_sync")
    resource_key = destination.resource_key
    attribute_subset = list(destination.attributes) if destination.attributes else None
    identifier_column = destination.identifier_column
    ins = _sync_ins(late_audiences)

    @dg.asset(
        name=diff_name,
        group_name=BRAZE_GROUP,
        partitions_def=partitions,
        ins=ins,
        # The workspace preflight first: its blocking check keeps a workspace that refuses our
        # attributes, or a key without the permission, from being sent to.
        deps=[destination.asset_name(WORKSPACE_ASSET)],
        kinds={"polars", "braze"},
        required_resource_keys={"state_store"},
        description=f"What a sync to '{destination.name}' would send now: per person the changed "
        "attributes since what Braze accepted, and the data points it would cost.",
        check_specs=[
            dg.AssetCheckSpec(
                DATA_POINT_BUDGET_CHECK,
                asset=diff_name,
                blocking=True,  # a failed budget stops the sync in the same run: before sending
                description="The data points the sync would cost stay within the destination's "
                "data_point_budget (destinations.yaml).",
            )
        ],
    )
    def braze_attribute_diff(
        context: dg.AssetExecutionContext,
        attributes: pl.DataFrame,
        identity: pl.DataFrame,
        **late: pl.DataFrame,
    ):
        attributes = _this_shard(context, with_late_flags(attributes, late), identifier_column)
        view = _ledger(context, destination).view()
        merges = sync.plan_merges(identity, view.accepted, attributes[identifier_column])
        if identifier_column == "external_id":
            view = apply_merges(view, merges)
        diff = compute_diff(
            attributes,
            view,
            identifier_column=identifier_column,
            identifier_type=destination.identifier,
            attributes=attribute_subset,
            update_existing_only=destination.update_existing_only,
            alias_fallback=destination.alias_fallback,
        )
        figures = diff.figures
        columns = [
            pl.col(IDENTIFIER),
            pl.col(FIELDS).alias("fields"),
            pl.col(DATA_POINTS).alias("data_points"),
            pl.col(IS_NEW).alias("is_new"),
            pl.col(OBJECT).alias("object"),
        ]
        # Chunk by chunk, so the ledger values each chunk also renders are not all kept.
        parts = [chunk.select(columns) for chunk in diff.chunks()]
        changes = pl.concat(parts) if parts else diff.changes.select(columns)
        ratio = (
            figures.data_points / figures.full_resend_data_points
            if figures.full_resend_data_points
            else 0.0
        )
        budget = destination.data_point_budget
        yield dg.AssetCheckResult(
            check_name=DATA_POINT_BUDGET_CHECK,
            passed=budget is None or figures.data_points <= budget,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "data_points": dg.MetadataValue.int(figures.data_points),
                "budget": dg.MetadataValue.int(budget) if budget is not None else "none",
            },
        )
        yield dg.Output(
            changes,
            metadata={
                "new": dg.MetadataValue.int(figures.new),
                "changed": dg.MetadataValue.int(figures.changed),
                "cleared": dg.MetadataValue.int(figures.cleared),
                "unchanged": dg.MetadataValue.int(figures.unchanged),
                "held_rejected": dg.MetadataValue.int(figures.held_rejected),
                "data_points": dg.MetadataValue.int(figures.data_points),
                "full_resend_data_points": dg.MetadataValue.int(figures.full_resend_data_points),
                "data_points_vs_full_resend": dg.MetadataValue.float(round(ratio, 6)),
                "known_profiles": dg.MetadataValue.int(figures.known_profiles),
                "merges_planned": dg.MetadataValue.int(merges.height),
                "seconds": dg.MetadataValue.float(round(figures.seconds, 3)),
                "preview": markdown_preview(changes.drop("object")),
            },
        )

    @dg.asset(
        name=sync_name,
        group_name=BRAZE_GROUP,
        partitions_def=partitions,
        ins={**ins, **({"events": dg.AssetIn(key=EVENTS_ASSET)} if with_events else {})},
        deps=[diff_name],
        kinds={"braze"},
        required_resource_keys={"state_store", resource_key},
        description=f"Sends the changed attributes to Braze workspace '{destination.name}' "
        "through /users/track, updating the ledger per accepted batch.",
        check_specs=[
            dg.AssetCheckSpec(
                SYNC_REJECTION_CHECK,
                asset=sync_name,
                description="Braze rejected at most max_reject_share of the objects sent.",
                blocking=True,
            ),
            dg.AssetCheckSpec(
                NO_REJECTED_ROWS_CHECK,
                asset=sync_name,
                description="Braze accepted every row sent; a warning (completed with errors) "
                "when it refused some: see the sync log's rejected rows and their reasons.",
            ),
            dg.AssetCheckSpec(
                SENT_TO_BRAZE_CHECK,
                asset=sync_name,
                description="The sync sent its changes to Braze: a warning on a dry run, which "
                "only writes the request bodies it would send.",
            ),
        ],
    )
    def braze_sync(
        context: dg.AssetExecutionContext,
        config: BrazeSyncConfig,
        attributes: pl.DataFrame,
        identity: pl.DataFrame,
        **inputs: pl.DataFrame,  # "late": second-stage flags; "events": braze_events
    ) -> dg.MaterializeResult:
        resource: BrazeResource = getattr(context.resources, resource_key)
        options = destination_sync_options(context, destination, settings, config, "braze_sync")
        options.hand_off_survivors = _hand_off_survivors(context, destination)
        events = inputs.pop("events", None)
        if events is not None:
            options.event_options = event_options(destination)
            events = _this_shard(context, events, "amperity_id")
        dry_run = options.dry_run
        attributes = _this_shard(context, with_late_flags(attributes, inputs), identifier_column)
        ledger = _ledger(context, destination)
        _tag_dry_run(context, dry_run)
        options.rate_budget = destination.rate_budget(settings.sync_shards)
        report = _sync_holding_ledger(
            attributes, ledger, resource, options, identity, settings, events
        )
        share = report.rejected / report.objects_sent if report.objects_sent else 0.0
        rejection = dg.AssetCheckResult(
            check_name=SYNC_REJECTION_CHECK,
            passed=share <= destination.max_reject_share,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "rejected": dg.MetadataValue.int(report.rejected),
                "sent": dg.MetadataValue.int(report.objects_sent),
                "rejected_share": dg.MetadataValue.float(round(share, 6)),
                "max_reject_share": dg.MetadataValue.float(destination.max_reject_share),
            },
        )
        sent = dg.AssetCheckResult(
            check_name=SENT_TO_BRAZE_CHECK,
            passed=not dry_run,
            severity=dg.AssetCheckSeverity.WARN,
            description="Dry run: nothing was sent to Braze." if dry_run else None,
        )
        rejected_rows = dg.AssetCheckResult(
            check_name=NO_REJECTED_ROWS_CHECK,
            passed=report.rejected == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"Completed with errors: Braze rejected {report.rejected:,} rows."
            if report.rejected
            else None,
            metadata={"rejected": dg.MetadataValue.int(report.rejected)},
        )
        return dg.MaterializeResult(
            metadata=sync_metadata(report, console_run_page(settings, context.run.run_id)),
            check_results=[rejection, rejected_rows, sent],
        )

    return [braze_attribute_diff, braze_sync, _sync_log_asset(destination, settings, partitions)]


def _sync_log_asset(
    destination: Destination,
    settings: Settings,
    partitions: dg.StaticPartitionsDefinition | None,
) -> dg.AssetsDefinition:
    """The destination's ``braze_sync_log``, after its sync: every run's per-row log from the
    ledger, and a dry run's would-send rows."""
    sync_name = destination.asset_name("braze_sync")
    log_name = destination.asset_name("braze_sync_log")

    @dg.asset(
        name=log_name,
        group_name=BRAZE_GROUP,
        partitions_def=partitions,
        deps=[sync_name],
        kinds={"polars"},
        required_resource_keys={"state_store"},
        description=f"Per run and per person: what was sent to '{destination.name}', and whether "
        "Braze accepted it (and why not).",
    )
    def braze_sync_log(context: dg.AssetExecutionContext) -> dg.Output:
        logs = _ledger(context, destination).read_sync_logs()
        if logs is None:
            logs = pl.DataFrame(schema=sync.SYNC_LOG_SCHEMA)
        run_id = context.run.run_id
        # A dry run keeps its would-send rows beside its request bodies, not in the ledger.
        dry_log = (
            settings.data_dir
            / "braze"
            / "dry_run"
            / run_id
            / f"{destination.name}{sync.DRY_RUN_LOG_SUFFIX}"
        )
        would_send = pl.read_parquet(dry_log) if dry_log.exists() else None
        return dg.Output(logs, metadata=sync_log_metadata(logs, run_id, would_send))

    return braze_sync_log


def destination_sync_options(
    context: dg.AssetExecutionContext,
    destination: Destination,
    settings: Settings,
    config: BrazeSyncConfig,
    what: str,
) -> sync.SyncOptions:
    """The options of one run's sync to ``destination``: its settings, the run's config, and
    whether it is a dry run (refused when it is not one but the key is missing; ``what`` names
    the asset in that message)."""
    resource: BrazeResource = getattr(context.resources, destination.resource_key)
    dry_run = (
        config.dry_run if config.dry_run is not None else default_dry_run(destination, settings)
    )
    if not dry_run and not resource.has_api_key:
        raise dg.Failure(
            f"{what} for '{destination.name}' is not a dry run but {destination.api_key_env} "
            "is not set; set it, or run with dry_run: true."
        )
    return sync.SyncOptions(
        run_id=context.run.run_id,
        destination=destination.name,
        identifier_column=destination.identifier_column,
        identifier_type=destination.identifier,
        attributes=list(destination.attributes) if destination.attributes else None,
        update_existing_only=destination.update_existing_only,
        alias_fallback=destination.alias_fallback,
        objects_per_request=destination.objects_per_request,
        concurrency=destination.concurrency,
        dry_run=dry_run,
        dry_run_dir=settings.data_dir / "braze" / "dry_run" / context.run.run_id,
        max_change_share=destination.max_change_share,
        circuit_breaker_min_profiles=destination.circuit_breaker_min_profiles,
        override_circuit_breaker=config.override_circuit_breaker,
        retry_rejected=config.retry_rejected,
    )


def _sync_holding_ledger(
    attributes: pl.DataFrame,
    ledger: Ledger,
    resource: BrazeResource,
    options: sync.SyncOptions,
    identity: pl.DataFrame,
    settings: Settings,
    events: pl.DataFrame | None = None,
) -> sync.SyncReport:
    """The sync, holding the ledger's lease (one sync per ledger): a second sync of the ledger
    waits, then fails naming the run that holds it, having sent nothing."""
    lock = ledger_lock.LockSettings(settings.ledger_lease_seconds, settings.ledger_wait_seconds)
    try:
        with ledger_lock.hold_ledger(
            ledger.store.leases(), ledger.name, options.run_id, lock
        ) as hold:
            options.check_lease = hold.check
            if options.dry_run:
                return sync.run_sync(
                    attributes, ledger, None, options, identity=identity, events=events
                )
            with resource.get_client() as client:
                return sync.run_sync(
                    attributes, ledger, client, options, identity=identity, events=events
                )
    except ledger_lock.LedgerBusy as exc:
        raise dg.Failure(str(exc), metadata={"holder_run": exc.holder.holder}) from None
    except (
        sync.CircuitBreakerTripped,
        BrazeConfigError,
        BrazeError,
        ledger_lock.LedgerLost,
    ) as exc:
        raise dg.Failure(str(exc)) from None


def _tag_dry_run(context: dg.AssetExecutionContext, dry_run: bool) -> None:
    """``dry_run=true`` on the run before it syncs (a dry run that fails is tagged too); with
    several destinations in one run, one dry run is enough for the tag to say so."""
    tags = context.instance.get_run_by_id(context.run.run_id).tags
    if dry_run or DRY_RUN_TAG not in tags:
        context.instance.add_run_tags(context.run.run_id, {DRY_RUN_TAG: str(dry_run).lower()})


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def console_run_page(settings: Settings, run_id: str) -> str:
    """The run's page in the sync console (``amperity-braze console``)."""
    return f"{settings.console_url}/console/run?run_id={run_id}"


def sync_log_metadata(
    logs: pl.DataFrame, run_id: str, would_send: pl.DataFrame | None = None
) -> dict[str, dg.MetadataValue]:
    """The log's figures and preview are this run's rows: what the run that just materialized
    sent and what Braze answered, never an earlier run's; after a dry run (``would_send``, its
    log), the rows it would have sent."""
    this_run = logs.filter(pl.col("run_id") == run_id)
    outcomes = dict(this_run.group_by("outcome").len().iter_rows())
    runs = logs["run_id"].n_unique()
    if this_run.height:
        headline = (
            f"**This run sent {_plural(this_run.height, 'row')}**: "
            f"accepted {outcomes.get('accepted', 0):,}, "
            f"rejected {outcomes.get('rejected', 0):,}, unknown {outcomes.get('unknown', 0):,}."
        )
    elif would_send is not None:
        headline = (
            "**Dry run: nothing was sent in this run**, so it adds no rows to the log; it would "
            f"have sent {_plural(would_send.height, 'row')} (preview below)."
        )
    else:
        headline = "**This run sent nothing**: no changes to send (or the sync did not run)."
    headline += f" The log holds {_plural(logs.height, 'row')} from {_plural(runs, 'run')}."
    return {
        "summary": dg.MetadataValue.md(headline),
        "this_run_rows": dg.MetadataValue.int(this_run.height),
        "this_run_rejected": dg.MetadataValue.int(outcomes.get("rejected", 0)),
        "runs": dg.MetadataValue.int(runs),
        "preview": markdown_preview(this_run)
        if this_run.height
        else markdown_preview(would_send.drop("object", strict=False))
        if would_send is not None and would_send.height
        else dg.MetadataValue.md("_(no rows in this run)_"),
    }


def sync_headline(report: sync.SyncReport) -> str:
    """One markdown line that says what the run did, first in the metadata."""
    diff = report.diff
    changes = (
        f"{diff.new:,} new and {diff.changed:,} changed people; {diff.unchanged:,} unchanged, "
        "not sent"
    )
    if report.dry_run:
        return (
            f"**Dry run: nothing was sent.** Would send {_plural(report.objects_sent, 'profile')} "
            f"({report.data_points_sent:,} data points) in {_plural(report.batches, 'request')}: "
            f"{changes}. The exact request bodies are in the dry-run file."
        )
    outcome = f"accepted {report.accepted:,}, rejected {report.rejected:,}"
    if report.unknown:
        outcome += f", outcome unknown {report.unknown:,} (sent again on the next run)"
    status = "with errors" if report.rejected or report.unknown else "complete"
    sent = _plural(report.objects_sent, "profile")
    return f"**Sent {sent} to Braze, {status}**: {outcome}. {changes}."


OUTCOMES = ("accepted", "rejected", "unknown")


def _people_table(report: sync.SyncReport) -> str:
    """People by what the diff found, each split by Braze's answer; the rows add up to everyone
    in the attributes table."""
    diff = report.diff
    log = report.log
    has_kind = "new" in log.columns
    counts = (
        {
            (bool(new), outcome): n
            for new, outcome, n in log.group_by("new", "outcome").len().iter_rows()
        }
        if has_kind and log.height
        else {}
    )
    answer = "would send" if report.dry_run else " | ".join(OUTCOMES)
    lines = [
        f"| people | count | {answer} |",
        "| --- | ---: | " + ("---: |" if report.dry_run else "---: | ---: | ---: |"),
    ]
    for label, new, total in (("new", True, diff.new), ("changed", False, diff.changed)):
        split = (
            [f"{total:,}"]
            if report.dry_run
            else [f"{counts.get((new, o), 0):,}" if has_kind else "–" for o in OUTCOMES]
        )
        lines.append(f"| {label} | {total:,} | " + " | ".join(split) + " |")
    blank = " |" if report.dry_run else " | | |"
    lines.append(f"| unchanged (not sent) | {diff.unchanged:,} |{blank}")
    lines.append(f"| held back (same object refused before) | {diff.held_rejected:,} |{blank}")
    if diff.missing_identifier:
        lines.append(f"| no identifier (not sent) | {diff.missing_identifier:,} |{blank}")
    everyone = diff.people + diff.missing_identifier
    lines.append(f"| **all people** | **{everyone:,}** |{blank}")
    return "\n".join(lines)


def _details_table(report: sync.SyncReport) -> str:
    """The rest of the run's figures, as text: charted, they would only draw flat lines."""
    diff = report.diff
    if report.dry_run:
        rows = [
            ("values it would clear (send as null)", f"{diff.cleared:,}"),
            ("data points it would send", f"{report.data_points_sent:,}"),
            ("a full resend would cost", f"{diff.full_resend_data_points:,}"),
            ("requests it would make", f"{report.batches:,}"),
            ("aliases it would identify", f"{report.identified:,}"),
            ("seconds", f"{report.seconds:,.1f}"),
        ]
    else:
        rows = [
            ("values cleared (sent as null)", f"{diff.cleared:,}"),
            ("data points sent", f"{report.data_points_sent:,}"),
            ("data points accepted", f"{report.data_points_accepted:,}"),
            ("data points wasted (unknown outcomes)", f"{report.wasted_data_points:,}"),
            ("a full resend would cost", f"{diff.full_resend_data_points:,}"),
            ("requests / batches", f"{report.requests:,} / {report.batches:,}"),
            ("retries", f"{report.retries:,}"),
            ("429 answers / 5xx answers", f"{report.throttled:,} / {report.server_errors:,}"),
            ("rate budget", report.rate_budget.describe() if report.rate_budget else "–"),
            ("merges", f"{report.merges:,}"),
            (
                "aliases identified / pending",
                f"{report.identified:,} / {report.identify_pending:,}",
            ),
            ("seconds", f"{report.seconds:,.1f}"),
            ("profiles per second", f"{report.objects_per_second:,.0f}"),
        ]
    return "| figure | value |\n| --- | ---: |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def sync_metadata(
    report: sync.SyncReport, run_page: str | None = None
) -> dict[str, dg.MetadataValue]:
    """``braze_sync``'s materialization: a headline first, the people table and the details
    as text, and only a few numeric series, which the UI charts over time (sent, accepted,
    rejected, data points, seconds). A dry run's series are ``would_send*``, never ``sent`` or
    ``accepted``."""
    reasons = report.top_reasons()
    if report.dry_run:
        series = {
            "would_send": dg.MetadataValue.int(report.objects_sent),
            "would_send_data_points": dg.MetadataValue.int(report.data_points_sent),
        }
    else:
        series = {
            "sent": dg.MetadataValue.int(report.objects_sent),
            "accepted": dg.MetadataValue.int(report.accepted),
            "rejected": dg.MetadataValue.int(report.rejected),
            "unknown": dg.MetadataValue.int(report.unknown),
            "data_points": dg.MetadataValue.int(report.data_points_sent),
        }
    return {
        "summary": dg.MetadataValue.md(sync_headline(report)),
        "people": dg.MetadataValue.md(_people_table(report)),
        **(
            {"top_reject_reasons": markdown_preview(reasons)}
            if reasons.height and not report.dry_run
            else {}
        ),
        "details": dg.MetadataValue.md(_details_table(report)),
        "dry_run": dg.MetadataValue.bool(report.dry_run),
        **series,
        "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
        **({"console": dg.MetadataValue.url(run_page)} if run_page else {}),
        **(
            {"dry_run_file": dg.MetadataValue.path(report.dry_run_file)}
            if report.dry_run_file
            else {}
        ),
        **event_metadata(report),
    }


def event_options(destination: Destination) -> braze_events.EventOptions:
    """The destination's purchases and events settings (destinations.yaml)."""
    return braze_events.EventOptions(
        events=destination.events,
        purchases=destination.purchases,
        on_unknown=destination.on_unknown,
        lookback_days=destination.event_lookback_days,
        update_existing_only=destination.update_existing_only,
        identifier_type=destination.identifier,
    )


def event_metadata(report: sync.SyncReport) -> dict[str, dg.MetadataValue]:
    """Purchases and events: a table of what the run did with them, and their series."""
    figures = report.events
    if not figures.offered and not figures.unknown_skipped:
        return {}
    numbers = figures.as_dict()
    verb = "would send" if report.dry_run else "sent"
    rows = [(f"purchases {verb}", numbers["purchases_sent"])]
    rows += [(f"events {verb}", numbers["events_sent"])]
    if not report.dry_run:
        for kind in ("purchases", "events"):
            rows += [(f"{kind} {o}", numbers[f"{kind}_{o}"]) for o in ("accepted", "rejected")]
            rows += [(f"{kind} outcome unknown", numbers[f"{kind}_unknown"])]
            rows += [(f"{kind} not applied (sent again next run)", numbers[f"{kind}_unsent"])]
    rows += [
        ("unknown outcomes skipped (on_unknown: skip)", numbers["unknown_skipped"]),
        ("unknown outcomes resent (on_unknown: resend)", numbers["unknown_resent"]),
        ("in flight in another shard (left to it)", numbers["in_flight_elsewhere"]),
        ("sent by an earlier run", numbers["already_sent"]),
        ("older than event_lookback_days (not sent)", numbers["older_than_lookback"]),
        ("no profile in this sync (not sent)", numbers["no_profile"]),
        ("no profile in Braze yet (update-only: offered again)", numbers["no_profile_in_braze"]),
        (
            "changed after sending (Braze keeps the first; never resent)",
            numbers["changed_after_sending"],
        ),
    ]
    table = "| purchases and events | count |\n| --- | ---: |\n" + "\n".join(
        f"| {label} | {count:,} |" for label, count in rows
    )
    prefix = "would_send_" if report.dry_run else ""
    series = {
        f"{prefix}purchases": numbers["purchases_sent"],
        f"{prefix}events": numbers["events_sent"],
    }
    if not report.dry_run:
        series |= {
            "purchases_accepted": numbers["purchases_accepted"],
            "events_accepted": numbers["events_accepted"],
            "events_unknown_skipped": numbers["unknown_skipped"],
        }
    return {
        "purchases_and_events": dg.MetadataValue.md(table),
        **{name: dg.MetadataValue.int(value) for name, value in series.items()},
    }


def build_shard_fanout_sensor(job, settings: Settings) -> dg.SensorDefinition:
    """When sharded: each new ``braze_customer_attributes`` starts one sync run per shard, each
    in its own process (or pod, with the Kubernetes run launcher), all at once."""

    @dg.asset_sensor(
        asset_key=dg.AssetKey(ATTRIBUTES_ASSET),
        job=job,
        name="sync_shards_on_new_attributes",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Fans the Braze sync out over its hash shards after new attributes land.",
    )
    def sync_shards_on_new_attributes(context: dg.SensorEvaluationContext, asset_event):
        for shard in range(settings.sync_shards):
            yield dg.RunRequest(
                run_key=f"{asset_event.storage_id}-shard-{shard}", partition_key=str(shard)
            )

    return sync_shards_on_new_attributes
