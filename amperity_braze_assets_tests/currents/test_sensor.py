"""The sensor requests each new file once, late files under old folders included, from a
local folder and from a local S3 server."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.currents.assets import build_currents_definitions
from amperity_braze_assets.currents.ingest import ingest_currents_batch
from amperity_braze_assets.currents.sensors import CurrentsCursor, plan_currents_batch
from amperity_braze_assets.currents.source import CurrentsObject, LocalCurrentsSource
from amperity_braze_assets.storage.state_store import StateStore
from amperity_braze_assets_tests.conftest import make_settings
from amperity_braze_assets_tests.currents.helpers import (
    HOUR,
    OPEN_V1,
    avro_bytes,
    event_key,
    record,
    write_file,
)

T0 = int(HOUR.timestamp())


def _data(event_id: str) -> bytes:
    return avro_bytes(
        OPEN_V1, [record(event_id, T0, campaign_id="c", email_address="a@x.com", ip_pool=None)]
    )


def _obj(key: str, minutes: int) -> CurrentsObject:
    return CurrentsObject(key, HOUR + timedelta(minutes=minutes), 10)


def test_plan_late_file_under_an_old_folder_same_second_arrivals_and_batch_limit():
    a, b = _obj(event_key(offset=0), 0), _obj(event_key(offset=1), 5)
    batch, cursor = plan_currents_batch([a, b, _obj("currents/_SUCCESS", 6)], CurrentsCursor())
    assert [o.key for o in batch] == [a.key, b.key]
    assert cursor.watermark == b.last_modified
    # same listing again: nothing; a file arriving in the same second as b: picked up
    assert plan_currents_batch([a, b], cursor)[0] == []
    twin = _obj(event_key(offset=2), 5)
    late = _obj(event_key(hour=HOUR - timedelta(days=3), offset=9), 30)  # old date= folder
    batch, cursor = plan_currents_batch([a, b, twin, late], cursor, max_files=1)
    assert [o.key for o in batch] == [twin.key]
    batch, cursor = plan_currents_batch([a, b, twin, late], cursor)
    assert [o.key for o in batch] == [late.key]
    assert plan_currents_batch([a, b, twin, late], cursor)[0] == []
    # keys already in the ingest ledger are not requested again, but move the cursor on
    fresh = _obj(event_key(offset=10), 40)
    batch, after = plan_currents_batch([a, b, twin, late, fresh], cursor, done={fresh.key})
    assert batch == [] and fresh.key in after.seen
    assert CurrentsCursor.from_json(after.to_json()) == after


def _evaluate(defs_sensor, instance, resources, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return defs_sensor(context)


def test_sensor_on_a_local_folder(tmp_path):
    settings = make_settings(tmp_path / "data")
    root = settings.currents_local_dir
    write_file(root, event_key(offset=0), _data("e1"))
    assets, sensors, jobs = build_currents_definitions(settings)
    sensor = sensors[0]
    resources = {"s3": S3Resource(), "state_store": StateStore(base_path=str(settings.state_dir))}
    with dg.instance_for_test() as instance:
        result = _evaluate(sensor, instance, resources)
        (request,) = result.run_requests
        keys = request.run_config["ops"]["currents_events"]["config"]["keys"]
        assert keys == [event_key(offset=0)]
        assert request.run_key == request.tags["currents/batch_id"]
        # the same tick again (cursor not stored, say after a crash): the same run_key
        again = _evaluate(sensor, instance, resources)
        assert again.run_requests[0].run_key == request.run_key

        write_file(
            root,
            event_key(hour=HOUR - timedelta(days=2), offset=7),
            _data("e2"),
            mtime=datetime.now(UTC) + timedelta(seconds=5),
        )
        second = _evaluate(sensor, instance, resources, cursor=result.cursor)
        (late_request,) = second.run_requests
        assert late_request.run_config["ops"]["currents_events"]["config"]["keys"] == [
            event_key(hour=HOUR - timedelta(days=2), offset=7)
        ]
        assert late_request.run_key != request.run_key
        third = _evaluate(sensor, instance, resources, cursor=second.cursor)
        assert not third.run_requests


def test_sensor_on_a_local_s3_server_and_the_requested_run_ingests(tmp_path, s3_bucket, aws_env):
    client, bucket = s3_bucket
    for offset in (0, 1):
        client.put_object(
            Bucket=bucket, Key="braze/" + event_key(offset=offset), Body=_data(f"e{offset}")
        )
    client.put_object(Bucket=bucket, Key="braze/_SUCCESS", Body=b"")
    settings = make_settings(
        tmp_path / "data", CURRENTS_S3_BUCKET=bucket, CURRENTS_S3_PREFIX="braze"
    )
    assets, sensors, jobs = build_currents_definitions(settings)
    s3 = S3Resource(endpoint_url=aws_env, region_name="us-east-1")
    state_store = StateStore(base_path=str(tmp_path / "state"))
    with dg.instance_for_test() as instance:
        result = _evaluate(sensors[0], instance, {"s3": s3, "state_store": state_store})
        (request,) = result.run_requests
        keys = request.run_config["ops"]["currents_events"]["config"]["keys"]
        assert keys == ["braze/" + event_key(offset=0), "braze/" + event_key(offset=1)]

    from amperity_braze_assets.currents.resources import currents_source

    ingest = ingest_currents_batch(currents_source(settings, s3), state_store, keys)
    assert ingest.tables["currents_email_opens"].events_added == 2
    assert ingest.batch_id == request.run_key


def test_sensor_waits_while_an_ingest_run_is_active(tmp_path):
    settings = make_settings(tmp_path / "data")
    write_file(settings.currents_local_dir, event_key(), _data("e1"))
    assets, sensors, jobs = build_currents_definitions(settings)
    resources = {"s3": S3Resource(), "state_store": StateStore(base_path=str(settings.state_dir))}
    defs = dg.Definitions(assets=assets, sensors=sensors, jobs=jobs, resources=resources)
    job = defs.resolve_job_def("currents_ingest_job")
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
        result = _evaluate(sensors[0], instance, resources)
        assert isinstance(result, dg.SkipReason)
        assert run.run_id in result.skip_message


def test_local_source_skips_in_progress_temporaries(tmp_path):
    write_file(tmp_path, event_key(), _data("e1"))
    (tmp_path / ".upload.tmp").write_bytes(b"partial")
    assert [o.key for o in LocalCurrentsSource(tmp_path).list_objects()] == [event_key()]


def test_sensor_rereads_a_half_written_file_once_it_is_complete(tmp_path):
    """A truncated file is quarantined; when the complete file lands under the same key the
    sensor asks for it again, and the events arrive: nothing lost."""
    settings = make_settings(tmp_path / "data")
    root = settings.currents_local_dir
    key = event_key(offset=3)
    complete = _data("half-then-whole")
    write_file(root, key, complete[: len(complete) // 2])
    assets, sensors, jobs = build_currents_definitions(settings)
    sensor = sensors[0]
    store = StateStore(base_path=str(settings.state_dir))
    resources = {"s3": S3Resource(), "state_store": store}
    source = LocalCurrentsSource(root)
    with dg.instance_for_test() as instance:
        first = _evaluate(sensor, instance, resources)
        (request,) = first.run_requests
        result = ingest_currents_batch(source, store, [key], batch_id="b1")
        assert result.quarantined.height == 1
        assert not _evaluate(sensor, instance, resources, cursor=first.cursor).run_requests

        write_file(root, key, complete, mtime=datetime.now(UTC) + timedelta(seconds=5))
        again = _evaluate(sensor, instance, resources, cursor=first.cursor)
        (retry,) = again.run_requests
        assert retry.run_config["ops"]["currents_events"]["config"]["keys"] == [key]
        second = ingest_currents_batch(source, store, [key], batch_id="b2")
        assert second.quarantined.height == 0
        assert sum(f.events_added for f in second.tables.values()) == 1
