"""The Currents sensor: new files under the bucket prefix (or local folder) become ingest runs.

Braze recommends listing every key under the prefix rather than building paths, and a late
event lands in a new file under an *old* ``date=`` folder, so the sensor lists everything and
judges novelty by arrival (last-modified), never by folder. The cursor is a last-modified
watermark plus the keys seen within a look-back window below it: S3's LastModified is when an
upload started and clocks drift, so a file can show up in a listing a little after newer ones.

Each tick requests at most one run, with a stable ``run_key`` (the batch id, derived from its
keys), and none while an ingest run is still queued or running: batches append to the event
tables one at a time, and every run sees all earlier batches committed. Files already in the
ingest ledger (say, ingested by the demo's direct materialization) are skipped, and the asset
itself skips any file already in the ledger, so no file is processed twice.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dagster as dg
from dagster_aws.s3 import S3Resource

from amperity_braze_assets.currents.ingest import batch_id_for, done_keys, read_ledger
from amperity_braze_assets.currents.keys import try_parse_currents_key
from amperity_braze_assets.currents.resources import currents_source
from amperity_braze_assets.currents.source import CurrentsObject
from amperity_braze_assets.settings import Settings
from amperity_braze_assets.storage.state_store import StateStore

LOOK_BACK = timedelta(hours=1)
MAX_FILES_PER_RUN = 1_000
ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dataclass(frozen=True)
class CurrentsCursor:
    watermark: datetime | None = None
    seen: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> str:
        return json.dumps(
            {
                "watermark": self.watermark.isoformat() if self.watermark else None,
                "seen": sorted(self.seen),
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> "CurrentsCursor":
        if not text:
            return cls()
        data = json.loads(text)
        mark = data.get("watermark")
        return cls(
            watermark=datetime.fromisoformat(mark) if mark else None,
            seen=frozenset(data.get("seen", [])),
        )


def plan_currents_batch(
    objects: Sequence[CurrentsObject],
    cursor: CurrentsCursor,
    done: set[str] | frozenset[str] = frozenset(),
    max_files: int = MAX_FILES_PER_RUN,
    look_back: timedelta = LOOK_BACK,
    relanded: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[CurrentsObject], CurrentsCursor]:
    """The next batch (oldest arrivals first, at most ``max_files``) and the cursor after it.

    ``objects`` is the full listing; ``done`` the keys already ingested (the ledger);
    ``relanded`` quarantined keys whose file changed since (a half-written file now complete):
    they are read again even if the cursor has seen them.
    """
    floor = cursor.watermark - look_back if cursor.watermark else None
    fresh = sorted(
        (
            o
            for o in objects
            if (o.key not in cursor.seen or o.key in relanded)
            and (floor is None or o.last_modified >= floor)
            and try_parse_currents_key(o.key) is not None
        ),
        key=lambda o: (o.last_modified, o.key),
    )
    todo = [o for o in fresh if o.key not in done]
    batch = todo[:max_files]
    if len(todo) > max_files:  # only what is handled up to the batch's last arrival is seen
        horizon = batch[-1].last_modified
        chosen = {o.key for o in batch}
        handled = [
            o for o in fresh if o.last_modified <= horizon and (o.key in chosen or o.key in done)
        ]
    else:
        handled = fresh
    if not handled:
        return [], cursor
    watermark = max(o.last_modified for o in handled)
    if cursor.watermark and cursor.watermark > watermark:
        watermark = cursor.watermark
    handled_keys = {o.key for o in handled}
    seen = frozenset(
        o.key
        for o in objects
        if o.last_modified >= watermark - look_back
        and (o.key in handled_keys or o.key in cursor.seen)
    )
    return batch, CurrentsCursor(watermark=watermark, seen=seen)


def batch_run_config(keys: Sequence[str], batch_id: str) -> dict:
    return {"ops": {"currents_events": {"config": {"keys": list(keys), "batch_id": batch_id}}}}


def build_currents_sensor(settings: Settings, job) -> dg.SensorDefinition:
    """The sensor for ``job`` (the asset job ``define_asset_job`` returns)."""

    @dg.sensor(
        name="currents_sensor",
        job=job,
        minimum_interval_seconds=60,
        # Quiet by default: started on the UI's Automation page once Currents files are expected.
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Requests an ingest run for Braze Currents files that arrived since the "
        "last tick (one run at a time).",
    )
    def currents_sensor(
        context: dg.SensorEvaluationContext, s3: S3Resource, state_store: StateStore
    ):
        active = context.instance.get_runs(
            filters=dg.RunsFilter(job_name=job.name, statuses=ACTIVE_STATUSES), limit=1
        )
        if active:
            return dg.SkipReason(
                f"Waiting for ingest run {active[0].run_id} to finish: batches append one at a time."
            )
        source = currents_source(settings, s3)
        cursor = CurrentsCursor.from_json(context.cursor)
        ledger = read_ledger(state_store.tables())
        listing = source.list_objects()
        done = done_keys(ledger, listing)
        relanded = set(ledger["key"].to_list()) - done
        batch, next_cursor = plan_currents_batch(listing, cursor, done, relanded=relanded)
        if not batch:
            return dg.SensorResult(
                skip_reason=f"No new Currents files in {source.description}.",
                cursor=next_cursor.to_json(),
            )
        keys = [o.key for o in batch]
        batch_id = batch_id_for(keys, max(o.last_modified for o in batch))
        context.log.info(f"Currents batch {batch_id}: {len(keys)} new file(s).")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=batch_id,
                    run_config=batch_run_config(keys, batch_id),
                    tags={"currents/batch_id": batch_id, "currents/files": str(len(keys))},
                )
            ],
            cursor=next_cursor.to_json(),
        )

    return currents_sensor
