"""Strategies are causal; significance on synthetic markets (acceptance 4)."""

from __future__ import annotations

import numpy as np
import pytest

from futures_vpoc.backtest import strategies as S
from futures_vpoc.backtest.engine import BacktestConfig, run_engine
from futures_vpoc.backtest.run import run_backtest
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.profile import developing_profile


@pytest.fixture(scope="module")
def synth():
    out = {}
    for signal in (0.0, 3.0):
        bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-03-31", seed=1, signal=signal))
        out[signal] = (bars, developing_profile(bars, prior=True).table)
    return out


def _vpoc_model(bars, table):
    """A "model" whose probability is the planted mechanism: the pull toward the developing VPOC."""
    gap = (table["dev_vpoc"] - bars["close"]).to_numpy()
    return 1.0 / (1.0 + np.exp(-np.clip(gap, -50, 50) / 2.0))


@pytest.mark.parametrize("name", ["vpoc_reversion", "vpoc_breakout", "ma_cross"])
def test_rule_signals_are_causal(synth, name):
    # truncation: the signal on a prefix equals the full-sample signal on the overlap (no
    # full-sample gating, no same-day levels, defects 15 and 17)
    bars, _ = synth[0.0]
    cut = len(bars) // 2
    fn = getattr(S, name)
    np.testing.assert_array_equal(fn(bars.iloc[:cut]), fn(bars)[:cut])


def test_model_signal_thresholds_and_holding():
    p = np.array([0.5, 0.7, 0.5, 0.5, 0.5, 0.2, 0.5, np.nan, 0.5])
    np.testing.assert_array_equal(S.model_signal(p, theta=0.1, horizon=2), [0, 1, 1, 0, 0, -1, -1, 0, 0])
    # a sigmoid model's probabilities give shorts as well as longs (defect 24's +-0.5 thresholds)
    assert (S.model_signal(np.array([0.1, 0.9]), 0.05, 1) == [-1, 1]).all()
    with pytest.raises(Exception):
        S.model_signal(p, theta=0.6)


def test_random_like_copies_trades():
    held = np.zeros(200)
    held[10:20], held[50:55], held[100:130] = 1, -1, 1
    sig = S.random_like(held, 200, seed=4)
    got = np.concatenate(([0.0], sig[:-1]))  # the position the engine would hold
    assert (got != 0).sum() == (held != 0).sum()
    assert sorted(np.abs(got).tolist()) == sorted(np.abs(held).tolist())
    assert not np.array_equal(got, held)


def test_deflated_sharpe_not_significant_without_signal(synth):
    bars, table = synth[0.0]
    sig = {"model": S.model_signal(_vpoc_model(bars, table), theta=0.3, horizon=30), "buy_hold": S.buy_hold(bars)}
    res = run_backtest(bars, sig, BacktestConfig(), n_random=20, n_boot=200, extra_trials=3)
    m = res.strategies["model"].stats
    assert m["n_trials"] == 5
    assert not m["dsr_significant"] and m["dsr"] < 0.95
    assert m["p_value_random"] > 0.05


def test_deflated_sharpe_significant_with_planted_signal_after_costs(synth):
    bars, table = synth[3.0]
    sig = {"model": S.model_signal(_vpoc_model(bars, table), theta=0.3, horizon=30), "buy_hold": S.buy_hold(bars)}
    res = run_backtest(bars, sig, BacktestConfig(), n_random=20, n_boot=200, extra_trials=3)
    m = res.strategies["model"].stats
    assert m["costs_usd"] > 0 and m["net_pnl_usd"] > 0
    assert m["dsr_significant"] and m["dsr"] > 0.95
    assert m["p_value_random"] < 0.1
    assert m["sharpe_ci95_low"] > 0


def test_all_strategies_run_on_same_bars(synth):
    bars, table = synth[0.0]
    sigs = {"vpoc_reversion": S.vpoc_reversion(bars, table), "vpoc_breakout": S.vpoc_breakout(bars, table),
            "buy_hold": S.buy_hold(bars), "ma_cross": S.ma_cross(bars)}
    res = run_backtest(bars, sigs, BacktestConfig(), n_random=5, n_boot=100)
    assert list(res.strategies) == [*sigs, "random"]
    for r in res.strategies.values():
        assert r.engine.equity.index.equals(bars.index)
        assert {"net_pnl_usd", "costs_usd", "trades", "sharpe", "max_drawdown_pct"} <= set(r.stats)
    # buy and hold rolls at the March roll: one trade per contract
    assert res.strategies["buy_hold"].stats["trades"] == bars["contract"].nunique()
    assert run_engine(bars, np.zeros(len(bars))).trades.empty
