"""FirstRate Data: ``yyyy-MM-dd HH:mm:ss,open,high,low,close,volume``, US Eastern by their docs.

Without a header line (the classic download) or with one (``timestamp,open,high,low,close,volume``).
The zone FirstRate documents, America/New_York, is kept unless the file's gaps clearly put the
Globex closures at other local hours; the bar-stamp convention is not documented, so it is told
from the file (:mod:`futures_vpoc.data.clock`). ``--tz``/``--stamp`` override both.
"""

from __future__ import annotations

import re
from pathlib import Path

from futures_vpoc.data.formats.csvread import first_lines
from futures_vpoc.data.formats.generic import DATED_ROW, read_table_bars
from futures_vpoc.data.formats.headerless import headerless_bars, read_headerless
from futures_vpoc.data.formats.rawbars import RawBars
from futures_vpoc.data.formats.times import checked_times

FIRSTRATE_ZONE = "America/New_York"
"""The zone FirstRate documents for its futures files."""


def read_firstrate(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """FirstRate Data: ``yyyy-MM-dd HH:mm:ss,open,high,low,close,volume``, with or without a header.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    tz : str, optional
        Zone of the stamps; default: America/New_York unless the file clearly says otherwise.
    stamp : {"start", "end", "auto"}, optional
        Bar-stamp convention; default: told from the file.

    Returns
    -------
    RawBars
        With the zone and convention used, and how they were told (``evidence``).
    """
    path = Path(path)
    first = first_lines(path, 2)
    if first and not DATED_ROW.match(first[0]):  # a header line
        return read_table_bars(path, tz=tz, stamp=stamp, fmt="firstrate", prior_zone=FIRSTRATE_ZONE)
    sample = first[0] if first else ""
    fmt = "%Y-%m-%d %H:%M:%S" if re.match(r"^\S+ \d{1,2}:\d{2}:\d{2}", sample) else "%Y-%m-%d %H:%M"
    table, lines = read_headerless(path, ",", ["time"], fmt)
    wall = checked_times(table, "time", lines)
    return headerless_bars(path, "firstrate", table, wall, lines, tz, stamp,
                           prior_zone=FIRSTRATE_ZONE, layout="no header")
