"""Daily bars whose stamp is a date without a time of day (``2024-01-02``): CME trade dates.

A date needs no time zone: it names the trade date, whose Globex session runs from the evening
before (17:00 CT; 15:30 CT before 2012-11-19; Sunday 17:00 CT for a Monday) to the close
(:mod:`futures_vpoc.calendar`). Each bar is placed at the session open of its trade date (bar
start, UTC), so it gets that trade date and spans the whole session.

A date that is no trade date (a weekend, a full holiday) is placed at noon US Central of that day,
where no session runs: the loader refuses it by line, or with ``--repair`` drops it like any bar
outside the sessions (:func:`non_trade_dates`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from futures_vpoc.calendar import assign_sessions, globex_sessions
from futures_vpoc.config import EXCHANGE_TZ
from futures_vpoc.data.formats.linemap import LineMap, fail

DATE_ONLY_ZONE = "trade dates (no time of day)"
"""The ``zone`` of :class:`~futures_vpoc.data.formats.rawbars.RawBars` read from dates alone."""

_DAY = 86_400 * 10**9
_DATE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{4}|\d{8})\s*$")


def is_date_text(sample: str) -> bool:
    """True when a stamp text is a date with no time of day (``2024-01-02``, ``01/02/2024``, ...)."""
    return bool(_DATE.match(sample))


def all_midnight(wall: np.ndarray, apart: bool = True) -> bool:
    """True when every wall-clock stamp (ns) is at midnight; with ``apart``, also two or more of
    them and no two equal neighbours (so a day or more apart: daily bars, not one instant)."""
    if apart and (len(wall) < 2 or not bool(np.all(np.diff(wall) != 0))):
        return False
    return bool(np.all(wall % _DAY == 0))


def session_opens(wall: np.ndarray) -> np.ndarray:
    """Bar start (UTC ns) of daily bars dated ``wall``: the Globex open of each trade date.

    Parameters
    ----------
    wall : numpy.ndarray of int64, shape (n,)
        Dates as midnight wall-clock ns (a time of day, if any, is dropped).

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        UTC ns of the session open of the trade date; noon US Central of the date for a date
        that is no trade date (outside every session).
    """
    days = (wall // _DAY) * _DAY
    if len(days) == 0:
        return days
    first, last = pd.Timestamp(int(days.min())), pd.Timestamp(int(days.max()))
    sess = globex_sessions(first, last)
    dates = pd.DatetimeIndex(sess.index).as_unit("ns").asi8
    opens = pd.DatetimeIndex(sess["open"]).as_unit("ns").asi8
    pos = np.clip(np.searchsorted(dates, days), 0, max(len(dates) - 1, 0))
    found = (dates[pos] == days) if len(dates) else np.zeros(len(days), bool)
    noon = pd.DatetimeIndex((days + _DAY // 2).view("M8[ns]")).tz_localize(EXCHANGE_TZ).as_unit("ns").asi8
    return np.where(found, opens[pos] if len(opens) else noon, noon)


def non_trade_dates(ts: np.ndarray) -> np.ndarray:
    """Positions of daily bars (placed by :func:`session_opens`) whose date is no trade date."""
    if len(ts) == 0:
        return np.array([], dtype=np.int64)
    sess = assign_sessions(pd.DatetimeIndex(ts.view("M8[ns]")).tz_localize("UTC"))
    return np.flatnonzero(~sess.in_session)


def refuse_non_trade_date(ts: np.ndarray, rows: np.ndarray, lines: LineMap) -> None:
    """Raise for the first daily bar whose date is no CME trade date (none: return).

    Raises
    ------
    DataError
        Naming the line and the date, with the count of further such rows.
    """
    bad = non_trade_dates(ts)
    if not len(bad):
        return
    i = int(bad[np.argmin(rows[bad])])
    day = pd.Timestamp(int(ts[i]), unit="ns", tz="UTC").tz_convert(EXCHANGE_TZ)
    raise fail(f"{day:%Y-%m-%d} ({day:%A}) is not a CME trade date (weekend or holiday)", lines,
               int(rows[i]), value=f"{day:%Y-%m-%d}", more=len(bad) - 1,
               hint="remove the row, or pass --repair to drop such rows")
