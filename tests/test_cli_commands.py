"""`data synth`, `data sample` and `data check` as a user runs them (`demo`: tests/test_demo.py)."""

import pandas as pd

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import read_merged


def test_data_synth_writes_a_reproducible_file_and_prints_its_check(tmp_path, capsys):
    args = ["data", "synth", "--start", "2024-03-04", "--end", "2024-03-12", "--seed", "3"]
    assert main([*args, "--out", str(tmp_path / "a.csv")]) == 0
    out = capsys.readouterr().out
    assert "data check" in out and "problems      0" in out and "trade dates   7" in out
    assert main([*args, "--out", str(tmp_path / "b.parquet")]) == 0
    a, b = read_merged(tmp_path / "a.csv"), read_merged(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert (tmp_path / "a.csv").read_bytes() != b""  # same seed, same bars in either container


def test_data_synth_refuses_a_bad_span(tmp_path, capsys):
    code = main(["data", "synth", "--start", "2024-03-12", "--end", "2024-03-04", "--out", str(tmp_path / "x.csv")])
    assert code == 2 and not (tmp_path / "x.csv").exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_data_sample_sp500_daily(tmp_path, capsys):
    assert main(["data", "sample", "sp500-daily", "--out", str(tmp_path / "spx.csv")]) == 0
    bars = read_merged(tmp_path / "spx.csv")
    assert len(bars) > 5000 and bars["vix"].notna().sum() > 1200
    assert "S&P 500" in capsys.readouterr().out


def test_data_check_reads_a_merged_file_and_a_vendor_file(tmp_path, capsys):
    main(["data", "synth", "--start", "2024-03-05", "--end", "2024-03-06", "--out", str(tmp_path / "m.csv")])
    capsys.readouterr()
    assert main(["data", "check", str(tmp_path / "m.csv")]) == 0
    out = capsys.readouterr().out
    assert "rows" in out and "VIX" in out and "rolls         0" in out
    nt = tmp_path / "ES 06-24.Last.txt"
    nt.write_text("20240306 143100;5100.25;5101;5100;5100.5;12\n20240306 143200;5100.5;5100.75;5100.25;5100.5;7\n")
    assert main(["data", "check", str(nt)]) == 0
    out = capsys.readouterr().out
    assert "ninjatrader" in out and "ESM4" in out and "rows          2" in out
