"""Issue 16: real minute data through the whole chain, nothing dropped silently, nothing crashes.

A feature with a warm-up longer than a short file (VIX percentile over 252 sessions, at least 20)
is dropped with its reason instead of deleting most rows; a file too short for its split stops
before any feature is built; an ensemble member without usable rows is skipped, not a crash.
"""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from futures_vpoc.cli.main import main
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.dataset import MIN_FEATURE_COVERAGE, SplitSpec, build_dataset, min_sessions, require_sessions
from futures_vpoc.dataset.availability import choose_features, kept_and_dropped
from futures_vpoc.errors import UsageError

QUICK = ["--epochs", "1", "--batch_size", "512", "--hidden_dims", "8", "--warmup_steps", "5", "--threads", "1",
         "--no-baselines"]


@pytest.fixture(scope="module")
def three_weeks():
    bars, _ = synthesize(SynthConfig(start="2023-03-06", end="2023-03-24", seed=3))
    return bars


@pytest.fixture(scope="module")
def three_week_file(three_weeks, tmp_path_factory):
    path = tmp_path_factory.mktemp("short") / "three_weeks.csv"
    write_merged(three_weeks, path)
    return path


def test_a_long_warm_up_feature_is_dropped_and_the_rows_are_kept(three_weeks):
    assert three_weeks["trade_date"].nunique() == 15
    ds = build_dataset(three_weeks)
    kept, dropped = kept_and_dropped(ds.feature_report)
    assert kept == list(ds.feature_names) and set(kept).isdisjoint(dropped)
    assert dropped["vix_pct_252_sessions"].startswith("values on 0% of")
    assert f"needs {MIN_FEATURE_COVERAGE:.0%}" in dropped["vix_pct_252_sessions"]
    assert {"price_ret_1", "volume_surge_20", "vix_level"} <= set(kept) and len(kept) >= 40
    rows = ds.counts["n_train"] + ds.counts["n_val"] + ds.counts["n_test"]
    # without the rule a row needed vix_pct_252_sessions (20 sessions) and none of 15 sessions had it;
    # with it, the short-warm-up members (two sessions at most) are kept and cost their warm-up rows
    assert {"vix_change", "vix_z_sessions", "volume_rel_tod_sessions"} <= set(kept)
    assert rows >= 13_000 and rows > 0.6 * len(three_weeks)
    assert np.isfinite(ds.X_train).all() and ds.X_train.shape[1] == len(kept)


def test_the_rule_uses_the_training_span_only_and_names_the_warm_up():
    X = np.full((10, 3), 1.0)
    X[:5, 1] = np.nan  # missing on half the training span
    X[5:, 2] = np.nan  # missing outside the training span only
    span = np.arange(10) < 5
    specs = (SimpleNamespace(warmup=None), SimpleNamespace(warmup="252 sessions (at least 20)"),
             SimpleNamespace(warmup=None))
    keep, report = choose_features(X, ("a", "b", "c"), ~span | span, specs)
    assert keep.tolist() == [True, False, False]
    assert report["b"] == (f"values on 50% of 10 training rows (needs {MIN_FEATURE_COVERAGE:.0%}); "
                           "warm-up 252 sessions (at least 20)")
    keep, _ = choose_features(X, ("a", "b", "c"), np.arange(10) >= 5, specs)
    assert keep.tolist() == [True, True, False]  # validation values never decide
    with pytest.raises(UsageError, match="every feature would be dropped"):
        choose_features(X[:, 1:], ("b", "c"), np.ones(10, bool))


def test_min_sessions_counts_the_smallest_part_and_the_purge():
    split = SplitSpec()
    assert min_sessions(split, horizon=5, bars_per_session=1380) == 7 + 1  # minute bars: purge within a session
    assert min_sessions(split, horizon=5, bars_per_session=1) == 7 + 15  # daily bars: 2 purges + the tail
    assert min_sessions(SplitSpec(0.8, 0.1, 0.1), horizon=5, bars_per_session=1380) == 10 + 1


def test_a_short_file_is_refused_before_features(three_weeks):
    first = three_weeks["trade_date"].drop_duplicates().iloc[3]
    short = three_weeks[three_weeks["trade_date"] < first]
    with pytest.raises(UsageError, match=r"needs \u2265 8 sessions for train/validation/test; the file has 3$"):
        require_sessions(short, SplitSpec(), 5)
    assert require_sessions(three_weeks, SplitSpec(), 5) == 15


def test_train_writes_kept_and_dropped_features(three_week_file, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data", str(three_week_file), "--output_dir", str(out), *QUICK]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "vix_pct_252_sessions" in summary["features_dropped"]
    assert "vix_pct_252_sessions" not in summary["features_kept"] and len(summary["features_kept"]) >= 20
    config = json.loads((out / "config.json").read_text())
    assert config["input_features"]["names"] == summary["features_kept"]


def test_train_on_three_sessions_exits_2_with_one_line(three_weeks, tmp_path, capsys):
    first = three_weeks["trade_date"].drop_duplicates().iloc[3]
    path = tmp_path / "three_sessions.csv"
    write_merged(three_weeks[three_weeks["trade_date"] < first], path)
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--output_dir", str(out), *QUICK]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("needs \u2265 8 sessions for train/validation/test; the file has 3") and "\n" not in err
    assert not out.exists()
    assert main(["ensemble", "--data", str(path), "--output_dir", str(tmp_path / "ens"), *QUICK]) == 2
    assert main(["scale-up", "--data", str(path), "--output_dir", str(tmp_path / "up"), *QUICK,
                 "--ladder", "8", "16"]) == 2


def test_ensemble_skips_a_member_without_usable_rows(three_weeks, tmp_path, capsys):
    """Two weeks of a file without VIX: no vix feature has a value, so that member is skipped."""
    last = three_weeks["trade_date"].drop_duplicates().iloc[10]
    path = tmp_path / "two_weeks.csv"
    write_merged(three_weeks[three_weeks["trade_date"] < last].assign(vix=np.nan), path)
    out = tmp_path / "ens"
    quick = [a for a in QUICK if a != "--no-baselines"]
    assert main(["ensemble", "--data", str(path), "--output_dir", str(out), *quick,
                 "--groups", "price", "vix", "volatility"]) == 0
    assert "ensemble: member vix skipped: every feature would be dropped" in capsys.readouterr().out
    doc = json.loads((out / "ensemble.json").read_text())
    assert doc["groups"] == ["price", "volatility"] and set(doc["skipped_members"]) == {"vix"}
    for m in doc["members"]:
        assert m["features_kept"] and isinstance(m["features_dropped"], dict)
    assert "Skipped member vix" in (out / "ensemble.md").read_text()
    assert main(["ensemble", "--data", str(path), "--output_dir", str(tmp_path / "one"), *quick,
                 "--groups", "price", "vix"]) == 2
    assert not (tmp_path / "one").exists()
