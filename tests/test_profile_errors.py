"""Bad input gets a clear DataError; zero-volume bars and one-bar sessions are handled."""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.errors import DataError
from futures_vpoc.profile import ProfileSpec, developing_profile, session_profiles

from test_profile_support import bars_from, frame_from_sessions

ROWS = [(100.0, 100.5, 100.25, 9), (100.25, 101.0, 100.75, 10), (99.75, 100.25, 100.0, 5)]


@pytest.fixture
def bars():
    return bars_from(ROWS)


def _raw(bars):
    """The frame as plain columns, so a test can break it (conform would refuse)."""
    return pd.DataFrame({c: bars[c].to_numpy() for c in bars.columns}, index=bars.index)


@pytest.mark.parametrize("tick", [0.0, -0.25, float("nan"), float("inf")])
def test_bad_tick_size(tick):
    with pytest.raises(DataError, match="tick size must be a positive number"):
        ProfileSpec(tick=tick)


@pytest.mark.parametrize("kwargs", [dict(value_area=0.0), dict(value_area=1.5), dict(allocation="vwap"),
                                    dict(expansion="three"), dict(scope="asia")])
def test_bad_settings(kwargs):
    with pytest.raises(DataError):
        ProfileSpec(**kwargs)


def test_unsorted_bars(bars):
    shuffled = _raw(bars).iloc[[0, 2, 1]]
    with pytest.raises(DataError, match="not strictly increasing.*2024-03-07 14:31"):
        session_profiles(shuffled)


def test_duplicate_timestamps(bars):
    dup = _raw(bars).iloc[[0, 1, 1, 2]]
    with pytest.raises(DataError, match="not strictly increasing"):
        developing_profile(dup)


@pytest.mark.parametrize("column", ["low", "high", "close", "open"])
def test_nan_price(bars, column):
    broken = _raw(bars)
    broken.loc[broken.index[1], column] = np.nan
    with pytest.raises(DataError, match=f"column '{column}'.*NaN or infinite value at bar 2024-03-07 14:31"):
        session_profiles(broken)


@pytest.mark.parametrize(("column", "value", "message"), [("volume", np.nan, "NaN"), ("volume", -1.0, "negative"),
                                                          ("high", 99.0, "high below low"),
                                                          ("close", 102.0, "close outside")])
def test_bad_values(bars, column, value, message):
    broken = _raw(bars)
    broken.loc[broken.index[2], column] = value
    with pytest.raises(DataError, match=message):
        session_profiles(broken)


def test_missing_contract(bars):
    broken = _raw(bars)
    broken["contract"] = [None, "ESH4", "ESH4"]
    with pytest.raises(DataError, match="no contract at bar 2024-03-07 14:30"):
        session_profiles(broken)


def test_missing_trade_date(bars):
    broken = _raw(bars)
    broken["trade_date"] = pd.NaT
    with pytest.raises(DataError, match="no trade date"):
        session_profiles(broken)


def test_empty_frame_and_empty_scope(bars):
    with pytest.raises(DataError, match="no bars to profile"):
        session_profiles(bars.iloc[:0])
    with pytest.raises(DataError, match="no ETH bars"):
        session_profiles(bars, ProfileSpec(scope="eth"))
    with pytest.raises(DataError, match="lack column"):
        session_profiles(bars.drop(columns=["volume"]))


def test_contract_that_comes_back_within_a_date():
    frame = frame_from_sessions([[(16000, 16001, 16000, 1.0)] * 3])
    raw = _raw(frame)
    raw["contract"] = ["ESH4", "ESM4", "ESH4"]
    with pytest.raises(DataError, match="come back"):
        session_profiles(raw)


def test_zero_volume_bars_are_handled():
    frame = frame_from_sessions([[(16000, 16002, 16001, 0.0)] * 2 + [(16004, 16004, 16004, 3.0)],
                                 [(16000, 16001, 16000, 0.0)]])
    table = session_profiles(frame).table
    assert table["vpoc"].iloc[0] == 4001.0 and table["va_volume"].iloc[0] == 3
    assert table[["vpoc", "val", "vah", "va_share"]].iloc[1].isna().all()  # no volume at all: no VPOC
    assert table["volume"].tolist() == [3.0, 0.0]
    dev = developing_profile(frame).table
    assert dev["dev_vpoc"].isna().tolist() == [True, True, False, True]
    # TPO counts time, so zero-volume bars still make a profile
    tpo = session_profiles(frame, ProfileSpec(allocation="tpo")).table
    assert tpo["vpoc"].iloc[1] == 4000.0 and tpo["profile_total"].tolist() == [7.0, 2.0]


def test_one_bar_session():
    # 5 levels 4000.00-4001.00, 7 contracts: 1 each, remainder 2 to the close 4000.25 and 4000.00
    frame = frame_from_sessions([[(16000, 16004, 16001, 7.0)]])
    p = session_profiles(frame).profile(0)
    assert p.volume.tolist() == [2, 2, 1, 1, 1]
    # 4000.00 and 4000.25 tie; the middle is 4000.50, 4000.25 is nearer
    assert p.vpoc == 4000.25
    # target 4.9: 2; up 4000.50+4000.75 = 2 = down 4000.00 (last level) 2 -> up, 4; down 2 -> 6
    assert (p.val, p.vah) == (4000.0, 4000.75)
    assert developing_profile(frame).table["dev_vpoc"].tolist() == [4000.25]


def test_huge_integer_volume_is_split_exactly():
    frame = frame_from_sessions([[(16000, 16006, 16003, 3.0 * 10**15 + 1)]])
    p = session_profiles(frame).profile(0)
    assert p.volume.sum() == 3.0 * 10**15 + 1 and p.volume.max() - p.volume.min() <= 1


def test_off_grid_prices_go_to_the_nearest_level():
    frame = frame_from_sessions([[(16000, 16002, 16001, 6.0)]])
    raw = _raw(frame)
    raw["low"] += 0.1  # 4000.10 -> level 4000.00
    raw["high"] -= 0.05  # 4000.45 -> level 4000.50
    assert session_profiles(raw).profile(0).prices.tolist() == [4000.0, 4000.25, 4000.5]
