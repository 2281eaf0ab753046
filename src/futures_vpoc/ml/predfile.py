"""``predictions_test.parquet``: the one writer of a run's test predictions (DESIGN.md section 2).

Columns: ``timestamp`` (bar start, UTC), ``trade_date``, ``prob`` (P(up); the rank target: the
predicted rank clipped to [0, 1]), ``decision`` (+1 up, -1 down, 0 undecided at the threshold),
``label``, then what the caller adds (``logit``, ``fwd_return`` ...). The Parquet metadata carries
the training facts ``futures-vpoc evaluate`` needs to reproduce the run's test statistics exactly
(:mod:`futures_vpoc.evaluation.predictions`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.evaluation.predictions import write_metadata

FILE = "predictions_test.parquet"


def training_facts(test: dict, *, horizon: int, target: str, threshold: float, base_rate: float) -> dict:
    """What the statistics of a test part were computed with (JSON-ready).

    Parameters
    ----------
    test : dict
        :func:`futures_vpoc.ml.metrics.evaluate`'s result (its ``statistics`` when present).
    horizon : int
        Label horizon in bars.
    target : str
        The training target.
    threshold : float
        Decision threshold on ``prob`` (0.5 for a probability).
    base_rate : float
        Up share of the training labels.
    """
    stats = test.get("statistics") or {}
    return {"horizon": int(horizon), "target": str(target), "majority_class": int(test["majority_class"]),
            "base_rate": float(stats.get("base_rate", base_rate)), "threshold": float(threshold),
            "probabilistic": target != "rank", "n_boot": stats.get("n_boot"), "seed": stats.get("seed")}


def with_unscored(stamps: pd.DatetimeIndex, columns: dict, flat_stamps: pd.DatetimeIndex,
                  flat_columns: dict) -> tuple[pd.DatetimeIndex, dict]:
    """The scored test rows and the unscored ones (flat horizons) together, in time order.

    Parameters
    ----------
    stamps, flat_stamps : pandas.DatetimeIndex
        Bar starts of the scored and of the unscored rows.
    columns : dict of str to numpy.ndarray
        The scored rows' columns, each of length ``len(stamps)``.
    flat_columns : dict of str to numpy.ndarray
        The unscored rows' values for some of those columns; every other column (the label among
        them) is NaN there.

    Returns
    -------
    (pandas.DatetimeIndex, dict)
        Both sets of rows, ordered by time (stable).
    """
    order = np.argsort(np.concatenate([stamps.asi8, flat_stamps.asi8]), kind="stable")
    n = len(flat_stamps)
    merged = {k: np.concatenate([np.asarray(v), np.asarray(flat_columns[k]) if k in flat_columns
                                 else np.full(n, np.nan)])[order] for k, v in columns.items()}
    return stamps.append(flat_stamps)[order], merged


def write_predictions_file(path: Path, stamps, prob: np.ndarray, label: np.ndarray, trade_date, facts: dict,
                           extra: dict | None = None) -> None:
    """Write the predictions file whole (through a temporary file).

    Parameters
    ----------
    path : pathlib.Path
        Destination ``.parquet``.
    stamps : pandas.DatetimeIndex or None
        Bar starts (None: a row number stands in).
    prob : numpy.ndarray of float64, shape (n,)
    label : numpy.ndarray, shape (n,)
        0/1 (NaN where unknown).
    trade_date : numpy.ndarray of datetime64[ns], shape (n,), or None
    facts : dict
        :func:`training_facts`.
    extra : dict of str to array, optional
        Further columns.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from futures_vpoc.data.barframe import atomic_write

    prob = np.asarray(prob, dtype=np.float64)
    cut = float(facts.get("threshold", 0.5))
    frame = pd.DataFrame({
        "timestamp": stamps if stamps is not None else pd.RangeIndex(len(prob)),
        "trade_date": trade_date if trade_date is not None else np.full(len(prob), np.datetime64("NaT"), "M8[ns]"),
        "prob": prob,
        "decision": np.sign(prob - cut).astype(np.int8),
        "label": np.asarray(label, dtype=np.float64),
        **(extra or {}),
    })
    table = write_metadata(pa.Table.from_pandas(frame, preserve_index=False), facts)
    atomic_write(Path(path), lambda tmp: pq.write_table(table, tmp))




def write_prediction_table(path: Path, frame: pd.DataFrame, facts: dict) -> None:
    """Write ``predict``'s (or ``replay``'s) table whole: Parquet with ``facts`` in its metadata, or
    CSV (by extension; CSV has no metadata, so ``evaluate`` then falls back to the file's own labels)."""
    from futures_vpoc.data.barframe import atomic_write

    path = Path(path)
    if path.suffix.lower() == ".csv":
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = write_metadata(pa.Table.from_pandas(frame, preserve_index=False), facts)
    # dictionary pages only where values repeat: trying them on the float columns costs ~30% of the write
    repeats = [c for c in ("trade_date", "contract", "decision", "in_training") if c in table.column_names]
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, use_dictionary=repeats))


__all__ = ["FILE", "training_facts", "with_unscored", "write_prediction_table", "write_predictions_file"]
