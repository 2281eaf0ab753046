"""The dependence-aware statistics against a simulated truth (issue 14's acceptance).

Each repetition simulates ``SESSIONS`` sessions of ``BARS`` one-minute bars: a random walk whose
horizon-5 label ``up = sum of the next 5 returns > 0`` overlaps its neighbours' (they share 4 of 5
returns), and a model output that is independent of the market but persistent, as real outputs are
(an AR(1) with coefficient 0.98 within the session plus a per-session offset). So the true accuracy
is exactly 0.5 (symmetric labels, independent predictions), the true AUC is 0.5, and the majority
baseline (class "up", as if from the training labels) has the same true accuracy: the null holds
exactly. A 95 % interval must cover 0.5 in about 95 % of the repetitions and a 5 % test must
reject in about 5 %. The independent-rows method (exact binomial) is run on the same samples to show
why it was replaced. Tolerances: 400 repetitions give a Monte-Carlo standard error of 1.1 points on a
95 % coverage and 1.1 points on a 5 % rate; the bounds are the issue's (92-98 %, <= 7 %).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from futures_vpoc.evaluation import evaluate_predictions, naive_accuracy_test

SESSIONS, BARS, HORIZON, REPS, PHI = 120, 200, 5, 400, 0.98


def _session(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities of one session, shapes (BARS,)."""
    walk = np.cumsum(rng.standard_normal(BARS + HORIZON))
    labels = (walk[HORIZON:HORIZON + BARS] - walk[:BARS] > 0).astype(np.float64)
    shocks = rng.standard_normal(BARS) * np.sqrt(1.0 - PHI ** 2)
    shocks[0] = rng.standard_normal()
    score = lfilter([1.0], [1.0, -PHI], shocks) + 0.5 * rng.standard_normal()
    return labels, 1.0 / (1.0 + np.exp(-score))


def _sample(rng: np.random.Generator):
    parts = [_session(rng) for _ in range(SESSIONS)]
    y = np.concatenate([p[0] for p in parts])
    prob = np.concatenate([p[1] for p in parts])
    dates = np.repeat(np.datetime64("2024-01-02") + np.arange(SESSIONS).astype("timedelta64[D]"), BARS)
    return y, prob, dates


@pytest.fixture(scope="module")
def outcomes() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261206)
    rows = []
    for rep in range(REPS):
        y, prob, dates = _sample(rng)
        res = evaluate_predictions(y, prob, dates, horizon=HORIZON, majority=1, base_rate=0.5, n_boot=400,
                                   seed=rep)
        acc, auc = res["metrics"]["accuracy"], res["metrics"]["auc"]
        naive = naive_accuracy_test(y, prob, majority=1)
        rows.append((acc["ci_low"] <= 0.5 <= acc["ci_high"], acc["p_value"] < 0.05,
                     auc["ci_low"] <= 0.5 <= auc["ci_high"], auc["p_value"] < 0.05,
                     naive["ci_low"] <= 0.5 <= naive["ci_high"], naive["p_value"] < 0.05,
                     res["effective_n"] / res["n"]))
    cols = np.array(rows, dtype=np.float64)
    names = ("acc_cover", "acc_reject", "auc_cover", "auc_reject", "naive_cover", "naive_reject", "eff_share")
    return {k: cols[:, i] for i, k in enumerate(names)}


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["acc", "auc"])
def test_interval_covers_the_truth_about_95_percent(outcomes, metric):
    assert 0.92 <= outcomes[f"{metric}_cover"].mean() <= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["acc", "auc"])
def test_five_percent_test_rejects_at_most_seven_percent_under_the_null(outcomes, metric):
    assert outcomes[f"{metric}_reject"].mean() <= 0.07


@pytest.mark.slow
def test_the_independent_rows_method_fails_on_the_same_samples(outcomes):
    assert outcomes["naive_cover"].mean() < 0.85
    assert outcomes["naive_reject"].mean() > 0.15


@pytest.mark.slow
def test_effective_sample_size_is_well_below_the_row_count(outcomes):
    # Persistent outputs and overlapping labels: far fewer independent rows than rows.
    assert outcomes["eff_share"].mean() < 0.6

