"""The calendar path of the synthetic market: which minutes exist and which contract trades them.

One grid minute per minute of every Globex session of :func:`futures_vpoc.calendar.globex_sessions`
(holidays, early closes, the era's open/close; the 15:15-15:30 halt removed), the US Central clock
minute of each, and each session's calendar-roll front contract with the days between the old and
the new expiry where the contract changes (the size of the roll jump).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.config import EXCHANGE_TZ
from futures_vpoc.data.contracts import front_contract

_MINUTE_NS = 60_000_000_000


def _minute_grid(sessions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every 1-minute bar start of every session, halt minutes removed.

    Parameters
    ----------
    sessions : pandas.DataFrame
        :func:`globex_sessions` table.

    Returns
    -------
    stamps : numpy.ndarray of int64, shape (n,)
        Bar starts, UTC nanoseconds, strictly increasing.
    session : numpy.ndarray of int64, shape (n,)
        Row of ``sessions`` each bar belongs to.
    """
    col = {c: pd.DatetimeIndex(sessions[c]).as_unit("ns").asi8 for c in
           ("open", "close", "halt_start", "halt_end")}
    counts = (col["close"] - col["open"]) // _MINUTE_NS
    session = np.repeat(np.arange(len(sessions)), counts)
    first = np.cumsum(counts) - counts
    offset = np.arange(int(counts.sum())) - np.repeat(first, counts)
    stamps = col["open"][session] + offset * _MINUTE_NS
    in_halt = (stamps >= col["halt_start"][session]) & (stamps < col["halt_end"][session])
    return stamps[~in_halt], session[~in_halt]


def _clock_minutes(stamps: np.ndarray) -> np.ndarray:
    """Central-time minute of day of each UTC stamp.

    Parameters
    ----------
    stamps : numpy.ndarray of int64, shape (n,)
        UTC nanoseconds.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Minutes after midnight CT, in [0, 1440).
    """
    local = pd.DatetimeIndex(stamps.view("datetime64[ns]")).tz_localize("UTC").tz_convert(EXCHANGE_TZ)
    return (local.hour * 60 + local.minute).to_numpy(dtype=np.float64)


def _session_contracts(sessions: pd.DataFrame, root: str) -> tuple[np.ndarray, np.ndarray]:
    """Front-contract code per session and the carry fraction where a new contract starts.

    Returns
    -------
    codes : numpy.ndarray of str, shape (n_sessions,)
    roll_days : numpy.ndarray of float64, shape (n_sessions,)
        Days between the old and the new contract's expiries on a session whose contract differs
        from the previous session's, else 0 (the first session never jumps).
    """
    fronts = [front_contract(d.date(), root) for d in sessions.index]
    codes = np.array([c.code for c in fronts])
    days = np.zeros(len(fronts))
    for k in range(1, len(fronts)):
        if fronts[k] != fronts[k - 1]:
            days[k] = (fronts[k].expiry - fronts[k - 1].expiry).days
    return codes, days

