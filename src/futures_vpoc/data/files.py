"""Which files of an ``--es`` path hold the bars: the file itself, or a folder's bar files.

A folder is read as one market: its files must share one vendor layout. Files of different
detected layouts (a NinjaTrader export beside a generic CSV) are refused before anything is read
or written, naming one file of each layout. LEAN ``quote`` and ``openinterest`` zips, which hold
no bars, are skipped with one note; the ``trade`` zips beside them are read.
"""

from __future__ import annotations

import os
from pathlib import Path

from futures_vpoc.data.formats import detect_format, lean_tick_type
from futures_vpoc.errors import DataError


class BarFiles(list):
    """The bar files to read, in name order (a ``list`` of :class:`pathlib.Path`).

    Attributes
    ----------
    formats : list of str or None
        Detected format of each file (None where detection failed: the reader then says why),
        or ``fmt`` for every file when a format was given.
    notes : list of str
        Human lines about files skipped.
    """

    def __init__(self, files: list[Path], formats: list[str | None], notes: list[str]):
        super().__init__(files)
        self.formats = formats
        self.notes = notes


def bar_files(path: str | os.PathLike, fmt: str = "auto") -> BarFiles:
    """The file itself, or the bar files of a folder sorted by name.

    Parameters
    ----------
    path : str or path-like
        A bar file or a folder of them (hidden files are ignored).
    fmt : str
        The ``--es-format``; with ``"auto"`` every file's layout is detected and must agree.

    Returns
    -------
    BarFiles

    Raises
    ------
    DataError
        When the path does not exist, the folder holds no bar file, or its files are of different
        layouts.
    """
    path = Path(path)
    if path.is_file():
        return BarFiles([path], [None if fmt == "auto" else fmt], [])
    if not path.exists():
        raise DataError("file or folder not found", file=str(path), hint="check the --es path")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    skipped = [p for p in files if lean_tick_type(p) in ("quote", "openinterest")]
    files = [p for p in files if p not in skipped]
    notes = [f"{path.name}: skipped {len(skipped)} LEAN quote/openinterest zip(s) (bars come from the "
             "*_trade.zip files)"] if skipped else []
    if not files:
        raise DataError("no bar files in the folder", file=str(path),
                        hint="put one file per contract (CSV, TXT, Parquet, DBN) or LEAN *_trade.zip files in it"
                        if not skipped else "LEAN bars come from the <YYYYMMDD>_trade.zip files; none is here")
    if fmt != "auto":
        return BarFiles(files, [fmt] * len(files), notes)
    formats = [_detected(p) for p in files]
    check_one_layout(path, files, formats)
    return BarFiles(files, formats, notes)


def _detected(path: Path) -> str | None:
    try:
        return detect_format(path)
    except (DataError, OSError):
        return None  # the reader reports it, located


def check_one_layout(folder: Path, files: list[Path], formats: list[str | None]) -> None:
    """Raise when the detected formats of a folder's files differ (files not detected are ignored).

    Raises
    ------
    DataError
        Naming the folder, the first file of the first layout and the first file of another.
    """
    seen: dict[str, Path] = {}
    for f, fmt in zip(files, formats):
        if fmt is not None:
            seen.setdefault(fmt, f)
    if len(seen) > 1:
        (fmt_a, file_a), (fmt_b, file_b) = list(seen.items())[:2]
        more = f" (and {len(seen) - 2} more layout(s))" if len(seen) > 2 else ""
        raise DataError(f"mixed bar file layouts in one folder: {file_a.name} is {fmt_a}, "
                        f"{file_b.name} is {fmt_b}{more}",
                        file=str(folder), hint="a folder is read as one market: keep one vendor's files in it, "
                        "or pass --es-format to read them all in one layout")


__all__ = ["BarFiles", "bar_files", "check_one_layout"]
