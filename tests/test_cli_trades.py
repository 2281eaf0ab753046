"""The trades commands end to end: ``profile --trades`` (with ``--compare-bars``) on the real ESH4
MBO day, and on synthetic trades; ``ticks bars``; bad trade files and flags (one line, exit 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from realdata import DATABENTO, needs_realdata

from futures_vpoc.cli.main import main
from futures_vpoc.data.barframe import read_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.data.synthetic.trades import write_synthetic_trades

MBO = DATABENTO / "nautilus_trader" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
SHORT = SynthConfig(start="2024-03-11", end="2024-03-13", seed=5)


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory):
    return write_synthetic_trades(tmp_path_factory.mktemp("trades") / "trades.parquet", SHORT).path


@needs_realdata
def test_profile_of_the_esh4_mbo_day_and_its_comparison_in_one_command(tmp_path, capsys):
    out, levels, dev, md = (tmp_path / n for n in ("s.csv", "l.parquet", "d.parquet", "cmp.md"))
    code = main(["profile", "--trades", str(MBO), "--compare-bars", "--compare-out", str(md), "--out", str(out),
                 "--levels", str(levels), "--developing", str(dev), "--plot", str(tmp_path / "s.png")])
    assert code == 0
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    assert "2,973 trades read" in text and "exact from trades" in text
    sessions = pd.read_csv(out)
    assert len(sessions) == 1 and sessions["trade_date"].iloc[0] == "2023-12-26"  # reopened 17:00 CT on the 25th
    assert sessions["volume"].iloc[0] == 9_892 and sessions["trades"].iloc[0] == 2_973
    per_price = pd.read_parquet(levels)
    assert per_price["volume"].sum() == 9_892 and per_price["price"].between(4800.25, 4811.75).all()
    vpoc = sessions["vpoc"].iloc[0]
    assert per_price.loc[per_price["volume"].idxmax(), "price"] == vpoc  # the arg-max of summed size
    assert len(pd.read_parquet(dev)) == 60  # 23:00 to 23:59 UTC, every minute traded
    table = md.read_text()
    for rule in ("uniform", "close", "tpo"):
        assert f"| {rule} | 1 |" in table


def test_profile_of_synthetic_trades_equals_the_groupby_of_their_prints(synthetic_file, tmp_path):
    out = tmp_path / "s.parquet"
    assert main(["profile", "--trades", str(synthetic_file), "--out", str(out)]) == 0
    sessions = pd.read_parquet(out)
    prints = pd.read_parquet(synthetic_file)
    bars, _ = synthesize(SHORT)
    assert len(sessions) == bars["trade_date"].nunique()
    assert sessions["volume"].sum() == prints["size"].sum() == bars["volume"].sum()


def test_ticks_bars_writes_a_bar_file_every_stage_reads(synthetic_file, tmp_path):
    out = tmp_path / "bars.parquet"
    assert main(["ticks", "bars", "--trades", str(synthetic_file), "--out", str(out)]) == 0
    bars = read_merged(out)
    market, _ = synthesize(SHORT)
    cols = ["open", "high", "low", "close", "volume", "contract", "trade_date", "rth"]
    pd.testing.assert_frame_equal(bars[cols], market[cols], check_exact=True)
    assert (bars["buy_volume"] + bars["sell_volume"] <= bars["volume"]).all()
    vol = tmp_path / "vol.csv"
    assert main(["ticks", "bars", "--trades", str(synthetic_file), "--out", str(vol), "--bar", "volume:500"]) == 0
    vbars = read_merged(vol)
    assert vbars["volume"].sum() == market["volume"].sum() and (vbars["volume"].iloc[:-1] >= 500).mean() > 0.9
    assert np.isnan(vbars["vix"]).all()


@pytest.mark.parametrize("args, message", [
    (["profile", "--data", "x.csv", "--compare-bars"], "--compare-bars works with --trades only"),
    (["profile", "--trades", "t.csv", "--compare-out", "c.md"], "add --compare-bars"),
    (["ticks", "bars", "--trades", "t.csv", "--out", "b.csv", "--bar", "range:4"], "--bar"),
    (["data", "synth", "--out", "m.csv", "--prints-per-contract", "0.5"], "add --trades"),
    (["data", "synth", "--out", "m.csv", "--trades", "t.csv"], "use a .parquet file name"),
    (["demo", "--trades", "t.parquet"], "--trades names the prints behind --data"),
])
def test_bad_flags_are_one_line_and_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_a_bad_trade_file_names_its_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "t.csv"
    bad.write_text("timestamp,price,size\n2024-01-09T15:00:00Z,4800.25,1\n2024-01-09T15:00:01Z,4800.30,1\n")
    out = tmp_path / "s.csv"
    assert main(["profile", "--trades", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "t.csv:3" in err and "tick grid" in err and "--repair" in err and "\n" not in err
    assert not out.exists()
    assert main(["profile", "--trades", str(bad), "--out", str(out), "--repair"]) == 0
    assert "dropped 1 row(s)" in capsys.readouterr().out and pd.read_csv(out)["volume"].iloc[0] == 1
