"""Databento DBN files (``.dbn``, zstd-compressed ``.dbn.zst``): OHLCV schemas, UTC, bar START.

Layout (Databento DBN encoding; ``shared/realdata/SOURCES.md`` section 4): ``DBN`` + version byte +
uint32 metadata length + metadata (decoded by :class:`databento_dbn.Metadata`, which upgrades DBN
versions 1 and 2), then fixed-size little-endian records. An OHLCV record is a 16-byte header
(``length`` in 4-byte words, ``rtype``, ``publisher_id``, ``instrument_id``, ``ts_event`` = bar start,
ns UTC) followed by ``open high low close`` (int64, fixed point, 1 unit = 1e-9 index points) and
``volume`` (uint64); the layout is the same in DBN versions 1-3. Records are read with one NumPy
view instead of one Python object each (a year of minute bars decodes in milliseconds).

The contract of a bar is its ``instrument_id``, named through the metadata's symbology mappings
(requested symbol -> instrument id per date interval): a raw symbol (``ESH4``) names it; a
continuous symbol (``ES.c.0``) or none leaves it to the calendar
(:mod:`~futures_vpoc.data.formats.instruments`). A DBN "file" has no lines: errors name the file
and the 1-based record.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyarrow as pa

from futures_vpoc.data.contracts import contract_from_filename
from futures_vpoc.data.formats.instruments import keep_products, name_instruments
from futures_vpoc.data.formats.linemap import LineMap
from futures_vpoc.data.formats.rawbars import RawBars, assemble
from futures_vpoc.errors import DataError

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
DBN_MAGIC = b"DBN"
OHLCV_SCHEMAS = ("ohlcv-1s", "ohlcv-1m", "ohlcv-1h", "ohlcv-1d", "ohlcv-eod")
_OHLCV_RTYPES = (0x11, 0x20, 0x21, 0x22, 0x23, 0x24)
"""rtype of OHLCV records: the deprecated DBN v1 one, then 1s, 1m, 1h, 1d, eod."""
_UNDEF_PRICE = np.iinfo(np.int64).max
_UNITS_PER_POINT = 1e9
"""Fixed-point price units per index point (division keeps 5527.25 exact; multiplying by 1e-9 may not)."""
_OHLCV = np.dtype([("length", "u1"), ("rtype", "u1"), ("publisher_id", "<u2"), ("instrument_id", "<u4"),
                   ("ts_event", "<u8"), ("open", "<i8"), ("high", "<i8"), ("low", "<i8"), ("close", "<i8"),
                   ("volume", "<u8")])
_WHAT = {"trades": "trades", "mbo": "orders and trades", "mbp-1": "book updates", "mbp-10": "book updates",
         "tbbo": "trades with quotes", "bbo-1s": "quotes", "bbo-1m": "quotes", "cbbo-1s": "quotes",
         "cbbo-1m": "quotes", "tcbbo": "trades with quotes", "cmbp-1": "quotes",
         "definition": "instrument definitions", "statistics": "exchange statistics", "status": "trading status",
         "imbalance": "auction imbalances"}


def is_dbn(path: Path) -> bool:
    """True when the file starts like DBN (``DBN``), or is zstd whose first bytes are DBN."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head[:3] == DBN_MAGIC:
            return True
        if head != ZSTD_MAGIC:
            return False
        with pa.CompressedInputStream(pa.OSFile(str(path)), "zstd") as stream:
            return stream.read(3) == DBN_MAGIC
    except (OSError, pa.ArrowException):
        return False


def _corrupt(path: Path, why: str) -> DataError:
    return DataError(f"corrupt or truncated DBN file ({why})", file=str(path),
                     hint="download it again; DBN files are binary and must not be edited")


def _dbn_bytes(path: Path) -> bytes:
    """The file's DBN bytes, zstd-decompressed when compressed."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] == ZSTD_MAGIC:
        try:
            with pa.CompressedInputStream(pa.BufferReader(data), "zstd") as stream:
                data = stream.read()
        except (OSError, pa.ArrowException) as exc:
            raise _corrupt(path, f"zstd: {exc}") from None
    return data


def read_metadata(path: Path, data: bytes):
    """Decode the metadata block; return it and the offset of the first record."""
    import databento_dbn

    if len(data) < 8 or data[:3] != DBN_MAGIC:
        raise _corrupt(path, "no DBN header")
    size = 8 + struct.unpack_from("<I", data, 4)[0]
    if size > len(data):
        raise _corrupt(path, "metadata cut off")
    try:
        meta = databento_dbn.Metadata.decode(bytes(data[:size]))
    except Exception as exc:  # DBNError, or anything else the decoder raises on damaged bytes
        raise _corrupt(path, f"metadata: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return meta, size


def _records(path: Path, body: bytes) -> np.ndarray:
    """The OHLCV records of ``body`` as a structured array (other record types skipped)."""
    if not body:
        return np.zeros(0, dtype=_OHLCV)
    size = body[0] * 4
    if size >= _OHLCV.itemsize and len(body) % size == 0 and (np.frombuffer(body, np.uint8)[::size] == body[0]).all():
        offsets = np.arange(0, len(body), size)  # the common case: one record size throughout
    else:
        offsets, at = [], 0
        while at < len(body):  # mixed record types: walk the length bytes
            step = body[at] * 4
            if step == 0 or at + step > len(body):
                raise _corrupt(path, f"record {len(offsets) + 1} cut off at byte {at}")
            offsets.append(at)
            at += step
        offsets = np.asarray(offsets, dtype=np.int64)
    buf = np.frombuffer(body, np.uint8)
    rtype = buf[offsets + 1]
    ohlcv = offsets[np.isin(rtype, _OHLCV_RTYPES)]
    if len(ohlcv) and (buf[ohlcv] * 4 < _OHLCV.itemsize).any():
        raise _corrupt(path, "OHLCV record shorter than 56 bytes")
    if len(ohlcv) == len(offsets) and size >= _OHLCV.itemsize and len(offsets) * size == len(body):
        return np.ndarray(len(offsets), dtype=_OHLCV, buffer=body, strides=(size,)).copy()
    if not len(ohlcv):
        return np.zeros(0, dtype=_OHLCV)
    return np.concatenate([np.frombuffer(body, _OHLCV, count=1, offset=int(o)) for o in ohlcv])


def symbols_of(meta) -> dict[int, str]:
    """Instrument id -> requested symbol from the metadata mappings (a raw contract symbol wins)."""
    out: dict[int, str] = {}
    for symbol, intervals in (meta.mappings or {}).items():
        for iv in intervals:
            text = iv["symbol"] if isinstance(iv, dict) else getattr(iv, "symbol", "")
            if str(text).isdigit():
                iid = int(text)
                if iid not in out or "." in out[iid]:  # prefer ESH4 over ES.c.0
                    out[iid] = symbol
    return out


def read_dbn(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """Read a Databento DBN file of an OHLCV schema: UTC, bar START, prices in index points.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.dbn`` or ``.dbn.zst`` (any DBN version; compression detected from the content).
    tz : str, optional
        Ignored (DBN stamps are UTC), with a note.
    stamp : {"start", "end", "auto"}, optional
        Overrides the bar-start convention.

    Returns
    -------
    RawBars
        ``row`` = 0-based record number; contracts per instrument id; spread instruments and other
        products than ES/MES dropped with a note.

    Raises
    ------
    DataError
        A corrupt or truncated file, a schema that holds no bars (trades, mbo, ...), no bars.
    """
    path = Path(path)
    data = _dbn_bytes(path)
    meta, start = read_metadata(path, data)
    schema = str(meta.schema) if meta.schema is not None else "mixed"
    if schema not in OHLCV_SCHEMAS:
        what = _WHAT.get(schema, "records other than bars")
        raise DataError(f"DBN schema {schema} holds {what}, not bars", file=str(path),
                        hint="request an OHLCV schema (ohlcv-1m, -1s, -1h, -1d); bars from trades come "
                        "with a later command")
    rec = _records(path, data[start:])
    if len(rec) == 0:
        raise DataError(f"no bars: the DBN file holds metadata only ({schema}, 0 records)", file=str(path),
                        hint="request a date range in which the contract traded")
    notes: list[str] = [f"{path.name}: DBN {schema}, {len(rec)} record(s); fixed-point prices (1e-9 units) "
                        "scaled to index points"]
    if tz is not None:
        notes.append(f"{path.name}: Databento stamps are UTC; --tz ignored")
    rows = np.arange(len(rec), dtype=np.int64)
    ids = rec["instrument_id"].astype(np.int64)
    symbol_of = symbols_of(meta)
    spread = np.isin(ids, [i for i, s in symbol_of.items() if "-" in s])
    if spread.any():
        notes.append(f"{path.name}: dropped {int(spread.sum())} spread row(s)")
        rec, ids, rows = rec[~spread], ids[~spread], rows[~spread]
    ts = rec["ts_event"].astype(np.int64)
    lines = LineMap(path, 0, text=False)
    codes, names = name_instruments(path, ids, ts, symbol_of, notes, file_contract=contract_from_filename(path.name))
    keep, codes, names = keep_products(codes, names, path, notes)
    if keep is not None:
        rec, ts, rows = rec[keep], ts[keep], rows[keep]
    prices = {k: np.where(rec[k] == _UNDEF_PRICE, np.nan, rec[k] / _UNITS_PER_POINT)
              for k in ("open", "high", "low", "close")}
    table = pa.table(prices)
    volume = rec["volume"].astype(np.float64)
    return assemble(path, "dbn", ts, table, {**{k: k for k in prices}, "volume": volume}, lines,
                    stamp or "start", "UTC", notes, contracts=(codes, names), rows=rows)


__all__ = ["OHLCV_SCHEMAS", "is_dbn", "read_dbn", "read_metadata", "symbols_of"]
