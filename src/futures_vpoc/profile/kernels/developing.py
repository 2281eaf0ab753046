"""Developing profiles: the running VPOC, VAL and VAH of every bar, bars in time order.

Each bar grows its session's histogram by the same allocation as the finished profiles
(:mod:`futures_vpoc.profile.kernels.allocation`); the VPOC is kept up to date level by level and the value-area walk
(:mod:`futures_vpoc.profile.kernels.vpoc_area`) is resumed from the last state the bar cannot have changed, so the
values at a session's last bar equal the finished ones.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from futures_vpoc.profile.kernels.allocation import CLOSE, TPO, split_volume, uniform_amount
from futures_vpoc.profile.kernels.vpoc_area import pick_vpoc, walk


@njit(cache=True, inline="always")
def _grow(h, k, a, top, n_top, vpoc, tie):
    """Add ``a > 0`` to level ``k``; keep the maximum, how many levels hold it, and the VPOC."""
    x = h[k] + a
    h[k] = x
    if x > top:
        return x, 1, k, tie
    if x == top:
        return top, n_top + 1, vpoc, True
    return top, n_top, vpoc, tie


@njit(cache=True, inline="always")
def _add_bar(h, lo, hi, c, v, alloc, top, n_top, vpoc, plo, phi):
    """Allocate one bar (levels relative to the session base) into ``h``, keeping the VPOC state.

    Returns ``(top, n_top, vpoc, plo, phi, tie, grew, amount)``: the maximum level volume, how
    many levels hold it, the VPOC, the range of levels holding volume, whether a level joined the
    maximum, whether any level grew, and what the bar adds to the profile total.
    """
    tie = False
    grew = False
    if alloc == CLOSE:
        if v > 0.0:
            top, n_top, vpoc, tie = _grow(h, c, v, top, n_top, vpoc, tie)
            plo = min(plo, c)
            phi = max(phi, c)
            grew = True
        return top, n_top, vpoc, plo, phi, tie, grew, v
    if alloc == TPO:
        for k in range(lo, hi + 1):
            top, n_top, vpoc, tie = _grow(h, k, 1.0, top, n_top, vpoc, tie)
        return top, n_top, vpoc, min(plo, lo), max(phi, hi), tie, True, float(hi - lo + 1)
    q, r = split_volume(v, hi - lo + 1)
    for k in range(lo, hi + 1):
        a = uniform_amount(q, r, k, c, lo, hi)
        if a > 0.0:
            top, n_top, vpoc, tie = _grow(h, k, a, top, n_top, vpoc, tie)
            plo = min(plo, k)
            phi = max(phi, k)
            grew = True
    return top, n_top, vpoc, plo, phi, tie, grew, v


@njit(cache=True, inline="always")
def _first_touched(path_lo, path_hi, last, cl, ch, step):
    """First state of the recorded walk whose next step reads a level in [cl, ch] (else ``last``).

    The levels a step reads (its value area plus ``step`` levels a side) only widen along the
    walk, so the answer is found by bisection.
    """
    a = 0
    b = last + 1
    while a < b:
        mid = (a + b) // 2
        if path_lo[mid] - step <= ch and path_hi[mid] + step >= cl:
            b = mid
        else:
            a = mid + 1
    return min(a, last)


@njit(cache=True, inline="always")
def _changed_levels(lo, hi, c, alloc, plo, phi, old_lo, old_hi):
    """Levels whose volume (or edge-of-range status) a bar may have changed, as one interval.

    The bar's own levels, widened to the old edge when the held range grew (a level that was the
    edge no longer is, which changes how many levels a value-area step may take there).
    """
    cl, ch = (c, c) if alloc == CLOSE else (lo, hi)
    if phi > old_hi:
        cl = min(cl, old_hi + 1)
    if plo < old_lo:
        ch = max(ch, old_lo - 1)
    return cl, ch


@njit(cache=True, inline="always")
def advance_bar(h, path_lo, path_hi, path_in, lo, hi, c, v, alloc, share, step, top, n_top, vpoc, plo, phi, total,
                last):
    """Add one bar (levels ``lo..hi`` relative to the histogram, close ``c``, volume ``v``) to a
    session's developing profile and update its VPOC and value-area walk.

    The one per-bar step of the developing profile, shared by the batch kernel
    (:func:`_develop_session`) and the live one (:func:`futures_vpoc.profile.live.develop`).

    Returns
    -------
    tuple
        The new ``(top, n_top, vpoc, plo, phi, total, last)``; ``path_lo[last]`` / ``path_hi[last]``
        are the value area's edges.
    """
    old_vpoc, old_lo, old_hi = vpoc, plo, phi
    top, n_top, vpoc, plo, phi, tie, grew, amount = _add_bar(h, lo, hi, c, v, alloc, top, n_top, vpoc, plo, phi)
    total += amount
    if grew:
        if n_top > 1 and (tie or plo != old_lo or phi != old_hi):
            vpoc = pick_vpoc(h, plo, phi)
        k = 0
        if vpoc == old_vpoc and last >= 0:
            cl, ch = _changed_levels(lo, hi, c, alloc, plo, phi, old_lo, old_hi)
            k = _first_touched(path_lo, path_hi, last, cl, ch, step)
        if k == 0:
            path_lo[0] = vpoc
            path_hi[0] = vpoc
            path_in[0] = h[vpoc]
        last = walk(h, plo, phi, share * total, step, path_lo, path_hi, path_in, k)
    return top, n_top, vpoc, plo, phi, total, last


@njit(cache=True)
def _develop_session(h, path_lo, path_hi, path_in, low, high, close, volume, take, a, b, b0, alloc, share, step,
                     levels, totals):
    """Developing values of the bars ``take[a:b]`` of one session (``h`` zeroed, level ``b0 + k``)."""
    top = 0.0
    n_top = 0
    vpoc = -1
    plo = len(h)
    phi = -1
    total = 0.0
    last = -1
    for t in range(a, b):
        i = take[t]
        lo = low[i] - b0
        hi = high[i] - b0
        c = close[i] - b0
        top, n_top, vpoc, plo, phi, total, last = advance_bar(h, path_lo, path_hi, path_in, lo, hi, c, volume[i],
                                                              alloc, share, step, top, n_top, vpoc, plo, phi,
                                                              total, last)
        totals[t] = total
        if vpoc >= 0:
            levels[t, 0] = b0 + vpoc
            levels[t, 1] = b0 + path_lo[last]
            levels[t, 2] = b0 + path_hi[last]


@njit(cache=True)
def developing_profiles(low, high, close, volume, take, bounds, base, offsets, alloc, share, two_level):
    """Developing VPOC, VAL and VAH of every in-scope bar.

    The histogram of the bar's session grows by the bar's allocation. The VPOC is updated in O(1)
    per level touched (a level that passes the maximum becomes the VPOC); only while two or more
    levels tie for the maximum and the tie or the range midpoint changes is it re-picked by
    :func:`~futures_vpoc.profile.kernels.pick_vpoc`. The value area is not regrown from the VPOC
    on every bar: the expansion path of the previous bar is kept, and when the VPOC did not move
    the walk resumes from the last state whose next step reads no level this bar changed (found
    by bisection) -- the steps before it would repeat exactly, because they read only unchanged
    levels and the target only grows. A bar that adds nothing keeps the previous values.

    Parameters
    ----------
    low, high, close, volume, take, bounds, alloc, share, two_level
        As :func:`~futures_vpoc.profile.kernels.finished_profiles`.
    base, offsets : int64 arrays
        From :func:`~futures_vpoc.profile.kernels.session_spans`.

    Returns
    -------
    levels : float64 array, shape (m, 3)
        VPOC, VAL, VAH of in-scope bar ``t`` as tick levels; NaN while the session holds no volume.
    totals : float64 array, shape (m,)
        Profile total of the session up to and including the bar.
    """
    m = len(take)
    levels = np.full((m, 3), np.nan)
    totals = np.zeros(m)
    widest = 1
    for j in range(len(bounds) - 1):
        widest = max(widest, offsets[j + 1] - offsets[j])
    h = np.zeros(widest)
    path_lo = np.empty(widest + 1, np.int64)
    path_hi = np.empty(widest + 1, np.int64)
    path_in = np.empty(widest + 1, np.float64)
    for j in range(len(bounds) - 1):
        w = offsets[j + 1] - offsets[j]
        h[:w] = 0.0
        _develop_session(h[:w], path_lo, path_hi, path_in, low, high, close, volume, take, bounds[j], bounds[j + 1],
                         base[j], alloc, share, 2 if two_level else 1, levels, totals)
    return levels, totals
