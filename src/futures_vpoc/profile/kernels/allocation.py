"""Where a bar's volume goes: the allocation rules and the levels each session can touch.

The allocation codes (``UNIFORM``, ``CLOSE``, ``TPO``), the exact split of a bar's volume over its
levels under the uniform rule (whole part, remainder handed out nearest the close first), and the
span of levels each session's bars can reach, which lays out the concatenated histograms of the
finished and the developing kernels. Rules as in the :mod:`futures_vpoc.profile` docstring
("Allocation").
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

UNIFORM, CLOSE, TPO = 0, 1, 2


@njit(cache=True, inline="always")
def split_volume(v, n):
    """Whole part ``q`` and remainder ``r`` of ``v`` shared by ``n`` levels: ``v = q * n + r``.

    ``q = floor(v / n)`` corrected for the rounding of the division, so ``0 <= r < n`` exactly.
    """
    q = math.floor(v / n)
    if q * n > v:
        q -= 1.0
    elif (q + 1.0) * n <= v:
        q += 1.0
    return q, v - q * n


@njit(cache=True, inline="always")
def close_rank(k, c, lo, hi):
    """Position of level ``k`` in the order c, c-1, c+1, c-2, c+2, ... clipped to [lo, hi]."""
    if k == c:
        return 0
    if k < c:
        d = c - k
        return d + min(d - 1, hi - c)
    d = k - c
    return d + min(d, c - lo)


@njit(cache=True, inline="always")
def uniform_amount(q, r, k, c, lo, hi):
    """Volume of level ``k`` under the uniform rule: ``q`` plus its share of the remainder."""
    piece = r - close_rank(k, c, lo, hi)
    if piece >= 1.0:
        return q + 1.0
    if piece > 0.0:
        return q + piece
    return q


@njit(cache=True)
def _session_span(low, high, close, take, a, b, alloc):
    lo = 1 << 62
    hi = -(1 << 62)
    for t in range(a, b):
        i = take[t]
        if alloc == CLOSE:
            lo = min(lo, close[i])
            hi = max(hi, close[i])
        else:
            lo = min(lo, low[i])
            hi = max(hi, high[i])
    return lo, hi


@njit(cache=True)
def session_spans(low, high, close, take, bounds, alloc):
    """Lowest level and number of levels each session's bars can touch.

    Returns
    -------
    base : int64 array, shape (s,)
    offsets : int64 array, shape (s + 1,)
        Session ``j``'s histogram is ``hist[offsets[j]:offsets[j+1]]``, level ``base[j] + k``.
    """
    s = len(bounds) - 1
    base = np.empty(s, np.int64)
    offsets = np.zeros(s + 1, np.int64)
    for j in range(s):
        lo, hi = _session_span(low, high, close, take, bounds[j], bounds[j + 1], alloc)
        base[j] = lo
        offsets[j + 1] = offsets[j] + hi - lo + 1
    return base, offsets
