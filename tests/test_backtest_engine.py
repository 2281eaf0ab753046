"""Engine accounting by hand (acceptance 1) and timing rules (acceptance 2)."""

from __future__ import annotations

import numpy as np
import pytest
from test_backtest_support import ohlc_bars, walk_bars

from futures_vpoc.backtest.engine import BacktestConfig, bar_arrays, run_engine, slippage_points
from futures_vpoc.backtest.kernels import simulate, simulate_reference
from futures_vpoc.backtest.spec import ES, MES

BARS8 = [  # open, high, low, close [points]
    (100.0, 101.0, 99.0, 100.5),
    (101.0, 102.0, 100.0, 101.5),
    (102.0, 103.0, 101.0, 102.5),
    (103.0, 104.0, 102.0, 103.5),
    (104.0, 104.5, 101.0, 101.5),
    (101.0, 102.0, 99.0, 99.5),
    (99.0, 100.0, 98.0, 98.5),
    (98.0, 99.0, 97.0, 97.5),
]


def test_three_trades_by_hand():
    # ES: $50/point, 1 tick = 0.25 point slippage per side, $2.15 per contract per side.
    # signal decided at close t -> fill at open t+1.
    # trade 1: long  in at open1 101 + .25 = 101.25, out (signal 0 at t2) at open3 103 - .25 = 102.75
    #          (102.75 - 101.25) * 50 = 75.00 - 2 * 2.15 = 70.70
    # trade 2: short in at open4 104 - .25 = 103.75, out (flip at t5) at open6 99 + .25 = 99.25
    #          (103.75 - 99.25) * 50 = 225.00 - 4.30 = 220.70
    # trade 3: long  in at open6 99 + .25 = 99.25, out at the last close 97.5 - .25 = 97.25
    #          (97.25 - 99.25) * 50 = -100.00 - 4.30 = -104.30
    # total 70.70 + 220.70 - 104.30 = 187.10
    bars = ohlc_bars(BARS8)
    res = run_engine(bars, [1, 1, 0, -1, -1, 1, 1, 1], BacktestConfig(contract=ES, slippage_ticks=1))
    t = res.trades
    assert list(t["side"]) == [1, -1, 1]
    np.testing.assert_array_equal(t["entry_price"], [101.25, 103.75, 99.25])
    np.testing.assert_array_equal(t["exit_price"], [102.75, 99.25, 97.25])
    np.testing.assert_allclose(t["pnl"], [70.70, 220.70, -104.30], rtol=0, atol=1e-9)
    np.testing.assert_allclose(t["commission"], [4.30] * 3, atol=1e-12)
    np.testing.assert_allclose(t["slippage"], [25.0] * 3, atol=1e-12)  # 2 sides * .25 * 50
    # per-bar mark-to-market equity on $100,000:
    # t0 0; t1 -2.15 + (101.5-101.25)*50 = 10.35; t2 -2.15 + 62.5 = 60.35; t3 70.70;
    # t4 70.70 - 2.15 + (103.75-101.5)*50 = 181.05; t5 68.55 + (103.75-99.5)*50 = 281.05;
    # t6 291.40 - 2.15 + (98.5-99.25)*50 = 251.75; t7 187.10
    expected = 100_000 + np.array([0, 10.35, 60.35, 70.70, 181.05, 281.05, 251.75, 187.10])
    np.testing.assert_allclose(res.equity.to_numpy(), expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(res.position.to_numpy(), [0, 1, 1, 0, -1, -1, 1, 1])
    assert res.daily_equity.iloc[-1] == pytest.approx(100_187.10, abs=1e-9)


def test_buy_hold_is_price_change_times_50_minus_costs():
    bars = walk_bars(500, seed=3)
    res = run_engine(bars, np.ones(len(bars)), BacktestConfig(slippage_ticks=1))
    entry = bars["open"].iloc[1] + 0.25
    exit_ = bars["close"].iloc[-1] - 0.25
    expected = (exit_ - entry) * 50 - 2 * 2.15
    assert res.equity.iloc[-1] - 100_000 == pytest.approx(expected, abs=1e-9)
    assert len(res.trades) == 1 and res.trades["reason"].iloc[0] == "end_of_data"


def test_zero_signal_zero_pnl_zero_costs():
    bars = walk_bars(300, seed=4)
    res = run_engine(bars, np.zeros(len(bars)), BacktestConfig(slippage_ticks=2, stop_ticks=4, target_ticks=8))
    assert len(res.trades) == 0
    assert (res.equity == 100_000).all()


def test_fill_at_next_open_not_signal_close():
    # Signal at t=1 would gain 10 points filled at close1 (100) and held to the end (110);
    # the engine can only fill at open2 = 110 (the gap happens between bars): it loses the costs.
    bars = ohlc_bars([(100, 100, 100, 100), (100, 100, 100, 100), (110, 110, 110, 110), (110, 110, 110, 110)])
    res = run_engine(bars, [0, 1, 1, 1], BacktestConfig(slippage_ticks=0))
    assert res.trades["entry_price"].iloc[0] == 110.0
    assert res.equity.iloc[-1] - 100_000 == pytest.approx(-4.30)


def test_peeking_signal_earns_nothing_when_moves_are_gaps():
    # All price moves happen between bars (open = close). A signal that knows the next close
    # would make sum(|moves|) * 50 if filled at its own bar's close; filled at the next open the
    # move it peeked at is already in the price, and it holds a stale sign into the next move.
    bars = walk_bars(2000, seed=5, gap_only=True)
    close = bars["close"].to_numpy()
    moves = np.diff(close, append=close[-1])
    peek = np.sign(moves)
    res = run_engine(bars, peek, BacktestConfig(slippage_ticks=0))
    gross = (res.trades["pnl"] + res.trades["commission"]).sum()
    lookahead = np.abs(moves).sum() * 50
    assert lookahead > 40_000
    assert abs(gross) < 0.05 * lookahead
    assert res.equity.iloc[-1] < 100_000


def test_stop_and_target_in_one_bar_fill_stop_first():
    # long enters at open1 = 100 (no slippage); stop 4 ticks = 1 point -> 99, target 8 ticks -> 102;
    # bar 1 trades 97..103: both could fill -> the stop fills at 99.
    bars = ohlc_bars([(100, 100, 100, 100), (100, 103, 97, 100), (100, 100, 100, 100)])
    res = run_engine(bars, [1, 1, 1], BacktestConfig(slippage_ticks=0, stop_ticks=4, target_ticks=8))
    t = res.trades.iloc[0]
    assert t["reason"] == "stop" and t["exit_price"] == 99.0
    assert t["pnl"] == pytest.approx(-1.0 * 50 - 4.30)
    assert len(res.trades) == 1  # not re-entered while the same signal holds


def test_target_fills_at_target_when_stop_untouched():
    bars = ohlc_bars([(100, 100, 100, 100), (100, 102.5, 99.5, 100), (100, 100, 100, 100)])
    res = run_engine(bars, [1, 1, 1], BacktestConfig(slippage_ticks=1, stop_ticks=8, target_ticks=8))
    t = res.trades.iloc[0]
    # entry 100.25, target 102.25 (< high 102.5), stop 98.25 (low 99.5 does not touch)
    assert t["reason"] == "target" and t["exit_price"] == 102.25


def test_stop_gapped_through_fills_at_open():
    bars = ohlc_bars([(100, 100, 100, 100), (100, 100.5, 99.5, 100), (95, 96, 94, 95)])
    res = run_engine(bars, [1, 1, 1], BacktestConfig(slippage_ticks=1, stop_ticks=4))
    t = res.trades.iloc[0]
    assert t["reason"] == "stop" and t["exit_price"] == 95.0 - 0.25


def test_roll_closes_on_old_contract_and_reopens_on_new():
    rows = [(100, 100, 100, 100), (100, 101, 99, 101), (101, 101, 101, 101),  # ESH4
            (120, 121, 119, 121), (121, 122, 121, 122)]                          # ESM4, +20 spread
    contracts = ["ESH4"] * 3 + ["ESM4"] * 2
    bars = ohlc_bars(rows, contracts=contracts)
    res = run_engine(bars, np.ones(5), BacktestConfig(slippage_ticks=0, roll="roll"))
    t = res.trades
    # old: 100 -> 101 (close of its last bar); new: open 120 -> last close 122; spread never counted
    np.testing.assert_array_equal(t["entry_price"], [100, 120])
    np.testing.assert_array_equal(t["exit_price"], [101, 122])
    assert list(t["reason"]) == ["roll", "end_of_data"]
    assert res.equity.iloc[-1] - 100_000 == pytest.approx((1 + 2) * 50 - 4 * 2.15)
    closed = run_engine(bars, np.ones(5), BacktestConfig(slippage_ticks=0, roll="close"))
    assert len(closed.trades) == 1 and closed.equity.iloc[-1] - 100_000 == pytest.approx(50 - 4.30)


def test_flat_at_session_end():
    rows = [(100, 100, 100, 100)] * 3 + [(105, 105, 105, 105)] * 3
    dates = ["2024-01-02"] * 3 + ["2024-01-03"] * 3
    bars = ohlc_bars(rows, trade_dates=dates)
    res = run_engine(bars, np.ones(6), BacktestConfig(slippage_ticks=0, flat_at_session_end=True))
    assert list(res.trades["reason"]) == ["session_end", "end_of_data"]
    assert res.trades["exit_time"].iloc[0] == bars.index[2]
    # the overnight gap of 5 points is not earned
    assert res.equity.iloc[-1] - 100_000 == pytest.approx(-4 * 2.15)


def test_position_limit_and_sizes():
    bars = ohlc_bars(BARS8)
    res = run_engine(bars, np.full(8, 5.0), BacktestConfig(slippage_ticks=0, max_position=2))
    assert res.trades["size"].iloc[0] == 2
    assert res.equity.iloc[-1] - 100_000 == pytest.approx(2 * (97.5 - 101.0) * 50 - 4 * 2.15)


def test_random_slippage_is_seeded_and_never_favourable():
    bars = walk_bars(3000, seed=6)
    cfg = BacktestConfig(slippage_ticks=1, random_slippage_ticks=0.5, seed=11)
    slip = slippage_points(bar_arrays(bars), cfg)
    assert (slip >= 0.25).all() and slip.mean() > 0.25
    np.testing.assert_array_equal(slip, slippage_points(bar_arrays(bars), cfg))
    sig = np.sign(np.sin(np.arange(len(bars)) / 7.0))
    base = run_engine(bars, sig, BacktestConfig(slippage_ticks=1))
    rnd = run_engine(bars, sig, cfg)
    assert rnd.equity.iloc[-1] < base.equity.iloc[-1]
    assert rnd.equity.iloc[-1] == run_engine(bars, sig, cfg).equity.iloc[-1]


def test_mes_is_one_tenth_of_es_before_costs():
    bars = walk_bars(400, seed=8)
    sig = np.sign(np.cos(np.arange(len(bars)) / 5.0))
    es = run_engine(bars, sig, BacktestConfig(contract=ES))
    mes = run_engine(bars, sig, BacktestConfig(contract=MES))
    gross_es = (es.trades["pnl"] + es.trades["commission"]).to_numpy()
    gross_mes = (mes.trades["pnl"] + mes.trades["commission"]).to_numpy()
    np.testing.assert_allclose(gross_mes * 10, gross_es, atol=1e-8)


@pytest.mark.parametrize("stop,target,flat", [(0, 0, False), (6, 10, False), (3, 3, True)])
def test_compiled_kernel_equals_plain_python(stop, target, flat):
    bars = walk_bars(1500, seed=9)
    a = bar_arrays(bars)
    rng = np.random.default_rng(2)
    sig = rng.integers(-1, 2, len(bars)).astype(np.float64)
    sig = np.repeat(sig[::10], 10)[:len(bars)]
    slip = np.full(len(bars), 0.25)
    end = np.zeros(len(bars), dtype=bool)
    end[::97] = True
    args = (a.open, a.high, a.low, a.close, sig, slip, a.roll_end, end, 50.0, 2.15, stop * 0.25, target * 0.25,
            flat, True, 1.0)
    for x, y in zip(simulate(*args), simulate_reference(*args)):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-9)
