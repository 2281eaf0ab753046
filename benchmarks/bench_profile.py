"""Volume profiles of about 3.2M synthetic one-minute ES bars (2015-2023), on one core.

Budgets (issue 3): finished session profiles (VPOC + value area of every Globex session) at
5M bars/s or more; developing VPOC/VAL/VAH for every bar at 2M bars/s or more. Both timings run
from the BarFrame (checks, tick grid, sessions, kernels, result tables) and are medians of
``repeats`` runs after a warm-up that compiles the kernels. In the same run, a straightforward
pandas implementation of the finished profiles (explode bars to levels, ``groupby().sum()``,
``idxmax``, a value-area walk per session) is timed for the ratio.

The kernels are sequential (no ``prange``); ``NUMBA_NUM_THREADS=1`` is set as well, before numba
is imported, when this file runs on its own.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import line, median_seconds, scaled_dates  # noqa: E402

from futures_vpoc.data.synthetic import SynthConfig, synthesize  # noqa: E402
from futures_vpoc.profile import ProfileSpec, developing_profile, session_profiles  # noqa: E402

_START, _END = scaled_dates("2015-01-02", "2023-12-29", least_days=28)  # at least four weeks
CONFIG = SynthConfig(start=_START, end=_END, seed=3)
FINISHED_BUDGET = 5_000_000
DEVELOPING_BUDGET = 2_000_000


def _pandas_value_area(levels: np.ndarray, volume: np.ndarray, share: float) -> tuple[float, float]:
    """Two-level value area of one session's profile (plain Python walk)."""
    poc = int(np.argmax(volume))
    lo = hi = poc
    inside, target = volume[poc], share * volume.sum()
    while inside < target and (lo > 0 or hi < len(volume) - 1):
        up = volume[hi + 1: hi + 3].sum()
        down = volume[max(lo - 2, 0): lo].sum()
        if hi < len(volume) - 1 and (lo == 0 or up >= down):
            hi, inside = min(hi + 2, len(volume) - 1), inside + up
        else:
            lo, inside = max(lo - 2, 0), inside + down
    return levels[lo], levels[hi]


def pandas_profiles(bars: pd.DataFrame, tick: float = 0.25, share: float = 0.7) -> pd.DataFrame:
    """Finished profiles the straightforward pandas way (uniform allocation, v/n per level)."""
    session = bars.groupby(["trade_date", "contract"], sort=False).ngroup().to_numpy()
    lo = np.rint(bars["low"].to_numpy() / tick).astype(np.int64)
    n = np.rint(bars["high"].to_numpy() / tick).astype(np.int64) - lo + 1
    rep = np.repeat(np.arange(len(bars)), n)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(n) - n, n)
    rows = pd.DataFrame({"session": session[rep], "level": lo[rep] + offset,
                         "volume": (bars["volume"].to_numpy() / n)[rep]})
    profile = rows.groupby(["session", "level"])["volume"].sum()
    vpoc = profile.groupby(level="session").idxmax().map(lambda key: key[1] * tick)
    va = profile.groupby(level="session").apply(
        lambda s: _pandas_value_area(s.index.get_level_values("level").to_numpy() * tick, s.to_numpy(), share))
    return pd.DataFrame({"vpoc": vpoc, "val": va.map(lambda x: x[0]), "vah": va.map(lambda x: x[1])})


def main(repeats: int = 3) -> dict:
    bars, _ = synthesize(CONFIG)
    rows = len(bars)
    spec = ProfileSpec()
    developing_profile(bars.iloc[:5000], spec)  # compile (or load) the kernels, not timed
    finished = median_seconds(lambda: session_profiles(bars, spec), repeats)
    developing = median_seconds(lambda: developing_profile(bars, spec, prior=False), repeats)
    with_prior = median_seconds(lambda: developing_profile(bars, spec, prior=True), repeats)
    baseline = median_seconds(lambda: pandas_profiles(bars), repeats)
    ours = session_profiles(bars, spec).table
    theirs = pandas_profiles(bars)
    agree = float(np.mean(ours["vpoc"].to_numpy() == theirs["vpoc"].to_numpy()))
    sessions = len(ours)
    print(line("finished session profiles", rows, finished,
               f"budget {FINISHED_BUDGET / 1e6:.0f}M/s: {'PASS' if rows / finished >= FINISHED_BUDGET else 'FAIL'}"))
    print(line("developing VPOC/VAL/VAH, every bar", rows, developing,
               f"budget {DEVELOPING_BUDGET / 1e6:.0f}M/s: "
               f"{'PASS' if rows / developing >= DEVELOPING_BUDGET else 'FAIL'}"))
    print(line("developing + prior levels + naked VPOCs", rows, with_prior))
    print(line("pandas groupby finished profiles (baseline)", rows, baseline,
               f"ours is {baseline / finished:.1f}x faster"))
    print(f"({rows:,} bars, {sessions:,} sessions, median of {repeats}; pandas VPOC equal to ours in "
          f"{agree:.1%} of sessions: it splits v/n in floats and breaks ties low)")
    return {"rows": rows, "sessions": sessions, "finished_seconds": finished, "finished_bars_per_s": rows / finished,
            "developing_seconds": developing, "developing_bars_per_s": rows / developing,
            "developing_prior_seconds": with_prior, "pandas_seconds": baseline, "pandas_ratio": baseline / finished,
            "vpoc_agreement": agree}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
