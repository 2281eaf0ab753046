"""Read a run directory (DESIGN.md section 2) from its text and table files only, never torch.

A run directory holds ``config.json`` (every resolved setting), ``metrics.jsonl`` (one JSON object
per epoch, and event objects), ``summary.json`` (end-of-run and test figures) and
``predictions_test.parquet`` (timestamp, prob, label). The first three are required: a
missing or malformed one raises :class:`~futures_vpoc.errors.DataError` naming the file (and the
line, for ``metrics.jsonl``). The predictions file is optional; without it the rules that need it
stay silent and a note says why.

Non-finite numbers may arrive as JSON ``null``, as the bare tokens ``NaN``/``Infinity`` or as the
strings ``"NaN"``/``"Infinity"``/``"-Infinity"``: all become float NaN or +-inf. A key missing
from the records is not the same as a non-finite value: :class:`Metrics` keeps a presence mask,
and every missing key is listed in :attr:`RunData.notes` so the report can say so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from futures_vpoc.diagnostics.series import argmin_finite
from futures_vpoc.evaluation.predictions import PROB_COLUMNS
from futures_vpoc.errors import DataError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
PREDICTIONS_FILE = "predictions_test.parquet"

EPOCH_KEYS = ("epoch", "train_loss", "val_loss", "val_accuracy", "val_auc", "nan_batches", "total_batches",
              "nan_rate", "valid_batch_pct", "grad_norm_mean", "grad_norm_max", "clipped_pct", "lr", "seconds")
"""Keys every epoch record should carry (DESIGN.md section 2)."""

SUMMARY_KEYS = ("param_count", "epochs_completed", "stop_reason", "best_epoch", "best_val_loss", "nan_rate_max",
                "valid_batch_pct_min", "test_accuracy", "test_accuracy_ci95", "test_majority_baseline",
                "test_p_value", "test_auc", "test_log_loss", "n_train", "n_val", "n_test", "samples_per_second")
"""Keys ``summary.json`` should carry (DESIGN.md section 2)."""

_NON_FINITE_TEXT = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf,
                    "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


def to_float(value: Any) -> float:
    """A JSON value as a float: ``None`` -> NaN, ``"NaN"``/``"Infinity"`` -> NaN/inf.

    Raises
    ------
    ValueError
        When the value is not a number or one of the non-finite spellings.
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _NON_FINITE_TEXT:
            return _NON_FINITE_TEXT[text]
        return float(value)
    raise ValueError(f"expected a number, got {value!r}")


@dataclass(frozen=True)
class Event:
    """One event record of ``metrics.jsonl`` (``nan_skip``, ``rollback``, ``lr_backoff``, ...).

    Attributes
    ----------
    name : str
        The ``event`` value.
    epoch, step : int or None
        Where it happened (None when not recorded).
    detail : object
        The ``detail`` value as read (text or a JSON object), None when absent.
    """

    name: str
    epoch: int | None
    step: int | None
    detail: Any = None

    def detail_text(self) -> str:
        """The detail as one line of text ('' when absent)."""
        if self.detail is None:
            return ""
        if isinstance(self.detail, str):
            return self.detail
        return json.dumps(self.detail, sort_keys=True, default=str)


@dataclass(frozen=True)
class Metrics:
    """The per-epoch series of ``metrics.jsonl``, one read-only float64 array per key.

    Attributes
    ----------
    columns : Mapping[str, numpy.ndarray]
        Key -> values, shape (n_epochs,), ordered by epoch; NaN/inf where the value was
        non-finite, NaN where the key was missing.
    present : Mapping[str, numpy.ndarray]
        Key -> bool mask of the records that carried the key.
    """

    columns: Mapping[str, np.ndarray]
    present: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["epoch"])

    def __getitem__(self, key: str) -> np.ndarray:
        return self.columns[key]

    def has(self, key: str) -> bool:
        """Whether any epoch record carried ``key``."""
        return bool(self.present[key].any()) if key in self.present else False

    def nonfinite(self, key: str) -> np.ndarray:
        """Bool mask of epochs whose ``key`` was recorded and is NaN or infinite."""
        if key not in self.present:
            return np.zeros(len(self), dtype=bool)
        return self.present[key] & ~np.isfinite(self.columns[key])

    @property
    def epochs(self) -> np.ndarray:
        """Epoch numbers (int), ascending."""
        return self.columns["epoch"].astype(int)


@dataclass(frozen=True)
class Predictions:
    """Test predictions: ``probability`` of the positive class and the 0/1 ``label``, shape (n_test,)."""

    probability: np.ndarray
    label: np.ndarray


@dataclass(frozen=True)
class RunData:
    """Everything read from one run directory.

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    config, summary : Mapping
        ``config.json`` and ``summary.json`` as read (read-only views).
    metrics : Metrics
        Epoch records.
    events : tuple of Event
        Event records, in file order.
    predictions : Predictions or None
        Test predictions, None when ``predictions_test.parquet`` is absent.
    notes : tuple of str
        What was missing or repaired while reading (missing keys, duplicate epochs, ...).
    """

    path: Path
    config: Mapping[str, Any]
    metrics: Metrics
    events: tuple[Event, ...]
    summary: Mapping[str, Any]
    predictions: Predictions | None
    notes: tuple[str, ...]

    def best_index(self) -> int | None:
        """Index into the epoch arrays of the best epoch: the trainer's ``summary.json`` ``best_epoch``
        (chosen with its ``min_delta``, and the weights the run kept) when it names a recorded epoch,
        else the lowest finite validation loss. Every part of the analysis uses this one epoch."""
        best = self.summary.get("best_epoch")
        if isinstance(best, (int, float)) and not isinstance(best, bool):
            hits = np.flatnonzero(self.metrics.epochs == int(best))
            if hits.size and np.isfinite(self.metrics["val_loss"][hits[0]]):
                return int(hits[0])
        return argmin_finite(self.metrics["val_loss"])

    def setting(self, key: str, default: Any = None) -> Any:
        """A ``config.json`` value, ``default`` when absent."""
        return self.config.get(key, default)

    def setting_float(self, key: str) -> float | None:
        """A numeric ``config.json`` value, None when absent or not a number."""
        return _optional_float(self.config.get(key))

    def summary_float(self, key: str) -> float | None:
        """A numeric ``summary.json`` value (NaN/inf allowed), None when absent or not a number."""
        return _optional_float(self.summary.get(key))

    def events_named(self, *names: str) -> tuple[Event, ...]:
        """The events whose name is one of ``names``."""
        return tuple(e for e in self.events if e.name in names)


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return to_float(value)
    except (TypeError, ValueError):
        return None


def _read_json_object(path: Path) -> dict:
    if not path.is_file():
        raise DataError("file not found; is this a run directory written by `futures-vpoc train`?", file=str(path))
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the file ({exc})", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON ({exc.msg})", file=str(path), line=exc.lineno) from None
    if not isinstance(value, dict):
        raise DataError(f"expected a JSON object, found {type(value).__name__}", file=str(path))
    return value


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise DataError("file not found; is this a run directory written by `futures-vpoc train`?", file=str(path))
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"not valid JSON ({exc.msg})", file=str(path), line=number) from None
            if not isinstance(value, dict):
                raise DataError("expected one JSON object per line", file=str(path), line=number)
            records.append((number, value))
    return records


def _event(path: Path, number: int, record: dict) -> Event:
    def _int(key):
        value = record.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DataError("must be an integer", file=str(path), line=number, column=key, value=value)
        return int(value)

    return Event(str(record["event"]), _int("epoch"), _int("step"), record.get("detail"))


def _epoch_rows(path: Path, records: list[tuple[int, dict]]) -> tuple[list[tuple[int, dict]], list[str]]:
    """Epoch records, last one kept per epoch number (a resumed run may repeat epochs), sorted."""
    by_epoch: dict[int, tuple[int, dict]] = {}
    repeated = set()
    for number, record in records:
        try:
            epoch = to_float(record["epoch"])
        except (TypeError, ValueError):
            epoch = math.nan
        if not math.isfinite(epoch) or epoch != int(epoch):
            raise DataError("must be an integer", file=str(path), line=number, column="epoch", value=record["epoch"])
        if int(epoch) in by_epoch:
            repeated.add(int(epoch))
        by_epoch[int(epoch)] = (number, record)
    notes = []
    if repeated:
        notes.append(f"{METRICS_FILE}: epoch(s) {', '.join(map(str, sorted(repeated)))} recorded more than once "
                     "(a resumed run?); the last record of each is used")
    return [by_epoch[k] for k in sorted(by_epoch)], notes


def _metrics(path: Path, rows: list[tuple[int, dict]]) -> tuple[Metrics, list[str]]:
    keys = list(EPOCH_KEYS) + sorted({k for _, r in rows for k in r} - set(EPOCH_KEYS))
    columns, present, notes = {}, {}, []
    for key in keys:
        values = np.full(len(rows), np.nan)
        mask = np.zeros(len(rows), dtype=bool)
        for i, (number, record) in enumerate(rows):
            if key not in record:
                continue
            try:
                values[i] = to_float(record[key])
            except (TypeError, ValueError):
                if key in EPOCH_KEYS:
                    raise DataError("not a number", file=str(path), line=number, column=key,
                                    value=record[key]) from None
                break  # an extra non-numeric key: not a series
            mask[i] = True
        else:
            values.setflags(write=False)
            mask.setflags(write=False)
            columns[key], present[key] = values, mask
            if key in EPOCH_KEYS and rows and not mask.all():
                missing = int((~mask).sum())
                notes.append(f"{METRICS_FILE}: '{key}' missing from {missing} of {len(rows)} epoch records")
    return Metrics(MappingProxyType(columns), MappingProxyType(present)), notes


def read_metrics(path: Path) -> tuple[Metrics, tuple[Event, ...], list[str]]:
    """Epoch records and events of a ``metrics.jsonl`` file, plus notes on what was missing.

    Raises
    ------
    DataError
        When the file is missing, a line is not a JSON object, or a line is neither an epoch record
        (key ``epoch``) nor an event (key ``event``).
    """
    records = _read_jsonl(path)
    epoch_records, events = [], []
    for number, record in records:
        if "event" in record:
            events.append(_event(path, number, record))
        elif "epoch" in record:
            epoch_records.append((number, record))
        else:
            raise DataError("neither an epoch record (no 'epoch') nor an event (no 'event')",
                            file=str(path), line=number)
    rows, notes = _epoch_rows(path, epoch_records)
    metrics, more = _metrics(path, rows)
    if not rows:
        notes.append(f"{METRICS_FILE}: no epoch record; the run ended before its first epoch finished")
    return metrics, tuple(events), notes + more


def read_predictions(path: Path) -> Predictions | None:
    """``predictions_test.parquet`` (columns ``prob`` -- ``probability`` in older runs -- and ``label``), None when absent.

    Raises
    ------
    DataError
        When the file exists but cannot be read or lacks a column.
    """
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(f"cannot read the Parquet file ({exc})", file=str(path)) from None
    prob_col = next((c for c in PROB_COLUMNS if c in table.column_names), None)
    missing = ([] if prob_col else ["prob"]) + [c for c in ("label",) if c not in table.column_names]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=str(path))
    probability = np.asarray(table.column(prob_col).to_numpy(zero_copy_only=False), dtype=float)
    label = np.asarray(table.column("label").to_numpy(zero_copy_only=False), dtype=float)
    probability.setflags(write=False)
    label.setflags(write=False)
    return Predictions(probability, label)


def _with_resolved(config: dict) -> dict:
    """Lift the trainer's ``resolved`` block (loss, optimizer, device, precision) to the top level.

    The trainer records the flags as given at the top level and what they resolved to under
    ``resolved``; the report wants the latter where the former says nothing.
    """
    resolved = config.get("resolved")
    if not isinstance(resolved, dict):
        return config
    out = dict(config)
    for key in ("loss", "optimizer", "param_count", "world_size"):
        if key in resolved:
            out.setdefault(key, resolved[key])
    if resolved.get("device"):
        out["device"] = resolved["device"]
    if "precision" not in out:
        out["precision"] = resolved.get("amp_dtype") or "fp32"
    return out


def read_run(run_dir: str | Path) -> RunData:
    """Read a run directory.

    Parameters
    ----------
    run_dir : str or path-like
        The directory ``futures-vpoc train`` wrote.

    Raises
    ------
    DataError
        When the directory or one of ``config.json``, ``metrics.jsonl``, ``summary.json`` is
        missing or malformed (the message names the file, and the line where there is one).
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise DataError("not a directory; give the run directory that `futures-vpoc train` wrote", file=str(path))
    config = _with_resolved(_read_json_object(path / CONFIG_FILE))
    summary = _read_json_object(path / SUMMARY_FILE)
    metrics, events, notes = read_metrics(path / METRICS_FILE)
    predictions = read_predictions(path / PREDICTIONS_FILE)
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    if missing:
        notes.append(f"{SUMMARY_FILE}: missing {', '.join(missing)}")
    if predictions is None:
        notes.append(f"{PREDICTIONS_FILE}: absent; the checks on test predictions were skipped")
    return RunData(path, MappingProxyType(config), metrics, events, MappingProxyType(summary), predictions,
                   tuple(notes))
