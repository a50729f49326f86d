"""The Dagster face of Braze Currents: event tables, quarantine, ``customer_engagement``.

``currents_events`` reads one batch of Currents files (the keys a sensor run names, or every
file not yet ingested when materialized by hand or by the demo) and appends to one table per
event family, deduplicated on ``id`` across files and runs. The tables live in the state store
as one Parquet part per batch (see ``currents/ingest.py``); ``customer_engagement`` reads them
back and is stored by the I/O manager like any other asset.
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from pydantic import Field

from amperity_braze_assets.currents.engagement import (
    ENGAGEMENT_TABLES,
    build_customer_engagement,
)
from amperity_braze_assets.currents.ingest import (
    IngestResult,
    TableFigures,
    ingest_currents_batch,
    read_currents_table,
)
from amperity_braze_assets.currents.resources import currents_source
from amperity_braze_assets.currents.sensors import build_currents_sensor
from amperity_braze_assets.currents.tables import (
    EVENT_FAMILY_TABLES,
    EVENT_TABLES,
    OTHER_EVENTS_TABLE,
    QUARANTINE_TABLE,
)
from amperity_braze_assets.metadata import markdown_preview
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets.storage.state_tables import RETIRED_IDS

CURRENTS_GROUP = "currents"
CURRENTS_JOB = "currents_ingest_job"
NO_QUARANTINE_CHECK = "no_quarantined_files"
FRESHNESS_CHECK = "currents_files_fresh"


class CurrentsBatchConfig(dg.Config):
    keys: list[str] = Field(
        default_factory=list,
        description="Currents keys to ingest (the sensor fills this). Empty: every file under "
        "the source not yet ingested.",
    )
    batch_id: str | None = Field(
        default=None, description="Name of the batch; derived from the keys when empty."
    )


def _table_description(table: str) -> str:
    if table == OTHER_EVENTS_TABLE:
        return (
            "Every Currents event type without a table of its own: common columns plus the "
            "whole record as JSON text (``record``), so nothing Braze sends is lost."
        )
    types = ", ".join(f"`{t}`" for t in EVENT_FAMILY_TABLES[table])
    return f"Braze Currents {types} events, deduplicated on `id`, appended per batch."


def _table_metadata(figures: TableFigures, result: IngestResult) -> dict:
    def seconds(value: float | None) -> dg.MetadataValue:
        return (
            dg.MetadataValue.float(round(value, 1))
            if value is not None
            else dg.MetadataValue.null()
        )

    return {
        "batch_id": dg.MetadataValue.text(result.batch_id),
        "files": dg.MetadataValue.int(figures.files),
        "events": dg.MetadataValue.int(figures.events),
        "duplicates_dropped": dg.MetadataValue.int(figures.duplicates_dropped),
        "events_added": dg.MetadataValue.int(figures.events_added),
        "late_events": dg.MetadataValue.int(figures.late_events),
        "lag_p50_seconds": seconds(figures.lag_p50_seconds),
        "lag_p95_seconds": seconds(figures.lag_p95_seconds),
        "lag_max_seconds": seconds(figures.lag_max_seconds),
        "row_count": dg.MetadataValue.int(figures.total_events),
        "preview": markdown_preview(figures.added),
    }


def build_currents_assets(settings: Settings) -> list:
    kinds = {"avro", "polars", "s3"} if settings.currents_s3_bucket else {"avro", "polars"}
    specs = [
        dg.AssetSpec(
            table, group_name=CURRENTS_GROUP, kinds=kinds, description=_table_description(table)
        )
        for table in EVENT_TABLES
    ]
    specs.append(
        dg.AssetSpec(
            QUARANTINE_TABLE,
            group_name=CURRENTS_GROUP,
            kinds={"polars"},
            description="Currents files that could not be read (truncated, garbled, not Avro), "
            "with their key and the reason; they are not retried.",
        )
    )

    @dg.multi_asset(
        name="currents_events",
        specs=specs,
        check_specs=[
            dg.AssetCheckSpec(
                NO_QUARANTINE_CHECK,
                asset=QUARANTINE_TABLE,
                description="No file of this batch was quarantined.",
            )
        ],
    )
    def currents_events(
        context: dg.AssetExecutionContext,
        config: CurrentsBatchConfig,
        s3: S3Resource,
        state_store: StateStore,
    ):
        source = currents_source(settings, s3)
        result = ingest_currents_batch(
            source, state_store.tables(), config.keys or None, batch_id=config.batch_id
        )
        context.log.info(
            f"Currents batch {result.batch_id} from {source.description}: {result.files_new} "
            f"new file(s), {result.files_already_done} already ingested."
        )
        for table, figures in result.tables.items():
            yield dg.MaterializeResult(asset_key=table, metadata=_table_metadata(figures, result))
        quarantined = result.quarantined.height
        if quarantined:
            context.log.warning(f"{quarantined} Currents file(s) quarantined in this batch.")
        yield dg.MaterializeResult(
            asset_key=QUARANTINE_TABLE,
            metadata={
                "batch_id": dg.MetadataValue.text(result.batch_id),
                "files_quarantined": dg.MetadataValue.int(quarantined),
                "row_count": dg.MetadataValue.int(result.total_quarantined),
                "preview": markdown_preview(result.quarantined.select("key", "reason")),
            },
        )
        yield dg.AssetCheckResult(
            asset_key=QUARANTINE_TABLE,
            check_name=NO_QUARANTINE_CHECK,
            passed=quarantined == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"files_quarantined": dg.MetadataValue.int(quarantined)},
        )

    @dg.asset(
        name="customer_engagement",
        group_name=CURRENTS_GROUP,
        deps=list(ENGAGEMENT_TABLES),
        kinds={"polars"},
        description="Email and purchase engagement per person (amperity_id = Braze "
        "external_id) from Currents: last open and click, 30-day opens, clicks and sends, "
        "bounced, unsubscribed, marked spam, last purchase in app. Machine opens (Apple Mail "
        "Privacy Protection) and suspected bot clicks are counted apart and left out.",
    )
    def customer_engagement(state_store: StateStore) -> dg.Output:
        as_of = settings.reference_time()
        store = state_store.tables()
        tables = {table: read_currents_table(store, table) for table in ENGAGEMENT_TABLES}
        engagement = build_customer_engagement(
            tables,
            as_of,
            count_machine_opens=settings.count_machine_opens,
            count_bot_clicks=settings.count_bot_clicks,
            retired_ids=store.read(RETIRED_IDS),
        )
        return dg.Output(
            engagement,
            metadata={
                "people": dg.MetadataValue.int(engagement.height),
                "opened_30d": dg.MetadataValue.int(_count(engagement, "email_opens_30d")),
                # Apple Mail Privacy Protection and link scanners: counted apart, left out of
                # the opens and clicks unless AMPERITY_BRAZE_COUNT_MACHINE_OPENS / _BOT_CLICKS.
                "machine_opens_30d": dg.MetadataValue.int(
                    int(engagement["email_machine_opens_30d"].sum())
                ),
                "bot_clicks_30d": dg.MetadataValue.int(
                    int(engagement["email_bot_clicks_30d"].sum())
                ),
                "bounced": dg.MetadataValue.int(int(engagement["email_bounced"].sum())),
                "unsubscribed": dg.MetadataValue.int(int(engagement["email_unsubscribed"].sum())),
                "as_of": dg.MetadataValue.text(as_of.isoformat()),
                "preview": markdown_preview(engagement),
            },
        )

    if not currents_configured(settings):
        # A brand without Currents would get a failed check, and an alert, on every run.
        return [currents_events, customer_engagement]

    @dg.asset_check(
        asset="customer_engagement",
        name=FRESHNESS_CHECK,
        description="A new Currents file arrived within CURRENTS_MAX_FILE_AGE_HOURS: Braze drops "
        "events it cannot deliver, so a silent bucket is worth a verdict.",
    )
    def currents_files_fresh(s3: S3Resource) -> dg.AssetCheckResult:
        return currents_freshness_result(currents_source(settings, s3), settings)

    return [currents_events, customer_engagement, currents_files_fresh]


def currents_configured(settings: Settings) -> bool:
    """Whether this deployment receives Braze Currents: a bucket is set, a local folder is named
    (``CURRENTS_LOCAL_DIR``), or the default local folder ``<data dir>/currents`` exists when
    the definitions load."""
    return bool(
        settings.currents_s3_bucket
        or settings.currents_local_dir_override
        or settings.currents_local_dir.is_dir()
    )


def currents_freshness_result(source, settings: Settings) -> dg.AssetCheckResult:
    """The verdict on the newest file's age against the configured maximum."""
    objects = source.list_objects()
    max_hours = settings.currents_max_file_age_hours
    if not objects:
        return dg.AssetCheckResult(
            passed=False,
            metadata={"files": 0, "source": source.description, "max_age_hours": max_hours},
            description=f"No Currents file at all in {source.description}.",
        )
    newest = max(o.last_modified for o in objects)
    age_hours = (datetime.now(UTC) - newest).total_seconds() / 3600
    return dg.AssetCheckResult(
        passed=age_hours <= max_hours,
        metadata={
            "files": dg.MetadataValue.int(len(objects)),
            "newest_file_at": dg.MetadataValue.text(newest.isoformat()),
            "newest_file_age_hours": dg.MetadataValue.float(round(age_hours, 3)),
            "max_age_hours": dg.MetadataValue.float(max_hours),
            "source": dg.MetadataValue.text(source.description),
        },
    )


def _count(frame: pl.DataFrame, column: str) -> int:
    return frame.filter(pl.col(column) > 0).height


def build_currents_definitions(settings: Settings) -> tuple[list, list, list]:
    """The Currents assets, the sensor and ``currents_ingest_job``, for ``definitions.py``.

    Resources used: ``s3`` (S3Resource), ``state_store`` (StateStore), ``io_manager``.
    """
    assets = build_currents_assets(settings)
    job = dg.define_asset_job(
        CURRENTS_JOB,
        selection=dg.AssetSelection.groups(CURRENTS_GROUP),
        description="Ingest one batch of Braze Currents files and refresh customer_engagement.",
        # Batches must not overlap; a run-queue limit on this tag also holds runs launched by hand.
        tags={"currents/ingest": "serial"},
    )
    return assets, [build_currents_sensor(settings, job)], [job]
