"""The Dagster face of sources: one multi-asset per configured source.

Each produces ``raw_<source>`` (the rows in the common vocabulary) and ``raw_<source>_rejects``
(the rows that could not be read, with file, line, field and reason) so quarantined rows are a
table the user can open, not a log line.
"""

import dagster as dg
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.config import ProjectConfig, SourceConfig
from amperity_braze_assets.metadata import markdown_preview, top_counts
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.sources.reader import read_source

SOURCES_GROUP = "sources"


def build_source_asset(
    source: SourceConfig, settings: Settings, customer_sources: frozenset[str]
) -> dg.AssetsDefinition:
    description = (
        f"{source.kind.capitalize()} source '{source.name}' read from {', '.join(source.files)} "
        f"({source.format}); columns mapped to semantic tags by {source.config_file}."
    )

    @dg.multi_asset(
        name=source.asset_name,
        group_name=SOURCES_GROUP,
        outs={
            source.asset_name: dg.AssetOut(
                description=description, kinds={"polars", source.format}
            ),
            source.rejects_asset_name: dg.AssetOut(
                description=f"Rows of source '{source.name}' that could not be read, with "
                "file, line, field and reason.",
                kinds={"polars"},
            ),
        },
    )
    def read_configured_source(context: dg.AssetExecutionContext, s3: S3Resource):
        needs_s3 = any(pattern.startswith("s3://") for pattern in source.files)
        result = read_source(
            source,
            settings.data_dir,
            s3_client=s3.get_client() if needs_s3 else None,
            customer_sources=customer_sources,
        )
        records, rejects = result.records, result.rejects
        if rejects.height:
            context.log.warning(
                f"{source.name}: {rejects.height} row(s) quarantined in "
                f"{source.rejects_asset_name}; first: {rejects.row(0, named=True)['reason']} "
                f"at {rejects['file'][0]}:{rejects['line'][0]}"
            )
        yield dg.Output(
            records,
            output_name=source.asset_name,
            metadata={
                "rows": dg.MetadataValue.int(records.height),
                "rejected": dg.MetadataValue.int(rejects.height),
                "files": dg.MetadataValue.int(len(result.files)),
                "file_list": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in result.files[:50])),
                "preview": markdown_preview(records),
            },
        )
        yield dg.Output(
            rejects,
            output_name=source.rejects_asset_name,
            metadata={
                "rejected": dg.MetadataValue.int(rejects.height),
                "top_reasons": top_counts(rejects, "reason"),
                "preview": markdown_preview(rejects),
            },
        )

    return read_configured_source


def build_source_assets(config: ProjectConfig, settings: Settings) -> list[dg.AssetsDefinition]:
    customer_sources = frozenset(s.name for s in config.customer_sources)
    return [build_source_asset(source, settings, customer_sources) for source in config.sources]
