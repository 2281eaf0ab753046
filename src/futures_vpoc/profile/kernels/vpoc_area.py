"""VPOC and value area of one histogram: the VPOC pick and the value-area expansion walk.

Shared by the finished kernels (:mod:`futures_vpoc.profile.kernels.finished`, one walk per session) and the developing
kernels (:mod:`futures_vpoc.profile.kernels.developing`, which keep the recorded walk and resume it bar by bar). Rules
as in the :mod:`futures_vpoc.profile` docstring ("VPOC", "Value area").
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, _nrt=False)
def pick_vpoc(h, plo, phi):
    """VPOC of histogram ``h`` over levels ``plo..phi`` (the levels holding volume).

    The level of greatest volume; among equal ones the nearest to the middle of ``plo..phi``,
    and of two equally near the lower. Returns -1 when no level holds volume.
    """
    best = -1
    top = 0.0
    twice_mid = plo + phi
    for k in range(plo, phi + 1):
        x = h[k]
        if x > top:
            top = x
            best = k
        elif x == top and x > 0.0 and abs(2 * k - twice_mid) < abs(2 * best - twice_mid):
            best = k
    return best


@njit(cache=True, inline="always")
def _side(h, edge, limit, step, direction):
    """Sum and count of the next ``step`` levels past ``edge`` toward ``limit`` (fewer at the end)."""
    n = min(step, (limit - edge) * direction)
    if n == 2:
        return h[edge + direction] + h[edge + 2 * direction], 2
    if n == 1:
        return h[edge + direction], 1
    return 0.0, 0


@njit(cache=True, nogil=True, _nrt=False)
def walk(h, plo, phi, target, step, path_lo, path_hi, path_in, k):
    """Grow the value area from state ``k`` of a recorded expansion path; return its last step.

    State ``k`` is ``(path_lo[k], path_hi[k], path_in[k])``: lowest and highest level and volume
    inside after ``k`` steps (state 0 is the VPOC alone). Each step compares the next ``step``
    levels above with the next ``step`` below (fewer at the edge of ``plo..phi``) and adds the
    larger side, a tie going up; growth stops when the volume inside reaches ``target`` or no level
    is left. Every state reached is written to the path arrays, so a later call can resume from
    any state whose inputs have not changed.

    Returns
    -------
    int
        Index ``K`` of the final state.
    """
    lo = path_lo[k]
    hi = path_hi[k]
    inside = path_in[k]
    up, n_up = _side(h, hi, phi, step, 1)
    dn, n_dn = _side(h, lo, plo, step, -1)
    while inside < target and (n_up > 0 or n_dn > 0):
        if n_up > 0 and (n_dn == 0 or up >= dn):
            hi += n_up
            inside += up
            up, n_up = _side(h, hi, phi, step, 1)
        else:
            lo -= n_dn
            inside += dn
            dn, n_dn = _side(h, lo, plo, step, -1)
        k += 1
        path_lo[k] = lo
        path_hi[k] = hi
        path_in[k] = inside
    return k


@njit(cache=True, nogil=True)
def value_area(h, vpoc, plo, phi, target, two_level):
    """Contiguous value area grown from ``vpoc`` until it holds ``target`` volume (:func:`walk`).

    Parameters
    ----------
    h : float64 array
        Level volumes; ``plo..phi`` are the first and last levels holding volume.
    vpoc : int
        Start level.
    target : float
        Volume to reach: value-area share times the profile total.
    two_level : bool
        Two levels a side per step (CBOT/Dalton) or one.

    Returns
    -------
    val, vah : int
        Lowest and highest level of the value area.
    inside : float
        Volume inside it.
    """
    size = phi - plo + 2
    path_lo = np.empty(size, np.int64)
    path_hi = np.empty(size, np.int64)
    path_in = np.empty(size, np.float64)
    path_lo[0] = vpoc
    path_hi[0] = vpoc
    path_in[0] = h[vpoc]
    k = walk(h, plo, phi, target, 2 if two_level else 1, path_lo, path_hi, path_in, 0)
    return path_lo[k], path_hi[k], path_in[k]
