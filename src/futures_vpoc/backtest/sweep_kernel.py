"""Many signal columns through the futures engine at once: one numba kernel, parallel over columns.

Each column runs the engine's own per-bar step (:func:`futures_vpoc.backtest.kernels.bar_step`,
the rules :func:`~futures_vpoc.backtest.kernels.simulate` applies) over the same bars, and folds what
the statistics need as it goes, so nothing of size bars x columns is stored but the signals:

* the trade totals of :data:`futures_vpoc.backtest.stats.TOTALS`, summed in trade order with
  Neumaier's compensation (the single engine's statistics sum the same numbers pairwise with numpy:
  the two agree to rounding, within 1e-12 of the sum of the terms' magnitudes);
* the drawdown of the equity with the initial capital before the first bar ($ and % of the running
  peak) and the longest spell under the peak of the per-bar equity, in the stamps' integer units,
  by the same element-wise arithmetic as :func:`futures_vpoc.backtest.stats.drawdown` (exact: the %
  drawdown is divided out only where the $ drawdown reaches a new low under the same peak, the only
  bars where it can, since rounded division by a fixed peak is monotone);
* the exposure (bars held) and the equity [$] at each trade date's last close (exact).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from futures_vpoc.backtest.kernels import MAX_TRADES_PER_BAR, bar_step, new_book

ACC_FIELDS = ("final_usd", "max_drawdown_usd", "max_drawdown_pct", "exposed_bars", "trades", "wins", "losses",
              "win_usd", "loss_usd", "contracts", "notional_points", "commission_usd", "slippage_usd",
              "long_trades", "long_pnl_usd", "short_pnl_usd")
"""Columns of the kernel's per-signal totals: final equity [$], max drawdown [$, % of peak, both >= 0],
bars held, trade count, wins, losses, summed winning and (positive) losing net P&L [$], contracts
traded (one side), notional [contracts x points, entry plus exit], commission and slippage [$], long
trades and the net P&L [$] of long and short trades."""
(FINAL, DD_USD, DD_PCT, EXPOSED, TRADES, WINS, LOSSES, WIN_USD, LOSS_USD, CONTRACTS, NOTIONAL, COMMISSION,
 SLIPPAGE, LONGS, LONG_PNL, SHORT_PNL) = range(len(ACC_FIELDS))


@njit(cache=True, nogil=True, _nrt=False)
def _add(acc, comp, f, x):
    """``acc[f] += x`` with Neumaier's compensation kept in ``comp[f]`` (exact to rounding of the total)."""
    s = acc[f]
    t = s + x
    if abs(s) >= abs(x):
        comp[f] += (s - t) + x
    else:
        comp[f] += (x - t) + s
    acc[f] = t


@njit(cache=True, nogil=True, _nrt=False)
def _fold_trade(acc, comp, trades, i):
    """Add closed trade ``trades[i]`` (:data:`~futures_vpoc.backtest.kernels.TRADE_FIELDS`) to ``acc``."""
    pnl = trades[i, 8]
    size = trades[i, 3]
    acc[TRADES] += 1.0
    if pnl > 0:
        acc[WINS] += 1.0
        _add(acc, comp, WIN_USD, pnl)
    elif pnl < 0:
        acc[LOSSES] += 1.0
        _add(acc, comp, LOSS_USD, -pnl)
    _add(acc, comp, CONTRACTS, size)
    _add(acc, comp, NOTIONAL, size * (abs(trades[i, 4]) + abs(trades[i, 5])))
    _add(acc, comp, COMMISSION, trades[i, 6])
    _add(acc, comp, SLIPPAGE, trades[i, 7])
    if trades[i, 2] > 0:
        acc[LONGS] += 1.0
        _add(acc, comp, LONG_PNL, pnl)
    else:
        _add(acc, comp, SHORT_PNL, pnl)


@njit(cache=True, nogil=True, _nrt=False)
def _run_column(open_, high, low, close, signal, slip, roll_end, session_end, rules, capital, stamps, day_slot,
                acc, daily, trades, comp):
    """One signal column: fill ``acc`` and ``daily`` in place, return the longest drawdown [stamp units].

    ``trades`` (MAX_TRADES_PER_BAR, 10) and ``comp`` (zeros, like ``acc``) are scratch the caller
    allocates: compiled without reference counting (``_nrt=False``, it allocates nothing), the per-bar
    loop pays no atomic increment and decrement of every array it hands to the inlined step and the
    folds, which cost four times the accounting itself (18 -> 4 ns a bar, one core).
    """
    n = len(close)
    book = new_book()
    peak = capital  # running peak of [capital, equity...]: the drawdown in $ and %
    min_dd = 0.0
    min_pct = 0.0
    spell_dd = 0.0  # lowest $ drawdown under the current peak
    bar_peak = 0.0  # running peak of the bars' equity alone: the drawdown's duration
    under = False
    spell_start = 0
    longest = 0
    exposed = 0
    equity = capital
    for t in range(n):
        want = float(signal[t - 1]) if t > 0 else 0.0
        flat_prev = session_end[t - 1] if t > 0 else False
        book, k, held, pnl = bar_step(t, t == n - 1, want, flat_prev, open_[t], high[t], low[t], close[t], slip[t],
                                      roll_end[t], session_end[t], rules, book, trades, 0)
        for i in range(k):
            _fold_trade(acc, comp, trades, i)
        if held != 0.0:
            exposed += 1
        equity = capital + pnl
        if equity >= peak:  # a new peak: both drawdowns are 0 (the minimum's start) and a new spell begins
            peak = equity
            spell_dd = 0.0
        else:
            dd = equity - peak
            if dd < spell_dd:  # under one peak the % drawdown falls only where the $ drawdown does
                spell_dd = dd
                min_dd = min(min_dd, dd)
                if peak > 0:
                    min_pct = min(min_pct, 100.0 * dd / peak)
        bar_peak = equity if t == 0 else max(bar_peak, equity)
        now_under = equity < bar_peak
        if now_under and not under:
            spell_start = stamps[t - 1]
        elif under and not now_under:
            longest = max(longest, stamps[t] - spell_start)
        under = now_under
        if day_slot[t] >= 0:
            daily[day_slot[t]] = equity
    if under:
        longest = max(longest, stamps[n - 1] - spell_start)
    for f in range(len(acc)):
        acc[f] += comp[f]
    acc[FINAL] = equity
    acc[DD_USD] = -min_dd
    acc[DD_PCT] = -min_pct
    acc[EXPOSED] = exposed
    return longest


@njit(cache=True, nogil=True, parallel=True)
def simulate_columns(open_, high, low, close, signals, slip, roll_end, session_end, rules, capital, stamps, day_slot,
                     n_days):
    """Simulate every row of ``signals`` on the same bars; the columns run in parallel.

    Parameters
    ----------
    open_, high, low, close, slip, roll_end, session_end
        As :func:`futures_vpoc.backtest.kernels.simulate_reference`, shape (n,).
    signals : int8 array, shape (m, n)
        One signal per row: target position [contracts] decided at each bar's close.
    rules : futures_vpoc.backtest.kernels.Rules
    capital : float
        Initial capital [$].
    stamps : int64 array, shape (n,)
        Bar times (integer units of the bar index, e.g. ns), for the drawdown's duration.
    day_slot : int64 array, shape (n,)
        Trade-date slot whose equity bar ``t``'s close sets (``-1``: none; the last write wins).
    n_days : int
        Number of slots.

    Returns
    -------
    acc : float64 array, shape (m, len(ACC_FIELDS))
        Per-signal totals (:data:`ACC_FIELDS`).
    longest : int64 array, shape (m,)
        Longest spell under the running peak of the per-bar equity [stamp units].
    daily : float64 array, shape (m, n_days)
        Equity [$] at each slot's last close.
    """
    m = signals.shape[0]
    acc = np.zeros((m, len(ACC_FIELDS)))
    longest = np.zeros(m, dtype=np.int64)
    daily = np.full((m, n_days), np.nan)
    for j in prange(m):
        trades = np.empty((MAX_TRADES_PER_BAR, 10))
        comp = np.zeros(len(ACC_FIELDS))
        longest[j] = _run_column(open_, high, low, close, signals[j], slip, roll_end, session_end, rules, capital,
                                 stamps, day_slot, acc[j], daily[j], trades, comp)
    return acc, longest, daily
