"""The BarFrame contract (DESIGN.md section 2) and the merged file that stores it.

A BarFrame is a :class:`pandas.DataFrame` with

* index ``timestamp``: bar START, tz-aware UTC, datetime64[ns], strictly increasing, unique;
* ``open high low close``: float64 on the tick grid (a ratio-adjusted series is the exception);
* ``volume``: float64 >= 0;
* ``contract``: str, e.g. ``ESH4``;
* ``trade_date``: datetime64[ns] (naive midnight), the CME trade date;
* ``rth``: bool;
* ``vix``: float64, the last VIX close published at or before the bar's END; NaN before the first.

The merged file is the same columns with ``timestamp`` as ISO-8601 UTC text (CSV) or a UTC
timestamp column (Parquet), chosen by extension. :func:`read_merged` of what :func:`write_merged`
wrote gives an identical frame (``pandas.testing.assert_frame_equal`` with ``check_exact=True``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = ("open", "high", "low", "close", "volume", "contract", "trade_date", "rth", "vix")
INDEX_NAME = "timestamp"


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the canonical BarFrame column order and dtypes.

    Parameters
    ----------
    frame : pandas.DataFrame
        Index of tz-aware bar-start timestamps and at least the :data:`BAR_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        A new frame; extra columns are dropped.

    Raises
    ------
    ValueError
        When a column is missing or the index is not tz-aware, unique and increasing. (These are
        programming errors inside the package; user files are checked by the loaders.)
    """
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"BarFrame lacks columns {missing}")
    idx = pd.DatetimeIndex(frame.index)
    if idx.tz is None:
        raise ValueError("BarFrame index must be tz-aware")
    idx = idx.tz_convert("UTC").as_unit("ns")
    idx.name = INDEX_NAME
    if not (idx.is_monotonic_increasing and idx.is_unique):
        raise ValueError("BarFrame index must be strictly increasing")
    out = pd.DataFrame(index=idx)
    for col in (*PRICE_COLUMNS, "volume"):
        out[col] = frame[col].to_numpy(dtype="float64")
    out["contract"] = pd.array(frame["contract"].to_numpy(), dtype="str")
    out["trade_date"] = pd.DatetimeIndex(frame["trade_date"]).as_unit("ns").to_numpy()
    out["rth"] = frame["rth"].to_numpy(dtype=bool)
    out["vix"] = frame["vix"].to_numpy(dtype="float64")
    return out


def bar_width(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Nominal bar width: the most common positive spacing between consecutive bars.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Bar start times, sorted.

    Returns
    -------
    pandas.Timedelta
        One minute for a 1-minute file, one day for daily bars (weekends do not count: the mode
        is taken). One minute when there are fewer than two bars.
    """
    if len(index) < 2:
        return pd.Timedelta(minutes=1)
    steps = np.diff(pd.DatetimeIndex(index).as_unit("ns").asi8)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return pd.Timedelta(minutes=1)
    values, counts = np.unique(steps, return_counts=True)
    width = pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")
    return min(width, pd.Timedelta(days=1))


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it to ``path``.

    The file appears complete or not at all, and a failure leaves an existing ``path`` untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _iso_utc(idx: pd.DatetimeIndex) -> np.ndarray:
    fmt = "%Y-%m-%dT%H:%M:%SZ" if (idx.asi8 % 1_000_000_000 == 0).all() else "%Y-%m-%dT%H:%M:%S.%fZ"
    return np.asarray(idx.strftime(fmt))


def write_merged(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a BarFrame as the merged file (CSV, or Parquet for ``.parquet``/``.pq``).

    The file appears complete or not at all (temporary file, then rename).
    """
    path = Path(path)
    bars = conform(frame)
    if path.suffix.lower() in (".parquet", ".pq"):
        atomic_write(path, lambda tmp: bars.to_parquet(tmp, engine="pyarrow", index=True))
        return path
    text = bars.copy()
    text.index = pd.Index(_iso_utc(bars.index), name=INDEX_NAME)
    text["trade_date"] = bars["trade_date"].dt.strftime("%Y-%m-%d")
    text["rth"] = np.where(bars["rth"].to_numpy(), "true", "false")
    atomic_write(path, lambda tmp: text.to_csv(tmp, index=True, lineterminator="\n"))
    return path


def is_merged_header(columns) -> bool:
    """True when a header names every merged-file column (case-insensitive)."""
    names = {str(c).strip().lower() for c in columns}
    return INDEX_NAME in names and all(c in names for c in BAR_COLUMNS)


def read_merged(path: str | os.PathLike) -> pd.DataFrame:
    """Read a merged file written by :func:`write_merged` (or by hand in the same layout).

    Raises
    ------
    DataError
        Missing file or column, unparseable timestamps, or an index that is not strictly increasing.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=str(path), hint="check the path")
    if path.suffix.lower() in (".parquet", ".pq"):
        raw = pd.read_parquet(path, engine="pyarrow")
        if INDEX_NAME in raw.columns:
            raw = raw.set_index(INDEX_NAME)
        ts = pd.DatetimeIndex(raw.index)
    else:
        raw = pd.read_csv(path, engine="pyarrow", dtype={"contract": "str"})
        raw.columns = [str(c).strip().lower() for c in raw.columns]
        if INDEX_NAME not in raw.columns:
            raise DataError(f"no '{INDEX_NAME}' column", file=str(path), line=1,
                            hint="a merged file starts with timestamp,open,high,low,close,volume,...")
        try:
            ts = pd.DatetimeIndex(pd.to_datetime(raw[INDEX_NAME], utc=True, format="ISO8601"))
        except (ValueError, TypeError) as exc:
            raise DataError(f"unparseable timestamp ({exc})", file=str(path), column=INDEX_NAME,
                            hint="timestamps must be ISO-8601 UTC such as 2024-03-07T14:30:00Z") from None
        raw = raw.drop(columns=[INDEX_NAME])
        if raw["rth"].dtype != bool:
            raw["rth"] = raw["rth"].astype("str").str.lower().isin(["true", "1"])
        raw["trade_date"] = pd.to_datetime(raw["trade_date"], format="%Y-%m-%d")
    missing = [c for c in BAR_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=str(path), line=1,
                        hint="write the file with `futures-vpoc data merge` or `data synth`")
    raw.index = ts
    if ts.tz is None:
        raise DataError("timestamps have no time zone", file=str(path), column=INDEX_NAME,
                        hint="merged files store UTC: end each timestamp with Z")
    order = np.diff(ts.asi8)
    if (order <= 0).any():
        bad = int(np.argmax(order <= 0)) + 1
        raise DataError("timestamps not strictly increasing", file=str(path), line=bad + 2,
                        column=INDEX_NAME, value=str(ts[bad]), hint="sort the file and remove duplicates")
    return conform(raw)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (records which data a run used)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

