"""No window or recursion on prices spans a contract roll (issue 4, "Rolling windows never span a
roll on unadjusted prices"; prior system section 8.4 item 29-30 and 4.5).

Strongest form: the features of the second contract computed inside the whole frame equal those
computed from the second contract's bars alone. Exceptions, each tested for what it is instead:
the GARCH parameters and regime edges are fit on the training part (different bars here), the
per-clock-minute volume norms and the VIX trailing year span rolls on purpose (documented in
``features.volume`` and ``features.vix``).
"""

import functools

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.features import all_specs, build_features
from futures_vpoc.features.fit import fit, segment_returns
from futures_vpoc.features.segments import bar_arrays

FITTED = {"volatility_garch_sigma", "volatility_regime"}
SPANNING = {s.column for s in all_specs() if s.warmup.unit == "sessions"} | {"vix_change"} | FITTED
"""Features whose history runs across rolls by declaration (warm-up counted in sessions across
rolls; the VIX change needs the close before the roll), plus the two fitted on the training part."""


def test_the_spanning_features_are_the_documented_ones():
    assert SPANNING == {"volume_rel_tod_10_sessions", "volume_rel_tod_sessions",
                        "volume_session_cum_rel_tod_10_sessions", "vix_change",
                        "vix_pct_252_sessions", "vix_z_sessions"} | FITTED


@functools.lru_cache(maxsize=1)
def market():
    bars, _ = synthesize(SynthConfig(start="2023-02-20", end="2023-03-24", seed=5))
    return bars


def _roll_row(bars) -> int:
    return int(np.flatnonzero(bars["contract"].to_numpy() != bars["contract"].iloc[0])[0])


def test_second_contract_features_equal_those_of_its_bars_alone():
    bars = market()
    k = _roll_row(bars)
    whole = build_features(bars, train_end=pd.Timestamp("2023-03-01", tz="UTC")).frame.iloc[k:]
    alone = build_features(bars.iloc[k:], train_end=pd.Timestamp("2023-03-14", tz="UTC")).frame
    keep = [c for c in whole.columns if c not in SPANNING]
    assert_frame_equal(whole[keep], alone[keep], check_exact=True)


def test_the_roll_jump_is_not_a_return():
    bars = market()
    k = _roll_row(bars)
    jump = abs(np.log(bars["open"].iloc[k] / bars["close"].iloc[k - 1]))
    assert jump > 0.002  # the synthetic calendar spread: ~20 points at 4000
    f = build_features(bars, groups=["price"]).frame
    for n in (1, 5, 15, 60):
        assert f[f"price_ret_{n}"].iloc[k: k + n].isna().all()
        assert f[f"price_ret_{n}"].iloc[k + n: k + n + 100].notna().all()
    assert np.isnan(f["price_gap_session_open"].iloc[k])  # no earlier close of the new contract


def test_garch_filter_restarts_at_the_roll_from_the_fitted_start_variance():
    bars = market()
    k = _roll_row(bars)
    end = pd.Timestamp("2023-03-01", tz="UTC")
    params = fit(bar_arrays(bars), end).garch
    got = build_features(bars, groups=["volatility"], train_end=end).frame["volatility_garch_sigma"].to_numpy()
    r = segment_returns(bar_arrays(bars), len(bars))
    h = params.h0
    for t in range(k, k + 500):  # plain recursion over the new contract's returns only
        if np.isfinite(r[t]):
            h = params.omega + params.alpha * r[t] * r[t] + params.beta * h
        assert got[t] == np.sqrt(h)
    assert got[k] == np.sqrt(params.h0)


def test_profile_prior_levels_restart_with_the_contract():
    bars = market()
    k = _roll_row(bars)
    f = build_features(bars, groups=["profile"]).frame
    first_session = bars["trade_date"].to_numpy() == bars["trade_date"].iloc[k]
    first_session[:k] = False
    assert f.loc[first_session, "profile_dist_prev_vpoc_ticks"].isna().all()
    assert (f.loc[first_session, "profile_naked_count"] == 0).all()
    assert f.loc[first_session, "profile_mig_direction"].isna().all()
    assert np.isfinite(f["profile_dist_prev_vpoc_ticks"].iloc[k - 1])
