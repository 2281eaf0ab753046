"""``data check`` describes any file: every kind of problem once (count, first line), exit 1; a clean
file exits 0; the longest gap includes the session edges and says where it is.

Times: Thu 2024-03-07 (CST = UTC-6); the session of trade date 2024-03-07 runs 2024-03-06 23:00 UTC
.. 2024-03-07 22:00 UTC (17:00 -> 16:00 CT).
"""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import conform
from futures_vpoc.data.check import check_bars
from futures_vpoc.data.survey import KINDS, survey
from futures_vpoc.data.synthetic import SynthConfig, synthesize

GOOD = [  # one-minute bars from 14:30 UTC (08:30 CST): timestamp, open, high, low, close, volume
    ("2024-03-07 14:{:02d}:00".format(m), 5100.0 + q, 5100.25 + q, 5099.75 + q, 5100.0 + q, 10 + m)
    for m, q in zip(range(30, 60), np.tile([0.0, 0.25, 0.5, 0.25], 8))
]


def bad_vendor_file(tmp_path):
    """A generic CSV with naive stamps and one example of every kind of problem (lines counted
    with the header as line 1)."""
    rows = [",".join(str(v) for v in r) for r in GOOD]
    rows[2] = "2024-03-07 14:32:00,5100.5,5100.6,5100.25,5100.5,12"  # line 4: high off the tick grid
    rows.insert(5, rows[4])  # line 7 repeats line 6: duplicate timestamp
    rows[7] = "2024-03-07 14:36:00,,5100.75,5100.25,5100.5,7"  # line 9: NaN open
    rows[9] = "2024-03-07 14:38:00,5100.5,5100.75,5100.25,5100.5,-3"  # line 11: negative volume
    rows[11] = "2024-03-07 14:40:00,5100.5,5100.0,5100.25,5100.5,7"  # line 13: high < low
    rows[13] = "2024-03-07 14:42:00,5100.5,5100.75,1.25,5100.5,7"  # line 15: bad print (low 1.25)
    rows.insert(16, "2024-03-07 14:31:30,5100.0,5100.25,5099.75,5100.0,3")  # line 18: out of order
    del rows[20:26]  # a 6-minute gap in the bars (14:48 .. 14:54 UTC)
    rows.append("2024-03-09 15:00:00,5100.0,5100.25,5099.75,5100.0,5")  # Saturday: outside sessions
    path = tmp_path / "ESH4_bad.csv"
    path.write_text("Timestamp,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    return path


def test_bad_vendor_file_lists_every_kind_with_count_and_first_line_and_exits_1(tmp_path, capsys):
    path = bad_vendor_file(tmp_path)
    code = main(["data", "check", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    problems = {line.strip()[2:].split(":")[0]: line.strip()[2:] for line in out.splitlines()
                if line.strip().startswith("- ")}
    assert set(KINDS) <= set(problems), out
    name = str(path)
    assert problems["zone unknown"].startswith(f"zone unknown: {name}: timestamps have no time zone")
    assert "read as UTC" in problems["zone unknown"]
    expected = {  # kind: (count, first line)
        "off the tick grid": (1, 4), "duplicate timestamps": (1, 7), "NaN or infinite values": (1, 9),
        "negative volume": (1, 11), "OHLC inconsistent": (1, 13), "bad prints": (1, 15),
        "out of order": (1, 18), "outside Globex sessions": (1, 28)}
    for kind, (count, line) in expected.items():
        assert f"{kind}: {count} row, first {name}:{line}" in problems[kind], problems[kind]
    assert "(same as " + name + ":6)" in problems["duplicate timestamps"]
    # the rest is described: 27 data rows less 7 set aside; the gaps include the session edges
    assert "rows          20 bars of 1 min" in out
    assert "in 7 gaps" in out  # open -> 14:30; the minutes of 4 rows set aside; 14:47 -> 14:54; -> close
    assert "longest 15 h 30 min: trade date 2024-03-07, 2024-03-06 23:00..2024-03-07 14:30 UTC" in out
    assert f"before {name}:2" in out


def test_survey_sets_rows_aside_and_keeps_off_grid_ones(tmp_path):
    found = survey(bad_vendor_file(tmp_path))
    assert len(found.bars) == 20
    assert (found.bars["high"] == 5100.6).sum() == 1  # off the grid, kept (as read)
    assert found.report.problems[0].startswith("zone unknown")


def test_clean_synthetic_merged_file_exits_0(tmp_path, capsys):
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-13", seed=3))
    from futures_vpoc.data.barframe import write_merged

    path = write_merged(bars, tmp_path / "merged.csv")
    assert main(["data", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "problems      0" in out and "notes" not in out


def test_index_series_off_the_grid_is_a_note_not_a_problem():
    from futures_vpoc.data.samples import sp500_daily

    report = check_bars(sp500_daily())
    assert report.problems == []
    assert len(report.notes) == 1
    assert report.notes[0].startswith("off the tick grid: 5,031 bars with prices off the 0.25 grid")


def test_longest_gap_includes_the_session_edges_and_says_where():
    # Every minute from 04:01 UTC to 18:39 UTC of trade date 2023-01-03 is there; the session opened
    # 2023-01-02 23:00 UTC (17:00 CST). The old check saw only spacings between bars: 0 minutes.
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-06", seed=7))
    bars = bars[(bars.index >= pd.Timestamp("2023-01-03 04:01", tz="UTC"))
                & (bars.index < pd.Timestamp("2023-01-03 18:40", tz="UTC"))]
    full = pd.date_range("2023-01-03 04:01", "2023-01-03 18:39", freq="1min", tz="UTC")
    bars = conform(bars.reindex(full).ffill().bfill().infer_objects())
    report = check_bars(bars)
    assert report.missing_bars == 1380 - len(full)
    assert report.longest_gap == pd.Timedelta(hours=5, minutes=1)
    assert report.longest_gap_at.startswith("trade date 2023-01-03, 2023-01-02 23:00..2023-01-03 04:01 UTC")
    assert report.gaps == 2  # before the first bar, after the last one


@pytest.mark.parametrize("year, gaps", [(2019, 2), (2024, 3)])
def test_the_daily_halt_is_no_gap(year, gaps):
    # 2015-2021 had a 15:15-15:30 CT halt: bars at 15:14 and 15:30 CST (21:14, 21:30 UTC) are adjacent
    # then (gaps: the session's two edges only); in 2024 the 15 minutes between them are a gap.
    stamps = pd.DatetimeIndex([f"{year}-03-05 21:13", f"{year}-03-05 21:14", f"{year}-03-05 21:30",
                               f"{year}-03-05 21:31"], tz="UTC", name="timestamp")
    bars = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0, "contract": "ESH9",
                         "trade_date": pd.Timestamp(f"{year}-03-05"), "rth": False, "vix": np.nan}, index=stamps)
    report = check_bars(bars)
    assert report.expected_bars == (1365 if year == 2019 else 1380)
    assert report.missing_bars == report.expected_bars - 4
    assert report.gaps == gaps


def _merged_with_high_below_low(tmp_path):
    """A small synthetic merged CSV whose line 10 has high below low; (path, its lines)."""
    from futures_vpoc.data.barframe import write_merged

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-04", seed=3))
    path = write_merged(bars, tmp_path / "merged.csv")
    lines = path.read_text().splitlines()
    fields = lines[9].split(",")
    fields[2], fields[3] = fields[3], str(float(fields[2]) - 5)  # line 10: high below low
    lines[9] = ",".join(fields)
    return path, lines


def test_merged_file_with_a_problem_names_its_line_and_exits_1(tmp_path, capsys):
    path, lines = _merged_with_high_below_low(tmp_path)
    lines[20], lines[21] = lines[21], lines[20]  # lines 21/22 out of order: not readable as merged
    path.write_text("\n".join(lines) + "\n")
    assert main(["data", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "not readable as a merged file" in out
    assert f"out of order: 1 row, first {path}:22" in out
    assert f"OHLC inconsistent: 1 row, first {path}:10" in out


def test_readable_merged_file_with_a_problem_names_its_line(tmp_path, capsys):
    path, lines = _merged_with_high_below_low(tmp_path)
    path.write_text("\n".join(lines) + "\n")
    assert main(["data", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"OHLC inconsistent: 1 bar (high < low, or open/close outside [low, high]), first {path}:10" in out
