"""Load ES bars from a vendor file or a folder of per-contract files.

``load_es`` = read each file (:mod:`futures_vpoc.data.formats`), check it in file order, turn its
stamps into bar starts, put all files together sorted by (contract, start), then run the checks and
repairs of :mod:`futures_vpoc.data.validate` and place every bar in its Globex session.
Per-contract files are not spliced into one continuous series here (see the roll module).

Bar stamps: an end-stamped bar starts one bar width earlier, the width being the most common
positive spacing of the file's stamps (:func:`futures_vpoc.data.barframe.bar_width`). Where the
zone or the convention is unknown (naive stamps without ``--tz``, FirstRate's stamps, ``stamp="auto"``)
it is told from where the file's gaps fall against the Globex closures
(:mod:`futures_vpoc.data.clock`): on a post-2015 day start-stamped 1-minute bars run 17:00..15:59 CT,
end-stamped ones 17:01..16:00 CT (``shared/reference/es_market_and_data_formats.md``, "Detection
rules for ambiguous vendors"). Daily bars dated without a time of day start at the Globex open of
their trade date; a date that is no trade date is refused by line, or dropped with ``repair``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from futures_vpoc import progress
from futures_vpoc.config import ES_TICK_SIZE, SessionHours
from futures_vpoc.data.barframe import bar_width
from futures_vpoc.data.contracts import Contract, contract_names, resolve_years, split_code
from futures_vpoc.data.files import bar_files
from futures_vpoc.data.clock import infer_clock
from futures_vpoc.data.formats import FORMATS, PRICE_FIELDS, RawBars, read_bars
from futures_vpoc.data.formats.dateonly import DATE_ONLY_ZONE, refuse_non_trade_date
from futures_vpoc.data.validate import Bars, Sources, check_file, validate
from futures_vpoc.errors import DataError

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume", "contract", "trade_date", "rth")
"""Columns of :attr:`LoadedBars.bars`, in order."""
_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class LoadedBars:
    """Bars loaded by :func:`load_es`.

    Attributes
    ----------
    bars : pandas.DataFrame
        RangeIndex; columns :data:`COLUMNS`: ``timestamp`` (bar START, datetime64[ns, UTC]),
        ``open high low close`` (float64 index points on the tick grid), ``volume`` (float64 >= 0),
        ``contract`` (str, e.g. ``ESH4``), ``trade_date`` (datetime64[ns], naive midnight, CME trade
        date), ``rth`` (bool). Sorted by (contract, timestamp), contracts in expiry order; a
        timestamp appears at most once per contract. No NaN.
    formats : tuple of str
        Format of each file, in file-name order.
    notes : tuple of str
        Human lines: the format detected per file, time zone and stamp, choices and repairs.
    repairs : dict of str to int
        Count per repair kind (``bad_print``, ``off_grid``: prices changed; ``outside_session``:
        bars dropped); all zero without ``repair``.
    """

    bars: pd.DataFrame
    formats: tuple[str, ...]
    notes: tuple[str, ...]
    repairs: dict[str, int]


def _to_bar_start(raw: RawBars, hours: SessionHours | None) -> tuple[np.ndarray, str | None]:
    """Bar-start stamps of a file (ns UTC) and, when the stamp was detected, a note saying how."""
    if raw.stamp == "start" or len(raw) == 0:
        return raw.ts, None
    stamps = raw.ts if len(raw.contract_names) == 1 else np.unique(raw.ts)
    width = bar_width(pd.DatetimeIndex(stamps.view("M8[ns]"))).value
    ends_shifted = raw.ts - width
    if raw.stamp == "end":
        return ends_shifted, None
    # "auto" left by a reader whose zone is fixed (UTC stamps): tell the convention from the file's
    # gaps (readers of wall-clock stamps tell zone and convention themselves, futures_vpoc.data.clock).
    chosen = infer_clock(raw.ts, zones=("UTC",), file=str(raw.path), column="timestamp",
                         line=lambda: raw.lines.line(int(raw.row[0])))
    raw.stamp = chosen.stamp
    note = f"{raw.path.name}: bar stamp detected as {chosen.stamp}: {chosen.evidence}"
    return (ends_shifted if chosen.stamp == "end" else raw.ts), note


def _row_contracts(raw: RawBars, ts: np.ndarray, keys: dict) -> np.ndarray:
    """Id in ``keys`` of each row's contract (``keys`` maps a Contract or a non-contract symbol to its id
    and grows here). A one-digit year is resolved from each row's own bar start (``ts``), so one symbol
    may name two contracts a decade apart (:func:`~futures_vpoc.data.contracts.resolve_years`)."""
    out = np.zeros(len(raw), dtype=np.int32)
    for k, name in enumerate(raw.contract_names):
        sel = np.ones(len(raw), dtype=bool) if len(raw.contract_names) == 1 else raw.contract_codes == k
        parts = split_code(name)
        if parts is None or len(parts[2]) == 2:
            key = name if parts is None else Contract(2000 + int(parts[2]), parts[1], parts[0])
            out[sel] = keys.setdefault(key, len(keys))
            continue
        root, month, digit = parts[0], parts[1], int(parts[2])
        years = resolve_years(month, digit, ts[sel] // _DAY_NS)
        if len(years) and years.min() == years.max():
            out[sel] = keys.setdefault(Contract(int(years[0]), month, root), len(keys))
        elif len(years):
            uniq, inverse = np.unique(years, return_inverse=True)
            ids = [keys.setdefault(Contract(int(y), month, root), len(keys)) for y in uniq]
            out[sel] = np.asarray(ids, dtype=np.int32)[inverse]
    return out


def _contract_order(keys: dict) -> tuple[np.ndarray, list[str]]:
    """Rank of each key id in expiry order (a symbol that is no contract code goes last, by name) and
    the names in that order (:func:`~futures_vpoc.data.contracts.contract_names`)."""
    shown = contract_names(k for k in keys if isinstance(k, Contract))
    order = sorted(keys, key=lambda k: (0, k.year, k.month, shown[k]) if isinstance(k, Contract) else (1, 0, 0, k))
    rank = np.zeros(len(keys), dtype=np.int32)
    for i, k in enumerate(order):
        rank[keys[k]] = i
    return rank, [shown.get(k, k) if isinstance(k, Contract) else k for k in order]


def _combine(raws: list[RawBars], starts: list[np.ndarray]) -> tuple[Bars, list[str]]:
    """All files' bars in one :class:`Bars`, sorted by (contract, start), stable in file order."""
    keys: dict = {}
    ids = [_row_contracts(raw, ts, keys) for raw, ts in zip(raws, starts)]
    rank, names = _contract_order(keys)
    codes = [rank[i] for i in ids]
    bars = Bars(
        ts=np.concatenate(starts).astype(np.int64, copy=False),
        **{k: np.concatenate([getattr(r, k) for r in raws]).astype(np.float64, copy=False) for k in
           (*PRICE_FIELDS, "volume")},
        contract=np.concatenate(codes),
        file=np.concatenate([np.full(len(r), i, dtype=np.int32) for i, r in enumerate(raws)]),
        row=np.concatenate([r.row for r in raws]),
    )
    in_order = len(bars) < 2 or bool(
        np.all((bars.contract[1:] > bars.contract[:-1]) |
               ((bars.contract[1:] == bars.contract[:-1]) & (bars.ts[1:] >= bars.ts[:-1]))))
    if not in_order:  # skip the sort for the common single, sorted file
        bars = bars.take(np.lexsort((bars.ts, bars.contract)))
    return bars, names


def _frame(bars: Bars, names: list[str], trade_date: np.ndarray, rth: np.ndarray) -> pd.DataFrame:
    # Decode the contract codes through an Arrow dictionary: ~10x faster than an object array.
    contract = pa.DictionaryArray.from_arrays(pa.array(bars.contract, pa.int32()), pa.array(names, pa.string()))
    contract_str = contract.to_pandas(types_mapper=lambda t: pd.StringDtype(na_value=np.nan))
    data = {
        "timestamp": pd.DatetimeIndex(bars.ts.view("M8[ns]")).tz_localize("UTC"),
        **{k: getattr(bars, k) for k in (*PRICE_FIELDS, "volume")},
        "contract": pd.array(contract_str, dtype="str"),
        "trade_date": trade_date.astype("datetime64[ns]"),
        "rth": rth.astype(bool),
    }
    # copy=False: the arrays are ours alone, so the frame may own them (no 40 MB consolidation).
    return pd.DataFrame(data, columns=list(COLUMNS), copy=False)


def load_es(path: str | os.PathLike, fmt: str = "auto", tz: str | None = None, stamp: str | None = None,
            repair: bool = False, tick: float = ES_TICK_SIZE, hours: SessionHours | None = None) -> LoadedBars:
    """Load, check and place in the Globex calendar the ES bars of a file or a folder.

    Parameters
    ----------
    path : str or path-like
        A bar file, or a folder of per-contract files (every visible file, by name).
    fmt : str
        One of :data:`~futures_vpoc.data.formats.FORMATS`; ``"auto"`` detects each file's format.
    tz : str, optional
        IANA time zone overriding the format's (required for Sierra Chart and for generic files
        whose timestamps carry no offset).
    stamp : {"start", "end", "auto"}, optional
        Overrides the format's bar-stamp convention; ``"auto"`` detects it from the sessions.
    repair : bool
        Repair isolated bad prints, off-grid prices and bars outside sessions (counted in
        ``repairs``) instead of failing on them.
    tick : float
        Price grid in index points (ES/MES: 0.25).
    hours : SessionHours, optional
        RTH window (default 08:30-15:00 CT).

    Returns
    -------
    LoadedBars

    Raises
    ------
    DataError
        Every problem of the input, located (file, line, column, value) with what to do.
    """
    if fmt not in FORMATS:
        raise DataError("unknown --es-format", value=fmt, hint=f"choose one of {', '.join(FORMATS)}")
    files = bar_files(path, fmt)  # a folder: one layout, LEAN quote/openinterest zips skipped
    raws = [read_bars(f, fmt, tz=tz, stamp=stamp)
            for f in progress.bar(files, desc="reading bar files", unit="file", enabled=len(files) > 1)]
    notes: list[str] = list(files.notes)
    starts = []
    for raw in raws:
        check_file(raw)
        if raw.zone == DATE_ONLY_ZONE and not repair:  # with --repair they are dropped as outside sessions
            refuse_non_trade_date(raw.ts, raw.row, raw.lines)
        start, note = _to_bar_start(raw, hours)
        starts.append(start)
        notes.extend(raw.notes)
        if note:
            notes.append(note)
    bars, names = _combine(raws, starts)
    checked = validate(bars, names, Sources([r.lines for r in raws]), tick=tick, repair=repair, hours=hours)
    notes.extend(checked.notes)
    frame = _frame(checked.bars, names, checked.sessions.trade_date, checked.sessions.rth)
    return LoadedBars(frame, tuple(r.fmt for r in raws), tuple(notes), checked.repairs)


__all__ = ["COLUMNS", "LoadedBars", "bar_files", "load_es"]
