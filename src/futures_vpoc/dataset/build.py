"""From a BarFrame to scaled float32 tensors: features, labels, purged split, scaling fit on train.

How the split boundaries are found (two passes, so the fitted features see training bars only)
    1. ``data_fraction`` keeps the most recent ``ceil(f * n)`` bars (the *window*; the prior system
       kept the oldest, section 8.4 item 33 of its reference). Features are still computed on every
       bar, so the window's first rows have their full history (older bars are the past: no leak).
    2. Labels are computed (:func:`futures_vpoc.labels.make_labels`). The window's rows with a
       known horizon (:attr:`~futures_vpoc.labels.LabelTable.known`, decided by the calendar alone,
       the same rows for every target) are cut by the :class:`SplitSpec` fractions; the timestamps
       of the first validation and first test row are the boundaries ``val_start`` and
       ``test_start``.
    3. Features are built with ``train_end = val_start``: a fitted feature (GARCH) is fit on bars
       before the first validation row only.
    4. Feature availability (:mod:`.availability`): a feature is kept when it has values on at
       least ``MIN_FEATURE_COVERAGE`` (90%) of the training span's rows with a known horizon
       (before ``val_start``; validation and test values are never looked at), else dropped with
       its reason (:attr:`Dataset.feature_report`). Candidate rows = window rows with every
       *kept* feature finite and a known horizon. Each goes to
       train (``t < val_start``), validation (``val_start <= t < test_start``) or test; then the
       last ``purge`` candidate rows of train and of validation are dropped (:mod:`.splits`), and
       so is any row whose ``label_end`` still lies after the next part's boundary (the label-end
       backstop: none on a regular bar grid, where a label reaches at most ``horizon`` bars ahead,
       but bars spaced closer than the nominal width, e.g. tick bars, need it). The parts hold the
       SplitSpec fractions of the known rows, so of the candidate rows only approximately (the
       warm-up falls mostly in train).
    5. Only then are the candidate rows without a label dropped: the flat horizons of
       ``target="direction"`` (up vs down). Which rows are cut, purged and backstopped is thereby
       decided before any outcome is seen (a flat row's presence never shifts the purge), and a
       flat row never enters a part. Every flat row has a ``label_end``, so the backstop holds for
       it too. ``counts["label_shares"]`` holds :func:`futures_vpoc.labels.class_shares` of each
       part's candidate rows (after the purge, flat ones included).
    6. The scaler (and, for ``target="rank"``, the rank transform) is fit on the training rows.

Dropped rows are counted, never filled: ``dropped_warmup`` (a feature is NaN: warming up, VIX not
yet published, a window restarting at a roll), then ``dropped_no_label`` (features complete, horizon
unknown), then ``dropped_purge``, then ``dropped_flat`` (a flat horizon under ``direction``; 0 for
the other targets). A feature that is +-inf is a bug and raises. ``chunk_size`` is handed
to the feature builder and bounds memory only: the tensors are identical for every chunk size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from futures_vpoc.dataset.availability import MIN_FEATURE_COVERAGE, choose_features
from futures_vpoc.dataset.scaling import RankTransform, RobustScaler, transform_to_dict
from futures_vpoc.dataset.splits import SplitIndices, SplitSpec, boundaries, purged_parts
from futures_vpoc.errors import UsageError
from futures_vpoc.labels import LabelTable, class_shares, make_labels


@dataclass(frozen=True)
class SplitBoundaries:
    """Where the parts lie in time (UTC bar starts).

    Attributes
    ----------
    window_start : pandas.Timestamp
        First bar kept by ``data_fraction``.
    val_start, test_start : pandas.Timestamp
        First labelled row of validation and of test (pass 2 of the module docstring);
        ``val_start`` is the ``train_end`` given to the feature builder.
    end : pandas.Timestamp
        Last bar.
    """

    window_start: pd.Timestamp
    val_start: pd.Timestamp
    test_start: pd.Timestamp
    end: pd.Timestamp


@dataclass(frozen=True, eq=False)
class Dataset:
    """Scaled tensors of each part and everything needed to rebuild them.

    Attributes
    ----------
    X_train, X_val, X_test : numpy.ndarray of float32, shape (n_part, d)
        Scaled, winsorized features; finite.
    y_train, y_val, y_test : numpy.ndarray of float32, shape (n_part,)
        ``direction``: 1 up / 0 down (no flat horizon is in any part); ``up_or_not``: 1 up / 0 not
        up; ``rank``: percentile rank in [0, 1] against the training forward returns. Finite.
    t_train, t_val, t_test : pandas.DatetimeIndex
        Bar starts (UTC) of the rows.
    fwd_train, fwd_val, fwd_test : numpy.ndarray of float64, shape (n_part,)
        Raw forward returns (fraction) of the rows.
    feature_names : tuple of str
        Column order of X.
    scaler : RobustScaler
        Fit on ``X_train``'s raw rows.
    target_transform : RankTransform or None
        Fit on the training forward returns (``rank``); None for the binary targets.
    target : str
    horizon : int
        Bars.
    purge : int
        Rows purged before each boundary.
    boundaries : SplitBoundaries
    counts : dict
        Ints ``n_bars, n_window, dropped_warmup, dropped_no_label, dropped_purge, dropped_flat,
        n_train, n_val, n_test``; ``n_window`` is the sum of the seven that follow it.
        ``label_shares``: ``{"train": s, "val": s, "test": s}``, each ``s`` the
        :func:`futures_vpoc.labels.class_shares` dict (``up, flat, down, n``) of the part's rows
        with a known horizon, flat ones included. Possibly ``train_span_rows`` and
        ``sparse_features`` (when the training part keeps under a quarter of its span).
    X_test_unscored, t_test_unscored : numpy.ndarray of float32, shape (n_flat, d), and pandas.DatetimeIndex, or None
        The test part's rows without a label (flat horizons under ``direction``), scaled like
        ``X_test``: never scored, but predicted and written beside the scored rows, so a backtest of
        the test predictions trades every test bar and never learns from a missing prediction that
        the price will not move (which would be a look at the future). None when there are none.
    feature_report : dict of str to str
        Every candidate feature's fate, ``{name: reason}``: ``"kept: values on 97% of ..."`` or why
        it was dropped (:func:`futures_vpoc.dataset.availability.choose_features`).
    inference : dict
        What applying the model to new bars needs besides the scaler (:func:`inference_state`):
        the feature groups built, the frozen feature context (tick, bars per year, GARCH and regime
        fits), the bar width, the first and last bar and the contract roots of the training file.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    t_train: pd.DatetimeIndex
    t_val: pd.DatetimeIndex
    t_test: pd.DatetimeIndex
    fwd_train: np.ndarray
    fwd_val: np.ndarray
    fwd_test: np.ndarray
    feature_names: tuple[str, ...]
    scaler: RobustScaler
    target_transform: RankTransform | None
    target: str
    horizon: int
    purge: int
    boundaries: SplitBoundaries
    counts: dict[str, int]
    X_test_unscored: np.ndarray | None = None
    t_test_unscored: pd.DatetimeIndex | None = None
    feature_report: dict[str, str] = field(default_factory=dict)
    inference: dict = field(default_factory=dict)

    def state_dict(self) -> dict:
        """What a checkpoint needs to prepare new rows as these were, as plain JSON-able values.

        Keys ``feature_names, target, horizon, purge, scaler, target_transform`` (the
        :meth:`RobustScaler.to_dict` / :meth:`RankTransform.to_dict` states, the latter None for
        binary targets), ``boundaries`` (ISO-8601 UTC strings), ``counts`` and ``inference``
        (:attr:`inference`).
        """
        b = self.boundaries
        return {"feature_names": list(self.feature_names), "target": self.target, "horizon": self.horizon,
                "purge": self.purge, "scaler": transform_to_dict(self.scaler),
                "target_transform": transform_to_dict(self.target_transform),
                "boundaries": {k: getattr(b, k).isoformat()
                               for k in ("window_start", "val_start", "test_start", "end")},
                "counts": dict(self.counts), "inference": dict(self.inference)}


def build_dataset(bars: pd.DataFrame, groups=None, target: str = "direction", horizon: int = 5,
                  split: SplitSpec | None = None, data_fraction: float = 1.0, chunk_size: int | None = None,
                  *, builder: Callable | None = None, min_coverage: float = MIN_FEATURE_COVERAGE) -> Dataset:
    """Features, labels, purged chronological split and train-fit scaling, as float32 tensors.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame.
    groups : sequence of str, optional
        Feature groups (default all), passed to the builder.
    target : {"direction", "up_or_not", "rank"}
        :func:`futures_vpoc.labels.make_labels`'s target; ``direction`` leaves flat horizons out.
    horizon : int
        Label horizon, bars.
    split : SplitSpec, optional
        Default 0.70 / 0.15 / 0.15, purge = horizon.
    data_fraction : float
        Keep the most recent fraction of bars, in (0, 1].
    chunk_size : int, optional
        Rows per chunk of the feature builder (memory only).
    builder : callable, optional
        ``builder(bars, groups=, chunk_size=, train_end=)`` returning an object with ``.frame``
        (index = ``bars.index``, float columns); default :func:`futures_vpoc.features.build_features`.
    min_coverage : float
        Least share of the training span's rows on which a feature has values to be kept.

    Returns
    -------
    Dataset

    Raises
    ------
    UsageError
        Bad fraction, target, horizon or purge, or too few usable rows for every part.
    RuntimeError
        A feature holds +-inf, or a NaN reached a tensor (bugs, never silenced).
    """
    split = split or SplitSpec()
    labels = make_labels(bars, target, horizon)
    purge = split.purge_rows(labels.horizon)
    stamps = pd.DatetimeIndex(bars.index)
    window = _window(len(bars), data_fraction)
    known, labelled = labels.known, labels.labelled
    val_start, test_start = _time_boundaries(stamps, window & known, split)
    X, names, specs, context = _features(bars, builder, groups, chunk_size, val_start)
    keep, report = choose_features(X, names, window & known & (stamps < val_start), specs, min_coverage)
    X, names = X[:, keep], tuple(n for n, k in zip(names, keep) if k)
    complete = ~np.isnan(X).any(axis=1)
    candidate = window & complete & known
    _require_rows(candidate & labelled, X[window], names)
    rows = np.flatnonzero(candidate)
    parts, shares = _split(rows, stamps, labels, purge, (val_start, test_start))
    unscored = rows[parts.test[~labelled[rows][parts.test]]]
    parts, flat = _drop_unlabelled(parts, labelled[rows])
    bounds = SplitBoundaries(stamps[np.argmax(window)], val_start, test_start, stamps[-1])
    counts = _counts(window, complete, known, parts, flat)
    counts["label_shares"] = shares
    counts.update(_sparse_train(X, names, window & labelled & (stamps < val_start), len(parts.train)))
    ds = _assemble(X, names, labels, stamps, [rows[p] for p in (parts.train, parts.val, parts.test)],
                   purge, bounds, counts, unscored)
    return replace(ds, feature_report=report, inference=inference_state(bars, groups, context))


def inference_state(bars: pd.DataFrame, groups, context) -> dict:
    """JSON-able facts a trained model needs to compute its features on new bars.

    Keys ``groups`` (the groups built, in build order), ``context`` (the feature context's
    ``to_dict()``, None when the builder gave none), ``bar_seconds`` (the bar width, seconds),
    ``first_bar`` / ``last_bar`` (ISO-8601 UTC bar starts of the training file) and ``roots``
    (sorted contract roots, e.g. ``["ES"]``).
    """
    from futures_vpoc.data.barframe import bar_width
    from futures_vpoc.data.contracts import split_code
    from futures_vpoc.features.registry import resolve_groups

    stamps = pd.DatetimeIndex(bars.index)
    codes = pd.unique(bars["contract"].astype(str)) if "contract" in bars.columns else []
    roots = sorted({(split_code(c) or (c,))[0] for c in codes})
    try:
        names = [g.name for g in resolve_groups(groups)]
    except UsageError:  # a caller's own builder with its own group names (tests)
        names = [str(g) for g in groups]
    return {"groups": names,
            "context": context.to_dict() if hasattr(context, "to_dict") else None,
            "bar_seconds": float(bar_width(stamps).total_seconds()),
            "first_bar": stamps[0].isoformat(), "last_bar": stamps[-1].isoformat(), "roots": roots}


def _split(rows: np.ndarray, stamps: pd.DatetimeIndex, labels: LabelTable, purge: int,
           starts: tuple[pd.Timestamp, pd.Timestamp]) -> tuple[SplitIndices, dict]:
    """Cut the candidate rows at ``starts``, purge, apply the label-end backstop (steps 4-5).

    Parameters
    ----------
    rows : numpy.ndarray of int64, shape (n_candidates,)
        Bar positions of the candidate rows (known horizon, complete features), increasing.

    Returns
    -------
    (SplitIndices, dict)
        Positions into ``rows`` of each part, and ``{"train"|"val"|"test": class_shares}`` of the
        parts' forward returns (flat rows included; no row without a known horizon is a candidate).
    """
    part = (stamps[rows] >= starts[0]).astype(np.int64) + (stamps[rows] >= starts[1])
    parts = _purge_overlaps(purged_parts(part, purge), labels, rows, starts)
    fwd = labels.frame["fwd_return"].to_numpy()
    shares = {name: class_shares(fwd[rows[p]])
              for name, p in zip(("train", "val", "test"), (parts.train, parts.val, parts.test))}
    return parts, shares


def _sparse_train(X: np.ndarray, names: tuple[str, ...], span: np.ndarray, n_train: int) -> dict:
    """When the training part keeps under a quarter of its labelled rows, the features to blame.

    Returns ``{}`` or ``{"train_span_rows": int, "sparse_features": {name: NaN share}}`` with the
    (at most five) features most often NaN in the training span, NaN share in [0, 1].
    """
    total = int(span.sum())
    if total == 0 or n_train >= 0.25 * total:
        return {}
    share = np.isnan(X[span]).mean(axis=0)
    worst = np.argsort(-share, kind="stable")[:5]
    return {"train_span_rows": total,
            "sparse_features": {names[i]: round(float(share[i]), 4) for i in worst if share[i] > 0}}


def _counts(window: np.ndarray, complete: np.ndarray, known: np.ndarray, parts: SplitIndices, flat: int) -> dict:
    """Where every bar of the window went (the integer :attr:`Dataset.counts` keys)."""
    return {"n_bars": len(window), "n_window": int(window.sum()),
            "dropped_warmup": int((window & ~complete).sum()),
            "dropped_no_label": int((window & complete & ~known).sum()),
            "dropped_purge": parts.purged, "dropped_flat": flat,
            "n_train": len(parts.train), "n_val": len(parts.val), "n_test": len(parts.test)}


def _window(n: int, data_fraction: float) -> np.ndarray:
    """Mask of the most recent ``ceil(data_fraction * n)`` rows, shape (n,)."""
    try:
        f = float(data_fraction)
    except (TypeError, ValueError):
        f = np.nan
    if not (np.isfinite(f) and 0.0 < f <= 1.0):
        raise UsageError(f"--data_fraction {data_fraction!r} must be in (0, 1]")
    if n == 0:
        raise UsageError("no bars to build a dataset from")
    keep = min(n, max(1, int(np.ceil(f * n))))
    return np.arange(n) >= n - keep


def _time_boundaries(stamps: pd.DatetimeIndex, candidates: np.ndarray,
                     split: SplitSpec) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Timestamps of the first validation and first test row among the labelled window rows."""
    cand = stamps[candidates]
    val_row, test_row = boundaries(len(cand), split)
    if val_row < 1 or test_row <= val_row or test_row >= len(cand):
        raise UsageError(f"{len(cand)} labelled rows are too few to split {split.train}/{split.val}/"
                         f"{split.test}; use more data or a larger --data_fraction")
    return cand[val_row], cand[test_row]


def _features(bars: pd.DataFrame, builder: Callable | None, groups, chunk_size,
              train_end: pd.Timestamp) -> tuple[np.ndarray, tuple[str, ...], tuple, object]:
    """Feature matrix (float64, shape (n, d), NaN while warming up), column names, specs and the
    feature context the builder used (None when it reports none)."""
    if builder is None:
        from futures_vpoc.features import build_features as builder
    table = builder(bars, groups=groups, chunk_size=chunk_size, train_end=train_end)
    frame = table.frame
    if not frame.index.equals(bars.index):
        raise RuntimeError("feature table index differs from the bars' index")
    X = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))  # row-major, as the splits and scaler read it
    if X.shape[1] == 0:
        raise UsageError("no features selected; name at least one feature group")
    infinite = np.isinf(X).any(axis=0)
    if infinite.any():
        bad = [str(c) for c in frame.columns[infinite]]
        raise RuntimeError(f"feature(s) {', '.join(bad)} hold +-inf; a feature must be finite or NaN")
    return (X, tuple(str(c) for c in frame.columns), tuple(getattr(table, "specs", None) or ()),
            getattr(table, "context", None))


def _require_rows(usable: np.ndarray, X_window: np.ndarray, names: tuple[str, ...]) -> None:
    """Refuse a dataset without usable rows, naming the features that are NaN all along."""
    if usable.any():
        return
    dead = [n for n, empty in zip(names, np.isnan(X_window).all(axis=0)) if empty]
    why = f"feature(s) {', '.join(dead)} are NaN on every bar" if dead else "no bar has every feature and a label"
    raise UsageError(f"no usable rows: {why}; use more data (warm-up) or drop those feature groups")


def _purge_overlaps(parts: SplitIndices, labels: LabelTable, rows: np.ndarray,
                    starts: tuple[pd.Timestamp, pd.Timestamp]) -> SplitIndices:
    """Also drop any train (validation) row whose label is known only after ``val_start``
    (``test_start``); on a regular bar grid the ``purge >= horizon`` rows already ensure it."""
    end = pd.DatetimeIndex(labels.frame["label_end"])
    train = parts.train[end[rows[parts.train]] <= starts[0]]
    val = parts.val[end[rows[parts.val]] <= starts[1]]
    if len(train) == 0 or len(val) == 0:
        raise UsageError("a part is empty after the purge; use more data or a larger --data_fraction")
    extra = len(parts.train) - len(train) + len(parts.val) - len(val)
    return SplitIndices(train, val, parts.test, parts.purged + extra)


def _drop_unlabelled(parts: SplitIndices, labelled: np.ndarray) -> tuple[SplitIndices, int]:
    """Drop the purged parts' rows without a label (flat horizons under ``direction``).

    Parameters
    ----------
    parts : SplitIndices
        Positions into the candidate rows, after the purge.
    labelled : numpy.ndarray of bool, shape (n_candidates,)
        Whether each candidate row has a label.

    Returns
    -------
    (SplitIndices, int)
        The parts without those rows (``purged`` unchanged) and how many were dropped.
    """
    kept = [p[labelled[p]] for p in (parts.train, parts.val, parts.test)]
    for name, idx in zip(("train", "validation", "test"), kept):
        if len(idx) == 0:
            raise UsageError(f"the {name} part has no labelled row (every horizon in it is flat); "
                             "use more data or another --target")
    dropped = sum(len(p) - len(k) for p, k in zip((parts.train, parts.val, parts.test), kept))
    return SplitIndices(*kept, purged=parts.purged), dropped


def _assemble(X: np.ndarray, names: tuple[str, ...], labels: LabelTable, stamps: pd.DatetimeIndex,
              parts: list[np.ndarray], purge: int, bounds: SplitBoundaries, counts: dict,
              unscored: np.ndarray) -> Dataset:
    """Fit the scaler (and rank transform) on the training rows and cast every part to float32
    (``unscored``: bar positions of the test part's rows without a label, scaled alongside)."""
    scaler = RobustScaler().fit(X[parts[0]], names)
    fwd = labels.frame["fwd_return"].to_numpy()
    raw_y = labels.frame["label"].to_numpy()
    transform = RankTransform().fit(fwd[parts[0]]) if labels.target == "rank" else None
    out = {}
    for name, idx in zip(("train", "val", "test"), parts):
        out[f"X_{name}"] = _finite32(scaler.transform(X[idx]), f"X_{name}")
        y = transform.transform(fwd[idx]) if transform is not None else raw_y[idx]
        out[f"y_{name}"] = _finite32(y, f"y_{name}")
        out[f"t_{name}"] = stamps[idx]
        out[f"fwd_{name}"] = fwd[idx].copy()
    if len(unscored):
        out["X_test_unscored"] = _finite32(scaler.transform(X[unscored]), "X_test_unscored")
        out["t_test_unscored"] = stamps[unscored]
    return Dataset(**out, feature_names=names, scaler=scaler, target_transform=transform,
                   target=labels.target, horizon=labels.horizon, purge=purge, boundaries=bounds, counts=counts)


def _finite32(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` as float32, refusing anything non-finite (NaN must never reach a tensor)."""
    out = np.asarray(values, dtype=np.float32)
    if not np.isfinite(out).all():
        raise RuntimeError(f"{name} holds non-finite values after scaling; this is a bug")
    return out


__all__ = ["Dataset", "SplitBoundaries", "build_dataset"]
