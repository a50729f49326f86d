"""The Parquet I/O manager round-trips polars frames locally and on a local S3 server."""

import dagster as dg
import polars as pl
import pytest
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager


@dg.asset
def people() -> pl.DataFrame:
    return pl.DataFrame({"id": ["a", "b", "c"], "score": [1.0, 2.5, None]})


@dg.asset
def lazy_people(people: pl.DataFrame) -> pl.LazyFrame:
    return people.lazy().filter(pl.col("score").is_not_null())


@dg.asset
def people_count(lazy_people: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame({"n": [lazy_people.height]})


@dg.asset(ins={"people": dg.AssetIn(metadata={"columns": ["score", "not_there"]})})
def score_columns(people: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame({"columns": [people.columns], "rows": [people.height]})


PARTITIONS = dg.StaticPartitionsDefinition(["0", "1"])


@dg.asset(partitions_def=PARTITIONS)
def shards(context: dg.AssetExecutionContext) -> pl.DataFrame:
    return pl.DataFrame({"shard": [context.partition_key] * 2})


@dg.asset
def all_shards(shards: pl.DataFrame) -> pl.DataFrame:
    return shards


def materialization_metadata(result, key: str) -> dict:
    events = result.asset_materializations_for_node(key)
    return {name: value.value for name, value in events[0].metadata.items()}


def test_local_round_trip_with_metadata_and_atomic_files(tmp_path):
    io_manager = ParquetIOManager(base_path=str(tmp_path))
    result = dg.materialize(
        [people, lazy_people, people_count], resources={"io_manager": io_manager}
    )
    assert result.success
    assert pl.read_parquet(tmp_path / "people_count.parquet")["n"].to_list() == [2]
    metadata = materialization_metadata(result, "lazy_people")
    assert metadata["row_count"] == 2
    assert metadata["path"] == str(tmp_path / "lazy_people.parquet")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_partitions_are_files_and_load_together(tmp_path):
    io_manager = ParquetIOManager(base_path=str(tmp_path))
    for key in PARTITIONS.get_partition_keys():
        assert dg.materialize(
            [shards], partition_key=key, resources={"io_manager": io_manager}
        ).success
    assert (tmp_path / "shards" / "1.parquet").exists()
    result = dg.materialize(
        [shards, all_shards], resources={"io_manager": io_manager}, selection=[all_shards]
    )
    assert result.success
    assert sorted(pl.read_parquet(tmp_path / "all_shards.parquet")["shard"]) == ["0", "0", "1", "1"]


@pytest.mark.parametrize("on_s3", [False, True])
def test_an_input_reads_only_the_columns_it_asks_for(tmp_path, on_s3, request):
    if on_s3:
        aws_env = request.getfixturevalue("aws_env")
        _, bucket = request.getfixturevalue("s3_bucket")
        io_manager = ParquetIOManager(
            base_path=f"s3://{bucket}/assets",
            s3=S3Resource(endpoint_url=aws_env, region_name="us-east-1"),
        )
    else:
        io_manager = ParquetIOManager(base_path=str(tmp_path))
    result = dg.materialize([people, score_columns], resources={"io_manager": io_manager})
    assert result.success
    # A column the table lacks is skipped: an optional column need not exist.
    assert result.output_for_node("score_columns").row(0) == (["score"], 3)


def test_missing_upstream_names_the_fix(tmp_path):
    io_manager = ParquetIOManager(base_path=str(tmp_path))
    with pytest.raises(Exception, match="materialize the upstream asset first"):
        dg.materialize(
            [people, lazy_people], resources={"io_manager": io_manager}, selection=[lazy_people]
        )


def test_s3_round_trip(s3_bucket, aws_env):
    client, bucket = s3_bucket
    io_manager = ParquetIOManager(
        base_path=f"s3://{bucket}/assets",
        s3=S3Resource(endpoint_url=aws_env, region_name="us-east-1"),
    )
    result = dg.materialize(
        [people, lazy_people, people_count], resources={"io_manager": io_manager}
    )
    assert result.success
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [
        "assets/lazy_people.parquet",
        "assets/people.parquet",
        "assets/people_count.parquet",
    ]
    assert (
        materialization_metadata(result, "people")["path"] == f"s3://{bucket}/assets/people.parquet"
    )


def test_refuses_objects_that_are_not_frames(tmp_path):
    @dg.asset
    def not_a_frame() -> dict:
        return {"a": 1}

    with pytest.raises(Exception, match="stores polars frames"):
        dg.materialize(
            [not_a_frame], resources={"io_manager": ParquetIOManager(base_path=str(tmp_path))}
        )
