"""Chronological splits with a purge, and walk-forward folds (futures_vpoc.dataset.splits)."""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.dataset import SplitSpec, split_rows, walk_forward
from futures_vpoc.errors import UsageError


def test_split_is_chronological_with_a_purge_of_the_horizon():
    parts = split_rows(1000, SplitSpec(), horizon=5)
    assert (len(parts.train), len(parts.val), len(parts.test)) == (695, 145, 150)
    assert parts.purged == 10
    assert parts.train[-1] < parts.val[0] and parts.val[-1] < parts.test[0]
    # rows strictly between the parts: at least the horizon, so no label window reaches across
    assert parts.val[0] - parts.train[-1] - 1 == 5
    assert parts.test[0] - parts.val[-1] - 1 == 5
    everything = np.r_[parts.train, parts.val, parts.test]
    assert len(np.unique(everything)) == len(everything)


def test_purge_defaults_to_the_horizon_and_never_goes_below_it():
    assert SplitSpec().purge_rows(7) == 7
    assert SplitSpec(purge=30).purge_rows(7) == 30
    parts = split_rows(1000, SplitSpec(purge=30), horizon=7)
    assert parts.val[0] - parts.train[-1] - 1 == 30
    with pytest.raises(UsageError, match="horizon"):
        SplitSpec(purge=3).purge_rows(5)


@pytest.mark.parametrize("kwargs", [dict(train=0.8, val=0.15, test=0.15), dict(train=0.0, val=0.5, test=0.5),
                                    dict(purge=-1), dict(purge=2.5)])
def test_bad_split_specs_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        SplitSpec(**kwargs)


def test_too_few_rows_for_a_part_is_a_usage_error():
    with pytest.raises(UsageError, match="empty"):
        split_rows(20, SplitSpec(), horizon=5)


def test_expanding_walk_forward_folds():
    folds = walk_forward(100, train_size=40, test_size=10, purge=5, expanding=True)
    assert len(folds) == 5  # tests 45-54 .. 85-94; 95-104 does not fit
    for k, f in enumerate(folds):
        assert f.train[0] == 0
        assert f.test[0] == 45 + 10 * k and len(f.test) == 10
        assert f.test[0] - f.train[-1] - 1 == 5
    assert folds[-1].test[-1] == 94


def test_rolling_walk_forward_folds_keep_their_size_and_step():
    stamps = pd.date_range("2024-01-02", periods=100, freq="1min", tz="UTC")
    folds = walk_forward(stamps, 3, train_size=30, test_size=10, step=20, purge=5, expanding=False)
    assert [len(f.train) for f in folds] == [30, 30, 30]
    assert [f.test[0] for f in folds] == [35, 55, 75]
    assert all(f.test[0] - f.train[-1] - 1 == 5 for f in folds)


def test_walk_forward_refuses_what_does_not_fit():
    with pytest.raises(UsageError, match="fold"):
        walk_forward(50, 9, train_size=30, test_size=10, purge=5)
    with pytest.raises(UsageError):
        walk_forward(50, train_size=0, test_size=10, purge=5)
    with pytest.raises(UsageError, match="increasing"):
        walk_forward(pd.DatetimeIndex(["2024-01-02", "2024-01-01"], tz="UTC"), train_size=1, test_size=1, purge=0)
