"""Stage timings for profiling a run: set ``IDENTITY_PROFILE=1`` to print them to stderr."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

ENABLED = os.environ.get("IDENTITY_PROFILE", "") not in ("", "0")


def _rss_gb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1024**3
    except OSError:  # pragma: no cover - not Linux
        return 0.0


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time a block; a no-op unless profiling is enabled."""
    if not ENABLED:
        yield
        return
    started = time.perf_counter()
    cpu = time.process_time()
    yield
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"[identity] {name:<32} {time.perf_counter() - started:7.2f} s"
        f"  cpu {time.process_time() - cpu:7.2f} s"
        f"  rss {_rss_gb():5.2f} GB  peak {peak:5.2f} GB",
        file=sys.stderr,
        flush=True,
    )
