"""Targets with an explicit horizon, decided by the calendar alone (DESIGN.md section 3).

A label looks ``horizon`` bars ahead of bar ``t`` and never across a session end, the daily halt or
a contract roll. Which rows get a label is decided by that rule alone -- the calendar, the contract
schedule and where the data ends -- never by the size of the move (the prior system dropped the 95 %
of bars whose 5-row move was under 0.1 %, a filter that looked at the future; section 8.4 item 32 of
its reference). This module never imports :mod:`futures_vpoc.features` (and vice versa).

The rule, intraday bars (nominal bar width ``w`` under one day; 1-minute bars: ``w`` = 1 minute, so
``horizon = 5`` means 5 minutes)
    Bar ``t`` starts at ``s_t`` and belongs to a *segment*: its trade date's Globex session
    (:func:`futures_vpoc.calendar.globex_sessions`) cut by the daily halt where the era has one
    (15:15-15:30 CT from 2012-11-19 to 2021-06-25), and by a change of contract. The segment ends at
    ``E_t`` = the halt start if ``s_t`` is before it, else the session close (early closes
    included). The horizon's last bar slot starts at ``T_t = s_t + horizon * w``. Bar ``t`` is
    labelled if and only if

    1. it lies inside its session and outside the halt (a bar the calendar does not know is never
       labelled);
    2. ``T_t < E_t``: the slot ``horizon`` bars ahead starts before the segment ends;
    3. the data reaches ``T_t`` (the last bar of the frame starts at or after ``T_t``), so the
       answer is known; this is what makes a prefix of the data agree with the whole;
    4. every bar from ``t`` to the horizon bar ``j`` (below) has ``t``'s trade date, contract and
       side of the halt (a roll inside a session cuts it).

    The horizon bar ``j`` is the last bar starting at or before ``T_t``: bar ``t + horizon`` when no
    minute is missing. A minute without a trade has no bar, and then the last traded close carries
    (the market's price did not print); missing minutes never unlabel a row, since that would select
    rows by the future's activity.

The rule, daily (or coarser) bars (``w`` >= 1 day, e.g. :func:`futures_vpoc.data.samples.sp500_daily`)
    Each bar is a whole session, so a horizon must cross sessions; only rolls cut it: bar ``t`` is
    labelled when bar ``j = t + horizon`` exists, ``t`` has a trade date and ``t..j`` share one
    contract.

Values
    ``fwd_return = close[j] / close[t] - 1`` (a fraction; within one contract, so never a roll
    jump). ``target="direction"``: ``label = 1`` if ``close[j] > close[t]``, else ``0``: "up versus
    not up", a zero move counts as not up, so every labelled row is asked about and scored (there
    is no dead zone). ``target="rank"``: ``label = fwd_return`` untransformed; the dataset turns it
    into the percentile rank with a transform fit on the training rows only
    (:class:`futures_vpoc.dataset.RankTransform`). Unlabelled rows hold NaN (and NaT).
    ``label_end`` is the time the label becomes known, ``T_t + w`` (daily: ``s_j + w``), used to
    prove that no training label overlaps the validation part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.calendar import globex_sessions
from futures_vpoc.data.barframe import bar_width as nominal_bar_width
from futures_vpoc.errors import UsageError

TARGETS = ("direction", "rank")
_DAY = pd.Timedelta(days=1)
_REQUIRED = ("close", "contract", "trade_date")


@dataclass(frozen=True, eq=False)
class LabelTable:
    """Labels of every bar of a BarFrame.

    Attributes
    ----------
    frame : pandas.DataFrame
        Index = the bars' index. Columns ``fwd_return`` (float64, fraction), ``label`` (float64:
        0/1 for ``direction``, the raw ``fwd_return`` for ``rank``) and ``label_end`` (UTC
        timestamps: when the label is known). NaN / NaT where the row has no label.
    target : str
        ``"direction"`` or ``"rank"``.
    horizon : int
        Bars ahead.
    bar_width : pandas.Timedelta
        Nominal bar width the horizon was measured in.
    """

    frame: pd.DataFrame
    target: str
    horizon: int
    bar_width: pd.Timedelta

    @property
    def labelled(self) -> np.ndarray:
        """Mask of rows with a label, bool, shape (n,)."""
        return np.isfinite(self.frame["fwd_return"].to_numpy())


def make_labels(bars: pd.DataFrame, target: str = "direction", horizon: int = 5,
                bar_width: pd.Timedelta | None = None) -> LabelTable:
    """Forward returns and labels ``horizon`` bars ahead, by the rule of the module docstring.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame (at least ``close``, ``contract``, ``trade_date``; index of bar starts, UTC).
    target : {"direction", "rank"}
        What ``label`` holds.
    horizon : int
        Bars ahead, >= 1.
    bar_width : pandas.Timedelta, optional
        Nominal bar width; default :func:`futures_vpoc.data.barframe.bar_width` of the index (the
        most common spacing). Pass it to pin the unit when comparing a prefix with the whole.

    Returns
    -------
    LabelTable

    Raises
    ------
    UsageError
        Unknown target, a horizon below 1, or a frame without the needed columns.
    """
    horizon = _check_args(bars, target, horizon)
    starts = pd.DatetimeIndex(bars.index).tz_convert("UTC").as_unit("ns").asi8
    width = pd.Timedelta(bar_width) if bar_width is not None else nominal_bar_width(bars.index)
    if width <= pd.Timedelta(0):
        raise UsageError(f"bar_width {width} must be positive")
    if len(starts) == 0:
        j, ok, end = np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64)
    elif width >= _DAY:
        j, ok, end = _daily_horizon(bars, starts, horizon, width.value)
    else:
        j, ok, end = _intraday_horizon(bars, starts, horizon, width.value)
    return LabelTable(_values(bars, j, ok, end, target), target, horizon, width)


def _check_args(bars: pd.DataFrame, target: str, horizon: int) -> int:
    if target not in TARGETS:
        raise UsageError(f"--target {target!r} is unknown; use one of {', '.join(TARGETS)}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise UsageError(f"--horizon {horizon!r} must be a whole number of bars >= 1")
    missing = [c for c in _REQUIRED if c not in bars.columns]
    if missing:
        raise UsageError(f"bars lack column(s) {', '.join(missing)}; load them as a BarFrame")
    return int(horizon)


def _codes(values) -> np.ndarray:
    """Integer codes of a column (equal values, equal codes; NaN/NaT -> -1), shape (n,)."""
    return pd.factorize(pd.Series(values), use_na_sentinel=True)[0].astype(np.int64)


def _run_ids(change: np.ndarray) -> np.ndarray:
    """Run number of each row given where a new run starts (``change[0]`` is ignored)."""
    if len(change) == 0:
        return np.zeros(0, np.int64)
    return np.cumsum(np.r_[False, change[1:]]).astype(np.int64)


def _session_table(trade_date: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Each bar's session open, close, halt start and halt end (UTC ns) and whether it is known.

    Returns
    -------
    dict
        ``open close halt_start halt_end``: int64 arrays, shape (n,), meaningless where
        ``known`` (bool, shape (n,)) is False (no trade date, or a date without a session).
    """
    n = len(trade_date)
    cols = ("open", "close", "halt_start", "halt_end")
    has_date = ~np.asarray(trade_date.isna())
    out = {c: np.zeros(n, np.int64) for c in cols}
    out["known"] = np.zeros(n, bool)
    if not has_date.any():
        return out
    dates = trade_date[has_date]
    sess = globex_sessions(dates.min(), dates.max())
    row = sess.index.get_indexer(dates)
    found = row >= 0
    idx = np.flatnonzero(has_date)[found]
    for c in cols:
        out[c][idx] = pd.DatetimeIndex(sess[c]).as_unit("ns").asi8[row[found]]
    out["known"][idx] = True
    return out


def _intraday_horizon(bars: pd.DataFrame, starts: np.ndarray, horizon: int,
                      width_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizon bar, labelled mask and label-known time (ns) for intraday bars (module rule)."""
    trade_date = pd.DatetimeIndex(bars["trade_date"])
    sess = _session_table(trade_date)
    in_halt = (starts >= sess["halt_start"]) & (starts < sess["halt_end"])
    inside = sess["known"] & (starts >= sess["open"]) & (starts < sess["close"]) & ~in_halt
    after_halt = starts >= sess["halt_end"]
    seg_end = np.where(starts < sess["halt_start"], sess["halt_start"], sess["close"])
    key_change = np.zeros(len(starts), bool)
    for key in (_codes(trade_date), _codes(bars["contract"]), after_halt.astype(np.int64)):
        key_change[1:] |= key[1:] != key[:-1]
    key_change[1:] |= ~inside[1:] | ~inside[:-1]
    segment = _run_ids(key_change)
    slot = starts + horizon * width_ns
    j = np.searchsorted(starts, slot, side="right") - 1
    ok = inside & (slot < seg_end) & (slot <= starts[-1]) & (segment[j] == segment)
    return j, ok, slot + width_ns


def _daily_horizon(bars: pd.DataFrame, starts: np.ndarray, horizon: int,
                   width_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizon bar, labelled mask and label-known time (ns) for daily bars (module rule)."""
    n = len(starts)
    has_date = ~np.asarray(pd.DatetimeIndex(bars["trade_date"]).isna())
    contract = _codes(bars["contract"])
    change = np.r_[False, contract[1:] != contract[:-1]] | ~has_date | ~np.r_[True, has_date[:-1]]
    segment = _run_ids(change)
    j = np.minimum(np.arange(n) + horizon, n - 1)
    ok = has_date & (np.arange(n) + horizon < n) & (segment[j] == segment)
    return j, ok, starts[j] + width_ns


def _values(bars: pd.DataFrame, j: np.ndarray, ok: np.ndarray, end: np.ndarray,
            target: str) -> pd.DataFrame:
    """The LabelTable frame from the horizon bar and mask (NaN / NaT where not ``ok``)."""
    close = bars["close"].to_numpy(dtype=np.float64)
    future = close[j] if len(close) else close
    fwd = np.full(len(close), np.nan)
    np.divide(future, close, out=fwd, where=ok & (close != 0))
    fwd[ok] -= 1.0
    ok = ok & np.isfinite(fwd)
    fwd[~ok] = np.nan
    if target == "direction":
        label = np.where(ok, (future > close).astype(np.float64), np.nan)
    else:
        label = fwd.copy()
    label_end = pd.DatetimeIndex(np.where(ok, end, np.iinfo(np.int64).min).view("datetime64[ns]"))
    return pd.DataFrame({"fwd_return": fwd, "label": label,
                         "label_end": label_end.tz_localize("UTC")}, index=bars.index)


__all__ = ["TARGETS", "LabelTable", "make_labels"]
