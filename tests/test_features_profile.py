"""Profile features are the profile engine's levels, seen from the close, from completed sessions.

The prior system had no VPOC quantity among its model inputs (reference section 4.4). Here every
level-based feature is recomputed from one whole-frame call of the engine (the group calls it
per contract segment; the engine restarts its prior-level state at a roll, so both must agree),
and the migration features are checked to use only sessions completed before the bar's session.
"""

import functools

import numpy as np
import pandas as pd

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.features import build_features
from futures_vpoc.profile import developing_profile, vpoc_migration

TICK = 0.25


@functools.lru_cache(maxsize=1)
def market():
    bars, _ = synthesize(SynthConfig(start="2023-02-13", end="2023-03-24", seed=8, signal=1.0))
    return bars


@functools.lru_cache(maxsize=1)
def table():
    return build_features(market(), groups=["profile"]).frame


@functools.lru_cache(maxsize=1)
def engine():
    return developing_profile(market(), prior=True)


def test_distances_are_the_engine_levels_from_the_close():
    f, dev, close = table(), engine().table, market()["close"]
    for lvl in ("vpoc", "vah", "val"):
        np.testing.assert_array_equal(f[f"profile_dist_dev_{lvl}_ticks"], (close - dev[f"dev_{lvl}"]) / TICK)
        np.testing.assert_array_equal(f[f"profile_dist_prev_{lvl}_ticks"], (close - dev[f"prev_{lvl}"]) / TICK)
    np.testing.assert_array_equal(f["profile_va_width_ticks"], (dev["dev_vah"] - dev["dev_val"]) / TICK)
    np.testing.assert_array_equal(f["profile_naked_count"], dev["naked_count"].astype(float))


def test_atr_units_and_value_area_position():
    f = table().dropna(subset=["profile_dist_dev_vpoc_atr"])
    moved = f["profile_dist_dev_vpoc_ticks"] != 0
    atr = TICK * f.loc[moved, "profile_dist_dev_vpoc_ticks"] / f.loc[moved, "profile_dist_dev_vpoc_atr"]
    assert (atr >= TICK - 1e-12).all()  # ATR floored at one tick
    for lvl in ("vah", "val"):
        ok = moved & (f[f"profile_dist_dev_{lvl}_ticks"] != 0)
        implied = TICK * f.loc[ok, f"profile_dist_dev_{lvl}_ticks"] / f.loc[ok, f"profile_dist_dev_{lvl}_atr"]
        np.testing.assert_allclose(implied, atr[ok[moved]], rtol=1e-12)
    dev = engine().table.loc[f.index]
    close = market()["close"].loc[f.index]
    inside = (close >= dev["dev_val"]) & (close <= dev["dev_vah"])
    assert f.loc[inside, "profile_va_position"].abs().max() <= 0.5
    assert (f.loc[~inside, "profile_va_position"].abs() > 0.5).all()


def test_naked_vpoc_proximity():
    f, dev, close = table(), engine().table, market()["close"]
    unit = (TICK * f["profile_dist_dev_vpoc_ticks"] / f["profile_dist_dev_vpoc_atr"]).where(
        f["profile_dist_dev_vpoc_ticks"] != 0)
    none = dev["naked_above"].isna() & f["profile_naked_above_prox_atr"].notna()
    assert none.any() and (f.loc[none, "profile_naked_above_prox_atr"] == 0).all()
    some = dev["naked_above"].notna() & unit.notna()
    expected = 1 / (1 + (dev["naked_above"] - close) / unit)
    np.testing.assert_allclose(f.loc[some, "profile_naked_above_prox_atr"], expected[some], rtol=1e-12)
    below = f["profile_naked_below_prox_atr"].dropna()
    assert below.between(0, 1).all() and below.std() > 0


def test_migration_uses_completed_sessions_of_the_same_contract_only():
    f, dp = table(), engine()
    sessions = dp.sessions.table
    mig = vpoc_migration(dp.sessions, window=2, min_ticks=1, min_run=2).table
    session_of_bar = dp.table["session"].to_numpy()
    for s in range(len(sessions)):
        bars = session_of_bar == s
        same = s > 0 and sessions["contract"].iat[s - 1] == sessions["contract"].iat[s]
        known = same and np.isfinite(mig["change_ticks"].iat[s - 1])
        got_dir = f.loc[bars, "profile_mig_direction"].to_numpy()
        got_streak = f.loc[bars, "profile_mig_streak"].to_numpy()
        if not known:
            assert np.isnan(got_dir).all() and np.isnan(got_streak).all()
            continue
        assert (got_dir == mig["direction"].iat[s - 1]).all()
        assert (got_streak == mig["streak"].iat[s - 1]).all()
        first = max(0, s - 10)
        while sessions["contract"].iat[first] != sessions["contract"].iat[s]:
            first += 1
        y = sessions["vpoc"].to_numpy()[first:s]
        slope = np.polyfit(np.arange(len(y)), y, 1)[0] / TICK
        np.testing.assert_allclose(f.loc[bars, "profile_mig_slope_ticks"], slope, rtol=1e-9, atol=1e-9)


def test_features_of_a_session_do_not_change_when_the_session_is_cut():
    """Truncation inside one session: the developing levels and migration of earlier bars stay put."""
    bars = market()
    cut = bars.index.searchsorted(pd.Timestamp("2023-03-15 16:00", tz="UTC"))
    pd.testing.assert_frame_equal(build_features(bars.iloc[:cut], groups=["profile"]).frame,
                                  table().iloc[:cut], check_exact=True)
