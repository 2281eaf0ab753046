"""Helpers shared by the backtest tests (hand-made BarFrames), and tests of the helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.data.barframe import conform


def ohlc_bars(rows, contracts=None, trade_dates=None, start="2024-01-02 15:00") -> pd.DataFrame:
    """A BarFrame of 1-minute bars from ``[(open, high, low, close), ...]`` [points]."""
    rows = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    index = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="timestamp")
    frame = pd.DataFrame({
        "open": rows[:, 0], "high": rows[:, 1], "low": rows[:, 2], "close": rows[:, 3],
        "volume": np.full(n, 10.0),
        "contract": list(contracts) if contracts is not None else ["ESH4"] * n,
        "trade_date": pd.DatetimeIndex(trade_dates) if trade_dates is not None
        else pd.DatetimeIndex([pd.Timestamp("2024-01-02")] * n),
        "rth": np.ones(n, dtype=bool), "vix": np.full(n, 15.0),
    }, index=index)
    return conform(frame)


def walk_bars(n: int, seed: int = 0, gap_only: bool = False) -> pd.DataFrame:
    """A random walk on the 0.25 grid; ``gap_only`` puts every move between bars (open = close)."""
    rng = np.random.default_rng(seed)
    close = 4000 + 0.25 * np.cumsum(rng.integers(-4, 5, n))
    if gap_only:
        open_ = close.copy()
    else:
        open_ = np.concatenate(([close[0]], close[:-1]))
    hi = np.maximum(open_, close) + 0.25 * rng.integers(0, 3, n)
    lo = np.minimum(open_, close) - 0.25 * rng.integers(0, 3, n)
    return ohlc_bars(np.column_stack([open_, hi, lo, close]))


def test_helpers_give_valid_bars():
    b = walk_bars(50)
    assert (b["high"] >= b[["open", "close"]].max(axis=1)).all()
    assert (b["low"] <= b[["open", "close"]].min(axis=1)).all()
    assert len(ohlc_bars([(1, 2, 0.5, 1.5)] * 3)) == 3
