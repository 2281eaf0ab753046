"""How a validation error names what it found: the row's file and line, the stamp and the value.

:class:`Sources` maps a bar back to its file and 1-based line (header counted) and picks the first
offending row by (file, line); :func:`_ts_text` and :func:`_num` write a stamp and a price for a
message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.data.formats import LineMap, fail
from futures_vpoc.data.validate.bars import Bars
from futures_vpoc.errors import DataError

_HINT_REPAIR = "or pass --repair to fix it"


def _ts_text(ns: int) -> str:
    return str(pd.Timestamp(int(ns), unit="ns", tz="UTC"))


def _num(x: float) -> float | str:
    """A price for a message: the plain float (``1.25``), or ``'nan'``/``'inf'``."""
    x = float(x)
    return x if np.isfinite(x) else str(x)


@dataclass
class Sources:
    """The files behind :class:`Bars`, to name a row's file and line in an error."""

    lines: list[LineMap]

    def first(self, bars: Bars, idx: np.ndarray) -> int:
        """The index in ``idx`` whose row comes first by (file, line)."""
        idx = np.asarray(idx)
        return int(idx[np.lexsort((bars.row[idx], bars.file[idx]))[0]])

    def error(self, bars: Bars, i: int, problem: str, **kw) -> DataError:
        return fail(problem, self.lines[int(bars.file[i])], int(bars.row[i]), **kw)

    def where(self, bars: Bars, i: int) -> str:
        lm = self.lines[int(bars.file[i])]
        row = int(bars.row[i])
        line = lm.line(row)
        return f"{lm.name(row)}:{line}" if line is not None else f"{lm.name(row)} row {row + 1}"


__all__ = ["Sources"]
