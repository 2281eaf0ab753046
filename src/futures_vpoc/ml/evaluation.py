"""The model on the held-out parts: validation after every epoch, the untouched test part once at the end.

Non-finite outputs are mapped to finite numbers before scoring (NaN to 0, infinities to +-1e30), so a
broken model scores badly instead of raising. Metrics come from :mod:`.metrics`; the validation
yardstick from :func:`futures_vpoc.ml.loss.yardstick`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from futures_vpoc.labels import is_binary
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


def test_trade_dates(data: TrainData) -> np.ndarray | None:
    """CME trade date of each test row (datetime64[ns], shape (n_test,)), or None without timestamps."""
    if data.t_test is None or len(data.t_test) != len(data.y_test):
        return None
    return trade_dates_of(data.t_test)


def trade_dates_of(stamps) -> np.ndarray:
    """CME trade date of each bar start (datetime64[ns], shape (n,)).

    Rows the calendar places in no session (possible only for hand-made inputs) get the UTC date of
    their timestamp, so every row belongs to some resampling block.
    """
    from futures_vpoc.calendar import assign_sessions

    stamps = pd.DatetimeIndex(stamps)
    if stamps.tz is None:
        stamps = stamps.tz_localize("UTC")
    dates = assign_sessions(stamps).trade_date
    missing = np.isnat(dates)
    if missing.any():
        dates = dates.copy()
        dates[missing] = stamps[missing].tz_convert("UTC").tz_localize(None).normalize().to_numpy()
    return dates


def evaluate_test_part(model, data: TrainData) -> dict:
    """:func:`futures_vpoc.ml.metrics.evaluate` on the test part, plus ``prob``, ``logits`` and
    ``trade_date`` (the outputs; ``rank`` target: the prediction clipped to [0, 1] as ``prob``,
    ``mse`` and no log-loss/Brier). Intervals and p-values resample whole test sessions."""
    z = np.nan_to_num(predict_logits(model, data.X_test, EVAL_BATCH), nan=0.0, posinf=1e30, neginf=-1e30)
    dates = test_trade_dates(data)
    probabilistic = is_binary(data.target)
    m = evaluate(data.up_test, z if probabilistic else np.clip(z, 0.0, 1.0), data.up_train,
                 threshold=data.decision_threshold, trade_date=dates, horizon=data.horizon,
                 probabilistic=probabilistic)
    m["trade_date"] = dates
    if probabilistic:
        prob = probabilities(z)
    else:
        prob = np.clip(z, 0.0, 1.0)
        m["log_loss"], m["brier"] = None, None
        m["mse"] = float(np.mean((z - data.y_test) ** 2))
    m["prob"], m["logits"] = prob, z
    m["unscored"] = _unscored(model, data, probabilistic)
    return m


def _unscored(model, data: TrainData, probabilistic: bool) -> dict | None:
    """Outputs on the test rows without a label (flat horizons): ``t``, ``trade_date``, ``prob``, ``logits``."""
    if data.X_test_unscored is None or data.t_test_unscored is None or len(data.X_test_unscored) == 0:
        return None
    z = np.nan_to_num(predict_logits(model, data.X_test_unscored, EVAL_BATCH), nan=0.0, posinf=1e30,
                      neginf=-1e30)
    prob = probabilities(z) if probabilistic else np.clip(z, 0.0, 1.0)
    return {"t": data.t_test_unscored, "trade_date": trade_dates_of(data.t_test_unscored), "prob": prob, "logits": z}


__all__ = ["EVAL_BATCH", "evaluate_test_part", "test_trade_dates", "trade_dates_of", "validate"]
