"""Vendor bar-file readers and format auto-detection.

One small reader per vendor layout (``shared/reference/es_market_and_data_formats.md`` section 2):

=============  ===============================================================  ==================  =========
format         layout                                                           time zone           stamp
=============  ===============================================================  ==================  =========
generic        CSV/Parquet with a header: a timestamp column (or date + time)   offset in the text  start
               and open/high/low/close/volume in any capitalisation             or ``--tz``
databento      ``ts_event,rtype,publisher_id,instrument_id,open,...,volume``    UTC                 start
               ``[,symbol]``; int ns or ISO ts; fixed-point (1e-9) or decimal
ninjatrader    no header, ``yyyyMMdd HHmmss;open;high;low;close;volume``         UTC                 end
kibot          no header, ``MM/DD/YYYY,HH:MM,open,high,low,close,volume``       America/New_York    start
tradestation   ``"Date","Time","Open","High","Low","Close","Up","Down"``        America/Chicago     end
               (volume = Up + Down)
sierra         ``Date, Time, Open, High, Low, Last, Volume, # of Trades, ...``  the chart's: --tz   start
firstrate      no header, ``yyyy-MM-dd HH:mm:ss,open,high,low,close,volume``    America/New_York    detected
=============  ===============================================================  ==================  =========

A reader only parses: it returns :class:`RawBars` (UTC stamps as the file states them, prices as
read, 0-based data-row numbers) and raises :class:`~futures_vpoc.errors.DataError` for what it
cannot parse, naming the file, the 1-based line (header counted), the column and the value.
Checks of the values live in :mod:`futures_vpoc.data.validate`; turning end stamps into bar starts
and detecting the convention live in :mod:`futures_vpoc.data.load`.

Speed: a CSV is read by ``pyarrow.csv`` with every column typed up front and timestamps parsed by
pyarrow with an explicit ``strptime`` format (pandas' ``to_datetime(format=...)`` is ~30x slower).
Only when that fast read fails is the file read again as text to find the offending cell.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from futures_vpoc.data.contracts import contract_from_filename, parse_contract
from futures_vpoc.errors import DataError

FORMATS = ("auto", "generic", "databento", "ninjatrader", "kibot", "tradestation", "sierra", "firstrate")
"""Accepted values of ``fmt`` / ``--es-format``."""

STAMPS = ("start", "end", "auto")
"""Bar-stamp conventions: the stamp is the bar's start, its end, or detected from the sessions."""

PRICE_FIELDS = ("open", "high", "low", "close")
_NS = 1_000_000_000
_PARQUET = (".parquet", ".pq")
_FIXED_POINT = 1e-9
"""Databento fixed-point price unit: 1 = 1e-9 index points (3704750000000 = 3704.75)."""


# --------------------------------------------------------------------------------------------
# Where rows live in the file


@dataclass
class LineMap:
    """Maps a 0-based data-row number of one file to its 1-based line number.

    pyarrow skips empty lines, so a row's line is ``header_lines + row + 1`` plus the blank lines
    before it; those are counted (by reading the file again) only when an error is reported.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    header_lines : int
        Lines before the first data row (0 or 1).
    text : bool
        False for Parquet, which has rows but no lines.
    """

    path: Path
    header_lines: int
    text: bool = True
    _blanks: np.ndarray | None = field(default=None, repr=False)

    def _blank_lines(self) -> np.ndarray:
        if self._blanks is None:
            with open(self.path, "rb") as fh:
                raw = fh.read().split(b"\n")
            blanks = [i + 1 for i, t in enumerate(raw) if not t.strip(b"\r") and i >= self.header_lines]
            self._blanks = np.asarray(blanks, dtype=np.int64)
        return self._blanks

    def line(self, row: int) -> int | None:
        """1-based line of data row ``row`` (header counted); None for Parquet."""
        if not self.text:
            return None
        blanks = self._blank_lines()
        base = self.header_lines + int(row) + 1
        line = base
        while True:  # fixed point: line = base + (blank lines at or before line)
            nxt = base + int(np.searchsorted(blanks, line, side="right"))
            if nxt == line:
                return line
            line = nxt


def fail(problem: str, lines: LineMap, row: int | None = None, *, column: str | None = None,
         value: object = None, hint: str | None = None, more: int = 0) -> DataError:
    """Build the :class:`DataError` for data row ``row`` of the file behind ``lines``.

    For a Parquet file, which has no lines, the row number (1-based) goes into the message.
    """
    line = None if row is None else lines.line(row)
    if row is not None and line is None:
        problem = f"row {int(row) + 1}: {problem}"
    return DataError(problem, file=str(lines.path), line=line, column=column, value=value,
                     hint=hint, more=more)


# --------------------------------------------------------------------------------------------
# What a reader returns


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

    def __len__(self) -> int:
        return len(self.ts)


# --------------------------------------------------------------------------------------------
# Format detection

_NT_ROW = re.compile(r"^\d{8} \d{6};")
_KIBOT_ROW = re.compile(r"^\d{1,2}/\d{1,2}/\d{4},\d{1,2}:\d{2},")
_FIRSTRATE_ROW = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?,")


def _first_lines(path: Path, count: int = 2) -> list[str]:
    """The first ``count`` non-empty lines, BOM and line ends removed."""
    out: list[str] = []
    with open(path, "rb") as fh:
        for raw in fh:
            text = raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
            if text.strip():
                out.append(text)
            if len(out) == count:
                break
    return out


def _header_fields(line: str) -> list[str]:
    """Header names, lower case, quotes and spaces stripped, split on the likeliest separator."""
    sep = max((",", ";", "\t"), key=line.count)
    return [f.strip().strip('"').strip().lower() for f in line.split(sep)]


def detect_format(path: str | Path) -> str:
    """Name the vendor format of a bar file from its first line.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV/text or Parquet file.

    Returns
    -------
    str
        One of :data:`FORMATS` other than ``"auto"``.

    Raises
    ------
    DataError
        When the file is empty or its first line matches no known layout (the message quotes the
        line and lists the supported formats).
    """
    path = Path(path)
    if path.suffix.lower() in _PARQUET:
        import pyarrow.parquet as pq

        names = {n.lower() for n in pq.read_schema(path).names}
        return "databento" if "ts_event" in names else "generic"
    first = _first_lines(path, 1)
    if not first:
        raise DataError("empty file", file=str(path), hint="export some bars into it")
    line = first[0]
    fields = _header_fields(line)
    if "ts_event" in fields:
        return "databento"
    if fields[:2] == ["date", "time"] and "up" in fields and "down" in fields:
        return "tradestation"
    if fields[:2] == ["date", "time"] and "last" in fields:
        return "sierra"
    if _NT_ROW.match(line):
        return "ninjatrader"
    if _KIBOT_ROW.match(line):
        return "kibot"
    if _FIRSTRATE_ROW.match(line):
        return "firstrate"
    if set(fields) & {"open", "high", "low", "close", "last"}:
        return "generic"  # a header naming prices; the generic reader says what is missing
    raise DataError(
        f"unknown bar file layout; first line {line[:120]!r}", file=str(path), line=1,
        hint=f"supported formats: {', '.join(FORMATS[1:])}; pass --es-format to choose one, "
        "or write a CSV with a header timestamp,open,high,low,close,volume")


# --------------------------------------------------------------------------------------------
# Reading CSV text fast, and locating what failed when it does not parse


def _read_csv(path: Path, lines: LineMap, *, delimiter: str, names: list[str] | None,
              types: dict[str, pa.DataType], time_format: str | None = None) -> pa.Table:
    """Read the columns in ``types`` with pyarrow, typed; on failure raise a located DataError.

    ``names`` gives the column names of a header-less file (None: the first line is the header).
    ``time_format`` is the strptime format (or ``pyarrow.csv.ISO8601``) for timestamp columns.
    """
    if not _first_lines(path, 1):
        raise DataError("empty file", file=str(path), hint="export some bars into it")
    read = pacsv.ReadOptions(column_names=names) if names else pacsv.ReadOptions()
    parse = pacsv.ParseOptions(delimiter=delimiter)
    convert = pacsv.ConvertOptions(column_types=types, include_columns=list(types),
                                   timestamp_parsers=[time_format] if time_format else None)
    try:
        return pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        raise _locate_csv_error(path, lines, delimiter, names, types, time_format, exc) from None


def _locate_csv_error(path, lines, delimiter, names, types, time_format, exc) -> DataError:
    """Read the file again as text and name the first cell (by line) that failed to parse."""
    bad_rows: list = []

    def on_invalid(row):
        if not bad_rows:
            bad_rows.append(row)
        return "skip"

    # A file that is not UTF-8 is read as latin-1 (any byte decodes), so a binary or mis-encoded
    # row is reported like any other instead of failing inside pyarrow's row callback.
    with open(path, "rb") as fh:
        try:
            fh.read().decode("utf-8")
            encoding = "utf8"
        except UnicodeDecodeError:
            encoding = "latin-1"
    read = pacsv.ReadOptions(column_names=names, use_threads=False, encoding=encoding) if names else \
        pacsv.ReadOptions(use_threads=False, encoding=encoding)
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid)
    text_types = {c: pa.string() for c in types}
    try:
        table = pacsv.read_csv(path, read_options=read, parse_options=parse,
                               convert_options=pacsv.ConvertOptions(column_types=text_types,
                                                                    include_columns=list(types)))
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc2:
        return _header_error(path, names, types, exc2)
    if bad_rows:
        r = bad_rows[0]
        row = r.number - 1 - lines.header_lines if r.number else None
        return fail(f"expected {r.expected_columns} fields, found {r.actual_columns} in {r.text[:120]!r}",
                    lines, row, hint="every row needs the same fields as the first; "
                    "remove truncated or merged lines")
    found = []
    for col, typ in types.items():
        arr = table[col].combine_chunks()
        if pa.types.is_timestamp(typ):
            bad = _unparseable_times(arr, time_format)
            what = _time_problem(arr, int(bad[0]), time_format) if len(bad) else ""
        elif pa.types.is_floating(typ) or pa.types.is_integer(typ):
            bad = _unparseable_numbers(arr)
            what = "not a number"
        else:
            continue
        if len(bad):
            found.append((int(bad[0]), col, what, len(bad) - 1))
    if not found:
        return DataError(f"cannot read the file ({exc})", file=str(path),
                         hint="check the delimiter and the --es-format")
    row, col, what, more = min(found)
    value = table[col][row].as_py()
    return fail(what, lines, row, column=col.strip(), value=value, more=more,
                hint="fix or remove the row" if what == "not a number" else
                "fix the row, or pass the right --es-format")


def _header_error(path: Path, names, types, exc) -> DataError:
    missing = [c.strip() for c in types if names is None and f"'{c}'" in str(exc)]
    if missing:
        return DataError(f"missing column {missing[0]!r}", file=str(path), line=1,
                         hint="check the header line")
    return DataError(f"cannot read the file ({exc})", file=str(path),
                     hint="check the delimiter and the --es-format")


def _time_problem(arr: pa.Array, i: int, time_format) -> str:
    """Why cell ``i`` of a timestamp column was rejected."""
    first, value = arr[0].as_py(), arr[i].as_py()
    if (time_format in (None, pacsv.ISO8601) and isinstance(first, str) and isinstance(value, str)
            and _ISO.match(value.strip()) and has_zone(first) != has_zone(value)):
        return "timestamp " + ("has a UTC offset" if has_zone(value) else "lacks the UTC offset") + \
            " unlike the first row's"
    return f"unparseable timestamp (expected {_describe(time_format)})"


def _describe(time_format) -> str:
    return "ISO-8601 such as 2024-03-08 17:00:00" if time_format in (None, pacsv.ISO8601) else time_format


def _unparseable_numbers(arr: pa.Array) -> np.ndarray:
    """Positions of non-empty cells that are not numbers (``nan``/``inf`` text counts as a number)."""
    text = arr.to_pandas()
    num = pd.to_numeric(text, errors="coerce")
    cand = np.flatnonzero(num.isna().to_numpy() & text.notna().to_numpy())
    bad = []
    for i in cand:  # only on the error path; float() accepts 'nan', 'inf', ' 1.5 '
        s = text.iloc[i].strip()
        if s == "":
            continue
        try:
            float(s)
        except ValueError:
            bad.append(i)
    return np.asarray(bad, dtype=np.int64)


def _unparseable_times(arr: pa.Array, time_format) -> np.ndarray:
    """Positions of non-empty cells that the timestamp parser rejects.

    For ISO-8601 text a cell whose zone suffix differs from the first cell's (one has ``Z`` or an
    offset, the other none) is rejected too: one column must be all UTC-anchored or all local.
    """
    text = pc.utf8_trim_whitespace(arr)
    if time_format in (None, pacsv.ISO8601):
        parsed = pd.to_datetime(text.to_pandas(), format="ISO8601", errors="coerce", utc=True)
        ok = parsed.notna().to_numpy()
        zoned = pc.fill_null(pc.match_substring_regex(text, _ZONE.pattern), False)
        zoned = zoned.to_numpy(zero_copy_only=False)
        if len(zoned):
            ok = ok & (zoned == zoned[0])
    else:
        bare = pc.replace_substring_regex(text, _FRACTION.pattern, r"\1")
        ok = pc.is_valid(pc.strptime(bare, format=time_format, unit="ns", error_is_null=True))
        ok = ok.to_numpy(zero_copy_only=False)
    present = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    empty = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
    return np.flatnonzero(present & ~empty & ~ok)


# --------------------------------------------------------------------------------------------
# Timestamps

_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_FRACTION = re.compile(r"(:\d{2})\.(\d{1,9})")
"""Fractional seconds after ``:SS`` (never the dots of a ``dd.mm.yyyy`` date)."""
_STRPTIME_CANDIDATES = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
    "%Y%m%d %H%M%S", "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%Y-%m-%d", "%m/%d/%Y", "%Y%m%d",
)


def has_zone(sample: str) -> bool:
    """True when a timestamp text ends with ``Z`` or a UTC offset such as ``+01:00``."""
    return bool(_ZONE.search(sample.strip()))


def guess_time_format(sample: str, lines: LineMap, row: int, column: str):
    """Explicit parser for timestamps like ``sample``: ``pyarrow.csv.ISO8601`` or a strptime format.

    Raises
    ------
    DataError
        When no known layout parses the sample.
    """
    text = sample.strip()
    if _ISO.match(text):
        return pacsv.ISO8601
    zone = has_zone(text)
    bare = _FRACTION.sub(r"\1", text)
    for fmt in _STRPTIME_CANDIDATES:
        full = fmt + ("%z" if zone else "")
        got = pc.strptime(pa.array([bare]), format=full, unit="ns", error_is_null=True)
        if got.null_count == 0:
            return full
    raise fail("unparseable timestamp", lines, row, column=column, value=sample,
               hint="write timestamps as ISO-8601, e.g. 2024-03-08 17:00:00 or 2024-03-08T23:00:00Z")


def parse_times(arr: pa.ChunkedArray | pa.Array, time_format, lines: LineMap, column: str,
                rows: np.ndarray | None = None) -> np.ndarray:
    """Parse timestamp text with an explicit format.

    Parameters
    ----------
    arr : pyarrow string array, shape (n,)
        Timestamp text; surrounding spaces and fractional seconds (``.000000``) are allowed.
    time_format : str
        strptime format (``%z`` for an offset) or ``pyarrow.csv.ISO8601``.
    lines, column
        For error messages.
    rows : numpy.ndarray of int64, optional
        Data-row number of each element (default ``arange(n)``).

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        ns since the epoch: UTC when the format has a zone, else wall-clock time.

    Raises
    ------
    DataError
        First empty or unparseable cell, by line, with the count of others.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    text = pc.utf8_trim_whitespace(arr)
    if time_format is pacsv.ISO8601:
        zone = bool(len(text)) and text[0].is_valid and has_zone(text[0].as_py())
        typ = pa.timestamp("ns", "UTC") if zone else pa.timestamp("ns")
        try:
            parsed = pc.cast(text, typ)
        except pa.ArrowInvalid:
            parsed = None
    else:
        frac = None  # strptime has no %f: split the fraction off, parse, add it back as ns
        if pc.any(pc.match_substring_regex(text, _FRACTION.pattern)).as_py():
            frac = pc.extract_regex(text, r":\d{2}\.(?P<f>\d{1,9})").field("f")
            text = pc.replace_substring_regex(text, _FRACTION.pattern, r"\1")
        parsed = pc.strptime(text, format=time_format, unit="ns", error_is_null=True)
        if frac is not None and parsed.null_count == 0:
            digits = pc.utf8_rpad(pc.fill_null(frac, "0"), 9, "0")
            extra = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
            return parsed.cast(pa.int64()).to_numpy(zero_copy_only=False) + extra
    if parsed is None or parsed.null_count:
        _raise_bad_times(arr, time_format, lines, column, rows)
    return parsed.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _raise_bad_times(arr, time_format, lines, column, rows):
    text = pc.utf8_trim_whitespace(arr)
    empty = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
    bad = np.union1d(np.flatnonzero(empty), _unparseable_times(arr, time_format))
    i = int(bad[0]) if len(bad) else 0
    row = int(rows[i]) if rows is not None else i
    problem = "missing timestamp" if empty[i] else _time_problem(arr, i, time_format)
    raise fail(problem, lines, row, column=column, value=arr[i].as_py(), more=max(len(bad) - 1, 0),
               hint="fix or remove the row; every row must use the layout (and zone) of the first")


def check_zone(tz: str) -> str:
    """Validate an IANA time-zone name; raise DataError when it is unknown."""
    try:
        pd.Timestamp("2024-01-01").tz_localize(tz)
    except Exception:  # zoneinfo raises KeyError subclasses, pytz UnknownTimeZoneError
        raise DataError("unknown time zone", value=tz,
                        hint="give an IANA name such as America/Chicago, America/New_York or UTC") from None
    return tz


def localize(wall_ns: np.ndarray, tz: str, lines: LineMap, column: str,
             rows: np.ndarray | None = None) -> np.ndarray:
    """Wall-clock ns in ``tz`` -> UTC ns, refusing nonexistent and ambiguous local times.

    Raises
    ------
    DataError
        For a local time that falls into a daylight-saving gap or overlap (Globex is closed at
        02:00 Sunday, so such a stamp means the time zone or the data are wrong).
    """
    if tz == "UTC":
        return wall_ns
    idx = pd.DatetimeIndex(wall_ns.view("M8[ns]"))
    try:
        out = idx.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except ValueError:
        probe = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        bad = np.flatnonzero(probe.isna())
        i = int(bad[0])
        row = int(rows[i]) if rows is not None else i
        raise fail(f"local time does not exist or is ambiguous in {tz} (daylight-saving change)",
                   lines, row, column=column, value=str(idx[i]), more=len(bad) - 1,
                   hint="check --tz: Globex is closed when clocks change") from None
    return out.as_unit("ns").asi8


# --------------------------------------------------------------------------------------------
# Contracts


def _contract_column(values: pa.ChunkedArray | pa.Array, near: dt.date | None,
                     lines: LineMap, column: str) -> tuple[np.ndarray, list[str]]:
    """Per-row contract codes from a symbol column; symbols normalised (``ESH24`` -> ``ESH4``)."""
    enc = pc.dictionary_encode(pc.utf8_trim_whitespace(pc.cast(values, pa.string())))
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    if enc.null_count:
        row = int(np.flatnonzero(pc.is_null(enc).to_numpy(zero_copy_only=False))[0])
        raise fail("missing contract symbol", lines, row, column=column, hint="fill the symbol column")
    names = [_normalise_symbol(s, near) for s in enc.dictionary.to_pylist()]
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    uniq = sorted(set(names))  # two spellings of one contract share a code
    remap = np.asarray([uniq.index(n) for n in names], dtype=np.int32)
    return remap[codes] if len(codes) else codes, uniq


def _normalise_symbol(sym: str, near: dt.date | None) -> str:
    try:
        return parse_contract(sym, near).code
    except ValueError:
        return sym.strip()


def _file_contract(path: Path, n: int, near: dt.date | None, notes: list[str]) -> tuple[np.ndarray, list[str]]:
    code = contract_from_filename(path.name, near)
    if code is None:
        code = "ES"
        notes.append(f"{path.name}: no contract in the file or its name; contract set to 'ES'")
    return np.zeros(n, dtype=np.int32), [code]


def _near(ts: np.ndarray) -> dt.date | None:
    return pd.Timestamp(int(ts[0]), unit="ns").date() if len(ts) else None


def _floats(table: pa.Table, col: str) -> np.ndarray:
    return table[col].to_numpy().astype(np.float64, copy=False)


def _raw(path, fmt, ts, table, cols, lines, stamp, zone, codes_names, notes, rows=None) -> RawBars:
    """Assemble RawBars; ``cols`` maps open/high/low/close/volume to table column names."""
    n = len(ts)
    codes, names = codes_names
    return RawBars(
        path=path, fmt=fmt, ts=ts,
        open=_floats(table, cols["open"]), high=_floats(table, cols["high"]),
        low=_floats(table, cols["low"]), close=_floats(table, cols["close"]),
        volume=_floats(table, cols["volume"]) if isinstance(cols["volume"], str) else cols["volume"],
        contract_codes=codes, contract_names=names,
        row=np.arange(n, dtype=np.int64) if rows is None else rows,
        lines=lines, stamp=stamp, zone=zone, notes=notes)


_F64 = pa.float64()
_OHLCV = ("open", "high", "low", "close", "volume")


# --------------------------------------------------------------------------------------------
# Header-less vendors: NinjaTrader, Kibot, FirstRate


def read_ninjatrader(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """NinjaTrader 8 export: ``yyyyMMdd HHmmss;open;high;low;close;volume``, UTC, bar END.

    The contract comes from the file name (``ES 03-25.Last.txt`` -> ``ESH5``).
    """
    path = Path(path)
    lines = LineMap(path, 0)
    names = ["time", *_OHLCV]
    types = {"time": pa.timestamp("ns"), **{c: _F64 for c in _OHLCV}}
    fmt = "%Y%m%d %H%M%S"
    table = _read_csv(path, lines, delimiter=";", names=names, types=types, time_format=fmt)
    wall = _checked_times(table, "time", lines)
    zone = tz or "UTC"
    ts = localize(wall, zone, lines, "time")
    notes: list[str] = []
    return _raw(path, "ninjatrader", ts, table, dict(zip(_OHLCV, _OHLCV)), lines, stamp or "end",
                zone, _file_contract(path, len(ts), _near(ts), notes), notes)


def _checked_times(table: pa.Table, col: str, lines: LineMap) -> np.ndarray:
    """int64 of a timestamp (or integer) column pyarrow already parsed; an empty cell is an error."""
    arr = table[col]
    if arr.null_count:
        row = int(np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))[0])
        raise fail("missing timestamp", lines, row, column=col.strip(), more=arr.null_count - 1,
                   hint="fix or remove the row")
    return arr.cast(pa.int64()).to_numpy()


def _date_time_text(table: pa.Table, date_col: str, time_col: str, pad_hhmm: bool = False) -> pa.Array:
    """``date + ' ' + time`` as one string column (TradeStation ``901`` -> ``0901`` when asked)."""
    d = pc.utf8_trim_whitespace(table[date_col].combine_chunks())
    t = pc.utf8_trim_whitespace(table[time_col].combine_chunks())
    if pad_hhmm:
        t = pc.if_else(pc.match_substring(t, ":"), t, pc.utf8_lpad(t, 4, "0"))
    return pc.binary_join_element_wise(d, t, " ")


def read_kibot(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """Kibot: ``MM/DD/YYYY,HH:MM,open,high,low,close,volume``, US Eastern, bar START."""
    path = Path(path)
    lines = LineMap(path, 0)
    names = ["date", "time", *_OHLCV]
    types = {"date": pa.string(), "time": pa.string(), **{c: _F64 for c in _OHLCV}}
    table = _read_csv(path, lines, delimiter=",", names=names, types=types)
    text = _date_time_text(table, "date", "time")
    wall = parse_times(text, "%m/%d/%Y %H:%M", lines, "date")
    zone = tz or "America/New_York"
    ts = localize(wall, zone, lines, "time")
    notes: list[str] = []
    return _raw(path, "kibot", ts, table, dict(zip(_OHLCV, _OHLCV)), lines, stamp or "start", zone,
                _file_contract(path, len(ts), _near(ts), notes), notes)


def read_firstrate(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """FirstRate Data: ``yyyy-MM-dd HH:mm:ss,open,high,low,close,volume``, US Eastern.

    The stamp convention is not documented: unless ``stamp`` is given it is detected (``"auto"``).
    """
    path = Path(path)
    lines = LineMap(path, 0)
    names = ["time", *_OHLCV]
    first = _first_lines(path, 1)
    fmt = "%Y-%m-%d %H:%M:%S" if first and re.match(r"^\S+ \d{1,2}:\d{2}:\d{2}", first[0]) else "%Y-%m-%d %H:%M"
    types = {"time": pa.timestamp("ns"), **{c: _F64 for c in _OHLCV}}
    table = _read_csv(path, lines, delimiter=",", names=names, types=types, time_format=fmt)
    wall = _checked_times(table, "time", lines)
    zone = tz or "America/New_York"
    ts = localize(wall, zone, lines, "time")
    notes: list[str] = []
    return _raw(path, "firstrate", ts, table, dict(zip(_OHLCV, _OHLCV)), lines, stamp or "auto", zone,
                _file_contract(path, len(ts), _near(ts), notes), notes)


# --------------------------------------------------------------------------------------------
# Vendors with a header: TradeStation, Sierra Chart, Databento


def _header(path: Path, delimiter: str) -> list[str]:
    """Header names exactly as pyarrow will name the columns (quotes removed, spaces kept)."""
    first = _first_lines(path, 1)
    if not first:
        raise DataError("empty file", file=str(path), hint="export some bars into it")
    head = pacsv.read_csv(io.BytesIO(first[0].encode() + b"\n"),
                          parse_options=pacsv.ParseOptions(delimiter=delimiter))
    return list(head.column_names)


def _pick(header: list[str], wanted: dict[str, tuple[str, ...]], path: Path, required=()) -> dict[str, str]:
    """Map canonical names to header names (case- and space-insensitive)."""
    lookup = {h.strip().lower(): h for h in header}
    out = {}
    for key, options in wanted.items():
        for o in options:
            if o in lookup:
                out[key] = lookup[o]
                break
    missing = [k for k in required if k not in out]
    if missing:
        found = ", ".join(h.strip() for h in header)[:160]
        raise DataError(f"missing column(s) {', '.join(missing)} (header: {found})", file=str(path),
                        line=1, hint="the header must name " + ", ".join(required) + "; or pass --es-format")
    return out


def read_tradestation(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """TradeStation / MultiCharts ASCII: ``"Date","Time","Open","High","Low","Close","Up","Down"``.

    Dates MM/DD/YYYY, times HHMM or HH:MM, bar END, exchange time (America/Chicago for ES).
    Volume = Up + Down (a ``Volume``/``Vol`` column is used when there is no Up/Down).
    """
    path = Path(path)
    lines = LineMap(path, 1)
    header = _header(path, ",")
    wanted = {"date": ("date",), "time": ("time",), "open": ("open",), "high": ("high",),
              "low": ("low",), "close": ("close",), "up": ("up",), "down": ("down",),
              "volume": ("volume", "vol")}
    cols = _pick(header, wanted, path, required=("date", "time", "open", "high", "low", "close"))
    if not ({"up", "down"} <= set(cols) or "volume" in cols):
        raise DataError("missing column(s) Up, Down", file=str(path), line=1,
                        hint="TradeStation volume is Up + Down; export with volume")
    types = {cols["date"]: pa.string(), cols["time"]: pa.string()}
    vol_cols = [cols["up"], cols["down"]] if {"up", "down"} <= set(cols) else [cols["volume"]]
    types.update({cols[k]: _F64 for k in PRICE_FIELDS})
    types.update({c: _F64 for c in vol_cols})
    table = _read_csv(path, lines, delimiter=",", names=None, types=types)
    text = _date_time_text(table, cols["date"], cols["time"], pad_hhmm=True)
    sample = text[0].as_py() if len(text) else ""
    fmt = "%m/%d/%Y %H:%M" if ":" in sample.split(" ")[-1] else "%m/%d/%Y %H%M"
    wall = parse_times(text, fmt, lines, "Time")
    zone = tz or "America/Chicago"
    ts = localize(wall, zone, lines, "Time")
    volume = sum(_floats(table, c) for c in vol_cols)
    notes: list[str] = []
    if tz is None:
        notes.append(f"{path.name}: TradeStation times read as exchange time (America/Chicago); "
                     "pass --tz if the export used local time")
    src = {k: cols[k] for k in PRICE_FIELDS}
    src["volume"] = volume
    return _raw(path, "tradestation", ts, table, src, lines, stamp or "end", zone,
                _file_contract(path, len(ts), _near(ts), notes), notes)


def read_sierra(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """Sierra Chart "Write Bar and Study Data To File": ``Date, Time, Open, High, Low, Last, ...``.

    Comma + space separated, unpadded month/day (``2024-3-7, 18:00:00.000000``), bar START. The
    time zone is the chart's setting, which the file does not state: ``tz`` is required.
    """
    path = Path(path)
    lines = LineMap(path, 1)
    if tz is None:
        raise DataError("Sierra Chart files do not state their time zone", file=str(path),
                        hint="pass --tz with the chart's Time Zone setting, e.g. --tz America/New_York")
    header = _header(path, ",")
    wanted = {"date": ("date",), "time": ("time",), "open": ("open",), "high": ("high",),
              "low": ("low",), "close": ("last", "close"), "volume": ("volume",)}
    cols = _pick(header, wanted, path, required=tuple(wanted))
    types = {cols["date"]: pa.string(), cols["time"]: pa.string()}
    types.update({cols[k]: _F64 for k in _OHLCV})
    table = _read_csv(path, lines, delimiter=",", names=None, types=types)
    text = _date_time_text(table, cols["date"], cols["time"])
    fmt = guess_time_format(text[0].as_py(), lines, 0, "Date") if len(text) else "%Y-%m-%d %H:%M:%S"
    wall = parse_times(text, fmt, lines, "Date")
    ts = localize(wall, tz, lines, "Time")
    notes: list[str] = []
    return _raw(path, "sierra", ts, table, {k: cols[k] for k in _OHLCV}, lines, stamp or "start", tz,
                _file_contract(path, len(ts), _near(ts), notes), notes)


def read_databento(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """Databento OHLCV CSV (``to_csv``) or Parquet: UTC, bar START.

    ``ts_event`` is integer ns since the epoch or ISO text (``2020-12-28T00:00:00.000000000Z``);
    prices are fixed-point integers (1 unit = 1e-9) or decimals; the contract comes from ``symbol``
    (spread instruments, whose symbol holds ``-``, are dropped) or else from the file name.
    """
    path = Path(path)
    if path.suffix.lower() in _PARQUET:
        return _from_parquet_table(path, "databento", tz, stamp)
    lines = LineMap(path, 1)
    header = _header(path, ",")
    cols = _pick(header, {k: (k,) for k in ("ts_event", *_OHLCV, "symbol")}, path,
                 required=("ts_event", *_OHLCV))
    first = _first_lines(path, 2)
    sample = first[1].split(",")[header.index(cols["ts_event"])] if len(first) > 1 else "0"
    integer_ts = sample.strip().lstrip("-").isdigit()
    types = {cols["ts_event"]: pa.int64() if integer_ts else pa.string()}
    types.update({cols[k]: _F64 for k in _OHLCV})
    if "symbol" in cols:
        types[cols["symbol"]] = pa.string()
    table = _read_csv(path, lines, delimiter=",", names=None, types=types)
    return _databento_table(path, table, cols, lines, integer_ts, tz, stamp)


def _databento_table(path, table, cols, lines, integer_ts, tz, stamp) -> RawBars:
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
    close = _floats(table, cols["close"])
    finite = np.abs(close[np.isfinite(close)])
    fixed = finite.size > 0 and float(np.median(finite)) > 1e7  # no ES price is 1e7 points
    if "symbol" in cols:
        codes_names = _contract_column(table[cols["symbol"]], _near(ts), lines, "symbol")
    else:
        codes_names = _file_contract(path, len(ts), _near(ts), notes)
    raw = _raw(path, "databento", ts, table, {k: cols[k] for k in _OHLCV}, lines, stamp or "start",
               "UTC", codes_names, notes, rows=rows)
    if fixed:
        for k in PRICE_FIELDS:
            setattr(raw, k, getattr(raw, k) * _FIXED_POINT)
        notes.append(f"{path.name}: fixed-point prices (1e-9 units) scaled to index points")
    return raw


# --------------------------------------------------------------------------------------------
# Generic CSV / Parquet

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
    if path.suffix.lower() in _PARQUET:
        return _from_parquet_table(path, "generic", tz, stamp)
    lines = LineMap(path, 1)
    first = _first_lines(path, 2)
    if not first:
        raise DataError("empty file", file=str(path), hint="export some bars into it")
    delimiter = max((",", ";", "\t"), key=first[0].count)
    header = _header(path, delimiter)
    cols, time_cols = _generic_columns(header, path)
    types = {c: pa.string() for c in time_cols}
    types.update({cols[k]: _F64 for k in _OHLCV})
    if "contract" in cols:
        types[cols["contract"]] = pa.string()
    if len(first) < 2:
        raise DataError("no bars after the header", file=str(path), line=1, hint="export some bars")
    sample_fields = [f.strip().strip('"') for f in first[1].split(delimiter)]
    sample = " ".join(sample_fields[header.index(c)] for c in time_cols)
    scale = _epoch_scale(sample) if len(time_cols) == 1 else None
    if scale is not None:  # integer seconds/ms/us/ns since the epoch: UTC by definition
        types[time_cols[0]] = pa.int64()
        table = _read_csv(path, lines, delimiter=delimiter, names=None, types=types)
        wall = _checked_times(table, time_cols[0], lines) * scale
        return _generic_finish(path, table, cols, time_cols[0].strip(), wall, True, lines, tz, stamp)
    fmt = guess_time_format(sample, lines, 0, time_cols[0].strip())
    zone_in_text = has_zone(sample)
    fast = len(time_cols) == 1 and fmt is not pacsv.ISO8601 and not _FRACTION.search(sample)
    if fast or fmt is pacsv.ISO8601 and len(time_cols) == 1:
        types[time_cols[0]] = pa.timestamp("ns", "UTC") if zone_in_text else pa.timestamp("ns")
        table = _read_csv(path, lines, delimiter=delimiter, names=None, types=types, time_format=fmt)
        wall = _checked_times(table, time_cols[0], lines)
    else:
        table = _read_csv(path, lines, delimiter=delimiter, names=None, types=types)
        text = table[time_cols[0]].combine_chunks() if len(time_cols) == 1 else \
            _date_time_text(table, *time_cols)
        wall = parse_times(text, fmt, lines, time_cols[0].strip())
    return _generic_finish(path, table, cols, time_cols[0].strip(), wall, zone_in_text, lines, tz, stamp)


def _epoch_scale(sample: str) -> int | None:
    """ns per unit when ``sample`` is an epoch count (10/13/16/19 digits: s/ms/us/ns), else None."""
    text = sample.strip()
    if text.isdigit() and len(text) in (10, 13, 16, 19):
        return 10 ** (19 - len(text))
    return None


def _generic_columns(header: list[str], path: Path) -> tuple[dict[str, str], list[str]]:
    cols = _pick(header, _GENERIC, path, required=_OHLCV)
    lookup = {h.strip().lower(): h for h in header}
    if "date" in lookup and "time" in lookup:
        return cols, [lookup["date"], lookup["time"]]
    for name in _TIME_NAMES:
        if name in lookup:
            return cols, [lookup[name]]
    found = ", ".join(h.strip() for h in header)[:160]
    raise DataError(f"no timestamp column (header: {found})", file=str(path), line=1,
                    hint="name it timestamp (or datetime/time/ts), or give date and time columns")


def _generic_finish(path, table, cols, time_name, wall, zone_in_text, lines, tz, stamp) -> RawBars:
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
    if "contract" in cols:
        codes_names = _contract_column(table[cols["contract"]], _near(ts), lines, cols["contract"].strip())
    else:
        codes_names = _file_contract(path, len(ts), _near(ts), notes)
    return _raw(path, "generic", ts, table, {k: cols[k] for k in _OHLCV}, lines, stamp or "start",
                zone, codes_names, notes)


def _from_parquet_table(path: Path, fmt: str, tz: str | None, stamp: str | None) -> RawBars:
    """Generic or Databento Parquet: the same rules on typed columns; rows, not lines, in errors."""
    import pyarrow.parquet as pq

    lines = LineMap(path, 0, text=False)
    table = pq.read_table(path)
    header = list(table.column_names)
    if fmt == "databento":
        cols = _pick(header, {k: (k,) for k in ("ts_event", *_OHLCV, "symbol")}, path,
                     required=("ts_event", *_OHLCV))
        table = _float_columns(table, [cols[k] for k in _OHLCV], lines)
        ts_type = table[cols["ts_event"]].type
        if pa.types.is_timestamp(ts_type):  # already an instant: keep it as int ns UTC
            as_ns = pc.cast(table[cols["ts_event"]], pa.timestamp("ns", ts_type.tz or "UTC")).cast(pa.int64())
            table = table.set_column(header.index(cols["ts_event"]), cols["ts_event"], as_ns)
        integer = pa.types.is_integer(table[cols["ts_event"]].type)
        return _databento_table(path, table, cols, lines, integer, tz, stamp)
    cols, time_cols = _generic_columns(header, path)
    table = _float_columns(table, [cols[k] for k in _OHLCV], lines)
    arr = table[time_cols[0]].combine_chunks()
    if pa.types.is_timestamp(arr.type) and len(time_cols) == 1:
        if arr.null_count:
            row = int(np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))[0])
            raise fail("missing timestamp", lines, row, column=time_cols[0], hint="fix or remove the row")
        zoned = arr.type.tz is not None
        wall = pc.cast(arr, pa.timestamp("ns", arr.type.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
    else:
        parts = [pc.cast(table[c].combine_chunks(), pa.string()) for c in time_cols]
        arr = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, " ")
        sample = arr[0].as_py() if len(arr) and arr[0].is_valid else "1970-01-01"
        fmt_t = guess_time_format(sample, lines, 0, time_cols[0])
        zoned = has_zone(sample)
        wall = parse_times(arr, fmt_t, lines, time_cols[0])
    return _generic_finish(path, table, cols, time_cols[0], wall, zoned, lines, tz, stamp)


def _float_columns(table: pa.Table, names: list[str], lines: LineMap) -> pa.Table:
    """Cast Parquet price/volume columns to float64; a text column with a non-number is an error."""
    for name in names:
        i = table.column_names.index(name)
        col = table[name]
        try:
            table = table.set_column(i, name, pc.cast(col, pa.float64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = _unparseable_numbers(pc.cast(col, pa.string()).combine_chunks())
            row = int(bad[0]) if len(bad) else 0
            raise fail("not a number", lines, row, column=name, value=col[row].as_py(),
                       more=max(len(bad) - 1, 0), hint="fix or remove the row") from None
    return table


# --------------------------------------------------------------------------------------------

READERS = {
    "generic": read_generic,
    "databento": read_databento,
    "ninjatrader": read_ninjatrader,
    "kibot": read_kibot,
    "tradestation": read_tradestation,
    "sierra": read_sierra,
    "firstrate": read_firstrate,
}


def read_bars(path: str | Path, fmt: str = "auto", tz: str | None = None,
              stamp: str | None = None) -> RawBars:
    """Read one bar file in format ``fmt`` (``"auto"``: :func:`detect_format`).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    fmt : str
        One of :data:`FORMATS`.
    tz : str, optional
        IANA zone overriding the format's (required for Sierra Chart and zone-less generic files).
    stamp : {"start", "end", "auto"}, optional
        Overrides the format's bar-stamp convention.

    Returns
    -------
    RawBars
        With a note ``"<file>: detected <fmt> (<zone>, bar <stamp>)"`` (or ``read as``) first.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise DataError("unknown format", value=fmt, hint=f"choose one of {', '.join(FORMATS)}")
    if stamp is not None and stamp not in STAMPS:
        raise DataError("unknown bar stamp", value=stamp, hint="choose start, end or auto")
    if tz is not None:
        check_zone(tz)
    if not path.is_file():
        raise DataError("file not found", file=str(path), hint="check the path")
    try:
        chosen = detect_format(path) if fmt == "auto" else fmt
        raw = READERS[chosen](path, tz=tz, stamp=stamp)
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc})", file=str(path),
                        hint="check the path and its permissions") from None
    verb = "detected" if fmt == "auto" else "read as"
    stamp_text = "bar stamp detected" if raw.stamp == "auto" else f"bar {raw.stamp}"
    raw.notes.insert(0, f"{path.name}: {verb} {chosen} ({raw.zone}, {stamp_text})")
    return raw


__all__ = ["FORMATS", "STAMPS", "LineMap", "RawBars", "detect_format", "read_bars", "READERS",
           "read_generic", "read_databento", "read_ninjatrader", "read_kibot", "read_tradestation",
           "read_sierra", "read_firstrate"]
