"""Databento OHLCV: ``ts_event,rtype,publisher_id,instrument_id,open,...,volume[,symbol]``, UTC, bar START.

CSV (``to_csv``) or Parquet; ``ts_event`` as integer ns or ISO text; prices as fixed-point
integers (1 unit = 1e-9 index points) or decimals. The contract of a row is its ``instrument_id``:
named by a raw ``symbol`` (``ESH4``) when there is one, else by the calendar
(:mod:`~futures_vpoc.data.formats.instruments`; continuous symbols such as ``ES.c.0``).
The binary DBN files are read by :mod:`~futures_vpoc.data.formats.dbn`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from futures_vpoc.data.contracts import contract_from_filename, parse_contract
from futures_vpoc.data.formats.csvread import first_lines, header_names, pick_columns, read_csv
from futures_vpoc.data.formats.instruments import keep_products, name_instruments
from futures_vpoc.data.formats.linemap import LineMap, fail, first_null
from futures_vpoc.data.formats.parquet import float_columns, is_parquet, read_parquet
from futures_vpoc.data.formats.rawbars import (
    F64, OHLCV, PRICE_FIELDS, RawBars, assemble, contract_column, first_date, floats)
from futures_vpoc.data.formats.times import parse_times

_FIXED_POINT = 1e-9
"""Databento fixed-point price unit: 1 = 1e-9 index points (3704750000000 = 3704.75)."""


def read_databento(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """Databento OHLCV CSV (``to_csv``) or Parquet: UTC, bar START.

    ``ts_event`` is integer ns since the epoch or ISO text (``2020-12-28T00:00:00.000000000Z``);
    prices are fixed-point integers (1 unit = 1e-9) or decimals; the contract comes from ``symbol``
    when it is a contract code (spread instruments, whose symbol holds ``-``, are dropped), else
    from ``instrument_id`` (one contract per id, named by the calendar, with a note) or the file name.
    Rows of products other than ES/MES are dropped with a note.
    """
    path = Path(path)
    if is_parquet(path):
        return _read_databento_parquet(path, tz, stamp)
    lines = LineMap(path, 1)
    header = header_names(path, ",")
    cols = _databento_columns(header, path)
    first = first_lines(path, 2)
    sample = first[1].split(",")[header.index(cols["ts_event"])] if len(first) > 1 else "0"
    integer_ts = sample.strip().lstrip("-").isdigit()
    types = {cols["ts_event"]: pa.int64() if integer_ts else pa.string()}
    types.update({cols[k]: F64 for k in OHLCV})
    if "symbol" in cols:
        types[cols["symbol"]] = pa.string()
    if "instrument_id" in cols:
        types[cols["instrument_id"]] = pa.int64()
    table = read_csv(path, lines, delimiter=",", names=None, types=types)
    return _databento_bars(path, table, cols, lines, integer_ts, tz, stamp)


def _databento_columns(header: list[str], path: Path) -> dict[str, str]:
    """Header names of ``ts_event``, open/high/low/close/volume and (optional) ``instrument_id``, ``symbol``."""
    return pick_columns(header, {k: (k,) for k in ("ts_event", *OHLCV, "instrument_id", "symbol")}, path,
                        required=("ts_event", *OHLCV))


def _read_databento_parquet(path: Path, tz: str | None, stamp: str | None) -> RawBars:
    """Databento Parquet: the CSV rules on typed columns; rows, not lines, in errors."""
    table, header, lines = read_parquet(path)
    cols = _databento_columns(header, path)
    table = float_columns(table, [cols[k] for k in OHLCV], lines)
    ts_type = table[cols["ts_event"]].type
    if pa.types.is_timestamp(ts_type):  # already an instant: keep it as int ns UTC
        as_ns = pc.cast(table[cols["ts_event"]], pa.timestamp("ns", ts_type.tz or "UTC")).cast(pa.int64())
        table = table.set_column(header.index(cols["ts_event"]), cols["ts_event"], as_ns)
    integer = pa.types.is_integer(table[cols["ts_event"]].type)
    return _databento_bars(path, table, cols, lines, integer, tz, stamp)


def _databento_bars(path, table, cols, lines, integer_ts, tz, stamp) -> RawBars:
    """RawBars from a read Databento table: stamps, spread rows dropped, fixed-point prices scaled."""
    notes: list[str] = []
    rows = np.arange(table.num_rows, dtype=np.int64)
    if integer_ts:
        ts = table[cols["ts_event"]].to_numpy().astype(np.int64)
    else:
        arr = table[cols["ts_event"]].combine_chunks()
        if not pa.types.is_string(arr.type):
            arr = pc.cast(arr, pa.string())
        ts = parse_times(arr, pacsv.ISO8601, lines, "ts_event")
    if tz is not None:
        notes.append(f"{path.name}: Databento stamps are UTC; --tz ignored")
    keep = None
    if "symbol" in cols:
        spread = pc.fill_null(pc.match_substring(table[cols["symbol"]], "-"), False)
        spread = spread.to_numpy(zero_copy_only=False) if not isinstance(spread, np.ndarray) else spread
        if spread.any():
            keep = ~spread
            notes.append(f"{path.name}: dropped {int(spread.sum())} spread row(s)")
            table, ts, rows = table.filter(pa.array(keep)), ts[keep], rows[keep]
    close = floats(table, cols["close"])
    finite = np.abs(close[np.isfinite(close)])
    fixed = finite.size > 0 and float(np.median(finite)) > 1e7  # no ES price is 1e7 points
    contracts = _contracts(path, table, cols, ts, rows, lines, notes)
    if contracts is not None:
        keep, codes, names = keep_products(*contracts, path, notes)
        if keep is not None:
            table, ts, rows = table.filter(pa.array(keep)), ts[keep], rows[keep]
        contracts = (codes, names)
    raw = assemble(path, "databento", ts, table, cols, lines, stamp or "start", "UTC", notes,
                   contracts=contracts, rows=rows)
    if fixed:
        for k in PRICE_FIELDS:
            setattr(raw, k, getattr(raw, k) * _FIXED_POINT)
        notes.append(f"{path.name}: fixed-point prices (1e-9 units) scaled to index points")
    return raw


def _contracts(path: Path, table: pa.Table, cols: dict, ts: np.ndarray, rows: np.ndarray, lines: LineMap,
               notes: list[str]) -> tuple[np.ndarray, list[str]] | None:
    """Per-row contract codes and names: raw symbols, else instrument ids, else None (the file name)."""
    if "symbol" in cols and table.num_rows:
        symbols = pc.unique(pc.utf8_trim_whitespace(pc.cast(table[cols["symbol"]], pa.string()))).to_pylist()
        if "instrument_id" not in cols or all(_is_contract(s, first_date(ts)) for s in symbols if s is not None):
            return contract_column(table[cols["symbol"]], first_date(ts), lines, "symbol")
    if "instrument_id" not in cols or table.num_rows == 0:
        return None
    col = table[cols["instrument_id"]]
    if col.null_count:
        raise fail("missing instrument_id", lines, int(rows[first_null(col)]), column=cols["instrument_id"],
                   hint="fill the instrument_id column")
    ids = col.to_numpy().astype(np.int64)
    symbol_of: dict[int, str | None] = {}
    if "symbol" in cols:
        sym = table[cols["symbol"]].to_numpy(zero_copy_only=False)
        uniq, first = np.unique(ids, return_index=True)
        symbol_of = {int(i): (None if sym[j] is None else str(sym[j])) for i, j in zip(uniq, first)}
    return name_instruments(path, ids, ts, symbol_of, notes,
                            file_contract=contract_from_filename(path.name, first_date(ts)))


def _is_contract(symbol: str, near) -> bool:
    try:
        parse_contract(symbol, near)
        return True
    except ValueError:
        return False
