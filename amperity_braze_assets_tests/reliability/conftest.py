"""Hypothesis profiles: a bounded fast subset in CI, the full search by hand.

HYPOTHESIS_PROFILE=full .venv/bin/python -m pytest amperity_braze_assets_tests/reliability
"""

import os

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
