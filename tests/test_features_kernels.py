"""The streaming kernels against plain reference loops, and chunked calls against one call.

References are written here from the definitions in ``futures_vpoc.features.kernels`` (direct
window sums, no carried state), so they share no code with the kernels. Running sums may differ
from a direct sum by rounding only: tolerance 1e-12 relative. Chunked against unchunked calls
must be bit-identical (same operations in the same order).
"""

import numpy as np
import pytest

from futures_vpoc.features import streams as s

RNG = np.random.default_rng(11)
N = 600
X = RNG.normal(size=N).cumsum() + 50.0
Y = RNG.normal(size=N)
RESET = np.zeros(N, dtype=bool)
RESET[[0, 137, 138, 401]] = True  # a one-bar segment at 137 included
NEW_SESSION = RESET.copy()
NEW_SESSION[[50, 90, 200, 300, 500]] = True
SLOT = RNG.integers(0, 5, size=N)


def _segments(reset):
    starts = np.flatnonzero(reset)
    return list(zip(starts, [*starts[1:], len(reset)], strict=True))


def ref_rolling_sum(x, reset, w):
    out = np.full(len(x), np.nan)
    for a, b in _segments(reset):
        for t in range(a + w - 1, b):
            out[t] = x[t - w + 1: t + 1].sum()
    return out


def ref_lag(x, reset, k):
    out = np.full(len(x), np.nan)
    for a, b in _segments(reset):
        out[a + k: b] = x[a: b - k]
    return out


def ref_seeded_ema(x, reset, n, alpha):
    out = np.full(len(x), np.nan)
    for a, b in _segments(reset):
        if b - a < n:
            continue
        y = x[a: a + n].mean()
        out[a + n - 1] = y
        for t in range(a + n, b):
            y = y + alpha * (x[t] - y)
            out[t] = y
    return out


def ref_mean_sd(x, reset, w):
    mean, sd = np.full(len(x), np.nan), np.full(len(x), np.nan)
    for a, b in _segments(reset):
        for t in range(a + w - 1, b):
            win = x[t - w + 1: t + 1]
            mean[t], sd[t] = win.mean(), win.std(ddof=0)
    return mean, sd


def ref_corr(x, y, reset, w):
    out = np.full(len(x), np.nan)
    for a, b in _segments(reset):
        for t in range(a + w - 1, b):
            out[t] = np.corrcoef(x[t - w + 1: t + 1], y[t - w + 1: t + 1])[0, 1]
    return out


def _chunked(fn, n, sizes):
    """Call ``fn(st, rows)`` over consecutive chunks of the given sizes with one Streams."""
    st, parts, a = s.Streams(), [], 0
    for size in sizes:
        st.begin_chunk()
        parts.append(fn(st, slice(a, min(a + size, n))))
        a += size
        if a >= n:
            break
    return np.concatenate(parts)


CALLS = {
    "rolling_sum": lambda st, r: s.rolling_sum(st, "k", X[r], RESET[r], 20),
    "lag": lambda st, r: s.lag(st, "k", X[r], RESET[r], 7),
    "ema": lambda st, r: s.ema(st, "k", X[r], RESET[r], 12),
    "mean_sd": lambda st, r: np.column_stack(s.rolling_mean_sd(st, "k", X[r], RESET[r], 20)),
    "corr": lambda st, r: s.rolling_corr(st, "k", X[r], Y[r], RESET[r], 20),
    "session_first": lambda st, r: s.session_first(st, "k", X[r], NEW_SESSION[r]),
    "session_cumsum": lambda st, r: s.session_cumsum(st, "k", Y[r], NEW_SESSION[r]),
    "prev_last": lambda st, r: s.previous_session_last(st, "k", X[r], NEW_SESSION[r], RESET[r]),
    "slot_mean": lambda st, r: s.slot_mean(st, "k", Y[r], SLOT[r], 4),
    "slot_mean_min": lambda st, r: s.slot_mean(st, "k", Y[r], SLOT[r], 4, 2),
    "zscore": lambda st, r: s.trailing_zscore(st, "k", X[r], NEW_SESSION[r], 5, 2, 0.01),
    "percentile": lambda st, r: s.trailing_percentile(st, "k", X[r], NEW_SESSION[r], 3, 2),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("sizes", [[1] * N, [7] * 100, [19, 1, 300, 280], [N]])
def test_chunked_calls_equal_one_call_bit_for_bit(name, sizes):
    whole = _chunked(CALLS[name], N, [N])
    np.testing.assert_array_equal(_chunked(CALLS[name], N, sizes), whole)


def test_rolling_sum_matches_direct_window_sums():
    got = s.rolling_sum(s.Streams(), "k", X, RESET, 20)
    np.testing.assert_allclose(got, ref_rolling_sum(X, RESET, 20), rtol=1e-12, atol=1e-12)


def test_rolling_sum_propagates_a_nan_for_exactly_its_window():
    x = np.arange(30, dtype=float)
    x[10] = np.nan
    got = s.rolling_sum(s.Streams(), "k", x, np.r_[True, np.zeros(29, bool)], 5)
    assert np.isnan(got[10:15]).all() and np.isfinite(got[15:]).all()
    assert got[15] == x[11:16].sum()


def test_lag_and_seeded_ema_match_references():
    np.testing.assert_array_equal(s.lag(s.Streams(), "k", X, RESET, 7), ref_lag(X, RESET, 7))
    np.testing.assert_allclose(s.ema(s.Streams(), "k", X, RESET, 12), ref_seeded_ema(X, RESET, 12, 2 / 13),
                               rtol=1e-13)
    np.testing.assert_allclose(s.wilder(s.Streams(), "k", X, RESET, 14), ref_seeded_ema(X, RESET, 14, 1 / 14),
                               rtol=1e-13)


def test_seeded_ema_skips_leading_nans():
    x = np.r_[np.full(5, np.nan), np.arange(1.0, 11.0)]
    got = s.ema(s.Streams(), "k", x, np.r_[True, np.zeros(14, bool)], 3)
    assert np.isnan(got[:7]).all()
    assert got[7] == 2.0  # mean of 1, 2, 3


def test_mean_sd_and_corr_match_references():
    mean, sd = s.rolling_mean_sd(s.Streams(), "k", X, RESET, 20)
    ref_m, ref_s = ref_mean_sd(X, RESET, 20)
    np.testing.assert_allclose(mean, ref_m, rtol=1e-13)
    np.testing.assert_allclose(sd, ref_s, rtol=1e-10)
    np.testing.assert_allclose(s.rolling_corr(s.Streams(), "k", X, Y, RESET, 20), ref_corr(X, Y, RESET, 20),
                               rtol=1e-10, atol=1e-12)


def test_constant_windows_give_documented_values_not_warnings():
    x = np.full(40, 3.0)
    reset = np.r_[True, np.zeros(39, bool)]
    _, sd = s.rolling_mean_sd(s.Streams(), "k", x, reset, 20)
    assert sd[19:].tolist() == [0.0] * 21
    assert s.rolling_corr(s.Streams(), "k", x, Y[:40], reset, 20)[19:].tolist() == [0.0] * 21


def test_session_kernels():
    x = np.arange(10.0)
    new = np.array([1, 0, 0, 1, 0, 1, 0, 0, 0, 1], bool)
    reset = np.array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0], bool)
    assert s.session_first(s.Streams(), "k", x, new).tolist() == [0, 0, 0, 3, 3, 5, 5, 5, 5, 9]
    assert s.session_cumsum(s.Streams(), "k", x, new).tolist() == [0, 1, 3, 3, 7, 5, 11, 18, 26, 9]
    prev = s.previous_session_last(s.Streams(), "k", x, new, reset)
    np.testing.assert_array_equal(prev, [np.nan] * 3 + [2.0] * 2 + [np.nan] * 4 + [8.0])


def test_slot_mean_uses_the_previous_n_bars_of_the_slot_only():
    x = np.array([1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0])
    slot = np.array([0, 1, 0, 1, 0, 1, 0])
    got = s.slot_mean(s.Streams(), "k", x, slot, 2)
    np.testing.assert_array_equal(got, [np.nan, np.nan, np.nan, np.nan, 1.5, 15.0, 2.5])


def test_slot_mean_with_a_minimum_count_averages_what_it_holds():
    x = np.array([1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 5.0])
    slot = np.array([0, 1, 0, 1, 0, 1, 0, 0])
    got = s.slot_mean(s.Streams(), "k", x, slot, 3, 2)
    np.testing.assert_array_equal(got, [np.nan, np.nan, np.nan, np.nan, 1.5, 15.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="min_n"):
        s.slot_mean(s.Streams(), "k", x, slot, 3, 4)


def test_trailing_zscore_against_previous_day_ends():
    x = np.array([1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 5.0, 5.0])
    day = np.array([1, 0, 1, 1, 0, 1, 1, 0], bool)  # day ends: 2.0, 3.0, 1.0, 2.0, then the running day
    got = s.trailing_zscore(s.Streams(), "k", x, day, 3, 2, 0.1)
    held3 = np.array([2.0, 3.0, 1.0])
    expected = [np.nan] * 3 + [(4.0 - 2.5) / np.std([2.0, 3.0], ddof=1), (1.0 - 2.5) / np.std([2.0, 3.0], ddof=1),
                               (2.0 - 2.0) / np.std(held3, ddof=1), (5.0 - 2.0) / np.std([3.0, 1.0, 2.0], ddof=1),
                               (5.0 - 2.0) / np.std([3.0, 1.0, 2.0], ddof=1)]
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    flat = s.trailing_zscore(s.Streams(), "k", np.array([7.0, 7.0, 7.5]), np.array([1, 1, 1], bool), 3, 2, 0.25)
    np.testing.assert_array_equal(flat, [np.nan, np.nan, 2.0])  # sd 0 floored at 0.25
    with pytest.raises(ValueError, match="min_n"):
        s.trailing_zscore(s.Streams(), "k", x, day, 3, 1, 0.1)


def test_trailing_percentile_ranks_against_previous_day_ends():
    x = np.array([1.0, 2.0, 3.0, 3.0, 1.0, 2.0, 5.0])
    day = np.array([1, 0, 1, 0, 1, 1, 0], bool)  # day ends: 2.0, 3.0, 1.0, then the running day
    got = s.trailing_percentile(s.Streams(), "k", x, day, 3, 2)
    # before day 3 only one day end is held (< 2): NaN; at t=4 held {2, 3}; t=5 held {2, 3, 1}
    np.testing.assert_array_equal(got, [np.nan] * 4 + [0.0, 0.5, 1.0])


def test_a_stream_state_cannot_advance_twice_in_one_chunk():
    st = s.Streams()
    st.begin_chunk()
    s.lag(st, "k", X[:10], RESET[:10], 1)
    with pytest.raises(RuntimeError, match="twice"):
        s.lag(st, "k", X[10:20], RESET[10:20], 1)
