"""VIX: publication times, the as-of join (no look-ahead), and reading Cboe's VIX_History.csv.

Rule (es_market_and_data_formats.md, "VIX and VX, and merging without look-ahead"): the close of
date D is known at D 15:15 CT; a bar sees it only if the bar's END is at or after that time.
Fixture ``tests/data/vix/VIX_History_small.csv``: Cboe's layout; CLOSE values are the real closes
of 2014-01-03..2014-01-21 as shipped in ``arch.data.vix``; OPEN/HIGH/LOW are made up (not read).
2014-01-20 (Martin Luther King Jr. Day) has no row, as in Cboe's file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futures_vpoc.data.vix import attach_vix, publication_times, read_vix_history
from futures_vpoc.errors import DataError

FIXTURE = Path(__file__).parent / "data" / "vix" / "VIX_History_small.csv"
CT = "America/Chicago"
MINUTE = pd.Timedelta(minutes=1)


def ct(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize(CT).tz_convert("UTC")


def vix_series(values: dict[str, float]) -> pd.Series:
    return pd.Series(list(values.values()), index=pd.DatetimeIndex(list(values)), dtype="float64")


# --------------------------------------------------------------------------------------------
# publication time and the as-of join
# --------------------------------------------------------------------------------------------

def test_publication_time_is_1515_ct_in_winter_and_summer():
    pub = publication_times(["2024-01-10", "2024-07-10"])
    assert pub[0] == pd.Timestamp("2024-01-10 21:15", tz="UTC")  # CST, UTC-6
    assert pub[1] == pd.Timestamp("2024-07-10 20:15", tz="UTC")  # CDT, UTC-5
    lagged = publication_times(["2024-01-10"], lag=pd.Timedelta(minutes=30))
    assert lagged[0] == pd.Timestamp("2024-01-10 21:45", tz="UTC")


@pytest.mark.parametrize("day, prev", [("2024-01-10", "2024-01-09"), ("2024-07-10", "2024-07-09")])
def test_no_bar_sees_the_close_before_1515_ct(day, prev):
    vix = vix_series({prev: 11.0, day: 22.0})
    starts = pd.DatetimeIndex([ct(f"{day} 15:13"), ct(f"{day} 15:14"), ct(f"{day} 15:15")])
    got = attach_vix(starts, MINUTE, vix)
    # ends 15:14 (< 15:15) -> previous close; ends 15:15 and 15:16 (>= 15:15) -> today's
    np.testing.assert_array_equal(got, [11.0, 22.0, 22.0])


def test_daily_rth_bar_sees_previous_close():
    vix = vix_series({"2024-07-09": 11.0, "2024-07-10": 22.0})
    got = attach_vix(pd.DatetimeIndex([ct("2024-07-10 08:30")]), pd.Timedelta(hours=6, minutes=30), vix)
    assert got[0] == 11.0


def test_monday_bars_after_weekend_see_friday_close():
    vix = vix_series({"2024-01-04": 12.0, "2024-01-05": 13.0, "2024-01-08": 14.0})
    starts = pd.DatetimeIndex([ct("2024-01-07 17:00"), ct("2024-01-08 08:30"), ct("2024-01-08 15:13")])
    np.testing.assert_array_equal(attach_vix(starts, MINUTE, vix), [13.0, 13.0, 13.0])


def test_holiday_without_vix_row_carries_last_close():
    # 2024-01-15 (MLK): Globex trades until 12:00 CT, Cboe publishes no close.
    vix = vix_series({"2024-01-12": 12.7, "2024-01-16": 13.8})
    starts = pd.DatetimeIndex([ct("2024-01-15 11:00"), ct("2024-01-15 17:00"), ct("2024-01-16 15:00"),
                               ct("2024-01-16 15:20")])
    np.testing.assert_array_equal(attach_vix(starts, MINUTE, vix), [12.7, 12.7, 12.7, 13.8])


def test_nan_before_first_publication():
    vix = vix_series({"2024-01-10": 12.0})
    got = attach_vix(pd.DatetimeIndex([ct("2024-01-10 15:00"), ct("2024-01-10 15:30")]), MINUTE, vix)
    assert np.isnan(got[0]) and got[1] == 12.0


_BASE = pd.Timestamp("2023-01-01")


@settings(max_examples=150, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 60 * 24 * 730), min_size=1, max_size=40),
    width_min=st.sampled_from([1, 5, 30, 60, 390]),
    vix_days=st.lists(st.integers(0, 730), min_size=1, max_size=30, unique=True),
    near=st.lists(st.tuples(st.integers(0, 730), st.integers(-400, 3)), max_size=20),
)
def test_property_attached_close_is_latest_published_by_bar_end(minutes, width_min, vix_days, near):
    dates = _BASE + pd.to_timedelta(sorted(vix_days), unit="D")
    values = np.asarray(sorted(vix_days), dtype="float64") + 10.0  # value identifies its date
    vix = pd.Series(values, index=dates)
    width = pd.Timedelta(minutes=width_min)
    # random bar starts, plus starts whose END falls within minutes of some 15:15 CT publication
    anywhere = _BASE.tz_localize("UTC") + pd.to_timedelta(minutes, unit="min")
    pubs = publication_times(_BASE + pd.to_timedelta([d for d, _ in near], unit="D"))
    close_to = pubs + pd.to_timedelta([m for _, m in near], unit="min") - width
    starts = pd.DatetimeIndex(anywhere.append(close_to)).sort_values()
    got = attach_vix(pd.DatetimeIndex(starts), width, vix)
    pub = publication_times(dates)
    for start, value in zip(starts, got):
        end = start + width
        seen = pub <= end
        if not seen.any():
            assert np.isnan(value)
            continue
        used = int(value - 10.0)
        i = sorted(vix_days).index(used)
        assert pub[i] <= end  # never a close published after the bar ended
        assert i == int(np.flatnonzero(seen)[-1])  # and the latest one that was


# --------------------------------------------------------------------------------------------
# read_vix_history
# --------------------------------------------------------------------------------------------

def test_reads_cboe_fixture():
    vix = read_vix_history(FIXTURE)
    assert vix.name == "vix" and vix.dtype == np.float64
    assert vix.index.dtype == "datetime64[ns]" and vix.index.tz is None
    assert len(vix) == 12 and vix.index.is_monotonic_increasing
    assert vix.index[0] == pd.Timestamp("2014-01-03") and vix.iloc[0] == 13.76
    assert vix[pd.Timestamp("2014-01-17")] == 12.44
    assert pd.Timestamp("2014-01-20") not in vix.index  # MLK day: no row
    # same closes as arch's copy of the history
    from arch.data import vix as arch_vix

    ref = arch_vix.load()["vix"].dropna().loc["2014-01-03":"2014-01-21"]
    np.testing.assert_array_equal(vix.to_numpy(), ref.to_numpy())


def test_header_case_iso_dates_and_blank_lines(tmp_path):
    p = tmp_path / "vix.csv"
    p.write_text("Date,Open,High,Low,Close\n2024-01-02,1,1,1,13.2\n\n2024-01-03,1,1,1,14.04\n")
    vix = read_vix_history(p)
    assert list(vix.index) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert list(vix) == [13.2, 14.04]


def test_only_date_and_close_needed(tmp_path):
    p = tmp_path / "vix.csv"
    p.write_text("close,date\n13.2,01/02/2024\n")
    assert read_vix_history(p).iloc[0] == 13.2


GOOD = "DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,13,14,12,13.20\n01/03/2024,13,14,12,14.04\n"


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("DATE,OPEN,HIGH,LOW\n01/02/2024,1,1,1\n", 1, "CLOSE", "missing column"),
        ("OPEN,HIGH,LOW,CLOSE\n1,1,1,13\n", 1, "DATE", "missing column"),
        (GOOD + "2024/13/45,13,14,12,13\n", 4, "DATE", "unparseable date"),
        (GOOD + "01/04/2024,13,14,12,abc\n", 4, "CLOSE", "unparseable number"),
        (GOOD + "01/04/2024,13,14,12,\n", 4, "CLOSE", "unparseable number"),
        (GOOD + "01/04/2024,13,14,12,0\n", 4, "CLOSE", "finite positive"),
        (GOOD + "01/04/2024,13,14,12,-1.5\n", 4, "CLOSE", "finite positive"),
        (GOOD + "01/04/2024,13,14,12,inf\n", 4, "CLOSE", "finite positive"),
        (GOOD + "01/04/2024,13,14,12,nan\n", 4, "CLOSE", "finite positive"),
        (GOOD + "01/03/2024,13,14,12,15\n", 4, "DATE", "duplicate date"),
        (GOOD + "01/01/2024,13,14,12,15\n", 4, "DATE", "out of order"),
        (GOOD.replace("\n01/03", "\n\n01/03") + "01/01/2024,1,1,1,15\n", 5, "DATE", "out of order"),
    ],
)
def test_validation_errors_name_file_and_line(tmp_path, text, line, column, words):
    p = tmp_path / "VIX_History.csv"
    p.write_text(text)
    with pytest.raises(DataError) as err:
        read_vix_history(p)
    e = err.value
    assert e.file == str(p) and e.line == line and e.column == column
    assert words in e.problem and e.hint
    assert f"{p}:{line}" in str(e)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found") as err:
        read_vix_history(tmp_path / "nope.csv")
    assert err.value.file.endswith("nope.csv")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("")
    with pytest.raises(DataError, match="empty file"):
        read_vix_history(p)
