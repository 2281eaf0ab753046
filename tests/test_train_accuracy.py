"""No signal in, no skill out; a planted signal is found (issue 5, acceptance 5), through ``train``.

Data: the synthetic market of ``data synth`` over 2023-01-02 .. 2023-03-31, seed 11 (about 87,500
one-minute bars; ~33,800 training and ~13,100 test rows after the warm-up), written as Parquet and
trained through the ``train`` command's own code path with a small model
(``--hidden_dims 32 16 --batch_size 256 --learning_rate 0.001 --epochs 3 --early_stopping_patience 2``).

Calibration (this span, training seeds 1-5 on data seed 11; data seeds 1-8 with training seed 1)
    ``--signal 0``: data seed 11 gave accuracy minus baseline within +-0.0015 for all five training
    seeds (interval half-width ~0.0086). Over data seeds 1-8 seven of eight lay inside; data seed 3
    lay 0.0008 *below* the interval (a model with no skill that is not the constant predictor can
    score below the majority baseline; below is never a leak).
    ``--signal 5`` (the leak canary's strength): p <= 3e-10 on every data seed 1-8.
"""

import json
import shlex

import pytest

from futures_vpoc.cli import Parser
from futures_vpoc.cli.train import add_train_parser, cmd_train
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize

pytestmark = pytest.mark.slow

SPAN = dict(start="2023-01-02", end="2023-03-31", seed=11)
FLAGS = ("--epochs 3 --batch_size 256 --learning_rate 0.001 --hidden_dims 32 16 --dropout_rate 0.1 "
         "--weight_decay 0.001 --warmup_steps 100 --early_stopping_patience 2 --seed 1")


def train(tmp_path, signal):
    bars, _ = synthesize(SynthConfig(**SPAN, signal=signal))
    data = tmp_path / f"synth_signal_{signal:g}.parquet"
    write_merged(bars, data)
    out = tmp_path / "run"
    top = Parser(prog="futures-vpoc", allow_abbrev=False)
    add_train_parser(top.add_subparsers(dest="command", required=True, parser_class=Parser))
    args = top.parse_args(["train", "--data", str(data), "--output_dir", str(out), *shlex.split(FLAGS)])
    assert cmd_train(args) == 0
    return json.loads((out / "summary.json").read_text())


def test_no_signal_no_skill(tmp_path):
    s = train(tmp_path, 0.0)
    assert s["n_test"] > 10_000 and s["nan_rate_max"] == 0
    # Nothing to find: not significantly above the majority class (session block bootstrap), and the
    # AUC's interval holds 0.5.
    assert s["test_statistics_method"] == "session block bootstrap"
    assert s["test_p_value"] > 0.05, s
    lo, hi = s["test_auc_ci95"]
    assert lo <= 0.5 <= hi, s


def test_planted_signal_beats_the_baseline(tmp_path):
    s = train(tmp_path, 5.0)
    assert s["test_accuracy"] > s["test_majority_baseline"] and s["test_p_value"] < 0.01, s
    assert s["test_auc"] > 0.55
