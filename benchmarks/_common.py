"""Timing helpers shared by the benchmarks: medians of repeated runs, never single shots.

Every benchmark's size goes through :func:`scaled` (row counts) or :func:`scaled_dates` (synthetic
date ranges), which read ``FUTURES_VPOC_BENCH_SCALE`` (a positive float, default 1.0). At 1 the sizes
are exactly the full ones; the smoke test (tests/test_benchmarks_smoke.py) runs everything at 0.01
to check that ``make bench`` works, never how fast. Rates at another scale are not comparable to
full-size figures.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import statistics
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"
SCALE_ENV = "FUTURES_VPOC_BENCH_SCALE"


def scale() -> float:
    """The size factor from ``FUTURES_VPOC_BENCH_SCALE`` (1.0 when unset or empty)."""
    raw = os.environ.get(SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{SCALE_ENV}={raw!r}: expected a positive number such as 0.01") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{SCALE_ENV}={raw!r}: expected a positive number such as 0.01")
    return value


def scaled(n: int, least: int = 1) -> int:
    """``n`` times the scale, at least ``least``; exactly ``n`` at scale 1."""
    s = scale()
    if s == 1.0:
        return n
    return max(least, int(n * s))


def scaled_dates(start: str, end: str, least_days: int = 28) -> tuple[str, str]:
    """The range from ``start`` with its length in calendar days scaled (at least ``least_days``);
    exactly ``(start, end)`` at scale 1."""
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    days = scaled((last - first).days, least_days)
    return start, (first + dt.timedelta(days=days)).isoformat()


def median_seconds(fn, repeats: int = 3) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def line(name: str, rows: int, seconds: float, extra: str = "") -> str:
    return f"{name:<44} {seconds:8.3f} s  {rows / seconds:>13,.0f} rows/s  {extra}"
