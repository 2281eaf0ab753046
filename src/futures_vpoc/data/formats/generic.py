"""Generic OHLCV CSV or Parquet with a header: a timestamp column (or date + time columns) and
open/high/low/close/volume in any capitalisation; bar START unless told otherwise.

The time zone is the offset written in the timestamps, or else ``--tz``; integer timestamps are
epoch counts (s, ms, us or ns), UTC by definition.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from futures_vpoc.data.formats.csvread import (
    header_names, likely_delimiter, pick_columns, read_csv, require_lines)
from futures_vpoc.data.formats.linemap import LineMap, fail, first_null
from futures_vpoc.data.formats.parquet import float_columns, is_parquet, read_parquet
from futures_vpoc.data.formats.rawbars import F64, OHLCV, RawBars, assemble, contract_column, first_date
from futures_vpoc.data.formats.times import (
    FRACTION, checked_times, date_time_text, guess_time_format, has_zone, localize, parse_times)
from futures_vpoc.errors import DataError

_TIME_NAMES = ("timestamp", "datetime", "date_time", "time", "ts", "ts_event", "date")
_GENERIC = {"open": ("open", "o"), "high": ("high", "h"), "low": ("low", "l"),
            "close": ("close", "last", "c"), "volume": ("volume", "vol", "v"),
            "contract": ("contract", "symbol")}


def read_generic(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """OHLCV CSV or Parquet with a header.

    The time is one column (``timestamp``, ``datetime``, ``date_time``, ``time``, ``ts``) or a
    ``date`` plus a ``time`` column; names in any capitalisation. Timestamps with ``Z`` or an offset
    are used as such; otherwise ``tz`` must be given. Bars are start-stamped unless ``stamp`` says
    otherwise. An optional ``contract``/``symbol`` column names each row's contract.
    """
    path = Path(path)
    if is_parquet(path):
        return _read_generic_parquet(path, tz, stamp)
    lines = LineMap(path, 1)
    first = require_lines(path, 2)
    delimiter = likely_delimiter(first[0])
    header = header_names(path, delimiter)
    cols, time_cols = _generic_columns(header, path)
    types = {c: pa.string() for c in time_cols}
    types.update({cols[k]: F64 for k in OHLCV})
    if "contract" in cols:
        types[cols["contract"]] = pa.string()
    if len(first) < 2:
        raise DataError("no bars after the header", file=str(path), line=1, hint="export some bars")
    sample_fields = [f.strip().strip('"') for f in first[1].split(delimiter)]
    sample = " ".join(sample_fields[header.index(c)] for c in time_cols)
    scale = _epoch_scale(sample) if len(time_cols) == 1 else None
    if scale is not None:  # integer seconds/ms/us/ns since the epoch: UTC by definition
        types[time_cols[0]] = pa.int64()
        table = read_csv(path, lines, delimiter=delimiter, names=None, types=types)
        wall = checked_times(table, time_cols[0], lines) * scale
        return _generic_bars(path, table, cols, time_cols[0].strip(), wall, True, lines, tz, stamp)
    fmt = guess_time_format(sample, lines, 0, time_cols[0].strip())
    zone_in_text = has_zone(sample)
    fast = len(time_cols) == 1 and fmt is not pacsv.ISO8601 and not FRACTION.search(sample)
    if fast or fmt is pacsv.ISO8601 and len(time_cols) == 1:
        types[time_cols[0]] = pa.timestamp("ns", "UTC") if zone_in_text else pa.timestamp("ns")
        table = read_csv(path, lines, delimiter=delimiter, names=None, types=types, time_format=fmt)
        wall = checked_times(table, time_cols[0], lines)
    else:
        table = read_csv(path, lines, delimiter=delimiter, names=None, types=types)
        text = table[time_cols[0]].combine_chunks() if len(time_cols) == 1 else \
            date_time_text(table, *time_cols)
        wall = parse_times(text, fmt, lines, time_cols[0].strip())
    return _generic_bars(path, table, cols, time_cols[0].strip(), wall, zone_in_text, lines, tz, stamp)


def _epoch_scale(sample: str) -> int | None:
    """ns per unit when ``sample`` is an epoch count (10/13/16/19 digits: s/ms/us/ns), else None."""
    text = sample.strip()
    if text.isdigit() and len(text) in (10, 13, 16, 19):
        return 10 ** (19 - len(text))
    return None


def _generic_columns(header: list[str], path: Path) -> tuple[dict[str, str], list[str]]:
    """Header names of the price/volume/contract columns, and of the one or two time columns."""
    cols = pick_columns(header, _GENERIC, path, required=OHLCV)
    lookup = {h.strip().lower(): h for h in header}
    if "date" in lookup and "time" in lookup:
        return cols, [lookup["date"], lookup["time"]]
    for name in _TIME_NAMES:
        if name in lookup:
            return cols, [lookup[name]]
    found = ", ".join(h.strip() for h in header)[:160]
    raise DataError(f"no timestamp column (header: {found})", file=str(path), line=1,
                    hint="name it timestamp (or datetime/time/ts), or give date and time columns")


def _read_generic_parquet(path: Path, tz: str | None, stamp: str | None) -> RawBars:
    """Generic Parquet: the CSV rules on typed columns; rows, not lines, in errors."""
    table, header, lines = read_parquet(path)
    cols, time_cols = _generic_columns(header, path)
    table = float_columns(table, [cols[k] for k in OHLCV], lines)
    arr = table[time_cols[0]].combine_chunks()
    if pa.types.is_timestamp(arr.type) and len(time_cols) == 1:
        if arr.null_count:
            raise fail("missing timestamp", lines, first_null(arr), column=time_cols[0],
                       hint="fix or remove the row")
        zoned = arr.type.tz is not None
        wall = pc.cast(arr, pa.timestamp("ns", arr.type.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
    else:
        parts = [pc.cast(table[c].combine_chunks(), pa.string()) for c in time_cols]
        arr = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, " ")
        sample = arr[0].as_py() if len(arr) and arr[0].is_valid else "1970-01-01"
        fmt_t = guess_time_format(sample, lines, 0, time_cols[0])
        zoned = has_zone(sample)
        wall = parse_times(arr, fmt_t, lines, time_cols[0])
    return _generic_bars(path, table, cols, time_cols[0], wall, zoned, lines, tz, stamp)


def _generic_bars(path, table, cols, time_name, wall, zone_in_text, lines, tz, stamp) -> RawBars:
    """RawBars from a read generic table: stamps put in UTC, contracts from the column or the name."""
    notes: list[str] = []
    if zone_in_text:
        ts, zone = wall, "zone in the data"
        if tz is not None:
            notes.append(f"{path.name}: timestamps carry their own UTC offset; --tz ignored")
    elif tz is None:
        raise fail("timestamps have no time zone", lines, 0, column=time_name,
                   hint="pass --tz with the zone they were written in (e.g. --tz America/Chicago), "
                   "or write them in UTC ending with Z")
    else:
        ts, zone = localize(wall, tz, lines, time_name), tz
    contracts = None
    if "contract" in cols:
        contracts = contract_column(table[cols["contract"]], first_date(ts), lines, cols["contract"].strip())
    return assemble(path, "generic", ts, table, cols, lines, stamp or "start", zone, notes,
                    contracts=contracts)
