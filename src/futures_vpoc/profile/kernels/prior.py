"""Prior levels: the previous completed session and the naked VPOCs at every bar.

A sorted set of naked VPOC levels per contract, grown as sessions complete and erased by the
bars that touch them (the :mod:`futures_vpoc.profile` docstring, "Prior levels").
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _touched(low, high, a, b, level):
    """Whether any bar ``a <= x < b`` has ``low[x] <= level <= high[x]``."""
    for x in range(a, b):
        if low[x] <= level <= high[x]:
            return True
    return False


@njit(cache=True, nogil=True)
def _insert(naked, m, level):
    p = np.searchsorted(naked[:m], level)
    if p < m and naked[p] == level:
        return m
    naked[p + 1:m + 1] = naked[p:m].copy()
    naked[p] = level
    return m + 1


@njit(cache=True, nogil=True)
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
    s = len(last_bar)
    out = prior_levels_from(low, high, code, last_bar, complete_at, vpoc, has_vpoc, session_code,
                            np.arange(s, dtype=np.int64), np.empty(0, np.int64), -1, -1)
    return out[0], out[1], out[2], out[3]


@njit(cache=True, nogil=True)
def prior_levels_from(low, high, code, last_bar, complete_at, vpoc, has_vpoc, session_code, session_id, naked0, cur0,
                   latest0):
    """:func:`prior_levels` started from a carried state (a month of a partitioned dataset).

    The same loop over the month's bars (``low``, ``high``, ``code``: shape (n,)) and the sessions
    that complete in it (shape (s,), in completion order: the carried pending ones first, with
    ``last_bar = -1`` and ``complete_at = 0``), with ``naked0`` (sorted levels), ``cur0`` (the
    contract code in force, -1 none) and ``latest0`` (global row of the latest completed session,
    -1 none) as the state before bar 0. ``session_id`` gives each session's global row.

    Returns
    -------
    tuple
        ``(prev, above, below, count)`` as ``prior_levels`` (``prev`` as global rows), then the
        state after the last bar: ``(naked, cur, latest, done)``; ``done`` sessions completed.
    """
    n = len(low)
    s = len(last_bar)
    prev = np.full(n, -1, np.int64)
    above = np.full(n, np.nan)
    below = np.full(n, np.nan)
    count = np.zeros(n, np.int64)
    naked = np.empty(len(naked0) + s + 1, np.int64)
    m = len(naked0)
    naked[:m] = naked0
    cur = cur0
    latest = latest0
    nxt = 0
    for i in range(n):
        if code[i] != cur:
            cur = code[i]
            m = 0
            latest = -1
        while nxt < s and complete_at[nxt] <= i:
            if session_code[nxt] == cur:
                latest = session_id[nxt]
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
    return prev, above, below, count, naked[:m].copy(), cur, latest, nxt
