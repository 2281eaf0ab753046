"""Trade date and RTH of every trade, from the Globex calendar of its minute.

Sessions, halts and RTH all start and end on whole minutes, so a trade belongs where its minute
(``ts // 60 s``) belongs; the calendar is asked once per distinct minute, not once per trade
(a year of ES prints touches ~350,000 minutes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from futures_vpoc.calendar import SessionHours, assign_sessions
from futures_vpoc.data.formats.linemap import fail
from futures_vpoc.data.trades.chunk import Repairs, Trades, where

MINUTE_NS = 60_000_000_000
NO_DATE = np.iinfo(np.int64).min
"""Trade-date value of a trade outside every session (datetime64[ns] NaT as an integer)."""


@dataclass(frozen=True)
class TradeSessions:
    """Per-trade calendar facts of one chunk.

    Attributes
    ----------
    trade_date : numpy.ndarray of int64, shape (n,)
        CME trade date as datetime64[ns] integers (naive midnight); :data:`NO_DATE` outside sessions.
    rth : numpy.ndarray of bool, shape (n,)
        Inside the trade date's regular trading hours.
    in_session : numpy.ndarray of bool, shape (n,)
        False in the daily halt, on a weekend, a holiday or after an early close.
    """

    trade_date: np.ndarray
    rth: np.ndarray
    in_session: np.ndarray


@njit(cache=True, nogil=True)
def _minute_runs(ts):
    """Starts of the runs of equal minute in time-ordered ``ts``; -1 as the only entry when ``ts``
    goes back somewhere (then the caller sorts)."""
    n = len(ts)
    starts = np.empty(n + 1, np.int64)
    m = 0
    prev = np.int64(-1) << 62
    for i in range(n):
        minute = ts[i] // MINUTE_NS
        if minute != prev:
            if minute < prev:
                starts[0] = -1
                return starts[:1]
            starts[m] = i
            m += 1
            prev = minute
    starts[m] = n
    return starts[:m + 1]


def minute_starts(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Distinct minutes of ``ts`` (ns UTC, any order) and how each stamp maps to them.

    Returns
    -------
    minutes : numpy.ndarray of int64, shape (m,)
        Minute starts, ns UTC, ascending.
    counts : numpy.ndarray of int64, shape (m,) or None
        Stamps per minute when ``ts`` is in time order (stamp ``i`` of the ``j``-th run is in
        ``minutes[j]``: per-stamp values are ``np.repeat(per_minute, counts)``); else None.
    inverse : numpy.ndarray of int64, shape (n,) or None
        ``minutes[inverse] == ts - ts % 60 s`` when ``ts`` is not in time order; else None.
    """
    starts = _minute_runs(ts) if len(ts) else np.zeros(1, np.int64)
    if len(starts) == 0 or starts[0] >= 0:
        runs = starts[:-1]
        return ts[runs] // MINUTE_NS * MINUTE_NS, np.diff(starts), None
    uniq, inverse = np.unique(ts // MINUTE_NS, return_inverse=True)
    return uniq * MINUTE_NS, None, inverse.astype(np.int64)


def trade_sessions(ts: np.ndarray, hours: SessionHours | None = None) -> TradeSessions:
    """Trade date, RTH flag and in-session flag of each trade stamp (ns UTC, shape (n,))."""
    minutes, counts, inverse = minute_starts(ts)
    got = assign_sessions(pd.to_datetime(minutes, unit="ns", utc=True), hours, whole_years=True)
    day = got.trade_date.astype("datetime64[ns]").view(np.int64)
    if counts is not None:  # time order: each minute's value repeated over its run (no gather)
        return TradeSessions(np.repeat(day, counts), np.repeat(got.rth, counts), np.repeat(got.in_session, counts))
    return TradeSessions(day[inverse], got.rth[inverse], got.in_session[inverse])


def drop_outside_sessions(chunk: Trades, sess: TradeSessions, repair: bool,
                          repairs: Repairs | None) -> tuple[Trades, TradeSessions]:
    """Refuse (or with ``repair`` drop and count) trades outside every Globex session.

    Raises
    ------
    DataError
        Naming the file and line of the first such trade, with how many more there are.
    """
    out = ~sess.in_session
    if not out.any():
        return chunk, sess
    bad = np.flatnonzero(out)
    first = int(chunk.row[bad[0]])
    stamp = pd.Timestamp(int(chunk.ts[bad[0]]), unit="ns", tz="UTC")
    if not repair:
        raise fail(f"trade at {stamp:%Y-%m-%d %H:%M:%S} UTC lies outside every Globex session "
                   "(daily halt, weekend, holiday or after an early close)", chunk.lines, first,
                   hint="check the file's time zone (--tz), or drop such trades with --repair",
                   more=len(bad) - 1)
    if repairs is not None:
        repairs.add("outside every Globex session", len(bad), where(chunk.lines, first))
    keep = ~out
    return chunk.take(keep), TradeSessions(sess.trade_date[keep], sess.rth[keep], sess.in_session[keep])


__all__ = ["MINUTE_NS", "NO_DATE", "TradeSessions", "drop_outside_sessions", "minute_starts", "trade_sessions"]
