"""Streaming numba kernels over clock minutes and trade dates, across rolls.

Same contract as :mod:`.kernels` (state in caller-held numpy arrays, chunk-invariant bit for bit,
NaN while warming up), but without ``reset``: their history is per US Central clock minute (the
volume norms) or per trade date (the VIX trailing year), and it runs across rolls on purpose
(their callers say why). Kept in their own file, calling no function outside it, so numba's
on-disk cache (which checks only the compiled function's own source file) stays correct.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NAN = np.nan


@njit(cache=True, nogil=True)
def slot_mean(x, slot, n, min_n, buf, cnt, pos, out):
    """Mean of ``x`` over the previous up to ``n`` bars of the same clock slot (current excluded).

    NaN until the slot has been seen ``min_n`` times (``min_n = n``: only over a full window).
    Sums run over the slot's buffer in storage order, which depends only on the history, never on
    the chunking. State: ``buf`` (slots, n), ``cnt`` (values held, capped at n) and ``pos``
    (write position), (slots,) each.
    """
    for t in range(x.shape[0]):
        s = slot[t]
        held = cnt[s]
        if held >= min_n and held > 0:
            acc = 0.0
            for j in range(held):
                acc += buf[s, j]
            out[t] = acc / held
        else:
            out[t] = NAN
        buf[s, pos[s]] = x[t]
        pos[s] = 0 if pos[s] + 1 == n else pos[s] + 1
        if cnt[s] < n:
            cnt[s] += 1


@njit(cache=True, nogil=True)
def _push_day_end(new_day, buf, ist, fst, n):
    """At a new day, move the day before's last value (if finite) into the ring buffer."""
    if new_day and not math.isnan(fst[0]):
        buf[ist[0]] = fst[0]
        ist[0] = 0 if ist[0] + 1 == n else ist[0] + 1
        if ist[1] < n:
            ist[1] += 1
        ist[2] = 1


@njit(cache=True, nogil=True)
def trailing_percentile(x, new_day, n, min_n, buf, ist, fst, out):
    """Mid-rank percentile of ``x`` among the day-end values of the previous ``n`` days.

    At each new day the last value of the day before (if finite) enters the buffer. The output is
    ``(#below + #equal / 2) / count`` in [0, 1], NaN while fewer than ``min_n`` days are held or
    ``x`` is NaN. It is recomputed only when ``x`` or the buffer changes. State: ``buf`` (n,);
    ``ist`` = [write position, values held, buffer changed flag]; ``fst`` = [last value seen,
    last input ranked, last output].
    """
    for t in range(x.shape[0]):
        _push_day_end(new_day[t], buf, ist, fst, n)
        v = x[t]
        fst[0] = v
        if math.isnan(v) or ist[1] < min_n:
            out[t] = NAN
            continue
        if ist[2] == 1 or v != fst[1]:
            below = 0.0
            equal = 0.0
            for j in range(ist[1]):
                if buf[j] < v:
                    below += 1.0
                elif buf[j] == v:
                    equal += 1.0
            fst[2] = (below + 0.5 * equal) / ist[1]
            fst[1] = v
            ist[2] = 0
        out[t] = fst[2]


@njit(cache=True, nogil=True)
def trailing_zscore(x, new_day, n, min_n, sd_floor, buf, ist, fst, out):
    """``(x - mean) / max(sd, sd_floor)`` against the day-end values of the previous ``n`` days.

    Day ends enter the buffer as in :func:`trailing_percentile`. ``mean`` and the sample standard
    deviation (ddof 1) of the held values are recomputed (two passes, storage order) only when the
    buffer changes. NaN while fewer than ``min_n`` (>= 2) days are held or ``x`` is NaN.
    State: ``buf`` (n,); ``ist`` = [write position, values held, buffer changed flag]; ``fst`` =
    [last value seen, mean, floored sd].
    """
    for t in range(x.shape[0]):
        _push_day_end(new_day[t], buf, ist, fst, n)
        v = x[t]
        fst[0] = v
        held = ist[1]
        if math.isnan(v) or held < min_n or held < 2:
            out[t] = NAN
            continue
        if ist[2] == 1:
            s = 0.0
            for j in range(held):
                s += buf[j]
            m = s / held
            q = 0.0
            for j in range(held):
                d = buf[j] - m
                q += d * d
            fst[1] = m
            fst[2] = max(math.sqrt(q / (held - 1)), sd_floor)
            ist[2] = 0
        out[t] = (v - fst[1]) / fst[2]
