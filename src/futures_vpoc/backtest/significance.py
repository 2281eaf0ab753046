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
from statistics import NormalDist

import numpy as np

from futures_vpoc.backtest.stats import TRADING_DAYS

_NORMAL = NormalDist()


def _ndtr(x: float) -> float:
    """Standard normal CDF by the complementary error function: scipy's ``ndtr`` within 2e-14 relative
    (tests/test_backtest_truth.py), without scipy.special's ~0.14 s import in every backtest."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _ndtri(p: float) -> float:
    """Standard normal quantile (scipy's ``ndtri``, ``norm.ppf``): Wichura's AS241 in the standard library."""
    return _NORMAL.inv_cdf(p)

EULER_GAMMA = 0.5772156649015329


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
    return _ndtr((sr - benchmark) * math.sqrt(n - 1) / math.sqrt(var))


def probabilistic_sharpe(r, benchmark: float = 0.0) -> float:
    """PSR: P(true per-day Sharpe > ``benchmark`` [per day]) for daily returns ``r``.

    The per-day Sharpe uses the sample standard deviation (ddof=1), the skewness and kurtosis
    their plain moment estimates (:func:`psr_from_moments` takes them). The one-row case of
    :func:`probabilistic_sharpe_rows`.
    """
    r = np.asarray(r, dtype=np.float64)
    return float(probabilistic_sharpe_rows(r.reshape(1, -1), benchmark)[0])


def sharpe_moments(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-day Sharpe, skewness and kurtosis of each row of daily returns.

    Parameters
    ----------
    r : float64 array, shape (m, T)
        One return series per row.

    Returns
    -------
    (sr, skew, kurt) : float64 arrays, shape (m,)
        ``mean / std(ddof=1)`` (NaN when the deviation is 0 or ``T < 2``); the biased moment
        estimates ``m3 / m2^1.5`` and ``m4 / m2^2`` (kurtosis not excess) with ``m_k`` the mean of the
        k-th power of the deviations from the mean, computed as ``scipy.stats.skew`` and
        ``scipy.stats.kurtosis`` (``bias=True``) compute them (NaN for a row whose ``m2`` is within
        rounding of 0, as there). Row-wise reductions, so each row gets what it gets alone.
    """
    m, n = r.shape
    nan = np.full(m, np.nan)
    if n < 2:
        return nan, nan.copy(), nan.copy()
    mean = r.mean(axis=1, keepdims=True)
    sd = r.std(axis=1, ddof=1)
    sr = np.divide(mean[:, 0], sd, out=nan.copy(), where=sd > 0)
    dev = r - mean
    sq = dev**2
    m2 = sq.mean(axis=1)
    m3 = (sq * dev).mean(axis=1)
    m4 = (sq**2).mean(axis=1)
    with np.errstate(all="ignore"):
        zero = m2 <= (np.finfo(np.float64).eps * mean[:, 0]) ** 2
        skew = np.where(zero, np.nan, m3 / m2**1.5)
        kurt = np.where(zero, np.nan, m4 / m2**2.0)
    return sr, skew, kurt


def probabilistic_sharpe_rows(r, benchmark: float = 0.0) -> np.ndarray:
    """:func:`probabilistic_sharpe` of each row of ``r`` (shape (m, T)) against one ``benchmark``.

    Returns
    -------
    float64 array, shape (m,)
        NaN where ``T < 3``, the Sharpe is not finite or the variance term of
        :func:`psr_from_moments` is not positive.
    """
    r = np.asarray(r, dtype=np.float64)
    m, n = r.shape
    out = np.full(m, np.nan)
    if n < 3:
        return out
    sr, skew, kurt = sharpe_moments(r)
    with np.errstate(invalid="ignore"):
        var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
        ok = np.isfinite(sr) & (var > 0)
    z = (sr[ok] - benchmark) * math.sqrt(n - 1) / np.sqrt(var[ok])
    out[ok] = [_ndtr(v) for v in z.tolist()]
    return out


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """Expected maximum per-day Sharpe of ``n_trials`` unskilled trials with that variance."""
    if n_trials <= 1:
        return 0.0
    z1 = _ndtri(1.0 - 1.0 / n_trials)
    z2 = _ndtri(1.0 - 1.0 / (n_trials * math.e))
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
    sr_star = dsr_benchmark(len(r), n_trials, trial_sharpes)
    return probabilistic_sharpe(r, sr_star), sr_star * math.sqrt(TRADING_DAYS)


def dsr_benchmark(n_returns: int, n_trials: int, trial_sharpes=()) -> float:
    """The per-day Sharpe ``SR*`` that :func:`deflated_sharpe` tests against.

    Parameters
    ----------
    n_returns : int
        Daily returns of the strategy reported (``T``; fewer than 2 count as 2).
    n_trials, trial_sharpes
        As :func:`deflated_sharpe` (NaN Sharpe ratios are left out of the variance).

    Returns
    -------
    float
        Expected maximum per-day Sharpe of ``n_trials`` unskilled trials (0 for one trial). Every
        strategy of one comparison over the same days shares it, so a sweep computes it once.
    """
    n = max(int(n_returns), 2)
    per_day = np.asarray([s for s in trial_sharpes if math.isfinite(s)], dtype=np.float64) / math.sqrt(TRADING_DAYS)
    variance = 1.0 / (n - 1)
    if len(per_day) >= 2:
        variance = max(variance, float(np.var(per_day, ddof=1)))
    return expected_max_sharpe(max(int(n_trials), 1), variance)


def random_p_value(sharpe_value: float, random_sharpes) -> float:
    """One-sided p-value of a Sharpe against a random-signal distribution (NaNs count as 0)."""
    rs = np.nan_to_num(np.asarray(random_sharpes, dtype=np.float64), nan=0.0)
    if len(rs) == 0 or not math.isfinite(sharpe_value):
        return math.nan
    return float((1 + np.count_nonzero(rs >= sharpe_value)) / (1 + len(rs)))
