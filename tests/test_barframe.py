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
