"""Issue 19 (search): ``futures-vpoc tune``, an Optuna search on the validation period only.

The same seed and batch size give the same trials serially and in a process pool; poisoning the
test period (its labels, or the file's prices after the test start) changes no trial and only the
final test metrics; the trials never receive a test row and the test part is scored once; the
best command line reproduces the best configuration; bad input is a one-line error (exit 2); a
rerun resumes only the unfinished trial.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.ml.tune.trial import MedianRule

TINY = ["--epochs", "4", "--threads", "1", "--device", "cpu", "--features", "price", "--no-baselines",
        "--prune_warmup_epochs", "1"]
TRIAL_KEYS = ("number", "params", "state", "values", "best_val_loss", "best_epoch", "stop_reason")


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory) -> Path:
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-20", seed=11, signal=5))
    return write_merged(bars, tmp_path_factory.mktemp("tune") / "bars.parquet")


def _tune(data: Path, out: Path, *extra: str, trials: int = 8) -> int:
    from futures_vpoc.cli import main

    return main(["tune", "--data", str(data), "--output_dir", str(out), "--trials", str(trials), *TINY, *extra])


def _trials(out: Path) -> list[dict]:
    doc = json.loads((out / "tune.json").read_text())
    return [{k: r[k] for k in TRIAL_KEYS} for r in doc["trial_records"]]


@pytest.fixture(scope="module")
def serial_study(bars_file, tmp_path_factory) -> Path:
    """8 trials, serial, in batches of 2 (shared by the tests that only read it)."""
    out = tmp_path_factory.mktemp("serial") / "study"
    assert _tune(bars_file, out, "--batch-trials", "2") == 0
    return out


# ---------------------------------------------------------------------------- the pruning rule
def test_median_rule():
    rule = MedianRule(startup_trials=2, warmup_epochs=1)
    curves = [[0.70, 0.60, 0.50], [0.72, 0.64, 0.62]]
    assert not rule.prune(2, 0.65, curves[:1])  # too few completed trials
    assert not rule.prune(1, 9.0, curves)  # warm-up epoch
    assert rule.prune(2, 0.63, curves)  # median at epoch 2 is 0.62
    assert not rule.prune(2, 0.61, curves)
    assert not rule.prune(4, 9.0, curves)  # no completed trial reached epoch 4
    assert rule.prune(3, math.nan, curves)


def test_withheld_data_hold_no_test_row(bars_file):
    from futures_vpoc.cli.tune import load_data
    from futures_vpoc.ml.config import TrainConfig
    from futures_vpoc.ml.tune.trial import withhold_test

    data = load_data(TrainConfig(data=str(bars_file), features=("price",)))
    trial = withhold_test(data)
    assert np.array_equal(trial.X_test, data.X_val) and np.array_equal(trial.y_test, data.y_val)
    assert trial.t_test.equals(data.t_val) and trial.fwd_test is None and trial.X_test_unscored is None
    test_start = pd.Timestamp(data.dataset_state["boundaries"]["test_start"])
    for name in ("t_train", "t_val", "t_test"):
        assert (getattr(trial, name) < test_start).all(), name


# ---------------------------------------------------------------------------- the study
def test_serial_study_outputs(serial_study, bars_file):
    doc = json.loads((serial_study / "tune.json").read_text())
    trials = doc["trial_records"]
    assert [t["number"] for t in trials] == list(range(8))
    assert {t["state"] for t in trials} == {"complete", "pruned"}  # pruning happened, and not to all
    assert doc["searched"] == ["learning_rate", "hidden_dims", "dropout_rate", "weight_decay", "batch_size"]
    assert len({json.dumps(t["params"], sort_keys=True) for t in trials}) == 8
    for t in trials:
        assert sorted(t["params"]) == sorted(doc["searched"])
        run = serial_study / "trials" / f"trial_{t['number']:03d}"
        trial_summary = json.loads((run / "summary.json").read_text())
        # the stand-in test figures (validation rows) are removed, never shown as test figures
        assert trial_summary["test_accuracy"] is None and trial_summary["n_test"] == 0
        assert "withheld" in trial_summary["test_withheld"]
        assert not (run / "predictions_test.parquet").exists()
        assert len(t["values"]) == (4 if t["state"] == "complete" else len(t["values"]))
    done = [t for t in trials if t["state"] == "complete"]
    best = min(done, key=lambda t: t["best_val_loss"])
    assert doc["best"]["number"] == best["number"]
    # the retraining in best/ repeats the best trial: same validation loss, and a real test part
    summary = json.loads((serial_study / "best" / "summary.json").read_text())
    assert summary["best_val_loss"] == pytest.approx(best["best_val_loss"], abs=1e-12)
    assert doc["test"]["n_test"] == summary["n_test"] and doc["test_evaluations"] == 1
    md = (serial_study / "tune.md").read_text()
    assert "test evaluated once, after 8 trials" in md
    assert f"futures-vpoc backtest --data {bars_file} --model {serial_study / 'best'}" in md and "--trials 8" in md
    rows = (serial_study / "trials.csv").read_text().splitlines()
    assert len(rows) == 9 and rows[0].startswith("number,state,best_val_loss")


def test_best_command_reproduces_the_best_config(serial_study, bars_file):
    from futures_vpoc.cli.main import build_parser
    from futures_vpoc.ml.config import TrainConfig, config_from_namespace

    doc = json.loads((serial_study / "tune.json").read_text())
    words = shlex.split((serial_study / "best_command.txt").read_text())
    assert words[:2] == ["futures-vpoc", "train"]
    cfg, given = config_from_namespace(build_parser().parse_args(words[1:]))
    best = TrainConfig.from_dict(doc["best_config"])
    assert cfg.replace(output_dir="x") == best.replace(output_dir="x")
    assert cfg.data == str(bars_file) and set(doc["searched"]) <= given
    assert Path(cfg.output_dir) == serial_study / "retrain"


@pytest.mark.slow
def test_local_executor_gives_the_serial_trials(serial_study, bars_file, tmp_path):
    out = tmp_path / "local"
    assert _tune(bars_file, out, "--batch-trials", "2", "--executor", "local", "--workers", "2") == 0
    assert _trials(out) == _trials(serial_study)
    a = json.loads((out / "tune.json").read_text())
    b = json.loads((serial_study / "tune.json").read_text())
    assert a["best"] == b["best"] and a["best_command"].replace(str(out), "D") == \
        b["best_command"].replace(str(serial_study), "D")


@pytest.mark.slow
def test_ray_executor_gives_the_serial_trials(serial_study, bars_file, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    assert _tune(bars_file, out, "--batch-trials", "2", "--executor", "ray", "--workers", "2") == 0
    assert _trials(out) == _trials(serial_study)


def test_resume_runs_only_the_unfinished_trial(serial_study, bars_file, tmp_path, monkeypatch):
    from futures_vpoc.ml.tune import trial as trial_module

    out = tmp_path / "study"
    shutil.copytree(serial_study, out)
    # the copy's stored records name the original folders; only the markers matter for a resume
    (out / "trials" / "trial_005" / "done.json").unlink()
    ran = []
    real = trial_module.run_trial

    def counting(data, config, run_dir, curves, rule, number):
        ran.append(number)
        return real(data, config, run_dir, curves, rule, number)

    monkeypatch.setattr("futures_vpoc.ml.tune.study.run_trial", counting)
    best_mtime = (out / "best" / "summary.json").stat().st_mtime_ns
    assert _tune(bars_file, out, "--batch-trials", "2") == 0
    assert ran == [5]
    assert _trials(out) == _trials(serial_study)
    assert json.loads((out / "tune.json").read_text())["resumed_trials"] == \
        [f"trial_{k:03d}" for k in range(8) if k != 5]
    assert (out / "best" / "summary.json").stat().st_mtime_ns == best_mtime  # test part not scored again


# ---------------------------------------------------------------------------- the test period
def _spy_trainers(monkeypatch) -> list:
    """Record the test-part timestamps of every Trainer built (serial: all in this process)."""
    from futures_vpoc.ml.trainer import Trainer

    seen = []
    init = Trainer.__init__

    def spy(self, config, data, *args, **kwargs):
        seen.append((data.t_val, data.t_test))
        init(self, config, data, *args, **kwargs)

    monkeypatch.setattr(Trainer, "__init__", spy)
    return seen


def _mirror_after(bars: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Prices from ``start`` on mirrored around the last close before it (every return inverted)."""
    bars = bars.copy()
    after = bars.index >= start
    pivot = float(bars["close"][~after].iloc[-1])
    hi, lo = bars.loc[after, "high"].copy(), bars.loc[after, "low"].copy()
    for col in ("open", "close"):
        bars.loc[after, col] = 2 * pivot - bars.loc[after, col]
    bars.loc[after, "high"], bars.loc[after, "low"] = 2 * pivot - lo, 2 * pivot - hi
    return bars


def test_poisoned_test_period_changes_no_trial(bars_file, tmp_path, monkeypatch):
    from futures_vpoc.cli import tune as tune_cli
    from futures_vpoc.data.barframe import read_merged, write_merged

    seen = _spy_trainers(monkeypatch)
    clean = tmp_path / "clean"
    assert _tune(bars_file, clean, trials=4) == 0
    # every trial saw no test row; only the final retraining (the last Trainer) got the test part
    assert len(seen) == 5
    for t_val, t_test in seen[:-1]:
        assert t_test.equals(t_val)
    t_val, t_test = seen[-1]
    assert len(t_test) and t_test.min() > t_val.max()

    # poison 1: the test labels inverted (and their forward returns negated)
    load = tune_cli.load_data

    def poisoned(config):
        d = load(config)
        return replace(d, y_test=1 - d.y_test, up_test=1 - d.y_test, fwd_test=-np.asarray(d.fwd_test))

    monkeypatch.setattr(tune_cli, "load_data", poisoned)
    labels = tmp_path / "labels"
    assert _tune(bars_file, labels, trials=4) == 0
    monkeypatch.setattr(tune_cli, "load_data", load)

    # poison 2: the file's prices after the test start mirrored (every test label flips)
    test_start = _test_start(clean)
    bars = read_merged(bars_file)
    mirrored = write_merged(_mirror_after(bars, test_start), tmp_path / "mirrored.parquet")
    prices = tmp_path / "prices"
    assert _tune(mirrored, prices, trials=4) == 0

    base = _trials(clean)
    base_test = json.loads((clean / "tune.json").read_text())["test"]
    for out in (labels, prices):
        assert _trials(out) == base, out.name  # the search's choices and losses: unchanged
        test = json.loads((out / "tune.json").read_text())["test"]
        assert test["test_accuracy"] != pytest.approx(base_test["test_accuracy"], abs=1e-6), out.name
        assert test["test_log_loss"] != pytest.approx(base_test["test_log_loss"], abs=1e-6), out.name


def _test_start(out: Path) -> pd.Timestamp:
    """The test period's first bar start, from the best run's checkpoint."""
    from futures_vpoc.ml.checkpoint import load_checkpoint

    payload = load_checkpoint(out / "best" / "best.pt")
    return pd.Timestamp(payload["dataset"]["boundaries"]["test_start"])


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("argv, message", [
    (["--trials", "0"], "--trials 0"),
    ([], "--trials N is required"),
    (["--trials", "2", "--batch-trials", "0"], "--batch-trials 0"),
    (["--trials", "2", "--learning_rate", "1e-3", "--hidden_dims", "8", "--dropout_rate", "0", "--weight_decay", "0",
      "--batch_size", "64"], "nothing to search"),
    (["--trials", "2", "--resume"], "does not take --resume"),
])
def test_usage_errors_are_one_line(bars_file, tmp_path, capsys, argv, message):
    from futures_vpoc.cli import main

    out = tmp_path / "out"
    assert main(["tune", "--data", str(bars_file), "--output_dir", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_data_and_bad_executor(bars_file, tmp_path, capsys):
    from futures_vpoc.cli import main

    out = tmp_path / "out"
    assert main(["tune", "--output_dir", str(out), "--trials", "2"]) == 2
    assert "--data FILE is required" in capsys.readouterr().err
    assert main(["tune", "--data", str(tmp_path / "nope.parquet"), "--output_dir", str(out), "--trials", "2"]) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(["tune", "--data", str(tmp_path), "--output_dir", str(out), "--trials", "2"]) == 2
    assert "partition" in capsys.readouterr().err  # a folder is read as a bar dataset (whole)
    with pytest.raises(SystemExit) as exc:
        main(["tune", "--data", str(bars_file), "--output_dir", str(out), "--trials", "2", "--executor", "gpu"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--executor" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_optuna_missing_is_a_one_line_error(bars_file, tmp_path, capsys, monkeypatch):
    import sys

    from futures_vpoc.cli import main

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    out = tmp_path / "out"
    assert main(["tune", "--data", str(bars_file), "--output_dir", str(out), "--trials", "2"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'futures-vpoc[tune]'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_other_settings_into_a_study_folder_are_refused(serial_study, bars_file, capsys):
    before = sorted(p.name for p in serial_study.iterdir())
    assert _tune(bars_file, serial_study, "--batch-trials", "4") == 2
    err = capsys.readouterr().err
    assert "already holds" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in serial_study.iterdir()) == before
