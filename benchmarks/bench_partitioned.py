"""``futures-vpoc features`` over 20 synthetic years (~7M one-minute bars) from a partitioned dataset,
whole process: wall time and peak resident memory (issue 19, data larger than memory).

The dataset (``futures-vpoc data synth --years 20``: 2004-2023, one Parquet per trade-date month) is
written once and cached in ``benchmarks/_work/partitioned_20y/bars`` (a marker file says it is
complete; delete the folder after changing the synthetic market). Its writing is timed too when it
happens (whole process, peak memory): it is generated a year at a time.

The figure: ``futures-vpoc features --data DIR --out DIR`` (every default group, month by month with
the carried history of :mod:`futures_vpoc.features.partitioned`, the fits made once on the first 70 %),
one run (it takes minutes) after the numba cache is filled by a small warm-up run, in a fresh process
whose peak resident memory is ``ru_maxrss`` of a parent that runs only it (as ``bench_signals``).
Target: peak <= 2 GB (the in-memory build of the same 7M bars holds a 7M x 59 float64 table alone,
3.3 GB, before its inputs). At another ``FUTURES_VPOC_BENCH_SCALE`` the span is scaled down (a few
months) and written to a temporary folder, nothing is cached.

Then ``futures-vpoc profile --data DIR`` over the same dataset, whole process, one run: month by
month (:mod:`futures_vpoc.profile.partitioned`), writing the per-session table, the per-bar
developing table (developing VPOC/VAH/VAL and the prior-session levels of all ~7M bars, appended
month by month to one Parquet file) and the volume at every level. Same budget. ``python
bench_partitioned.py profile`` runs only this section.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import WORK, line, record, scale, scaled_dates

YEARS = 20
LAST_YEAR = 2023
SEED = 7
MEMORY_BUDGET_MB = 2048
THREADS = str(min(2, os.cpu_count() or 1))
CACHE = WORK / "partitioned_20y"

_MEASURE = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t0
print(json.dumps({"seconds": wall, "max_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""
"""Run a command as the only child of a fresh Python: its wall time and peak resident memory (Linux: KB)."""


def _measure(argv: list[str]) -> dict:
    env = {**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", THREADS)}
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], check=True, env=env, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _dataset(work: Path) -> tuple[Path, dict | None]:
    """The bar dataset (written when missing) and the figures of writing it (None when cached)."""
    from bench_cli import _command

    bars = work / "bars"
    marker = work / "complete.json"
    want = {"years": YEARS, "last_year": LAST_YEAR, "seed": SEED} if scale() == 1.0 else None
    if want is not None and marker.exists() and json.loads(marker.read_text()) == want and bars.is_dir():
        return bars, None
    if want is None:
        start, end = scaled_dates("2023-01-02", "2042-12-31", least_days=60)
        span = ["--start", start, "--end", end]
    else:
        span = ["--years", str(YEARS), "--end", f"{LAST_YEAR}-12-31"]
    marker.unlink(missing_ok=True)
    made = _measure([*_command(), "data", "synth", "--out", str(bars), "--seed", str(SEED), *span])
    if want is not None:
        marker.write_text(json.dumps(want))
    return bars, made


def _rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    from futures_vpoc.data.partitioned import partitions

    return sum(pq.ParquetFile(p.path).metadata.num_rows for p in partitions(folder))


def _profile(bars: Path, out: Path, rows: int) -> dict:
    """``profile --data DIR`` with every output file, whole process, after a two-month warm-up run."""
    from bench_cli import _command

    from futures_vpoc.data.partitioned import iter_partitions, write_partitioned

    def argv(data: Path, folder: Path) -> list[str]:
        return [*_command(), "profile", "--data", str(data), "--out", str(folder / "sessions.parquet"),
                "--developing", str(folder / "developing.parquet"), "--levels", str(folder / "levels.parquet")]

    with tempfile.TemporaryDirectory(prefix="bench_partitioned_pwarm_") as tmp:
        months = iter_partitions(bars)
        write_partitioned([next(months), next(months)], Path(tmp) / "two")
        _measure(argv(Path(tmp) / "two", Path(tmp)))
    run = _measure(argv(bars, out))
    peak_mb = run["max_rss_kb"] / 1024
    print(line(f"profile month by month, whole process ({rows:,} bars)", rows, run["seconds"],
               f"peak {peak_mb:,.0f} MB; --out, --developing and --levels files; one run"))
    ok = peak_mb <= MEMORY_BUDGET_MB
    record("peak resident memory of profile (whole process)", peak_mb, "MB",
           note=f"budget {MEMORY_BUDGET_MB:,} MB: {'PASS' if ok else 'FAIL'}")
    print(f"profile: peak memory {peak_mb:,.0f} MB, budget {MEMORY_BUDGET_MB:,} MB: {'PASS' if ok else 'FAIL'}")
    return {"seconds": run["seconds"], "peak_mb": peak_mb, "pass": ok}


def _features(bars: Path, out: Path, rows: int) -> dict:
    """``features --data DIR --out DIR``, whole process, after a two-month warm-up run."""
    from bench_cli import _command

    from futures_vpoc.data.partitioned import iter_partitions, write_partitioned

    warm = out / "warm"  # two months through the same command: numba's cache filled or loaded
    with tempfile.TemporaryDirectory(prefix="bench_partitioned_warm_") as tmp:
        months = iter_partitions(bars)
        write_partitioned([next(months), next(months)], Path(tmp) / "two")
        _measure([*_command(), "features", "--data", str(Path(tmp) / "two"), "--out", str(warm)])
    run = _measure([*_command(), "features", "--data", str(bars), "--out", str(out / "features")])
    peak_mb = run["max_rss_kb"] / 1024
    print(line(f"features month by month, whole process ({rows:,} bars)", rows, run["seconds"],
               f"peak {peak_mb:,.0f} MB; {os.environ.get('NUMBA_NUM_THREADS', THREADS)} numba threads; one run"))
    ok = peak_mb <= MEMORY_BUDGET_MB
    record("peak resident memory of features (whole process)", peak_mb, "MB",
           note=f"budget {MEMORY_BUDGET_MB:,} MB: {'PASS' if ok else 'FAIL'}")
    print(f"peak memory {peak_mb:,.0f} MB, budget {MEMORY_BUDGET_MB:,} MB: {'PASS' if ok else 'FAIL'}")
    return {"seconds": run["seconds"], "peak_mb": peak_mb, "pass": ok}


def main(repeats: int = 1, sections: tuple = ("features", "profile")) -> dict:
    """Write (or reuse) the dataset, time ``features`` and ``profile`` over it once; print and return the figures.

    Returns ``{"bars", "synth", "features", "profile", "pass"}`` (a section not run is None) and,
    for the features section, its ``seconds`` and ``peak_mb`` at the top level as before.
    """
    full = scale() == 1.0
    work = CACHE if full else Path(tempfile.mkdtemp(prefix="bench_partitioned_"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="bench_partitioned_out_"))
    try:
        bars, made = _dataset(work)
        rows = _rows(bars)
        if made is not None:
            print(line("data synth --years, whole process" if full else "data synth, whole process", rows,
                       made["seconds"],
                       f"peak {made['max_rss_kb'] / 1024:,.0f} MB"))
        features = _features(bars, out, rows) if "features" in sections else None
        profiled = None
        if "profile" in sections:
            (out / "profile").mkdir()
            profiled = _profile(bars, out / "profile", rows)
        if not full:
            print("(scaled run: the budget is for 20 years, ~7M bars)")
        done = [r for r in (features, profiled) if r is not None]
        result = {"bars": rows, "synth": made, "features": features, "profile": profiled,
                  "pass": all(r["pass"] for r in done)}
        if features is not None:
            result.update(seconds=features["seconds"], peak_mb=features["peak_mb"])
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if not full:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    chosen = tuple(sys.argv[1:]) or ("features", "profile")
    if not set(chosen) <= {"features", "profile"}:
        sys.exit("usage: bench_partitioned.py [features] [profile]")
    sys.exit(0 if main(sections=chosen)["pass"] else 1)
