"""The demo: sample data in, every asset materialized, a short summary out.

It runs on the embedded defaults alone (local folders, a local Dagster instance), so a fresh
clone shows the whole pipeline without any account. Runs land in the same Dagster instance that
``dagster dev`` opens (``DAGSTER_HOME``, by default ``<data dir>/dagster_home``).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.devtools.emulator import Counters, start_emulator
from amperity_braze_assets.devtools.sample_currents import sample_currents_for_data_dir
from amperity_braze_assets.devtools.sample_data import generate_sample_data
from amperity_braze_assets.orchestration.jobs import ledger_concurrency_limits
from amperity_braze_assets.settings import load_settings


def run_demo(data_dir: Path | None = None, customers: int = 5_000, seed: int = 7) -> int:
    if data_dir is not None:
        os.environ["AMPERITY_BRAZE_DATA_DIR"] = str(Path(data_dir).resolve())
    emulator = None
    if not os.environ.get("BRAZE_API_KEY"):
        # No Braze account: sync to the project's strict emulator on loopback, for real.
        emulator = start_emulator(DEMO_API_KEY)
        os.environ["BRAZE_API_KEY"] = DEMO_API_KEY
        os.environ["BRAZE_REST_ENDPOINT"] = emulator.url
        print(f"Braze emulator listening on {emulator.url}")
    try:
        return _run(customers, seed, emulator)
    finally:
        if emulator is not None:
            emulator.stop()
            os.environ.pop("BRAZE_API_KEY", None)
            os.environ.pop("BRAZE_REST_ENDPOINT", None)


def _run(customers: int, seed: int, emulator) -> int:
    settings = load_settings()
    started = time.perf_counter()
    print(f"Generating sample data for {customers:,} customers in {settings.data_dir} ...")
    # Today's start (UTC) as the sample's "now": the data is deterministic for the day and the
    # recency figures (last 12 months, days since last order) are those of a live brand; the
    # last 30 days' order lines are the purchases the sync sends (event_lookback_days).
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    generate_sample_data(settings.data_dir, customers=customers, seed=seed, reference_time=today)

    from amperity_braze_assets.definitions import build_definitions

    # The demo writes Currents files below; the folder makes Currents "configured" (and its
    # freshness check defined) from this first load on.
    settings.currents_local_dir.mkdir(parents=True, exist_ok=True)
    defs = build_definitions(settings)
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    prepare_dagster_home(
        Path(os.environ["DAGSTER_HOME"]), [d.ledger for d in load_destinations(settings)]
    )
    instance = dg.DagsterInstance.get()
    print(f"Resolving identities (Dagster instance: {os.environ['DAGSTER_HOME']}) ...")
    identities = defs.resolve_job_def("customer360_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    if not identities.success:
        print_summary(identities)
        return 1
    # Braze Currents speaks of people by external_id, our amperity_id: the sample engagement
    # can only be written once identity resolution has given everyone an id.
    currents = sample_currents_for_data_dir(settings.data_dir, reference_time=today)
    print(f"Wrote sample Braze Currents files: {currents.get('files', '?')} files")
    print("Materializing every asset ...")
    result = defs.resolve_job_def("demo_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    print_summary(result)
    if emulator is not None:
        ledgers = f"{settings.state_base}/braze"
        for line in emulator_summary(emulator.counters, asset_figures(result), ledgers):
            print(line)
    print(f"Done in {time.perf_counter() - started:.1f} s. Open the UI with: make ui")
    return 0 if result.success else 1


def asset_figures(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, int]]:
    """Each materialized asset's integer figures (its metadata), by the asset's name."""
    return {
        event.event_specific_data.materialization.asset_key.to_user_string(): {
            name: value.value
            for name, value in event.event_specific_data.materialization.metadata.items()
            if isinstance(value.value, int)
        }
        for event in result.get_asset_materialization_events()
    }


def emulator_summary(
    counters: Counters, figures: dict[str, dict[str, int]], ledgers: str
) -> list[str]:
    """What the demo's emulator holds, said so that a rerun is not misread: the emulator starts
    empty with every demo run (a new process), while the ledger in the data dir remembers what
    Braze accepted before, so a rerun sends only what changed, to an emulator that then holds
    only that, and whose workspace has none of our attributes yet. ``ledgers``: where the
    ledgers are (``<state>/braze``)."""
    shown = ", ".join(f"{k}={v:,}" for k, v in counters.as_dict().items() if v)
    lines = [
        f"Braze emulator: {shown}",
        "The emulator starts empty with every demo run: it holds only what this run sent, "
        f"{counters.objects:,} objects, {counters.purchases:,} purchases and "
        f"{counters.events:,} custom events.",
    ]
    diff = figures.get("braze_attribute_diff", {})
    unchanged = diff.get("unchanged", 0)
    if unchanged:
        people = unchanged + diff.get("new", 0) + diff.get("changed", 0)
        lines.append(
            f"The ledger ({ledgers}) held what Braze accepted on an earlier run: "
            f"{unchanged:,} of {people:,} people unchanged were not sent again, and purchases "
            "and custom events already delivered are never resent."
        )
        new = figures.get("braze_workspace_check", {}).get("new", 0)
        if new:
            lines.append(
                f"braze_workspace_check new={new:,}: the fresh emulator's workspace has none of "
                "our attributes yet; a real workspace keeps them from run to run."
            )
    return lines


# The emulator's key for the demo: a stand-in, valid only against the emulator on loopback.
DEMO_API_KEY = "demo-emulator-key"

DAGSTER_YAML = """\
telemetry:
  enabled: false
run_queue:
  tag_concurrency_limits:
    # Currents batches append to their tables one run at a time.
    - key: currents/ingest
      limit: 1
    # One sync per ledger: a second run syncing a ledger waits in the queue (jobs.py tags).
"""


def dagster_yaml(ledgers: list[str]) -> str:
    """The instance config: telemetry off, and the run queue's limits (Currents, ledgers)."""
    limits = "".join(
        f"    - key: {limit['key']}\n      limit: {limit['limit']}\n"
        for limit in ledger_concurrency_limits(ledgers)
    )
    return DAGSTER_YAML + limits


def prepare_dagster_home(home: Path, ledgers: list[str] = ("default",)) -> None:
    """A local instance for the demo and ``make ui``; telemetry off, as nothing leaves here.
    An existing dagster.yaml is the user's: kept as it is, with a note when it lacks the limit
    of a ledger the destinations now write (the lease still keeps one sync per ledger)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(dagster_yaml(list(ledgers)))
        return
    text = config.read_text()
    missing = [e["key"] for e in ledger_concurrency_limits(ledgers) if e["key"] not in text]
    if missing:
        print(
            f"{config} has no run-queue limit for {', '.join(missing)}: a second sync of that "
            "ledger would start and then wait for the first. Add under "
            "run_queue.tag_concurrency_limits: "
            + "; ".join(f"- key: {key}, limit: 1" for key in missing)
        )


def print_summary(result: dg.ExecuteInProcessResult) -> None:
    rows = []
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        metadata = materialization.metadata
        figures = {
            name: value.value
            for name, value in metadata.items()
            if isinstance(value.value, int | float)
            and name
            in (
                "row_count",
                "rejected",
                "records",
                "people",
                "jitter",
                "sent",
                "accepted",
                "data_points",
                "requests",
                "new",
                "changed",
                "unchanged",
                "purchases",
                "events",
                "purchases_accepted",
                "events_accepted",
                # a dry run (AMPERITY_BRAZE_DRY_RUN) says what it would have sent
                "would_send",
                "would_send_purchases",
                "would_send_events",
            )
        }
        rows.append((materialization.asset_key.to_user_string(), figures))
    width = max((len(name) for name, _ in rows), default=10)
    print(f"\n{'asset'.ljust(width)}  figures")
    for name, figures in sorted(rows):
        shown = ", ".join(
            f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in figures.items()
        )
        print(f"{name.ljust(width)}  {shown}")
    for event in result.all_events:
        if event.is_step_failure:
            print(f"FAILED {event.step_key}: {event.event_specific_data.error.message.strip()}")
    print(f"\nrun {result.run_id}: {'success' if result.success else 'FAILED'}")
