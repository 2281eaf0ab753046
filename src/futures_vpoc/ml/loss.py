"""Training losses, all taking the model's raw output (a logit for ``direction`` and ``up_or_not``).

Default losses
    ``direction`` (and ``up_or_not``: every 0/1 target of :data:`futures_vpoc.labels.BINARY_TARGETS`
    is meant by "direction" below): log-loss, ``binary_cross_entropy_with_logits`` (the sigmoid lives
    inside it, computed stably for any finite logit). ``rank``: mean squared error of the output
    against the percentile rank (the output is the predicted rank, no link).

Adaptive robust loss (``--adaptive_loss``) for a 0/1 target: :class:`AdaptiveLogLoss`
    The probability stays scored by log-loss; the robustness goes into how hard each row may pull.
    Row ``i`` with logit ``z_i`` gets the Huber weight of its logit's size::

        w_i = min(1, delta / |z_i|)            (detached: a number, not part of the graph)

    and the step follows the gradient of ``mean(w_i * l_i)``, ``l_i`` the row's log-loss, so row
    ``i`` pulls on its logit with ``w_i * (sigma(z_i) - y_i)``. The value returned (and logged as
    ``train_loss``) is the batch's plain log-loss, the number the validation yardstick also reports.

    Why the probability stays unbiased: ``w`` depends on the logit (hence on the row's inputs and the
    weights), never on the label. For a fixed ``delta`` the per-row gradient is that of the score
    ``S(z, y) = int_0^z w(t) (sigma(t) - y) dt``; under ``y ~ Bernoulli(p)`` the derivative of its
    expectation is ``w(z) (sigma(z) - p)``, negative below ``logit(p)`` and positive above, so the
    expected score has its unique minimum at ``z = logit(p)``: ``S`` is a strictly proper scoring rule
    (the weight-function form of binary proper scores, Schervish 1989; Buja, Stuetzle & Shen 2005;
    log-loss is ``w = 1``, and ``S`` equals it, less ``log 2``, for ``|z| <= delta``). A label-dependent
    down-weighting cannot have that property: the seed's Huber loss on the probability residual
    (below) caps ``|sigma(z) - y|`` at ``delta``, which weighs the rare class's rows less and pulls the
    probability towards the common class (``tests/test_ml_loss_proper.py`` shows both).

    What it bounds: a row pulls on its logit with at most ``min(1, delta / |z|)`` (so for the wrong
    label ``S`` grows like ``delta * log |z|`` where log-loss grows like ``|z|``). A row whose logit is extreme because
    its activations are (an outlier input, a blown-up layer) has, in a ReLU network, a parameter
    gradient growing like ``|z|``; the weight cancels that growth, so its pull on the weights stays
    bounded however extreme it is (under plain log-loss it grows without bound).

    ``delta`` adapts: ``q_t`` = the ``quantile`` (default 0.9) of batch ``t``'s ``|z|`` (detached;
    nearest rank: the ``ceil(quantile * n)``-th smallest of the ``n`` values), blended after the
    batch as ``delta <- m * delta + (1 - m) * q_t`` (momentum ``m``, default 0.99), exactly as for
    :class:`AdaptiveHuberLoss` below (first batch, clipping to [``DELTA_MIN``, ``DELTA_MAX``], NaN
    batches ignored, ``state_dict``, ``pending``/``commit``), whose machinery it inherits: about 10%
    of a batch's rows, its most confident, get ``w < 1``, and a few outlier rows cannot move
    ``delta``. The metrics' ``huber_delta`` is this logit threshold.

Adaptive robust Huber loss, :class:`AdaptiveHuberLoss` (``--adaptive_loss`` for ``rank``)
    Residual ``r``: ``rank``: ``r = z - y``. (``link="sigmoid"``, ``r = sigma(z) - y``, is the seed's
    loss on the probability; it is not a proper scoring rule and no command trains with it any more.
    It is kept so the tests can show its bias beside :class:`AdaptiveLogLoss`.)

    Per-row loss with threshold ``delta`` (``torch.nn.functional.huber_loss``)::

        rho(r) = r**2 / 2                 if |r| <= delta
                 delta * (|r| - delta / 2) otherwise

    continuous with a continuous first derivative at ``|r| = delta``; quadratic near zero, linear
    beyond, so rows with large residuals pull with a bounded force ``delta``. The batch loss is the
    mean of ``rho``.

    ``delta`` adapts: ``q_t`` = the ``quantile`` (default 0.9) of batch ``t``'s ``|r|`` (detached;
    nearest rank: the ``ceil(quantile * n)``-th smallest of the ``n`` values), and after the batch
    ``delta <- m * delta + (1 - m) * q_t`` with momentum ``m`` (default 0.99). Batch ``t`` is scored
    with the ``delta`` of batches ``1..t-1``; the first batch sets ``delta = q_1`` and uses it.
    ``delta`` is clipped to [``DELTA_MIN``, ``DELTA_MAX``] and a non-finite ``q_t`` leaves it
    unchanged, so a NaN batch cannot poison it. Because ``delta`` tracks the 90th percentile of the
    residuals, about 10 % of the rows of a batch lie in the linear branch: the Huber shape is active
    (the prior system's ``delta_eff = max(1, 2 median |r|)`` with ``|r| <= 1`` was never exceeded, so
    its loss was exactly ``0.5 * MSE``; section 8.5 item 37 of its reference). ``delta`` is part of
    the module's ``state_dict`` (checkpoints, rollbacks); with ``update=False`` (evaluation) it is
    frozen.

    Speed: ``delta`` is a Python float, so the loss is one fused ``huber_loss`` call; the batch
    quantile waits on the device (:attr:`AdaptiveHuberLoss.pending`) until the trainer reads it
    together with the loss and gradient norm in its one host synchronisation per step and hands it
    to :meth:`AdaptiveHuberLoss.commit` (called on its own, the next ``forward`` commits it).

Validation yardstick
    Early stopping and ``val_loss`` use :func:`yardstick`, not the training loss: log-loss for
    ``direction``, MSE for ``rank``. It is the same quantity in every epoch (an adaptive ``delta``
    would move the goalposts) and a proper scoring rule.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from futures_vpoc.labels import is_binary

DELTA_MIN = 1e-3
DELTA_MAX = 1e3


class LogLoss(nn.Module):
    """Mean log-loss of logits against 0/1 labels (``binary_cross_entropy_with_logits``)."""

    name = "log_loss"

    def forward(self, z: torch.Tensor, y: torch.Tensor, update: bool = True) -> torch.Tensor:  # noqa: ARG002
        return F.binary_cross_entropy_with_logits(z, y)


class MSELoss(nn.Module):
    """Mean squared error of a raw output against a target (``rank``)."""

    name = "mse"

    def forward(self, z: torch.Tensor, y: torch.Tensor, update: bool = True) -> torch.Tensor:  # noqa: ARG002
        return F.mse_loss(z, y)


class AdaptiveHuberLoss(nn.Module):
    """Huber loss on the residual whose ``delta`` follows a running quantile of ``|residual|``.

    Trains ``rank`` under ``--adaptive_loss``; binary targets train with :class:`AdaptiveLogLoss`
    (the ``sigmoid`` link here is the seed's improper loss, kept for comparison).

    Parameters
    ----------
    link : {"sigmoid", "identity"}
        ``sigmoid`` for 0/1 labels (``direction``: residual of the probability), ``identity`` for a
        regression target.
    quantile : float
        Quantile of the batch's absolute residuals that ``delta`` follows.
    momentum : float
        Weight of the old ``delta`` in the moving average, in [0, 1).

    Attributes
    ----------
    delta : float
        The current threshold.
    initialized : bool
        Whether a batch has set ``delta`` yet.
    pending : torch.Tensor or None
        The last training batch's quantile, not yet committed (a 0-d tensor on the device).
    """

    name = "adaptive_huber"

    def __init__(self, link: str = "sigmoid", quantile: float = 0.9, momentum: float = 0.99) -> None:
        super().__init__()
        if link not in ("sigmoid", "identity"):
            raise ValueError(f"link {link!r}: use sigmoid or identity")
        self.link = link
        self.quantile = float(quantile)
        self.momentum = float(momentum)
        self.delta = 1.0
        self.initialized = False
        self.pending: torch.Tensor | None = None

    def prediction(self, z: torch.Tensor) -> torch.Tensor:
        """What the residual compares with the target: ``sigmoid(z)`` or ``z``."""
        z = z.float()
        return torch.sigmoid(z) if self.link == "sigmoid" else z

    def residual(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Signed residual ``r`` (module docstring), float32, shape of ``z``."""
        return self.prediction(z) - y

    def commit(self, q: float) -> None:
        """Blend a batch quantile into ``delta`` (a non-finite ``q`` is ignored)."""
        self.pending = None
        if not math.isfinite(q):
            return
        blended = q if not self.initialized else self.momentum * self.delta + (1.0 - self.momentum) * q
        self.delta = min(max(blended, DELTA_MIN), DELTA_MAX)
        self.initialized = True

    def forward(self, z: torch.Tensor, y: torch.Tensor, update: bool = True) -> torch.Tensor:
        """Mean Huber loss of the batch; with ``update`` its quantile becomes :attr:`pending`."""
        if self.pending is not None:
            self.commit(float(self.pending))
        p = self.prediction(z)
        if update:
            a = (p.detach() - y).abs().reshape(-1)
            k = max(1, math.ceil(self.quantile * a.numel()))
            q = a.kthvalue(k).values
            if not self.initialized:
                self.commit(float(q))  # the first batch is scored with its own quantile
            self.pending = q  # committed again by the trainer: blending q into delta = q changes nothing
        return F.huber_loss(p, y, delta=self.delta)

    def get_extra_state(self) -> dict:
        """``delta`` and ``initialized`` travel with ``state_dict()``."""
        return {"delta": self.delta, "initialized": self.initialized}

    def set_extra_state(self, state: dict) -> None:
        """Inverse of :meth:`get_extra_state`; drops an uncommitted quantile."""
        self.delta = float(state["delta"])
        self.initialized = bool(state["initialized"])
        self.pending = None


class AdaptiveLogLoss(AdaptiveHuberLoss):
    """Log-loss whose rows pull with the Huber weight ``min(1, delta / |z|)`` of their logit.

    ``delta`` follows a running quantile of ``|z|`` (the machinery of :class:`AdaptiveHuberLoss`);
    the weights never look at the label, so the score stays strictly proper (module docstring).

    Parameters
    ----------
    quantile : float
        Quantile of the batch's absolute logits that ``delta`` follows.
    momentum : float
        Weight of the old ``delta`` in the moving average, in [0, 1).
    """

    name = "adaptive_huber_log_loss"

    def __init__(self, quantile: float = 0.9, momentum: float = 0.99) -> None:
        super().__init__("sigmoid", quantile, momentum)

    def weights(self, z: torch.Tensor) -> torch.Tensor:
        """Per-row weights ``min(1, delta / |z|)`` in (0, 1], detached, float32 (NaN for a NaN logit)."""
        a = z.detach().float().abs()
        return self.delta / torch.clamp(a, min=self.delta)

    def forward(self, z: torch.Tensor, y: torch.Tensor, update: bool = True) -> torch.Tensor:
        """The batch's mean log-loss, with the gradient of its Huber-weighted mean.

        With ``update`` the batch's quantile of ``|z|`` becomes :attr:`pending`.
        """
        if self.pending is not None:
            self.commit(float(self.pending))
        z = z.float()
        if update:
            a = z.detach().abs().reshape(-1)
            q = a.kthvalue(max(1, math.ceil(self.quantile * a.numel()))).values
            if not self.initialized:
                self.commit(float(q))  # the first batch is weighted with its own quantile
            self.pending = q
        rows = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        weighted = (self.weights(z) * rows).mean()
        return weighted + (rows.mean() - weighted).detach()


def make_loss(target: str, adaptive: bool, quantile: float = 0.9, momentum: float = 0.99) -> nn.Module:
    """The training loss for ``target`` (a binary target or ``rank``); see the module docstring.

    ``adaptive``: :class:`AdaptiveLogLoss` for a binary target, :class:`AdaptiveHuberLoss` on the
    residual for ``rank``.
    """
    if adaptive:
        return AdaptiveLogLoss(quantile, momentum) if is_binary(target) else AdaptiveHuberLoss(
            "identity", quantile, momentum)
    return LogLoss() if is_binary(target) else MSELoss()


@torch.no_grad()
def yardstick(z: torch.Tensor, y: torch.Tensor, target: str) -> torch.Tensor:
    """Validation loss: summed log-loss (binary targets) or summed squared error (``rank``) of a batch.

    Returns the *sum* over the rows (float64 scalar) so batches can be added and divided once.
    """
    z = z.double()
    y = y.double()
    if is_binary(target):
        return F.binary_cross_entropy_with_logits(z, y, reduction="sum")
    return ((z - y) ** 2).sum()


__all__ = ["DELTA_MAX", "DELTA_MIN", "AdaptiveHuberLoss", "AdaptiveLogLoss", "LogLoss", "MSELoss", "make_loss",
           "yardstick"]
