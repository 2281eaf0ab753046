"""``orderflow`` group (opt-in): who was the aggressor in the bar's session so far, and at which prices.

Built only when asked for (``groups=[..., "orderflow"]``, ``futures-vpoc features --features
orderflow``): it is not in :data:`~futures_vpoc.features.spec.GROUPS`, the default selection,
because most bar files carry no order flow. Three developing values of the bar's session
(session = trade date + contract, as everywhere in the package), each up to and including the bar:

``session_delta_share``
    The session's delta so far (buyer- minus seller-initiated contracts) over the session's volume
    so far, in [-1, 1].
``poc_delta_share``
    The delta traded at the developing VPOC's price over the session's volume so far, in [-1, 1].
``va_edge_share``
    The share of the session's volume so far traded at the developing VAL and VAH prices (one
    price when they coincide), in [0, 1].

Where the order flow comes from
-------------------------------
The group reads extra columns of the bars frame handed to
:func:`~futures_vpoc.features.build_features`; nothing else in the build changes:

* the bar flow :data:`BAR_FLOW_COLUMNS` (``buy_volume``, ``sell_volume``, contracts; a BarFrame
  built from trades by ``futures-vpoc ticks bars`` carries them, see
  :data:`futures_vpoc.data.barframe.FLOW_COLUMNS`). ``session_delta_share`` is then the running
  sum of ``buy_volume - sell_volume`` over the session, bar included, over the running sum of
  ``volume`` (a stream carried across chunks like every other group's);
* the developing flow of the exact profiles of the trades, :data:`TRADE_FLOW_COLUMNS`, put on the
  bars by :func:`with_trade_flow` (``futures-vpoc features --trades``). The per-price features need
  them, since a price inside a bar is only known from its trades; ``session_delta_share`` uses them
  when the bars carry no bar flow (with bar flow, the bar flow wins: it is the bars' own count).

A value whose input is absent is NaN on every bar, never zero: without bar flow or trades all three
are NaN, without trades the two per-price ones are, and a bar that :func:`with_trade_flow` finds no
developing minute for (a minute without prints, a session the trades lack) has NaN per-price
values. The dataset's availability rule then drops a feature that is NaN on the training rows,
with its reason. One documented value where the formula degenerates: a session that has traded
no volume yet has a ``session_delta_share`` of 0 (no trade, no imbalance).

Warm-up: none. Every value is a developing value of the bar's own session (like the profile
group's ``dist_dev_*``), defined from the session's first bar on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context, ratio
from futures_vpoc.features.segments import Chunk
from futures_vpoc.features.spec import feature

GROUP = "orderflow"
LOOKBACK = 1

BAR_FLOW_COLUMNS = ("buy_volume", "sell_volume")
"""Bar flow columns the group reads (contracts initiated by buyers / sellers in the bar)."""

TRADE_FLOW_COLUMNS = ("dev_delta", "dev_poc_delta", "dev_edge_share", "dev_total")
"""Developing flow of the bar's session from its trades (:func:`with_trade_flow`): delta so far and
delta at the developing VPOC's price (contracts), the share of the volume so far at the developing
VAL and VAH, and the volume so far (contracts); NaN where no developing minute matches the bar."""

MINUTE_NS = 60_000_000_000

SPECS = (
    feature(GROUP, "session_delta_share", "[-1, 1]",
            "session delta so far (buyer- minus seller-initiated contracts, bar included) over session volume so far"),
    feature(GROUP, "poc_delta_share", "[-1, 1]",
            "delta traded at the developing VPOC's price so far over the session's volume so far (from trades)"),
    feature(GROUP, "va_edge_share", "[0, 1]",
            "share of the session's volume so far traded at the developing VAL and VAH prices (from trades)"),
)


@dataclass(frozen=True)
class SegmentFlow:
    """The order-flow inputs of one contract segment (rows ``start:`` of the bars frame).

    Attributes
    ----------
    start : int
        Row of the segment's first bar in the whole frame.
    buy, sell : numpy.ndarray of float64, shape (m,), or None
        Bar flow (contracts); None when the bars carry no :data:`BAR_FLOW_COLUMNS`.
    trade : dict of str to numpy.ndarray of float64, shape (m,) each, or None
        The :data:`TRADE_FLOW_COLUMNS`; None when the bars carry none.
    """

    start: int
    buy: np.ndarray | None
    sell: np.ndarray | None
    trade: dict | None


def prepare(bars: pd.DataFrame, ctx: Context, start: int) -> SegmentFlow:
    """Take the order-flow columns of one segment's bars (rows ``start:`` of the frame)."""
    has_bars = all(c in bars.columns for c in BAR_FLOW_COLUMNS)
    has_trades = all(c in bars.columns for c in TRADE_FLOW_COLUMNS)
    col = lambda name: bars[name].to_numpy(np.float64)  # noqa: E731
    return SegmentFlow(start, col("buy_volume") if has_bars else None, col("sell_volume") if has_bars else None,
                       {c: col(c) for c in TRADE_FLOW_COLUMNS} if has_trades else None)


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared: SegmentFlow) -> dict[str, np.ndarray]:
    """Order-flow features of one chunk (see :data:`SPECS`); NaN where their input is absent."""
    rows = slice(c.start - prepared.start, c.stop - prepared.start)
    missing = np.full(len(c), np.nan)
    trade = None if prepared.trade is None else {k: v[rows] for k, v in prepared.trade.items()}
    if prepared.buy is not None:
        delta = s.session_cumsum(st, "delta", prepared.buy[rows] - prepared.sell[rows], c.new_session)
        volume = s.session_cumsum(st, "volume", c.volume, c.new_session)
        session = ratio(delta, volume, 0.0)
    elif trade is not None:
        session = ratio(trade["dev_delta"], trade["dev_total"], 0.0)
    else:
        session = missing
    if trade is None:
        return {"session_delta_share": session, "poc_delta_share": missing.copy(), "va_edge_share": missing.copy()}
    return {"session_delta_share": session,
            "poc_delta_share": ratio(trade["dev_poc_delta"], trade["dev_total"], 0.0),
            "va_edge_share": trade["dev_edge_share"].copy()}


def _check_time_bars(t: np.ndarray, width: int, source: str | None) -> None:
    """Refuse bars that are not time bars of whole minutes (a developing minute could end after them)."""
    from futures_vpoc.errors import DataError

    hint = ("order flow from trades goes on time bars of whole minutes, e.g. `futures-vpoc ticks bars "
            "--bar time:1min`; other bars get their session delta from their own buy_volume/sell_volume")
    if width < MINUTE_NS or width % MINUTE_NS:
        raise DataError(f"bars {pd.Timedelta(width)} wide: not a whole number of minutes", file=source, hint=hint)
    off = np.flatnonzero(t % MINUTE_NS)
    if len(off):
        raise DataError(f"bar at {pd.Timestamp(t[off[0]], tz='UTC')} starts inside a minute", file=source,
                        hint=hint, more=len(off) - 1)
    close = np.flatnonzero(np.diff(t) < width)
    if len(close):
        raise DataError(f"bars at {pd.Timestamp(t[close[0]], tz='UTC')} and the next are closer than the bar "
                        f"width {pd.Timedelta(width)} (tick, volume or dollar bars?)", file=source, hint=hint,
                        more=len(close) - 1)


def with_trade_flow(bars: pd.DataFrame, exact, *, source: str | None = None) -> pd.DataFrame:
    """The bars with the developing order flow of their trades as :data:`TRADE_FLOW_COLUMNS`.

    Each bar ``[t, t + w)`` (``w`` = :func:`~futures_vpoc.data.barframe.bar_width`, whole minutes)
    takes the developing row of the last minute that traded inside it, ``t <= minute <= t + w - 1
    min``: the session's flow through that minute's end, which is at or before the bar's end, so no
    value sees a print after its bar. On 1-minute bars that is the row stamped ``t``. The row must
    belong to the bar's own session (same trade date and contract); otherwise, and where no minute
    traded inside the bar, the four columns are NaN.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame of time bars of whole minutes, each starting on a minute, none overlapping the
        next; any extra columns are kept (existing :data:`TRADE_FLOW_COLUMNS` are replaced).
    exact : futures_vpoc.profile.exact.ExactProfiles
        Exact profiles of the trades, built with ``developing=True``
        (:func:`futures_vpoc.profile.exact.exact_profiles`).
    source : str, optional
        The bar file's name, for error messages.

    Returns
    -------
    pandas.DataFrame
        A copy of ``bars`` plus ``dev_delta``, ``dev_poc_delta`` (contracts), ``dev_edge_share``
        ([0, 1]) and ``dev_total`` (contracts, > 0), float64, shape (n,) each, NaN where no
        developing minute matches.

    Raises
    ------
    DataError
        Bars that are not time bars of whole minutes (tick, volume or dollar bars, seconds bars).
    ValueError
        Exact profiles without the developing table (a programming error).
    """
    from futures_vpoc.data.barframe import bar_width

    dev = exact.developing
    if dev is None:
        raise ValueError("with_trade_flow needs exact profiles built with developing=True")
    table = dev.table
    session = table["session"].to_numpy(np.int64)
    keep = session >= 0
    minute = pd.DatetimeIndex(table.index).tz_convert("UTC").as_unit("ns").asi8[keep]
    sess = exact.sessions.table
    row_day = sess["trade_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)[session[keep]]
    row_contract = sess["contract"].to_numpy(dtype=object)[session[keep]]

    index = pd.DatetimeIndex(bars.index).tz_convert("UTC").as_unit("ns")
    t = index.asi8
    width = int(bar_width(index).value)
    _check_time_bars(t, width, source)
    pos = np.searchsorted(minute, t + width - MINUTE_NS, side="right") - 1
    ok = pos >= 0
    pos = np.where(ok, pos, 0)
    if len(minute):
        ok &= minute[pos] >= t
        ok &= row_day[pos] == bars["trade_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        ok &= row_contract[pos] == bars["contract"].to_numpy(dtype=object)
    else:
        ok[:] = False
    out = bars.copy()
    for col in TRADE_FLOW_COLUMNS:
        values = table[col].to_numpy(np.float64)[keep]
        out[col] = np.where(ok, values[pos] if len(values) else np.nan, np.nan)
    return out
