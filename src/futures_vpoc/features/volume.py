"""``volume`` group: volume against its time-of-day norm, surge, volume-price divergence and the
session's cumulative volume.

Volumes enter as ``log(1 + volume)`` (contracts), so a zero-volume bar is finite and no ratio
divides by zero. The time-of-day norms are the mean over the last 10 bars that started at the
same US Central clock minute (the current bar excluded; one such bar per session, so about the
last 10 sessions, hence the ``_10_sessions`` in the names); they run across rolls on purpose:
volume is not a price, a calendar roll moves the front contract's volume with it, and
restarting a 10-session norm at every roll would leave the first 10 sessions of each contract
without it. The 20-bar windows restart at rolls like every other bar-count window.

Warm-up: a ``_10_sessions`` norm needs 10 earlier bars at the bar's CT minute (on 1-minute bars
without gaps: 10 sessions, first value at the first bar of the 11th); ``rel_tod_sessions``, the
short-history variant for short files, averages the up to 10 available and needs 2 (first value
in the 3rd session). A minute missing from a session (a gap, an early close) delays that minute
only. The 20-bar windows need 20 earlier bars of the contract segment.
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context, log_returns
from futures_vpoc.features.segments import Chunk
from futures_vpoc.features.spec import feature

GROUP = "volume"
TOD_SESSIONS = 10
TOD_MIN_SESSIONS = 2
SURGE_BARS = 20
DIVERGENCE_BARS = 20
LOOKBACK = 21

SPECS = (
    feature(GROUP, "rel_tod_10_sessions", "log ratio",
            "log(1+volume) minus log(1+mean volume at the same CT clock minute over the last 10 sessions)",
            warmup=TOD_SESSIONS, per="sessions"),
    feature(GROUP, "rel_tod_sessions", "log ratio",
            "log(1+volume) minus log(1+mean volume at the same CT clock minute over the last 2 to 10 sessions)",
            warmup=TOD_MIN_SESSIONS, per="sessions", up_to=TOD_SESSIONS),
    feature(GROUP, "surge_20", "log ratio", "log(1+volume) minus log(1+mean volume of the previous 20 bars)",
            warmup=SURGE_BARS),
    feature(GROUP, "vp_divergence_20", "-correlation [-1, 1]",
            "minus the correlation of |1-bar log return| and log(1+volume) over 20 bars (high = divergence)",
            warmup=DIVERGENCE_BARS),
    feature(GROUP, "session_cum_log", "log contracts", "log(1 + volume traded in the session so far, bar included)"),
    feature(GROUP, "session_cum_rel_tod_10_sessions", "log ratio",
            "session volume so far against its mean at the same CT clock minute over the last 10 sessions",
            warmup=TOD_SESSIONS, per="sessions"),
)


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared=None) -> dict[str, np.ndarray]:
    """Volume features of one chunk (see :data:`SPECS`); NaN while a norm or window warms up."""
    lv = np.log1p(c.volume)
    tod = s.slot_mean(st, "tod", c.volume, c.slot, TOD_SESSIONS)
    tod_short = s.slot_mean(st, "tod_short", c.volume, c.slot, TOD_SESSIONS, TOD_MIN_SESSIONS)
    before = s.lag(st, "v1", c.volume, c.reset, 1)
    recent = s.rolling_mean(st, "v20", before, c.reset, SURGE_BARS)
    absret = np.abs(log_returns(c, st))
    cum = s.session_cumsum(st, "cum", c.volume, c.new_session)
    cum_tod = s.slot_mean(st, "cum_tod", cum, c.slot, TOD_SESSIONS)
    return {
        "rel_tod_10_sessions": lv - np.log1p(tod),
        "rel_tod_sessions": lv - np.log1p(tod_short),
        "surge_20": lv - np.log1p(recent),
        "vp_divergence_20": -s.rolling_corr(st, "corr", absret, lv, c.reset, DIVERGENCE_BARS),
        "session_cum_log": np.log1p(cum),
        "session_cum_rel_tod_10_sessions": np.log1p(cum) - np.log1p(cum_tod),
    }
