"""Developing profiles: the running VPOC, VAL and VAH of every bar, bars in time order.

Each bar grows its session's histogram by the same allocation as the finished profiles
(:mod:`futures_vpoc.profile.kernels.allocation`); the VPOC is kept up to date as levels grow, and the value-area
walk (:mod:`futures_vpoc.profile.kernels.vpoc_area`) is kept as a recorded path of states that each bar brings up
to date, so the values at a session's last bar equal the finished ones.

Two ways to bring the recorded walk up to date after a bar; both give the walk of the whole
histogram, bit for bit:

- exact sums (every level volume and every sum of them is an integer below 2**53, so a float sum
  does not depend on its order: integer volumes, which every exchange reports, and TPO counts):
  the value area is updated incrementally (:func:`_update_walk`). Only the steps whose compared
  sides read a level the bar changed are re-checked; the walk is regrown only where the bar
  changed a step, until it meets the recorded path again; the last state's inside volume gains
  what the bar added inside it, and the stop moves back or on to the first state that reaches
  the new target. In this mode ``path_in`` is current at the last state only (the others are
  derived when needed; all are summed afresh when the mode ends, :func:`_resum`);
- otherwise (fractional volumes): the walk is regrown from the first step that reads a changed
  level, summing in walk order as the finished profile does (``path_in`` current at every state).

A bar's allocation is described by its *shape* ``(x0, x1, q, a, b, w)``: it adds ``q`` to every
level ``x0..x1`` and ``w`` more to levels ``a..b`` (one addition per level), nothing elsewhere.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from futures_vpoc.profile.kernels.allocation import CLOSE, TPO, split_volume, uniform_amount, uniform_runs
from futures_vpoc.profile.kernels.vpoc_area import _side, pick_vpoc, walk

EXACT_LIMIT = 2.0 ** 53
"""Largest profile total for which every sum of integer level volumes is exact in float64."""


@njit(cache=True, nogil=True, _nrt=False)
def _grow(h, k, a, top, n_top, vpoc, tie):
    """Add ``a > 0`` to level ``k``; keep the maximum, how many levels hold it, and the VPOC."""
    x = h[k] + a
    h[k] = x
    if x > top:
        return x, 1, k, tie
    if x == top:
        return top, n_top + 1, vpoc, True
    return top, n_top, vpoc, tie


@njit(cache=True, nogil=True, _nrt=False)
def _add_levels(h, lo, hi, c, v, top, n_top, vpoc, plo, phi):
    """Uniform allocation level by level (:func:`uniform_amount`), for a bar with a fractional piece.

    Returns ``(top, n_top, vpoc, plo, phi, tie, grew)`` as :func:`_add_bar`.
    """
    tie = False
    grew = False
    q, r = split_volume(v, hi - lo + 1)
    for k in range(lo, hi + 1):
        a = uniform_amount(q, r, k, c, lo, hi)
        if a > 0.0:
            top, n_top, vpoc, tie = _grow(h, k, a, top, n_top, vpoc, tie)
            plo = min(plo, k)
            phi = max(phi, k)
            grew = True
    return top, n_top, vpoc, plo, phi, tie, grew


@njit(cache=True, inline="always")
def _add_shape(h, x0, x1, q, a, b, w):
    """Add a bar's shape to ``h`` (levels ``x0..x1 >= 0``); return the largest new level volume.

    ``q`` and ``w`` are whole numbers below 2**62 (uniform and TPO shapes). Level ``k`` gets
    ``q + w`` on ``a..b`` and ``q`` elsewhere, added once: ``q + w`` is the rule's ``q + 1.0`` (for a
    TPO shape ``w`` is 0 and it is ``q``).
    """
    # Speed: one unsigned comparison tells whether k is in a..b (k - a wraps to a huge number
    # below a); an empty run a..b gets the amount q, so where its comparison lands does not matter.
    qw = q + w if b >= a else q
    span = np.uint64(b - a)
    big = -np.inf
    for k in range(x0, x1 + 1):
        x = h[np.uint64(k)] + (qw if np.uint64(k - a) <= span else q)
        h[np.uint64(k)] = x
        big = max(big, x)
    return big


@njit(cache=True, nogil=True, _nrt=False)
def _regrade(h, x0, x1, top, n_top, vpoc):
    """The maximum bookkeeping of :func:`_grow` replayed over levels ``x0..x1`` just grown.

    Returns ``(top, n_top, vpoc, tie)`` as growing those levels one by one, ascending, would.
    """
    tie = False
    for k in range(x0, x1 + 1):
        x = h[k]
        if x > top:
            top = x
            n_top = 1
            vpoc = k
        elif x == top:
            n_top += 1
            tie = True
    return top, n_top, vpoc, tie


@njit(cache=True, inline="always")
def _bar_shape(lo, hi, c, v, alloc):
    """The shape ``(x0, x1, q, a, b, w)`` of one bar's allocation (module docstring).

    ``x1 < x0`` when the bar grows no level; ``x0 = -1`` for a uniform bar with a fractional piece
    (or an absurdly large volume), which is added level by level instead (:func:`_add_levels`).
    """
    if alloc == CLOSE:
        if v > 0.0:
            return c, c, v, c, c - 1, 0.0
        return c, c - 1, 0.0, c, c - 1, 0.0
    if alloc == TPO:
        return lo, hi, 1.0, lo, lo - 1, 0.0
    q, a, b, f, _ = uniform_runs(v, lo, hi, c)
    if f <= hi or q >= 2.0 ** 62:
        return -1, hi, q, a, b, 1.0
    if q > 0.0:
        return lo, hi, q, a, b, 1.0
    if q == 0.0:  # only the run of whole contracts holds volume: 0 + 1 == 1 each
        return a, b, 0.0, a, b, 1.0
    return lo, lo - 1, 0.0, lo, lo - 1, 0.0  # a negative volume grows nothing


@njit(cache=True, inline="always")
def _add_bar(h, lo, hi, c, v, alloc, top, n_top, vpoc, plo, phi):
    """Allocate one bar (levels relative to the session base, ``>= 0``) into ``h``, keeping the VPOC state.

    Returns
    -------
    tuple
        ``(top, n_top, vpoc, plo, phi, tie, grew, amount, shape)``: the maximum level volume, how
        many levels hold it, the VPOC, the range of levels holding volume, whether a level joined
        the maximum, whether any level grew, what the bar adds to the profile total, and the bar's
        shape (:func:`_bar_shape`; meaningful for exact sums only).
    """
    amount = float(hi - lo + 1) if alloc == TPO else v
    shape = _bar_shape(lo, hi, c, v, alloc)
    x0, x1, q, a, b, w = shape
    if x0 < 0:
        top, n_top, vpoc, plo, phi, tie, grew = _add_levels(h, lo, hi, c, v, top, n_top, vpoc, plo, phi)
        return top, n_top, vpoc, plo, phi, tie, grew, amount, shape
    if x1 < x0:
        return top, n_top, vpoc, plo, phi, False, False, amount, shape
    tie = False
    if alloc == CLOSE:
        top, n_top, vpoc, tie = _grow(h, c, v, top, n_top, vpoc, tie)
    elif _add_shape(h, x0, x1, q, a, b, w) >= top:  # rare: a level reached the maximum
        top, n_top, vpoc, tie = _regrade(h, x0, x1, top, n_top, vpoc)
    return top, n_top, vpoc, min(plo, x0), max(phi, x1), tie, True, amount, shape


@njit(cache=True, inline="always")
def _gain(x, y, shape):
    """Volume a bar of ``shape`` added on levels ``x..y`` (exact sums only)."""
    x0, x1, q, a, b, w = shape
    spread = max(0, min(y, x1) - max(x, x0) + 1)
    extra = max(0, min(y, b) - max(x, a) + 1)
    return q * spread + w * extra


@njit(cache=True, inline="always")
def _untouched(path_lo, path_hi, m, cl, ch, step):
    """Whether the next step of recorded state ``m`` reads no level in [cl, ch]."""
    return (path_lo[m] - step > ch) | (path_hi[m] + step < cl)


@njit(cache=True, inline="always")
def _bisect_touched(path_lo, path_hi, first, last, cl, ch, step):
    """First state in ``first..last`` whose next step reads a level in [cl, ch] (else ``last``),
    given that the states before ``first`` read none.

    The levels a step reads (its value area plus ``step`` levels a side) only widen along the
    walk, so the answer is found by bisection.
    """
    # Branch-free bisection: the number of halvings is fixed by the range and each probe moves
    # ``base`` by arithmetic, not by a branch that the random probes would mispredict.
    base = first
    n = last - first + 1
    while n > 1:
        half = n >> 1
        base += half * np.int64(_untouched(path_lo, path_hi, base + half - 1, cl, ch, step))
        n -= half
    base += np.int64(_untouched(path_lo, path_hi, base, cl, ch, step))
    return min(base, last)


NEAR = 8
"""States around the previous bar's answer that :func:`_first_touched` looks at first."""


@njit(cache=True, inline="always")
def _first_touched(path_lo, path_hi, last, cl, ch, step, hint):
    """First state of the recorded walk whose next step reads a level in [cl, ch] (else ``last``).

    ``hint`` is a guess (the previous bar's answer; consecutive bars trade at nearby prices, so it
    is usually right or near). The ``NEAR`` states from ``hint - NEAR // 2`` are looked at together:
    the untouched ones are the first of them (the levels a step reads only widen along the walk),
    so their count places the answer when it lies in that window; else the rest of the walk is
    bisected (:func:`_bisect_touched`).
    """
    # Speed: the window's probes do not depend on one another (unlike a bisection's), so they
    # overlap; only the rare miss pays for the bisection as well.
    w0 = max(0, min(hint - NEAR // 2, last - NEAR + 1))
    count = 0
    for j in range(NEAR):
        count += np.int64(_untouched(path_lo, path_hi, min(w0 + j, last), cl, ch, step))
    k = min(w0 + count, last)
    if w0 > 0 and _untouched(path_lo, path_hi, w0 - 1, cl, ch, step) == 0:
        return _bisect_touched(path_lo, path_hi, 0, w0 - 1, cl, ch, step)
    if count == NEAR and k < last:
        return _bisect_touched(path_lo, path_hi, k, last, cl, ch, step)
    return k


@njit(cache=True, inline="always")
def _changed_levels(x0, x1, plo, phi, old_lo, old_hi):
    """Levels whose volume (or edge-of-range status) a bar may have changed, as one interval.

    The levels the bar grew (``x0..x1``), widened to the old edge when the held range grew (a level
    that was the edge no longer is, which changes how many levels a value-area step may take there).
    """
    cl, ch = x0, x1
    if phi > old_hi:
        cl = min(cl, old_hi + 1)
    if plo < old_lo:
        ch = max(ch, old_lo - 1)
    return cl, ch


@njit(cache=True, inline="always")
def _sides(h, lo, hi, plo, phi, step):
    """``(up, n_up, dn, n_dn)``: the two sides a step from ``lo..hi`` compares, as :func:`_side` gives them.

    Speed: the four levels are read before the counts are known (every index is clamped into
    ``plo..phi``, so always valid); the sum is then picked by the count, the same floats as
    :func:`_side`'s.
    """
    n_up = min(step, phi - hi)
    n_dn = min(step, lo - plo)
    u1 = h[np.uint64(min(hi + 1, phi))]
    u2 = h[np.uint64(min(hi + 2, phi))]
    d1 = h[np.uint64(max(lo - 1, plo))]
    d2 = h[np.uint64(max(lo - 2, plo))]
    up2 = u1 + u2
    dn2 = d1 + d2
    up = up2 if n_up == 2 else (u1 if n_up == 1 else 0.0)
    dn = dn2 if n_dn == 2 else (d1 if n_dn == 1 else 0.0)
    return up, n_up, dn, n_dn


@njit(cache=True, inline="always")
def _standing_inner(h, path_lo, path_hi, s, last, cl, ch):
    """:func:`_standing` for two-level steps whose sides all hold two levels (far from the profile's edges)."""
    # The same check as _standing's with n_up = n_dn = 2: the larger side is taken, a tie going up.
    lo = path_lo[np.uint64(s)]
    hi = path_hi[np.uint64(s)]
    while (s < last) & ((lo > cl) | (hi < ch)):
        nlo = path_lo[np.uint64(s + 1)]
        nhi = path_hi[np.uint64(s + 1)]
        up = h[np.uint64(hi + 1)] + h[np.uint64(hi + 2)]
        dn = h[np.uint64(lo - 1)] + h[np.uint64(lo - 2)]
        go_up = np.int64(up >= dn)
        if (nhi != hi + 2 * go_up) | (nlo != lo - 2 + 2 * go_up):
            return s
        s += 1
        lo = nlo
        hi = nhi
    return s


@njit(cache=True, inline="always")
def _standing(h, plo, phi, step, path_lo, path_hi, s, last, cl, ch):
    """Re-check the recorded steps from state ``s`` with the new volumes (exact sums only).

    A step stands when it still takes the same side and number of levels. Returns the first
    state from ``s`` whose step does not stand, or the first that holds ``cl..ch`` (its step and
    the later ones compare only unchanged levels), or ``last``.
    """
    # Speed: the states only widen along the walk, so when the last one is two levels or more
    # from both edges of the profile, every side compared holds two levels.
    if (step == 2) & (path_hi[last] + 2 <= phi) & (path_lo[last] - 2 >= plo):
        return _standing_inner(h, path_lo, path_hi, s, last, cl, ch)
    lo = path_lo[s]
    hi = path_hi[s]
    while (s < last) & ((lo > cl) | (hi < ch)):
        nlo = path_lo[np.uint64(s + 1)]
        nhi = path_hi[np.uint64(s + 1)]
        up, n_up, dn, n_dn = _sides(h, lo, hi, plo, phi, step)
        # The side taken is close to a coin flip, so it is compared by arithmetic, not branches.
        go_up = np.int64((n_up > 0) & ((n_dn == 0) | (up >= dn)))
        if (nhi != hi + n_up * go_up) | (nlo != lo - n_dn * (1 - go_up)):
            return s
        s += 1
        lo = nlo
        hi = nhi
    return s


@njit(cache=True, inline="always")
def _window(h, path_lo, path_hi, j):
    """Volume of the levels that step ``j - 1`` of the walk took, summed as :func:`walk` sums a side."""
    edge = path_hi[j - 1]
    n = path_hi[j] - edge
    if n == 0:
        edge = path_lo[j - 1]
        n = edge - path_lo[j]
        return h[edge - 1] + h[edge - 2] if n == 2 else h[edge - 1]
    return h[edge + 1] + h[edge + 2] if n == 2 else h[edge + 1]


@njit(cache=True, nogil=True, _nrt=False)
def _resum(h, path_lo, path_hi, path_in, last):
    """Inside volume of every recorded state ``0..last``, summed in walk order as :func:`walk` does."""
    path_in[0] = h[path_lo[0]]
    for j in range(1, last + 1):
        path_in[j] = path_in[j - 1] + _window(h, path_lo, path_hi, j)


@njit(cache=True, inline="always")
def _first_reaching(h, path_lo, path_hi, path_in, j, target):
    """First state of the walk up to ``j`` whose inside volume reaches ``target`` (exact sums only).

    ``path_in[j]`` is current and reaches ``target`` (or ``j`` ends the walk); inside volumes never
    decrease along the walk, so the states before are stepped back through, each one's inside
    volume being the next one's less the window that step took (written to ``path_in``).
    """
    while j > 0:
        before = path_in[j] - _window(h, path_lo, path_hi, j)
        if before < target:
            break
        j -= 1
        path_in[j] = before
    return j


@njit(cache=True, nogil=True, _nrt=False)
def _inside_of(h, lo, hi):
    """Volume of levels ``lo..hi`` (exact sums only: any order of addition gives the same float)."""
    # Speed: four running sums, so the additions do not wait on one another (exact, so the
    # order does not change the result).
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    k = lo
    while k + 3 <= hi:
        t0 += h[np.uint64(k)]
        t1 += h[np.uint64(k + 1)]
        t2 += h[np.uint64(k + 2)]
        t3 += h[np.uint64(k + 3)]
        k += 4
    while k <= hi:
        t0 += h[np.uint64(k)]
        k += 1
    return (t0 + t1) + (t2 + t3)


@njit(cache=True, nogil=True, _nrt=False)
def _reroute(h, plo, phi, step, path_lo, path_hi, s, last):
    """Walk on from state ``s`` (as :func:`walk`, exact sums only) until the new path meets the recorded one.

    The expansion path does not depend on the target (only where the walk stops does), so the
    states are grown without their inside volumes: the stop is found afterwards from the last
    state's (:func:`_first_reaching`). This spares summing state ``s`` afresh.

    Returns
    -------
    t : int
        The state where the walk stopped: it equals recorded state ``t <= last`` (``met``), or it
        is ``last`` (a new state) or an earlier one that holds every level.
    met : bool
        Whether new state ``t`` equals recorded state ``t`` (the states after it stand).
    """
    lo = path_lo[s]
    hi = path_hi[s]
    while s < last:
        up, n_up = _side(h, hi, phi, step, 1)
        dn, n_dn = _side(h, lo, plo, step, -1)
        if n_up == 0 and n_dn == 0:
            return s, False
        if n_up > 0 and (n_dn == 0 or up >= dn):
            hi += n_up
        else:
            lo -= n_dn
        s += 1
        if path_lo[s] == lo and path_hi[s] == hi:
            return s, True
        path_lo[s] = lo
        path_hi[s] = hi
    return s, False


@njit(cache=True, inline="always")
def _update_walk(h, plo, phi, target, step, path_lo, path_hi, path_in, last, k, cl, ch, shape):
    """Bring the recorded walk up to date after a bar, incrementally (exact sums only).

    The VPOC did not move; the bar (``shape``) changed levels within ``cl..ch``
    (:func:`_changed_levels`), and state ``k`` is the first whose next step reads one of them
    (:func:`_first_touched`): the steps before ``k`` stand. From ``k`` until a state holds all of
    ``cl..ch``, each step is re-checked with the new volumes (:func:`_standing`); a step the bar
    changed is regrown until the path meets the recorded one again (:func:`_reroute`: a swap of two
    steps meets it two states later). The later steps hold the whole bar and compare only
    unchanged levels, so they stand. The walk is kept as the path it would take with no target
    up to state ``last``; only the last state's inside volume is kept up to date in this mode (the
    others are derived when needed): it gains what the bar added inside it (:func:`_gain`), or is
    summed afresh when the bar changed the last state itself; the stop is then found by stepping
    back (:func:`_first_reaching`) or by walking on past the old end. Every sum is an exact
    integer, so adding in another order than the walk's gives the same floats.

    Returns
    -------
    int
        Index of the final state, as :func:`walk`.
    """
    s = k
    while s < last and (path_lo[s] > cl or path_hi[s] < ch):
        s = _standing(h, plo, phi, step, path_lo, path_hi, s, last, cl, ch)
        if s == last or (path_lo[s] <= cl and path_hi[s] >= ch):
            break
        s, met = _reroute(h, plo, phi, step, path_lo, path_hi, s, last)
        if not met:  # the path is new up to its end ``s``: sum that state afresh
            path_in[s] = _inside_of(h, path_lo[s], path_hi[s])
            if s == last and path_in[s] < target:
                return walk(h, plo, phi, target, step, path_lo, path_hi, path_in, s)
            return _first_reaching(h, path_lo, path_hi, path_in, s, target)
    path_in[last] += _gain(path_lo[last], path_hi[last], shape)
    if path_in[last] < target:
        return walk(h, plo, phi, target, step, path_lo, path_hi, path_in, last)
    return _first_reaching(h, path_lo, path_hi, path_in, last, target)


@njit(cache=True, inline="always")
def stays_exact(exact, v, alloc, total):
    """Whether the session's level volumes and their sums are still exact integers after a bar.

    ``exact`` is the flag before the bar, ``v`` the bar's volume, ``total`` the profile total after
    it. TPO counts are integers; a volume with a fraction (or NaN) ends the exact mode for the rest
    of the session.
    """
    return exact and (alloc == TPO or v == math.floor(v)) and total <= EXACT_LIMIT


@njit(cache=True, inline="always")
def _advance(h, path_lo, path_hi, path_in, lo, hi, c, v, alloc, share, step, top, n_top, vpoc, plo, phi, total, last,
             exact, hint):
    """Add one bar (levels ``lo..hi`` relative to the histogram, ``lo >= 0``, close ``c``, volume
    ``v``) to a session's developing profile and update its VPOC and value-area walk.

    ``exact`` is the session's exact-sums flag (True at the session's start, see
    :func:`stays_exact`): while it holds, the walk is updated incrementally (:func:`_update_walk`),
    else regrown from the first step the bar can have changed. ``hint`` is a guess of that first
    step (:func:`_first_touched`; any state index is correct, a near one is faster).

    Returns
    -------
    tuple
        The new ``(top, n_top, vpoc, plo, phi, total, last, exact, hint)``; ``path_lo[last]`` /
        ``path_hi[last]`` are the value area's edges, ``hint`` the first step this bar could have
        changed (a guess for the next bar).
    """
    old_vpoc, old_lo, old_hi = vpoc, plo, phi
    top, n_top, vpoc, plo, phi, tie, grew, amount, shape = _add_bar(h, lo, hi, c, v, alloc, top, n_top, vpoc, plo,
                                                                    phi)
    total += amount
    was_exact = exact
    exact = stays_exact(exact, v, alloc, total)
    if was_exact and not exact and last >= 0:  # leaving the exact mode: every state's inside volume
        _resum(h, path_lo, path_hi, path_in, last)
    if not grew:
        return top, n_top, vpoc, plo, phi, total, last, exact, hint
    if n_top > 1 and (tie or plo != old_lo or phi != old_hi):
        vpoc = pick_vpoc(h, plo, phi)
    target = share * total
    if vpoc != old_vpoc or last < 0:  # a new VPOC: grow the walk afresh
        path_lo[0] = vpoc
        path_hi[0] = vpoc
        path_in[0] = h[vpoc]
        last = walk(h, plo, phi, target, step, path_lo, path_hi, path_in, 0)
        return top, n_top, vpoc, plo, phi, total, last, exact, hint
    x0, x1 = (lo, hi) if shape[0] < 0 else (shape[0], shape[1])
    cl, ch = _changed_levels(x0, x1, plo, phi, old_lo, old_hi)
    k = _first_touched(path_lo, path_hi, last, cl, ch, step, hint)
    if exact:
        last = _update_walk(h, plo, phi, target, step, path_lo, path_hi, path_in, last, k, cl, ch, shape)
    else:
        if k == 0:
            path_in[0] = h[vpoc]
        last = walk(h, plo, phi, target, step, path_lo, path_hi, path_in, k)
    return top, n_top, vpoc, plo, phi, total, last, exact, k


@njit(cache=True, inline="always")
def advance_bar(h, path_lo, path_hi, path_in, lo, hi, c, v, alloc, share, step, top, n_top, vpoc, plo, phi, total,
                last, exact):
    """Add one bar to a session's developing profile and update its VPOC and value-area walk.

    The one per-bar step of the developing profile, shared by the batch kernel
    (:func:`_develop_session`, which calls :func:`_advance` to carry its ``hint`` from bar to bar)
    and the live one (:func:`futures_vpoc.profile.live.develop`). Arguments as :func:`_advance`.

    Returns
    -------
    tuple
        The new ``(top, n_top, vpoc, plo, phi, total, last, exact)``; ``path_lo[last]`` /
        ``path_hi[last]`` are the value area's edges.
    """
    top, n_top, vpoc, plo, phi, total, last, exact, _ = _advance(h, path_lo, path_hi, path_in, lo, hi, c, v, alloc,
                                                                 share, step, top, n_top, vpoc, plo, phi, total,
                                                                 last, exact, 0)
    return top, n_top, vpoc, plo, phi, total, last, exact


@njit(cache=True, nogil=True, _nrt=False)
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
    exact = True
    hint = 0  # the previous bar's first changed step: consecutive bars trade at nearby prices
    for t in range(a, b):
        i = take[t]
        lo = low[i] - b0
        hi = high[i] - b0
        c = close[i] - b0
        top, n_top, vpoc, plo, phi, total, last, exact, hint = _advance(h, path_lo, path_hi, path_in, lo, hi, c,
                                                                        volume[i], alloc, share, step, top, n_top,
                                                                        vpoc, plo, phi, total, last, exact, hint)
        totals[t] = total
        if vpoc >= 0:
            levels[t, 0] = b0 + vpoc
            levels[t, 1] = b0 + path_lo[last]
            levels[t, 2] = b0 + path_hi[last]


def developing_profiles(low, high, close, volume, take, bounds, base, offsets, alloc, share, two_level):
    """Developing VPOC, VAL and VAH of every in-scope bar.

    The histogram of the bar's session grows by the bar's allocation. The VPOC is updated in O(1)
    per level touched (a level that passes the maximum becomes the VPOC); only while two or more
    levels tie for the maximum and the tie or the range midpoint changes is it re-picked by
    :func:`~futures_vpoc.profile.kernels.pick_vpoc`. The value area is not regrown from the VPOC
    on every bar: the expansion path of the previous bar is kept and, when the VPOC did not move,
    updated incrementally (module docstring; the steps before the first one that reads a level
    this bar changed stand as they are, because they read only unchanged levels and the target
    only grows). A bar that adds nothing keeps the previous values.

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
    # allocated here, not inside the kernel: numpy asks the kernel for transparent huge pages on large
    # arrays, numba's runtime does not. On 3.2M bars that is ~600 page faults instead of ~25,000 for the
    # 100 MB of outputs, 8-10 % of the whole kernel's time (more where fresh memory is slow to fault in)
    levels = np.full((m, 3), np.nan)
    totals = np.zeros(m)
    _developing_into(levels, totals, low, high, close, volume, take, bounds, base, offsets, alloc, share, two_level)
    return levels, totals


@njit(cache=True, nogil=True)
def _developing_into(levels, totals, low, high, close, volume, take, bounds, base, offsets, alloc, share,
                     two_level):
    """The loop of :func:`developing_profiles`, writing into ``levels`` (NaN-filled) and ``totals`` (zeros)."""
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
