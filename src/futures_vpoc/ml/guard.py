"""NaN guard: skip non-finite steps, roll back and back off when they persist, give up when that fails.

Per step (:meth:`NanGuard.observe`)
    A step is *non-finite* when its loss or its global gradient norm (measured before clipping) is
    NaN or infinite. Such a step is skipped -- no optimizer update, the gradients are dropped --
    and counted in the epoch's ``nan_batches``. Under fp16 the GradScaler's own overflow skips
    (finite loss, infinite scaled gradients, while the scale is still above 1) are its normal
    mechanism and are counted separately as ``scaler_skips``; they never reach the guard.

When non-finite steps persist
    * ``nan_patience`` (default 5) *consecutive* non-finite steps, or
    * an epoch that ends with more than ``max_nan_share`` (default 20 %) of its steps non-finite,
    * weights that are no longer finite at the end of an epoch,
    * or an epoch's validation loss -- or its mean training loss, for the unbounded log-loss and
      MSE -- that is not finite or exceeds ``explode_factor`` (default 10) times the loss of the
      constant predictor at the training base rate (for log-loss about ``10 * 0.69``: the model
      gives the true class about 0.1 % on average). This catches the finite explosions that an
      absurd learning rate causes without ever producing a NaN (log-loss on logits cannot overflow,
      yet the weights can be thrown far away)

    trigger a **rollback**: the model, optimizer, loss state and grad scaler return to the last good
    snapshot (:class:`Snapshot`: taken at the start and after every healthy epoch), and the learning
    rate is multiplied by ``backoff`` (0.5) from then on (events ``rollback`` and ``lr_backoff``).
    Training then continues where it was (the schedule's step keeps counting). A rollback within an
    epoch restarts that epoch's share count, so one burst of non-finite steps is one rollback.

Giving up
    After ``max_rollbacks`` (default 3) rollbacks, the next trigger stops the run with
    ``stop_reason = "diverged"``: the last good snapshot is restored (finite weights), the test
    evaluation and the run directory are still written, and the command says so in one line.

``nan_rate = nan_batches / total_batches``, where ``total_batches`` counts every attempted step of
the epoch (skipped or not), so it lies in [0, 1] by construction (the prior system divided by the
count of *successful* batches, cumulatively, and printed 157.94 %; section 8.5 item 40).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

OK = "ok"
SKIP = "skip"
ROLLBACK = "rollback"
DIVERGED = "diverged"


@dataclass(frozen=True)
class GuardPolicy:
    """Thresholds of the NaN guard (module docstring).

    Attributes
    ----------
    nan_patience : int
        Consecutive non-finite steps that trigger a rollback.
    max_nan_share : float
        Share of an epoch's steps that, when exceeded, triggers a rollback at the epoch's end.
    max_rollbacks : int
        Rollbacks allowed before the run is declared diverged.
    backoff : float
        Factor applied to the learning rate at each rollback.
    explode_factor : float
        Validation loss above this multiple of the constant predictor's triggers a rollback.
    """

    nan_patience: int = 5
    max_nan_share: float = 0.2
    max_rollbacks: int = 3
    backoff: float = 0.5
    explode_factor: float = 10.0


class NanGuard:
    """Counts non-finite steps and decides when to skip, roll back or stop.

    Parameters
    ----------
    policy : GuardPolicy
    """

    def __init__(self, policy: GuardPolicy | None = None) -> None:
        self.policy = policy or GuardPolicy()
        self.consecutive = 0
        self.rollbacks = 0
        self.lr_scale = 1.0
        self.epoch_bad = 0
        self.epoch_total = 0
        self.last_reason = ""

    def begin_epoch(self) -> None:
        """Reset the per-epoch counters."""
        self.epoch_bad = 0
        self.epoch_total = 0
        self.consecutive = 0

    def observe(self, finite: bool) -> str:
        """Record one attempted step; returns ``OK``, ``SKIP``, ``ROLLBACK`` or ``DIVERGED``."""
        self.epoch_total += 1
        if finite:
            self.consecutive = 0
            return OK
        self.epoch_bad += 1
        self.consecutive += 1
        if self.consecutive >= self.policy.nan_patience:
            decision = self._escalate(f"{self.consecutive} consecutive non-finite steps")
            if decision == ROLLBACK:
                # The rollback undoes this burst: the epoch's share rule judges only the steps taken
                # after it, so one burst is one rollback, never a second one at the epoch's end.
                self.epoch_bad = 0
                self.epoch_total = 0
            return decision
        return SKIP

    def end_epoch(self, weights_finite: bool = True, losses: dict | None = None) -> str:
        """Epoch-level checks; returns ``OK``, ``ROLLBACK`` or ``DIVERGED``.

        Parameters
        ----------
        weights_finite : bool
            Whether every weight is finite.
        losses : dict, optional
            ``{name: (value, reference)}``: a loss of the epoch and the constant predictor's value of it;
            a value that is not finite or above ``explode_factor * reference`` triggers a rollback.
        """
        if not weights_finite:
            return self._escalate("non-finite weights at the end of the epoch")
        for name, (value, reference) in (losses or {}).items():
            if value is None or reference is None:
                continue
            if not math.isfinite(value) or value > self.policy.explode_factor * reference:
                return self._escalate(f"{name} {value:.4g} exceeds {self.policy.explode_factor:g}x "
                                      f"the constant predictor's {reference:.4g}")
        if self.epoch_total and self.epoch_bad / self.epoch_total > self.policy.max_nan_share:
            share = self.epoch_bad / self.epoch_total
            return self._escalate(f"{share:.1%} of the epoch's steps were non-finite "
                                  f"(limit {self.policy.max_nan_share:.0%})")
        return OK

    def _escalate(self, reason: str) -> str:
        self.consecutive = 0
        self.last_reason = reason
        if self.rollbacks >= self.policy.max_rollbacks:
            return DIVERGED
        self.rollbacks += 1
        self.lr_scale *= self.policy.backoff
        return ROLLBACK

    def state_dict(self) -> dict:
        """Counters that survive a resume."""
        return {"rollbacks": self.rollbacks, "lr_scale": self.lr_scale}

    def load_state_dict(self, state: dict) -> None:
        """Inverse of :meth:`state_dict`."""
        self.rollbacks = int(state["rollbacks"])
        self.lr_scale = float(state["lr_scale"])


def _clone(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    return copy.deepcopy(value)


def clone_state(state):
    """Deep copy of a (nested) state dict with every tensor cloned and detached."""
    return _clone(state)


def tensors_finite(state) -> bool:
    """Whether every floating-point tensor in a (nested) state dict is finite."""
    if isinstance(state, torch.Tensor):
        return not state.is_floating_point() or bool(torch.isfinite(state).all())
    if isinstance(state, dict):
        return all(tensors_finite(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return all(tensors_finite(v) for v in state)
    return True


@dataclass
class Snapshot:
    """The last good training state, kept in memory for a rollback.

    Attributes
    ----------
    epoch : int
        Epochs completed when it was taken (0: the initial weights).
    model, optimizer, loss, scaler : dict
        Cloned state dicts (``scaler`` None without a GradScaler).
    """

    epoch: int
    model: dict
    optimizer: dict
    loss: dict
    scaler: dict | None

    @classmethod
    def capture(cls, epoch: int, model, optimizer, loss, scaler=None) -> Snapshot:
        """Clone the current states."""
        return cls(epoch, clone_state(model.state_dict()), clone_state(optimizer.state_dict()),
                   clone_state(loss.state_dict()), scaler.state_dict() if scaler is not None else None)

    def restore(self, model, optimizer, loss, scaler=None) -> None:
        """Load the cloned states back (the snapshot stays usable for another rollback)."""
        model.load_state_dict(clone_state(self.model))
        optimizer.load_state_dict(clone_state(self.optimizer))
        loss.load_state_dict(clone_state(self.loss))
        if scaler is not None and self.scaler is not None:
            scaler.load_state_dict(dict(self.scaler))


__all__ = ["DIVERGED", "OK", "ROLLBACK", "SKIP", "GuardPolicy", "NanGuard", "Snapshot", "clone_state",
           "tensors_finite"]
