"""Sierra Chart "Write Bar and Study Data To File": ``Date, Time, Open, High, Low, Last, Volume, ...``.

Bar START, in the chart's time zone, which the file does not state: ``--tz`` is required.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from futures_vpoc.data.formats.csvread import header_names, pick_columns, read_csv
from futures_vpoc.data.formats.linemap import LineMap
from futures_vpoc.data.formats.rawbars import F64, OHLCV, RawBars, assemble
from futures_vpoc.data.formats.times import date_time_text, guess_time_format, localize, parse_times
from futures_vpoc.errors import DataError


def read_sierra(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """Sierra Chart "Write Bar and Study Data To File": ``Date, Time, Open, High, Low, Last, ...``.

    Comma + space separated, unpadded month/day (``2024-3-7, 18:00:00.000000``), bar START. The
    time zone is the chart's setting, which the file does not state: ``tz`` is required.
    """
    path = Path(path)
    lines = LineMap(path, 1)
    if tz is None:
        raise DataError("Sierra Chart files do not state their time zone", file=str(path),
                        hint="pass --tz with the chart's Time Zone setting, e.g. --tz America/New_York")
    header = header_names(path, ",")
    wanted = {"date": ("date",), "time": ("time",), "open": ("open",), "high": ("high",),
              "low": ("low",), "close": ("last", "close"), "volume": ("volume",)}
    cols = pick_columns(header, wanted, path, required=tuple(wanted))
    types = {cols["date"]: pa.string(), cols["time"]: pa.string()}
    types.update({cols[k]: F64 for k in OHLCV})
    table = read_csv(path, lines, delimiter=",", names=None, types=types)
    text = date_time_text(table, cols["date"], cols["time"])
    fmt = guess_time_format(text[0].as_py(), lines, 0, "Date") if len(text) else "%Y-%m-%d %H:%M:%S"
    wall = parse_times(text, fmt, lines, "Date")
    ts = localize(wall, tz, lines, "Time")
    return assemble(path, "sierra", ts, table, cols, lines, stamp or "start", tz)
