"""Prior-session levels and naked VPOCs: by hand, against the reference loops, and across a roll."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futures_vpoc.errors import DataError
from futures_vpoc.profile import ProfileSpec, developing_profile
from futures_vpoc.profile import reference as ref
from futures_vpoc.profile.grid import prepare
from futures_vpoc.profile.levels import prior_table
from futures_vpoc.profile.session import build_sessions

from test_profile_support import TICK, bars_from, frame_from_sessions, sessions_strategy


@st.composite
def market(draw):
    """Sessions with a roll somewhere and one RTH window (maybe empty) inside each session."""
    sessions = draw(sessions_strategy(max_sessions=5, max_bars=8))
    roll = draw(st.integers(0, len(sessions)))
    contracts = ["ESH4" if j < roll else "ESM4" for j in range(len(sessions))]
    rth = []
    for bars in sessions:
        a = draw(st.integers(0, len(bars)))
        b = draw(st.integers(a, len(bars)))
        rth += [a <= i < b for i in range(len(bars))]
    return sessions, contracts, rth


@settings(max_examples=200, deadline=None)
@given(data=market(), scope=st.sampled_from(["globex", "rth", "eth"]),
       allocation=st.sampled_from(["uniform", "close", "tpo"]))
def test_prior_levels_equal_the_reference(data, scope, allocation):
    sessions, contracts, rth = data
    frame = frame_from_sessions(sessions, contracts, rth)
    spec = ProfileSpec(scope=scope, allocation=allocation)
    try:
        g = prepare(frame, spec)
    except DataError:
        assert scope != "globex" and not (frame["rth"] if scope == "rth" else ~frame["rth"]).any()
        return
    profiles = build_sessions(g, spec)
    got = prior_table(g, profiles)
    bars = list(zip(g.low.tolist(), g.high.tolist()))
    keys = list(zip(frame["trade_date"], frame["contract"]))
    ranges = [(int(g.take[a]), int(g.take[b - 1]) + 1) for a, b in zip(g.bounds[:-1], g.bounds[1:])]
    vpocs = [None if np.isnan(v) else round(v / TICK) for v in profiles.table["vpoc"]]
    want = ref.prior_levels(bars, keys, ranges, vpocs, scope)
    assert got["prev_session"].tolist() == [-1 if w["prev"] is None else w["prev"] for w in want]
    for col, key in (("naked_above", "above"), ("naked_below", "below")):
        expect = [np.nan if w[key] is None else w[key] * TICK for w in want]
        np.testing.assert_array_equal(got[col].to_numpy(), expect)
    assert got["naked_count"].tolist() == [w["count"] for w in want]


def _day(start, rows, contract="ESH4"):
    return bars_from(rows, start=start, contract=contract)


def test_naked_vpoc_by_hand():
    # Day 1 (close allocation): the whole volume at 100.00 -> VPOC 100.00.
    # Day 2: trades 101.00-101.50, VPOC 101.25; 100.00 is still naked (below).
    # Day 3 bar 1 trades 100.75-101.00: touches neither. Bar 2 trades 100.00-100.25: erases 100.00.
    d1 = _day("2024-03-05 14:30", [(100.0, 100.0, 100.0, 50)])
    d2 = _day("2024-03-06 14:30", [(101.0, 101.5, 101.25, 50)])
    d3 = _day("2024-03-07 14:30", [(100.75, 101.0, 100.75, 5), (100.0, 100.25, 100.25, 5)])
    dev = developing_profile(pd.concat([d1, d2, d3]), ProfileSpec(allocation="close")).table
    day3 = dev.iloc[2:]
    assert day3["prev_vpoc"].tolist() == [101.25, 101.25]
    # bar 1 of day 3: close 100.75; 101.25 above is 2 ticks away, 100.00 below 3 ticks away
    assert (day3["naked_above"].iloc[0], day3["naked_above_ticks"].iloc[0]) == (101.25, 2.0)
    assert (day3["naked_below"].iloc[0], day3["naked_below_ticks"].iloc[0]) == (100.00, 3.0)
    assert day3["naked_count"].iloc[0] == 2
    # bar 2 traded through 100.00: only 101.25 is left, 4 ticks above the close 100.25
    assert np.isnan(day3["naked_below"].iloc[1]) and day3["naked_count"].iloc[1] == 1
    assert day3["naked_above_ticks"].iloc[1] == 4.0
    # day 1 has no prior session; its own developing VPOC is never a prior level
    assert dev["prev_session"].iloc[0] == -1 and np.isnan(dev["prev_vpoc"].iloc[0])


def test_levels_restart_at_a_roll_inside_one_trade_date():
    # one trade date: ESH4 bars, then ESM4 bars 20 points higher -> two sessions, and the ESM4
    # bars see no prior level of ESH4 (prices of another contract)
    old = _day("2024-03-13 14:30", [(5000.0, 5001.0, 5000.5, 10)] * 3, contract="ESH4")
    new = _day("2024-03-13 14:33", [(5020.0, 5021.0, 5020.5, 10)] * 3, contract="ESM4")
    dev = developing_profile(pd.concat([old, new]))
    assert dev.sessions.table["contract"].tolist() == ["ESH4", "ESM4"]
    assert (dev.sessions.table["trade_date"] == pd.Timestamp("2024-03-13")).all()
    assert (dev.table["prev_session"] == -1).all() and dev.table["naked_count"].eq(0).all()
    assert dev.table["session"].tolist() == [0, 0, 0, 1, 1, 1]
    assert dev.sessions.find("2024-03-13") == [0, 1] and dev.sessions.find("2024-03-14") == []


def test_rth_scope_levels_are_ready_after_the_close():
    # RTH 08:30-15:00 CT; the 15:00 CT bar (ETH) already sees that day's RTH VPOC as prior
    rows = [(100.0, 100.0, 100.0, 10)] * 3
    day = _day("2024-03-07 20:57", rows)  # 14:57, 14:58, 14:59 CT
    after = _day("2024-03-07 21:00", [(101.0, 101.0, 101.0, 1)])  # 15:00 CT, ETH
    dev = developing_profile(pd.concat([day, after]), ProfileSpec(scope="rth", allocation="close")).table
    assert dev["session"].tolist() == [0, 0, 0, -1]
    assert np.isnan(dev["dev_vpoc"].iloc[3]) and dev["prev_vpoc"].iloc[3] == 100.0


def test_interrupted_rth_window_is_rejected():
    frame = frame_from_sessions([[(16000, 16001, 16000, 1.0)] * 3], rth=[True, False, True])
    with pytest.raises(DataError, match="interrupted"):
        developing_profile(frame, ProfileSpec(scope="rth"))
