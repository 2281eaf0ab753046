"""QuantConnect LEAN futures minute zips: one zip per day, one header-less CSV per contract, UTC, bar START.

Layout (LEAN ``Data/future/readme.md``, ``LeanData.cs``, ``TradeBar.cs``; ``shared/realdata/SOURCES.md``
section 1): ``<YYYYMMDD>_<ticktype>.zip`` holds ``<YYYYMMDD>_<root>_minute_<ticktype>_<YYYYMM>.csv`` per
contract (older zips append the expiry: ``..._202012_20201218.csv``). Trade rows are
``ms_since_midnight,open,high,low,close,volume``: milliseconds since 00:00 UTC of the file date (the
market-hours database gives ES ``dataTimeZone`` UTC), the stamp is the bar's START, prices are plain
index points (futures are not scaled by 10000 as LEAN equities are), volume is contracts. Only
``trade`` zips hold bars; ``quote`` and ``openinterest`` zips are recognised so that a folder can
skip them and a file given directly gets a clear error.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from futures_vpoc.data.contracts import Contract
from futures_vpoc.data.formats.linemap import LineMap, fail, line_past_blanks
from futures_vpoc.data.formats.rawbars import F64, RawBars, assemble
from futures_vpoc.errors import DataError

_ENTRY = re.compile(r"^(?P<date>\d{8})_(?P<root>[a-z0-9]+)_minute_(?P<tick>trade|quote|openinterest)_"
                    r"(?P<ym>\d{6})(?:_\d{8})?\.csv$", re.IGNORECASE)
LEAN_TICK_TYPES = ("trade", "quote", "openinterest")
TRADE_COLUMNS = ("ms", "open", "high", "low", "close", "volume")
"""Columns of a trade CSV (no header): ms since 00:00 UTC of the file date, prices, volume."""
_MS_PER_DAY = 86_400_000
_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class LeanEntry:
    """One contract CSV inside a LEAN minute zip.

    Attributes
    ----------
    name : str
        Entry name, e.g. ``20131218_es_minute_trade_201403.csv``.
    date : datetime.date
        File date (the ms stamps count from its 00:00 UTC).
    tick : str
        ``trade``, ``quote`` or ``openinterest``.
    contract : str
        Contract symbol from the entry's ``YYYYMM``, with a two-digit year (``201403`` -> ``ESH14``;
        the loader shows ``ESH4`` unless two contracts of the load share a one-digit code).
    delivery : int
        ``YYYYMM`` of the contract, to list entries in expiry order.
    """

    name: str
    date: dt.date
    tick: str
    contract: str
    delivery: int


def lean_entries(path: Path) -> list[LeanEntry] | None:
    """The LEAN minute entries of a zip (in archive order), or None when ``path`` is not a zip.

    Entries whose name is not a LEAN minute CSV are left out, so a zip of something else gives ``[]``.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    out = []
    for name in names:
        m = _ENTRY.match(name.rsplit("/", 1)[-1])
        if not m:
            continue
        year, month = int(m["ym"][:4]), int(m["ym"][4:])
        try:
            date = dt.datetime.strptime(m["date"], "%Y%m%d").date()
        except ValueError:
            continue
        if 1 <= month <= 12:
            code = Contract(year, month, m["root"].upper()).code2
            out.append(LeanEntry(name, date, m["tick"].lower(), code, int(m["ym"])))
    return out


def lean_tick_type(path: Path) -> str | None:
    """``trade``, ``quote`` or ``openinterest`` for a LEAN minute zip (trade if it holds any trade
    entry), None for any other file. Only the zip's directory is read."""
    if path.suffix.lower() != ".zip":
        return None
    entries = lean_entries(path)
    if not entries:
        return None
    ticks = {e.tick for e in entries}
    return "trade" if "trade" in ticks else sorted(ticks)[0]


@dataclass
class ZipLines(LineMap):
    """:class:`LineMap` over the trade entries of one LEAN zip, read one after the other.

    Data rows are numbered across entries; an error names ``<zip>:<entry>`` and the 1-based line
    within the entry (the CSVs have no header).

    Attributes
    ----------
    entries : list of str
        Entry names, in reading order.
    starts : numpy.ndarray of int64, shape (len(entries),)
        Data-row number of each entry's first row.
    """

    entries: list[str] = field(default_factory=list)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _entry_blanks: dict = field(default_factory=dict, repr=False)

    def _entry(self, row: int) -> int:
        return max(int(np.searchsorted(self.starts, int(row), side="right")) - 1, 0)

    def name(self, row: int | None = None) -> str:
        if row is None or not self.entries:
            return str(self.path)
        return f"{self.path}:{self.entries[self._entry(row)]}"

    def line(self, row: int) -> int | None:
        if not self.entries:
            return None
        k = self._entry(row)
        if k not in self._entry_blanks:
            with zipfile.ZipFile(self.path) as zf:
                raw = zf.read(self.entries[k]).split(b"\n")
            self._entry_blanks[k] = np.asarray([i + 1 for i, t in enumerate(raw) if not t.strip(b"\r")],
                                               dtype=np.int64)
        return line_past_blanks(int(row) - int(self.starts[k]) + 1, self._entry_blanks[k])


def read_lean(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """Read the trade entries of a LEAN minute zip: UTC, bar START, one contract per entry.

    Parameters
    ----------
    path : str or pathlib.Path
        ``<YYYYMMDD>_trade.zip``.
    tz : str, optional
        Ignored (LEAN futures data are UTC), with a note.
    stamp : {"start", "end", "auto"}, optional
        Overrides the bar-start convention.

    Returns
    -------
    RawBars
        Stamps = 00:00 UTC of the entry's date + ms; rows numbered across entries in archive order.

    Raises
    ------
    DataError
        Not a LEAN minute zip, a quote/openinterest zip, or a row that does not parse (named by
        ``<zip>:<entry>``, line, column and value).
    """
    path = Path(path)
    entries = lean_entries(path)
    if entries is None:
        raise DataError("not a zip archive (corrupt or truncated?)", file=str(path),
                        hint="LEAN minute data come as <YYYYMMDD>_trade.zip")
    trade = sorted((e for e in entries if e.tick == "trade"), key=lambda e: (e.date, e.delivery))
    if not trade:
        if entries:
            raise DataError(f"LEAN {entries[0].tick} file: bars come from the *_trade.zip files", file=str(path),
                            hint="pass <YYYYMMDD>_trade.zip, or the folder (its quote/openinterest zips are skipped)")
        raise DataError("zip holds no LEAN minute CSV (<YYYYMMDD>_<root>_minute_trade_<YYYYMM>.csv)",
                        file=str(path), hint="unzip it and pass the bar file inside, with --es-format")
    lines = ZipLines(path, 0, entries=[e.name for e in trade])
    tables, starts, day0 = [], [], []
    rows = 0
    with zipfile.ZipFile(path) as zf:
        for e in trade:
            starts.append(rows)
            lines.starts = np.asarray(starts, dtype=np.int64)  # so that an error in this entry is located
            table = _read_entry(zf.read(e.name), lines, rows)
            tables.append(table)
            day0.append(np.datetime64(e.date, "D").astype("M8[ns]").astype(np.int64))
            rows += table.num_rows
    table = pa.concat_tables(tables)
    counts = np.asarray([t.num_rows for t in tables], dtype=np.int64)
    ms = table["ms"].to_numpy().astype(np.int64, copy=False)
    bad = np.flatnonzero((ms < 0) | (ms >= _MS_PER_DAY))
    if len(bad):
        raise fail("milliseconds since midnight outside one day (0..86399999)", lines, int(bad[0]), column="ms",
                   value=int(ms[bad[0]]), more=len(bad) - 1, hint="fix or remove the row")
    ts = np.repeat(np.asarray(day0, dtype=np.int64), counts) + ms * _NS_PER_MS
    names = sorted({e.contract for e in trade})
    entry_code = np.asarray([names.index(e.contract) for e in trade], dtype=np.int32)
    notes: list[str] = []
    if tz is not None:
        notes.append(f"{path.name}: LEAN futures stamps are UTC; --tz ignored")
    cols = {k: k for k in TRADE_COLUMNS[1:]}
    return assemble(path, "lean", ts, table, cols, lines, stamp or "start", "UTC", notes,
                    contracts=(np.repeat(entry_code, counts), names))


def _read_entry(data: bytes, lines: ZipLines, first_row: int) -> pa.Table:
    """One trade CSV as a typed table; on failure a DataError naming its entry, line, column, value."""
    types = {"ms": pa.int64(), **{k: F64 for k in TRADE_COLUMNS[1:]}}
    if not data.strip():
        return pa.table({k: pa.array([], t) for k, t in types.items()})
    try:
        return pacsv.read_csv(pa.BufferReader(data), read_options=pacsv.ReadOptions(column_names=list(TRADE_COLUMNS)),
                              convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        raise _locate(data, lines, first_row, exc) from None


def _locate(data: bytes, lines: ZipLines, first_row: int, exc: Exception) -> DataError:
    """Read an entry that pyarrow refused line by line and name its first bad cell (error path only)."""
    row = first_row
    for text in data.decode("latin-1").splitlines():
        if not text.strip():
            continue
        cells = text.split(",")
        if len(cells) != len(TRADE_COLUMNS):
            return fail(f"expected {len(TRADE_COLUMNS)} fields ({','.join(TRADE_COLUMNS)}), found {len(cells)} "
                        f"in {text[:120]!r}", lines, row, hint="every row needs ms,open,high,low,close,volume")
        for col, cell in zip(TRADE_COLUMNS, cells):
            try:
                int(cell) if col == "ms" else float(cell)
            except ValueError:
                what = "not a whole number of milliseconds" if col == "ms" else "not a number"
                return fail(what, lines, row, column=col, value=cell.strip(), hint="fix or remove the row")
        row += 1
    return DataError(f"cannot read the file ({exc})", file=str(lines.path), hint="check that it is a LEAN trade zip")


__all__ = ["LEAN_TICK_TYPES", "LeanEntry", "TRADE_COLUMNS", "ZipLines", "lean_entries", "lean_tick_type",
           "read_lean"]
