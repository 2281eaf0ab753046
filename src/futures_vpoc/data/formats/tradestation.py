"""TradeStation / MultiCharts ASCII: ``"Date","Time","Open","High","Low","Close","Up","Down"``.

Exchange time (America/Chicago for ES), bar END; volume = Up + Down.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from futures_vpoc.data.formats.csvread import header_names, pick_columns, read_csv
from futures_vpoc.data.formats.linemap import LineMap
from futures_vpoc.data.formats.rawbars import F64, PRICE_FIELDS, RawBars, assemble, floats
from futures_vpoc.data.formats.times import date_time_text, localize, parse_times
from futures_vpoc.errors import DataError


def read_tradestation(path: str | Path, tz: str | None = None, stamp: str | None = None) -> RawBars:
    """TradeStation / MultiCharts ASCII: ``"Date","Time","Open","High","Low","Close","Up","Down"``.

    Dates MM/DD/YYYY, times HHMM or HH:MM, bar END, exchange time (America/Chicago for ES).
    Volume = Up + Down (a ``Volume``/``Vol`` column is used when there is no Up/Down).
    """
    path = Path(path)
    lines = LineMap(path, 1)
    header = header_names(path, ",")
    wanted = {"date": ("date",), "time": ("time",), "open": ("open",), "high": ("high",),
              "low": ("low",), "close": ("close",), "up": ("up",), "down": ("down",),
              "volume": ("volume", "vol")}
    cols = pick_columns(header, wanted, path, required=("date", "time", "open", "high", "low", "close"))
    if not ({"up", "down"} <= set(cols) or "volume" in cols):
        raise DataError("missing column(s) Up, Down", file=str(path), line=1,
                        hint="TradeStation volume is Up + Down; export with volume")
    types = {cols["date"]: pa.string(), cols["time"]: pa.string()}
    vol_cols = [cols["up"], cols["down"]] if {"up", "down"} <= set(cols) else [cols["volume"]]
    types.update({cols[k]: F64 for k in PRICE_FIELDS})
    types.update({c: F64 for c in vol_cols})
    table = read_csv(path, lines, delimiter=",", names=None, types=types)
    text = date_time_text(table, cols["date"], cols["time"], pad_hhmm=True)
    sample = text[0].as_py() if len(text) else ""
    fmt = "%m/%d/%Y %H:%M" if ":" in sample.split(" ")[-1] else "%m/%d/%Y %H%M"
    wall = parse_times(text, fmt, lines, "Time")
    zone = tz or "America/Chicago"
    ts = localize(wall, zone, lines, "Time")
    volume = sum(floats(table, c) for c in vol_cols)
    notes: list[str] = []
    if tz is None:
        notes.append(f"{path.name}: TradeStation times read as exchange time (America/Chicago); "
                     "pass --tz if the export used local time")
    return assemble(path, "tradestation", ts, table, {**cols, "volume": volume}, lines,
                    stamp or "end", zone, notes)
