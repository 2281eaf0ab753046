"""The trades contract (DESIGN.md section 2, "Trades"): one chunk of trade prints, and repair counts.

A reader yields :class:`Trades` chunks in file order; every later step (validation, sessions,
bars, exact profiles) takes chunks, so a year of ES prints (~500M) runs in bounded memory. Rows
keep their 0-based data-row (or DBN record) number and the file's :class:`LineMap`, so an error
found late still names the file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from futures_vpoc.data.formats.linemap import LineMap

TRADE_FORMATS = ("auto", "dbn", "tickdata", "ninjatrader", "generic")
"""Accepted values of ``--trades-format``: ``generic`` is any CSV or Parquet with named columns."""

BUY, SELL, UNKNOWN = 1, -1, 0
"""Aggressor side codes: the buyer lifted the offer, the seller hit the bid, not known."""

DEFAULT_CHUNK_ROWS = 1 << 22
"""Rows per chunk (4,194,304): about 130 MB of arrays per chunk."""


@dataclass
class Trades:
    """A chunk of trade prints of one file, in file order.

    Attributes
    ----------
    path : pathlib.Path
        The file the rows come from.
    ts : numpy.ndarray of int64, shape (n,)
        Trade time, ns since the epoch, UTC; non-decreasing within a file (validated).
    price : numpy.ndarray of float64, shape (n,)
        Index points, on the tick grid (validated).
    size : numpy.ndarray of float64, shape (n,)
        Contracts, > 0 (validated).
    side : numpy.ndarray of int8, shape (n,)
        :data:`BUY` (+1, buyer aggressor), :data:`SELL` (-1) or :data:`UNKNOWN` (0).
    contract : numpy.ndarray of int32, shape (n,)
        Index into :attr:`names` per row.
    names : list of str
        Contract of each code, e.g. ``["ESH4"]``; a chunk may name a contract no row uses.
    row : numpy.ndarray of int64, shape (n,)
        0-based data-row (text) or record (DBN, Parquet) number in :attr:`path`.
    lines : LineMap
        Row -> line, for messages (:func:`futures_vpoc.data.formats.linemap.fail`).
    side_known : bool
        False when the file carries no side at all (every row ``UNKNOWN``).
    """

    path: Path
    ts: np.ndarray
    price: np.ndarray
    size: np.ndarray
    side: np.ndarray
    contract: np.ndarray
    names: list[str]
    row: np.ndarray
    lines: LineMap
    side_known: bool = True

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, keep: np.ndarray) -> "Trades":
        """The rows selected by ``keep`` (bool mask or positions), same file, names and lines."""
        return Trades(self.path, self.ts[keep], self.price[keep], self.size[keep], self.side[keep],
                      self.contract[keep], self.names, self.row[keep], self.lines, self.side_known)


@dataclass
class Repairs:
    """What ``--repair`` dropped, by kind, with the first place each kind was seen.

    Attributes
    ----------
    counts : dict of str to int
        Rows dropped per kind (e.g. ``"price off the 0.25 tick grid"``).
    first : dict of str to str
        ``file:line`` (or ``file: row N``) of the first dropped row of each kind.
    """

    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, n: int, where: str) -> None:
        """Count ``n`` dropped rows of ``kind``; ``where`` locates the first of them."""
        if n <= 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + int(n)
        self.first.setdefault(kind, where)

    @property
    def total(self) -> int:
        """Rows dropped in all."""
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """One human line per kind: ``dropped N row(s): KIND (first at WHERE)``."""
        return [f"dropped {n:,} row(s): {k} (first at {self.first[k]})" for k, n in self.counts.items()]


def where(lines: LineMap, row: int) -> str:
    """``file:line`` of data row ``row``, or ``file: row N`` (1-based) for files without lines."""
    line = lines.line(row)
    return f"{lines.name(row)}:{line}" if line is not None else f"{lines.name(row)}: row {int(row) + 1}"


__all__ = ["BUY", "DEFAULT_CHUNK_ROWS", "Repairs", "SELL", "TRADE_FORMATS", "Trades", "UNKNOWN", "where"]
