"""Bars on the integer tick grid, checked and split into sessions.

A price ``p`` sits on level ``k = rint(p / tick)`` (nearest level, halves to even), an int64, so
two prices a float rounding apart can never become two levels. A level's price is ``k * tick``.
Sessions are the runs of consecutive in-scope bars sharing one ``(trade_date, contract)``; a trade
date that holds two contracts (a roll inside the day) therefore gives two sessions, one per
contract, and a ``(trade_date, contract)`` pair that comes back after another one is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError
from futures_vpoc.profile.spec import ProfileSpec

REQUIRED = ("open", "high", "low", "close", "volume", "contract", "trade_date", "rth")


@dataclass(frozen=True, eq=False)
class GridBars:
    """A BarFrame as kernel inputs.

    Attributes
    ----------
    index : pandas.DatetimeIndex, shape (n,)
        Bar starts (UTC) of every bar of the frame.
    low, high, close : numpy.ndarray of int64, shape (n,)
        Prices as tick levels, every bar.
    price_close : numpy.ndarray of float64, shape (n,)
        Close in index points (distances to naked VPOCs are measured from it).
    volume : numpy.ndarray of float64, shape (n,)
        Contracts, >= 0.
    contract_code : numpy.ndarray of int64, shape (n,)
        Index of each bar's contract in :attr:`contracts`.
    day : numpy.ndarray of int64, shape (n,)
        Each bar's trade date (datetime64[ns] as integers).
    contracts : numpy.ndarray of object
        Contract names.
    take : numpy.ndarray of int64, shape (m,)
        Positions of the in-scope bars (all of them for the Globex scope).
    bounds : numpy.ndarray of int64, shape (s + 1,)
        Session ``j`` holds in-scope bars ``take[bounds[j]:bounds[j+1]]``.
    trade_date : numpy.ndarray of datetime64[ns], shape (s,)
        Trade date of each session.
    session_contract : numpy.ndarray of int64, shape (s,)
        Contract code of each session.
    """

    index: pd.DatetimeIndex
    low: np.ndarray
    high: np.ndarray
    close: np.ndarray
    price_close: np.ndarray
    volume: np.ndarray
    contract_code: np.ndarray
    day: np.ndarray
    contracts: np.ndarray
    take: np.ndarray
    bounds: np.ndarray
    trade_date: np.ndarray
    session_contract: np.ndarray

    @property
    def n_sessions(self) -> int:
        """Number of sessions in scope."""
        return len(self.bounds) - 1

    def scoped(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per bar) restricted to the in-scope bars (no copy for Globex)."""
        return values if len(self.take) == len(values) else values[self.take]


def to_ticks(prices: np.ndarray, tick: float) -> np.ndarray:
    """Nearest tick level of each price.

    Parameters
    ----------
    prices : numpy.ndarray of float64
        Prices in index points, finite.
    tick : float
        Level spacing in index points, > 0.

    Returns
    -------
    numpy.ndarray of int64
        ``rint(prices / tick)`` (halves to even), same shape.
    """
    return np.rint(np.asarray(prices, dtype=np.float64) / tick).astype(np.int64)


def _first_bad(index: pd.DatetimeIndex, bad: np.ndarray, column: str, problem: str, hint: str) -> None:
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(f"{problem} at bar {index[pos]}", column=column, more=int(bad.sum()) - 1, hint=hint)


def check_bars(bars: pd.DataFrame) -> pd.DatetimeIndex:
    """Raise :class:`DataError` unless ``bars`` can be profiled; return its index.

    Checks: the BarFrame columns exist, at least one bar, a tz-aware strictly increasing index,
    finite prices, finite volume >= 0, low <= close <= high, and a trade date on every bar.
    """
    missing = [c for c in REQUIRED if c not in bars.columns]
    if missing:
        raise DataError(f"bars lack column(s) {', '.join(missing)}", hint="pass a BarFrame (read_merged)")
    if len(bars) == 0:
        raise DataError("no bars to profile", hint="check the file and the --date filter")
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataError("bar index is not tz-aware timestamps", column="timestamp", hint="use a BarFrame")
    steps = np.diff(index.asi8)
    _first_bad(index[1:], steps <= 0, "timestamp", "bars not strictly increasing in time",
               "sort the bars and drop duplicate timestamps")
    for col in ("open", "high", "low", "close", "volume"):
        values = bars[col].to_numpy(dtype=np.float64)
        _first_bad(index, ~np.isfinite(values), col, "NaN or infinite value", "repair or drop those bars")
    low, high = bars["low"].to_numpy(np.float64), bars["high"].to_numpy(np.float64)
    close = bars["close"].to_numpy(np.float64)
    _first_bad(index, bars["volume"].to_numpy(np.float64) < 0, "volume", "negative volume", "volume is >= 0")
    _first_bad(index, high < low, "high", "high below low", "repair or drop those bars")
    _first_bad(index, (close < low) | (close > high), "close", "close outside [low, high]",
               "repair or drop those bars")
    _first_bad(index, pd.isna(bars["trade_date"]).to_numpy(), "trade_date", "no trade date",
               "assign sessions with futures_vpoc.calendar.assign_sessions")
    return index


def _scope_mask(bars: pd.DataFrame, scope: str) -> np.ndarray | None:
    if scope == "globex":
        return None
    rth = bars["rth"].to_numpy(dtype=bool)
    return rth if scope == "rth" else ~rth


def _sessions(td: np.ndarray, code: np.ndarray, index: pd.DatetimeIndex) -> np.ndarray:
    """Boundaries of the runs of equal (trade date, contract); error if a pair comes back."""
    change = (td[1:] != td[:-1]) | (code[1:] != code[:-1])
    bounds = np.r_[0, np.flatnonzero(change) + 1, len(td)].astype(np.int64)
    starts = bounds[:-1]
    keys = pd.MultiIndex.from_arrays([td[starts], code[starts]])
    if not keys.is_unique:
        dup = keys.duplicated()
        pos = int(starts[int(np.argmax(dup))])
        raise DataError(f"trade date and contract of bar {index[pos]} come back after another contract "
                        "or date", column="contract",
                        hint="a BarFrame holds one contract at a time (roll the data first)")
    return bounds


def _check_rth_window(take: np.ndarray, bounds: np.ndarray, index: pd.DatetimeIndex) -> None:
    """RTH bars of a session must be one run of bars (the calendar's window): the first non-RTH bar
    after them is what shows, causally, that the RTH session is over."""
    span = take[bounds[1:] - 1] - take[bounds[:-1]] + 1
    broken = span != np.diff(bounds)
    if broken.any():
        j = int(np.argmax(broken))
        raise DataError(f"the RTH bars of the session starting {index[take[bounds[j]]]} are interrupted by "
                        "non-RTH bars", column="rth",
                        hint="derive rth from the calendar (futures_vpoc.calendar.assign_sessions)")


def prepare(bars: pd.DataFrame, spec: ProfileSpec) -> GridBars:
    """Check ``bars`` and put them on ``spec.tick``'s grid, split into ``spec.scope`` sessions.

    Raises
    ------
    DataError
        On any failed check of :func:`check_bars`, a bar without contract, no bar in scope, a
        ``(trade_date, contract)`` that comes back after another, or (RTH scope) RTH bars of a
        session interrupted by non-RTH bars.
    """
    index = check_bars(bars)
    codes, contracts = pd.factorize(bars["contract"], sort=False)
    codes = codes.astype(np.int64)
    _first_bad(index, codes < 0, "contract", "no contract", "every bar names its contract, e.g. ESH4")
    mask = _scope_mask(bars, spec.scope)
    take = np.arange(len(bars), dtype=np.int64) if mask is None else np.flatnonzero(mask).astype(np.int64)
    if len(take) == 0:
        raise DataError(f"no {spec.scope.upper()} bars to profile", column="rth",
                        hint="choose another scope or check the rth column")
    td = bars["trade_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    scoped_td = td if mask is None else td[take]
    scoped_code = codes if mask is None else codes[take]
    bounds = _sessions(scoped_td, scoped_code, index if mask is None else index[take])
    starts = bounds[:-1]
    if spec.scope == "rth":
        _check_rth_window(take, bounds, index)
    return GridBars(
        index=index,
        low=to_ticks(bars["low"].to_numpy(np.float64), spec.tick),
        high=to_ticks(bars["high"].to_numpy(np.float64), spec.tick),
        close=to_ticks(bars["close"].to_numpy(np.float64), spec.tick),
        price_close=bars["close"].to_numpy(np.float64),
        volume=bars["volume"].to_numpy(np.float64),
        contract_code=codes,
        day=td,
        contracts=np.asarray(contracts, dtype=object),
        take=take,
        bounds=bounds,
        trade_date=scoped_td[starts].view("datetime64[ns]"),
        session_contract=scoped_code[starts],
    )
