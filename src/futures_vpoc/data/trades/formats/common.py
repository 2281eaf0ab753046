"""What the trade readers share: the read settings, numbers and side codes from text, contracts.

Side codes (case-insensitive, surrounding spaces ignored): ``B``, ``BUY``, ``+1``, ``1`` -> BUY
(+1, the buyer lifted the offer); ``A``, ``S``, ``SELL``, ``-1`` -> SELL (-1; ``A`` = the
aggressor hit the bid, i.e. the ask side traded, as in Databento); ``N``, ``0`` and an empty or
null cell -> UNKNOWN (0). Any other text is refused (or dropped with ``--repair``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from futures_vpoc.data.contracts import contract_from_filename
from futures_vpoc.data.formats.rawbars import normalise_symbol
from futures_vpoc.data.formats.csvread import unparseable_numbers
from futures_vpoc.data.formats.linemap import LineMap, fail
from futures_vpoc.data.trades.chunk import BUY, SELL, UNKNOWN, Repairs, Trades
from futures_vpoc.data.trades.validate import KIND_UNKNOWN_SIDE, reject

SIDE_TEXT = {"B": BUY, "BUY": BUY, "+1": BUY, "1": BUY, "A": SELL, "S": SELL, "SELL": SELL, "-1": SELL,
             "N": UNKNOWN, "0": UNKNOWN, "": UNKNOWN}
"""Side text (upper case, trimmed) -> side code."""
_SIDE_KEYS = pa.array(list(SIDE_TEXT))
_SIDE_VALUES = np.asarray(list(SIDE_TEXT.values()), dtype=np.int8)
SIDE_HINT = ("write the aggressor side as B/BUY/+1/1, A/S/SELL/-1 or N/0/empty, fix or remove the row, "
             "or pass --repair to drop such rows")
BAD_SIDE = np.int8(99)
"""Side-code placeholder of a cell that is not a side code (never left in a yielded chunk)."""


@dataclass
class ReadContext:
    """Settings of one :func:`~futures_vpoc.data.trades.read.iter_trades` call, seen by every reader.

    Attributes
    ----------
    tz : str or None
        ``--tz``: the zone of wall-clock stamps (each format has its default).
    repair : bool
        Drop rows with unknown side codes instead of refusing the file.
    repairs : Repairs or None
        Receives what was dropped.
    chunk_rows : int
        Most rows per yielded chunk.
    notes : list of str
        Human notes (zone used, records skipped, contracts named).
    """

    tz: str | None
    repair: bool
    repairs: Repairs | None
    chunk_rows: int
    notes: list[str] = field(default_factory=list)


class FileContracts:
    """Contract codes of one file, stable across its chunks.

    ``names`` grows as new contracts appear; each chunk gets a copy of the list so far.
    """

    def __init__(self, names: list[str] | None = None):
        self.names: list[str] = list(names or [])
        self._code = {n: i for i, n in enumerate(self.names)}

    def codes_of(self, symbols: list[str]) -> np.ndarray:
        """int32 code of each symbol (new ones are appended to :attr:`names`)."""
        out = np.empty(len(symbols), dtype=np.int32)
        for i, s in enumerate(symbols):
            if s not in self._code:
                self._code[s] = len(self.names)
                self.names.append(s)
            out[i] = self._code[s]
        return out


def file_contract(path: Path, notes: list[str]) -> str:
    """The contract named by the file name, else ``"ES"`` with a note."""
    name = contract_from_filename(path.name)
    if name is None:
        notes.append(f"{path.name}: no contract column and none in the file name; trades labelled ES")
        return "ES"
    return name


def contract_codes(values: pa.Array, contracts: FileContracts, lines: LineMap, rows: np.ndarray,
                   column: str) -> np.ndarray:
    """Per-row contract codes (int32, shape (n,)) of a symbol column; an empty cell is an error."""
    enc = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
    if enc.null_count:
        i = int(np.flatnonzero(pc.is_null(enc).to_numpy(zero_copy_only=False))[0])
        raise fail("missing contract", lines, int(rows[i]), column=column, hint="fill the contract column")
    symbols = [normalise_symbol(str(s)) for s in enc.dictionary.to_pylist()]
    if "" in symbols:
        empty = pc.equal(pc.utf8_trim_whitespace(pc.cast(enc, pa.string())), "")
        i = int(np.flatnonzero(empty.to_numpy(zero_copy_only=False))[0])
        raise fail("missing contract", lines, int(rows[i]), column=column, hint="fill the contract column")
    return contracts.codes_of(symbols)[enc.indices.to_numpy(zero_copy_only=False)]


def side_codes(values: pa.Array) -> np.ndarray:
    """Side codes (int8, shape (n,)) of a side column; :data:`BAD_SIDE` where it is no side code.

    Integer columns must hold -1, 0 or 1; text columns the codes of :data:`SIDE_TEXT`; null = UNKNOWN.
    """
    typ = values.type
    if pa.types.is_dictionary(typ):
        mapped = side_codes(values.dictionary)
        idx = values.indices.to_numpy(zero_copy_only=False)
        out = mapped[idx] if len(mapped) else np.zeros(len(values), dtype=np.int8)
        if values.null_count:
            out = np.where(pc.is_null(values).to_numpy(zero_copy_only=False), np.int8(UNKNOWN), out)
        return out
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        raw = (pc.fill_null(values, 0) if values.null_count else values).to_numpy(zero_copy_only=False)
        if pa.types.is_integer(typ) and len(raw) and raw.min() >= -1 and raw.max() <= 1:
            return raw.astype(np.int8, copy=False)
        ok = (raw == -1) | (raw == 0) | (raw == 1)
        return np.where(ok, raw, BAD_SIDE).astype(np.int8)
    text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.cast(values, pa.string())))
    pos = pc.index_in(pc.fill_null(text, ""), value_set=_SIDE_KEYS)
    known = pos.is_valid().to_numpy(zero_copy_only=False)
    idx = pc.fill_null(pos, 0).to_numpy(zero_copy_only=False)
    return np.where(known, _SIDE_VALUES[idx], BAD_SIDE).astype(np.int8)


def refuse_bad_sides(chunk: Trades, raw: pa.Array, ctx: ReadContext, column: str) -> Trades:
    """Refuse (or with ``--repair`` drop and count) rows whose side is :data:`BAD_SIDE`."""
    bad = chunk.side == BAD_SIDE
    if not bad.any():
        return chunk
    value = raw[int(np.argmax(bad))].as_py()
    return reject(chunk, bad, KIND_UNKNOWN_SIDE, "unknown side code", repair=ctx.repair, repairs=ctx.repairs,
                  column=column, value=value, hint=SIDE_HINT)


def numbers(values: pa.Array, lines: LineMap, rows: np.ndarray, column: str) -> np.ndarray:
    """float64 (shape (n,)) of a numeric or text column; ``nan``/``inf`` text reads as NaN/inf.

    Raises
    ------
    DataError
        For the first empty cell (``missing <column>``) or text that is not a number.
    """
    arr = values
    if pa.types.is_decimal(arr.type):
        arr = pc.cast(arr, pa.float64(), safe=False)
    elif not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        try:
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arr = _text_numbers(values, lines, rows, column)
    if arr.null_count:
        i = int(np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))[0])
        raise fail(f"missing {column.strip().lower()}", lines, int(rows[i]), column=column.strip(),
                   more=arr.null_count - 1, hint="fill or remove the row")
    return arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def _text_numbers(values: pa.Array, lines: LineMap, rows: np.ndarray, column: str) -> pa.Array:
    """Cast trimmed text to float64, or raise naming the first cell that is empty or not a number."""
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    try:
        return pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    empty = np.flatnonzero(pc.fill_null(pc.equal(text, ""), False).to_numpy(zero_copy_only=False))
    bad = np.union1d(empty, unparseable_numbers(text))
    i = int(bad[0])
    what = f"missing {column.strip().lower()}" if i in set(empty.tolist()) else "not a number"
    raise fail(what, lines, int(rows[i]), column=column.strip(), value=text[i].as_py(),
               more=len(bad) - 1, hint="fix or remove the row")


def make_chunk(path: Path, ts: np.ndarray, price: np.ndarray, size: np.ndarray, side: np.ndarray | None,
               contract: np.ndarray | None, names: list[str], rows: np.ndarray, lines: LineMap) -> Trades:
    """A :class:`Trades` chunk; ``side`` None = the file has no side (all UNKNOWN, ``side_known`` False);
    ``contract`` None = every row is ``names[0]``."""
    n = len(ts)
    known = side is not None
    side = side if known else np.zeros(n, dtype=np.int8)
    contract = contract if contract is not None else np.zeros(n, dtype=np.int32)
    return Trades(path, ts, price, size, side, contract, list(names), rows, lines, side_known=known)


__all__ = ["BAD_SIDE", "SIDE_TEXT", "FileContracts", "ReadContext", "contract_codes", "file_contract",
           "make_chunk", "numbers", "refuse_bad_sides", "side_codes"]
