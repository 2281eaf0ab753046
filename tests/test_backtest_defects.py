"""One test per defect of section 8.3 (items 15-26) of the prior-system reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_backtest_support import ohlc_bars, walk_bars

from futures_vpoc.backtest import strategies as S
from futures_vpoc.backtest.engine import BacktestConfig, run_engine
from futures_vpoc.backtest.run import run_backtest
from futures_vpoc.backtest.significance import bootstrap_sharpe_ci
from futures_vpoc.backtest.spec import ES, MES, ContractSpec
from futures_vpoc.backtest.stats import compute_stats


def _fills_inside_range(bars, trades, slip):
    hi, lo = bars["high"].to_numpy(), bars["low"].to_numpy()
    for col, bar in (("entry_price", "entry_bar"), ("exit_price", "exit_bar")):
        px, i = trades[col].to_numpy(), trades[bar].to_numpy()
        assert (px <= hi[i] + slip + 1e-9).all() and (px >= lo[i] - slip - 1e-9).all()


def test_15_entries_fill_only_at_prices_that_traded():
    # prior: fills at same-day VAL/VAH without checking they traded. Here every fill is an
    # open/close/stop/target of a bar that traded there (plus adverse slippage).
    bars = walk_bars(3000, seed=1)
    sig = S.random_like(np.sign(np.sin(np.arange(3000) / 9.0)), 3000, seed=2)
    res = run_engine(bars, sig, BacktestConfig(slippage_ticks=1, stop_ticks=6, target_ticks=6))
    assert len(res.trades) > 50
    _fills_inside_range(bars, res.trades, 0.25)


def test_16_no_guaranteed_win_pairs():
    # prior: BUY@VAL and SELL@VAH on one date closed the long at VAH. Here one target position
    # per bar; a flip exits and enters at the same next open, so the exit is not a chosen level.
    bars = ohlc_bars([(100, 105, 95, 100), (100, 105, 95, 100), (100, 105, 95, 100)])
    res = run_engine(bars, [1, -1, -1], BacktestConfig(slippage_ticks=1))
    first = res.trades.iloc[0]
    assert first["entry_price"] == 100.25 and first["exit_price"] == 99.75  # loses the spread, not +10
    assert first["pnl"] < 0


def test_17_no_full_sample_gating():
    bars = walk_bars(4000, seed=3)
    cut = 2500
    np.testing.assert_array_equal(S.ma_cross(bars.iloc[:cut], 20, 80), S.ma_cross(bars, 20, 80)[:cut])
    p = np.random.default_rng(0).uniform(size=4000)
    np.testing.assert_array_equal(S.model_signal(p[:cut], 0.1, 5), S.model_signal(p, 0.1, 5)[:cut])


def test_18_short_stop_is_above_entry():
    # short at 100 with a 4-tick (1 point) stop: a fall to 97 must not stop it, a rise to 101 must.
    down = ohlc_bars([(100, 100, 100, 100), (100, 100.5, 97, 97.5), (97.5, 97.5, 97.5, 97.5)])
    res = run_engine(down, [-1, -1, -1], BacktestConfig(slippage_ticks=0, stop_ticks=4))
    assert res.trades["reason"].iloc[0] == "end_of_data" and res.trades["pnl"].iloc[0] > 0
    up = ohlc_bars([(100, 100, 100, 100), (100, 101.5, 99.5, 101), (101, 101, 101, 101)])
    res = run_engine(up, [-1, -1, -1], BacktestConfig(slippage_ticks=0, stop_ticks=4))
    t = res.trades.iloc[0]
    assert t["reason"] == "stop" and t["exit_price"] == 101.0


def test_19_stops_checked_entry_slippage_final_position_closed_mtm():
    bars = ohlc_bars([(100, 100, 100, 100), (100, 100, 90, 91), (91, 95, 91, 95), (95, 95, 95, 95)])
    # no stop: the open trade is marked to market (equity dips mid-trade) and closed at the end
    res = run_engine(bars, [1, 1, 1, 1], BacktestConfig(slippage_ticks=1))
    assert res.trades["entry_price"].iloc[0] == 100.25  # entry slippage
    assert res.trades["reason"].iloc[-1] == "end_of_data"
    assert res.equity.iloc[1] - 100_000 == pytest.approx((91 - 100.25) * 50 - 2.15)
    # with a stop the 10-point fall is cut at the stop
    res = run_engine(bars, [1, 1, 1, 1], BacktestConfig(slippage_ticks=1, stop_ticks=8))
    assert res.trades["reason"].iloc[0] == "stop" and res.trades["exit_price"].iloc[0] == 98.25 - 0.25


def test_20_dollar_pnl_uses_the_multiplier():
    bars = ohlc_bars([(100, 100, 100, 100), (100, 102, 100, 102), (102, 102, 102, 102)])
    es = run_engine(bars, [1, 1, 1], BacktestConfig(contract=ES, slippage_ticks=0))
    mes = run_engine(bars, [1, 1, 1], BacktestConfig(contract=MES, slippage_ticks=0))
    assert es.trades["pnl"].iloc[0] == pytest.approx(2 * 50 - 2 * 2.15)
    assert mes.trades["pnl"].iloc[0] == pytest.approx(2 * 5 - 2 * 0.57)


def test_21_sharpe_from_daily_mtm_not_per_trade():
    # one long trade held 20 days: per-trade Sharpe is undefined (one return); daily MTM gives one
    closes = 100 + np.cumsum(np.tile([1.0, -0.5], 10))
    opens = np.concatenate(([100.0], closes[:-1]))
    rows = np.column_stack([opens, np.maximum(opens, closes), np.minimum(opens, closes), closes])
    dates = pd.bdate_range("2024-01-02", periods=20)
    bars = ohlc_bars(rows, trade_dates=dates)
    res = run_engine(bars, np.ones(20), BacktestConfig(slippage_ticks=0))
    s = compute_stats(res.equity, res.daily_equity, res.position, res.trades, 100_000, 50)
    assert s["trades"] == 1 and s["days"] == 20 and np.isfinite(s["sharpe"])
    # drawdown seen inside the open trade (closed-trade equity would show none)
    assert s["max_drawdown_usd"] > 0


def test_22_constructor_arguments_are_used():
    bars = walk_bars(300, seed=5)
    a = run_engine(bars, np.ones(300), BacktestConfig(initial_capital=50_000, slippage_ticks=3))
    b = run_engine(bars, np.ones(300), BacktestConfig(initial_capital=100_000, slippage_ticks=1))
    assert a.equity.iloc[0] == 50_000
    assert (a.equity.iloc[-1] - 50_000) == pytest.approx(b.equity.iloc[-1] - 100_000 - 4 * 0.25 * 50)


def test_23_bootstrap_resamples_not_permutes():
    r = np.random.default_rng(2).normal(0.0005, 0.01, 250)
    lo, hi = bootstrap_sharpe_ci(r, n_boot=300, seed=1)
    assert hi - lo > 0.5 and lo < hi  # a permutation would leave the Sharpe unchanged: zero width


def test_24_model_probabilities_used_as_given_and_both_sides():
    # no scaler is fit on the rows predicted: the signal is a pure function of each probability
    p = np.array([0.45, 0.55, 0.3, 0.7])
    assert S.model_signal(p, 0.0, 1).tolist() == [-1, 1, -1, 1]
    assert S.model_signal(p[:2], 0.0, 1).tolist() == S.model_signal(p, 0.0, 1)[:2].tolist()


def test_25_signal_and_return_alignment():
    # independent vectorised accounting without costs: the position held through bar t is the
    # signal of t-1; P&L of bar t = held[t-1]*(open_t - close_{t-1}) + held[t]*(close_t - open_t)
    bars = walk_bars(2000, seed=7)
    sig = np.random.default_rng(3).integers(-1, 2, 2000).astype(float)
    res = run_engine(bars, sig, BacktestConfig(slippage_ticks=0, contract=ContractSpec("ES", 50.0, 0.25, 0.0)))
    o, c = bars["open"].to_numpy(), bars["close"].to_numpy()
    held = np.concatenate(([0.0], sig[:-1]))
    prev = np.concatenate(([0.0], held[:-1]))
    pnl = np.concatenate(([0.0], prev[1:] * (o[1:] - c[:-1]))) + held * (c - o)
    np.testing.assert_allclose(res.equity.to_numpy() - 100_000, np.cumsum(pnl) * 50, atol=1e-6)


def test_26_bars_without_prediction_are_flat_not_padded():
    from futures_vpoc.cli.backtest_steps import align_predictions

    bars = walk_bars(10, seed=8)
    preds = pd.DataFrame({"timestamp": bars.index[[3, 4, 5]], "probability": [0.9, 0.9, 0.1], "label": [1, 1, 0]})
    p = align_predictions(bars, preds)
    assert np.isnan(p[[0, 1, 2, 6, 7, 8, 9]]).all()
    np.testing.assert_array_equal(p[3:6], [0.9, 0.9, 0.1])
    sig = S.model_signal(p, 0.1, 1)
    assert sig.tolist() == [0, 0, 0, 1, 1, -1, 0, 0, 0, 0]
    res = run_backtest(bars, {"model": sig}, n_random=3, n_boot=50)
    assert res.strategies["model"].engine.position.iloc[:4].eq(0).all()
