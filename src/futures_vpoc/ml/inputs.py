"""What the trainer consumes: float32 arrays of the three parts and what describes them.

:class:`TrainData` is built from a :class:`futures_vpoc.dataset.Dataset` (:meth:`TrainData.from_dataset`)
or directly from arrays (tests, other callers). :meth:`TrainData.check` refuses non-finite inputs
before any training, naming the feature, the part and the first offending timestamp.

For ``target="direction"`` (up vs down; flat horizons never reach these arrays) and ``"up_or_not"``
(:data:`futures_vpoc.labels.BINARY_TARGETS`) the labels are 0/1 and the model's output is a logit
(up when > 0). For
``target="rank"`` the labels are percentile ranks in [0, 1] and the output is the predicted rank;
classification metrics then score "up" (forward return > 0) against ``output > decision_threshold``,
the training rank of a zero return.

Paged inputs. ``X_train`` may be a :class:`numpy.memmap` (``train --data DATASET_FOLDER``:
:func:`futures_vpoc.dataset.sharded.build_sharded`), its rows read from disk when touched. Such an
array is registered here (:func:`paged_block_rows`), so the epoch loop (:mod:`.epoch`) gathers each
batch from it rather than a permuted copy of the whole part, in a block order
(:attr:`TrainData.block_rows`) that keeps the pages it reads together. :meth:`TrainData.check`
reads the parts block by block, never allocating a mask of a whole part.
"""

from __future__ import annotations

import mmap
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.labels import is_binary

PARTS = ("train", "val", "test")
BLOCK_ROWS = 65_536
"""Default rows of a shuffle block of a memory-mapped training part (:attr:`TrainData.block_rows`)."""
CHECK_ROWS = 65_536
"""Rows :meth:`TrainData.check` reads at a time."""

_PAGED: dict[int, int] = {}
"""Address of a registered memory-mapped ``X_train`` -> its block rows (entries leave with the array)."""


def _register_paged(X: np.ndarray, block_rows: int) -> None:
    """Mark ``X`` (a memmap-backed array) as paged, with its shuffle block size, while it lives."""
    address = int(X.__array_interface__["data"][0])
    _PAGED[address] = int(block_rows)
    weakref.finalize(X, _PAGED.pop, address, None)


def _mapped(X) -> bool:
    """Whether ``X``'s memory is a memory-mapped file (a :class:`numpy.memmap` or a view of one)."""
    while X is not None:
        if isinstance(X, (np.memmap, mmap.mmap)):
            return True
        X = getattr(X, "base", None)
    return False


def paged_block_rows(tensor) -> int | None:
    """Block rows of a CPU tensor sharing the memory of a registered memory-mapped ``X_train``, else None.

    ``torch.from_numpy`` keeps the array's address, so the trainer's training tensor is found here
    without the trainer knowing about memmaps; a copy (e.g. on a GPU) is not paged and gets None.
    """
    if getattr(getattr(tensor, "device", None), "type", None) != "cpu" or not _PAGED:
        return None
    return _PAGED.get(int(tensor.data_ptr()))


@dataclass(frozen=True, eq=False)
class TrainData:
    """Inputs of a training run.

    Attributes
    ----------
    X_train, X_val, X_test : numpy.ndarray of float32, shape (n_part, d)
    y_train, y_val, y_test : numpy.ndarray of float32, shape (n_part,)
        Training targets (0/1 or ranks).
    feature_names : tuple of str
    target : {"direction", "up_or_not", "rank"}
    horizon : int
    up_train, up_val, up_test : numpy.ndarray of float32 or None
        0/1 "up" labels for the classification metrics (default: the ``y`` arrays, binary targets).
    t_val, t_test : pandas.DatetimeIndex or None
        Bar starts of the rows (``predictions_test.parquet``; error messages).
    fwd_test : numpy.ndarray or None
        Forward returns of the test rows (written beside the predictions).
    decision_threshold : float
        Output above which "up" is predicted (0 for logits).
    dataset_state : dict or None
        :meth:`futures_vpoc.dataset.Dataset.state_dict` (scaler etc.) for checkpoints.
    counts : dict
        Row counts of the dataset stage.
    X_test_unscored, t_test_unscored : numpy.ndarray of float32, shape (n_flat, d), and pandas.DatetimeIndex, or None
        Test rows without a label (flat horizons): predicted for ``predictions_test.parquet`` so a
        backtest trades every test bar, never scored (:class:`futures_vpoc.dataset.Dataset`).
    feature_report : dict of str to str
        Every candidate feature's fate (:attr:`futures_vpoc.dataset.Dataset.feature_report`);
        empty when built from arrays (then every column counts as kept).
    block_rows : int
        When ``X_train`` is a :class:`numpy.memmap`: each epoch visits blocks of this many
        consecutive training rows in a random order, and the rows of a block in a random order
        (:func:`futures_vpoc.ml.epoch.epoch_order`). In-memory arrays ignore it.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    target: str = "direction"
    horizon: int = 5
    up_train: np.ndarray | None = None
    up_val: np.ndarray | None = None
    up_test: np.ndarray | None = None
    t_train: pd.DatetimeIndex | None = None
    t_val: pd.DatetimeIndex | None = None
    t_test: pd.DatetimeIndex | None = None
    fwd_test: np.ndarray | None = None
    decision_threshold: float = 0.0
    dataset_state: dict | None = None
    counts: dict = field(default_factory=dict)
    X_test_unscored: np.ndarray | None = None
    t_test_unscored: pd.DatetimeIndex | None = None
    feature_report: dict = field(default_factory=dict)
    block_rows: int = BLOCK_ROWS

    def __post_init__(self) -> None:
        paged = _mapped(self.X_train)
        for p in PARTS:
            object.__setattr__(self, f"X_{p}", np.ascontiguousarray(getattr(self, f"X_{p}"), dtype=np.float32))
            object.__setattr__(self, f"y_{p}", np.ascontiguousarray(getattr(self, f"y_{p}"),
                                                                    dtype=np.float32).ravel())
            if getattr(self, f"up_{p}") is None and is_binary(self.target):
                object.__setattr__(self, f"up_{p}", getattr(self, f"y_{p}"))
        object.__setattr__(self, "feature_names", tuple(str(n) for n in self.feature_names))
        if isinstance(self.block_rows, bool) or not isinstance(self.block_rows, (int, np.integer)) \
                or self.block_rows < 1:
            raise UsageError(f"block_rows {self.block_rows!r} must be a whole number >= 1")
        if paged and len(self.X_train):
            _register_paged(self.X_train, self.block_rows)

    @property
    def n_features(self) -> int:
        """Number of input columns."""
        return int(self.X_train.shape[1])

    @classmethod
    def from_dataset(cls, ds) -> TrainData:
        """From a :class:`futures_vpoc.dataset.Dataset`."""
        up = {}
        threshold = 0.0
        if ds.target == "rank":
            up = {f"up_{p}": (getattr(ds, f"fwd_{p}") > 0).astype(np.float32) for p in PARTS}
            threshold = float(ds.target_transform.transform(np.array([0.0]))[0])
        return cls(X_train=ds.X_train, y_train=ds.y_train, X_val=ds.X_val, y_val=ds.y_val, X_test=ds.X_test,
                   y_test=ds.y_test, feature_names=tuple(ds.feature_names), target=ds.target, horizon=ds.horizon,
                   t_train=ds.t_train, t_val=ds.t_val, t_test=ds.t_test, fwd_test=np.asarray(ds.fwd_test),
                   decision_threshold=threshold, dataset_state=ds.state_dict(), counts=dict(ds.counts),
                   X_test_unscored=getattr(ds, "X_test_unscored", None),
                   t_test_unscored=getattr(ds, "t_test_unscored", None),
                   feature_report=dict(getattr(ds, "feature_report", None) or {}), **up)

    def feature_lists(self) -> tuple[list[str], dict[str, str]]:
        """``(features_kept, features_dropped)`` for ``summary.json`` (every column kept without a report)."""
        if not self.feature_report:
            return list(self.feature_names), {}
        from futures_vpoc.dataset.availability import kept_and_dropped

        return kept_and_dropped(self.feature_report)

    def check(self) -> None:
        """Refuse inputs the trainer cannot use, before training starts.

        Raises
        ------
        UsageError
            An empty part, or arrays whose shapes disagree.
        DataError
            A non-finite input value (naming the feature, the part, the count and the first row's
            timestamp) or a non-finite or out-of-range label.
        """
        d = len(self.feature_names)
        for p in PARTS:
            X, y = getattr(self, f"X_{p}"), getattr(self, f"y_{p}")
            if X.ndim != 2 or X.shape[1] != d:
                raise UsageError(f"X_{p} has shape {X.shape}; expected (n, {d}) for {d} feature names")
            if X.shape[0] != y.shape[0]:
                raise UsageError(f"X_{p} has {X.shape[0]} rows but y_{p} has {y.shape[0]}")
            if X.shape[0] == 0:
                raise UsageError(f"the {p} part is empty; use more data or a larger --data_fraction")
            col = _first_bad_column(X)
            if col is not None:
                rows = _bad_rows(X, col)
                stamps = getattr(self, f"t_{p}")
                first = stamps[rows[0]].isoformat() if stamps is not None else f"row {rows[0]}"
                raise DataError(f"{len(rows)} non-finite value(s) in the {p} part (first at {first})",
                                column=self.feature_names[col],
                                hint="fix or drop those rows before training; inputs must be finite")
            if not np.isfinite(y).all():
                raise DataError(f"non-finite label(s) in the {p} part", hint="labels must be finite")
            if is_binary(self.target) and not np.isin(y, (0.0, 1.0)).all():
                raise DataError(f"{self.target} labels of the {p} part must be 0 or 1")


def _blocks(n: int):
    return ((a, min(a + CHECK_ROWS, n)) for a in range(0, n, CHECK_ROWS))


def _first_bad_column(X: np.ndarray) -> int | None:
    """Lowest column of ``X`` (shape (n, d)) holding a non-finite value, read block by block; None if none."""
    bad = np.zeros(X.shape[1], dtype=bool)
    for a, b in _blocks(X.shape[0]):
        bad |= ~np.isfinite(X[a:b]).all(axis=0)
    return int(np.flatnonzero(bad)[0]) if bad.any() else None


def _bad_rows(X: np.ndarray, col: int) -> np.ndarray:
    """Rows (int64, increasing) where column ``col`` of ``X`` is non-finite."""
    return np.concatenate([a + np.flatnonzero(~np.isfinite(X[a:b, col])) for a, b in _blocks(X.shape[0])])


__all__ = ["BLOCK_ROWS", "PARTS", "TrainData", "paged_block_rows"]
