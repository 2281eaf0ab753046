"""Streaming numba kernels: every feature is a finite-state machine over bars in time order.

Each kernel reads a slice of bars, writes one output per bar and updates a small state held in
numpy arrays that the caller keeps (:class:`~futures_vpoc.features.streams.Streams`). Calling a
kernel on ``x[:k]`` and then on ``x[k:]`` with the same state performs exactly the floating-point
operations, in exactly the order, of one call on ``x``: that is why the feature table is bit for
bit the same for every ``chunk_size`` and why a prefix of the data gives the same values as the
whole (nothing reads a later bar).

``reset`` (bool, one per bar) marks the first bar of a contract segment: a kernel that takes it
clears its state *before* that bar, so no window or recursion spans a roll. The kernels without
``reset`` that keep per-clock-minute or per-trade-date history (volume norms, the VIX trailing
year) run across rolls on purpose and live in :mod:`.kernels_days`; their callers say why.

Why hand-written loops: running windows with carried state have no vectorised numpy form that is
also chunk-invariant (``pandas.Series.rolling`` restarts its running sums wherever it is called,
so two chunkings differ in the last bits), and TA-Lib is not a dependency. All kernels live in
this one file (but :mod:`.kernels_days`) because numba's on-disk cache checks only the source
file of the function it compiled; :mod:`.kernels_days` calls nothing outside itself. Every kernel
is sequential (one core).

NaN policy: an output is NaN while its window or seed is incomplete ("warming up"); kernels never
write zeros for missing values.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NAN = np.nan
NO_TIME = np.iinfo(np.int64).min


@njit(cache=True, nogil=True)
def rolling_sum(x, reset, w, buf, fst, ist, out):
    """Sum of the last ``w`` values (NaN until ``w`` values since the reset, or if one is NaN).

    State: ``buf`` (w,) ring buffer; ``fst[0]`` running sum; ``ist`` = [write position, values
    seen (capped at w), NaNs in the window]. The running sum is recomputed from the buffer every
    ``w`` insertions (when the write position wraps), so rounding drift never builds up; where
    that happens depends only on the bars since the reset, never on the chunking.
    """
    for t in range(x.shape[0]):
        if reset[t]:
            ist[0] = 0
            ist[1] = 0
            ist[2] = 0
            fst[0] = 0.0
        pos = ist[0]
        if ist[1] >= w:
            old = buf[pos]
            if math.isnan(old):
                ist[2] -= 1
            else:
                fst[0] -= old
        v = x[t]
        buf[pos] = v
        if math.isnan(v):
            ist[2] += 1
        else:
            fst[0] += v
        pos += 1
        if pos == w:
            pos = 0
            s = 0.0
            for j in range(w):
                if not math.isnan(buf[j]):
                    s += buf[j]
            fst[0] = s
        ist[0] = pos
        if ist[1] < w:
            ist[1] += 1
        out[t] = fst[0] if (ist[1] >= w and ist[2] == 0) else NAN


@njit(cache=True, nogil=True)
def lag(x, reset, k, buf, ist, out):
    """``x`` from ``k`` bars earlier in the segment (NaN for the first ``k`` bars after a reset).

    State: ``buf`` (k,) ring buffer; ``ist`` = [write position, values seen (capped at k)].
    """
    for t in range(x.shape[0]):
        if reset[t]:
            ist[0] = 0
            ist[1] = 0
        pos = ist[0]
        out[t] = buf[pos] if ist[1] >= k else NAN
        buf[pos] = x[t]
        pos += 1
        ist[0] = 0 if pos == k else pos
        if ist[1] < k:
            ist[1] += 1


@njit(cache=True, nogil=True)
def seeded_ema(x, reset, n, alpha, fst, ist, out):
    """Exponential average seeded with the simple mean of its first ``n`` values.

    ``y = mean(x_1..x_n)`` at the n-th value, then ``y += alpha * (x - y)``. With
    ``alpha = 1/n`` this is Wilder's smoothing (RSI, ATR); with ``alpha = 2/(n+1)`` the EMA of
    StockCharts' MACD. A NaN input before the seed is complete is skipped (not counted); after it,
    the output is NaN and the state is kept. State: ``fst[0]`` seed sum then average;
    ``ist[0]`` values seen since the reset.
    """
    for t in range(x.shape[0]):
        if reset[t]:
            fst[0] = 0.0
            ist[0] = 0
        v = x[t]
        if math.isnan(v):
            out[t] = NAN
            continue
        c = ist[0]
        if c < n:
            fst[0] += v
            c += 1
            ist[0] = c
            if c == n:
                fst[0] = fst[0] / n
                out[t] = fst[0]
            else:
                out[t] = NAN
        else:
            fst[0] = fst[0] + alpha * (v - fst[0])
            out[t] = fst[0]


@njit(cache=True, nogil=True)
def _window_mean_sd(buf, start, w):
    """Mean and population sd of a full ring buffer read oldest first (two passes, exact order).

    Oldest first is ``start .. w-1`` then ``0 .. start-1``: two plain loops instead of an index
    modulo ``w`` per value (an integer division; the sums and their order are the same).
    """
    s = 0.0
    for i in range(start, w):
        s += buf[i]
    for i in range(start):
        s += buf[i]
    m = s / w
    q = 0.0
    for i in range(start, w):
        d = buf[i] - m
        q += d * d
    for i in range(start):
        d = buf[i] - m
        q += d * d
    return m, math.sqrt(q / w)


@njit(cache=True, nogil=True)
def rolling_mean_sd(x, reset, w, buf, ist, mean_out, sd_out):
    """Mean and population standard deviation (ddof 0) of the last ``w`` values.

    Recomputed from the window each bar (two passes, oldest value first), so a constant window
    gives an sd of exactly 0. NaN until ``w`` values since the reset or while one is NaN.
    State: ``buf`` (w,); ``ist`` = [write position, values seen (capped), NaNs in window].
    """
    for t in range(x.shape[0]):
        if reset[t]:
            ist[0] = 0
            ist[1] = 0
            ist[2] = 0
        pos = ist[0]
        if ist[1] >= w and math.isnan(buf[pos]):
            ist[2] -= 1
        buf[pos] = x[t]
        if math.isnan(x[t]):
            ist[2] += 1
        pos = 0 if pos + 1 == w else pos + 1
        ist[0] = pos
        if ist[1] < w:
            ist[1] += 1
        if ist[1] >= w and ist[2] == 0:
            mean_out[t], sd_out[t] = _window_mean_sd(buf, pos, w)
        else:
            mean_out[t] = NAN
            sd_out[t] = NAN


@njit(cache=True, nogil=True)
def rolling_corr(x, y, reset, w, bx, by, ist, out):
    """Pearson correlation of the last ``w`` pairs, recomputed from the window each bar.

    When either series is constant over the window the correlation is undefined; the output is
    then 0.0 (no co-movement can be measured), a documented value rather than a division by zero.
    NaN until ``w`` pairs since the reset or while one is NaN. State: ``bx``, ``by`` (w,);
    ``ist`` = [write position, pairs seen (capped), NaN pairs in window].
    """
    for t in range(x.shape[0]):
        if reset[t]:
            ist[0] = 0
            ist[1] = 0
            ist[2] = 0
        pos = ist[0]
        if ist[1] >= w and (math.isnan(bx[pos]) or math.isnan(by[pos])):
            ist[2] -= 1
        bx[pos] = x[t]
        by[pos] = y[t]
        if math.isnan(x[t]) or math.isnan(y[t]):
            ist[2] += 1
        pos = 0 if pos + 1 == w else pos + 1
        ist[0] = pos
        if ist[1] < w:
            ist[1] += 1
        if ist[1] < w or ist[2] > 0:
            out[t] = NAN
            continue
        mx, sx = _window_mean_sd(bx, pos, w)
        my, sy = _window_mean_sd(by, pos, w)
        if sx <= 0.0 or sy <= 0.0:
            out[t] = 0.0
            continue
        c = 0.0
        for i in range(pos, w):  # oldest first, as in _window_mean_sd
            c += (bx[i] - mx) * (by[i] - my)
        for i in range(pos):
            c += (bx[i] - mx) * (by[i] - my)
        r = c / w / (sx * sy)
        out[t] = min(1.0, max(-1.0, r))


@njit(cache=True, nogil=True)
def session_first(x, new_session, fst, out):
    """Value of ``x`` at the first bar of the bar's session. State: ``fst[0]``."""
    for t in range(x.shape[0]):
        if new_session[t]:
            fst[0] = x[t]
        out[t] = fst[0]


@njit(cache=True, nogil=True)
def session_cumsum(x, new_session, fst, out):
    """Running sum of ``x`` over the bar's session up to and including the bar. State: ``fst[0]``."""
    for t in range(x.shape[0]):
        if new_session[t]:
            fst[0] = 0.0
        fst[0] += x[t]
        out[t] = fst[0]


@njit(cache=True, nogil=True)
def previous_session_last(x, new_session, reset, fst, out):
    """Last value of ``x`` in the previous session of the same segment (NaN in a segment's first).

    State: ``fst`` = [last value seen, previous session's last value].
    """
    for t in range(x.shape[0]):
        if reset[t]:
            fst[0] = NAN
            fst[1] = NAN
        if new_session[t]:
            fst[1] = fst[0]
        out[t] = fst[1]
        fst[0] = x[t]


@njit(cache=True, nogil=True)
def published_change(x, ts, new_day, day, prev_pub, pub, fst, ist, out):
    """Log change of the latest published close against the close published before it.

    ``x`` is an as-of series that repeats the latest close on every bar until the next
    publication (the BarFrame's ``vix``), so a publication whose close equals the one before it
    leaves no trace in ``x``; it is found from the calendar instead. Per bar: ``ts`` bar start (ns);
    ``new_day`` first bar of a trade date; ``day`` the trade date (days since the epoch);
    ``prev_pub`` the latest publication date before that trade date (days; int64 min if none);
    ``pub`` the publication instant of the trade date's own close (ns; int64 min if it has none).

    A publication is counted (the close before it moves to ``fst[1]``) when ``x`` changes, or,
    when ``x`` is unchanged, (1) at the first bar of a trade date if a publication date before it
    is not yet counted, (2) inside the trade date of a publication at the first bar whose start,
    less the publication instant, reaches the smallest such offset at which a changed close has
    been seen so far (0 before one has: the bar starting at the instant). The offset absorbs the
    bar width and any publication lag of the join, and, being the smallest seen, never fires
    before a changed close would have shown. Output: ``log(fst[0] / fst[1])``, 0.0 after a repeated
    close, NaN until two closes are known. State: ``fst`` = [latest close, the one before];
    ``ist`` = [latest publication date counted, smallest offset seen (ns), offset seen (0/1)].
    """
    for t in range(x.shape[0]):
        v = x[t]
        if not math.isnan(v):
            changed = not (v == fst[0])
            if changed:
                fst[1] = fst[0]
                fst[0] = v
            if new_day[t]:
                if ist[0] < prev_pub[t]:
                    if not changed:
                        fst[1] = fst[0]
                    ist[0] = prev_pub[t]
            elif changed:
                if pub[t] != NO_TIME and ist[0] < day[t]:
                    off = ts[t] - pub[t]
                    if ist[2] == 0 or off < ist[1]:
                        ist[1] = off
                        ist[2] = 1
                if ist[0] < day[t]:
                    ist[0] = day[t]
            elif pub[t] != NO_TIME and ist[0] < day[t] and ts[t] - pub[t] >= ist[1]:
                fst[1] = fst[0]
                ist[0] = day[t]
        a = fst[0]
        b = fst[1]
        if a > 0.0 and b > 0.0:
            out[t] = math.log(a / b)
        else:
            out[t] = NAN


@njit(cache=True, nogil=True)
def garch_filter(r, reset, omega, alpha, beta, h0, fst, out):
    """GARCH(1,1) one-step-ahead conditional sd: ``h' = omega + alpha r^2 + beta h``.

    At a reset the variance for the segment's first return is ``h0``; each finite return then
    updates it. ``out[t] = sqrt(h)`` after bar t, the forecast for bar t+1's return, known at the
    end of bar t. A NaN return (a segment's first bar) leaves ``h`` unchanged. State: ``fst[0] = h``.
    """
    for t in range(r.shape[0]):
        if reset[t]:
            fst[0] = h0
        v = r[t]
        if not math.isnan(v):
            fst[0] = omega + alpha * v * v + beta * fst[0]
        out[t] = math.sqrt(fst[0])
