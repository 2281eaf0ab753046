"""Small helpers over per-epoch series and figures as text, shared by the diagnostic rules.

NaN policy: comparisons with NaN are False; "best" and "first" skip non-finite values.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def running_best(values: np.ndarray) -> np.ndarray:
    """Lowest finite value up to and including each position; NaN before the first finite one."""
    finite = np.where(np.isfinite(values), values, np.inf)
    best = np.minimum.accumulate(finite) if len(values) else finite
    return np.where(np.isinf(best), np.nan, best)


def best_before(values: np.ndarray) -> np.ndarray:
    """Lowest finite value strictly before each position (NaN where none)."""
    return np.r_[np.nan, running_best(values)[:-1]] if len(values) else values


def first_finite(values: np.ndarray) -> tuple[int, float] | None:
    """Index and value of the first finite element, None when there is none."""
    idx = np.flatnonzero(np.isfinite(values))
    return (int(idx[0]), float(values[idx[0]])) if idx.size else None


def argmin_finite(values: np.ndarray) -> int | None:
    """Index of the lowest finite value (the first one on ties), None when there is none."""
    idx = np.flatnonzero(np.isfinite(values))
    return int(idx[np.argmin(values[idx])]) if idx.size else None


def finite_max(values: np.ndarray) -> float | None:
    """Largest finite value, None when there is none."""
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else None


def finite_min(values: np.ndarray) -> float | None:
    """Smallest finite value, None when there is none."""
    finite = values[np.isfinite(values)]
    return float(finite.min()) if finite.size else None


def runs(labels: Sequence) -> list[tuple[object, int, int]]:
    """Maximal runs of equal labels as (label, first index, last index)."""
    out: list[tuple[object, int, int]] = []
    for i, label in enumerate(labels):
        if out and out[-1][0] == label:
            out[-1] = (label, out[-1][1], i)
        else:
            out.append((label, i, i))
    return out


def rel_change(new: float | None, old: float | None) -> float | None:
    """``new / old - 1``, None when either is missing, non-finite or ``old`` is 0."""
    if new is None or old is None or not (math.isfinite(new) and math.isfinite(old)) or old == 0:
        return None
    return new / old - 1


def fmt(value: float | None, digits: int = 4) -> str:
    """A figure as text: fixed digits, ``NaN``/``inf`` spelled out, ``n/a`` when missing."""
    if value is None:
        return "n/a"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def _pct_digits(fraction: float) -> int:
    return 2 if 0 < abs(fraction) < 0.01 else 1


def fmt_pct(fraction: float | None, digits: int | None = None) -> str:
    """A fraction as a percentage (0.123 -> ``12.3%``; two decimals below 1%: ``0.17%``)."""
    if fraction is None or not math.isfinite(fraction):
        return "n/a"
    return f"{100 * fraction:.{_pct_digits(fraction) if digits is None else digits}f}%"


def fmt_change(change: float | None) -> str:
    """A relative change with its sign (-0.11 -> ``-11.0%``, -0.0004 -> ``-0.04%``)."""
    if change is None or not math.isfinite(change):
        return "n/a"
    return f"{100 * change:+.{_pct_digits(change)}f}%"


def fmt_sci(value: float | None) -> str:
    """A number with 3 significant digits (learning rates, p-values): ``0.0002``, ``5e-05``, ``0.031``."""
    if value is None or not math.isfinite(value):
        return fmt(value)
    return f"{value:.3g}"
