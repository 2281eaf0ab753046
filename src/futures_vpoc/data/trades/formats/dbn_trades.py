"""Trades from Databento DBN files (``.dbn``, ``.dbn.zst``, DBN versions 1-3): schemas ``trades``,
``tbbo`` and ``mbo``.

Record layouts (Databento DBN encoding, unchanged from version 1 to 3; all little-endian): a
16-byte header (``length`` in 4-byte words, ``rtype``, ``publisher_id``, ``instrument_id``,
``ts_event`` ns UTC), then

* ``trades`` (rtype 0x00, 48 bytes): ``price`` int64 (1e-9 index points), ``size`` uint32,
  ``action``, ``side``, ``flags``, ``depth``, ``ts_recv``, ``ts_in_delta``, ``sequence``;
* ``tbbo`` (rtype 0x01, 80 bytes): the same, then the best bid and offer before the trade;
* ``mbo`` (rtype 0xA0, 56 bytes): ``order_id`` uint64, ``price``, ``size``, ``flags``, ``channel_id``,
  ``action``, ``side``, ``ts_recv``, ``ts_in_delta``, ``sequence``.

A trade is a record with ``action`` ``T``. In ``trades`` and ``tbbo`` every record is one (anything
else is refused). In ``mbo`` the ``F`` (fill) records are the resting orders' side of the same
trades and are not counted again; ``A``/``C``/``M``/``R`` records (book adds, cancels, modifies,
clears) and the book snapshot at the start (flag bit ``F_SNAPSHOT``) are skipped. ``side``: ``B``
buyer aggressor (BUY), ``A`` seller aggressor (SELL), ``N`` not known (UNKNOWN). The trade time is
``ts_event`` (the exchange's match time).

Records are read with NumPy structured views (one view over the records, never one Python object
per record). The whole file is decompressed into memory (a DBN file is one zstd frame: about 56
bytes per MBO record, 48 per trade); trades are converted ``chunk_rows`` at a time. Contracts come
from the instrument ids and the metadata's symbology (:func:`~futures_vpoc.data.formats.instruments.
name_instruments`); spreads and products other than ES/MES are dropped with a note.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from futures_vpoc.data.contracts import contract_from_filename
from futures_vpoc.data.formats.dbn import _dbn_bytes, read_metadata, symbols_of
from futures_vpoc.data.formats.instruments import keep_products, name_instruments
from futures_vpoc.data.formats.linemap import LineMap, fail
from futures_vpoc.data.trades.chunk import BUY, SELL, UNKNOWN, Trades
from futures_vpoc.data.trades.formats.common import BAD_SIDE, ReadContext, make_chunk
from futures_vpoc.data.trades.validate import KIND_UNKNOWN_SIDE, reject
from futures_vpoc.errors import DataError

_HEADER = [("length", "u1"), ("rtype", "u1"), ("publisher_id", "<u2"), ("instrument_id", "<u4"),
           ("ts_event", "<u8")]
TRADE_RECORD = np.dtype(_HEADER + [("price", "<i8"), ("size", "<u4"), ("action", "S1"), ("side", "S1"),
                                   ("flags", "u1"), ("depth", "u1"), ("ts_recv", "<u8"), ("ts_in_delta", "<i4"),
                                   ("sequence", "<u4")])
"""``TradeMsg`` (schema trades, rtype 0x00): 48 bytes."""
MBP1_RECORD = np.dtype(TRADE_RECORD.descr + [("bid_px_00", "<i8"), ("ask_px_00", "<i8"), ("bid_sz_00", "<u4"),
                                             ("ask_sz_00", "<u4"), ("bid_ct_00", "<u4"), ("ask_ct_00", "<u4")])
"""``Mbp1Msg`` (schema tbbo, rtype 0x01): 80 bytes."""
MBO_RECORD = np.dtype(_HEADER + [("order_id", "<u8"), ("price", "<i8"), ("size", "<u4"), ("flags", "u1"),
                                 ("channel_id", "u1"), ("action", "S1"), ("side", "S1"), ("ts_recv", "<u8"),
                                 ("ts_in_delta", "<i4"), ("sequence", "<u4")])
"""``MboMsg`` (schema mbo, rtype 0xA0): 56 bytes."""
TRADE_SCHEMAS = {"trades": (0x00, TRADE_RECORD), "tbbo": (0x01, MBP1_RECORD), "mbo": (0xA0, MBO_RECORD)}
"""DBN schemas that hold trades: their record type and layout."""
F_SNAPSHOT = 1 << 5
"""``flags`` bit of a record that belongs to a book snapshot, not a live event."""
_UNDEF_PRICE = np.iinfo(np.int64).max
_UNITS_PER_POINT = 1e9
_SIDE_LUT = np.full(256, BAD_SIDE, dtype=np.int8)
_SIDE_LUT[[ord("B"), ord("A"), ord("N")]] = [BUY, SELL, UNKNOWN]


def _corrupt(path: Path, why: str) -> DataError:
    return DataError(f"corrupt or truncated DBN file ({why})", file=str(path),
                     hint="download it again; DBN files are binary and must not be edited")


def record_offsets(path: Path, buf: np.ndarray) -> np.ndarray:
    """Byte offset of every record in ``buf`` (the bytes after the metadata), int64 shape (n,).

    One record size throughout (the usual case) is checked on the length bytes alone; otherwise the
    length bytes are walked record by record.

    Raises
    ------
    DataError
        A record of length 0 or one cut off at the end of the file.
    """
    if not len(buf):
        return np.zeros(0, dtype=np.int64)
    size = int(buf[0]) * 4
    if size and len(buf) % size == 0 and (buf[::size] == buf[0]).all():
        return np.arange(0, len(buf), size, dtype=np.int64)
    offsets, at, raw = [], 0, memoryview(buf)
    while at < len(buf):
        step = int(raw[at]) * 4
        if step == 0 or at + step > len(buf):
            raise _corrupt(path, f"record {len(offsets) + 1} cut off at byte {at}")
        offsets.append(at)
        at += step
    return np.asarray(offsets, dtype=np.int64)


def typed_records(path: Path, buf: np.ndarray, offsets: np.ndarray, rtype: int,
                  layout: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The records of type ``rtype`` as a structured array, and their 0-based record numbers.

    A file of one record type and size is one strided view of the bytes (no copy); a file mixing
    record types (system or symbol-mapping messages between the data) is gathered into a contiguous
    array of the wanted records.

    Raises
    ------
    DataError
        When such a record is shorter than ``layout``.
    """
    kinds = buf[offsets + 1] if len(offsets) else np.zeros(0, dtype=np.uint8)
    want = kinds == rtype
    numbers = np.flatnonzero(want).astype(np.int64)
    at = offsets[numbers]
    if len(at) and (buf[at].astype(np.int64) * 4 < layout.itemsize).any():
        raise _corrupt(path, f"record of type 0x{rtype:02X} shorter than {layout.itemsize} bytes")
    step = int(offsets[1] - offsets[0]) if len(offsets) > 1 else layout.itemsize
    uniform = len(at) == len(offsets) and step >= layout.itemsize and \
        (len(offsets) < 2 or (offsets[-1] - offsets[0]) == step * (len(offsets) - 1))
    if uniform and len(at):
        view = np.ndarray(len(at), dtype=layout, buffer=buf, offset=int(at[0]), strides=(step,))
        return view, numbers
    gathered = buf[at[:, None] + np.arange(layout.itemsize)] if len(at) else np.zeros((0, layout.itemsize), np.uint8)
    return np.ascontiguousarray(gathered).view(layout).reshape(len(at)), numbers


def read_dbn_trades(path: Path, ctx: ReadContext) -> Iterator[Trades]:
    """Stream the trades of a DBN file of schema trades, tbbo or mbo (see the module text).

    Parameters
    ----------
    path : pathlib.Path
        ``.dbn`` or ``.dbn.zst`` (compression told from the content).
    ctx : ReadContext
        ``tz`` is ignored (DBN stamps are UTC, a note says so); ``chunk_rows`` bounds each chunk.

    Returns
    -------
    Iterator of Trades
        Unvalidated chunks; ``row`` = 0-based record number in the file (all record types counted),
        prices in index points (fixed-point / 1e9; an undefined price is NaN), sizes in contracts.

    Raises
    ------
    DataError
        A corrupt or truncated file; a schema that holds no trades (naming it and the ones that do);
        a trades/tbbo record that is not a trade; no trades; unknown side bytes (without ``repair``).
    """
    data = _dbn_bytes(path)
    meta, start = read_metadata(path, data)
    schema = str(meta.schema) if meta.schema is not None else "mixed"
    if schema not in TRADE_SCHEMAS:
        raise DataError(f"DBN schema {schema} holds no trades; trades come in schemas {', '.join(TRADE_SCHEMAS)}",
                        file=str(path), hint="request the trades (or tbbo, mbo) schema from Databento")
    rtype, layout = TRADE_SCHEMAS[schema]
    buf = np.frombuffer(data, dtype=np.uint8, offset=start)
    offsets = record_offsets(path, buf)
    rec, numbers = typed_records(path, buf, offsets, rtype, layout)
    lines = LineMap(path, 0, text=False)
    ctx.notes.append(f"{path.name}: DBN v{data[3]} {schema}, {len(offsets):,} record(s); fixed-point prices "
                     "(1e-9 units) scaled to index points; trade time = ts_event (UTC)")
    trade = _trade_records(path, schema, rec, numbers, lines, ctx)
    if not len(trade):
        raise DataError(f"no trades: the DBN file ({schema}) holds {len(offsets):,} record(s), none a trade",
                        file=str(path), hint="request a date range in which the contract traded")
    ids = rec["instrument_id"][trade].astype(np.int64)
    ts_all = rec["ts_event"][trade].astype(np.int64)
    if ctx.tz is not None:
        ctx.notes.append(f"{path.name}: Databento stamps are UTC; --tz ignored")
    trade, codes, names = _contracts(path, meta, trade, ids, ts_all, ctx)
    for s in range(0, len(trade), ctx.chunk_rows):
        idx = trade[s:s + ctx.chunk_rows]
        yield _chunk(path, rec[idx], numbers[idx], codes[s:s + ctx.chunk_rows], names, lines, ctx)


def _trade_records(path: Path, schema: str, rec: np.ndarray, numbers: np.ndarray, lines: LineMap,
                   ctx: ReadContext) -> np.ndarray:
    """Positions in ``rec`` of the trades (action ``T``; MBO snapshot records excluded)."""
    action = rec["action"]
    is_trade = action == b"T"
    if schema != "mbo":
        if not is_trade.all():
            i = int(np.argmin(is_trade))
            raise fail(f"{schema} record with action {action[i].decode(errors='replace')!r}, not a trade (T)",
                       lines, int(numbers[i]), column="action", more=int((~is_trade).sum()) - 1,
                       hint="the file is damaged or not a Databento trades/tbbo file")
        return np.arange(len(rec), dtype=np.int64)
    snapshot = (rec["flags"] & F_SNAPSHOT) != 0
    trades = np.flatnonzero(is_trade & ~snapshot).astype(np.int64)
    fills = int((action == b"F").sum())
    ctx.notes.append(f"{path.name}: MBO: {len(trades):,} trade (T) record(s) read; skipped {fills:,} fill (F) "
                     f"record(s) (the resting side of the same trades), {int(snapshot.sum()):,} snapshot record(s) "
                     f"and {len(rec) - len(trades) - fills:,} other book record(s)")
    return trades


def _contracts(path: Path, meta, trade: np.ndarray, ids: np.ndarray, ts: np.ndarray,
               ctx: ReadContext) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Drop spread and non-ES trades (with notes); contract code per kept trade and the names."""
    symbol_of = symbols_of(meta)
    spread = np.isin(ids, [i for i, s in symbol_of.items() if "-" in s])
    if spread.any():
        ctx.notes.append(f"{path.name}: dropped {int(spread.sum()):,} spread trade(s)")
        trade, ids, ts = trade[~spread], ids[~spread], ts[~spread]
        if not len(trade):
            raise DataError("no trades: every trade in the file is of a spread", file=str(path),
                            hint="request outright contracts (ESH4), not calendar spreads")
    codes, names = name_instruments(path, ids, ts, symbol_of, ctx.notes,
                                    file_contract=contract_from_filename(path.name))
    keep, codes, names = keep_products(codes, names, path, ctx.notes)
    if keep is not None:
        trade = trade[keep]
    return trade, codes, names


def _chunk(path: Path, r: np.ndarray, rows: np.ndarray, codes: np.ndarray, names: list[str], lines: LineMap,
           ctx: ReadContext) -> Trades:
    """One :class:`Trades` chunk from trade records ``r`` (a copy of the records, shape (n,))."""
    raw = r["price"]
    price = raw / _UNITS_PER_POINT
    undefined = raw == _UNDEF_PRICE
    if undefined.any():
        price[undefined] = np.nan
    side = _SIDE_LUT[r["side"].view(np.uint8)]
    chunk = make_chunk(path, r["ts_event"].astype(np.int64), price, r["size"].astype(np.float64), side,
                       codes.astype(np.int32, copy=False), names, rows.astype(np.int64, copy=False), lines)
    bad = side == BAD_SIDE
    if bad.any():
        value = r["side"][int(np.argmax(bad))].decode(errors="replace")
        chunk = reject(chunk, bad, KIND_UNKNOWN_SIDE, "unknown side code (DBN sides are A, B, N)", repair=ctx.repair,
                       repairs=ctx.repairs, column="side", value=value,
                       hint="the file is damaged; pass --repair to drop such records")
    return chunk


__all__ = ["F_SNAPSHOT", "MBO_RECORD", "MBP1_RECORD", "TRADE_RECORD", "TRADE_SCHEMAS", "read_dbn_trades",
           "record_offsets", "typed_records"]
