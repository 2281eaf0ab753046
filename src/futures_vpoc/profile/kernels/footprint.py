"""Footprints: volume, buy and sell volume at each price level of each minute, from trades.

A footprint entry is one (minute, level) pair that traded: the exact volume at that price in
that minute, split by aggressor. Session profiles and the developing profile as of each minute
are sums of these entries (:mod:`futures_vpoc.profile.exact`), so the trades are read once and
then dropped: a year of ES prints (~500M) becomes a few million entries.

Why a kernel: the trades of a minute are a run in time order; within the run the levels are
scattered into a small scratch histogram (the run's own span of levels) and read back in level
order. A pandas group-by on (minute, level) sorts all prints (n log n) and allocates per group.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MINUTE_NS = 60_000_000_000


@njit(cache=True, inline="always")
def _level(price, inv_tick):
    # the grid rule of profile.grid: rint(price / tick); price * (1 / tick) is the same float
    # for every on-grid price (validated upstream) and a multiply is cheaper than a divide
    return np.int64(np.rint(price * inv_tick))


@njit(cache=True, nogil=True)
def footprint_into(ts, price, size, cls, tick, out_min, out_lvl, out_vol, out_buy, out_sell):
    """Write the footprint entries of :func:`footprint` into ``out_*`` (length >= n); return their count."""
    n = len(ts)
    inv_tick = 1.0 / tick
    cap = 64
    hv = np.zeros(cap, np.float64)
    hb = np.zeros(cap, np.float64)
    hs = np.zeros(cap, np.float64)
    e = 0
    i = 0
    while i < n:
        minute = ts[i] // MINUTE_NS
        end = (minute + 1) * MINUTE_NS
        lo = _level(price[i], inv_tick)
        hi = lo
        j = i
        while j < n and ts[j] < end:
            k = _level(price[j], inv_tick)
            lo = min(lo, k)
            hi = max(hi, k)
            j += 1
        span = hi - lo + 1
        if span > cap:
            cap = span
            hv = np.zeros(cap, np.float64)
            hb = np.zeros(cap, np.float64)
            hs = np.zeros(cap, np.float64)
        for t in range(i, j):
            x = _level(price[t], inv_tick) - lo
            v = size[t]
            hv[x] += v
            c = cls[t]
            if c > 0:
                hb[x] += v
            elif c < 0:
                hs[x] += v
        stamp = minute * MINUTE_NS
        for x in range(span):
            v = hv[x]
            if v != 0.0:
                out_min[e] = stamp
                out_lvl[e] = lo + x
                out_vol[e] = v
                out_buy[e] = hb[x]
                out_sell[e] = hs[x]
                e += 1
                hv[x] = 0.0
                hb[x] = 0.0
                hs[x] = 0.0
        i = j
    return e


def footprint(ts, price, size, cls, tick, buffers=None):
    """Footprint entries of one contract's trades in time order.

    Parameters
    ----------
    ts : int64 array, shape (n,)
        Trade times, ns UTC, non-decreasing.
    price : float64 array, shape (n,)
        Index points on the ``tick`` grid.
    size : float64 array, shape (n,)
        Contracts, > 0.
    cls : int8 array, shape (n,)
        Aggressor class (+1 buy, -1 sell, 0 unclassified).
    tick : float
        Level spacing in index points.
    buffers : FootprintBuffers, optional
        Scratch output reused across calls (fresh pages cost more than the kernel on some VMs).

    Returns
    -------
    minute : int64 array, shape (e,)
        Minute start, ns UTC, of each entry (non-decreasing).
    level : int64 array, shape (e,)
        Tick level (ascending within a minute).
    volume, buy, sell : float64 arrays, shape (e,)
        Contracts traded at the level in the minute, and those bought / sold by the aggressor.
    """
    buffers = buffers if buffers is not None else FootprintBuffers()
    out = buffers.get(len(ts))
    e = footprint_into(ts, price, size, cls, float(tick), *out)
    return tuple(a[:e].copy() for a in out)


class FootprintBuffers:
    """Output scratch of :func:`footprint_into`, grown to the largest chunk seen and reused."""

    def __init__(self) -> None:
        self._arrays = None

    def get(self, n: int) -> tuple:
        """Five arrays (int64, int64, float64 x 3) of length >= ``n``."""
        if self._arrays is None or len(self._arrays[0]) < n:
            self._arrays = (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n), np.empty(n), np.empty(n))
        return self._arrays


@njit(cache=True)
def developing_flow(level, volume, buy, sell, bounds, base, offsets, last, dev_levels):
    """Order flow of each session through the end of each minute, at its developing levels.

    Parameters
    ----------
    level : int64 array, shape (e,)
        Footprint entries' tick levels, sessions contiguous (``bounds``), minutes in time order.
    volume, buy, sell : float64 arrays, shape (e,)
    bounds : int64 array, shape (s + 1,)
    base, offsets : int64 arrays
        Each session's lowest level and histogram offsets (as the finished kernels give them).
    last : int64 array, shape (m,)
        Position of the last entry of each minute (ascending).
    dev_levels : int64 array, shape (e, 3)
        Developing VPOC, VAL, VAH (absolute levels) after each entry.

    Returns
    -------
    float64 array, shape (m, 3)
        Per minute: the session's delta so far (buy - sell, contracts), the delta at the
        developing VPOC's price, and the share of the session's volume so far traded at the
        developing VAL and VAH prices (one level when they coincide; in [0, 1]).
    """
    n_hist = offsets[len(offsets) - 1]
    vol = np.zeros(n_hist, np.float64)
    dlt = np.zeros(n_hist, np.float64)
    out = np.empty((len(last), 3), np.float64)
    j = 0
    m = 0
    delta = 0.0
    total = 0.0
    for t in range(len(level)):
        while t >= bounds[j + 1]:
            j += 1
            delta = 0.0
            total = 0.0
        k = offsets[j] + level[t] - base[j]
        d = buy[t] - sell[t]
        vol[k] += volume[t]
        dlt[k] += d
        delta += d
        total += volume[t]
        if m < len(last) and last[m] == t:
            o = offsets[j] - base[j]
            edge = vol[o + dev_levels[t, 1]]
            if dev_levels[t, 2] != dev_levels[t, 1]:
                edge += vol[o + dev_levels[t, 2]]
            out[m, 0] = delta
            out[m, 1] = dlt[o + dev_levels[t, 0]]
            out[m, 2] = edge / total
            m += 1
    return out
