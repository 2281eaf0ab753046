"""The fast paths of the profile kernels equal the plain definitions they replace.

- the uniform split as runs of levels (:func:`~futures_vpoc.profile.kernels.uniform_runs`) equals
  the level-by-level rule (:func:`~futures_vpoc.profile.kernels.uniform_amount`), bit for bit;
- the incremental value area of the developing kernel (exact integer sums: the recorded walk is
  re-checked only where a bar changed it) equals the value area recomputed from scratch at every
  bar (:func:`futures_vpoc.profile.reference.developing`), on sessions built to stress it: ties,
  zero volumes, single-price sessions, a roll inside a trade date, fractional volumes arriving
  mid-session (the switch out of the exact mode), huge volumes, and long wandering sessions;
  long sessions with price jumps as well, whose walks outgrow the window of states looked at
  around the previous bar's first changed step (the search falls back to bisection on either
  side) and reach both the two-level steps far from the profile's edges and those at the edges;
- the live profile (:class:`~futures_vpoc.profile.live.LiveProfile`), which shares the per-bar
  step, equals the batch developing profile on the same sessions, its grid growing or not.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futures_vpoc.profile import ProfileSpec, developing_profile, session_profiles
from futures_vpoc.profile import reference as ref
from futures_vpoc.profile.kernels import close_rank, split_volume, uniform_amount, uniform_runs
from futures_vpoc.profile.kernels.allocation import first_ranks
from futures_vpoc.profile.live import LiveProfile

from test_profile_support import BASE_LEVEL, TICK, frame_from_sessions

SPECS = st.builds(ProfileSpec, allocation=st.sampled_from(["uniform", "close", "tpo"]),
                  expansion=st.sampled_from(["two", "one"]),
                  value_area=st.sampled_from([0.7, 0.5, 0.68, 0.9, 1.0, 0.01]))


def _price(level):
    return np.nan if level is None else level * TICK


def _levels_by_rule(v, lo, hi, c):
    q, r = split_volume(v, hi - lo + 1)
    return [uniform_amount(q, r, k, c, lo, hi) for k in range(lo, hi + 1)]


def _levels_by_runs(v, lo, hi, c):
    q, a, b, f, qf = uniform_runs(v, lo, hi, c)
    return [qf if k == f else (q + 1.0 if a <= k <= b else q) for k in range(lo, hi + 1)]


def test_first_ranks_are_the_levels_of_lowest_close_rank():
    for lo in range(3):
        for hi in range(lo, lo + 13):
            for c in range(lo, hi + 1):
                for m in range(hi - lo + 2):
                    a, b = first_ranks(m, c, lo, hi)
                    want = [k for k in range(lo, hi + 1) if close_rank(k, c, lo, hi) < m]
                    assert list(range(a, b + 1)) == want


@settings(max_examples=400, deadline=None)
@given(lo=st.integers(0, 5), width=st.integers(0, 20), where=st.floats(0, 1),
       v=st.one_of(st.integers(0, 10_000).map(float), st.floats(0, 1e4), st.floats(0, 1e-3),
                   st.integers(2**53, 2**60).map(float)))
def test_uniform_runs_equal_the_level_by_level_rule(lo, width, where, v):
    hi = lo + width
    c = lo + int(round(where * width))
    got = np.array(_levels_by_runs(v, lo, hi, c))
    want = np.array(_levels_by_rule(v, lo, hi, c))
    assert got.tobytes() == want.tobytes()  # bit for bit


@st.composite
def stress_session(draw):
    """One session of tick bars built to stress the incremental value area."""
    kind = draw(st.sampled_from(["ties", "wander", "single", "zeros", "mixed", "huge"]))
    n = draw(st.integers(1, 30))
    level, bars = BASE_LEVEL, []
    for _ in range(n):
        if kind == "single":
            low = high = BASE_LEVEL
        else:
            level += draw(st.integers(-3, 3))
            low, high = level, level + draw(st.integers(0, 4))
        close = draw(st.integers(low, high))
        if kind == "ties":
            volume = float(draw(st.integers(0, 2)))
        elif kind == "zeros":
            volume = float(draw(st.sampled_from([0, 0, 0, 1, 5])))
        elif kind == "mixed":  # integers, then a fraction now and then: the exact mode ends mid-session
            volume = draw(st.one_of(st.integers(0, 60).map(float), st.floats(0, 60)))
        elif kind == "huge":  # totals beyond 2**53: the exact mode ends
            volume = float(draw(st.sampled_from([3, 2**52, 2**53 + 2, 7])))
        else:
            volume = float(draw(st.integers(0, 400)))
        bars.append((low, high, close, volume))
    return bars


def _roll_frame(sessions):
    """Frame of the sessions where sessions 0 and 1 share a trade date, two contracts (a roll)."""
    frame = frame_from_sessions(sessions, contracts=["ESH4", "ESM4"] + ["ESM4"] * (len(sessions) - 2))
    if len(sessions) > 1:
        first = frame["trade_date"].iloc[0]
        rows = np.arange(len(sessions[0]), len(sessions[0]) + len(sessions[1]))
        frame.iloc[rows, frame.columns.get_loc("trade_date")] = first
    return frame


@settings(max_examples=300, deadline=None)
@given(sessions=st.lists(stress_session(), min_size=1, max_size=3), spec=SPECS, roll=st.booleans())
def test_incremental_value_area_equals_recomputation_at_every_bar(sessions, spec, roll):
    frame = _roll_frame(sessions) if roll else frame_from_sessions(sessions)
    dev = developing_profile(frame, spec, prior=False).table
    assert dev["session"].nunique() == len(sessions)
    want = [tuple(_price(x) for x in v) for bars in sessions
            for v in ref.developing(bars, spec.allocation, spec.value_area, spec.expansion)]
    got = dev[["dev_vpoc", "dev_val", "dev_vah"]].to_numpy()
    np.testing.assert_array_equal(got, np.array(want, dtype=float))
    finished = session_profiles(frame, spec).table
    last = np.cumsum([len(s) for s in sessions]) - 1
    np.testing.assert_array_equal(got[last], finished[["vpoc", "val", "vah"]].to_numpy(float))


@st.composite
def long_session(draw):
    """A long session (hundreds of bars) that drifts and now and then jumps far (seeded numbers)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(150, 400))
    jump = draw(st.sampled_from([0.0, 0.03, 0.1]))
    top = draw(st.sampled_from([3, 40, 500]))  # small volumes tie often
    moves = rng.integers(-2, 3, n) + (rng.random(n) < jump) * rng.integers(-25, 26, n)
    lows = BASE_LEVEL + moves.cumsum()
    widths = rng.integers(0, 16, n)
    closes = lows + (rng.random(n) * (widths + 1)).astype(int)
    volumes = rng.integers(0, top + 1, n).astype(float)
    return [(int(lo), int(lo + w), int(c), v) for lo, w, c, v in zip(lows, widths, closes, volumes)]


@settings(max_examples=40, deadline=None)
@given(bars=long_session(), allocation=st.sampled_from(["uniform", "tpo"]),
       expansion=st.sampled_from(["two", "one"]), share=st.sampled_from([0.7, 0.3, 0.95]))
def test_long_sessions_with_jumps_equal_recomputation_at_every_bar(bars, allocation, expansion, share):
    spec = ProfileSpec(allocation=allocation, expansion=expansion, value_area=share)
    dev = developing_profile(frame_from_sessions([bars]), spec, prior=False).table
    want = [tuple(_price(x) for x in v) for v in ref.developing(bars, allocation, share, expansion)]
    np.testing.assert_array_equal(dev[["dev_vpoc", "dev_val", "dev_vah"]].to_numpy(), np.array(want, dtype=float))


def _live_levels(sessions, spec, width=None, monkeypatch=None):
    if width is not None:
        monkeypatch.setattr("futures_vpoc.profile.live.WIDTH", width)
    live = LiveProfile(spec)
    out = []
    for j, bars in enumerate(sessions):
        if j:
            live.end_session()
            live.start_session()
        for low, high, close, volume in bars:
            live.add(low * TICK, high * TICK, close * TICK, volume)
            out.append(live.levels())
    return np.array(out) * TICK


@settings(max_examples=150, deadline=None)
@given(sessions=st.lists(stress_session(), min_size=1, max_size=3),
       allocation=st.sampled_from(["uniform", "close", "tpo"]), expansion=st.sampled_from(["two", "one"]))
def test_live_profile_equals_the_batch_developing_profile(sessions, allocation, expansion):
    spec = ProfileSpec(allocation=allocation, expansion=expansion)
    batch = developing_profile(frame_from_sessions(sessions), spec, prior=False).table
    np.testing.assert_array_equal(_live_levels(sessions, spec), batch[["dev_vpoc", "dev_val", "dev_vah"]].to_numpy())


@pytest.mark.parametrize("allocation", ["uniform", "tpo"])
def test_live_profile_with_a_growing_grid_on_a_mixed_session(allocation, monkeypatch):
    rng = np.random.default_rng(7)
    steps = rng.integers(-3, 4, 300).cumsum()
    volume = rng.integers(0, 300, 300).astype(float)
    volume[150:] += rng.uniform(0, 1, 150) * (rng.random(150) < 0.1)  # fractions arrive mid-session
    bars = [(BASE_LEVEL + s, BASE_LEVEL + s + int(w), BASE_LEVEL + s + int(w) // 2, v)
            for s, w, v in zip(steps, rng.integers(0, 6, 300), volume)]
    sessions = [bars[:120], bars[120:]]
    spec = ProfileSpec(allocation=allocation)
    batch = developing_profile(frame_from_sessions(sessions), spec, prior=False).table
    want = batch[["dev_vpoc", "dev_val", "dev_vah"]].to_numpy()
    np.testing.assert_array_equal(_live_levels(sessions, spec, width=4, monkeypatch=monkeypatch), want)
    ref_levels = [tuple(_price(x) for x in v) for s in sessions
                  for v in ref.developing(s, allocation, spec.value_area, spec.expansion)]
    np.testing.assert_array_equal(want, np.array(ref_levels, dtype=float))


def test_roll_frame_builds_two_sessions_on_one_trade_date():
    one = [(BASE_LEVEL, BASE_LEVEL + 1, BASE_LEVEL, 3.0)]
    frame = _roll_frame([one, one, one])
    table = session_profiles(frame).table
    assert len(table) == 3 and table["trade_date"].iloc[0] == table["trade_date"].iloc[1]
    assert list(table["contract"]) == ["ESH4", "ESM4", "ESM4"]
    assert isinstance(table["trade_date"].iloc[0], pd.Timestamp)
