"""Checking trade chunks, and ``--repair``: refuse a bad row by file and line, or drop and count it.

Every check is vectorised NumPy over the chunk (no Python loop per row). Without ``repair`` the
first bad row of a chunk (over all checks) ends the read with a one-line
:class:`~futures_vpoc.errors.DataError` naming the file, the line (or row/record), the value, how
many more rows of the chunk share the problem, and ``--repair``. With ``repair`` those rows are
dropped and counted in :class:`~futures_vpoc.data.trades.chunk.Repairs`.

Checks (DESIGN.md section 2, "Trades"):

* price finite and on the tick grid: ``|price/tick - rint(price/tick)| <= 1e-6``;
* size finite and > 0;
* time never going backwards within a file, chunk boundaries included: a trade stamped earlier than
  any trade kept before it in the same file is bad (with ``repair`` the earlier-stamped rows are
  dropped, so the kept stamps are non-decreasing).

Unknown side codes are refused by the readers, where the text is read (:func:`reject` is shared).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.data.formats.linemap import fail
from futures_vpoc.data.trades.chunk import Repairs, Trades, where
from futures_vpoc.data.validate.scale import EVER, PLAUSIBLE_POINTS, scale_guess

GRID_TOLERANCE = 1e-6
"""Largest distance from the tick grid, in ticks, still taken as on it (float rounding of text)."""
REPAIR_HINT = "fix or remove the row, or pass --repair to drop such rows"
KIND_PRICE_NOT_FINITE = "price not finite"
KIND_ZERO_SIZE = "zero size"
KIND_NEGATIVE_SIZE = "negative size"
KIND_SIZE_NOT_FINITE = "size not finite"
KIND_BACKWARDS = "time going backwards"
KIND_UNKNOWN_SIDE = "unknown side code"


def off_grid_kind(tick: float) -> str:
    """The repair kind of prices off the grid, e.g. ``"price off the 0.25 tick grid"``."""
    return f"price off the {tick:g} tick grid"


def reject(chunk: Trades, bad: np.ndarray, kind: str, problem: str, *, repair: bool,
           repairs: Repairs | None, column: str | None = None, value: object = None,
           hint: str = REPAIR_HINT) -> Trades:
    """Refuse the rows flagged ``bad``, or with ``repair`` drop them and count them under ``kind``.

    Parameters
    ----------
    chunk : Trades
        Rows of one file.
    bad : numpy.ndarray of bool, shape (n,)
        Rows with the problem.
    kind : str
        Repair kind (the key in ``repairs``).
    problem : str
        The error text for the first bad row.
    repair : bool
        Drop instead of refusing.
    repairs : Repairs or None
        Receives the count and the place of the first dropped row.
    column, value, hint
        For the error message (``value`` is that of the first bad row).

    Returns
    -------
    Trades
        ``chunk`` itself when no row is bad, else the rows kept.

    Raises
    ------
    DataError
        Without ``repair``, when a row is bad.
    """
    if not bad.any():
        return chunk
    rows = np.flatnonzero(bad)
    first = int(chunk.row[rows[0]])
    if not repair:
        raise fail(problem, chunk.lines, first, column=column, value=value, hint=hint, more=len(rows) - 1)
    if repairs is not None:
        repairs.add(kind, len(rows), where(chunk.lines, first))
    return chunk.take(~bad)


_BLOCK = 1 << 15
"""Rows per block of the fast checks (two float64 blocks stay in the CPU cache)."""


def all_on_grid(price: np.ndarray, tick: float) -> bool:
    """True when every price (float64, shape (n,)) is finite and on the tick grid.

    The fast path of :func:`price_problems`: the same test, block by block, without a mask.
    """
    q = np.empty(min(_BLOCK, len(price)))
    r = np.empty_like(q)
    with np.errstate(invalid="ignore", over="ignore"):
        for s in range(0, len(price), _BLOCK):
            p = price[s:s + _BLOCK]
            qq, rr = q[:len(p)], r[:len(p)]
            np.divide(p, tick, out=qq)
            np.rint(qq, out=rr)
            np.subtract(qq, rr, out=qq)
            np.abs(qq, out=qq)
            if not qq.max() <= GRID_TOLERANCE:  # NaN (from a non-finite price) fails too
                return False
    return True


def price_problems(price: np.ndarray, tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose price is not finite, and finite rows off the tick grid.

    Parameters
    ----------
    price : numpy.ndarray of float64, shape (n,)
        Index points; NaN and inf allowed (they are flagged).
    tick : float
        Tick size in index points.

    Returns
    -------
    not_finite, off_grid : numpy.ndarray of bool, shape (n,)
    """
    if all_on_grid(price, tick):
        none = np.zeros(len(price), dtype=bool)
        return none, none
    with np.errstate(invalid="ignore", over="ignore"):
        q = price / tick
        dist = q - np.rint(q)
        np.abs(dist, out=dist)
        bad = ~(dist <= GRID_TOLERANCE)  # NaN compares False: non-finite prices land here too
    if not bad.any():
        return bad, bad
    not_finite = ~np.isfinite(price)
    return not_finite, bad & ~not_finite


def size_problems(size: np.ndarray) -> np.ndarray:
    """Rows whose size (contracts, float64, shape (n,)) is zero, negative, NaN or infinite."""
    if len(size) and size.min() > 0 and size.max() < np.inf:  # NaN fails both: then the mask below
        return np.zeros(len(size), dtype=bool)
    with np.errstate(invalid="ignore"):
        return ~((size > 0) & (size < np.inf))


def in_order(ts: np.ndarray, last: int | None) -> bool:
    """True when ``ts`` (int64 ns, shape (n,)) never decreases and starts at or after ``last``."""
    return len(ts) == 0 or ((last is None or ts[0] >= last) and bool((ts[1:] >= ts[:-1]).all()))


def backwards(ts: np.ndarray, last: int | None) -> np.ndarray:
    """Rows stamped earlier than a row before them (or than ``last``, the file's latest kept stamp).

    Parameters
    ----------
    ts : numpy.ndarray of int64, shape (n,)
        ns UTC, in file order.
    last : int or None
        Latest stamp kept from the file's earlier chunks; None for the first chunk.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
        Dropping these rows leaves the stamps non-decreasing (a dropped row never raises the
        running maximum, so the flags do not depend on which rows are dropped).
    """
    n = len(ts)
    if in_order(ts, last):
        return np.zeros(n, dtype=bool)
    before = np.empty(n, dtype=np.int64)
    before[0] = np.iinfo(np.int64).min if last is None else last
    np.maximum.accumulate(ts[:-1], out=before[1:])
    if last is not None:
        np.maximum(before, last, out=before)
    return ts < before


def _by_contract(chunk: Trades):
    """``(code, stamps)`` of each contract in the chunk (the whole chunk when it holds one)."""
    c = chunk.contract
    if len(c) == 0 or (c[0] == c[-1] and (c == c[0]).all()):
        return [(int(c[0]), chunk.ts)] if len(c) else []
    return [(int(k), chunk.ts[c == k]) for k in np.unique(c)]


def check_price_scale(chunk: Trades) -> None:
    """Refuse a file whose median print (first chunk) cannot be an ES price in index points.

    The band and its reasons are :mod:`futures_vpoc.data.validate.scale`'s: a file in cents, or
    Databento fixed-point integers (``pretty_px=False``: 4799000000000 = 4799.00, which also sits
    on the tick grid), would otherwise be profiled at absurd prices without a word.

    Raises
    ------
    DataError
        Naming the file and its first row, the median, and the probable scale.
    """
    low, high = PLAUSIBLE_POINTS
    median = float(np.median(chunk.price))
    if low <= median <= high:
        return
    raise fail(f"median trade price {median:g} is not an ES price in index points ({EVER})", chunk.lines,
               int(chunk.row[0]), column="price", value=float(chunk.price[0]), hint=scale_guess(median, "trades"))


def _stamp(ns: int) -> str:
    return f"{pd.Timestamp(int(ns), unit='ns', tz='UTC'):%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC"


class TradeChecks:
    """The checks of one file's chunks, in file order (the time-order check spans chunks).

    Parameters
    ----------
    tick : float
        Tick size, index points (ES: 0.25).
    repair : bool
        Drop bad rows instead of refusing the file.
    repairs : Repairs or None
        Receives what was dropped.
    """

    def __init__(self, tick: float, repair: bool, repairs: Repairs | None):
        self.tick = tick
        self.repair = repair
        self.repairs = repairs
        self.last: dict[str, int] = {}
        """Latest kept stamp per contract: prints of two contracts in one file (a DBN file of a roll
        week) interleave, and Databento's ``ts_event`` is ordered per instrument, not across them."""
        self.scale_checked = False

    def __call__(self, chunk: Trades) -> Trades:
        """The chunk with its bad rows dropped (``repair``), or unchanged; raises on a bad row otherwise.

        Raises
        ------
        DataError
            Without ``repair``: for the first bad row of the chunk in file order (over all checks).
        """
        found = self._problems(chunk)
        if found and not self.repair:
            kind, mask, problem, column, value = min(found, key=lambda f: int(np.argmax(f[1])))
            reject(chunk, mask, kind, problem, repair=False, repairs=None, column=column, value=value)
        if found:
            keep = np.ones(len(chunk), dtype=bool)
            for kind, mask, *_ in found:
                if self.repairs is not None:
                    self.repairs.add(kind, int(mask.sum()), where(chunk.lines, int(chunk.row[np.argmax(mask)])))
                keep &= ~mask
            chunk = chunk.take(keep)
        if len(chunk):
            for code, ts in _by_contract(chunk):
                name = chunk.names[code]
                self.last[name] = max(self.last.get(name, int(ts.max())), int(ts.max()))
            if not self.scale_checked:
                check_price_scale(chunk)
                self.scale_checked = True
        return chunk

    def _problems(self, chunk: Trades) -> list[tuple[str, np.ndarray, str, str | None, object]]:
        """``(kind, rows, problem, column, value of the first row)`` of every check that fails."""
        n = len(chunk)
        if n and all_on_grid(chunk.price, self.tick) and chunk.size.min() > 0 and chunk.size.max() < np.inf \
                and all(in_order(ts, self.last.get(chunk.names[code])) for code, ts in _by_contract(chunk)):
            return []  # the common case: no mask is built
        not_finite, off_grid = price_problems(chunk.price, self.tick)
        bad_size = size_problems(chunk.size)
        found = []
        if not_finite.any():
            found.append((KIND_PRICE_NOT_FINITE, not_finite, "price is not a finite number", "price",
                          float(chunk.price[np.argmax(not_finite)])))
        if off_grid.any():
            found.append((off_grid_kind(self.tick), off_grid, f"price is off the {self.tick:g} tick grid",
                          "price", float(chunk.price[np.argmax(off_grid)])))
        if bad_size.any():
            found += _size_kinds(chunk.size, bad_size)
        ok = ~(not_finite | off_grid | bad_size)
        back = self._backwards(chunk, ok)
        if back is not None:
            found.append(back)
        return found

    def _backwards(self, chunk: Trades, ok: np.ndarray) -> tuple[str, np.ndarray, str, str, object] | None:
        """The time-order problem among the rows ``ok`` (that pass the price and size checks), or None."""
        back = np.zeros(len(chunk), dtype=bool)
        for code in np.unique(chunk.contract):
            mine = ok & (chunk.contract == code)
            back[mine] = backwards(chunk.ts[mine], self.last.get(chunk.names[int(code)]))
        if not back.any():
            return None
        i = int(np.argmax(back))
        same = ok[:i] & (chunk.contract[:i] == chunk.contract[i])
        earlier = chunk.ts[:i][same]
        last = self.last.get(chunk.names[int(chunk.contract[i])])
        before = max([x for x in (last, int(earlier.max()) if len(earlier) else None) if x is not None])
        return (KIND_BACKWARDS, back, "time goes backwards: the trade is stamped earlier than one before it in the "
                f"file ({_stamp(before)})", "time", _stamp(chunk.ts[i]))


def _size_kinds(size: np.ndarray, bad: np.ndarray) -> list[tuple[str, np.ndarray, str, str, object]]:
    """Bad sizes split into not finite, zero and negative (the rows of ``bad``)."""
    out = []
    not_finite = bad & ~np.isfinite(size)
    zero = bad & (size == 0)
    negative = bad & ~not_finite & ~zero
    for kind, mask, problem in ((KIND_SIZE_NOT_FINITE, not_finite, "size is not a finite number"),
                                (KIND_ZERO_SIZE, zero, "zero size"), (KIND_NEGATIVE_SIZE, negative, "negative size")):
        if mask.any():
            out.append((kind, mask, problem, "size", float(size[np.argmax(mask)])))
    return out


__all__ = ["GRID_TOLERANCE", "KIND_BACKWARDS", "KIND_NEGATIVE_SIZE", "KIND_PRICE_NOT_FINITE", "KIND_SIZE_NOT_FINITE",
           "KIND_UNKNOWN_SIDE", "KIND_ZERO_SIZE", "REPAIR_HINT", "TradeChecks", "all_on_grid", "backwards", "in_order",
           "off_grid_kind", "price_problems", "reject", "size_problems"]
