"""Checkpoints ``best.pt`` and ``last.pt``: everything needed to predict, and to resume.

A checkpoint is a plain dict saved with :func:`torch.save` through a temporary file and a rename
(it appears whole or not at all) and loadable with ``torch.load(..., weights_only=True)``: tensors,
numbers, strings, lists and dicts only, no pickled classes. Keys:

``format``
    :data:`FORMAT`.
``model_spec``, ``model``
    :meth:`futures_vpoc.ml.model.MLP.spec` and the weights (``state_dict``; never a non-finite
    value: :func:`save_checkpoint` refuses).
``optimizer``, ``scaler``, ``loss``
    AdamW state, GradScaler state (None without fp16), loss buffers (the adaptive Huber delta).
``step``, ``epoch``, ``guard``, ``early_stopping``
    Attempted optimizer steps so far (the schedule is a pure function of it), epochs completed,
    the NaN guard's counters (rollbacks, learning-rate scale) and ``{best_val_loss, best_epoch,
    bad_epochs}``.
``best_model``
    Weights of the best epoch so far (``last.pt`` only; restored at the end of a resumed run).
``rng``
    ``torch`` generator state (per-epoch shuffles and dropout masks are reseeded from the seed and
    the epoch, so a resumed run repeats the uninterrupted one exactly on the same machine).
``history``
    Every metrics record so far (``metrics.jsonl`` is rewritten from it on resume).
``feature_names``, ``dataset``, ``target``
    Column order of the inputs, the dataset state (:meth:`futures_vpoc.dataset.Dataset.state_dict`:
    scaler, rank transform, boundaries, counts) and the target spec ``{target, horizon,
    decision_threshold}``.
``config``, ``versions``, ``finished``, ``stop_reason``
    The resolved :class:`~futures_vpoc.ml.config.TrainConfig`, package and torch versions, and
    whether the run had finished when this was written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from futures_vpoc.data.barframe import atomic_write
from futures_vpoc.errors import DataError
from futures_vpoc.ml.guard import tensors_finite
from futures_vpoc.ml.model import MLP, build_model, predict_logits

FORMAT = 1


class NonFiniteCheckpointError(RuntimeError):
    """Raised instead of writing a checkpoint whose weights are not all finite."""


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """Write ``payload`` atomically; refuses (raises) when ``payload["model"]`` holds a non-finite value.

    ``best_model``, when present, must be finite too.
    """
    for key in ("model", "best_model"):
        if payload.get(key) is not None and not tensors_finite(payload[key]):
            raise NonFiniteCheckpointError(f"refusing to write {path}: '{key}' holds non-finite weights")
    path = Path(path)
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only`` loading).

    Raises
    ------
    DataError
        Missing or unreadable file, or not a futures-vpoc checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("checkpoint not found", file=str(path), hint="give a run directory's best.pt or last.pt")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's problem
        raise DataError(f"not a readable checkpoint ({type(exc).__name__}: {exc})", file=str(path)) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model" not in payload:
        raise DataError("not a futures-vpoc checkpoint (format key missing or unknown)", file=str(path))
    return payload


def load_model(path_or_payload, map_location="cpu") -> tuple[MLP, dict]:
    """The model of a checkpoint in ``eval()`` mode, and the checkpoint dict.

    Parameters
    ----------
    path_or_payload : path or dict
        ``best.pt``/``last.pt`` or an already loaded checkpoint.
    """
    payload = path_or_payload if isinstance(path_or_payload, dict) else load_checkpoint(path_or_payload,
                                                                                          map_location)
    model = build_model(payload["model_spec"])
    model.load_state_dict(payload["model"])
    model.eval()
    return model, payload


def predict(path_or_payload, X) -> np.ndarray:
    """Model outputs (logits for ``direction``) of already prepared rows ``X``, shape (n, d).

    ``X`` must hold the checkpoint's ``feature_names`` in that order, scaled with its dataset
    scaler (``futures_vpoc.dataset.transform_from_dict(checkpoint["dataset"]["scaler"])``).
    """
    model, payload = load_model(path_or_payload)
    X = np.asarray(X, dtype=np.float32)
    d = len(payload["feature_names"])
    if X.ndim != 2 or X.shape[1] != d:
        raise DataError(f"rows have shape {X.shape}; the model expects (n, {d}) in the order of feature_names")
    return predict_logits(model, X)


__all__ = ["FORMAT", "NonFiniteCheckpointError", "load_checkpoint", "load_model", "predict", "save_checkpoint"]
