"""``futures-vpoc backtest --signals``: 1,000 signal columns x 100,000 one-minute bars, whole process,
against vectorbt's ``Portfolio.from_signals`` on the same columns (issue 20).

Targets: the whole process (start-up, reading the bar file and the signals table, checking every
value, the numba kernel over all columns on ``NUMBA_NUM_THREADS`` <= 2 threads, the statistics of
every column, the deflated Sharpe, writing CSV, Parquet and JSON; one fresh process per run, median
of ``repeats`` runs after one warm-up run that fills numba's cache) within 1/5 of the time of
vectorbt's ``Portfolio.from_signals`` call alone (median of ``repeats`` calls after a small warm-up
call that compiles it; its import, the input arrays and its statistics are not timed), and a peak
resident memory of the process of at most 2 GB (``ru_maxrss`` of a parent that runs only it).

The table: int8 columns, each a -1/0/1 target held for a random 5 to 120 bars, written by pyarrow with
its defaults (snappy, dictionary). vectorbt gets the same columns as entries and exits of longs and
shorts, shifted one bar and filled at the next open (our rule), size one contract, prices times 50 so
its P&L is in dollars, a fixed fee of $2.15 per order and one tick of slippage as a fraction of the
mean price; cash unlimited. What vectorbt leaves out: a futures multiplier and the tick grid (emulated
by scaling the prices; slippage is proportional, not in ticks), session flattening, contract rolls
(its P&L runs across the roll gap), our stop/target path within the bar (none are set here), the
forced exit at the end of the data, and the statistics (its ``from_signals`` only simulates; ours
include per-column Sharpe, drawdowns, PSR and DSR and the files). The correlation of the two net P&L
across columns is printed as a check that both traded the same signals.

vectorbt 1.2.0 needs numpy >= 2.4.6 while the project pins numpy 2.3.5, so it lives in its own
environment: ``VECTORBT_PYTHON`` names its interpreter, else ``.venv-vectorbt/bin/python`` in the
repository root (``python3.11 -m venv .venv-vectorbt && .venv-vectorbt/bin/pip install vectorbt==1.2.0``),
else vectorbt importable here; without one the ratio is reported as not measured. The two run one
after the other, never together.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import line, scale, scaled, scaled_dates, target

N_BARS = scaled(100_000, least=2_000)
N_COLS = scaled(1_000, least=10)
RATIO_TARGET = 5.0
MEMORY_BUDGET_MB = 2048
THREADS = str(min(2, os.cpu_count() or 1))
ROOT = Path(__file__).resolve().parents[1]
SYNTH_START, SYNTH_END = scaled_dates("2023-01-02", "2023-05-31", least_days=14)

_MEASURE = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t0
print(json.dumps({"seconds": wall, "max_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""
"""Run a command as the only child of a fresh Python: its wall time and peak resident memory (Linux: KB)."""


def _make_inputs(folder: Path) -> tuple[Path, Path]:
    """The bar file and the signals table (and their arrays for vectorbt as .npy files) in ``folder``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start=SYNTH_START, end=SYNTH_END, seed=11, signal=0.0))
    if len(bars) < N_BARS:
        raise RuntimeError(f"synthetic market has {len(bars)} bars, fewer than {N_BARS}")
    bars = bars.iloc[:N_BARS]
    data = write_merged(bars, folder / "bars.parquet")
    rng = np.random.default_rng(20)
    signals = np.empty((N_BARS, N_COLS), dtype=np.int8)
    for j in range(N_COLS):
        hold = int(rng.integers(5, 121))
        signals[:, j] = np.repeat(rng.integers(-1, 2, N_BARS // hold + 1).astype(np.int8), hold)[:N_BARS]
    table = pa.table({"timestamp": pa.array(bars.index), **{f"sig_{j:04d}": signals[:, j] for j in range(N_COLS)}})
    pq.write_table(table, folder / "signals.parquet")
    np.save(folder / "signals.npy", signals)
    np.save(folder / "open.npy", bars["open"].to_numpy())
    np.save(folder / "close.npy", bars["close"].to_numpy())
    return data, folder / "signals.parquet"


def _measure(argv: list[str], env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], check=True, env=env, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ours(data: Path, signals: Path, folder: Path, repeats: int) -> tuple[float, float]:
    """Median seconds and the largest peak memory [MB] of the whole ``backtest --signals`` process."""
    from bench_cli import _command

    env = {**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", THREADS)}
    argv = [*_command(), "backtest", "--data", str(data), "--signals", str(signals), "--output_dir",
            str(folder / "out")]
    _measure(argv, env)  # warm-up: numba's cache filled or loaded
    runs = [_measure(argv, env) for _ in range(repeats)]
    return statistics.median(r["seconds"] for r in runs), max(r["max_rss_kb"] for r in runs) / 1024


def _vectorbt_python() -> str | None:
    """An interpreter that imports vectorbt (see the module docstring), or None."""
    candidates = [os.environ.get("VECTORBT_PYTHON"), str(ROOT / ".venv-vectorbt" / "bin" / "python"), sys.executable]
    for exe in candidates:
        if exe and Path(exe).exists():
            ok = subprocess.run([exe, "-c", "import vectorbt"], capture_output=True).returncode == 0
            if ok:
                return exe
    return None


def _vectorbt(folder: Path, repeats: int) -> dict | None:
    """vectorbt's figures from its own interpreter (:func:`_vectorbt_worker`), or None without vectorbt."""
    exe = _vectorbt_python()
    if exe is None:
        return None
    env = {**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", THREADS)}
    out = subprocess.run([exe, str(Path(__file__).resolve()), "--vectorbt-worker", str(folder), str(repeats)],
                         check=True, env=env, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _vectorbt_worker(folder: str, repeats: int) -> None:
    """Inside vectorbt's interpreter (numpy, pandas, vectorbt only): time ``Portfolio.from_signals``."""
    import resource
    import time
    import warnings

    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    warnings.simplefilter("ignore")
    d = Path(folder)
    target = np.load(d / "signals.npy")  # (bars, columns), decided at each close
    held = np.zeros_like(target)
    held[1:] = target[:-1]  # our rule: what is decided at t's close is held from t+1's open
    before = np.zeros_like(held)
    before[1:] = held[:-1]
    masks = {"entries": (held == 1) & (before != 1), "exits": (held != 1) & (before == 1),
             "short_entries": (held == -1) & (before != -1), "short_exits": (held != -1) & (before == -1)}
    close, price = np.load(d / "close.npy") * 50.0, np.load(d / "open.npy") * 50.0
    kw = dict(size=1.0, size_type="amount", fixed_fees=2.15, slippage=0.25 * 50.0 / float(close.mean()),
              init_cash=1e12, freq="1min")

    def inputs(k):
        """Fresh frames of the first ``k`` bars, laid out as the full ones (a slice would recompile)."""
        return dict(close=pd.Series(close[:k].copy()), price=pd.Series(price[:k].copy()),
                    **{name: pd.DataFrame(mask[:k].copy()) for name, mask in masks.items()})

    vbt.Portfolio.from_signals(**inputs(200), **kw)  # compile (or load vectorbt's numba cache)
    full = inputs(len(close))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        pf = vbt.Portfolio.from_signals(**full, **kw)
        times.append(time.perf_counter() - t0)
    np.save(d / "vectorbt_pnl.npy", pf.total_profit().to_numpy())
    print(json.dumps({"seconds": statistics.median(times), "version": vbt.__version__,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "python": sys.executable}))


def _agreement(folder: Path) -> float:
    """Correlation across columns of our net P&L and vectorbt's."""
    import numpy as np
    import pandas as pd

    ours = pd.read_parquet(folder / "out" / "signals_stats.parquet")["net_pnl_usd"].to_numpy()
    theirs = np.load(folder / "vectorbt_pnl.npy")
    return float(np.corrcoef(ours, theirs)[0, 1])


def main(repeats: int = 3) -> dict:
    """Time both and print the figures, the ratio and the memory verdict; return them."""
    repeats = max(3, repeats) if scale() == 1.0 else repeats  # the smoke test's scaled run stays short
    cells = N_BARS * N_COLS
    folder = Path(tempfile.mkdtemp(prefix="bench_signals_"))
    try:
        data, signals = _make_inputs(folder)
        seconds, peak_mb = _ours(data, signals, folder, repeats)
        print(line(f"backtest --signals, whole process ({N_COLS:,} x {N_BARS:,})", cells, seconds,
                   f"peak {peak_mb:,.0f} MB; {THREADS} numba threads"))
        mem_ok = peak_mb <= MEMORY_BUDGET_MB
        print(target("backtest --signals peak memory", peak_mb, "MB", f"at most {MEMORY_BUDGET_MB:,} MB", mem_ok))
        vbt = _vectorbt(folder, repeats)
        ratio = None
        if vbt is None:
            print("vectorbt not installed, ratio not measured (set VECTORBT_PYTHON or create .venv-vectorbt)")
        else:
            ratio = vbt["seconds"] / seconds
            print(line(f"vectorbt {vbt['version']} Portfolio.from_signals call", cells, vbt["seconds"],
                       f"peak {vbt['max_rss_mb']:,.0f} MB (its process)"))
            print(f"net P&L correlation across columns, ours vs vectorbt: {_agreement(folder):.4f} "
                  "(vectorbt: no rolls, no forced exit at the end, proportional slippage)")
            print(target("vectorbt's call / our whole process", ratio, "x",
                         f"at least {RATIO_TARGET:g}x (ours within 1/{RATIO_TARGET:g} of vectorbt's from_signals)",
                         ratio >= RATIO_TARGET))
        if scale() != 1.0:
            print("(scaled run: the targets are for the full 1,000 x 100,000)")
        return {"bars": N_BARS, "columns": N_COLS, "seconds": seconds, "peak_mb": peak_mb, "memory_pass": mem_ok,
                "vectorbt_seconds": None if vbt is None else vbt["seconds"], "ratio": ratio,
                "pass": mem_ok and (ratio is None or ratio >= RATIO_TARGET)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--vectorbt-worker"]:
        _vectorbt_worker(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(0 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)["pass"] else 1)
