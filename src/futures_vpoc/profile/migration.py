"""VPOC migration between completed sessions.

Row ``s`` describes the move from session ``s - 1`` to session ``s`` and is known once session
``s`` is complete (use it from the next session on). A move across a contract change is not a
migration: the two VPOCs are prices of different contracts (a raw roll jumps by the calendar
spread). There the change is NaN, the direction 0, the streak restarts, and a regression window
that holds sessions of two contracts gives NaN. Sessions without volume (NaN VPOC) behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from futures_vpoc.errors import DataError
from futures_vpoc.profile.session import SessionProfiles

MIGRATION_COLUMNS = ("trade_date", "contract", "vpoc", "change_ticks", "change_pct", "direction", "streak",
                     "slope", "r2")
RUN_COLUMNS = ("start_date", "end_date", "contract", "direction", "moves", "vpoc_start", "vpoc_end",
               "change_ticks")


@dataclass(frozen=True, eq=False)
class Migration:
    """VPOC migration of a session table.

    Attributes
    ----------
    table : pandas.DataFrame, index ``session``
        ``trade_date``, ``contract``, ``vpoc`` (points); ``change_ticks`` (VPOC minus the previous
        session's, ticks; NaN at the first session, at a roll, or without volume); ``change_pct``
        (the same in percent of the previous VPOC); ``direction`` (int8: +1 up / -1 down when
        ``|change_ticks| >= min_ticks``, else 0); ``streak`` (int: signed count of consecutive
        moves in the current direction, 0 on no move); ``slope`` (least-squares slope of the VPOC
        on the session number over the last ``window`` sessions, points per session) and ``r2``
        (its R squared; NaN when the VPOCs in the window are all equal). ``slope``/``r2`` are NaN
        until ``window`` sessions of one contract exist.
    runs : pandas.DataFrame
        Migration runs: ``min_run`` or more consecutive moves in one direction. ``start_date`` is
        the session the run starts from (the VPOC before the first move), ``end_date`` its last
        session; ``moves``, ``vpoc_start``, ``vpoc_end``, ``change_ticks``, ``direction``.
    window, min_ticks, min_run : int
        The settings used.
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    window: int
    min_ticks: int
    min_run: int


def _changes(vpoc: np.ndarray, contract: np.ndarray, tick: float) -> tuple[np.ndarray, np.ndarray]:
    prev = np.r_[np.nan, vpoc[:-1]]
    same = np.r_[False, contract[1:] == contract[:-1]]
    ok = same & np.isfinite(prev) & np.isfinite(vpoc)
    diff = np.where(ok, vpoc - np.where(ok, prev, 0.0), np.nan)
    denom = np.where(ok & (prev != 0), prev, np.nan)
    return diff / tick, 100.0 * diff / denom


def _streaks(direction: np.ndarray) -> np.ndarray:
    streak = np.zeros(len(direction), np.int64)
    for s in range(len(direction)):
        d = int(direction[s])
        if d != 0 and s > 0 and direction[s - 1] == d:
            streak[s] = streak[s - 1] + d
        else:
            streak[s] = d
    return streak


def _regression(vpoc: np.ndarray, contract: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling OLS of the VPOC on 0..window-1: slope and R^2 (NaN where undefined)."""
    n = len(vpoc)
    slope = np.full(n, np.nan)
    r2 = np.full(n, np.nan)
    if n < window or window < 2:
        return slope, r2
    codes = pd.factorize(contract)[0]
    y = sliding_window_view(vpoc, window)
    c = sliding_window_view(codes, window)
    ok = np.isfinite(y).all(axis=1) & (c == c[:, :1]).all(axis=1)
    y = np.where(ok[:, None], y, 0.0)
    x = np.arange(window) - (window - 1) / 2.0
    yc = y - y.mean(axis=1, keepdims=True)
    b = yc @ x / (x @ x)
    ss_tot = (yc**2).sum(axis=1)
    ss_res = ((yc - b[:, None] * x) ** 2).sum(axis=1)
    good = ss_tot > 0
    slope[window - 1:] = np.where(ok, b, np.nan)
    r2[window - 1:] = np.where(ok & good, 1.0 - ss_res / np.where(good, ss_tot, 1.0), np.nan)
    return slope, r2


def _runs(table: pd.DataFrame, min_run: int) -> pd.DataFrame:
    # plain arrays: reading cells through .iat/.iloc cost ~0.1 s per 1M bars of sessions
    d = table["direction"].to_numpy()
    vpoc, ticks = table["vpoc"].to_numpy(), table["change_ticks"].to_numpy(np.float64)
    day, contract = table["trade_date"].to_numpy(), table["contract"].to_numpy()
    rows = []
    s = 0
    while s < len(d):
        if d[s] == 0:
            s += 1
            continue
        e = s
        while e + 1 < len(d) and d[e + 1] == d[s]:
            e += 1
        if e - s + 1 >= min_run:
            rows.append((day[s - 1], day[e], contract[e], int(d[s]), e - s + 1, vpoc[s - 1], vpoc[e],
                         float(ticks[s: e + 1].sum())))
        s = e + 1
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


def vpoc_migration(sessions: SessionProfiles, window: int = 10, min_ticks: int = 1, min_run: int = 3) -> Migration:
    """VPOC change, direction, streak, rolling trend and migration runs of completed sessions.

    Parameters
    ----------
    sessions : SessionProfiles
        Finished sessions (any scope).
    window : int
        Sessions in the rolling least-squares fit (>= 2).
    min_ticks : int
        Smallest |change| in ticks that counts as a move (>= 1).
    min_run : int
        Moves in one direction that make a run (>= 2).

    Returns
    -------
    Migration
    """
    if window < 2 or min_ticks < 1 or min_run < 2:
        raise DataError("migration needs window >= 2, min_ticks >= 1 and min_run >= 2",
                        value=(window, min_ticks, min_run))
    t = sessions.table
    vpoc = t["vpoc"].to_numpy(np.float64)
    contract = t["contract"].to_numpy(dtype=object)
    ticks, pct = _changes(vpoc, contract, sessions.spec.tick)
    with np.errstate(invalid="ignore"):
        direction = np.where(ticks >= min_ticks, 1, np.where(ticks <= -min_ticks, -1, 0)).astype(np.int8)
    slope, r2 = _regression(vpoc, contract, window)
    table = pd.DataFrame({
        "trade_date": t["trade_date"], "contract": t["contract"], "vpoc": vpoc, "change_ticks": ticks,
        "change_pct": pct, "direction": direction, "streak": _streaks(direction), "slope": slope, "r2": r2,
    }, index=t.index)
    return Migration(table, _runs(table, min_run), window, min_ticks, min_run)
