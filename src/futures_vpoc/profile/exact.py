"""Exact volume profiles from trades: volume at every traded price, no allocation rule.

A bar-based profile has to guess where inside its bar's range the volume traded (the
allocation rules of :mod:`futures_vpoc.profile`); trades say it. The trades are streamed chunk by
chunk (:func:`futures_vpoc.data.trades.read.iter_trades`) into two small products, after which
they are dropped, so memory stays bounded however many prints a file holds:

- *footprints*: per contract, the volume (and buyer- / seller-initiated volume) at each price
  level of each minute (:func:`futures_vpoc.profile.kernels.footprint.footprint`);
- 1-minute bars of the same trades (:class:`futures_vpoc.data.trades.bars.BarBuilder`): the bar
  frame the profile is aligned to, with its one-contract-per-trade-date roll.

Definition (the package docstring's, with each print as a one-price bar): a session's profile is
the sum of its prints' sizes at their own levels, so its VPOC is the arg-max of summed size per
price (ties as the package docstring says) and the value area follows the documented expansion.
The developing VPOC/VAL/VAH of a minute is the session's profile over every print up to the end
of that minute. ``delta`` = buyer- minus seller-initiated volume (side from the file, else the
tick rule, :mod:`futures_vpoc.data.trades.aggressor`).

The result has the bar-based output contract (:class:`~futures_vpoc.profile.session.SessionProfiles`,
:class:`~futures_vpoc.profile.developing.DevelopingProfile`), so the plots, features and report
take either; the spec's allocation is ``close`` (each print is a bar with one price).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from futures_vpoc.data.trades.aggressor import AggressorState, classify
from futures_vpoc.data.trades.bars import BarBuilder, parse_bar_rule
from futures_vpoc.data.trades.chunk import Repairs, Trades, where
from futures_vpoc.data.trades.sessions import drop_outside_sessions, trade_sessions
from futures_vpoc.errors import DataError
from futures_vpoc.profile.developing import DevelopingProfile
from futures_vpoc.profile.grid import GridBars, prepare
from futures_vpoc.profile.kernels import CLOSE, developing_profiles, finished_profiles
from futures_vpoc.profile.kernels.footprint import MINUTE_NS, FootprintBuffers, developing_flow, footprint
from futures_vpoc.profile.levels import prior_columns
from futures_vpoc.profile.session import SessionProfiles, _table
from futures_vpoc.profile.spec import ProfileSpec

FLOW_COLUMNS = ("trades", "buy_volume", "sell_volume", "delta", "poc_delta")
"""Columns the exact session table adds to the bar-based one."""

DEV_FLOW_COLUMNS = ("dev_delta", "dev_poc_delta", "dev_edge_share")
"""Developing order-flow columns the exact developing table adds: the session's delta so far
(contracts), the delta at the developing VPOC's price, and the share of the session's volume so far
traded at the developing VAL and VAH prices."""

LEVEL_COLUMNS = ("session", "trade_date", "contract", "price", "volume", "buy_volume", "sell_volume", "delta")


@dataclass
class _Stream:
    """One contract's prints so far: the held-back last minute, footprint parts, aggressor state."""

    name: str
    state: AggressorState = field(default_factory=AggressorState)
    tail: tuple | None = None
    last_ts: int = np.iinfo(np.int64).min
    parts: list = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Footprints:
    """Every traded (minute, level) of the kept sessions, in time order.

    Attributes
    ----------
    minute : numpy.ndarray of int64, shape (e,)
        Minute start, ns UTC.
    level : numpy.ndarray of int64, shape (e,)
        Tick level.
    volume, buy, sell : numpy.ndarray of float64, shape (e,)
        Contracts traded, buyer- and seller-initiated.
    contract : numpy.ndarray of int32, shape (e,)
        Contract of each entry, an index into ``names``.
    names : list of str
        Contract names.
    """

    minute: np.ndarray
    level: np.ndarray
    volume: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    contract: np.ndarray
    names: list

    def __len__(self) -> int:
        return len(self.minute)

    def take(self, keep: np.ndarray) -> "Footprints":
        """The entries selected by ``keep`` (mask or positions)."""
        return Footprints(*(getattr(self, f.name)[keep] for f in dataclasses.fields(self) if f.name != "names"),
                          self.names)


@dataclass(frozen=True, eq=False)
class ExactProfiles:
    """Exact profiles of a trades file.

    Attributes
    ----------
    spec : ProfileSpec
        The definition (allocation ``close``: a print is a bar with one price).
    bars : pandas.DataFrame
        The 1-minute BarFrame of the same trades (with ``buy_volume``, ``sell_volume``, ``trades``).
    sessions : SessionProfiles
        Finished exact profiles; :attr:`SessionProfiles.table` has the bar-based columns plus
        :data:`FLOW_COLUMNS`.
    developing : DevelopingProfile or None
        Developing VPOC/VAL/VAH as of each minute bar, the order flow :data:`DEV_FLOW_COLUMNS`, and
        the prior-session levels.
    buy, sell : numpy.ndarray of float64
        Buyer- / seller-initiated volume per level, aligned with ``sessions.hist``.
    trades : int
        Prints read (after repairs).
    notes : list of str
        What was read and chosen.
    """

    spec: ProfileSpec
    bars: pd.DataFrame
    sessions: SessionProfiles
    developing: DevelopingProfile | None
    buy: np.ndarray
    sell: np.ndarray
    trades: int
    notes: list

    def levels_table(self) -> pd.DataFrame:
        """Volume at every traded level of every session (:data:`LEVEL_COLUMNS`; price in points)."""
        return self.sessions.levels_table(buy_volume=self.buy, sell_volume=self.sell, delta=self.buy - self.sell)


def _cut_last_minute(ts: np.ndarray) -> int:
    """Position where the last (possibly unfinished) minute of time-ordered ``ts`` starts."""
    last = ts[-1] - ts[-1] % MINUTE_NS
    return int(np.searchsorted(ts, last, side="left"))


def _feed(stream: _Stream, sub: Trades, spec: ProfileSpec, buffers: FootprintBuffers) -> None:
    """Add one contract's prints of a chunk; footprint every finished minute, hold back the last."""
    if sub.ts[0] < stream.last_ts:
        raise DataError(f"{stream.name} prints go back in time across files (a print stamped before the "
                        "previous file's last one)", file=str(sub.path),
                        hint=f"pass the files of one contract in time order; first at {where(sub.lines, int(sub.row[0]))}")
    stream.last_ts = int(sub.ts[-1])
    cls = classify(sub.price, sub.side, stream.state)
    arrays = (sub.ts, sub.price, sub.size, cls)
    start = 0
    if stream.tail is not None and len(stream.tail[0]):
        # the held-back minute and this chunk's prints of that same minute: only they are joined
        # (joining the whole chunk would copy it)
        end = stream.tail[0][0] - stream.tail[0][0] % MINUTE_NS + MINUTE_NS
        start = int(np.searchsorted(sub.ts, end, side="left"))
        joined = tuple(np.concatenate([a, b[:start]]) for a, b in zip(stream.tail, arrays))
        if start == len(sub.ts):  # the chunk ends inside the held-back minute: keep holding it
            stream.tail = joined
            return
        stream.parts.append(footprint(*joined, spec.tick, buffers))
    cut = _cut_last_minute(sub.ts)
    stream.tail = tuple(a[cut:].copy() for a in arrays)
    if cut > start:
        stream.parts.append(footprint(*(a[start:cut] for a in arrays), spec.tick, buffers))


def _flush(stream: _Stream, spec: ProfileSpec, buffers: FootprintBuffers) -> None:
    if stream.tail is not None and len(stream.tail[0]):
        stream.parts.append(footprint(*stream.tail, spec.tick, buffers))
    stream.tail = None


def _footprints(streams: dict[str, _Stream]) -> Footprints:
    """All contracts' footprint entries, in time order (a stable sort keeps levels ascending)."""
    parts = [(name, p) for name, s in streams.items() for p in s.parts]
    if not parts:
        raise DataError("no trades to profile", hint="check the file, --repair counts and the session hours")
    names = list(streams)
    cols = [np.concatenate([p[k] for _, p in parts]) for k in range(5)]
    contract = np.concatenate([np.full(len(p[0]), names.index(name), dtype=np.int32) for name, p in parts])
    if len(streams) > 1:
        order = np.argsort(cols[0], kind="stable")
        cols = [c[order] for c in cols]
        contract = contract[order]
    return Footprints(*cols, contract, names)


def _kept(fp: Footprints, bars: pd.DataFrame, spec: ProfileSpec) -> tuple[Footprints, np.ndarray]:
    """Entries of the sessions the minute bars kept (their roll), in scope; and each entry's trade date."""
    sess = trade_sessions(fp.minute)
    # (trade date, contract) as one integer: day number x contracts + contract code
    width = len(fp.names) + 1
    code = {name: i for i, name in enumerate(fp.names)}
    bar_day = bars["trade_date"].to_numpy(dtype="datetime64[D]").view(np.int64)
    at, seen = pd.factorize(bars["contract"].to_numpy())
    bar_code = np.array([code.get(c, len(fp.names)) for c in seen], np.int64)[at]
    keys = np.unique(bar_day * width + bar_code)
    day = sess.trade_date.view("datetime64[ns]").astype("datetime64[D]").view(np.int64)
    keep = np.isin(day * width + fp.contract, keys)
    if spec.scope != "globex":
        keep &= sess.rth if spec.scope == "rth" else ~sess.rth
    return fp.take(keep), sess.trade_date[keep]


def _bounds(day: np.ndarray, contract: np.ndarray) -> np.ndarray:
    change = (day[1:] != day[:-1]) | (contract[1:] != contract[:-1])
    return np.r_[0, np.flatnonzero(change) + 1, len(day)].astype(np.int64)


def _finished(fp: Footprints, bounds: np.ndarray, g: GridBars, prints: np.ndarray, spec: ProfileSpec):
    """Exact session histograms and the session table, on the minute bars' sessions ``g``."""
    take = np.arange(len(fp), dtype=np.int64)
    base, offsets, hist, stats, totals = finished_profiles(fp.level, fp.level, fp.level, fp.volume, take, bounds,
                                                           CLOSE, spec.value_area, spec.two_level)
    idx = np.repeat(offsets[:-1] - base, np.diff(bounds)) + fp.level
    buy = np.bincount(idx, weights=fp.buy, minlength=len(hist))
    sell = np.bincount(idx, weights=fp.sell, minlength=len(hist))
    table = _table(g, spec, stats, totals)
    has = totals[:, 1] > 0
    poc = np.where(has, stats[:, 0] - base + offsets[:-1], 0)
    starts = bounds[:-1]
    table["trades"] = np.add.reduceat(g.scoped(prints), g.bounds[:-1])
    table["buy_volume"] = np.add.reduceat(fp.buy, starts)
    table["sell_volume"] = np.add.reduceat(fp.sell, starts)
    table["delta"] = table["buy_volume"] - table["sell_volume"]
    table["poc_delta"] = np.where(has, buy[poc] - sell[poc], np.nan)
    hist.setflags(write=False)
    sessions = SessionProfiles(spec, table, base, offsets, hist, g.take[g.bounds[1:] - 1])
    return sessions, base, offsets, buy, sell


def _developing(fp: Footprints, bounds: np.ndarray, base: np.ndarray, offsets: np.ndarray, g: GridBars,
                spec: ProfileSpec) -> dict[str, np.ndarray]:
    """Developing VPOC/VAL/VAH at each minute bar: the session's profile through that minute."""
    take = np.arange(len(fp), dtype=np.int64)
    levels, totals = developing_profiles(fp.level, fp.level, fp.level, fp.volume, take, bounds, base, offsets,
                                         CLOSE, spec.value_area, spec.two_level)
    last = np.r_[np.flatnonzero(fp.minute[1:] != fp.minute[:-1]), len(fp) - 1]
    n = len(g.index)
    minute_of_bar = g.index.asi8[g.take]
    if not np.array_equal(fp.minute[last], minute_of_bar):
        raise AssertionError("footprint minutes and minute bars disagree")  # an internal invariant
    cols = {"session": np.full(n, -1, np.int64)}
    cols["session"][g.take] = np.repeat(np.arange(g.n_sessions, dtype=np.int64), np.diff(g.bounds))
    prices = levels[last] * spec.tick
    for j, name in enumerate(("dev_vpoc", "dev_val", "dev_vah")):
        cols[name] = np.full(n, np.nan)
        cols[name][g.take] = prices[:, j]
    cols["dev_total"] = np.full(n, np.nan)
    cols["dev_total"][g.take] = totals[last]
    flow = developing_flow(fp.level, fp.volume, fp.buy, fp.sell, bounds, base, offsets, last,
                           levels.astype(np.int64))  # every entry holds volume: no NaN level
    for j, name in enumerate(DEV_FLOW_COLUMNS):
        cols[name] = np.full(n, np.nan)
        cols[name][g.take] = flow[:, j]
    return cols


def _stream_chunks(chunks: Iterable[Trades], spec: ProfileSpec, repair: bool, repairs: Repairs | None,
                   builder: BarBuilder) -> tuple[dict[str, _Stream], int]:
    streams: dict[str, _Stream] = {}
    buffers = FootprintBuffers()
    count = 0
    for chunk in chunks:
        sess = trade_sessions(chunk.ts)
        chunk, sess = drop_outside_sessions(chunk, sess, repair, repairs)
        if not len(chunk):
            continue
        count += len(chunk)
        builder.add(chunk, sess.trade_date, sess.rth)
        codes = np.unique(chunk.contract) if chunk.contract[0] != chunk.contract[-1] or \
            (chunk.contract != chunk.contract[0]).any() else chunk.contract[:1]
        for code in codes:
            sub = chunk if len(codes) == 1 else chunk.take(chunk.contract == code)
            name = chunk.names[int(code)]
            _feed(streams.setdefault(name, _Stream(name)), sub, spec, buffers)
    for stream in streams.values():
        _flush(stream, spec, buffers)
    return streams, count


def exact_profiles(chunks: Iterable[Trades], spec: ProfileSpec | None = None, *, developing: bool = True,
                   repair: bool = False, repairs: Repairs | None = None,
                   notes: list[str] | None = None) -> ExactProfiles:
    """Exact session profiles (and the developing profile per minute) of streamed trades.

    Parameters
    ----------
    chunks : iterable of Trades
        Validated chunks in file order (:func:`futures_vpoc.data.trades.read.iter_trades`); each
        contract's prints in time order across chunks.
    spec : ProfileSpec, optional
        Tick, value-area share and rule, scope; its allocation is replaced by ``close``.
    developing : bool
        Also compute the developing values per minute bar and the prior-session levels.
    repair : bool
        Drop (and count in ``repairs``) trades outside every Globex session instead of refusing.
    notes : list of str, optional
        Human notes are appended (the bar builder's roll, etc.).

    Returns
    -------
    ExactProfiles

    Raises
    ------
    DataError
        No trades, a trade outside every session (without ``repair``), a contract whose prints
        go back in time across files.
    """
    spec = dataclasses.replace(spec or ProfileSpec(), allocation="close")
    notes = [] if notes is None else notes
    builder = BarBuilder(parse_bar_rule("time:1min"), tick=spec.tick)
    streams, count = _stream_chunks(chunks, spec, repair, repairs, builder)
    if not count:
        raise DataError("no trades to profile", hint="check the file, --repair counts and the session hours")
    bars = builder.finish()
    notes.extend(builder.notes)
    fp, day = _kept(_footprints(streams), bars, spec)
    bounds = _bounds(day, fp.contract)
    g = prepare(bars, spec)
    if g.n_sessions != len(bounds) - 1:
        raise AssertionError("footprint sessions and minute-bar sessions disagree")  # an internal invariant
    sessions, base, offsets, buy, sell = _finished(fp, bounds, g, bars["trades"].to_numpy(np.int64), spec)
    dev = None
    if developing:
        cols = _developing(fp, bounds, base, offsets, g, spec)
        cols.update(prior_columns(g, sessions))
        dev = DevelopingProfile(spec, pd.DataFrame(cols, index=g.index, copy=False), sessions)
    return ExactProfiles(spec, bars, sessions, dev, buy, sell, count, notes)


__all__ = ["DEV_FLOW_COLUMNS", "ExactProfiles", "FLOW_COLUMNS", "Footprints", "LEVEL_COLUMNS", "exact_profiles"]
