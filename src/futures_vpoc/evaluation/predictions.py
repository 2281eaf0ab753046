"""Reading a predictions file for ``futures-vpoc evaluate`` (DESIGN.md section 2, predictions file).

A predictions file is Parquet or CSV (by extension) with at least ``timestamp``, ``trade_date``,
``label`` (0/1; empty or NaN where the outcome is not known, and such rows are not scored) and
``prob`` (P(up); ``probability``, the name of older run directories, is read too). A file written by
``futures-vpoc train`` also carries, in its Parquet metadata under ``futures_vpoc``, what the
statistics need from the training part: the label horizon, the majority class and up share of the
training labels, the decision threshold and whether ``prob`` is a probability. Without them the
file's own labels stand in (a stricter baseline) and ``--horizon`` gives the horizon.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError, UsageError

METADATA_KEY = b"futures_vpoc"
"""Parquet schema-metadata key of the training facts (JSON)."""
REQUIRED = ("timestamp", "trade_date", "label")
PROB_COLUMNS = ("prob", "probability")


@dataclass(frozen=True)
class Predictions:
    """The scored rows of a predictions file.

    Attributes
    ----------
    y : numpy.ndarray of float64, shape (n,)
        0/1 labels of the rows with a known outcome.
    prob : numpy.ndarray of float64, shape (n,)
        P(up) (or the score, when ``facts["probabilistic"]`` is False).
    trade_date : numpy.ndarray of datetime64[ns], shape (n,)
    unscored : int
        Rows without a label (not scored).
    facts : dict
        What the file's metadata says: ``horizon``, ``majority_class``, ``base_rate``,
        ``threshold``, ``probabilistic``, ``target`` (absent keys: not known).
    in_training : int
        Scored rows flagged ``in_training`` (``predict --allow-overlap``: bars the model learned
        from, so in-sample); 0 without that column.
    """

    y: np.ndarray
    prob: np.ndarray
    trade_date: np.ndarray
    unscored: int
    facts: dict = field(default_factory=dict)
    in_training: int = 0


def _read(path: Path) -> tuple[pd.DataFrame, dict]:
    if not path.is_file():
        raise UsageError(f"--predictions {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            raw = (table.schema.metadata or {}).get(METADATA_KEY)
            return table.to_pandas(), (json.loads(raw) if raw else {})
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path), {}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read it ({type(exc).__name__}: {str(exc).splitlines()[0]})", file=str(path)) from None
    raise UsageError(f"--predictions {path}: unknown extension {suffix!r}; use .parquet or .csv")


def _labels(frame: pd.DataFrame, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels as float64 and the mask of rows that have one."""
    label = pd.to_numeric(frame["label"], errors="coerce").to_numpy(np.float64)
    known = np.isfinite(label)
    bad = known & ~np.isin(label, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError("labels must be 0 or 1 (binary direction labels)", file=str(path), column="label",
                        value=frame["label"].iloc[row], more=int(bad.sum()) - 1)
    return label, known


def read_predictions(path) -> Predictions:
    """Read and check a predictions file.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.parquet`` or ``.csv`` predictions file.

    Returns
    -------
    Predictions

    Raises
    ------
    UsageError
        A missing file or an unknown extension.
    DataError
        A missing column, a label other than 0/1, a probability outside [0, 1] or not finite, a
        missing trade date, or no row with a label.
    """
    path = Path(path)
    frame, facts = _read(path)
    prob_col = next((c for c in PROB_COLUMNS if c in frame.columns), None)
    missing = [c for c in REQUIRED if c not in frame.columns] + ([] if prob_col else ["prob"])
    if missing:
        raise DataError(f"no {', '.join(repr(c) for c in missing)} column; a predictions file needs "
                        "timestamp, trade_date, label, prob", file=str(path))
    label, known = _labels(frame, path)
    if not known.any():
        raise DataError("no row has a label, so nothing can be scored", file=str(path), column="label")
    prob = pd.to_numeric(frame[prob_col], errors="coerce").to_numpy(np.float64)[known]
    probabilistic = bool(facts.get("probabilistic", True))
    bad = ~np.isfinite(prob) | (probabilistic & ((prob < 0) | (prob > 1)))
    if bad.any():
        row = int(np.flatnonzero(known)[np.flatnonzero(bad)[0]])
        raise DataError("probabilities must be finite and within [0, 1]", file=str(path), column=prob_col,
                        value=frame[prob_col].iloc[row], more=int(bad.sum()) - 1)
    dates = pd.to_datetime(frame["trade_date"], errors="coerce")[known]
    if dates.isna().any():
        raise DataError("a row without a trade date; every scored row needs one", file=str(path),
                        column="trade_date", more=int(dates.isna().sum()) - 1)
    flagged = frame["in_training"].fillna(False).astype(bool).to_numpy()[known] if "in_training" in frame else ()
    return Predictions(y=label[known], prob=prob, trade_date=dates.to_numpy(dtype="datetime64[ns]"),
                       unscored=int((~known).sum()), facts=dict(facts), in_training=int(np.sum(flagged)))


def read_probability(frame: pd.DataFrame) -> np.ndarray | None:
    """P(up) of a predictions frame: ``prob``, or ``probability`` in run directories written before it; None without either."""
    col = next((c for c in PROB_COLUMNS if c in frame.columns), None)
    return None if col is None else frame[col].to_numpy(dtype=np.float64)


def write_metadata(table, facts: dict):
    """``table`` (a pyarrow Table) with ``facts`` as JSON in its schema metadata under :data:`METADATA_KEY`."""
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(facts, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)


__all__ = ["METADATA_KEY", "PROB_COLUMNS", "Predictions", "read_predictions", "read_probability", "write_metadata"]
