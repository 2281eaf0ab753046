"""Streaming a CSV file as text columns, ``chunk_rows`` data rows at a time.

``pyarrow.csv.open_csv`` reads the file block by block (1 MiB), so memory stays bounded by the
chunk however large the file. Every column is read as text; the readers parse each chunk
(numbers, times, side codes) and so can name the file and line of a bad cell. pyarrow skips empty
lines; :class:`~futures_vpoc.data.formats.linemap.LineMap` maps data rows back to lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from futures_vpoc.data.formats.linemap import LineMap, fail
from futures_vpoc.errors import DataError

BLOCK_BYTES = 1 << 20
"""Bytes pyarrow reads and parses at a time."""


def _reader(path: Path, delimiter: str, columns: list[str], header: bool, on_invalid):
    read = pacsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES, autogenerate_column_names=not header)
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in columns}, include_columns=columns,
                                   strings_can_be_null=False)
    return pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)


def csv_chunks(path: Path, lines: LineMap, *, delimiter: str, columns: list[str], header: bool,
               chunk_rows: int) -> Iterator[tuple[pa.Table, int]]:
    """Text columns of a CSV file in chunks of at most ``chunk_rows`` data rows.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    lines : LineMap
        Its row -> line map (``header_lines`` 1 with a header, else 0).
    delimiter : str
        Field separator.
    columns : list of str
        Columns to read: header names, or ``f0``, ``f1``, ... for a file without a header.
    header : bool
        Whether the first line names the columns.
    chunk_rows : int
        Most rows per chunk.

    Yields
    ------
    table : pyarrow.Table
        The ``columns`` as strings (an empty cell is ``""``), in file order.
    first_row : int
        0-based data-row number of the table's first row.

    Raises
    ------
    DataError
        A row with another number of fields than the first (by line), or text pyarrow cannot read.
    """
    bad: list = []

    def on_invalid(row):
        if not bad:
            bad.append(row)
        return "skip"

    try:
        reader = _reader(path, delimiter, columns, header, on_invalid)
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        raise _unreadable(path, exc) from None
    pending: list[pa.RecordBatch] = []
    held, first = 0, 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
            raise _unreadable(path, exc) from None
        if bad:
            raise _field_count(bad[0], lines)
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            yield table.slice(0, chunk_rows), first
            rest = table.slice(chunk_rows)
            pending, held, first = rest.to_batches(), rest.num_rows, first + chunk_rows
    if held:
        yield pa.Table.from_batches(pending, schema=reader.schema), first


def _field_count(row, lines: LineMap) -> DataError:
    """The error for a row whose number of fields differs from the first row's."""
    text = f"expected {row.expected_columns} fields, found {row.actual_columns} in {row.text[:120]!r}"
    hint = "every row needs the same fields as the first; remove truncated or merged lines"
    if row.number is None:
        return DataError(text, file=str(lines.path), hint=hint)
    return fail(text, lines, row.number - 1 - lines.header_lines, hint=hint)


def _unreadable(path: Path, exc: Exception) -> DataError:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataError(f"cannot read the file ({first})", file=str(path),
                     hint="check the delimiter, the encoding (UTF-8) and --trades-format")


__all__ = ["BLOCK_BYTES", "csv_chunks"]
