"""``futures-vpoc train``: the seed's flags verbatim, negations, errors, run directories that never overwrite.

The seed report's three commands are parsed exactly as written there (only ``--data``/``--output_dir``
differ). Runs here go through :func:`futures_vpoc.cli.train.cmd_train` in-process on about two months
of synthetic bars (the subprocess runs are in ``test_train_seed_commands.py``, ``test_train_resume.py``
and ``test_train_ddp.py``).
"""

import json
import os
import shlex

import numpy as np
import pytest

from futures_vpoc.cli import Parser
from futures_vpoc.cli.train import add_train_parser, cmd_train, config_from_args
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.ml.rundir import read_metrics

AMBITIOUS = """--data DATA/MERGED/merged_es_vix_test.csv --output_dir TRAINING/ENHANCED_AMBITIOUS --epochs 100
  --batch_size 64 --learning_rate 0.0002 --hidden_dims 512 256 128 64 --dropout_rate 0.15 --weight_decay 0.00005
  --warmup_steps 3000 --gradient_clip_value 2.0 --early_stopping_patience 30 --use_mixed_precision --data_fraction 1.0
  --chunk_size 75000 --adaptive_loss --verbose"""
CONSERVATIVE = """--data DATA/MERGED/merged_es_vix_test.csv --output_dir TRAINING/CONSERVATIVE_V1 --epochs 50
  --batch_size 32 --learning_rate 0.00005 --hidden_dims 64 32 16 --dropout_rate 0.3 --weight_decay 0.001
  --warmup_steps 5000 --gradient_clip_value 5.0 --early_stopping_patience 25 --use_mixed_precision --data_fraction 0.8
  --chunk_size 25000 --adaptive_loss --verbose"""


def parser():
    top = Parser(prog="futures-vpoc", allow_abbrev=False)
    add_train_parser(top.add_subparsers(dest="command", required=True, parser_class=Parser))
    return top


def parse(text):
    return parser().parse_args(["train", *shlex.split(text)])


def test_the_seed_commands_parse_verbatim():
    cfg, given = config_from_args(parse(AMBITIOUS))
    assert (cfg.epochs, cfg.batch_size, cfg.learning_rate, cfg.hidden_dims) == (100, 64, 2e-4, (512, 256, 128, 64))
    assert (cfg.dropout_rate, cfg.weight_decay, cfg.warmup_steps, cfg.gradient_clip_value) == (0.15, 5e-5, 3000, 2.0)
    assert (cfg.early_stopping_patience, cfg.data_fraction, cfg.chunk_size) == (30, 1.0, 75000)
    assert cfg.use_mixed_precision and cfg.adaptive_loss and cfg.verbose
    assert cfg.data == "DATA/MERGED/merged_es_vix_test.csv" and cfg.output_dir == "TRAINING/ENHANCED_AMBITIOUS"
    assert "seed" not in given and cfg.seed == 42
    cons, _ = config_from_args(parse(CONSERVATIVE))
    assert (cons.batch_size, cons.learning_rate, cons.hidden_dims, cons.data_fraction) == (32, 5e-5, (64, 32, 16), 0.8)


def test_every_boolean_flag_can_be_switched_off():
    """Prior defect (item 44): --adaptive_loss / --use_mixed_precision could not be disabled."""
    cfg, _ = config_from_args(parse(AMBITIOUS + " --no-adaptive_loss --no-use_mixed_precision --no-verbose"))
    assert not cfg.adaptive_loss and not cfg.use_mixed_precision and not cfg.verbose
    cfg, _ = config_from_args(parse("--data x --no-adaptive-loss --gradient-clip-value 0 --chunk_size 0"))
    assert not cfg.adaptive_loss and cfg.gradient_clip_value == 0.0 and cfg.chunk_size is None


def test_project_flags():
    cfg, _ = config_from_args(parse("--data x --seed 7 --target rank --horizon 10 --features price vix "
                                    "--device cpu --resume --tensorboard tb --min_delta 0.001"))
    assert (cfg.seed, cfg.target, cfg.horizon, cfg.features) == (7, "rank", 10, ("price", "vix"))
    assert (cfg.device, cfg.resume, cfg.tensorboard, cfg.min_delta) == ("cpu", True, "tb", 0.001)


def test_unknown_flag_suggests_the_closest(capsys):
    with pytest.raises(SystemExit) as exc:
        parse("--data x --learning_rat 0.1")
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--learning_rat (did you mean --learning_rate?)" in err


def test_help_documents_every_seed_flag(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    out = capsys.readouterr().out
    for flag in ("--data", "--output_dir", "--epochs", "--batch_size", "--learning_rate", "--hidden_dims",
                 "--dropout_rate", "--weight_decay", "--warmup_steps", "--gradient_clip_value",
                 "--early_stopping_patience", "--use_mixed_precision", "--data_fraction", "--chunk_size",
                 "--adaptive_loss", "--no-adaptive_loss", "--verbose", "--seed", "--target", "--horizon",
                 "--features", "--device", "--resume"):
        assert flag in out, flag
    assert "bf16" in out and "GradScaler" in out and "cosine" in out


@pytest.mark.parametrize("flags, match", [
    ("--epochs 0", "--epochs 0"), ("--learning_rate -1", "--learning_rate"), ("--dropout_rate 1", "--dropout_rate"),
    ("--data_fraction 1.5", "--data_fraction"), ("--device tpu", "--device"),
])
def test_bad_values_are_one_line_usage_errors(flags, match):
    with pytest.raises(UsageError, match=match):
        config_from_args(parse("--data x " + flags))


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-02-28", seed=3, signal=0.0))
    path = tmp_path_factory.mktemp("data") / "merged_es_vix_test.csv"
    write_merged(bars, path)
    return path


def run(text, capsys=None):
    code = cmd_train(parse(text))
    return code


QUICK = "--epochs 1 --batch_size 256 --hidden_dims 16 --warmup_steps 10 --learning_rate 0.001"


def test_a_second_run_never_overwrites_the_first(small_file, tmp_path, capsys):
    out = tmp_path / "TRAINING" / "RUN"
    assert run(f"--data {small_file} --output_dir {out} {QUICK}") == 0
    first = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {"config.json", "metrics.jsonl", "best.pt", "last.pt", "predictions_test.parquet",
            "summary.json"} <= set(first)
    assert run(f"--data {small_file} --output_dir {out} {QUICK}") == 0
    assert "already holds files; this run writes to" in capsys.readouterr().out
    subs = [p for p in out.iterdir() if p.is_dir()]
    assert len(subs) == 1 and subs[0].name.startswith("run_") and (subs[0] / "summary.json").exists()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == first
    cfg = json.loads((out / "config.json").read_text())
    assert len(cfg["data_sha256"]) == 64 and cfg["versions"]["futures_vpoc"] and cfg["resolved"]["device"] == "cpu"
    assert cfg["input_features"]["count"] > 10 and cfg["counts"]["n_train"] > 0


def test_the_summary_holds_the_label_shares_of_each_part(small_file, tmp_path, capsys):
    """Issue 14: up / flat / down shares per part in summary.json and in the printed summary."""
    out = tmp_path / "shares"
    assert run(f"--data {small_file} --output_dir {out} {QUICK}") == 0
    summary = json.loads((out / "summary.json").read_text())
    shares = summary["label_shares"]
    assert summary["target"] == "direction" and set(shares) == {"train", "val", "test"}
    for part in ("train", "val", "test"):
        s = shares[part]
        assert s["up"] + s["flat"] + s["down"] == pytest.approx(1.0) and s["flat"] > 0
        # direction trains and scores the up/down rows only: the part holds n minus the flat rows
        assert summary[f"n_{part}"] == s["n"] - round(s["flat"] * s["n"])
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if x.startswith("label shares up/flat/down:"))
    assert "flat horizons left out of training and scoring" in line and f"of {shares['test']['n']:,}" in line


def test_inf_injection_through_the_environment_hook(small_file, tmp_path, monkeypatch):
    monkeypatch.setenv("FUTURES_VPOC_TEST_INJECT_INF_STEP", "3:2")
    out = tmp_path / "inf"
    assert run(f"--data {small_file} --output_dir {out} {QUICK}") == 0
    epochs, events = read_metrics(out / "metrics.jsonl")
    assert epochs[0]["nan_batches"] == 2 and [e["step"] for e in events if e["event"] == "nan_skip"] == [4, 5]


def test_output_dir_that_is_a_file_is_refused(small_file, tmp_path):
    target = tmp_path / "occupied"
    target.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        run(f"--data {small_file} --output_dir {target} {QUICK}")


def test_resume_needs_a_run_directory(small_file, tmp_path):
    with pytest.raises(UsageError, match="holds no last.pt"):
        run(f"--data {small_file} --output_dir {tmp_path} --resume")


def test_missing_data_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        run(f"--data {tmp_path / 'nope.csv'} --output_dir {tmp_path / 'r'}")
    assert not (tmp_path / "r").exists()


def test_resume_a_finished_run_refuses_unless_epochs_grow(small_file, tmp_path):
    out = tmp_path / "done"
    assert run(f"--data {small_file} --output_dir {out} {QUICK}") == 0
    with pytest.raises(UsageError, match="already finished"):
        run(f"--output_dir {out} --resume")
    assert run(f"--output_dir {out} --resume --epochs 2 --learning_rate 0.5") == 0  # lr: ignored, reported
    epochs, events = read_metrics(out / "metrics.jsonl")
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert json.loads((out / "summary.json").read_text())["epochs_completed"] == 2


def test_tensorboard_without_the_package_is_skipped_with_a_note(small_file, tmp_path, capsys):
    pytest.importorskip("torch")
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard is installed here")
    except ImportError:
        pass
    out = tmp_path / "tb"
    assert run(f"--data {small_file} --output_dir {out} {QUICK} --tensorboard {tmp_path / 'tbdir'}") == 0
    assert "tensorboard package is not installed" in capsys.readouterr().out
    assert "tensorboard package is not installed" in next(out.glob("*.log")).read_text()


def test_cli_train_module_does_not_import_torch_at_import_time():
    import subprocess
    import sys

    code = "import sys, futures_vpoc.cli.train; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert out.stdout.strip() == "False", out.stderr


@pytest.fixture(scope="module")
def up_or_not_run(small_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("uon") / "run"
    assert run(f"--data {small_file} --output_dir {out} {QUICK} --target up_or_not") == 0
    return out


def test_up_or_not_trains_as_a_binary_target(up_or_not_run):
    """The old "up vs not up" target: log-loss on a logit, flat horizons kept as 0 (not up)."""
    import pandas as pd

    summary = json.loads((up_or_not_run / "summary.json").read_text())
    cfg = json.loads((up_or_not_run / "config.json").read_text())
    assert summary["target"] == "up_or_not" and cfg["resolved"]["loss"] == "log_loss"
    assert cfg["counts"]["dropped_flat"] == 0
    test = summary["label_shares"]["test"]
    assert summary["n_test"] == test["n"]  # every row with a known horizon is asked
    pred = pd.read_parquet(up_or_not_run / "predictions_test.parquet")
    assert "logit" in pred and set(pred["label"].unique()) == {0.0, 1.0}
    assert (pred.loc[pred["fwd_return"] == 0, "label"] == 0).all() and (pred["fwd_return"] == 0).any()


def test_up_or_not_is_scored_on_probabilities(up_or_not_run):
    import pandas as pd

    summary = json.loads((up_or_not_run / "summary.json").read_text())
    pred = pd.read_parquet(up_or_not_run / "predictions_test.parquet")
    assert summary["test_log_loss"] is not None
    np_prob = 1.0 / (1.0 + np.exp(-pred["logit"].to_numpy()))
    assert np.allclose(pred["prob"].to_numpy(), np_prob, atol=1e-6)


def test_evaluate_reproduces_the_summary_test_statistics_exactly(small_file, tmp_path, capsys):
    """Issue 14: the run's predictions file carries what `evaluate` needs; same function, same seed."""
    from futures_vpoc.cli import main

    out = tmp_path / "eval_run"
    assert run(f"--data {small_file} --output_dir {out} {QUICK}") == 0
    summary = json.loads((out / "summary.json").read_text())
    stats = summary["test_statistics"]
    assert stats["method"] == "session block bootstrap" and stats["block_length"] == 1
    assert 1 < stats["effective_n"] <= summary["n_test"] and stats["n"] == summary["n_test"]
    assert summary["test_accuracy_ci95"] == [stats["metrics"]["accuracy"]["ci_low"], stats["metrics"]["accuracy"]["ci_high"]]
    assert summary["test_p_value"] == stats["metrics"]["accuracy"]["p_value"]
    assert summary["test_accuracy"] == stats["metrics"]["accuracy"]["value"]
    got = tmp_path / "eval.json"
    assert main(["evaluate", "--predictions", str(out / "predictions_test.parquet"), "--json", str(got)]) == 0
    result = json.loads(got.read_text())
    assert result["metrics"] == stats["metrics"]
    for key in ("method", "block_length", "n_blocks", "effective_n", "majority_class", "base_rate"):
        assert result[key] == stats[key]
    assert "session block bootstrap" in capsys.readouterr().out


def test_flat_horizons_are_predicted_but_never_scored(small_file, tmp_path):
    """A backtest of the test predictions must not learn from a missing row that the price stays flat."""
    import pandas as pd

    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.labels import make_labels

    out = tmp_path / "flat_rows"
    assert run(f"--data {small_file} --output_dir {out} {QUICK}") == 0
    summary = json.loads((out / "summary.json").read_text())
    pred = pd.read_parquet(out / "predictions_test.parquet")
    unlabelled = pred["label"].isna()
    assert unlabelled.any() and int((~unlabelled).sum()) == summary["n_test"]
    assert pred["timestamp"].is_monotonic_increasing and pred["prob"].between(0, 1).all()
    assert (pred.loc[unlabelled, "fwd_return"] == 0).all()
    fwd = make_labels(read_merged(small_file)).frame["fwd_return"]
    stamps = pd.DatetimeIndex(pred["timestamp"])
    assert (fwd.reindex(stamps[unlabelled.to_numpy()]) == 0).all()
    assert (fwd.reindex(stamps[~unlabelled.to_numpy()]) != 0).all()
    shares = summary["label_shares"]["test"]
    assert len(pred) == shares["n"]  # every test row with a known horizon, flat ones included
