"""The trainer in-process, on small planted-signal arrays: run directory, guard, AMP, schedule, stopping.

Each test names the prior-system defect (section 8.5 of the reference) it shows we do not have.
"""

import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import expit

from futures_vpoc.errors import DataError
from futures_vpoc.ml import TrainConfig, TrainData, Trainer
from futures_vpoc.ml.checkpoint import load_checkpoint, predict
from futures_vpoc.ml.guard import tensors_finite
from futures_vpoc.ml.rundir import read_metrics
from futures_vpoc.ml.schedule import lr_at

EPOCH_KEYS = {"epoch", "train_loss", "val_loss", "val_accuracy", "val_auc", "nan_batches", "total_batches", "nan_rate",
              "valid_batch_pct", "grad_norm_mean", "grad_norm_max", "clipped_pct", "lr", "seconds"}
SUMMARY_KEYS = {"param_count", "epochs_completed", "stop_reason", "best_epoch", "best_val_loss", "nan_rate_max",
                "valid_batch_pct_min", "test_accuracy", "test_accuracy_ci95", "test_majority_baseline",
                "test_p_value", "test_auc", "test_log_loss", "n_train", "n_val", "n_test", "samples_per_second",
                "test_brier", "test_confusion"}


def make_data(n=3000, d=12, seed=0, strength=1.0) -> TrainData:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.random(n) < expit(strength * (X[:, 0] - 0.5 * X[:, 1]))).astype(np.float32)
    t = pd.date_range("2024-01-02 14:30", periods=n, freq="1min", tz="UTC")
    a, b = int(0.6 * n), int(0.8 * n)
    return TrainData(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], [f"f{i}" for i in range(d)], t_train=t[:a],
                     t_val=t[a:b], t_test=t[b:], fwd_test=rng.normal(size=n - b) * 1e-3,
                     dataset_state={"scaler": {"type": "RobustScaler", "center": [0.0] * d}, "horizon": 5},
                     counts={"n_train": a})


def config(tmp_path, **kw) -> TrainConfig:
    base = dict(output_dir=str(tmp_path / "run"), epochs=3, batch_size=64, learning_rate=3e-3, hidden_dims=(32, 16),
                dropout_rate=0.1, warmup_steps=10, gradient_clip_value=1.0, early_stopping_patience=10, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def fit(tmp_path, data=None, hook=None, **kw):
    cfg = config(tmp_path, **kw)
    trainer = Trainer(cfg, data or make_data(), Path(cfg.output_dir), batch_hook=hook, console=False)
    return trainer, trainer.fit()


def checkpoints_finite(run_dir: Path) -> None:
    for name in ("best.pt", "last.pt"):
        if (run_dir / name).exists():
            ck = load_checkpoint(run_dir / name)
            assert tensors_finite(ck["model"]), name
            assert ck["best_model"] is None or tensors_finite(ck["best_model"]), name


def test_run_directory_holds_every_artifact_with_the_documented_keys(tmp_path):
    trainer, result = fit(tmp_path)
    run = tmp_path / "run"
    logs = list(run.glob("futures_vpoc_*.log"))
    assert len(logs) == 1 and re.fullmatch(r"futures_vpoc_\d{8}_\d{6}\.log", logs[0].name)
    assert "epoch 3/3" in logs[0].read_text()
    epochs, events = read_metrics(run / "metrics.jsonl")
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    for rec in epochs:
        assert EPOCH_KEYS <= set(rec)
        assert 0.0 <= rec["nan_rate"] <= 1.0 and rec["nan_rate"] == rec["nan_batches"] / rec["total_batches"]
        assert rec["valid_batch_pct"] == 100.0
    assert {e["event"] for e in events} == {"restore_best"}
    assert all({"event", "epoch", "step", "detail"} <= set(e) for e in events)
    summary = json.loads((run / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary) and summary == json.loads(json.dumps(result.summary))
    assert summary["stop_reason"] == "completed" and summary["epochs_completed"] == 3
    assert summary["test_accuracy"] > summary["test_majority_baseline"]  # a planted signal is learned
    lo, hi = summary["test_accuracy_ci95"]
    assert lo < summary["test_accuracy"] < hi
    assert sum(summary["test_confusion"].values()) == summary["n_test"] == 600
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["seed"] == 3 and cfg["hidden_dims"] == [32, 16] and cfg["versions"]["torch"] == torch.__version__
    assert cfg["resolved"]["device"] == "cpu" and cfg["input_features"]["names"][0] == "f0"
    preds = pd.read_parquet(run / "predictions_test.parquet")
    assert list(preds.columns[:5]) == ["timestamp", "trade_date", "prob", "decision", "label"] and len(preds) == 600
    assert str(preds["timestamp"].dt.tz) == "UTC"
    np.testing.assert_allclose(preds["prob"], expit(preds["logit"]))


def test_checkpoints_carry_everything_needed_to_predict(tmp_path):
    """Prior defect (item 43): checkpoints without feature list, scaling or target metadata."""
    data = make_data()
    _, result = fit(tmp_path, data)
    run = tmp_path / "run"
    best = load_checkpoint(run / "best.pt")
    last = load_checkpoint(run / "last.pt")
    for ck in (best, last):
        assert ck["feature_names"] == list(data.feature_names)
        assert ck["dataset"]["scaler"]["type"] == "RobustScaler"
        assert ck["target"] == {"target": "direction", "horizon": 5, "decision_threshold": 0.0, "output": "logit"}
        assert ck["config"]["hidden_dims"] == [32, 16] and ck["model_spec"]["input_dim"] == 12
        assert {"optimizer", "scaler", "loss", "step", "epoch", "rng", "guard"} <= set(ck)
    assert last["finished"] and last["stop_reason"] == "completed"
    # the final (restored best) weights are best.pt's: its predictions are the written ones
    preds = pd.read_parquet(run / "predictions_test.parquet")
    np.testing.assert_allclose(predict(run / "best.pt", data.X_test), preds["logit"], rtol=1e-5, atol=1e-6)


def test_inf_inputs_are_skipped_counted_and_rolled_back(tmp_path):
    """Fault injection: 6 consecutive batches of +inf inputs; patience 5 -> one rollback, then training on
    (6 of 57 steps is under the 20 % share that would trigger a second rollback at the epoch's end)."""
    def hook(step, x):
        return torch.full_like(x, math.inf) if 10 <= step < 16 else x

    trainer, result = fit(tmp_path, hook=hook, epochs=3, batch_size=32)
    epochs, events = read_metrics(tmp_path / "run" / "metrics.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds[:8] == ["nan_skip"] * 5 + ["rollback", "lr_backoff", "nan_skip"]
    assert kinds.count("nan_skip") == 6 and kinds.count("rollback") == 1
    assert [e["step"] for e in events if e["event"] == "nan_skip"] == list(range(11, 17))
    assert epochs[0]["nan_batches"] == 6 and epochs[0]["total_batches"] == 57
    assert epochs[0]["nan_rate"] == pytest.approx(6 / 57) and 0 <= epochs[0]["nan_rate"] <= 1
    assert epochs[0]["valid_batch_pct"] == pytest.approx(100 * 51 / 57)
    assert [e["nan_rate"] for e in epochs[1:]] == [0.0, 0.0]
    assert epochs[-1]["lr_scale"] == 0.5
    assert epochs[-1]["lr"] == pytest.approx(0.5 * lr_at(170, 3e-3, 10, 171))  # backed off, schedule intact
    assert result.stop_reason == "completed" and result.summary["rollbacks"] == 1
    checkpoints_finite(tmp_path / "run")


def test_persistent_non_finite_steps_end_as_diverged(tmp_path):
    def hook(step, x):
        return torch.full_like(x, math.nan) if step >= 5 else x

    trainer, result = fit(tmp_path, hook=hook, epochs=5)
    assert result.stop_reason == "diverged" and result.exit_code == 1
    assert "diverged" in result.message and "--learning_rate" in result.message
    epochs, events = read_metrics(tmp_path / "run" / "metrics.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds.count("rollback") == 3 and kinds.count("lr_backoff") == 3 and kinds.count("diverged") == 1
    assert all(0.0 <= e["nan_rate"] <= 1.0 for e in epochs)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stop_reason"] == "diverged" and summary["rollbacks"] == 3
    assert summary["nan_rate_max"] <= 1.0 and math.isfinite(summary["test_log_loss"])
    checkpoints_finite(tmp_path / "run")


@pytest.mark.parametrize("adaptive", [False, True])
def test_learning_rate_10_without_clipping(tmp_path, adaptive):
    """Fault injection: lr 10, clipping off. Log-loss on logits never overflows, so the explosion is finite;
    the guard sees the training or validation loss explode, rolls back and backs off three times
    (10 -> 1.25 is still absurd) and stops as diverged (calibrated on seeds 1-5: always so)."""
    trainer, result = fit(tmp_path, learning_rate=10.0, gradient_clip_value=0.0, warmup_steps=0, epochs=6,
                          hidden_dims=(512, 256, 128, 64), adaptive_loss=adaptive)
    epochs, events = read_metrics(tmp_path / "run" / "metrics.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds == ["rollback", "lr_backoff"] * 3 + ["diverged"]
    assert "exceeds 10x the constant predictor" in events[0]["detail"]
    assert result.stop_reason == "diverged" and result.summary["stop_reason"] == "diverged"
    assert "--learning_rate" in result.message
    assert all(0.0 <= e["nan_rate"] <= 1.0 for e in epochs)
    checkpoints_finite(tmp_path / "run")


def test_fp16_grad_scaler_updates_on_every_step_skipped_or_not(tmp_path, monkeypatch):
    """Prior defect (item 39): after a skipped AMP step the scaler was never updated, and every later
    ``unscale_`` raised, so no update happened for the rest of training."""
    calls = []
    original = torch.amp.GradScaler.update

    def counting(self, *a, **k):
        calls.append(self.get_scale())
        return original(self, *a, **k)

    monkeypatch.setattr(torch.amp.GradScaler, "update", counting)
    weights = []

    def hook(step, x):
        if step in (3, 30):
            weights.append(trainer.model.head.weight.detach().clone())
        return torch.full_like(x, math.inf) if step == 4 else x

    cfg = config(tmp_path, use_mixed_precision=True, amp_dtype="fp16", epochs=2)
    trainer = Trainer(cfg, make_data(), tmp_path / "run", batch_hook=hook, console=False)
    result = trainer.fit()
    epochs, events = read_metrics(tmp_path / "run" / "metrics.jsonl")
    total = sum(e["total_batches"] for e in epochs)
    assert len(calls) == total == 58
    assert epochs[0]["nan_batches"] == 1
    assert [e["event"] for e in events].count("nan_skip") == 1
    assert not torch.equal(weights[0], weights[1])  # updates continue after the skipped step
    assert epochs[1]["valid_batch_pct"] == pytest.approx(100 * (29 - epochs[1]["scaler_skips"]) / 29)
    assert result.summary["mixed_precision"] == "float16"
    assert json.loads((tmp_path / "run" / "config.json").read_text())["resolved"]["grad_scaler"] is True


def test_bf16_mixed_precision_on_cpu(tmp_path):
    _, result = fit(tmp_path, use_mixed_precision=True)
    assert result.summary["mixed_precision"] == "bfloat16"
    assert result.summary["nan_rate_max"] == 0 and result.summary["valid_batch_pct_min"] == 100
    assert result.summary["test_accuracy"] > result.summary["test_majority_baseline"]


def test_large_finite_gradients_are_clipped_never_dropped(tmp_path):
    """Prior defect (item 41): every batch with a gradient norm above a hard-coded 10 was discarded."""
    def big(step, x):
        return x * 300.0 if step % 2 else x

    _, off = fit(tmp_path / "a", hook=big, gradient_clip_value=0.0, epochs=1)
    epochs, _ = read_metrics(tmp_path / "a" / "run" / "metrics.jsonl")
    assert epochs[0]["grad_norm_max"] > 15 and epochs[0]["valid_batch_pct"] == 100 and epochs[0]["clipped_pct"] == 0
    _, on = fit(tmp_path / "b", hook=big, gradient_clip_value=15.0, epochs=1)
    epochs, _ = read_metrics(tmp_path / "b" / "run" / "metrics.jsonl")
    assert epochs[0]["valid_batch_pct"] == 100 and 0 < epochs[0]["clipped_pct"] < 100


def test_warmup_counts_every_attempted_step(tmp_path):
    """Prior defect (item 42): warmup advanced only on successful steps."""
    def hook(step, x):
        return torch.full_like(x, math.inf) if step < 4 else x

    _, result = fit(tmp_path, hook=hook, epochs=1, warmup_steps=1000)
    epochs, _ = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert epochs[0]["nan_batches"] == 4 and epochs[0]["step"] == 29
    assert epochs[0]["lr"] == pytest.approx(3e-3 * 29 / 1000)  # step 28 of the warmup, skips included


def test_early_stopping_uses_min_delta_and_restores_the_best_weights(tmp_path):
    """Prior defect (item 43): no min-delta, best weights never restored."""
    data = make_data()
    trainer, result = fit(tmp_path, data, epochs=10, early_stopping_patience=2, min_delta=10.0)
    assert result.stop_reason == "early_stop" and result.summary["epochs_completed"] == 3
    assert result.summary["best_epoch"] == 1
    run = tmp_path / "run"
    _, events = read_metrics(run / "metrics.jsonl")
    assert [e["event"] for e in events][-2:] == ["early_stop", "restore_best"]
    best, last = load_checkpoint(run / "best.pt"), load_checkpoint(run / "last.pt")
    assert best["epoch"] == 1 and last["epoch"] == 3
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in best["model"].items())
    assert not all(torch.equal(best["model"][k], v) for k, v in last["model"].items())


def test_non_finite_inputs_are_refused_before_training_naming_the_feature(tmp_path):
    data = make_data()
    data.X_val[7, 4] = np.inf
    with pytest.raises(DataError, match=r"column 'f4'.*validation|column 'f4'.*val part"):
        Trainer(config(tmp_path), data, tmp_path / "run", console=False).fit()
    assert not (tmp_path / "run").exists()


def test_same_seed_same_run_other_seed_other_run(tmp_path):
    a, _ = fit(tmp_path / "a", epochs=2)
    b, _ = fit(tmp_path / "b", epochs=2)
    c, _ = fit(tmp_path / "c", epochs=2, seed=4)
    sa, sb, sc = (m.model.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


class Killed(Exception):
    pass


def test_resume_repeats_the_uninterrupted_run_exactly(tmp_path):
    data = make_data()
    full, _ = fit(tmp_path / "full", data, epochs=4)

    def crash(step, x):
        if step == 70:  # inside epoch 3 (29 steps per epoch)
            raise Killed
        return x

    cfg = config(tmp_path / "part", epochs=4)
    with pytest.raises(Killed):
        Trainer(cfg, data, Path(cfg.output_dir), batch_hook=crash, console=False).fit()
    assert load_checkpoint(Path(cfg.output_dir) / "last.pt")["epoch"] == 2
    resumed = Trainer(cfg.replace(resume=True), data, Path(cfg.output_dir), console=False)
    result = resumed.fit()
    assert result.stop_reason == "completed"
    sa, sb = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    epochs, events = read_metrics(Path(cfg.output_dir) / "metrics.jsonl")
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4]
    assert "resume" in [e["event"] for e in events]


def test_log_file_is_written_even_when_the_root_logger_is_configured(tmp_path):
    """Prior defect (item 44): the trainer's basicConfig was a no-op, its log files stayed empty, and
    --verbose did nothing."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    logging.basicConfig(level=logging.ERROR, force=True)
    try:
        fit(tmp_path / "quiet", epochs=1)
        fit(tmp_path / "loud", epochs=1, verbose=True)
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    quiet = next((tmp_path / "quiet" / "run").glob("*.log")).read_text()
    loud = next((tmp_path / "loud" / "run").glob("*.log")).read_text()
    assert "epoch 1/1" in quiet and "DEBUG" not in quiet
    assert "epoch 1/1" in loud and "DEBUG" in loud


def test_rank_target_trains_a_regression_head(tmp_path):
    rng = np.random.default_rng(1)
    base = make_data()
    ranks = {p: rng.random(len(getattr(base, f"y_{p}"))).astype(np.float32) for p in ("train", "val", "test")}
    data = TrainData(base.X_train, ranks["train"], base.X_val, ranks["val"], base.X_test, ranks["test"],
                     base.feature_names, target="rank", up_train=base.y_train, up_val=base.y_val,
                     up_test=base.y_test, t_test=base.t_test, decision_threshold=0.5)
    _, result = fit(tmp_path, data, epochs=2)
    assert result.summary["target"] == "rank" and result.summary["test_log_loss"] is None
    assert 0 < result.summary["test_mse"] < 1
    preds = pd.read_parquet(tmp_path / "run" / "predictions_test.parquet")
    assert {"prediction", "rank", "prob"} <= set(preds.columns)


def test_single_process_never_wraps_the_model():
    """Prior defect (item 46): nn.DataParallel on a tiny MLP. One process trains the bare module; several
    processes use DistributedDataParallel (tests/test_train_ddp.py)."""
    import futures_vpoc.ml as ml

    for path in Path(ml.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "nn.DataParallel" not in text and re.search(r"(?<!Distributed)DataParallel\(", text) is None
