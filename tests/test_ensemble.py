"""Issue 6, acceptance 4: ``ensemble`` reports members and ensemble; its validation log-loss is no
worse than its best member's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.ml.ensemble import fit_weights, prob_log_loss, run_ensemble, write_ensemble_report

from test_scaleup import run_cli


@pytest.fixture(scope="module")
def planted_file(tmp_path_factory) -> Path:
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-27", seed=11, signal=5))
    path = tmp_path_factory.mktemp("ensemble_data") / "planted.csv"
    write_merged(bars, path)
    return path


def test_fit_weights_on_the_simplex_and_never_worse_than_a_member():
    rng = np.random.default_rng(0)
    n = 4000
    truth = rng.uniform(0.2, 0.8, n)
    y = (rng.uniform(size=n) < truth).astype(float)
    # two members that see the truth through independent noise: the mix beats both
    P = np.column_stack([np.clip(truth + rng.normal(0, 0.15, n), 0.01, 0.99) for _ in range(2)]
                        + [np.full(n, 0.5)])
    w, loss, how = fit_weights(P, y)
    assert np.all(w >= 0) and np.isclose(w.sum(), 1.0)
    members = [prob_log_loss(y, P[:, k]) for k in range(P.shape[1])]
    assert loss <= min(members) + 1e-12
    assert loss < min(members) - 1e-4 and how == "optimised"
    assert np.isclose(loss, prob_log_loss(y, P @ w))
    # a useless extra member cannot make it worse; one perfect member takes all the weight
    w1, loss1, _ = fit_weights(np.column_stack([y * 0.98 + 0.01, np.full(n, 0.5)]), y)
    assert w1[0] > 0.99 and loss1 <= prob_log_loss(y, y * 0.98 + 0.01) + 1e-12


@pytest.mark.slow
def test_ensemble_reports_members_and_ensemble(planted_file, tmp_path):
    out = tmp_path / "ens"
    assert run_cli(["ensemble", "--data", str(planted_file), "--output_dir", str(out), "--epochs", "2",
                    "--batch_size", "512", "--threads", "1", "--groups", "price", "volume", "volatility"]) == 0
    doc = json.loads((out / "ensemble.json").read_text())
    assert doc["groups"] == ["price", "volume", "volatility"]
    weights = np.array(list(doc["weights"].values()))
    assert np.all(weights >= 0) and np.isclose(weights.sum(), 1.0)
    best_member = min(m["val"]["log_loss"] for m in doc["members"])
    assert doc["ensemble"]["val"]["log_loss"] <= best_member + 1e-12
    for m in doc["members"]:
        run_dir = Path(m["run_dir"])
        assert run_dir == out / m["group"] and (run_dir / "summary.json").is_file()
        assert m["hidden_dims"] == [32, 16]  # the seed's member size by default
        assert json.loads((run_dir / "config.json").read_text())["features"] == [m["group"]]
        assert m["test"]["n"] == doc["n_test"] and m["val"]["n"] == doc["n_val"]
    test = doc["ensemble"]["test"]
    for key in ("accuracy", "accuracy_ci95", "majority_baseline", "p_value", "auc", "log_loss"):
        assert test[key] is not None
    pred = pd.read_parquet(out / "predictions_test.parquet")
    scored = pred["label"].notna()
    assert int(scored.sum()) == doc["n_test"] and pred["prob"].between(0, 1).all()
    assert (~scored).any() and pred["timestamp"].is_monotonic_increasing  # flat horizons: predicted, unscored
    # Issue 14: an ensemble folder is backtestable (it has no config.json; the file's metadata holds the horizon)
    bt = tmp_path / "bt"
    assert run_cli(["backtest", "--data", str(planted_file), "--model", str(out), "--output_dir", str(bt),
                    "--n_random", "2"]) == 0
    stats = json.loads((bt / "stats.json").read_text())
    assert stats["model"]["trades"] > 0
    md = (out / "ensemble.md").read_text()
    assert all(g in md for g in doc["groups"]) and "**ensemble**" in md


def _data(rng, stamps_val, stamps_test, d=3, n_train=400):
    from futures_vpoc.ml.inputs import TrainData

    def part(n):
        X = rng.normal(size=(n, d)).astype(np.float32)
        return X, (X[:, 0] + rng.normal(0, 1, n) > 0).astype(np.float32)

    Xtr, ytr = part(n_train)
    Xv, yv = part(len(stamps_val))
    Xt, yt = part(len(stamps_test))
    return TrainData(Xtr, ytr, Xv, yv, Xt, yt, tuple(f"f{i}" for i in range(d)), t_val=stamps_val,
                     t_test=stamps_test, fwd_test=rng.normal(size=len(stamps_test)))


def test_members_with_different_rows_are_combined_on_shared_timestamps(tmp_path):
    from futures_vpoc.ml.config import TrainConfig

    rng = np.random.default_rng(3)
    tv = pd.date_range("2024-01-01", periods=120, freq="1min", tz="UTC")
    tt = pd.date_range("2024-01-02", periods=100, freq="1min", tz="UTC")
    datas = {"a": _data(rng, tv, tt), "b": _data(rng, tv[10:], tt)}  # b's longer warm-up: 10 fewer val rows
    config = TrainConfig(epochs=1, batch_size=128, hidden_dims=(4,), threads=1, output_dir=str(tmp_path))
    result = run_ensemble(config, datas, tmp_path, console=False)
    assert result.n_val == 110 and result.n_test == 100
    assert result.aligned_note and "110" in result.aligned_note
    assert result.val["log_loss"] <= result.val["best_member_log_loss"] + 1e-12
    write_ensemble_report(result)
    assert "110" in (tmp_path / "ensemble.md").read_text()


def test_ensemble_needs_direction(planted_file, tmp_path):
    assert run_cli(["ensemble", "--data", str(planted_file), "--output_dir", str(tmp_path / "o"),
                    "--target", "rank"]) == 2
    assert not (tmp_path / "o").exists()
    # a group without usable rows is skipped; fewer than 2 usable members is a usage error with
    # nothing written: tests/test_dataset_availability.py (issue 16: vix's long warm-up no longer
    # empties the group on this file, its slow feature is dropped instead)
