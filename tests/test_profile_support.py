"""Builders of small BarFrames for the profile tests (imported by the other test_profile_* files)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from futures_vpoc.calendar import assign_sessions
from futures_vpoc.data.barframe import conform

TICK = 0.25
BASE_LEVEL = 16_000  # 4000.00 index points


def bars_from(rows, start="2024-03-07 14:30", contract="ESH4") -> pd.DataFrame:
    """A BarFrame of 1-minute bars from ``(low, high, close, volume)`` prices, sessions from the calendar."""
    low, high, close, volume = (np.array(c, dtype=float) for c in zip(*rows))
    idx = pd.date_range(start, periods=len(rows), freq="1min", tz="UTC")
    where = assign_sessions(idx)
    frame = pd.DataFrame({"open": close, "high": high, "low": low, "close": close, "volume": volume,
                          "contract": contract, "trade_date": where.trade_date, "rth": where.rth, "vix": np.nan},
                         index=idx)
    return conform(frame)


def frame_from_sessions(sessions, contracts=None, rth=None) -> pd.DataFrame:
    """A BarFrame from sessions of ``(low, high, close, volume)`` tick-level bars.

    Session ``j`` gets trade date 2024-01-02 + j days; bars are one minute apart, sessions a day
    apart; ``contracts[j]`` names its contract (default all ``ESH4``); ``rth`` (one bool per bar of
    all sessions) defaults to True.
    """
    stamps, rows, dates, codes = [], [], [], []
    for j, bars in enumerate(sessions):
        day = pd.Timestamp("2024-01-02") + pd.Timedelta(days=j)
        for i, bar in enumerate(bars):
            stamps.append(day + pd.Timedelta(hours=14, minutes=i))
            rows.append(bar)
            dates.append(day)
            codes.append(contracts[j] if contracts else "ESH4")
    low, high, close, volume = (np.array(c, dtype=float) for c in zip(*rows))
    frame = pd.DataFrame({"open": close * TICK, "high": high * TICK, "low": low * TICK, "close": close * TICK,
                          "volume": volume, "contract": codes, "trade_date": pd.DatetimeIndex(dates),
                          "rth": np.ones(len(rows), bool) if rth is None else np.asarray(rth, bool), "vix": np.nan},
                         index=pd.DatetimeIndex(stamps, tz="UTC"))
    return conform(frame)


@st.composite
def tick_bar(draw, fractional: bool = False):
    """One bar as tick levels near :data:`BASE_LEVEL`, volume an integer 0..60 (or a fraction)."""
    low = BASE_LEVEL + draw(st.integers(-6, 6))
    high = low + draw(st.integers(0, 5))
    close = draw(st.integers(low, high))
    if fractional:
        volume = draw(st.floats(0, 60, allow_nan=False, allow_infinity=False))
    else:
        volume = float(draw(st.integers(0, 60)))
    return (low, high, close, volume)


def sessions_strategy(max_sessions: int = 3, max_bars: int = 12, fractional: bool = False):
    """Lists of sessions, each a non-empty list of tick bars."""
    return st.lists(st.lists(tick_bar(fractional), min_size=1, max_size=max_bars), min_size=1,
                    max_size=max_sessions)


@functools.lru_cache(maxsize=4)
def synthetic(start: str, end: str, seed: int = 5) -> pd.DataFrame:
    """Synthetic 1-minute ES bars (cached: the frame is shared, never modify it)."""
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    return synthesize(SynthConfig(start=start, end=end, seed=seed))[0]


def test_frame_from_sessions_builds_one_session_per_list():
    one, flat = (BASE_LEVEL, BASE_LEVEL + 1, BASE_LEVEL, 3.0), (BASE_LEVEL, BASE_LEVEL, BASE_LEVEL, 1.0)
    frame = frame_from_sessions([[one], [flat, flat]])
    assert frame["trade_date"].nunique() == 2 and len(frame) == 3
    assert frame["low"].iloc[0] == 4000.0 and frame["high"].iloc[0] == 4000.25


def test_bars_from_uses_the_globex_calendar():
    frame = bars_from([(100.0, 100.5, 100.25, 9.0)])
    assert frame["trade_date"].iloc[0] == pd.Timestamp("2024-03-07") and frame["rth"].iloc[0]
