"""build_dataset (futures_vpoc.dataset.build) with a small stand-in feature builder.

The stand-in keeps the tests about the dataset's own rules (split, purge, fraction, scaling, NaN
policy) independent of the feature package; ``tests/test_dataset_features.py`` runs the same
pipeline on the real features. The stand-in is causal, warms up again after every roll (so NaN
appears mid-series), has a constant column and one feature fitted on ``train_end``.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from test_labels import bars_at, session_grid

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.dataset import RankTransform, SplitSpec, build_dataset
from futures_vpoc.errors import UsageError
from futures_vpoc.labels import make_labels


class StandIn:
    """``build_features``' interface on a handful of causal features; records its calls."""

    def __init__(self, tamper=None):
        self.calls = []
        self.tamper = tamper

    def __call__(self, bars, groups=None, chunk_size=None, train_end=None):
        self.calls.append(dict(groups=groups, chunk_size=chunk_size, train_end=train_end))
        close = bars["close"]
        by_contract = close.groupby(bars["contract"].to_numpy())
        ret1 = by_contract.pct_change()
        fit = ret1[bars.index < train_end]
        frame = pd.DataFrame({
            "price_ret_1": ret1,
            "price_ret_30": by_contract.pct_change(30),
            "vix_level": bars["vix"],
            "calendar_one": 1.0,
            "volatility_z": ret1 / fit.std(),
        }, index=bars.index)
        if self.tamper is not None:
            frame = self.tamper(frame, train_end)
        return SimpleNamespace(frame=frame, specs=(), warmup_rows=30)


@pytest.fixture(scope="module")
def bars():
    bars, _ = synthesize(SynthConfig(start="2023-02-27", end="2023-03-24", seed=4))
    return bars


@pytest.fixture(scope="module")
def ds(bars):
    return build_dataset(bars, builder=StandIn())


def positions(bars, stamps):
    return bars.index.get_indexer(stamps)


@pytest.mark.parametrize("purge", [None, 40])
def test_parts_are_chronological_and_purged(bars, purge):
    ds = build_dataset(bars, horizon=5, split=SplitSpec(purge=purge), builder=StandIn())
    gap = 5 if purge is None else purge
    assert ds.purge == gap
    b = ds.boundaries
    assert ds.t_train.max() < b.val_start <= ds.t_val.min()
    assert ds.t_val.max() < b.test_start <= ds.t_test.min()
    for before, after in ((ds.t_train, ds.t_val), (ds.t_val, ds.t_test)):
        # at least `purge` bars between the parts ...
        assert positions(bars, after[:1])[0] - positions(bars, before[-1:])[0] - 1 >= gap
    # ... and no label window of a part reaches the next part
    end = make_labels(bars, horizon=5).frame["label_end"]
    assert end[ds.t_train].max() <= b.val_start
    assert end[ds.t_val].max() <= b.test_start
    assert ds.counts["dropped_purge"] >= 2 * gap


def every_other_bar(frame, train_end):
    """Features on even bar positions only: candidate rows are two bars apart."""
    out = frame.copy()
    out.iloc[1::2] = np.nan
    return out


def test_the_purge_drops_exactly_horizon_candidate_rows_before_each_boundary(bars):
    """Mutation check (issue 14): a purge of horizon - 1 rows must fail here.

    On a regular grid a purge one row short is masked by the label-end backstop (it drops the one
    row whose label still reaches the next part), so the result is identical. With features on
    every other bar the candidate rows are two bars apart, ``horizon - 1`` of them already clear the
    label window, the backstop has nothing to drop and only the purge rule itself decides. The
    parts are rebuilt here by hand from that rule: cut the candidate rows (complete features, known
    horizon, flat ones included) at the boundaries, drop the last ``horizon`` of train and of
    validation, then drop the rows without a label (direction's flat horizons).
    """
    ds = build_dataset(bars, horizon=5, builder=StandIn(tamper=every_other_bar), min_coverage=0.4)
    assert ds.purge == 5
    assert ds.counts["dropped_purge"] == 2 * 5
    b = ds.boundaries
    frame = StandIn(tamper=every_other_bar)(bars, train_end=b.val_start).frame
    labels = make_labels(bars, horizon=5)
    candidate = frame.notna().all(axis=1).to_numpy() & labels.known
    stamps, has_label = bars.index[candidate], labels.labelled[candidate]
    assert not has_label.all()  # some candidate rows are flat: the purge counts them too
    part = (stamps >= b.val_start).astype(np.int64) + (stamps >= b.test_start)
    for k, got in enumerate((ds.t_train, ds.t_val, ds.t_test)):
        rows = np.flatnonzero(part == k)
        if k < 2:
            rows = rows[:-5]
        np.testing.assert_array_equal(got.asi8, stamps[rows][has_label[rows]].asi8)


def test_the_label_end_backstop_holds_where_bars_are_closer_than_their_width():
    """Mutation check (issue 14): removing the label-end backstop of ``dataset/build.py`` must fail here.

    Bars every minute plus, in the two sessions before the validation and test parts, one at :30 in
    every fourth minute (irregular bars such as tick bars look like this; the nominal width stays
    1 minute, the smallest spacing of most sessions: ``barframe.bar_width``). ``horizon`` candidate
    rows then span less than ``horizon`` minutes, so the purge alone leaves a training label that
    is known only after validation starts; the backstop must drop it.
    """
    grid = session_grid("2019-03-04", "2019-03-08")
    day = (grid.tz_convert("America/Chicago") + pd.Timedelta(hours=7)).normalize().tz_localize(None)
    near_boundary = np.isin(day, pd.DatetimeIndex(["2019-03-06", "2019-03-07"]))
    extra = grid[(np.arange(len(grid)) % 4 == 3) & near_boundary] + pd.Timedelta(seconds=30)
    bars = bars_at(grid.append(extra).sort_values(), seed=1).assign(vix=20.0)
    ds = build_dataset(bars, horizon=5, builder=StandIn())
    end = make_labels(bars, horizon=5).frame["label_end"]
    b = ds.boundaries
    assert end[ds.t_train].max() <= b.val_start
    assert end[ds.t_val].max() <= b.test_start
    assert ds.counts["dropped_purge"] > 2 * ds.purge  # the backstop had rows to drop beyond the purge


def test_fitted_features_see_bars_before_validation_only(bars, ds):
    builder = StandIn()
    ds = build_dataset(bars, builder=builder)
    assert len(builder.calls) == 1
    assert builder.calls[0]["train_end"] == ds.boundaries.val_start
    assert builder.calls[0]["groups"] is None


def test_counts_add_up_and_warm_up_rows_are_dropped_not_filled(bars, ds):
    c = ds.counts
    assert c["n_bars"] == c["n_window"] == len(bars)
    assert c["n_window"] == sum(c[k] for k in ("dropped_warmup", "dropped_no_label", "dropped_purge",
                                               "dropped_flat", "n_train", "n_val", "n_test"))
    assert c["dropped_flat"] > 0  # direction = up vs down: the flat horizons are counted, not trained on
    assert (c["n_train"], c["n_val"], c["n_test"]) == (len(ds.X_train), len(ds.X_val), len(ds.X_test))
    frame = StandIn()(bars, train_end=ds.boundaries.val_start).frame
    assert c["dropped_warmup"] == int(frame.isna().any(axis=1).sum())
    # warm-up happens at the start, again after the roll and before the first VIX: never filled
    assert c["dropped_warmup"] > 60
    for X, y in ((ds.X_train, ds.y_train), (ds.X_val, ds.y_val), (ds.X_test, ds.y_test)):
        assert X.dtype == np.float32 and y.dtype == np.float32
        assert np.isfinite(X).all() and np.isfinite(y).all()
        assert set(np.unique(y)) <= {0.0, 1.0}
    assert ds.feature_names == ("price_ret_1", "price_ret_30", "vix_level", "calendar_one", "volatility_z")
    assert ds.scaler.constant_features_ == ["calendar_one"]
    # the boundaries cut the rows with a known horizon 70 / 15 / 15, flat ones included (then
    # warm-up, purge and the flat rows thin the parts)
    labelled = bars.index[make_labels(bars).known]
    assert (labelled < ds.boundaries.val_start).sum() == int(np.floor(0.70 * len(labelled)))
    assert (labelled < ds.boundaries.test_start).sum() == int(np.floor(0.70 * len(labelled))) + int(
        np.floor(0.15 * len(labelled)))


def test_every_labelled_row_with_features_is_kept_whatever_its_move(bars, ds):
    kept = ds.t_train.append(ds.t_val).append(ds.t_test)
    fwd = np.r_[ds.fwd_train, ds.fwd_val, ds.fwd_test]
    assert (np.abs(fwd) <= 0.001).mean() > 0.9  # the prior system's dead zone is in
    assert not (fwd == 0).any()  # direction: a flat horizon has no label, so no part holds it
    np.testing.assert_array_equal(np.r_[ds.y_train, ds.y_val, ds.y_test], (fwd > 0).astype(np.float32))
    assert kept.is_monotonic_increasing
    old = build_dataset(bars, target="up_or_not", builder=StandIn())
    fwd_old = np.r_[old.fwd_train, old.fwd_val, old.fwd_test]
    assert (fwd_old == 0).any()  # up_or_not keeps them, as "not up"
    np.testing.assert_array_equal(np.r_[old.y_train, old.y_val, old.y_test], (fwd_old > 0).astype(np.float32))
    assert old.counts["dropped_flat"] == 0


def test_data_fraction_keeps_the_most_recent_rows(bars, ds):
    half = build_dataset(bars, data_fraction=0.5, builder=StandIn())
    n = len(bars)
    assert half.boundaries.window_start == bars.index[n - int(np.ceil(0.5 * n))]
    assert half.t_train.min() >= half.boundaries.window_start
    assert half.t_test.max() == ds.t_test.max()
    assert half.counts["n_window"] == int(np.ceil(0.5 * n))
    assert half.boundaries.val_start > ds.boundaries.window_start + (bars.index[-1] - bars.index[0]) / 2
    with pytest.raises(UsageError, match="data_fraction"):
        build_dataset(bars, data_fraction=0.0, builder=StandIn())


def times_1000_after(frame, train_end):
    out = frame.copy()
    out.loc[out.index >= train_end] *= 1000.0
    return out


@pytest.mark.parametrize("target", ["direction", "rank"])
def test_validation_and_test_rows_change_no_fitted_value(bars, target):
    base = build_dataset(bars, target=target, builder=StandIn())
    cut = base.boundaries.val_start
    later = bars.index >= cut
    moved = bars.copy()
    walk = 0.25 * np.cumsum(np.random.default_rng(0).integers(-3, 4, later.sum()))
    for col in ("open", "high", "low", "close"):
        moved.loc[later, col] = moved.loc[later, col] + walk
    moved.loc[later, "vix"] = moved.loc[later, "vix"] * 3.0
    for other in (build_dataset(bars, target=target, builder=StandIn(tamper=times_1000_after)),
                  build_dataset(moved, target=target, builder=StandIn())):
        assert other.boundaries == base.boundaries
        assert other.scaler.to_dict() == base.scaler.to_dict()
        np.testing.assert_array_equal(other.X_train, base.X_train)
        np.testing.assert_array_equal(other.y_train, base.y_train)
        if target == "rank":
            assert other.target_transform.to_dict() == base.target_transform.to_dict()
        assert not np.array_equal(other.X_test, base.X_test)


def test_rank_target_is_ranked_against_the_training_returns_only(bars):
    ds = build_dataset(bars, target="rank", builder=StandIn())
    ref = RankTransform().fit(ds.fwd_train)
    np.testing.assert_array_equal(ds.target_transform.values_, np.sort(ds.fwd_train))
    np.testing.assert_allclose(ds.y_val, ref.transform(ds.fwd_val).astype(np.float32))
    np.testing.assert_allclose(ds.y_test, ref.transform(ds.fwd_test).astype(np.float32))
    assert 0.0 < ds.y_train.min() and ds.y_train.max() < 1.0
    assert abs(float(np.median(ds.y_train)) - 0.5) < 0.01


def test_chunk_size_and_groups_are_handed_to_the_builder(bars, ds):
    for size in (None, 7, 5000):
        builder = StandIn()
        other = build_dataset(bars, groups=["price"], chunk_size=size, builder=builder)
        assert builder.calls[0]["chunk_size"] == size and builder.calls[0]["groups"] == ["price"]
        np.testing.assert_array_equal(other.X_train, ds.X_train)


def test_an_infinite_feature_is_a_bug_and_raises(bars):
    def inf_row(frame, train_end):
        frame = frame.copy()
        frame.iloc[500, 1] = np.inf
        return frame

    with pytest.raises(RuntimeError, match="price_ret_30"):
        build_dataset(bars, builder=StandIn(tamper=inf_row))


def test_too_little_data_is_a_usage_error(bars):
    with pytest.raises(UsageError):
        build_dataset(bars.iloc[:40], builder=StandIn())
    with pytest.raises(UsageError, match="purge"):
        build_dataset(bars, split=SplitSpec(purge=2), horizon=5, builder=StandIn())


def test_state_dict_is_json_and_rebuilds_the_scaler(bars):
    import json

    from futures_vpoc.dataset import transform_from_dict

    ds = build_dataset(bars, target="rank", builder=StandIn())
    state = json.loads(json.dumps(ds.state_dict()))
    assert state["feature_names"] == list(ds.feature_names) and state["horizon"] == 5
    assert state["boundaries"]["val_start"] == ds.boundaries.val_start.isoformat()
    scaler = transform_from_dict(state["scaler"])
    frame = StandIn()(bars, train_end=ds.boundaries.val_start).frame
    raw_test = frame.loc[ds.t_test].to_numpy()
    np.testing.assert_array_equal(scaler.transform(raw_test).astype(np.float32), ds.X_test)
    ranks = transform_from_dict(state["target_transform"])
    np.testing.assert_array_equal(ranks.transform(ds.fwd_test).astype(np.float32), ds.y_test)


def test_a_feature_that_is_never_defined_is_dropped_with_its_reason(bars):
    def dead(frame, train_end):
        return frame.assign(vix_level=np.nan)

    ds = build_dataset(bars, builder=StandIn(tamper=dead))
    assert "vix_level" not in ds.feature_names and len(ds.feature_names) == 4
    assert ds.feature_report["vix_level"].startswith("values on 0% of")
    assert all(ds.feature_report[n].startswith("kept") for n in ds.feature_names)


def test_a_dataset_without_any_available_feature_is_a_usage_error(bars):
    def all_dead(frame, train_end):
        return frame * np.nan

    with pytest.raises(UsageError, match="every feature would be dropped"):
        build_dataset(bars, builder=StandIn(tamper=all_dead))


def test_a_feature_missing_on_most_of_the_train_span_is_dropped():
    """Real daily S&P 500: VIX starts in 2014, so the vix group is dropped and price keeps its rows."""
    from futures_vpoc.data.samples import sp500_daily

    bars = sp500_daily()
    with_vix = build_dataset(bars, groups=["price", "vix"], data_fraction=0.8)
    dropped = {n for n, r in with_vix.feature_report.items() if not r.startswith("kept")}
    assert {"vix_level", "vix_change"} <= dropped
    assert not any(n.startswith("vix_") for n in with_vix.feature_names)
    assert "sparse_features" not in with_vix.counts and len(with_vix.y_train) > 2000
