"""The numba kernels equal the plain reference loops (hypothesis), and the invariants of acceptance 2."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futures_vpoc.profile import ProfileSpec, developing_profile, session_profiles
from futures_vpoc.profile import reference as ref

from test_profile_support import TICK, frame_from_sessions, sessions_strategy

SPECS = st.builds(ProfileSpec, allocation=st.sampled_from(["uniform", "close", "tpo"]),
                  expansion=st.sampled_from(["two", "one"]),
                  value_area=st.sampled_from([0.7, 0.5, 0.68, 0.9, 1.0, 0.01]))


def _ref_sessions(sessions, spec):
    return [ref.session(bars, spec.allocation, spec.value_area, spec.expansion) for bars in sessions]


def _price(level):
    return np.nan if level is None else level * TICK


@settings(max_examples=250, deadline=None)
@given(sessions=sessions_strategy(fractional=False), spec=SPECS)
def test_finished_profiles_equal_the_reference(sessions, spec):
    got = session_profiles(frame_from_sessions(sessions), spec)
    for j, want in enumerate(_ref_sessions(sessions, spec)):
        row = got.table.iloc[j]
        np.testing.assert_array_equal(row[["vpoc", "val", "vah"]].to_numpy(float),
                                      [_price(want["vpoc"]), _price(want["val"]), _price(want["vah"])])
        assert row["va_volume"] == want["va_volume"] and row["profile_total"] == want["total"]
        profile = got.profile(j)
        held = {int(k): v for k, v in zip(profile.levels, profile.volume) if v != 0}
        assert held == {k: v for k, v in want["hist"].items() if v != 0}


@settings(max_examples=120, deadline=None)
@given(sessions=sessions_strategy(fractional=True), spec=SPECS)
def test_fractional_volumes_give_bit_identical_results(sessions, spec):
    got = session_profiles(frame_from_sessions(sessions), spec)
    for j, want in enumerate(_ref_sessions(sessions, spec)):
        profile = got.profile(j)
        held = {int(k): v for k, v in zip(profile.levels, profile.volume) if v != 0}
        assert held == {k: v for k, v in want["hist"].items() if v != 0}
        assert (profile.vpoc, profile.val, profile.vah) == pytest.approx(
            (_price(want["vpoc"]), _price(want["val"]), _price(want["vah"])), nan_ok=True)


@settings(max_examples=150, deadline=None)
@given(sessions=sessions_strategy(max_sessions=2, max_bars=10, fractional=False), spec=SPECS)
def test_developing_values_equal_the_reference_recomputed_at_every_bar(sessions, spec):
    dev = developing_profile(frame_from_sessions(sessions), spec, prior=False).table
    want = [tuple(_price(x) for x in v) for bars in sessions
            for v in ref.developing(bars, spec.allocation, spec.value_area, spec.expansion)]
    got = dev[["dev_vpoc", "dev_val", "dev_vah"]].to_numpy()
    np.testing.assert_array_equal(got, np.array(want, dtype=float))


@settings(max_examples=200, deadline=None)
@given(sessions=sessions_strategy(fractional=False), spec=SPECS)
def test_invariants(sessions, spec):
    frame = frame_from_sessions(sessions)
    got = session_profiles(frame, spec)
    dev = developing_profile(frame, spec, prior=False).table
    last = np.cumsum([len(s) for s in sessions]) - 1
    for j, bars in enumerate(sessions):
        p = got.profile(j)
        row = got.table.iloc[j]
        # volume conservation, exact: the profile total is the bars' volume (TPO: the level count)
        expect = sum(hi - lo + 1 for lo, hi, _, _ in bars) if spec.allocation == "tpo" else sum(b[3] for b in bars)
        assert p.volume.sum() == expect == p.total
        assert row["volume"] == sum(b[3] for b in bars)
        # developing values at the session's last bar are the finished session's
        np.testing.assert_array_equal(dev[["dev_vpoc", "dev_val", "dev_vah"]].iloc[last[j]].to_numpy(float),
                                      [p.vpoc, p.val, p.vah])
        if p.total == 0 or p.volume.max() == 0:
            assert np.isnan(p.vpoc) and np.isnan(p.val)
            continue
        inside = (p.prices >= p.val) & (p.prices <= p.vah)
        # the VPOC holds the most volume and sits in the value area
        assert p.val <= p.vpoc <= p.vah
        assert p.volume[p.prices == p.vpoc][0] == p.volume.max() == p.poc_volume
        # contiguous: the area's volume is every level between VAL and VAH, no gap skipped
        assert p.va_volume == p.volume[inside].sum()
        # at least the target share
        assert p.va_volume >= spec.value_area * p.total
        # within the levels that hold volume
        held = p.prices[p.volume > 0]
        assert held.min() <= p.val and p.vah <= held.max()


@settings(max_examples=100, deadline=None)
@given(sessions=sessions_strategy(fractional=True), spec=SPECS)
def test_fractional_volume_is_conserved_to_rounding(sessions, spec):
    got = session_profiles(frame_from_sessions(sessions), spec)
    for j, bars in enumerate(sessions):
        p = got.profile(j)
        if spec.allocation != "tpo":
            assert p.total == sum(b[3] for b in bars)
            assert p.volume.sum() == pytest.approx(p.total, rel=1e-12, abs=1e-12)
            if p.volume.max() > 0:
                assert p.va_volume >= spec.value_area * p.total * (1 - 1e-12)


@given(st.integers(0, 10**12), st.integers(1, 400))
def test_uniform_split_is_exact_for_integer_volumes(volume, n):
    amounts = ref.allocate(0, n - 1, n // 2, float(volume), "uniform")
    assert sum(amounts.values()) == volume
    assert max(amounts.values()) - min(amounts.values()) <= 1


@st.composite
def walking_session(draw):
    """A longer session whose price wanders, so bars often trade away from the VPOC and the
    developing kernel resumes its value-area expansion part-way (the incremental path)."""
    n = draw(st.integers(20, 45))
    steps = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    widths = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    volumes = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n))
    level, bars = 16_000, []
    for step, width, volume in zip(steps, widths, volumes):
        level += step
        close = level + draw(st.integers(0, width))
        bars.append((level, level + width, close, float(volume)))
    return bars


@settings(max_examples=60, deadline=None)
@given(bars=walking_session(), spec=SPECS)
def test_incremental_value_area_equals_recomputation_on_wandering_sessions(bars, spec):
    dev = developing_profile(frame_from_sessions([bars]), spec, prior=False).table
    want = [tuple(_price(x) for x in v) for v in ref.developing(bars, spec.allocation, spec.value_area,
                                                                   spec.expansion)]
    np.testing.assert_array_equal(dev[["dev_vpoc", "dev_val", "dev_vah"]].to_numpy(), np.array(want, dtype=float))
