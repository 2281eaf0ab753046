"""VIX features reach the table, vary, and track the BarFrame's as-of VIX column.

The prior system's ``vix_lagged`` looked for a column ``VIX`` after the loader had renamed it
``vix`` and so was the constant 20 (its reference, section 8.4 item 28). Here the level is the
column itself, a frame without the column is an error, and each VIX feature is recomputed from
the column by an independent pandas route.
"""

import functools

import numpy as np
import pytest

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError
from futures_vpoc.features import build_features


@functools.lru_cache(maxsize=1)
def market():
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-04-28", seed=9))
    return bars


@functools.lru_cache(maxsize=1)
def vix_table():
    return build_features(market(), groups=["vix"]).frame


def test_level_is_the_as_of_column_itself():
    np.testing.assert_array_equal(vix_table()["vix_level"].to_numpy(), market()["vix"].to_numpy())


def test_change_is_the_log_change_between_consecutive_published_closes():
    v = market()["vix"]
    published = v[v.ne(v.shift()) & v.notna()]  # each new close, at the first bar that sees it
    change = np.log(published / published.shift())
    expected = change.reindex(v.index).ffill()
    np.testing.assert_allclose(vix_table()["vix_change"].to_numpy(), expected.to_numpy(), rtol=1e-15)
    assert vix_table()["vix_change"].nunique() > 50


def test_percentile_against_previous_session_ends():
    bars = market()
    day_end = bars.groupby("trade_date")["vix"].last().dropna()
    got = vix_table()["vix_pct_252_sessions"]
    rng = np.random.default_rng(0)
    for i in rng.choice(len(bars), 300, replace=False):
        held = day_end[day_end.index < bars["trade_date"].iloc[i]].iloc[-252:]
        v = bars["vix"].iloc[i]
        if len(held) < 20 or np.isnan(v):
            assert np.isnan(got.iloc[i])
            continue
        expected = ((held < v).sum() + 0.5 * (held == v).sum()) / len(held)
        assert got.iloc[i] == pytest.approx(expected, abs=1e-15)


def test_vix_features_vary_and_track_vix():
    f, v = vix_table(), market()["vix"]
    warm = f.notna().all(axis=1)
    assert warm.mean() > 0.7
    for col in f.columns:
        assert f.loc[warm, col].std() > 0, col
    assert np.corrcoef(f.loc[warm, "vix_pct_252_sessions"], v[warm])[0, 1] > 0.5


def test_rv_ratio_is_vix_over_annualized_realized_vol_within_each_contract():
    bars = market()
    r = np.log(bars["close"]).groupby(bars["contract"]).diff()  # NaN at each contract's first bar
    mean_sq = (r * r).groupby(bars["contract"]).transform(lambda x: x.rolling(240).mean())
    rv_ann = np.sqrt(mean_sq * 252 * 1380)  # 1-minute bars: 1380 per 23-hour session
    expected = np.log(bars["vix"] / 100) - np.log(rv_ann)
    got = vix_table()["vix_rv_ratio_240"]
    np.testing.assert_array_equal(got.isna(), expected.isna())
    np.testing.assert_allclose(got.dropna(), expected.dropna(), rtol=1e-9)


def test_a_frame_without_the_vix_column_is_an_error_not_a_constant():
    bars = market().iloc[:5000].rename(columns={"vix": "VIX"})
    with pytest.raises(DataError, match="vix"):
        build_features(bars, groups=["vix"])
