"""Bars built from trade prints: time, tick, volume and dollar bars (``ticks bars --bar RULE``).

:func:`parse_bar_rule` reads the ``--bar`` text into a :class:`BarRule`; :class:`BarBuilder` takes
:class:`~futures_vpoc.data.trades.chunk.Trades` chunks one after the other and returns a BarFrame
(DESIGN.md section 2) with three extra columns, ``buy_volume``, ``sell_volume`` and ``trades``.
:func:`bars_from_trades` runs the builder over an iterable of chunks.

Which trades make a bar
-----------------------
Bars are built per contract, and a bar never spans two sessions (a session is one trade date of
one contract) nor two contracts.

``time:W``
    One bar per interval ``[k W, (k + 1) W)`` (UTC, aligned to the epoch, so a width that divides a
    day is aligned to midnight UTC and to every whole hour of Central time) holding at least one
    trade; no empty bars. Stamp = the interval start. Globex sessions open and close on whole
    minutes, so two sessions share an interval only when ``W`` is over a minute and the interval
    holds one session's close and the next one's open (e.g. ``time:1h`` over an old-era 16:15 CT
    close and 16:30 reopen): the later session's bar is then stamped at the start of the minute of
    its first trade, which keeps the stamps unique and increasing (counted in
    :attr:`BarBuilder.notes`).
``tick:N`` / ``volume:N`` / ``dollar:N``
    Information-driven bars (López de Prado, *Advances in Financial Machine Learning*, ch. 2):
    trades are taken in order and a bar closes at the first trade at which its trade count, its
    summed size (contracts) or its summed notional (``price * multiplier * size``, US dollars;
    the ES multiplier is 50) reaches ``N``; no trade is split between two bars, so a bar may
    overshoot ``N`` by its last trade. The count restarts at each new session (an unfinished bar
    at a session's end is a short bar). Stamp = the time of the bar's first trade. Several prints
    share a nanosecond in fast markets, so two bars can start at the same stamp: the later one is
    moved to 1 ns after the previous bar's stamp (cascading where needed, so the index stays
    strictly increasing); how many were moved is in :attr:`BarBuilder.notes`.

Columns
-------
``open high low close`` (first, maximum, minimum, last price of the bar's trades, index points),
``volume`` (summed size, contracts), ``contract``, ``trade_date``, ``rth`` (the flag of the bar's
first trade: a bar wider than the RTH boundary's alignment may straddle the RTH open or close),
``vix`` (NaN: trades carry no VIX; join it with :func:`futures_vpoc.data.vix.attach_vix`),
``buy_volume`` and ``sell_volume`` (contracts, see below) and ``trades`` (int64, prints in the bar).
Sums are sequential float64 additions in trade order (exact for integer sizes below 2**53).

Buyer and seller volume
-----------------------
A trade whose aggressor side is known (``+1`` buyer, ``-1`` seller) counts as that side. A trade of
unknown side (``0``) is classified by the tick rule on its contract's price sequence (all of that
contract's trades, whatever their side, across sessions and chunks): a price above the previous
trade's is a buy, below it a sell, and an unchanged price takes the direction of the last price
change (zero-uptick = buy, zero-downtick = sell). Trades before the contract's first price change
(its first trade, and unchanged prices after it) are unclassified: their size is in ``volume`` but
in neither side column, so ``buy_volume + sell_volume <= volume``.

Several contracts in one stream
-------------------------------
In a roll week both the expiring and the next contract trade, interleaved in time. Each is built
into its own bars, and since a BarFrame holds one bar per stamp, :meth:`BarBuilder.finish` keeps
per trade date the contract with the most volume that day (the "volume" roll rule; a tie goes to
the contract with more trades, then to the one seen first) and drops the other contracts' bars of
that date; their trade counts are reported in :attr:`BarBuilder.notes`.

Streaming
---------
The open bar of every contract, the tick-rule state and the last stamp are carried from one chunk
to the next, so the result is identical for every chunk size. Only finished bars are kept. Each
contract's trades must come in time order (a stream of one file per contract is fine); a trade
earlier than its contract's previous one is a :class:`~futures_vpoc.errors.DataError`.

Speed
-----
One ``@njit`` pass over the chunk arrays (:func:`_bar_kernel`) with the state of the current
contract held in registers; the Python code runs once per chunk (and once per 65,536 finished
bars), never per trade. Measured on 10M synthetic prints (one core of a shared 2-core machine):
50-70M trades/s in the kernel for time and volume bars, about 50M/s through :meth:`BarBuilder.add`
and :meth:`BarBuilder.finish` for 1-minute bars.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from futures_vpoc.config import ES_MULTIPLIER, ES_TICK_SIZE
from futures_vpoc.data.barframe import FLOW_COLUMNS, INDEX_NAME
from futures_vpoc.data.formats.linemap import fail
from futures_vpoc.data.trades.chunk import Repairs, Trades
from futures_vpoc.data.trades.sessions import MINUTE_NS, NO_DATE, drop_outside_sessions, trade_sessions
from futures_vpoc.errors import UsageError

BAR_KINDS = ("time", "tick", "volume", "dollar")
"""Bar types of ``--bar``, in the order of their kernel codes 0..3."""

BAR_FORMS = "time:Nmin, time:Ns, time:Nh (a width that divides a day), tick:N, volume:N or dollar:N"
"""The accepted ``--bar`` forms, as error messages name them."""

EXTRA_COLUMNS = tuple(FLOW_COLUMNS)
"""Columns a bar frame built from trades has beyond the BarFrame's (``buy_volume sell_volume trades``)."""

_DAY_NS = 86_400_000_000_000
_SECOND_NS = 1_000_000_000
_UNITS_NS = {"s": _SECOND_NS, "min": 60 * _SECOND_NS, "h": 3_600 * _SECOND_NS}
_OUT_ROWS = 1 << 16  # finished bars per kernel call (output buffers of ~7 MB, reused)

# per-contract state: float columns, then int64 columns
_F_OPEN, _F_HIGH, _F_LOW, _F_CLOSE, _F_VOL, _F_BUY, _F_SELL, _F_ACC = range(8)
_N_F = 8
(_S_OPEN, _S_DATE, _S_IV, _S_FIRST, _S_TRADES, _S_RTH, _S_LAST_TICK, _S_HAS_LAST, _S_DIR,
 _S_LAST_TS) = range(10)
_N_S = 10
# output columns: floats, then int64
_O_STAMP, _O_FIRST, _O_TRADES, _O_DATE, _O_CONTRACT = range(5)


@dataclass(frozen=True)
class BarRule:
    """What closes a bar: a time interval, a trade count, a volume or a dollar amount.

    Attributes
    ----------
    kind : str
        One of :data:`BAR_KINDS`.
    width_ns : int
        Interval width of time bars, ns (divides a day); 0 for the other kinds.
    threshold : float
        ``N`` of tick (trades), volume (contracts) and dollar (US dollars) bars; 0 for time bars.
    text : str
        The rule as written, e.g. ``"time:1min"``.
    """

    kind: str
    width_ns: int
    threshold: float
    text: str

    @property
    def code(self) -> int:
        """Kernel code of :attr:`kind` (0 time, 1 tick, 2 volume, 3 dollar)."""
        return BAR_KINDS.index(self.kind)


def _bad_rule(text: str, why: str) -> UsageError:
    return UsageError(f"--bar {text!r}: {why}; use {BAR_FORMS}")


def _parse_width(text: str, value: str) -> int:
    """Interval width in ns of ``Nmin`` / ``Ns`` / ``Nh``."""
    m = re.fullmatch(r"(\d+)\s*(s|min|h)", value)
    if m is None:
        raise _bad_rule(text, "a time bar's width is a whole number of s, min or h")
    width = int(m.group(1)) * _UNITS_NS[m.group(2)]
    if width <= 0 or _DAY_NS % width:
        raise _bad_rule(text, "the width must divide a day (e.g. 30s, 1min, 5min, 15min, 1h, 4h)")
    return width


def _parse_threshold(text: str, kind: str, value: str) -> float:
    """``N`` of a tick (whole number of trades), volume or dollar rule, > 0 and finite."""
    try:
        n = int(value) if kind == "tick" else float(value)
    except ValueError:
        what = "a whole number of trades" if kind == "tick" else "a positive number"
        raise _bad_rule(text, f"{kind} bars need {what}") from None
    if not (np.isfinite(n) and n > 0):
        raise _bad_rule(text, f"{kind} bars need N > 0")
    return float(n)


def parse_bar_rule(text: str) -> BarRule:
    """Read a ``--bar`` value.

    Parameters
    ----------
    text : str
        ``time:1min``, ``time:Nmin``, ``time:Ns``, ``time:Nh`` (the width must divide a day),
        ``tick:N`` (N trades, whole), ``volume:N`` (contracts) or ``dollar:N`` (notional, US dollars;
        ``1e6`` and ``1_000_000`` are accepted). Case and spaces around the parts are ignored.

    Returns
    -------
    BarRule

    Raises
    ------
    UsageError
        One line naming ``--bar``, what is wrong and the accepted forms.
    """
    raw = str(text)
    kind, sep, value = raw.strip().lower().partition(":")
    kind, value = kind.strip(), value.strip()
    if not sep or kind not in BAR_KINDS or not value:
        raise _bad_rule(raw, "unknown bar rule")
    if kind == "time":
        return BarRule("time", _parse_width(raw, value), 0.0, raw.strip())
    return BarRule(kind, 0, _parse_threshold(raw, kind, value), raw.strip())


@njit(cache=True, inline="always")
def _store(fs, st, c, o, h, lo, cl, vol, buy, sell, acc, is_open, bdate, biv, bfirst, btrades, brth, last_tick,
           has_last, dirn, last_ts):  # pragma: no cover - compiled
    """Write contract ``c``'s open-bar and tick-rule state into its rows of ``fs`` and ``st``."""
    fs[c, 0] = o
    fs[c, 1] = h
    fs[c, 2] = lo
    fs[c, 3] = cl
    fs[c, 4] = vol
    fs[c, 5] = buy
    fs[c, 6] = sell
    fs[c, 7] = acc
    st[c, 0] = is_open
    st[c, 1] = bdate
    st[c, 2] = biv
    st[c, 3] = bfirst
    st[c, 4] = btrades
    st[c, 5] = brth
    st[c, 6] = last_tick
    st[c, 7] = has_last
    st[c, 8] = dirn
    st[c, 9] = last_ts


@njit(cache=True, inline="always")
def _emit(out_f, out_i, out_r, m, o, h, lo, cl, vol, buy, sell, stamp, first, trades, date, contract,
          rth):  # pragma: no cover - compiled
    """Write one finished bar into column ``m`` of the outputs (see :func:`_bar_kernel`)."""
    out_f[0, m] = o
    out_f[1, m] = h
    out_f[2, m] = lo
    out_f[3, m] = cl
    out_f[4, m] = vol
    out_f[5, m] = buy
    out_f[6, m] = sell
    out_i[0, m] = stamp
    out_i[1, m] = first
    out_i[2, m] = trades
    out_i[3, m] = date
    out_i[4, m] = contract
    out_r[m] = rth != 0


@njit(cache=True, nogil=True)
def _bar_kernel(kind, width, threshold, mult, inv_tick, ts, price, size, side, code, date, rth,
                start, fs, st, out_f, out_i, out_r):  # pragma: no cover - compiled; py_func tested equal
    """Add trades ``start..`` to the per-contract bars, emitting every bar that closes.

    Parameters
    ----------
    kind : int
        0 time, 1 tick, 2 volume, 3 dollar.
    width : int
        Time-bar width, ns (> 0 even when unused).
    threshold, mult, inv_tick : float
        ``N`` of threshold bars; contract multiplier (dollars per index point); 1 / tick size.
    ts, price, size, side, code, date, rth : arrays, shape (n,)
        Trade time (int64 ns UTC), price (float64), size (float64), side (int8), contract id
        (int32, into the state rows), trade date (int64 ns), RTH flag (bool).
    start : int
        First trade to take.
    fs, st : float64 (c, 8) and int64 (c, 10)
        Per-contract state (open bar, tick rule, last stamp); read and written back.
    out_f, out_i, out_r : float64 (7, cap), int64 (5, cap), bool (cap,)
        Finished bars, one per column: open high low close volume buy sell; stamp first_ts trades
        date contract; rth.

    Returns
    -------
    m : int
        Bars written to the outputs.
    stop : int
        Next trade to take (``n`` when done, less when the outputs filled up or on an error).
    status : int
        0 fine, 1 a trade earlier than its contract's previous trade, 2 a trade outside every
        session (``date == NO_DATE``); ``stop`` is then that trade.
    """
    n = ts.shape[0]
    cap = out_r.shape[0]
    m = 0
    status = 0
    cur = -1
    o = h = lo = cl = vol = buy = sell = acc = 0.0
    is_open = 0
    bdate = biv = bfirst = btrades = brth = last_tick = has_last = dirn = last_ts = np.int64(0)
    never = np.int64(9223372036854775807)
    bend = never  # end of the open time bar's interval (a division only when a bar starts)
    i = start
    while i < n:
        if m + 2 > cap:
            break
        c = code[i]
        if c != cur:
            if cur >= 0:  # write the previous contract's state back
                _store(fs, st, cur, o, h, lo, cl, vol, buy, sell, acc, is_open, bdate, biv, bfirst, btrades, brth,
                       last_tick, has_last, dirn, last_ts)
            cur = c
            o, h, lo, cl = fs[c, 0], fs[c, 1], fs[c, 2], fs[c, 3]
            vol, buy, sell, acc = fs[c, 4], fs[c, 5], fs[c, 6], fs[c, 7]
            is_open, bdate, biv, bfirst, btrades = st[c, 0], st[c, 1], st[c, 2], st[c, 3], st[c, 4]
            brth, last_tick, has_last, dirn, last_ts = st[c, 5], st[c, 6], st[c, 7], st[c, 8], st[c, 9]
            bend = (biv + 1) * width if kind == 0 else never
        t = ts[i]
        d = date[i]
        if t < last_ts:
            status = 1
            break
        if d == NO_DATE:
            status = 2
            break
        last_ts = t
        p = price[i]
        sz = size[i]
        # tick rule state (all trades of the contract), then the trade's class
        k = np.int64(np.rint(p * inv_tick))
        if has_last:
            if k > last_tick:
                dirn = 1
            elif k < last_tick:
                dirn = -1
        last_tick = k
        has_last = 1
        cls = side[i]
        if cls == 0:
            cls = dirn
        if is_open == 0 or d != bdate or t >= bend:
            if is_open != 0:
                _emit(out_f, out_i, out_r, m, o, h, lo, cl, vol, buy, sell, biv * width if kind == 0 else bfirst,
                      bfirst, btrades, bdate, cur, brth)
                m += 1
            o = h = lo = cl = p
            vol = sz
            buy = sz if cls > 0 else 0.0
            sell = sz if cls < 0 else 0.0
            acc = 0.0
            is_open = 1
            bdate = d
            if kind == 0:
                biv = t // width
                bend = biv * width + width
            bfirst = t
            btrades = 1
            brth = 1 if rth[i] else 0
        else:
            if p > h:
                h = p
            if p < lo:
                lo = p
            cl = p
            vol += sz
            if cls > 0:
                buy += sz
            elif cls < 0:
                sell += sz
            btrades += 1
        if kind != 0:
            if kind == 1:
                acc += 1.0
            elif kind == 2:
                acc += sz
            else:
                acc += p * mult * sz
            if acc >= threshold:
                _emit(out_f, out_i, out_r, m, o, h, lo, cl, vol, buy, sell, bfirst, bfirst, btrades, bdate, cur, brth)
                m += 1
                is_open = 0
        i += 1
    if cur >= 0:
        _store(fs, st, cur, o, h, lo, cl, vol, buy, sell, acc, is_open, bdate, biv, bfirst, btrades, brth,
               last_tick, has_last, dirn, last_ts)
    return m, i, status


@njit(cache=True)
def _unique_stamps(stamp, first_ts, minute_fix):  # pragma: no cover - compiled; py_func tested equal
    """Make sorted bar stamps strictly increasing, in place.

    A stamp not above the previous one becomes, with ``minute_fix`` (time bars), the start of the
    minute of the bar's first trade when that is later than the previous stamp; otherwise 1 ns
    after the previous stamp.

    Returns
    -------
    (int, int)
        Stamps moved to their first trade's minute, stamps moved to previous + 1 ns.
    """
    by_minute = 0
    by_ns = 0
    for k in range(1, stamp.shape[0]):
        prev = stamp[k - 1]
        if stamp[k] > prev:
            continue
        if minute_fix:
            minute = first_ts[k] - first_ts[k] % MINUTE_NS
            if minute > prev:
                stamp[k] = minute
                by_minute += 1
                continue
        stamp[k] = prev + 1
        by_ns += 1
    return by_minute, by_ns


@dataclass
class _Finished:
    """Finished bars of one kernel call: ``f`` float64 (7, m), ``i`` int64 (5, m), ``r`` bool (m,)
    (the rows of :func:`_bar_kernel`'s outputs)."""

    f: np.ndarray
    i: np.ndarray
    r: np.ndarray

    def __len__(self) -> int:
        return len(self.r)


class BarBuilder:
    """Streaming builder of bars from trade chunks (module docstring: the rules).

    Parameters
    ----------
    rule : BarRule or str
        What closes a bar (a ``--bar`` text is parsed by :func:`parse_bar_rule`).
    tick : float
        Tick size, index points: prices are compared in whole ticks by the tick rule.
    multiplier : float
        US dollars per index point per contract, for dollar bars (ES: 50).

    Attributes
    ----------
    notes : list of str
        What :meth:`finish` did that a user should know (contracts dropped by the volume roll,
        stamps moved to stay unique); set by :meth:`finish`.
    trades_in : int
        Trades taken so far.

    Examples
    --------
    >>> builder = BarBuilder(parse_bar_rule("volume:500"))             # doctest: +SKIP
    >>> for chunk in chunks:                                              # doctest: +SKIP
    ...     sess = trade_sessions(chunk.ts)
    ...     builder.add(chunk, sess.trade_date, sess.rth)
    >>> bars = builder.finish()                                           # doctest: +SKIP
    """

    def __init__(self, rule: BarRule | str, tick: float = ES_TICK_SIZE,
                 multiplier: float = ES_MULTIPLIER) -> None:
        self.rule = parse_bar_rule(rule) if isinstance(rule, str) else rule
        if not (np.isfinite(tick) and tick > 0):
            raise UsageError(f"tick = {tick!r}: the tick size must be > 0")
        self.tick = float(tick)
        self.multiplier = float(multiplier)
        self.notes: list[str] = []
        self.trades_in = 0
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        self._fs = np.zeros((0, _N_F))
        self._st = np.zeros((0, _N_S), np.int64)
        self._done: list[_Finished] = []

    def _contract_ids(self, chunk: Trades) -> np.ndarray:
        """Builder-wide contract id of each row of ``chunk`` (int32, shape (n,))."""
        for name in chunk.names:
            if name not in self._ids:
                self._ids[name] = len(self._names)
                self._names.append(name)
        grow = len(self._names) - len(self._fs)
        if grow > 0:
            self._fs = np.vstack([self._fs, np.zeros((grow, _N_F))])
            self._st = np.vstack([self._st, np.zeros((grow, _N_S), np.int64)])
        lut = np.array([self._ids[name] for name in chunk.names], np.int32)
        if np.array_equal(lut, np.arange(len(lut))):
            return np.asarray(chunk.contract, np.int32)
        return lut[chunk.contract]

    def add(self, chunk: Trades, trade_date: np.ndarray, rth: np.ndarray) -> None:
        """Take the next chunk of trades.

        Parameters
        ----------
        chunk : Trades
            The next prints; each contract's trades in time order, also across chunks.
        trade_date : numpy.ndarray of int64 or datetime64[ns], shape (n,)
            CME trade date of each trade (:func:`~futures_vpoc.data.trades.sessions.trade_sessions`).
        rth : numpy.ndarray of bool, shape (n,)
            Whether each trade is inside its trade date's regular trading hours.

        Raises
        ------
        DataError
            A trade earlier than its contract's previous trade, or outside every session (drop
            those first: :func:`~futures_vpoc.data.trades.sessions.drop_outside_sessions`).
        """
        n = len(chunk)
        if n == 0:
            return
        code = self._contract_ids(chunk)
        date = np.asarray(trade_date)
        if date.dtype.kind == "M":
            date = date.astype("datetime64[ns]").view(np.int64)
        date = date.astype(np.int64, copy=False)
        args = (self.rule.code, self.rule.width_ns or 1, self.rule.threshold, self.multiplier, 1.0 / self.tick,
                np.asarray(chunk.ts, np.int64), np.asarray(chunk.price, np.float64),
                np.asarray(chunk.size, np.float64), np.asarray(chunk.side, np.int8), code, date,
                np.asarray(rth, np.bool_))
        cap = min(n, _OUT_ROWS) + 2  # buffers reused by every call, the bars copied out
        out_f, out_i, out_r = np.empty((7, cap)), np.empty((5, cap), np.int64), np.empty(cap, np.bool_)
        start = 0
        while start < n:
            m, start, status = _bar_kernel(*args, start, self._fs, self._st, out_f, out_i, out_r)
            if m:
                self._done.append(_Finished(out_f[:, :m].copy(), out_i[:, :m].copy(), out_r[:m].copy()))
            if status:
                raise self._order_error(chunk, int(start), status)
        self.trades_in += n

    def _order_error(self, chunk: Trades, i: int, status: int):
        stamp = pd.Timestamp(int(chunk.ts[i]), unit="ns", tz="UTC")
        name = chunk.names[int(chunk.contract[i])]
        if status == 2:
            return fail(f"trade at {stamp} UTC lies outside every Globex session", chunk.lines,
                        int(chunk.row[i]), hint="drop such trades with --repair or check --tz")
        return fail(f"trade of {name} at {stamp} UTC is earlier than the previous {name} trade",
                    chunk.lines, int(chunk.row[i]), hint="bars need each contract's trades in time order: "
                    "sort the file by time")

    def _open_bars(self) -> _Finished:
        """The bars still open (one per contract at most), as finished rows."""
        rows = np.flatnonzero(self._st[:, _S_OPEN] != 0) if len(self._st) else np.array([], int)
        f = np.ascontiguousarray(self._fs[rows][:, :7].T)
        st = self._st[rows]
        i = np.empty((5, len(rows)), np.int64)
        i[_O_STAMP] = st[:, _S_IV] * self.rule.width_ns if self.rule.kind == "time" else st[:, _S_FIRST]
        i[_O_FIRST] = st[:, _S_FIRST]
        i[_O_TRADES] = st[:, _S_TRADES]
        i[_O_DATE] = st[:, _S_DATE]
        i[_O_CONTRACT] = rows
        return _Finished(f, i, st[:, _S_RTH] != 0)

    def finish(self) -> pd.DataFrame:
        """The bars of every trade added so far (the open bars closed), one contract per trade date.

        Returns
        -------
        pandas.DataFrame
            A BarFrame (:func:`~futures_vpoc.data.barframe.conform`: index ``timestamp`` = bar start,
            UTC ns, strictly increasing; ``vix`` NaN) plus ``buy_volume``, ``sell_volume`` (float64,
            contracts) and ``trades`` (int64). No NaN outside ``vix``. Empty when no trade was added.
        """
        parts = [*self._done, self._open_bars()]
        f = np.concatenate([p.f for p in parts], axis=1)
        i = np.concatenate([p.i for p in parts], axis=1)
        r = np.concatenate([p.r for p in parts])
        self.notes = []
        keep = self._volume_roll(i[_O_DATE], i[_O_CONTRACT], f[4], i[_O_TRADES])
        if keep is not None:
            f, i, r = f[:, keep], i[:, keep], r[keep]
        stamp, order = _sorted_stamps(i)
        if order is not None:
            f, i, r = f[:, order], i[:, order], r[order]
        by_minute, by_ns = _unique_stamps(stamp, i[_O_FIRST], self.rule.kind == "time")
        self._note_moves(by_minute, by_ns)
        return self._frame(stamp, f, i, r)

    def _volume_roll(self, date: np.ndarray, contract: np.ndarray, volume: np.ndarray,
                     trades: np.ndarray) -> np.ndarray | None:
        """Mask of the bars of each trade date's most-traded contract; None when nothing drops."""
        nc = len(self._names)
        if len(date) == 0 or nc < 2:
            return None
        day = date // _DAY_NS
        d0 = int(day.min())
        key = (day - d0) * nc + contract
        size = (int(day.max()) - d0 + 1) * nc
        vol = np.bincount(key, weights=volume, minlength=size).reshape(-1, nc)
        cnt = np.bincount(key, weights=trades.astype(np.float64), minlength=size).reshape(-1, nc)
        busy = np.flatnonzero((cnt > 0).sum(axis=1) > 1)
        if len(busy) == 0:
            return None
        chosen = np.full(len(vol), -1, np.int64)
        dropped: dict[int, list[tuple[int, int]]] = {}
        for row in busy:  # roll days only: a handful
            seen = np.flatnonzero(cnt[row] > 0)
            best = max(seen, key=lambda c: (vol[row, c], cnt[row, c], -c))
            chosen[row] = best
            for c in seen[seen != best]:
                dropped.setdefault(int(c), []).append((int(row) + d0, int(cnt[row, c])))
        for c, days in dropped.items():
            dates = ", ".join(str(np.datetime64(d, "D")) for d, _ in days)
            total = sum(k for _, k in days)
            self.notes.append(f"dropped {total:,} trade(s) of {self._names[c]} on {len(days)} trade date(s) "
                              f"({dates}): one contract per trade date, the one with the most volume that "
                              "day (volume roll)")
        pick = chosen[day - d0]
        return (pick < 0) | (pick == contract)

    def _note_moves(self, by_minute: int, by_ns: int) -> None:
        if by_minute:
            self.notes.append(f"{by_minute:,} bar(s) opening a session inside the interval of the previous "
                              "session's last bar are stamped at the minute of their first trade")
        if by_ns:
            self.notes.append(f"{by_ns:,} bar stamp(s) moved 1 ns after the previous bar's stamp (bars "
                              "starting at the same nanosecond), so the stamps stay unique")

    def _frame(self, stamp: np.ndarray, f: np.ndarray, i: np.ndarray, r: np.ndarray) -> pd.DataFrame:
        """The BarFrame and its extra columns from the sorted, de-duplicated bar rows."""
        import pyarrow as pa

        index = pd.DatetimeIndex(stamp.view("datetime64[ns]"), name=INDEX_NAME).tz_localize("UTC")
        names = pa.array(self._names or [""], pa.string())
        contract = pd.array(names.take(pa.array(i[_O_CONTRACT])), dtype="str")  # no Python str per bar
        columns = {"open": f[0], "high": f[1], "low": f[2], "close": f[3], "volume": f[4],
                   "contract": contract, "trade_date": i[_O_DATE].view("datetime64[ns]"), "rth": r,
                   "vix": np.full(len(stamp), np.nan), "buy_volume": f[5], "sell_volume": f[6],
                   "trades": i[_O_TRADES]}
        return pd.DataFrame(columns, index=index, copy=False)


def _sorted_stamps(i: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Bar stamps in time order (ties: trade date, then finishing order) and the sorting order.

    Returns
    -------
    stamp : numpy.ndarray of int64, shape (n,)
        A fresh array (sorted).
    order : numpy.ndarray of int64 or None
        The permutation, None when the rows already are in that order (a single time-ordered
        contract: no sort).
    """
    stamp, date = i[_O_STAMP], i[_O_DATE]
    step = np.diff(stamp)
    if ((step > 0) | ((step == 0) & (np.diff(date) >= 0))).all():
        return stamp.copy(), None
    order = np.lexsort((np.arange(len(stamp)), date, stamp))
    return stamp[order], order


def bars_from_trades(chunks: Iterable[Trades], rule: BarRule | str, *, tick: float = ES_TICK_SIZE,
                     multiplier: float = ES_MULTIPLIER, hours=None, repair: bool = False,
                     repairs: Repairs | None = None, notes: list[str] | None = None) -> pd.DataFrame:
    """Bars of a stream of trade chunks (trade date and RTH from the Globex calendar).

    Parameters
    ----------
    chunks : iterable of Trades
        In time order per contract (e.g. :func:`~futures_vpoc.data.trades.read.iter_trades`).
    rule : BarRule or str
        What closes a bar (``--bar``).
    tick, multiplier : float
        Tick size (index points) and dollars per point per contract.
    hours : SessionHours, optional
        RTH window (default: the calendar's).
    repair : bool
        Drop (and count in ``repairs``) trades outside every session instead of failing.
    repairs : Repairs, optional
        Collects what ``repair`` dropped.
    notes : list of str, optional
        Receives :attr:`BarBuilder.notes`.

    Returns
    -------
    pandas.DataFrame
        See :meth:`BarBuilder.finish`.

    Raises
    ------
    DataError
        A trade outside every session (without ``repair``), or out of time order.
    """
    builder = BarBuilder(rule, tick=tick, multiplier=multiplier)
    for chunk in chunks:
        sess = trade_sessions(chunk.ts, hours)
        chunk, sess = drop_outside_sessions(chunk, sess, repair, repairs)
        builder.add(chunk, sess.trade_date, sess.rth)
    bars = builder.finish()
    if notes is not None:
        notes.extend(builder.notes)
    return bars


__all__ = ["BAR_FORMS", "BAR_KINDS", "BarBuilder", "BarRule", "EXTRA_COLUMNS", "bars_from_trades",
           "parse_bar_rule"]
