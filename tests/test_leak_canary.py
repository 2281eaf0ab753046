"""Leak canary (issue 4, acceptance 5): no signal in, no skill out; a planted signal is found.

A logistic regression (L2, fit by L-BFGS on the training part) reads every feature of
:func:`futures_vpoc.features.build_features` through :func:`futures_vpoc.dataset.build_dataset`,
with the default target: up vs down, flat horizons left out (issue 14).

No skill is measured against *chance agreement*: a prediction that knows nothing of the label
agrees with it at the rate ``e = q p + (1 - q)(1 - p)``, ``q`` the model's share of "up"
predictions and ``p`` the test part's share of up labels. (Before issue 14 the target was up vs not
up, about 46 / 54, and the majority class was the reference. On a balanced target the training
majority is a coin flip: when it is the test part's minority, a model predicting the other side
scores ``1 - p`` above it with no skill at all; seeds 5, 10, 11 and 12 below fall outside that
interval.) Horizon-5 labels overlap (consecutive ones share 4 of 5 returns), so the interval and
the p-value count ``n / horizon`` effective rows, a conservative correction.

* On the synthetic market with ``signal = 0`` nothing is predictable, so the test accuracy must
  lie inside the 95 % binomial interval of chance agreement. A leak -- a feature or a scaler that
  sees the label's future, a target filtered on its outcome, a split without purge -- shows up as
  skill here.
* With ``signal = SIGNAL`` (a pull toward the developing VPOC, :mod:`futures_vpoc.data.synthetic`)
  the same model must beat chance agreement with a one-sided binomial p < 0.01: the pipeline
  keeps a real, causal signal.

Data: half a year, 2023-01-02 .. 2023-06-30, seed 11 (about 175,000 one-minute bars, two rolls and
a daylight-saving change; about 22,000 test rows, 4,400 effective, so one standard error of an
accuracy is about 0.75 points). Each case takes a few seconds.

Calibration (seeds 1-12, this span, the 57 features of the registry, up vs down labels; remeasured
for issue 14)
    ``L2 = 0.1`` (penalty on the mean log-loss). At ``signal = 0`` accuracy minus chance agreement
    lies in -0.008 .. +0.006 over the twelve seeds (all inside the interval, half-width about
    0.015); at ``signal = 3`` accuracy is 0.543 .. 0.555 against chance 0.500, at ``signal = 5``
    0.564 .. 0.577. ``SIGNAL = 5`` keeps a wide margin. Seed 11: signal 0 accuracy 0.5047 vs
    chance 0.5007 (majority baseline 0.4969), signal 5 accuracy 0.5742 vs chance 0.5001.
"""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit
from scipy.stats import binom, binomtest

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.dataset import build_dataset

SPAN = dict(start="2023-01-02", end="2023-06-30", seed=11)
SIGNAL = 5.0
L2 = 0.1
HORIZON = 5


def fit_logistic(X, y, l2=L2):
    """L2-regularised logistic regression; returns weights with the intercept last, shape (d + 1,).

    Loss ``mean(log(1 + e^z) - y z) + l2 / 2 * |w|^2`` (intercept not penalised), ``z = X w + b``.
    """
    Xb = np.c_[np.asarray(X, dtype=np.float64), np.ones(len(X))]
    y = np.asarray(y, dtype=np.float64)

    def loss(w):
        z = Xb @ w
        value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w[:-1] @ w[:-1]
        grad = Xb.T @ (expit(z) - y) / len(y)
        grad[:-1] += l2 * w[:-1]
        return value, grad

    result = minimize(loss, np.zeros(Xb.shape[1]), jac=True, method="L-BFGS-B")
    assert result.success, result.message
    return result.x


def canary(signal):
    """Test accuracy of the model against chance agreement (and the majority baseline) on the synthetic market."""
    bars, _ = synthesize(SynthConfig(**SPAN, signal=signal))
    ds = build_dataset(bars, target="direction", horizon=HORIZON)
    w = fit_logistic(ds.X_train, ds.y_train)
    predicted = (ds.X_test.astype(np.float64) @ w[:-1] + w[-1] > 0).astype(np.float32)
    n = len(ds.y_test)
    correct = int((predicted == ds.y_test).sum())
    accuracy = correct / n
    p, q = float(ds.y_test.mean()), float(predicted.mean())
    chance = q * p + (1 - q) * (1 - p)
    n_eff = n // HORIZON
    lo, hi = binom.interval(0.95, n_eff, chance)
    majority = np.float32(ds.y_train.mean() >= 0.5)
    return dict(n=n, n_eff=n_eff, accuracy=accuracy, correct=correct, chance=chance,
                interval=(lo / n_eff, hi / n_eff),
                p_greater=binomtest(round(accuracy * n_eff), n_eff, chance, alternative="greater").pvalue,
                baseline=float((ds.y_test == majority).mean()), features=len(ds.feature_names))


@pytest.mark.slow
def test_no_signal_gives_no_skill():
    r = canary(0.0)
    assert r["features"] > 10
    assert r["interval"][0] <= r["accuracy"] <= r["interval"][1], r


@pytest.mark.slow
def test_a_planted_signal_beats_the_baseline():
    r = canary(SIGNAL)
    assert r["accuracy"] > r["chance"] and r["p_greater"] < 0.01, r
    assert r["accuracy"] > r["baseline"], r


@pytest.mark.slow
def test_the_canary_catches_a_leaked_feature(monkeypatch):
    """A feature that peeks one bar past the bar (next close against this close) must show up."""
    from futures_vpoc import features

    honest = features.build_features

    def leaky(bars, **kwargs):
        table = honest(bars, **kwargs)
        peek = bars["close"].shift(-1) / bars["close"] - 1.0
        return type(table)(frame=table.frame.assign(leak_next_return=peek), specs=table.specs,
                           warmup_rows=table.warmup_rows)

    monkeypatch.setattr(features, "build_features", leaky)
    r = canary(0.0)
    assert r["accuracy"] > r["interval"][1] + 0.02, r
