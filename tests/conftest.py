"""Shared fixtures: small hand-made BarFrames; the calendar's disk cache in a folder of the test run's own."""

import atexit
import os
import shutil
import tempfile

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.calendar import CACHE_ENV, assign_sessions
from futures_vpoc.data.barframe import conform


def pytest_configure(config):
    """Keep the calendar's disk cache out of the user's ~/.cache: one fresh folder per test process
    (each xdist worker its own), inherited by the CLI subprocesses, removed at exit."""
    if CACHE_ENV not in os.environ:
        folder = tempfile.mkdtemp(prefix="futures-vpoc-test-cache-")
        os.environ[CACHE_ENV] = folder
        atexit.register(shutil.rmtree, folder, True)


def make_bars(stamps, closes, contract="ESH4", vix=np.nan, volume=10.0):
    """A BarFrame from UTC bar-start stamps and closes (open = previous close, range +-0.25)."""
    idx = pd.DatetimeIndex(stamps, tz="UTC")
    close = np.asarray(closes, dtype=float)
    open_ = np.r_[close[0], close[:-1]]
    where = assign_sessions(idx)
    frame = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.25,
            "low": np.minimum(open_, close) - 0.25,
            "close": close,
            "volume": np.full(len(idx), volume),
            "contract": contract,
            "trade_date": where.trade_date,
            "rth": where.rth,
            "vix": np.broadcast_to(vix, len(idx)).astype(float),
        },
        index=idx,
    )
    return conform(frame)


@pytest.fixture
def small_bars():
    stamps = pd.date_range("2024-03-07 14:30", periods=30, freq="1min").strftime("%Y-%m-%d %H:%M")
    closes = 5100 + 0.25 * np.cumsum(np.tile([1, -1, 2, -1, 0, 1], 5))
    vix = np.r_[np.full(10, np.nan), np.full(20, 14.33)]
    return make_bars(stamps, closes, vix=vix)
