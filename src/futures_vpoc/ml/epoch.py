"""One training epoch: the per-step loop (:class:`EpochLoop`) and what it counts (:class:`EpochStats`).

One step (:meth:`EpochLoop.run`), all on tensors prepared once
    1. ``lr = lr_at(step) * guard.lr_scale`` (:mod:`.schedule`, :mod:`.guard`).
    2. The batch is a slice of this epoch's permuted copy of the training tensors (one gather per
       epoch, :func:`epoch_rows`; no per-batch Python or pandas work). A memory-mapped training
       part (:func:`futures_vpoc.ml.inputs.paged_block_rows`) is never copied whole: each batch is
       gathered from it by its rows of :func:`epoch_order` (blocks of consecutive rows in a random
       order, then the rows of each block in a random order), so an epoch reads the file block by
       block instead of at random. Trade-off: a batch then holds rows of one block (65,536 rows
       of 1-minute bars are about 7 weeks of sessions), so batches are less alike than under a
       full shuffle and the gradient drifts with the block's market regime within an epoch; every
       row is still seen once per epoch, and the block order changes every epoch. A part of at
       most one block gets exactly the in-memory order.
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

The loop owns no run state: it takes the global step and hands back the step after the epoch in
:attr:`EpochStats.step`; guard rollbacks and ``nan_skip`` events go back to the trainer through the
``on_rollback`` and ``on_event`` callbacks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from futures_vpoc.ml import distributed as ddp
from futures_vpoc.ml.device import autocast as make_autocast
from futures_vpoc.ml.guard import DIVERGED, ROLLBACK
from futures_vpoc.ml.inputs import paged_block_rows
from futures_vpoc.ml.loss import AdaptiveHuberLoss
from futures_vpoc.ml.schedule import lr_at

NAN_EVENT_CAP = 50
"""At most this many ``nan_skip`` events are written per epoch (the epoch record has the count)."""


@dataclass
class EpochStats:
    """Accumulators of one epoch.

    Attributes
    ----------
    total, nan, scaler_skips, stepped, clipped : int
        Attempted steps; non-finite ones; GradScaler overflow skips; optimizer steps taken; clipped ones.
    loss_sum, rows : float, int
        Sum of the batch losses times their rows, and those rows (finite steps only).
    norm_sum, norm_max : float
        Sum and maximum of the gradient norms of the finite steps.
    lr : float
        The last learning rate set.
    nan_events : int
        ``nan_skip`` events written (at most :data:`NAN_EVENT_CAP`).
    samples, seconds : int, float
        Training samples over all processes, and the epoch's wall time.
    stop : str or None
        The guard's reason when it gave up mid-epoch.
    step : int
        The global step after the epoch's last attempted step.
    """

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
    step: int = 0


def epoch_rows(X: torch.Tensor, y: torch.Tensor, seed: int, epoch: int, info: ddp.DistInfo,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's permuted copy of the training tensors for ``epoch`` (one gather)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = ddp.shard(torch.randperm(X.shape[0], generator=g), info).to(device)
    return X.index_select(0, perm), y.index_select(0, perm)


def epoch_order(n: int, seed: int, epoch: int, block_rows: int | None) -> torch.Tensor:
    """The order of the ``n`` training rows for ``epoch``, int64, shape (n,): a permutation.

    ``block_rows`` None or ``>= n``: ``torch.randperm`` of the epoch's generator, the order of
    :func:`epoch_rows`. Else the blocks of ``block_rows`` consecutive rows (the last one shorter) in a
    random order, each block's rows in a random order, from the same generator.
    """
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    if block_rows is None or n <= block_rows:
        return torch.randperm(n, generator=g)
    blocks = torch.randperm(math.ceil(n / block_rows), generator=g).tolist()
    return torch.cat([b * block_rows + torch.randperm(min(block_rows, n - b * block_rows), generator=g)
                      for b in blocks])


def paged_batches(X: torch.Tensor, y: torch.Tensor, seed: int, epoch: int, info: ddp.DistInfo,
                  block_rows: int, batch_size: int):
    """``batch(b) -> (xb, yb)`` gathering batch ``b`` of this process from memory-mapped tensors."""
    order = ddp.shard(epoch_order(X.shape[0], seed, epoch, block_rows), info)

    def batch(b: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = order[b * batch_size:(b + 1) * batch_size]
        return X.index_select(0, idx), y.index_select(0, idx)

    return batch


def reseed_dropout(model, seed: int, epoch: int, rank: int, device: torch.device) -> None:
    """Seed the model's dropout masks (and the CUDA generator) from ``(seed, epoch, rank)``."""
    seeds = [seed, epoch, rank]
    if model.masks is not None:
        model.masks.reseed(seeds)
    if device.type != "cpu":
        torch.cuda.manual_seed(int(np.random.SeedSequence(seeds).generate_state(1)[0]))


class EpochLoop:
    """The steps of one training epoch, bound once to the parts they drive.

    Parameters
    ----------
    model : futures_vpoc.ml.model.MLP
        The bare model (its dropout masks are reseeded each epoch).
    net : torch.nn.Module
        What the forward pass calls: ``model`` or its DistributedDataParallel wrapper.
    opt : torch.optim.Optimizer
    loss : torch.nn.Module
        The training loss (:func:`futures_vpoc.ml.loss.make_loss`).
    scaler : torch.amp.GradScaler or None
    params : list of torch.Tensor
        The parameters whose gradient norm is measured and clipped.
    guard : futures_vpoc.ml.guard.NanGuard
    config : futures_vpoc.ml.config.TrainConfig
        Batch size, clipping, schedule, seed, epochs and verbosity.
    X, y : torch.Tensor
        The training tensors on ``device``.
    info : futures_vpoc.ml.distributed.DistInfo
    device : torch.device
    amp_dtype : torch.dtype or None
        Autocast dtype of the forward pass (None: off).
    batch_hook : callable or None
        ``batch_hook(step, x) -> x`` applied to every batch.
    steps_per_epoch, total_steps : int
    progress : futures_vpoc.ml.rundir.Progress
    logger : logging.Logger
    main : bool
        Rank 0 (writes the ``--verbose`` step lines).
    on_event : callable
        ``on_event(event, epoch, detail, level=..., step=...)`` records an event.
    on_rollback : callable
        ``on_rollback(epoch, reason, step=...)`` restores the last good state after the guard's ROLLBACK.
    """

    def __init__(self, *, model, net, opt, loss, scaler, params, guard, config, X, y, info, device, amp_dtype,
                 batch_hook, steps_per_epoch: int, total_steps: int, progress, logger, main: bool, on_event,
                 on_rollback) -> None:
        self.model, self.net, self.opt, self.loss, self.scaler = model, net, opt, loss, scaler
        self.params, self.guard, self.config = params, guard, config
        self.X, self.y, self.info, self.device, self.amp_dtype = X, y, info, device, amp_dtype
        self.batch_hook = batch_hook
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.progress, self.logger, self.main = progress, logger, main
        self.on_event, self.on_rollback = on_event, on_rollback
        self.block_rows = paged_block_rows(X)

    def run(self, epoch: int, step: int) -> EpochStats:
        """Train epoch ``epoch`` from global step ``step``; returns its accumulators."""
        cfg = self.config
        acc = EpochStats()
        reseed_dropout(self.model, cfg.seed, epoch, self.info.rank, self.device)
        self.net.train()
        t0 = time.perf_counter()
        bs, steps = cfg.batch_size, self.steps_per_epoch
        if self.block_rows is None:
            Xe, ye = epoch_rows(self.X, self.y, cfg.seed, epoch, self.info, self.device)
            paged = None
        else:
            paged = paged_batches(self.X, self.y, cfg.seed, epoch, self.info, self.block_rows, bs)
        net, opt, crit, scaler, params = self.net, self.opt, self.loss, self.scaler, self.params
        clip = float(cfg.gradient_clip_value or 0.0)
        autocast = make_autocast(self.device, self.amp_dtype)
        hook = self.batch_hook
        world = self.info
        guard = self.guard
        adaptive = isinstance(crit, AdaptiveHuberLoss)
        progress = self.progress if self.progress.active else None
        detail_every = max(1, steps // 10) if cfg.verbose and self.main else 0  # --verbose: ~10 lines an epoch
        peak, warm, total, floor = cfg.learning_rate, cfg.warmup_steps, self.total_steps, cfg.min_lr_ratio
        current_lr = None
        guard.begin_epoch()
        for b in range(steps):
            lr = lr_at(step, peak, warm, total, floor) * guard.lr_scale
            if lr != current_lr:
                for group in opt.param_groups:
                    group["lr"] = lr
                current_lr = lr
            if paged is None:
                xb = Xe[b * bs:(b + 1) * bs]
                yb = ye[b * bs:(b + 1) * bs]
            else:
                xb, yb = paged(b)
            if hook is not None:
                xb = hook(step, xb)
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
            step += 1
            if not finite and not overflow:
                acc.nan += 1
                action = guard.observe(False)
                if acc.nan_events < NAN_EVENT_CAP:
                    acc.nan_events += 1
                    self.on_event("nan_skip", epoch, f"loss {loss_v:.4g}, gradient norm {norm_v:.4g}; step skipped",
                                  level="debug" if acc.nan_events > 3 else "warning", step=step)
                if action == ROLLBACK:
                    self.on_rollback(epoch, guard.last_reason, step=step)
                    current_lr = None
                elif action == DIVERGED:
                    acc.stop = guard.last_reason
                    break
            else:
                guard.observe(True)
            if progress is not None:
                progress.update(epoch, cfg.epochs, b + 1, steps, acc.loss_sum / max(acc.rows, 1),
                                acc.nan / acc.total, norm_v, lr)
            if detail_every and (b + 1) % detail_every == 0:
                self.progress.clear()
                self.logger.debug(f"epoch {epoch} step {b + 1}/{steps}: loss {acc.loss_sum / max(acc.rows, 1):.5f}, "
                                  f"nan {acc.nan}/{acc.total}, |g| {norm_v:.4g}, clipped {acc.clipped}, lr {lr:.3e}")
        acc.lr = current_lr or 0.0
        acc.step = step
        acc.seconds = time.perf_counter() - t0
        self.progress.close()
        return acc


__all__ = ["NAN_EVENT_CAP", "EpochLoop", "EpochStats", "epoch_order", "epoch_rows", "paged_batches",
           "reseed_dropout"]
