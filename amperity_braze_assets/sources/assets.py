"""The Dagster face of sources: one multi-asset per configured source.

Each produces ``raw_<source>`` (the rows in the common vocabulary) and ``raw_<source>_rejects``
(the rows that could not be read, with file, line, field and reason) so quarantined rows are a
table the user can open, not a log line. A transaction source also gives its line items
(``raw_<source>_lines``) and its buyers as customer records (``raw_<source>_buyers``) when it
maps those tags.

Before ``raw_<source>`` is written, its ``source_health`` check decides whether the read is good
enough to go on: too many rejects, a fall in rows against the last good run, or amounts that
cannot be added fail the check and the step, so nothing downstream runs and Braze is untouched
(the rejects table is still written, for the user to see why).
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.metadata import markdown_preview, top_counts
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.sources.config import MoneyConfig, SourceConfig
from amperity_braze_assets.sources.files import read_bytes
from amperity_braze_assets.sources.health import SourceHealth, guess_encoding, source_health
from amperity_braze_assets.sources.reader import SourceReadResult, read_source
from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager

if TYPE_CHECKING:  # the composed configuration is built above the rooms (config.py)
    from amperity_braze_assets.config import ProjectConfig


SOURCES_GROUP = "sources"
SOURCE_HEALTH_CHECK = "source_health"


def build_source_asset(
    source: SourceConfig,
    settings: Settings,
    customer_sources: frozenset[str],
    money: MoneyConfig | None = None,
) -> dg.AssetsDefinition:

    description = (
        f"{source.kind.capitalize()} source '{source.name}' read from {', '.join(source.files)} "
        f"({source.format}); columns mapped to semantic tags by {source.config_file}."
    )
    outs = {
        source.asset_name: dg.AssetOut(description=description, kinds={"polars", source.format}),
        source.rejects_asset_name: dg.AssetOut(
            description=f"Rows of source '{source.name}' that could not be read, with "
            "file, line, field and reason.",
            kinds={"polars"},
        ),
    }
    if source.has_lines:
        outs[source.lines_asset_name] = dg.AssetOut(
            description=f"The line items of source '{source.name}' (sku, product name, "
            "quantity, price), one row per item, keyed by order id.",
            kinds={"polars"},
        )
    if source.has_buyers:
        outs[source.buyers_asset_name] = dg.AssetOut(
            description=f"The buyer of each order of source '{source.name}' as a customer "
            "record keyed by the order id: identity resolution ties the order to a person.",
            kinds={"polars"},
        )

    @dg.multi_asset(
        name=source.asset_name,
        group_name=SOURCES_GROUP,
        outs=outs,
        check_specs=[
            dg.AssetCheckSpec(
                SOURCE_HEALTH_CHECK,
                asset=source.asset_name,
                blocking=True,
                description="The read is good enough to go on to Braze: rejects under "
                "max_reject_share, rows not fallen by more than max_row_drop against the last "
                "good run, amounts in one currency (or convertible).",
            )
        ],
    )
    def read_configured_source(context: dg.AssetExecutionContext, s3: S3Resource):
        needs_s3 = any(pattern.startswith("s3://") for pattern in source.files)
        s3_client = s3.get_client() if needs_s3 else None
        result = read_source(
            source,
            settings.data_dir,
            s3_client=s3_client,
            customer_sources=customer_sources,
            money=money,
        )
        records, rejects = result.records, result.rejects
        health = source_health(
            source,
            records.height,
            rejects,
            result.rows_read,
            _last_good_rows(context, source),
            result.stops,
            encoding_of=lambda file: guess_encoding(
                read_bytes(file, s3_client), source.csv.encoding
            ),
        )
        if rejects.height:
            context.log.warning(
                f"{source.name}: {rejects.height} row(s) quarantined in "
                f"{source.rejects_asset_name}; first: {rejects.row(0, named=True)['reason']} "
                f"at {rejects['file'][0]}:{rejects['line'][0]}"
            )
        yield _rejects_output(source, rejects)
        check_metadata = _health_metadata(source, health)
        if not health.ok:
            yield from _stop_the_run(context, source, health, check_metadata)
        records, carried = _carry_quarantined_records(context, source, records, rejects, s3)
        yield _records_output(source, result, records, carried)
        yield dg.AssetCheckResult(
            check_name=SOURCE_HEALTH_CHECK,
            asset_key=source.asset_name,
            passed=True,
            metadata=check_metadata,
        )
        yield from _lines_and_buyers_outputs(source, result)

    def _carry_quarantined_records(
        context: dg.AssetExecutionContext,
        source: SourceConfig,
        records: pl.DataFrame,
        rejects: pl.DataFrame,
        s3: S3Resource,
    ) -> tuple[pl.DataFrame, int]:
        """A record quarantined this run keeps its last good version: a partial read must not
        clear values in Braze or drop people. Rows whose key could not be read are not carried
        (their share is bounded by max_reject_share)."""
        key = "order_id" if source.kind == "transactions" else "record_id"
        quarantined = rejects.get_column("record_key").drop_nulls().unique()
        if quarantined.is_empty() or key not in records.columns:
            return records, 0
        missing = quarantined.filter(~quarantined.is_in(records.get_column(key).implode()))
        if missing.is_empty():
            return records, 0
        try:
            previous = ParquetIOManager(base_path=settings.storage_base, s3=s3).read_asset(
                source.asset_name
            )
        except Exception:  # no earlier run (or storage elsewhere): nothing to carry
            return records, 0
        if key not in previous.columns:
            return records, 0
        kept = previous.filter(pl.col(key).cast(pl.String).is_in(missing.implode()))
        if kept.is_empty():
            return records, 0
        context.log.warning(
            f"{source.name}: {kept.height} quarantined record(s) keep their last good version "
            "until the file is fixed."
        )
        return pl.concat([records, kept], how="diagonal_relaxed"), kept.height

    return read_configured_source


def _rejects_output(source: SourceConfig, rejects: pl.DataFrame) -> dg.Output:
    return dg.Output(
        rejects,
        output_name=source.rejects_asset_name,
        metadata={
            "rejected": dg.MetadataValue.int(rejects.height),
            "top_reasons": top_counts(rejects, "reason"),
            "preview": markdown_preview(rejects),
        },
    )


def _health_metadata(source: SourceConfig, health: SourceHealth) -> dict[str, dg.MetadataValue]:
    return {
        "rows_read": dg.MetadataValue.int(health.rows_read),
        "rejected_rows": dg.MetadataValue.int(health.rejected_rows),
        "reject_share": dg.MetadataValue.float(round(health.reject_share, 6)),
        "max_reject_share": dg.MetadataValue.float(source.max_reject_share),
    }


def _stop_the_run(
    context: dg.AssetExecutionContext,
    source: SourceConfig,
    health: SourceHealth,
    check_metadata: dict[str, dg.MetadataValue],
) -> Iterator[dg.AssetCheckResult]:
    """The failed check, then the failure: nothing downstream runs and Braze is untouched."""
    message = "\n".join(health.problems)
    context.log.error(message)
    yield dg.AssetCheckResult(
        check_name=SOURCE_HEALTH_CHECK,
        asset_key=source.asset_name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=message[:2000],
        metadata=check_metadata,
    )
    raise dg.Failure(
        description=f"Source '{source.name}' stopped the run before anything reached "
        f"Braze:\n{message}",
        allow_retries=False,
    )


def _records_output(
    source: SourceConfig, result: SourceReadResult, records: pl.DataFrame, carried: int
) -> dg.Output:
    return dg.Output(
        records,
        output_name=source.asset_name,
        metadata={
            "rows": dg.MetadataValue.int(records.height),
            "rejected": dg.MetadataValue.int(result.rejects.height),
            "carried_from_last_run": dg.MetadataValue.int(carried),
            "filtered_by_where": dg.MetadataValue.int(result.filtered),
            "files": dg.MetadataValue.int(len(result.files)),
            "file_list": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in result.files[:50])),
            "preview": markdown_preview(records),
        },
    )


def _lines_and_buyers_outputs(
    source: SourceConfig, result: SourceReadResult
) -> Iterator[dg.Output]:
    if source.has_lines:
        lines = result.lines if result.lines is not None else pl.DataFrame()
        yield dg.Output(
            lines,
            output_name=source.lines_asset_name,
            metadata={"line_items": dg.MetadataValue.int(lines.height)},
        )
    if source.has_buyers:
        buyers = result.buyers if result.buyers is not None else pl.DataFrame()
        yield dg.Output(
            buyers,
            output_name=source.buyers_asset_name,
            metadata={
                "buyers": dg.MetadataValue.int(buyers.height),
                "preview": markdown_preview(buyers),
            },
        )


def _last_good_rows(context: dg.AssetExecutionContext, source: SourceConfig) -> int | None:
    """``rows`` of the source's last materialization: a failed read writes none, so it is the
    last good run's."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey(source.asset_name))
    if event is None or event.asset_materialization is None:
        return None
    rows = event.asset_materialization.metadata.get("rows")
    return int(rows.value) if rows is not None else None


def build_source_assets(config: "ProjectConfig", settings: Settings) -> list[dg.AssetsDefinition]:
    customer_sources = frozenset(s.name for s in config.customer_sources)
    return [
        build_source_asset(source, settings, customer_sources, config.money)
        for source in config.sources
    ]
