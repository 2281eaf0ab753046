"""Reading trade files: one or many, any supported layout, streamed in chunks, validated.

Layouts (:data:`~futures_vpoc.data.trades.chunk.TRADE_FORMATS`): Databento DBN of schema trades,
tbbo or mbo (:mod:`.formats.dbn_trades`), TickData-style CSV and NinjaTrader tick exports
(:mod:`.formats.text`), generic CSV or Parquet with named columns (:mod:`.formats.generic`).
Each chunk is checked by :class:`~futures_vpoc.data.trades.validate.TradeChecks` before it is
yielded, so an error names the file and line of the bad row; with ``repair`` bad rows are dropped and
counted instead. Nothing is written.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from pathlib import Path

from futures_vpoc.data.formats.times import check_zone
from futures_vpoc.data.trades.chunk import DEFAULT_CHUNK_ROWS, Repairs, Trades
from futures_vpoc.data.trades.formats.common import ReadContext
from futures_vpoc.data.trades.formats.dbn_trades import read_dbn_trades
from futures_vpoc.data.trades.formats.detect import trade_files
from futures_vpoc.data.trades.formats.generic import read_generic_trades
from futures_vpoc.data.trades.formats.text import read_ninjatrader_ticks, read_tickdata
from futures_vpoc.data.trades.prefetch import prefetch
from futures_vpoc.data.trades.validate import TradeChecks
from futures_vpoc.errors import DataError

TRADE_READERS = {
    "dbn": read_dbn_trades,
    "tickdata": read_tickdata,
    "ninjatrader": read_ninjatrader_ticks,
    "generic": read_generic_trades,
}
"""Reader of each layout: ``reader(path, ctx) -> Iterator[Trades]`` (unvalidated chunks)."""


def iter_trades(paths: str | Path | Sequence[str | Path], fmt: str = "auto", *, tz: str | None = None,
                tick: float = 0.25, repair: bool = False, repairs: Repairs | None = None,
                chunk_rows: int = DEFAULT_CHUNK_ROWS, notes: list[str] | None = None) -> Iterator[Trades]:
    """Yield validated :class:`Trades` chunks of every file, file by file, in file order.

    Parameters
    ----------
    paths : str, pathlib.Path or sequence of them
        A trade file, a folder (its files sorted by name, one layout), or a list of files/folders.
    fmt : str
        ``"auto"`` (told from each file's content: DBN magic, Parquet magic, first line) or one of
        :data:`~futures_vpoc.data.trades.chunk.TRADE_FORMATS`.
    tz : str, optional
        IANA zone of wall-clock stamps. Defaults: TickData America/Chicago (exchange-local),
        NinjaTrader UTC, generic files without a zone UTC; ignored (with a note) for DBN and for
        stamps that carry their offset.
    tick : float
        Tick size in index points (ES 0.25): every price must lie on its grid.
    repair : bool
        Drop bad rows (off-grid or non-finite price, size <= 0 or non-finite, time going backwards
        within a file, unknown side code) instead of refusing the file; unparseable cells are still
        refused.
    repairs : Repairs, optional
        Receives the count of dropped rows per kind and where the first of each was.
    chunk_rows : int
        Most rows per chunk. Memory stays bounded by it for CSV and Parquet, which are streamed; a
        DBN file is decompressed into memory whole (one zstd frame) and converted ``chunk_rows``
        records at a time.
    notes : list of str, optional
        Receives human notes: the layout of each file, the zone used, records skipped, contracts
        named or dropped, trades read.

    Yields
    ------
    Trades
        At most ``chunk_rows`` rows each, never empty; within a file the stamps never decrease.
        ``ts`` int64 ns UTC, ``price`` float64 index points on the grid, ``size`` float64 > 0,
        ``side`` int8 (+1/-1/0), ``row`` the 0-based data row (text) or row/record (Parquet/DBN).

    Raises
    ------
    DataError
        One line naming the file and line (or row/record), the value and what to do: an unknown
        format, zone or path, an empty file or one without trades, an unparseable cell, a bad row
        (without ``repair``), a folder of mixed layouts. Argument and path errors are raised by the
        call itself; errors in the data as the chunks are read.
    """
    if not (isinstance(chunk_rows, numbers.Integral) and not isinstance(chunk_rows, bool) and chunk_rows >= 1):
        raise DataError("chunk_rows must be a positive integer", value=chunk_rows)
    if not (isinstance(tick, (int, float)) and math.isfinite(tick) and tick > 0):
        raise DataError("tick must be a positive number of index points", value=tick)
    if tz is not None:
        check_zone(tz)
    files = trade_files(paths, fmt)
    ctx = ReadContext(tz=tz, repair=repair, repairs=repairs if repairs is not None else Repairs(),
                      chunk_rows=chunk_rows, notes=notes if notes is not None else [])
    return prefetch(_stream(files, fmt, tick, ctx))


def _stream(files: list[tuple[Path, str]], fmt: str, tick: float, ctx: ReadContext) -> Iterator[Trades]:
    for path, chosen in files:
        verb = "detected" if fmt == "auto" else "read as"
        ctx.notes.append(f"{path.name}: {verb} layout {chosen}")
        yield from _one_file(path, chosen, tick, ctx)


def _one_file(path: Path, layout: str, tick: float, ctx: ReadContext) -> Iterator[Trades]:
    """Validated chunks of one file; a note with the trades read when the file is done."""
    check = TradeChecks(tick, ctx.repair, ctx.repairs)
    dropped_before = ctx.repairs.total
    kept = 0
    try:
        for raw in TRADE_READERS[layout](path, ctx):
            chunk = check(raw)
            if len(chunk):
                kept += len(chunk)
                yield chunk
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc})", file=str(path),
                        hint="check the path and its permissions") from None
    dropped = ctx.repairs.total - dropped_before
    if kept == 0 and dropped:
        raise DataError(f"no trades left: --repair dropped all {dropped:,} row(s)", file=str(path),
                        hint="check the file's layout (--trades-format), --tick and --tz")
    if kept == 0:
        raise DataError("no trades: the file holds no trade rows", file=str(path), hint="export some trades into it")
    ctx.notes.append(f"{path.name}: {kept:,} trade(s) read" + (f", {dropped:,} row(s) dropped by --repair"
                                                               if dropped else ""))


__all__ = ["TRADE_READERS", "iter_trades"]
