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


RESULTS: list[dict] = []
"""Every figure of this run, in order (:func:`record`; ``run_all.py`` writes them to results.md)."""
_SECTION = [""]


def section(title: str) -> None:
    """Name the section the following figures belong to (``run_all.py`` calls it per benchmark)."""
    _SECTION[0] = title


def record(what: str, value: float, unit: str, *, rows: int | None = None, anchor: str | None = None,
           anchor_value: float | None = None, note: str = "") -> None:
    """Keep one figure for the results table: ``value`` in ``unit``, with the anchor it is compared
    with (measured in the same run) when there is one."""
    RESULTS.append({"section": _SECTION[0], "what": what, "value": value, "unit": unit, "rows": rows,
                    "anchor": anchor, "anchor_value": anchor_value, "note": note})


def target(what: str, value: float, unit: str, goal: str, ok: bool) -> str:
    """One issue target's verdict, kept for the results table: the measured ``value`` (in ``unit``),
    the ``goal`` in words and PASS or FAIL. Returns the printed line."""
    verdict = "PASS" if ok else "FAIL"
    record(f"target: {what}", value, unit, note=f"{goal}: {verdict}")
    return f"target: {what} = {_cell(value, unit)} ({goal}): {verdict}"


def line(name: str, rows: int, seconds: float, extra: str = "", *, anchor: str | None = None,
         anchor_seconds: float | None = None) -> str:
    """One printed timing row (seconds and rows/s); kept for the results table too, with the anchor
    it is compared with when one is given."""
    record(name, seconds, "s", rows=rows, note=extra.strip(), anchor=anchor, anchor_value=anchor_seconds)
    return f"{name:<44} {seconds:8.3f} s  {rows / seconds:>13,.0f} rows/s  {extra}"


def _cell(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:,.4g} {unit}".strip()


def _rate(r: dict) -> str:
    return f"{r['rows'] / r['value']:,.0f}" if r["rows"] and r["unit"] == "s" and r["value"] > 0 else ""


def _beside(r: dict) -> str:
    if r["anchor"] is None or r["anchor_value"] is None:
        return ""
    ratio = r["value"] / r["anchor_value"] if r["anchor_value"] else float("nan")
    return f"{r['anchor']}: {_cell(r['anchor_value'], r['unit'])} ({ratio:.2f}x)"


def results_markdown(header: list[str]) -> str:
    """The figures kept by :func:`record` as Markdown: ``header`` lines, then one table per section."""
    out = list(header)
    sections: dict[str, list[dict]] = {}
    for r in RESULTS:
        sections.setdefault(r["section"], []).append(r)
    for title, rows in sections.items():
        out += ["", f"## {title}", "", "| figure | value | rows/s | beside (same run) | note |", "|---|---|---|---|---|"]
        for r in rows:
            note = r["note"].replace("|", "/")
            out.append(f"| {r['what']} | {_cell(r['value'], r['unit'])} | {_rate(r)} | {_beside(r)} | {note} |")
    return "\n".join(out) + "\n"
