"""Which trade files to read, and in which layout: told from the content, not the name.

* DBN: the ``DBN`` magic (zstd-compressed or not), or a ``.dbn``/``.dbn.zst`` name (a damaged file
  is then reported by the DBN reader);
* Parquet: the ``PAR1`` magic -> ``generic``;
* text, from the first non-empty line: ``yyyyMMdd HHmmss[ fffffff];`` -> ``ninjatrader``;
  ``MM/DD/YYYY,HH:MM:SS`` -> ``tickdata``; a ``Date,Time,Price,Volume`` header over
  ``MM/DD/YYYY`` dates -> ``tickdata``; any other header naming a time, a price and a size ->
  ``generic``.

A folder is read as one market: its files (hidden ones ignored), sorted by name, must share one
layout.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from futures_vpoc.data.formats.csvread import likely_delimiter
from futures_vpoc.data.formats.dbn import is_dbn
from futures_vpoc.data.trades.chunk import TRADE_FORMATS
from futures_vpoc.data.trades.formats.generic import PRICE_NAMES, SIZE_NAMES, STAMP_NAMES, is_parquet_file
from futures_vpoc.data.trades.formats.text import NINJATRADER_TICK, TICKDATA_ROW, nonempty_lines
from futures_vpoc.errors import DataError

_US_DATE = re.compile(r'^\s*"?\d{1,2}/\d{1,2}/\d{4}"?\s*$')


def _fields(line: str) -> list[str]:
    return [f.strip().strip('"').strip().lower() for f in line.split(likely_delimiter(line))]


def detect_trade_format(path: str | Path) -> str:
    """Name the layout of a trade file from its content (see the module text).

    Returns
    -------
    str
        One of :data:`~futures_vpoc.data.trades.chunk.TRADE_FORMATS` other than ``"auto"``.

    Raises
    ------
    DataError
        An empty file, or a first line of no known layout (quoted, with the supported formats).
    """
    path = Path(path)
    if is_dbn(path) or path.name.lower().endswith((".dbn", ".dbn.zst")):
        return "dbn"
    if is_parquet_file(path):
        return "generic"
    first = nonempty_lines(path, 2)
    line = first[0].lstrip("\ufeff")
    if NINJATRADER_TICK.match(line):
        return "ninjatrader"
    if TICKDATA_ROW.match(line):
        return "tickdata"
    fields = _fields(line)
    has_price = any(f in PRICE_NAMES for f in fields)
    has_size = any(f in SIZE_NAMES for f in fields)
    if fields[:2] == ["date", "time"] and has_price and has_size and len(first) > 1:
        second = first[1].split(likely_delimiter(line))[0]
        if _US_DATE.match(second):
            return "tickdata"
    has_time = any(f in STAMP_NAMES or f == "date" for f in fields)
    if has_time and has_price and has_size:
        return "generic"
    raise DataError(f"unknown trade file layout; first line {line[:120]!r}", file=str(path), line=1,
                    hint=f"supported: {', '.join(TRADE_FORMATS[1:])} (DBN trades/tbbo/mbo, TickData "
                    "Date,Time,Price,Volume, NinjaTrader tick export, or a CSV/Parquet with columns "
                    "timestamp,price,size[,side,contract]); pass --trades-format to choose one")


def trade_files(paths: str | os.PathLike | Sequence[str | os.PathLike], fmt: str = "auto") -> list[tuple[Path, str]]:
    """The files to read, in order, each with its layout.

    Parameters
    ----------
    paths : path or sequence of paths
        Files and folders; a folder contributes its files (hidden ones ignored) sorted by name.
    fmt : str
        A :data:`TRADE_FORMATS` name; ``"auto"`` detects each file.

    Returns
    -------
    list of (pathlib.Path, str)

    Raises
    ------
    DataError
        A path that does not exist, an empty folder, a folder of mixed layouts, an unknown format,
        no path at all.
    """
    if fmt not in TRADE_FORMATS:
        raise DataError("unknown trades format", value=fmt, hint=f"choose one of {', '.join(TRADE_FORMATS)}")
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise DataError("no trade file given", hint="pass a trade file, a folder of them, or a list")
    out: list[tuple[Path, str]] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out += _folder(path, fmt)
        elif path.is_file():
            out.append((path, detect_trade_format(path) if fmt == "auto" else fmt))
        else:
            raise DataError("file or folder not found", file=str(path), hint="check the --trades path")
    return out


def _folder(folder: Path, fmt: str) -> list[tuple[Path, str]]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError("no trade files in the folder", file=str(folder),
                        hint="put DBN, CSV, TXT or Parquet trade files in it")
    if fmt != "auto":
        return [(p, fmt) for p in files]
    found = [(p, detect_trade_format(p)) for p in files]
    layouts = {}
    for p, f in found:
        layouts.setdefault(f, p)
    if len(layouts) > 1:
        (fa, pa_), (fb, pb) = list(layouts.items())[:2]
        raise DataError(f"mixed trade file layouts in one folder: {pa_.name} is {fa}, {pb.name} is {fb}",
                        file=str(folder), hint="a folder is read as one market: keep one layout in it, "
                        "or pass --trades-format to read every file in one layout")
    return found


__all__ = ["detect_trade_format", "trade_files"]
