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


@njit(cache=True, inline="always")
def first_ranks(m, c, lo, hi):
    """Levels ``a..b`` taking the first ``m >= 0`` places of the order of :func:`close_rank`.

    The first ``m`` places of c, c-1, c+1, c-2, ... (clipped to ``lo..hi``) are always one run of
    levels around ``c`` (empty, ``b = a - 1``, for ``m = 0``); its ends come in closed form, so no
    level's rank is computed.
    """
    # While both sides have room, c-d holds place 2d-1 and c+d place 2d: m >> 1 levels below c
    # and (m-1) >> 1 above. A side out of room hands its places to the other one, which then takes
    # m-1 minus the places of the short side. The max/min form has no branch (the close often sits
    # at the bar's edge, so a branch here would be mispredicted often).
    below = min(max(m >> 1, m - (hi - c) - 1), c - lo)
    above = min(max((m - 1) >> 1, m - (c - lo) - 1), hi - c)
    return c - below, c + above


@njit(cache=True, inline="always")
def uniform_runs(v, lo, hi, c):
    """The uniform split of volume ``v`` over levels ``lo..hi`` (close ``c``) as runs of levels.

    Bit-identical to :func:`uniform_amount` on every level, without a rank per level: levels
    ``a..b`` get ``q + 1``, level ``f`` gets ``qf`` (the fractional last piece; ``f = hi + 1`` when
    there is none), every other level gets ``q``. ``a..b`` may be empty (``b = a - 1``); ``f``,
    when present, is ``a - 1`` or ``b + 1``.

    Returns
    -------
    q, a, b, f, qf
        ``q`` and ``qf`` are volumes (float64), ``a``, ``b``, ``f`` levels (int).
    """
    q, r = split_volume(v, hi - lo + 1)
    whole = int(r)  # pieces of one contract: the levels of rank < whole (r >= 0, so int() floors)
    a, b = first_ranks(whole, c, lo, hi)
    piece = r - whole  # exact (as uniform_amount's r - rank): the rest of the fraction
    if piece <= 0.0:
        return q, a, b, hi + 1, q
    a2, b2 = first_ranks(whole + 1, c, lo, hi)
    return q, a, b, (a2 if a2 < a else b2), q + piece


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
