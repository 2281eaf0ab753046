"""Per-bar inputs of the feature groups, contract segments and chunks.

A contract segment is a contiguous run of bars of one ``contract``; every price window and
recursion restarts at its first bar (``reset``). A session is a run of one (trade date, contract),
as in the profile engine. Chunks are at most ``chunk_size`` consecutive bars of one segment; the
kernels carry their state from one chunk to the next, so the split changes no value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.calendar import globex_sessions
from futures_vpoc.config import EXCHANGE_TZ
from futures_vpoc.errors import DataError
from futures_vpoc.profile.grid import check_bars

NO_TIME = np.iinfo(np.int64).min


@dataclass(frozen=True)
class BarArrays:
    """The BarFrame as flat arrays, shape (n,) each, computed once per build.

    Attributes
    ----------
    index : pandas.DatetimeIndex
        Bar starts, UTC.
    ts : numpy.ndarray of int64
        Bar starts, UTC nanoseconds.
    open, high, low, close, volume, vix : numpy.ndarray of float64
        BarFrame columns (prices > 0, volume >= 0; vix NaN before the first close).
    rth : numpy.ndarray of bool
    trade_day : numpy.ndarray of datetime64[ns]
        CME trade date.
    reset : numpy.ndarray of bool
        First bar of each contract segment.
    new_session : numpy.ndarray of bool
        First bar of each (trade date, contract) run.
    new_day : numpy.ndarray of bool
        First bar of each trade date (contract ignored).
    slot : numpy.ndarray of int64
        US Central clock minute of the bar start, 0..1439 (daylight saving follows the exchange).
    session_open, session_close : numpy.ndarray of int64
        Globex open and close of the bar's trade date, UTC ns (``NO_TIME`` when the calendar has none).
    segments : numpy.ndarray of int64, shape (m + 1,)
        Segment ``j`` is rows ``segments[j]:segments[j+1]``.
    contracts : tuple of str
        Contract of each segment.
    """

    index: pd.DatetimeIndex
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vix: np.ndarray
    rth: np.ndarray
    trade_day: np.ndarray
    reset: np.ndarray
    new_session: np.ndarray
    new_day: np.ndarray
    slot: np.ndarray
    session_open: np.ndarray
    session_close: np.ndarray
    segments: np.ndarray
    contracts: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True)
class Chunk:
    """Rows ``start:stop`` of one segment (views into :class:`BarArrays`), plus where it sits."""

    start: int
    stop: int
    seg_start: int
    contract: str
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vix: np.ndarray
    rth: np.ndarray
    trade_day: np.ndarray
    reset: np.ndarray
    new_session: np.ndarray
    new_day: np.ndarray
    slot: np.ndarray
    session_open: np.ndarray
    session_close: np.ndarray

    def __len__(self) -> int:
        return self.stop - self.start


_ROW_FIELDS = ("ts", "open", "high", "low", "close", "volume", "vix", "rth", "trade_day", "reset", "new_session",
               "new_day", "slot", "session_open", "session_close")


def _runs(*keys: np.ndarray) -> np.ndarray:
    """True at the first row and wherever any key changes from the previous row."""
    n = len(keys[0])
    first = np.zeros(n, dtype=bool)
    if n:
        first[0] = True
    for key in keys:
        first[1:] |= key[1:] != key[:-1]
    return first


def _clock_slot(index: pd.DatetimeIndex) -> np.ndarray:
    local = index.tz_convert(EXCHANGE_TZ)
    return (local.hour * 60 + local.minute).to_numpy(dtype=np.int64)


def _session_times(trade_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Globex open/close (UTC ns) of each bar's trade date; ``NO_TIME`` where the calendar has none."""
    days = pd.DatetimeIndex(trade_day)
    table = globex_sessions(days.min(), days.max())
    pos = table.index.get_indexer(days)
    known = pos >= 0
    out = []
    for col in ("open", "close"):
        stamps = pd.DatetimeIndex(table[col]).as_unit("ns").asi8
        out.append(np.where(known, stamps[np.where(known, pos, 0)], NO_TIME))
    return out[0], out[1]


def _check_inputs(bars: pd.DataFrame) -> None:
    if "vix" not in bars.columns:
        raise DataError("bars lack the 'vix' column", column="vix",
                        hint="pass a BarFrame (read_merged); a file without VIX gets an all-NaN vix column")
    check_bars(bars)
    for col in ("open", "high", "low", "close"):
        values = bars[col].to_numpy(np.float64)
        if (values <= 0).any():
            pos = int(np.argmax(values <= 0))
            raise DataError(f"price <= 0 at bar {bars.index[pos]}", column=col,
                            hint="features use log returns; use raw or ratio-adjusted prices, not difference-adjusted")


def bar_arrays(bars: pd.DataFrame) -> BarArrays:
    """Check a BarFrame and flatten it for the kernels.

    Raises
    ------
    DataError
        As :func:`futures_vpoc.profile.grid.check_bars` (missing columns, no bars, unsorted index,
        NaN prices or volumes, a close outside its bar, no trade date), a missing ``vix`` column,
        or a price <= 0.
    """
    _check_inputs(bars)
    index = pd.DatetimeIndex(bars.index).tz_convert("UTC").as_unit("ns")
    day = bars["trade_date"].to_numpy(dtype="datetime64[ns]")
    codes, names = pd.factorize(bars["contract"], sort=False)
    reset = _runs(codes)
    starts = np.flatnonzero(reset)
    session_open, session_close = _session_times(day)
    return BarArrays(
        index=index, ts=index.asi8, **{c: bars[c].to_numpy(np.float64) for c in
                                       ("open", "high", "low", "close", "volume", "vix")},
        rth=bars["rth"].to_numpy(bool), trade_day=day, reset=reset, new_session=_runs(codes, day.view(np.int64)),
        new_day=_runs(day.view(np.int64)), slot=_clock_slot(index), session_open=session_open,
        session_close=session_close, segments=np.r_[starts, len(index)].astype(np.int64),
        # the names from the factorized codes: an object array of the column made 1M Python strings
        # (~60 MB of fresh small pages, ~15,000 page faults) to read one name per contract segment
        contracts=tuple(str(names[codes[s]]) for s in starts))


def chunks(arrays: BarArrays, seg: int, chunk_size: int | None) -> Iterator[Chunk]:
    """The chunks of segment ``seg``: consecutive rows, at most ``chunk_size`` each (None: one)."""
    s0, s1 = int(arrays.segments[seg]), int(arrays.segments[seg + 1])
    step = (s1 - s0) if chunk_size is None else chunk_size
    for a in range(s0, s1, step):
        b = min(a + step, s1)
        rows = {f: getattr(arrays, f)[a:b] for f in _ROW_FIELDS}
        yield Chunk(start=a, stop=b, seg_start=s0, contract=arrays.contracts[seg], **rows)
