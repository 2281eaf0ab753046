"""What every reader returns: :class:`RawBars`, and how a reader assembles it.

A reader only parses: it returns :class:`RawBars` (UTC stamps as the file states them, prices as
read, 0-based data-row numbers) with each row's contract, taken from a symbol column or else from
the file name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from futures_vpoc.config import MONTH_CODES
from futures_vpoc.data.contracts import contract_from_filename, split_code
from futures_vpoc.data.formats.linemap import LineMap, fail, first_null

FORMATS = ("auto", "generic", "databento", "ninjatrader", "kibot", "tradestation", "sierra", "firstrate",
           "lean", "dbn")
"""Accepted values of ``fmt`` / ``--es-format``."""

STAMPS = ("start", "end", "auto")
"""Bar-stamp conventions: the stamp is the bar's start, its end, or detected from the sessions."""

PRICE_FIELDS = ("open", "high", "low", "close")
OHLCV = ("open", "high", "low", "close", "volume")
F64 = pa.float64()


@dataclass
class RawBars:
    """Bars of one file as the file states them.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    fmt : str
        Format name (one of :data:`FORMATS` except ``auto``).
    ts : numpy.ndarray of int64, shape (n,)
        Stamps in ns since the epoch, UTC, as written (a bar's start or end, see ``stamp``).
    open, high, low, close, volume : numpy.ndarray of float64, shape (n,)
        As read (index points, contracts); NaN where a cell was empty or ``NaN``.
    contract_codes : numpy.ndarray of int32, shape (n,)
        Index into ``contract_names`` per row.
    contract_names : list of str
        Contract of each code, e.g. ``["ESH4"]``.
    row : numpy.ndarray of int64, shape (n,)
        0-based data-row number in the file (rows dropped by the reader leave gaps).
    lines : LineMap
        Row -> line mapping for messages.
    stamp : str
        ``"start"``, ``"end"`` or ``"auto"`` (detect from the sessions).
    zone : str
        Where the time zone came from, for notes (e.g. ``"UTC"``, ``"America/New_York"``).
    notes : list of str
        Human lines about choices made while reading.
    layout : str
        The file's layout within its format, for the note (e.g. ``"header"``, ``"no header, date +
        time columns"``, ``"date only"``); empty when the format has a single layout.
    evidence : str
        How the zone and the stamp convention were told from the file (:mod:`futures_vpoc.data.clock`),
        for the note; empty when the format, the text or the user fixed them.
    """

    path: Path
    fmt: str
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    contract_codes: np.ndarray
    contract_names: list[str]
    row: np.ndarray
    lines: LineMap
    stamp: str
    zone: str
    notes: list[str] = field(default_factory=list)
    layout: str = ""
    evidence: str = ""

    def __len__(self) -> int:
        return len(self.ts)


def floats(table: pa.Table, col: str) -> np.ndarray:
    """Column ``col`` of ``table`` as float64 (nulls become NaN)."""
    return table[col].to_numpy().astype(np.float64, copy=False)


def assemble(path: Path, fmt: str, ts: np.ndarray, table: pa.Table, cols: dict, lines: LineMap,
             stamp: str, zone: str, notes: list[str] | None = None, *,
             contracts: tuple[np.ndarray, list[str]] | None = None,
             rows: np.ndarray | None = None) -> RawBars:
    """Assemble :class:`RawBars` from a read table.

    Parameters
    ----------
    path, fmt, ts, lines, stamp, zone
        As in :class:`RawBars`.
    table : pyarrow.Table
        The read columns.
    cols : dict
        Maps open/high/low/close/volume to ``table`` column names (other keys are ignored);
        ``volume`` may instead be the volume array itself.
    notes : list of str, optional
        Notes so far; a note is added when the contract falls back to ``'ES'``.
    contracts : tuple of (numpy.ndarray, list of str), optional
        Per-row codes and names (:func:`contract_column`); default: the contract in the file name.
    rows : numpy.ndarray of int64, optional
        Data-row number of each bar (default ``arange(n)``).
    """
    notes = [] if notes is None else notes
    if contracts is None:
        contracts = file_contract(path, len(ts), notes)
    codes, names = contracts
    return RawBars(
        path=path, fmt=fmt, ts=ts,
        open=floats(table, cols["open"]), high=floats(table, cols["high"]),
        low=floats(table, cols["low"]), close=floats(table, cols["close"]),
        volume=floats(table, cols["volume"]) if isinstance(cols["volume"], str) else cols["volume"],
        contract_codes=codes, contract_names=names,
        row=np.arange(len(ts), dtype=np.int64) if rows is None else rows,
        lines=lines, stamp=stamp, zone=zone, notes=notes)


def contract_column(values: pa.ChunkedArray | pa.Array, near: dt.date | None,
                    lines: LineMap, column: str) -> tuple[np.ndarray, list[str]]:
    """Per-row contract codes from a symbol column.

    Symbols are normalised in spelling only (``esh4 `` -> ``ESH4``; ``ESH24`` keeps its two-digit
    year). ``near`` is not used: the loader resolves each one-digit year from each row's own bar
    date (:func:`futures_vpoc.data.contracts.resolve_years`), so one symbol may name two contracts
    a decade apart.
    """
    enc = pc.dictionary_encode(pc.utf8_trim_whitespace(pc.cast(values, pa.string())))
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    if enc.null_count:
        raise fail("missing contract symbol", lines, first_null(enc), column=column,
                   hint="fill the symbol column")
    names = [normalise_symbol(s) for s in enc.dictionary.to_pylist()]
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    uniq = sorted(set(names))  # two spellings of one symbol share a code
    remap = np.asarray([uniq.index(n) for n in names], dtype=np.int32)
    return remap[codes] if len(codes) else codes, uniq


def normalise_symbol(sym: str) -> str:
    """A contract symbol in its normal spelling (``esh4 `` -> ``ESH4``; ``ESH24`` keeps its two-digit
    year); other text stripped, as written."""
    parts = split_code(sym)
    if parts is None:
        return sym.strip()
    root, month, digits = parts
    return f"{root}{MONTH_CODES[month - 1]}{digits}"


def file_contract(path: Path, n: int, notes: list[str]) -> tuple[np.ndarray, list[str]]:
    """One contract symbol for all ``n`` rows, from the file name (``'ES'``, with a note, when it has none).

    The symbol keeps the year digits of the name (``ESH5``, ``ES 03-25.Last.txt`` -> ``ESH25``); the
    loader resolves a one-digit year from the file's bar dates.
    """
    code = contract_from_filename(path.name)
    if code is None:
        code = "ES"
        notes.append(f"{path.name}: no contract in the file or its name; contract set to 'ES'")
    return np.zeros(n, dtype=np.int32), [code]


def first_date(ts: np.ndarray) -> dt.date | None:
    """Date of the first stamp; None when there are no bars (one-digit years are resolved per row by the loader)."""
    return pd.Timestamp(int(ts[0]), unit="ns").date() if len(ts) else None
