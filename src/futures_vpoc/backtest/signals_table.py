"""Read and check a table of signal columns for :func:`futures_vpoc.backtest.sweep.run_sweep`.

The table (CSV or Parquet by extension) has a ``timestamp`` column (bar start, UTC: the stamps of
the bar file's bars, ISO-8601 text in a CSV) and one column per signal, each value -1 (short one
contract), 0 (flat) or 1 (long), decided at that bar's close. Every check runs before anything is
simulated or written; the first problem found is a :class:`~futures_vpoc.errors.DataError` naming
the file, column and row.

Alignment: the bars traded are those from the table's first to its last timestamp; a bar inside that
span with no row is flat in every column (never filled from a neighbour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError

TIMESTAMP = "timestamp"
HINT = "a signals table has a timestamp column and one column per signal with values -1, 0 or 1"


@dataclass(frozen=True)
class SignalTable:
    """Signal columns aligned to a span of bars.

    Attributes
    ----------
    names : tuple of str
        The signal columns, in the file's order.
    values : numpy.ndarray, int8, shape (m, n)
        Row ``j`` is signal ``names[j]`` on bars ``start .. start + n - 1`` (0 where the table has no row).
    start : int
        Position of the first bar of the span in the bar index.
    """

    names: tuple[str, ...]
    values: np.ndarray
    start: int

    @property
    def span(self) -> slice:
        """The bars of the span, as a slice of the bar index."""
        return slice(self.start, self.start + self.values.shape[1])


def _read(path: Path):
    """The file as a pyarrow Table (columns as stored), or a DataError."""
    import pyarrow as pa

    if not path.exists():
        raise DataError("file not found", file=str(path), hint="check the --signals path")
    try:
        if _is_parquet(path):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        import pyarrow.csv as pcsv

        return pcsv.read_csv(path)
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"not a readable table ({first})", file=str(path), hint=HINT) from None


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _where(path: Path, row: int) -> tuple[str, dict]:
    """Where 0-based data row ``row`` is: a CSV line (header = line 1) as DataError's ``line``, else the
    1-based row in the problem text."""
    return ("", {"line": row + 2}) if not _is_parquet(path) else (f" at row {row + 1}", {})


def _stamps(table, name: str, path: Path) -> np.ndarray:
    """The timestamp column as int64 nanoseconds since the epoch, UTC."""
    import pyarrow as pa

    col = table.column(name)
    if col.null_count:
        text, line = _where(path, int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0]))
        raise DataError("empty timestamp" + text, file=str(path), column=name, hint=HINT, **line)
    if pa.types.is_timestamp(col.type):
        ts = pd.DatetimeIndex(col.to_pandas())
        if ts.tz is None and _is_parquet(path):
            raise DataError("timestamps have no time zone", file=str(path), column=name,
                            hint="store bar starts in UTC (tz-aware timestamps)")
        ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    else:
        try:
            ts = pd.DatetimeIndex(pd.to_datetime(col.to_pandas(), utc=True, format="ISO8601"))
        except (ValueError, TypeError) as exc:
            raise DataError(f"unparseable timestamp ({exc})", file=str(path), column=name,
                            hint="timestamps must be ISO-8601 UTC such as 2024-03-07T14:30:00Z") from None
    return ts.as_unit("ns").asi8


def _positions(ns: np.ndarray, bars: pd.DatetimeIndex, path: Path, name: str) -> np.ndarray:
    """Bar position of each row; DataError on duplicate stamps or stamps that are not bars."""
    order = np.argsort(ns, kind="stable")
    dup = np.flatnonzero(np.diff(ns[order]) == 0)
    if len(dup):
        row = int(order[dup[0] + 1])
        text, line = _where(path, row)
        raise DataError("duplicate timestamp" + text, file=str(path), column=name,
                        value=str(pd.Timestamp(ns[row], tz="UTC")), hint="one row per bar", more=len(dup) - 1, **line)
    bar_ns = bars.as_unit("ns").asi8
    pos = np.searchsorted(bar_ns, ns).clip(0, max(len(bar_ns) - 1, 0))
    bad = np.flatnonzero(bar_ns[pos] != ns) if len(bar_ns) else np.arange(len(ns))
    if len(bad):
        row = int(bad[0])
        text, line = _where(path, row)
        raise DataError("timestamp is not a bar of --data" + text, file=str(path), column=name,
                        value=str(pd.Timestamp(ns[row], tz="UTC")), more=len(bad) - 1,
                        hint="use the bar start times (UTC) of the --data file", **line)
    return pos


def _signal_names(table, ts_name: str, path: Path) -> list[str]:
    import pyarrow as pa

    pandas_index = re.compile(r"__index_level_\d+__")  # an unnamed index pandas stored with the table
    names = [c for c in table.column_names if c != ts_name and not pandas_index.fullmatch(c)]
    if not names:
        raise DataError("no signal column besides the timestamp", file=str(path), hint=HINT)
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise DataError("column name used twice", file=str(path), column=twice[0], hint="give each signal its own name")
    for c in names:
        kind = table.schema.field(c).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise DataError(f"not numeric (type {kind})", file=str(path), column=c, hint=HINT)
    return names


def _check_values(values: np.ndarray, nulls: np.ndarray | None, path: Path, name: str) -> None:
    """DataError unless every value is -1, 0 or 1 (NaN and missing values are not)."""
    if values.dtype.kind in "iu":
        bad = (values < -1) | (values > 1)
    else:
        bad = ~((values == -1) | (values == 0) | (values == 1))
    if nulls is not None:
        bad |= nulls
    if bad.any():
        rows = np.flatnonzero(bad)
        row = int(rows[0])
        missing = (nulls is not None and nulls[row]) or values[row] != values[row]
        text, line = _where(path, row)
        problem = "missing or NaN signal value" if missing else "signal value outside {-1, 0, 1}"
        raise DataError(problem + text, file=str(path), column=name, value=None if missing else values[row].item(),
                        more=len(rows) - 1, hint=HINT, **line)


def _column(table, name: str, path: Path) -> np.ndarray:
    col = table.column(name)
    nulls = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
    values = col.to_numpy(zero_copy_only=False) if nulls is None else col.fill_null(0).to_numpy(zero_copy_only=False)
    _check_values(values, nulls, path, name)
    return values


def read_signals(path, bars: pd.DatetimeIndex) -> SignalTable:
    """Read, check and align a signals table to ``bars``.

    Parameters
    ----------
    path : str or os.PathLike
        CSV or Parquet (by extension: ``.parquet``/``.pq``, else CSV).
    bars : pandas.DatetimeIndex
        Bar start times of the data file (UTC, strictly increasing).

    Returns
    -------
    SignalTable

    Raises
    ------
    DataError
        Unreadable file, no ``timestamp`` column, no signal column, a column name used twice, a
        non-numeric column, an empty,
        unparseable or duplicate timestamp, a timestamp that is not a bar, or a value other than
        -1, 0, 1 (NaN and empty cells included).
    """
    path = Path(path)
    table = _read(path)
    ts_name = next((c for c in table.column_names if c.strip().lower() == TIMESTAMP), None)
    if ts_name is None:
        header = {} if _is_parquet(path) else {"line": 1}
        raise DataError(f"no '{TIMESTAMP}' column", file=str(path), hint=HINT, **header)
    names = _signal_names(table, ts_name, path)
    pos = _positions(_stamps(table, ts_name, path), pd.DatetimeIndex(bars), path, ts_name)
    if len(pos) == 0:
        raise DataError("no rows", file=str(path), hint=HINT)
    start, stop = int(pos.min()), int(pos.max()) + 1
    contiguous = bool(len(pos) == stop - start and (np.diff(pos) == 1).all())
    out = np.zeros((len(names), stop - start), dtype=np.int8)
    for j, name in enumerate(names):
        values = _column(table, name, path)
        if contiguous:
            out[j] = values
        else:
            out[j, pos - start] = values
    return SignalTable(tuple(names), out, start)
