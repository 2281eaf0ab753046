"""Intraday seasonality of the synthetic market: the volatility curve, the volume curve, ``sigma0``.

Both curves are functions of the US Central clock minute (relative to RTH midday = 1): a U-shape in
RTH, a 07:30 CT data spike, quiet Asian hours. ``sigma0`` is the per-minute return sd at
seasonality 1 that gives ``annual_vol`` over a regular session.
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.config import SessionHours
from futures_vpoc.data.synthetic.config import SynthConfig


def _rth_fraction(m: np.ndarray, hours: SessionHours) -> tuple[np.ndarray, np.ndarray]:
    """Position inside RTH: ``x`` in [0, 1) and a mask of RTH minutes (by clock, not by session)."""
    lo = hours.rth_start.hour * 60 + hours.rth_start.minute
    hi = hours.rth_end.hour * 60 + hours.rth_end.minute
    inside = (m >= lo) & (m < hi)
    return np.clip((m - lo) / max(hi - lo, 1), 0.0, 1.0), inside


def _eth_level(m: np.ndarray, asia_late: float, asia_open: float, europe: float,
               pre_open: float, post: float) -> np.ndarray:
    """Piecewise-constant ETH level by CT clock minute.

    ``asia_open`` 17:00-20:00, ``asia_late`` 20:00-01:00, halfway to ``europe`` 01:00-02:00,
    ``europe`` 02:00-07:00, ``pre_open`` 07:00-08:30, ``post`` 15:00-17:00 (after the RTH close;
    also the 15:30-17:00 start of a pre-2012 session). RTH minutes get ``pre_open`` (unused).
    """
    return np.select(
        [m >= 1200, m >= 1020, m >= 900, m < 60, m < 120, m < 420],
        [asia_late, asia_open, post, asia_late, 0.5 * (asia_late + europe), europe],
        default=pre_open,
    )


def _vol_season(m: np.ndarray, hours: SessionHours) -> np.ndarray:
    """Intraday volatility seasonality ``s(m)`` (relative to RTH midday = 1).

    Parameters
    ----------
    m : numpy.ndarray of float64, shape (n,)
        CT minute of day.
    hours : SessionHours
        RTH window.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Positive weights: about 2.8 at the 08:30 open, 1 midday (a lunch dip to 0.8), 1.5 into
        the 15:00 close, 0.35-0.6 overnight, a 07:30 CT news spike.
    """
    x, rth = _rth_fraction(m, hours)
    inside = (1.0 + 1.8 * np.exp(-x / 0.04) + 0.5 * np.exp(-(1.0 - x) / 0.04)) * (
        1.0 - 0.2 * np.exp(-(((x - 0.55) / 0.15) ** 2)))
    eth = _eth_level(m, asia_late=0.35, asia_open=0.45, europe=0.6, pre_open=0.8, post=0.7)
    news = 1.0 + 2.0 * np.exp(-np.clip(m - 450.0, 0.0, None) / 8.0) * ((m >= 450) & (m < 510))
    return np.where(rth, inside, eth * news)


def _volume_season(m: np.ndarray, hours: SessionHours) -> np.ndarray:
    """Intraday volume curve ``u(m)`` (relative to RTH midday = 1).

    Parameters
    ----------
    m : numpy.ndarray of float64, shape (n,)
        CT minute of day.
    hours : SessionHours
        RTH window.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        U-shape in RTH (about 6 at the open minute, 3 at the close, 0.65 at lunch), 0.02-0.12
        overnight, 0.25 pre-open with a 07:30 CT spike, 0.3 after the close.
    """
    x, rth = _rth_fraction(m, hours)
    inside = (1.0 + 5.0 * np.exp(-x / 0.02) + 2.0 * np.exp(-(1.0 - x) / 0.03)) * (
        1.0 - 0.35 * np.exp(-(((x - 0.55) / 0.15) ** 2)))
    eth = _eth_level(m, asia_late=0.02, asia_open=0.05, europe=0.12, pre_open=0.25, post=0.3)
    news = 1.0 + 3.0 * np.exp(-np.clip(m - 450.0, 0.0, None) / 6.0) * ((m >= 450) & (m < 510))
    return np.where(rth, inside, eth * news)


def _sigma0(config: SynthConfig) -> float:
    """Per-minute return sd (fraction) at seasonality 1 that gives ``annual_vol`` over a session."""
    m = (np.arange(1380, dtype=np.float64) + 17 * 60) % 1440  # a regular 17:00 -> 16:00 session
    daily_var = float(np.sum(_vol_season(m, config.hours) ** 2))
    return config.annual_vol / np.sqrt(252.0 * daily_var)

