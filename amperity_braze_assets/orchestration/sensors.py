"""The Dagster face of alerting: a run-failure sensor and a check-failure hook.

Both turn what went wrong into one clear message (job, asset, reason, link to the run) through
``alerts.send_alert``: to the log always, to ``ALERT_WEBHOOK_URL`` when it is set.
"""

import dagster as dg
from dagster._core.events import DagsterEventType

from amperity_braze_assets.orchestration.alerts import make_alert, send_alert
from amperity_braze_assets.settings import Settings


def build_run_failure_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="alert_on_run_failure",
        description="Sends an alert (log, and ALERT_WEBHOOK_URL when set) for every failed run.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def alert_on_run_failure(context: dg.RunFailureSensorContext):
        run = context.dagster_run
        step_failures = context.get_step_failure_events()
        if step_failures:
            for event in step_failures:
                reason = (
                    _root_cause(event.event_specific_data.error) or event.message or "step failed"
                )
                alert = make_alert(
                    "run_failure",
                    run.job_name,
                    event.step_key,
                    reason,
                    run.run_id,
                    settings.dagster_ui_url,
                )
                send_alert(alert, settings.alert_webhook_url)
        else:
            reason = context.failure_event.message or "run failed"
            alert = make_alert(
                "run_failure", run.job_name, None, reason, run.run_id, settings.dagster_ui_url
            )
            send_alert(alert, settings.alert_webhook_url)

    return alert_on_run_failure


def _root_cause(error) -> str | None:
    """The innermost error: what the user's code raised, not Dagster's wrapper around it."""
    if error is None:
        return None
    while error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message.strip()}" if error.cls_name else error.message


def build_check_failure_hook(settings: Settings) -> dg.HookDefinition:
    @dg.success_hook(name="alert_on_check_failure")
    def alert_on_check_failure(context: dg.HookContext):
        """After a step succeeds, alert on any asset check it evaluated as failed."""
        records = context.instance.get_records_for_run(
            run_id=context.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for record in records:
            entry = record.event_log_entry
            if entry.step_key != context.step_key or entry.dagster_event is None:
                continue
            evaluation = entry.dagster_event.event_specific_data
            if evaluation.passed:
                continue
            figures = ", ".join(
                f"{name}={value.value}" for name, value in (evaluation.metadata or {}).items()
            )
            reason = f"check `{evaluation.check_name}` failed ({evaluation.severity.value})" + (
                f": {figures}" if figures else ""
            )
            alert = make_alert(
                "check_failure",
                context.job_name,
                evaluation.asset_key.to_user_string(),
                reason,
                context.run_id,
                settings.dagster_ui_url,
            )
            send_alert(alert, settings.alert_webhook_url)

    return alert_on_check_failure
