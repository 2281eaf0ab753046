"""The BarFrame contract (DESIGN.md section 2) and the merged file that stores it.

A BarFrame is a :class:`pandas.DataFrame` with

* index ``timestamp``: bar START, tz-aware UTC, datetime64[ns], strictly increasing, unique;
* ``open high low close``: float64 on the tick grid (a ratio-adjusted series is the exception);
* ``volume``: float64 >= 0;
* ``contract``: str, e.g. ``ESH4``;
* ``trade_date``: datetime64[ns] (naive midnight), the CME trade date;
* ``rth``: bool;
* ``vix``: float64, the last VIX close published at or before the bar's END; NaN before the first;
* optionally, for bars built from trades (``futures-vpoc ticks bars``), the order-flow columns
  :data:`FLOW_COLUMNS`: ``buy_volume``, ``sell_volume`` (float64, contracts initiated by buyers /
  sellers; their sum is at most ``volume``) and ``trades`` (int64, prints in the bar). They are kept
  when present and absent otherwise.

The merged file is the same columns with ``timestamp`` as ISO-8601 UTC text (CSV) or a UTC
timestamp column (Parquet), chosen by extension. :func:`read_merged` of what :func:`write_merged`
wrote gives an identical frame (``pandas.testing.assert_frame_equal`` with ``check_exact=True``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from futures_vpoc.config import EXCHANGE_TZ
from futures_vpoc.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = ("open", "high", "low", "close", "volume", "contract", "trade_date", "rth", "vix")
FLOW_COLUMNS = {"buy_volume": "float64", "sell_volume": "float64", "trades": "int64"}
"""Optional BarFrame columns of bars built from trades, with their dtypes (kept when all present)."""
INDEX_NAME = "timestamp"
_DAY_NS = 86_400_000_000_000
_SEVEN_HOURS_NS = 7 * 3_600_000_000_000


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the canonical BarFrame column order and dtypes.

    Parameters
    ----------
    frame : pandas.DataFrame
        Index of tz-aware bar-start timestamps and at least the :data:`BAR_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        A new frame; the :data:`FLOW_COLUMNS` are kept when all of them are present, other extra
        columns are dropped.

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
    contract = frame["contract"]
    # a string column is kept as is (astype is free; .array: no alignment on the index); anything
    # else goes through its values
    out["contract"] = contract.astype("str").array if pd.api.types.is_string_dtype(contract.dtype) and not \
        pd.api.types.is_object_dtype(contract.dtype) else pd.array(contract.to_numpy(), dtype="str")
    out["trade_date"] = pd.DatetimeIndex(frame["trade_date"]).as_unit("ns").to_numpy()
    out["rth"] = frame["rth"].to_numpy(dtype=bool)
    out["vix"] = frame["vix"].to_numpy(dtype="float64")
    if all(c in frame.columns for c in FLOW_COLUMNS):
        for col, dtype in FLOW_COLUMNS.items():
            out[col] = frame[col].to_numpy(dtype=dtype)
    return out


def bar_width(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Nominal bar width, from the spacing each session's run of bars starts with.

    The stamps are grouped by session (Central time + 7 h, the CME trade-date rule; stamps without
    a zone are taken as UTC), and only spacings inside a session count, never one across a session
    break. Each session votes for its smallest positive spacing, and the most voted one wins (ties:
    the spacing seen most often inside sessions, then the smaller). Missing bars (no-trade minutes
    that vendors omit) only widen some spacings, so a run of thin 1-minute bars whose 2-minute
    spacings outnumber its 1-minute ones still votes 1 minute; a stray stamp sways one session only.
    When no session holds two bars (daily bars), the most common spacing of the whole index is used.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Bar start (or end) times, any order.

    Returns
    -------
    pandas.Timedelta
        One minute for a 1-minute file, one day for daily bars (capped at one day). One minute when
        there are fewer than two distinct stamps.
    """
    idx = pd.DatetimeIndex(index)
    if len(idx) < 2:
        return pd.Timedelta(minutes=1)
    idx = (idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")).as_unit("ns")
    t = idx.asi8
    order = None if idx.is_monotonic_increasing else np.argsort(t, kind="stable")
    if order is not None:
        t = t[order]
    steps = np.diff(t)
    session = _session_key(idx if order is None else idx[order])
    inside = (steps > 0) & (session[1:] == session[:-1])
    if inside.any():
        width = _most_voted_run_minimum(session[1:][inside], steps[inside])
    else:
        positive = steps[steps > 0]
        if len(positive) == 0:
            return pd.Timedelta(minutes=1)
        values, counts = np.unique(positive, return_counts=True)
        width = int(values[np.argmax(counts)])
    return min(pd.Timedelta(width, unit="ns"), pd.Timedelta(days=1))


def _session_key(idx: pd.DatetimeIndex) -> np.ndarray:
    """Day number of ``(Central time + 7 h)``: the trade date of a bar on the current Globex hours."""
    local = idx.tz_convert(EXCHANGE_TZ).tz_localize(None).as_unit("ns").asi8
    return (local + _SEVEN_HOURS_NS) // _DAY_NS


def _most_voted_run_minimum(session: np.ndarray, steps: np.ndarray) -> int:
    """The smallest spacing of each session (``session`` nondecreasing), most voted; ns."""
    starts = np.flatnonzero(np.r_[True, session[1:] != session[:-1]])
    minima = np.minimum.reduceat(steps, starts)
    values, votes = np.unique(minima, return_counts=True)
    tied = values[votes == votes.max()]
    if len(tied) == 1:
        return int(tied[0])
    seen = np.array([(steps == v).sum() for v in tied])
    return int(tied[np.argmax(seen)])


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


def _iso_utc(idx: pd.DatetimeIndex) -> "pa.Array":
    """``2024-03-07T14:30:00Z`` per stamp (fractional seconds only when a stamp has them).

    Whole-second stamps are built from the distinct days and the distinct seconds of the day and
    joined (0.15 s for 1M bars; ``strftime`` over every stamp, pandas' or Arrow's, takes 2-12 s).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    ns = idx.asi8
    if not (ns % 1_000_000_000 == 0).all():
        return pa.array(np.asarray(idx.strftime("%Y-%m-%dT%H:%M:%S.%fZ")), pa.string())
    day, sec = np.divmod(ns // 1_000_000_000, 86_400)
    days, day_at = _distinct(day)
    secs, sec_at = _distinct(sec)
    day_text = pa.array(np.datetime_as_string(days.astype("M8[D]")), pa.string())
    sec_text = pa.array([f"T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}Z" for s in secs.tolist()],
                        pa.string())
    return pc.binary_join_element_wise(day_text.take(pa.array(day_at)), sec_text.take(pa.array(sec_at)), "")


def _distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True)`` for int64 ``x`` in O(n) where ``x`` never decreases (bar
    days) or spans under 1M values (seconds of the day); the general sort otherwise."""
    if len(x) and (x[1:] >= x[:-1]).all():
        new = np.r_[True, x[1:] != x[:-1]]
        return x[new], np.cumsum(new) - 1
    lo = int(x.min()) if len(x) else 0
    if len(x) and int(x.max()) - lo < 1_000_000:
        seen = np.zeros(int(x.max()) - lo + 1, dtype=bool)
        seen[x - lo] = True
        return np.flatnonzero(seen) + lo, (np.cumsum(seen) - 1)[x - lo]
    return np.unique(x, return_inverse=True)


def _merged_csv_table(bars: pd.DataFrame):
    """The merged file's CSV columns as an Arrow table (text where the file holds text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    days, day_at = _distinct(bars["trade_date"].to_numpy().astype("M8[D]").view(np.int64))
    trade_date = pa.array(np.datetime_as_string(days.astype("M8[D]")), pa.string()).take(pa.array(day_at))
    contract = pa.array(bars["contract"].array)  # Arrow-backed strings: no copy through objects
    rth = pc.if_else(pa.array(bars["rth"].to_numpy()), "true", "false")
    cols = {INDEX_NAME: _iso_utc(bars.index),
            **{c: pa.array(bars[c].to_numpy(), pa.float64()) for c in (*PRICE_COLUMNS, "volume")},
            "contract": contract.cast(pa.string()), "trade_date": trade_date, "rth": rth,
            "vix": pa.array(bars["vix"].to_numpy(), pa.float64(), from_pandas=True)}
    cols.update({c: pa.array(bars[c].to_numpy()) for c in FLOW_COLUMNS if c in bars.columns})
    return pa.table(cols)


def _write_merged_csv(bars: pd.DataFrame, tmp: str) -> None:
    """Write through Arrow's CSV writer (12 s -> about 1 s for 1M bars against ``DataFrame.to_csv``);
    the header is written by hand so that it carries no quotes, and a missing VIX is an empty field."""
    import pyarrow.csv as pacsv

    table = _merged_csv_table(bars)
    with open(tmp, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def write_merged(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a BarFrame as the merged file (CSV, or Parquet for ``.parquet``/``.pq``).

    The file appears complete or not at all (temporary file, then rename).
    """
    path = Path(path)
    bars = conform(frame)
    if path.suffix.lower() in (".parquet", ".pq"):
        atomic_write(path, lambda tmp: bars.to_parquet(tmp, engine="pyarrow", index=True))
        return path
    atomic_write(path, lambda tmp: _write_merged_csv(bars, tmp))
    return path


def is_merged_header(columns) -> bool:
    """True when a header names every merged-file column (case-insensitive)."""
    names = {str(c).strip().lower() for c in columns}
    return INDEX_NAME in names and all(c in names for c in BAR_COLUMNS)


def read_merged(path: str | os.PathLike) -> pd.DataFrame:
    """Read a merged file written by :func:`write_merged` (or by hand in the same layout).

    A folder is read as a partitioned bar dataset (:mod:`futures_vpoc.data.partitioned`): every
    month's partition, concatenated into one BarFrame (the whole data in memory).

    Raises
    ------
    DataError
        Missing file or column, unparseable timestamps, or an index that is not strictly increasing;
        a folder without partitions.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=str(path), hint="check the path")
    if path.is_dir():
        from futures_vpoc.data.partitioned import read_any

        return read_any(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        # dates as datetime64, not one datetime.date object per row (10x slower to read and convert)
        raw = pd.read_parquet(path, engine="pyarrow", to_pandas_kwargs={"date_as_object": False})
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
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (records which data a run used).

    A folder (a partitioned dataset) hashes every file under it in sorted path order, each
    relative path before its bytes, so renaming or moving a partition changes the hash too.
    """
    import hashlib

    h = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(f.relative_to(path).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()

