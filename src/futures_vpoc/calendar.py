"""CME Globex sessions for ES: trade dates, the daily halt, holidays, early closes, RTH.

Holiday and early-close days come from pandas-market-calendars' ``"CME Globex Equity"`` calendar
(verified in ``shared/reference/es_market_and_data_formats.md`` section 4); that calendar models every
date with the current hours (17:00 CT open, 16:00 CT close, no halt), so the hour changes are
applied here by era (same reference, section 1, "Globex hours"):

============================  ==============================  ==================
trade dates                   session for trade date T (CT)   daily halt (CT)
============================  ==============================  ==================
.. 2012-11-16                 T-1 15:30 -> T 15:15            none
2012-11-19 .. 2015-09-18      T-1 17:00 -> T 16:15            15:15-15:30
2015-09-21 .. 2021-06-25      T-1 17:00 -> T 16:00            15:15-15:30
2021-06-28 ..                 T-1 17:00 -> T 16:00            none
============================  ==============================  ==================

A session that opens after a weekend or holiday keeps the calendar's open (Sunday 17:00 CT). Before
2012-11-19 the 15:30 CT reopen applies only when the previous calendar day had a regular session
closing at 15:15 CT; after a full holiday (Christmas) or a holiday's early close (MLK, Presidents,
Memorial, Independence and Labor Days, Thanksgiving: 10:30 CT in the calendar; the days before
Independence Day and Christmas and the day after Thanksgiving: 12:15 CT) Globex reopened at 17:00 CT.
Early closes (12:00/12:15 CT, Good Friday 08:15 CT) always win over the era's regular close.
A bar belongs to the session whose ``[open, close)`` holds its START time and whose halt does not;
so a bar from 17:00 CT belongs to the next trade date and no bar can sit in the halt.
Daylight saving never makes a stamp ambiguous: clocks change at 02:00 CT on Sunday, while Globex is
closed. Everything is stored in UTC; Central time is used only to build the session table.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.config import EXCHANGE_TZ, SessionHours

ERA_2012 = pd.Timestamp("2012-11-19")
ERA_2015 = pd.Timestamp("2015-09-21")
ERA_2021 = pd.Timestamp("2021-06-28")
_HALT_START = dt.timedelta(hours=15, minutes=15)
_HALT_END = dt.timedelta(hours=15, minutes=30)


@dataclass(frozen=True)
class SessionAssignment:
    """Where each bar falls in the Globex calendar.

    Attributes
    ----------
    trade_date : numpy.ndarray of datetime64[ns], shape (n,)
        CME trade date (midnight, naive); NaT for a bar outside every session.
    rth : numpy.ndarray of bool, shape (n,)
        True when the bar starts inside the trade date's regular trading hours.
    in_session : numpy.ndarray of bool, shape (n,)
        False for a bar in the daily halt, a weekend, a holiday or after an early close.
    """

    trade_date: np.ndarray
    rth: np.ndarray
    in_session: np.ndarray


def _ct_at(dates: pd.DatetimeIndex, offset: pd.TimedeltaIndex | dt.timedelta) -> pd.DatetimeIndex:
    """Central-time wall clock ``dates + offset`` localised (no DST ambiguity at these hours)."""
    local = dates + offset
    return local.tz_localize(EXCHANGE_TZ, ambiguous="raise", nonexistent="raise")


def _era_hours(sched: pd.DataFrame) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Apply the per-era open/close rules to the calendar's opens and closes (both in CT)."""
    dates = sched.index
    opens = sched["market_open"].dt.tz_convert(EXCHANGE_TZ)
    closes = sched["market_close"].dt.tz_convert(EXCHANGE_TZ)
    regular_close = closes.dt.time == dt.time(16, 0)
    legacy = dates < ERA_2012
    # The 15:30 reopen follows a regular 15:15 close only: the previous calendar day must be the
    # previous row (not a weekend or a full holiday) and must have closed at its regular time (not
    # a holiday's early close such as MLK's or Thanksgiving's 10:30 CT). Otherwise Globex reopened
    # at 17:00 CT, the calendar's open.
    prev_row_date = pd.Series(dates, index=dates).shift(1)
    prev_regular = pd.Series(regular_close.to_numpy(), index=dates).shift(1, fill_value=False)
    after_regular_day = (prev_row_date == dates - pd.Timedelta(days=1)) & prev_regular.astype(bool)
    legacy_open = _ct_at(dates, pd.Timedelta(hours=-8, minutes=-30))  # T-1 15:30
    opens = opens.where(~(legacy & after_regular_day), pd.Series(legacy_open, index=dates))
    legacy_close = _ct_at(dates, pd.Timedelta(hours=15, minutes=15))
    closes = closes.where(~(legacy & regular_close), pd.Series(legacy_close, index=dates))
    mid_era = (dates >= ERA_2012) & (dates < ERA_2015)
    close_1615 = _ct_at(dates, pd.Timedelta(hours=16, minutes=15))
    closes = closes.where(~(mid_era & regular_close), pd.Series(close_1615, index=dates))
    return pd.DatetimeIndex(opens), pd.DatetimeIndex(closes)


CACHE_ENV = "FUTURES_VPOC_CACHE_DIR"
"""Environment variable naming the folder of the on-disk calendar cache (empty: no disk cache)."""

_SESSION_COLUMNS = ("open", "close", "halt_start", "halt_end", "rth_start", "rth_end")
_SOURCE_PACKAGES = ("pandas_market_calendars", "exchange_calendars", "pandas", "pytz", "tzdata")


def cache_dir() -> Path | None:
    """Folder of the on-disk calendar cache, or None when it is switched off.

    ``$FUTURES_VPOC_CACHE_DIR`` when set (an empty value switches the disk cache off), else
    ``$XDG_CACHE_HOME/futures-vpoc``, else ``~/.cache/futures-vpoc``.
    """
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "futures-vpoc"


@functools.lru_cache(maxsize=1)
def _source_fingerprint() -> str:
    """What a cached table depends on besides its arguments: this module's code (the era rules) and
    the versions of the calendar, time-zone and pandas packages that computed it."""
    from importlib import metadata

    parts = [hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), EXCHANGE_TZ]
    for name in _SOURCE_PACKAGES:
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=absent")
    return "|".join(parts)


def _disk_cached(kind: str, args: tuple, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``build()`` (named numpy arrays), kept in the cache folder between processes.

    A fresh process pays ~0.35 s to import pandas-market-calendars and evaluate its holiday rules
    for the same few years every time (a tenth of a whole ``features`` command on 1M bars); the
    arrays it yields are a few kB. They are stored as ``.npz`` under a name hashed from ``kind``,
    ``args`` and :func:`_source_fingerprint`, so new code or a new calendar release builds afresh.
    A file that cannot be read is rebuilt; a folder that cannot be written is only skipped. (A
    general cache such as joblib's would pickle a DataFrame and add a dependency for this one use.)
    """
    folder = cache_dir()
    if folder is None:
        return build()
    digest = hashlib.sha256(repr((kind, args, _source_fingerprint())).encode()).hexdigest()[:24]
    path = folder / f"{kind}-{digest}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError, EOFError):  # absent, partial or foreign: build it again
        pass
    arrays = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".npz.part", delete=False) as tmp:
            np.savez(tmp, **arrays)
        os.replace(tmp.name, path)  # atomic: a concurrent reader sees the old file or the whole new one
    except OSError:
        pass
    return arrays


@functools.lru_cache(maxsize=32)
def _sessions_of_years(first_year: int, last_year: int, hours: SessionHours) -> pd.DataFrame:
    """Session table of whole calendar years, cached in the process and on disk (:func:`_disk_cached`):
    building a schedule costs about 0.35 s whatever its length (pandas evaluates every holiday rule),
    so callers asking for nearby ranges (a file's span, the same span padded by a week) share one
    build, and later processes read it back in about a millisecond."""
    arrays = _disk_cached("sessions", (first_year, last_year, *map(str, astuple(hours))),
                          lambda: _session_arrays(_built_sessions(first_year, last_year, hours)))
    return _session_frame(arrays)


def _session_arrays(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """The session table as plain arrays: each time column's int64 ticks in its own unit (UTC; the
    index naive), the units in column order, and the bool column."""
    stamps = {c: pd.DatetimeIndex(table[c]) for c in _SESSION_COLUMNS}
    out = {"trade_date": table.index.as_unit("ns").asi8.copy(), "early_close": table["early_close"].to_numpy(bool),
           "units": np.array([stamps[c].unit for c in _SESSION_COLUMNS])}
    out.update({c: stamps[c].asi8.copy() for c in _SESSION_COLUMNS})
    return out


def _session_frame(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    """Inverse of :func:`_session_arrays`: the frame :func:`globex_sessions` documents."""
    index = pd.DatetimeIndex(arrays["trade_date"].view("datetime64[ns]"), name="trade_date")
    cols = {c: pd.DatetimeIndex(arrays[c].view(f"datetime64[{unit}]")).tz_localize("UTC")
            for c, unit in zip(_SESSION_COLUMNS, arrays["units"].tolist(), strict=True)}
    return pd.DataFrame({**cols, "early_close": arrays["early_close"].astype(bool)}, index=index)


def _built_sessions(first_year: int, last_year: int, hours: SessionHours) -> pd.DataFrame:
    """The session table computed from pandas-market-calendars and the era rules (no cache)."""
    import pandas_market_calendars as mcal  # imported lazily: ~0.3 s at import time

    cal = mcal.get_calendar("CME Globex Equity")
    sched = cal.schedule(start_date=dt.date(first_year, 1, 1), end_date=dt.date(last_year, 12, 31),
                         tz=EXCHANGE_TZ)
    sched.index = pd.DatetimeIndex(sched.index).tz_localize(None).as_unit("ns")
    if sched.empty:
        return _empty_sessions()
    dates = sched.index
    opens, closes = _era_hours(sched)
    with_halt = (dates >= ERA_2012) & (dates < ERA_2021)
    halt_start = _ct_at(dates, _HALT_START)
    halt_end = _ct_at(dates, _HALT_END)
    has_halt = with_halt & (closes > halt_end)
    # A session without a halt gets an empty halt interval at its close.
    halt_start = halt_start.where(has_halt, closes)
    halt_end = halt_end.where(has_halt, closes)
    rth_start = _ct_at(dates, _as_delta(hours.rth_start))
    rth_end = _ct_at(dates, _as_delta(hours.rth_end))
    rth_end = rth_end.where(rth_end < closes, closes)
    rth_start = rth_start.where(rth_start < rth_end, rth_end)
    out = pd.DataFrame(
        {
            "open": opens.tz_convert("UTC"),
            "close": closes.tz_convert("UTC"),
            "halt_start": halt_start.tz_convert("UTC"),
            "halt_end": halt_end.tz_convert("UTC"),
            "rth_start": rth_start.tz_convert("UTC"),
            "rth_end": rth_end.tz_convert("UTC"),
            "early_close": closes.time < _regular_close_time(dates),
        },
        index=pd.Index(dates, name="trade_date"),
    )
    return out


def _empty_sessions() -> pd.DataFrame:
    utc = pd.DatetimeIndex([], tz="UTC").as_unit("ns")
    cols = {c: utc for c in ("open", "close", "halt_start", "halt_end", "rth_start", "rth_end")}
    index = pd.DatetimeIndex([], name="trade_date").as_unit("ns")
    return pd.DataFrame({**cols, "early_close": np.array([], dtype=bool)}, index=index)


def _as_delta(t: dt.time) -> dt.timedelta:
    return dt.timedelta(hours=t.hour, minutes=t.minute, seconds=t.second)


def _regular_close_time(dates: pd.DatetimeIndex) -> np.ndarray:
    out = np.full(len(dates), dt.time(16, 0), dtype=object)
    out[dates < ERA_2015] = dt.time(16, 15)
    out[dates < ERA_2012] = dt.time(15, 15)
    return out


def globex_sessions(start, end, hours: SessionHours | None = None) -> pd.DataFrame:
    """Session table for every ES trade date from ``start`` to ``end`` inclusive.

    Parameters
    ----------
    start, end : date-like
        First and last trade date (calendar dates; weekends and holidays have no row).
    hours : SessionHours, optional
        RTH window (default 08:30-15:00 CT).

    Returns
    -------
    pandas.DataFrame
        Index ``trade_date`` (naive midnight, datetime64[ns]); tz-aware UTC columns ``open``,
        ``close``, ``halt_start``, ``halt_end`` (equal to ``close`` when there is no halt),
        ``rth_start``, ``rth_end`` (empty interval when the session closes before RTH);
        bool ``early_close``. Sorted; sessions never overlap.
    """
    hours = hours or SessionHours()
    start = pd.Timestamp(start).normalize().tz_localize(None)
    end = pd.Timestamp(end).normalize().tz_localize(None)
    if end < start:
        return _empty_sessions()
    table = _sessions_of_years(start.year, end.year, hours)
    return table.loc[(table.index >= start) & (table.index <= end)].copy()


def _as_utc_ns(ts) -> np.ndarray:
    idx = pd.DatetimeIndex(ts)
    if idx.tz is None:
        raise ValueError("timestamps must be tz-aware (UTC)")
    return idx.tz_convert("UTC").as_unit("ns").asi8


def assign_sessions(bar_start, hours: SessionHours | None = None, whole_years: bool = False) -> SessionAssignment:
    """Place each bar in its Globex session.

    Parameters
    ----------
    bar_start : array-like of tz-aware timestamps, shape (n,)
        Bar START times, in any order.
    hours : SessionHours, optional
        RTH window.
    whole_years : bool
        Look the sessions up in the table of the whole calendar years around the bars (the year
        before the first through the year after the last): the same cached table for every call
        within those years, where the default (the bars' span plus a week) builds a table for each
        new pair of first and last years (0.2-0.35 s each). For callers that come back chunk by
        chunk (a trades file); the result is the same.

    Returns
    -------
    SessionAssignment
        Per-bar trade date, RTH flag and whether the bar lies inside a session at all.
    """
    t = _as_utc_ns(bar_start)
    if len(t) == 0:
        empty = np.array([], dtype="datetime64[ns]")
        return SessionAssignment(empty, np.array([], bool), np.array([], bool))
    lo = pd.Timestamp(int(t.min()), tz="UTC").tz_convert(EXCHANGE_TZ).tz_localize(None)
    hi = pd.Timestamp(int(t.max()), tz="UTC").tz_convert(EXCHANGE_TZ).tz_localize(None)
    if whole_years:
        sess = globex_sessions(pd.Timestamp(lo.year - 1, 1, 1), pd.Timestamp(hi.year + 1, 12, 31), hours)
    else:
        sess = globex_sessions(lo - pd.Timedelta(days=7), hi + pd.Timedelta(days=7), hours)
    cols = {c: sess[c].array.as_unit("ns").asi8 if hasattr(sess[c].array, "as_unit") else
            pd.DatetimeIndex(sess[c]).as_unit("ns").asi8 for c in
            ("open", "close", "halt_start", "halt_end", "rth_start", "rth_end")}
    i = np.searchsorted(cols["open"], t, side="right") - 1
    ok = i >= 0
    j = np.where(ok, i, 0)
    in_session = ok & (t < cols["close"][j]) & ~((t >= cols["halt_start"][j]) & (t < cols["halt_end"][j]))
    rth = in_session & (t >= cols["rth_start"][j]) & (t < cols["rth_end"][j])
    dates = sess.index.values.astype("datetime64[ns]")[j]
    trade_date = np.where(in_session, dates, np.datetime64("NaT", "ns"))
    return SessionAssignment(trade_date=trade_date, rth=rth, in_session=in_session)


VIX_FIRST_DAY = dt.date(1990, 1, 2)
"""First date of Cboe's VIX history (``VIX_History.csv`` starts there)."""


@functools.lru_cache(maxsize=4)
def _vix_days_through(last_year: int) -> np.ndarray:
    """Cboe trading days from 1990 through ``last_year`` (naive midnights), cached as the sessions are."""
    def build() -> dict[str, np.ndarray]:
        import pandas_market_calendars as mcal  # imported lazily, as for the Globex calendar

        days = mcal.get_calendar("CBOE_Index_Options").valid_days(VIX_FIRST_DAY, dt.date(last_year, 12, 31))
        return {"days": pd.DatetimeIndex(days).tz_localize(None).normalize().as_unit("ns").asi8.copy()}

    return _disk_cached("vix_days", (last_year,), build)["days"].view("datetime64[ns]")


def vix_days(start, end) -> pd.DatetimeIndex:
    """Dates with a VIX close (Cboe trading days) from ``start`` to ``end`` inclusive.

    pandas-market-calendars' ``"CBOE_Index_Options"`` calendar, from 1990-01-02 (the first VIX
    date). Its days equal the NYSE's from 2005 to 2026 and every date of ``arch``'s VIX sample
    (2014-01-03 .. 2019-01-03, 1259 closes); CME-only sessions (MLK Day, Presidents Day, ...) and
    days of national mourning have none. One lookup covers 1990-2039 (0.1 s, cached).

    Parameters
    ----------
    start, end : date-like
        Calendar dates.

    Returns
    -------
    pandas.DatetimeIndex
        Naive midnights, datetime64[ns], sorted.
    """
    start = pd.Timestamp(start).tz_localize(None).normalize()
    end = pd.Timestamp(end).tz_localize(None).normalize()
    days = _vix_days_through(max(2039, end.year))
    lo = np.searchsorted(days, start.to_datetime64(), side="left")
    hi = np.searchsorted(days, end.to_datetime64(), side="right")
    return pd.DatetimeIndex(days[lo:hi])


def third_friday(year: int, month: int) -> dt.date:
    """Third Friday of a month: the ES expiry day (trading ends 08:30 CT)."""
    first = dt.date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)
