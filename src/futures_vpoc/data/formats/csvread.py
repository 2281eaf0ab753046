"""Reading CSV text fast, and locating what failed when it does not parse.

A CSV is read by ``pyarrow.csv`` with every column typed up front and timestamps parsed by pyarrow
with an explicit ``strptime`` format (pandas' ``to_datetime(format=...)`` is ~30x slower). Only
when that fast read fails is the file read again as text to find the offending cell, which the
:class:`~futures_vpoc.errors.DataError` names by file, 1-based line (header counted), column and
value.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from futures_vpoc.data.formats.linemap import LineMap, fail
from futures_vpoc.data.formats.times import time_problem, unparseable_times
from futures_vpoc.errors import DataError


def first_lines(path: Path, count: int = 2) -> list[str]:
    """The first ``count`` non-empty lines, BOM and line ends removed."""
    out: list[str] = []
    with open(path, "rb") as fh:
        for raw in fh:
            text = raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
            if text.strip():
                out.append(text)
            if len(out) == count:
                break
    return out


def require_lines(path: Path, count: int = 1) -> list[str]:
    """:func:`first_lines`, raising DataError ``empty file`` when the file has no non-empty line."""
    first = first_lines(path, count)
    if not first:
        raise DataError("empty file", file=str(path), hint="export some bars into it")
    return first


def likely_delimiter(line: str) -> str:
    """The separator (comma, semicolon or tab) that occurs most often in ``line``."""
    return max((",", ";", "\t"), key=line.count)


def header_names(path: Path, delimiter: str) -> list[str]:
    """Header names exactly as pyarrow will name the columns (quotes removed, spaces kept)."""
    first = require_lines(path, 1)
    head = pacsv.read_csv(io.BytesIO(first[0].encode() + b"\n"),
                          parse_options=pacsv.ParseOptions(delimiter=delimiter))
    return list(head.column_names)


def pick_columns(header: list[str], wanted: dict[str, tuple[str, ...]], path: Path,
                 required=()) -> dict[str, str]:
    """Map canonical names to header names (case- and space-insensitive)."""
    lookup = {h.strip().lower(): h for h in header}
    out = {}
    for key, options in wanted.items():
        for o in options:
            if o in lookup:
                out[key] = lookup[o]
                break
    missing = [k for k in required if k not in out]
    if missing:
        found = ", ".join(h.strip() for h in header)[:160]
        raise DataError(f"missing column(s) {', '.join(missing)} (header: {found})", file=str(path),
                        line=1, hint="the header must name " + ", ".join(required) + "; or pass --es-format")
    return out


def read_csv(path: Path, lines: LineMap, *, delimiter: str, names: list[str] | None,
             types: dict[str, pa.DataType], time_format: str | None = None) -> pa.Table:
    """Read the columns in ``types`` with pyarrow, typed; on failure raise a located DataError.

    ``names`` gives the column names of a header-less file (None: the first line is the header).
    ``time_format`` is the strptime format (or ``pyarrow.csv.ISO8601``) for timestamp columns.
    """
    require_lines(path, 1)
    read = pacsv.ReadOptions(column_names=names) if names else pacsv.ReadOptions()
    parse = pacsv.ParseOptions(delimiter=delimiter)
    convert = pacsv.ConvertOptions(column_types=types, include_columns=list(types),
                                   timestamp_parsers=[time_format] if time_format else None)
    try:
        return pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        raise _locate_csv_error(path, lines, delimiter, names, types, time_format, exc) from None


def _locate_csv_error(path, lines, delimiter, names, types, time_format, exc) -> DataError:
    """Read the file again as text and name the first cell (by line) that failed to parse."""
    bad_rows: list = []

    def on_invalid(row):
        if not bad_rows:
            bad_rows.append(row)
        return "skip"

    # A file that is not UTF-8 is read as latin-1 (any byte decodes), so a binary or mis-encoded
    # row is reported like any other instead of failing inside pyarrow's row callback.
    with open(path, "rb") as fh:
        try:
            fh.read().decode("utf-8")
            encoding = "utf8"
        except UnicodeDecodeError:
            encoding = "latin-1"
    read = pacsv.ReadOptions(column_names=names, use_threads=False, encoding=encoding) if names else \
        pacsv.ReadOptions(use_threads=False, encoding=encoding)
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid)
    text_types = {c: pa.string() for c in types}
    try:
        table = pacsv.read_csv(path, read_options=read, parse_options=parse,
                               convert_options=pacsv.ConvertOptions(column_types=text_types,
                                                                    include_columns=list(types)))
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc2:
        return _header_error(path, names, types, exc2)
    if bad_rows:
        r = bad_rows[0]
        row = r.number - 1 - lines.header_lines if r.number else None
        return fail(f"expected {r.expected_columns} fields, found {r.actual_columns} in {r.text[:120]!r}",
                    lines, row, hint="every row needs the same fields as the first; "
                    "remove truncated or merged lines")
    found = []
    for col, typ in types.items():
        arr = table[col].combine_chunks()
        if pa.types.is_timestamp(typ):
            bad = unparseable_times(arr, time_format)
            what = time_problem(arr, int(bad[0]), time_format) if len(bad) else ""
        elif pa.types.is_floating(typ) or pa.types.is_integer(typ):
            bad = unparseable_numbers(arr)
            what = "not a number"
        else:
            continue
        if len(bad):
            found.append((int(bad[0]), col, what, len(bad) - 1))
    if not found:
        return _unreadable(path, exc)
    row, col, what, more = min(found)
    value = table[col][row].as_py()
    return fail(what, lines, row, column=col.strip(), value=value, more=more,
                hint="fix or remove the row" if what == "not a number" else
                "fix the row, or pass the right --es-format")


def _header_error(path: Path, names, types, exc) -> DataError:
    missing = [c.strip() for c in types if names is None and f"'{c}'" in str(exc)]
    if missing:
        return DataError(f"missing column {missing[0]!r}", file=str(path), line=1,
                         hint="check the header line")
    return _unreadable(path, exc)


def _unreadable(path: Path, exc: Exception) -> DataError:
    """The error for a file pyarrow cannot read although no cell or header is to blame."""
    return DataError(f"cannot read the file ({exc})", file=str(path),
                     hint="check the delimiter and the --es-format")


def unparseable_numbers(arr: pa.Array) -> np.ndarray:
    """Positions of non-empty cells that are not numbers (``nan``/``inf`` text counts as a number)."""
    text = arr.to_pandas()
    num = pd.to_numeric(text, errors="coerce")
    cand = np.flatnonzero(num.isna().to_numpy() & text.notna().to_numpy())
    bad = []
    for i in cand:  # only on the error path; float() accepts 'nan', 'inf', ' 1.5 '
        s = text.iloc[i].strip()
        if s == "":
            continue
        try:
            float(s)
        except ValueError:
            bad.append(i)
    return np.asarray(bad, dtype=np.int64)
