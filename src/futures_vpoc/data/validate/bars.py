"""The bars under validation: :class:`Bars`, column arrays of the bars of every file together."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass
class Bars:
    """Column arrays of the bars of every file, sorted by (contract, bar start).

    Attributes
    ----------
    ts : numpy.ndarray of int64, shape (n,)
        Bar START, ns since the epoch, UTC.
    open, high, low, close, volume : numpy.ndarray of float64, shape (n,)
        Finite; volume >= 0 (checked per file).
    contract : numpy.ndarray of int32, shape (n,)
        Code into the contract name list; contracts are contiguous and in chronological order.
    file : numpy.ndarray of int32, shape (n,)
        Index of the source file.
    row : numpy.ndarray of int64, shape (n,)
        0-based data row in that file (to name its line).
    """

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    contract: np.ndarray
    file: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, idx: np.ndarray) -> "Bars":
        """Rows ``idx`` (indices or boolean mask) of every column."""
        return Bars(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


__all__ = ["Bars"]
