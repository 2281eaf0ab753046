"""Describe a vendor bar file however wrong it is: ``data check`` on a file the loaders refuse.

:func:`futures_vpoc.data.load.load_es` stops at the first problem (it must: nothing may be built
on bad bars). :func:`survey` runs the same checks (:mod:`futures_vpoc.data.validate`, in its order)
in a collecting mode instead: each kind of problem becomes one line with its count and its first
file and line, the offending rows are set aside, and the rest is described by
:func:`futures_vpoc.data.check.check_bars`. Kinds, in this order:

=========================  ========================================================  ===========
kind                       found where                                               rows
=========================  ========================================================  ===========
zone unknown               the reader needs ``--tz``: read again as UTC              kept
NaN or infinite values     price or volume missing, NaN or infinite                  set aside
negative volume                                                                      set aside
out of order               a bar start earlier than a previous one of its contract   set aside
duplicate timestamps       the same bar start twice for one contract                 set aside
bad prints                 ``|log(price / neighbours' median close)| > 0.25``        set aside
off the tick grid          a price more than 1e-6 tick off the grid                  kept
OHLC inconsistent          ``high < low``, open or close outside ``[low, high]``     set aside
outside Globex sessions    halt, weekend, holiday (or a wrong zone or bar stamp)     set aside
=========================  ========================================================  ===========

Off-grid prices are kept (they describe the market well enough) but, in a vendor file of futures
prices, are a problem: the merge refuses them. Gaps are described, not counted as problems
(vendors omit no-trade intervals). Bar stamps become bar starts and contracts are named as the loader
does (:mod:`futures_vpoc.data.load`), and a folder of per-contract files is spliced as ``data
merge`` does (``--roll``, unadjusted): the description is that of the series a merge would build.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.calendar import assign_sessions
from futures_vpoc.config import EXCHANGE_TZ, SessionHours
from futures_vpoc.data.barframe import BAR_COLUMNS, conform
from futures_vpoc.data.check import CheckReport, check_bars
from futures_vpoc.data.formats import PRICE_FIELDS, RawBars, read_bars
from futures_vpoc.data.load import _combine, _to_bar_start, bar_files
from futures_vpoc.data.merge import MergeOptions
from futures_vpoc.data.rolls import build_continuous
from futures_vpoc.data.validate import BAD_PRINT_LOG_RATIO, Bars, Sources, find_bad_prints
from futures_vpoc.data.validate.prices import off_grid_rows, ohlc_problems
from futures_vpoc.data.validate.timestamps import duplicate_rows
from futures_vpoc.errors import DataError

KINDS = ("zone unknown", "NaN or infinite values", "negative volume", "out of order", "duplicate timestamps",
         "bad prints", "off the tick grid", "OHLC inconsistent", "outside Globex sessions")
"""Problem kinds in the order they are reported."""
_ZONES = ("UTC", "America/Chicago", "America/New_York")
"""Zones tried to suggest a ``--tz`` for a file that states none."""


@dataclass(frozen=True)
class Survey:
    """What :func:`survey` found.

    Attributes
    ----------
    bars : pandas.DataFrame
        BarFrame of the rows kept (``vix`` all NaN).
    report : CheckReport
        Its description; ``problems`` starts with one line per kind in :data:`KINDS` found.
    notes : tuple of str
        How each file was read (format, zone, bar stamp).
    """

    bars: pd.DataFrame
    report: CheckReport
    notes: tuple[str, ...]


@dataclass
class _Found:
    """One kind of problem: count and the first occurrence by (file, line)."""

    count: int = 0
    first: tuple[int, int] = (1 << 30, 0)
    where: str = ""
    unit: str = "row"
    kept: bool = False


@dataclass
class _Findings:
    kinds: dict[str, _Found] = field(default_factory=dict)

    def add(self, kind: str, count: int, key: tuple[int, int], where: str, unit: str = "row",
            kept: bool = False) -> None:
        found = self.kinds.setdefault(kind, _Found(unit=unit, kept=kept))
        found.count += count
        if key < found.first:
            found.first, found.where = key, where

    def lines(self) -> list[str]:
        out = []
        for kind in KINDS:
            f = self.kinds.get(kind)
            if f is None:
                continue
            if f.unit == "file":  # "zone unknown: <file>: <message>; read as UTC"
                more = f" (and {f.count - 1} more file{'s' if f.count > 2 else ''})" if f.count > 1 else ""
                out.append(f"{kind}: {f.where}{more}")
                continue
            action = "; kept" if f.kept else "; set aside"
            out.append(f"{kind}: {f.count:,} row{'s' if f.count != 1 else ''}, first {f.where}{action}")
        return out


def _where(raw: RawBars, row: int) -> str:
    """``file:line`` of data row ``row`` (a LEAN zip names its entry; Parquet gives the row)."""
    line = raw.lines.line(int(row))
    name = raw.lines.name(int(row))
    return f"{name}:{line}" if line is not None else f"{name} row {int(row) + 1}"


def _take(raw: RawBars, keep: np.ndarray) -> RawBars:
    """The rows ``keep`` of every per-row array of ``raw``."""
    n = len(raw)
    arrays = {f.name: getattr(raw, f.name)[keep] for f in dataclasses.fields(raw)
              if isinstance(getattr(raw, f.name), np.ndarray) and len(getattr(raw, f.name)) == n}
    return dataclasses.replace(raw, **arrays)


def _best_zone(raw: RawBars, hours: SessionHours) -> str:
    """``; sessions fit best in <zone> (--tz <zone>)`` when a zone other than UTC fits better."""
    fit = {}
    for zone in _ZONES:
        stamps = pd.DatetimeIndex(raw.ts.view("M8[ns]")).tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        stamps = stamps[~stamps.isna()]
        fit[zone] = float(assign_sessions(stamps.tz_convert("UTC"), hours).in_session.mean()) if len(stamps) else 0.0
    best = max(_ZONES, key=lambda z: fit[z])
    return f"; sessions fit best in {best} (--tz {best})" if fit[best] > fit["UTC"] else ""


def _read(path: Path, index: int, options: MergeOptions, found: _Findings) -> RawBars:
    """Read a file; a file that states no time zone (and none was given) is read as UTC."""
    try:
        return read_bars(path, options.es_format, tz=options.tz, stamp=options.stamp)
    except DataError as exc:
        if options.tz is not None or "time zone" not in exc.problem.lower():
            raise
        problem = exc.problem
    raw = read_bars(path, options.es_format, tz="UTC", stamp=options.stamp)
    found.add("zone unknown", 1, (index, -1), f"{path}: {problem}; read as UTC{_best_zone(raw, options.hours)}",
              unit="file")
    return raw


def _file_checks(raw: RawBars, index: int, found: _Findings) -> RawBars:
    """Set aside rows with NaN/infinite values, negative volume, or a start going backwards."""
    prices = np.column_stack([getattr(raw, k) for k in PRICE_FIELDS]) if len(raw) else np.empty((0, 4))
    bad = {"NaN or infinite values": ~np.isfinite(prices).all(axis=1) | ~np.isfinite(raw.volume)}
    with np.errstate(invalid="ignore"):
        bad["negative volume"] = np.isfinite(raw.volume) & (raw.volume < 0)
    keep = np.ones(len(raw), dtype=bool)
    for kind, mask in bad.items():
        mask = mask & keep
        if mask.any():
            i = int(np.argmax(mask))
            found.add(kind, int(mask.sum()), (index, int(raw.row[i])), _where(raw, raw.row[i]))
        keep &= ~mask
    back = np.zeros(len(raw), dtype=bool)
    for code in np.unique(raw.contract_codes[keep]):
        rows = np.flatnonzero(keep & (raw.contract_codes == code))
        t = raw.ts[rows]
        back[rows[1:]] = t[1:] < np.maximum.accumulate(t)[:-1]
    if back.any():
        i = int(np.argmax(back))
        found.add("out of order", int(back.sum()), (index, int(raw.row[i])), _where(raw, raw.row[i]))
    return _take(raw, keep & ~back)


def _bar_starts(raw: RawBars, hours: SessionHours, found: list[str]) -> tuple[np.ndarray, str | None]:
    """The loader's bar starts; a bar stamp that cannot be told is read as the start (a problem)."""
    try:
        return _to_bar_start(raw, hours)
    except DataError as exc:
        found.append(f"bar stamp unknown: {raw.path}: {exc.problem}; read as bar starts")
        return raw.ts, None


def _set_aside(bars: Bars, sources: Sources, found: _Findings, kind: str, rows: np.ndarray,
               extra: str = "", kept: bool = False) -> Bars:
    if not len(rows):
        return bars
    i = sources.first(bars, rows)
    where = sources.where(bars, i) + extra.format(prev=sources.where(bars, max(i - 1, 0)),
                                                  ct=_ct(bars.ts[i]))
    found.add(kind, len(rows), (int(bars.file[i]), int(bars.row[i])), where, kept=kept)
    if kept:
        return bars
    keep = np.ones(len(bars), dtype=bool)
    keep[rows] = False
    return bars.take(keep)


def _ct(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").tz_convert(EXCHANGE_TZ).strftime("%a %Y-%m-%d %H:%M CT")


def _cross_file_checks(bars: Bars, sources: Sources, found: _Findings, tick: float, hours: SessionHours) -> Bars:
    """Duplicates, bad prints, tick grid, OHLC, sessions (the order of the validation)."""
    bars = _set_aside(bars, sources, found, "duplicate timestamps", duplicate_rows(bars), " (same as {prev})")
    rows = np.unique(find_bad_prints(bars)[0])
    bars = _set_aside(bars, sources, found, "bad prints", rows,
                      f" (|log(price / median of 10 neighbouring closes)| > {BAD_PRINT_LOG_RATIO})")
    bars = _set_aside(bars, sources, found, "off the tick grid", off_grid_rows(bars, tick),
                      f" (tick {tick:g})", kept=True)
    bad = np.logical_or.reduce([mask for _, mask, _ in ohlc_problems(bars)])
    bars = _set_aside(bars, sources, found, "OHLC inconsistent", np.flatnonzero(bad))
    sess = assign_sessions(pd.DatetimeIndex(bars.ts.view("M8[ns]")).tz_localize("UTC"), hours)
    return _set_aside(bars, sources, found, "outside Globex sessions", np.flatnonzero(~sess.in_session),
                      " (starts {ct}: halt, weekend or holiday; or a wrong zone or bar stamp)")


def _frame(bars: Bars, names: list[str], hours: SessionHours) -> pd.DataFrame:
    """The kept bars as the long per-contract frame the roll takes."""
    stamps = pd.DatetimeIndex(bars.ts.view("M8[ns]")).tz_localize("UTC")
    sess = assign_sessions(stamps, hours)
    return pd.DataFrame({"timestamp": stamps, **{k: getattr(bars, k) for k in (*PRICE_FIELDS, "volume")},
                         "contract": np.asarray(names, dtype=object)[bars.contract] if len(bars) else [],
                         "trade_date": sess.trade_date, "rth": sess.rth})


def _series(frame: pd.DataFrame, roll: str, found: list[str]) -> pd.DataFrame:
    """The continuous series a merge would build; if the contracts cannot be spliced, the one
    with the most bars alone (and a problem line saying why)."""
    if frame.empty:
        empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS},
                             index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
        return empty.assign(contract=pd.Series(dtype="str"), trade_date=pd.Series(dtype="datetime64[ns]"),
                            rth=pd.Series(dtype=bool))
    try:
        out = build_continuous(frame, method=roll).bars
    except DataError as exc:
        most = frame["contract"].value_counts().index[0]
        found.append(f"contracts not spliced: {exc.problem}; described {most} alone")
        out = build_continuous(frame[frame["contract"] == most], method="calendar").bars
    return out.assign(vix=np.nan)


def _locator(bars: Bars, names: list[str], sources: Sources, frame: pd.DataFrame):
    """``file:line`` of row ``i`` of the series (found by contract and bar start)."""
    rank = {n: i for i, n in enumerate(names)}
    ts = frame.index.as_unit("ns").asi8
    contract = frame["contract"].to_numpy()

    def locate(i: int) -> str:
        code = rank[str(contract[i])]
        lo, hi = np.searchsorted(bars.contract, [code, code + 1])
        j = lo + int(np.searchsorted(bars.ts[lo:hi], ts[i]))
        return sources.where(bars, j)
    return locate


def survey(path: str | Path, options: MergeOptions | None = None) -> Survey:
    """Read a vendor file or folder, collect every kind of problem, describe the rest.

    Parameters
    ----------
    path : str or pathlib.Path
        A bar file, or a folder of per-contract files.
    options : MergeOptions, optional
        Format, zone, stamp, tick, hours and roll, as for ``data merge`` (``repair`` is ignored:
        problems are reported, offending rows set aside).

    Returns
    -------
    Survey

    Raises
    ------
    DataError
        Only when a file cannot be read at all (missing, unknown layout, unparseable cell).
    """
    options = options or MergeOptions()
    hours = options.hours
    found, stamp_problems = _Findings(), []
    files = bar_files(path)
    raws, starts, notes = [], [], list(getattr(files, "notes", []))
    for index, f in enumerate(files):
        raw = _file_checks(_read(f, index, options, found), index, found)
        start, note = _bar_starts(raw, hours, stamp_problems)
        raws.append(raw)
        starts.append(start)
        notes.extend(raw.notes + ([note] if note else []))
    bars, names = _combine(raws, starts)  # the loader's contract names and order
    sources = Sources([r.lines for r in raws])
    bars = _cross_file_checks(bars, sources, found, options.tick, hours)
    problems = found.lines() + stamp_problems
    series = conform(_series(_frame(bars, names, hours), options.roll, problems))
    report = check_bars(series, options.tick, hours, locate=_locator(bars, names, sources, series), grid="skip")
    report = dataclasses.replace(report, problems=problems + [p for p in report.problems if p != "no bars"]
                                 + (["no bars left to describe"] if report.rows == 0 else []))
    return Survey(bars=series, report=report, notes=tuple(notes))


__all__ = ["KINDS", "Survey", "survey"]
