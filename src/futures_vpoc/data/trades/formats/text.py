"""Vendor tick text files: TickData-style CSV and NinjaTrader tick exports.

TickData (``Date,Time,Price,Volume``, with or without that header line; extra columns after the
fourth are ignored): dates ``MM/DD/YYYY``, times ``HH:MM:SS`` or ``HH:MM:SS.fff``, exchange-local
wall-clock time, so America/Chicago unless ``tz`` says otherwise.

NinjaTrader 8 tick export (``*.Last.txt``, no header): ``yyyyMMdd HHmmss fffffff;price;volume``
where ``fffffff`` is the fraction of the second in 100 ns units (NinjaTrader's ``DateTime`` tick),
or the Level-1 variant ``...;last;bid;ask;volume``. NinjaTrader exports in UTC
(``shared/reference/es_market_and_data_formats.md``, file formats); ``tz`` overrides.

Neither carries the aggressor side (every row UNKNOWN, ``side_known`` False) nor a contract column:
the contract comes from the file name (``ES 03-24.Last.txt`` -> ``ESH24``), else ``ES``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from futures_vpoc.data.formats.csvread import first_lines, header_names, likely_delimiter
from futures_vpoc.data.formats.linemap import LineMap, fail
from futures_vpoc.data.formats.times import date_time_text, guess_time_format, has_zone, localize, parse_times
from futures_vpoc.data.trades.chunk import Trades
from futures_vpoc.data.trades.formats.common import ReadContext, file_contract, make_chunk, numbers
from futures_vpoc.data.trades.formats.csvstream import csv_chunks
from futures_vpoc.errors import DataError

TICKDATA_ZONE = "America/Chicago"
NINJATRADER_ZONE = "UTC"
TICKDATA_ROW = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{4}\s*,\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*,")
"""A header-less TickData row: ``MM/DD/YYYY,HH:MM:SS[.fff],``."""
NINJATRADER_TICK = re.compile(r"^\d{8} \d{6}( \d{7})?;")
"""A NinjaTrader tick row: ``yyyyMMdd HHmmss[ fffffff];``."""
_NT_STAMP = r"^\d{8} \d{6}( \d{7})?$"
_NT_FRACTION_NS = 100
_TICKDATA_NAMES = {"date": ("date",), "time": ("time",), "price": ("price", "last", "trade price"),
                   "size": ("volume", "size", "qty", "quantity")}


def nonempty_lines(path: Path, count: int) -> list[str]:
    """The first ``count`` non-empty lines; DataError ``empty file`` when there is none."""
    first = first_lines(path, count)
    if not first:
        raise DataError("empty file: no trades", file=str(path), hint="export some trades into it")
    return first


def _zone_note(path: Path, zone: str, default_why: str, ctx: ReadContext) -> None:
    why = "--tz" if ctx.tz else f"{default_why}; --tz overrides"
    ctx.notes.append(f"{path.name}: wall-clock times read in {zone} ({why})")


def read_tickdata(path: Path, ctx: ReadContext) -> Iterator[Trades]:
    """Stream a TickData-style ``Date,Time,Price,Volume`` CSV (see the module text).

    Returns
    -------
    Iterator of Trades
        Unvalidated chunks: stamps UTC ns, prices as written, sizes as float64, ``row`` = data row.

    Raises
    ------
    DataError
        An empty file, a header without the four columns, an unparseable date, time or number, a
        local time that does not exist in the zone (daylight-saving change).
    """
    first = nonempty_lines(path, 2)
    delimiter = likely_delimiter(first[0])
    header, cols, stamp_text = _tickdata_layout(path, first, delimiter)
    lines = LineMap(path, 1 if header else 0)
    fmt = guess_time_format(stamp_text, lines, 0, f"{cols['date']} {cols['time']}")
    zone = None if has_zone(stamp_text) else (ctx.tz or TICKDATA_ZONE)
    if zone:
        _zone_note(path, zone, "TickData times are exchange-local", ctx)
    names_of = [file_contract(path, ctx.notes)]
    column = f"{cols['date'].strip()} {cols['time'].strip()}"
    for table, start in csv_chunks(path, lines, delimiter=delimiter, columns=list(cols.values()), header=header,
                                   chunk_rows=ctx.chunk_rows):
        rows = np.arange(start, start + table.num_rows, dtype=np.int64)
        wall = _fast_wall_clock(table[cols["date"]].combine_chunks(), table[cols["time"]].combine_chunks(), fmt)
        if wall is None:  # a cell the fast path cannot read: the general parser names it (or reads it)
            wall = parse_times(date_time_text(table, cols["date"], cols["time"]), fmt, lines, column, rows)
        ts = localize(wall, zone, lines, column, rows) if zone else wall
        price = numbers(table[cols["price"]].combine_chunks(), lines, rows, cols["price"])
        size = numbers(table[cols["size"]].combine_chunks(), lines, rows, cols["size"])
        yield make_chunk(path, ts, price, size, None, None, names_of, rows, lines)


def _fast_wall_clock(date: pa.Array, clock: pa.Array, fmt) -> np.ndarray | None:
    """Wall-clock ns (int64, shape (n,)) of date and ``HH:MM:SS[.fff]`` text, or None when any cell
    does not parse (then :func:`~futures_vpoc.data.formats.times.parse_times` locates it).

    The fraction is split off with a plain (not regex) search: ~5x faster than the general parser.
    """
    if not isinstance(fmt, str) or "%z" in fmt or date.null_count or clock.null_count:
        return None
    date, clock = pc.utf8_trim_whitespace(date), pc.utf8_trim_whitespace(clock)
    dotted = pc.greater_equal(pc.find_substring(clock, "."), 0)
    frac = None
    if pc.any(dotted).as_py():
        parts = pc.split_pattern(pc.if_else(dotted, clock, pc.binary_join_element_wise(clock, "0", ".")), ".",
                                 max_splits=1)
        clock, frac = pc.list_element(parts, 0), pc.list_element(parts, 1)
        if not pc.all(pc.utf8_is_digit(frac)).as_py() or pc.max(pc.utf8_length(frac)).as_py() > 9:
            return None
    secs = pc.strptime(pc.binary_join_element_wise(date, clock, " "), format=fmt, unit="ns", error_is_null=True)
    if secs.null_count:
        return None
    wall = secs.cast(pa.int64()).to_numpy(zero_copy_only=False)
    if frac is not None:
        wall = wall + pc.cast(pc.utf8_rpad(frac, 9, "0"), pa.int64()).to_numpy(zero_copy_only=False)
    return wall


def _tickdata_layout(path: Path, first: list[str], delimiter: str) -> tuple[bool, dict[str, str], str]:
    """Whether the file has a header, the column of each field, and the first row's date and time."""
    header = not TICKDATA_ROW.match(first[0])
    if header:
        names = header_names(path, delimiter)
        cols = _tickdata_columns(path, names)
        if len(first) < 2:
            raise DataError("no trades after the header", file=str(path), line=1, hint="export some trades into it")
        sample, pick = first[1].split(delimiter), [names.index(cols["date"]), names.index(cols["time"])]
    else:
        cols = {k: f"f{i}" for i, k in enumerate(("date", "time", "price", "size"))}
        sample, pick = first[0].split(delimiter), [0, 1]
    stamp = " ".join(sample[i].strip().strip('"') if i < len(sample) else "" for i in pick)
    return header, cols, stamp


def _tickdata_columns(path: Path, header: list[str]) -> dict[str, str]:
    lookup = {h.strip().lower(): h for h in header}
    cols = {k: next((lookup[o] for o in options if o in lookup), None) for k, options in _TICKDATA_NAMES.items()}
    missing = [k for k, v in cols.items() if v is None]
    if missing:
        found = ", ".join(h.strip() for h in header)[:160]
        raise DataError(f"missing column(s) {', '.join(missing)} (header: {found})", file=str(path), line=1,
                        hint="a TickData file has Date,Time,Price,Volume; or pass --trades-format generic")
    return cols


def read_ninjatrader_ticks(path: Path, ctx: ReadContext) -> Iterator[Trades]:
    """Stream a NinjaTrader tick export (see the module text).

    Returns
    -------
    Iterator of Trades
        Unvalidated chunks: stamps UTC ns (100 ns resolution), ``row`` = data row (= line - 1).

    Raises
    ------
    DataError
        An empty file, rows of another shape (a bar export has 6 fields), an unparseable stamp or
        number, a local time that does not exist in ``tz``.
    """
    first = nonempty_lines(path, 1)[0]
    fields = first.count(";") + 1
    if fields not in (3, 5):
        what = "a NinjaTrader bar export (stamp;open;high;low;close;volume)" if fields == 6 else f"{fields} fields"
        raise DataError(f"not a NinjaTrader tick export: {what}", file=str(path), line=1,
                        hint="tick exports are 'yyyyMMdd HHmmss fffffff;price;volume' (or ';last;bid;ask;volume')")
    lines = LineMap(path, 0)
    zone = ctx.tz or NINJATRADER_ZONE
    _zone_note(path, zone, "NinjaTrader exports in UTC", ctx)
    price_col, size_col = "f1", ("f2" if fields == 3 else "f4")
    names_of = [file_contract(path, ctx.notes)]
    for table, start in csv_chunks(path, lines, delimiter=";", columns=["f0", price_col, size_col], header=False,
                                   chunk_rows=ctx.chunk_rows):
        rows = np.arange(start, start + table.num_rows, dtype=np.int64)
        wall = ninjatrader_stamps(table["f0"].combine_chunks(), lines, rows)
        ts = localize(wall, zone, lines, "time", rows)
        price = numbers(table[price_col].combine_chunks(), lines, rows, "price")
        size = numbers(table[size_col].combine_chunks(), lines, rows, "volume")
        yield make_chunk(path, ts, price, size, None, None, names_of, rows, lines)


def ninjatrader_stamps(text: pa.Array, lines: LineMap, rows: np.ndarray) -> np.ndarray:
    """Wall-clock ns (int64, shape (n,)) of ``yyyyMMdd HHmmss[ fffffff]`` stamps (fraction in 100 ns).

    Raises
    ------
    DataError
        For the first stamp of another shape or an impossible date or time.
    """
    text = pc.utf8_trim_whitespace(text)
    shaped = pc.match_substring_regex(text, _NT_STAMP).to_numpy(zero_copy_only=False)
    secs = pc.strptime(pc.utf8_slice_codeunits(text, 0, 15), format="%Y%m%d %H%M%S", unit="ns",
                       error_is_null=True)
    ok = shaped & secs.is_valid().to_numpy(zero_copy_only=False)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise fail("unparseable timestamp (expected yyyyMMdd HHmmss fffffff)", lines, int(rows[bad[0]]),
                   column="time", value=text[int(bad[0])].as_py(), more=len(bad) - 1,
                   hint="fix or remove the row, or pass the right --trades-format")
    wall = secs.cast(pa.int64()).to_numpy(zero_copy_only=False)
    frac = pc.utf8_slice_codeunits(text, 16, 23)
    has_frac = pc.greater(pc.utf8_length(frac), 0)
    digits = pc.if_else(has_frac, frac, "0")
    return wall + pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False) * _NT_FRACTION_NS


__all__ = ["NINJATRADER_TICK", "NINJATRADER_ZONE", "TICKDATA_ROW", "TICKDATA_ZONE", "ninjatrader_stamps",
           "nonempty_lines", "read_ninjatrader_ticks", "read_tickdata"]
