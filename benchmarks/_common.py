"""Timing helpers shared by the benchmarks: medians of repeated runs, never single shots."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"


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
