"""``calendar`` group: time of day (cyclical), minutes since the session open and to its close,
day of week, RTH flag and calendar days to the contract's roll.

Everything here is known before the bar (the Globex calendar and the roll schedule are
published in advance), and nothing has state. Times are US Central wall-clock times, so 08:30
CT is the same phase of the day in winter and summer. The day of week is the CME trade date's
(a Sunday-evening bar belongs to Monday), not the UTC timestamp's.
"""

from __future__ import annotations

import math

import numpy as np

from futures_vpoc.data.contracts import parse_contract
from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context
from futures_vpoc.features.segments import NO_TIME, Chunk
from futures_vpoc.features.spec import feature

GROUP = "calendar"
LOOKBACK = 0
_MINUTE_NS = 60_000_000_000
_DAY_NS = 86_400_000_000_000

SPECS = (
    feature(GROUP, "tod_sin", "[-1, 1]", "sine of the CT clock time of the bar start (period one day)"),
    feature(GROUP, "tod_cos", "[-1, 1]", "cosine of the CT clock time of the bar start (period one day)"),
    feature(GROUP, "minutes_since_open", "minutes", "from the Globex session open to the bar start"),
    feature(GROUP, "minutes_to_close", "minutes", "from the bar start to the Globex session close"),
    feature(GROUP, "day_of_week", "0=Mon..4=Fri", "weekday of the CME trade date"),
    feature(GROUP, "rth", "0/1", "1 when the bar starts in regular trading hours"),
    feature(GROUP, "days_to_roll", "calendar days",
            "from the trade date to the contract's calendar roll date (NaN for a non-futures symbol)"),
)


def _minutes(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """``(later - earlier)`` in minutes; NaN where either is the missing-time sentinel."""
    known = (later != NO_TIME) & (earlier != NO_TIME)
    out = np.full(len(later), np.nan)
    out[known] = (later[known] - earlier[known]) / _MINUTE_NS
    return out


def _days_to_roll(c: Chunk) -> np.ndarray:
    day = c.trade_day.view(np.int64)
    try:
        near = np.datetime64(int(day[0]), "ns").astype("datetime64[D]").item()
        roll = np.datetime64(parse_contract(c.contract, near=near).roll_date, "ns").view(np.int64)
    except ValueError:  # not a futures symbol (e.g. the SPX index sample): no roll
        return np.full(len(c), np.nan)
    return (roll - day) / _DAY_NS


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared=None) -> dict[str, np.ndarray]:
    """Calendar features of one chunk (see :data:`SPECS`)."""
    second = (c.ts % _MINUTE_NS) / _MINUTE_NS
    phase = 2.0 * math.pi * (c.slot + second) / 1440.0
    weekday = ((c.trade_day.view(np.int64) // _DAY_NS) + 3) % 7  # 1970-01-01 was a Thursday (3)
    return {
        "tod_sin": np.sin(phase),
        "tod_cos": np.cos(phase),
        "minutes_since_open": _minutes(c.ts, c.session_open),
        "minutes_to_close": _minutes(c.session_close, c.ts),
        "day_of_week": weekday.astype(np.float64),
        "rth": c.rth.astype(np.float64),
        "days_to_roll": _days_to_roll(c),
    }
