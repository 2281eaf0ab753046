"""Timestamps: recognising their layout, parsing them fast, and turning local times into UTC.

Timestamps are parsed by pyarrow with an explicit ``strptime`` format or as ISO-8601 (pandas'
``to_datetime(format=...)`` is ~30x slower). A local wall-clock time is localised to its IANA
zone; one that falls into a daylight-saving gap or overlap is refused.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from futures_vpoc.data.clock import STAMPS, ZONES, infer_clock
from futures_vpoc.data.formats.linemap import LineMap, fail, first_null
from futures_vpoc.errors import DataError

_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$")
FRACTION = re.compile(r"(:\d{2})\.(\d{1,9})")
"""Fractional seconds after ``:SS`` (never the dots of a ``dd.mm.yyyy`` date)."""
_STRPTIME_CANDIDATES = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
    "%Y%m%d %H%M%S", "%Y%m%d %H%M", "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M", "%m/%d/%Y %H%M%S", "%m/%d/%Y %H%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y",
)


def has_zone(sample: str) -> bool:
    """True when a timestamp text ends with ``Z`` or a UTC offset such as ``+01:00``."""
    return bool(_ZONE.search(sample.strip()))


def guess_time_format(sample: str, lines: LineMap, row: int, column: str):
    """Explicit parser for timestamps like ``sample``: ``pyarrow.csv.ISO8601`` or a strptime format.

    Raises
    ------
    DataError
        When no known layout parses the sample.
    """
    text = sample.strip()
    if _ISO.match(text):
        return pacsv.ISO8601
    zone = has_zone(text)
    bare = FRACTION.sub(r"\1", text)
    for fmt in _STRPTIME_CANDIDATES:
        full = fmt + ("%z" if zone else "")
        got = pc.strptime(pa.array([bare]), format=full, unit="ns", error_is_null=True)
        if got.null_count == 0:
            return full
    raise fail("unparseable timestamp", lines, row, column=column, value=sample,
               hint="write timestamps as ISO-8601, e.g. 2024-03-08 17:00:00 or 2024-03-08T23:00:00Z")


def parse_times(arr: pa.ChunkedArray | pa.Array, time_format, lines: LineMap, column: str,
                rows: np.ndarray | None = None) -> np.ndarray:
    """Parse timestamp text with an explicit format.

    Parameters
    ----------
    arr : pyarrow string array, shape (n,)
        Timestamp text; surrounding spaces and fractional seconds (``.000000``) are allowed.
    time_format : str
        strptime format (``%z`` for an offset) or ``pyarrow.csv.ISO8601``.
    lines, column
        For error messages.
    rows : numpy.ndarray of int64, optional
        Data-row number of each element (default ``arange(n)``).

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        ns since the epoch: UTC when the format has a zone, else wall-clock time.

    Raises
    ------
    DataError
        First empty or unparseable cell, by line, with the count of others.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    text = pc.utf8_trim_whitespace(arr)
    if time_format is pacsv.ISO8601:
        zone = bool(len(text)) and text[0].is_valid and has_zone(text[0].as_py())
        typ = pa.timestamp("ns", "UTC") if zone else pa.timestamp("ns")
        try:
            parsed = pc.cast(text, typ)
        except pa.ArrowInvalid:
            parsed = None
    else:
        frac = None  # strptime has no %f: split the fraction off, parse, add it back as ns
        if pc.any(pc.match_substring_regex(text, FRACTION.pattern)).as_py():
            frac = pc.extract_regex(text, r":\d{2}\.(?P<f>\d{1,9})").field("f")
            text = pc.replace_substring_regex(text, FRACTION.pattern, r"\1")
        parsed = pc.strptime(text, format=time_format, unit="ns", error_is_null=True)
        if frac is not None and parsed.null_count == 0:
            digits = pc.utf8_rpad(pc.fill_null(frac, "0"), 9, "0")
            extra = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
            return parsed.cast(pa.int64()).to_numpy(zero_copy_only=False) + extra
    if parsed is None or parsed.null_count:
        _raise_bad_times(arr, time_format, lines, column, rows)
    return parsed.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _raise_bad_times(arr, time_format, lines, column, rows):
    text = pc.utf8_trim_whitespace(arr)
    empty = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
    bad = np.union1d(np.flatnonzero(empty), unparseable_times(arr, time_format))
    i = int(bad[0]) if len(bad) else 0
    row = int(rows[i]) if rows is not None else i
    problem = "missing timestamp" if empty[i] else time_problem(arr, i, time_format)
    raise fail(problem, lines, row, column=column, value=arr[i].as_py(), more=max(len(bad) - 1, 0),
               hint="fix or remove the row; every row must use the layout (and zone) of the first")


def unparseable_times(arr: pa.Array, time_format) -> np.ndarray:
    """Positions of non-empty cells that the timestamp parser rejects.

    For ISO-8601 text a cell whose zone suffix differs from the first cell's (one has ``Z`` or an
    offset, the other none) is rejected too: one column must be all UTC-anchored or all local.
    """
    text = pc.utf8_trim_whitespace(arr)
    if time_format in (None, pacsv.ISO8601):
        parsed = pd.to_datetime(text.to_pandas(), format="ISO8601", errors="coerce", utc=True)
        ok = parsed.notna().to_numpy()
        zoned = pc.fill_null(pc.match_substring_regex(text, _ZONE.pattern), False)
        zoned = zoned.to_numpy(zero_copy_only=False)
        if len(zoned):
            ok = ok & (zoned == zoned[0])
    else:
        bare = pc.replace_substring_regex(text, FRACTION.pattern, r"\1")
        ok = pc.is_valid(pc.strptime(bare, format=time_format, unit="ns", error_is_null=True))
        ok = ok.to_numpy(zero_copy_only=False)
    present = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    empty = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
    return np.flatnonzero(present & ~empty & ~ok)


def time_problem(arr: pa.Array, i: int, time_format) -> str:
    """Why cell ``i`` of a timestamp column was rejected."""
    first, value = arr[0].as_py(), arr[i].as_py()
    if (time_format in (None, pacsv.ISO8601) and isinstance(first, str) and isinstance(value, str)
            and _ISO.match(value.strip()) and has_zone(first) != has_zone(value)):
        return "timestamp " + ("has a UTC offset" if has_zone(value) else "lacks the UTC offset") + \
            " unlike the first row's"
    return f"unparseable timestamp (expected {_describe(time_format)})"


def _describe(time_format) -> str:
    return "ISO-8601 such as 2024-03-08 17:00:00" if time_format in (None, pacsv.ISO8601) else time_format


def checked_times(table: pa.Table, col: str, lines: LineMap) -> np.ndarray:
    """int64 of a timestamp (or integer) column pyarrow already parsed; an empty cell is an error."""
    arr = table[col]
    if arr.null_count:
        raise fail("missing timestamp", lines, first_null(arr), column=col.strip(),
                   more=arr.null_count - 1, hint="fix or remove the row")
    return arr.cast(pa.int64()).to_numpy()


def date_time_text(table: pa.Table, date_col: str, time_col: str, pad_hhmm: bool = False,
                   pad_digits: bool = False) -> pa.Array:
    """``date + ' ' + time`` as one string column.

    ``pad_hhmm``: TradeStation ``901`` -> ``0901``. ``pad_digits``: a time column of digits only
    (written as an integer, leading zeros lost) is padded to ``HHMMSS`` when its longest cell has
    5 or 6 digits (``93000`` -> ``093000``), else to ``HHMM`` (``930`` -> ``0930``).
    """
    d = pc.utf8_trim_whitespace(table[date_col].combine_chunks())
    t = pc.utf8_trim_whitespace(table[time_col].combine_chunks())
    if pad_hhmm:
        t = pc.if_else(pc.match_substring(t, ":"), t, pc.utf8_lpad(t, 4, "0"))
    elif pad_digits and len(t) and pc.all(pc.match_substring_regex(t, r"^\d{1,6}$")).as_py():
        longest = pc.max(pc.utf8_length(t)).as_py() or 0
        t = pc.utf8_lpad(t, 6 if longest >= 5 else 4, "0")
    return pc.binary_join_element_wise(d, t, " ")


def check_zone(tz: str) -> str:
    """Validate an IANA time-zone name; raise DataError when it is unknown."""
    try:
        pd.Timestamp("2024-01-01").tz_localize(tz)
    except Exception:  # zoneinfo raises KeyError subclasses, pytz UnknownTimeZoneError
        raise DataError("unknown time zone", value=tz,
                        hint="give an IANA name such as America/Chicago, America/New_York or UTC") from None
    return tz


def localize(wall_ns: np.ndarray, tz: str, lines: LineMap, column: str,
             rows: np.ndarray | None = None) -> np.ndarray:
    """Wall-clock ns in ``tz`` -> UTC ns, refusing nonexistent and ambiguous local times.

    Raises
    ------
    DataError
        For a local time that falls into a daylight-saving gap or overlap (Globex is closed at
        02:00 Sunday, so such a stamp means the time zone or the data are wrong).
    """
    if tz == "UTC":
        return wall_ns
    idx = pd.DatetimeIndex(wall_ns.view("M8[ns]"))
    try:
        out = idx.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except ValueError:
        probe = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        bad = np.flatnonzero(probe.isna())
        i = int(bad[0])
        row = int(rows[i]) if rows is not None else i
        raise fail(f"local time does not exist or is ambiguous in {tz} (daylight-saving change)",
                   lines, row, column=column, value=str(idx[i]), more=len(bad) - 1,
                   hint="check --tz: Globex is closed when clocks change") from None
    return out.as_unit("ns").asi8


def place_wall_clock(wall_ns: np.ndarray, lines: LineMap, column: str, *, tz: str | None = None,
                     stamp: str | None = None, default_stamp: str | None = None,
                     prior_zone: str | None = None) -> tuple[np.ndarray, str, str, str]:
    """Wall-clock stamps -> UTC, the zone and the stamp convention told by the file where not given.

    Parameters
    ----------
    wall_ns : numpy.ndarray of int64, shape (n,)
        Stamps as written, ns of the wall clock.
    lines, column
        For error messages.
    tz : str, optional
        The zone (``--tz`` or the format's); None: told from the file among
        :data:`futures_vpoc.data.clock.ZONES` (:func:`futures_vpoc.data.clock.infer_clock`).
    stamp : {"start", "end", "auto"}, optional
        The user's convention; ``"auto"``, or None without ``default_stamp``: told from the file.
    default_stamp : {"start", "end"}, optional
        The format's convention, used when ``stamp`` is None.
    prior_zone : str, optional
        The zone the format documents: kept unless the file clearly says otherwise.

    Returns
    -------
    ts : numpy.ndarray of int64, shape (n,)
        UTC ns, as stamped (start or end).
    zone, stamp : str
        The zone and the convention used.
    evidence : str
        How they were told, for the note ("" when nothing was told from the file).

    Raises
    ------
    DataError
        When the file does not tell what was not given (the message names ``--tz``/``--stamp``),
        or a stamp does not exist in the zone (daylight-saving gap or overlap).
    """
    stamps = (stamp,) if stamp in STAMPS else (default_stamp,) if stamp is None and default_stamp else STAMPS
    zones = (tz,) if tz else ZONES
    if len(zones) == 1 and len(stamps) == 1:
        return localize(wall_ns, zones[0], lines, column), zones[0], stamps[0], ""
    clock = infer_clock(wall_ns, zones=zones, stamps=stamps, prior_zone=None if tz else prior_zone,
                        file=str(lines.path), line=lambda: lines.line(0), column=column)
    return localize(wall_ns, clock.zone, lines, column), clock.zone, clock.stamp, clock.evidence
