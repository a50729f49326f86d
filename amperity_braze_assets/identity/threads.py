"""How many pieces of identity work run at once on threads.

Most of identity's work is numpy and polars calls that run one column on one core and release
the GIL while they do, so a second piece in flight keeps a second core busy. Two, not one per
core: every piece in flight holds its own working set, and the memory budget is set for two.
"""

from __future__ import annotations

import os

WORKERS = max(1, min(2, os.cpu_count() or 1))
