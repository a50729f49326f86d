"""Hypothesis profiles: a bounded fast subset in CI, the full search by hand.

HYPOTHESIS_PROFILE=full .venv/bin/python -m pytest amperity_braze_assets_tests/reliability
"""

import os
import sys

from hypothesis import HealthCheck, settings

# CI draws the same examples every run (a red CI must mean a regression, not a new draw);
# the full profile explores afresh each time.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "full", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# The hostile-input suites count what they tried (files read, rows quarantined, queries refused)
# in a module-level dict. The counts are printed after the run, here, by a reporting hook: a
# test that prints them would depend on running after the others and could never fail.
FIGURE_DICTS = ("FIGURES", "OUTCOMES")
SUITE_LABELS = {
    "test_bad_input_sql": "sql audiences",
    "test_bad_input_attributes": "attributes",
    "test_bad_input_config": "config examples",
    "test_bad_input_sources": "sources",
    "test_bad_input_avro": "avro",
}


def pytest_terminal_summary(terminalreporter):
    prefix = f"{__package__}.test_"
    lines = []
    for name, module in sorted(sys.modules.items()):
        if not name.startswith(prefix):
            continue
        for attribute in FIGURE_DICTS:
            figures = getattr(module, attribute, None)
            if isinstance(figures, dict) and any(figures.values()):
                suite = name.rsplit(".", 1)[-1]
                lines.append(f"{SUITE_LABELS.get(suite, suite)}: {dict(sorted(figures.items()))}")
    if lines:
        terminalreporter.write_sep("-", "reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
