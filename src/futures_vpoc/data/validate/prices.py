"""Checks of the price values of each bar: on the tick grid, and open/close inside ``[low, high]``.

A price within :data:`GRID_NOISE` ticks of the grid is float noise and snapped silently; a price
further off is fatal, or with ``repair`` rounded to the nearest tick. ``high < low`` or an
open/close outside the range is fatal.
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.data.formats import PRICE_FIELDS
from futures_vpoc.data.validate.bars import Bars
from futures_vpoc.data.validate.messages import _HINT_REPAIR, Sources, _num

GRID_NOISE = 1e-6
"""Distance from the grid, in ticks, below which a price is float noise and snapped silently."""


def fix_off_grid(bars: Bars, sources: Sources, tick: float, repair: bool) -> int:
    """Snap float noise silently; raise on prices off the grid, or (``repair``) round them.

    Returns
    -------
    int
        Number of price values rounded (noise below :data:`GRID_NOISE` ticks is not counted).
    """
    found = []
    count = 0
    for j, name in enumerate(PRICE_FIELDS):
        p = getattr(bars, name)
        q = p / tick
        r = np.rint(q)
        q -= r
        np.abs(q, out=q)
        off = np.flatnonzero(q > GRID_NOISE)
        if len(off) and not repair:
            found.append((sources.first(bars, off), j, len(off)))
            continue
        count += len(off)
        np.multiply(r, tick, out=p)
    if found:
        first = sources.first(bars, np.asarray([f[0] for f in found]))
        j = next(f[1] for f in found if f[0] == first)
        name = PRICE_FIELDS[j]
        raise sources.error(bars, first, f"price off the {tick:g} tick grid", column=name,
                            value=_num(getattr(bars, name)[first]),
                            more=sum(f[2] for f in found) - 1,
                            hint=f"check --tick and the price scaling, {_HINT_REPAIR} (round to the nearest tick)")
    return count


def off_grid_rows(bars: Bars, tick: float) -> np.ndarray:
    """Positions of the bars with a price more than :data:`GRID_NOISE` ticks off the grid."""
    prices = np.column_stack([getattr(bars, k) for k in PRICE_FIELDS])
    return np.flatnonzero((np.abs(prices / tick - np.rint(prices / tick)) > GRID_NOISE).any(axis=1))


def ohlc_problems(bars: Bars) -> tuple[tuple[str, np.ndarray, str], ...]:
    """``(column, mask, what)`` per kind: ``high < low``, open or close outside ``[low, high]``."""
    o, h, lo, c = bars.open, bars.high, bars.low, bars.close
    return (
        ("high", h < lo, "high < low"),
        ("open", (o < lo) | (o > h), "open outside [low, high]"),
        ("close", (c < lo) | (c > h), "close outside [low, high]"),
    )


def check_ohlc(bars: Bars, sources: Sources) -> None:
    """Fatal: ``high < low``, or ``open``/``close`` outside ``[low, high]``."""
    o, h, lo, c = bars.open, bars.high, bars.low, bars.close
    hits = [(np.flatnonzero(mask), col, what) for col, mask, what in ohlc_problems(bars)]
    rows = [r for r, _, _ in hits if len(r)]
    if not rows:
        return
    every = np.unique(np.concatenate(rows))
    first = sources.first(bars, every)
    col, what = next((col, what) for r, col, what in hits if len(r) and first in r)
    raise sources.error(bars, first, f"{what} (open {o[first]:g}, high {h[first]:g}, low {lo[first]:g}, "
                        f"close {c[first]:g})", column=col, value=_num(getattr(bars, col)[first]),
                        more=len(every) - 1, hint="fix or remove the row")


__all__ = ["GRID_NOISE", "check_ohlc", "fix_off_grid", "off_grid_rows", "ohlc_problems"]
