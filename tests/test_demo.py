"""``futures-vpoc demo``: the whole chain, its folder rules, its console output and its closing table."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from futures_vpoc.cli import main
from futures_vpoc.cli.demo import prepare_folder
from futures_vpoc.cli.demo.runner import MARKER, _Tee, too_short
from futures_vpoc.errors import UsageError

STAGES = ("data", "profile", "exact-profile", "features", "train", "analyze", "backtest", "scale-up", "ensemble")


@pytest.fixture(scope="module")
def synthetic_demo(tmp_path_factory):
    """A two-month synthetic demo with one epoch per run (the default is a year and 8 epochs)."""
    out = tmp_path_factory.mktemp("runs") / "demo"
    buf = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(buf):
        status = main(["demo", "--output_dir", str(out), "--months", "2", "--epochs", "1", "--n_random", "5"])
    return out, status, buf.getvalue()


def test_demo_runs_every_stage_and_writes_the_report(synthetic_demo):
    out, status, console = synthetic_demo
    assert status == 0
    for path in ("report.html", "train/summary.json", "train/analysis.html", "backtest/stats.json",
                 "backtest/equity.csv", "scaleup/scaleup.json", "ensemble/ensemble.json",
                 "profile/sessions.parquet", "profile/sample_session.png", "features/features.parquet",
                 "data/synthetic_trades.parquet", "profile/bar_vs_exact.csv", MARKER):
        assert (out / path).is_file(), path
    assert "How far bar-based profiles are from the exact ones" in (out / "report.html").read_text(encoding="utf-8")
    logs = sorted(p.name for p in (out / "logs").iterdir())
    assert [name.split("_", 1)[1][:-4] for name in logs] == list(STAGES)
    assert (out.parent / "index.html").is_file()  # the runs folder lists every run


def test_demo_console_shows_progress_and_the_closing_table(synthetic_demo):
    out, _, console = synthetic_demo
    for stage in STAGES:
        assert f"] {stage}: done in " in console, stage
    assert "problems      0" in console and "ESH3" in console  # the data check summary is echoed
    assert "epoch 1/1 " in console  # training progress is echoed
    assert " step " not in console  # ... but not the per-step detail (it is in the log)
    summary = json.loads((out / "train" / "summary.json").read_text())
    table = console[console.index("result"):]
    assert f"{100 * summary['test_accuracy']:.1f}%" in table and "majority baseline" in table
    assert "worst NaN rate" in table
    stats = json.loads((out / "backtest" / "stats.json").read_text())
    for name, row in stats.items():
        line = next(x for x in table.splitlines() if x.strip().startswith(name + " "))
        assert f"{row['net_pnl_usd']:,.2f}" in line
    assert str(out / "report.html") in table


def test_demo_trains_with_the_seed_strategy_1_flags(synthetic_demo):
    out, _, _ = synthetic_demo
    argv = json.loads((out / "train" / "config.json").read_text())["argv"]
    pairs = {"--batch_size": "32", "--learning_rate": "0.00005", "--dropout_rate": "0.3", "--weight_decay": "0.001",
             "--gradient_clip_value": "5.0", "--early_stopping_patience": "25", "--data_fraction": "0.8",
             "--chunk_size": "25000"}
    for flag, value in pairs.items():
        assert argv[argv.index(flag) + 1] == value, flag
    assert argv[argv.index("--hidden_dims") + 1:argv.index("--hidden_dims") + 4] == ["64", "32", "16"]
    assert "--adaptive_loss" in argv and "--use_mixed_precision" in argv


def test_a_second_demo_replaces_the_first_in_place(synthetic_demo, tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / MARKER).write_text("{}\n")
    (out / "report.html").write_text("old")
    (out / "train").mkdir()
    prepare_folder(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "logs"])


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path, capsys):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    assert main(["demo", "--output_dir", str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not empty" in err[0]
    assert (other / "thesis.tex").read_text() == "precious"
    (other / MARKER).write_text("{}\n")  # a demo folder with a foreign file in it
    with pytest.raises(UsageError, match="did not write"):
        prepare_folder(other)
    assert (other / "thesis.tex").read_text() == "precious"


def test_demo_with_a_missing_data_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["demo", "--output_dir", str(tmp_path / "d"), "--data", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.csv" in err[0]


def test_demo_with_a_folder_that_is_no_dataset_is_one_line_and_exit_2(tmp_path, capsys):
    # a bar dataset folder (year=YYYY/month=MM/part.parquet) is accepted and read whole by every
    # stage; any other folder is refused before anything is written
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("not bars")
    assert main(["demo", "--output_dir", str(tmp_path / "d"), "--data", str(tmp_path / "stuff")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "partition" in err[0] and not (tmp_path / "d").exists()


def test_tee_echoes_only_the_kept_lines():
    log, console = io.StringIO(), io.StringIO()
    tee = _Tee(log, console, (r"epoch \d+/\d+ ",))
    tee.write("epoch 1 step 50/100: loss 1\nepoch 1/3  train 0.5\npartial ")
    tee.write("line\n")
    assert log.getvalue() == "epoch 1 step 50/100: loss 1\nepoch 1/3  train 0.5\npartial line\n"
    assert console.getvalue().strip() == "epoch 1/3  train 0.5"


@pytest.mark.parametrize("status, last, skipped", [
    (2, "futures-vpoc: error: needs \u2265 8 sessions for train/validation/test; the file has 5", True),
    (2, "futures-vpoc: error: ensemble needs >= 2 usable members; 1 of 3 have usable rows (volume: x)", True),
    (2, "futures-vpoc: error: every feature would be dropped: none has values on 90% of the 10 training rows", True),
    (2, "futures-vpoc: error: --theta 0.7 must be in [0, 0.5)", False),  # a real usage error stays a failure
    (1, "futures-vpoc: error: needs \u2265 8 sessions for train/validation/test; the file has 5", False),
    (2, "Traceback: needs \u2265 8 sessions", False),  # not the CLI's one-line error
])
def test_only_a_data_size_refusal_counts_as_skipped(tmp_path, status, last, skipped):
    log = tmp_path / "x.log"
    log.write_text("$ futures-vpoc train\nsome output\n" + last + "\n", encoding="utf-8")
    assert (too_short(status, log) is not None) is skipped


@pytest.mark.slow
def test_demo_on_the_real_daily_sp500_data(tmp_path, capsys):
    out = tmp_path / "sp"
    assert main(["demo", "--output_dir", str(out), "--dataset", "sp500-daily", "--epochs", "3",
                 "--n_random", "5"]) == 0
    console = capsys.readouterr().out
    assert "calendar group" in console or "calendar" in (out / "report.html").read_text()
    page = (out / "report.html").read_text()
    assert "composite" in page  # the profile picture is a daily-bar composite, and says so
    assert (out / "profile" / "composite_20_sessions.png").is_file()
    config = json.loads((out / "train" / "config.json").read_text())
    assert "calendar" not in config["features"]  # SPX is no futures contract: no roll calendar
    summary = json.loads((out / "train" / "summary.json").read_text())
    # VIX starts in 2014: the dataset (not the demo) drops its features, each with its reason
    assert not any(f.startswith("vix_") for f in summary.get("features_kept") or ())
    assert any(f.startswith("vix_") for f in summary.get("features_dropped") or {})
    assert "Features the model used" in page
    assert summary["n_train"] > 2000  # 1999-2018 daily rows, not only the VIX years


def test_demo_on_your_own_merged_file(tmp_path, capsys):
    data = tmp_path / "mine.csv"
    assert main(["data", "synth", "--out", str(data), "--start", "2023-03-01", "--end", "2023-04-28",
                 "--signal", "3"]) == 0
    out = tmp_path / "runs" / "mydemo"
    assert main(["demo", "--output_dir", str(out), "--data", str(data), "--epochs", "1", "--n_random", "5",
                 "--budget_minutes", "0"]) == 0
    console = capsys.readouterr().out
    assert "scale-up skipped" in console and "ensemble skipped" in console
    assert not (out / "scaleup").exists() and not (out / "data").exists()  # your file is used in place
    assert "mine.csv" in (out / "report.html").read_text()


@pytest.mark.browser
def test_report_html_renders_in_headless_chromium(synthetic_demo):
    """Acceptance: no console errors, every image loads, the screenshot is not blank."""
    from browser import check_page, require_chromium

    require_chromium()
    out, _, _ = synthetic_demo
    results = {page.name: check_page(page) for page in (out / "report.html", out.parent / "index.html")}
    for name, result in results.items():
        assert result.console_errors == [], name
        assert result.broken_images == [], name
        assert not result.blank, name
    report = results["report.html"]
    assert report.images >= 8  # profile, migration, five training curves, equity curves
    assert report.height > 3 * 900  # a long page, captured whole


@pytest.mark.parametrize("flag,value", [("--months", "0"), ("--epochs", "0"), ("--budget_minutes", "-1"),
                                        ("--signal", "-2"), ("--n_random", "-1")])
def test_demo_refuses_impossible_numbers_before_writing(tmp_path, capsys, flag, value):
    assert main(["demo", "--output_dir", str(tmp_path / "d"), flag, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0]
    assert not (tmp_path / "d").exists()



def _model_bars_by_side(backtest_dir) -> dict[int, int]:
    trades = pd.read_csv(backtest_dir / "trades.csv")
    model = trades[trades["strategy"] == "model"]
    return {side: int(model.loc[model["side"] == side, "bars_held"].sum()) for side in (-1, 1)}


def _half_year_demo(tmp_path, signal: str) -> tuple:
    """The demo as a user runs it (8 epochs) on six months, without scale-up and ensemble."""
    out = tmp_path / "runs" / "demo"
    assert main(["demo", "--output_dir", str(out), "--signal", signal, "--months", "6", "--n_random", "5",
                 "--budget_minutes", "0"]) == 0
    summary = json.loads((out / "train" / "summary.json").read_text())
    n_test_bars = len(pd.read_parquet(out / "train" / "predictions_test.parquet"))
    return out, summary, n_test_bars, _model_bars_by_side(out / "backtest")


@pytest.mark.slow
def test_a_market_with_nothing_to_find_leaves_the_model_flat_and_not_ready(tmp_path, capsys):
    """Issue 14: on a signal-free market the model strategy does not trade its intercept (it used to be short
    on 20,346 bars and long on none): it holds a position on at most 5 % of the test bars, and where its few
    positions lean, they lean the way of the up share it learned.

    The rule is long above 0.5 + theta and short below 0.5 - theta (:mod:`futures_vpoc.labels`), and the
    model learns the training part's up share, which on a finite null market is not exactly 1/2 (49.6 %
    here), so the prediction tails that cross the band lean that way. Seed 7 gave 278 bars held, all short,
    before the dropout stream changed (issue 20) and 377, all short, after; the earlier "neither side above
    65 % once 2 % of bars are held" passed on the first only because 278 bars fell under its 2 % guard.
    """
    out, summary, n_test_bars, held = _half_year_demo(tmp_path, "0")
    assert sum(held.values()) <= 0.05 * n_test_bars, held  # flat on at least 95 % of the bars
    train = summary["label_shares"]["train"]
    learned_up = train["up"] / (train["up"] + train["down"])  # P(up | moved) on the training part
    if max(held.values()) > 0.65 * sum(held.values()):  # a lean: the side the training up share points to
        assert (held[1] > held[-1]) == (learned_up > 0.5), (held, learned_up)
    assert "NOT READY" in (out / "train" / "analysis.md").read_text().upper()
    # One draw under the null: p is uniform, so a 5% threshold would fail one market in twenty (this one
    # gave p = 0.04 once issue 16 added two features; seed 11 gives 0.62). 1% still catches a leak,
    # which shows as p far below 1e-6 on these 19,000 test rows.
    assert summary["test_p_value"] > 0.01
    assert "session block bootstrap" in capsys.readouterr().out


@pytest.mark.slow
def test_the_planted_signal_trades_both_sides(tmp_path):
    """Issue 14: with the default planted signal the model strategy goes long and short, about evenly."""
    out, summary, _, held = _half_year_demo(tmp_path, "3")
    assert held[1] > 0 and held[-1] > 0, held
    assert max(held.values()) <= 0.65 * sum(held.values()), held
    shares = summary["label_shares"]["test"]
    assert abs(shares["up"] - shares["down"]) < 0.05 and shares["flat"] > 0
    _assert_held_out_month(out)


def _assert_held_out_month(out):
    """Issue 17: the last 21 trade dates were never trained on, then predicted, replayed, scored and
    backtested out of time, replay equal to predict."""
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.ml.bundle import load_bundle

    trained = read_merged(out / "data" / "train_months.parquet")
    held = pd.read_parquet(out / "holdout" / "predictions.parquet")
    assert pd.DatetimeIndex(held["timestamp"]).min() > trained.index.max()
    assert held["trade_date"].nunique() == 21 and not held["in_training"].any()
    assert load_bundle(out / "train").training_period()[1] <= trained.index.max()
    parity = json.loads((out / "holdout" / "replay_parity.json").read_text())
    assert parity["same_missing"] and parity["predictions"] > 20_000 and parity["max_abs_diff"] <= 1e-9
    assert json.loads((out / "holdout" / "evaluate.json").read_text())["n"] > 20_000
    page = (out / "report.html").read_text()
    assert 'id="holdout"' in page and "Replay, which fed the bars" in page and "Not run" not in page.split('id="holdout"')[1][:3000]
    assert "out-of-time test" in (out / "holdout" / "backtest" / "backtest.html").read_text()
