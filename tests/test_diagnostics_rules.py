"""Single rules of phases, causes and recommendations, each on a fixture run edited to trigger it."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from futures_vpoc.diagnostics.analysis import analyze_run
from futures_vpoc.diagnostics.recommend import KNOWN_GROUPS
from futures_vpoc.features.spec import GROUPS

from test_diagnostics_support import check_command, copy_run, patch_json, read_records, write_records


def _argv_with(run_dir, flag, *values):
    config = json.loads((run_dir / "config.json").read_text())
    argv = config["argv"]
    i = argv.index(flag)
    j = i + 1
    while j < len(argv) and not argv[j].startswith("--"):
        j += 1
    argv[i:j] = [flag, *values]
    patch_json(run_dir / "config.json", argv=argv, **{flag[2:]: [int(v) if v.isdigit() else v for v in values]})


def test_fp16_overflow_with_nan_batches_gives_the_seed_conservative_run(tmp_path):
    run = copy_run("healthy", tmp_path)
    patch_json(run / "config.json", precision="fp16")
    records = read_records(run)
    for r in records[29:]:
        r.update(nan_batches=1250, nan_rate=0.2, valid_batch_pct=80.0)
    events = [{"event": "scaler_backoff", "epoch": e, "step": 6250 * e, "detail": {"scale": 2.0 ** -e}}
              for e in (30, 31, 32)]
    write_records(run, records + events)
    a = analyze_run(run)
    assert not a.ready and a.phase_kinds[-1] == "instability" and a.phases[-1].start == 30
    fp16 = next(c for c in a.causes if c.key == "fp16_overflow")
    assert fp16.severity == "critical" and any("3 GradScaler/overflow event(s) in epochs 30-32" in e
                                               for e in fp16.evidence)
    onset = next(c for c in a.causes if c.key == "nan_onset")
    assert onset.severity == "critical" and "epoch 30" in onset.conclusion
    rec = a.recommendations[0]
    assert rec.kind == "conservative" and "--use_mixed_precision" not in rec.argv
    changes = {c.flag: c.new for c in rec.changes}  # the seed's Strategy 1 figures, derived
    assert changes == {"--learning_rate": "0.00005", "--gradient_clip_value": "1.0",
                       "--use_mixed_precision": "off", "--hidden_dims": "64 32 16"}
    check_command(rec.argv)


def test_nonfinite_inputs_are_a_cause_and_the_next_run_says_check_the_data(tmp_path):
    run = copy_run("diverging", tmp_path)
    records = read_records(run)
    write_records(run, records + [{"event": "nonfinite_input", "epoch": 1, "step": 5,
                                   "detail": "feature vix_change: inf in 3 rows"}])
    a = analyze_run(run)
    cause = next(c for c in a.causes if c.key == "nonfinite_inputs")
    assert any("vix_change" in e for e in cause.evidence)
    assert "data check" in a.recommendations[0].reason


def test_nan_before_the_learning_rate_peak_points_at_inputs(tmp_path):
    run = copy_run("no_learning", tmp_path)
    records = read_records(run)
    for i, r in enumerate(r for r in records if "epoch" in r and "event" not in r):
        r["lr"] = 5e-5 * min(1.0, (i + 1) / 10)
    records[2].update(nan_batches=480, nan_rate=0.2, valid_batch_pct=80.0)
    write_records(run, records)
    a = analyze_run(run)
    onset = next(c for c in a.causes if c.key == "nan_onset")
    assert "epoch 3, before the learning rate peaked (epoch 10)" in onset.conclusion
    assert onset.severity == "critical"
    assert "instability" in a.phase_kinds


def test_gradient_above_the_clip_value_is_found_only_where_it_is():
    from test_diagnostics_support import RUNS

    over = analyze_run(RUNS / "overfitting")
    cause = next(c for c in over.causes if c.key == "grad_above_clip")
    assert "13 of 13 epochs" in cause.evidence[0] and "82% of steps clipped" in cause.evidence[1]
    assert "grad_above_clip" not in analyze_run(RUNS / "healthy").cause_keys


def test_one_class_predictions(tmp_path):
    run = copy_run("healthy", tmp_path)
    rng = np.random.default_rng(0)
    n = 2000
    pq.write_table(pa.table({"probability": 0.5 + rng.uniform(0.0, 0.02, n),
                             "label": (rng.uniform(size=n) < 0.5).astype(int)}),
                   run / "predictions_test.parquet")
    a = analyze_run(run)
    cause = next(c for c in a.causes if c.key == "one_class")
    assert cause.evidence[0].startswith("100.0% of 2,000 test probabilities above 0.5")
    assert not any("predictions_test.parquet" in n for n in a.notes)


def test_missing_skill_figures_mean_not_ready_and_say_why(tmp_path):
    run = copy_run("healthy", tmp_path)
    patch_json(run / "summary.json", drop=("test_p_value", "test_accuracy_ci95"))
    a = analyze_run(run)
    assert not a.ready and "lacks test_accuracy_ci95, test_p_value" in a.reason
    assert a.quality[0].verdict == "cannot judge" and a.quality[0].passed is None
    assert any("missing test_accuracy_ci95, test_p_value" in n for n in a.notes)


def test_a_run_that_ended_before_its_first_epoch(tmp_path):
    run = copy_run("diverging", tmp_path)
    write_records(run, [r for r in read_records(run) if "event" in r])
    a = analyze_run(run)
    assert not a.ready and a.phases == () and "no epoch recorded" in a.reason
    assert a.criteria[3].passed is False and a.recommendations[0].kind == "conservative"


def test_a_small_stable_skilled_run_gets_backtest_scale_up_and_ensemble(tmp_path):
    run = copy_run("healthy", tmp_path)
    _argv_with(run, "--hidden_dims", "64", "32", "16")
    a = analyze_run(run)
    assert a.ready and a.recommendation_kinds == ("backtest", "scale-up", "ensemble")
    up = a.recommendations[1]
    assert up.argv[up.argv.index("--ladder") + 1] == "64 32 16" and "--hidden_dims" not in up.argv
    assert a.recommendations[0].argv[a.recommendations[0].argv.index("--model") + 1] == str(run)
    for rec in a.recommendations:
        check_command(rec.argv)
        assert rec.argv[rec.argv.index("--output_dir") + 1].startswith("TRAINING/ENHANCED_AMBITIOUS_")


def test_feature_groups_of_the_run_become_the_ensemble_groups(tmp_path):
    run = copy_run("healthy", tmp_path)
    config = json.loads((run / "config.json").read_text())
    patch_json(run / "config.json", argv=config["argv"] + ["--features", "price", "vix", "profile"])
    ensemble = analyze_run(run).recommendations[-1]
    assert ensemble.argv[ensemble.argv.index("--groups") + 1:] == ("price", "vix", "profile")
    assert "--features" not in ensemble.argv
    assert set(KNOWN_GROUPS) == set(GROUPS)


def test_without_argv_the_command_is_rebuilt_from_the_settings(tmp_path):
    run = copy_run("diverging", tmp_path)
    patch_json(run / "config.json", drop=("argv",), output_dir="runs/lr10")
    a = analyze_run(run)
    assert not a.command_recorded
    assert a.command[:4] == ("futures-vpoc", "train", "--data", "DATA/MERGED/merged_es_vix_test.csv")
    assert "--adaptive_loss" in a.command and "--use_mixed_precision" not in a.command
    assert a.command[a.command.index("--hidden_dims") + 1: a.command.index("--hidden_dims") + 4] == ("64", "32", "16")
    for rec in a.recommendations:
        check_command(rec.argv)


def test_a_validation_loss_spike_is_instability_and_early_stop_comes_from_the_summary(tmp_path):
    run = copy_run("healthy", tmp_path)
    records = read_records(run)
    records[19]["val_loss"] = 0.9
    write_records(run, records)
    patch_json(run / "summary.json", stop_reason="early_stop")
    a = analyze_run(run)
    spike = next(p for p in a.phases if p.kind == "instability")
    assert (spike.start, spike.end) == (20, 20) and "jumped" in spike.description
    assert a.phase_kinds[-1] == "early stop"
    assert a.ready  # one recovered spike: the verdict rests on collapse, divergence, NaN rate and the last epoch
