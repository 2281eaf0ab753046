"""NinjaTrader 8 export: no header, ``yyyyMMdd HHmmss;open;high;low;close;volume``, UTC, bar END."""

from __future__ import annotations

from pathlib import Path

from futures_vpoc.data.formats.headerless import headerless_bars, read_headerless
from futures_vpoc.data.formats.rawbars import RawBars
from futures_vpoc.data.formats.times import checked_times


def read_ninjatrader(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """NinjaTrader 8 export: ``yyyyMMdd HHmmss;open;high;low;close;volume``, UTC, bar END.

    The contract comes from the file name (``ES 03-25.Last.txt`` -> ``ESH5``).
    """
    path = Path(path)
    table, lines = read_headerless(path, ";", ["time"], "%Y%m%d %H%M%S")
    wall = checked_times(table, "time", lines)
    return headerless_bars(path, "ninjatrader", table, wall, lines, tz or "UTC", stamp or "end")
