"""Load ES bars from a vendor file or a folder of per-contract files.

``load_es`` = read each file (:mod:`futures_vpoc.data.formats`), check it in file order, turn its
stamps into bar starts, put all files together sorted by (contract, start), then run the checks and
repairs of :mod:`futures_vpoc.data.validate` and place every bar in its Globex session.
Per-contract files are not spliced into one continuous series here (see the roll module).

Bar stamps: an end-stamped bar starts one bar width earlier, the width being the most common
positive spacing of the file's stamps (:func:`futures_vpoc.data.barframe.bar_width`). Where the
convention is unknown (``stamp="auto"``; FirstRate's default) both readings are placed in the
Globex calendar and the one that puts fewer bars outside every session wins: on a post-2015 day
start-stamped 1-minute bars run 17:00..15:59 CT, end-stamped ones 17:01..16:00 CT
(``shared/reference/es_market_and_data_formats.md``, "Detection rules for ambiguous vendors").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from futures_vpoc import progress
from futures_vpoc.calendar import assign_sessions
from futures_vpoc.config import ES_TICK_SIZE, SessionHours
from futures_vpoc.data.barframe import bar_width
from futures_vpoc.data.contracts import parse_contract
from futures_vpoc.data.formats import FORMATS, PRICE_FIELDS, RawBars, read_bars
from futures_vpoc.data.validate import Bars, Sources, check_file, validate
from futures_vpoc.errors import DataError

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume", "contract", "trade_date", "rth")
"""Columns of :attr:`LoadedBars.bars`, in order."""


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


def bar_files(path: str | os.PathLike) -> list[Path]:
    """The file itself, or every visible file in a folder sorted by name.

    Raises
    ------
    DataError
        When the path does not exist or the folder holds no file.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise DataError("file or folder not found", file=str(path), hint="check the --es path")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError("no bar files in the folder", file=str(path),
                        hint="put one file per contract (CSV, TXT or Parquet) in it")
    return files


def _to_bar_start(raw: RawBars, hours: SessionHours | None) -> tuple[np.ndarray, str | None]:
    """Bar-start stamps of a file (ns UTC) and, when the stamp was detected, a note saying how."""
    if raw.stamp == "start" or len(raw) == 0:
        return raw.ts, None
    stamps = raw.ts if len(raw.contract_names) == 1 else np.unique(raw.ts)
    width = bar_width(pd.DatetimeIndex(stamps.view("M8[ns]"))).value
    ends_shifted = raw.ts - width
    if raw.stamp == "end":
        return ends_shifted, None
    out_start = _outside(raw.ts, hours)
    out_end = _outside(ends_shifted, hours)
    chosen = "end" if out_end < out_start else "start"
    raw.stamp = chosen
    how = "" if out_end != out_start else "; both fit equally, start assumed"
    note = (f"{raw.path.name}: bar stamp detected as {chosen} ({out_start} bars outside Globex sessions "
            f"if start-stamped, {out_end} if end-stamped{how})")
    return (ends_shifted if chosen == "end" else raw.ts), note


def _outside(ts: np.ndarray, hours: SessionHours | None) -> int:
    sess = assign_sessions(pd.DatetimeIndex(ts.view("M8[ns]")).tz_localize("UTC"), hours)
    return int((~sess.in_session).sum())


def _contract_order(names: list[str], first_ts: dict[str, int]) -> list[str]:
    """Contracts in expiry order (a symbol that is no contract code goes last, by name)."""
    def key(name: str):
        near = pd.Timestamp(first_ts[name], unit="ns").date() if name in first_ts else None
        try:
            c = parse_contract(name, near)
            return (0, c.year, c.month, name)
        except ValueError:
            return (1, 0, 0, name)
    return sorted(names, key=key)


def _combine(raws: list[RawBars], starts: list[np.ndarray]) -> tuple[Bars, list[str]]:
    """All files' bars in one :class:`Bars`, sorted by (contract, start), stable in file order."""
    first_ts: dict[str, int] = {}
    for raw, ts in zip(raws, starts):
        for code, name in enumerate(raw.contract_names):
            sel = ts[raw.contract_codes == code] if len(raw.contract_names) > 1 else ts
            if len(sel):
                first_ts[name] = min(first_ts.get(name, int(sel[0])), int(sel.min()))
    names = _contract_order(sorted({n for r in raws for n in r.contract_names}), first_ts)
    rank = {n: i for i, n in enumerate(names)}
    codes = [np.asarray([rank[n] for n in r.contract_names], dtype=np.int32)[r.contract_codes]
             for r in raws]
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
    files = bar_files(path)
    raws = [read_bars(f, fmt, tz=tz, stamp=stamp)
            for f in progress.bar(files, desc="reading bar files", unit="file", enabled=len(files) > 1)]
    notes: list[str] = []
    starts = []
    for raw in raws:
        check_file(raw)
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
