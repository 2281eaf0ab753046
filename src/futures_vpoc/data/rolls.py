"""Per-contract bars -> one continuous series, with the roll points recorded.

Rules (``shared/reference/es_market_and_data_formats.md`` section 1, "Roll convention" and
"Continuous-series construction"):

* A roll happens at a session boundary: every bar of a trade date comes from one contract, so the
  first bar of the new contract is the session open (17:00 CT the evening before).
* ``method="calendar"``: the active contract on trade date *T* is the first contract whose calendar
  roll date (Thursday eight days before the third-Friday expiry, :attr:`Contract.roll_date`) is after
  *T*. If that contract has no bars on *T*, the previous active contract is kept for that date (no
  roll is recorded, no hole is left) and the roll happens on the next date the new contract trades.
  Only contracts present in the data count: with no later contract in the data, the last one is
  kept to the end of its bars (so a single-contract input passes through unchanged).
* ``method="volume"``: the series switches to the next contract on the first trade date AFTER the
  first completed session in which the next contract's session volume exceeded the active one's
  (decided from a finished session, so causal); it never switches back. The series starts on the
  earliest-delivery contract that trades on the first date. If the active contract has no bars on a
  date (it expired, or its data end) the series moves to the next contract that has; a date on which
  neither it nor a later contract has bars is left out rather than switching back.
* ``method="none"``: the input is one series already (an index, or a series rolled elsewhere); it
  passes through unchanged and input with several contracts is refused.

Prices stay raw: there is no back-adjustment. A backwards (Panama or ratio) adjustment shifts every
bar before a roll by the gap at that roll, so the series at time *t* would depend on rolls after *t*
and appending a month of data would change the past; the series built from data truncated at any
trade date equals the full series up to that date. Returns are never to be computed across a roll:
:attr:`ContinuousSeries.rolls` records each switch with its gap and ratio (information only), and
the ``contract`` column keeps each bar's true contract, at whose change features, labels and
profiles restart (dollar P&L uses raw price changes).

A contract's one-digit year (``ESH5``) is resolved from its first trade date
(:func:`~futures_vpoc.data.contracts.contract_at`); two-digit names (``ESH15``, ``ESH25``, which the
loader uses when one load holds both) are taken as written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.data.contracts import Contract, contract_at
from futures_vpoc.errors import DataError

METHODS = ("calendar", "volume", "none")
REQUIRED = ("timestamp", "open", "high", "low", "close", "volume", "contract", "trade_date", "rth")
_PRICES = ["open", "high", "low", "close"]


@dataclass(frozen=True)
class RollPoint:
    """One switch from one contract to the next.

    Attributes
    ----------
    trade_date : datetime.date
        First trade date served by ``to_contract``.
    from_contract, to_contract : str
        Contract codes before and after the switch.
    switch_time : pandas.Timestamp
        Start (UTC) of the first bar of ``to_contract`` in the series.
    gap : float
        ``close_new - close_old`` in index points at the reference bar (the last timestamp before
        ``switch_time`` where both contracts have a bar); NaN when there is no such bar.
    ratio : float
        ``close_new / close_old`` at the same reference bar; NaN when there is none.
    method : str
        Roll method that decided the switch (``"calendar"`` or ``"volume"``).
    """

    trade_date: dt.date
    from_contract: str
    to_contract: str
    switch_time: pd.Timestamp
    gap: float
    ratio: float
    method: str


@dataclass(frozen=True)
class ContinuousSeries:
    """A continuous series built from per-contract bars.

    Attributes
    ----------
    bars : pandas.DataFrame
        Indexed by unique, increasing bar-start ``timestamp`` (UTC); the input's columns less
        ``timestamp``; ``contract`` = the true contract of each bar; raw prices.
    rolls : tuple of RollPoint
        The switches, in time order.
    """

    bars: pd.DataFrame
    rolls: tuple[RollPoint, ...]


def build_continuous(bars: pd.DataFrame, method: str = "calendar") -> ContinuousSeries:
    """Splice per-contract bars into one series, one contract per trade date.

    Parameters
    ----------
    bars : pandas.DataFrame, shape (n, k)
        Long frame of per-contract bars, contracts may overlap in time. Columns ``timestamp`` (bar
        start, tz-aware; or a DatetimeIndex named ``timestamp``), ``open high low close`` (points),
        ``volume``, ``contract`` (e.g. ``ESH4``), ``trade_date`` (datetime64, naive), ``rth``;
        other columns are carried along.
    method : {"calendar", "volume", "none"}
        How the active contract is chosen (module docstring); ``"none"``: the input is one series.

    Returns
    -------
    ContinuousSeries
        One bar per timestamp, raw prices. A single-contract input comes back unchanged (sorted by
        time) with no rolls.

    Raises
    ------
    DataError
        Unknown ``method``; a missing column; naive timestamps; bars without a trade date; an
        unreadable or mixed-product contract code; duplicate timestamps within a contract; with
        ``method="none"``, bars of several contracts.
    """
    _check_choice("method", method, METHODS)
    frame = _prepare(bars)
    if method == "none" and frame["contract"].nunique() > 1:
        names = sorted(frame["contract"].unique())
        raise DataError(f"--roll none takes one series, but the bars hold {len(names)} contracts",
                        column="contract", value=", ".join(names[:4]) + (" ..." if len(names) > 4 else ""),
                        hint="use --roll calendar or --roll volume to splice per-contract bars")
    if frame.empty or frame["contract"].nunique() == 1:
        # One contract (whatever its name, e.g. "ES" for a file that names none): nothing to roll.
        out = frame.set_index("timestamp")
        _check_unique(out.index)
        return ContinuousSeries(bars=out, rolls=())
    contracts = _contracts(frame)
    if _spliced_already(frame, contracts):
        # One contract per trade date, later contracts later (a continuous vendor file, or one given
        # calendar contracts): every method picks the one contract present, so skip the schedule.
        out = frame.set_index("timestamp")
        return ContinuousSeries(bars=out, rolls=tuple(_roll_points(frame, out, method)))
    codes = [c.code_in_data for c in contracts]
    per_session = frame.groupby(["trade_date", "contract"]).agg(
        volume=("volume", "sum"), bars=("close", "size"))
    volume = per_session["volume"].unstack("contract", fill_value=0.0).reindex(columns=codes, fill_value=0.0)
    present = per_session["bars"].unstack("contract", fill_value=0).reindex(columns=codes, fill_value=0) > 0
    if method == "calendar":
        active = _calendar_schedule(present, contracts)
    else:
        active = _volume_schedule(present, volume)
    keep = frame["contract"].to_numpy() == frame["trade_date"].map(active).to_numpy()
    out = frame.loc[keep].set_index("timestamp")
    _check_unique(out.index)
    return ContinuousSeries(bars=out, rolls=tuple(_roll_points(frame, out, method)))


def _spliced_already(frame: pd.DataFrame, contracts: list[_DataContract]) -> bool:
    """True when ``frame`` (sorted by time) is one series already: strictly increasing stamps, one
    contract per trade date, and each contract change goes to a later delivery."""
    ts = frame["timestamp"].array.asi8
    if len(ts) > 1 and not (ts[1:] > ts[:-1]).all():
        return False
    codes, uniques = pd.factorize(frame["contract"])
    order = {d.code_in_data: i for i, d in enumerate(contracts)}
    rank = np.asarray([order[u] for u in uniques], dtype=np.int64)[codes]
    day = frame["trade_date"].array.asi8
    change = rank[1:] != rank[:-1]
    return bool((rank[1:] >= rank[:-1]).all() and not (change & (day[1:] == day[:-1])).any())


def _check_choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise DataError(f"unknown roll {name} {value!r}", hint=f"use one of: {', '.join(valid)}")


def _prepare(bars: pd.DataFrame) -> pd.DataFrame:
    """Check the columns and return a sorted copy with a RangeIndex and a ``timestamp`` column."""
    frame = bars
    if "timestamp" not in frame.columns and isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.rename_axis("timestamp").reset_index()
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"bars lack column(s) {', '.join(missing)}",
                        hint="load the files with futures_vpoc.data loaders (they add contract, trade_date, rth)")
    ts = pd.DatetimeIndex(frame["timestamp"])
    if ts.tz is None:
        raise DataError("bar timestamps have no time zone", column="timestamp",
                        hint="localize the timestamps (UTC) before building a continuous series")
    frame = frame.copy()
    frame["timestamp"] = ts.tz_convert("UTC").as_unit("ns")
    frame["trade_date"] = pd.DatetimeIndex(frame["trade_date"]).as_unit("ns")
    frame["contract"] = frame["contract"].astype("str")
    if frame["trade_date"].isna().any():
        bad = frame.loc[frame["trade_date"].isna()]
        raise DataError("bar outside every Globex session (no trade date)", column="timestamp",
                        value=str(bad["timestamp"].iloc[0]), more=len(bad) - 1,
                        hint="drop or repair bars outside sessions before rolling (data merge --repair)")
    for col in _PRICES:
        frame[col] = frame[col].astype("float64")
    stamps = frame["timestamp"].array.asi8
    if len(stamps) < 2 or (stamps[1:] > stamps[:-1]).all():  # already in (timestamp, contract) order
        return frame.reset_index(drop=True)
    return frame.sort_values(["timestamp", "contract"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class _DataContract:
    contract: Contract
    code_in_data: str


def _contracts(frame: pd.DataFrame) -> list[_DataContract]:
    """Contracts present in the data, ordered by delivery month."""
    found = []
    for code, dates in frame.groupby("contract", sort=True)["trade_date"]:
        try:
            found.append(_DataContract(contract_at(code, dates.min().date()), code))
        except ValueError:
            raise DataError("not a futures contract code", column="contract", value=code,
                            hint="contract codes look like ESH4 or ESH24") from None
    roots = {d.contract.root for d in found}
    if len(roots) > 1:
        raise DataError(f"bars of several products ({', '.join(sorted(roots))}) in one series",
                        column="contract", hint="build one continuous series per product")
    return sorted(found, key=lambda d: d.contract)


def _calendar_schedule(present: pd.DataFrame, contracts: list[_DataContract]) -> pd.Series:
    """Active contract per trade date by the calendar rule (see module docstring)."""
    codes = [d.code_in_data for d in contracts]
    rolls = [d.contract.roll_date for d in contracts]
    active, prev = {}, None
    for day, row in present.iterrows():
        t = day.date()
        has = [c for c in codes if row[c]]
        wanted = next((c for c, r in zip(codes, rolls) if r > t), codes[-1])
        if row[wanted]:
            pick = wanted
        elif prev is not None and row[prev]:
            pick = prev
        else:
            pick = next((c for c, r in zip(codes, rolls) if r > t and row[c]), has[-1])
        active[day] = prev = pick
    return pd.Series(active, dtype="object")


def _volume_schedule(present: pd.DataFrame, volume: pd.DataFrame) -> pd.Series:
    """Active contract per trade date by the causal volume rule (see module docstring)."""
    codes = list(present.columns)
    first = present.iloc[0]
    cur = next(i for i, c in enumerate(codes) if first[c])
    pending, active = False, {}
    for day in present.index:
        row = present.loc[day]
        if pending and cur + 1 < len(codes) and row[codes[cur + 1]]:
            cur, pending = cur + 1, False
        if not row[codes[cur]]:
            later = [i for i in range(cur + 1, len(codes)) if row[codes[i]]]
            if later:
                cur, pending = later[0], False
        active[day] = codes[cur]
        if cur + 1 < len(codes) and volume.at[day, codes[cur + 1]] > volume.at[day, codes[cur]]:
            pending = True
    return pd.Series(active, dtype="object")


def _check_unique(index: pd.DatetimeIndex) -> None:
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise DataError("duplicate bar timestamps in the continuous series", column="timestamp",
                        value=str(dup), hint="remove duplicate bars within each contract file")


def _roll_points(frame: pd.DataFrame, out: pd.DataFrame, method: str) -> list[RollPoint]:
    """One RollPoint per change of ``contract`` in ``out``, with the gap at the reference bar."""
    codes = out["contract"].to_numpy()
    where = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    if len(where) == 0:
        return []
    ts_all = frame["timestamp"].array.asi8
    close_all = frame["close"].to_numpy()
    rows = frame.groupby("contract", sort=False).indices  # positions, in time order (frame is sorted)
    points = []
    for i in where:
        old, new = str(codes[i - 1]), str(codes[i])
        switch = out.index[i]
        day = out["trade_date"].iloc[i].date()
        gap, ratio = _gap(ts_all, close_all, rows[old], rows[new], switch.value)
        points.append(RollPoint(day, old, new, switch, gap, ratio, method))
    return points


def _gap(ts: np.ndarray, close: np.ndarray, old: np.ndarray, new: np.ndarray, switch: int) -> tuple[float, float]:
    """``(close_new - close_old, close_new / close_old)`` at the last common timestamp < ``switch``.

    ``ts`` (int64 ns) and ``close`` cover every bar; ``old``/``new`` are the positions of each
    contract's bars in increasing time. NaN, NaN when the contracts share no timestamp before it.
    """
    t_old, t_new = ts[old], ts[new]
    t_old = t_old[: np.searchsorted(t_old, switch, side="left")]
    t_new = t_new[: np.searchsorted(t_new, switch, side="left")]
    if len(t_old) == 0 or len(t_new) == 0:
        return float("nan"), float("nan")
    pos = np.minimum(np.searchsorted(t_old, t_new), len(t_old) - 1)
    match = np.flatnonzero(t_old[pos] == t_new)
    if len(match) == 0:
        return float("nan"), float("nan")
    j_new = match[-1]
    c_old = float(close[old[pos[j_new]]])
    c_new = float(close[new[j_new]])
    ratio = c_new / c_old if c_old > 0 else float("nan")
    return c_new - c_old, ratio


__all__ = ["METHODS", "ContinuousSeries", "RollPoint", "build_continuous"]
