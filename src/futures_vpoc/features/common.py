"""Building blocks several groups share: returns, true range, ATR, guarded division and logs.

Each group computes these with its own :class:`~futures_vpoc.features.streams.Streams`, so groups
stay independent (any subset can be built) and each is chunk-invariant on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from futures_vpoc.features import streams as s
from futures_vpoc.features.fit import Fitted
from futures_vpoc.features.segments import Chunk


@dataclass(frozen=True)
class Context:
    """Build-wide settings handed to every group.

    Attributes
    ----------
    tick : float
        Price increment, index points (ES 0.25): the unit of ``*_ticks`` features and the floor of
        every ATR used as a divisor.
    bars_per_year : float
        252 sessions x the bars of a 23-hour Globex session at the data's bar width (1-minute bars:
        347,760; daily bars: 252), to annualize realized volatility against VIX.
    fitted : Fitted or None
        What was learned on the training part (None when the volatility group is not built).
    """

    tick: float
    bars_per_year: float
    fitted: Fitted | None

    def to_dict(self) -> dict:
        """Plain JSON-able state (a trained run freezes it; :meth:`from_dict` restores it exactly)."""
        return {"tick": self.tick, "bars_per_year": self.bars_per_year,
                "fitted": None if self.fitted is None else self.fitted.to_dict()}

    @classmethod
    def from_dict(cls, state: dict) -> Context:
        """Inverse of :meth:`to_dict`."""
        fitted = state.get("fitted")
        return cls(float(state["tick"]), float(state["bars_per_year"]),
                   None if fitted is None else Fitted.from_dict(fitted))


def log_returns(c: Chunk, st: s.Streams) -> np.ndarray:
    """One-bar log return of the close, NaN at a segment's first bar (never across a roll)."""
    lc = np.log(c.close)
    return lc - s.lag(st, "_lc1", lc, c.reset, 1)


def true_range(c: Chunk, st: s.Streams) -> np.ndarray:
    """Wilder's true range, points: ``max(h-l, |h-c'|, |l-c'|)``; ``h-l`` at a segment's first bar."""
    prev = s.lag(st, "_c1", c.close, c.reset, 1)
    hl = c.high - c.low
    first = np.isnan(prev)
    prev = np.where(first, c.close, prev)
    return np.where(first, hl, np.maximum(hl, np.maximum(np.abs(c.high - prev), np.abs(c.low - prev))))


def atr(c: Chunk, st: s.Streams, tr: np.ndarray, n: int = 14) -> np.ndarray:
    """Average true range (Wilder, seeded with the mean of the first ``n`` true ranges), points.

    ``tr`` is this chunk's :func:`true_range` (computed once: a stream advances once per chunk).
    """
    return s.wilder(st, f"_atr{n}", tr, c.reset, n)


def floored(x: np.ndarray, floor: float) -> np.ndarray:
    """``max(x, floor)`` keeping NaN: the guard of every division by an ATR (floor = one tick)."""
    return np.maximum(x, floor)


def ratio(num: np.ndarray, den: np.ndarray, fallback: float) -> np.ndarray:
    """``num / den`` where ``den > 0``; ``fallback`` where ``den == 0``; NaN where either is NaN."""
    out = np.full(np.shape(num), np.nan)
    ok = den > 0
    np.divide(num, den, out=out, where=ok)
    out[(den == 0) & ~np.isnan(num)] = fallback
    return out


def safe_log(x: np.ndarray) -> np.ndarray:
    """Natural log where ``x > 0``, NaN elsewhere (no warning)."""
    out = np.full(np.shape(x), np.nan)
    np.log(x, out=out, where=x > 0)
    return out


def root(x: np.ndarray) -> np.ndarray:
    """Square root of a variance, a tiny negative rounding residue clipped to 0, NaN kept."""
    return np.sqrt(np.maximum(x, 0.0))
