"""``futures-vpoc profile`` through its parser: tables, files, the plot and the errors."""

import argparse

import pandas as pd
import pytest

from futures_vpoc.cli.profile import add_profile_parser, cmd_profile
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.errors import DataError, UsageError

from test_profile_support import synthetic


def run(*argv):
    parser = argparse.ArgumentParser()
    add_profile_parser(parser.add_subparsers(dest="command"))
    return cmd_profile(parser.parse_args(["profile", *argv]))


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("profile") / "merged.csv"
    bars = synthetic("2023-03-06", "2023-03-14")
    write_merged(bars[bars["trade_date"] >= pd.Timestamp("2023-03-08")], path)
    return path


def test_prints_the_session_table(data_file, capsys):
    assert run("--data", str(data_file)) == 0
    out = capsys.readouterr().out
    assert "5 GLOBEX session(s)" in out
    header = next(line for line in out.splitlines() if line.startswith("trade_date"))
    assert header.split()[:7] == ["trade_date", "contract", "vpoc", "val", "vah", "va_width", "volume"]
    assert "2023-03-08" in out and "ESM3" in out and "ESH3" in out


def test_writes_tables(data_file, tmp_path, capsys):
    out, dev = tmp_path / "sessions.csv", tmp_path / "dev.parquet"
    assert run("--data", str(data_file), "--out", str(out), "--developing", str(dev), "--rth",
               "--allocation", "tpo", "--value-area", "0.68", "--expansion", "one") == 0
    table = pd.read_csv(out)
    assert {"trade_date", "contract", "vpoc", "val", "vah", "va_width", "volume"} <= set(table.columns)
    assert len(table) == 5 and (table["scope"] == "rth").all() and (table["va_share"] >= 0.68).all()
    assert table["trade_date"].iloc[0] == "2023-03-08"
    per_bar = pd.read_parquet(dev)
    assert {"timestamp", "dev_vpoc", "dev_vah", "dev_val", "prev_vpoc", "naked_above"} <= set(per_bar.columns)
    assert len(per_bar) == len(pd.read_csv(data_file))
    rth = pd.read_csv(data_file)["rth"].astype(str).str.lower().eq("true").to_numpy()
    assert per_bar["dev_vpoc"].notna().to_numpy().tolist() == rth.tolist()


def test_date_filter_and_plot(data_file, tmp_path, capsys):
    png, dev = tmp_path / "day.png", tmp_path / "dev.csv"
    assert run("--data", str(data_file), "--date", "2023-03-10", "--plot", str(png), "--developing", str(dev)) == 0
    out = capsys.readouterr().out
    assert "1 GLOBEX session(s)" in out and "2023-03-10" in out and "2023-03-09" not in out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 30_000
    per_bar = pd.read_csv(dev)
    assert per_bar["timestamp"].iloc[0].endswith("Z") and per_bar["session"].nunique() == 1
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize(("argv", "error", "message"), [
    (["--date", "2023-13-45"], UsageError, "not a date"),
    (["--date", "2023-03-04"], DataError, "no session on trade date 2023-03-04"),
    (["--value-area", "0"], UsageError, "--value-area"),
    (["--tick", "0"], UsageError, "--tick"),
    (["--out", "table.txt"], UsageError, "--out"),
    (["--plot", "picture.jpg"], UsageError, "--plot"),
])
def test_bad_flags(data_file, tmp_path, argv, error, message):
    with pytest.raises(error, match=message):
        run("--data", str(data_file), *argv)


def test_output_cannot_overwrite_the_input(data_file):
    with pytest.raises(UsageError, match="input file"):
        run("--data", str(data_file), "--out", str(data_file))


def test_bad_data_file_names_the_problem_and_writes_nothing(tmp_path):
    bars = synthetic("2023-03-06", "2023-03-14").iloc[:50].copy()
    path = tmp_path / "bad.csv"
    write_merged(bars, path)
    text = path.read_text().splitlines()
    cells = text[5].split(",")
    cells[2] = "nan"  # a NaN high on the 5th bar (line 6)
    text[5] = ",".join(cells)
    path.write_text("\n".join(text) + "\n")
    out = tmp_path / "out.csv"
    with pytest.raises(DataError, match=r"bad.csv: column 'high'.*NaN or infinite value at bar 2023-03-05 23:04"):
        run("--data", str(path), "--out", str(out))
    assert not out.exists()
    with pytest.raises(DataError, match="file not found"):
        run("--data", str(tmp_path / "missing.csv"))


def test_eth_scope(data_file, capsys):
    assert run("--data", str(data_file), "--eth", "--rows", "0") == 0
    assert "ETH session(s)" in capsys.readouterr().out
