"""VIX daily closes, joined to bars as of their publication time (never by calendar date).

Rule (``shared/reference/es_market_and_data_formats.md``, "VIX and VX, and merging without
look-ahead"): the VIX close of date D is known no earlier than D 15:15 CT (end of Cboe RTH), plus an
optional publication lag. A bar sees that close only if the bar's END is at or after that time.
So a 1-minute ES bar starting 15:13 CT on D (ending 15:14) still sees the close of D-1; the bar
starting 15:14 CT (ending 15:15) sees D's. A daily ES bar of D (RTH 08:30-15:00 CT) sees D-1's close.

:func:`read_vix_history` reads Cboe's ``VIX_History.csv`` (``DATE,OPEN,HIGH,LOW,CLOSE``).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.config import EXCHANGE_TZ, VIX_PUBLICATION_CT
from futures_vpoc.errors import DataError

_VIX_HEADER_HINT = "Cboe's VIX_History.csv starts with the header DATE,OPEN,HIGH,LOW,CLOSE"


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


def read_vix_history(path: str | os.PathLike) -> pd.Series:
    """Read Cboe's ``VIX_History.csv`` and return the daily closes.

    Parameters
    ----------
    path : str or os.PathLike
        CSV with a header naming at least ``DATE`` and ``CLOSE`` (any capitalisation; Cboe's is
        ``DATE,OPEN,HIGH,LOW,CLOSE``). ``DATE`` is ``MM/DD/YYYY`` (Cboe) or ``YYYY-MM-DD``. Only
        ``DATE`` and ``CLOSE`` are read and checked; blank lines are skipped.

    Returns
    -------
    pandas.Series
        float64 closes (index points), index = naive dates (datetime64[ns], midnight), strictly
        increasing, name ``"vix"``. No NaN: every close is finite and positive.

    Raises
    ------
    DataError
        Missing file or column, an unparseable date or number, a close that is not a finite
        positive number, a repeated date or dates out of order; with the file, the line (the header
        is line 1), the column, the value and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=str(path), hint="check the path to VIX_History.csv")
    lines, dates, closes = _read_vix_rows(path)
    if not lines:
        raise DataError("no data rows", file=str(path), hint=_VIX_HEADER_HINT)
    day = _parse_vix_dates(path, lines, dates)
    value = _parse_vix_closes(path, lines, closes)
    _check_vix_order(path, lines, day, dates)
    index = pd.DatetimeIndex(day, name="date").as_unit("ns")
    return pd.Series(value, index=index, name="vix", dtype="float64")


def _read_vix_rows(path: Path) -> tuple[list[int], list[str], list[str]]:
    """Line numbers and the raw DATE and CLOSE texts of every non-blank data row."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise DataError("empty file", file=str(path), line=1, hint=_VIX_HEADER_HINT)
        names = [h.strip().lower() for h in header]
        for col in ("date", "close"):
            if col not in names:
                raise DataError("missing column", file=str(path), line=1, column=col.upper(),
                                hint=_VIX_HEADER_HINT)
        i_date, i_close = names.index("date"), names.index("close")
        lines, dates, closes = [], [], []
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            lines.append(reader.line_num)
            dates.append(row[i_date].strip() if i_date < len(row) else "")
            closes.append(row[i_close].strip() if i_close < len(row) else "")
    return lines, dates, closes


def _parse_vix_dates(path: Path, lines: list[int], dates: list[str]) -> np.ndarray:
    """``MM/DD/YYYY`` or ``YYYY-MM-DD`` texts -> datetime64[ns]; DataError at the first bad one."""
    text = pd.Series(dates, dtype="str")
    us = pd.to_datetime(text, format="%m/%d/%Y", errors="coerce")
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    day = us.fillna(iso)
    bad = np.flatnonzero(day.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise DataError("unparseable date", file=str(path), line=lines[i], column="DATE",
                        value=dates[i], more=len(bad) - 1,
                        hint="dates must be MM/DD/YYYY (as Cboe writes them) or YYYY-MM-DD")
    return day.to_numpy(dtype="datetime64[ns]")


def _parse_vix_closes(path: Path, lines: list[int], closes: list[str]) -> np.ndarray:
    """CLOSE texts -> float64; DataError at the first unparseable, non-finite or non-positive one."""
    value = pd.to_numeric(pd.Series(closes, dtype="str"), errors="coerce").to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(value) & (value > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raw = closes[i]
        problem = "not a finite positive close"
        if not np.isfinite(value[i]) and not _is_float_text(raw):
            problem = "unparseable number"
        raise DataError(problem, file=str(path), line=lines[i], column="CLOSE", value=raw,
                        more=int(bad.sum()) - 1,
                        hint="VIX closes are positive numbers such as 13.76; fix or delete the row")
    return value


def _is_float_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_vix_order(path: Path, lines: list[int], day: np.ndarray, dates: list[str]) -> None:
    """DataError at the first date that repeats or goes back in time."""
    step = np.diff(day.astype("int64"))
    bad = np.flatnonzero(step <= 0)
    if len(bad) == 0:
        return
    i = int(bad[0]) + 1
    if step[i - 1] == 0:
        problem, hint = "duplicate date", "keep one row per date"
    else:
        problem, hint = f"date out of order (after {dates[i - 1]})", "sort the file by date, oldest first"
    raise DataError(problem, file=str(path), line=lines[i], column="DATE", value=dates[i], hint=hint)
