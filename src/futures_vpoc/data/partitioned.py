"""Partitioned datasets: a folder of Parquet files, one per calendar month, for data larger than memory.

Layout (Hive-style, so ``pyarrow.dataset.dataset(folder, partitioning="hive")`` reads it too)::

    FOLDER/year=2004/month=01/part.parquet
    FOLDER/year=2004/month=02/part.parquet
    ...

A **bar dataset** holds in each ``part.parquet`` the merged-file Parquet columns
(:func:`~futures_vpoc.data.barframe.write_merged`: ``timestamp`` as a UTC timestamp column, then the
BarFrame columns) of the bars whose CME TRADE DATE falls in that month, so a session never splits
across two files (the Sunday-evening bars of a session whose trade date is 1 March are in March).
Concatenating the partitions in (year, month) order gives the whole BarFrame; :func:`read_any` (and
:func:`~futures_vpoc.data.barframe.read_merged` of a folder) does exactly that. A **feature
dataset** (``futures-vpoc features --out DIR``) uses the same layout with the feature table's columns.

A partition is written through a temporary file and renamed; the whole dataset is written into a
temporary folder beside ``folder`` and swapped in at the end, so a failed write leaves an existing
dataset as it was.

Month-by-month passes that write one table file instead of a dataset (``profile --data DIR``'s
per-bar and per-level tables) append each month to it through :class:`TableAppender`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError, UsageError

PART_NAME = "part.parquet"
_YEAR = re.compile(r"^year=(\d{4})$")
_MONTH = re.compile(r"^month=(\d{2})$")


@dataclass(frozen=True)
class Partition:
    """One month of a partitioned dataset.

    Attributes
    ----------
    year, month : int
        Calendar month of the trade dates it holds (bar datasets) or of the bars it describes.
    path : pathlib.Path
        Its ``part.parquet``.
    """

    year: int
    month: int
    path: Path

    @property
    def key(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"


def partition_path(folder: str | os.PathLike, year: int, month: int) -> Path:
    """``folder/year=YYYY/month=MM/part.parquet``."""
    return Path(folder) / f"year={year:04d}" / f"month={month:02d}" / PART_NAME


def partitions(folder: str | os.PathLike) -> list[Partition]:
    """The partitions of a dataset folder in (year, month) order (empty when it has none)."""
    root = Path(folder)
    found = []
    if not root.is_dir():
        return found
    for ydir in root.iterdir():
        y = _YEAR.match(ydir.name)
        if not (y and ydir.is_dir()):
            continue
        for mdir in ydir.iterdir():
            m = _MONTH.match(mdir.name)
            if m and (mdir / PART_NAME).is_file() and 1 <= int(m.group(1)) <= 12:
                found.append(Partition(int(y.group(1)), int(m.group(1)), mdir / PART_NAME))
    return sorted(found, key=lambda p: (p.year, p.month))


def is_partitioned(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding at least one ``year=YYYY/month=MM/part.parquet``."""
    return len(partitions(path)) > 0


def month_keys(trade_date: np.ndarray) -> np.ndarray:
    """``year * 12 + month - 1`` of each trade date (datetime64), int64, shape (n,)."""
    months = np.asarray(trade_date).astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return months + 1970 * 12


def check_dataset_out(folder: str | os.PathLike, flag: str = "--out") -> Path:
    """A folder a dataset may be written to: absent, empty, or an earlier dataset (replaced whole).

    Raises
    ------
    UsageError
        When ``folder`` is a file, or a non-empty folder that is not a partitioned dataset (its
        files would be lost or mixed with the partitions).
    """
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{flag} {folder} is a file; a dataset is written to a folder (a name without a suffix)")
    if out.is_dir() and any(out.iterdir()) and not is_partitioned(out):
        raise UsageError(f"{flag} {folder} is a folder with other files in it; name a new or empty folder "
                         "(an earlier dataset there is replaced)")
    return out


class DatasetWriter:
    """Write month partitions into a temporary folder; :meth:`commit` swaps it in for ``folder``.

    Use as a context manager: leaving the block with an exception removes the temporary folder and
    leaves ``folder`` untouched.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = check_dataset_out(folder)
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.", dir=self.folder.parent))
        self.written: list[str] = []

    def write(self, year: int, month: int, write) -> Path:
        """Call ``write(path)`` for the partition's file (a temporary path inside the new dataset)."""
        path = partition_path(self.tmp, year, month)
        if path.exists():
            raise ValueError(f"partition {year:04d}-{month:02d} written twice (frames out of order?)")
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        self.written.append(f"{year:04d}-{month:02d}")
        return path

    def commit(self) -> Path:
        """Replace ``folder`` by the new dataset (the old one, if any, is removed after the swap)."""
        old = None
        if self.folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.old.", dir=self.folder.parent))
            os.replace(self.folder, old / "d")
        os.replace(self.tmp, self.folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.folder

    def abort(self) -> None:
        """Remove the temporary folder (``folder`` stays as it was)."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def write_partitioned(frames: pd.DataFrame | Iterable[pd.DataFrame], folder: str | os.PathLike) -> list[str]:
    """Write BarFrames as a bar dataset, one ``part.parquet`` per trade-date month.

    Parameters
    ----------
    frames : pandas.DataFrame or iterable of pandas.DataFrame
        One BarFrame, or BarFrames in time order (each frame's first stamp after the previous
        frame's last; e.g. one synthetic year at a time). A month may be spread over consecutive
        frames: it is written once the first bar of a later month arrives (or at the end), so at
        most one month plus one frame is held in memory.
    folder : str or path-like
        The dataset folder: absent, empty or an earlier dataset (replaced whole at the end).

    Returns
    -------
    list of str
        The months written, ``YYYY-MM``, in order.

    Raises
    ------
    UsageError
        ``folder`` is a file or a folder with other files.
    ValueError
        Frames out of time order or a frame that is not a BarFrame (programming errors).
    """
    from futures_vpoc.data.barframe import conform, write_merged

    if isinstance(frames, pd.DataFrame):
        frames = [frames]
    with DatasetWriter(folder) as out:
        pending: pd.DataFrame | None = None  # the latest, maybe unfinished, month
        last_ts = None
        for frame in frames:
            if len(frame) == 0:
                continue
            bars = conform(frame)
            if last_ts is not None and bars.index[0] <= last_ts:
                raise ValueError(f"frames out of time order: {bars.index[0]} is not after {last_ts}")
            last_ts = bars.index[-1]
            if pending is not None:
                bars = pd.concat([pending, bars])
            keys = month_keys(bars["trade_date"].to_numpy())
            if (np.diff(keys) < 0).any():
                raise ValueError("trade dates go back to an earlier month; bars must be in trade-date order")
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            for a, b in zip(starts[:-1], starts[1:]):
                _write_month(out, bars.iloc[a:b], int(keys[a]), write_merged)
            pending = bars.iloc[starts[-1]:]
        if pending is not None:
            _write_month(out, pending, int(month_keys(pending["trade_date"].to_numpy()[:1])[0]), write_merged)
        out.commit()
        return out.written


def _write_month(out: DatasetWriter, bars: pd.DataFrame, key: int, write_merged) -> None:
    year, month0 = divmod(key, 12)
    out.write(year, month0 + 1, lambda path: write_merged(bars, path))


def _read_part(part: Partition, columns=None) -> pd.DataFrame:
    """One partition as a BarFrame (all columns), or a frame of ``columns`` indexed by timestamp."""
    from futures_vpoc.data.barframe import INDEX_NAME, read_merged

    if columns is None:
        try:
            return read_merged(part.path)
        except DataError as exc:
            raise DataError(exc.problem, file=str(part.path), line=exc.line, column=exc.column, value=exc.value,
                            hint=exc.hint) from None
    cols = [c for c in columns if c != INDEX_NAME]
    try:
        raw = pd.read_parquet(part.path, engine="pyarrow", columns=cols,
                              to_pandas_kwargs={"date_as_object": False})
    except (KeyError, ValueError, OSError) as exc:
        raise DataError(f"cannot read columns {', '.join(cols)} ({exc})", file=str(part.path),
                        hint="write the dataset with `futures-vpoc data synth --years` or write_partitioned") from None
    # write_merged stores the stamps as the pandas index, which read_parquet restores by itself
    return raw.set_index(INDEX_NAME) if INDEX_NAME in raw.columns else raw


def iter_partitions(folder: str | os.PathLike, columns: Iterable[str] | None = None) -> Iterator[pd.DataFrame]:
    """The months of a bar dataset, one frame at a time, in time order.

    Parameters
    ----------
    folder : str or path-like
        A bar dataset (:func:`write_partitioned`).
    columns : iterable of str, optional
        Read only these columns (a frame indexed by ``timestamp`` holding them, not checked as a
        BarFrame); default: every column, each month a checked BarFrame
        (:func:`~futures_vpoc.data.barframe.read_merged`).

    Yields
    ------
    pandas.DataFrame
        One month of bars (all bars of the trade dates in that month). Memory: one month at a time.

    Raises
    ------
    DataError
        No partition in ``folder``, an unreadable partition, or months whose stamps overlap.
    """
    parts = partitions(folder)
    if not parts:
        raise DataError("no year=YYYY/month=MM/part.parquet partition in the folder", file=str(folder),
                        hint="write a dataset with `futures-vpoc data synth --years N --out DIR`")
    cols = None if columns is None else list(columns)
    last = None
    for part in parts:
        frame = _read_part(part, cols)
        if len(frame) and last is not None and frame.index[0] <= last:
            raise DataError(f"partition {part.key} starts at {frame.index[0]}, not after the previous "
                            f"month's last bar {last}", file=str(part.path),
                            hint="each bar belongs to the month of its trade date; rewrite the dataset")
        if len(frame):
            last = frame.index[-1]
        yield frame


def read_any(path: str | os.PathLike) -> pd.DataFrame:
    """Every bar of a merged file or of a bar dataset folder, as one BarFrame.

    A file goes to :func:`~futures_vpoc.data.barframe.read_merged`; a folder's partitions are
    read one by one and concatenated (the whole data in memory: for the commands that need all of
    it at once).
    """
    from futures_vpoc.data.barframe import conform, read_merged

    p = Path(path)
    if not p.is_dir():
        return read_merged(p)
    frames = list(iter_partitions(p))
    return conform(pd.concat(frames)) if len(frames) > 1 else frames[0]


def synthetic_years(first_year: int, last_year: int, seed: int, signal: float = 0.0) -> Iterator[pd.DataFrame]:
    """The synthetic market (:func:`~futures_vpoc.data.synthetic.synthesize`) one calendar year at a time.

    Year ``y`` is generated by its own call (trade dates ``y-01-01`` to ``y-12-31``, so at most one
    year of bars is in memory) with the seed ``SeedSequence([seed, y])`` gives. The price continues:
    each year starts at the previous year's last close (the front contract carries on across
    1 January), so a year's bars depend on the years before it in the span. VIX: each
    year's model starts afresh from its long-run state (the level may jump at 1 January); until the
    year's first close is published, the bars keep the previous year's last published close (as-of).

    Yields
    ------
    pandas.DataFrame
        One year's BarFrame (about 352,000 one-minute bars), in time order.
    """
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    start_price = None
    last_vix = np.nan
    for year in range(first_year, last_year + 1):
        year_seed = int(np.random.SeedSequence([seed, year]).generate_state(1, np.uint32)[0])
        extra = {} if start_price is None else {"start_price": start_price}
        bars, _ = synthesize(SynthConfig(start=f"{year}-01-01", end=f"{year}-12-31", seed=year_seed,
                                         signal=signal, **extra))
        if np.isfinite(last_vix):
            vix = bars["vix"].to_numpy(copy=True)
            lead = np.isnan(vix) & (np.cumsum(~np.isnan(vix)) == 0)
            vix[lead] = last_vix
            bars["vix"] = vix
        start_price = float(bars["close"].iloc[-1])
        finite = bars["vix"].to_numpy()[np.isfinite(bars["vix"].to_numpy())]
        last_vix = float(finite[-1]) if len(finite) else last_vix
        yield bars


class TableAppender:
    """One ``.csv`` or ``.parquet`` table written piece by piece, appearing whole at :meth:`close`.

    For outputs of a month-by-month pass (e.g. ``profile --developing`` of a dataset): each
    :meth:`append` writes its rows at once (Parquet: one row group each, the schema of the first
    piece; CSV: the header once, then rows), so only one piece is in memory. The file is written
    beside ``path`` under a temporary name and renamed at :meth:`close`; :meth:`abort` (or leaving
    a ``with`` block by an exception) removes it and leaves an existing ``path`` untouched. The
    result reads back equal to writing the concatenated pieces at once (``to_parquet(index=False)``;
    ``to_csv(index=False)`` of the same text).

    Parameters
    ----------
    path : str or path-like
        The table file (``.parquet``/``.pq`` or anything else as CSV).
    to_text : callable, optional
        CSV only: turns a piece into the frame whose text is written (e.g. times as ISO text).
    """

    def __init__(self, path: str | os.PathLike, to_text=None):
        self.path = Path(path)
        self.parquet = self.path.suffix.lower() in (".parquet", ".pq")
        self.to_text = to_text
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.rows = 0
        self._writer = None
        self._columns: list[str] | None = None

    def append(self, frame: pd.DataFrame) -> None:
        """Write ``frame``'s rows (its index is not written; the same columns every time)."""
        if self._columns is None:
            self._columns = list(frame.columns)
        elif list(frame.columns) != self._columns:
            raise ValueError(f"columns {list(frame.columns)} differ from the first piece's {self._columns}")
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.tmp, table.schema)
            self._writer.write_table(table.cast(self._writer.schema))
        else:
            first = self._writer is None
            text = frame if self.to_text is None else self.to_text(frame)
            text.to_csv(self.tmp, mode="w" if first else "a", header=first, index=False, lineterminator="\n")
            self._writer = True
        self.rows += len(frame)

    def close(self) -> Path:
        """Finish the file and rename it to ``path`` (a table with no piece is not written: ValueError)."""
        if self._writer is None:
            self.abort()
            raise ValueError(f"nothing was appended to {self.path}")
        if self.parquet:
            self._writer.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Remove the temporary file (``path`` stays as it was)."""
        if self.parquet and self._writer is not None:
            self._writer.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> TableAppender:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
