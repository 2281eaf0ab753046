"""Which features a dataset keeps, and whether a file holds enough sessions to split at all.

Feature availability (:func:`choose_features`)
    A feature is kept when it has a value on at least :data:`MIN_FEATURE_COVERAGE` of the training
    span's candidate rows: the window's rows with a known label horizon (decided by the calendar
    alone, never by an outcome) that lie before ``val_start``. Validation and test values are never
    looked at. A feature below that share (a long warm-up on a short file, VIX not yet published, a
    group that is undefined on these bars) is dropped as a whole, with its reason. The dataset then
    drops the rows where a *kept* feature is NaN (its warm-up): rows are dropped until the warm-up
    ends, never zero-filled. Without this rule one slow feature (VIX percentile over 252 sessions)
    would delete most rows of a short file.

Session count (:func:`min_sessions`, :func:`require_sessions`)
    A split needs every part to hold at least one session of rows, plus the rows the purge and the
    unlabelled tail eat; see :func:`min_sessions` for how ``N`` is derived.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from futures_vpoc.errors import UsageError

MIN_FEATURE_COVERAGE = 0.60
"""Least share of the training span's candidate rows on which a feature must have a value to be kept.

Why 0.6: on the short files users try first (two weeks of minute bars: about 7 training sessions)
a feature that needs the previous session or two (VIX change and z-score, the session-slot volume
norm over the sessions available, the previous session's profile levels) has values on 70-86% of
the training rows; at 0.9 they would all be dropped and VIX would not reach the model, the defect
of the system the seed came from. Keeping them costs the first one or two training sessions
(their warm-up rows). A feature that needs most of the training span (a 252-session percentile on
a year of data, the 10-session norms on two weeks) is still dropped, with its reason."""

KEPT = "kept"


def _warmup_text(spec) -> str | None:
    """The feature's declared warm-up as text (``FeatureSpec.warmup`` when the spec has one)."""
    value = getattr(spec, "warmup", None) if spec is not None else None
    if value is None or value == 0 or str(value).strip().lower() in ("", "none", "0"):
        return None
    return str(value)


def choose_features(X: np.ndarray, names: tuple[str, ...], span: np.ndarray, specs=None,
                    min_share: float = MIN_FEATURE_COVERAGE) -> tuple[np.ndarray, dict[str, str]]:
    """Keep the features with values on at least ``min_share`` of the training span's rows.

    Parameters
    ----------
    X : numpy.ndarray of float64, shape (n, d)
        Every bar's features (NaN while warming up).
    names : tuple of str, length d
    span : numpy.ndarray of bool, shape (n,)
        The training span's candidate rows (window, known horizon, before ``val_start``).
    specs : sequence of FeatureSpec, optional
        One per column (for the declared warm-up in the reason); ignored when its length differs.
    min_share : float
        :data:`MIN_FEATURE_COVERAGE` unless a caller says otherwise.

    Returns
    -------
    (numpy.ndarray of bool, shape (d,), dict)
        Which columns are kept, and ``{name: reason}`` for every feature; a kept feature's reason
        starts with ``"kept"``.

    Raises
    ------
    UsageError
        When no feature would be kept (one line naming the best-covered ones).
    """
    total = int(span.sum())
    share = (~np.isnan(X[span])).mean(axis=0) if total else np.zeros(len(names))
    return choose_from_shares(share, total, names, specs, min_share)


def choose_from_shares(share: np.ndarray, total: int, names, specs=None,
                       min_share: float = MIN_FEATURE_COVERAGE) -> tuple[np.ndarray, dict]:
    """:func:`choose_features` from each column's share of training rows with a value.

    For callers that count values without holding the table (a partitioned dataset, month by
    month: :mod:`futures_vpoc.dataset.sharded`). ``share``: float array, shape (d,), in [0, 1];
    ``total``: the training rows counted. Same return value, report and error.
    """
    specs = tuple(specs or ())
    if len(specs) != len(names):
        specs = (None,) * len(names)
    keep = share >= min_share
    report = {}
    for name, s, k, spec in zip(names, share, keep, specs):
        what = f"values on {s:.0%} of {total:,} training rows"
        if k:
            report[name] = f"{KEPT}: {what}"
        else:
            warm = _warmup_text(spec)
            report[name] = f"{what} (needs {min_share:.0%})" + (f"; warm-up {warm}" if warm else "")
    if not keep.any():
        best = np.argsort(-share, kind="stable")[:3]
        listed = ", ".join(f"{names[i]} {share[i]:.0%}" for i in best)
        raise UsageError(f"every feature would be dropped: none has values on {min_share:.0%} of the "
                         f"{total:,} training rows (best: {listed}); use more data (warm-up) or other --features")
    return keep, report


def kept_and_dropped(report: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """``(features_kept, features_dropped)`` of a feature report, as ``summary.json`` writes them."""
    kept = [n for n, r in report.items() if r.startswith(KEPT)]
    dropped = {n: r for n, r in report.items() if not r.startswith(KEPT)}
    return kept, dropped


def min_sessions(split, horizon: int, bars_per_session: float = 1.0) -> int:
    """Fewest sessions a file needs for a train / validation / test split, and how it is derived.

    ``N = ceil(1 / smallest fraction) + ceil((2 * purge + horizon) / bars_per_session)``:

    * the first term makes the smallest part (the rows are cut by fraction) hold at least one
      session's worth of rows: with ``n`` equal sessions it gets ``floor(f * n)`` sessions of rows,
      which is >= 1 only when ``n >= 1 / f`` (7 sessions for 0.70 / 0.15 / 0.15);
    * the second adds the sessions eaten by the purge (``purge`` rows before each of the two
      boundaries) and by the last ``horizon`` rows, whose horizon is unknown (at least one session).

    It is a floor, not a promise: a feature's warm-up still thins the training part.
    """
    purge = split.purge_rows(horizon)
    smallest = min(split.train, split.val, split.test)
    per = max(float(bars_per_session), 1.0)
    return int(math.ceil(1.0 / smallest - 1e-9)) + max(1, int(math.ceil((2 * purge + horizon) / per)))


def require_sessions(bars: pd.DataFrame, split, horizon: int, data_fraction: float = 1.0) -> int:
    """Refuse, with one line, a file too short for its split, before any feature is built.

    Counts the trade dates of the bars (of the most recent ``data_fraction`` of them) and compares
    with :func:`min_sessions`, ``bars_per_session`` being the median bars per trade date.

    Returns
    -------
    int
        The number of sessions.

    Raises
    ------
    UsageError
        ``needs >= N sessions for train/validation/test; the file has M``.
    """
    n = len(bars)
    try:
        f = float(data_fraction)
    except (TypeError, ValueError):
        f = 1.0
    keep = min(n, max(1, int(math.ceil(f * n)))) if n and 0 < f <= 1 else n
    tail = bars.iloc[n - keep:] if n else bars
    if "trade_date" in tail.columns:
        dates = pd.Series(pd.DatetimeIndex(tail["trade_date"])).dropna()
    else:
        dates = pd.Series(pd.DatetimeIndex(tail.index).normalize())
    per_day = dates.value_counts()
    m = int(len(per_day))
    need = min_sessions(split, horizon, float(per_day.median()) if m else 1.0)
    if m < need:
        where = "the file has" if keep == n else f"the last {f:g} of the file (--data_fraction) has"
        raise UsageError(f"needs \u2265 {need} sessions for train/validation/test; {where} {m}")
    return m


__all__ = ["MIN_FEATURE_COVERAGE", "choose_features", "choose_from_shares", "kept_and_dropped", "min_sessions",
           "require_sessions"]
