"""Prices of the synthetic market: the sequential tick path with its planted pull, and bar ranges.

The price recursion is sequential (the pull toward the developing session VPOC at minute ``i``
needs the volume profile of every bar before it), so it is one ``@njit`` kernel,
:func:`_price_kernel`, which also holds the planted signal. :func:`_bar_range` draws each bar's
high and low from the law of a Brownian bridge's extremes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_PROFILE_HALF_RANGE = 1 << 15  # ticks either side of the session's first price held in the profile


@njit(cache=True)
def _price_kernel(sigma, eps, gap, traded, new_session, roll_frac, roll_jitter, volume,
                  x0, pull, pull_cap):  # pragma: no cover - compiled; its py_func is tested equal
    """Sequential price path with the optional pull toward the developing VPOC.

    Parameters
    ----------
    sigma : float64 (n,)
        Return sd of each minute, fraction of price.
    eps : float64 (n,)
        Unit-variance Student-t innovations.
    gap : float64 (n,)
        Closed-time return shock before each minute (fraction, already scaled; 0 inside a session).
    traded : bool (n,)
        Whether the minute has a bar (volume > 0).
    new_session : bool (n,)
        True on a session's first grid minute (resets the profile).
    roll_frac : float64 (n,)
        ``carry_rate * days / 365`` on the first grid minute of a new contract, else 0.
    roll_jitter : int64 (n,)
        Ticks added to the roll spread (used only where ``roll_frac`` is non-zero).
    volume : float64 (n,)
        Contracts of each minute (only traded minutes are put in the profile).
    x0 : float
        Starting latent price, ticks.
    pull : float
        ``signal * pull_rate``; 0 disables the pull.
    pull_cap : float
        Bound of the pull, multiples of the minute's sd in ticks.

    Returns
    -------
    open_, close : int64 (n,)
        Bar open and close in ticks (meaningful where ``traded``).
    sd_ticks : float64 (n,)
        The minute's return sd in ticks (for the bar range).
    vpoc_prev : float64 (n,)
        Developing VPOC (ticks) over the session's bars before the minute; NaN before the first.
    """
    n = eps.shape[0]
    size = 2 * _PROFILE_HALF_RANGE + 1
    profile = np.zeros(size)
    open_ = np.empty(n, np.int64)
    close = np.empty(n, np.int64)
    sd_ticks = np.empty(n)
    vpoc_prev = np.full(n, np.nan)
    x = x0
    last_close = int(np.rint(x0))
    center = last_close
    lo, hi = size, -1
    have_vpoc = False
    vpoc = 0
    vmax = 0.0
    for i in range(n):
        if new_session[i]:
            if hi >= lo:
                profile[lo:hi + 1] = 0.0
            lo, hi = size, -1
            have_vpoc = False
            vmax = 0.0
            center = int(np.rint(x))
        if roll_frac[i] != 0.0:
            x += np.rint(x * roll_frac[i]) + roll_jitter[i]
        x += x * gap[i]
        s = sigma[i] * x
        sd_ticks[i] = s
        mu = 0.0
        if have_vpoc:
            vpoc_prev[i] = vpoc
            if pull > 0.0:
                mu = pull * (vpoc - last_close)
                bound = pull_cap * s
                mu = min(max(mu, -bound), bound)
        open_[i] = int(np.rint(x))
        x += mu + s * eps[i]
        if x < 4.0:  # a price floor far below anything the defaults reach
            x = 4.0
        close[i] = int(np.rint(x))
        if traded[i]:
            last_close = close[i]
            k = min(max(last_close - center + _PROFILE_HALF_RANGE, 0), size - 1)
            lo = min(lo, k)
            hi = max(hi, k)
            profile[k] += volume[i]
            if profile[k] > vmax:
                vmax = profile[k]
                vpoc = k - _PROFILE_HALF_RANGE + center
                have_vpoc = True
    return open_, close, sd_ticks, vpoc_prev


def _bar_range(rng: np.random.Generator, open_: np.ndarray, close: np.ndarray,
               sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """High and low (ticks) from the law of a Brownian bridge's extremes.

    For a Brownian motion from 0 to ``b = close - open`` with variance ``sd**2``, the maximum is
    ``(b + sqrt(b**2 - 2 sd**2 log U)) / 2`` and the minimum ``(b - sqrt(b**2 - 2 sd**2 log V)) / 2``
    with ``U, V`` uniform on (0, 1]. Rounded to ticks and clipped to hold open and close.

    Parameters
    ----------
    open_, close : numpy.ndarray of int64, shape (n,)
        Ticks.
    sd : numpy.ndarray of float64, shape (n,)
        Minute sd in ticks, >= 0.

    Returns
    -------
    high, low : numpy.ndarray of int64, shape (n,)
    """
    b = (close - open_).astype(np.float64)
    u = 1.0 - rng.random((2, len(b)))  # (0, 1]: log is finite
    spread = -2.0 * sd * sd * np.log(u)
    top = open_ + np.rint(0.5 * (b + np.sqrt(b * b + spread[0]))).astype(np.int64)
    bottom = open_ + np.rint(0.5 * (b - np.sqrt(b * b + spread[1]))).astype(np.int64)
    high = np.maximum(top, np.maximum(open_, close))
    low = np.minimum(bottom, np.minimum(open_, close))
    return high, low


def prints_needed(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """The fewest trade prints that make a bar with these prices (1 to 4).

    The prints go open, one extreme, the other extreme, close; a price equal to the one before it
    needs no print of its own, and the cheaper of the two orders (high first, low first) counts.

    Parameters
    ----------
    open_, high, low, close : numpy.ndarray, shape (n,)
        Prices, ticks or index points (compared for equality only); no NaN.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    high_first = 1 + (high != open_).astype(np.int64) + (low != high) + (close != low)
    low_first = 1 + (low != open_).astype(np.int64) + (high != low) + (close != high)
    return np.minimum(high_first, low_first)
