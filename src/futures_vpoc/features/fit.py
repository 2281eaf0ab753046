"""What the features learn from data, learned on the training part only.

Two things are fit, both on the bars with timestamp < ``train_end``:

* GARCH(1,1) parameters (zero mean, normal errors: :mod:`.garch`, arch's model and likelihood) of the one-bar log
  returns within each contract segment (the return across a roll is not a return and is left
  out; the segments' returns are fit as one series);
* the volatility-regime edges: the 1/3 and 2/3 quantiles of the 240-bar realized volatility.

The default ``train_end`` is the time 70 % of the way from the first to the last bar start
(:func:`default_train_end`): it depends on where the data end, so a caller that compares
builds of different lengths (a truncation test, a dataset split) passes it explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.features import streams
from futures_vpoc.features.segments import BarArrays

TRAIN_SHARE = 0.70
MIN_TRAIN_RETURNS = 500
REGIME_WINDOW = 240
_BP = 1e4  # the fit runs on returns in basis points (values of order 1-1000, as arch wants them too)


@dataclass(frozen=True)
class GarchParams:
    """GARCH(1,1) of one-bar log returns, in raw return units.

    ``h' = omega + alpha r^2 + beta h``; ``h0`` is the variance used for a segment's first return:
    ``omega + (alpha + beta) * b`` with ``b`` the mean squared training return (arch's recursion
    started from the constant backcast ``b``).
    """

    omega: float
    alpha: float
    beta: float
    h0: float
    n_train: int
    converged: bool


@dataclass(frozen=True)
class Fitted:
    """Everything learned from the training part.

    Attributes
    ----------
    train_end : pandas.Timestamp
        Bars with timestamp < train_end were used (UTC).
    garch : GarchParams
    regime_edges : tuple of float
        Lower and upper tertile edges of the 240-bar realized volatility (log return per bar).
    """

    train_end: pd.Timestamp
    garch: GarchParams
    regime_edges: tuple[float, float]

    def to_dict(self) -> dict:
        """Plain JSON-able state (floats kept exactly: JSON round-trips a float64 bit for bit)."""
        g = self.garch
        return {"train_end": self.train_end.isoformat(),
                "garch": {"omega": g.omega, "alpha": g.alpha, "beta": g.beta, "h0": g.h0,
                          "n_train": g.n_train, "converged": g.converged},
                "regime_edges": [float(e) for e in self.regime_edges]}

    @classmethod
    def from_dict(cls, state: dict) -> Fitted:
        """Inverse of :meth:`to_dict`."""
        g = state["garch"]
        garch = GarchParams(float(g["omega"]), float(g["alpha"]), float(g["beta"]), float(g["h0"]),
                            int(g["n_train"]), bool(g["converged"]))
        lo, hi = state["regime_edges"]
        return cls(as_utc(state["train_end"]), garch, (float(lo), float(hi)))


def default_train_end(index: pd.DatetimeIndex) -> pd.Timestamp:
    """The time 70 % of the way from the first to the last bar start (UTC)."""
    if len(index) == 0:
        raise DataError("no bars", hint="check the file")
    first, last = index[0], index[-1]
    return first + (last - first) * TRAIN_SHARE


def as_utc(train_end, name: str = "train_end") -> pd.Timestamp:
    """``train_end`` (or any time the user gave as ``name``) as a UTC timestamp (a naive value is taken as UTC)."""
    try:
        ts = pd.Timestamp(train_end)
    except (ValueError, TypeError):
        raise UsageError(f"{name} {train_end!r}: not a time; use e.g. 2023-09-01T00:00Z") from None
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def segment_returns(arrays: BarArrays, stop: int) -> np.ndarray:
    """One-bar log returns of rows ``:stop``, NaN at each segment's first bar (no return across a roll)."""
    lc = np.log(arrays.close[:stop])
    r = np.empty(stop)
    if stop:
        r[0] = np.nan
        r[1:] = lc[1:] - lc[:-1]
        r[arrays.reset[:stop]] = np.nan
    return r


def _too_few(n: int, train_end: pd.Timestamp) -> DataError:
    return DataError(f"the volatility group fits GARCH(1,1) and its regime on bars before train_end "
                     f"{train_end}, but only {n} usable returns lie there (need {MIN_TRAIN_RETURNS})",
                     hint="pass a later train_end or leave out the volatility group")


def fit_garch(r: np.ndarray, train_end: pd.Timestamp) -> GarchParams:
    """Fit GARCH(1,1) to the finite returns ``r`` (the training part's) by quasi-maximum likelihood."""
    from futures_vpoc.features.garch import fit_garch11

    y = r[np.isfinite(r)] * _BP
    if len(y) < MIN_TRAIN_RETURNS:
        raise _too_few(len(y), train_end)
    if np.count_nonzero(y) < MIN_TRAIN_RETURNS // 10:
        raise DataError(f"the prices before train_end {train_end} hardly move ({np.count_nonzero(y)} non-zero "
                        "returns): GARCH(1,1) cannot be fit",
                        hint="pass a later train_end or leave out the volatility group")
    res = fit_garch11(y)
    omega, alpha, beta = res.omega, res.alpha, res.beta
    if not all(np.isfinite((omega, alpha, beta))):
        raise DataError("GARCH(1,1) fit gave non-finite parameters", hint="check the training bars")
    b = float(np.mean(y * y))
    scale = _BP * _BP
    return GarchParams(omega / scale, alpha, beta, (omega + (alpha + beta) * b) / scale, len(y), res.converged)


def fit_regime_edges(arrays: BarArrays, stop: int, train_end: pd.Timestamp) -> tuple[float, float]:
    """Tertile edges of the 240-bar realized volatility over rows ``:stop`` (same kernel as the feature)."""
    r = segment_returns(arrays, stop)
    rv = np.sqrt(np.maximum(streams.rolling_mean(streams.Streams(), "rv", r * r, arrays.reset[:stop],
                                                 REGIME_WINDOW), 0.0))
    rv = rv[np.isfinite(rv)]
    if len(rv) < MIN_TRAIN_RETURNS:
        raise _too_few(len(rv), train_end)
    lo, hi = np.quantile(rv, [1 / 3, 2 / 3])
    return float(lo), float(hi)


_FITS: dict[tuple, Fitted] = {}
_FITS_KEPT = 16


def _data_key(arrays: BarArrays, stop: int, train_end: pd.Timestamp) -> tuple:
    """What a fit depends on: the training part's closes and contract segments, and ``train_end``."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(arrays.close[:stop]).tobytes())
    h.update(np.ascontiguousarray(arrays.reset[:stop]).tobytes())
    return train_end.value, stop, h.hexdigest()


def fit(arrays: BarArrays, train_end: pd.Timestamp) -> Fitted:
    """Fit the GARCH parameters and regime edges on the bars before ``train_end``.

    Fits are kept in this process by a hash of the training part's data (the last
    :data:`_FITS_KEPT`): builds over the same training window (the splits of a dataset, a
    walk-forward fold's repeats, a longer file with the same training part) fit once.
    """
    stop = int(np.searchsorted(arrays.ts, train_end.value, side="left"))
    key = _data_key(arrays, stop, train_end)
    if key not in _FITS:
        garch = fit_garch(segment_returns(arrays, stop), train_end)
        if len(_FITS) >= _FITS_KEPT:
            _FITS.pop(next(iter(_FITS)))
        _FITS[key] = Fitted(train_end, garch, fit_regime_edges(arrays, stop, train_end))
    return _FITS[key]
