"""VPOC migration: changes, direction, streaks, rolling trend and runs; rolls are not migrations."""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.errors import DataError
from futures_vpoc.profile import ProfileSpec, session_profiles, vpoc_migration

from test_profile_support import frame_from_sessions, synthetic

CLOSE = ProfileSpec(allocation="close")


def sessions_with_vpocs(levels, contracts=None):
    """One one-bar session per VPOC level (close allocation: the VPOC is the close)."""
    frame = frame_from_sessions([[(lv, lv, lv, 10.0)] for lv in levels], contracts)
    return session_profiles(frame, CLOSE)


def test_changes_direction_streak_and_runs_by_hand():
    # VPOC (ticks) 16000 16004 16008 16012 16008 16008 | roll | 16100 16104 16108 16112
    levels = [16000, 16004, 16008, 16012, 16008, 16008, 16100, 16104, 16108, 16112]
    contracts = ["ESH4"] * 6 + ["ESM4"] * 4
    m = vpoc_migration(sessions_with_vpocs(levels, contracts), window=3)
    t = m.table
    np.testing.assert_array_equal(t["change_ticks"], [np.nan, 4, 4, 4, -4, 0, np.nan, 4, 4, 4])
    # percent of the previous VPOC: 1 point on 4000 = 0.025 %
    assert t["change_pct"].iloc[1] == pytest.approx(100 * 1.0 / 4000.0)
    assert t["direction"].tolist() == [0, 1, 1, 1, -1, 0, 0, 1, 1, 1]
    assert t["streak"].tolist() == [0, 1, 2, 3, -1, 0, 0, 1, 2, 3]
    # two runs of three up moves; the roll's +92 ticks is not one of them
    runs = m.runs
    assert len(runs) == 2
    first, second = runs.iloc[0], runs.iloc[1]
    assert (first["direction"], first["moves"], first["change_ticks"]) == (1, 3, 12.0)
    assert (first["vpoc_start"], first["vpoc_end"]) == (4000.0, 4003.0)
    assert first["start_date"] == pd.Timestamp("2024-01-02") and first["end_date"] == pd.Timestamp("2024-01-05")
    assert (second["contract"], second["vpoc_start"], second["vpoc_end"]) == ("ESM4", 4025.0, 4028.0)


def test_rolling_slope_and_r2():
    levels = [16000, 16004, 16008, 16012, 16012, 16012, 16012]
    t = vpoc_migration(sessions_with_vpocs(levels), window=3).table
    # 4000, 4001, 4002: slope 1 point per session, perfect fit
    assert t["slope"].iloc[2] == pytest.approx(1.0) and t["r2"].iloc[2] == pytest.approx(1.0)
    # 4001, 4002, 4003 -> 4002, 4003, 4003: slope 0.5, R2 = 0.75
    assert t["slope"].iloc[4] == pytest.approx(0.5) and t["r2"].iloc[4] == pytest.approx(0.75)
    # flat window: slope 0, R2 undefined -> NaN, no warning
    assert t["slope"].iloc[6] == 0.0 and np.isnan(t["r2"].iloc[6])
    assert t[["slope", "r2"]].iloc[:2].isna().all().all()


def test_regression_window_never_spans_a_roll():
    levels = [16000, 16004, 16008, 16100, 16104, 16108]
    t = vpoc_migration(sessions_with_vpocs(levels, ["ESH4"] * 3 + ["ESM4"] * 3), window=3).table
    assert np.isfinite(t["slope"].iloc[2]) and np.isfinite(t["slope"].iloc[5])
    assert t["slope"].iloc[3:5].isna().all()


def test_min_ticks_filters_small_moves():
    t = vpoc_migration(sessions_with_vpocs([16000, 16001, 16004, 16003]), min_ticks=2).table
    assert t["direction"].tolist() == [0, 0, 1, 0]


def test_bad_settings_are_rejected():
    with pytest.raises(DataError):
        vpoc_migration(sessions_with_vpocs([16000, 16001]), window=1)


def test_migration_on_the_synthetic_market_is_nan_at_the_roll():
    sessions = session_profiles(synthetic("2023-03-06", "2023-03-14"))
    t = vpoc_migration(sessions, window=3).table
    roll = int(np.flatnonzero(t["contract"].to_numpy() != t["contract"].iloc[0])[0])
    assert np.isnan(t["change_ticks"].iloc[roll]) and t["direction"].iloc[roll] == 0
    expected = (sessions.table["vpoc"].diff() / 0.25).to_numpy().copy()
    expected[roll] = np.nan
    np.testing.assert_array_equal(t["change_ticks"].to_numpy(), expected)
