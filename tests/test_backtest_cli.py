"""``futures-vpoc backtest`` outputs (driven through its own parser until cli.py wires it)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli.backtest import add_backtest_parser, cmd_backtest
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError, UsageError


def _parse(argv):
    p = argparse.ArgumentParser()
    add_backtest_parser(p.add_subparsers(dest="command"))
    return p.parse_args(["backtest", *argv])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("bt")
    bars, _ = synthesize(SynthConfig(start="2023-02-01", end="2023-03-31", seed=2, signal=0.0))
    path = write_merged(bars, d / "bars.parquet")
    run = d / "run"
    run.mkdir()
    test = bars.index[len(bars) // 2:]
    rng = np.random.default_rng(0)
    pd.DataFrame({"timestamp": test, "probability": rng.uniform(0.3, 0.7, len(test)),
                  "label": rng.integers(0, 2, len(test))}).to_parquet(run / "predictions_test.parquet")
    (run / "config.json").write_text(json.dumps({"horizon": 5, "data": str(path)}))
    return bars, path, run


REQUIRED = {"net_pnl_usd", "costs_usd", "trades", "sharpe", "max_drawdown_pct"}


def test_model_run_writes_all_outputs(data, tmp_path, capsys):
    bars, path, run = data
    out = tmp_path / "out"
    rc = cmd_backtest(_parse(["--data", str(path), "--model", str(run), "--output_dir", str(out), "--theta", "0.1",
                              "--n_random", "10"]))
    assert rc == 0
    stats = json.loads((out / "stats.json").read_text())
    assert set(stats) == {"model", "vpoc_reversion", "vpoc_breakout", "buy_hold", "ma_cross", "random"}
    for s in stats.values():
        assert REQUIRED <= set(s)
    trades = pd.read_csv(out / "trades.csv")
    assert {"strategy", "entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "commission",
            "pnl"} <= set(trades.columns)
    # every strategy ran on the predictions' period only
    first = pd.Timestamp(bars.index[len(bars) // 2])
    assert (pd.to_datetime(trades["entry_time"], utc=True) > first).all()
    eq = pd.read_csv(out / "equity.csv")
    assert list(eq.columns)[1:] == list(stats)
    html = (out / "backtest.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "Deflated Sharpe" in html and "<script" not in html
    assert "model" in capsys.readouterr().out


def test_strategy_run(data, tmp_path):
    _, path, _ = data
    out = tmp_path / "s"
    rc = cmd_backtest(_parse(["--data", str(path), "--strategy", "buy_hold", "ma_cross", "--output_dir", str(out),
                              "--contract", "MES", "--stop_ticks", "8", "--target_ticks", "16",
                              "--flat_at_session_end"]))
    assert rc == 0
    stats = json.loads((out / "stats.json").read_text())
    assert set(stats) == {"buy_hold", "ma_cross"}
    assert stats["buy_hold"]["commission_usd"] == pytest.approx(0.57 * 2 * stats["buy_hold"]["trades"])


def test_walk_forward_on_too_little_data_is_a_one_line_usage_error(data, tmp_path, capsys):
    from futures_vpoc.cli import main

    _, path, _ = data
    out = tmp_path / "wf"
    rc = main(["backtest", "--data", str(path), "--strategy", "buy_hold", "--output_dir", str(out), "--walk-forward"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "no walk-forward fold" in err and len(err.splitlines()) == 1
    assert not (out / "stats.json").exists()


def test_bad_run_dir_and_bad_flag(data, tmp_path):
    _, path, _ = data
    with pytest.raises(DataError, match="predictions_test.parquet"):
        cmd_backtest(_parse(["--data", str(path), "--model", str(tmp_path), "--output_dir", str(tmp_path / "o")]))
    with pytest.raises(UsageError, match="slippage"):
        cmd_backtest(_parse(["--data", str(path), "--strategy", "buy_hold", "--output_dir", str(tmp_path / "o"),
                             "--slippage_ticks", "-1"]))
    assert not (tmp_path / "o").exists()
