"""Is a Sharpe ratio real? Block bootstrap interval, PSR/DSR, and a random-signal p-value.

* :func:`bootstrap_sharpe_ci`: moving-block bootstrap of the daily returns (blocks keep the
  autocorrelation; every resample draws *with replacement*, so the total return varies, unlike
  a permutation of trades), seeded, percentile interval of the annualised Sharpe.
* :func:`probabilistic_sharpe`: Bailey & López de Prado (2012), the probability that the true
  Sharpe exceeds a benchmark ``SR*`` given the sample's length, skewness and kurtosis:
  ``PSR = Φ((SR − SR*) √(T−1) / sqrt(1 − γ3 SR + (γ4 − 1)/4 SR²))`` with per-day ``SR``.
* :func:`deflated_sharpe`: Bailey & López de Prado (2014): PSR against the expected maximum
  Sharpe of ``N`` unskilled trials,
  ``SR* = sqrt(V) ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))`` (γ the Euler-Mascheroni
  constant), ``V`` the variance of the per-day Sharpe across unskilled trials: by default the
  sampling variance ``1/(T−1)`` of a zero-Sharpe estimate over ``T`` days; when the Sharpe
  ratios of a homogeneous family of trials are given (e.g. every threshold θ of one model),
  the larger of their sample variance and ``1/(T−1)``. Heterogeneous strategies (a trend rule
  and its mirror image) are not one family: their spread measures their differences, not luck.
  ``N`` counts every strategy and threshold tried. Significant when DSR > 0.95.
* :func:`random_p_value`: ``(1 + #{random Sharpe >= strategy Sharpe}) / (1 + n)``: ties count
  against the strategy, the convention that keeps a Monte Carlo test valid (North, Curtis & Sham
  2002; Phipson & Smyth 2010), so P(p <= α) <= α under the null even with ties.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from futures_vpoc.backtest.stats import TRADING_DAYS

EULER_GAMMA = 0.5772156649015329


def _per_day_sharpe(r: np.ndarray) -> float:
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    return float(np.mean(r)) / sd if sd > 0 else math.nan


def bootstrap_sharpe_ci(r, n_boot: int = 1000, block: int | None = None, level: float = 0.95,
                        seed: int = 0) -> tuple[float, float]:
    """Moving-block bootstrap interval of the annualised Sharpe of daily returns ``r``.

    Parameters
    ----------
    r : array-like
        Daily returns (fraction of capital).
    n_boot : int
        Resamples.
    block : int, optional
        Block length [days]; default ``max(1, round(T ** (1/3)))``.
    level : float
        Coverage of the percentile interval.
    seed : int

    Returns
    -------
    (low, high) : tuple of float
        NaN when fewer than 3 days or every resample is constant.
    """
    r = np.asarray(r, dtype=np.float64)
    n = len(r)
    if n < 3:
        return (math.nan, math.nan)
    b = int(block or max(1, round(n ** (1 / 3))))
    b = min(b, n)
    rng = np.random.default_rng(seed)
    k = -(-n // b)
    starts = rng.integers(0, n - b + 1, size=(n_boot, k))
    idx = (starts[:, :, None] + np.arange(b)).reshape(n_boot, -1)[:, :n]
    sample = r[idx]
    mean = sample.mean(axis=1)
    sd = sample.std(axis=1, ddof=1)
    ok = sd > 0
    if not ok.any():
        return (math.nan, math.nan)
    sr = mean[ok] / sd[ok] * math.sqrt(TRADING_DAYS)
    alpha = (1 - level) / 2
    return (float(np.quantile(sr, alpha)), float(np.quantile(sr, 1 - alpha)))


def psr_from_moments(sr: float, n: int, skew: float, kurt: float, benchmark: float = 0.0) -> float:
    """PSR from a sample's moments: ``Φ((SR − SR*) √(n−1) / sqrt(1 − γ3 SR + (γ4 − 1)/4 SR²))``.

    Parameters
    ----------
    sr : float
        Observed Sharpe ratio per period (not annualised).
    n : int
        Number of returns.
    skew : float
        Skewness ``γ3`` of the returns.
    kurt : float
        Kurtosis ``γ4`` of the returns (not excess: 3 for a normal distribution).
    benchmark : float
        ``SR*``, per period.

    Returns
    -------
    float
        NaN when ``n < 3``, ``sr`` is not finite or the variance term is not positive.
    """
    if n < 3 or not math.isfinite(sr):
        return math.nan
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if not var > 0:
        return math.nan
    return float(sps.norm.cdf((sr - benchmark) * math.sqrt(n - 1) / math.sqrt(var)))


def probabilistic_sharpe(r, benchmark: float = 0.0) -> float:
    """PSR: P(true per-day Sharpe > ``benchmark`` [per day]) for daily returns ``r``.

    The per-day Sharpe uses the sample standard deviation (ddof=1), the skewness and kurtosis
    their plain moment estimates (:func:`psr_from_moments` takes them).
    """
    r = np.asarray(r, dtype=np.float64)
    n = len(r)
    sr = _per_day_sharpe(r)
    if n < 3 or not math.isfinite(sr):
        return math.nan
    skew = float(sps.skew(r, bias=True))
    kurt = float(sps.kurtosis(r, fisher=False, bias=True))
    return psr_from_moments(sr, n, skew, kurt, benchmark)


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """Expected maximum per-day Sharpe of ``n_trials`` unskilled trials with that variance."""
    if n_trials <= 1:
        return 0.0
    z1 = sps.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = sps.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def deflated_sharpe(r, n_trials: int, trial_sharpes=()) -> tuple[float, float]:
    """DSR of daily returns ``r`` after ``n_trials`` strategies/thresholds were tried.

    Parameters
    ----------
    r : array-like
        Daily returns of the strategy reported.
    n_trials : int
        Every strategy and parameter value tried (>= 1).
    trial_sharpes : array-like
        Annualised Sharpe ratios of those trials (for their variance); may be empty.

    Returns
    -------
    (dsr, sr_star_annual) : tuple of float
        The deflated Sharpe ratio (a probability) and the benchmark it beat, annualised.
    """
    r = np.asarray(r, dtype=np.float64)
    n = max(len(r), 2)
    per_day = np.asarray([s for s in trial_sharpes if math.isfinite(s)], dtype=np.float64) / math.sqrt(TRADING_DAYS)
    variance = 1.0 / (n - 1)
    if len(per_day) >= 2:
        variance = max(variance, float(np.var(per_day, ddof=1)))
    sr_star = expected_max_sharpe(max(int(n_trials), 1), variance)
    return probabilistic_sharpe(r, sr_star), sr_star * math.sqrt(TRADING_DAYS)


def random_p_value(sharpe_value: float, random_sharpes) -> float:
    """One-sided p-value of a Sharpe against a random-signal distribution (NaNs count as 0)."""
    rs = np.nan_to_num(np.asarray(random_sharpes, dtype=np.float64), nan=0.0)
    if len(rs) == 0 or not math.isfinite(sharpe_value):
        return math.nan
    return float((1 + np.count_nonzero(rs >= sharpe_value)) / (1 + len(rs)))
