"""Generic OHLCV CSV or Parquet: a timestamp column (or date + time columns, or a date alone) and
open/high/low/close/volume in any capitalisation; with a header line, or without one in the
common ``date[,time],open,high,low,close,volume`` layouts.

Where the time zone comes from, in order: an offset written in the timestamps (or integer epoch
stamps, UTC); ``--tz``; for a date without a time of day, nothing: the date is the CME trade date
and the bar starts at its Globex open (:mod:`~.dateonly`); otherwise the file's own gaps
(:mod:`futures_vpoc.data.clock`), which also tell the bar-stamp convention. Bars are START-stamped
when the zone is given or written and ``--stamp`` is not.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from futures_vpoc.data.formats.csvread import (
    header_names, likely_delimiter, pick_columns, read_csv, require_lines)
from futures_vpoc.data.formats.dateonly import DATE_ONLY_ZONE, all_midnight, is_date_text, session_opens
from futures_vpoc.data.formats.linemap import LineMap, fail, first_null
from futures_vpoc.data.formats.parquet import float_columns, is_parquet, read_parquet
from futures_vpoc.data.formats.rawbars import F64, OHLCV, RawBars, assemble, contract_column, first_date
from futures_vpoc.data.formats.times import (
    FRACTION, checked_times, date_time_text, guess_time_format, has_zone, parse_times, place_wall_clock)
from futures_vpoc.errors import DataError

_TIME_NAMES = ("timestamp", "datetime", "date_time", "time", "ts", "ts_event", "date")
_GENERIC = {"open": ("open", "o"), "high": ("high", "h"), "low": ("low", "l"),
            "close": ("close", "last", "c"), "volume": ("volume", "vol", "v"),
            "contract": ("contract", "symbol")}
_DATE = r"(\d{8}|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"
_TIME = r"([ T]\d{1,2}:?\d{2}(:?\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
DATED_ROW = re.compile(rf'^\s*"?{_DATE}{_TIME}"?\s*[,;\t]')
"""A data row that starts with a date (or date and time): the file has no header line."""
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_HHMM = re.compile(r"^\d{3,6}$")


def read_generic(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """OHLCV CSV or Parquet, with a header line or in a common header-less layout.

    With a header, the time is one column (``timestamp``, ``datetime``, ``date_time``, ``time``,
    ``ts``, ``date``) or a ``date`` plus a ``time`` column; names in any capitalisation; an optional
    ``contract``/``symbol`` column names each row's contract. Without a header, the columns are
    ``timestamp|date[,time],open,high,low,close,volume[,...]``. See the module text for the zone
    and the stamp convention.
    """
    return read_table_bars(path, tz=tz, stamp=stamp)


def read_table_bars(path: str | Path, *, tz: str | None, stamp: str | None, fmt: str = "generic",
                    prior_zone: str | None = None) -> RawBars:
    """:func:`read_generic` for format ``fmt`` (e.g. FirstRate with a header), ``prior_zone`` the
    zone that format documents (kept unless the file's gaps clearly say otherwise)."""
    path = Path(path)
    if is_parquet(path):
        return _read_generic_parquet(path, tz, stamp, fmt, prior_zone)
    first = require_lines(path, 2)
    delimiter = likely_delimiter(first[0])
    has_header = not DATED_ROW.match(first[0])
    if has_header:
        lines, names, header = LineMap(path, 1), None, header_names(path, delimiter)
        if len(first) < 2:
            raise DataError("no bars after the header", file=str(path), line=1, hint="export some bars")
    else:
        lines = LineMap(path, 0)
        names = header = _headerless_names(first[0], delimiter, path)
    cols, time_cols = _generic_columns(header, path)
    types = {c: pa.string() for c in time_cols}
    types.update({cols[k]: F64 for k in OHLCV})
    if "contract" in cols:
        types[cols["contract"]] = pa.string()
    sample_fields = [f.strip().strip('"') for f in first[1 if has_header else 0].split(delimiter)]
    sample = " ".join(sample_fields[header.index(c)] for c in time_cols)
    layout = "header" if has_header else "no header"
    layout += ", date + time columns" if len(time_cols) == 2 else ""
    time_name = time_cols[0].strip()
    scale = _epoch_scale(sample) if len(time_cols) == 1 else None
    if scale is not None:  # integer seconds/ms/us/ns since the epoch: UTC by definition
        types[time_cols[0]] = pa.int64()
        table = read_csv(path, lines, delimiter=delimiter, names=names, types=types)
        wall = checked_times(table, time_cols[0], lines) * scale
        return _generic_bars(path, table, cols, time_name, wall, lines, tz, stamp, fmt=fmt, zoned=True,
                             layout=layout)
    if len(time_cols) == 2:
        table = read_csv(path, lines, delimiter=delimiter, names=names, types=types)
        text = date_time_text(table, *time_cols, pad_digits=True)
        sample = text[0].as_py() if len(text) and text[0].is_valid else sample
        fmt_t = guess_time_format(sample, lines, 0, time_name)
        wall = parse_times(text, fmt_t, lines, time_name)
        return _generic_bars(path, table, cols, time_name, wall, lines, tz, stamp, fmt=fmt,
                             zoned=has_zone(sample), prior_zone=prior_zone, layout=layout)
    fmt_t = guess_time_format(sample, lines, 0, time_name)
    zone_in_text = has_zone(sample)
    if fmt_t is pacsv.ISO8601 or not FRACTION.search(sample):
        types[time_cols[0]] = pa.timestamp("ns", "UTC") if zone_in_text else pa.timestamp("ns")
        table = read_csv(path, lines, delimiter=delimiter, names=names, types=types, time_format=fmt_t)
        wall = checked_times(table, time_cols[0], lines)
    else:
        table = read_csv(path, lines, delimiter=delimiter, names=names, types=types)
        wall = parse_times(table[time_cols[0]].combine_chunks(), fmt_t, lines, time_name)
    return _generic_bars(path, table, cols, time_name, wall, lines, tz, stamp, fmt=fmt, zoned=zone_in_text,
                         prior_zone=prior_zone, layout=layout, date_only=is_date_text(sample))


def _headerless_names(line: str, delimiter: str, path: Path) -> list[str]:
    """Column names of a header-less row: ``timestamp|date[,time],open,high,low,close,volume[,...]``."""
    fields = [f.strip().strip('"') for f in line.split(delimiter)]
    n = len(fields)
    second = fields[1] if n > 1 else ""
    if re.search(r"[ T]\d{1,2}:?\d{2}", fields[0]):
        lead = ["timestamp"]
    elif _CLOCK.match(second) or (n >= 7 and _HHMM.match(second) and _valid_hhmm(second)):
        lead = ["date", "time"]
    else:
        lead = ["date"]
    if n < len(lead) + 5:
        raise DataError(f"header-less row with {n} fields; expected {', '.join(lead)}, open, high, low, "
                        f"close, volume: {line[:120]!r}", file=str(path), line=1,
                        hint="add a header line such as timestamp,open,high,low,close,volume")
    return [*lead, *OHLCV, *(f"extra_{i}" for i in range(n - len(lead) - 5))]


def _valid_hhmm(text: str) -> bool:
    digits = text.zfill(6 if len(text) >= 5 else 4)
    return int(digits[:2]) < 24 and int(digits[2:4]) < 60 and (len(digits) == 4 or int(digits[4:6]) < 60)


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


def _read_generic_parquet(path: Path, tz: str | None, stamp: str | None, fmt: str,
                          prior_zone: str | None) -> RawBars:
    """Generic Parquet: the CSV rules on typed columns; rows, not lines, in errors."""
    table, header, lines = read_parquet(path)
    cols, time_cols = _generic_columns(header, path)
    table = float_columns(table, [cols[k] for k in OHLCV], lines)
    arr = table[time_cols[0]].combine_chunks()
    date_only = pa.types.is_date(arr.type) and len(time_cols) == 1
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
        date_only = date_only or (len(time_cols) == 1 and is_date_text(sample))
        wall = parse_times(arr, fmt_t, lines, time_cols[0])
    return _generic_bars(path, table, cols, time_cols[0], wall, lines, tz, stamp, fmt=fmt, zoned=zoned,
                         prior_zone=prior_zone, layout="Parquet", date_only=date_only)


def _generic_bars(path, table, cols, time_name, wall, lines, tz, stamp, *, fmt, zoned, prior_zone=None,
                  layout="", date_only=False) -> RawBars:
    """RawBars from a read table: stamps put in UTC, contracts from the column or the name."""
    notes: list[str] = []
    evidence = ""
    if zoned:
        ts, zone, stamp = wall, "zone in the data", stamp or "start"
        if tz is not None:
            notes.append(f"{path.name}: timestamps carry their own UTC offset; --tz ignored")
    elif (date_only and all_midnight(wall, apart=False)) or (tz is None and all_midnight(wall)):
        ts, zone, stamp = session_opens(np.asarray(wall, dtype=np.int64)), DATE_ONLY_ZONE, "start"
        layout = f"{layout}, date only" if date_only else f"{layout}, every stamp at midnight: read as dates"
        evidence = "each bar starts at the Globex open of its trade date"
        if tz is not None:
            notes.append(f"{path.name}: dates without a time of day are CME trade dates; --tz ignored")
    else:
        ts, zone, stamp, evidence = place_wall_clock(
            wall, lines, time_name, tz=tz, stamp=stamp, prior_zone=prior_zone,
            default_stamp="start" if tz is not None and fmt == "generic" else None)
    contracts = None
    if "contract" in cols:
        contracts = contract_column(table[cols["contract"]], first_date(ts), lines, cols["contract"].strip())
    raw = assemble(path, fmt, ts, table, cols, lines, stamp, zone, notes, contracts=contracts)
    raw.layout, raw.evidence = layout, evidence
    return raw
