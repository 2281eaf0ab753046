"""The model on the held-out parts: validation after every epoch, the untouched test part once at the end.

Non-finite outputs are mapped to finite numbers before scoring (NaN to 0, infinities to +-1e30), so a
broken model scores badly instead of raising. Metrics come from :mod:`.metrics`; the validation
yardstick from :func:`futures_vpoc.ml.loss.yardstick`.
"""

from __future__ import annotations

import numpy as np
import torch

from futures_vpoc.ml import distributed as ddp
from futures_vpoc.ml.inputs import TrainData
from futures_vpoc.ml.loss import yardstick
from futures_vpoc.ml.metrics import auc, evaluate
from futures_vpoc.ml.model import predict_logits, probabilities

EVAL_BATCH = 16384
"""Rows per forward pass when predicting the validation and test parts."""


def validate(model, X_val: torch.Tensor, data: TrainData, info: ddp.DistInfo, device: torch.device) -> dict:
    """``val_loss`` (the yardstick per row, rank 0's value on every process), ``val_accuracy``, ``val_auc``."""
    z = predict_logits(model, X_val, EVAL_BATCH)
    zt = torch.from_numpy(np.nan_to_num(z, nan=0.0, posinf=1e30, neginf=-1e30))
    loss = float(yardstick(zt, torch.from_numpy(data.y_val).double(), data.target)) / len(z)
    loss = ddp.broadcast_float(loss, info, device)
    up = data.up_val
    pred = z > data.decision_threshold
    return {"val_loss": loss, "val_accuracy": float((pred == (up == 1)).mean()),
            "val_auc": auc(up, np.nan_to_num(z, nan=0.0))}


def evaluate_test_part(model, data: TrainData) -> dict:
    """:func:`futures_vpoc.ml.metrics.evaluate` on the test part, plus ``prob`` and ``logits`` (the
    outputs; ``rank`` target: the prediction clipped to [0, 1] as ``prob``, ``mse`` and no log-loss/Brier)."""
    z = np.nan_to_num(predict_logits(model, data.X_test, EVAL_BATCH), nan=0.0, posinf=1e30, neginf=-1e30)
    m = evaluate(data.up_test, z, data.up_train, threshold=data.decision_threshold)
    if data.target == "direction":
        prob = probabilities(z)
    else:
        prob = np.clip(z, 0.0, 1.0)
        m["log_loss"], m["brier"] = None, None
        m["mse"] = float(np.mean((z - data.y_test) ** 2))
    m["prob"], m["logits"] = prob, z
    return m


__all__ = ["EVAL_BATCH", "evaluate_test_part", "validate"]
