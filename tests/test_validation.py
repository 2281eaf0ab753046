"""Validation: every problem is a located DataError; the repairable ones are repaired and counted.

Most cases edit a copy of the NinjaTrader fixture (no header: file line = row number), whose
twelve bars are listed in tests/test_formats.py. A DataError message reads
``<file>:<line>: column '<col>' value <v>: <problem> (and N more rows); <hint>``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.load import load_es
from futures_vpoc.data.validate import BAD_PRINT_LOG_RATIO, Bars, find_bad_prints
from futures_vpoc.errors import DataError

DATA = Path(__file__).parent / "data" / "formats"
NT_NAME = "ES 03-24.Last.txt"
BASE = (DATA / NT_NAME).read_text().splitlines()
FIELDS = ("time", "open", "high", "low", "close", "volume")


def nt_file(tmp_path: Path, lines: list[str], name: str = NT_NAME) -> Path:
    path = tmp_path / name
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def edit(line_no: int, **values) -> list[str]:
    """The fixture with fields of 1-based line ``line_no`` replaced."""
    lines = list(BASE)
    parts = lines[line_no - 1].split(";")
    for key, val in values.items():
        parts[FIELDS.index(key)] = str(val)
    lines[line_no - 1] = ";".join(parts)
    return lines


def error_of(path: Path, **kw) -> str:
    with pytest.raises(DataError) as err:
        load_es(path, **kw)
    return str(err.value)


def assert_located(msg: str, path: Path, line: int | None, column: str | None):
    where = f"{path.name}:{line}:" if line is not None else f"{path.name}: "
    assert where in msg, msg
    if column is not None:
        assert f"column '{column}'" in msg, msg
    assert "\n" not in msg


# ---------------------------------------------------------------------------------- parsing


def test_missing_column(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,volume\n2024-03-08T14:30:00Z,1,1,1,1\n")
    msg = error_of(path)
    assert_located(msg, path, 1, None)
    assert "missing column(s) close" in msg


def test_non_numeric_price_names_line_and_value(tmp_path):
    path = nt_file(tmp_path, edit(5, open="51x5.5"))
    msg = error_of(path)
    assert_located(msg, path, 5, "open")
    assert "'51x5.5'" in msg and "not a number" in msg


def test_unparseable_timestamp(tmp_path):
    path = nt_file(tmp_path, edit(3, time="2024-03-08 14:31"))
    msg = error_of(path)
    assert_located(msg, path, 3, "time")
    assert "unparseable timestamp" in msg and "%Y%m%d %H%M%S" in msg


def test_wrong_number_of_fields(tmp_path):
    lines = list(BASE)
    lines[7] = lines[7].rsplit(";", 1)[0]  # line 8 loses its volume
    path = nt_file(tmp_path, lines)
    msg = error_of(path)
    assert_located(msg, path, 8, None)
    assert "expected 6 fields, found 5" in msg


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    lines = list(BASE)
    lines.insert(2, "")  # blank line 3; the old line 5 is now line 6
    lines[5] = lines[5].replace(";5135.5;", ";51x5.5;")
    path = nt_file(tmp_path, lines)
    assert_located(error_of(path), path, 6, "open")


# ---------------------------------------------------------------------------------- values


def test_nan_price_first_row_and_count(tmp_path):
    lines = edit(4, close="")
    lines[8] = lines[8].replace(";5125.25;", ";NaN;")  # line 9 close
    path = nt_file(tmp_path, lines)
    msg = error_of(path)
    assert_located(msg, path, 4, "close")
    assert "missing or NaN" in msg and "(and 1 more row)" in msg


def test_infinite_price(tmp_path):
    path = nt_file(tmp_path, edit(2, high="inf"))
    msg = error_of(path)
    assert_located(msg, path, 2, "high")
    assert "infinite" in msg


def test_high_below_low(tmp_path):
    path = nt_file(tmp_path, edit(6, high="5133.25"))  # low is 5133.5
    msg = error_of(path)
    assert_located(msg, path, 6, "high")
    assert "high < low" in msg


def test_open_outside_range(tmp_path):
    path = nt_file(tmp_path, edit(7, open="5133"))  # high is 5132.5
    msg = error_of(path)
    assert_located(msg, path, 7, "open")
    assert "open outside [low, high]" in msg


def test_close_outside_range(tmp_path):
    path = nt_file(tmp_path, edit(8, close="5131.5"))  # low is 5131.75
    msg = error_of(path)
    assert_located(msg, path, 8, "close")
    assert "close outside [low, high]" in msg


def test_negative_volume(tmp_path):
    path = nt_file(tmp_path, edit(9, volume="-5"))
    msg = error_of(path)
    assert_located(msg, path, 9, "volume")
    assert "negative volume" in msg and "-5.0" in msg


def test_duplicate_timestamp_in_one_file(tmp_path):
    path = nt_file(tmp_path, edit(10, time=BASE[8].split(";")[0]))
    msg = error_of(path)
    assert_located(msg, path, 10, "timestamp")
    assert "duplicate timestamp for contract ESH4" in msg and f"{NT_NAME}:9)" in msg


def test_duplicate_timestamp_across_files_of_one_contract(tmp_path):
    nt_file(tmp_path, BASE[:6])
    second = nt_file(tmp_path, BASE[5:], name="ES 03-24.b.txt")  # repeats line 6 of the first
    msg = error_of(tmp_path)
    assert_located(msg, second, 1, "timestamp")
    assert "duplicate timestamp" in msg and f"{NT_NAME}:6" in msg


def test_timestamps_out_of_order(tmp_path):
    lines = list(BASE)
    lines[2], lines[3] = lines[3], lines[2]
    path = nt_file(tmp_path, lines)
    msg = error_of(path)
    assert_located(msg, path, 4, "timestamp")
    assert "out of order" in msg and "line 3" in msg


# ---------------------------------------------------------------------------------- tick grid


def test_off_grid_price_fatal_then_repaired(tmp_path):
    path = nt_file(tmp_path, edit(5, close="5134.8"))
    msg = error_of(path)
    assert_located(msg, path, 5, "close")
    assert "tick grid" in msg and "5134.8" in msg
    got = load_es(path, repair=True)
    assert got.bars.close.iloc[4] == 5134.75  # 5134.8 / 0.25 = 20539.2 -> 20539 ticks
    assert got.repairs == {"bad_print": 0, "off_grid": 1, "outside_session": 0}
    assert any("rounded" in n for n in got.notes)


def test_float_noise_is_snapped_silently(tmp_path):
    path = nt_file(tmp_path, edit(5, close="5134.7500000001"))
    got = load_es(path)
    assert got.bars.close.iloc[4] == 5134.75
    assert got.repairs["off_grid"] == 0


def test_tick_option(tmp_path):
    path = nt_file(tmp_path, edit(5, close="5134.8"))
    assert load_es(path, tick=0.05).bars.close.iloc[4] == pytest.approx(5134.8, abs=1e-9)


# ---------------------------------------------------------------------------------- bad prints


def test_bad_print_low_fatal_then_repaired(tmp_path):
    path = nt_file(tmp_path, edit(6, low="1.25"))
    msg = error_of(path)
    assert_located(msg, path, 6, "low")
    assert "bad print" in msg and "1.25" in msg
    got = load_es(path, repair=True)
    # Closes of the 10 bars around bar 6 (bars 1-5 and 7-11) sorted: 5125.25 5126.5 5132.25 5132.75
    # 5134.75 | 5140.75 5162 5163.75 5170.5 5170.75 -> median (5134.75 + 5140.75) / 2 = 5137.75.
    # low := 5137.75, then low := min(low, open 5134.75, close 5134.0) = 5134.0; high stays 5135.25.
    row = got.bars.iloc[5]
    assert (row.open, row.high, row.low, row.close) == (5134.75, 5135.25, 5134.0, 5134.0)
    assert got.repairs == {"bad_print": 1, "off_grid": 0, "outside_session": 0}


def test_bad_print_close_is_reported_as_bad_print(tmp_path):
    # A 1.25 close is also below the low; the bad-print check names it first so --repair can fix it.
    path = nt_file(tmp_path, edit(4, close="1.25"))
    msg = error_of(path)
    assert_located(msg, path, 4, "close")
    assert "bad print" in msg
    got = load_es(path, repair=True)
    # Neighbour closes of bar 4 (bars 1-3, 5-11): median (5134.0 + 5134.75) / 2 = 5134.375 =
    # 20537.5 ticks, rounded half-to-even to 20538 ticks = 5134.5; low := min(5161.5, 5134.5).
    row = got.bars.iloc[3]
    assert (row.open, row.high, row.low, row.close) == (5162.0, 5164.25, 5134.5, 5134.5)
    assert got.repairs["bad_print"] == 1


def test_bad_print_high_repaired(tmp_path):
    path = nt_file(tmp_path, edit(1, high="51712.5"))  # a digit too many
    assert_located(error_of(path), path, 1, "high")
    got = load_es(path, repair=True)
    # Bar 1 sits at the start of the contract: its 10 neighbours are bars 2-11; median of their
    # closes (5134.0 + 5134.75) / 2 ... sorted 5125.25 5126.5 5132.25 5132.75 5134 | 5134.75
    # 5140.75 5162 5163.75 5170.5 -> 5134.375 -> 5134.5 on the grid; high := max(5134.5, 5170, 5170.75).
    row = got.bars.iloc[0]
    assert (row.open, row.high, row.low, row.close) == (5170.0, 5170.75, 5169.5, 5170.75)


def _bars(close, contract=None, spread=0.0):
    close = np.asarray(close, dtype=float)
    n = len(close)
    opn = np.r_[close[0], close[:-1]]
    return Bars(ts=np.arange(n, dtype=np.int64), open=opn,
                high=np.maximum(opn, close) * (1 + spread), low=np.minimum(opn, close) * (1 - spread),
                close=close, volume=np.ones(n),
                contract=np.zeros(n, np.int32) if contract is None else np.asarray(contract, np.int32),
                file=np.zeros(n, np.int32), row=np.arange(n, dtype=np.int64))


def _reference_bad_prints(bars: Bars) -> set[tuple[int, int]]:
    """Plain loop over every bar: the definition of the module docstring, written out."""
    out = set()
    n = len(bars)
    for i in range(n):
        s = i
        while s > 0 and bars.contract[s - 1] == bars.contract[i]:
            s -= 1
        e = i
        while e < n and bars.contract[e] == bars.contract[i]:
            e += 1
        if e - s < 5:
            continue
        w = min(11, e - s)
        lo = min(max(i - 5, s), e - w)
        nb = [bars.close[j] for j in range(lo, lo + w) if j != i]
        med = float(np.median(nb))
        for k, name in enumerate(("open", "high", "low", "close")):
            if abs(np.log(getattr(bars, name)[i] / med)) > BAD_PRINT_LOG_RATIO:
                out.add((i, k))
    return out


def test_bad_print_kernel_matches_reference_loop():
    rng = np.random.default_rng(7)
    lengths = [3, 5, 7, 11, 12, 60, 200]
    contract = np.repeat(np.arange(len(lengths)), lengths)
    close = 4000 * np.exp(np.cumsum(rng.normal(0, 0.002, contract.size)))
    bars = _bars(close, contract, spread=0.0005)
    for i in rng.choice(contract.size, 25, replace=False):  # bad prints in random fields
        getattr(bars, ("open", "high", "low", "close")[rng.integers(4)])[i] *= rng.choice([1e-3, 0.6, 1.5, 10])
    rows, cols, _ = find_bad_prints(bars)
    assert set(zip(rows.tolist(), cols.tolist())) == _reference_bad_prints(bars)
    assert len(rows) > 10


def test_bad_print_threshold_spares_real_moves():
    # Daily S&P 500 1999-2018 never moved more than ~11% in a day. A harsher path: ten straight
    # -7% days, an +11% day, a -9% day, and intraday ranges of 4% either side; nothing is flagged.
    steps = [0.0] * 20 + [-0.07] * 10 + [0.11, -0.09, 0.05] + [0.0] * 20
    close = 1500 * np.exp(np.cumsum(steps))
    rows, _, _ = find_bad_prints(_bars(close, spread=0.04))
    assert len(rows) == 0
    # The intraday low of 2008-10-10 (839.8) against the closes around it (10 neighbours, median
    # 990.5): |log| = 0.165 < 0.25.
    closes = [1099.2, 1056.9, 996.2, 984.9, 909.9, 899.2, 1003.4, 998.0, 907.8, 946.4, 940.6]
    bars = _bars(closes)
    bars.low[5] = 839.8
    assert len(find_bad_prints(bars)[0]) == 0
    # while a 1.25 among 4000s is |log| = 8
    close = np.full(20, 4000.0)
    bars = _bars(close)
    bars.low[10] = 1.25
    assert find_bad_prints(bars)[0].tolist() == [10]


# ---------------------------------------------------------------------------------- sessions


def test_bars_outside_sessions_fatal_then_dropped(tmp_path):
    lines = list(BASE)
    lines.insert(6, "20240309 150100;5131;5131;5131;5131;1")  # Sat 09:00 CST start: weekend (line 7)
    lines.append("20240311 213100;5140.25;5140.25;5140.25;5140.25;1")  # Mon 16:30 CDT: maintenance
    path = nt_file(tmp_path, lines)
    msg = error_of(path)
    assert_located(msg, path, 7, "timestamp")
    assert "outside every Globex session" in msg and "(and 1 more row)" in msg
    assert "--tz" in msg and "--stamp" in msg
    got = load_es(path, repair=True)
    assert len(got.bars) == 12
    assert got.repairs == {"bad_print": 0, "off_grid": 0, "outside_session": 2}


def test_holiday_bar_is_outside_sessions(tmp_path):
    # Good Friday 2024-03-29: the session closed 08:15 CT; a 09:00 CDT bar (14:00 UTC start).
    lines = BASE[-2:] + ["20240329 140100;5250;5250.25;5249.75;5250;10"]
    path = nt_file(tmp_path, lines)
    assert_located(error_of(path), path, 3, "timestamp")


# ---------------------------------------------------------------------------------- time zones


def test_timestamps_without_zone_need_tz(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close,volume\n"
                    "2024-03-08 08:30:00,5160.25,5163.50,5158.75,5162.00,9120\n")
    msg = error_of(path)
    assert_located(msg, path, 2, "timestamp")
    assert "no time zone" in msg and "--tz" in msg
    assert load_es(path, tz="America/Chicago").bars.timestamp.iloc[0] == pd.Timestamp("2024-03-08 14:30", tz="UTC")


def test_nonexistent_local_time(tmp_path):
    # Kibot (US Eastern): 02:30 on 2024-03-10 does not exist (clocks jump 02:00 -> 03:00).
    lines = (DATA / "ESH24_kibot.txt").read_text().splitlines()
    lines.insert(6, "03/10/2024,02:30,5131.00,5131.00,5131.00,5131.00,1")  # line 7
    path = tmp_path / "ESH24_kibot.txt"
    path.write_text("\n".join(lines) + "\n")
    msg = error_of(path)
    assert_located(msg, path, 7, "time")
    assert "does not exist or is ambiguous" in msg


def test_ambiguous_local_time(tmp_path):
    # 01:30 on 2024-11-03 happens twice in US Eastern (clocks fall back 02:00 -> 01:00).
    path = tmp_path / "ESZ24_kibot.txt"
    path.write_text("11/01/2024,10:00,5800.00,5800.25,5799.75,5800.00,1\n"
                    "11/03/2024,01:30,5800.00,5800.25,5799.75,5800.00,1\n")
    assert_located(error_of(path), path, 2, "time")


def test_parquet_errors_name_the_row(tmp_path):
    df = pd.read_parquet(DATA / "generic_utc.parquet")
    df.loc[2, "high"] = 5150.0  # below its low 5158.75
    path = tmp_path / "bars.parquet"
    df.to_parquet(path, index=False)
    msg = error_of(path)
    assert "bars.parquet: column 'high' value 5150.0: row 3: high < low" in msg


def test_repair_refuses_to_drop_every_bar(tmp_path):
    # All bars on a Saturday: a wrong --tz/--stamp, not bad rows; --repair must not return nothing.
    path = nt_file(tmp_path, ["20240309 143100;5160.25;5163.5;5158.75;5162;10",
                              "20240309 143200;5162;5163.5;5158.75;5162;9"])
    msg = error_of(path, repair=True)
    assert "every one of the 2 bars is outside" in msg and "--tz" in msg


def test_bad_print_rule_flags_nothing_in_twenty_years_of_real_daily_sp500():
    """Real data, 1999-2018 (2000-02 crash, 2008, 2011, 2015, 2018) shipped in `arch`: no false bad prints."""
    from futures_vpoc.data.samples import sp500_daily
    from futures_vpoc.data.validate import Bars, find_bad_prints

    spx = sp500_daily()
    n = len(spx)
    bars = Bars(ts=spx.index.asi8, open=spx["open"].to_numpy(), high=spx["high"].to_numpy(),
                low=spx["low"].to_numpy().copy(), close=spx["close"].to_numpy(), volume=spx["volume"].to_numpy(),
                contract=np.zeros(n, np.int32), file=np.zeros(n, np.int32), row=np.arange(n))
    rows, _, _ = find_bad_prints(bars)
    assert len(rows) == 0
    bars.low[1000] = 1.25  # ...while a 1.25 print among them is caught
    rows, _, _ = find_bad_prints(bars)
    assert rows.tolist() == [1000]
