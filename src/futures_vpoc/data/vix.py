"""VIX daily closes, joined to bars as of their publication time (never by calendar date).

Rule (``shared/reference/es_market_and_data_formats.md``, "VIX and VX, and merging without
look-ahead"): the VIX close of date D is known no earlier than D 15:15 CT (end of Cboe RTH), plus an
optional publication lag. A bar sees that close only if the bar's END is at or after that time.
So a 1-minute ES bar starting 15:14 CT on D still sees the close of D-1; the bar starting 15:15 CT
(ending 15:16) sees D's. A daily ES bar of D (RTH 08:30-15:00 CT) sees D-1's close.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from futures_vpoc.config import EXCHANGE_TZ, VIX_PUBLICATION_CT


def publication_times(dates, at: dt.time = VIX_PUBLICATION_CT, lag: pd.Timedelta | None = None) -> pd.DatetimeIndex:
    """UTC time at which each date's VIX close becomes known.

    Parameters
    ----------
    dates : array-like of dates, shape (m,)
        VIX observation dates.
    at : datetime.time
        Central-time publication time (default 15:15 CT).
    lag : pandas.Timedelta, optional
        Extra delay added after ``at`` (default none).

    Returns
    -------
    pandas.DatetimeIndex
        tz-aware UTC, shape (m,). Correct in winter (UTC-6) and summer (UTC-5).
    """
    days = pd.DatetimeIndex(pd.to_datetime(dates)).tz_localize(None).normalize()
    local = days + pd.Timedelta(hours=at.hour, minutes=at.minute, seconds=at.second)
    stamps = local.tz_localize(EXCHANGE_TZ, ambiguous="raise", nonexistent="raise").tz_convert("UTC")
    return stamps + (lag or pd.Timedelta(0))


def attach_vix(
    bar_start: pd.DatetimeIndex,
    width: pd.Timedelta,
    vix_close: pd.Series,
    at: dt.time = VIX_PUBLICATION_CT,
    lag: pd.Timedelta | None = None,
) -> np.ndarray:
    """As-of VIX close for each bar: the latest close published at or before the bar's END.

    Parameters
    ----------
    bar_start : pandas.DatetimeIndex, shape (n,)
        Bar START times, tz-aware, sorted ascending.
    width : pandas.Timedelta
        Bar width; bar END = start + width.
    vix_close : pandas.Series, shape (m,)
        VIX closes (index points) indexed by observation date; NaN closes are ignored.
    at, lag
        Publication rule, see :func:`publication_times`.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        NaN for bars that end before the first publication.
    """
    vix = vix_close.dropna().sort_index()
    out = np.full(len(bar_start), np.nan)
    if len(vix) == 0 or len(bar_start) == 0:
        return out
    avail = publication_times(vix.index, at, lag).as_unit("ns").asi8
    order = np.argsort(avail, kind="stable")
    avail, values = avail[order], vix.to_numpy(dtype="float64")[order]
    ends = pd.DatetimeIndex(bar_start).tz_convert("UTC").as_unit("ns").asi8 + int(width.value)
    pos = np.searchsorted(avail, ends, side="right") - 1
    ok = pos >= 0
    out[ok] = values[pos[ok]]
    return out
