"""Learner baselines beside the network (issue 14): logistic regression and LightGBM on the same
features, parts and labels, scored by the same statistics, written and backtested by the same rule."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.ml.baselines import NAMES, fit_baselines, val_log_loss
from futures_vpoc.ml.inputs import TrainData


def _planted(n=6000, d=6, seed=0):
    """A linear signal in feature 0 (P(up) = expit(1.5 x0)); the others are noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-1.5 * X[:, 0]))).astype(np.float32)
    a, b = n * 6 // 10, n * 8 // 10
    return TrainData(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], feature_names=tuple(f"f{i}" for i in range(d)))


def test_both_baselines_find_a_planted_signal_and_beat_a_constant():
    data = _planted()
    fitted = fit_baselines(data, seed=1)
    assert tuple(fitted) == NAMES
    constant = val_log_loss(data.up_val, np.full(len(data.up_val), data.up_train.mean()))
    for b in fitted.values():
        assert b.prob_test.shape == data.up_test.shape and ((b.prob_test > 0) & (b.prob_test < 1)).all()
        assert val_log_loss(data.up_val, b.prob_val) < constant - 0.05, b.name
        assert b.prob_unscored is None
    # the logistic model is the true model here: its test log-loss is near the Bernoulli entropy floor
    assert val_log_loss(data.up_test, fitted["logistic"].prob_test) < 0.56


def test_baselines_are_reproducible_with_a_seed():
    data = _planted(seed=3)
    a, b = fit_baselines(data, seed=5), fit_baselines(data, seed=5)
    for name in NAMES:
        np.testing.assert_array_equal(a[name].prob_test, b[name].prob_test)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-03-31", seed=4, signal=3.0))
    data = tmp_path_factory.mktemp("bl") / "planted.parquet"
    write_merged(bars, data)
    out = data.parent / "run"
    assert main(["train", "--data", str(data), "--output_dir", str(out), "--epochs", "2", "--batch_size", "256",
                 "--hidden_dims", "16", "--warmup_steps", "10", "--learning_rate", "0.001"]) == 0
    return data, out


def test_the_summary_scores_the_baselines_by_the_same_statistics(run_dir):
    _, out = run_dir
    s = json.loads((out / "summary.json").read_text())
    doc = s["baselines"]
    assert set(doc["learners"]) == set(NAMES) and doc["best_by"] == "validation log-loss"
    scores = {n: v["val_log_loss"] for n, v in doc["learners"].items()} | {"network": s["best_val_loss"]}
    assert doc["best_learner"] == min(scores, key=scores.get)
    for v in doc["learners"].values():
        stats = v["test_statistics"]
        assert stats["method"] == "session block bootstrap" and stats["n"] == s["n_test"]
        assert v["test_accuracy"] == stats["metrics"]["accuracy"]["value"]
    analysis = (out / "analysis.md").read_text()
    assert "### Learner baselines" in analysis and "Best of the three learners" in analysis


def test_the_predictions_and_the_backtest_carry_the_baselines(run_dir, tmp_path):
    data, out = run_dir
    pred = pd.read_parquet(out / "predictions_test.parquet")
    for name in NAMES:
        assert pred[f"prob_{name}"].between(0, 1).all()  # scored and flat rows alike
    bt = tmp_path / "bt"
    assert main(["backtest", "--data", str(data), "--model", str(out), "--output_dir", str(bt), "--n_random", "2",
                 "--theta", "0.02"]) == 0
    stats = json.loads((bt / "stats.json").read_text())
    assert list(stats)[:3] == ["model", "logistic", "lightgbm"]
    for name in NAMES:
        assert stats[name]["flat_at_session_end"] is True and "model's rule" in stats[name]["holding"]


def test_no_baselines_flag_skips_them(run_dir, tmp_path):
    data, _ = run_dir
    out = tmp_path / "plain"
    assert main(["train", "--data", str(data), "--output_dir", str(out), "--epochs", "1", "--batch_size", "512",
                 "--hidden_dims", "8", "--warmup_steps", "5", "--no-baselines"]) == 0
    assert "baselines" not in json.loads((out / "summary.json").read_text())
    assert not any(c.startswith("prob_") for c in pd.read_parquet(out / "predictions_test.parquet").columns)
