"""Rule baselines keep their word: session strategies are flat at each session end (issue 14).

``model``, ``vpoc_reversion`` and ``vpoc_breakout`` are session-scoped: by default no trade of
theirs spans the daily maintenance break or a weekend (a trade's entry and exit bars share one
trade date). ``buy_hold`` and ``ma_cross`` hold overnight, and every description says which rule
a strategy follows. Daily bars (each bar a whole session) are never flattened.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_backtest_support import ohlc_bars

from futures_vpoc.backtest import strategies as S
from futures_vpoc.backtest.engine import BacktestConfig, bar_arrays, run_engine
from futures_vpoc.backtest.run import run_backtest
from futures_vpoc.backtest.spec import (LEARNER_STRATEGIES, RULE_STRATEGIES, SESSION_SCOPED, STRATEGIES, describe,
                                       is_session_scoped)
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.profile import developing_profile
from futures_vpoc.report.backtest_html import render_backtest_html

FLAT_TEXT = "flat at each session end"
OVERNIGHT_TEXT = "holds positions overnight and over weekends"


@pytest.fixture(scope="module")
def market():
    """Six weeks of synthetic 1-minute ES bars (29 sessions, five weekends) and their prior levels."""
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-02-10", seed=1, signal=3.0))
    table = developing_profile(bars, prior=True).table
    gap = (table["dev_vpoc"] - bars["close"]).to_numpy()
    probability = 1.0 / (1.0 + np.exp(-np.clip(gap, -50, 50) / 2.0))  # a "model" that knows the mechanism
    signals = {"model": S.model_signal(probability, theta=0.3, horizon=30),
               "vpoc_reversion": S.vpoc_reversion(bars, table), "vpoc_breakout": S.vpoc_breakout(bars, table),
               "buy_hold": S.buy_hold(bars), "ma_cross": S.ma_cross(bars)}
    return bars, signals


def _spanning(bars: pd.DataFrame, trades: pd.DataFrame) -> np.ndarray:
    """Per trade: whether its entry and exit bars lie in different trade-date sessions."""
    td = pd.DatetimeIndex(bars["trade_date"])
    return np.asarray(td[trades["entry_bar"].to_numpy()] != td[trades["exit_bar"].to_numpy()])


@pytest.fixture(scope="module")
def default_run(market):
    bars, signals = market
    return run_backtest(bars, signals, BacktestConfig(), n_random=3, n_boot=50)


def test_the_market_has_maintenance_breaks_and_weekends(market):
    bars, _ = market
    dates = pd.DatetimeIndex(pd.unique(bars["trade_date"]))
    steps = np.diff(dates.asi8) // 86_400_000_000_000
    assert (steps == 1).sum() >= 20 and (steps == 3).sum() >= 4  # weekday halts and Friday -> Monday


@pytest.mark.parametrize("name", [n for n in SESSION_SCOPED if n not in LEARNER_STRATEGIES])
def test_session_strategy_trades_never_span_a_break(market, default_run, name):
    bars, _ = market
    res = default_run.strategies[name]
    trades = res.engine.trades
    assert len(trades) >= 10
    assert not _spanning(bars, trades).any()
    assert "session_end" in set(trades["reason"])
    # nothing is held through a session's first bar (the last bar's signal opens nothing)
    first = np.ones(len(bars), dtype=bool)
    first[1:] = bars["trade_date"].to_numpy()[1:] != bars["trade_date"].to_numpy()[:-1]
    assert (res.engine.position.to_numpy()[first] == 0).all()
    assert res.stats["flat_at_session_end"] is True and FLAT_TEXT in res.stats["holding"]


def test_random_baseline_follows_its_session_scoped_reference(market, default_run):
    bars, _ = market
    assert default_run.reference == "model"
    random = default_run.strategies["random"]
    assert len(random.engine.trades) and not _spanning(bars, random.engine.trades).any()
    assert random.stats["flat_at_session_end"] is True


@pytest.mark.parametrize("name", ["vpoc_reversion", "vpoc_breakout"])
def test_the_opt_out_holds_across_breaks(market, name):
    # the check above has teeth: the same signals without session-flat do span breaks
    bars, signals = market
    held = run_engine(bars, signals[name], BacktestConfig(flat_session_strategies=False), session_scoped=True)
    assert _spanning(bars, held.trades).any() and not held.flat_at_session_end


def test_buy_hold_and_ma_cross_hold_overnight_unless_forced(market, default_run):
    bars, signals = market
    for name in ("buy_hold", "ma_cross"):
        res = default_run.strategies[name]
        assert _spanning(bars, res.engine.trades).any(), name
        assert res.stats["flat_at_session_end"] is False and OVERNIGHT_TEXT in res.stats["holding"]
    forced = run_backtest(bars, {k: signals[k] for k in ("buy_hold", "ma_cross", "vpoc_reversion")},
                          BacktestConfig(flat_at_session_end=True), n_random=0, n_boot=20)
    for name, res in forced.strategies.items():
        assert not _spanning(bars, res.engine.trades).any(), name
        assert FLAT_TEXT in res.stats["holding"]


def test_by_hand_exit_at_the_last_close_and_no_entry_on_its_signal():
    # two sessions of three bars; a signal long everywhere, no costs
    rows = [(100, 100, 100, 101), (101, 102, 101, 102), (102, 103, 102, 103),
            (110, 110, 110, 111), (111, 112, 111, 112), (112, 113, 112, 113)]
    bars = ohlc_bars(rows, trade_dates=["2024-01-02"] * 3 + ["2024-01-03"] * 3)
    cfg = BacktestConfig(slippage_ticks=0, contract=BacktestConfig().contract)
    scoped = run_engine(bars, np.ones(6), cfg, session_scoped=True)
    t = scoped.trades
    # in at open1 101, out at the session's last close 103; the first bar of the next session
    # (whose target was decided at close2) is flat; in again at open4 111, out at the end 113
    assert t["entry_bar"].tolist() == [1, 4] and t["exit_bar"].tolist() == [2, 5]
    assert t["reason"].tolist() == ["session_end", "end_of_data"]
    np.testing.assert_array_equal(scoped.position.to_numpy(), [0, 1, 1, 0, 1, 1])
    assert scoped.equity.iloc[-1] - 100_000 == pytest.approx((2 + 2) * 50 - 4 * 2.15)
    overnight = run_engine(bars, np.ones(6), cfg)  # not session-scoped: one trade, the gap earned
    assert len(overnight.trades) == 1 and overnight.equity.iloc[-1] - 100_000 == pytest.approx(12 * 50 - 2 * 2.15)


def test_daily_bars_are_never_flattened():
    # every bar a whole session: there is no close inside a session to exit at before the next one
    rows = [(100 + i, 101 + i, 99 + i, 100.5 + i) for i in range(6)]
    dates = pd.bdate_range("2024-01-02", periods=6)
    bars = ohlc_bars(rows, trade_dates=dates)
    assert bar_arrays(bars).daily and not bar_arrays(bars).flat_bars.any()
    for cfg in (BacktestConfig(), BacktestConfig(flat_at_session_end=True)):
        res = run_engine(bars, np.ones(6), cfg, session_scoped=True)
        assert len(res.trades) == 1 and res.trades["bars_held"].iloc[0] == 5 and not res.flat_at_session_end
    out = run_backtest(bars, {"vpoc_reversion": np.ones(6)}, n_random=0, n_boot=20)
    assert "daily bars" in out.strategies["vpoc_reversion"].stats["holding"]


def test_every_strategy_says_whether_it_holds_overnight():
    # the learner baselines (logistic, lightgbm) trade by the model's rule: session-scoped like it
    assert set(SESSION_SCOPED) == {"model", *LEARNER_STRATEGIES, "vpoc_reversion", "vpoc_breakout"}
    assert set(SESSION_SCOPED) - set(LEARNER_STRATEGIES) < set(STRATEGIES)
    assert set(RULE_STRATEGIES) - set(SESSION_SCOPED) == {"buy_hold", "ma_cross"}
    for name in (*STRATEGIES, *LEARNER_STRATEGIES):
        text = describe(name, flat=is_session_scoped(name))
        assert (FLAT_TEXT in text) == (name in SESSION_SCOPED) and (OVERNIGHT_TEXT in text) != (name in SESSION_SCOPED)
    for name in ("vpoc_reversion", "vpoc_breakout"):
        assert "session-scoped" in getattr(S, name).__doc__
    for name in ("buy_hold", "ma_cross"):
        assert "overnight" in getattr(S, name).__doc__


def test_report_says_which_strategies_hold_overnight(default_run):
    page = render_backtest_html(default_run, "t")
    assert "session strategies flat at each session end, the others hold overnight" in page
    for name in ("model", "vpoc_reversion", "vpoc_breakout"):
        assert f"<li><code>{name}</code>: " in page
        item = page.split(f"<li><code>{name}</code>: ", 1)[1].split("</li>", 1)[0]
        assert FLAT_TEXT in item, name
    for name in ("buy_hold", "ma_cross"):
        item = page.split(f"<li><code>{name}</code>: ", 1)[1].split("</li>", 1)[0]
        assert OVERNIGHT_TEXT in item, name


def test_demo_report_names_the_holding_rules(default_run):
    from futures_vpoc.cli.backtest_steps import json_safe
    from futures_vpoc.report.demo_report.backtest import _holding

    text = _holding(json_safe(default_run.stats_table()))
    assert ("flat at each session end, so no trade spans the daily break or a weekend: "
            "model, vpoc_reversion, vpoc_breakout, random") in text
    assert "hold positions overnight and over weekends: buy_hold, ma_cross" in text
    assert _holding({"model": {"sharpe": 1.0}}) == ""  # a stats.json from before the rule
