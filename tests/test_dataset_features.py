"""build_dataset on the real feature registry (issue 4, acceptance 2 and 3).

One quarter of the synthetic market (2023-01-02 .. 2023-03-31, about 88,000 one-minute bars, the
ESH3 -> ESM3 roll and a daylight-saving change): the VIX trailing-year percentile needs 20
sessions, so this is about the least data that leaves every part well filled.
"""

import numpy as np
import pytest

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.dataset import build_dataset
from futures_vpoc.features import build_features

CHUNK_SIZES = (None, 7, 1000, 50_000)  # 7 bars is shorter than every window (the longest: 252 sessions)


@pytest.fixture(scope="module")
def bars():
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-03-31", seed=3, signal=1.0))
    return bars


@pytest.fixture(scope="module")
def base(bars):
    return build_dataset(bars)


def assert_same_dataset(a, b):
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.scaler.to_dict() == b.scaler.to_dict()
    assert a.boundaries == b.boundaries and a.counts == b.counts and a.feature_names == b.feature_names


@pytest.mark.slow
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES[1:])
def test_tensors_are_identical_for_every_chunk_size(bars, base, chunk_size):
    assert_same_dataset(build_dataset(bars, chunk_size=chunk_size), base)


def test_every_part_is_filled_and_finite(base):
    c = base.counts
    assert min(c["n_train"], c["n_val"], c["n_test"]) > 5000
    assert len(base.feature_names) == base.X_train.shape[1] > 40
    assert any(n.startswith("profile_") for n in base.feature_names)
    assert any(n.startswith("vix_") for n in base.feature_names)
    for X in (base.X_train, base.X_val, base.X_test):
        assert X.dtype == np.float32 and np.isfinite(X).all()


@pytest.mark.slow
def test_validation_and_test_bars_change_no_fitted_value(bars, base):
    """Rewrite every bar from the first validation row on; nothing fitted may move.

    This covers the whole chain: causal features, GARCH and regime edges fit before ``train_end``,
    labels purged before the boundary, scaler fit on training rows.
    """
    later = bars.index >= base.boundaries.val_start
    moved = bars.copy()
    walk = 0.25 * np.cumsum(np.random.default_rng(1).integers(-4, 5, later.sum()))
    for col in ("open", "high", "low", "close"):
        moved.loc[later, col] = moved.loc[later, col] + walk
    moved.loc[later, "volume"] = moved.loc[later, "volume"] * 1000.0
    moved.loc[later, "vix"] = moved.loc[later, "vix"] * 3.0
    other = build_dataset(moved)
    assert other.boundaries == base.boundaries
    assert other.scaler.to_dict() == base.scaler.to_dict()
    np.testing.assert_array_equal(other.X_train, base.X_train)
    np.testing.assert_array_equal(other.y_train, base.y_train)
    assert not np.array_equal(other.X_test, base.X_test)


def test_the_builder_is_given_the_first_validation_row_as_train_end(bars, base, monkeypatch):
    seen = []

    def spy(bars, groups=None, chunk_size=None, train_end=None):
        seen.append(train_end)
        return build_features(bars, groups=groups, chunk_size=chunk_size, train_end=train_end)

    ds = build_dataset(bars, groups=["price", "volatility"], builder=spy)
    assert seen == [base.boundaries.val_start]
    assert all(n.startswith(("price_", "volatility_")) for n in ds.feature_names)
