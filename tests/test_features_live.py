"""LiveFeatures (one bar at a time) equals build_features (the whole frame at once).

The proof: for a BarFrame B and the context of a build on it, the rows ``LiveFeatures.push(row)``
for every row of B, stacked, equal ``build_features(B, context=ctx).frame`` within 1e-9 (NaN
exactly where the batch has NaN): all groups together on synthetic bars that span the ESH3->ESM3
roll, the 2023-03-12 daylight-saving change and the Good Friday 2023-04-07 early close, and on the
real ES sample (roll ESZ3->ESH4, gaps); each group alone on a smaller frame; the profile group
with a tiny histogram grid (every session grows it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.errors import UsageError
from futures_vpoc.features import GROUPS, build_features
from futures_vpoc.features.live import LiveFeatures

TOL = 1e-9


@pytest.fixture(scope="module")
def synth_bars():
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-03-01", end="2023-04-14", seed=1))
    return bars


@pytest.fixture(scope="module")
def small_bars():
    """About 9,000 bars across the roll (trade date 2023-03-09) and the DST change (2023-03-12)."""
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-03-06", end="2023-03-15", seed=2))
    return bars


def _replay(bars: pd.DataFrame, groups=None, rows=None) -> tuple[np.ndarray, np.ndarray, tuple]:
    ctx = build_features(bars, groups).context
    batch = build_features(bars, groups, context=ctx).frame
    live = LiveFeatures(groups, ctx)
    assert live.names == tuple(batch.columns)
    source = bars.itertuples() if rows is None else rows(bars)
    got = np.vstack([live.push(row) for row in source])
    return got, batch.to_numpy(), live.names


def _assert_parity(got: np.ndarray, want: np.ndarray, names, every_column: bool = False) -> float:
    assert got.shape == want.shape
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    for j, name in enumerate(names):
        bad = np.flatnonzero(nan_got[:, j] != nan_want[:, j])
        assert not len(bad), f"{name}: NaN differs at {len(bad)} rows, first {bad[0]}"
    diff = np.abs(np.where(nan_want, 0.0, got - np.where(nan_want, 0.0, want)))
    worst = diff.max(axis=0)
    assert (worst <= TOL).all(), {n: float(w) for n, w in zip(names, worst, strict=True) if w > TOL}
    assert (~nan_want).any()
    if every_column:  # the comparison is not vacuous: every column has values
        assert (~nan_want).any(axis=0).all(), [n for n, a in zip(names, (~nan_want).any(axis=0), strict=True) if not a]
    return float(diff.max())


def test_names_context_and_order(small_bars):
    bars = small_bars.iloc[:50]
    ctx = build_features(bars.iloc[:10], ["price"]).context
    assert LiveFeatures(["price"], ctx).names == tuple(build_features(bars, ["price"], context=ctx).frame.columns)
    with pytest.raises(UsageError):
        LiveFeatures(["price"], None)
    with pytest.raises(UsageError):
        LiveFeatures(["volatility"], ctx)  # no fits in a context built without the volatility group
    live = LiveFeatures(["price"], ctx)
    rows = list(bars.itertuples())
    live.push(rows[1])
    with pytest.raises(UsageError):
        live.push(rows[0])


def test_mapping_rows_give_the_same_values(small_bars):
    bars = small_bars.iloc[:3000]

    def as_dicts(frame):
        for ts, row in zip(frame.index, frame.to_dict("records"), strict=True):
            yield {**row, "timestamp": ts.value}  # int nanoseconds

    got, want, names = _replay(bars, ["price", "calendar", "profile"], rows=as_dicts)
    _assert_parity(got, want, names)


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS)
def test_each_group_alone(small_bars, group):
    assert small_bars["contract"].nunique() == 2
    got, want, names = _replay(small_bars, [group])
    _assert_parity(got, want, names)


@pytest.mark.slow
def test_profile_grid_growth(small_bars, monkeypatch):
    """A 4-level starting grid: sessions outgrow it all the time; values unchanged."""
    monkeypatch.setattr("futures_vpoc.profile.live.WIDTH", 4)
    got, want, names = _replay(small_bars.iloc[:4000], ["profile"])
    _assert_parity(got, want, names)


@pytest.mark.slow
def test_all_groups_synthetic_roll_holiday_dst(synth_bars):
    bars = synth_bars
    assert len(bars) >= 20_000
    segments = bars["contract"].to_numpy()
    assert list(dict.fromkeys(segments)) == ["ESH3", "ESM3"]
    days = set(pd.DatetimeIndex(bars["trade_date"]).strftime("%Y-%m-%d"))
    assert {"2023-03-10", "2023-03-13", "2023-04-06", "2023-04-07", "2023-04-10"} <= days  # DST on 03-12
    good_friday = bars.loc[bars["trade_date"] == pd.Timestamp("2023-04-07")]
    assert good_friday.index[-1] < pd.Timestamp("2023-04-07 14:00", tz="UTC")  # the early close
    got, want, names = _replay(bars)
    assert len(names) == 59
    _assert_parity(got, want, names, every_column=True)


@pytest.mark.slow
def test_all_groups_real_es_sample(tmp_path):
    from futures_vpoc.cli import main
    from futures_vpoc.data.barframe import read_merged

    path = tmp_path / "es.parquet"
    assert main(["data", "sample", "es-minute", "--out", str(path)]) == 0
    bars = read_merged(path)
    assert list(dict.fromkeys(bars["contract"].to_numpy())) == ["ESZ3", "ESH4"]
    got, want, names = _replay(bars)
    _assert_parity(got, want, names)
