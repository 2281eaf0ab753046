"""Naming a bar file's vendor format from its first line, and reading a file in a named format."""

from __future__ import annotations

import re
from pathlib import Path

from futures_vpoc.data.formats.csvread import likely_delimiter, require_lines
from futures_vpoc.data.formats.databento import read_databento
from futures_vpoc.data.formats.dbn import is_dbn, read_dbn
from futures_vpoc.data.formats.firstrate import read_firstrate
from futures_vpoc.data.formats.generic import DATED_ROW, read_generic
from futures_vpoc.data.formats.kibot import read_kibot
from futures_vpoc.data.formats.lean import lean_entries, read_lean
from futures_vpoc.data.formats.ninjatrader import read_ninjatrader
from futures_vpoc.data.formats.parquet import is_parquet
from futures_vpoc.data.formats.rawbars import FORMATS, STAMPS, RawBars
from futures_vpoc.data.formats.sierra import read_sierra
from futures_vpoc.data.formats.times import check_zone
from futures_vpoc.data.formats.tradestation import read_tradestation
from futures_vpoc.errors import DataError

_NT_ROW = re.compile(r"^\d{8} \d{6};")
_KIBOT_ROW = re.compile(r"^\d{1,2}/\d{1,2}/\d{4},\d{1,2}:\d{2},")
_FIRSTRATE_ROW = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?,")


def _header_fields(line: str) -> list[str]:
    """Header names, lower case, quotes and spaces stripped, split on the likeliest separator."""
    sep = likely_delimiter(line)
    return [f.strip().strip('"').strip().lower() for f in line.split(sep)]


def detect_format(path: str | Path) -> str:
    """Name the vendor format of a bar file from its first line.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV/text or Parquet file, a LEAN minute zip or a DBN file.

    Returns
    -------
    str
        One of :data:`FORMATS` other than ``"auto"``.

    Raises
    ------
    DataError
        When the file is empty or its first line matches no known layout (the message quotes the
        line and lists the supported formats).
    """
    path = Path(path)
    if is_dbn(path) or path.name.lower().endswith((".dbn", ".dbn.zst")):
        return "dbn"  # a damaged one too: the DBN reader says what is wrong with it
    if path.suffix.lower() == ".zip":
        entries = lean_entries(path)
        if entries:
            return "lean"
        raise DataError("zip archive that is not a LEAN minute zip (no <YYYYMMDD>_<root>_minute_trade_<YYYYMM>.csv "
                        "inside)" if entries is not None else "not a readable zip archive", file=str(path),
                        hint="unzip it and pass the bar file inside")
    if is_parquet(path):
        import pyarrow.parquet as pq

        names = {n.lower() for n in pq.read_schema(path).names}
        return "databento" if "ts_event" in names else "generic"
    line = require_lines(path, 1)[0]
    fields = _header_fields(line)
    if "ts_event" in fields:
        return "databento"
    if fields[:2] == ["date", "time"] and "up" in fields and "down" in fields:
        return "tradestation"
    if fields[:2] == ["date", "time"] and "last" in fields:
        return "sierra"
    if _NT_ROW.match(line):
        return "ninjatrader"
    if _KIBOT_ROW.match(line):
        return "kibot"
    if _FIRSTRATE_ROW.match(line):
        return "firstrate"
    if DATED_ROW.match(line):
        return "generic"  # header-less date[,time],open,high,low,close,volume (e.g. 20230103,093000,...)
    if set(fields) & {"open", "high", "low", "close", "last"}:
        return "generic"  # a header naming prices; the generic reader says what is missing
    raise DataError(
        f"unknown bar file layout; first line {line[:120]!r}", file=str(path), line=1,
        hint=f"supported formats: {', '.join(FORMATS[1:])}; pass --es-format to choose one, "
        "or write a CSV with a header timestamp,open,high,low,close,volume")


READERS = {
    "generic": read_generic,
    "databento": read_databento,
    "ninjatrader": read_ninjatrader,
    "kibot": read_kibot,
    "tradestation": read_tradestation,
    "sierra": read_sierra,
    "firstrate": read_firstrate,
    "lean": read_lean,
    "dbn": read_dbn,
}


def read_bars(path: str | Path, fmt: str = "auto", tz: str | None = None,
              stamp: str | None = None) -> RawBars:
    """Read one bar file in format ``fmt`` (``"auto"``: :func:`detect_format`).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    fmt : str
        One of :data:`FORMATS`.
    tz : str, optional
        IANA zone overriding the format's (required for Sierra Chart and zone-less generic files).
    stamp : {"start", "end", "auto"}, optional
        Overrides the format's bar-stamp convention.

    Returns
    -------
    RawBars
        With a note ``"<file>: detected <fmt> (<zone>, bar <stamp>)"`` (or ``read as``) first.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise DataError("unknown format", value=fmt, hint=f"choose one of {', '.join(FORMATS)}")
    if stamp is not None and stamp not in STAMPS:
        raise DataError("unknown bar stamp", value=stamp, hint="choose start, end or auto")
    if tz is not None:
        check_zone(tz)
    if not path.is_file():
        raise DataError("file not found", file=str(path), hint="check the path")
    try:
        chosen = detect_format(path) if fmt == "auto" else fmt
        raw = READERS[chosen](path, tz=tz, stamp=stamp)
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc})", file=str(path),
                        hint="check the path and its permissions") from None
    verb = "detected" if fmt == "auto" else "read as"
    stamp_text = "bar stamp detected" if raw.stamp == "auto" else f"bar {raw.stamp}"
    if raw.layout:  # e.g. "ES_1min.csv: read as firstrate (header), America/New_York, bar start: <evidence>"
        evidence = f": {raw.evidence}" if raw.evidence else ""
        raw.notes.insert(0, f"{path.name}: {verb} {chosen} ({raw.layout}), {raw.zone}, {stamp_text}{evidence}")
    else:
        raw.notes.insert(0, f"{path.name}: {verb} {chosen} ({raw.zone}, {stamp_text})")
    return raw
