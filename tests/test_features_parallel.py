"""The feature build's groups on several threads, and the feature summary's fast forms (issue 20).

``build_features`` runs the groups side by side (each its own streams and columns) and the fit
beside them. Nothing may change: the table must equal the one-thread walk bit for bit, for every
chunk size, and errors must come out in a fixed order (the fit's first, then the groups' in column
order), whichever thread finishes first. The summary sorts each training column once and takes the
label correlation in a numba kernel; it must give numpy's own figures (quantiles and counts exactly,
the correlation within 1e-12: the kernel sums in another order than numpy's dot products).
"""

import functools

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError
from futures_vpoc.features import build_features, feature_summary
import futures_vpoc.features.build as build
from futures_vpoc.features import fit as fits
from futures_vpoc.features.registry import GROUP_IMPLS


@functools.lru_cache(maxsize=1)
def market():
    """Six weeks over a roll (two contract segments), so every group's state crosses a boundary."""
    bars, _ = synthesize(SynthConfig(start="2023-02-20", end="2023-03-31", seed=8))
    return bars


def _bits(table) -> np.ndarray:
    return table.frame.to_numpy().view(np.int64)


@pytest.mark.parametrize("chunk_size", [None, 997])
def test_threaded_build_equals_the_one_thread_walk_bit_for_bit(monkeypatch, chunk_size):
    bars = market()
    assert bars["contract"].nunique() == 2
    monkeypatch.setattr(build, "BUILD_THREADS", 1)
    alone = build_features(bars, chunk_size=chunk_size)
    monkeypatch.setattr(build, "BUILD_THREADS", 3)
    fits._FITS.clear()  # the fit runs again, on its own thread
    threaded = build_features(bars, chunk_size=chunk_size)
    np.testing.assert_array_equal(_bits(threaded), _bits(alone))
    assert threaded.context == alone.context and threaded.warmup_rows == alone.warmup_rows
    assert list(threaded.frame.columns) == list(alone.frame.columns)


def _failing(monkeypatch, group: str, message: str) -> None:
    impl = GROUP_IMPLS[group]

    def compute(*args, **kwargs):
        raise RuntimeError(message)

    monkeypatch.setitem(GROUP_IMPLS, group, impl.__class__(impl.name, impl.specs, compute, impl.prepare,
                                                           impl.lookback))


def test_errors_come_out_in_a_fixed_order_whatever_finishes_first(monkeypatch):
    bars = market()
    monkeypatch.setattr(build, "BUILD_THREADS", 2)
    _failing(monkeypatch, "price", "price failed")
    _failing(monkeypatch, "technical", "technical failed")
    with pytest.raises(RuntimeError, match="price failed"):  # the first failing group in column order
        build_features(bars)
    fits._FITS.clear()
    with pytest.raises(DataError, match="train_end"):  # the fit's error before any group's
        build_features(bars, train_end=bars.index[50])


def _numpy_row(values: np.ndarray, k: int, label: np.ndarray) -> dict:
    """The summary figures as plain numpy computes them (the form the kernels replaced)."""
    finite = np.isfinite(values)
    fit = values[:k][finite[:k]]
    p1, q1, med, q3, p99 = np.quantile(fit, [0.01, 0.25, 0.5, 0.75, 0.99])
    v = values[finite]
    ok = finite[:k] & np.isfinite(label)
    corr = np.corrcoef(values[:k][ok], label[ok])[0, 1]
    return {"train_median": med, "train_iqr": q3 - q1,
            "beyond_p1_p99": (np.count_nonzero(v < p1) + np.count_nonzero(v > p99)) / len(v), "label_corr": corr}


def test_summary_equals_numpys_quantiles_tails_and_correlation():
    bars = market()
    table = build_features(bars)
    rng = np.random.default_rng(4)
    ret = table.frame["price_ret_1"].fillna(0.0).to_numpy()
    label = pd.Series(np.where(rng.random(len(bars)) < 0.1, np.nan, rng.normal(size=len(bars)) + ret / ret.std()),
                      index=bars.index)  # NaN on a tenth of the bars, correlated with the 1-bar return
    end = bars.index[len(bars) * 2 // 3]
    k = int(bars.index.searchsorted(end))
    summary = feature_summary(table, end, label=label).set_index("feature")
    checked = 0
    for spec in table.specs:
        values = table.frame[spec.column].to_numpy()
        if np.count_nonzero(np.isfinite(values[:k])) < 3:
            continue
        want, got = _numpy_row(values, k, label.to_numpy()[:k]), summary.loc[spec.column]
        for key in ("train_median", "train_iqr", "beyond_p1_p99"):
            assert got[key] == want[key], (spec.column, key)
        if np.isfinite(want["label_corr"]):
            assert abs(got["label_corr"] - want["label_corr"]) <= 1e-12, spec.column
        else:
            assert np.isnan(got["label_corr"]), spec.column
        checked += 1
    assert checked >= 40
    assert summary.loc["price_ret_1", "label_corr"] > 0.5
