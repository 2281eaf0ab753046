"""Acceptance 3: removing every bar after t leaves every developing value at or before t unchanged.

Tested on the synthetic market over seven sessions that include the ESH3 -> ESM3 roll.
"""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.errors import DataError
from futures_vpoc.profile import ProfileSpec, developing_profile, session_profiles

from test_profile_support import synthetic


@pytest.fixture(scope="module")
def market():
    bars = synthetic("2023-03-06", "2023-03-14")
    assert bars["contract"].nunique() == 2  # the roll is inside the window
    return bars


def _cuts(bars):
    """Bar positions to cut after: edges of sessions, the roll, and a few inside sessions."""
    new = np.flatnonzero(np.r_[True, bars["trade_date"].to_numpy()[1:] != bars["trade_date"].to_numpy()[:-1]])
    roll = int(np.flatnonzero(bars["contract"].to_numpy() != bars["contract"].iloc[0])[0])
    rth = np.flatnonzero(bars["rth"].to_numpy())
    return sorted({0, 1, int(new[1]) - 1, int(new[1]), roll - 1, roll, roll + 700, int(rth[400]), int(rth[400]) + 390,
                   len(bars) - 2})


@pytest.mark.parametrize("scope", ["globex", "rth", "eth"])
def test_truncating_the_future_changes_nothing_before(market, scope):
    spec = ProfileSpec(scope=scope, allocation="uniform")
    full = developing_profile(market, spec).table
    for t in _cuts(market):
        prefix = market.iloc[: t + 1]
        if scope == "rth" and not prefix["rth"].any():
            with pytest.raises(DataError, match="no RTH bars"):  # nothing to profile yet: said so
                developing_profile(prefix, spec)
            assert (full["session"].iloc[: t + 1] == -1).all()
            continue
        pd.testing.assert_frame_equal(developing_profile(prefix, spec).table, full.iloc[: t + 1], check_exact=True)


@pytest.mark.parametrize("allocation", ["close", "tpo"])
def test_truncation_for_the_other_allocations(market, allocation):
    spec = ProfileSpec(allocation=allocation, expansion="one")
    full = developing_profile(market, spec).table
    for t in _cuts(market)[::2]:
        pd.testing.assert_frame_equal(developing_profile(market.iloc[: t + 1], spec).table, full.iloc[: t + 1],
                                      check_exact=True)


def test_developing_value_is_the_finished_profile_of_the_prefix(market):
    # the definition on realistic sessions (hundreds of levels, long value areas)
    full = developing_profile(market, prior=False).table
    for t in _cuts(market):
        last = session_profiles(market.iloc[: t + 1]).table.iloc[-1]
        assert tuple(full[["dev_vpoc", "dev_val", "dev_vah"]].iloc[t]) == (last["vpoc"], last["val"], last["vah"])


def test_prior_levels_never_use_the_running_session(market):
    dev = developing_profile(market)
    table, sessions = dev.table, dev.sessions.table
    own = table["session"].to_numpy()
    prev = table["prev_session"].to_numpy()
    assert ((prev < own) | (prev == -1)).all()
    # and they are the previous session's finished values, only from the same contract
    has = prev >= 0
    np.testing.assert_array_equal(table["prev_vpoc"].to_numpy()[has], sessions["vpoc"].to_numpy()[prev[has]])
    assert (sessions["contract"].to_numpy()[prev[has]] == market["contract"].to_numpy()[has]).all()
