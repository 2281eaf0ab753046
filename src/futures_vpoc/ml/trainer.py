"""The training loop: AdamW, warmup + cosine schedule, clipping, mixed precision, NaN guard, early stopping.

:class:`Trainer` orchestrates a run; the parts live in their own modules
    * :mod:`.device` -- the device, the autocast dtype (mixed precision), the optimizer, the test hooks.
    * :mod:`.epoch` -- the steps of one epoch (one host synchronisation per step; the step list is there).
    * :mod:`.evaluation` -- validation after every epoch, the test part once at the end.
    * :mod:`.records` -- ``config.json``, the epoch records and log lines, ``summary.json``,
      ``predictions_test.parquet``.

Each epoch: the steps (:class:`~futures_vpoc.ml.epoch.EpochLoop`), then guard checks (share of
non-finite steps, finite weights), validation (log-loss, accuracy, AUC), early stopping with
``min_delta``, ``best.pt``/``last.pt`` and one line in ``metrics.jsonl``. A guard ROLLBACK restores
the last good snapshot (weights, optimizer, loss and scaler state) and backs the learning rate off;
DIVERGED stops the run. At the end the best weights are restored and evaluated on the untouched test
part (:mod:`.metrics`): ``summary.json`` and ``predictions_test.parquet``.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from futures_vpoc import __version__
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.labels import is_binary
from futures_vpoc.ml import distributed as ddp
from futures_vpoc.ml import records
from futures_vpoc.ml.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from futures_vpoc.ml.config import TrainConfig
from futures_vpoc.ml.device import emulated_bf16_note, env_hook, make_optimizer, resolve_amp, resolve_device
from futures_vpoc.ml.epoch import EpochLoop, EpochStats
from futures_vpoc.ml.evaluation import evaluate_test_part, validate
from futures_vpoc.ml.guard import DIVERGED, OK, ROLLBACK, GuardPolicy, NanGuard, Snapshot, clone_state, tensors_finite
from futures_vpoc.ml.inputs import TrainData
from futures_vpoc.ml.loss import AdaptiveHuberLoss, AdaptiveLogLoss, make_loss
from futures_vpoc.ml.model import MLP
from futures_vpoc.ml.rundir import MetricsLog, Progress, close_logger, make_logger, write_json


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit`.

    Attributes
    ----------
    run_dir : Path or None
    summary : dict
        What ``summary.json`` holds.
    stop_reason : str
        ``completed``, ``early_stop``, ``diverged`` or ``pruned`` (the ``epoch_hook`` asked to stop).
    message : str
        One line for the user.
    """

    run_dir: Path | None
    summary: dict
    stop_reason: str
    message: str

    @property
    def exit_code(self) -> int:
        """0 when training finished, 1 when it diverged (the run directory is complete either way)."""
        return 1 if self.stop_reason == "diverged" else 0


class Trainer:
    """Train an :class:`~futures_vpoc.ml.model.MLP` on :class:`~futures_vpoc.ml.inputs.TrainData`.

    Parameters
    ----------
    config : TrainConfig
    data : TrainData
    run_dir : Path, optional
        Where to write the run (None: nothing is written; for benchmarks and tests).
    dist_info : futures_vpoc.ml.distributed.DistInfo, optional
        Default: from torchrun's environment variables.
    batch_hook : callable, optional
        ``batch_hook(step, x) -> x`` applied to every training batch (fault-injection tests; default:
        the environment variables' hook, :func:`futures_vpoc.ml.device.env_hook`).
    meta : dict, optional
        Extra facts for ``config.json`` (data file hash, command line...).
    console : bool
        Print progress lines (rank 0 only).
    epoch_hook : callable, optional
        ``epoch_hook(epoch, val_loss) -> bool`` called after each epoch's validation (and its
        checkpoints); a truthy return stops training with ``stop_reason="pruned"`` (the best weights
        are still restored and evaluated). Used by ``futures-vpoc tune``'s median pruning.
    """

    def __init__(self, config: TrainConfig, data: TrainData, run_dir: Path | None = None, *,
                 dist_info: ddp.DistInfo | None = None, batch_hook=None, meta: dict | None = None,
                 console: bool = True, epoch_hook=None) -> None:
        self.config = config
        self.epoch_hook = epoch_hook
        self.data = data
        self.info = dist_info or ddp.from_env()
        self.main = self.info.is_main
        self.run_dir = Path(run_dir) if run_dir is not None and self.main else None
        self.batch_hook = batch_hook or env_hook()
        self.meta = dict(meta or {})
        self.console = console and self.main
        self.history: list[dict] = []
        self.step = 0
        self.epoch = 0
        self.best_val = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict | None = None
        self.bad_epochs = 0
        self.train_seconds = 0.0
        self.train_samples = 0
        self.guard = NanGuard(GuardPolicy(config.nan_patience, config.max_nan_share, config.max_rollbacks))

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        cfg, data = self.config, self.data
        data.check()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device, self.info)
        ddp.init(self.info, self.device)
        torch.manual_seed(cfg.seed)
        self.model = MLP(data.n_features, cfg.hidden_dims, cfg.dropout_rate, seed=cfg.seed).to(self.device)
        self.net = ddp.wrap(self.model, self.info, self.device)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.loss = make_loss(data.target, cfg.adaptive_loss, cfg.huber_quantile, cfg.huber_momentum).to(self.device)
        self.opt = make_optimizer(self.params, cfg, self.device)
        self.amp_dtype = resolve_amp(cfg, self.device)
        note = emulated_bf16_note(self.device, self.amp_dtype)
        if note and self.info.rank == 0:
            print(note, file=sys.stderr, flush=True)
        self.scaler = torch.amp.GradScaler(self.device.type) if self.amp_dtype == torch.float16 else None
        dev = self.device
        self.X = {p: torch.from_numpy(getattr(data, f"X_{p}")).to(dev) for p in ("train", "val")}
        self.y = {p: torch.from_numpy(getattr(data, f"y_{p}")).to(dev) for p in ("train", "val")}
        n_local = data.X_train.shape[0] // self.info.world_size
        if n_local == 0:
            raise UsageError(f"{data.X_train.shape[0]} training rows cannot be shared by {self.info.world_size} "
                             "processes")
        self.reference_loss = self._reference_loss()
        self.steps_per_epoch = math.ceil(n_local / cfg.batch_size)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.resolved = records.resolved_settings(
            device=self.device, amp_dtype=self.amp_dtype, scaler=self.scaler, world_size=self.info.world_size,
            loss=self.loss, optimizer=self.opt, steps_per_epoch=self.steps_per_epoch, total_steps=self.total_steps,
            model=self.model)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl" if self.run_dir else Path(os.devnull),
                                  enabled=self.run_dir is not None)
        self.logger, self.log_path = make_logger(self.run_dir, cfg.verbose, console=self.console)
        self.progress = Progress(enabled=self.console)
        self.tb = self._tensorboard()
        self.loop = EpochLoop(
            model=self.model, net=self.net, opt=self.opt, loss=self.loss, scaler=self.scaler, params=self.params,
            guard=self.guard, config=cfg, X=self.X["train"], y=self.y["train"], info=self.info, device=self.device,
            amp_dtype=self.amp_dtype, batch_hook=self.batch_hook, steps_per_epoch=self.steps_per_epoch,
            total_steps=self.total_steps, progress=self.progress, logger=self.logger, main=self.main,
            on_event=self._event, on_rollback=self._rollback)

    def _reference_loss(self) -> dict:
        """Losses of the constant predictor at the training base rate (or mean), for the guard's
        explosion check: ``val`` for the validation yardstick, ``train`` for the training loss when it
        is the unbounded log-loss or MSE (None for the adaptive Huber loss)."""
        d = self.data
        mean = float(d.y_train.mean())

        def constant(y):
            y = y.astype(np.float64)
            if is_binary(d.target):
                p = min(max(mean, 1e-6), 1 - 1e-6)
                return float(-(y * math.log(p) + (1 - y) * math.log(1 - p)).mean())
            return float(np.mean((y - mean) ** 2))

        # the Huber objective is bounded; the adaptive log-loss logs a plain log-loss and is checked
        bounded = isinstance(self.loss, AdaptiveHuberLoss) and not isinstance(self.loss, AdaptiveLogLoss)
        train = None if bounded else constant(d.y_train)
        return {"val": constant(d.y_val), "train": train}

    def _tensorboard(self):
        if not self.config.tensorboard or not self.main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.logger.warning(f"--tensorboard {self.config.tensorboard}: the tensorboard package is not "
                                "installed; no TensorBoard scalars are written (pip install tensorboard)")
            return None
        return SummaryWriter(self.config.tensorboard)

    # ------------------------------------------------------------------ records
    def _record(self, record: dict) -> None:
        self.history.append(record)
        self.metrics.append(record)

    def _event(self, event: str, epoch: int, detail: str, level: str = "warning", step: int | None = None) -> None:
        """Record and log an event at ``step`` (default: the trainer's step; the epoch loop passes its own)."""
        step = self.step if step is None else step
        self._record({"event": event, "epoch": epoch, "step": step, "detail": detail})
        self.progress.clear()
        getattr(self.logger, level)(f"[{event}] epoch {epoch} step {step}: {detail}")

    def _epoch_record(self, epoch: int, acc: EpochStats, val: dict) -> None:
        rec = records.epoch_record(epoch, acc, val, self.guard, self.step, self.loss)
        self._record(rec)
        self.progress.clear()
        records.log_epoch(self.logger, self.config.epochs, rec, acc)
        if self.tb is not None:
            records.tensorboard_scalars(self.tb, rec)

    # ------------------------------------------------------------------ state
    def _payload(self, model_state: dict, finished: bool = False, stop_reason: str | None = None,
                 with_best: bool = True) -> dict:
        cfg, data = self.config, self.data
        return {
            "format": FORMAT,
            "model_spec": self.model.spec(),
            "model": model_state,
            "optimizer": self.opt.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "loss": self.loss.state_dict(),
            "loss_name": self.loss.name,
            "step": self.step,
            "epoch": self.epoch,
            "guard": self.guard.state_dict(),
            "early_stopping": {"best_val_loss": self.best_val if math.isfinite(self.best_val) else None,
                               "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs},
            "best_model": self.best_state if with_best else None,
            "rng": {"torch": torch.get_rng_state()},
            "history": list(self.history),
            "train_seconds": self.train_seconds,
            "train_samples": self.train_samples,
            "feature_names": list(data.feature_names),
            "dataset": data.dataset_state,
            "target": {"target": data.target, "horizon": data.horizon,
                       "decision_threshold": data.decision_threshold,
                       "output": "logit" if is_binary(data.target) else "rank"},
            "config": cfg.to_dict(),
            "versions": {"futures_vpoc": __version__, "torch": str(torch.__version__)},
            "finished": finished,
            "stop_reason": stop_reason,
        }

    def _save(self, name: str, model_state: dict, **kw) -> None:
        if self.run_dir is None:
            return
        save_checkpoint(self.run_dir / name, self._payload(model_state, **kw))

    def _resume(self) -> None:
        """Load ``last.pt`` of the run directory and continue after its last completed epoch."""
        path = Path(self.config.output_dir) / "last.pt"
        payload = load_checkpoint(path, map_location=self.device)
        if list(payload["feature_names"]) != list(self.data.feature_names):
            raise DataError("the data gives other features than the run was trained on", file=str(path),
                            hint="resume with the same --data and --features")
        if payload.get("finished"):
            if payload.get("stop_reason") != "completed" or payload["epoch"] >= self.config.epochs:
                raise UsageError(f"--resume: the run in {path.parent} already finished "
                                 f"({payload.get('stop_reason')}); start a new run or raise --epochs")
        self.model.load_state_dict(payload["model"])
        self.opt.load_state_dict(payload["optimizer"])
        self.loss.load_state_dict(payload["loss"])
        if self.scaler is not None and payload.get("scaler"):
            self.scaler.load_state_dict(payload["scaler"])
        self.step, self.epoch = int(payload["step"]), int(payload["epoch"])
        self.guard.load_state_dict(payload["guard"])
        es = payload["early_stopping"]
        self.best_val = es["best_val_loss"] if es["best_val_loss"] is not None else math.inf
        self.best_epoch, self.bad_epochs = es["best_epoch"], int(es["bad_epochs"])
        self.best_state = payload.get("best_model")
        self.history = list(payload["history"])
        self.train_seconds = float(payload.get("train_seconds", 0.0))
        self.train_samples = int(payload.get("train_samples", 0))
        torch.set_rng_state(payload["rng"]["torch"].cpu())
        self.metrics.rewrite(self.history)
        self._event("resume", self.epoch, f"resumed from last.pt after epoch {self.epoch} (step {self.step}); "
                    "records of an interrupted epoch were discarded", level="info")

    # ------------------------------------------------------------------ epoch
    def _train_epoch(self, epoch: int) -> EpochStats:
        """Run the epoch's steps (:class:`~futures_vpoc.ml.epoch.EpochLoop`); carry its step, time and samples."""
        acc = self.loop.run(epoch, self.step)
        self.step = acc.step
        self.train_seconds += acc.seconds
        self.train_samples += acc.samples
        return acc

    def _rollback(self, epoch: int, reason: str, step: int | None = None) -> None:
        """Restore the last good snapshot after the guard's ROLLBACK (mid-epoch: at the loop's ``step``)."""
        self.snapshot.restore(self.model, self.opt, self.loss, self.scaler)
        self._event("rollback", epoch, f"{reason}: restored the weights and optimizer state of "
                    f"{'the start' if self.snapshot.epoch == 0 else f'epoch {self.snapshot.epoch}'} "
                    f"(rollback {self.guard.rollbacks} of {self.guard.policy.max_rollbacks})", step=step)
        self._event("lr_backoff", epoch, f"learning-rate scale now {self.guard.lr_scale:g} "
                    f"(x{self.guard.policy.backoff:g})", step=step)

    # ------------------------------------------------------------------ fit
    def fit(self) -> TrainResult:
        """Train, evaluate and write the run directory; returns the outcome."""
        self._setup()
        try:
            return self._fit()
        finally:
            if self.tb is not None:
                self.tb.close()
            close_logger(self.logger)

    def _fit(self) -> TrainResult:
        cfg = self.config
        if cfg.resume:
            self._resume()
        else:
            records.write_config(self.run_dir, cfg, self.data, self.meta, self.resolved)
        records.announce(self.logger, self.data, cfg, self.resolved, self.run_dir, self.log_path)
        self.snapshot = Snapshot.capture(self.epoch, self.model, self.opt, self.loss, self.scaler)
        stop_reason, message = "completed", f"completed {cfg.epochs} epochs"
        while self.epoch < cfg.epochs:
            epoch = self.epoch + 1
            acc = self._train_epoch(epoch)
            finite = tensors_finite(self.model.state_dict())
            val = (validate(self.model, self.X["val"], self.data, self.info, self.device) if finite
                   else {"val_loss": math.nan, "val_accuracy": None, "val_auc": None})
            train_loss = acc.loss_sum / acc.rows if acc.rows else None
            losses = {"validation loss": (val["val_loss"], self.reference_loss["val"]),
                      "training loss": (train_loss, self.reference_loss["train"])}
            action = DIVERGED if acc.stop else self.guard.end_epoch(finite, losses)
            self.epoch = epoch
            self._epoch_record(epoch, acc, val)
            if action == ROLLBACK:
                self._rollback(epoch, self.guard.last_reason)
            elif action == DIVERGED:
                self.snapshot.restore(self.model, self.opt, self.loss, self.scaler)
                stop_reason = "diverged"
                message = (f"training diverged in epoch {epoch}: {self.guard.last_reason} after "
                           f"{self.guard.rollbacks} rollbacks (limit {cfg.max_rollbacks}); restored the last good "
                           f"weights ({'initial' if self.snapshot.epoch == 0 else f'epoch {self.snapshot.epoch}'}). "
                           "Try a lower --learning_rate or a --gradient_clip_value")
                self._event("diverged", epoch, message, level="error")
                self._save("last.pt", self.model.state_dict())
                break
            improved = action == OK and self._early_stopping(epoch, val["val_loss"])
            if action == OK:
                self.snapshot = Snapshot.capture(epoch, self.model, self.opt, self.loss, self.scaler)
            else:
                self.bad_epochs += 1
            self._save("last.pt", self.model.state_dict())
            if improved:
                self._save("best.pt", self.model.state_dict(), with_best=False)
            if self.epoch_hook is not None and self.epoch_hook(epoch, val["val_loss"]):
                stop_reason, message = "pruned", f"pruned after epoch {epoch} (validation loss {val['val_loss']:.6f})"
                self._event("pruned", epoch, message, level="info")
                break
            if cfg.early_stopping_patience and self.bad_epochs >= cfg.early_stopping_patience:
                stop_reason = "early_stop"
                message = (f"early stop after epoch {epoch}: no validation-loss improvement of at least "
                           f"{cfg.min_delta:g} for {self.bad_epochs} epochs (best epoch {self.best_epoch})")
                self._event("early_stop", epoch, message, level="info")
                break
        return self._finish(stop_reason, message)

    def _early_stopping(self, epoch: int, val_loss: float) -> bool:
        if math.isfinite(val_loss) and val_loss < self.best_val - self.config.min_delta:
            self.best_val, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            self.best_state = clone_state(self.model.state_dict())
            return True
        self.bad_epochs += 1
        return False

    def _learner_baselines(self) -> dict:
        """The logistic and LightGBM baselines on the same parts (:mod:`.baselines`); {} when off
        (``--no-baselines``, a non-binary target, or a library missing, which is logged)."""
        if not self.config.baselines or not is_binary(self.data.target):
            return {}
        from futures_vpoc.ml.baselines import fit_baselines

        try:
            return fit_baselines(self.data, self.config.seed)
        except ImportError as exc:
            self.logger.warning(f"learner baselines skipped: {exc}")
            return {}

    def _freeze(self) -> None:
        """``model.npz``: the finished weights, scaler and feature context for predict/replay
        (:mod:`futures_vpoc.ml.frozen`); skipped for data without a dataset state (tests' arrays)."""
        from futures_vpoc.ml.frozen import FILE, save_frozen

        data = self.data
        state = data.dataset_state
        scaler = (state or {}).get("scaler")
        if not isinstance(scaler, dict) or not {"center", "scale", "lower", "upper"} <= set(scaler) \
                or "boundaries" not in state:
            return
        target = {"target": data.target, "horizon": data.horizon, "decision_threshold": data.decision_threshold}
        save_frozen(self.run_dir / FILE, self.model, data.feature_names, target, state)

    def _finish(self, stop_reason: str, message: str) -> TrainResult:
        last_state = clone_state(self.model.state_dict())
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
            self._event("restore_best", self.epoch, f"restored the weights of the best epoch {self.best_epoch} "
                        f"(validation loss {self.best_val:.6f})", level="info")
        summary = {}
        if self.main:
            test = evaluate_test_part(self.model, self.data)
            learners = self._learner_baselines()
            records.write_predictions(self.run_dir, self.data, test, learners)
            summary = records.build_summary(
                self.history, test, self.data, self.resolved, epochs_completed=self.epoch, stop_reason=stop_reason,
                message=message, best_epoch=self.best_epoch, best_val=self.best_val, rollbacks=self.guard.rollbacks,
                train_samples=self.train_samples, train_seconds=self.train_seconds, run_dir=self.run_dir)
            if learners:
                from futures_vpoc.ml.baselines import baseline_summaries

                summary["baselines"] = baseline_summaries(self.data, learners, test, summary["best_val_loss"],
                                                          self.config.seed)
            self._save("last.pt", last_state, finished=True, stop_reason=stop_reason)
            if self.run_dir is not None:
                self._freeze()
                write_json(self.run_dir / "summary.json", summary)
            self.logger.info(records.closing_line(summary))
            shares = records.shares_line(summary)
            if shares:
                self.logger.info(shares)
            (self.logger.error if stop_reason == "diverged" else self.logger.info)(message)
        ddp.barrier(self.info)
        return TrainResult(self.run_dir, summary, stop_reason, message)


__all__ = ["TrainResult", "Trainer", "resolve_amp", "resolve_device"]
