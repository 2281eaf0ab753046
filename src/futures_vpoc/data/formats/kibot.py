"""Kibot: no header, ``MM/DD/YYYY,HH:MM,open,high,low,close,volume``, America/New_York, bar START."""

from __future__ import annotations

from pathlib import Path

from futures_vpoc.data.formats.headerless import headerless_bars, read_headerless
from futures_vpoc.data.formats.rawbars import RawBars
from futures_vpoc.data.formats.times import date_time_text, parse_times


def read_kibot(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """Kibot: ``MM/DD/YYYY,HH:MM,open,high,low,close,volume``, US Eastern, bar START."""
    path = Path(path)
    table, lines = read_headerless(path, ",", ["date", "time"])
    text = date_time_text(table, "date", "time")
    wall = parse_times(text, "%m/%d/%Y %H:%M", lines, "date")
    return headerless_bars(path, "kibot", table, wall, lines, tz or "America/New_York", stamp or "start")
