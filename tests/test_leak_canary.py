"""Leak canary (issue 4, acceptance 5): no signal in, no skill out; a planted signal is found.

A logistic regression (L2, fit by L-BFGS on the training part) reads every feature of
:func:`futures_vpoc.features.build_features` through :func:`futures_vpoc.dataset.build_dataset`.

* On the synthetic market with ``signal = 0`` nothing is predictable, so its test accuracy must lie
  inside the 95 % binomial interval of the majority-class baseline (always predicting the training
  part's majority class). A leak -- a feature or a scaler that sees the label's future, a target
  filtered on its outcome, a split without purge -- shows up as skill here.
* With ``signal = SIGNAL`` (a pull toward the developing VPOC, :mod:`futures_vpoc.data.synthetic`)
  the same model must beat that baseline with a one-sided binomial p < 0.01: the pipeline keeps a
  real, causal signal.

Data: half a year, 2023-01-02 .. 2023-06-30, seed 11 (about 175,000 one-minute bars, two rolls and
a daylight-saving change; about 23,600 test rows, so one standard error of an accuracy is about
0.32 points). Each case takes a few seconds.

Calibration (seeds 1-12, this span, the 57 features of the registry when this was written)
    ``L2 = 0.1`` (penalty on the mean log-loss): with a weak penalty (0.01) three of twelve seeds
    at ``signal = 0`` scored *below* the interval: with no drift P(up | x) stays under 1/2 by no
    more than half the zero-move probability, and in calm-to-stormy shifts a lightly regularised
    model tips some predictions over 1/2 and pays for it. At 0.1, all twelve seeds at
    ``signal = 0`` lie inside (accuracy minus baseline -0.005 .. +0.004); at ``signal = 3`` all
    twelve beat it with p <= 0.004, at ``signal = 5`` with p <= 3e-8. ``SIGNAL = 5`` keeps that
    margin. Seed 11: signal 0 accuracy 0.5319 vs baseline 0.5321, interval [0.5257, 0.5384];
    signal 3 accuracy 0.5590 vs 0.5288, p = 7e-21; signal 5 accuracy 0.5718 vs 0.5311, p = 2.7e-36.
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
    """Test accuracy of the model and the majority baseline on the synthetic market."""
    bars, _ = synthesize(SynthConfig(**SPAN, signal=signal))
    ds = build_dataset(bars, target="direction", horizon=5)
    w = fit_logistic(ds.X_train, ds.y_train)
    predicted = (ds.X_test.astype(np.float64) @ w[:-1] + w[-1] > 0).astype(np.float32)
    n = len(ds.y_test)
    correct = int((predicted == ds.y_test).sum())
    majority = np.float32(ds.y_train.mean() >= 0.5)
    baseline = float((ds.y_test == majority).mean())
    lo, hi = binom.interval(0.95, n, baseline)
    return dict(n=n, accuracy=correct / n, correct=correct, baseline=baseline, interval=(lo / n, hi / n),
                p_greater=binomtest(correct, n, baseline, alternative="greater").pvalue,
                p_two_sided=binomtest(correct, n, baseline).pvalue, features=len(ds.feature_names))


@pytest.mark.slow
def test_no_signal_gives_no_skill():
    r = canary(0.0)
    assert r["features"] > 10
    assert r["interval"][0] <= r["accuracy"] <= r["interval"][1], r


@pytest.mark.slow
def test_a_planted_signal_beats_the_baseline():
    r = canary(SIGNAL)
    assert r["accuracy"] > r["baseline"] and r["p_greater"] < 0.01, r


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
