"""The `data` commands as a user runs them: exit status, one-line errors, nothing written on failure.

Each validation problem of issue 2 is injected into an otherwise valid generic CSV (header on line
1, first bar on line 2) and `futures-vpoc data merge` must exit 2 with one line naming the file,
the line and the column, and must write no output file.
"""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import read_merged

N = 30


def bars_text(tz_suffix="Z"):
    """30 one-minute bars from Thu 2024-03-07 14:30 UTC (08:30 CST, RTH open), valid in every way."""
    stamps = pd.date_range("2024-03-07 14:30", periods=N, freq="1min")
    close = 5100 + 0.25 * np.cumsum(np.tile([1, -1, 2, -1, 0, 1], N // 6))
    open_ = np.r_[close[0], close[:-1]]
    rows = ["Timestamp,Open,High,Low,Close,Volume"]
    for t, o, c in zip(stamps, open_, close):
        rows.append(f"{t:%Y-%m-%dT%H:%M:%S}{tz_suffix},{o},{max(o, c) + 0.25},{min(o, c) - 0.25},{c},{100 + len(rows)}")
    return rows


def vix_file(tmp_path):
    path = tmp_path / "VIX_History.csv"
    path.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n03/05/2024,14.0,14.5,13.5,14.46\n03/06/2024,14.4,14.6,14.0,14.50\n"
                    "03/07/2024,14.5,14.7,14.1,14.44\n")
    return path


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def merge(tmp_path, rows, capsys, *extra):
    es = tmp_path / "es_bars.csv"
    es.write_text("\n".join(rows) + "\n")
    out = tmp_path / "merged.csv"
    code, stdout, stderr = run(["data", "merge", "--es", es, "--vix", vix_file(tmp_path), "--out", out, *extra], capsys)
    return code, stdout, stderr, out


def set_field(rows, line, column, value):
    """Replace one field of 1-based file line `line`."""
    header = rows[0].split(",")
    fields = rows[line - 1].split(",")
    fields[header.index(column)] = value
    rows = list(rows)
    rows[line - 1] = ",".join(fields)
    return rows


def test_valid_file_merges_and_reads_back(tmp_path, capsys):
    code, stdout, stderr, out = merge(tmp_path, bars_text(), capsys)
    assert code == 0, stderr
    bars = read_merged(out)
    assert len(bars) == N and bars.index[0] == pd.Timestamp("2024-03-07 14:30", tz="UTC")
    assert bars["rth"].all()
    # 08:30-08:59 CST on 2024-03-07 end before 15:15 CT: they see the close of 2024-03-06.
    assert (bars["vix"] == 14.50).all()
    assert "detected generic" in stdout and "repairs: none" in stdout


def shift_price_row(rows, line, delta):
    header = rows[0].split(",")
    fields = rows[line - 1].split(",")
    for col in ("Open", "High", "Low", "Close"):
        i = header.index(col)
        fields[i] = str(float(fields[i]) + delta)
    rows = list(rows)
    rows[line - 1] = ",".join(fields)
    return rows


CASES = {
    "unparseable price": (lambda r: set_field(r, 7, "Close", "abc"), 7, "close"),
    "NaN price": (lambda r: set_field(r, 8, "High", "nan"), 8, "high"),
    "inf price": (lambda r: set_field(r, 9, "Low", "inf"), 9, "low"),
    "high below low": (lambda r: set_field(r, 10, "High", "5000.0"), 10, "high"),
    "open above high": (lambda r: set_field(r, 11, "Open", "5101.5"), 11, "open"),
    "close below low": (lambda r: set_field(set_field(r, 12, "Close", "5090.0"), 13, "Open", "5090.0"), 12, "close"),
    "negative volume": (lambda r: set_field(r, 13, "Volume", "-5"), 13, "volume"),
    # line 15 gets line 14's timestamp
    "duplicate timestamp": (lambda r: [*r[:14], r[14].replace(r[14].split(",")[0], r[13].split(",")[0]), *r[15:]], 15, "timestamp"),
    "out of order": (lambda r: [*r[:14], r[15], r[14], *r[16:]], 16, "timestamp"),
    "off tick grid": (lambda r: shift_price_row(r, 17, 0.1), 17, None),
    "bad print": (lambda r: set_field(set_field(r, 18, "Low", "1.25"), 18, "Open", "1.25"), 18, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_validation_problem_exits_2_with_file_line_column_and_writes_nothing(tmp_path, capsys, case):
    corrupt, line, column = CASES[case]
    code, stdout, stderr, out = merge(tmp_path, corrupt(bars_text()), capsys)
    assert code == 2
    message = stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "Traceback" not in message
    assert f"es_bars.csv:{line}" in message, message
    if column:
        assert f"'{column}'" in message.lower(), message
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".merged")] == []


def test_missing_column_names_it_on_line_1(tmp_path, capsys):
    rows = [",".join(f for i, f in enumerate(r.split(",")) if i != 3) for r in bars_text()]  # drop Low
    code, _, stderr, out = merge(tmp_path, rows, capsys)
    assert code == 2 and "es_bars.csv:1" in stderr and "low" in stderr.lower() and not out.exists()


def test_timestamps_without_time_zone_need_tz(tmp_path, capsys):
    code, _, stderr, out = merge(tmp_path, bars_text(tz_suffix=""), capsys)
    assert code == 2 and "--tz" in stderr and "es_bars.csv" in stderr and not out.exists()
    code, _, stderr, out = merge(tmp_path, bars_text(tz_suffix=""), capsys, "--tz", "UTC")
    assert code == 0, stderr


def test_bars_in_the_halt_or_a_holiday_are_refused_unless_repaired(tmp_path, capsys):
    rows = bars_text()
    rows.append("2024-03-09T15:00:00Z,5100.0,5100.25,5099.75,5100.0,5")  # Saturday
    code, _, stderr, out = merge(tmp_path, rows, capsys)
    assert code == 2 and f"es_bars.csv:{N + 2}" in stderr and "--tz" in stderr and not out.exists()
    code, stdout, stderr, out = merge(tmp_path, rows, capsys, "--repair")
    assert code == 0 and "outside_session 1" in stdout and len(read_merged(out)) == N


def test_repair_fixes_bad_prints_and_off_grid_prices_and_counts_them(tmp_path, capsys):
    rows = set_field(bars_text(), 18, "Low", "1.25")
    rows = set_field(rows, 20, "High", str(float(rows[19].split(",")[2]) + 0.1))  # 0.1 above the grid, still >= open/close
    code, _, stderr, _ = merge(tmp_path, rows, capsys)
    assert code == 2
    code, stdout, stderr, out = merge(tmp_path, rows, capsys, "--repair")
    assert code == 0, stderr
    assert "bad_print 1" in stdout and "off_grid" in stdout
    bars = read_merged(out)
    assert bars["low"].min() > 5000
    assert np.allclose(bars[["open", "high", "low", "close"]] / 0.25 % 1, 0)


def test_failed_merge_leaves_an_existing_output_untouched(tmp_path, capsys):
    code, _, _, out = merge(tmp_path, bars_text(), capsys)
    assert code == 0
    before = out.read_bytes()
    code, _, _, out = merge(tmp_path, set_field(bars_text(), 5, "High", "1.0"), capsys)
    assert code == 2 and out.read_bytes() == before


def test_bad_vix_file_is_reported_with_its_line(tmp_path, capsys):
    es = tmp_path / "es.csv"
    es.write_text("\n".join(bars_text()) + "\n")
    vix = tmp_path / "VIX_History.csv"
    vix.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n03/05/2024,14,14,14,14.46\n03/32/2024,14,14,14,14.5\n")
    code, _, stderr = run(["data", "merge", "--es", es, "--vix", vix, "--out", tmp_path / "m.csv"], capsys)
    assert code == 2 and "VIX_History.csv:3" in stderr and not (tmp_path / "m.csv").exists()


def test_missing_input_and_bad_flags_exit_2(tmp_path, capsys):
    code, _, stderr = run(["data", "check", tmp_path / "nope.csv"], capsys)
    assert code == 2 and "nope.csv" in stderr and "not found" in stderr
    with pytest.raises(SystemExit) as exc:
        main(["data", "merge", "--es", "a", "--vix", "b", "--out", "c.csv", "--tx", "UTC"])
    assert exc.value.code == 2
    assert "did you mean --tz" in capsys.readouterr().err
    code, _, stderr = run(["data", "merge", "--es", "a.csv", "--vix", "b", "--out", "a.csv"], capsys)
    assert code == 2 and "also an input" in stderr


def test_module_entry_point_runs_without_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "futures_vpoc", "data", "check", str(tmp_path / "x.csv")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr and run.stderr.count("\n") == 1
