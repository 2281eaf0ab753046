"""Signal builders: each returns the target position [contracts] decided at every bar's close.

A signal at bar ``t`` uses only bars ``<= t`` (and, for ``model``, the probability predicted for
bar ``t``); the engine fills it at bar ``t+1``'s open. Nothing here gates on full-sample numbers.
Moving averages and profile levels restart at every contract change, so no rule reads a price
across a roll.

Holding rules (:data:`futures_vpoc.backtest.spec.SESSION_SCOPED`): ``model``, ``vpoc_reversion``
and ``vpoc_breakout`` are session-scoped, and the engine makes them flat at each session end (exit
at the close of the session's last bar, no entry on that bar's signal); the signals here do not
look at where a session ends, which only the whole bar series would tell. ``buy_hold`` and
``ma_cross`` hold overnight and over weekends. On daily bars every bar is a whole session and no
strategy is flattened.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from futures_vpoc.backtest.spec import RULE_STRATEGIES, STRATEGIES  # noqa: F401 - defined in spec, for the parser
from futures_vpoc.errors import UsageError


@njit(cache=True)
def _hold(raw, horizon):
    """Enter on a non-zero raw signal, hold ``horizon`` bars after the last confirming one."""
    out = np.zeros(len(raw))
    pos = 0.0
    age = 0
    for t in range(len(raw)):
        r = raw[t]
        if r != 0.0:
            pos = r
            age = 0
        elif pos != 0.0:
            age += 1
            if age >= horizon:
                pos = 0.0
        out[t] = pos
    return out


def model_signal(probability, theta: float = 0.0, horizon: int = 1) -> np.ndarray:
    """Long above ``0.5 + theta``, short below ``0.5 - theta``, flat between.

    Parameters
    ----------
    probability : array-like, shape (n,)
        Predicted P(up) per bar, as the trained model emitted it (never rescaled here); NaN =
        no prediction = no new position.
    theta : float
        Dead band half-width, in [0, 0.5).
    horizon : int
        Bars a position is held after the last prediction that confirmed it (the label
        horizon); an opposite prediction flips it earlier.

    Notes
    -----
    Session-scoped: on intraday bars the engine flattens it at each session end, as its label
    never crosses one (:data:`futures_vpoc.backtest.spec.SESSION_SCOPED`).
    """
    if not 0 <= theta < 0.5:
        raise UsageError(f"--theta {theta!r} must be in [0, 0.5)")
    if int(horizon) < 1:
        raise UsageError(f"horizon {horizon!r} must be >= 1 bar")
    p = np.asarray(probability, dtype=np.float64)
    raw = np.where(p > 0.5 + theta, 1.0, np.where(p < 0.5 - theta, -1.0, 0.0))
    raw[~np.isfinite(p)] = 0.0
    return _hold(raw, int(horizon))


def _segments(bars: pd.DataFrame) -> np.ndarray:
    c = bars["contract"].to_numpy()
    change = np.ones(len(c), dtype=bool)
    change[1:] = c[1:] != c[:-1]
    return np.cumsum(change)


def buy_hold(bars: pd.DataFrame) -> np.ndarray:
    """Long one contract throughout (enters at the second bar's open, rolled at each contract change).

    Holds overnight and over weekends (not session-scoped) unless the backtest forces every
    strategy flat at each session end.
    """
    return np.ones(len(bars))


def _segment_mean(x: np.ndarray, seg: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean of ``window`` values within each segment; NaN until the window is full."""
    s = pd.Series(x)
    return s.groupby(seg).rolling(window, min_periods=window).mean().to_numpy()


def ma_cross(bars: pd.DataFrame, fast: int = 60, slow: int = 240) -> np.ndarray:
    """Long when the ``fast``-bar mean close is above the ``slow``-bar mean, short when below.

    Means restart at each contract change (flat until the slow window fills). Holds overnight and
    over weekends (not session-scoped) unless the backtest forces every strategy flat.
    """
    if not 1 <= fast < slow:
        raise UsageError(f"ma_cross needs 1 <= fast < slow bars, got {fast}, {slow}")
    seg = _segments(bars)
    close = bars["close"].to_numpy(dtype=np.float64)
    f, s = _segment_mean(close, seg, fast), _segment_mean(close, seg, slow)
    ok = np.isfinite(f) & np.isfinite(s)
    diff = np.where(ok, f - s, 0.0)
    return np.sign(diff)


@njit(cache=True)
def _level_rules(close, val, vah, vpoc, session, mode, confirm):
    out = np.zeros(len(close))
    pos = 0.0
    above = 0
    below = 0
    for t in range(len(close)):
        if t > 0 and session[t] != session[t - 1]:
            pos = 0.0
            above = 0
            below = 0
        c = close[t]
        if not (np.isfinite(val[t]) and np.isfinite(vah[t]) and np.isfinite(vpoc[t])):
            out[t] = 0.0
            pos = 0.0
            continue
        above = above + 1 if c > vah[t] else 0
        below = below + 1 if c < val[t] else 0
        if mode == 0:  # reversion: fade a move outside the prior VA back to the prior VPOC
            if pos > 0 and c >= vpoc[t]:
                pos = 0.0
            elif pos < 0 and c <= vpoc[t]:
                pos = 0.0
            if pos == 0.0:
                if below >= confirm:
                    pos = 1.0
                elif above >= confirm:
                    pos = -1.0
        else:  # breakout: follow acceptance outside the prior VA, leave when back inside
            if pos > 0 and c <= vah[t]:
                pos = 0.0
            elif pos < 0 and c >= val[t]:
                pos = 0.0
            if pos == 0.0:
                if above >= confirm:
                    pos = 1.0
                elif below >= confirm:
                    pos = -1.0
        out[t] = pos
    return out


def _levels(bars: pd.DataFrame, table: pd.DataFrame | None):
    if table is None:
        from futures_vpoc.profile import developing_profile

        table = developing_profile(bars, prior=True).table
    table = table.reindex(bars.index)
    get = lambda c: np.ascontiguousarray(table[c].to_numpy(dtype=np.float64))  # noqa: E731
    return get("prev_val"), get("prev_vah"), get("prev_vpoc"), _session_ids(bars)


def _session_ids(bars: pd.DataFrame) -> np.ndarray:
    td = pd.DatetimeIndex(bars["trade_date"]).asi8
    change = np.ones(len(td), dtype=bool)
    change[1:] = (td[1:] != td[:-1]) | (bars["contract"].to_numpy()[1:] != bars["contract"].to_numpy()[:-1])
    return np.cumsum(change).astype(np.int64)


def vpoc_reversion(bars: pd.DataFrame, table: pd.DataFrame | None = None, confirm: int = 1) -> np.ndarray:
    """Fade a close outside the prior session's value area back toward the prior VPOC.

    Long after ``confirm`` closes below the prior VAL, short after ``confirm`` closes above the
    prior VAH; exit when the close reaches the prior VPOC or the session ends (session-scoped:
    the engine exits at the close of the session's last bar, see the module notes). Levels are the
    previous *completed* session's (``prev_val``, ``prev_vah``, ``prev_vpoc`` of
    :func:`futures_vpoc.profile.developing_profile`), known before the session starts.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame.
    table : pandas.DataFrame, optional
        ``developing_profile(bars, prior=True).table`` when already computed.
    confirm : int
        Consecutive closes outside the area required [bars].
    """
    val, vah, vpoc, session = _levels(bars, table)
    close = bars["close"].to_numpy(dtype=np.float64)
    return _level_rules(close, val, vah, vpoc, session, 0, int(confirm))


def vpoc_breakout(bars: pd.DataFrame, table: pd.DataFrame | None = None, confirm: int = 30) -> np.ndarray:
    """Follow acceptance outside the prior value area: ``confirm`` closes above VAH → long
    (below VAL → short), exit when the close is back inside the area or the session ends
    (session-scoped, like :func:`vpoc_reversion`)."""
    val, vah, vpoc, session = _levels(bars, table)
    close = bars["close"].to_numpy(dtype=np.float64)
    return _level_rules(close, val, vah, vpoc, session, 1, int(confirm))


def random_like(positions, n: int, seed: int) -> np.ndarray:
    """A random signal with the same trades (count, holding bars, sides) as a reference.

    Parameters
    ----------
    positions : array-like, shape (n,)
        The reference strategy's held position per bar (``EngineResult.position``).
    n : int
        Number of bars.
    seed : int

    Returns
    -------
    numpy.ndarray
        Signal (target decided at each close) whose held positions are the reference's
        holding spells, shuffled in order and placed at random non-overlapping start bars.
    """
    held = np.asarray(positions, dtype=np.float64)
    change = np.flatnonzero(np.diff(np.concatenate(([0.0], held, [0.0]))) != 0)
    starts, ends = change[:-1], change[1:]
    keep = held[starts] != 0
    starts, ends = starts[keep], ends[keep]
    durations, sides = ends - starts, held[starts]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(durations))
    durations, sides = durations[order], sides[order]
    free = (n - 1) - int(durations.sum())  # bar 0 can never be held
    if len(durations) == 0 or free < 0:
        return np.zeros(n)
    gaps = np.diff(np.sort(rng.integers(0, free + 1, len(durations))), prepend=0)
    starts = 1 + np.cumsum(gaps) + np.cumsum(durations) - durations
    step = np.zeros(n + 1)
    np.add.at(step, starts, sides)
    np.add.at(step, starts + durations, -sides)
    want = np.cumsum(step[:n])
    sig = np.zeros(n)
    sig[:-1] = want[1:]
    return sig
