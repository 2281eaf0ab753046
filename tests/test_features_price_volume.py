"""Price and volume features against independent pandas formulations of their definitions.

Each reference groups by contract (windows restart at a roll) or by session and uses pandas'
own rolling/shift machinery, so it shares no code with the streaming kernels. Rolling sums in
pandas and in the kernels add in different orders: tolerance 1e-9 relative where a mean is
involved, exact equality where none is. Names count bars: ``ret_5`` is the 5-bar return (the
prior system's ``price_momentum_3d`` was a 4-bar return, reference section 8.4 item 29).
"""

import functools

import numpy as np
import pandas as pd

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.features import build_features


@functools.lru_cache(maxsize=1)
def market():
    bars, _ = synthesize(SynthConfig(start="2023-02-20", end="2023-03-17", seed=12))
    return bars


@functools.lru_cache(maxsize=1)
def table():
    return build_features(market(), groups=["price", "volume"]).frame


def _by_contract(series):
    return series.groupby(market()["contract"].to_numpy())


def _session_key():
    bars = market()
    return (bars["trade_date"].astype("int64").astype(str) + bars["contract"]).to_numpy()


def test_returns_count_bars_within_the_contract():
    lc = np.log(market()["close"])
    f = table()
    for k in (1, 5, 15, 60):
        np.testing.assert_array_equal(f[f"price_ret_{k}"], _by_contract(lc).diff(k))
    np.testing.assert_array_equal(f["price_accel_5"], _by_contract(lc).diff(5) - _by_contract(lc).shift(5)
                                  + _by_contract(lc).shift(10))


def test_distance_to_moving_averages():
    close = market()["close"]
    for w in (20, 60, 240):
        sma = _by_contract(close).transform(lambda x, w=w: x.rolling(w).mean())
        np.testing.assert_allclose(table()[f"price_dist_sma_{w}"], np.log(close / sma), rtol=1e-9, atol=1e-15)


def test_session_return_and_opening_gap():
    bars, f = market(), table()
    key = _session_key()
    first_open = bars["open"].groupby(key).transform("first")
    np.testing.assert_array_equal(f["price_ret_session"], np.log(bars["close"]) - np.log(first_open))
    last_close = bars["close"].groupby(key, sort=False).last()
    contract = bars["contract"].groupby(key, sort=False).first()
    prev_close = last_close.shift().where(contract.eq(contract.shift()))
    gap = np.log(bars["open"].groupby(key, sort=False).first()) - np.log(prev_close)
    np.testing.assert_array_equal(f["price_gap_session_open"], gap.reindex(key).to_numpy())


def test_volume_against_same_minute_norm_and_recent_bars():
    bars, f = market(), table()
    v = bars["volume"]
    slot = bars.index.tz_convert("America/Chicago")
    slot = slot.hour * 60 + slot.minute
    tod = v.groupby(slot.to_numpy()).transform(lambda x: x.shift().rolling(10).mean())
    np.testing.assert_allclose(f["volume_rel_tod_10_sessions"], np.log1p(v) - np.log1p(tod), rtol=1e-12, atol=1e-12)
    recent = _by_contract(v).transform(lambda x: x.shift().rolling(20).mean())
    np.testing.assert_allclose(f["volume_surge_20"], np.log1p(v) - np.log1p(recent), rtol=1e-12, atol=1e-12)


def test_session_cumulative_volume():
    bars, f = market(), table()
    cum = bars["volume"].groupby(_session_key()).cumsum()
    np.testing.assert_array_equal(f["volume_session_cum_log"], np.log1p(cum))
    slot = bars.index.tz_convert("America/Chicago")
    slot = slot.hour * 60 + slot.minute
    norm = cum.groupby(slot.to_numpy()).transform(lambda x: x.shift().rolling(10).mean())
    np.testing.assert_allclose(f["volume_session_cum_rel_tod_10_sessions"], np.log1p(cum) - np.log1p(norm), rtol=1e-12,
                               atol=1e-12)


def test_volume_price_divergence():
    bars, f = market(), table()
    absret = _by_contract(np.log(bars["close"])).diff().abs()
    lv = np.log1p(bars["volume"])
    frame = pd.DataFrame({"a": absret, "v": lv, "c": bars["contract"].to_numpy()})
    corr = frame.groupby("c", group_keys=False)[["a", "v"]].apply(lambda g: g["a"].rolling(20).corr(g["v"]))
    got = f["volume_vp_divergence_20"]
    assert got.isna().sum() == corr.isna().sum()
    np.testing.assert_allclose(got.dropna(), -corr.dropna(), rtol=1e-9, atol=1e-9)
