"""What the features learn comes from the training part only; the GARCH filter is arch's.

The prior system fit nothing on a training part: its chunk scaling and its (unused) GARCH saw
future rows (reference section 4.3 and 8.4 item 30). Here changing every bar after ``train_end``
must leave the fitted GARCH parameters and regime edges unchanged, and the causal filter must
reproduce ``arch``'s own conditional volatility for the same parameters (tolerance 1e-10
relative: same recursion, ``arch`` in Cython, ours in numba).
"""

import functools

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError
from futures_vpoc.features import build_features, default_train_end
from futures_vpoc.features import streams as s
from futures_vpoc.features.fit import GarchParams, fit, segment_returns
from futures_vpoc.features.segments import bar_arrays

TRAIN_END = pd.Timestamp("2023-03-01", tz="UTC")


@functools.lru_cache(maxsize=1)
def market():
    bars, _ = synthesize(SynthConfig(start="2023-01-23", end="2023-03-24", seed=21))
    return bars


def _shocked_after(bars, when):
    """The same bars with every price after ``when`` scaled by a random walk (a different future)."""
    out = bars.copy()
    late = out.index >= when
    factor = np.exp(np.random.default_rng(1).normal(0, 3e-3, late.sum()).cumsum())
    for col in ("open", "high", "low", "close"):
        out.loc[late, col] = out.loc[late, col] * factor
    return out


def test_fit_ignores_bars_after_train_end(monkeypatch):
    import futures_vpoc.features.fit as fit_module

    bars = market()
    a = fit(bar_arrays(bars), TRAIN_END)
    monkeypatch.setattr(fit_module, "_FITS", {})  # fit again, not the kept fit
    b = fit(bar_arrays(_shocked_after(bars, TRAIN_END)), TRAIN_END)
    assert a == b
    assert a.garch.n_train > 20_000 and a.garch.converged


def test_features_before_train_end_ignore_the_future_even_through_the_fit():
    bars = market()
    shocked = _shocked_after(bars, TRAIN_END)
    early = bars.index < TRAIN_END
    a = build_features(bars, groups=["volatility"], train_end=TRAIN_END).frame[early]
    b = build_features(shocked, groups=["volatility"], train_end=TRAIN_END).frame[early]
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_filter_reproduces_arch_conditional_volatility():
    from arch import arch_model

    arrays = bar_arrays(market())
    r = segment_returns(arrays, 20_000)[1:] * 1e4  # one contract, finite returns, basis points
    model = arch_model(r, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    res = model.fit(disp="off", show_warning=False)
    omega, alpha, beta = res.params["omega"], res.params["alpha[1]"], res.params["beta[1]"]
    backcast = model.volatility.backcast(r)
    params = GarchParams(omega, alpha, beta, omega + (alpha + beta) * backcast, len(r), True)
    reset = np.zeros(len(r), bool)
    reset[0] = True
    ours = s.garch_filter(s.Streams(), "g", r, reset, params)  # ours[t]: forecast for t+1
    theirs = np.asarray(res.conditional_volatility)  # theirs[t]: sd of return t given t-1
    assert np.sqrt(params.h0) == pytest.approx(theirs[0], rel=1e-12)
    np.testing.assert_allclose(ours[:-1], theirs[1:], rtol=1e-10)


def test_regime_edges_are_train_tertiles():
    bars = market()
    f = build_features(bars, groups=["volatility"], train_end=TRAIN_END).frame
    train = f.loc[f.index < TRAIN_END, "volatility_regime"].dropna()
    shares = train.value_counts(normalize=True).sort_index()
    assert list(shares.index) == [0.0, 1.0, 2.0]
    np.testing.assert_allclose(shares.to_numpy(), 1 / 3, atol=0.01)


def test_default_train_end_is_seventy_percent_of_the_time_span():
    idx = market().index
    assert default_train_end(idx) == idx[0] + (idx[-1] - idx[0]) * 0.7


def test_too_few_training_bars_is_a_clear_error():
    bars = market()
    with pytest.raises(DataError, match="train_end"):
        build_features(bars, groups=["volatility"], train_end=bars.index[100])
    build_features(bars.iloc[:3000], groups=["price"], train_end=bars.index[100])  # nothing to fit: fine


def test_fits_are_kept_by_data_hash_and_equal_a_fresh_fit(monkeypatch):
    import futures_vpoc.features.fit as fit_module

    bars = market()
    arrays = bar_arrays(bars)
    monkeypatch.setattr(fit_module, "_FITS", {})
    first = fit(arrays, TRAIN_END)
    assert fit(bar_arrays(bars.copy()), TRAIN_END) is first  # same data: the kept fit
    monkeypatch.setattr(fit_module, "_FITS", {})
    assert fit(arrays, TRAIN_END) == first  # a fresh fit gives the same values
    changed = bars.copy()
    at = changed.index[100]
    for col in ("open", "high", "low", "close"):
        changed.loc[at, col] = changed.loc[at, col] + 1.0
    assert fit(bar_arrays(changed), TRAIN_END) != first  # one training close differs: fit again
