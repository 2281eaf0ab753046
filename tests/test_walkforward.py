"""``futures-vpoc backtest --walk-forward`` (issue 7, acceptance 5): folds and an end-to-end synthetic year."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli.backtest import add_backtest_parser, cmd_backtest
from futures_vpoc.cli.walkforward import RUNS_DIR, cmd_walkforward, month_folds
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import UsageError


def _parse(argv):
    p = argparse.ArgumentParser()
    add_backtest_parser(p.add_subparsers(dest="command"))
    return p.parse_args(["backtest", *argv])


def _minutes(start, end):
    return pd.date_range(start, end, freq="1min", tz="UTC", inclusive="left")


def test_month_folds_expanding_purged_and_adjacent():
    stamps = _minutes("2023-01-01", "2023-12-31")
    purge = 5
    folds = month_folds(stamps, train_months=6, test_months=2, step_months=2, purge=purge)
    assert [f.test_from for f in folds] == [pd.Timestamp(f"2023-{m:02d}-01", tz="UTC") for m in (7, 9, 11)]
    for f in folds:
        assert f.train_start == 0 and f.test_start == f.train_end + purge  # expanding, purged
        assert stamps[f.test_start] >= stamps[f.train_end - 1] + pd.Timedelta(minutes=purge)
        assert f.test_until == stamps[f.test_end - 1]
    for a, b in zip(folds, folds[1:]):
        assert a.test_end == b.test_start  # step == test: adjacent slices, stitched without gaps
        assert b.train_end > a.train_end
    assert folds[-1].test_end == len(stamps)  # the last slice ends with the data (Nov + Dec)
    # defaults 12/3/3 on two years: four quarterly slices of the second year
    two = _minutes("2022-01-01", "2024-01-01")[::60]
    assert [f.test_from.month for f in month_folds(two, purge=1)] == [1, 4, 7, 10]
    gapped = month_folds(stamps, 6, 1, 2, purge=0)
    assert all(a.test_end < b.test_start for a, b in zip(gapped, gapped[1:]))


def test_month_folds_rolling_windows_keep_their_length():
    stamps = _minutes("2023-01-01", "2023-12-31")
    purge = 5
    rolling = month_folds(stamps, train_months=3, test_months=2, step_months=2, purge=purge, rolling=True)
    expanding = month_folds(stamps, train_months=3, test_months=2, step_months=2, purge=purge)
    assert [f.test_start for f in rolling] == [f.test_start for f in expanding]  # same slices
    for f in rolling:
        first = stamps[f.train_start]
        assert first == f.test_from - pd.DateOffset(months=3)  # three calendar months before the slice
        assert f.test_start == f.train_end + purge
    assert rolling[0].train_start == 0 and all(f.train_start > 0 for f in rolling[1:])
    assert all(b.train_start > a.train_start for a, b in zip(rolling, rolling[1:]))


def test_month_folds_refusals():
    stamps = _minutes("2023-01-01", "2023-03-01")
    with pytest.raises(UsageError, match="no walk-forward fold"):
        month_folds(stamps, 12, 3, 3, purge=5)
    with pytest.raises(UsageError, match="overlap"):
        month_folds(stamps, 1, 2, 1, purge=5)
    with pytest.raises(UsageError, match="wf_test_months"):
        month_folds(stamps, 1, 0, 1, purge=5)
    with pytest.raises(UsageError, match="purge"):
        month_folds(stamps, 1, 1, 1, purge=-1)


def test_walk_forward_needs_enough_data(tmp_path):
    bars, _ = synthesize(SynthConfig(start="2023-02-01", end="2023-02-28", seed=2))
    path = write_merged(bars, tmp_path / "bars.parquet")
    with pytest.raises(UsageError, match="no walk-forward fold"):
        cmd_walkforward(_parse(["--data", str(path), "--walk-forward", "--output_dir", str(tmp_path / "o")]))
    assert not (tmp_path / "o").exists()


def test_plain_backtest_still_needs_a_source(tmp_path):
    with pytest.raises(UsageError, match="--model RUN_DIR, --strategy NAME ... or --signals FILE"):
        cmd_backtest(_parse(["--data", "x.parquet", "--output_dir", str(tmp_path / "o")]))


@pytest.mark.slow
def test_walk_forward_synthetic_year_end_to_end(tmp_path, capsys):
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-12-29", seed=3))
    path = write_merged(bars, tmp_path / "year.parquet")
    out = tmp_path / "wf"
    rc = cmd_walkforward(_parse([
        "--data", str(path), "--walk-forward", "--output_dir", str(out), "--wf_train_months", "6",
        "--wf_test_months", "2", "--wf_step_months", "2", "--epochs", "1", "--hidden_dims", "16", "8",
        "--batch_size", "512", "--threads", "1", "--device", "cpu", "--n_random", "5"]))
    assert rc == 0
    for name in ("trades.csv", "equity.csv", "stats.json", "backtest.html", "walkforward.json"):
        assert (out / name).is_file(), name
    stats = json.loads((out / "stats.json").read_text())
    assert set(stats) == {"model", "vpoc_reversion", "vpoc_breakout", "buy_hold", "ma_cross", "random"}
    wf = json.loads((out / "walkforward.json").read_text())
    folds = wf["folds"]
    assert len(folds) == 3 and wf["purge_bars"] >= wf["horizon"] >= 1
    index = bars.index
    for rec in folds:
        run = out / RUNS_DIR / f"fold_{rec['fold']:02d}"
        assert (run / "best.pt").is_file() and rec["checkpoint"] == "best.pt"
        train_end = pd.Timestamp(rec["train_end"])
        test_start, test_end = pd.Timestamp(rec["test_start"]), pd.Timestamp(rec["test_end"])
        assert test_end > test_start
        # no model predicts a bar inside its own training window (nor the purge after it)
        first_allowed = index[index.get_loc(train_end) + 1 + rec["purge_bars"]]
        assert test_start >= first_allowed > train_end
        assert pd.Timestamp(rec["model_saw_until"]) <= train_end < test_start
        # the fold's own run: its inner train/val/test rows all lie in the training window
        inner = pd.read_parquet(run / "predictions_test.parquet")
        assert pd.to_datetime(inner["timestamp"], utc=True).max() <= train_end
        assert rec["n_predicted"] > 0
    for a, b in zip(folds, folds[1:]):
        assert pd.Timestamp(a["test_end"]) < pd.Timestamp(b["test_start"])
        assert pd.Timestamp(b["train_end"]) > pd.Timestamp(a["train_end"])  # expanding
    # every strategy traded only inside the stitched out-of-sample period
    trades = pd.read_csv(out / "trades.csv")
    entries = pd.to_datetime(trades["entry_time"], utc=True)
    assert (entries > pd.Timestamp(folds[0]["test_start"])).all()
    assert (trades["strategy"] == "model").any()
    eq = pd.read_csv(out / "equity.csv", index_col=0)
    assert pd.Timestamp(eq.index[0]) >= pd.Timestamp(folds[0]["test_start"]).tz_convert(None).normalize()
    text = capsys.readouterr().out
    assert text.count("fold ") >= 3 and "walkforward.json" in text
    # a second run into the same directory refuses to mix fold runs
    with pytest.raises(UsageError, match="already holds"):
        cmd_walkforward(_parse(["--data", str(path), "--walk-forward", "--output_dir", str(out)]))
    assert np.isfinite([s["net_pnl_usd"] for s in stats.values()]).all()



@pytest.mark.slow
def test_a_rolling_fold_computes_fitted_features_as_its_model_was_trained():
    """Issue 14: the slice's features came from fits on all the history, the training rows' from the
    rolling window alone; now a bar of both gets one value, and the old way is shown to differ."""
    from types import SimpleNamespace

    from futures_vpoc.cli.walkforward import WFFold, slice_features
    from futures_vpoc.data.synthetic import SynthConfig, synthesize
    from futures_vpoc.features import build_features

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-05-31", seed=5))
    start, end = int(np.searchsorted(bars.index, pd.Timestamp("2023-02-01", tz="UTC"))), len(bars)
    val_start = bars.index[start + (end - start) * 7 // 10]
    # A fold whose "test" rows are the last 300 training bars: they must get the training values.
    fold = WFFold(0, start, end, end - 300, end, bars.index[end - 300], bars.index[-1])
    cfg = SimpleNamespace(features=None, chunk_size=None)
    trained = build_features(bars.iloc[start:end], train_end=val_start).frame
    names = list(trained.columns)
    X, stamps = slice_features(bars, fold, cfg, val_start, names)
    np.testing.assert_array_equal(X, trained.loc[stamps, names].to_numpy(np.float64))
    old = build_features(bars.iloc[:end], train_end=val_start).frame.loc[stamps, names].to_numpy(np.float64)
    differs = [n for j, n in enumerate(names) if not np.array_equal(old[:, j], X[:, j], equal_nan=True)]
    assert differs, "no fitted feature depends on where the history starts; the test would prove nothing"
