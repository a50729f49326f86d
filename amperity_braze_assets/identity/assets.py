"""The Dagster face of identity resolution: ``identity_resolution``, ``match_review`` and their
checks.

The previous run's assignments are explicit state (``identity/assignments.v1`` in the state
store), read before and replaced after each run, so ids carry over from run to run whatever
storage the assets use. The model that decided (``identity/model.v1``: m, u and the prior) is
kept beside them for ``amperity-braze explain-match``.
"""

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from amperity_braze_assets.identity import ResolveStats, resolve_with_stats
from amperity_braze_assets.identity.config import IdentityConfig
from amperity_braze_assets.identity.features import MATCHED_COLUMNS, matched_columns
from amperity_braze_assets.identity.records import customer_records as stack_customer_records
from amperity_braze_assets.identity.retired_ids import update_retired_ids
from amperity_braze_assets.metadata import markdown_preview
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.sources.tags import CUSTOMER_TAGS, column_for_tag
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets.storage.state_tables import RETIRED_IDS

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig


CUSTOMER360_GROUP = "customer360"
ASSIGNMENTS_STATE = "identity/assignments.v1"
MODEL_STATE = "identity/model.v1"
JITTER_WARN_SHARE = 0.02


def with_previous_ids(resolved: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Add ``previous_amperity_id``: the id each record had last run (null when new), so that
    merges and splits can reach Braze (an absorbed id is merged into its survivor)."""
    if previous is None:
        return resolved.with_columns(previous_amperity_id=pl.lit(None, pl.String))
    earlier = previous.select(
        "source", "record_id", pl.col("amperity_id").alias("previous_amperity_id")
    )
    return resolved.join(earlier, on=["source", "record_id"], how="left", maintain_order="left")


def matched_record_columns(config: "ProjectConfig") -> list[str]:
    """The customer_records columns resolution reads (what the asset asks its I/O manager for,
    and explain-match reads): the record key, the matched fields and every fk/sk column.

    At ten million records the others (full names, second address lines, timestamps) are
    gigabytes held for nothing. Every matched field is asked for (the reader skips absent
    ones): given_name and surname exist even when sources only tag full_name, since
    normalizing splits it."""
    record_columns = ["source", "record_id", *sorted(MATCHED_COLUMNS)] + [
        column_for_tag(tag)
        for s in config.record_sources
        for tag in s.columns.values()
        if s.kind == "customers" or column_for_tag(tag) in CUSTOMER_TAGS.values()
    ]
    return matched_columns(dict.fromkeys(record_columns))


def build_identity_assets(config: "ProjectConfig", settings: Settings) -> list:
    # Customer sources, and the buyers of transaction sources that name them by contact.
    raw_inputs = {
        s.records_asset_name: dg.AssetIn(key=s.records_asset_name) for s in config.record_sources
    }
    matched_input = dg.AssetIn(metadata={"columns": matched_record_columns(config)})

    @dg.asset(
        name="customer_records",
        group_name=CUSTOMER360_GROUP,
        ins=raw_inputs,
        kinds={"polars"},
        description="Every customer source record stacked, each tag normalized once (names, "
        "emails, E.164 phones, addresses, dates, keys) and updated_at in UTC: what identity "
        "resolution matches on and the customer 360 picks values from.",
    )
    def customer_records(**raw) -> dg.Output:
        records = stack_customer_records(
            list(raw.values()),
            settings.default_phone_region,
            {s.name: s.phone_region for s in config.record_sources if s.phone_region},
        )
        return dg.Output(
            records,
            metadata={
                "records": dg.MetadataValue.int(records.height),
                "preview": markdown_preview(records),
            },
        )

    identity = config.identity or IdentityConfig()

    @dg.multi_asset(
        outs={
            "identity_resolution": dg.AssetOut(
                group_name=CUSTOMER360_GROUP,
                kinds={"polars"},
                description="Every customer source record with its stable amperity_id and the "
                "match evidence that tied it in (posterior score and probability, rule, the "
                "record it matched).",
            ),
            "match_review": dg.AssetOut(
                group_name=CUSTOMER360_GROUP,
                kinds={"polars"},
                description="The pairs a person should check after this run: the weakest links "
                "that made people and the strongest pairs that did not link (below the threshold "
                "or refused by a rule), with each field's evidence. Confirm or correct them with "
                "never_merge / always_merge in identity.yaml; `amperity-braze explain-match` "
                "shows one pair in full.",
            ),
        },
        ins={"customer_records": matched_input},
        check_specs=[
            dg.AssetCheckSpec(
                "identity_jitter_under_2_percent",
                asset="identity_resolution",
                description="Share of previously seen records whose amperity_id changed (from "
                "the second run on).",
            ),
            dg.AssetCheckSpec(
                "no_supersized_clusters",
                asset="identity_resolution",
                description="No person is built from an implausible number of records.",
            ),
        ],
    )
    def identity_resolution(
        context: dg.AssetExecutionContext, state_store: StateStore, customer_records: pl.DataFrame
    ):
        previous = state_store.read(ASSIGNMENTS_STATE)
        run = resolve_with_stats(
            customer_records,
            previous,
            default_region=settings.default_phone_region,
            match_threshold=identity.match_threshold,
            never_merge=identity.steward_pairs("never_merge"),
            always_merge=identity.steward_pairs("always_merge"),
            review_pairs=identity.review_pairs,
            normalized=True,
        )
        stats = run.stats
        state_store.write(ASSIGNMENTS_STATE, run.output)
        # explain-match reads the model back: the run's m, u and prior, not a re-estimate.
        state_store.write(
            MODEL_STATE,
            run.model.describe(
                {
                    "records": stats.records,
                    "match_threshold": stats.model.match_threshold,
                    "run": stats.ids.run,
                }
            ),
        )
        resolved = with_previous_ids(run.output, previous)
        # Currents events Braze keyed by a merged-away id count for its survivor.
        retired = update_retired_ids(state_store.read(RETIRED_IDS), resolved)
        state_store.write(RETIRED_IDS, retired)
        yield dg.Output(
            resolved,
            output_name="identity_resolution",
            metadata=resolution_metadata(stats, resolved),
        )
        yield dg.Output(
            run.review, output_name="match_review", metadata=review_metadata(run.review)
        )
        yield jitter_check(stats)
        yield supersized_check(stats)

    return [customer_records, identity_resolution]


def resolution_metadata(stats: ResolveStats, resolved: pl.DataFrame) -> dict:
    """identity_resolution's metadata: the run's figures and a preview."""
    people = max(stats.clusters.people, 1)
    return {
        "records": dg.MetadataValue.int(stats.records),
        "people": dg.MetadataValue.int(stats.clusters.people),
        "average_cluster_size": dg.MetadataValue.float(round(stats.records / people, 4)),
        "largest_cluster": dg.MetadataValue.int(stats.clusters.largest_cluster),
        "jitter": dg.MetadataValue.float(round(stats.ids.jitter, 6))
        if stats.ids.jitter is not None
        else dg.MetadataValue.text("no previous run"),
        "ids_changed": dg.MetadataValue.int(stats.ids.ids_changed),
        "ids_minted": dg.MetadataValue.int(stats.ids.ids_minted),
        "candidate_pairs": dg.MetadataValue.int(stats.links.candidate_pairs),
        "matched_pairs": dg.MetadataValue.int(stats.links.matched_pairs),
        "match_threshold": dg.MetadataValue.float(stats.model.match_threshold),
        "prior_one_in": dg.MetadataValue.int(
            round(1 / max(stats.model.random_match_probability, 1e-300))
        ),
        "links_refused_by_rule": dg.MetadataValue.int(sum(stats.rules.refused_links.values())),
        "refused_by_rule": dg.MetadataValue.json(stats.rules.refused_links),
        "clusters_checked": dg.MetadataValue.int(stats.clusters.clusters_checked),
        "clusters_split": dg.MetadataValue.int(stats.clusters.clusters_split),
        "steward_links": dg.MetadataValue.int(stats.rules.steward_links),
        "seconds": dg.MetadataValue.float(round(stats.seconds, 3)),
        "preview": markdown_preview(resolved),
    }


def review_metadata(review: pl.DataFrame) -> dict:
    """match_review's metadata: how many pairs, the weakest link kept and a preview."""
    return {
        "pairs": dg.MetadataValue.int(review.height),
        "weakest_link_probability": dg.MetadataValue.float(
            float(review.filter(pl.col("linked")).get_column("probability").min() or 1)
        ),
        "preview": markdown_preview(
            review.select(
                "kind",
                "probability",
                "reason",
                "source_a",
                "record_id_a",
                "source_b",
                "record_id_b",
                "evidence",
            )
        ),
    }


def supersized_check(stats: ResolveStats) -> dg.AssetCheckResult:
    """Fails when a cluster grew past the size cap before the guard split it."""
    return dg.AssetCheckResult(
        check_name="no_supersized_clusters",
        asset_key="identity_resolution",
        passed=stats.clusters.supersized_clusters == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "supersized_clusters": dg.MetadataValue.int(stats.clusters.supersized_clusters),
            "largest_cluster": dg.MetadataValue.int(stats.clusters.largest_cluster),
        },
    )


def jitter_check(stats: ResolveStats) -> dg.AssetCheckResult:
    """Warns when more than 2% of the records seen last run changed id. A first run has nothing
    to compare: it says so instead of passing on a jitter of 0."""
    if stats.ids.jitter is None:
        return dg.AssetCheckResult(
            check_name="identity_jitter_under_2_percent",
            asset_key="identity_resolution",
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description="No previous run: jitter is measured from the second run on.",
            metadata={"jitter": dg.MetadataValue.text("no previous run")},
        )
    return dg.AssetCheckResult(
        check_name="identity_jitter_under_2_percent",
        asset_key="identity_resolution",
        passed=stats.ids.jitter <= JITTER_WARN_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{stats.ids.ids_changed:,} of {stats.ids.previously_seen:,} records seen last run "
        f"changed amperity_id ({stats.ids.jitter:.2%}; warns above {JITTER_WARN_SHARE:.0%}).",
        metadata={
            "jitter": dg.MetadataValue.float(round(stats.ids.jitter, 6)),
            "ids_changed": dg.MetadataValue.int(stats.ids.ids_changed),
            "previously_seen": dg.MetadataValue.int(stats.ids.previously_seen),
        },
    )
