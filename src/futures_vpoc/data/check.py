"""``data check``: what a BarFrame holds and what is wrong with it, in a dozen lines.

Rows, span, bar width, trade dates, RTH share, contracts and rolls, gaps inside sessions, VIX
coverage, and problems (each a count with its first example). A problem here never stops the
check; the loaders already refused fatal ones.
"""

from __future__ import annotations

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
        Bars absent inside sessions (no-trade minutes) and bars a full calendar would hold;
        zero for daily or coarser bars.
    longest_gap : pandas.Timedelta
        Longest stretch without a bar inside one session.
    vix_pct : float
        Share of bars with a VIX value, percent.
    vix_first : pandas.Timestamp or None
        First bar with a VIX value.
    problems : list of str
        One line per kind of problem found.
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


def _session_gaps(bars: pd.DataFrame, width: pd.Timedelta, hours: SessionHours) -> tuple[int, int, pd.Timedelta]:
    if width >= pd.Timedelta(hours=1) or bars.empty:
        return 0, 0, pd.Timedelta(0)
    dates = pd.DatetimeIndex(bars["trade_date"].unique())
    sess = globex_sessions(dates.min(), dates.max(), hours).loc[dates]
    length = (sess["close"] - sess["open"]) - (sess["halt_end"] - sess["halt_start"])
    expected = int((length // width).sum())
    t = bars.index.asi8
    same = bars["trade_date"].to_numpy()[1:] == bars["trade_date"].to_numpy()[:-1]
    steps = np.diff(t)[same]
    longest = pd.Timedelta(int(steps.max()) - width.value, unit="ns") if len(steps) else pd.Timedelta(0)
    return max(expected - len(bars), 0), expected, max(longest, pd.Timedelta(0))


def _problems(bars: pd.DataFrame, tick: float, hours: SessionHours) -> list[str]:
    out = []
    prices = bars[list(PRICE_COLUMNS)].to_numpy()
    finite = np.isfinite(prices).all(axis=1)
    if (~finite).any():
        out.append(f"{int((~finite).sum())} bars with NaN or inf prices (first {bars.index[~finite][0]})")
    with np.errstate(invalid="ignore"):
        bad_ohlc = finite & ((bars["high"] < bars["low"]) | (bars[["open", "close"]].max(axis=1) > bars["high"])
                             | (bars[["open", "close"]].min(axis=1) < bars["low"])).to_numpy()
        ticks = prices[finite] / tick
        off_grid = int((np.abs(ticks - np.round(ticks)) > 1e-6).any(axis=1).sum())
    if bad_ohlc.any():
        out.append(f"{int(bad_ohlc.sum())} bars with open/close outside [low, high] (first {bars.index[bad_ohlc][0]})")
    if off_grid:
        out.append(f"{off_grid} bars with prices off the {tick} tick grid (expected for a ratio-adjusted or index series)")
    if (bars["volume"] < 0).any():
        out.append(f"{int((bars['volume'] < 0).sum())} bars with negative volume")
    where = assign_sessions(bars.index, hours)
    outside = ~where.in_session
    if outside.any():
        out.append(f"{int(outside.sum())} bars outside Globex sessions (first {bars.index[outside][0]}); check the time zone")
    stale = where.in_session & (where.trade_date != bars["trade_date"].to_numpy())
    if stale.any():
        out.append(f"{int(stale.sum())} bars whose trade_date disagrees with the CME calendar (first {bars.index[stale][0]})")
    return out


def check_bars(bars: pd.DataFrame, tick: float = ES_TICK_SIZE, hours: SessionHours | None = None) -> CheckReport:
    """Summarise a BarFrame.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame (DESIGN.md section 2).
    tick : float
        Tick size for the grid check, index points.
    hours : SessionHours, optional
        RTH window used when the frame was built.
    """
    hours = hours or SessionHours()
    width = bar_width(bars.index)
    segs, rolls = _contracts_and_rolls(bars) if len(bars) else ([], [])
    missing, expected, longest = _session_gaps(bars, width, hours)
    vol = bars["volume"].to_numpy()
    rth = bars["rth"].to_numpy()
    has_vix = bars["vix"].notna().to_numpy()
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
        missing_bars=missing,
        expected_bars=expected,
        longest_gap=longest,
        vix_pct=_pct(has_vix.sum(), len(bars)),
        vix_first=bars.index[has_vix][0] if has_vix.any() else None,
        problems=_problems(bars, tick, hours) if len(bars) else ["no bars"],
    )


def format_check(report: CheckReport, name: str = "") -> str:
    """Human-readable lines for ``data check``."""
    r = report
    lines = [f"data check {name}".rstrip(),
             f"  rows          {r.rows:,} bars of {r.width}",
             f"  span (UTC)    {r.first} .. {r.last}",
             f"  trade dates   {r.trade_dates:,}",
             f"  RTH           {r.rth_rows_pct:.1f}% of bars, {r.rth_volume_pct:.1f}% of volume"]
    names = ", ".join(c[0] for c in r.contracts[:8]) + (" ..." if len(r.contracts) > 8 else "")
    lines.append(f"  contracts     {len({c[0] for c in r.contracts})}: {names}")
    lines.append(f"  rolls         {len(r.rolls)}" + "".join(
        f"\n                {d} {a}->{b} jump {j:+.2f} pts" for d, a, b, j in r.rolls[:12]))
    if r.expected_bars:
        lines.append(f"  gaps          {r.missing_bars:,} of {r.expected_bars:,} session bars absent "
                     f"({_pct(r.missing_bars, r.expected_bars):.2f}%, no-trade intervals); longest {r.longest_gap}")
    lines.append(f"  VIX           {r.vix_pct:.1f}% of bars" + (f", from {r.vix_first}" if r.vix_first is not None else ""))
    lines.append(f"  problems      {len(r.problems)}" + "".join(f"\n                - {p}" for p in r.problems))
    return "\n".join(lines)
