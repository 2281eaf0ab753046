"""Test metrics against direct computations and textbook values."""

import itertools
import math

import numpy as np
import pytest

from futures_vpoc.ml.metrics import (
    accuracy_ci,
    auc,
    baseline_interval,
    binomial_p_greater,
    brier,
    confusion,
    evaluate,
    log_loss_from_logits,
    majority_class,
)


def test_accuracy_ci_clopper_pearson():
    lo, hi = accuracy_ci(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-6)  # exact for k = 0
    lo, hi = accuracy_ci(520, 1000)
    assert lo < 0.52 < hi and hi - lo == pytest.approx(2 * 1.96 * math.sqrt(0.52 * 0.48 / 1000), rel=0.03)
    assert all(math.isnan(v) for v in accuracy_ci(0, 0))


def test_binomial_p_greater():
    assert binomial_p_greater(10, 10, 0.5) == pytest.approx(0.5 ** 10)
    assert binomial_p_greater(5, 10, 0.5) == pytest.approx(sum(math.comb(10, k) for k in range(5, 11)) / 1024)
    assert binomial_p_greater(3, 3, 1.0) == 1.0


def test_auc_equals_the_pairwise_definition():
    rng = np.random.default_rng(0)
    y = (rng.random(60) < 0.4).astype(float)
    s = np.round(rng.normal(size=60), 1)  # ties on purpose
    pairs = [(a, b) for a, b in itertools.product(np.flatnonzero(y == 1), np.flatnonzero(y == 0))]
    direct = np.mean([1.0 if s[a] > s[b] else 0.5 if s[a] == s[b] else 0.0 for a, b in pairs])
    assert auc(y, s) == pytest.approx(direct)
    assert auc(np.ones(5), np.arange(5)) is None


def test_log_loss_brier_confusion():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    z = np.array([2.0, -1.0, -0.5, 800.0])  # a huge logit stays finite and exact
    p = 1 / (1 + np.exp(-z[:3]))
    expected = np.r_[-np.log(p[0]), -np.log(1 - p[1]), -np.log(p[2]), 800.0].mean()
    assert log_loss_from_logits(y, z) == pytest.approx(expected)
    assert brier(y, [1.0, 0.0, 0.5, 0.5]) == pytest.approx(0.125)
    assert confusion(y, [1, 1, 0, 0]) == {"tn": 1, "fp": 1, "fn": 1, "tp": 1}
    with pytest.raises(ValueError):
        brier([0.5], [0.5])


def test_evaluate_against_the_training_majority():
    y_train = np.array([0, 0, 0, 1], dtype=float)
    assert majority_class(y_train) == 0
    y = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 1], dtype=float)
    z = np.where(y == 1, 1.0, -1.0)
    z[0] = 2.0  # one mistake
    m = evaluate(y, z, y_train)
    assert m["accuracy"] == 0.9 and m["correct"] == 9
    assert m["majority_class"] == 0 and m["majority_baseline"] == 0.6
    assert m["majority_baseline_ci95"] == list(baseline_interval(0.6, 10))
    assert m["confusion"] == {"tn": 5, "fp": 1, "fn": 0, "tp": 4}
    assert 0 < m["p_value"] < 0.05
