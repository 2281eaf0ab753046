"""The bar-by-bar futures simulation: one per-bar step, run by a plain loop and by numba.

:func:`bar_step` holds every accounting rule for one bar; it is a plain Python function that
numba compiles into whatever compiled kernel calls it (``numba.extending.register_jitable``).
:func:`simulate_reference` is the readable loop over the bars (pure Python, the benchmark's
baseline) and :func:`simulate` is the same loop compiled by numba, so the two apply identical rules
(``tests/test_backtest_engine.py`` proves them equal); the many-signal sweep
(:mod:`futures_vpoc.backtest.sweep_kernel`) runs the same step on every column. Rules, per bar ``t``:

1. **Open.** The target position decided at bar ``t-1``'s close (``signal[t-1]``) is executed
   at ``open[t]``: a long fill pays ``open + slip[t]``, a short fill gets ``open - slip[t]``
   (slippage [points] is always adverse). A change of target first exits the open trade, then
   enters the new one. After a stop, target or a closing roll, the same target is not
   re-entered until the signal changes (no churn back into a stopped trade). When
   ``flat_session``, the target decided at a session's last close (``session_end[t-1]``) is
   flat: no position opens on the last bar's signal, so a session's first bar is never held.
2. **Inside the bar**, along a conservative open-high-low-close path: a stop gapped through at
   the open fills at the open minus slippage; a stop touched (``low <= stop`` for a long) fills
   at the stop minus slippage; otherwise a target traded through (``high > target`` for a long)
   fills at the target (limit order, no slippage). When stop and target could both fill in one
   bar, the stop fills. A long's stop is below its entry and a short's above.
3. **Close.** Mark to market at ``close[t]``.
4. **Forced exits at the close** (scheduled, so known in advance): the last bar of a contract
   (``roll_end``), the last bar of a session (``session_end``) when ``flat_session``, and the last
   bar of the data, each at ``close[t]`` minus slippage. At a roll the position is reopened on the new contract
   at its first open (paying both sides) when ``roll_reopen`` and the signal still holds it.

Money: P&L = side × size × (exit − entry) [points] × ``multiplier`` [$/point], from raw
prices of one contract only; ``cost_side`` [$] per contract per side is charged when each side
fills, so the per-bar equity is exact at every close.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

SIGNAL, STOP, TARGET, SESSION_END, ROLL, END_OF_DATA = 0, 1, 2, 3, 4, 5
EXIT_REASONS = ("signal", "stop", "target", "session_end", "roll", "end_of_data")
TRADE_FIELDS = ("entry_bar", "exit_bar", "side", "size", "entry_price", "exit_price",
                "commission", "slippage", "pnl", "reason")
MAX_TRADES_PER_BAR = 2
"""A bar closes at most two trades: one at the open (signal) and the one entered there (stop,
target or forced exit at the close)."""

Book = namedtuple("Book", ("pos", "entry_px", "entry_bar", "entry_slip", "stop_px", "target_px", "realized",
                           "blocked", "block_val"))
"""What the step carries from bar to bar: position [contracts, signed], entry fill [points], entry
bar [index], entry slippage [points], stop and target prices [points], realized net P&L [$], and the
no-re-entry block (``blocked``, the blocked target ``block_val`` [contracts])."""

Rules = namedtuple("Rules", ("mult", "cost_side", "stop_pts", "target_pts", "flat_session", "roll_reopen",
                             "max_pos"))
"""The accounting settings of :func:`simulate_reference` (see its parameters), fixed for a run."""


@register_jitable
def new_book():
    """The flat book a simulation starts from."""
    return Book(0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0, False, 0.0)


@register_jitable
def _book_exit(trades, k, entry_bar, t, side, size, entry_px, px, cost_side, slip_ticks_px, mult, reason):
    """Write closed trade ``k`` into ``trades`` and return its gross P&L in dollars.

    One booking routine for every exit (signal, stop, target, roll, session end, end of data), so
    the three exit paths of :func:`bar_step` cannot drift apart. ``slip_ticks_px`` is the entry plus
    exit slippage in points; dollars = points x size x ``mult``.
    """
    gross = side * size * (px - entry_px) * mult
    trades[k, 0] = entry_bar
    trades[k, 1] = t
    trades[k, 2] = side
    trades[k, 3] = size
    trades[k, 4] = entry_px
    trades[k, 5] = px
    trades[k, 6] = 2.0 * size * cost_side
    trades[k, 7] = slip_ticks_px * size * mult
    trades[k, 8] = gross - 2.0 * size * cost_side
    trades[k, 9] = reason
    return gross


@register_jitable(inline="always")
def bar_step(t, last, want, flat_prev, open_t, high_t, low_t, close_t, slip_t, roll_end_t, session_end_t, rules,
             book, trades, k):
    """Apply the rules of bar ``t`` (module docstring, steps 1-4) to ``book``.

    The one copy of the accounting rules: :func:`simulate_reference` (hence :func:`simulate`) and the
    many-signal kernel (:mod:`futures_vpoc.backtest.sweep_kernel`) call it once per bar. It takes
    bar ``t``'s values as scalars, never the arrays, and numba inlines it into its caller
    (``inline="always"``), so the book stays in registers and the compiled loop runs as fast as one
    function holding the whole loop (a called step taking the arrays ran at about half that speed).

    Parameters
    ----------
    t : int
        Bar index (recorded as the entry and exit bar of trades).
    last : bool
        Bar ``t`` is the last bar of the data (a forced exit at its close).
    want : float
        Target position [contracts] decided at bar ``t - 1``'s close (``signal[t - 1]``; ignored at
        ``t == 0``).
    flat_prev : bool
        Bar ``t - 1`` ends a session to flatten at (``session_end[t - 1]``; False at ``t == 0``).
    open_t, high_t, low_t, close_t : float
        Bar ``t``'s prices [points].
    slip_t : float
        Adverse slippage of a market or stop fill at bar ``t`` [points, >= 0].
    roll_end_t, session_end_t : bool
        Bar ``t`` is the last of its contract / a session end to flatten at.
    rules : Rules
    book : Book
        The state after bar ``t - 1`` (:func:`new_book` before bar 0).
    trades : float64 array, shape (m, 10)
        Closed trades are written at rows ``k``, ``k + 1`` (at most :data:`MAX_TRADES_PER_BAR` per bar).
    k : int
        Next free row of ``trades``.

    Returns
    -------
    (book, k, held, pnl) : tuple
        The state after bar ``t``, the next free row, the position [contracts] carried through the
        bar (after the open's fill) and the cumulative net P&L [$] at its close (mark to market).
    """
    pos, entry_px, entry_bar, entry_slip, stop_px, target_px, realized, blocked, block_val = book
    mult, cost_side, stop_pts, target_pts, flat_session, roll_reopen, max_pos = rules
    # 1. open: execute the target decided at t-1's close
    if t > 0:
        if want > max_pos:
            want = max_pos
        elif want < -max_pos:
            want = -max_pos
        if flat_session and flat_prev:
            want = 0.0  # decided at a session's last close: flat across the break
        if blocked:
            if want == block_val:
                want = 0.0
            else:
                blocked = False
        if want != pos:
            if pos != 0.0:
                side = 1.0 if pos > 0 else -1.0
                size = abs(pos)
                px = open_t - side * slip_t
                gross = _book_exit(trades, k, entry_bar, t, side, size, entry_px, px, cost_side,
                                   entry_slip + slip_t, mult, SIGNAL)
                realized += gross - size * cost_side
                k += 1
                pos = 0.0
            if want != 0.0:
                side = 1.0 if want > 0 else -1.0
                pos = want
                entry_px = open_t + side * slip_t
                entry_slip = slip_t
                entry_bar = t
                realized -= abs(want) * cost_side
                stop_px = entry_px - side * stop_pts
                target_px = entry_px + side * target_pts
    held = pos
    # 2. inside the bar: stop first, then target
    if pos != 0.0:
        side = 1.0 if pos > 0 else -1.0
        reason = -1
        px = 0.0
        if stop_pts > 0.0:
            if side > 0 and open_t <= stop_px:
                reason = STOP
                px = open_t - slip_t
            elif side < 0 and open_t >= stop_px:
                reason = STOP
                px = open_t + slip_t
            elif side > 0 and low_t <= stop_px:
                reason = STOP
                px = stop_px - slip_t
            elif side < 0 and high_t >= stop_px:
                reason = STOP
                px = stop_px + slip_t
        if reason < 0 and target_pts > 0.0:
            if (side > 0 and high_t > target_px) or (side < 0 and low_t < target_px):
                reason = TARGET
                px = target_px
        if reason >= 0:
            size = abs(pos)
            exit_slip = slip_t if reason == STOP else 0.0
            gross = _book_exit(trades, k, entry_bar, t, side, size, entry_px, px, cost_side,
                               entry_slip + exit_slip, mult, reason)
            realized += gross - size * cost_side
            k += 1
            blocked = True
            block_val = pos
            pos = 0.0
    # 4. forced exits at the close (scheduled)
    if pos != 0.0:
        reason = -1
        if last:
            reason = END_OF_DATA
        elif roll_end_t:
            reason = ROLL
        elif flat_session and session_end_t:
            reason = SESSION_END
        if reason >= 0:
            side = 1.0 if pos > 0 else -1.0
            size = abs(pos)
            px = close_t - side * slip_t
            gross = _book_exit(trades, k, entry_bar, t, side, size, entry_px, px, cost_side,
                               entry_slip + slip_t, mult, reason)
            realized += gross - size * cost_side
            k += 1
            if reason == ROLL and not roll_reopen:
                blocked = True
                block_val = pos
            pos = 0.0
    # 3. mark to market at the close
    pnl = realized + pos * (close_t - entry_px) * mult if pos != 0.0 else realized
    book = Book(pos, entry_px, entry_bar, entry_slip, stop_px, target_px, realized, blocked, block_val)
    return book, k, held, pnl


def simulate_reference(open_, high, low, close, signal, slip, roll_end, session_end, mult, cost_side,
                       stop_pts, target_pts, flat_session, roll_reopen, max_pos):
    """Simulate one signal series on one bar series.

    Parameters
    ----------
    open_, high, low, close : float64 arrays, shape (n,)
        Raw contract prices [points].
    signal : float64 array, shape (n,)
        Target position [contracts, signed integer values] decided at bar ``t``'s close.
    slip : float64 array, shape (n,)
        Adverse slippage [points, >= 0] of a market or stop fill at bar ``t``.
    roll_end, session_end : bool arrays, shape (n,)
        Last bar of its contract / of a session to flatten at (the engine passes the last bar of
        every session of two bars or more, :attr:`futures_vpoc.backtest.engine.BarArrays.flat_bars`).
    mult : float
        Contract multiplier [$ per point].
    cost_side : float
        Commission and fees per contract per side [$].
    stop_pts, target_pts : float
        Stop and target distance from the entry fill [points]; ``<= 0`` disables.
    flat_session, roll_reopen : bool
        Flatten at each session's last close (and open nothing on its signal); reopen rolled
        positions on the new contract.
    max_pos : float
        Position limit [contracts]; targets are clipped to ``[-max_pos, max_pos]``.

    Returns
    -------
    equity : float64 array, shape (n,)
        Cumulative net P&L [$] at each close (mark to market).
    held : float64 array, shape (n,)
        Position [contracts] after the open's fill (the position carried through the bar).
    trades : float64 array, shape (k, 10)
        One row per trade, columns :data:`TRADE_FIELDS` (bars as indices; reason a code of
        :data:`EXIT_REASONS`; commission, slippage, pnl in $).
    """
    n = len(close)
    equity = np.empty(n)
    held = np.empty(n)
    trades = np.empty((n + 1, 10))  # untouched rows are never paged in
    rules = Rules(mult, cost_side, stop_pts, target_pts, flat_session, roll_reopen, max_pos)
    book = new_book()
    k = 0
    for t in range(n):
        want = float(signal[t - 1]) if t > 0 else 0.0
        flat_prev = session_end[t - 1] if t > 0 else False
        book, k, held[t], equity[t] = bar_step(t, t == n - 1, want, flat_prev, open_[t], high[t], low[t], close[t],
                                               slip[t], roll_end[t], session_end[t], rules, book, trades, k)
    return equity, held, trades[:k].copy()


simulate = njit(cache=True, nogil=True)(simulate_reference)
