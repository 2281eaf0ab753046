"""Backtest engine throughput on 1M one-minute bars with stops and targets active (issue 7).

Budget: at least 20M bars/s after compilation (vectorbt's numba ``Portfolio.from_signals``, which
has no futures accounting, publishes about 50M bars/s for one column). In the same run the
identical rules run as a plain Python loop (:func:`futures_vpoc.backtest.kernels.simulate_reference`,
the same source the numba kernel compiles) for the ratio. vectorbt is not installed in this
environment, so the vectorbt ratio is reported as unavailable. Timings are medians of
``repeats`` runs after a warm-up call that compiles the kernel; one core.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from _common import line, median_seconds, scaled  # noqa: E402

from futures_vpoc.backtest.kernels import simulate, simulate_reference  # noqa: E402

N_BARS = scaled(1_000_000, least=5_000)
BUDGET = 20_000_000


def _market(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    close = 4000 + 0.25 * np.cumsum(rng.integers(-4, 5, n))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) + 0.25 * rng.integers(0, 4, n)
    low = np.minimum(open_, close) - 0.25 * rng.integers(0, 4, n)
    raw = rng.integers(-1, 2, n // 20).astype(np.float64)
    signal = np.repeat(raw, 20)[:n]  # a new decision every 20 bars
    roll_end = np.zeros(n, dtype=np.bool_)
    roll_end[::90_000] = True  # a contract change about every quarter of 1-minute bars
    session_end = np.zeros(n, dtype=np.bool_)
    session_end[::1380] = True
    slip = np.full(n, 0.25)
    return (open_, high, low, close, signal, slip, roll_end, session_end, 50.0, 2.15, 2.0, 4.0, True, True, 1.0)


def main(repeats: int = 3) -> dict:
    """Time the compiled engine and the plain Python loop; print and return the figures."""
    args = _market(N_BARS)
    simulate(*args)  # compile
    fast = median_seconds(lambda: simulate(*args), repeats)
    t0 = time.perf_counter()
    ref = simulate_reference(*args)
    slow = time.perf_counter() - t0
    got = simulate(*args)
    same = all(np.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(got, ref))
    trades = len(got[2])
    rate = N_BARS / fast
    print(line("engine (numba, stops+targets+session flat+rolls)", N_BARS, fast, f"{trades:,} trades"))
    print(line("same rules, plain Python loop", N_BARS, slow))
    print(f"speed-up vs Python loop: {slow / fast:,.0f}x; results identical: {same}")
    print("vectorbt Portfolio.from_signals: not installed here, ratio not measured")
    verdict = "PASS" if rate >= BUDGET else "FAIL"
    print(f"budget {BUDGET:,} bars/s: {verdict} ({rate:,.0f} bars/s)")
    return {"bars": N_BARS, "trades": trades, "engine_seconds": fast, "engine_bars_per_s": rate,
            "python_seconds": slow, "python_bars_per_s": N_BARS / slow, "speedup_vs_python": slow / fast,
            "identical": bool(same), "vectorbt": None, "budget_bars_per_s": BUDGET, "pass": rate >= BUDGET}


if __name__ == "__main__":
    sys.exit(0 if main()["pass"] else 1)
