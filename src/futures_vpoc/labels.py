"""Targets with an explicit horizon, decided by the calendar alone (DESIGN.md section 3).

A label looks ``horizon`` bars ahead of bar ``t`` and never across a session end, the daily halt or
a contract roll. Which rows are asked (have a *known horizon*, :attr:`LabelTable.known`) is decided
by that rule alone -- the calendar, the contract schedule and where the data ends -- never by the
size of the move (the prior system dropped the 95 % of bars whose 5-row move was under 0.1 %, a
filter that looked at the future; section 8.4 item 32 of its reference). The one exception is
stated with its target below: ``direction`` gives a flat horizon (a move of exactly zero) no label.
This module never imports :mod:`futures_vpoc.features` (and vice versa).

The rule, intraday bars (nominal bar width ``w`` under one day; 1-minute bars: ``w`` = 1 minute, so
``horizon = 5`` means 5 minutes)
    Bar ``t`` starts at ``s_t`` and belongs to a *segment*: its trade date's Globex session
    (:func:`futures_vpoc.calendar.globex_sessions`) cut by the daily halt where the era has one
    (15:15-15:30 CT from 2012-11-19 to 2021-06-25), and by a change of contract. The segment ends at
    ``E_t`` = the halt start if ``s_t`` is before it, else the session close (early closes
    included). The horizon's last bar slot starts at ``T_t = s_t + horizon * w``. Bar ``t``'s
    horizon is known if and only if

    1. it lies inside its session and outside the halt (a bar the calendar does not know is never
       asked);
    2. ``T_t < E_t``: the slot ``horizon`` bars ahead starts before the segment ends;
    3. the data reaches ``T_t`` (the last bar of the frame starts at or after ``T_t``), so the
       answer is known; this is what makes a prefix of the data agree with the whole;
    4. every bar from ``t`` to the horizon bar ``j`` (below) has ``t``'s trade date, contract and
       side of the halt (a roll inside a session cuts it).

    The horizon bar ``j`` is the last bar starting at or before ``T_t``: bar ``t + horizon`` when no
    minute is missing. A minute without a trade has no bar, and then the last traded close carries
    (the market's price did not print); missing minutes never drop a row, since that would select
    rows by the future's activity.

The rule, daily (or coarser) bars (``w`` >= 1 day, e.g. :func:`futures_vpoc.data.samples.sp500_daily`)
    Each bar is a whole session, so a horizon must cross sessions; only rolls cut it: bar ``t``'s
    horizon is known when bar ``j = t + horizon`` exists, ``t`` has a trade date and ``t..j`` share one
    contract.

Values
    ``fwd_return = close[j] / close[t] - 1`` (a fraction; within one contract, so never a roll
    jump), finite on every row whose horizon is known (:attr:`LabelTable.known`) whatever the target.
    ``label`` depends on the target (:data:`TARGETS`):

    ``"direction"`` (the default): up versus down
        ``label = 1`` if ``close[j] > close[t]``, ``0`` if ``close[j] < close[t]``, and no label
        (NaN) when the horizon is flat (``close[j] == close[t]``). A flat row keeps its finite
        ``fwd_return`` and its ``label_end``, but is left out of training and scoring: the model is
        asked "up or down, given that it moved", so P(up) < 0.5 means evidence of down and a rule
        that is long above 0.5 + theta and short below 0.5 - theta is symmetric. The flat share is
        reported beside every metric (:func:`class_shares`). Leaving them out is the one row
        selection that looks at the outcome, and only at whether it is exactly zero: a flat horizon
        moves no position's P&L, so the model's scored rows are the ones a trade can win or lose
        on. Which rows are *asked* still depends on the calendar alone (the rule above), and the
        dataset cuts and purges its parts on those rows before dropping the flat ones
        (:func:`futures_vpoc.dataset.build_dataset`), so a flat row never shifts a boundary or the
        purge.
    ``"up_or_not"``: up vs not up; a flat horizon counts as not up; short-biased rule
        ``label = 1`` if ``close[j] > close[t]``, else ``0`` (the target before issue 14). Every row
        with a known horizon is labelled, but "not up" holds the flat horizons too, so P(up) < 0.5
        is the normal state (the majority class alone scored ~57 % on the demo) and a rule that
        shorts below 0.5 - theta is short-biased whatever the model learned.
    ``"rank"``
        ``label = fwd_return`` untransformed; the dataset turns it into the percentile rank with a
        transform fit on the training rows only (:class:`futures_vpoc.dataset.RankTransform`).

    Rows whose horizon is unknown hold NaN in both columns (and NaT). ``label_end`` is the time the
    horizon's outcome becomes known, ``T_t + w`` (daily: ``s_j + w``), on every row with a known
    horizon (flat rows included); it is used to prove that no training label overlaps the
    validation part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.calendar import globex_sessions
from futures_vpoc.data.barframe import bar_width as nominal_bar_width
from futures_vpoc.errors import UsageError

TARGETS = ("direction", "up_or_not", "rank")
"""Every target ``make_labels`` knows (the module docstring says what each one asks)."""
BINARY_TARGETS = ("direction", "up_or_not")
"""Targets whose label is 0/1 and whose model output is a logit of P(up)."""
_DAY = pd.Timedelta(days=1)
_REQUIRED = ("close", "contract", "trade_date")


@dataclass(frozen=True, eq=False)
class LabelTable:
    """Labels of every bar of a BarFrame.

    Attributes
    ----------
    frame : pandas.DataFrame
        Index = the bars' index. Columns ``fwd_return`` (float64, fraction), ``label`` (float64:
        1 up / 0 down for ``direction``, NaN on a flat horizon; 1 up / 0 not up for
        ``up_or_not``; the raw ``fwd_return`` for ``rank``) and ``label_end`` (UTC timestamps: when
        the horizon's outcome is known). NaN / NaT where the horizon is unknown.
    target : str
        One of :data:`TARGETS`.
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
    def known(self) -> np.ndarray:
        """Mask of rows whose horizon is known (finite ``fwd_return``, set ``label_end``), bool, shape (n,).

        Decided by the calendar rule alone, the same for every target.
        """
        return np.isfinite(self.frame["fwd_return"].to_numpy())

    @property
    def labelled(self) -> np.ndarray:
        """Mask of rows with a label (finite ``label``), bool, shape (n,).

        Equal to :attr:`known` except for ``direction``, which leaves the flat horizons unlabelled.
        """
        return np.isfinite(self.frame["label"].to_numpy())


def is_binary(target: str) -> bool:
    """Whether ``target``'s label is 0/1 and its model output a logit of P(up) (:data:`BINARY_TARGETS`)."""
    return target in BINARY_TARGETS


def class_shares(table) -> dict:
    """Shares of up, flat and down horizons among the rows whose horizon is known.

    Parameters
    ----------
    table : LabelTable or array-like of float
        A label table (its ``fwd_return`` column is read) or forward returns, shape (n,). NaN
        entries (horizon unknown) are left out; the shares do not depend on the target.

    Returns
    -------
    dict
        ``{"up": f, "flat": f, "down": f, "n": int}``: ``n`` rows with a finite forward return and
        the fractions of them with ``fwd_return`` > 0, == 0 and < 0 (the sign of
        ``close[j] - close[t]`` for positive prices), which add up to 1. With ``n = 0`` the three
        shares are None (JSON-able; there is nothing to share out).
    """
    fwd = table.frame["fwd_return"] if isinstance(table, LabelTable) else table
    fwd = np.asarray(fwd, dtype=np.float64).ravel()
    fwd = fwd[np.isfinite(fwd)]
    n = len(fwd)
    if n == 0:
        return {"up": None, "flat": None, "down": None, "n": 0}
    up, down = int((fwd > 0).sum()), int((fwd < 0).sum())
    return {"up": up / n, "flat": (n - up - down) / n, "down": down / n, "n": n}


def make_labels(bars: pd.DataFrame, target: str = "direction", horizon: int = 5,
                bar_width: pd.Timedelta | None = None) -> LabelTable:
    """Forward returns and labels ``horizon`` bars ahead, by the rule of the module docstring.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame (at least ``close``, ``contract``, ``trade_date``; index of bar starts, UTC).
    target : {"direction", "up_or_not", "rank"}
        What ``label`` holds (module docstring): ``direction`` = up (1) vs down (0), NaN when flat;
        ``up_or_not`` = up vs not up; a flat horizon counts as not up; short-biased rule;
        ``rank`` = the raw forward return.
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
        label = np.where(ok & (future != close), (future > close).astype(np.float64), np.nan)
    elif target == "up_or_not":
        label = np.where(ok, (future > close).astype(np.float64), np.nan)
    else:
        label = fwd.copy()
    label_end = pd.DatetimeIndex(np.where(ok, end, np.iinfo(np.int64).min).view("datetime64[ns]"))
    return pd.DataFrame({"fwd_return": fwd, "label": label,
                         "label_end": label_end.tz_localize("UTC")}, index=bars.index)


__all__ = ["BINARY_TARGETS", "TARGETS", "LabelTable", "class_shares", "is_binary", "make_labels"]
