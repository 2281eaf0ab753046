"""Acceptance 1: a 5-bar session computed by hand, every allocation and both expansion rules.

The session (tick 0.25, one contract, trade date 2024-03-07, RTH minutes 08:30-08:34 CT):

    bar  low     high    close   volume   levels (n)
    1    100.00  100.50  100.25  9        100.00 100.25 100.50            (3)
    2    100.25  101.00  100.75  10       100.25 100.50 100.75 101.00     (4)
    3     99.75  100.25  100.00  5        99.75 100.00 100.25             (3)
    4    100.50  100.50  100.50  4        100.50                          (1)
    5    100.75  101.25  101.25  7        100.75 101.00 101.25            (3)

Uniform: q = floor(v/n) to every level, the remainder one contract at a time nearest the close
(c, c-1, c+1, ...):
    bar 1: 9/3 = 3 each, r = 0                      -> 100.00:3 100.25:3 100.50:3
    bar 2: q = 2, r = 2 -> close 100.75 +1, 100.50 +1 -> 100.25:2 100.50:3 100.75:3 101.00:2
    bar 3: q = 1, r = 2 -> close 100.00 +1, 99.75 +1  -> 99.75:2 100.00:2 100.25:1
    bar 4: 4 at 100.50
    bar 5: q = 2, r = 1 -> close 101.25 +1          -> 100.75:2 101.00:2 101.25:3
    profile: 99.75:2 100.00:5 100.25:6 100.50:10 100.75:5 101.00:4 101.25:3, total 35 = 9+10+5+4+7
Close: 100.00:5 100.25:9 100.50:4 100.75:10 101.00:0 101.25:7, total 35
TPO: 99.75:1 100.00:2 100.25:3 100.50:3 100.75:2 101.00:2 101.25:1, total 14 = 3+4+3+1+3
"""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.profile import ProfileSpec, developing_profile, session_profiles
from futures_vpoc.profile import reference as ref
from futures_vpoc.profile.developing import DEV_COLUMNS
from futures_vpoc.profile.levels import PRIOR_COLUMNS
from futures_vpoc.profile.session import TABLE_COLUMNS

from test_profile_support import bars_from

ROWS = [(100.00, 100.50, 100.25, 9), (100.25, 101.00, 100.75, 10), (99.75, 100.25, 100.00, 5),
        (100.50, 100.50, 100.50, 4), (100.75, 101.25, 101.25, 7)]

LEVELS = {
    "uniform": {99.75: 2, 100.00: 5, 100.25: 6, 100.50: 10, 100.75: 5, 101.00: 4, 101.25: 3},
    "close": {100.00: 5, 100.25: 9, 100.50: 4, 100.75: 10, 101.00: 0, 101.25: 7},
    "tpo": {99.75: 1, 100.00: 2, 100.25: 3, 100.50: 3, 100.75: 2, 101.00: 2, 101.25: 1},
}

# (allocation, expansion) -> (vpoc, val, vah, volume inside the value area)
EXPECTED = {
    # uniform, target 0.7 * 35 = 24.5, VPOC 100.50 (10).
    # two: 10; up 100.75+101.00 = 9 < down 100.25+100.00 = 11 -> down, 21;
    #      up 9 > down 99.75 (last level) = 2 -> up, 30 >= 24.5.  VA 100.00-101.00
    ("uniform", "two"): (100.50, 100.00, 101.00, 30),
    # one: 10; up 5 < down 6 -> 16 (100.25); up 5 = down 100.00 5 -> tie goes up, 21 (100.75);
    #      up 101.00 4 < down 5 -> 26 >= 24.5.  VA 100.00-100.75
    ("uniform", "one"): (100.50, 100.00, 100.75, 26),
    # close, target 24.5, VPOC 100.75 (10).
    # two: 10; up 101.00+101.25 = 0+7 = 7 < down 100.50+100.25 = 13 -> 23; up 7 > down 100.00 5 -> 30.
    ("close", "two"): (100.75, 100.25, 101.25, 30),
    # one: 10; up 0 < 4 -> 14; up 0 < 9 -> 23; up 0 < 5 -> 28 >= 24.5.  VA 100.00-100.75
    ("close", "one"): (100.75, 100.00, 100.75, 28),
    # tpo, target 0.7 * 14 = 9.8. 100.25 and 100.50 tie at 3; held range 99.75..101.25 has its
    # middle at 100.50, so the VPOC is 100.50.
    # two: 3; up 100.75+101.00 = 4 < down 100.25+100.00 = 5 -> 8; up 4 > down 99.75 1 -> 12.
    ("tpo", "two"): (100.50, 100.00, 101.00, 12),
    # one: 3; up 2 < down 3 -> 6 (100.25); up 2 = down 2 -> up, 8 (100.75); up 2 = down 2 -> up, 10 >= 9.8.
    ("tpo", "one"): (100.50, 100.25, 101.00, 10),
}


@pytest.fixture(scope="module")
def golden():
    return bars_from(ROWS)


@pytest.mark.parametrize("allocation", ["uniform", "close", "tpo"])
def test_levels_by_hand(golden, allocation):
    profile = session_profiles(golden, ProfileSpec(allocation=allocation)).profile(0)
    series = profile.as_series()
    assert series.to_dict() == LEVELS[allocation]
    assert profile.total == (14 if allocation == "tpo" else 35)


@pytest.mark.parametrize(("allocation", "expansion"), list(EXPECTED))
def test_vpoc_and_value_area_by_hand(golden, allocation, expansion):
    spec = ProfileSpec(allocation=allocation, expansion=expansion)
    row = session_profiles(golden, spec).table.iloc[0]
    vpoc, val, vah, inside = EXPECTED[(allocation, expansion)]
    assert (row["vpoc"], row["val"], row["vah"], row["va_volume"]) == (vpoc, val, vah, inside)
    assert row["va_width"] == vah - val
    assert row["volume"] == 35 and row["bars"] == 5
    assert row["poc_volume"] == max(LEVELS[allocation].values())


@pytest.mark.parametrize(("allocation", "expansion"), list(EXPECTED))
def test_reference_loops_agree_by_hand(allocation, expansion):
    bars = [(ref.level(lo, 0.25), ref.level(hi, 0.25), ref.level(c, 0.25), float(v)) for lo, hi, c, v in ROWS]
    s = ref.session(bars, allocation, 0.7, expansion)
    vpoc, val, vah, inside = EXPECTED[(allocation, expansion)]
    assert (s["vpoc"] * 0.25, s["val"] * 0.25, s["vah"] * 0.25, s["va_volume"]) == (vpoc, val, vah, inside)


def test_developing_by_hand(golden):
    # uniform, two-level, bar by bar:
    # after 1: 100.00:3 100.25:3 100.50:3 all tie; middle of 100.00..100.50 is 100.25 -> VPOC 100.25.
    #          target 6.3: 3; up 100.50 (one level) 3 = down 100.00 3 -> up, 6; down 3 -> 9. VA 100.00-100.50
    # after 2: 100.00:3 100.25:5 100.50:6 100.75:3 101.00:2 -> VPOC 100.50; target 13.3:
    #          6; up 3+2 = 5 < down 5+3 = 8 -> 14. VA 100.00-100.50
    # after 3: 99.75:2 100.00:5 100.25:6 100.50:6 100.75:3 101.00:2; 100.25 and 100.50 tie and are
    #          equally near the middle 100.375 -> the lower, 100.25. target 16.8: 6; up 6+3 = 9 >
    #          down 5+2 = 7 -> 15 (to 100.75); up 101.00 2 < down 7 -> 22. VA 99.75-100.75
    # after 4: 100.50 holds 10 -> VPOC 100.50; target 19.6: 10; up 3+2 = 5 < down 6+5 = 11 -> 21.
    # after 5: the finished session, VPOC 100.50, VA 100.00-101.00.
    dev = developing_profile(golden).table
    expected = [(100.25, 100.00, 100.50), (100.50, 100.00, 100.50), (100.25, 99.75, 100.75),
                (100.50, 100.00, 100.50), (100.50, 100.00, 101.00)]
    got = list(dev[["dev_vpoc", "dev_val", "dev_vah"]].itertuples(index=False, name=None))
    assert got == expected
    assert dev["dev_total"].tolist() == [9, 19, 24, 28, 35]


def test_equally_near_tie_takes_the_lower_level():
    # close allocation: 100.00:5 and 100.50:5 tie, held range 100.00..100.50, middle 100.25,
    # both 0.25 away -> the lower, 100.00.
    bars = bars_from([(100.0, 100.5, 100.0, 5), (100.0, 100.5, 100.5, 5)])
    row = session_profiles(bars, ProfileSpec(allocation="close")).table.iloc[0]
    assert row["vpoc"] == 100.00


def test_tie_nearest_the_middle_wins_over_the_lowest():
    # close: 100.00:4, 100.50:4, 101.75:1 -> held range 100.00..101.75, middle 100.875;
    # 100.50 is 0.375 away, 100.00 0.875 -> VPOC 100.50 (not the lowest tied level).
    bars = bars_from([(100.0, 100.0, 100.0, 4), (100.5, 100.5, 100.5, 4), (101.75, 101.75, 101.75, 1)])
    assert session_profiles(bars, ProfileSpec(allocation="close")).table["vpoc"].iloc[0] == 100.50


def test_result_tables_have_the_documented_columns(golden):
    dev = developing_profile(golden)
    assert list(dev.sessions.table.columns) == list(TABLE_COLUMNS)
    assert list(dev.table.columns) == list(DEV_COLUMNS) + list(PRIOR_COLUMNS)
    assert dev.table.index.equals(golden.index)
    assert list(developing_profile(golden, prior=False).table.columns) == list(DEV_COLUMNS)


def test_value_area_share_is_a_fraction_of_the_total(golden):
    table = session_profiles(golden).table
    assert table["va_share"].iloc[0] == pytest.approx(30 / 35)
    assert np.isfinite(table[["vpoc", "val", "vah"]].to_numpy()).all()
    assert isinstance(table.index, pd.RangeIndex)
