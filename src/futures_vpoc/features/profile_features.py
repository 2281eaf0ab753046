"""``profile`` group: where the close sits against the volume profile (futures_vpoc.profile).

Levels come from the profile engine, one call per contract segment
(:func:`~futures_vpoc.profile.developing_profile` with the default :class:`ProfileSpec`: Globex
session, uniform allocation, 70 % value area): the developing VPOC/VAH/VAL of the bar's session up
to and including the bar, the previous completed session's levels, the naked VPOCs, and the
VPOC migration of completed sessions. The engine's state (naked VPOCs span every session of the
contract) is why this group works per whole segment whatever ``chunk_size`` is; its kernels are
O(n) in time and its tables O(segment) in memory. The ATR used for ATR units is a stream like
in every other group.

Undefined values stay NaN: the previous-session levels in a contract's first session, the
migration until two sessions of the contract are complete (each spec's ``warmup``: 1 or 2
contract sessions, 13 bars for the ATR units, none for the developing levels). A missing naked VPOC is not missing
data: its proximity is 0 (infinitely far), see :func:`_proximity`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.features import streams as s
from futures_vpoc.features.common import Context, atr, floored, true_range
from futures_vpoc.features.segments import Chunk
from futures_vpoc.features.spec import feature
from futures_vpoc.profile import ProfileSpec, developing_profile, vpoc_migration

GROUP = "profile"
SLOPE_SESSIONS = 10
LOOKBACK = 14
ATR_WARMUP = 13
"""Bars before the first ATR(14) of a segment (Wilder's seed: the mean of the first 14 true ranges)."""

SPECS = (
    *(feature(GROUP, f"dist_dev_{lvl}_ticks", "ticks", f"close minus the session's developing {lvl.upper()}")
      for lvl in ("vpoc", "vah", "val")),
    *(feature(GROUP, f"dist_dev_{lvl}_atr", "ATR(14) units", f"close minus the developing {lvl.upper()}, over ATR(14)",
              warmup=ATR_WARMUP)
      for lvl in ("vpoc", "vah", "val")),
    feature(GROUP, "va_position", "VA widths",
            "close minus the developing value area's middle, over its width floored at 1 tick (+-0.5 at VAH/VAL)"),
    feature(GROUP, "va_width_ticks", "ticks", "developing value-area width, VAH minus VAL"),
    *(feature(GROUP, f"dist_prev_{lvl}_ticks", "ticks", f"close minus the previous completed session's {lvl.upper()}",
              warmup=1, per="contract_sessions")
      for lvl in ("vpoc", "vah", "val")),
    feature(GROUP, "naked_above_prox_atr", "[0, 1]",
            "1/(1 + distance to the nearest naked VPOC above, in ATR(14)); 0 when none", warmup=ATR_WARMUP),
    feature(GROUP, "naked_below_prox_atr", "[0, 1]",
            "1/(1 + distance to the nearest naked VPOC below, in ATR(14)); 0 when none", warmup=ATR_WARMUP),
    feature(GROUP, "naked_count", "count", "naked VPOCs of completed sessions of this contract"),
    feature(GROUP, "mig_slope_ticks", "ticks per session",
            "least-squares slope of the last up to 10 completed session VPOCs (at least 2)",
            warmup=2, per="contract_sessions", up_to=SLOPE_SESSIONS),
    feature(GROUP, "mig_direction", "-1/0/+1", "direction of the last completed session's VPOC move (>= 1 tick)",
            warmup=2, per="contract_sessions"),
    feature(GROUP, "mig_streak", "sessions (signed)", "consecutive VPOC moves in the last move's direction",
            warmup=2, per="contract_sessions"),
)


@dataclass(frozen=True)
class SegmentLevels:
    """Profile levels of every bar of one segment (points, NaN where undefined), shape (m,) each."""

    start: int
    columns: dict


def _expanding_slope(vpoc: np.ndarray, window: int) -> np.ndarray:
    """Least-squares slope of ``vpoc[max(0, j-window+1)..j]`` for each session ``j`` (>= 2 finite points)."""
    out = np.full(len(vpoc), np.nan)
    for j in range(1, len(vpoc)):
        y = vpoc[max(0, j - window + 1): j + 1]
        if len(y) < 2 or not np.isfinite(y).all():
            continue
        x = np.arange(len(y), dtype=np.float64)
        x -= x.mean()
        out[j] = float(x @ (y - y.mean()) / (x @ x))
    return out


def _migration(sessions, tick: float) -> dict[str, np.ndarray]:
    """Per-session migration: slope (ticks/session), direction and streak (NaN where unknown)."""
    table = vpoc_migration(sessions, window=2, min_ticks=1, min_run=2).table
    known = np.isfinite(table["change_ticks"].to_numpy())
    return {
        "slope": _expanding_slope(table["vpoc"].to_numpy(np.float64), SLOPE_SESSIONS) / tick,
        "direction": np.where(known, table["direction"].to_numpy(np.float64), np.nan),
        "streak": np.where(known, table["streak"].to_numpy(np.float64), np.nan),
    }


def prepare(bars: pd.DataFrame, ctx: Context, start: int) -> SegmentLevels:
    """Run the profile engine over one segment's bars (rows ``start:`` of the frame)."""
    dev = developing_profile(bars, ProfileSpec(tick=ctx.tick), prior=True)
    t = dev.table
    cols = {c: t[c].to_numpy(np.float64) for c in ("dev_vpoc", "dev_val", "dev_vah", "prev_vpoc", "prev_val",
                                                   "prev_vah", "naked_above", "naked_below", "naked_count")}
    prev = t["prev_session"].to_numpy()
    has = prev >= 0
    for name, per_session in _migration(dev.sessions, ctx.tick).items():
        cols[f"mig_{name}"] = np.where(has, per_session[np.where(has, prev, 0)], np.nan)
    return SegmentLevels(start, cols)


def _proximity(level: np.ndarray, close: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """``1 / (1 + |level - close| / unit)`` in (0, 1]; 0 where no level exists (infinitely far)."""
    out = unit / (unit + np.abs(np.where(np.isnan(level), 0.0, level) - close))
    out[np.isnan(level) & ~np.isnan(unit)] = 0.0
    return out


def compute(c: Chunk, st: s.Streams, ctx: Context, prepared: SegmentLevels) -> dict[str, np.ndarray]:
    """Profile features of one chunk (see :data:`SPECS`)."""
    rows = slice(c.start - prepared.start, c.stop - prepared.start)
    lv = {k: v[rows] for k, v in prepared.columns.items()}
    unit = floored(atr(c, st, true_range(c, st), 14), ctx.tick)
    out = {}
    for name in ("vpoc", "vah", "val"):
        gap = c.close - lv[f"dev_{name}"]
        out[f"dist_dev_{name}_ticks"] = gap / ctx.tick
        out[f"dist_dev_{name}_atr"] = gap / unit
        out[f"dist_prev_{name}_ticks"] = (c.close - lv[f"prev_{name}"]) / ctx.tick
    width = lv["dev_vah"] - lv["dev_val"]
    out["va_position"] = (c.close - 0.5 * (lv["dev_vah"] + lv["dev_val"])) / floored(width, ctx.tick)
    out["va_width_ticks"] = width / ctx.tick
    out["naked_above_prox_atr"] = _proximity(lv["naked_above"], c.close, unit)
    out["naked_below_prox_atr"] = _proximity(lv["naked_below"], c.close, unit)
    out["naked_count"] = lv["naked_count"]
    for name in ("slope", "direction", "streak"):
        key = "mig_slope_ticks" if name == "slope" else f"mig_{name}"
        out[key] = lv[f"mig_{name}"]
    return out
