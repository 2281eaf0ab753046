"""Per-feature summary of a :class:`FeatureTable`: coverage, warm-up, scale and tails.

Statistics that describe a scale (median, IQR, 1st/99th percentiles) come from the training part
only (bars before ``train_end``), as a scaler would see them; coverage and the tail share are
over all rows, so they show how the later data sit against the training scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.features.fit import as_utc, default_train_end
from futures_vpoc.features.spec import FeatureTable

SUMMARY_COLUMNS = ("feature", "unit", "coverage", "nan_rows", "train_median", "train_iqr", "beyond_p1_p99",
                   "label_corr")


def _corr(x: np.ndarray, y: np.ndarray, ok: np.ndarray) -> float:
    """Pearson correlation of the pairs ``ok`` (both finite); NaN with fewer than 3 or a constant side."""
    if np.count_nonzero(ok) < 3:
        return np.nan
    xc, yc = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    den = np.sqrt((xc @ xc) * (yc @ yc))
    return float(xc @ yc / den) if den > 0 else np.nan


def _row(name: str, unit: str, values: np.ndarray, k: int, label, label_ok) -> dict:
    """The summary of one feature column; rows ``:k`` are the training part (the index is sorted)."""
    finite = np.isfinite(values)
    n_finite = int(np.count_nonzero(finite))
    fit = values[:k][finite[:k]]
    row = {"feature": name, "unit": unit, "coverage": n_finite / len(values) if len(values) else np.nan,
           "nan_rows": len(values) - n_finite, "train_median": np.nan, "train_iqr": np.nan,
           "beyond_p1_p99": np.nan, "label_corr": np.nan}
    if len(fit):
        p1, q1, med, q3, p99 = np.quantile(fit, [0.01, 0.25, 0.5, 0.75, 0.99])
        row.update(train_median=float(med), train_iqr=float(q3 - q1))
        v = values[finite]
        row["beyond_p1_p99"] = (np.count_nonzero(v < p1) + np.count_nonzero(v > p99)) / len(v)
    if label is not None:
        row["label_corr"] = _corr(values[:k], label, finite[:k] & label_ok)
    return row


def feature_summary(table: FeatureTable, train_end=None, label: pd.Series | None = None) -> pd.DataFrame:
    """One row per feature.

    Parameters
    ----------
    table : FeatureTable
    train_end : timestamp, optional
        End of the training part (default :func:`~futures_vpoc.features.default_train_end`).
    label : pandas.Series, optional
        A label aligned to ``table.frame``'s index (NaN where undefined), e.g. from
        ``futures_vpoc.labels``; when given, ``label_corr`` is its Pearson correlation with each
        feature over the training rows. Otherwise ``label_corr`` is NaN.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SUMMARY_COLUMNS`: ``coverage`` (share of rows with a value), ``nan_rows``
        (warm-up and undefined rows), ``train_median`` and ``train_iqr`` (the feature's unit),
        ``beyond_p1_p99`` (share of valued rows outside the training 1st-99th percentile range,
        what a winsorizer at those levels would clip), ``label_corr``.
    """
    from concurrent.futures import ThreadPoolExecutor

    frame = table.frame
    end = default_train_end(frame.index) if train_end is None else as_utc(train_end)
    k = int(frame.index.searchsorted(end, side="left"))  # the training part: rows before train_end
    y = None if label is None else label.reindex(frame.index).to_numpy(np.float64)[:k]
    y_ok = None if y is None else np.isfinite(y)

    def one(spec) -> dict:
        return _row(spec.column, spec.unit, frame[spec.column].to_numpy(), k, y, y_ok)

    # numpy's partitions, copies and reductions release the GIL: two threads use both cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(one, table.specs))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
