"""FirstRate Data: no header, ``yyyy-MM-dd HH:mm:ss,open,high,low,close,volume``, America/New_York.

The bar-stamp convention is not documented, so it is detected from the sessions.
"""

from __future__ import annotations

import re
from pathlib import Path

from futures_vpoc.data.formats.csvread import first_lines
from futures_vpoc.data.formats.headerless import headerless_bars, read_headerless
from futures_vpoc.data.formats.rawbars import RawBars
from futures_vpoc.data.formats.times import checked_times


def read_firstrate(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """FirstRate Data: ``yyyy-MM-dd HH:mm:ss,open,high,low,close,volume``, US Eastern.

    The stamp convention is not documented: unless ``stamp`` is given it is detected (``"auto"``).
    """
    path = Path(path)
    first = first_lines(path, 1)
    fmt = "%Y-%m-%d %H:%M:%S" if first and re.match(r"^\S+ \d{1,2}:\d{2}:\d{2}", first[0]) else "%Y-%m-%d %H:%M"
    table, lines = read_headerless(path, ",", ["time"], fmt)
    wall = checked_times(table, "time", lines)
    return headerless_bars(path, "firstrate", table, wall, lines, tz or "America/New_York", stamp or "auto")
