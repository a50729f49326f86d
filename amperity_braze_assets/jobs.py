"""Jobs: what Amperity calls orchestrations, as asset selections.

Each job has a schedule from ``orchestration.yaml`` (``schedules.py``) and can be launched by
hand from the UI. The check-failure hook rides on every job so a failed check alerts.
"""

import dagster as dg

CUSTOMER360_GROUPS = ("sources", "customer360")


def build_jobs(hook: dg.HookDefinition | None = None) -> dict:
    hooks = {hook} if hook else None
    jobs = [
        dg.define_asset_job(
            "demo_job",
            selection=dg.AssetSelection.all(),
            description="Everything, end to end: what `make demo` materializes.",
            hooks=hooks,
        ),
        dg.define_asset_job(
            "customer360_job",
            selection=dg.AssetSelection.groups(*CUSTOMER360_GROUPS),
            description="Sources through identity resolution to the customer 360.",
            hooks=hooks,
        ),
    ]
    return {job.name: job for job in jobs}


JOB_PURPOSES = {
    "demo_job": "every asset",
    "customer360_job": "sources to customer_360 and customer_transactions",
    "currents_ingest_job": "new Braze Currents files to the engagement tables",
}
