"""Statistics and significance of a backtest, checked against hand formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_backtest_support import ohlc_bars

from futures_vpoc.backtest.engine import BacktestConfig, run_engine
from futures_vpoc.backtest.significance import (bootstrap_sharpe_ci, deflated_sharpe, expected_max_sharpe,
                                                probabilistic_sharpe, random_p_value)
from futures_vpoc.backtest.stats import compute_stats, daily_returns, sharpe, sortino


def _daily_bars(closes, contract="ESH4"):
    """One bar per trade date (open = previous close)."""
    closes = np.asarray(closes, dtype=float)
    opens = np.concatenate(([closes[0]], closes[:-1]))
    rows = np.column_stack([opens, np.maximum(opens, closes), np.minimum(opens, closes), closes])
    dates = pd.bdate_range("2024-01-02", periods=len(closes))
    b = ohlc_bars(rows, trade_dates=dates)
    b.index = pd.DatetimeIndex(dates + pd.Timedelta(hours=15)).tz_localize("UTC").rename("timestamp")
    return b


def test_sharpe_sortino_from_daily_mark_to_market():
    closes = [100, 101, 100.5, 102, 101, 103, 104, 103.5]
    bars = _daily_bars(closes)
    res = run_engine(bars, np.ones(len(bars)), BacktestConfig(slippage_ticks=0, contract=BacktestConfig().contract))
    s = compute_stats(res.equity, res.daily_equity, res.position, res.trades, 100_000, 50)
    eq = res.daily_equity.to_numpy()
    r = np.diff(eq, prepend=100_000) / 100_000
    assert s["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))
    assert s["sortino"] == pytest.approx(r.mean() / math.sqrt(np.mean(np.minimum(r, 0) ** 2)) * math.sqrt(252))
    # entry at day 1's open = day 0's close 100, exit at the last close 103.5
    assert s["net_pnl_usd"] == pytest.approx((103.5 - 100) * 50 - 4.30)
    assert s["trades"] == 1 and s["long_trades"] == 1 and s["short_trades"] == 0
    assert s["costs_usd"] == pytest.approx(4.30)
    # max drawdown (MTM): worst dip is close 102 -> 101 = 1 point = 50 $
    assert s["max_drawdown_usd"] == pytest.approx(50.0)
    # CAGR from calendar days (8 business days from Tue 2024-01-02 span 10 calendar days), not /252
    assert s["days"] == len(closes)
    assert s["cagr_pct"] == pytest.approx(((1 + s["net_pnl_usd"] / 1e5) ** (365.25 / 10) - 1) * 100)


def test_zero_pnl_trade_is_neither_win_nor_loss():
    trades = pd.DataFrame({"pnl": [10.0, 0.0, -5.0], "size": [1.0] * 3, "entry_price": [1.0] * 3,
                           "exit_price": [1.0] * 3, "commission": [0.0] * 3, "slippage": [0.0] * 3, "side": [1, -1, 1]})
    idx = pd.date_range("2024-01-02", periods=3, freq="D", tz="UTC")
    eq = pd.Series([100_000.0, 100_010.0, 100_005.0], index=idx)
    daily = pd.Series(eq.to_numpy(), index=pd.DatetimeIndex(idx.tz_localize(None)))
    s = compute_stats(eq, daily, pd.Series([1.0, 0, 1], index=idx), trades, 100_000, 50)
    assert s["wins"] == 1 and s["losses"] == 1 and s["win_rate_pct"] == 50.0
    assert s["profit_factor"] == pytest.approx(2.0)
    assert s["avg_win_usd"] == 10.0 and s["avg_loss_usd"] == -5.0


def test_sharpe_edge_cases_are_nan_not_warnings():
    assert math.isnan(sharpe(np.zeros(10)))
    assert math.isnan(sortino(np.ones(10)))
    assert math.isnan(sharpe(np.array([0.1])))


def test_bootstrap_interval_seeded_and_resamples():
    rng = np.random.default_rng(0)
    r = rng.normal(0.001, 0.01, 500)
    a = bootstrap_sharpe_ci(r, seed=3)
    assert a == bootstrap_sharpe_ci(r, seed=3)
    assert a[0] < sharpe(r) < a[1]
    assert a[1] - a[0] > 0.5  # resampling with replacement moves the mean (a permutation would not)


def test_psr_and_dsr():
    rng = np.random.default_rng(1)
    good = rng.normal(0.003, 0.01, 500)
    noise = rng.normal(0.0, 0.01, 500)
    assert probabilistic_sharpe(good) > 0.99
    assert probabilistic_sharpe(noise) < 0.99
    d1, bar1 = deflated_sharpe(good, 1)
    d100, bar100 = deflated_sharpe(good, 100)
    assert bar1 == 0.0 and bar100 > 0 and d100 < d1
    assert expected_max_sharpe(1, 0.01) == 0.0
    # Bailey & Lopez de Prado 2014 example magnitude: N=100, V=1/2 -> E[max] about 2.5 * sqrt(V)
    assert expected_max_sharpe(100, 1.0) == pytest.approx(2.53, abs=0.02)


def test_random_p_value():
    assert random_p_value(1.0, [0.0] * 99) == pytest.approx(0.01)
    assert random_p_value(-1.0, [0.0] * 99) == pytest.approx(1.0)


def test_daily_returns_on_initial_capital():
    d = pd.Series([100_100.0, 100_050.0], index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"]))
    np.testing.assert_allclose(daily_returns(d, 100_000), [0.001, -0.0005])
