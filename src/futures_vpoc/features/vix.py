"""``vix`` group: VIX level, its latest change, its percentile against the trailing year, and VIX
against the realized volatility of ES.

The BarFrame's ``vix`` column is already as of publication (the close of date D is seen only
by bars ending at or after 15:15 CT on D), so these features add no lag. VIX is not a contract
price: the level, change and percentile run across rolls (restarting the trailing year at every
roll would leave VIX percentiles undefined for most of each contract). The realized volatility
in the ratio restarts at rolls like every return window.
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context, log_returns, root, safe_log
from futures_vpoc.features.segments import Chunk
from futures_vpoc.features.spec import feature

GROUP = "vix"
YEAR_SESSIONS = 252
MIN_SESSIONS = 20
RV_BARS = 240
MIN_ANNUAL_VOL = 1e-4
"""Floor of the annualized realized volatility in the ratio (0.01 %): a window without a price
change would otherwise divide by zero."""
LOOKBACK = 240

SPECS = (
    feature(GROUP, "level", "VIX points", "the latest published VIX close"),
    feature(GROUP, "change", "log change", "log change of the latest VIX close against the close before it"),
    feature(GROUP, "pct_252_sessions", "fraction [0, 1]",
            "mid-rank of VIX among the session-end VIX of the previous 252 trade dates (at least 20)"),
    feature(GROUP, "rv_ratio_240", "log ratio",
            "log of VIX/100 over the annualized 240-bar realized volatility of ES log returns"),
)


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared=None) -> dict[str, np.ndarray]:
    """VIX features of one chunk (see :data:`SPECS`); NaN before the first VIX close."""
    r = log_returns(c, st)
    rv = root(s.rolling_mean(st, "rv", r * r, c.reset, RV_BARS)) * np.sqrt(ctx.bars_per_year)
    return {
        "level": c.vix.copy(),
        "change": s.last_change(st, "change", c.vix),
        "pct_252_sessions": s.trailing_percentile(st, "pct", c.vix, c.new_day, YEAR_SESSIONS, MIN_SESSIONS),
        "rv_ratio_240": safe_log(c.vix / 100.0) - np.log(np.maximum(rv, MIN_ANNUAL_VOL)),
    }
