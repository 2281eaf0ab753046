"""Parquet bar files (generic and Databento): typed columns, and rows rather than lines in errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from futures_vpoc.data.formats.csvread import unparseable_numbers
from futures_vpoc.data.formats.linemap import LineMap, fail

PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet(path: Path) -> bool:
    """True when the file name ends in ``.parquet`` or ``.pq`` (any case)."""
    return path.suffix.lower() in PARQUET_SUFFIXES


def read_parquet(path: Path) -> tuple[pa.Table, list[str], LineMap]:
    """The whole table, its column names, and a :class:`LineMap` that reports rows (no lines)."""
    import pyarrow.parquet as pq

    lines = LineMap(path, 0, text=False)
    table = pq.read_table(path)
    return table, list(table.column_names), lines


def float_columns(table: pa.Table, names: list[str], lines: LineMap) -> pa.Table:
    """Cast Parquet price/volume columns to float64; a text column with a non-number is an error."""
    for name in names:
        i = table.column_names.index(name)
        col = table[name]
        try:
            table = table.set_column(i, name, pc.cast(col, pa.float64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = unparseable_numbers(pc.cast(col, pa.string()).combine_chunks())
            row = int(bad[0]) if len(bad) else 0
            raise fail("not a number", lines, row, column=name, value=col[row].as_py(),
                       more=max(len(bad) - 1, 0), hint="fix or remove the row") from None
    return table
