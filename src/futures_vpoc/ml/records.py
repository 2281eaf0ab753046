"""What a training run writes and says: ``config.json``, the epoch record and its log lines, ``summary.json``,
``predictions_test.parquet``, the opening (announce) and closing lines.

Every function here formats or writes what the :class:`~futures_vpoc.ml.trainer.Trainer` hands it; none
holds state. ``resolved`` is the block of settings resolved at setup (:func:`resolved_settings`), as
``config.json`` stores it under ``"resolved"``; the announce line and the summary read it too.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import torch

from futures_vpoc import __version__
from futures_vpoc.labels import is_binary
from futures_vpoc.ml.config import TrainConfig
from futures_vpoc.ml.epoch import EpochStats
from futures_vpoc.ml.inputs import TrainData
from futures_vpoc.ml.loss import AdaptiveHuberLoss
from futures_vpoc.ml.model import param_count
from futures_vpoc.ml.rundir import write_json

TENSORBOARD_KEYS = ("train_loss", "val_loss", "val_accuracy", "val_auc", "nan_rate", "grad_norm_mean", "lr")
"""Epoch-record keys written as TensorBoard scalars (``--tensorboard``)."""


def amp_name(amp_dtype: torch.dtype | None) -> str | None:
    """``bfloat16``/``float16`` for an autocast dtype, None when mixed precision is off."""
    return str(amp_dtype).replace("torch.", "") if amp_dtype is not None else None


def resolved_settings(*, device: torch.device, amp_dtype: torch.dtype | None, scaler, world_size: int, loss,
                      optimizer, steps_per_epoch: int, total_steps: int, model) -> dict:
    """The settings resolved at setup, in ``config.json``'s ``"resolved"`` order."""
    return {"device": str(device), "amp_dtype": amp_name(amp_dtype),
            "grad_scaler": scaler is not None, "world_size": world_size,
            "loss": loss.name, "optimizer": type(optimizer).__name__,
            "steps_per_epoch": steps_per_epoch, "total_steps": total_steps,
            "param_count": param_count(model), "torch_threads": torch.get_num_threads()}


def write_config(run_dir: Path | None, config: TrainConfig, data: TrainData, meta: dict, resolved: dict) -> None:
    """``config.json``: every setting, then ``meta`` and the facts of the run (nothing when ``run_dir`` is None)."""
    if run_dir is None:
        return
    settings = config.to_dict()
    facts = {**meta,
             "resolved": resolved,
             "versions": {"futures_vpoc": __version__, "torch": str(torch.__version__), "numpy": np.__version__},
             "input_features": {"names": list(data.feature_names), "count": data.n_features},
             "target_spec": {"target": data.target, "horizon": data.horizon,
                             "decision_threshold": data.decision_threshold},
             "counts": data.counts,
             "boundaries": (data.dataset_state or {}).get("boundaries"),
             "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    clash = set(settings) & set(facts)
    if clash:
        raise RuntimeError(f"config.json keys {sorted(clash)} would hide settings")
    doc = {**settings, **facts}
    write_json(run_dir / "config.json", doc)


def announce(logger, data: TrainData, config: TrainConfig, resolved: dict, run_dir: Path | None,
             log_path) -> None:
    """The opening lines: where the run writes, the data and the model (and a warning on sparse features)."""
    d, r = data, resolved
    amp = "off" if r["amp_dtype"] is None else r["amp_dtype"] + (" + GradScaler" if r["grad_scaler"] else "")
    where = f"run directory {run_dir}" if run_dir else "no run directory"
    logger.info(f"{where}; log {log_path}" if log_path else where)
    logger.info(f"rows train/val/test {len(d.y_train):,}/{len(d.y_val):,}/{len(d.y_test):,}, "
                f"{d.n_features} features, target {d.target} (horizon {d.horizon}); model "
                f"{d.n_features}-{'-'.join(map(str, config.hidden_dims))}-1, "
                f"{r['param_count']:,} parameters; device {r['device']}, mixed precision {amp}, "
                f"loss {r['loss']}, {r['world_size']} process(es), "
                f"{r['steps_per_epoch']:,} steps/epoch")
    sparse = d.counts.get("sparse_features")
    if sparse:
        worst = ", ".join(f"{name} NaN on {share:.0%}" for name, share in sparse.items())
        logger.warning(f"warning: training keeps {len(d.y_train):,} of {d.counts['train_span_rows']:,} "
                       f"labelled rows of its span, because a row needs every feature ({worst}); "
                       "leave that feature group out (--features) or use data where it exists")
    dropped = d.feature_lists()[1]
    if dropped:
        logger.warning(f"dropped {len(dropped)} feature(s) with too few training values: "
                       + "; ".join(f"{name} ({why})" for name, why in dropped.items()))


def epoch_record(epoch: int, acc: EpochStats, val: dict, guard, step: int, loss) -> dict:
    """One epoch's line of ``metrics.jsonl`` (``huber_delta`` added under the adaptive Huber loss)."""
    total = max(acc.total, 1)
    rec = {
        "epoch": epoch,
        "train_loss": acc.loss_sum / acc.rows if acc.rows else None,
        "val_loss": val["val_loss"],
        "val_accuracy": val["val_accuracy"],
        "val_auc": val["val_auc"],
        "nan_batches": acc.nan,
        "total_batches": acc.total,
        "nan_rate": acc.nan / total,
        "valid_batch_pct": 100.0 * acc.stepped / total,
        "grad_norm_mean": acc.norm_sum / acc.stepped if acc.stepped else None,
        "grad_norm_max": acc.norm_max if acc.stepped else None,
        "clipped_pct": 100.0 * acc.clipped / acc.stepped if acc.stepped else 0.0,
        "lr": acc.lr,
        "seconds": acc.seconds,
        "scaler_skips": acc.scaler_skips,
        "lr_scale": guard.lr_scale,
        "rollbacks": guard.rollbacks,
        "step": step,
        "samples_per_second": acc.samples / acc.seconds if acc.seconds > 0 else None,
    }
    if isinstance(loss, AdaptiveHuberLoss):
        rec["huber_delta"] = loss.delta
    return rec


def log_epoch(logger, epochs: int, rec: dict, acc: EpochStats) -> None:
    """The epoch's info line (and its ``--verbose`` detail line) from its record."""
    fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
    logger.info(f"epoch {rec['epoch']}/{epochs}  train {fmt(rec['train_loss'], '.5f')}  "
                f"val {fmt(rec['val_loss'], '.5f')}  acc {fmt(rec['val_accuracy'], '.4f')}  "
                f"auc {fmt(rec['val_auc'], '.4f')}  nan {rec['nan_rate']:.2%}  "
                f"valid {rec['valid_batch_pct']:.1f}%  |g| {fmt(rec['grad_norm_mean'], '.3g')}"
                f"/{fmt(rec['grad_norm_max'], '.3g')}  clip {rec['clipped_pct']:.1f}%  lr {acc.lr:.2e}  "
                f"{acc.seconds:.1f}s")
    logger.debug(f"epoch {rec['epoch']} detail: steps {acc.total}, stepped {acc.stepped}, scaler skips "
                 f"{acc.scaler_skips}, lr scale {rec['lr_scale']:g}, global step {rec['step']}, "
                 f"{rec['samples_per_second'] or 0:,.0f} samples/s")


def tensorboard_scalars(tb, rec: dict) -> None:
    """The record's :data:`TENSORBOARD_KEYS` that have a value, at the record's epoch."""
    for key in TENSORBOARD_KEYS:
        if rec.get(key) is not None:
            tb.add_scalar(key, rec[key], rec["epoch"])


def build_summary(history: list[dict], test: dict, data: TrainData, resolved: dict, *, epochs_completed: int,
                  stop_reason: str, message: str, best_epoch: int | None, best_val: float, rollbacks: int,
                  train_samples: int, train_seconds: float, run_dir: Path | None) -> dict:
    """What ``summary.json`` holds: the run's outcome, its epoch extremes and the test metrics."""
    epochs = [r for r in history if "event" not in r]
    rates = [r["nan_rate"] for r in epochs]
    valid = [r["valid_batch_pct"] for r in epochs]
    kept, dropped = data.feature_lists()
    return {
        "param_count": resolved["param_count"],
        "epochs_completed": epochs_completed,
        "stop_reason": stop_reason,
        "stop_message": message,
        "best_epoch": best_epoch,
        "best_val_loss": best_val if math.isfinite(best_val) else None,
        "nan_rate_max": max(rates) if rates else None,
        "valid_batch_pct_min": min(valid) if valid else None,
        "nan_batches_total": int(sum(r["nan_batches"] for r in epochs)),
        "rollbacks": rollbacks,
        "test_accuracy": test["accuracy"],
        "test_accuracy_ci95": test["accuracy_ci95"],
        "test_majority_class": test["majority_class"],
        "test_majority_baseline": test["majority_baseline"],
        "test_majority_baseline_ci95": test["majority_baseline_ci95"],
        "test_p_value": test["p_value"],
        "test_auc": test["auc"],
        "test_auc_ci95": test.get("auc_ci95"),
        "test_statistics_method": test.get("statistics_method"),
        "test_statistics": test.get("statistics"),
        "test_log_loss": test["log_loss"],
        "test_brier": test["brier"],
        "test_confusion": test["confusion"],
        **({"test_mse": test["mse"]} if "mse" in test else {}),
        "n_train": int(len(data.y_train)),
        "n_val": int(len(data.y_val)),
        "n_test": int(len(data.y_test)),
        "samples_per_second": train_samples / train_seconds if train_seconds > 0 else None,
        "train_seconds": train_seconds,
        "target": data.target,
        "horizon": data.horizon,
        "label_shares": data.counts.get("label_shares"),
        "features_kept": kept,
        "features_dropped": dropped,
        "device": resolved["device"],
        "mixed_precision": resolved["amp_dtype"],
        "world_size": resolved["world_size"],
        "run_dir": str(run_dir) if run_dir else None,
    }


def write_predictions(run_dir: Path | None, data: TrainData, test: dict, learners: dict | None = None) -> None:
    """``predictions_test.parquet`` (:mod:`.predfile`): timestamp, trade_date, prob, decision, label (0/1 up),
    logit (or, rank target, ``prediction`` and the ``rank`` label), [fwd_return]; the training facts
    in its metadata, so ``futures-vpoc evaluate`` reproduces the summary's test statistics. The test
    part's flat horizons (``direction``) are rows too, with their prediction, no label (NaN, so they
    are never scored) and a forward return of 0: a backtest of this file trades every test bar and
    cannot learn from a missing prediction that the price will not move. ``learners``
    (:func:`futures_vpoc.ml.baselines.fit_baselines`) add ``prob_<name>`` columns, the baselines' P(up)."""
    if run_dir is None:
        return
    from futures_vpoc.ml.predfile import FILE, training_facts, with_unscored, write_predictions_file

    d = data
    binary = is_binary(d.target)
    up = d.up_test if d.up_test is not None else d.y_test
    extra = {"logit" if binary else "prediction": test["logits"]}
    if not binary:
        extra["rank"] = d.y_test.astype(np.float64)
    if d.fwd_test is not None:
        extra["fwd_return"] = d.fwd_test
    for name, b in (learners or {}).items():
        extra[f"prob_{name}"] = b.prob_test
    train_up = d.up_train if d.up_train is not None else d.y_train
    facts = training_facts(test, horizon=d.horizon, target=d.target,
                           threshold=0.5 if binary else d.decision_threshold,
                           base_rate=float(np.mean(train_up)) if len(train_up) else 0.5)
    stamps, prob, dates, label = d.t_test, test["prob"], test.get("trade_date"), up
    flat = test.get("unscored")
    if flat is not None and stamps is not None and dates is not None:
        # the flat horizons of the test part: predicted, unlabelled (never scored), in time order
        zeros = np.zeros(len(flat["prob"]))
        fill = {"prob": flat["prob"], "trade_date": flat["trade_date"], "logit": flat["logits"],
                "prediction": flat["logits"], "fwd_return": zeros,
                **{f"prob_{n}": b.prob_unscored for n, b in (learners or {}).items() if b.prob_unscored is not None}}
        cols = {"prob": prob, "label": np.asarray(up, np.float64), "trade_date": dates,
                **{k: np.asarray(v, np.float64) for k, v in extra.items()}}
        stamps, cols = with_unscored(stamps, cols, flat["t"], fill)
        prob, label, dates = cols.pop("prob"), cols.pop("label"), cols.pop("trade_date")
        extra = cols
    write_predictions_file(run_dir / FILE, stamps, prob, label, dates, facts, extra)


_FLAT_RULE = {"direction": "flat horizons left out of training and scoring",
              "up_or_not": "flat horizons count as not up"}
"""How each target treats a flat horizon, for :func:`shares_line` (others: kept, e.g. rank)."""


def shares_line(s: dict) -> str | None:
    """The label class shares of each part (``summary["label_shares"]``) as one line, None without them.

    Each part: up / flat / down shares of its rows with a known horizon (flat ones included), in %.
    """
    shares = s.get("label_shares")
    if not shares:
        return None
    parts = []
    for name in ("train", "val", "test"):
        p = shares.get(name) or {}
        if p.get("n"):
            parts.append(f"{name} {100 * p['up']:.1f}/{100 * p['flat']:.1f}/{100 * p['down']:.1f}% "
                         f"of {p['n']:,}")
    rule = _FLAT_RULE.get(s.get("target"), "flat horizons kept")
    return f"label shares up/flat/down: {', '.join(parts) or 'n/a'}; {rule} (target {s.get('target')})"


def closing_line(s: dict) -> str:
    """The one-line verdict of a summary: test accuracy against the baseline, AUC, stop reason."""
    lo, hi = s["test_accuracy_ci95"]
    auc_text = "n/a" if s["test_auc"] is None else f"{s['test_auc']:.4f}"
    return (f"test accuracy {s['test_accuracy']:.4f} [{lo:.4f}, {hi:.4f}] vs majority baseline "
            f"{s['test_majority_baseline']:.4f} (p = {s['test_p_value']:.3g}), AUC {auc_text}, "
            f"n = {s['n_test']:,}; stop: {s['stop_reason']} after {s['epochs_completed']} epochs; "
            f"max NaN rate {s['nan_rate_max']:.2%}")


__all__ = ["TENSORBOARD_KEYS", "amp_name", "announce", "build_summary", "closing_line", "epoch_record", "log_epoch",
           "resolved_settings", "shares_line", "tensorboard_scalars", "write_config", "write_predictions"]
