"""The demo's closing lines say that its emulator is fresh every run and what the ledger kept
from being sent again (review 3, finding 3: a rerun printed "Braze holds 0 purchases" and
"braze_workspace_check new=28" without saying why)."""

from amperity_braze_assets.devtools.demo import emulator_summary
from amperity_braze_assets.devtools.emulator import Counters

# the review's second demo run: everything unchanged, a fresh emulator
RERUN = {
    "braze_attribute_diff": {"new": 0, "changed": 0, "unchanged": 5016, "data_points": 0},
    "braze_sync": {"sent": 0, "purchases": 0, "events": 0},
    "braze_workspace_check": {"new": 28},
}


def test_a_rerun_says_the_emulator_is_fresh_and_the_ledger_sent_nothing_again():
    counters = Counters(requests=1, client_errors=1, schema_requests=1)
    lines = emulator_summary(counters, RERUN, "/d/state/braze")
    assert lines == [
        "Braze emulator: requests=1, client_errors=1, schema_requests=1",
        "The emulator starts empty with every demo run: it holds only what this run sent, "
        "0 objects, 0 purchases and 0 custom events.",
        "The ledger (/d/state/braze) held what Braze accepted on an earlier run: 5,016 of 5,016 "
        "people unchanged were not sent again, and purchases and custom events already "
        "delivered are never resent.",
        "braze_workspace_check new=28: the fresh emulator's workspace has none of our "
        "attributes yet; a real workspace keeps them from run to run.",
    ]


def test_a_first_run_says_only_what_the_emulator_holds():
    counters = Counters(requests=94, objects=6874, purchases=613, events=377)
    figures = {"braze_attribute_diff": {"new": 5016, "unchanged": 0}, "braze_workspace_check": {"new": 28}}  # fmt: skip
    lines = emulator_summary(counters, figures, "/d/state/braze")
    assert len(lines) == 2
    assert lines[1].endswith("this run sent, 6,874 objects, 613 purchases and 377 custom events.")
