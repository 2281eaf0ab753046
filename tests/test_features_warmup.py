"""Issue 16: every feature declares its warm-up, and its first value is where the declaration says.

Market: synthetic 1-minute bars 2023-02-20 .. 2023-03-24 (25 trade dates, the ESH3 -> ESM3 roll
on trade date 2023-03-09, random missing minutes, the first VIX close on 2023-02-21). For each
registered feature the rows holding a value are compared, exactly, with the rows the declared
:class:`~futures_vpoc.features.Warmup` allows:

* ``none``: every row; ``bars``: bar index >= N of the contract segment (restarting at the roll);
* ``contract_sessions``: from the first bar of the segment's (N+1)-th session;
* ``sessions`` in the volume group: the bar's CT clock minute was seen N times before (across
  the roll; on gap-free data the first bar of session N+1, never earlier);
* ``sessions`` in the vix group: N earlier trade dates ended with a VIX value (across the roll);
* ``vix_closes``: N published closes seen since the first bar;
* the vix group is also NaN wherever the BarFrame has no VIX yet.

On this data no feature is NaN later for data reasons except the volume norms at a minute that a
session lacked, which the per-minute rule above already covers.
"""

import functools

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.data.vix import publication_times
from futures_vpoc.features import FeatureSpec, Warmup, all_specs, build_features, warmup_of
from futures_vpoc.features.spec import WARMUP_UNITS
from futures_vpoc.features.vix import Z_SD_FLOOR

TRAIN_END = pd.Timestamp("2023-03-08", tz="UTC")


@functools.lru_cache(maxsize=1)
def market():
    bars, vix = synthesize(SynthConfig(start="2023-02-20", end="2023-03-24", seed=3))
    return bars, vix, build_features(bars, train_end=TRAIN_END).frame


@functools.lru_cache(maxsize=1)
def positions():
    """Per bar: index in its segment, segment session index, day index, CT minute count, VIX counts."""
    bars, vix, _ = market()
    seg = (bars["contract"] != bars["contract"].shift()).cumsum().to_numpy()
    pos = pd.Series(seg).groupby(seg).cumcount().to_numpy()
    session = pd.factorize(bars["trade_date"].astype("int64").astype(str) + bars["contract"])[0]
    csession = session - pd.Series(session).groupby(seg).transform("min").to_numpy()
    local = bars.index.tz_convert("America/Chicago")
    slot = local.hour * 60 + local.minute
    slot_seen = pd.Series(np.ones(len(bars))).groupby(slot.to_numpy()).cumcount().to_numpy()
    day_end = bars.groupby("trade_date")["vix"].last()
    ended = day_end.notna().astype(int).cumsum().shift(1, fill_value=0)  # finite day ends before the date
    days_with_vix = bars["trade_date"].map(ended).to_numpy()
    avail = publication_times(vix.index).as_unit("ns").asi8
    k = np.searchsorted(avail, bars.index.as_unit("ns").asi8 + pd.Timedelta(minutes=1).value, side="right") - 1
    has_vix = bars["vix"].notna().to_numpy()
    closes_seen = np.where(has_vix, k - k[has_vix.argmax()] + 1, 0)
    return dict(seg=seg, pos=pos, csession=csession, slot_seen=slot_seen, days_with_vix=days_with_vix,
                closes_seen=closes_seen, has_vix=has_vix, day=pd.factorize(bars["trade_date"])[0])


def declared_rows(spec: FeatureSpec) -> np.ndarray:
    """Rows at which the declared warm-up says the feature has a value."""
    p, w = positions(), spec.warmup
    if w.unit == "none":
        ready = np.ones(len(p["pos"]), bool)
    elif w.unit == "bars":
        ready = p["pos"] >= w.count
    elif w.unit == "contract_sessions":
        ready = p["csession"] >= w.count
    elif w.unit == "sessions" and spec.group == "volume":
        ready = p["slot_seen"] >= w.count
    elif w.unit == "sessions" and spec.group == "vix":
        ready = p["days_with_vix"] >= w.count
    elif w.unit == "vix_closes":
        ready = p["closes_seen"] >= w.count
    else:
        raise AssertionError(f"no rule for {spec.column}: {w}")
    return ready & p["has_vix"] if spec.group == "vix" else ready


def test_every_feature_declares_a_warmup_in_words():
    for spec in all_specs():
        assert isinstance(spec.warmup, Warmup) and spec.warmup.unit in WARMUP_UNITS
        assert warmup_of(spec) == spec.warmup_text == str(spec.warmup)
    words = {s.column: warmup_of(s) for s in all_specs()}
    assert words["price_dist_sma_240"] == "239 bars" and words["volatility_rv_240"] == "240 bars"
    assert words["vix_pct_252_sessions"] == "20 sessions (up to 252)"
    assert words["vix_z_sessions"] == "2 sessions (up to 252)"
    assert words["volume_rel_tod_10_sessions"] == "10 sessions"
    assert words["volume_rel_tod_sessions"] == "2 sessions (up to 10)"
    assert words["vix_change"] == "2 VIX closes" and words["vix_level"] == "1 VIX close"
    assert words["profile_dist_prev_vpoc_ticks"] == "1 contract session"
    assert words["calendar_rth"] == "none" and words["technical_macd_cross"] == "33 bars"


@pytest.mark.parametrize("bad", [dict(count=3, unit="days"), dict(count=0, unit="bars"), dict(count=2)])
def test_a_bad_declaration_is_refused(bad):
    with pytest.raises(ValueError):
        Warmup(**bad)


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.column)
def test_values_exist_exactly_where_the_warmup_says(spec):
    bars, _, frame = market()
    has = frame[spec.column].notna().to_numpy()
    ready = declared_rows(spec)
    assert ready.any(), f"{spec.column}: the test market is too short for {warmup_of(spec)}"
    np.testing.assert_array_equal(has, ready, err_msg=f"{spec.column} ({warmup_of(spec)})")
    p, w, first = positions(), spec.warmup, int(has.argmax())
    if w.unit == "bars":  # bar index N of each contract segment (vix group: and a VIX close)
        for s in np.unique(p["seg"]):
            rows = np.flatnonzero((p["seg"] == s) & has)
            vix_from = p["pos"][(p["seg"] == s) & p["has_vix"]][0] if spec.group == "vix" else 0
            assert p["pos"][rows[0]] == max(w.count, vix_from)
    elif w.unit == "contract_sessions":  # the first bar of the segment's session N+1
        for s in np.unique(p["seg"]):
            rows = np.flatnonzero((p["seg"] == s) & has)
            assert p["csession"][rows[0]] == w.count and p["csession"][rows[0] - 1] == w.count - 1
    elif w.unit == "sessions":  # never before the first bar of session N+1 (vix: of data with VIX)
        start = p["day"][p["has_vix"]][0] if spec.group == "vix" else 0
        assert p["day"][first] >= start + w.count
        assert p["day"][first - 1] < p["day"][first]  # a session's first bar on this data
    elif w.unit == "none" and spec.group != "vix":
        assert first == 0


def test_short_history_members_keep_every_group_in_the_model_after_two_sessions():
    # A two-week file (10 trade dates, one contract): from the third session on, only the three
    # long-norm features are missing, and every group keeps members.
    bars, _ = synthesize(SynthConfig(start="2023-03-13", end="2023-03-24", seed=4))
    frame = build_features(bars, train_end=pd.Timestamp("2023-03-20", tz="UTC")).frame
    later = pd.factorize(bars["trade_date"])[0] >= 2
    coverage = frame[later].notna().mean()
    long = {"volume_rel_tod_10_sessions", "volume_session_cum_rel_tod_10_sessions", "vix_pct_252_sessions"}
    assert set(coverage.index[coverage == 0]) == long
    assert (coverage.drop(sorted(long)) > 0.99).all(), coverage[coverage <= 0.99].to_dict()
    short = {s.column for s in all_specs() if s.column not in long}
    assert {c.split("_")[0] for c in short} == {s.group for s in all_specs()}
    for spec in all_specs():
        w = spec.warmup
        fits = w.unit in ("none", "bars", "vix_closes") or w.count <= 2
        assert fits == (spec.column not in long), spec.column


def test_rel_tod_sessions_matches_a_pandas_reference():
    bars, _, frame = market()
    local = bars.index.tz_convert("America/Chicago")
    slot = pd.Series(local.hour * 60 + local.minute, index=bars.index)
    vol = bars["volume"]
    for col, need in (("volume_rel_tod_sessions", 2), ("volume_rel_tod_10_sessions", 10)):
        norm = vol.groupby(slot).transform(lambda v, m=need: v.shift(1).rolling(10, min_periods=m).mean())
        expected = np.log1p(vol) - np.log1p(norm)
        got = frame[col]
        np.testing.assert_array_equal(got.isna(), expected.isna())
        np.testing.assert_allclose(got.dropna(), expected.dropna(), rtol=0, atol=1e-12)


def z_reference(bars: pd.DataFrame) -> np.ndarray:
    """Plain pandas: z of each bar's VIX against the previous <= 252 trade dates' last VIX."""
    day_end = bars.groupby("trade_date")["vix"].last().dropna()
    out = np.full(len(bars), np.nan)
    for day, rows in bars.groupby("trade_date").indices.items():
        held = day_end[day_end.index < day].iloc[-252:]
        if len(held) >= 2:
            out[rows] = (bars["vix"].to_numpy()[rows] - held.mean()) / max(held.std(ddof=1), Z_SD_FLOOR)
    return out


def test_vix_z_sessions_matches_a_pandas_reference():
    bars, _, frame = market()
    expected = z_reference(bars)
    got = frame["vix_z_sessions"].to_numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=1e-12, atol=1e-12)
    assert np.nanstd(got) > 0.3


def test_vix_z_floor_on_a_flat_vix():
    bars, _, _ = market()
    flat = bars.copy()
    flat["vix"] = np.where(flat["vix"].notna(), 20.0, np.nan)
    flat.loc[flat.index >= pd.Timestamp("2023-03-01", tz="UTC"), "vix"] = 21.0
    got = build_features(flat, groups=["vix"]).frame["vix_z_sessions"]
    assert got.loc[pd.Timestamp("2023-03-01 12:00", tz="UTC")] == 1.0 / Z_SD_FLOOR  # held: all 20.0, sd 0
    np.testing.assert_allclose(got.to_numpy(), z_reference(flat), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cut", ["2023-02-22 21:30", "2023-03-08 23:00", "2023-03-15 14:31"])
def test_new_features_are_causal_and_chunk_invariant(cut):
    # tests/test_features_causality.py covers every registered feature; this repeats it on the
    # groups of the two new features at cuts inside their short warm-up and across the roll.
    bars, _, _ = market()
    full = build_features(bars, groups=["volume", "vix"]).frame
    n = int(bars.index.searchsorted(pd.Timestamp(cut, tz="UTC")))
    assert_frame_equal(build_features(bars.iloc[:n], groups=["volume", "vix"]).frame, full.iloc[:n], check_exact=True)
    assert_frame_equal(build_features(bars, groups=["volume", "vix"], chunk_size=997).frame, full, check_exact=True)
