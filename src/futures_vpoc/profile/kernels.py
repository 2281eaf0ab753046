"""Fast numba kernels of the profile definition (the package docstring states it).

Why numba: the developing profile is a running histogram, updated bar by bar in time order, with
the VPOC kept up to date as each level grows, and naked VPOCs are a set that each bar may erase;
those recursions have no vectorised numpy form, and a pandas group-by rebuilds every level for
every bar. A compiled sequential loop does the whole history in one pass. The finished profiles
use the same allocation and value-area code, so the two can never disagree.
:mod:`futures_vpoc.profile.reference` holds plain loops of the same definition; the tests prove
both equal. Every kernel is sequential (one core, no ``prange``).

All kernels live in this one file on purpose: numba's on-disk cache (``cache=True``) checks only
the source file of the function it compiled, so a kernel inlining a helper from another file
could keep a stale copy of it after an edit.

Level indices inside a kernel are relative to the session's lowest level (``base``); a
level-holding output of ``-1`` (or NaN) means "no volume yet".
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def _accumulate(h, low, high, close, volume, take, a, b, base, alloc):
    """Add bars ``take[a:b]`` to ``h`` (level ``base + k`` at ``h[k]``); return their total."""
    total = 0.0
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
        c = close[i] - base
        q, r = split_volume(v, hi - lo + 1)
        for k in range(lo, hi + 1):
            h[k] += uniform_amount(q, r, k, c, lo, hi)
        total += v
    return total


@njit(cache=True)
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


@njit(cache=True)
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


# --- running kernels: bars in time order -------------------------------------------------


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
        old_vpoc, old_lo, old_hi = vpoc, plo, phi
        top, n_top, vpoc, plo, phi, tie, grew, amount = _add_bar(h, lo, hi, c, volume[i], alloc, top, n_top, vpoc,
                                                                 plo, phi)
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


@njit(cache=True)
def _erase_touched(naked, m, lo, hi):
    """Drop the levels in [lo, hi] from the sorted ``naked[:m]``; return (new m, insertion point)."""
    p = np.searchsorted(naked[:m], lo)
    q = p
    while q < m and naked[q] <= hi:
        q += 1
    if q > p:
        naked[p:m - (q - p)] = naked[q:m].copy()
        m -= q - p
    return m, p


@njit(cache=True)
def _touched(low, high, a, b, level):
    """Whether any bar ``a <= x < b`` has ``low[x] <= level <= high[x]``."""
    for x in range(a, b):
        if low[x] <= level <= high[x]:
            return True
    return False


@njit(cache=True)
def _insert(naked, m, level):
    p = np.searchsorted(naked[:m], level)
    if p < m and naked[p] == level:
        return m
    naked[p + 1:m + 1] = naked[p:m].copy()
    naked[p] = level
    return m + 1


@njit(cache=True)
def prior_levels(low, high, code, last_bar, complete_at, vpoc, has_vpoc, session_code):
    """Previous completed session and nearest naked VPOCs at every bar.

    A session counts from bar ``complete_at`` on (the first bar that shows it is over); only
    sessions of bar ``i``'s own contract count (the state restarts when the contract changes). A
    completed session's VPOC is naked until a bar after its last bar has it in [low, high]; bar
    ``i`` itself counts.

    Parameters
    ----------
    low, high : int64 arrays, shape (n,)
        Tick levels of every bar (all scopes).
    code : int64 array, shape (n,)
        Contract code of every bar.
    last_bar : int64 array, shape (s,)
        Position of each session's last bar, increasing.
    complete_at : int64 array, shape (s,)
        Position of the bar from which each session counts as completed (> ``last_bar``),
        non-decreasing.
    vpoc : int64 array, shape (s,)
        Each session's VPOC level; ``has_vpoc`` False where the session held no volume.
    session_code : int64 array, shape (s,)

    Returns
    -------
    prev : int64 array, shape (n,)
        Latest completed same-contract session, -1 if none.
    above, below : float64 arrays, shape (n,)
        Nearest naked VPOC level above the bar's high / below its low; NaN if none.
    count : int64 array, shape (n,)
        Number of naked VPOCs after the bar.
    """
    n = len(low)
    s = len(last_bar)
    prev = np.full(n, -1, np.int64)
    above = np.full(n, np.nan)
    below = np.full(n, np.nan)
    count = np.zeros(n, np.int64)
    naked = np.empty(max(s, 1), np.int64)
    m = 0
    cur = -1
    latest = -1
    nxt = 0
    for i in range(n):
        if code[i] != cur:
            cur = code[i]
            m = 0
            latest = -1
        while nxt < s and complete_at[nxt] <= i:
            if session_code[nxt] == cur:
                latest = nxt
                if has_vpoc[nxt] and not _touched(low, high, last_bar[nxt] + 1, i, vpoc[nxt]):
                    m = _insert(naked, m, vpoc[nxt])
            nxt += 1
        m, p = _erase_touched(naked, m, low[i], high[i])
        prev[i] = latest
        if p < m:
            above[i] = naked[p]
        if p > 0:
            below[i] = naked[p - 1]
        count[i] = m
    return prev, above, below, count
