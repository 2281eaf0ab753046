"""``data check``: what a BarFrame holds and what is wrong with it, in a dozen lines.

Rows, span, bar width, trade dates, RTH share, contracts and rolls, gaps inside sessions, VIX
coverage, problems (each kind one line: its count and its first example) and notes (lines that
describe without being a problem). A problem never stops the check. A vendor file is read through
:mod:`futures_vpoc.data.survey`, which collects the problems the loaders would refuse.

Gaps: every stretch of a session without a bar, the session's edges included (open to the first
bar, last bar's end to the close) and the daily halt excluded; vendors omit no-trade intervals
(Databento: "if no trade occurs within the interval, no record is printed"), so gaps are a note,
not a problem. Prices off the tick grid in a BarFrame are a note too: the merge snaps or refuses
off-grid futures prices, so only a ratio-adjusted series or an index series (the S&P 500 sample,
whose values are computed to 0.01) has them, by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from futures_vpoc.calendar import assign_sessions, globex_sessions
from futures_vpoc.config import ES_TICK_SIZE, SessionHours
from futures_vpoc.data.barframe import PRICE_COLUMNS, bar_width


@dataclass(frozen=True)
class CheckReport:
    """Summary of one BarFrame (all times UTC; prices in index points).

    Attributes
    ----------
    rows, trade_dates : int
    first, last : pandas.Timestamp
        First and last bar start.
    width : pandas.Timedelta
        Nominal bar width.
    rth_rows_pct, rth_volume_pct : float
        Share of bars and of volume inside RTH, percent.
    contracts : list of tuple
        ``(contract, first trade date, last trade date, rows)`` in time order.
    rolls : list of tuple
        ``(trade date, from, to, close-to-open jump in points)`` at each contract change.
    missing_bars, expected_bars : int
        Bars absent inside sessions (no-trade minutes, session edges included) and bars a full
        calendar would hold; zero for bars of an hour or more.
    longest_gap : pandas.Timedelta
        Longest stretch without a bar inside one session (halt excluded), edges included.
    gaps : int
        Stretches of at least one missing bar.
    longest_gap_at : str
        Where the longest gap is: trade date, UTC start and end, the bar after it.
    vix_pct : float
        Share of bars with a VIX value, percent.
    vix_first : pandas.Timestamp or None
        First bar with a VIX value.
    problems : list of str
        One line per kind of problem found (count, first example).
    notes : list of str
        Lines that describe the data without being a problem (e.g. prices off the tick grid).
    """

    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    width: pd.Timedelta
    trade_dates: int
    rth_rows_pct: float
    rth_volume_pct: float
    contracts: list = field(default_factory=list)
    rolls: list = field(default_factory=list)
    missing_bars: int = 0
    expected_bars: int = 0
    longest_gap: pd.Timedelta = pd.Timedelta(0)
    vix_pct: float = 0.0
    vix_first: pd.Timestamp | None = None
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    gaps: int = 0
    longest_gap_at: str = ""


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def _contracts_and_rolls(bars: pd.DataFrame) -> tuple[list, list]:
    contract = bars["contract"].to_numpy()
    change = np.flatnonzero(contract[1:] != contract[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(bars)]
    segs = [(contract[s], bars["trade_date"].iloc[s].date(), bars["trade_date"].iloc[e - 1].date(), int(e - s))
            for s, e in zip(starts, ends)]
    rolls = [(bars["trade_date"].iloc[i].date(), contract[i - 1], contract[i],
              float(bars["open"].iloc[i] - bars["close"].iloc[i - 1])) for i in change]
    return segs, rolls


def duration(td: pd.Timedelta) -> str:
    """A width or gap as ``1 min``, ``2 h 15 min`` or ``3 days 1 h``."""
    seconds = int(pd.Timedelta(td).total_seconds())
    if seconds < 60:
        return f"{pd.Timedelta(td).total_seconds():g} s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} day" + ("s" if days != 1 else "")] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{secs} s"] if secs else []
    return " ".join(parts)


@dataclass(frozen=True)
class _Gaps:
    missing: int = 0
    expected: int = 0
    count: int = 0
    longest: pd.Timedelta = pd.Timedelta(0)
    at: str = ""


def _session_gaps(bars: pd.DataFrame, width: pd.Timedelta, hours: SessionHours,
                  locate: Callable[[int], str] | None) -> _Gaps:
    """Stretches without a bar in each session of the bars' trade dates, edges included."""
    if width >= pd.Timedelta(hours=1) or bars.empty:
        return _Gaps()
    day = bars["trade_date"].to_numpy(dtype="datetime64[ns]")
    known = ~np.isnat(day)
    dates = pd.DatetimeIndex(np.unique(day[known]))
    if not len(dates):
        return _Gaps()
    sess = globex_sessions(dates.min(), dates.max(), hours).reindex(dates).dropna(subset=["open"])
    col = {c: pd.DatetimeIndex(sess[c]).as_unit("ns").asi8 for c in ("open", "close", "halt_start", "halt_end")}
    length = (col["close"] - col["open"]) - (col["halt_end"] - col["halt_start"])
    w = int(width.value)
    t = bars.index.as_unit("ns").asi8
    row = sess.index.get_indexer(pd.DatetimeIndex(day))
    ok = row >= 0
    pos = np.flatnonzero(ok)
    t, row = t[ok], row[ok]
    first = np.r_[True, row[1:] != row[:-1]]
    last = np.r_[row[1:] != row[:-1], True]
    # before each bar: from the session open (first bar) or the previous bar's end; after a
    # session's last bar: to the close. ``after`` = position of the bar that ends the gap (-1: close).
    g_start = np.r_[np.where(first, col["open"][row], np.r_[0, t[:-1]] + w), t[last] + w]
    g_end = np.r_[t, col["close"][row[last]]]
    g_row = np.r_[row, row[last]]
    after = np.r_[pos, np.full(int(last.sum()), -1)]
    halt = np.maximum(0, np.minimum(g_end, col["halt_end"][g_row]) - np.maximum(g_start, col["halt_start"][g_row]))
    gap = np.maximum(g_end - g_start - halt, 0)
    missing = gap // w
    if not (missing > 0).any():
        return _Gaps(0, int((length // w).sum()), 0, pd.Timedelta(0), "")
    k = int(np.argmax(gap))
    a, b = (pd.Timestamp(int(x), tz="UTC") for x in (g_start[k], g_end[k]))
    span = f"{a:%Y-%m-%d %H:%M}..{b:%H:%M}" if a.date() == b.date() else f"{a:%Y-%m-%d %H:%M}..{b:%Y-%m-%d %H:%M}"
    at = f"trade date {sess.index[g_row[k]].date()}, {span} UTC"
    if after[k] < 0:
        at += ", up to the session close"
    elif locate is not None:
        at += f", before {locate(int(after[k]))}"
    return _Gaps(int(missing.sum()), int((length // w).sum()), int((missing > 0).sum()),
                 pd.Timedelta(int(gap[k]), unit="ns"), at)


def _finding(kind: str, mask: np.ndarray, locate: Callable[[int], str], what: str = "") -> str:
    """``kind: N bars<what>, first <where>`` (the kinds of :data:`futures_vpoc.data.survey.KINDS`)."""
    n = int(mask.sum())
    return f"{kind}: {n:,} bar{'s' if n != 1 else ''}{what}, first {locate(int(np.argmax(mask)))}"


def _problems(bars: pd.DataFrame, tick: float, hours: SessionHours, locate: Callable[[int], str],
              grid: str) -> tuple[list[str], list[str]]:
    problems, notes = [], []
    prices = bars[list(PRICE_COLUMNS)].to_numpy()
    finite = np.isfinite(prices).all(axis=1)
    if (~finite).any():
        problems.append(_finding("NaN or infinite values", ~finite, locate, " (prices)"))
    with np.errstate(invalid="ignore"):
        bad_ohlc = finite & ((bars["high"] < bars["low"]) | (bars[["open", "close"]].max(axis=1) > bars["high"])
                             | (bars[["open", "close"]].min(axis=1) < bars["low"])).to_numpy()
        ticks = prices / tick
        off_grid = finite & (np.abs(ticks - np.round(ticks)) > 1e-6).any(axis=1)
    if bad_ohlc.any():
        problems.append(_finding("OHLC inconsistent", bad_ohlc, locate,
                                 " (high < low, or open/close outside [low, high])"))
    if off_grid.any() and grid != "skip":
        line = _finding("off the tick grid", off_grid, locate, f" with prices off the {tick:g} grid")
        if grid == "problem":
            problems.append(line)
        else:
            notes.append(line + " (expected for a ratio-adjusted or index series)")
    negative = (bars["volume"] < 0).to_numpy()
    if negative.any():
        problems.append(_finding("negative volume", negative, locate))
    where = assign_sessions(bars.index, hours)
    outside = ~where.in_session
    if outside.any():
        problems.append(_finding("outside Globex sessions", outside, locate, " (check the time zone)"))
    stale = where.in_session & (where.trade_date != bars["trade_date"].to_numpy())
    if stale.any():
        problems.append(_finding("trade_date disagrees with the CME calendar", stale, locate))
    return problems, notes


def _utc_text(bars: pd.DataFrame) -> Callable[[int], str]:
    return lambda i: f"{bars.index[i]:%Y-%m-%d %H:%M} UTC"


def check_bars(bars: pd.DataFrame, tick: float = ES_TICK_SIZE, hours: SessionHours | None = None,
               locate: Callable[[int], str] | None = None, grid: str = "note") -> CheckReport:
    """Summarise a BarFrame.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame (DESIGN.md section 2).
    tick : float
        Tick size for the grid check, index points.
    hours : SessionHours, optional
        RTH window used when the frame was built.
    locate : callable, optional
        Names bar ``i`` (its position) in a message, e.g. ``es.csv:1234``; default its UTC start.
    grid : {"note", "problem", "skip"}
        What prices off the tick grid are (module docstring): a note (default), a problem, or not
        looked at (the caller counted them).
    """
    hours = hours or SessionHours()
    width = bar_width(bars.index)
    segs, rolls = _contracts_and_rolls(bars) if len(bars) else ([], [])
    gaps = _session_gaps(bars, width, hours, locate)
    locate = locate or _utc_text(bars)
    vol = bars["volume"].to_numpy()
    rth = bars["rth"].to_numpy()
    has_vix = bars["vix"].notna().to_numpy()
    problems, notes = _problems(bars, tick, hours, locate, grid) if len(bars) else (["no bars"], [])
    return CheckReport(
        rows=len(bars),
        first=bars.index[0] if len(bars) else None,
        last=bars.index[-1] if len(bars) else None,
        width=width,
        trade_dates=int(bars["trade_date"].nunique()),
        rth_rows_pct=_pct(rth.sum(), len(bars)),
        rth_volume_pct=_pct(vol[rth].sum(), vol.sum()),
        contracts=segs,
        rolls=rolls,
        missing_bars=gaps.missing,
        expected_bars=gaps.expected,
        longest_gap=gaps.longest,
        vix_pct=_pct(has_vix.sum(), len(bars)),
        vix_first=bars.index[has_vix][0] if has_vix.any() else None,
        problems=problems,
        notes=notes,
        gaps=gaps.count,
        longest_gap_at=gaps.at,
    )


def format_check(report: CheckReport, name: str = "") -> str:
    """Human-readable lines for ``data check``."""
    r = report
    lines = [f"data check {name}".rstrip(),
             f"  rows          {r.rows:,} bars of {duration(r.width)}",
             f"  span (UTC)    {r.first} .. {r.last}",
             f"  trade dates   {r.trade_dates:,}",
             f"  RTH           {r.rth_rows_pct:.1f}% of bars, {r.rth_volume_pct:.1f}% of volume"]
    names = ", ".join(c[0] for c in r.contracts[:8]) + (" ..." if len(r.contracts) > 8 else "")
    lines.append(f"  contracts     {len({c[0] for c in r.contracts})}: {names}")
    lines.append(f"  rolls         {len(r.rolls)}" + "".join(
        f"\n                {d} {a}->{b} jump {j:+.2f} pts" for d, a, b, j in r.rolls[:12]))
    if r.expected_bars:
        minutes = r.missing_bars * r.width / pd.Timedelta(minutes=1)
        lines.append(f"  gaps          {r.missing_bars:,} of {r.expected_bars:,} session bars absent "
                     f"({minutes:,.0f} min, {_pct(r.missing_bars, r.expected_bars):.2f}%) in {r.gaps:,} gaps, "
                     "session edges included (no-trade intervals)")
        if r.gaps:
            lines.append(f"                longest {duration(r.longest_gap)}: {r.longest_gap_at}")
    lines.append(f"  VIX           {r.vix_pct:.1f}% of bars" + (f", from {r.vix_first}" if r.vix_first is not None else ""))
    lines.append(f"  problems      {len(r.problems)}" + "".join(f"\n                - {p}" for p in r.problems))
    if r.notes:
        lines.append(f"  notes         {len(r.notes)}" + "".join(f"\n                - {p}" for p in r.notes))
    return "\n".join(lines)
