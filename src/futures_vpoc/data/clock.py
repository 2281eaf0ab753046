"""Telling a bar file's time zone and bar-stamp convention from where its gaps fall.

A file whose stamps carry no zone (``2023-01-03 09:30:00``) still shows the exchange's clock: CME
Globex closes for the daily maintenance break (16:00-17:00 US Central since 2015-09-21;
16:15-17:00 in 2012-11-19..2015-09-18; 15:15-15:30 before), over the weekend until Sunday 17:00 CT,
and for holidays (:mod:`futures_vpoc.calendar`), always at the same Central-time hours. Read in the
right zone and with the right convention (a stamp marks the bar's start or its end), no bar falls
into a closure, and the file's gaps line up with the closures; read an hour off, the bars of a
trading hour land in the break; read as end stamps when they are starts, the bar at each open lands
one bar width before it (``shared/reference/es_market_and_data_formats.md``, "Detection rules for
ambiguous vendors").

:func:`infer_clock` tries every candidate reading (zone x stamp) and counts the bars that fall into
a closure. It does not place the bars one by one: each closure ``[close, next open)`` is turned
into the file's own wall clock (UTC -> local, plus one bar width for end stamps) and the bars inside
it are counted by binary search in the sorted stamps, which is exact and costs O(closures x log n)
per candidate: about 30 ms for a million bars and eight candidates, plus the bar width
(:func:`~futures_vpoc.data.barframe.bar_width`, the width the loader shifts end stamps by).

Decision rule, with the thresholds and why:

* A candidate *beats* another when the other puts at least ``2 k + 1`` bars into closures where it
  puts ``k``: a clean file gives 0 against >= 1 per break seen (one bar per break for a wrong
  stamp, an hour of bars per break for a wrong zone), and a few stray prints do not decide.
* Candidates that give the same UTC instants for every bar (UTC and Europe/London on a winter-only
  file) are one answer, not rivals; the note says so.
* The best reading is taken only when it puts at most ``2 + n // 100`` of the ``n`` bars into
  closures (else the gaps contradict every reading), when it beats every rival, and when at least one
  daily break or weekend is *seen*: the file has a bar within ``max(30 min, 2 bar widths)`` before
  the closure and after it, and none inside. A one-session file or an RTH-only file sees none.
* A zone the format documents (FirstRate: America/New_York) is kept unless a reading in another
  zone beats it.
* A stamp that does not exist or is ambiguous in a candidate zone (daylight-saving change) falls
  into a closure, since clocks change while Globex is closed for the weekend: it counts against
  that candidate like any bar in a closure, and is an error (by line) only in the reading chosen.

Otherwise :class:`~futures_vpoc.errors.DataError` says which flag to give (``--tz``, ``--stamp``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.calendar import globex_sessions
from futures_vpoc.data.barframe import bar_width
from futures_vpoc.errors import DataError

ZONES = ("America/Chicago", "America/New_York", "UTC", "Europe/London")
"""Zones tried for a file whose stamps carry none (exchange, vendor, universal, London desks)."""

STAMPS = ("start", "end")

_MIN = 60 * 10**9
_DAY = 1440 * _MIN
_FAR = 2**62  # "no bound" for the closures before the first and after the last session
_HALT, _BREAK, _WEEKEND = 0, 1, 2


@dataclass(frozen=True)
class Clock:
    """How a file's wall-clock stamps are to be read.

    Attributes
    ----------
    zone : str
        IANA zone of the stamps.
    stamp : str
        ``"start"`` or ``"end"``: what instant of the bar a stamp marks.
    evidence : str
        Why, for the note (e.g. ``"maintenance gap at 17:00–18:00 local on 9 of 9 days"``).
    """

    zone: str
    stamp: str
    evidence: str


@dataclass
class _Fit:
    zone: str
    stamp: str
    outside: int
    seen: int
    signature: bytes  # UTC offset + stamp shift per day of the file: equal bytes = equal instants
    lo: np.ndarray  # closure bounds in the file's wall clock (ns), this reading
    hi: np.ndarray
    inside: np.ndarray  # bars inside each closure
    tight: np.ndarray  # closure seen: bars close on both sides, none inside
    kind: np.ndarray  # _HALT, _BREAK or _WEEKEND per closure
    spanned: np.ndarray  # closure between the file's first and last stamp


def _closures(first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC ns ``[start, end)`` of every Globex closure around ``first..last`` (wall ns), and its kind."""
    pad = pd.Timedelta(days=7)  # as assign_sessions pads: the same cached calendar years
    sess = globex_sessions(pd.Timestamp(first) - pad, pd.Timestamp(last) + pad)
    cols = {c: pd.DatetimeIndex(sess[c]).as_unit("ns").asi8
            for c in ("open", "close", "halt_start", "halt_end")}
    start = np.r_[-_FAR, cols["close"]]
    end = np.r_[cols["open"], _FAR]
    length = end - start
    kind = np.where(length <= 90 * _MIN, _BREAK, _WEEKEND)
    halt = cols["halt_end"] > cols["halt_start"]
    return (np.r_[start, cols["halt_start"][halt]], np.r_[end, cols["halt_end"][halt]],
            np.r_[kind, np.full(int(halt.sum()), _HALT)])


def _to_wall(utc: np.ndarray, zone: str) -> np.ndarray:
    """UTC ns -> wall-clock ns in ``zone`` (the far bounds stay put)."""
    if zone == "UTC":
        return utc.copy()
    out = utc.copy()
    mid = np.abs(utc) < _FAR
    local = pd.DatetimeIndex(utc[mid].view("M8[ns]")).tz_localize("UTC").tz_convert(zone).tz_localize(None)
    out[mid] = local.as_unit("ns").asi8
    return out


def _offsets(days: np.ndarray, zone: str) -> np.ndarray:
    """UTC offset (ns) of ``zone`` at noon of each day (Globex is closed when clocks change)."""
    if zone == "UTC":
        return np.zeros(len(days), dtype=np.int64)
    noon = days * _DAY + 12 * 60 * _MIN
    utc = pd.DatetimeIndex(noon.view("M8[ns]")).tz_localize(zone).tz_convert("UTC").tz_localize(None)
    return noon - utc.as_unit("ns").asi8


def _fits(wall: np.ndarray, zones: Sequence[str], stamps: Sequence[str], width: int) -> list[_Fit]:
    start, end, kind = _closures(int(wall[0]), int(wall[-1]))
    day = wall // _DAY
    days = day[np.r_[True, day[1:] != day[:-1]]]
    near = max(30 * _MIN, 2 * width)
    fits = []
    for zone in zones:
        lo_z, hi_z = _to_wall(start, zone), _to_wall(end, zone)
        offset = _offsets(days, zone)
        for stamp in stamps:
            shift = width if stamp == "end" else 0
            lo, hi = lo_z + shift, hi_z + shift
            i_lo = np.searchsorted(wall, lo, side="left")
            i_hi = np.searchsorted(wall, hi, side="left")
            inside = i_hi - i_lo
            before = np.where(i_lo > 0, wall[np.maximum(i_lo - 1, 0)], -_FAR)
            after = np.where(i_hi < len(wall), wall[np.minimum(i_hi, len(wall) - 1)], _FAR)
            tight = (inside == 0) & (kind != _HALT) & (lo - before <= near) & (after - hi < near)
            fits.append(_Fit(zone, stamp, int(inside.sum()), int(tight.sum()),
                             (offset + shift).tobytes(), lo, hi, inside, tight, kind,
                             (lo > wall[0]) & (hi <= wall[-1])))
    return fits


def _beats(a: _Fit, b: _Fit) -> bool:
    """``a`` fits clearly better than ``b`` (see the module's decision rule)."""
    return b.outside >= 2 * a.outside + 1


def infer_clock(wall: np.ndarray, *, zones: Sequence[str] = ZONES, stamps: Sequence[str] = STAMPS,
                prior_zone: str | None = None, file: str | None = None,
                line: int | Callable[[], int | None] | None = None,
                column: str | None = None) -> Clock:
    """Tell the zone and the stamp convention of wall-clock bar stamps from the Globex closures.

    Parameters
    ----------
    wall : numpy.ndarray of int64, shape (n,)
        Stamps as written, ns since the epoch of the wall clock (any order; duplicates allowed).
    zones : sequence of str
        Candidate IANA zones (one zone: the zone is known).
    stamps : sequence of {"start", "end"}
        Candidate conventions (one: the convention is known).
    prior_zone : str, optional
        Zone the format documents: kept unless a reading in another zone beats it.
    file, line, column : optional
        Where to point a refusal (the first data row); ``line`` may be a function, called only
        then (finding a line number may mean reading the file again).

    Returns
    -------
    Clock

    Raises
    ------
    DataError
        When the file does not tell (too short, RTH only, gaps contradicting every reading, or two
        readings giving different instants fit equally); the message names ``--tz``/``--stamp``.
    """
    zones = list(dict.fromkeys([*zones, *([prior_zone] if prior_zone else [])]))
    wall = np.asarray(wall, dtype=np.int64)
    if len(wall) > 1 and not bool(np.all(wall[1:] >= wall[:-1])):
        wall = np.sort(wall)
    n = len(wall)
    where = dict(file=file, line=line, column=column)  # a callable line is resolved in _refuse
    if n == 0:
        return Clock(prior_zone or zones[0], stamps[0], "")
    width = bar_width(pd.DatetimeIndex(wall.view("M8[ns]"))).value
    fits = _fits(wall, zones, stamps, width)
    order = {id(f): i for i, f in enumerate(fits)}

    def rank(f: _Fit):
        return (f.outside, f.zone != prior_zone, order[id(f)])

    pool = fits
    best = min(fits, key=rank)
    if prior_zone is not None:  # the documented zone, unless a reading in another zone beats it
        home = min((f for f in fits if f.zone == prior_zone), key=rank)
        if best is home or home.signature == best.signature or not _beats(best, home):
            pool = [f for f in fits if f.zone == prior_zone]
            best = home
    twins = [f for f in fits if f.signature == best.signature and f is not best]
    rivals = [f for f in pool if f.signature != best.signature]
    if rivals:
        if best.outside > 2 + n // 100:
            raise _refuse(rivals, best, f"its gaps fit no reading: at best {best.outside} of {n} bars fall "
                          f"outside the Globex sessions ({best.zone}, bar {best.stamp})", where)
        if best.seen == 0:
            raise _refuse(rivals, best, "no bar next to a daily maintenance break or weekend open "
                          "(file too short, or regular hours only)", where)
        close = [f for f in rivals if not _beats(best, f)]
        if close:
            other = min(close, key=rank)
            raise _refuse(close, best, f"{_name(best)} and {_name(other)} fit equally well "
                          f"({best.outside} and {other.outside} bars outside the Globex sessions)", where)
    return Clock(best.zone, best.stamp, _evidence(best, twins))


def _name(f: _Fit) -> str:
    return f"{f.zone} bar {f.stamp}"


def _refuse(rivals: list[_Fit], best: _Fit, reason: str, where: dict) -> DataError:
    need_tz = any(f.zone != best.zone for f in rivals)
    need_stamp = any(f.stamp != best.stamp for f in rivals)
    if need_tz:
        problem = f"timestamps have no time zone, and the file does not tell it: {reason}"
    else:
        problem = f"bar stamps may mark each bar's start or end, and the file does not tell which: {reason}"
    flags = []
    if need_tz:
        flags.append("--tz with the zone the file was written in (e.g. --tz America/New_York)")
    if need_stamp or not need_tz:
        flags.append("--stamp start or --stamp end")
    line = where["line"]() if callable(where["line"]) else where["line"]
    return DataError(problem, hint="pass " + " and ".join(flags), **{**where, "line": line})


def _clock_text(ns: np.ndarray, fmt: str = "%H:%M") -> list[str]:
    return list(pd.DatetimeIndex(ns.view("M8[ns]")).strftime(fmt))


def _evidence(best: _Fit, twins: list[_Fit]) -> str:
    """Where the file's gaps fall, on its own clock, for the note."""
    parts = []
    spanned = best.spanned & (best.kind == _BREAK)
    if spanned.any():
        seen = spanned & best.tight
        pick = seen if seen.any() else spanned
        labels = Counter(zip(_clock_text(best.lo[pick]), _clock_text(best.hi[pick])))
        (a, b), _ = labels.most_common(1)[0]
        parts.append(f"maintenance gap at {a}–{b} local on {int(seen.sum())} of {int(spanned.sum())} days")
    else:
        spanned = best.spanned & (best.kind == _WEEKEND)
        seen = spanned & best.tight
        if spanned.any():
            pick = seen if seen.any() else spanned
            label = Counter(_clock_text(best.hi[pick], "%a %H:%M")).most_common(1)[0][0]
            parts.append(f"week reopens {label} local after {int(seen.sum())} of {int(spanned.sum())} "
                         "weekend/holiday gaps")
    if not parts:
        parts.append("no closure inside the file")
    zones = sorted({f.zone for f in twins if f.zone != best.zone})
    if zones:
        parts.append(f"same instants as {', '.join(zones)}")
    return "; ".join(parts)
