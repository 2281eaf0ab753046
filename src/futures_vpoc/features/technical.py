"""``technical`` group: RSI(14), MACD(12, 26, 9) histogram and crossover, Bollinger position.

Hand-written because TA-Lib is not a dependency; the definitions are StockCharts ChartSchool's
(tests pin RSI and Bollinger Bands to ChartSchool's published worked examples):

* RSI(14): gains and losses of the close, each smoothed by Wilder (seeded with the mean of the
  first 14), ``100 * gain / (gain + loss)``; 50 when both are 0 (no change: neutral; TA-Lib
  prints 0 there). First value at the 15th bar of a segment.
* MACD: EMA(12) - EMA(26) of the close, signal = EMA(9) of MACD, each EMA seeded with the
  simple mean of its first n inputs; first histogram value at the 34th bar of a segment.
* Bollinger(20, 2): ``%b = (close - lower) / (upper - lower)`` with bands at the 20-bar mean +- 2
  population standard deviations; 0.5 over a constant window (close = mean, no band width).

Every recursion restarts at a roll.
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context, atr, floored, ratio, true_range
from futures_vpoc.features.segments import Chunk
from futures_vpoc.features.spec import feature

GROUP = "technical"
RSI_BARS = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BB_BARS, BB_WIDTH = 20, 2.0
LOOKBACK = MACD_SLOW + MACD_SIGNAL

SPECS = (
    feature(GROUP, "rsi_14", "0-100", "Wilder RSI of the close over 14 bars", warmup=RSI_BARS),
    feature(GROUP, "macd_hist_atr", "ATR(14) units", "MACD(12, 26) minus its 9-bar signal line, over ATR(14)",
            warmup=MACD_SLOW + MACD_SIGNAL - 2),
    feature(GROUP, "macd_cross", "-1/0/+1", "sign of MACD minus signal: +1 above (bullish crossover state)",
            warmup=MACD_SLOW + MACD_SIGNAL - 2),
    feature(GROUP, "bb_position_20", "%b", "Bollinger %b: 0 at the lower, 1 at the upper (20 bars, 2 sd) band",
            warmup=BB_BARS - 1),
)


def rsi(c: Chunk, st: s.Streams) -> np.ndarray:
    """RSI(14) of the close (see the module docstring)."""
    change = c.close - s.lag(st, "c1", c.close, c.reset, 1)
    gain = s.wilder(st, "gain", np.maximum(change, 0.0), c.reset, RSI_BARS)
    loss = s.wilder(st, "loss", np.maximum(-change, 0.0), c.reset, RSI_BARS)
    return 100.0 * ratio(gain, gain + loss, 0.5)


def macd_hist(c: Chunk, st: s.Streams) -> np.ndarray:
    """MACD(12, 26) minus its 9-bar signal, points."""
    line = s.ema(st, "fast", c.close, c.reset, MACD_FAST) - s.ema(st, "slow", c.close, c.reset, MACD_SLOW)
    return line - s.ema(st, "signal", line, c.reset, MACD_SIGNAL)


def bollinger_b(c: Chunk, st: s.Streams) -> np.ndarray:
    """Bollinger %b of the close over :data:`BB_BARS` bars."""
    mean, sd = s.rolling_mean_sd(st, "bb", c.close, c.reset, BB_BARS)
    return ratio(c.close - mean + BB_WIDTH * sd, 2.0 * BB_WIDTH * sd, 0.5)


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared=None) -> dict[str, np.ndarray]:
    """Technical features of one chunk (see :data:`SPECS`)."""
    hist = macd_hist(c, st)
    unit = floored(atr(c, st, true_range(c, st), 14), ctx.tick)
    return {
        "rsi_14": rsi(c, st),
        "macd_hist_atr": hist / unit,
        "macd_cross": np.sign(hist),
        "bb_position_20": bollinger_b(c, st),
    }
