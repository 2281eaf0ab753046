"""BarFrame contract and merged-file round trip (DESIGN.md section 2)."""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.barframe import BAR_COLUMNS, bar_width, conform, read_merged, write_merged
from futures_vpoc.errors import DataError


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_merged_file_round_trip_is_identical(tmp_path, small_bars, suffix):
    path = write_merged(small_bars, tmp_path / f"merged{suffix}")
    back = read_merged(path)
    pd.testing.assert_frame_equal(back, small_bars, check_exact=True)


def test_csv_layout_is_iso_utc_text(tmp_path, small_bars):
    path = write_merged(small_bars, tmp_path / "m.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "timestamp," + ",".join(BAR_COLUMNS)
    assert lines[1].startswith("2024-03-07T14:30:00Z,")
    assert ",2024-03-07,true," in lines[1]




def test_conform_dtypes(small_bars):
    assert str(small_bars.index.tz) == "UTC" and small_bars.index.name == "timestamp"
    assert small_bars["volume"].dtype == np.float64 and small_bars["rth"].dtype == bool
    assert small_bars["trade_date"].dtype == "datetime64[ns]"
    with pytest.raises(ValueError):
        conform(small_bars.iloc[::-1])
    with pytest.raises(ValueError):
        conform(small_bars.drop(columns="vix"))


def test_bar_width_is_the_most_common_step(small_bars):
    assert bar_width(small_bars.index) == pd.Timedelta(minutes=1)
    days = pd.DatetimeIndex(["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-11"], tz="UTC")
    assert bar_width(days) == pd.Timedelta(days=1)


def test_read_merged_refuses_bad_files(tmp_path, small_bars):
    with pytest.raises(DataError, match="file not found"):
        read_merged(tmp_path / "nope.csv")
    path = write_merged(small_bars, tmp_path / "m.csv")
    text = path.read_text().splitlines()
    (tmp_path / "nocol.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in text) + "\n")
    with pytest.raises(DataError, match=r"nocol.csv:1: missing column\(s\) vix"):
        read_merged(tmp_path / "nocol.csv")
    swapped = [text[0], text[2], text[1], *text[3:]]
    (tmp_path / "order.csv").write_text("\n".join(swapped) + "\n")
    with pytest.raises(DataError, match=r"order.csv:3: column 'timestamp'.*not strictly increasing"):
        read_merged(tmp_path / "order.csv")


def test_failed_write_leaves_previous_file_intact(tmp_path, small_bars):
    path = write_merged(small_bars, tmp_path / "m.csv")
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_merged(small_bars.drop(columns="vix"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.csv"]


def sparse_session_ends():
    """End stamps of three sessions of thin overnight 1-minute bars (no-trade minutes omitted).

    Each session (Tue-Thu 2024-03-05..07, opening 17:00 CST = 23:00 UTC the evening before) has
    bars ending 1, 2, 4, 6, 8, 10 and 12 minutes after the open: one 1-minute spacing and five
    2-minute ones, so 2-minute spacings outnumber 1-minute ones 15 to 3 over the file.
    """
    opens = pd.DatetimeIndex(["2024-03-04 23:00", "2024-03-05 23:00", "2024-03-06 23:00"], tz="UTC")
    minutes = [1, 2, 4, 6, 8, 10, 12]
    return pd.DatetimeIndex([o + pd.Timedelta(minutes=m) for o in opens for m in minutes])


def test_bar_width_of_sparse_sessions_is_the_spacing_each_run_starts_with():
    # The mode of all spacings said 2 minutes; every session's run of bars shows 1 minute.
    assert bar_width(sparse_session_ends()) == pd.Timedelta(minutes=1)


def test_bar_width_ignores_session_breaks_and_a_stray_stamp():
    # Hourly bars, 3 per session over 4 sessions: spacings 1 h (8) and the ~21 h session breaks (3)
    # plus one stray 30-second stamp in one session: every other session starts with 1 h steps.
    ends = pd.DatetimeIndex([pd.Timestamp(f"2024-03-0{d} {h}:00", tz="UTC") for d in (4, 5, 6, 7)
                             for h in (14, 15, 16)])
    ends = ends.append(pd.DatetimeIndex([pd.Timestamp("2024-03-05 14:00:30", tz="UTC")])).sort_values()
    assert bar_width(ends) == pd.Timedelta(hours=1)


def test_end_stamped_sparse_file_loads_with_one_minute_starts(tmp_path):
    from futures_vpoc.data.load import load_es

    rows = [f"{t:%Y%m%d %H%M%S};5100.25;5100.5;5100;5100.25;3" for t in sparse_session_ends()]
    path = tmp_path / "ES 03-24.Last.txt"
    path.write_text("\n".join(rows) + "\n")
    starts = pd.DatetimeIndex(load_es(path).bars["timestamp"])
    # NinjaTrader stamps bar ENDs: the bar ending 23:01 UTC started at the 23:00 open.
    assert starts[0] == pd.Timestamp("2024-03-04 23:00", tz="UTC")
    assert (starts == sparse_session_ends() - pd.Timedelta(minutes=1)).all()
