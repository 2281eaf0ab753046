"""Random processes of the synthetic market: log-volatility, volume and the closed-time gap.

A per-minute and a per-session stationary Gaussian AR(1) log-volatility, Gamma-Poisson (negative
binomial) contracts per minute, and the extra return sd for the closed time before a grid minute.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from futures_vpoc.data.synthetic.calendar_path import _MINUTE_NS

_PHI_MINUTE, _SD_MINUTE = 0.98, 0.25  # per-minute log-vol AR(1)
_PHI_SESSION, _SD_SESSION = 0.85, 0.50  # per-session log-vol AR(1)
_LOG_VOL_VAR = _SD_MINUTE**2 + _SD_SESSION**2
_GAP_SCALE, _GAP_CAP_MIN = 0.15, 1000.0  # closed-time gap, fraction of sigma0 per sqrt(minute)


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary Gaussian AR(1) path, shape (n,), marginal sd ``sd``, started in its stationary law."""
    innov = rng.standard_normal(n) * sd * np.sqrt(1.0 - phi * phi)
    start = rng.standard_normal() * sd
    path, _ = lfilter([1.0], [1.0, -phi], innov, zi=np.array([phi * start]))
    return path


def _log_vol(rng: np.random.Generator, session: np.ndarray,
             n_sessions: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-volatility of each minute and the per-session component.

    Returns
    -------
    log_vol : numpy.ndarray of float64, shape (n,)
        ``h_i + d_k - sd_h^2``, so that ``E[exp(2 log_vol) | d_k = 0] = 1``.
    daily : numpy.ndarray of float64, shape (n_sessions,)
        ``d_k``, the session's volatility state.
    """
    daily = _ar1(rng, n_sessions, _PHI_SESSION, _SD_SESSION)
    minute = _ar1(rng, len(session), _PHI_MINUTE, _SD_MINUTE)
    return minute + daily[session] - _SD_MINUTE**2, daily


def _volumes(rng: np.random.Generator, mean: np.ndarray, shape: float) -> np.ndarray:
    """Gamma-Poisson (negative binomial) contracts per minute.

    Parameters
    ----------
    mean : numpy.ndarray of float64, shape (n,)
        Expected contracts per minute, > 0.
    shape : float
        Gamma shape ``k``; variance ``mean + mean**2 / k``.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Non-negative; zero means no trade in that minute.
    """
    return rng.poisson(mean * rng.gamma(shape, 1.0 / shape, len(mean)))


def _closed_gap_sd(stamps: np.ndarray, sigma0: float) -> np.ndarray:
    """Extra return sd (fraction) for the closed time before each grid minute, shape (n,)."""
    closed = np.diff(stamps, prepend=stamps[:1] - _MINUTE_NS) // _MINUTE_NS - 1
    return _GAP_SCALE * sigma0 * np.sqrt(np.minimum(closed.astype(np.float64), _GAP_CAP_MIN))

