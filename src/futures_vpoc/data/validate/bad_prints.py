"""Isolated bad prints: finding them, and (with ``repair``) replacing them by the neighbours' median.

Bad print (definition): a price ``p`` of a bar whose ratio to ``m``, the median of the closes of
the 10 surrounding bars of the same contract (5 before and 5 after; the nearest 10 at either end of
a contract; the bar itself excluded), is outside ``[exp(-0.25), exp(0.25)]`` = ``[0.779, 1.284]``,
i.e. ``|log(p / m)| > 0.25``. Why 0.25: the largest one-day moves of the S&P 500 in 1999-2018 were
about 11% (Oct 2008, daily closes), and the intraday low of 2008-10-10 (839.8) was 15% below the
median of the surrounding ten closes (990.5); 1-minute ES bars move far less. A 1.25 among 4000s
is ``|log| = 8``. Contracts with fewer than 5 bars are not checked (too few neighbours to judge).
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.data.formats import PRICE_FIELDS
from futures_vpoc.data.validate.bars import Bars
from futures_vpoc.data.validate.messages import _HINT_REPAIR, Sources, _num

BAD_PRINT_LOG_RATIO = 0.25
"""Threshold on ``|log(price / neighbours' median close)|`` above which a price is a bad print."""
BAD_PRINT_NEIGHBOURS = 10
"""Closes around a bar (itself excluded) whose median is the reference price."""
BAD_PRINT_MIN_BARS = 5
"""A contract with fewer bars is not checked for bad prints."""

_CHUNK = 1 << 16
_LO = float(np.exp(-BAD_PRINT_LOG_RATIO))
_HI = float(np.exp(BAD_PRINT_LOG_RATIO))


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


__all__ = ["BAD_PRINT_LOG_RATIO", "BAD_PRINT_MIN_BARS", "BAD_PRINT_NEIGHBOURS", "find_bad_prints",
           "fix_bad_prints", "neighbour_median"]
