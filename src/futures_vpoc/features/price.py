"""``price`` group: returns over several bar counts, distance to moving averages, acceleration,
return since the session open and the gap at the session open.

All values are log returns or log ratios of raw prices within one contract segment: every
window restarts at a roll (the first ``k`` bars of a contract have no ``k``-bar return).
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context
from futures_vpoc.features.segments import Chunk
from futures_vpoc.features.spec import feature

GROUP = "price"
RETURN_BARS = (1, 5, 15, 60)
SMA_BARS = (20, 60, 240)
LOOKBACK = 240

SPECS = (
    *(feature(GROUP, f"ret_{k}", "log return", f"log return of the close over the last {k} bar{'s' * (k > 1)}",
              warmup=k)
      for k in RETURN_BARS),
    *(feature(GROUP, f"dist_sma_{w}", "log ratio", f"log of the close over its {w}-bar simple moving average",
              warmup=w - 1)
      for w in SMA_BARS),
    feature(GROUP, "accel_5", "log return", "5-bar return minus the 5-bar return that ended 5 bars earlier",
            warmup=10),
    feature(GROUP, "ret_session", "log return", "log return from the session's first open to the close"),
    feature(GROUP, "gap_session_open", "log return",
            "overnight gap: session's first open over the previous session's last close (same contract)",
            warmup=1, per="contract_sessions"),
)


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared=None) -> dict[str, np.ndarray]:
    """Price features of one chunk (see :data:`SPECS`); NaN while a window warms up."""
    lc = np.log(c.close)
    lagged = {k: s.lag(st, f"lc{k}", lc, c.reset, k) for k in (*RETURN_BARS, 10)}
    out = {f"ret_{k}": lc - lagged[k] for k in RETURN_BARS}
    for w in SMA_BARS:
        out[f"dist_sma_{w}"] = lc - np.log(s.rolling_mean(st, f"sma{w}", c.close, c.reset, w))
    out["accel_5"] = (lc - lagged[5]) - (lagged[5] - lagged[10])
    first_open = np.log(s.session_first(st, "open0", c.open, c.new_session))
    out["ret_session"] = lc - first_open
    prev_close = s.previous_session_last(st, "close_prev", c.close, c.new_session, c.reset)
    out["gap_session_open"] = first_open - np.log(prev_close)
    return out
