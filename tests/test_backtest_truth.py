"""Every backtest statistic against a known truth (issue 14): calibration and exact boundary cases.

Each test here fails on one small plausible bug that the rest of the suite let through (a mutation
check): the bootstrap Sharpe interval reporting a 90% interval as 95%, a wrong variance term in
the PSR, a DSR that does not deflate, ``>=`` vs ``>`` in the random-signal p-value, and a stop or
target touched exactly. Simulations use fixed seeds, so every outcome is deterministic; the
tolerances are about three binomial standard errors wide and exclude the mutated value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from test_backtest_support import ohlc_bars

from futures_vpoc.backtest.engine import BacktestConfig, run_engine
from futures_vpoc.backtest.significance import (EULER_GAMMA, bootstrap_sharpe_ci, deflated_sharpe,
                                                expected_max_sharpe, probabilistic_sharpe, psr_from_moments,
                                                random_p_value)
from futures_vpoc.backtest.stats import TRADING_DAYS


def _binomial_band(p: float, n: int, k: float = 3.0) -> tuple[float, float]:
    """``p`` plus or minus ``k`` binomial standard errors of a share over ``n`` draws."""
    se = math.sqrt(p * (1 - p) / n)
    return p - k * se, p + k * se


# -- (1) the bootstrap interval covers the true Sharpe 95% of the time ------------------------------

def test_bootstrap_interval_covers_a_known_sharpe_95_percent_of_the_time():
    # iid normal daily returns with per-day Sharpe 0.05 (0.79 a year), one year each; the block
    # of 1 day is the right bootstrap for iid data, so the percentile interval is close to exact:
    # 0.949 over 2,000 samples (a 90% interval: 0.901). 400 samples: +-3 SE = +-0.033.
    reps, days, per_day = 400, 252, 0.05
    true = per_day * math.sqrt(TRADING_DAYS)
    rng = np.random.default_rng(2024)
    hits = 0
    for k in range(reps):
        r = 0.01 * (per_day + rng.standard_normal(days))
        low, high = bootstrap_sharpe_ci(r, n_boot=500, block=1, seed=k)
        hits += low <= true <= high
    coverage = hits / reps
    low_ok, high_ok = _binomial_band(0.95, reps)
    assert low_ok <= coverage <= high_ok, coverage
    assert coverage > 0.925  # a 90% interval (coverage ~0.90) labelled 95% fails here


def test_bootstrap_interval_width_matches_the_sharpe_standard_error():
    # the default (moving-block) interval of a long iid series: its width is 2 x 1.96 x the
    # asymptotic standard error of the annualised Sharpe, sqrt((1 + SR^2 / 2) / T) x sqrt(252)
    # (Lo 2002, iid normal returns); a 90% interval is 2 x 1.645 wide, 16% narrower
    rng = np.random.default_rng(5)
    days, per_day = 2520, 0.05
    r = 0.01 * (per_day + rng.standard_normal(days))
    low, high = bootstrap_sharpe_ci(r, n_boot=2000, seed=1)
    se = math.sqrt((1 + per_day ** 2 / 2) / days) * math.sqrt(TRADING_DAYS)
    assert (high - low) / (2 * 1.959964 * se) == pytest.approx(1.0, abs=0.08)


# -- (2) PSR: a published worked example and its false-positive rate -------------------------------

def test_psr_reproduces_the_published_deflated_sharpe_example():
    # Bailey & Lopez de Prado (2014), "The Deflated Sharpe Ratio: Correcting for Selection Bias,
    # Backtest Overfitting and Non-Normality", J. Portfolio Management 40(5), numerical example:
    # annualised SR 2.5 over 5 years of daily returns (T = 1250, 250 days a year), skewness -3,
    # kurtosis 10, after N = 100 trials whose Sharpe ratios have variance 1/2 (annualised).
    # The DSR is the PSR of Bailey & Lopez de Prado (2012), "The Sharpe Ratio Efficient
    # Frontier", J. Risk 15(2), evaluated at the benchmark SR0; the paper reports SR0 = 0.1132
    # (per day) and DSR = 0.9004. By hand:
    #   SR   = 2.5 / sqrt(250)                                = 0.158114
    #   SR0  = sqrt(0.5 / 250) x ((1 - g) z(1 - 1/100) + g z(1 - 1/(100 e)))
    #        = 0.044721 x (0.422784 x 2.326348 + 0.577216 x 2.679...) = 0.113172
    #   var  = 1 - (-3)(0.158114) + (10 - 1)/4 x 0.158114^2  = 1 + 0.474342 + 0.05625 = 1.530592
    #   z    = (0.158114 - 0.113172) x sqrt(1249) / sqrt(1.530592) = 1.283816
    #   PSR  = Phi(1.283816)                                   = 0.900397
    sr = 2.5 / math.sqrt(250)
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert sr0 == pytest.approx(math.sqrt(0.002) * ((1 - EULER_GAMMA) * 2.3263479 + EULER_GAMMA
                                                    * sps.norm.ppf(1 - 1 / (100 * math.e))), rel=1e-6)
    var = 1 + 3 * sr + 9 / 4 * sr ** 2
    assert var == pytest.approx(1.530592, abs=1e-6)
    by_hand = sps.norm.cdf((sr - sr0) * math.sqrt(1249) / math.sqrt(var))
    got = psr_from_moments(sr, 1250, skew=-3.0, kurt=10.0, benchmark=sr0)
    assert got == pytest.approx(by_hand, abs=1e-9)
    assert got == pytest.approx(0.9004, abs=5e-5)  # the paper's figure, to its 4 decimals
    # normal returns (skew 0, kurtosis 3) and the same Sharpe: var = 1 + SR^2 / 2
    normal = psr_from_moments(sr, 1250, 0.0, 3.0, sr0)
    assert normal == pytest.approx(sps.norm.cdf((sr - sr0) * math.sqrt(1249) / math.sqrt(1 + sr ** 2 / 2)), abs=1e-12)


def test_psr_of_a_series_uses_its_sample_moments():
    rng = np.random.default_rng(9)
    r = 0.01 * (0.08 + rng.standard_t(4, 500))
    sr = r.mean() / r.std(ddof=1)
    skew, kurt = sps.skew(r), sps.kurtosis(r, fisher=False)
    expected = sps.norm.cdf(sr * math.sqrt(499) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr ** 2))
    assert probabilistic_sharpe(r) == pytest.approx(expected, abs=1e-12)


def test_psr_false_positive_rate_is_five_percent_under_zero_mean_returns():
    # 1,500 zero-mean iid normal years: PSR > 0.95 is a one-sided 5% test of SR <= 0 (0.0513 here;
    # a variance term off by a factor of 2 gives 0.5% or 12%)
    reps, days = 1500, 252
    r = np.random.default_rng(17).standard_normal((reps, days)) * 0.01
    rate = np.mean([probabilistic_sharpe(x) > 0.95 for x in r])
    low, high = _binomial_band(0.05, reps)
    assert low <= rate <= high, rate


# -- (3) DSR: the best of N zero-skill trials ------------------------------------------------------

def _best_of(trials: np.ndarray) -> np.ndarray:
    sr = trials.mean(axis=-1) / trials.std(axis=-1, ddof=1)
    return trials[np.arange(len(trials)), sr.argmax(axis=1)]


def test_deflated_sharpe_false_positive_rate_for_the_best_of_ten_zero_skill_trials():
    # 1,000 searches, each picking the best of N = 10 zero-mean strategies over T = 252 days.
    # Under the null SR_n x sqrt(T - 1) is close to N(0, 1), and DSR > q is
    # max_n SR_n x sqrt(T - 1) > E + z_q (E: the DSR's expected maximum in those units), so
    # P(DSR > q) = 1 - Phi(E + z_q) ** N: 0.0064 for q = 0.95 (at most the 5% a test promises;
    # the undeflated PSR would reject 1 - 0.95 ** 10 = 40% of the time) and 0.448 for q = 0.5.
    n_trials, reps, days = 10, 1000, 252
    rng = np.random.default_rng(31)
    best = _best_of(rng.standard_normal((reps, n_trials, days)) * 0.01)
    dsr = np.array([deflated_sharpe(x, n_trials)[0] for x in best])
    e_max = expected_max_sharpe(n_trials, 1.0)
    assert e_max == pytest.approx((1 - EULER_GAMMA) * 1.2815516 + EULER_GAMMA * 1.7894, abs=2e-4)
    for q in (0.95, 0.5):
        truth = 1 - sps.norm.cdf(e_max + sps.norm.ppf(q)) ** n_trials
        low, high = _binomial_band(truth, reps, k=3.5)
        assert low <= np.mean(dsr > q) <= high, (q, np.mean(dsr > q), truth)
    assert np.mean(dsr > 0.95) <= 0.05
    psr = np.array([probabilistic_sharpe(x) for x in best[:300]])
    assert np.mean(psr > 0.95) > 0.3  # what the deflation removes


def test_one_trial_deflates_nothing():
    r = np.random.default_rng(3).standard_normal(300) * 0.01 + 0.001
    dsr, bar = deflated_sharpe(r, 1)
    assert bar == 0.0 and dsr == probabilistic_sharpe(r)


# -- (4) the random-signal p-value: ties count against the strategy --------------------------------

def test_random_p_value_exact_with_ties():
    # (1 + #{random >= observed}) / (N + 1): a tie is as good as the strategy, so it counts
    assert random_p_value(1.0, [0.5, 1.0, 1.0, 2.0]) == pytest.approx(4 / 5)
    assert random_p_value(0.3, [0.3] * 9) == 1.0
    assert random_p_value(3.0, [1.0, 2.0]) == pytest.approx(1 / 3)  # never 0: at least 1 / (N + 1)
    assert random_p_value(0.0, [np.nan, np.nan, -1.0]) == pytest.approx(3 / 4)  # NaN Sharpe = 0, a tie
    assert math.isnan(random_p_value(1.0, [])) and math.isnan(random_p_value(np.nan, [1.0]))


def test_random_p_value_is_a_valid_test_with_and_without_ties():
    # the observed Sharpe exchangeable with N = 19 random ones (the null): P(p <= 0.05) is exactly
    # 0.05 for continuous values and at most 0.05 with ties; counting only "> observed" would
    # reject about a third of the time with three tied levels
    rng = np.random.default_rng(8)
    reps = 4000
    cont = rng.standard_normal((reps, 20))
    rate = np.mean([random_p_value(x[0], x[1:]) <= 0.05 for x in cont])
    low, high = _binomial_band(0.05, reps)
    assert low <= rate <= high, rate
    tied = rng.integers(0, 3, (reps, 20)).astype(float)
    assert np.mean([random_p_value(x[0], x[1:]) <= 0.05 for x in tied]) <= 0.05


# -- (5) a stop or target touched exactly ----------------------------------------------------------

ES_1TICK = dict(slippage_ticks=1, stop_ticks=4, target_ticks=8)  # stop 1 point, target 2 points


def _bars(*rows):
    return ohlc_bars([(100.0, 100.0, 100.0, 100.0), *rows, (100.0, 100.0, 100.0, 100.0)])


@pytest.mark.parametrize("side", [1, -1])
def test_a_stop_touched_exactly_fills_at_the_stop(side):
    # entry at open1 100 +- 0.25 slippage = 100.25 (long) / 99.75 (short); stop 1 point away:
    # 99.25 / 100.75. Bar 2 reaches it exactly (low == stop / high == stop): the stop fills at
    # the stop minus one tick of slippage (99.00 / 101.00), reason "stop".
    stop = 100.25 - 1.0 if side > 0 else 99.75 + 1.0
    touch = (100.0, 100.5, stop, 100.0) if side > 0 else (100.0, stop, 99.5, 100.0)
    bars = _bars((100.0, 100.5, 99.5, 100.0), touch)
    res = run_engine(bars, np.full(len(bars), float(side)), BacktestConfig(**ES_1TICK))
    t = res.trades.iloc[0]
    assert t["reason"] == "stop" and t["exit_bar"] == 2
    assert t["exit_price"] == stop - side * 0.25
    assert t["pnl"] == pytest.approx(side * (t["exit_price"] - t["entry_price"]) * 50 - 4.30, abs=1e-9)
    # one tick short of the stop: no fill
    near = (100.0, 100.5, stop + 0.25, 100.0) if side > 0 else (100.0, stop - 0.25, 99.5, 100.0)
    held = run_engine(_bars((100.0, 100.5, 99.5, 100.0), near), np.full(len(bars), float(side)),
                      BacktestConfig(**ES_1TICK))
    assert list(held.trades["reason"]) == ["end_of_data"]


@pytest.mark.parametrize("side", [1, -1])
def test_a_target_touched_exactly_does_not_fill_one_traded_through_does(side):
    # the documented convention (kernels.py rule 2): a target is a resting limit order and fills
    # only when the price trades through it (high > target for a long), since a touch may leave
    # the order unfilled in the queue. Target 2 points from the entry: 102.25 / 97.75.
    target = 100.25 + 2.0 if side > 0 else 99.75 - 2.0
    touch = (100.0, target, 99.5, 100.0) if side > 0 else (100.0, 100.5, target, 100.0)
    through = (100.0, target + 0.25, 99.5, 100.0) if side > 0 else (100.0, 100.5, target - 0.25, 100.0)
    bars = _bars(touch, through)
    res = run_engine(bars, np.full(len(bars), float(side)), BacktestConfig(**ES_1TICK))
    t = res.trades.iloc[0]
    assert t["reason"] == "target" and t["exit_bar"] == 2  # bar 1 touched it, bar 2 traded through
    assert t["exit_price"] == target  # a limit fill: no slippage
    assert res.position.iloc[1] == side and res.position.iloc[3] == 0


def test_normal_cdf_and_quantile_match_scipy_without_importing_it():
    """The significance module's standard-library normal CDF and quantile against scipy's (the reference):
    CDF within 2e-14 relative over [-9, 9], quantile within 1e-14 absolute from 1e-12 to 1 - 1e-12."""
    from scipy import special

    from futures_vpoc.backtest.significance import _ndtr, _ndtri

    for x in np.linspace(-9.0, 9.0, 4001):
        assert _ndtr(float(x)) == pytest.approx(special.ndtr(x), rel=2e-14, abs=0.0)
    for q in np.concatenate([np.logspace(-12, -1, 100), np.linspace(0.01, 0.99, 197), 1 - np.logspace(-12, -1, 100)]):
        assert abs(_ndtri(float(q)) - special.ndtri(q)) <= 1e-14
