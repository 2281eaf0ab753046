"""Every root cause the analysis can name fires in a run that provokes it.

The healthy fixture run fires none; each provocation edits a copy of it the way a run with that
problem would have written it, and the cause must fire. The list of causes is read from the rules'
source, so a new rule without a provocation here fails the suite, and so does a rule that cannot fire.
``fp16_overflow`` is also provoked by a real fp16 training run on the CPU whose gradients overflow.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from scipy.special import expit

from futures_vpoc.diagnostics import causes
from futures_vpoc.diagnostics.analysis import analyze_run
from futures_vpoc.diagnostics.causes import find_causes
from futures_vpoc.diagnostics.rundata import read_run
from futures_vpoc.ml import TrainConfig, TrainData, Trainer

from test_diagnostics_support import copy_run, patch_json, read_records, write_records

PROVOKE = {}


def provokes(key: str):
    """Register the edit of a healthy run directory that provokes cause ``key``."""
    def register(edit):
        PROVOKE[key] = edit
        return edit
    return register


def _edit_records(run: Path, edit) -> None:
    records = read_records(run)
    for r in records:
        if "event" not in r:
            edit(r)
    write_records(run, records)


def _add_events(run: Path, *events: dict) -> None:
    write_records(run, read_records(run) + list(events))


@provokes("diverged")
def _diverged(run: Path) -> None:
    patch_json(run / "summary.json", stop_reason="diverged")
    _add_events(run, {"event": "rollback", "epoch": 40, "step": 250000, "detail": "3 NaN steps in a row"},
                {"event": "lr_backoff", "epoch": 40, "step": 250000, "detail": "learning-rate scale now 0.5"},
                {"event": "diverged", "epoch": 40, "step": 250010, "detail": "NaN persisted after 3 backoffs"})


@provokes("gradient_explosion")
def _explosion(run: Path) -> None:
    _edit_records(run, lambda r: r.update(grad_norm_max=5e3) if r["epoch"] == 25 else None)


@provokes("grad_above_clip")
def _above_clip(run: Path) -> None:
    _edit_records(run, lambda r: r.update(grad_norm_mean=3.0, clipped_pct=70.0))  # clip value 2.0


@provokes("nan_onset")
def _nan_onset(run: Path) -> None:
    _edit_records(run, lambda r: r.update(nan_batches=312, nan_rate=312 / 6250, valid_batch_pct=95.0)
                  if r["epoch"] >= 25 else None)


@provokes("nonfinite_inputs")
def _inputs(run: Path) -> None:
    _add_events(run, {"event": "nonfinite_input", "epoch": 1, "step": 5, "detail": "feature vix_change: inf in 3 rows"})


@provokes("fp16_overflow")
def _fp16(run: Path) -> None:
    """What the trainer writes under fp16: ``resolved.amp_dtype`` and each epoch's ``scaler_skips``
    (no event, no NaN batch); here 90 of epoch 3's 6250 steps were skipped."""
    patch_json(run / "config.json", drop=("precision",), resolved={"amp_dtype": "float16", "grad_scaler": True})
    _edit_records(run, lambda r: r.update(scaler_skips=90 if r["epoch"] == 3 else 0,
                                          valid_batch_pct=100 * (1 - 90 / 6250) if r["epoch"] == 3 else 100.0))


@provokes("train_val_gap")
def _gap(run: Path) -> None:
    records = read_records(run)
    best = next(r for r in records if r.get("epoch") == 20)
    for r in records:
        if "event" not in r and r["epoch"] > 20:
            r.update(val_loss=best["val_loss"] * (1 + 0.005 * (r["epoch"] - 20)),
                     train_loss=best["train_loss"] * (1 - 0.005 * (r["epoch"] - 20)))
    write_records(run, records)
    patch_json(run / "summary.json", best_epoch=20, best_val_loss=best["val_loss"])


@provokes("no_skill")
def _no_skill(run: Path) -> None:
    patch_json(run / "summary.json", test_accuracy=0.5040, test_accuracy_ci95=[0.4994, 0.5086], test_p_value=0.36)


@provokes("one_class")
def _one_class(run: Path) -> None:
    rng = np.random.default_rng(0)
    prob = 0.42 + 0.02 * rng.standard_normal(5000)  # every probability below 0.5
    label = (rng.random(5000) < prob).astype(float)
    pq.write_table(pa.table({"prob": prob, "label": label}), run / "predictions_test.parquet")


@provokes("flat_validation")
def _flat(run: Path) -> None:
    _edit_records(run, lambda r: r.update(val_loss=0.6931 - 1e-5 * r["epoch"]))


@provokes("stale")
def _stale(run: Path) -> None:
    records = read_records(run)
    best = next(r for r in records if r.get("epoch") == 32)
    for r in records:
        if "event" not in r and r["epoch"] > 32:
            r["val_loss"] = best["val_loss"] + 1e-4
    write_records(run, records)
    patch_json(run / "summary.json", best_epoch=32, best_val_loss=best["val_loss"])


def cause_keys_in_the_rules() -> set[str]:
    """Every key a rule of :mod:`futures_vpoc.diagnostics.causes` can return, read from its source."""
    return set(re.findall(r'\bCause\(\s*"(\w+)"', inspect.getsource(causes)))


def test_every_cause_the_rules_can_name_has_a_provocation():
    keys = cause_keys_in_the_rules()
    assert len(keys) == len(causes.RULES)  # one key per rule
    assert keys == set(PROVOKE)


def test_the_healthy_run_fires_no_cause():
    assert find_causes(read_run(Path(__file__).parent / "data" / "run_fixtures" / "healthy")) == ()


@pytest.mark.parametrize("key", sorted(PROVOKE))
def test_each_cause_fires_when_provoked(key, tmp_path):
    run = copy_run("healthy", tmp_path)
    PROVOKE[key](run)
    fired = {c.key: c for c in analyze_run(run).causes}
    assert key in fired, f"{key} did not fire; fired: {sorted(fired)}"
    assert fired[key].evidence


def test_fp16_overflow_reads_the_scaler_skips_and_nothing_else(tmp_path):
    """A share of skipped steps under FP16_SKIP_SHARE is the GradScaler settling its scale: no cause."""
    run = copy_run("healthy", tmp_path)
    _fp16(run)
    _edit_records(run, lambda r: r.update(scaler_skips=3 if r["epoch"] == 1 else 0))
    assert "fp16_overflow" not in {c.key for c in find_causes(read_run(run))}


def planted_data(n: int = 3000, d: int = 8, seed: int = 0) -> TrainData:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.random(n) < expit(X[:, 0] - 0.5 * X[:, 1])).astype(np.float32)
    t = pd.date_range("2024-01-02 14:30", periods=n, freq="1min", tz="UTC")
    a, b = int(0.6 * n), int(0.8 * n)
    return TrainData(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], [f"f{i}" for i in range(d)], t_train=t[:a],
                     t_val=t[a:b], t_test=t[b:], fwd_test=rng.normal(size=n - b) * 1e-3,
                     dataset_state={"scaler": {"type": "RobustScaler", "center": [0.0] * d}, "horizon": 5},
                     counts={"n_train": a})


def fp16_run(run_dir: Path, spikes: bool):
    """A real fp16 (GradScaler) run on the CPU; with ``spikes`` every third batch is scaled by 30, so its
    scaled gradients overflow half precision while its loss stays finite."""
    cfg = TrainConfig(output_dir=str(run_dir), epochs=2, batch_size=64, learning_rate=3e-3, hidden_dims=(32, 16),
                      dropout_rate=0.1, warmup_steps=10, gradient_clip_value=1.0, early_stopping_patience=10, seed=3,
                      use_mixed_precision=True, amp_dtype="fp16")
    hook = (lambda step, x: x * 30.0 if step % 3 == 1 else x) if spikes else None
    torch.manual_seed(0)
    return Trainer(cfg, planted_data(), run_dir, batch_hook=hook, console=False).fit()


def test_fp16_overflow_fires_on_a_real_fp16_run_whose_gradients_overflow(tmp_path):
    """The trainer records GradScaler skips only as ``scaler_skips`` (no event, no NaN batch): the rule
    that looked for scaler events or fp16 with NaN batches never saw them."""
    fp16_run(tmp_path / "spiky", spikes=True)
    run = read_run(tmp_path / "spiky")
    assert run.setting("precision") == "float16"
    assert np.nansum(run.metrics["scaler_skips"]) >= 2 and np.nansum(run.metrics["nan_batches"]) == 0
    assert not run.events_named("nan_skip")
    cause = next(c for c in analyze_run(tmp_path / "spiky").causes if c.key == "fp16_overflow")
    assert cause.severity == "warning"
    assert any("skipped by the GradScaler" in e for e in cause.evidence)

    fp16_run(tmp_path / "calm", spikes=False)  # the same run without the spikes: no overflow, no cause
    calm = read_run(tmp_path / "calm")
    assert np.nansum(calm.metrics["scaler_skips"]) == 0
    assert "fp16_overflow" not in {c.key for c in find_causes(calm)}
