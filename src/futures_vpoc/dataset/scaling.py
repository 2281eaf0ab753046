"""Transforms that learn from data, with scikit-learn's fit/transform contract.

Hyper-parameters are set in ``__init__``; :meth:`fit` learns state into attributes ending in ``_``;
:meth:`transform` before :meth:`fit` raises :class:`NotFittedError`. Both are fit on the training
part only (DESIGN.md section 3); :meth:`to_dict` / :meth:`from_dict` carry the learned state as a
plain JSON-able dict so a checkpoint can hold it.
"""

from __future__ import annotations

import numpy as np

_IQR_ATOL = 1e-12
_IQR_RTOL = 1e-9


class NotFittedError(ValueError, AttributeError):
    """A transform was used before :meth:`fit` (as scikit-learn's ``NotFittedError``)."""


def _as_2d(X, name: str = "X") -> np.ndarray:
    """``X`` as a float64 array of shape (n, d); a 1-D array is one feature."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features); got shape {arr.shape}")
    return arr


class RobustScaler:
    """Winsorize at training percentiles, then centre on the median and divide by the IQR.

    ``transform(x) = (clip(x, lower_, upper_) - center_) / scale_``, per feature.

    Parameters
    ----------
    quantile_range : tuple of float
        Percentiles (0-100) whose difference is the scale (default the IQR, 25-75).
    winsor : tuple of float
        Percentiles (0-100) of the training rows at which values are clipped (default 1-99).

    Attributes
    ----------
    center_ : numpy.ndarray of float64, shape (d,)
        Training medians (feature units).
    scale_ : numpy.ndarray of float64, shape (d,)
        Training IQR, or 1 where it is near zero (``<= 1e-12 + 1e-9 * |median|``): a constant
        feature, or one that mostly holds one value (a flag).
    lower_, upper_ : numpy.ndarray of float64, shape (d,)
        Training winsorization bounds (feature units).
    constant_features_ : list of str
        Names (or ``"x<i>"``) of the features scaled by 1.
    feature_names_in_ : list of str or None
        Names given to :meth:`fit`.
    n_samples_seen_ : int
        Training rows.
    """

    def __init__(self, quantile_range: tuple[float, float] = (25.0, 75.0),
                 winsor: tuple[float, float] = (1.0, 99.0)) -> None:
        self.quantile_range = tuple(float(q) for q in quantile_range)
        self.winsor = tuple(float(q) for q in winsor)
        for name, (lo, hi) in (("quantile_range", self.quantile_range), ("winsor", self.winsor)):
            if not 0.0 <= lo < hi <= 100.0:
                raise ValueError(f"{name} {lo, hi} must satisfy 0 <= low < high <= 100")

    def fit(self, X, feature_names=None) -> RobustScaler:
        """Learn medians, IQRs and winsorization bounds from training rows.

        Parameters
        ----------
        X : array-like, shape (n, d)
            Training rows only; finite (NaN and inf are rejected: drop warm-up rows first).
        feature_names : sequence of str, optional
            Column names, used in :attr:`constant_features_`.

        Returns
        -------
        RobustScaler
            ``self``.
        """
        X = _as_2d(X)
        if X.shape[0] == 0:
            raise ValueError("cannot fit a scaler on zero rows")
        bad = ~np.isfinite(X).all(axis=0)
        if bad.any():
            raise ValueError(f"non-finite values in feature column(s) {np.flatnonzero(bad).tolist()}")
        names = [str(n) for n in feature_names] if feature_names is not None else None
        if names is not None and len(names) != X.shape[1]:
            raise ValueError(f"{len(names)} feature names for {X.shape[1]} columns")
        q_lo, q_hi, w_lo, w_hi, med = np.percentile(
            X, [*self.quantile_range, *self.winsor, 50.0], axis=0)
        iqr = q_hi - q_lo
        flat = iqr <= _IQR_ATOL + _IQR_RTOL * np.abs(med)
        self.center_ = med
        self.scale_ = np.where(flat, 1.0, iqr)
        self.lower_, self.upper_ = w_lo, w_hi
        self.feature_names_in_ = names
        self.constant_features_ = [names[i] if names else f"x{i}" for i in np.flatnonzero(flat)]
        self.n_samples_seen_ = int(X.shape[0])
        return self

    def _check_fitted(self, X: np.ndarray) -> None:
        if not hasattr(self, "center_"):
            raise NotFittedError("this RobustScaler is not fitted yet; call fit on the training rows first")
        if X.shape[1] != len(self.center_):
            raise ValueError(f"X has {X.shape[1]} features; the scaler was fit on {len(self.center_)}")

    def transform(self, X) -> np.ndarray:
        """Winsorize at the training bounds and scale.

        Parameters
        ----------
        X : array-like, shape (n, d)
            Rows of any part. NaN stays NaN.

        Returns
        -------
        numpy.ndarray of float64, shape (n, d)
            Dimensionless; within ``[(lower_ - center_) / scale_, (upper_ - center_) / scale_]``.
        """
        X = _as_2d(X)
        self._check_fitted(X)
        return (np.clip(X, self.lower_, self.upper_) - self.center_) / self.scale_

    def fit_transform(self, X, feature_names=None) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(X, feature_names).transform(X)

    def clipped_fraction(self, X) -> np.ndarray:
        """Share of each feature's finite values outside the winsorization bounds, shape (d,)."""
        X = _as_2d(X)
        self._check_fitted(X)
        finite = np.isfinite(X)
        outside = finite & ((X < self.lower_) | (X > self.upper_))
        return outside.sum(axis=0) / np.maximum(finite.sum(axis=0), 1)

    def to_dict(self) -> dict:
        """Hyper-parameters and learned state as plain Python values (JSON-able)."""
        state = {"type": "RobustScaler", "quantile_range": list(self.quantile_range),
                 "winsor": list(self.winsor)}
        if hasattr(self, "center_"):
            state.update(center=self.center_.tolist(), scale=self.scale_.tolist(),
                         lower=self.lower_.tolist(), upper=self.upper_.tolist(),
                         constant_features=list(self.constant_features_),
                         feature_names=self.feature_names_in_, n_samples_seen=self.n_samples_seen_)
        return state

    @classmethod
    def from_dict(cls, state: dict) -> RobustScaler:
        """Rebuild a scaler from :meth:`to_dict`'s output (fitted or not)."""
        if state.get("type") != "RobustScaler":
            raise ValueError(f"not a RobustScaler state: type {state.get('type')!r}")
        scaler = cls(tuple(state["quantile_range"]), tuple(state["winsor"]))
        if "center" in state:
            scaler.center_ = np.asarray(state["center"], dtype=np.float64)
            scaler.scale_ = np.asarray(state["scale"], dtype=np.float64)
            scaler.lower_ = np.asarray(state["lower"], dtype=np.float64)
            scaler.upper_ = np.asarray(state["upper"], dtype=np.float64)
            scaler.constant_features_ = list(state["constant_features"])
            names = state["feature_names"]
            scaler.feature_names_in_ = list(names) if names is not None else None
            scaler.n_samples_seen_ = int(state["n_samples_seen"])
        return scaler


class RankTransform:
    """Percentile rank against the training values: the training empirical CDF, mid-ranked.

    ``transform(x) = (#{train < x} + #{train <= x}) / (2 n)``, in [0, 1]: 0.5 at the training
    median, ties share their average rank, values beyond the training range map to 0 or 1.

    Attributes
    ----------
    values_ : numpy.ndarray of float64, shape (n,)
        Sorted training values.
    """

    def fit(self, y) -> RankTransform:
        """Learn the sorted training values.

        Parameters
        ----------
        y : array-like, shape (n,)
            Training targets only (e.g. forward returns), finite.

        Returns
        -------
        RankTransform
            ``self``.
        """
        y = np.asarray(y, dtype=np.float64).ravel()
        if y.size == 0:
            raise ValueError("cannot fit a rank transform on zero rows")
        if not np.isfinite(y).all():
            raise ValueError("non-finite target values; drop unlabelled rows first")
        self.values_ = np.sort(y)
        return self

    def transform(self, y) -> np.ndarray:
        """Percentile rank of each value, float64 in [0, 1], shape of ``y``; NaN stays NaN."""
        if not hasattr(self, "values_"):
            raise NotFittedError("this RankTransform is not fitted yet; call fit on the training targets first")
        y = np.asarray(y, dtype=np.float64)
        below = np.searchsorted(self.values_, y, side="left")
        upto = np.searchsorted(self.values_, y, side="right")
        out = (below + upto) / (2.0 * len(self.values_))
        return np.where(np.isnan(y), np.nan, out)

    def fit_transform(self, y) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same values."""
        return self.fit(y).transform(y)

    def to_dict(self) -> dict:
        """Learned state as plain Python values (JSON-able; one float per training row)."""
        state = {"type": "RankTransform"}
        if hasattr(self, "values_"):
            state["values"] = self.values_.tolist()
        return state

    @classmethod
    def from_dict(cls, state: dict) -> RankTransform:
        """Rebuild from :meth:`to_dict`'s output."""
        if state.get("type") != "RankTransform":
            raise ValueError(f"not a RankTransform state: type {state.get('type')!r}")
        out = cls()
        if "values" in state:
            out.values_ = np.asarray(state["values"], dtype=np.float64)
        return out


def transform_to_dict(transform: RobustScaler | RankTransform | None) -> dict | None:
    """State of a fitted transform as a JSON-able dict (``None`` stays ``None``)."""
    return None if transform is None else transform.to_dict()


def transform_from_dict(state: dict | None) -> RobustScaler | RankTransform | None:
    """Inverse of :func:`transform_to_dict`, dispatching on ``state["type"]``."""
    if state is None:
        return None
    kinds = {"RobustScaler": RobustScaler, "RankTransform": RankTransform}
    if state.get("type") not in kinds:
        raise ValueError(f"unknown transform type {state.get('type')!r}")
    return kinds[state["type"]].from_dict(state)


__all__ = ["NotFittedError", "RankTransform", "RobustScaler", "transform_from_dict", "transform_to_dict"]
