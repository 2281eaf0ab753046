"""``volatility`` group: realized volatility over several windows, ATR level and ratios,
Parkinson and Garman-Klass range estimators, GARCH(1,1) conditional volatility and a regime.

Volatilities are per bar, in log-return units (not annualized). Every window and recursion
restarts at a roll. The GARCH(1,1) parameters and the regime edges are fit on the training part
only (:mod:`~futures_vpoc.features.fit`); the fitted filter then runs causally over all bars,
restarting at each roll from the fitted start variance.
"""

from __future__ import annotations

import math

import numpy as np

from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context, atr, floored, log_returns, root, true_range
from futures_vpoc.features.fit import REGIME_WINDOW
from futures_vpoc.features.segments import Chunk
from futures_vpoc.features.spec import feature

GROUP = "volatility"
RV_BARS = (15, 60, REGIME_WINDOW)
RANGE_BARS = 30
LOOKBACK = 240
_LN2 = math.log(2.0)

SPECS = (
    *(feature(GROUP, f"rv_{w}", "log return per bar",
              f"realized volatility: root mean square 1-bar log return over {w} bars", warmup=w) for w in RV_BARS),
    feature(GROUP, "atr_14_ticks", "ticks", "average true range over 14 bars (Wilder)", warmup=13),
    feature(GROUP, "range_atr_14", "ATR(14) units", "the bar's high-low range over the 14-bar ATR", warmup=13),
    feature(GROUP, "atr_ratio_14_100", "ratio", "14-bar ATR over 100-bar ATR (Wilder both)", warmup=99),
    feature(GROUP, "parkinson_30", "log return per bar", "Parkinson high-low volatility over 30 bars", warmup=29),
    feature(GROUP, "garman_klass_30", "log return per bar", "Garman-Klass OHLC volatility over 30 bars", warmup=29),
    feature(GROUP, "garch_sigma", "log return per bar",
            "GARCH(1,1) (fit on train only) forecast sd of the next bar's log return"),
    feature(GROUP, "regime", "0/1/2", "240-bar realized volatility below / between / above its train tertiles",
            warmup=REGIME_WINDOW),
)


def _range_estimators(c: Chunk, st: s.Streams) -> tuple[np.ndarray, np.ndarray]:
    """Parkinson and Garman-Klass volatility over :data:`RANGE_BARS` bars."""
    hl = np.log(c.high / c.low)
    co = np.log(c.close / c.open)
    park = s.rolling_mean(st, "park", hl * hl, c.reset, RANGE_BARS) / (4.0 * _LN2)
    gk_bar = 0.5 * hl * hl - (2.0 * _LN2 - 1.0) * co * co
    gk = s.rolling_mean(st, "gk", gk_bar, c.reset, RANGE_BARS)
    return root(park), root(gk)


def _regime(rv: np.ndarray, edges: tuple[float, float]) -> np.ndarray:
    out = np.where(rv < edges[0], 0.0, np.where(rv < edges[1], 1.0, 2.0))
    out[np.isnan(rv)] = np.nan
    return out


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared=None) -> dict[str, np.ndarray]:
    """Volatility features of one chunk (see :data:`SPECS`)."""
    r = log_returns(c, st)
    out = {f"rv_{w}": root(s.rolling_mean(st, f"rv{w}", r * r, c.reset, w)) for w in RV_BARS}
    tr = true_range(c, st)
    atr14 = floored(atr(c, st, tr, 14), ctx.tick)
    atr100 = floored(atr(c, st, tr, 100), ctx.tick)
    out["atr_14_ticks"] = atr14 / ctx.tick
    out["range_atr_14"] = (c.high - c.low) / atr14
    out["atr_ratio_14_100"] = atr14 / atr100
    out["parkinson_30"], out["garman_klass_30"] = _range_estimators(c, st)
    out["garch_sigma"] = s.garch_filter(st, "garch", r, c.reset, ctx.fitted.garch)
    out["regime"] = _regime(out[f"rv_{REGIME_WINDOW}"], ctx.fitted.regime_edges)
    return out
