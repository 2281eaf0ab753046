"""What the header-less vendor layouts (NinjaTrader, Kibot, FirstRate) share.

Their columns are fixed: the time (one column, or a date and a time column) then open, high, low,
close and volume; the contract comes from the file name. A zone or stamp convention that neither
the format nor the user fixes is told from the file (:mod:`futures_vpoc.data.clock`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from futures_vpoc.data.formats.csvread import read_csv
from futures_vpoc.data.formats.linemap import LineMap
from futures_vpoc.data.formats.rawbars import F64, OHLCV, RawBars, assemble
from futures_vpoc.data.formats.times import place_wall_clock


def read_headerless(path: Path, delimiter: str, time_columns: list[str],
                    time_format: str | None = None) -> tuple[pa.Table, LineMap]:
    """Read a header-less file whose columns are ``time_columns`` then open/high/low/close/volume.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    delimiter : str
        Field separator.
    time_columns : list of str
        Names given to the leading time column(s), e.g. ``["time"]`` or ``["date", "time"]``.
    time_format : str, optional
        strptime format: pyarrow parses the time column into timestamps while reading. None
        reads the time column(s) as text.

    Returns
    -------
    (pyarrow.Table, LineMap)
        The typed columns, and the row -> line mapping (no header line).
    """
    lines = LineMap(path, 0)
    time_type = pa.timestamp("ns") if time_format else pa.string()
    types = {**{c: time_type for c in time_columns}, **{c: F64 for c in OHLCV}}
    table = read_csv(path, lines, delimiter=delimiter, names=[*time_columns, *OHLCV], types=types,
                     time_format=time_format)
    return table, lines


def headerless_bars(path: Path, fmt: str, table: pa.Table, wall: np.ndarray, lines: LineMap,
                    zone: str | None, stamp: str | None, *, prior_zone: str | None = None,
                    layout: str = "") -> RawBars:
    """Localise wall-clock stamps ``wall`` (ns) and assemble :class:`RawBars`.

    ``zone``/``stamp`` None (or ``stamp="auto"``): told from the file
    (:func:`~futures_vpoc.data.formats.times.place_wall_clock`; ``prior_zone`` is the zone the format
    documents); ``layout`` goes into the note.
    """
    ts, zone, stamp, evidence = place_wall_clock(wall, lines, "time", tz=zone, stamp=stamp,
                                                 prior_zone=prior_zone)
    raw = assemble(path, fmt, ts, table, dict(zip(OHLCV, OHLCV)), lines, stamp, zone)
    raw.layout, raw.evidence = layout, evidence
    return raw
