"""``vix`` group: VIX level, its latest change, its percentile and z-score against the trailing
year, and VIX against the realized volatility of ES.

The BarFrame's ``vix`` column is already as of publication (the close of date D is seen only
by bars ending at or after 15:15 CT on D), so these features add no lag. VIX is not a contract
price: the level, change and percentile run across rolls (restarting the trailing year at every
roll would leave VIX percentiles undefined for most of each contract). The realized volatility
in the ratio restarts at rolls like every return window.

``change``: the column repeats the latest close on every bar until the next publication, so a
close equal to the one before it is invisible in the values. Publications are therefore also read
from the calendar: Cboe trading days (:func:`futures_vpoc.calendar.vix_days`) publish their close
at 15:15 CT (:func:`futures_vpoc.data.vix.publication_times`); a trade date's first bar has seen
every close of earlier dates, and inside a trade date only that date's own close can appear
(:func:`futures_vpoc.features.kernels.published_change`). A repeated close gives 0.0 from the
bar at which a changed close would have shown. Assumes the join's publication lag is shorter than
the time from the publication to the next session's first bar (15 min before 2012-11-19, 1 h 45 min
after; the default lag is 0). A day missing from the VIX file counts as a repeated close, and after
the file's last close the change is 0.0 (no new close).

``z_sessions``: the latest close against the mean and sample sd (ddof 1) of the session-end VIX of
the previous up to 252 trade dates (across rolls like the percentile), so it starts after 2 trade
dates where the percentile needs 20. The sd is floored at :data:`Z_SD_FLOOR` VIX points.

Warm-up (each spec's ``warmup``): every feature is NaN before the first VIX close of the data;
``change`` needs two closes, the trailing-year features 20 (percentile) or 2 (z-score) earlier
trade dates with a session-end VIX, ``rv_ratio_240`` 240 bars of the contract segment.
"""

from __future__ import annotations

import numpy as np

import pandas as pd

from futures_vpoc.calendar import vix_days
from futures_vpoc.data.vix import publication_times
from futures_vpoc.features import kernels as k
from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context, log_returns, root, safe_log
from futures_vpoc.features.segments import Chunk
from futures_vpoc.features.spec import feature

GROUP = "vix"
YEAR_SESSIONS = 252
MIN_SESSIONS = 20
Z_MIN_SESSIONS = 2
Z_SD_FLOOR = 0.5
"""Floor of the sd in ``z_sessions``, VIX points: about half a typical day-to-day VIX move, so two
nearly equal session ends early in a file do not give a z-score of hundreds."""
RV_BARS = 240
MIN_ANNUAL_VOL = 1e-4
"""Floor of the annualized realized volatility in the ratio (0.01 %): a window without a price
change would otherwise divide by zero."""
LOOKBACK = 240

SPECS = (
    feature(GROUP, "level", "VIX points", "the latest published VIX close", warmup=1, per="vix_closes"),
    feature(GROUP, "change", "log change", "log change of the latest VIX close against the close before it",
            warmup=2, per="vix_closes"),
    feature(GROUP, "pct_252_sessions", "fraction [0, 1]",
            "mid-rank of VIX among the session-end VIX of the previous 252 trade dates (at least 20)",
            warmup=MIN_SESSIONS, per="sessions", up_to=YEAR_SESSIONS),
    feature(GROUP, "z_sessions", "sd units",
            "VIX minus the mean session-end VIX of the previous 2 to 252 trade dates, over their sd (>= 0.5)",
            warmup=Z_MIN_SESSIONS, per="sessions", up_to=YEAR_SESSIONS),
    feature(GROUP, "rv_ratio_240", "log ratio",
            "log of VIX/100 over the annualized 240-bar realized volatility of ES log returns", warmup=RV_BARS),
)


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared=None) -> dict[str, np.ndarray]:
    """VIX features of one chunk (see :data:`SPECS`); NaN before the first VIX close."""
    r = log_returns(c, st)
    rv = root(s.rolling_mean(st, "rv", r * r, c.reset, RV_BARS)) * np.sqrt(ctx.bars_per_year)
    return {
        "level": c.vix.copy(),
        "change": _published_change(st, c),
        "pct_252_sessions": s.trailing_percentile(st, "pct", c.vix, c.new_day, YEAR_SESSIONS, MIN_SESSIONS),
        "z_sessions": s.trailing_zscore(st, "z", c.vix, c.new_day, YEAR_SESSIONS, Z_MIN_SESSIONS, Z_SD_FLOOR),
        "rv_ratio_240": safe_log(c.vix / 100.0) - np.log(np.maximum(rv, MIN_ANNUAL_VOL)),
    }


_DAY_NS = 86_400_000_000_000
_NONE = np.iinfo(np.int64).min
_LOOK_BACK_DAYS = 30
"""The latest VIX date before a trade date lies within 30 days of it (Cboe's longest closure since
1990, 2001-09-11 .. 14, spans 6 days)."""


def _publication_calendar(trade_day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bar: trade date (days), the latest VIX date before it (days) and the instant its own
    close is published (ns UTC); ``_NONE`` where there is none. Depends on the trade date only."""
    day = trade_day.astype("datetime64[ns]").view(np.int64) // _DAY_NS
    uniq, inverse = np.unique(day, return_inverse=True)
    first = pd.Timestamp(int(uniq[0]) * _DAY_NS) - pd.Timedelta(days=_LOOK_BACK_DAYS)
    vix = vix_days(first, pd.Timestamp(int(uniq[-1]) * _DAY_NS))
    vix_day = vix.as_unit("ns").asi8 // _DAY_NS
    pos = np.searchsorted(vix_day, uniq, side="left")
    prev = np.where(pos > 0, vix_day[np.maximum(pos - 1, 0)], _NONE)
    own = (pos < len(vix_day)) & (vix_day[np.minimum(pos, len(vix_day) - 1)] == uniq)
    instant = np.full(len(uniq), _NONE, dtype=np.int64)
    if own.any():
        days = pd.DatetimeIndex((uniq[own] * _DAY_NS).view("datetime64[ns]"))
        instant[own] = publication_times(days).as_unit("ns").asi8
    return day, prev[inverse].astype(np.int64), instant[inverse]


def _published_change(st: s.Streams, c: Chunk) -> np.ndarray:
    """Log change of the latest published VIX close against the one before (module docstring)."""
    fst, ist = st.state("change", lambda: (np.full(2, np.nan), np.array([_NONE, 0, 0], dtype=np.int64)))
    day, prev_pub, pub = _publication_calendar(c.trade_day)
    out = np.empty(len(c))
    k.published_change(c.vix, c.ts, c.new_day, day, prev_pub, pub, fst, ist, out)
    return out
