"""Degenerate markets give documented values, never a warning, an inf or a crash.

numpy RuntimeWarnings are errors in this test suite (pyproject), so merely building the table
proves every division and log is guarded. The market: two contracts, prices that rarely move,
zero-volume bars and a VIX that never changes.
"""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.calendar import assign_sessions
from futures_vpoc.data.barframe import conform
from futures_vpoc.errors import DataError
from futures_vpoc.features import GROUPS, build_features


def quiet_market(move_every: int = 97, n_days: int = 6) -> pd.DataFrame:
    """1-minute bars of ``n_days`` RTH mornings; the close steps one tick every ``move_every`` bars."""
    days = pd.bdate_range("2024-03-04", periods=n_days)
    stamps = np.concatenate([pd.date_range(d + pd.Timedelta(hours=14, minutes=30), periods=300, freq="1min")
                             for d in days])
    idx = pd.DatetimeIndex(stamps, tz="UTC")
    n = len(idx)
    close = 5000.0 + 0.25 * ((np.arange(n) // move_every) % 3)
    open_ = np.r_[close[0], close[:-1]]
    volume = np.where(np.arange(n) % 7 == 3, 0.0, 5.0)
    where = assign_sessions(idx)
    contract = np.where(where.trade_date < np.datetime64("2024-03-07"), "ESH4", "ESM4")
    return conform(pd.DataFrame({"open": open_, "high": np.maximum(open_, close), "low": np.minimum(open_, close),
                                 "close": close, "volume": volume, "contract": contract,
                                 "trade_date": where.trade_date, "rth": where.rth, "vix": 17.5}, index=idx))


def test_quiet_market_builds_without_warnings_or_infinities():
    bars = quiet_market()
    f = build_features(bars, groups=[g for g in GROUPS if g != "volatility"]).frame
    assert not np.isinf(f.to_numpy()).any()
    assert (f["technical_bb_position_20"].dropna().between(-5, 5)).all()
    # One VIX value repeated day after day: each published close equals the one before it, so the
    # change is exactly 0 once a second close is out (issue 15: repeated closes are changes of 0).
    change = f["vix_change"].dropna()
    assert len(change) and (change == 0.0).all()
    assert (f["vix_pct_252_sessions"].dropna() == 0.5).all()


def test_quiet_market_volatility_group():
    bars = quiet_market(move_every=3)
    f = build_features(bars, groups=["volatility"], train_end=bars.index[1000]).frame
    assert not np.isinf(f.to_numpy()).any()
    assert (f["volatility_atr_14_ticks"].dropna() >= 1.0).all()  # ATR floored at one tick


def test_flat_training_part_cannot_fit_garch():
    bars = quiet_market(move_every=10**9)
    with pytest.raises(DataError, match="GARCH"):
        build_features(bars, groups=["volatility"])


def test_zero_volume_bars_stay_finite():
    f = build_features(quiet_market(), groups=["volume"]).frame
    surge = f["volume_surge_20"]
    assert not np.isinf(surge).any() and surge.isna().sum() == 2 * 20  # needs 20 earlier bars, per contract
    assert np.isfinite(f["volume_session_cum_log"]).all()
