"""RobustScaler and RankTransform (futures_vpoc.dataset.scaling): fit on train, transform anything."""

import json

import numpy as np
import pytest

from futures_vpoc.dataset import (
    NotFittedError,
    RankTransform,
    RobustScaler,
    transform_from_dict,
    transform_to_dict,
)


@pytest.fixture
def train():
    rng = np.random.default_rng(0)
    X = rng.standard_t(3, size=(2000, 3)) * [1.0, 1e-4, 50.0] + [0.0, 0.0, 100.0]
    return X


def test_median_iqr_and_winsor_bounds_are_train_percentiles(train):
    s = RobustScaler().fit(train, ["a", "b", "c"])
    np.testing.assert_array_equal(s.center_, np.percentile(train, 50, axis=0))
    np.testing.assert_array_equal(s.scale_, np.percentile(train, 75, axis=0) - np.percentile(train, 25, axis=0))
    np.testing.assert_array_equal(s.lower_, np.percentile(train, 1, axis=0))
    np.testing.assert_array_equal(s.upper_, np.percentile(train, 99, axis=0))
    assert s.constant_features_ == [] and s.n_samples_seen_ == 2000


def test_values_outside_the_train_bounds_are_clipped_to_them(train):
    s = RobustScaler().fit(train)
    wild = np.array([[1e9, -1e9, 0.0], [-1e9, 1e9, 1e12]])
    out = s.transform(wild)
    hi = (s.upper_ - s.center_) / s.scale_
    lo = (s.lower_ - s.center_) / s.scale_
    np.testing.assert_allclose(out[0, :2], [hi[0], lo[1]])
    np.testing.assert_allclose(out[1], [lo[0], hi[1], hi[2]])
    inside = s.transform(train)
    assert (inside >= lo).all() and (inside <= hi).all()
    frac = s.clipped_fraction(train)
    assert ((frac > 0.015) & (frac < 0.025)).all()  # 1 % each side


def test_rows_not_given_to_fit_change_no_fitted_value(train):
    a = RobustScaler().fit(train[:1400]).to_dict()
    other = train.copy()
    other[1400:] *= 1000.0
    b = RobustScaler().fit(other[:1400]).to_dict()
    assert a == b


def test_near_constant_features_get_scale_one_and_are_reported(train):
    X = np.c_[train[:, 0], np.full(len(train), 5.0), (np.arange(len(train)) % 10 == 0).astype(float)]
    s = RobustScaler().fit(X, ["x", "const", "flag"])  # RuntimeWarnings are errors here
    assert s.scale_[1] == 1.0 and s.scale_[2] == 1.0 and s.scale_[0] != 1.0
    assert s.constant_features_ == ["const", "flag"]
    out = s.transform(X)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, 1], 0.0)
    assert set(np.unique(out[:, 2])) == {0.0, 1.0}


def test_transform_before_fit_is_a_not_fitted_error(train):
    with pytest.raises(NotFittedError, match="not fitted"):
        RobustScaler().transform(train)
    with pytest.raises(NotFittedError):
        RankTransform().transform([0.1])
    assert issubclass(NotFittedError, ValueError)


def test_fit_refuses_non_finite_rows_and_wrong_widths(train):
    bad = train.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        RobustScaler().fit(bad)
    s = RobustScaler().fit(train)
    with pytest.raises(ValueError, match="features"):
        s.transform(train[:, :2])
    with pytest.raises(ValueError):
        RobustScaler(winsor=(99, 1))


def test_nan_passes_through_transform(train):
    s = RobustScaler().fit(train)
    out = s.transform(np.array([[np.nan, 0.0, 1.0]]))
    assert np.isnan(out[0, 0]) and np.isfinite(out[0, 1:]).all()


def test_scaler_state_round_trips_through_json(train):
    s = RobustScaler(quantile_range=(10, 90), winsor=(2, 98)).fit(train, ["a", "b", "c"])
    state = json.loads(json.dumps(transform_to_dict(s)))
    back = transform_from_dict(state)
    assert isinstance(back, RobustScaler) and back.quantile_range == (10.0, 90.0)
    np.testing.assert_array_equal(back.transform(train), s.transform(train))
    assert back.feature_names_in_ == ["a", "b", "c"]
    unfitted = RobustScaler.from_dict(RobustScaler().to_dict())
    with pytest.raises(NotFittedError):
        unfitted.transform(train)
    assert transform_from_dict(None) is None


def test_rank_transform_is_the_train_ecdf_with_mid_ranks():
    r = RankTransform().fit([0.3, -0.1, 0.2, 0.2, 0.0])
    np.testing.assert_array_equal(r.values_, [-0.1, 0.0, 0.2, 0.2, 0.3])
    got = r.transform([-5.0, -0.1, 0.2, 0.25, 9.0, np.nan])
    np.testing.assert_allclose(got[:5], [0.0, 0.1, 0.6, 0.8, 1.0])
    assert np.isnan(got[5])
    back = transform_from_dict(json.loads(json.dumps(r.to_dict())))
    np.testing.assert_array_equal(back.transform([0.1, 0.2]), r.transform([0.1, 0.2]))
    with pytest.raises(ValueError):
        RankTransform().fit([0.1, np.nan])


def test_rank_transform_of_its_training_values_is_uniform():
    y = np.random.default_rng(1).normal(size=10_001)
    ranks = RankTransform().fit_transform(y)
    assert ranks.min() > 0 and ranks.max() < 1
    assert abs(np.median(ranks) - 0.5) < 1e-12
