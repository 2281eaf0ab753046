"""The training loop: AdamW, warmup + cosine schedule, clipping, mixed precision, NaN guard, early stopping.

One step (:meth:`Trainer._train_epoch`), all on tensors prepared once
    1. ``lr = lr_at(step) * guard.lr_scale`` (:mod:`.schedule`, :mod:`.guard`).
    2. The batch is a slice of this epoch's permuted copy of the training tensors (one gather per
       epoch, no per-batch Python or pandas work).
    3. Forward under autocast when mixed precision is on; loss in float32 from the logits.
    4. Backward (scaled by the GradScaler under fp16, then unscaled).
    5. Global L2 norm of the gradients, *before* clipping; one host synchronisation per step reads
       the loss and the norm together.
    6. Finite: clip to ``--gradient_clip_value`` when the norm exceeds it (0 = off; there is no
       other norm limit -- the prior system also dropped every batch with a norm above a hard-coded
       10, section 8.5 item 41) and step. Non-finite: skip the update and count it (:mod:`.guard`).
    7. Under fp16 ``scaler.update()`` runs on *every* step, skipped or not (the prior system skipped
       it after a dropped batch, which broke every later ``unscale_``; item 39).
    8. ``step += 1`` -- every attempted step, so warmup and decay are pure functions of it.

Each epoch then: guard checks (share of non-finite steps, finite weights), validation (log-loss,
accuracy, AUC), early stopping with ``min_delta``, ``best.pt``/``last.pt`` and one line in
``metrics.jsonl``. At the end the best weights are restored and evaluated on the untouched test
part (:mod:`.metrics`): ``summary.json`` and ``predictions_test.parquet``.

Mixed precision
    ``--use_mixed_precision`` autocasts the forward pass to bfloat16 where the device supports it
    (every CPU PyTorch runs on; CUDA/ROCm devices reporting ``is_bf16_supported()``), else to
    float16 with a :class:`torch.amp.GradScaler`. bf16 has float32's exponent range, so it needs no
    loss scaling and cannot overflow where float32 would not. Losses, gradients, optimizer state and
    validation stay float32. On the CPU it works everywhere and its speed depends on the chip and
    the batch: on the development machine (2 cores of an AMD EPYC with AVX512-BF16) bf16 autocast
    is about 10 % *slower* than float32 at batch 64 (the casts cost more than the small matrix
    products save) and about 1.5x faster at batch 4096 (``benchmarks/bench_train.py``).

Test hooks
    ``batch_hook(step, x) -> x`` (constructor) may replace a batch's inputs. The environment
    variables ``FUTURES_VPOC_TEST_INJECT_INF_STEP=N[:K]`` (inputs of steps N..N+K-1 become +inf) and
    ``FUTURES_VPOC_TEST_PAUSE_AT_STEP=N`` with ``FUTURES_VPOC_TEST_READY_FILE=PATH`` (at step N create
    PATH and sleep, so a test can kill the process mid-epoch) exist for the fault-injection tests.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from futures_vpoc import __version__
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.ml import distributed as ddp
from futures_vpoc.ml.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from futures_vpoc.ml.config import TrainConfig
from futures_vpoc.ml.guard import DIVERGED, OK, ROLLBACK, GuardPolicy, NanGuard, Snapshot, clone_state, tensors_finite
from futures_vpoc.ml.inputs import TrainData
from futures_vpoc.ml.loss import AdaptiveHuberLoss, make_loss, yardstick
from futures_vpoc.ml.metrics import auc, evaluate
from futures_vpoc.ml.model import MLP, param_count, predict_logits, probabilities
from futures_vpoc.ml.rundir import MetricsLog, Progress, close_logger, make_logger, write_json
from futures_vpoc.ml.schedule import lr_at

NAN_EVENT_CAP = 50
"""At most this many ``nan_skip`` events are written per epoch (the epoch record has the count)."""
EVAL_BATCH = 16384


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit`.

    Attributes
    ----------
    run_dir : Path or None
    summary : dict
        What ``summary.json`` holds.
    stop_reason : str
        ``completed``, ``early_stop`` or ``diverged``.
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


@dataclass
class _Epoch:
    """Accumulators of one epoch."""

    total: int = 0
    nan: int = 0
    scaler_skips: int = 0
    stepped: int = 0
    clipped: int = 0
    loss_sum: float = 0.0
    rows: int = 0
    norm_sum: float = 0.0
    norm_max: float = 0.0
    lr: float = 0.0
    nan_events: int = 0
    samples: int = 0
    seconds: float = 0.0
    stop: str | None = None


def resolve_device(name: str, info: ddp.DistInfo) -> torch.device:
    """``--device`` as a torch device (``auto``: CUDA, which includes ROCm builds, else CPU)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: PyTorch sees no CUDA/ROCm device (check CUDA_VISIBLE_DEVICES or "
                             "HIP_VISIBLE_DEVICES and the torch build), or use --device cpu")
        if name == "cuda":
            return torch.device("cuda", info.local_rank if info.enabled else torch.cuda.current_device())
        return torch.device(name)
    return torch.device("cpu")


def resolve_amp(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """Autocast dtype: None (off), ``torch.bfloat16`` or ``torch.float16`` (module docstring)."""
    if not config.use_mixed_precision:
        return None
    if config.amp_dtype == "bf16":
        return torch.bfloat16
    if config.amp_dtype == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16


def _env_hook():
    """The batch hook of the test environment variables (module docstring), or None."""
    inject = os.environ.get("FUTURES_VPOC_TEST_INJECT_INF_STEP")
    pause = os.environ.get("FUTURES_VPOC_TEST_PAUSE_AT_STEP")
    if not inject and not pause:
        return None
    start, count = -1, 0
    if inject:
        first, _, k = inject.partition(":")
        start, count = int(first), int(k or 1)
    pause_at = int(pause) if pause else -1
    ready = os.environ.get("FUTURES_VPOC_TEST_READY_FILE")

    def hook(step: int, x: torch.Tensor) -> torch.Tensor:
        if step == pause_at:
            if ready:
                Path(ready).write_text(str(os.getpid()))
            time.sleep(3600)
        if start <= step < start + count:
            return torch.full_like(x, math.inf)
        return x

    return hook


def _optimizer(params, config: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay); the fused kernel where this torch build has it for the device."""
    kw = dict(lr=config.learning_rate, betas=(0.9, 0.999), eps=1e-8, weight_decay=config.weight_decay)
    try:
        return torch.optim.AdamW(params, fused=True, **kw)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(params, **kw)


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
        ``batch_hook(step, x) -> x`` applied to every training batch (fault-injection tests).
    meta : dict, optional
        Extra facts for ``config.json`` (data file hash, command line...).
    console : bool
        Print progress lines (rank 0 only).
    """

    def __init__(self, config: TrainConfig, data: TrainData, run_dir: Path | None = None, *,
                 dist_info: ddp.DistInfo | None = None, batch_hook=None, meta: dict | None = None,
                 console: bool = True) -> None:
        self.config = config
        self.data = data
        self.info = dist_info or ddp.from_env()
        self.main = self.info.is_main
        self.run_dir = Path(run_dir) if run_dir is not None and self.main else None
        self.batch_hook = batch_hook or _env_hook()
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
        self.opt = _optimizer(self.params, cfg, self.device)
        self.amp_dtype = resolve_amp(cfg, self.device)
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
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl" if self.run_dir else Path(os.devnull),
                                  enabled=self.run_dir is not None)
        self.logger, self.log_path = make_logger(self.run_dir, cfg.verbose, console=self.console)
        self.progress = Progress(enabled=self.console)
        self.tb = self._tensorboard()

    def _reference_loss(self) -> dict:
        """Losses of the constant predictor at the training base rate (or mean), for the guard's
        explosion check: ``val`` for the validation yardstick, ``train`` for the training loss when it
        is the unbounded log-loss or MSE (None for the adaptive Huber loss)."""
        d = self.data
        mean = float(d.y_train.mean())

        def constant(y):
            y = y.astype(np.float64)
            if d.target == "direction":
                p = min(max(mean, 1e-6), 1 - 1e-6)
                return float(-(y * math.log(p) + (1 - y) * math.log(1 - p)).mean())
            return float(np.mean((y - mean) ** 2))

        train = None if isinstance(self.loss, AdaptiveHuberLoss) else constant(d.y_train)
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

    def _autocast(self):
        if self.amp_dtype is None:
            return None
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    # ------------------------------------------------------------------ records
    def _record(self, record: dict) -> None:
        self.history.append(record)
        self.metrics.append(record)

    def _event(self, event: str, epoch: int, detail: str, level: str = "warning") -> None:
        self._record({"event": event, "epoch": epoch, "step": self.step, "detail": detail})
        self.progress.clear()
        getattr(self.logger, level)(f"[{event}] epoch {epoch} step {self.step}: {detail}")

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
                       "output": "logit" if data.target == "direction" else "rank"},
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
    def _epoch_rows(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's permuted copy of the training tensors for ``epoch`` (one gather)."""
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        perm = ddp.shard(torch.randperm(self.X["train"].shape[0], generator=g), self.info).to(self.device)
        return self.X["train"].index_select(0, perm), self.y["train"].index_select(0, perm)

    def _reseed_dropout(self, epoch: int) -> None:
        seed = [self.config.seed, epoch, self.info.rank]
        if self.model.masks is not None:
            self.model.masks.reseed(seed)
        if self.device.type != "cpu":
            torch.cuda.manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))

    def _train_epoch(self, epoch: int) -> _Epoch:
        cfg = self.config
        acc = _Epoch()
        self._reseed_dropout(epoch)
        self.net.train()
        t0 = time.perf_counter()
        Xe, ye = self._epoch_rows(epoch)
        bs, steps = cfg.batch_size, self.steps_per_epoch
        net, opt, crit, scaler, params = self.net, self.opt, self.loss, self.scaler, self.params
        clip = float(cfg.gradient_clip_value or 0.0)
        autocast = self._autocast()
        hook = self.batch_hook
        world = self.info
        adaptive = isinstance(crit, AdaptiveHuberLoss)
        progress = self.progress if self.progress.active else None
        detail_every = max(1, steps // 10) if cfg.verbose and self.main else 0  # --verbose: ~10 lines an epoch
        peak, warm, total, floor = cfg.learning_rate, cfg.warmup_steps, self.total_steps, cfg.min_lr_ratio
        current_lr = None
        self.guard.begin_epoch()
        for b in range(steps):
            lr = lr_at(self.step, peak, warm, total, floor) * self.guard.lr_scale
            if lr != current_lr:
                for group in opt.param_groups:
                    group["lr"] = lr
                current_lr = lr
            xb = Xe[b * bs:(b + 1) * bs]
            yb = ye[b * bs:(b + 1) * bs]
            if hook is not None:
                xb = hook(self.step, xb)
            if autocast is None:
                z = net(xb)
            else:
                with autocast:
                    z = net(xb)
            loss = crit(z.float(), yb)
            if scaler is None:
                loss.backward()
            else:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            norm = torch.nn.utils.get_total_norm([p.grad for p in params])
            local = [loss.detach(), crit.pending] if adaptive else [loss.detach()]
            if world.enabled:
                local = list(ddp.all_reduce_mean_(torch.stack(local), world))
            values = torch.stack((*local, norm)).tolist()  # the one host synchronisation of the step
            loss_v, norm_v = values[0], values[-1]
            if adaptive:
                crit.commit(values[1])
            finite = math.isfinite(loss_v) and math.isfinite(norm_v)
            overflow = False
            if finite:
                if 0.0 < clip < norm_v:
                    torch.nn.utils.clip_grads_with_norm_(params, clip, norm)
                    acc.clipped += 1
                if scaler is None:
                    opt.step()
                else:
                    scaler.step(opt)
                acc.stepped += 1
                n = xb.shape[0]
                acc.loss_sum += loss_v * n
                acc.rows += n
                acc.norm_sum += norm_v
                if norm_v > acc.norm_max:
                    acc.norm_max = norm_v
            elif scaler is not None and math.isfinite(loss_v) and scaler.get_scale() > 1.0:
                overflow = True  # GradScaler's own overflow skip: it lowers the scale in update()
                acc.scaler_skips += 1
            if scaler is not None:
                scaler.update()
            opt.zero_grad(set_to_none=True)
            acc.total += 1
            acc.samples += xb.shape[0] * world.world_size
            self.step += 1
            if not finite and not overflow:
                acc.nan += 1
                action = self.guard.observe(False)
                if acc.nan_events < NAN_EVENT_CAP:
                    acc.nan_events += 1
                    self._event("nan_skip", epoch, f"loss {loss_v:.4g}, gradient norm {norm_v:.4g}; step skipped",
                                level="debug" if acc.nan_events > 3 else "warning")
                if action == ROLLBACK:
                    self._rollback(epoch, self.guard.last_reason)
                    current_lr = None
                elif action == DIVERGED:
                    acc.stop = self.guard.last_reason
                    break
            else:
                self.guard.observe(True)
            if progress is not None:
                progress.update(epoch, cfg.epochs, b + 1, steps, acc.loss_sum / max(acc.rows, 1),
                                acc.nan / acc.total, norm_v, lr)
            if detail_every and (b + 1) % detail_every == 0:
                self.progress.clear()
                self.logger.debug(f"epoch {epoch} step {b + 1}/{steps}: loss {acc.loss_sum / max(acc.rows, 1):.5f}, "
                                  f"nan {acc.nan}/{acc.total}, |g| {norm_v:.4g}, clipped {acc.clipped}, lr {lr:.3e}")
        acc.lr = current_lr or 0.0
        acc.seconds = time.perf_counter() - t0
        self.train_seconds += acc.seconds
        self.train_samples += acc.samples
        self.progress.clear()
        return acc

    def _rollback(self, epoch: int, reason: str) -> None:
        self.snapshot.restore(self.model, self.opt, self.loss, self.scaler)
        self._event("rollback", epoch, f"{reason}: restored the weights and optimizer state of "
                    f"{'the start' if self.snapshot.epoch == 0 else f'epoch {self.snapshot.epoch}'} "
                    f"(rollback {self.guard.rollbacks} of {self.guard.policy.max_rollbacks})")
        self._event("lr_backoff", epoch, f"learning-rate scale now {self.guard.lr_scale:g} "
                    f"(x{self.guard.policy.backoff:g})")

    # ------------------------------------------------------------------ evaluation
    def _validate(self) -> dict:
        z = predict_logits(self.model, self.X["val"], EVAL_BATCH)
        zt = torch.from_numpy(np.nan_to_num(z, nan=0.0, posinf=1e30, neginf=-1e30))
        loss = float(yardstick(zt, torch.from_numpy(self.data.y_val).double(), self.data.target)) / len(z)
        loss = ddp.broadcast_float(loss, self.info, self.device)
        up = self.data.up_val
        pred = z > self.data.decision_threshold
        return {"val_loss": loss, "val_accuracy": float((pred == (up == 1)).mean()),
                "val_auc": auc(up, np.nan_to_num(z, nan=0.0))}

    def _test(self) -> dict:
        data = self.data
        z = np.nan_to_num(predict_logits(self.model, data.X_test, EVAL_BATCH), nan=0.0, posinf=1e30, neginf=-1e30)
        m = evaluate(data.up_test, z, data.up_train, threshold=data.decision_threshold)
        if data.target == "direction":
            prob = probabilities(z)
        else:
            prob = np.clip(z, 0.0, 1.0)
            m["log_loss"], m["brier"] = None, None
            m["mse"] = float(np.mean((z - data.y_test) ** 2))
        m["prob"], m["logits"] = prob, z
        return m

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
            self._write_config()
        self._announce()
        self.snapshot = Snapshot.capture(self.epoch, self.model, self.opt, self.loss, self.scaler)
        stop_reason, message = "completed", f"completed {cfg.epochs} epochs"
        while self.epoch < cfg.epochs:
            epoch = self.epoch + 1
            acc = self._train_epoch(epoch)
            finite = tensors_finite(self.model.state_dict())
            val = self._validate() if finite else {"val_loss": math.nan, "val_accuracy": None, "val_auc": None}
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

    def _epoch_record(self, epoch: int, acc: _Epoch, val: dict) -> None:
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
            "lr_scale": self.guard.lr_scale,
            "rollbacks": self.guard.rollbacks,
            "step": self.step,
            "samples_per_second": acc.samples / acc.seconds if acc.seconds > 0 else None,
        }
        if isinstance(self.loss, AdaptiveHuberLoss):
            rec["huber_delta"] = self.loss.delta
        self._record(rec)
        self.progress.clear()
        fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
        self.logger.info(f"epoch {epoch}/{self.config.epochs}  train {fmt(rec['train_loss'], '.5f')}  "
                         f"val {fmt(rec['val_loss'], '.5f')}  acc {fmt(rec['val_accuracy'], '.4f')}  "
                         f"auc {fmt(rec['val_auc'], '.4f')}  nan {rec['nan_rate']:.2%}  "
                         f"valid {rec['valid_batch_pct']:.1f}%  |g| {fmt(rec['grad_norm_mean'], '.3g')}"
                         f"/{fmt(rec['grad_norm_max'], '.3g')}  clip {rec['clipped_pct']:.1f}%  lr {acc.lr:.2e}  "
                         f"{acc.seconds:.1f}s")
        self.logger.debug(f"epoch {epoch} detail: steps {acc.total}, stepped {acc.stepped}, scaler skips "
                          f"{acc.scaler_skips}, lr scale {self.guard.lr_scale:g}, global step {self.step}, "
                          f"{rec['samples_per_second'] or 0:,.0f} samples/s")
        if self.tb is not None:
            for key in ("train_loss", "val_loss", "val_accuracy", "val_auc", "nan_rate", "grad_norm_mean", "lr"):
                if rec.get(key) is not None:
                    self.tb.add_scalar(key, rec[key], epoch)

    # ------------------------------------------------------------------ outputs
    def _write_config(self) -> None:
        if self.run_dir is None:
            return
        data = self.data
        settings = self.config.to_dict()
        facts = {**self.meta,
                 "resolved": {"device": str(self.device), "amp_dtype": str(self.amp_dtype).replace("torch.", "")
                              if self.amp_dtype is not None else None,
                              "grad_scaler": self.scaler is not None, "world_size": self.info.world_size,
                              "loss": self.loss.name, "optimizer": type(self.opt).__name__,
                              "steps_per_epoch": self.steps_per_epoch, "total_steps": self.total_steps,
                              "param_count": param_count(self.model), "torch_threads": torch.get_num_threads()},
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
        write_json(self.run_dir / "config.json", doc)

    def _announce(self) -> None:
        d = self.data
        amp = "off" if self.amp_dtype is None else str(self.amp_dtype).replace("torch.", "") + (
            " + GradScaler" if self.scaler is not None else "")
        where = f"run directory {self.run_dir}" if self.run_dir else "no run directory"
        self.logger.info(f"{where}; log {self.log_path}" if self.log_path else where)
        self.logger.info(f"rows train/val/test {len(d.y_train):,}/{len(d.y_val):,}/{len(d.y_test):,}, "
                         f"{d.n_features} features, target {d.target} (horizon {d.horizon}); model "
                         f"{d.n_features}-{'-'.join(map(str, self.config.hidden_dims))}-1, "
                         f"{param_count(self.model):,} parameters; device {self.device}, mixed precision {amp}, "
                         f"loss {self.loss.name}, {self.info.world_size} process(es), "
                         f"{self.steps_per_epoch:,} steps/epoch")
        sparse = d.counts.get("sparse_features")
        if sparse:
            worst = ", ".join(f"{name} NaN on {share:.0%}" for name, share in sparse.items())
            self.logger.warning(f"warning: training keeps {len(d.y_train):,} of {d.counts['train_span_rows']:,} "
                                f"labelled rows of its span, because a row needs every feature ({worst}); "
                                "leave that feature group out (--features) or use data where it exists")

    def _finish(self, stop_reason: str, message: str) -> TrainResult:
        last_state = clone_state(self.model.state_dict())
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
            self._event("restore_best", self.epoch, f"restored the weights of the best epoch {self.best_epoch} "
                        f"(validation loss {self.best_val:.6f})", level="info")
        summary = {}
        if self.main:
            summary = self._summary(stop_reason, message)
            self._save("last.pt", last_state, finished=True, stop_reason=stop_reason)
            if self.run_dir is not None:
                write_json(self.run_dir / "summary.json", summary)
            self.logger.info(self._closing_line(summary))
            (self.logger.error if stop_reason == "diverged" else self.logger.info)(message)
        ddp.barrier(self.info)
        return TrainResult(self.run_dir, summary, stop_reason, message)

    def _summary(self, stop_reason: str, message: str) -> dict:
        epochs = [r for r in self.history if "event" not in r]
        test = self._test()
        self._write_predictions(test)
        rates = [r["nan_rate"] for r in epochs]
        valid = [r["valid_batch_pct"] for r in epochs]
        return {
            "param_count": param_count(self.model),
            "epochs_completed": self.epoch,
            "stop_reason": stop_reason,
            "stop_message": message,
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val if math.isfinite(self.best_val) else None,
            "nan_rate_max": max(rates) if rates else None,
            "valid_batch_pct_min": min(valid) if valid else None,
            "nan_batches_total": int(sum(r["nan_batches"] for r in epochs)),
            "rollbacks": self.guard.rollbacks,
            "test_accuracy": test["accuracy"],
            "test_accuracy_ci95": test["accuracy_ci95"],
            "test_majority_class": test["majority_class"],
            "test_majority_baseline": test["majority_baseline"],
            "test_majority_baseline_ci95": test["majority_baseline_ci95"],
            "test_p_value": test["p_value"],
            "test_auc": test["auc"],
            "test_log_loss": test["log_loss"],
            "test_brier": test["brier"],
            "test_confusion": test["confusion"],
            **({"test_mse": test["mse"]} if "mse" in test else {}),
            "n_train": int(len(self.data.y_train)),
            "n_val": int(len(self.data.y_val)),
            "n_test": int(len(self.data.y_test)),
            "samples_per_second": self.train_samples / self.train_seconds if self.train_seconds > 0 else None,
            "train_seconds": self.train_seconds,
            "target": self.data.target,
            "horizon": self.data.horizon,
            "device": str(self.device),
            "mixed_precision": None if self.amp_dtype is None else str(self.amp_dtype).replace("torch.", ""),
            "world_size": self.info.world_size,
            "run_dir": str(self.run_dir) if self.run_dir else None,
        }

    def _write_predictions(self, test: dict) -> None:
        if self.run_dir is None:
            return
        import pandas as pd

        from futures_vpoc.data.barframe import atomic_write

        d = self.data
        stamps = d.t_test if d.t_test is not None else pd.RangeIndex(len(d.y_test))
        frame = pd.DataFrame({"timestamp": stamps, "probability": test["prob"], "label": d.y_test.astype(np.float64),
                              "logit" if d.target == "direction" else "prediction": test["logits"]})
        if d.target == "rank":
            frame["up"] = d.up_test
        if d.fwd_test is not None:
            frame["fwd_return"] = d.fwd_test
        atomic_write(self.run_dir / "predictions_test.parquet",
                     lambda tmp: frame.to_parquet(tmp, engine="pyarrow", index=False))

    @staticmethod
    def _closing_line(s: dict) -> str:
        lo, hi = s["test_accuracy_ci95"]
        auc_text = "n/a" if s["test_auc"] is None else f"{s['test_auc']:.4f}"
        return (f"test accuracy {s['test_accuracy']:.4f} [{lo:.4f}, {hi:.4f}] vs majority baseline "
                f"{s['test_majority_baseline']:.4f} (p = {s['test_p_value']:.3g}), AUC {auc_text}, "
                f"n = {s['n_test']:,}; stop: {s['stop_reason']} after {s['epochs_completed']} epochs; "
                f"max NaN rate {s['nan_rate_max']:.2%}")


__all__ = ["TrainResult", "Trainer", "resolve_amp", "resolve_device"]
