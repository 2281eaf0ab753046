"""The registry: every feature has a name, group, lag, unit and one line of description, and the
table holds exactly the registered features of the chosen groups; bad arguments are one-line
usage errors."""

import re

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.features import GROUPS, REGISTRY, FeatureSpec, FeatureTable, all_specs, build_features


def small_market():
    bars, _ = synthesize(SynthConfig(start="2023-03-06", end="2023-03-10", seed=2))
    return bars


def test_groups_are_the_issue_groups():
    assert GROUPS == ("price", "volume", "volatility", "profile", "vix", "calendar", "technical")
    assert tuple(REGISTRY) == GROUPS


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.column)
def test_every_spec_is_complete(spec):
    assert isinstance(spec, FeatureSpec)
    assert re.fullmatch(r"[a-z0-9_]+", spec.name)
    assert spec.column == f"{spec.group}_{spec.name}"
    assert spec.lag == 0  # every feature uses bar t's close at the latest
    assert spec.unit.strip() and spec.description.strip() and "\n" not in spec.description
    assert not re.search(r"\d+d\b|_\d+h\b", spec.name), "counts in names are bars or say sessions"
    assert spec.warmup.unit in ("none", "bars", "contract_sessions", "sessions", "vix_closes")
    assert ("sessions" in spec.warmup.unit) <= ("session" in spec.name or spec.group == "profile" or
                                                spec.name == "gap_session_open")


def test_names_are_unique_and_the_issue_contents_are_there():
    columns = [s.column for s in all_specs()]
    assert len(columns) == len(set(columns))
    for needed in ("price_ret_5", "price_ret_session", "price_gap_session_open", "volume_rel_tod_10_sessions",
                   "volume_rel_tod_sessions",
                   "volume_session_cum_log", "volatility_garch_sigma", "volatility_regime",
                   "volatility_parkinson_30", "volatility_atr_ratio_14_100", "profile_dist_dev_vpoc_ticks",
                   "profile_dist_dev_vah_atr", "profile_va_position", "profile_dist_prev_vpoc_ticks",
                   "profile_naked_above_prox_atr", "profile_va_width_ticks", "profile_mig_slope_ticks",
                   "profile_mig_direction", "profile_mig_streak", "vix_level", "vix_change",
                   "vix_pct_252_sessions",
                   "vix_z_sessions", "vix_rv_ratio_240", "calendar_tod_sin", "calendar_minutes_since_open",
                   "calendar_minutes_to_close", "calendar_day_of_week", "calendar_rth", "calendar_days_to_roll",
                   "technical_rsi_14", "technical_macd_cross", "technical_bb_position_20"):
        assert needed in columns


def test_table_matches_the_chosen_groups_in_groups_order():
    bars = small_market()
    table = build_features(bars, groups=["vix", "price", "vix"])
    assert isinstance(table, FeatureTable)
    assert table.specs == REGISTRY["price"] + REGISTRY["vix"]
    assert list(table.frame.columns) == [s.column for s in table.specs]
    assert table.frame.index.equals(bars.index)
    assert (table.frame.dtypes == np.float64).all()
    assert table.warmup_rows == int(table.frame.isna().any(axis=1).sum())


@pytest.mark.parametrize("groups", [["prices"], ["price", "nope"], []])
def test_unknown_or_no_group_is_a_usage_error_listing_the_valid_ones(groups):
    with pytest.raises(UsageError) as err:
        build_features(small_market(), groups=groups)
    assert "price, volume, volatility, profile, vix, calendar, technical" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("chunk_size", [0, -5, 2.5, True, "100"])
def test_bad_chunk_size_is_a_usage_error(chunk_size):
    with pytest.raises(UsageError, match="chunk_size"):
        build_features(small_market(), groups=["price"], chunk_size=chunk_size)


def test_bad_bars_are_data_errors():
    bars = small_market()
    with pytest.raises(DataError, match="NaN"):
        broken = bars.copy()
        broken.iloc[10, broken.columns.get_loc("close")] = np.nan
        build_features(broken, groups=["price"])
    with pytest.raises(DataError, match="price <= 0"):
        negative = bars.copy()
        for col in ("open", "high", "low", "close"):
            negative[col] = negative[col] - 5000.0
        build_features(negative, groups=["price"])
    with pytest.raises(UsageError, match="train_end"):
        build_features(bars, train_end="not a time")


def test_naive_train_end_is_utc():
    bars = small_market()
    a = build_features(bars, groups=["volatility"], train_end="2023-03-08 12:00").frame
    b = build_features(bars, groups=["volatility"], train_end=pd.Timestamp("2023-03-08 12:00", tz="UTC")).frame
    pd.testing.assert_frame_equal(a, b, check_exact=True)
