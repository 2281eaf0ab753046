"""The synthetic VIX: one close per NYSE day from the ES bars that END by its 15:15 CT publication.

::

    log V_D = phi_v log V_{D-1} + (1 - phi_v) A_D + beta R_D + e_D
    A_D = w log RV_D + (1 - w) log SV_D + log(100 vix_premium)

``RV_D`` the session's annualised realised volatility, ``SV_D`` the volatility its state implies,
``R_D`` its log return to publication; the constants and their meaning are in
:mod:`futures_vpoc.data.synthetic`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from futures_vpoc.data.synthetic.calendar_path import _MINUTE_NS

_VIX_PHI, _VIX_BETA, _VIX_NOISE, _VIX_W_REALISED = 0.70, -8.0, 0.02, 0.3


def _daily_moves(stamps: np.ndarray, session: np.ndarray, open_: np.ndarray, close: np.ndarray,
                 publish: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each session's realised volatility and return from bars that END by its VIX publication.

    Parameters
    ----------
    stamps, session, open_, close : numpy.ndarray, shape (b,)
        The emitted bars: UTC ns starts, session row, open and close in ticks (> 0).
    publish : numpy.ndarray of int64, shape (n_sessions,)
        UTC ns of each trade date's VIX publication (15:15 CT).

    Returns
    -------
    rv : numpy.ndarray of float64, shape (n_sessions,)
        Annualised ``sqrt(252 * sum r**2)`` of the 1-minute log returns (fraction; the first bar's
        is close over open); NaN for a session with no bar by then.
    ret : numpy.ndarray of float64, shape (n_sessions,)
        Log return from the session's first open to its last close by then; NaN likewise.
    """
    n_sessions = len(publish)
    keep = stamps + _MINUTE_NS <= publish[session]
    s, o, c = session[keep], np.log(open_[keep]), np.log(close[keep])
    first = np.r_[True, s[1:] != s[:-1]]
    prev = np.where(first, o, np.r_[c[:1], c[:-1]])
    r = c - prev
    sq = np.bincount(s, weights=r * r, minlength=n_sessions)
    total = np.bincount(s, weights=r, minlength=n_sessions)
    has = np.bincount(s, minlength=n_sessions) > 0
    return np.where(has, np.sqrt(252.0 * sq), np.nan), np.where(has, total, np.nan)


def _vix_dates(sessions: pd.DataFrame) -> np.ndarray:
    """Mask of sessions whose trade date has a VIX close (the NYSE is open), shape (n_sessions,)."""
    import pandas_market_calendars as mcal  # lazy, as in futures_vpoc.calendar

    days = mcal.get_calendar("NYSE").valid_days(sessions.index[0], sessions.index[-1])
    open_days = pd.DatetimeIndex(days).tz_localize(None).normalize().as_unit("ns")
    return np.asarray(sessions.index.isin(open_days), bool)


def _vix_closes(rng: np.random.Generator, dates: pd.DatetimeIndex, rv: np.ndarray, state: np.ndarray,
                ret: np.ndarray, premium: float) -> pd.Series:
    """Daily VIX closes that track volatility and move against returns.

    ``log V_k = phi log V_{k-1} + (1 - phi) (w log rv_k + (1 - w) log state_k + log(100 premium))
    + beta ret_k + e_k`` (module docstring), started at its anchor.

    Parameters
    ----------
    dates : pandas.DatetimeIndex, shape (m,)
        VIX dates (naive midnight).
    rv : numpy.ndarray of float64, shape (m,)
        Annualised realised volatility of each date up to publication (fraction, > 0).
    state : numpy.ndarray of float64, shape (m,)
        Annualised volatility the day's volatility state implies (fraction, > 0).
    ret : numpy.ndarray of float64, shape (m,)
        Log return of each date up to publication, finite.
    premium : float
        VIX / volatility ratio.

    Returns
    -------
    pandas.Series of float64, shape (m,)
        Index points, rounded to 0.01, index ``date``, name ``vix``.
    """
    noise = rng.standard_normal(len(dates)) * _VIX_NOISE
    if len(dates) == 0:
        return pd.Series([], index=pd.DatetimeIndex([], name="date").as_unit("ns"), name="vix", dtype="float64")
    anchor = _VIX_W_REALISED * np.log(rv) + (1.0 - _VIX_W_REALISED) * np.log(state) + np.log(100.0 * premium)
    drive = (1.0 - _VIX_PHI) * anchor + _VIX_BETA * ret + noise
    level, _ = lfilter([1.0], [1.0, -_VIX_PHI], drive, zi=np.array([_VIX_PHI * anchor[0]]))
    index = pd.DatetimeIndex(dates, name="date").as_unit("ns")
    return pd.Series(np.round(np.exp(level), 2), index=index, name="vix")

