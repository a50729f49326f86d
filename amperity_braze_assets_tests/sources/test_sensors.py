"""The source sensor requests one run per change set, locally and on S3."""

import os

import dagster as dg

from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.sources.sensors import build_source_change_sensor
from amperity_braze_assets_tests.conftest import make_settings


@dg.asset
def placeholder():
    return 1


JOB = dg.define_asset_job("sync_job", selection=[placeholder])


def write_config(tmp_path, files: str):
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "sources.yaml").write_text(
        f"sources:\n  crm:\n    files: {files}\n    primary_key: ID\n    columns: {{MAIL: email}}\n"
    )
    return config_dir


def evaluate(sensor, cursor):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        result = sensor.evaluate_tick(context)
    return result


def test_local_folder_change_sets(tmp_path):
    folder = tmp_path / "data" / "sources" / "crm"
    folder.mkdir(parents=True)
    settings = make_settings(tmp_path / "data", write_config(tmp_path, "sources/crm/*.csv"))
    config = load_project_config(settings, check_files=False)
    sensor = build_source_change_sensor(config, settings, JOB)

    empty = evaluate(sensor, None)
    assert not empty.run_requests and "no source files" in empty.skip_message

    (folder / "a.csv").write_text("ID,MAIL\n1,a@x.org\n")
    first = evaluate(sensor, None)
    assert len(first.run_requests) == 1
    run_key = first.run_requests[0].run_key
    assert run_key.startswith("sources-") and first.cursor

    again = evaluate(sensor, first.cursor)
    assert not again.run_requests and "unchanged" in again.skip_message

    (folder / "a.csv").write_text("ID,MAIL\n1,a@x.org\n2,b@x.org\n")
    os.utime(folder / "a.csv", ns=(1, 2_000_000_000_000_000_000))
    changed = evaluate(sensor, first.cursor)
    assert len(changed.run_requests) == 1 and changed.run_requests[0].run_key != run_key
    # The same change set gives the same run key: Dagster never launches it twice.
    assert evaluate(sensor, first.cursor).run_requests[0].run_key == changed.run_requests[0].run_key


def test_s3_change_sets(tmp_path, s3_bucket):
    client, bucket = s3_bucket
    settings = make_settings(tmp_path / "data", write_config(tmp_path, f"s3://{bucket}/crm/*.csv"))
    config = load_project_config(settings, check_files=False)
    sensor = build_source_change_sensor(config, settings, JOB)
    client.put_object(Bucket=bucket, Key="crm/a.csv", Body=b"ID,MAIL\n1,a@x\n")
    first = evaluate(sensor, None)
    assert len(first.run_requests) == 1
    assert not evaluate(sensor, first.cursor).run_requests
    client.put_object(Bucket=bucket, Key="crm/b.csv", Body=b"ID,MAIL\n2,b@x\n")
    assert len(evaluate(sensor, first.cursor).run_requests) == 1
