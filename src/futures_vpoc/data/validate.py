"""Checks and repairs of loaded bars.

Fatal problems raise :class:`~futures_vpoc.errors.DataError` naming the file, the 1-based line
(header counted), the column and the value of the first offending row (by file, then line), with
the number of other rows that have the same problem. The caller writes nothing.

=========================================  =========  ==============================================
problem                                    fatal      with ``repair=True``
=========================================  =========  ==============================================
NaN / empty / infinite price               yes        (fatal)
NaN, infinite or negative volume           yes        (fatal)
timestamps out of order within a file      yes        (fatal)
duplicate timestamp within one contract    yes        (fatal)
isolated bad print                         yes        field := median of the neighbouring closes,
                                                      on the tick grid; then low/high widened
price off the tick grid                    yes        rounded to the nearest tick
high < low, open or close outside range    yes        (fatal)
bar outside every Globex session           yes        bar dropped
=========================================  =========  ==============================================

A price within ``1e-6`` of a tick of the grid is float noise (e.g. ``4000.2500000001``): it is
snapped silently. Repairs are counted in ``repairs``: ``bad_print`` and ``off_grid`` count price
values changed, ``outside_session`` counts bars dropped.

Bad print (definition): a price ``p`` of a bar whose ratio to ``m``, the median of the closes of
the 10 surrounding bars of the same contract (5 before and 5 after; the nearest 10 at either end of
a contract; the bar itself excluded), is outside ``[exp(-0.25), exp(0.25)]`` = ``[0.779, 1.284]``,
i.e. ``|log(p / m)| > 0.25``. Why 0.25: the largest one-day moves of the S&P 500 in 1999-2018 were
about 11% (Oct 2008, daily closes), and the intraday low of 2008-10-10 (839.8) was 15% below the
median of the surrounding ten closes (990.5); 1-minute ES bars move far less. A 1.25 among 4000s
is ``|log| = 8``. Contracts with fewer than 5 bars are not checked (too few neighbours to judge).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from futures_vpoc.calendar import SessionAssignment, assign_sessions
from futures_vpoc.config import SessionHours
from futures_vpoc.data.formats import PRICE_FIELDS, LineMap, RawBars, fail
from futures_vpoc.errors import DataError

BAD_PRINT_LOG_RATIO = 0.25
"""Threshold on ``|log(price / neighbours' median close)|`` above which a price is a bad print."""
BAD_PRINT_NEIGHBOURS = 10
"""Closes around a bar (itself excluded) whose median is the reference price."""
BAD_PRINT_MIN_BARS = 5
"""A contract with fewer bars is not checked for bad prints."""
GRID_NOISE = 1e-6
"""Distance from the grid, in ticks, below which a price is float noise and snapped silently."""
REPAIR_KINDS = ("bad_print", "off_grid", "outside_session")

_CHUNK = 1 << 16
_LO = float(np.exp(-BAD_PRINT_LOG_RATIO))
_HI = float(np.exp(BAD_PRINT_LOG_RATIO))
_HINT_REPAIR = "or pass --repair to fix it"


def _ts_text(ns: int) -> str:
    return str(pd.Timestamp(int(ns), unit="ns", tz="UTC"))


def _num(x: float) -> float | str:
    """A price for a message: the plain float (``1.25``), or ``'nan'``/``'inf'``."""
    x = float(x)
    return x if np.isfinite(x) else str(x)


# --------------------------------------------------------------------------------------------
# Checks on one file, in file order (before stamps are converted or files combined)


def check_file(raw: RawBars) -> None:
    """Fatal checks that need the file's own row order.

    NaN/infinite prices, NaN/infinite/negative volume, and timestamps going backwards within a
    contract (a multi-contract file may list contracts one after the other).

    Raises
    ------
    DataError
        For the first offending row (by line), with the count of further rows.
    """
    if not all(np.isfinite(getattr(raw, k)).all() for k in PRICE_FIELDS):  # cheap common case first
        _raise_non_finite(raw)
    _check_volume(raw)
    _check_order(raw)


def _raise_non_finite(raw: RawBars) -> None:
    prices = np.column_stack([getattr(raw, k) for k in PRICE_FIELDS])
    bad = ~np.isfinite(prices)
    rows = np.flatnonzero(bad.any(axis=1))
    if len(rows):
        i = int(rows[0])
        j = int(np.argmax(bad[i]))
        x = prices[i, j]
        what = "price is missing or NaN" if np.isnan(x) else "price is infinite"
        raise fail(what, raw.lines, int(raw.row[i]), column=PRICE_FIELDS[j], value=_num(x),
                   more=len(rows) - 1, hint="fix or remove the row")


def _check_volume(raw: RawBars) -> None:
    v = raw.volume
    if v.min(initial=0.0) >= 0 and np.isfinite(v).all():
        return
    finite = np.isfinite(v)
    bad = np.flatnonzero(~finite | (np.where(finite, v, 0.0) < 0))
    if len(bad):
        i = int(bad[0])
        what = "negative volume" if finite[i] else ("volume is missing or NaN" if np.isnan(v[i])
                                                   else "volume is infinite")
        raise fail(what, raw.lines, int(raw.row[i]), column="volume", value=_num(v[i]),
                   more=len(bad) - 1, hint="volume must be a count >= 0; fix or remove the row")


def _check_order(raw: RawBars) -> None:
    ts, codes = raw.ts, raw.contract_codes
    if len(ts) < 2:
        return
    if len(raw.contract_names) == 1:
        back = np.flatnonzero(np.diff(ts) < 0) + 1
        prev = back - 1
    else:
        order = np.argsort(codes, kind="stable")  # each contract's rows, still in file order
        same = codes[order][1:] == codes[order][:-1]
        hit = np.flatnonzero(same & (np.diff(ts[order]) < 0))
        back, prev = order[hit + 1], order[hit]
        by_line = np.argsort(back)
        back, prev = back[by_line], prev[by_line]
    if len(back):
        i, p = int(back[0]), int(prev[0])
        before = raw.lines.line(int(raw.row[p]))
        where = f"line {before}" if before is not None else f"row {int(raw.row[p]) + 1}"
        raise fail(f"timestamp earlier than the previous bar's ({where}); timestamps out of order",
                   raw.lines, int(raw.row[i]), column="timestamp", value=_ts_text(ts[i]),
                   more=len(back) - 1, hint="sort the file by time")


# --------------------------------------------------------------------------------------------
# Bars of all files together


@dataclass
class Bars:
    """Column arrays of the bars of every file, sorted by (contract, bar start).

    Attributes
    ----------
    ts : numpy.ndarray of int64, shape (n,)
        Bar START, ns since the epoch, UTC.
    open, high, low, close, volume : numpy.ndarray of float64, shape (n,)
        Finite; volume >= 0 (checked per file).
    contract : numpy.ndarray of int32, shape (n,)
        Code into the contract name list; contracts are contiguous and in chronological order.
    file : numpy.ndarray of int32, shape (n,)
        Index of the source file.
    row : numpy.ndarray of int64, shape (n,)
        0-based data row in that file (to name its line).
    """

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    contract: np.ndarray
    file: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, idx: np.ndarray) -> "Bars":
        """Rows ``idx`` (indices or boolean mask) of every column."""
        return Bars(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass
class Sources:
    """The files behind :class:`Bars`, to name a row's file and line in an error."""

    lines: list[LineMap]

    def first(self, bars: Bars, idx: np.ndarray) -> int:
        """The index in ``idx`` whose row comes first by (file, line)."""
        idx = np.asarray(idx)
        return int(idx[np.lexsort((bars.row[idx], bars.file[idx]))[0]])

    def error(self, bars: Bars, i: int, problem: str, **kw) -> DataError:
        return fail(problem, self.lines[int(bars.file[i])], int(bars.row[i]), **kw)

    def where(self, bars: Bars, i: int) -> str:
        lm = self.lines[int(bars.file[i])]
        line = lm.line(int(bars.row[i]))
        return f"{lm.path}:{line}" if line is not None else f"{lm.path} row {int(bars.row[i]) + 1}"


@dataclass
class Validated:
    """Result of :func:`validate`.

    Attributes
    ----------
    bars : Bars
        Checked (and, with ``repair``, repaired) bars; prices on the tick grid.
    sessions : SessionAssignment
        Trade date and RTH flag of each bar (all bars are in a session).
    repairs : dict of str to int
        Count per kind in :data:`REPAIR_KINDS` (0 when none).
    notes : list of str
        One line per kind of repair made.
    """

    bars: Bars
    sessions: SessionAssignment
    repairs: dict[str, int]
    notes: list[str] = field(default_factory=list)


def validate(bars: Bars, names: list[str], sources: Sources, *, tick: float = 0.25,
             repair: bool = False, hours: SessionHours | None = None) -> Validated:
    """Run the cross-file checks and repairs in a fixed order.

    Order: duplicates, bad prints, tick grid, OHLC consistency, sessions (bad prints come before
    the OHLC check so that a repairable 1.25 close is reported, and repaired, as a bad print).

    Parameters
    ----------
    bars : Bars
        Sorted by (contract, ts); every per-file check already passed. Modified in place.
    names : list of str
        Contract names of the codes in ``bars.contract``.
    sources : Sources
        The files, for messages.
    tick : float
        Price grid, index points (ES: 0.25).
    repair : bool
        Repair what is repairable instead of raising.
    hours : SessionHours, optional
        RTH window.

    Raises
    ------
    DataError
        The first fatal problem.
    """
    if not tick > 0:
        raise DataError("tick must be positive", value=tick, hint="ES trades in 0.25 index points")
    repairs = dict.fromkeys(REPAIR_KINDS, 0)
    check_duplicates(bars, names, sources)
    repairs["bad_print"] = fix_bad_prints(bars, sources, tick, repair)
    repairs["off_grid"] = fix_off_grid(bars, sources, tick, repair)
    check_ohlc(bars, sources)
    bars, sessions, repairs["outside_session"] = fix_outside_sessions(bars, sources, repair, hours)
    what = {"bad_print": "bad print(s) replaced by the neighbours' median close",
            "off_grid": f"price(s) rounded to the {tick:g} tick grid",
            "outside_session": "bar(s) outside every Globex session dropped"}
    notes = [f"repaired: {n} {what[k]}" for k, n in repairs.items() if n]
    return Validated(bars, sessions, repairs, notes)


def check_duplicates(bars: Bars, names: list[str], sources: Sources) -> None:
    """Fatal: the same bar start twice for one contract (in one file or across files)."""
    if len(bars) < 2:
        return
    dup = np.flatnonzero((np.diff(bars.ts) == 0) & (bars.contract[1:] == bars.contract[:-1])) + 1
    if not len(dup):
        return
    # Sorting was stable, so dup[k] is the later of each pair by (file, line); report the earliest.
    i = sources.first(bars, dup)
    raise sources.error(
        bars, i, f"duplicate timestamp for contract {names[int(bars.contract[i])]} "
        f"(same as {sources.where(bars, i - 1)})", column="timestamp", value=_ts_text(bars.ts[i]),
        more=len(dup) - 1, hint="remove the duplicate row (or the overlapping file)")


# --------------------------------------------------------------------------------------------
# Bad prints


def _segments(contract: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) of each contract's run of rows."""
    cut = np.flatnonzero(contract[1:] != contract[:-1]) + 1
    starts = np.concatenate([[0], cut]).astype(np.int64)
    ends = np.concatenate([cut, [len(contract)]]).astype(np.int64)
    return starts, ends


def _window_extreme(c: np.ndarray, width: int, op) -> np.ndarray:
    """``op`` (np.minimum / np.maximum) over ``c[j:j+width]`` for each ``j``; shape (n-width+1,)."""
    out = c[: len(c) - width + 1].copy()
    for k in range(1, width):
        op(out, c[k: len(c) - width + 1 + k], out=out)
    return out


def _candidates(bars: Bars, seg_start: np.ndarray, seg_end: np.ndarray) -> np.ndarray:
    """Rows that may be bad prints (a superset, cheaply).

    For a bar with 5 neighbours on each side, the median ``m`` of those 10 closes lies between
    their minimum ``L`` and maximum ``H``; if every price ``p`` of the bar satisfies
    ``H*exp(-0.25) <= p <= L*exp(0.25)`` then ``|log(p/m)| <= 0.25`` and the bar is clean. Only the
    others (and bars near a contract's ends) get the exact median. Rolling min/max are 10 numpy
    passes; the exact median of 10 values for every bar would cost 10x more.
    """
    n, half = len(bars), BAD_PRINT_NEIGHBOURS // 2
    edge = np.zeros(n, dtype=bool)  # fewer than 5 rows of the same contract on one side
    short = np.zeros(n, dtype=bool)  # contract too short to judge
    for s, e in zip(seg_start.tolist(), seg_end.tolist()):
        edge[s: s + half] = True
        edge[max(e - half, s): e] = True
        short[s:e] = e - s < BAD_PRINT_MIN_BARS
    cand = edge & ~short
    for a in range(half, n - half, _CHUNK):  # chunks keep the temporaries in cache
        b = min(a + _CHUNK, n - half)
        cand[a:b] |= ~_clean(bars, a, b, half) & ~edge[a:b]
    return np.flatnonzero(cand)


def _clean(bars: Bars, a: int, b: int, half: int) -> np.ndarray:
    """For rows ``a..b-1`` (each with ``half`` rows on both sides): True where the bar is clean."""
    c = bars.close[a - half: b + half]
    lo5 = _window_extreme(c, half, np.minimum)  # lo5[j] = min(c[j : j + half])
    hi5 = _window_extreme(c, half, np.maximum)
    k = b - a  # row a + j has left window lo5[j] and right window lo5[j + half + 1]
    nb_lo = np.minimum(lo5[:k], lo5[half + 1: half + 1 + k])
    nb_hi = np.maximum(hi5[:k], hi5[half + 1: half + 1 + k])
    # all four prices in both extremes: a bad low may sit above the high (e.g. 10x too big)
    o, h, lo, cl = bars.open[a:b], bars.high[a:b], bars.low[a:b], bars.close[a:b]
    p_lo = np.minimum(np.minimum(o, h), np.minimum(lo, cl))
    p_hi = np.maximum(np.maximum(o, h), np.maximum(lo, cl))
    return (p_lo >= nb_hi * _LO) & (p_hi <= nb_lo * _HI)


def neighbour_median(close: np.ndarray, rows: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Median of the closes of the 10 bars around each of ``rows``, the bar itself excluded.

    Parameters
    ----------
    close : numpy.ndarray of float64, shape (n,)
        Closes sorted by (contract, time).
    rows : numpy.ndarray of int, shape (k,)
        Rows to evaluate.
    start, end : numpy.ndarray of int, shape (k,)
        Each row's contract run ``[start, end)``.

    Returns
    -------
    numpy.ndarray of float64, shape (k,)
        The window is 5 before and 5 after, shifted inside the contract at its ends; a contract
        with fewer than 11 bars uses all its other bars.
    """
    out = np.empty(len(rows))
    width = np.minimum(end - start, BAD_PRINT_NEIGHBOURS + 1)
    for w in np.unique(width):
        sel = np.flatnonzero(width == w)
        i, s, e = rows[sel], start[sel], end[sel]
        lo = np.clip(i - BAD_PRINT_NEIGHBOURS // 2, s, e - w)
        k = np.arange(w - 1)
        idx = lo[:, None] + k[None, :] + (k[None, :] >= (i - lo)[:, None])  # skip the bar itself
        out[sel] = np.median(close[idx], axis=1)
    return out


def find_bad_prints(bars: Bars) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Locate isolated bad prints (definition in the module docstring).

    Returns
    -------
    rows : numpy.ndarray of int64, shape (k,)
        Row of each bad price (a row appears once per bad field).
    cols : numpy.ndarray of int64, shape (k,)
        Index into :data:`~futures_vpoc.data.formats.PRICE_FIELDS`.
    ref : numpy.ndarray of float64, shape (k,)
        The neighbours' median close of that row.
    """
    empty = np.empty(0, dtype=np.int64)
    if len(bars) < BAD_PRINT_MIN_BARS:
        return empty, empty, np.empty(0)
    seg_start, seg_end = _segments(bars.contract)
    cand = _candidates(bars, seg_start, seg_end)
    if not len(cand):
        return empty, empty, np.empty(0)
    seg = np.searchsorted(seg_start, cand, side="right") - 1
    med = neighbour_median(bars.close, cand, seg_start[seg], seg_end[seg])
    prices = np.column_stack([getattr(bars, k)[cand] for k in PRICE_FIELDS])
    ok_ref = med > 0
    ratio = np.divide(prices, med[:, None], out=np.ones_like(prices), where=ok_ref[:, None])
    bad = (ratio < _LO) | (ratio > _HI)
    r, c = np.nonzero(bad)
    return cand[r].astype(np.int64), c.astype(np.int64), med[r]


def fix_bad_prints(bars: Bars, sources: Sources, tick: float, repair: bool) -> int:
    """Raise on bad prints, or (``repair``) replace each by the neighbours' median on the grid.

    After the replacement ``low := min(low, open, close)`` and ``high := max(high, open, close)``
    (so a repaired low above the bar's other prices gives way to them). The median is snapped to
    the grid with ``numpy.rint`` (a half tick rounds to the even tick).

    Returns
    -------
    int
        Number of price values replaced.
    """
    rows, cols, ref = find_bad_prints(bars)
    if not len(rows):
        return 0
    if not repair:
        first = sources.first(bars, rows)
        k = int(np.flatnonzero(rows == first)[0])
        name = PRICE_FIELDS[cols[k]]
        raise sources.error(
            bars, first, f"isolated bad print: {name} {_num(getattr(bars, name)[first])} against a "
            f"median of {ref[k]:g} for the 10 neighbouring closes (|log ratio| > {BAD_PRINT_LOG_RATIO})",
            column=name, value=_num(getattr(bars, name)[first]), more=len(np.unique(rows)) - 1,
            hint=f"remove the row, {_HINT_REPAIR}")
    snapped = np.rint(ref / tick) * tick
    for j, name in enumerate(PRICE_FIELDS):
        sel = cols == j
        getattr(bars, name)[rows[sel]] = snapped[sel]
    touched = np.unique(rows)
    o, c = bars.open[touched], bars.close[touched]
    bars.high[touched] = np.maximum(bars.high[touched], np.maximum(o, c))
    bars.low[touched] = np.minimum(bars.low[touched], np.minimum(o, c))
    return len(rows)


# --------------------------------------------------------------------------------------------
# Tick grid, OHLC, sessions


def fix_off_grid(bars: Bars, sources: Sources, tick: float, repair: bool) -> int:
    """Snap float noise silently; raise on prices off the grid, or (``repair``) round them.

    Returns
    -------
    int
        Number of price values rounded (noise below :data:`GRID_NOISE` ticks is not counted).
    """
    found = []
    count = 0
    for j, name in enumerate(PRICE_FIELDS):
        p = getattr(bars, name)
        q = p / tick
        r = np.rint(q)
        q -= r
        np.abs(q, out=q)
        off = np.flatnonzero(q > GRID_NOISE)
        if len(off) and not repair:
            found.append((sources.first(bars, off), j, len(off)))
            continue
        count += len(off)
        np.multiply(r, tick, out=p)
    if found:
        first = sources.first(bars, np.asarray([f[0] for f in found]))
        j = next(f[1] for f in found if f[0] == first)
        name = PRICE_FIELDS[j]
        raise sources.error(bars, first, f"price off the {tick:g} tick grid", column=name,
                            value=_num(getattr(bars, name)[first]),
                            more=sum(f[2] for f in found) - 1,
                            hint=f"check --tick and the price scaling, {_HINT_REPAIR} (round to the nearest tick)")
    return count


def check_ohlc(bars: Bars, sources: Sources) -> None:
    """Fatal: ``high < low``, or ``open``/``close`` outside ``[low, high]``."""
    o, h, lo, c = bars.open, bars.high, bars.low, bars.close
    tests = (
        ("high", h < lo, "high < low"),
        ("open", (o < lo) | (o > h), "open outside [low, high]"),
        ("close", (c < lo) | (c > h), "close outside [low, high]"),
    )
    hits = [(np.flatnonzero(mask), col, what) for col, mask, what in tests]
    rows = [r for r, _, _ in hits if len(r)]
    if not rows:
        return
    every = np.unique(np.concatenate(rows))
    first = sources.first(bars, every)
    col, what = next((col, what) for r, col, what in hits if len(r) and first in r)
    raise sources.error(bars, first, f"{what} (open {o[first]:g}, high {h[first]:g}, low {lo[first]:g}, "
                        f"close {c[first]:g})", column=col, value=_num(getattr(bars, col)[first]),
                        more=len(every) - 1, hint="fix or remove the row")


def fix_outside_sessions(bars: Bars, sources: Sources, repair: bool,
                         hours: SessionHours | None) -> tuple[Bars, SessionAssignment, int]:
    """Raise on bars outside every Globex session (halt, weekend, holiday), or drop them.

    Returns
    -------
    bars : Bars
        The bars inside a session.
    sessions : SessionAssignment
        Of those bars.
    dropped : int
        Bars dropped.
    """
    stamps = pd.DatetimeIndex(bars.ts.view("M8[ns]")).tz_localize("UTC")
    sess = assign_sessions(stamps, hours)
    out = np.flatnonzero(~sess.in_session)
    if not len(out):
        return bars, sess, 0
    if not repair:
        first = sources.first(bars, out)
        ct = stamps[first].tz_convert("America/Chicago").strftime("%a %Y-%m-%d %H:%M CT")
        raise sources.error(
            bars, first, f"bar outside every Globex session (starts {ct}: daily halt, weekend or holiday)",
            column="timestamp", value=_ts_text(bars.ts[first]), more=len(out) - 1,
            hint="check --tz and --stamp (bar start or end), or pass --repair to drop such bars")
    if len(out) == len(bars):
        raise DataError(f"every one of the {len(bars)} bars is outside the Globex sessions",
                        file=str(sources.lines[int(bars.file[0])].path),
                        hint="check --tz and --stamp: the time zone or bar-stamp convention is wrong")
    keep = sess.in_session
    kept = SessionAssignment(sess.trade_date[keep], sess.rth[keep], sess.in_session[keep])
    return bars.take(keep), kept, len(out)


__all__ = ["BAD_PRINT_LOG_RATIO", "Bars", "REPAIR_KINDS", "Sources", "Validated", "check_file",
           "check_duplicates", "check_ohlc", "find_bad_prints", "fix_bad_prints", "fix_off_grid",
           "fix_outside_sessions", "neighbour_median", "validate"]
