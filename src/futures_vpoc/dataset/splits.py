"""Chronological splits with a purge gap, and walk-forward folds.

Purge rule
    A label of row ``t`` uses bars ``t..t + horizon`` at most (:mod:`futures_vpoc.labels`). So the
    last ``purge >= horizon`` usable rows before each boundary (train|validation and
    validation|test) are dropped: the last kept row of a part is followed by at least ``purge``
    rows (hence bars) before the next part's first row, and its label window ends before that row
    starts. ``purge`` defaults to the horizon; a smaller value is refused. The prior system split
    80/20 with no gap (section 8.4 item 32 of its reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.errors import UsageError


@dataclass(frozen=True)
class SplitSpec:
    """Fractions of the usable rows for train, validation and test, in time order.

    Attributes
    ----------
    train, val, test : float
        Positive fractions summing to 1 (default 0.70 / 0.15 / 0.15).
    purge : int or None
        Rows dropped before each boundary; ``None`` = the label horizon. Must be >= the horizon.
    """

    train: float = 0.70
    val: float = 0.15
    test: float = 0.15
    purge: int | None = None

    def __post_init__(self) -> None:
        parts = (self.train, self.val, self.test)
        if not all(np.isfinite(p) and p > 0 for p in parts) or abs(sum(parts) - 1.0) > 1e-9:
            raise UsageError(f"split fractions {parts} must be positive and sum to 1 (e.g. 0.70/0.15/0.15)")
        if self.purge is not None and (isinstance(self.purge, bool) or
                                       not isinstance(self.purge, (int, np.integer)) or self.purge < 0):
            raise UsageError(f"purge {self.purge!r} must be a whole number of rows >= 0")

    def purge_rows(self, horizon: int) -> int:
        """Rows purged before each boundary for a label ``horizon`` (bars).

        Raises
        ------
        UsageError
            When ``purge`` is set below the horizon (a training label would reach the next part).
        """
        if self.purge is None:
            return int(horizon)
        if self.purge < horizon:
            raise UsageError(f"purge {self.purge} is shorter than the label horizon {horizon}; "
                             f"use purge >= {horizon} (or leave it unset)")
        return int(self.purge)


@dataclass(frozen=True, eq=False)
class SplitIndices:
    """Row positions of each part (increasing int64 arrays) and how many rows the purge dropped."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    purged: int


def boundaries(n_rows: int, spec: SplitSpec) -> tuple[int, int]:
    """First row of validation and of test when ``n_rows`` rows are split by ``spec``.

    ``n_train = floor(train * n)``, ``n_val = floor(val * n)``, test takes the rest.
    """
    n_train = int(np.floor(spec.train * n_rows))
    n_val = int(np.floor(spec.val * n_rows))
    return n_train, n_train + n_val


def purged_parts(part: np.ndarray, purge: int) -> SplitIndices:
    """Split rows by their part number (0 train, 1 validation, 2 test) and purge the boundaries.

    Parameters
    ----------
    part : numpy.ndarray of int, shape (n,)
        Non-decreasing part number of each usable row (rows in time order).
    purge : int
        Rows dropped at the end of train and at the end of validation.

    Returns
    -------
    SplitIndices

    Raises
    ------
    UsageError
        When a part is empty after the purge.
    """
    part = np.asarray(part)
    if np.any(np.diff(part) < 0):
        raise ValueError("parts must be in time order")
    rows = [np.flatnonzero(part == k) for k in range(3)]
    kept = [rows[0][: max(len(rows[0]) - purge, 0)], rows[1][: max(len(rows[1]) - purge, 0)], rows[2]]
    for name, idx in zip(("train", "validation", "test"), kept):
        if len(idx) == 0:
            raise UsageError(f"the {name} part is empty ({len(part)} usable rows, purge {purge}); "
                             "use more data, a larger --data_fraction or other split fractions")
    purged = sum(len(r) - len(k) for r, k in zip(rows, kept))
    return SplitIndices(*(k.astype(np.int64) for k in kept), purged=purged)


def split_rows(n_rows: int, spec: SplitSpec, horizon: int) -> SplitIndices:
    """Chronological train/validation/test row positions of ``n_rows`` usable rows, purged.

    Parameters
    ----------
    n_rows : int
        Usable rows, in time order.
    spec : SplitSpec
        Fractions and purge.
    horizon : int
        Label horizon in bars (sets the minimum purge).

    Returns
    -------
    SplitIndices
    """
    purge = spec.purge_rows(horizon)
    val_start, test_start = boundaries(n_rows, spec)
    pos = np.arange(n_rows)
    part = (pos >= val_start).astype(np.int64) + (pos >= test_start)
    return purged_parts(part, purge)


@dataclass(frozen=True, eq=False)
class Fold:
    """One walk-forward fold: training and test row positions (increasing int64 arrays)."""

    train: np.ndarray
    test: np.ndarray


def walk_forward(rows, n_folds: int | None = None, *, train_size: int, test_size: int,
                 step: int | None = None, expanding: bool = True, purge: int) -> list[Fold]:
    """Walk-forward folds: train on the past, purge, test on the next block; then step on.

    Fold ``k`` tests rows ``[a_k, a_k + test_size)`` with ``a_k = train_size + purge + k * step``
    and trains on rows ``[0, a_k - purge)`` (expanding) or ``[a_k - purge - train_size, a_k -
    purge)`` (rolling); so ``purge`` rows separate each training block from its test block.

    Parameters
    ----------
    rows : int or array-like of timestamps
        Number of rows, or their timestamps (must be strictly increasing; only the count is used).
    n_folds : int, optional
        The first ``n_folds`` folds; default every fold that fits.
    train_size, test_size : int
        Rows in the first (or every, rolling) training block and in each test block, >= 1.
    step : int, optional
        Rows between consecutive test blocks; default ``test_size`` (adjacent test blocks).
    expanding : bool
        Grow the training block from row 0 (True) or slide a fixed one (False).
    purge : int
        Rows between training and test, >= the label horizon (the caller's duty; required).

    Returns
    -------
    list of Fold

    Raises
    ------
    UsageError
        Bad sizes, or fewer rows than one fold (or than ``n_folds``) needs.
    """
    n = _row_count(rows)
    step = test_size if step is None else step
    for name, value, low in (("train_size", train_size, 1), ("test_size", test_size, 1),
                             ("step", step, 1), ("purge", purge, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise UsageError(f"walk-forward {name} {value!r} must be a whole number >= {low}")
    fits = (n - train_size - purge - test_size) // step + 1 if n >= train_size + purge + test_size else 0
    wanted = fits if n_folds is None else int(n_folds)
    if wanted < 1 or wanted > fits:
        raise UsageError(f"{n} rows hold {fits} walk-forward fold(s) of train {train_size}, purge {purge}, "
                         f"test {test_size}, step {step}; {wanted} asked: use fewer or smaller folds")
    folds = []
    for k in range(wanted):
        a = train_size + purge + k * step
        lo = 0 if expanding else a - purge - train_size
        folds.append(Fold(np.arange(lo, a - purge, dtype=np.int64), np.arange(a, a + test_size, dtype=np.int64)))
    return folds


def _row_count(rows) -> int:
    if isinstance(rows, (int, np.integer)) and not isinstance(rows, bool):
        if rows < 0:
            raise UsageError(f"row count {rows} must be >= 0")
        return int(rows)
    stamps = pd.DatetimeIndex(rows)
    if len(stamps) > 1 and not (stamps.is_monotonic_increasing and stamps.is_unique):
        raise UsageError("walk-forward timestamps must be strictly increasing")
    return len(stamps)


__all__ = ["Fold", "SplitIndices", "SplitSpec", "boundaries", "purged_parts", "split_rows", "walk_forward"]
