"""Where rows live in a bar file: data-row numbers to line numbers, and errors that point at them.

A reader numbers data rows from 0; a message names the 1-based line (header counted), or for
Parquet, which has no lines, the 1-based row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from futures_vpoc.errors import DataError


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

    def name(self, row: int | None = None) -> str:
        """What an error calls the file of data row ``row`` (the path; a zip names its entry too)."""
        return str(self.path)

    def line(self, row: int) -> int | None:
        """1-based line of data row ``row`` (header counted); None for Parquet."""
        if not self.text:
            return None
        return line_past_blanks(self.header_lines + int(row) + 1, self._blank_lines())


def line_past_blanks(base: int, blanks: np.ndarray) -> int:
    """1-based line of the data row that would be on line ``base`` if the file had no blank lines.

    ``blanks``: sorted 1-based numbers of the blank lines. Fixed point of
    ``line = base + (blank lines at or before line)``.
    """
    line = base
    while True:
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
    return DataError(problem, file=lines.name(row), line=line, column=column, value=value,
                     hint=hint, more=more)


def first_null(arr: pa.Array | pa.ChunkedArray) -> int:
    """Position of the first null cell of ``arr`` (which has at least one).

    Parameters
    ----------
    arr : pyarrow array or chunked array, shape (n,)
        A column with ``null_count > 0``.

    Returns
    -------
    int
        0-based index of the first null, i.e. its data-row number when ``arr`` is a whole column.
    """
    return int(np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))[0])
