"""Acceptance 1 and 3 of issue 4 for features: truncation (no feature sees its future) and
chunk-size invariance (``chunk_size`` bounds memory only).

The synthetic market runs 2023-02-20 .. 2023-03-31: the ESH3 -> ESM3 roll on trade date
2023-03-09 and the US daylight-saving change on Sunday 2023-03-12 both lie inside it. Every
registered feature is compared with exact equality; the same explicit ``train_end`` is passed to
every build, since the fitted GARCH parameters and regime edges must come from the same bars.
"""

import functools

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.features import GROUPS, REGISTRY, build_features
from futures_vpoc.features.registry import GROUP_IMPLS

TRAIN_END = pd.Timestamp("2023-03-01", tz="UTC")


@functools.lru_cache(maxsize=1)
def market():
    bars, _ = synthesize(SynthConfig(start="2023-02-20", end="2023-03-31", seed=7))
    return bars


@functools.lru_cache(maxsize=1)
def full_table():
    return build_features(market(), train_end=TRAIN_END).frame


def test_the_market_spans_a_roll_and_a_dst_change():
    bars = market()
    assert bars["contract"].iloc[0] == "ESH3" and bars["contract"].iloc[-1] == "ESM3"
    offsets = bars.index.tz_convert("America/Chicago").map(lambda t: t.utcoffset()).unique()
    assert len(offsets) == 2


EARLY_CUT = "2023-02-28 20:00"  # before train_end: checked with the groups that fit nothing
CUTS = [
    "2023-03-08 21:30",  # last session of ESH3, mid-session
    "2023-03-08 23:00",  # first bar of ESM3 (roll)
    "2023-03-09 15:00",  # inside the first ESM3 session
    "2023-03-13 00:30",  # first session after the DST change
    "2023-03-21 14:31",  # after the VIX percentile has warmed up
]


@pytest.mark.parametrize("cut", CUTS)
def test_prefix_gives_identical_values_for_every_feature(cut):
    bars, full = market(), full_table()
    n = int(bars.index.searchsorted(pd.Timestamp(cut, tz="UTC")))
    prefix = build_features(bars.iloc[:n], train_end=TRAIN_END).frame
    assert_frame_equal(prefix, full.iloc[:n], check_exact=True)


def test_prefix_before_train_end_for_unfitted_groups():
    groups = [g for g in GROUPS if g != "volatility"]
    bars = market()
    n = int(bars.index.searchsorted(pd.Timestamp(EARLY_CUT, tz="UTC")))
    full = build_features(bars, groups=groups).frame
    assert_frame_equal(build_features(bars.iloc[:n], groups=groups).frame, full.iloc[:n], check_exact=True)


def test_truncation_compares_real_values():
    """The overlap holds values for every feature, so the equality above is not vacuous."""
    bars, full = market(), full_table()
    n = int(bars.index.searchsorted(pd.Timestamp(CUTS[-1], tz="UTC")))
    assert full.iloc[:n].notna().any().all()


LONGEST = max(g.lookback for g in GROUP_IMPLS.values())


@pytest.mark.parametrize("chunk_size", [7, LONGEST - 1, 1000, 10**9])
def test_chunk_size_changes_no_value(chunk_size):
    got = build_features(market(), train_end=TRAIN_END, chunk_size=chunk_size).frame
    assert_frame_equal(got, full_table(), check_exact=True)


def test_one_bar_chunks_across_the_roll():
    """chunk_size=1 on the three days around the roll (the whole market would take seconds)."""
    bars = market()
    days = bars.loc["2023-03-06 23:00":"2023-03-09 20:00"]
    end = pd.Timestamp("2023-03-07 12:00", tz="UTC")
    assert days["contract"].nunique() == 2
    assert_frame_equal(build_features(days, train_end=end, chunk_size=1).frame,
                       build_features(days, train_end=end).frame, check_exact=True)


def test_chunk_sizes_include_one_below_the_longest_window():
    assert LONGEST >= 240 and LONGEST - 1 < 240


def test_every_registered_feature_is_in_the_table():
    assert list(full_table().columns) == [s.column for g in GROUPS for s in REGISTRY[g]]
    assert all(full_table().dtypes == np.float64)
