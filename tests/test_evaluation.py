"""Dependence-aware test statistics: exact point estimates, blocks, reproducibility and bad input.

Point estimates are checked against independent computations (numpy, scipy's Mann-Whitney U for the
AUC, a hand-worked expected calibration error); intervals and p-values against a simulated truth in
tests/test_evaluation_calibration.py.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from futures_vpoc.cli import main
from futures_vpoc.errors import UsageError
from futures_vpoc.evaluation import evaluate_predictions, session_blocks
from futures_vpoc.evaluation.pairs import concordance_matrix
from futures_vpoc.evaluation.predictions import write_metadata


def _data(n_sessions=30, bars=50, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    n = n_sessions * bars
    y = (rng.random(n) < 0.45).astype(float)
    prob = np.clip(0.45 + 0.1 * (y - 0.45) + 0.15 * rng.standard_normal(n), 0.0, 1.0)
    if ties:
        prob = np.round(prob, 1)
    dates = np.repeat(pd.bdate_range("2024-01-02", periods=n_sessions).to_numpy(), bars)
    return y, prob, dates


@pytest.mark.parametrize("ties", [False, True])
def test_point_estimates_equal_the_plain_formulas(ties):
    y, prob, dates = _data(ties=ties)
    m = evaluate_predictions(y, prob, dates, majority=0, base_rate=0.4, n_boot=200)["metrics"]
    pred = prob > 0.5
    assert m["accuracy"]["value"] == pytest.approx(np.mean(pred == (y == 1)), abs=1e-15)
    assert m["accuracy"]["baseline"] == pytest.approx(np.mean(y == 0), abs=1e-15)
    bal = 0.5 * (np.mean(pred[y == 1]) + np.mean(~pred[y == 0]))
    assert m["balanced_accuracy"]["value"] == pytest.approx(bal, abs=1e-12)
    u = mannwhitneyu(prob[y == 1], prob[y == 0]).statistic
    assert m["auc"]["value"] == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), abs=1e-12)
    p = np.clip(prob, 1e-15, 1 - 1e-15)
    assert m["log_loss"]["value"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-12)
    assert m["log_loss"]["baseline"] == pytest.approx(-np.mean(y * np.log(0.4) + (1 - y) * np.log(0.6)), rel=1e-12)
    assert m["brier"]["value"] == pytest.approx(np.mean((prob - y) ** 2), rel=1e-12)
    assert m["brier"]["baseline"] == pytest.approx(np.mean((0.4 - y) ** 2), rel=1e-12)


def test_ece_hand_worked():
    # Bins [0.1, 0.2) and [0.8, 0.9): gaps |0.15+0.15-0-1| = 0.7 and |0.85+0.85-1-1| = 0.3 over 4 rows.
    y = np.array([0, 1, 1, 1, 0, 1, 1, 1.0])
    prob = np.array([0.15, 0.15, 0.85, 0.85, 0.15, 0.15, 0.85, 0.85])
    dates = np.repeat(np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[ns]"), 4)
    m = evaluate_predictions(y, prob, dates, n_boot=100)["metrics"]
    assert m["ece"]["value"] == pytest.approx((0.7 + 0.3) * 2 / 8)


def test_concordance_matrix_counts_pairs_between_blocks():
    y = np.array([1, 0, 1, 0])
    score = np.array([0.9, 0.2, 0.5, 0.5])
    block = np.array([0, 0, 1, 1])
    c = concordance_matrix(y, score, block, 2)
    # Positive 0.9 (block 0) beats both negatives; positive 0.5 (block 1) beats 0.2 and ties 0.5.
    assert c.tolist() == [[1.0, 1.0], [1.0, 0.5]]


def test_same_seed_same_numbers_and_another_seed_differs():
    y, prob, dates = _data()
    a = evaluate_predictions(y, prob, dates, n_boot=300, seed=3)
    b = evaluate_predictions(y, prob, dates, n_boot=300, seed=3)
    c = evaluate_predictions(y, prob, dates, n_boot=300, seed=4)
    assert a == b
    assert a["metrics"]["accuracy"]["ci_low"] != c["metrics"]["accuracy"]["ci_low"]


def test_row_order_does_not_change_the_result():
    y, prob, dates = _data()
    order = np.random.default_rng(1).permutation(len(y))
    a = evaluate_predictions(y, prob, dates, n_boot=200)
    b = evaluate_predictions(y[order], prob[order], dates[order], n_boot=200)
    for name in ("accuracy", "auc", "brier"):
        assert a["metrics"][name]["ci_low"] == pytest.approx(b["metrics"][name]["ci_low"], abs=1e-12)


def test_a_strong_model_is_significant_and_a_coin_is_not():
    rng = np.random.default_rng(5)
    n_sessions, bars = 60, 100
    y = (rng.random(n_sessions * bars) < 0.5).astype(float)
    dates = np.repeat(pd.bdate_range("2024-01-02", periods=n_sessions).to_numpy(), bars)
    good = np.clip(0.5 + 0.3 * (y - 0.5) + 0.2 * rng.standard_normal(len(y)), 0, 1)
    coin = rng.random(len(y))
    strong = evaluate_predictions(y, good, dates, majority=1, base_rate=0.5)["metrics"]
    weak = evaluate_predictions(y, coin, dates, majority=1, base_rate=0.5)["metrics"]
    assert strong["accuracy"]["p_value"] < 1e-6 and strong["auc"]["p_value"] < 1e-6
    assert strong["log_loss"]["p_value"] < 1e-3
    assert weak["auc"]["p_value"] > 0.01
    assert strong["accuracy"]["ci_low"] < strong["accuracy"]["value"] < strong["accuracy"]["ci_high"]


def test_blocks_are_sessions_intraday_and_span_the_horizon_on_daily_bars():
    intraday = session_blocks(np.repeat(pd.bdate_range("2024-01-02", periods=10).to_numpy(), 3), horizon=5)
    assert (intraday.n_blocks, intraday.sessions_per_block) == (10, 1)
    daily = session_blocks(pd.bdate_range("2024-01-02", periods=100).to_numpy(), horizon=5)
    assert daily.one_row_per_session and daily.sessions_per_block == 5 and daily.n_blocks == 20
    many = session_blocks(pd.bdate_range("2000-01-03", periods=1200).to_numpy(), horizon=1, max_blocks=500)
    assert many.sessions_per_block == 3 and many.n_blocks == 400


@pytest.mark.parametrize("case, message", [
    ("one_session", "at least 2 sessions"),
    ("labels", "0 or 1"),
    ("prob", "within|in \\[0, 1\\]"),
    ("n_boot", "at least 100"),
])
def test_bad_input_is_refused(case, message):
    y, prob, dates = _data(n_sessions=3, bars=5)
    kwargs = {"n_boot": 200}
    if case == "one_session":
        dates = np.repeat(dates[:1], len(y))
    elif case == "labels":
        y = y + 2
    elif case == "prob":
        prob = prob + 2
    else:
        kwargs["n_boot"] = 10
    with pytest.raises(UsageError, match=message):
        evaluate_predictions(y, prob, dates, **kwargs)


def _file(tmp_path, frame, facts=None, name="preds.parquet"):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / name
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
        return path
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(write_metadata(table, facts) if facts else table, path)
    return path


def _frame(n_sessions=8, bars=20):
    y, prob, dates = _data(n_sessions=n_sessions, bars=bars)
    stamps = pd.DatetimeIndex(dates).tz_localize("UTC") + pd.to_timedelta(np.tile(np.arange(bars), n_sessions), "min")
    return pd.DataFrame({"timestamp": stamps, "trade_date": dates, "label": y, "prob": prob})


def test_evaluate_command_writes_the_function_result(tmp_path, capsys):
    frame = _frame()
    facts = {"horizon": 5, "majority_class": 0, "base_rate": 0.42, "threshold": 0.5, "probabilistic": True}
    path = _file(tmp_path, frame, facts)
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--predictions", str(path), "--json", str(out), "--n_boot", "300"]) == 0
    got = json.loads(out.read_text())
    want = evaluate_predictions(frame["label"], frame["prob"], frame["trade_date"], horizon=5, majority=0,
                                base_rate=0.42, n_boot=300)
    assert got["metrics"] == json.loads(json.dumps(want["metrics"]))
    assert got["method"] == "session block bootstrap" and got["block_length"] == 1 and got["horizon"] == 5
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "majority class" in printed and "effective n" in printed


def test_evaluate_command_reads_csv_and_skips_unlabelled_rows(tmp_path, capsys):
    frame = _frame()
    frame.loc[:9, "label"] = np.nan
    path = _file(tmp_path, frame, name="preds.csv")
    assert main(["evaluate", "--predictions", str(path), "--n_boot", "200"]) == 0
    printed = capsys.readouterr().out
    assert "150 rows scored, 10 without a label" in printed and "no training record" in printed


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop(columns="trade_date"), "no 'trade_date' column"),
    (lambda f: f.assign(prob=f["prob"] + 1.5), "within \\[0, 1\\]"),
    (lambda f: f.assign(label=f["label"] * 3), "0 or 1"),
    (lambda f: f.assign(trade_date=f["trade_date"].iloc[0]), "at least 2 sessions"),
])
def test_evaluate_command_bad_files_exit_2_with_one_line(tmp_path, capsys, change, message):
    path = _file(tmp_path, change(_frame()))
    assert main(["evaluate", "--predictions", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("futures-vpoc: error:")
    assert pd.Series([err]).str.contains(message).all()
