"""Generic trade files: CSV (with a header line) or Parquet with named columns.

Columns (names in any capitalisation):

* time: ``timestamp``, ``ts_event``, ``datetime``, ``date_time``, ``ts``, ``time``, or ``date`` plus
  ``time``. ISO-8601 text with or without a zone (or another layout
  :func:`~futures_vpoc.data.formats.times.guess_time_format` knows), integer ns since the epoch, or a
  Parquet timestamp. Stamps without a zone (text or a zone-less Parquet timestamp) are UTC unless
  ``tz`` names their zone; stamps with one ignore ``tz``.
* ``price`` (or ``last``, ``trade_price``, ``px``): index points.
* ``size`` (or ``volume``, ``qty``, ``quantity``, ``vol``): contracts.
* optional ``side`` (or ``aggressor``, ``aggressor_side``): the codes of
  :data:`~futures_vpoc.data.trades.formats.common.SIDE_TEXT`, or integers -1/0/1.
* optional ``contract`` (or ``symbol``); else the contract in the file name, else ``ES`` (a note).
* optional ``action`` (Databento CSV/Parquet exports): only ``T`` rows are trades; ``F`` (fill) rows
  are the resting side of the same trades and other actions are book events: both skipped, counted
  in a note.

Parquet is streamed with ``ParquetFile.iter_batches`` (buffered column-chunk reads) and CSV with
``pyarrow.csv.open_csv``: memory stays bounded by ``chunk_rows`` whatever the file or row-group size. Parquet has no lines: errors name the
1-based row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from futures_vpoc.data.formats.csvread import header_names, likely_delimiter
from futures_vpoc.data.formats.linemap import LineMap, fail
from futures_vpoc.data.formats.times import guess_time_format, has_zone, localize, parse_times
from futures_vpoc.data.trades.chunk import Trades
from futures_vpoc.data.trades.formats.common import (
    FileContracts, ReadContext, contract_codes, file_contract, make_chunk, numbers, refuse_bad_sides, side_codes)
from futures_vpoc.data.trades.formats.csvstream import csv_chunks
from futures_vpoc.data.trades.formats.text import nonempty_lines
from futures_vpoc.errors import DataError

PARQUET_MAGIC = b"PAR1"
STAMP_NAMES = ("timestamp", "ts_event", "datetime", "date_time", "ts", "time")
PRICE_NAMES = ("price", "last", "trade_price", "px")
SIZE_NAMES = ("size", "volume", "qty", "quantity", "vol")
SIDE_NAMES = ("side", "aggressor", "aggressor_side")
CONTRACT_NAMES = ("contract", "symbol")
PARQUET_BUFFER_BYTES = 1 << 20
"""Read buffer of a Parquet column chunk: pages are read as decoded, never a whole row group at once."""
MIN_NS_STAMP = 10**17
"""Smallest integer stamp taken as ns since the epoch (1973-03-03); smaller ones are s, ms or us."""
_DIGITS = re.compile(r"^\s*-?\d+\s*$")


@dataclass(frozen=True)
class TradeColumns:
    """Which columns of the file hold what (names as the file spells them; None = absent)."""

    stamp: str | None
    date: str | None
    clock: str | None
    price: str
    size: str
    side: str | None
    contract: str | None
    action: str | None

    def needed(self) -> list[str]:
        """The columns to read, each once, in a fixed order."""
        cols = [self.stamp, self.date, self.clock, self.price, self.size, self.side, self.contract, self.action]
        return list(dict.fromkeys(c for c in cols if c is not None))

    @property
    def time_label(self) -> str:
        """The time column(s) as named in messages."""
        return self.stamp.strip() if self.stamp else f"{self.date.strip()} {self.clock.strip()}"


def trade_columns(names: list[str], path: Path, line: int | None) -> TradeColumns:
    """Pick the trade columns of a header (see the module text).

    Raises
    ------
    DataError
        When no time, price or size column is found (naming the header).
    """
    lookup: dict[str, str] = {}
    for n in names:
        lookup.setdefault(n.strip().lower(), n)

    def find(options: tuple[str, ...]) -> str | None:
        return next((lookup[o] for o in options if o in lookup), None)

    stamp = find(STAMP_NAMES[:-1])
    date, clock = lookup.get("date"), lookup.get("time")
    if stamp is None and not (date and clock):
        stamp = clock or date
    if stamp is not None:
        date = clock = None
    price, size = find(PRICE_NAMES), find(SIZE_NAMES)
    missing = [what for what, col in (("time", stamp or date), ("price", price), ("size", size)) if col is None]
    if missing:
        found = ", ".join(n.strip() for n in names)[:160]
        raise DataError(f"missing column(s) {', '.join(missing)} (columns: {found})", file=str(path), line=line,
                        hint="name the columns timestamp, price, size[, side, contract], or pass --trades-format")
    return TradeColumns(stamp, date, clock, price, size, find(SIDE_NAMES), find(CONTRACT_NAMES), lookup.get("action"))


def is_parquet_file(path: Path) -> bool:
    """True when the file starts with the Parquet magic ``PAR1``."""
    with open(path, "rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def read_generic_trades(path: Path, ctx: ReadContext) -> Iterator[Trades]:
    """Stream a generic trade CSV or Parquet file (see the module text).

    Returns
    -------
    Iterator of Trades
        Unvalidated chunks: stamps UTC ns, prices float64 as written, sizes float64, ``row`` = 0-based
        data row (text) or row (Parquet); unknown side codes already refused or (``repair``) dropped.

    Raises
    ------
    DataError
        An empty file, missing columns, an unparseable time or number, an unknown side code (without
        ``repair``), a missing contract.
    """
    if is_parquet_file(path):
        return _parquet(path, ctx)
    return _csv(path, ctx)


def _parquet(path: Path, ctx: ReadContext) -> Iterator[Trades]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path, buffer_size=PARQUET_BUFFER_BYTES)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"cannot read the Parquet file ({str(exc).splitlines()[0]})", file=str(path),
                        hint="write it again; the file may be truncated") from None
    cols = trade_columns(pf.schema_arrow.names, path, None)
    # text columns of few values (contract, side, action) come back as dictionary arrays: no string per
    # row is decoded (100M prints: 5.6 s -> 2.4 s to read), and the codes are the dictionary indices
    schema = pf.schema_arrow
    texts = [c for c in (cols.contract, cols.side, cols.action) if c and pa.types.is_string(schema.field(c).type)]
    if texts:
        pf = pq.ParquetFile(path, buffer_size=PARQUET_BUFFER_BYTES, read_dictionary=texts)
    lines = LineMap(path, 0, text=False)
    build = _ChunkBuilder(path, cols, lines, ctx)
    start = 0
    for batch in _batches(path, pf, cols.needed(), ctx.chunk_rows):
        yield build(batch.column, batch.num_rows, start)
        start += batch.num_rows
    build.finish()


WHOLE_GROUP_ROWS = 1 << 22
"""Row groups of at most this many rows are read whole, then sliced."""


def _batches(path: Path, pf, columns: list[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of at most ``chunk_rows`` rows, row group by row group.

    A row group of at most :data:`WHOLE_GROUP_ROWS` rows is read whole (``read_row_group``) and
    sliced: ``ParquetFile.iter_batches`` over a whole file keeps Arrow memory growing with every
    row group read (measured here, pyarrow 26: 0.04 GB -> 0.9 GB over a 100M-row file, where
    reading row group by row group stays at 0.04 GB, and is faster); only a larger row group is
    streamed in batches.
    """
    for i in range(pf.metadata.num_row_groups):
        if pf.metadata.row_group(i).num_rows <= WHOLE_GROUP_ROWS:
            table = _read_group(path, pf, i, columns)
            for batch in table.to_batches(max_chunksize=chunk_rows):
                yield batch
        else:
            batches = pf.iter_batches(batch_size=chunk_rows, row_groups=[i], columns=columns)
            while (batch := _next_batch(path, batches)) is not None:
                yield batch


def _read_group(path: Path, pf, i: int, columns: list[str]) -> pa.Table:
    """Row group ``i`` as one table with one chunk per column; a damaged page is a one-line DataError."""
    try:
        return pf.read_row_group(i, columns=columns).combine_chunks()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read the Parquet file ({str(exc).splitlines()[0]})", file=str(path),
                        hint="write it again; the file may be damaged") from None


def _next_batch(path: Path, batches: Iterator[pa.RecordBatch]) -> pa.RecordBatch | None:
    """The next Parquet batch (None at the end); a damaged page is a one-line DataError."""
    try:
        return next(batches)
    except StopIteration:
        return None
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read the Parquet file ({str(exc).splitlines()[0]})", file=str(path),
                        hint="write it again; the file may be damaged") from None


def _csv(path: Path, ctx: ReadContext) -> Iterator[Trades]:
    first = nonempty_lines(path, 2)
    delimiter = likely_delimiter(first[0])
    names = header_names(path, delimiter)
    cols = trade_columns(names, path, 1)
    lines = LineMap(path, 1)
    build = _ChunkBuilder(path, cols, lines, ctx)
    for table, start in csv_chunks(path, lines, delimiter=delimiter, columns=cols.needed(), header=True,
                                   chunk_rows=ctx.chunk_rows):
        yield build(lambda name: table[name].combine_chunks(), table.num_rows, start)
    build.finish()


class _ChunkBuilder:
    """Turns the columns of each chunk into :class:`Trades`; keeps what spans chunks (time layout,
    contract codes, skipped-row counts)."""

    def __init__(self, path: Path, cols: TradeColumns, lines: LineMap, ctx: ReadContext):
        self.path, self.cols, self.lines, self.ctx = path, cols, lines, ctx
        self.times = _TimeReader(path, cols, lines, ctx)
        self.contracts = FileContracts(None if cols.contract else [file_contract(path, ctx.notes)])
        self.skipped: dict[str, int] = {}

    def __call__(self, column: Callable[[str], pa.Array], n: int, start: int) -> Trades:
        rows = np.arange(start, start + n, dtype=np.int64)
        keep = self._trade_rows(column(self.cols.action)) if self.cols.action else None
        if keep is None:
            get = column
        else:
            rows = rows[keep.to_numpy(zero_copy_only=False)]
            get = _filtered(column, keep)
        cols = self.cols
        ts = self.times(get, rows)
        price = numbers(get(cols.price), self.lines, rows, cols.price)
        size = numbers(get(cols.size), self.lines, rows, cols.size)
        side_raw = get(cols.side) if cols.side else None
        side = side_codes(side_raw) if side_raw is not None else None
        contract = contract_codes(get(cols.contract), self.contracts, self.lines, rows, cols.contract.strip()) \
            if cols.contract else None
        chunk = make_chunk(self.path, ts, price, size, side, contract, self.contracts.names, rows, self.lines)
        return refuse_bad_sides(chunk, side_raw, self.ctx, cols.side.strip()) if side_raw is not None else chunk

    def _trade_rows(self, action: pa.Array) -> pa.Array | None:
        """Mask of the ``T`` rows (None when every row is one); counts the others by action."""
        text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.cast(action, pa.string())))
        keep = pc.fill_null(pc.equal(text, "T"), False)
        if pc.all(keep).as_py() is not False:
            return None
        counts = pc.value_counts(pc.filter(text, pc.invert(keep)))
        for item in counts.to_pylist():
            key = item["values"] if item["values"] is not None else "(empty)"
            self.skipped[key] = self.skipped.get(key, 0) + item["counts"]
        return keep

    def finish(self) -> None:
        """Append the note of the rows skipped by action, and of the time zone used."""
        if self.skipped:
            parts = ", ".join(f"{k} {v:,}" for k, v in sorted(self.skipped.items()))
            fills = " (F = the resting side of trades already counted)" if "F" in self.skipped else ""
            self.ctx.notes.append(f"{self.path.name}: skipped rows whose action is not T: {parts}{fills}")


def _filtered(column: Callable[[str], pa.Array], keep: pa.Array) -> Callable[[str], pa.Array]:
    """``column`` restricted to the rows of the mask ``keep``."""
    return lambda name: pc.filter(column(name), keep)


class _TimeReader:
    """The trade time of each chunk's rows, ns UTC; the layout is told from the first chunk."""

    def __init__(self, path: Path, cols: TradeColumns, lines: LineMap, ctx: ReadContext):
        self.path, self.cols, self.lines, self.ctx = path, cols, lines, ctx
        self.kind: str | None = None
        self.fmt = None
        self.zone: str | None = None

    def __call__(self, get: Callable[[str], pa.Array], rows: np.ndarray) -> np.ndarray:
        cols = self.cols
        if cols.stamp is not None:
            arr = get(cols.stamp)
        else:
            arr = pc.binary_join_element_wise(pc.utf8_trim_whitespace(pc.cast(get(cols.date), pa.string())),
                                              pc.utf8_trim_whitespace(pc.cast(get(cols.clock), pa.string())), " ")
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if self.kind is None:
            self._decide(arr, rows)
        if self.kind == "timestamp":
            return self._arrow_stamps(arr, rows)
        if self.kind == "integer":
            return self._integers(arr, rows)
        wall = parse_times(arr, self.fmt, self.lines, cols.time_label, rows)
        return localize(wall, self.zone, self.lines, cols.time_label, rows) if self.zone else wall

    def _decide(self, arr: pa.Array, rows: np.ndarray) -> None:
        typ, label = arr.type, self.cols.time_label
        if pa.types.is_timestamp(typ):
            self.kind = "timestamp"
            self._zone(typ.tz is not None)
        elif pa.types.is_integer(typ):
            self._integer_kind()
        elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
            text = pc.utf8_trim_whitespace(arr)
            nonempty = np.flatnonzero(pc.fill_null(pc.not_equal(text, ""), False).to_numpy(zero_copy_only=False))
            if not len(nonempty):
                raise fail("missing timestamp", self.lines, int(rows[0]), column=label, more=len(rows) - 1,
                           hint="fix or remove the row")
            sample = text[int(nonempty[0])].as_py()
            if _DIGITS.match(sample):
                self._integer_kind()
                return
            self.kind = "text"
            self.fmt = guess_time_format(sample, self.lines, int(rows[nonempty[0]]), label)
            self._zone(has_zone(sample))
        else:
            raise DataError(f"time column {label!r} has type {typ}, not a timestamp, integer ns or text",
                            file=str(self.path), hint="write the time as ISO-8601 text, integer ns or a "
                            "Parquet timestamp")

    def _integer_kind(self) -> None:
        self.kind = "integer"
        tail = "; --tz ignored" if self.ctx.tz else ""
        self.ctx.notes.append(f"{self.path.name}: integer timestamps read as ns since the epoch, UTC{tail}")

    def _zone(self, zoned: bool) -> None:
        name = self.path.name
        if zoned:
            self.zone = None
            if self.ctx.tz:
                self.ctx.notes.append(f"{name}: timestamps carry their UTC offset; --tz ignored")
        else:
            self.zone = self.ctx.tz or "UTC"
            why = "--tz" if self.ctx.tz else "no zone in the file; --tz overrides"
            self.ctx.notes.append(f"{name}: timestamps without a zone read as {self.zone} ({why})")

    def _arrow_stamps(self, arr: pa.Array, rows: np.ndarray) -> np.ndarray:
        self._no_nulls(arr, rows)
        ns = pc.cast(arr, pa.timestamp("ns", arr.type.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return localize(ns, self.zone, self.lines, self.cols.time_label, rows) if self.zone else ns

    def _integers(self, arr: pa.Array, rows: np.ndarray) -> np.ndarray:
        if not pa.types.is_integer(arr.type):
            text = pc.utf8_trim_whitespace(arr)
            try:
                arr = pc.cast(text, pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                bad = np.flatnonzero([not _is_int64(t) for t in text.to_pylist()])  # error path only
                raise fail("unparseable timestamp (expected integer ns since the epoch, like the first row)",
                           self.lines, int(rows[bad[0]]), column=self.cols.time_label, value=text[int(bad[0])].as_py(),
                           more=len(bad) - 1, hint="fix or remove the row") from None
        self._no_nulls(arr, rows)
        ns = arr.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        small = ns < MIN_NS_STAMP
        if small.any():
            i = int(np.argmax(small))
            raise fail("integer timestamp is not ns since the epoch (before 1973: seconds, ms or us?)", self.lines,
                       int(rows[i]), column=self.cols.time_label, value=int(ns[i]), more=int(small.sum()) - 1,
                       hint="write integer stamps in ns since the epoch, or ISO-8601 text")
        return ns

    def _no_nulls(self, arr: pa.Array, rows: np.ndarray) -> None:
        if arr.null_count:
            i = int(np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))[0])
            raise fail("missing timestamp", self.lines, int(rows[i]), column=self.cols.time_label,
                       more=arr.null_count - 1, hint="fix or remove the row")


def _is_int64(text: str | None) -> bool:
    """True when ``text`` is an integer that fits int64."""
    if text is None or not _DIGITS.match(text):
        return False
    return -(2**63) <= int(text) < 2**63


__all__ = ["CONTRACT_NAMES", "PARQUET_MAGIC", "PRICE_NAMES", "SIDE_NAMES", "SIZE_NAMES", "STAMP_NAMES",
           "TradeColumns", "is_parquet_file", "read_generic_trades", "trade_columns"]
