"""Issue 6, acceptance 1 and 2 with REAL runs of the trainer (the fixtures in tests/data/run_fixtures cover the
same rules by hand): healthy, diverging, no-learning and overfitting runs are trained on small synthetic
markets and their generated reports must disagree the way the runs do."""

from pathlib import Path

import pytest

from futures_vpoc.cli import main
from futures_vpoc.report.write import write_analysis

pytestmark = pytest.mark.slow

BASE = ["--epochs", "4", "--hidden_dims", "32", "16", "--batch_size", "256", "--learning_rate", "0.001",
        "--warmup_steps", "50", "--early_stopping_patience", "10", "--threads", "1"]


@pytest.fixture(scope="module")
def markets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real_runs")
    out = {}
    for name, signal in (("signal0", "0"), ("signal5", "5")):
        out[name] = folder / f"{name}.parquet"
        assert main(["data", "synth", "--out", str(out[name]), "--start", "2023-01-02", "--end", "2023-03-31",
                     "--seed", "11", "--signal", signal]) == 0
    out["folder"] = folder
    return out


def train(markets, name, data, *flags):
    run = markets["folder"] / name
    code = main(["train", "--data", str(markets[data]), "--output_dir", str(run), *BASE, *flags])
    assert code in (0, 1)  # 1 = diverged, a complete run directory all the same
    return write_analysis(run)


@pytest.fixture(scope="module")
def reports(markets):
    return {
        "healthy": train(markets, "healthy", "signal5"),
        # As tests/test_ml_trainer.py's fault injection: lr 10, no warmup, no clipping, a wide net.
        "diverging": train(markets, "diverging", "signal0", "--learning_rate", "10", "--gradient_clip_value", "0",
                           "--warmup_steps", "0", "--hidden_dims", "512", "256", "128", "64", "--epochs", "6",
                           "--data_fraction", "0.4"),
        "no_learning": train(markets, "no_learning", "signal0"),
        "overfitting": train(markets, "overfitting", "signal0", "--hidden_dims", "512", "256", "--dropout_rate", "0",
                             "--weight_decay", "0", "--data_fraction", "0.25", "--epochs", "12",
                             "--early_stopping_patience", "4"),
    }


def keys(report):
    return {c.key for c in report.causes}


def test_healthy_real_run_is_ready_and_recommends_a_backtest(reports):
    r = reports["healthy"]
    assert r.ready, r.reason
    assert not any(p.kind in ("instability", "collapse") for p in r.phases)
    assert r.recommendations[0].command.split()[1] == "backtest"
    assert [c.passed for c in r.criteria if c.name == "NaN rate"] == [True]


def test_diverging_real_run_is_not_ready_and_recommends_a_conservative_run(reports):
    r = reports["diverging"]
    assert not r.ready
    assert "diverged" in keys(r) or "gradient_explosion" in keys(r)
    assert any(p.kind in ("instability", "collapse") for p in r.phases)
    first = r.recommendations[0].command
    assert first.split()[1] == "train" and "--learning_rate" in first


def test_no_learning_real_run_has_no_skill_and_recommends_scale_up_or_ensemble(reports):
    r = reports["no_learning"]
    assert not r.ready and "no_skill" in keys(r)
    assert r.recommendations[0].command.split()[1] in ("scale-up", "ensemble")


def test_overfitting_real_run_is_diagnosed(reports):
    r = reports["overfitting"]
    assert not r.ready
    assert "train_val_gap" in keys(r) or any(p.kind == "overfitting" for p in r.phases)


def test_the_four_real_reports_differ(reports):
    verdicts = {name: (r.ready, frozenset(keys(r)), r.recommendations[0].command.split()[1])
                for name, r in reports.items()}
    assert len(set(verdicts.values())) == 4, verdicts
    for name in reports:
        assert (Path(reports[name].run_dir) / "analysis.html").exists()


def test_the_report_reads_versions_and_inputs_from_config_sections(reports):
    """Issue 14: config.json nests versions, resolved settings and input_features; none is 'not recorded'."""
    import torch

    config = dict(reports["healthy"].model_config)
    assert torch.__version__ in config["Seed / versions"] and "not recorded" not in config["Seed / versions"]
    assert "input columns" in config["Target"]
    assert config["Optimizer"] == "AdamW" and "not recorded" not in config["Loss"]
    shares = dict(reports["healthy"].run_facts)["Label shares up / flat / down"]
    assert shares.startswith("train ") and "test " in shares and "left out of training and scoring" in shares


def test_the_quality_table_names_its_dependence_aware_method(reports):
    r = reports["healthy"]
    assert "session block bootstrap" in r.quality_note and "effective sample size" in r.quality_note
    names = [q.metric for q in r.quality]
    assert names[:3] == ["Accuracy", "Balanced accuracy", "AUC"] and "Calibration error (ECE)" in names
