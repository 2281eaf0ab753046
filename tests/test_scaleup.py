"""Issue 6, acceptance 3: ``scale-up`` climbs the ladder, writes its table, and stops at a failed gate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from futures_vpoc.cli import build_parser, main
from futures_vpoc.errors import FuturesVpocError, UsageError
from futures_vpoc.ml.scaleup import (LADDER, arch_name, improvement_reason, parse_ladder, run_scaleup,
                                     stability_reasons, write_scaleup_report)

SMALL = ["--epochs", "2", "--batch_size", "512", "--threads", "1", "--features", "price", "volume"]


def _subparsers(parser):
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def full_parser():
    """The real parser, with scale-up and ensemble added when ``futures_vpoc.cli`` does not register them yet."""
    from futures_vpoc.cli.scaleup import add_ensemble_parser, add_scaleup_parser

    parser = build_parser()
    sub = _subparsers(parser)
    if "scale-up" not in sub.choices:
        add_scaleup_parser(sub)
    if "ensemble" not in sub.choices:
        add_ensemble_parser(sub)
    return parser


def run_cli(argv: list[str]) -> int:
    """``futures-vpoc ARGV`` through ``cli.main`` once wired, else through the same parser and handler."""
    from futures_vpoc.cli.scaleup import cmd_ensemble, cmd_scaleup

    if argv[0] in _subparsers(build_parser()).choices:
        return main(argv)
    args = full_parser().parse_args(argv)
    args.argv = list(argv)
    try:
        return {"scale-up": cmd_scaleup, "ensemble": cmd_ensemble}[argv[0]](args)
    except FuturesVpocError as exc:
        return exc.exit_code


@pytest.fixture(scope="module")
def bars():
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    frame, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-27", seed=11, signal=5))
    return frame


@pytest.fixture(scope="module")
def data_file(bars, tmp_path_factory) -> Path:
    from futures_vpoc.data.barframe import write_merged

    path = tmp_path_factory.mktemp("scaleup_data") / "synth.csv"
    write_merged(bars, path)
    return path


@pytest.fixture(scope="module")
def train_data(bars):
    from futures_vpoc.dataset import build_dataset
    from futures_vpoc.ml.inputs import TrainData

    return TrainData.from_dataset(build_dataset(bars, groups=["price"]))


def test_parse_ladder_default_and_spellings():
    assert parse_ladder(None) == LADDER
    assert parse_ladder(["64 32 16", "128-64-32", "256,128,64"]) == ((64, 32, 16), (128, 64, 32), (256, 128, 64))
    assert arch_name((512, 256, 128, 64)) == "512-256-128-64"
    with pytest.raises(UsageError, match="twice"):
        parse_ladder(["64 32", "64-32"])
    with pytest.raises(UsageError):
        parse_ladder(["64 x"])
    with pytest.raises(UsageError):
        parse_ladder(["0 4"])


def test_gates():
    ok = {"stop_reason": "completed", "nan_rate_max": 0.0, "valid_batch_pct_min": 100.0, "best_val_loss": 0.69}
    assert stability_reasons(ok) == []
    assert any("diverged" in r for r in stability_reasons({**ok, "stop_reason": "diverged"}))
    assert any("NaN" in r for r in stability_reasons({**ok, "nan_rate_max": 0.10}))
    assert any("valid batches" in r for r in stability_reasons({**ok, "valid_batch_pct_min": 89.9}))
    assert any("validation" in r for r in stability_reasons({**ok, "best_val_loss": None}))
    assert improvement_reason(0.69, None, 0.0) is None  # first rung
    assert improvement_reason(0.68, 0.69, 0.0) is None
    assert improvement_reason(0.69, 0.69, 0.0) is not None  # equal is not better
    assert improvement_reason(0.70, 0.69, 0.5) is None


def test_every_train_flag_is_accepted():
    sub = _subparsers(full_parser())
    train = {s for a in sub.choices["train"]._actions for s in a.option_strings}
    for name in ("scale-up", "ensemble"):
        flags = {s for a in sub.choices[name]._actions for s in a.option_strings}
        assert train <= flags, f"{name} lacks {sorted(train - flags)}"
    assert "--ladder" in {s for a in sub.choices["scale-up"]._actions for s in a.option_strings}
    assert "--groups" in {s for a in sub.choices["ensemble"]._actions for s in a.option_strings}


@pytest.mark.slow
def test_scaleup_climbs_the_default_ladder_and_writes_its_table(data_file, tmp_path):
    out = tmp_path / "scaleup"
    # val_tolerance 1: on two epochs of tiny data a larger net need not be better; this test is about climbing
    assert run_cli(["scale-up", "--data", str(data_file), "--output_dir", str(out), *SMALL,
                    "--val_tolerance", "1"]) == 0
    doc = json.loads((out / "scaleup.json").read_text())
    names = [arch_name(r) for r in LADDER]
    assert doc["ladder"] == names
    assert [r["architecture"] for r in doc["rungs"]] == names
    assert all(r["gate"] == "pass" for r in doc["rungs"]) and doc["stopped_at"] is None
    for r in doc["rungs"]:
        assert (Path(r["run_dir"]) / "summary.json").is_file() and (Path(r["run_dir"]) / "analysis.md").is_file()
        assert r["parameters"] > 0 and r["epochs"] == 2 and r["nan_rate_max"] < 0.1
        assert len(r["test_accuracy_ci95"]) == 2 and r["samples_per_second"] > 0
    params = [r["parameters"] for r in doc["rungs"]]
    assert params == sorted(params)
    by_val = min(doc["rungs"], key=lambda r: r["best_val_loss"])
    assert doc["winner"] == by_val["architecture"]  # by validation, never by test
    md = (out / "scaleup.md").read_text()
    for word in ("architecture", "parameters", "worst NaN rate", "best val loss", "test accuracy", "samples/s",
                 "gate", "Winner"):
        assert word in md
    assert all(n in md for n in names)


def _nan_hook(step, x):
    return x * float("nan")


@pytest.mark.slow
def test_a_failed_gate_stops_the_climb(train_data, tmp_path):
    from futures_vpoc.ml.config import TrainConfig

    config = TrainConfig(epochs=2, batch_size=512, threads=1, output_dir=str(tmp_path))
    ladder = [(8, 4), (16, 8), (32, 16)]
    result = run_scaleup(config, train_data, tmp_path, ladder, val_tolerance=1.0, console=False,
                         batch_hooks={1: _nan_hook})
    assert [r.arch for r in result.rungs] == ["8-4", "16-8"]
    assert result.rungs[0].passed and not result.rungs[1].passed
    assert any("NaN" in why or "diverged" in why for why in result.rungs[1].reasons)
    assert result.stopped_at == "16-8" and result.not_trained == ["32-16"]
    assert result.winner is result.rungs[0]
    assert not (tmp_path / "32-16").exists()
    write_scaleup_report(result)
    doc = json.loads((tmp_path / "scaleup.json").read_text())
    assert [r["gate"] for r in doc["rungs"]] == ["pass", "fail"] and doc["not_trained"] == ["32-16"]
    assert "Climbing stopped at 16-8" in (tmp_path / "scaleup.md").read_text()


@pytest.mark.slow
def test_no_improvement_stops_the_climb(train_data, tmp_path):
    """The validation gate, forced: the same rung twice (same seed, one thread: the same best validation
    loss) is no improvement, so the climb stops at the repeat and the third rung is never trained."""
    from futures_vpoc.ml.config import TrainConfig

    config = TrainConfig(epochs=2, batch_size=512, threads=1, output_dir=str(tmp_path))
    result = run_scaleup(config, train_data, tmp_path, [(8, 4), (8, 4), (16, 8)], console=False)
    first, second = (r.summary["best_val_loss"] for r in result.rungs)
    assert second == first
    assert result.rungs[0].passed and not result.rungs[1].passed
    assert any("not below the previous rung" in r for r in result.rungs[1].reasons)
    assert len(result.rungs) == 2 and result.not_trained == ["16-8"]
    assert result.rungs[1].run_dir.parent == tmp_path / "8-4"  # never overwrites the first rung's run


def test_scaleup_refuses_resume_and_bad_ladder(data_file, tmp_path):
    assert run_cli(["scale-up", "--data", str(data_file), "--output_dir", str(tmp_path / "o"), "--resume"]) == 2
    assert run_cli(["scale-up", "--data", str(data_file), "--output_dir", str(tmp_path / "o"),
                    "--ladder", "64 x"]) == 2
    assert not (tmp_path / "o").exists()
