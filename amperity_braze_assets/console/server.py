"""The sync console served: Datasette over the console's database, read-only and root-only.

Datasette gives what the console needs without a web app of our own: tables with facets,
full-text search, sorting and filters, CSV and JSON export of any page, and canned queries
(a run's page, a person's lookup) at stable addresses that ``braze_sync``'s metadata links to.

Who sees what: the database holds names, emails, phones and the values sent, so every page is
for the root actor only (``allow`` in the metadata). The person who starts the console gets a
one-time sign-in link on their terminal (Datasette's root token); anyone else who reaches the
port is refused. The file is opened read-only (Datasette's ``mode=ro``) and no query writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm

from amperity_braze_assets.console.database import CONSOLE_DATABASE
from amperity_braze_assets.identity.normalize import normalize_email_values, normalize_phone_column

ROOT_ONLY = {"id": "root"}

RUN_QUERY = """
SELECT status, summary, destination, started, sent, accepted, rejected, unknown, would_send,
    data_points, data_points_accepted, top_reason, rejected_rows_page, rows_page, job,
    dagster_status, run_id
FROM syncs WHERE run_id = :run_id
"""

# One row per thing known about the person, in four sections: their source records, the
# evidence that joined each record, the attribute values now, and every value sent with
# Braze's answer and the run. Emails and phones are normalized as identity resolution does.
PERSON_QUERY = """
WITH wanted AS (
    SELECT DISTINCT amperity_id FROM person_keys
    WHERE key IN (trim(:lookup), console_email(:lookup), console_phone(:lookup))
)
SELECT section, person, item, value, run_id, answer, started FROM (
    SELECT 1 AS part, 'source record' AS section, r.amperity_id AS person,
        r.source || ':' || r.record_id AS item,
        {record_summary} AS value,
        NULL AS run_id, NULL AS answer, NULL AS started
    FROM source_records r JOIN wanted w ON w.amperity_id = r.amperity_id
    UNION ALL
    SELECT 2, 'match evidence', e.amperity_id, e.source || ':' || e.record_id,
        CASE WHEN e.matched_record_id IS NULL THEN 'first record of this person'
             ELSE 'matched ' || e.matched_source || ':' || e.matched_record_id
                  || ' by ' || coalesce(e.match_rule, 'score')
                  || printf(' (score %.3f, threshold %.3f)', e.match_score, e.match_threshold)
        END, NULL, NULL, NULL
    FROM match_evidence e JOIN wanted w ON w.amperity_id = e.amperity_id
    UNION ALL
    SELECT 3, 'value now', p.external_id, j.key, j.value, NULL, NULL, NULL
    FROM people p JOIN wanted w ON w.amperity_id = p.external_id, json_each(p.values_now) j
    UNION ALL
    SELECT 4, iif(s.outcome = 'dry_run', 'would send (dry run)', 'value sent'), s.identifier,
        j.key, j.value, s.run_id,
        iif(s.outcome = 'dry_run', 'not sent', s.outcome || coalesce(': ' || s.reason, '')),
        s.started
    FROM sync_rows s JOIN wanted w ON w.amperity_id = s.identifier, json_each(s.object) j
)
ORDER BY part, person, started DESC, item
""".format(
    # The record's fields as one line, those it has: "Ann · Lee · ann@x.org · +1555...".
    record_summary="rtrim("
    + " || ".join(
        f"coalesce(r.{c} || ' · ', '')"
        for c in ("given_name", "surname", "email", "phone", "address", "city", "state", "postal")
    )
    + ", ' ·')"
)


def console_metadata() -> dict[str, Any]:
    """Titles, descriptions, search, facets, canned queries and who may see them."""
    return {
        "title": "Braze sync console",
        "description": "What each sync sent to Braze and what Braze answered; who each person "
        "is and why. Start at syncs, or look a person up.",
        "allow": ROOT_ONLY,
        "databases": {
            CONSOLE_DATABASE: {
                "allow_sql": ROOT_ONLY,
                "tables": _table_metadata(),
                "queries": {
                    "run": {
                        "title": "Sync run",
                        "description": "One run's status and figures per destination; "
                        "rows_page lists what each person was sent and Braze's answer.",
                        "sql": RUN_QUERY,
                        "hide_sql": True,
                    },
                    "person": {
                        "title": "Person lookup",
                        "description": "By external_id, email or phone: the source records, "
                        "the match evidence that joined them, the attribute values now, and "
                        "every value sent with Braze's answer and run.",
                        "sql": PERSON_QUERY,
                        "hide_sql": True,
                    },
                },
            }
        },
    }


def _table_metadata() -> dict[str, Any]:
    return {
        "syncs": {
            "description": "Every sync per destination: status (healthy, warning, failed, "
            "dry run) and figures; sent = accepted + rejected + unknown.",
            "sort_desc": "started",
            "facets": ["status", "destination"],
        },
        "sync_rows": {
            "description": "Per person and run: the values sent, Braze's answer and the "
            "reason of a rejection. Search by id, reason or value.",
            "fts_table": "sync_rows_fts",
            "fts_pk": "rowid",
            "sort_desc": "started",
            "facets": ["outcome", "reason"],
        },
        "people": {"description": "The attribute values now, per person (JSON)."},
        "source_records": {"description": "Each source record of each person, as written."},
        "match_evidence": {"description": "Why each record joined its person."},
        "person_keys": {"hidden": True},
        "sync_figures": {"hidden": True},
        "loaded_logs": {"hidden": True},
        "dagster_runs": {"hidden": True},
    }


class ConsoleFunctions:
    """SQL functions the person lookup calls: the project's own email and phone normalization,
    so a lookup finds what identity resolution stored."""

    def __init__(self, default_phone_region: str):
        self.default_phone_region = default_phone_region
        self.__name__ = PLUGIN_NAME  # Datasette lists plugins by module name

    @hookimpl
    def prepare_connection(self, conn) -> None:
        region = self.default_phone_region
        conn.create_function("console_email", 1, _one(normalize_email_values), deterministic=True)
        conn.create_function(
            "console_phone",
            1,
            _one(lambda s: normalize_phone_column(s, region)),
            deterministic=True,
        )


def _one(normalize):
    def normalized(text: str | None) -> str | None:
        if text is None:
            return None
        return normalize(pl.Series("value", [str(text)], dtype=pl.String))[0]

    return normalized


PLUGIN_NAME = "amperity_braze_console"


def build_console(path: Path, default_phone_region: str = "US") -> Datasette:
    """The console's Datasette over the database at ``path`` (not started)."""
    if pm.get_plugin(PLUGIN_NAME) is not None:
        pm.unregister(name=PLUGIN_NAME)
    pm.register(ConsoleFunctions(default_phone_region), name=PLUGIN_NAME)
    return Datasette(
        [str(path)],
        metadata=console_metadata(),
        settings={
            "allow_download": False,
            "default_page_size": 50,
            "sql_time_limit_ms": 5_000,
        },
    )


def sign_in_url(console: Datasette, base_url: str) -> str:
    """The one-time link that signs its opener in as root (what ``datasette --root`` prints);
    Datasette forgets the token once it is used."""
    return f"{base_url.rstrip('/')}/-/auth-token?token={console._root_token}"


def serve(console: Datasette, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(console.app(), host=host, port=port, log_level="warning", lifespan="on")
