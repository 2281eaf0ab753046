"""Picture of one session: price bars beside the horizontal volume histogram.

Left: candlesticks (bars merged to at most about 120 candles), the developing VPOC and value area
as step lines over time, the previous session's VPOC, RTH shaded. Right: volume by price level,
value-area levels darker, the VPOC in red. The finished VPOC, VAH and VAL run across both.
Drawn with matplotlib's object API on the Agg canvas (no display, no pyplot global state).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from futures_vpoc.config import EXCHANGE_TZ
from futures_vpoc.profile.developing import DevelopingProfile

_CANDLE_MINUTES = (1, 2, 3, 5, 10, 15, 30, 60, 120, 240, 1440)


def _candles(bars: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timedelta]:
    """OHLC merged into equal periods so that at most about 120 candles remain."""
    span = (bars.index[-1] - bars.index[0]) / pd.Timedelta(minutes=1) + 1
    minutes = next((m for m in _CANDLE_MINUTES if span / m <= 120), _CANDLE_MINUTES[-1])
    width = pd.Timedelta(minutes=minutes)
    grouped = bars.resample(width, origin="start")
    out = pd.DataFrame({"open": grouped["open"].first(), "high": grouped["high"].max(),
                        "low": grouped["low"].min(), "close": grouped["close"].last()}).dropna()
    return out, width


def _draw_candles(ax, candles: pd.DataFrame, width: pd.Timedelta) -> None:
    x = mdates.date2num(candles.index.tz_convert(EXCHANGE_TZ).tz_localize(None) + width / 2)
    w = width / pd.Timedelta(days=1) * 0.7
    up = (candles["close"] >= candles["open"]).to_numpy()
    ax.vlines(x, candles["low"], candles["high"], color="0.25", linewidth=0.7, zorder=2)
    bottom = np.minimum(candles["open"], candles["close"]).to_numpy()
    height = np.maximum(np.abs(candles["close"] - candles["open"]).to_numpy(), 1e-9)
    ax.bar(x, height, w, bottom, color=np.where(up, "#2e9e5b", "#d0463c"), edgecolor="0.25",
           linewidth=0.4, zorder=3)


def _local(index: pd.DatetimeIndex) -> np.ndarray:
    return mdates.date2num(index.tz_convert(EXCHANGE_TZ).tz_localize(None))


def _draw_developing(ax, dev: pd.DataFrame, end: float) -> None:
    x = np.r_[_local(dev.index), end]
    for col, style, label in (("dev_vpoc", dict(color="#ff8c00", linewidth=1.6), "developing VPOC"),
                              ("dev_vah", dict(color="#1f5fbf", linewidth=0.9, linestyle=":"), "developing VA"),
                              ("dev_val", dict(color="#1f5fbf", linewidth=0.9, linestyle=":"), None)):
        y = dev[col].to_numpy()
        ax.step(x, np.r_[y, y[-1]], where="post", label=label, zorder=4, **style)


def _shade_rth(ax, bars: pd.DataFrame) -> None:
    rth = bars.index[bars["rth"].to_numpy()]
    if len(rth):
        ax.axvspan(_local(rth[:1])[0], _local(rth[-1:] + pd.Timedelta(minutes=1))[0], color="#fff4c2",
                   zorder=0, label="RTH")


def _draw_histogram(ax, profile) -> None:
    prices, vol = profile.prices, profile.volume
    inside = (prices >= profile.val) & (prices <= profile.vah)
    colors = np.where(inside, "#5b8bd9", "#b9c7dd")
    colors[np.isclose(prices, profile.vpoc)] = "#d62728"
    ax.barh(prices, vol, height=profile.spec.tick * 0.9, color=colors, zorder=2)
    ax.set_xlabel("volume" if profile.spec.allocation != "tpo" else "TPO count")
    ax.grid(axis="x", color="0.9")


def _draw_levels(left, right, profile) -> None:
    """The finished VPOC, VAH and VAL across both panels, with legend entries on the left."""
    for ax in (left, right):
        ax.axhline(profile.vpoc, color="#d62728", linewidth=1.3, zorder=5)
        ax.axhline(profile.vah, color="#1f5fbf", linestyle="--", linewidth=1.0, zorder=5)
        ax.axhline(profile.val, color="#1f5fbf", linestyle="--", linewidth=1.0, zorder=5)
    left.plot([], [], color="#d62728", label=f"VPOC {profile.vpoc:.2f}")
    left.plot([], [], color="#1f5fbf", linestyle="--", label=f"VAH {profile.vah:.2f} / VAL {profile.val:.2f}")


def plot_session(bars: pd.DataFrame, developing: DevelopingProfile, session: int, path) -> Path:
    """Write a PNG of one session.

    Parameters
    ----------
    bars : pandas.DataFrame
        The BarFrame ``developing`` was built from.
    developing : DevelopingProfile
        Built with ``prior=True`` (it carries the finished sessions).
    session : int
        Row of the session in ``developing.sessions.table`` (negative counts from the end).
    path : str or os.PathLike
        PNG file to write.

    Returns
    -------
    pathlib.Path
    """
    sessions = developing.sessions
    session = range(len(sessions))[session]
    row = sessions.table.iloc[session]
    profile = sessions.profile(session)
    mask = (developing.table["session"] == session).to_numpy()
    sbars, dev = bars.loc[mask], developing.table.loc[mask]
    fig = Figure(figsize=(13, 7.5), dpi=110)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 2, width_ratios=(3.2, 1), wspace=0.03)
    left = fig.add_subplot(grid[0])
    right = fig.add_subplot(grid[1], sharey=left)
    _shade_rth(left, sbars)
    candles, width = _candles(sbars)
    _draw_candles(left, candles, width)
    end = _local(sbars.index[-1:] + pd.Timedelta(minutes=1))[0]
    _draw_developing(left, dev, end)
    prev = dev["prev_vpoc"].iloc[-1]
    if np.isfinite(prev):
        left.axhline(prev, color="0.45", linestyle="-.", linewidth=1.0, label=f"previous VPOC {prev:.2f}")
    _draw_histogram(right, profile)
    _draw_levels(left, right, profile)
    hours = (sbars.index[-1] - sbars.index[0]) / pd.Timedelta(hours=1)
    step = next((h for h in (1, 2, 3, 4, 6, 12) if hours / h <= 10), 24)
    left.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, step)) if step < 24 else
                                 mdates.AutoDateLocator())
    left.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M" if step < 24 else "%m-%d", tz=None))
    left.set_xlabel("US Central time")
    left.set_ylabel("price (index points)")
    left.grid(color="0.92")
    left.legend(loc="upper left", fontsize=8, framealpha=0.9)
    right.tick_params(labelleft=False)
    for price, text, color in ((profile.vpoc, "VPOC", "#d62728"), (profile.vah, "VAH", "#1f5fbf"),
                               (profile.val, "VAL", "#1f5fbf")):
        right.annotate(f"{text} {price:.2f}", (1.0, price), xycoords=("axes fraction", "data"), xytext=(-3, 2),
                       textcoords="offset points", ha="right", va="bottom", fontsize=8, color=color)
    spec = sessions.spec
    # an exact profile (profile.exact) counts its prints: its volume is at the traded prices, no allocation
    how = "exact from trades" if "trades" in sessions.table.columns else f"{spec.allocation} allocation"
    fig.suptitle(f"{row['contract']}  trade date {row['trade_date']:%Y-%m-%d}  ({spec.scope.upper()} session, "
                 f"{how}, {spec.value_area:.0%} value area, {spec.expansion}-level)", fontsize=11)
    path = Path(path)
    fig.savefig(path, format="png", bbox_inches="tight")
    return path


def plot_composite(bars: pd.DataFrame, sessions, n: int, path, shown: int = 60) -> Path:
    """Write a PNG of the composite profile of the last ``n`` sessions (daily bars: one bar each).

    Left: one candle per session for the last ``shown`` sessions, the rolling ``n``-session
    composite VPOC and value area as step lines (each value as of that session's close, so the
    line is what a trader knew then). Right: the histogram of the last composite with its VPOC,
    VAH and VAL across both panels.

    Parameters
    ----------
    bars : pandas.DataFrame
        The BarFrame ``sessions`` was built from.
    sessions : SessionProfiles
        Finished session profiles (``session_profiles(bars)`` or ``developing.sessions``).
    n : int
        Sessions per composite (never across a contract change, see ``composite``).
    path : str or os.PathLike
        PNG file to write.
    shown : int
        Sessions drawn on the left.

    Returns
    -------
    pathlib.Path
    """
    from futures_vpoc.profile.composites import composite

    last = len(sessions) - 1
    first = max(0, last - shown + 1)
    rolling = [composite(sessions, n, j) for j in range(first, last + 1)]
    profile = rolling[-1]
    days = pd.DatetimeIndex(sessions.table["trade_date"].iloc[first:last + 1])
    window = bars.loc[pd.DatetimeIndex(bars["trade_date"]).isin(days)]
    candles = pd.DataFrame({"open": window["open"].to_numpy(), "high": window["high"].to_numpy(),
                            "low": window["low"].to_numpy(), "close": window["close"].to_numpy()},
                           index=pd.DatetimeIndex(window["trade_date"]).tz_localize(EXCHANGE_TZ))
    fig = Figure(figsize=(13, 7.5), dpi=110)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 2, width_ratios=(3.2, 1), wspace=0.03)
    left = fig.add_subplot(grid[0])
    right = fig.add_subplot(grid[1], sharey=left)
    _draw_candles(left, candles, pd.Timedelta(days=1))
    x = mdates.date2num(days.to_pydatetime())
    x = np.r_[x, x[-1] + 1]
    for attr, style, label in (("vpoc", dict(color="#ff8c00", linewidth=1.6), f"{n}-session composite VPOC"),
                               ("vah", dict(color="#1f5fbf", linewidth=0.9, linestyle=":"), "composite VA"),
                               ("val", dict(color="#1f5fbf", linewidth=0.9, linestyle=":"), None)):
        y = np.array([getattr(p, attr) for p in rolling])
        left.step(x, np.r_[y, y[-1]], where="post", label=label, zorder=4, **style)
    _draw_histogram(right, profile)
    _draw_levels(left, right, profile)
    left.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=7))
    left.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    left.tick_params(axis="x", labelrotation=20)
    left.set_xlabel("trade date")
    left.set_ylabel("price (index points)")
    left.grid(color="0.92")
    left.legend(loc="best", fontsize=8, framealpha=0.9)
    right.tick_params(labelleft=False)
    fig.suptitle(f"{profile.contract}: composite of the last {len(profile.trade_dates)} sessions to "
                 f"{pd.Timestamp(profile.trade_dates[-1]):%Y-%m-%d} ({profile.spec.allocation} allocation, "
                 f"{profile.spec.value_area:.0%} value area)", fontsize=11)
    path = Path(path)
    fig.savefig(path, format="png", bbox_inches="tight")
    return path
