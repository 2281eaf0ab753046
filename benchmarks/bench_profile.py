"""Volume profiles of about 3.2M synthetic one-minute ES bars (2015-2023), on one core.

Budgets (issue 3): finished session profiles (VPOC + value area of every Globex session) at
5M bars/s or more; developing VPOC/VAL/VAH for every bar at 2M bars/s or more. Both timings run
from the BarFrame (checks, tick grid, sessions, kernels, result tables) and are medians of
``repeats`` runs after a warm-up that compiles the kernels. In the same run, a straightforward
pandas implementation of the finished profiles (explode bars to levels, ``groupby().sum()``,
``idxmax``, a value-area walk per session) is timed for the ratio.

Issue 20 adds three rows, each beside an anchor measured in the same run (medians of at least 5):

a. the finished-profile kernel with the default rules (uniform allocation, 70 %, two-level) on the
   prepared bars, target 20M bars/s, beside a bare numba scatter of ``v / n`` per level and an
   argmax per session over the same bars (no exact split, no value area);
b. the developing kernel (VPOC, VAL, VAH at every bar), target 8M bars/s, beside the same anchor;
c. ``futures-vpoc profile --developing`` as a whole process (start-up, reading a Parquet merged
   file, checks, finished + developing + prior levels, writing the developing table) on 2.8M
   bars, beside the pandas group-by of finished profiles on the same bars in this process (which
   neither reads nor writes a file): the whole command must take less time.

d. the MarketProfile package (0.2.0, ``pip install '.[bench]'``; skipped when it is not installed) on
   the first sessions of the same bars, one ``MarketProfile(...)[start:end]`` per session as its
   README shows (volume at each bar's close price, its own value-area walk and extrema), beside
   ``session_profiles`` on the same sessions: the ratio of the two rates.

The kernels are sequential (no ``prange``); ``NUMBA_NUM_THREADS=1`` is set as well, before numba
is imported, when this file runs on its own.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import line, median_seconds, scaled, scaled_dates  # noqa: E402
from numba import njit  # noqa: E402

from futures_vpoc.data.barframe import write_merged  # noqa: E402
from futures_vpoc.data.synthetic import SynthConfig, synthesize  # noqa: E402
from futures_vpoc.profile import ProfileSpec, developing_profile, session_profiles  # noqa: E402
from futures_vpoc.profile.grid import prepare  # noqa: E402
from futures_vpoc.profile.kernels import developing_profiles, finished_profiles, session_spans  # noqa: E402

_START, _END = scaled_dates("2015-01-02", "2023-12-29", least_days=28)  # at least four weeks
CONFIG = SynthConfig(start=_START, end=_END, seed=3)
FINISHED_BUDGET = 5_000_000
DEVELOPING_BUDGET = 2_000_000
FINISHED_KERNEL_TARGET = 20_000_000
DEVELOPING_KERNEL_TARGET = 8_000_000
CLI_ROWS = scaled(2_800_000, least=5_000)
KERNEL_REPEATS = 5
"""Kernel rows and the whole-process row: medians of at least this many runs."""


@njit(cache=True)
def bare_scatter(low, high, volume, bounds):
    """Anchor: per session, ``v / n`` added to each of a bar's ``n`` levels, then the argmax level.

    Parameters
    ----------
    low, high : int64 arrays, shape (n,)
        Tick levels of the bars.
    volume : float64 array, shape (n,)
    bounds : int64 array, shape (s + 1,)
        Session ``j`` holds bars ``bounds[j]:bounds[j+1]``.

    Returns
    -------
    int64 array, shape (s,)
        The level of the largest sum of each session (the lowest on a tie).
    """
    s = len(bounds) - 1
    out = np.empty(s, np.int64)
    for j in range(s):
        a, b = bounds[j], bounds[j + 1]
        lo = low[a:b].min()
        h = np.zeros(high[a:b].max() - lo + 1)
        for i in range(a, b):
            share = volume[i] / (high[i] - low[i] + 1)
            for k in range(low[i] - lo, high[i] - lo + 1):
                h[k] += share
        out[j] = lo + np.argmax(h)
    return out


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


def _kernel_rows(bars: pd.DataFrame, spec: ProfileSpec, repeats: int) -> dict:
    """Rows a and b: the kernels on prepared bars beside the bare scatter anchor (same run)."""
    g = prepare(bars, spec)
    if len(g.take) != len(g.index):
        raise RuntimeError("the kernel rows expect the Globex scope (every bar in a session)")
    args = (g.low, g.high, g.close, g.volume, g.take, g.bounds)
    alloc, share, two = spec.allocation_code, spec.value_area, spec.two_level
    base, offsets = session_spans(g.low, g.high, g.close, g.take, g.bounds, alloc)
    runs = {
        "anchor": lambda: bare_scatter(g.low, g.high, g.volume, g.bounds),
        "finished": lambda: finished_profiles(*args, alloc, share, two),
        "developing": lambda: developing_profiles(*args, base, offsets, alloc, share, two),
    }
    for run in runs.values():
        run()  # compile (or load) first
    seconds = {name: median_seconds(run, repeats) for name, run in runs.items()}
    rows = len(g.index)
    anchor = seconds["anchor"]
    print(line("a. bare numba scatter + argmax (anchor)", rows, anchor, "v/n per level, no value area"))
    for name, target in (("finished", FINISHED_KERNEL_TARGET), ("developing", DEVELOPING_KERNEL_TARGET)):
        rate = rows / seconds[name]
        title = "a. finished kernel, default rules" if name == "finished" else "b. developing kernel, every bar"
        print(line(title, rows, seconds[name], f"{seconds[name] / anchor:4.1f}x anchor; target {target / 1e6:.0f}M/s: "
                                               f"{'PASS' if rate >= target else 'FAIL'}"))
    return {f"{name}_kernel_seconds": sec for name, sec in seconds.items()}


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "futures-vpoc"
    return [str(script)] if script.exists() else [sys.executable, "-m", "futures_vpoc"]


def _cli_row(bars: pd.DataFrame, repeats: int) -> dict:
    """Row c: ``futures-vpoc profile --developing`` as a whole process beside the pandas group-by."""
    part = bars.iloc[:CLI_ROWS]
    where = Path(tempfile.mkdtemp(prefix="bench_profile_"))
    try:
        data = write_merged(part, where / "bars.parquet")
        argv = [*_cli(), "profile", "--data", str(data), "--developing", str(where / "developing.parquet")]
        run = lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)  # noqa: E731
        run()  # numba cache filled, files warm
        whole = median_seconds(run, repeats)
        anchor = median_seconds(lambda: pandas_profiles(part), repeats)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    rows = len(part)
    print(line("c. pandas groupby finished profiles (anchor)", rows, anchor, "in process, no file read or written"))
    print(line("c. futures-vpoc profile --developing, process", rows, whole,
               f"{whole / anchor:4.2f}x anchor: {'PASS' if whole < anchor else 'FAIL'}"))
    return {"cli_rows": rows, "cli_seconds": whole, "cli_pandas_seconds": anchor}


MARKETPROFILE_SESSIONS = 60
"""Sessions MarketProfile profiles in row d (it takes ~0.1 s a session)."""


def _marketprofile_row(bars: pd.DataFrame, spec: ProfileSpec, repeats: int) -> dict:
    """Row d: the MarketProfile package per session beside ``session_profiles`` on the same bars."""
    import importlib.util

    if importlib.util.find_spec("market_profile") is None:
        print("d. MarketProfile not installed, row skipped (pip install '.[bench]')")
        return {}
    from market_profile import MarketProfile

    dates = bars["trade_date"].to_numpy()
    cuts = np.flatnonzero(dates[1:] != dates[:-1]) + 1
    stop = int(cuts[MARKETPROFILE_SESSIONS - 1]) if len(cuts) >= MARKETPROFILE_SESSIONS else len(bars)
    part = bars.iloc[:stop]
    frame = part.rename(columns={"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"})
    spans = list(zip([0, *cuts[cuts < stop]], [*cuts[cuts < stop], stop], strict=True))

    def theirs() -> None:
        mp = MarketProfile(frame, tick_size=spec.tick, mode="vol")
        for a, b in spans:
            mp[frame.index[a]:frame.index[b - 1]].as_dict()

    their = median_seconds(theirs, max(1, repeats // 2))
    ours = median_seconds(lambda: session_profiles(part, spec), repeats)
    print(line("d. MarketProfile 0.2.0, per session (anchor)", len(part), their,
               f"{len(spans)} sessions, volume at the close price"))
    print(line("d. session_profiles, same sessions", len(part), ours, f"{their / ours:,.0f}x MarketProfile",
               anchor="d. MarketProfile 0.2.0, per session (anchor)", anchor_seconds=their))
    return {"marketprofile_seconds": their, "marketprofile_ratio": their / ours}


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
    many = max(repeats, KERNEL_REPEATS)
    result = {"rows": rows, "sessions": sessions, "finished_seconds": finished,
              "finished_bars_per_s": rows / finished, "developing_seconds": developing,
              "developing_bars_per_s": rows / developing, "developing_prior_seconds": with_prior,
              "pandas_seconds": baseline, "pandas_ratio": baseline / finished, "vpoc_agreement": agree}
    result.update(_kernel_rows(bars, spec, many))
    result.update(_cli_row(bars, many))
    result.update(_marketprofile_row(bars, spec, many))
    print(f"(rows a-c: median of {many}; d: MarketProfile median of {max(1, many // 2)})")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
