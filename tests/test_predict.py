"""``futures-vpoc predict``: a trained model on bars it has not seen (issue 17).

One synthetic market, cut in two: the runs train on January-February 2023 and never see what
follows; the later file runs to 2023-04-14 (January-February only warm the features up), so the
bars predicted (from March 1) cross the ESH3 -> ESM3 roll, the March 12 daylight-saving change and
Good Friday. ``replay`` (one bar at a time) must equal ``predict`` there to 1e-9. The training
file is deleted before anything is predicted, so every prediction comes from the run directory.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from cli_run import run

pytestmark = pytest.mark.slow

SPLIT = pd.Timestamp("2023-03-01")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """``{"later": file, "train_file": deleted path, "run", "rung", "scaleup", "ensemble"}``."""
    from futures_vpoc.data.barframe import read_merged, write_merged

    root = tmp_path_factory.mktemp("predict")
    full = root / "later.parquet"
    assert run("data", "synth", "--out", full, "--start", "2023-01-02", "--end", "2023-04-14", "--seed", "11",
               "--signal", "0.3") == 0
    bars = read_merged(full)
    train_file = root / "train.parquet"
    write_merged(bars[bars["trade_date"] < SPLIT], train_file)
    flags = ["--data", train_file, "--epochs", "2", "--batch_size", "1024", "--hidden_dims", "16", "8"]
    out = {"later": full, "train_file": train_file, "root": root}
    assert run("train", *flags, "--output_dir", root / "run") == 0
    out["run"] = root / "run"
    assert run("scale-up", *flags[:-3], "--ladder", "8", "16 8", "--val_tolerance", "1",
               "--output_dir", root / "scaleup") == 0
    out["scaleup"] = root / "scaleup"
    out["rung"] = root / "scaleup" / "8"
    assert run("ensemble", *flags[:-3], "--groups", "price", "volume", "--output_dir", root / "ens") == 0
    out["ensemble"] = root / "ens"
    out["test_pred"] = pd.read_parquet(root / "run" / "predictions_test.parquet")
    train_file.unlink()  # everything below must come from the run directories
    return out


def predict(world, model, out, *extra) -> int:
    return run("predict", "--model", world[model], "--data", world["later"], "--out", out, *extra)


@pytest.mark.parametrize("model", ["run", "rung", "scaleup", "ensemble"])
def test_predict_then_evaluate_a_later_month(world, model, tmp_path, capsys):
    out = tmp_path / "pred.parquet"
    assert predict(world, model, out, "--start", "2023-03-01") == 0
    pred = pd.read_parquet(out)
    assert pred["timestamp"].min() >= pd.Timestamp("2023-03-01", tz="UTC")
    assert {"timestamp", "trade_date", "contract", "prob", "decision", "label", "in_training"} <= set(pred.columns)
    assert not pred["in_training"].any()
    has = pred["prob"].notna()
    assert has.mean() > 0.9  # two months of history before March: every feature is warm
    assert pred.loc[has, "prob"].between(0, 1).all()
    assert (pred.loc[~has, "decision"] == 0).all() and pred.loc[~has, "label"].isna().all()
    assert set(pred["decision"].unique()) <= {-1, 0, 1}
    capsys.readouterr()
    assert run("evaluate", "--predictions", out, "--n_boot", "200") == 0
    said = capsys.readouterr().out
    assert "rows scored" in said and "accuracy" in said and "in-sample" not in said


def test_test_period_predictions_equal_the_runs_own(world, tmp_path):
    """The same bars, the frozen fits and scaler: predict reproduces predictions_test.parquet."""
    from futures_vpoc.ml.bundle import load_bundle

    start = load_bundle(world["run"]).test_start
    out = tmp_path / "p.parquet"
    assert predict(world, "run", out, "--start", start.isoformat()) == 0
    pred = pd.read_parquet(out).set_index("timestamp")
    test = world["test_pred"].set_index("timestamp")
    test = test[test.index < SPLIT.tz_localize("UTC") - pd.Timedelta(hours=2)]  # labels known in both files
    both = pred.loc[test.index]
    assert len(both) == len(test) > 1000
    np.testing.assert_allclose(both["prob"], test["prob"], atol=1e-6, rtol=0)  # float64 vs float32 network
    np.testing.assert_array_equal(both["decision"], test["decision"])
    np.testing.assert_array_equal(both["label"].fillna(-1), test["label"].fillna(-1))


def test_ensemble_prob_is_the_weighted_mix_of_its_members(world, tmp_path):
    import json

    out = tmp_path / "e.parquet"
    assert predict(world, "ensemble", out, "--start", "2023-03-01") == 0
    pred = pd.read_parquet(out)
    weights = json.loads((world["ensemble"] / "ensemble.json").read_text())["weights"]
    mix = sum(w * pred[f"prob_{g}"] for g, w in weights.items() if w > 0)
    np.testing.assert_allclose(pred["prob"], mix, atol=1e-12)


def test_scaleup_folder_predicts_with_its_winner(world, tmp_path, capsys):
    import json

    winner = json.loads((world["scaleup"] / "scaleup.json").read_text())["winner"]
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert predict(world, "scaleup", a, "--start", "2023-03-01") == 0
    assert f"its winner {winner}" in capsys.readouterr().out
    world_rung = dict(world, winner=world["scaleup"] / winner)
    assert predict(world_rung, "winner", b, "--start", "2023-03-01") == 0
    pd.testing.assert_series_equal(pd.read_parquet(a)["prob"], pd.read_parquet(b)["prob"])


def test_training_period_is_refused_then_flagged(world, tmp_path, capsys):
    out = tmp_path / "o.parquet"
    assert predict(world, "run", out) == 2
    err = capsys.readouterr().err
    assert "training period" in err and "--allow-overlap" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert predict(world, "run", out, "--allow-overlap") == 0
    pred = pd.read_parquet(out)
    assert pred["in_training"].any() and not pred["in_training"].all()
    capsys.readouterr()
    assert run("evaluate", "--predictions", out, "--n_boot", "100") == 0
    assert "in-sample" in capsys.readouterr().out


def _bad(world, tmp_path, capsys, model=None, data=None, *extra) -> str:
    out = tmp_path / "bad.parquet"
    code = run("predict", "--model", model or world["run"], "--data", data or world["later"], "--out", out,
               "--start", "2023-03-01", *extra)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists() and not list(tmp_path.glob("*.tmp*"))
    return err


def test_bad_run_directories(world, tmp_path, capsys):
    assert "no model.npz" in _bad(world, tmp_path, capsys, model=tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(world["run"], broken)
    whole = (broken / "model.npz").read_bytes()
    (broken / "model.npz").write_bytes(whole[: len(whole) // 2])  # truncated
    assert "not a readable model file" in _bad(world, tmp_path, capsys, model=broken)
    (broken / "model.npz").write_bytes(b"not a model")
    assert "not a readable model file" in _bad(world, tmp_path, capsys, model=broken)
    (broken / "model.npz").unlink()  # best.pt alone (a run of an older version): retrain
    assert "model.npz: file not found" in _bad(world, tmp_path, capsys, model=broken)
    assert "not a folder" in _bad(world, tmp_path, capsys, model=tmp_path / "nowhere")


def test_predict_needs_no_torch(world, tmp_path):
    """model.npz is read by numpy: predict imports neither torch nor scipy.stats (start-up time)."""
    import subprocess
    import sys

    code = ("import sys\nfrom futures_vpoc.cli.main import main\n"
            f"rc = main(['predict', '--model', {str(world['run'])!r}, '--data', {str(world['later'])!r}, "
            f"'--out', {str(tmp_path / 'p.parquet')!r}, '--start', '2023-03-01'])\n"
            "print('HEAVY=' + ','.join(m for m in ('torch', 'scipy.stats') if m in sys.modules), rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY= 0"


def test_bad_files(world, tmp_path, capsys):
    from futures_vpoc.data.barframe import read_merged, write_merged

    bars = read_merged(world["later"])
    five = bars.resample("5min", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum", "contract": "first",
         "trade_date": "first", "rth": "first", "vix": "last"}).dropna(subset=["open"])
    write_merged(five, tmp_path / "five.parquet")
    assert "5-minute" in _bad(world, tmp_path, capsys, data=tmp_path / "five.parquet")
    nq = bars.assign(contract=bars["contract"].str.replace("ES", "NQ"))
    write_merged(nq, tmp_path / "nq.parquet")
    assert "contract root NQ" in _bad(world, tmp_path, capsys, data=tmp_path / "nq.parquet")
    novix = bars.assign(vix=np.nan)
    write_merged(novix, tmp_path / "novix.parquet")
    assert "vix" in _bad(world, tmp_path, capsys, data=tmp_path / "novix.parquet")
    short = bars[bars["trade_date"] >= pd.Timestamp("2023-03-01")]
    write_merged(short, tmp_path / "short.parquet")
    assert "warm-up" in _bad(world, tmp_path, capsys, data=tmp_path / "short.parquet")
    assert "file not found" in _bad(world, tmp_path, capsys, data=tmp_path / "missing.parquet")


def test_backtest_of_a_later_file_is_out_of_time(world, tmp_path, capsys):
    out = tmp_path / "bt"
    assert run("backtest", "--model", world["run"], "--data", world["later"], "--output_dir", out,
               "--n_random", "5") == 0
    said = capsys.readouterr().out
    assert "out-of-time test" in said and "lies after it" in said
    page = (out / "backtest.html").read_text()
    assert "out-of-time test" in page
    trades = pd.read_csv(out / "trades.csv", parse_dates=["entry_time"])
    model = trades[trades["strategy"] == "model"]
    from futures_vpoc.ml.bundle import load_bundle

    assert len(model) and (pd.to_datetime(model["entry_time"], utc=True) > load_bundle(world["run"]).test_start).all()


def replay(world, model, out, *extra) -> int:
    return run("replay", "--model", world[model], "--data", world["later"], "--out", out, *extra)


@pytest.mark.parametrize("model", ["run", "ensemble"])
def test_replay_equals_predict_across_a_roll_dst_and_a_holiday(world, model, tmp_path):
    a, b = tmp_path / "predict.parquet", tmp_path / "replay.parquet"
    assert predict(world, model, a, "--start", "2023-03-01") == 0
    assert replay(world, model, b, "--start", "2023-03-01") == 0
    p, r = pd.read_parquet(a), pd.read_parquet(b)
    assert len(p) >= 20_000 and p["prob"].notna().sum() >= 20_000
    assert p["contract"].nunique() == 2  # ESH3 then ESM3
    stamps = pd.DatetimeIndex(p["timestamp"])
    assert stamps.min() < pd.Timestamp("2023-03-12 08:00", tz="UTC") < pd.Timestamp("2023-04-10", tz="UTC") < stamps.max()
    friday = int((pd.DatetimeIndex(p["trade_date"]) == pd.Timestamp("2023-04-07")).sum())
    assert 0 < friday < 1000  # Good Friday 2023: CME's holiday session closed early (10:15 CT)
    np.testing.assert_array_equal(p["prob"].isna(), r["prob"].isna())
    assert np.nanmax(np.abs(p["prob"] - r["prob"])) <= 1e-9
    pd.testing.assert_frame_equal(p.drop(columns=[c for c in p if c.startswith("prob") or c == "logit"]),
                                  r.drop(columns=[c for c in r if c.startswith("prob") or c == "logit"]))


def test_replay_equals_predict_on_the_real_sample(world, tmp_path):
    """The real ES minute days (2013, a roll, gaps) through a model trained on the synthetic market."""
    sample = tmp_path / "es.csv"
    assert run("data", "sample", "es-minute", "--out", sample) == 0
    a, b = tmp_path / "p.parquet", tmp_path / "r.parquet"
    assert run("predict", "--model", world["run"], "--data", sample, "--out", a) == 0
    assert run("replay", "--model", world["run"], "--data", sample, "--out", b) == 0
    p, r = pd.read_parquet(a), pd.read_parquet(b)
    assert len(p) > 15_000 and p["prob"].notna().sum() > 2_000 and p["contract"].nunique() == 2
    np.testing.assert_array_equal(p["prob"].isna(), r["prob"].isna())
    assert np.nanmax(np.abs(p["prob"] - r["prob"])) <= 1e-9


def test_replay_prints_each_prediction_and_refuses_what_predict_refuses(world, tmp_path, capsys):
    from futures_vpoc.data.barframe import read_merged, write_merged

    bars = read_merged(world["later"])
    week = bars[bars.index < pd.Timestamp("2023-03-03", tz="UTC")]
    f = tmp_path / "week.parquet"
    write_merged(week, f)
    capsys.readouterr()
    assert run("replay", "--model", world["run"], "--data", f, "--start", "2023-03-01") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "timestamp,contract,prob,decision"
    rows = [x for x in lines[1:] if x.startswith("2023-03-0")]
    assert len(rows) == int((week.index >= pd.Timestamp("2023-03-01", tz="UTC")).sum())
    assert run("replay", "--model", world["run"], "--data", f) == 2
    assert "training period" in capsys.readouterr().err
