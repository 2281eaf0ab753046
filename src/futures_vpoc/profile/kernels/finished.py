"""Finished session profiles: every session's histogram, VPOC and value area in one pass.

Bars are added to their session's histogram by the allocation rule
(:mod:`futures_vpoc.profile.kernels.allocation`), then the VPOC and value area are read off each finished histogram
(:mod:`futures_vpoc.profile.kernels.vpoc_area`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from futures_vpoc.profile.kernels.allocation import CLOSE, TPO, session_spans, uniform_runs
from futures_vpoc.profile.kernels.vpoc_area import pick_vpoc, value_area


@njit(cache=True, inline="always")
def add_uniform(h, lo, hi, c, v, amounts):
    """Add volume ``v`` of a bar with levels ``lo..hi`` (``lo >= 0``) and close ``c`` to ``h`` by the uniform rule.

    Each level gets exactly one addition of its
    :func:`~futures_vpoc.profile.kernels.uniform_amount` (so the sums are bit-identical to the
    level-by-level rule), read from ``amounts`` (scratch float64, shape (3,): ``q``, ``q + 1``,
    the fractional piece's level amount) by the level's place in the runs of
    :func:`~futures_vpoc.profile.kernels.uniform_runs`.
    """
    q, a, b, f, qf = uniform_runs(v, lo, hi, c)
    amounts[0] = q
    amounts[1] = q + 1.0
    amounts[2] = qf
    # Speed: a table look-up by an unsigned range test, not "q + 1 if a <= k <= b else q" (numba
    # compiles that to a branch per level, mispredicted at the run's random edges: 2x slower);
    # unsigned indices skip numba's negative-index wraparound; the fractional level (rare with
    # integer volumes) gets its own loop.
    run = np.uint64(b - a + 1)
    if f > hi:
        for k in range(lo, hi + 1):
            h[np.uint64(k)] += amounts[np.uint64(np.uint64(k - a) < run)]
    else:
        for k in range(lo, hi + 1):
            h[np.uint64(k)] += amounts[np.uint64(np.uint64(k - a) < run) + np.uint64(2) * np.uint64(k == f)]


@njit(cache=True, nogil=True)
def _accumulate(h, low, high, close, volume, take, a, b, base, alloc):
    """Add bars ``take[a:b]`` to ``h`` (level ``base + k`` at ``h[k]``); return their total."""
    total = 0.0
    amounts = np.empty(3)
    for t in range(a, b):
        i = take[t]
        v = volume[i]
        if alloc == CLOSE:
            h[close[i] - base] += v
            total += v
            continue
        lo = low[i] - base
        hi = high[i] - base
        if alloc == TPO:
            for k in range(lo, hi + 1):
                h[k] += 1.0
            total += hi - lo + 1
            continue
        add_uniform(h, lo, hi, close[i] - base, v, amounts)
        total += v
    return total


@njit(cache=True, nogil=True)
def profile_stats(h, total, share, two_level):
    """VPOC, value area and range of one finished histogram.

    Returns
    -------
    tuple
        ``(vpoc, val, vah, plo, phi, poc_volume, va_volume)``; levels are indices into ``h``,
        all -1 (volumes 0) when no level holds volume.
    """
    plo = 0
    while plo < len(h) and h[plo] <= 0.0:
        plo += 1
    if plo == len(h):
        return -1, -1, -1, -1, -1, 0.0, 0.0
    phi = len(h) - 1
    while h[phi] <= 0.0:
        phi -= 1
    vpoc = pick_vpoc(h, plo, phi)
    val, vah, inside = value_area(h, vpoc, plo, phi, share * total, two_level)
    return vpoc, val, vah, plo, phi, h[vpoc], inside


@njit(cache=True, nogil=True)
def finished_profiles(low, high, close, volume, take, bounds, alloc, share, two_level):
    """Histograms, VPOC and value area of every session.

    Parameters
    ----------
    low, high, close : int64 arrays, shape (n,)
        Tick levels of every bar.
    volume : float64 array, shape (n,)
    take : int64 array, shape (m,)
        Positions of in-scope bars; ``bounds`` (shape (s + 1,)) splits it into sessions.
    alloc : int
        0 uniform, 1 close, 2 tpo.
    share : float
        Value-area target share.
    two_level : bool

    Returns
    -------
    base, offsets, hist, stats, totals
        ``stats`` is int64 (s, 5): vpoc, val, vah, plo, phi as absolute levels (``-1``-relative
        entries become ``base - 1``; callers use ``poc_volume > 0`` to tell them apart);
        ``totals`` is float64 (s, 3): profile total, poc volume, value-area volume.
    """
    base, offsets = session_spans(low, high, close, take, bounds, alloc)
    s = len(base)
    hist = np.zeros(offsets[s], np.float64)
    stats = np.empty((s, 5), np.int64)
    totals = np.empty((s, 3), np.float64)
    for j in range(s):
        h = hist[offsets[j]:offsets[j + 1]]
        total = _accumulate(h, low, high, close, volume, take, bounds[j], bounds[j + 1], base[j], alloc)
        vpoc, val, vah, plo, phi, poc, inside = profile_stats(h, total, share, two_level)
        stats[j, 0] = base[j] + vpoc
        stats[j, 1] = base[j] + val
        stats[j, 2] = base[j] + vah
        stats[j, 3] = base[j] + plo
        stats[j, 4] = base[j] + phi
        totals[j, 0] = total
        totals[j, 1] = poc
        totals[j, 2] = inside
    return base, offsets, hist, stats, totals
