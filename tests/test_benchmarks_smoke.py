"""``make bench`` (benchmarks/run_all.py) runs end to end at a hundredth of its sizes.

Only that it works is checked: exit status, every section, a rate printed by each. Timings and
budgets are the benchmarks' business, never a test's pass/fail (a budget line saying FAIL at this
scale does not fail the test).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
SECTIONS = (
    "== command line start-up (whole process) ==",
    "== synthetic market ==",
    "== loading 1M-row files ==",
    "== volume profiles (one core) ==",
    "== features (1M bars, all groups) ==",
    "== backtest engine (1M bars, stops and targets) ==",
    "== trainer (seed ambitious 512-256-128-64) vs bare PyTorch loops ==",
    "== predict of 1M bars (whole process) and replay of a trained model bar by bar ==",
    "== every stage on 1M bars: whole process beside the work in process ==",
)
RATE = re.compile(r"\d[\d,]* (rows|samples)/s")


def _work_files() -> dict[str, tuple[int, int]]:
    """Size and mtime of the files directly in benchmarks/_work (where bench_load caches full-size files)."""
    if not WORK.is_dir():
        return {}
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in WORK.iterdir() if p.is_file()}


@pytest.mark.slow
def test_run_all_at_small_scale_prints_every_section_and_a_rate_in_each(tmp_path):
    before = _work_files()
    results = tmp_path / "results.md"
    env = {**os.environ, "FUTURES_VPOC_BENCH_SCALE": "0.01"}
    # bench_train pins torch to 2 threads; on a busy 2-core machine OpenMP's spin-waiting threads then
    # crawl (about 100x slower). Sleeping waits keep the run short; the figures are not checked anyway.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    proc = subprocess.run([sys.executable, "benchmarks/run_all.py", "--repeats", "1", "--results", str(results)],
                          cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    assert "FUTURES_VPOC_BENCH_SCALE=0.01" in out.splitlines()[0], out[:500]
    lines = out.splitlines()
    starts = []
    for header in SECTIONS:
        assert header in lines, f"{header!r} missing:\n{out[-4000:]}"
        starts.append(lines.index(header))
    assert starts == sorted(starts), "sections out of order"
    for header, a, b in zip(SECTIONS, starts, [*starts[1:], len(lines)], strict=True):
        assert any(RATE.search(text) for text in lines[a + 1:b]), f"no rate line under {header!r}:\n{out[-4000:]}"
    # A scaled run writes its files elsewhere: nothing a later full-size run would reuse.
    assert _work_files() == before
    # The results table: a section per benchmark, each with at least one figure row.
    table = results.read_text()
    for header in SECTIONS:
        title = header.strip("= ")
        assert f"## {title}" in table, f"{title!r} missing from the results table"
        after = table.split(f"## {title}", 1)[1]
        assert re.search(r"^\| .+ \| [\d,.]+ s \|", after, re.M), f"no figure row under {title!r}"
