"""Databento OHLCV: ``ts_event,rtype,publisher_id,instrument_id,open,...,volume[,symbol]``, UTC, bar START.

CSV (``to_csv``) or Parquet; ``ts_event`` as integer ns or ISO text; prices as fixed-point
integers (1 unit = 1e-9 index points) or decimals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from futures_vpoc.data.formats.csvread import first_lines, header_names, pick_columns, read_csv
from futures_vpoc.data.formats.linemap import LineMap
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
    (spread instruments, whose symbol holds ``-``, are dropped) or else from the file name.
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
    table = read_csv(path, lines, delimiter=",", names=None, types=types)
    return _databento_bars(path, table, cols, lines, integer_ts, tz, stamp)


def _databento_columns(header: list[str], path: Path) -> dict[str, str]:
    """Header names of ``ts_event``, open/high/low/close/volume and (optional) ``symbol``."""
    return pick_columns(header, {k: (k,) for k in ("ts_event", *OHLCV, "symbol")}, path,
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
    contracts = None
    if "symbol" in cols:
        contracts = contract_column(table[cols["symbol"]], first_date(ts), lines, "symbol")
    raw = assemble(path, "databento", ts, table, cols, lines, stamp or "start", "UTC", notes,
                   contracts=contracts, rows=rows)
    if fixed:
        for k in PRICE_FIELDS:
            setattr(raw, k, getattr(raw, k) * _FIXED_POINT)
        notes.append(f"{path.name}: fixed-point prices (1e-9 units) scaled to index points")
    return raw
