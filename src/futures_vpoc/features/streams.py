"""Named kernel states carried from chunk to chunk, and thin wrappers around the kernels.

A feature group gets one :class:`Streams` for the whole build. Each wrapper call names its state
(``key``); the first call creates it, later calls (the next chunks) continue it. The wrappers
return new float64 arrays of the chunk's length and never look outside the chunk they are given.
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.features import kernels as k
from futures_vpoc.features import kernels_days as kd

SLOTS = 1440
"""Clock slots for per-time-of-day baselines: minutes of the day."""


class Streams:
    """Kernel states of one feature group, keyed by name."""

    def __init__(self) -> None:
        self._states: dict[str, tuple] = {}
        self._used: set[str] = set()

    def begin_chunk(self) -> None:
        """Start a new chunk: each state may then advance once more."""
        self._used.clear()

    def state(self, key: str, make) -> tuple:
        """The state called ``key``, created by ``make()`` on first use.

        Raises
        ------
        RuntimeError
            When ``key`` is used twice within one chunk (it would advance over the same bars
            twice: a programming error).
        """
        if key in self._used:
            raise RuntimeError(f"stream state {key!r} used twice in one chunk")
        self._used.add(key)
        found = self._states.get(key)
        if found is None:
            found = self._states[key] = make()
        return found


def _f(n: int, fill: float = 0.0) -> np.ndarray:
    return np.full(n, fill, dtype=np.float64)


def _i(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.int64)


def rolling_sum(st: Streams, key: str, x: np.ndarray, reset: np.ndarray, w: int) -> np.ndarray:
    """Sum of the last ``w`` values within the segment (see :func:`kernels.rolling_sum`)."""
    buf, fst, ist = st.state(key, lambda: (_f(w, np.nan), _f(1), _i(3)))
    out = np.empty(len(x))
    k.rolling_sum(x, reset, w, buf, fst, ist, out)
    return out


def rolling_mean(st: Streams, key: str, x: np.ndarray, reset: np.ndarray, w: int) -> np.ndarray:
    """Mean of the last ``w`` values within the segment (NaN while warming up)."""
    return rolling_sum(st, key, x, reset, w) / w


def lag(st: Streams, key: str, x: np.ndarray, reset: np.ndarray, k_bars: int) -> np.ndarray:
    """``x`` from ``k_bars`` bars earlier within the segment (NaN before)."""
    buf, ist = st.state(key, lambda: (_f(k_bars, np.nan), _i(2)))
    out = np.empty(len(x))
    k.lag(x, reset, k_bars, buf, ist, out)
    return out


def seeded_ema(st: Streams, key: str, x: np.ndarray, reset: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """Exponential average seeded with the mean of its first ``n`` values (see the kernel)."""
    fst, ist = st.state(key, lambda: (_f(1), _i(1)))
    out = np.empty(len(x))
    k.seeded_ema(x, reset, n, alpha, fst, ist, out)
    return out


def wilder(st: Streams, key: str, x: np.ndarray, reset: np.ndarray, n: int) -> np.ndarray:
    """Wilder's smoothing: seeded with the mean of ``n`` values, then ``alpha = 1/n``."""
    return seeded_ema(st, key, x, reset, n, 1.0 / n)


def ema(st: Streams, key: str, x: np.ndarray, reset: np.ndarray, n: int) -> np.ndarray:
    """EMA of span ``n`` (``alpha = 2/(n+1)``) seeded with the mean of its first ``n`` values."""
    return seeded_ema(st, key, x, reset, n, 2.0 / (n + 1.0))


def rolling_mean_sd(st: Streams, key: str, x: np.ndarray, reset: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population sd of the last ``w`` values within the segment."""
    buf, ist = st.state(key, lambda: (_f(w, np.nan), _i(3)))
    mean, sd = np.empty(len(x)), np.empty(len(x))
    k.rolling_mean_sd(x, reset, w, buf, ist, mean, sd)
    return mean, sd


def rolling_corr(st: Streams, key: str, x: np.ndarray, y: np.ndarray, reset: np.ndarray, w: int) -> np.ndarray:
    """Pearson correlation of the last ``w`` pairs (0.0 over a constant window)."""
    bx, by, ist = st.state(key, lambda: (_f(w, np.nan), _f(w, np.nan), _i(3)))
    out = np.empty(len(x))
    k.rolling_corr(x, y, reset, w, bx, by, ist, out)
    return out


def session_first(st: Streams, key: str, x: np.ndarray, new_session: np.ndarray) -> np.ndarray:
    """``x`` at the first bar of each bar's session."""
    (fst,) = st.state(key, lambda: (_f(1, np.nan),))
    out = np.empty(len(x))
    k.session_first(x, new_session, fst, out)
    return out


def session_cumsum(st: Streams, key: str, x: np.ndarray, new_session: np.ndarray) -> np.ndarray:
    """Running sum of ``x`` over the session, the bar included."""
    (fst,) = st.state(key, lambda: (_f(1),))
    out = np.empty(len(x))
    k.session_cumsum(x, new_session, fst, out)
    return out


def previous_session_last(st: Streams, key: str, x: np.ndarray, new_session: np.ndarray,
                          reset: np.ndarray) -> np.ndarray:
    """Last ``x`` of the previous session of the same segment (NaN in a segment's first session)."""
    (fst,) = st.state(key, lambda: (_f(2, np.nan),))
    out = np.empty(len(x))
    k.previous_session_last(x, new_session, reset, fst, out)
    return out


def slot_mean(st: Streams, key: str, x: np.ndarray, slot: np.ndarray, n: int,
              min_n: int | None = None) -> np.ndarray:
    """Mean of ``x`` over the previous up to ``n`` bars in the same clock minute (across rolls).

    NaN until the minute has been seen ``min_n`` times (default ``n``: a full window only).
    """
    need = n if min_n is None else min_n
    if not 1 <= need <= n:
        raise ValueError(f"slot_mean: min_n {min_n} outside 1..{n}")
    buf, cnt, pos = st.state(key, lambda: (np.zeros((SLOTS, n)), _i(SLOTS), _i(SLOTS)))
    out = np.empty(len(x))
    kd.slot_mean(x, slot, n, need, buf, cnt, pos, out)
    return out


def trailing_percentile(st: Streams, key: str, x: np.ndarray, new_day: np.ndarray, n: int,
                        min_n: int) -> np.ndarray:
    """Percentile of ``x`` among the day-end values of the previous ``n`` days (across rolls)."""
    buf, ist, fst = st.state(key, lambda: (_f(n, np.nan), _i(3), _f(3, np.nan)))
    out = np.empty(len(x))
    kd.trailing_percentile(x, new_day, n, min_n, buf, ist, fst, out)
    return out


def trailing_zscore(st: Streams, key: str, x: np.ndarray, new_day: np.ndarray, n: int, min_n: int,
                    sd_floor: float) -> np.ndarray:
    """z-score of ``x`` against the day-end values of the previous up to ``n`` days (across rolls).

    Sample sd (ddof 1) floored at ``sd_floor`` (``x``'s unit); NaN while fewer than ``min_n``
    (>= 2) day ends are held or ``x`` is NaN (see :func:`kernels_days.trailing_zscore`).
    """
    if not 2 <= min_n <= n:
        raise ValueError(f"trailing_zscore: min_n {min_n} outside 2..{n}")
    buf, ist, fst = st.state(key, lambda: (_f(n, np.nan), _i(3), _f(3, np.nan)))
    out = np.empty(len(x))
    kd.trailing_zscore(x, new_day, n, min_n, float(sd_floor), buf, ist, fst, out)
    return out


def garch_filter(st: Streams, key: str, r: np.ndarray, reset: np.ndarray, params) -> np.ndarray:
    """One-step-ahead GARCH(1,1) sd with fitted ``params`` (omega, alpha, beta, h0)."""
    (fst,) = st.state(key, lambda: (_f(1, np.nan),))
    out = np.empty(len(r))
    k.garch_filter(r, reset, params.omega, params.alpha, params.beta, params.h0, fst, out)
    return out
