"""The direction model: a plain MLP that emits one logit per row.

Architecture
    ``input (d) -> [Linear -> ReLU -> Dropout] x len(hidden_dims) -> Linear -> logit``.
    The output is a *logit* (or, for ``target="rank"``, a raw value): no sigmoid inside the model.
    The one sigmoid is applied where a probability is needed -- inside the log-loss
    (``binary_cross_entropy_with_logits``), inside the adaptive Huber loss, and once at prediction
    time (:func:`predict_logits` + :func:`probabilities`). The prior system put a sigmoid in the model
    and another in the loss and the metric (section 8.5 item 35 of its reference).

Normalisation: none, on purpose
    The inputs are already robust-scaled and winsorized on the training part (the dataset stage),
    so there is nothing for an input norm to fix. The prior system's LayerNorm normalised each
    *sample* across heterogeneous features (losing their magnitudes) and, on near-constant vectors
    (a dead ReLU layer, imputed rows), divided by ``sqrt(eps)``: a gradient amplifier of about 300
    per layer (its item 45). Without norm layers that hazard cannot exist, and the step is cheaper:
    at batch 64 on the 2-core CPU a LayerNorm per layer costs 13-16 % of the throughput of the
    same network (``benchmarks/bench_train.py``, five runs: 51-68 % against 59-80 % of a plain
    Linear-ReLU loop, both with ``nn.Dropout``), which the issue's budget (>= 80 % of the plain
    loop) does not allow.
    Stability comes from the scaled inputs, the initialisation, AdamW with warmup, gradient
    clipping and the NaN guard.

Initialisation
    Hidden layers: He (Kaiming) normal, fan-in, ReLU gain (``std = sqrt(2 / fan_in)``), zero bias,
    so activations keep their scale through the depth. Output layer: normal with
    ``std = 0.1 / sqrt(fan_in)`` and zero bias, so the first logits are near 0 (probabilities near
    1/2, the first log-loss near ``log 2``) and the first updates are not dominated by a random
    output layer.

Dropout on the CPU
    PyTorch's CPU dropout draws its Bernoulli mask with a scalar Mersenne-Twister loop: at batch 64
    and 512-256-128-64 that is half a millisecond a step, a quarter to a third of the whole step
    (the ``nn.Dropout`` model runs at 59-80 % of the plain loop). And any mask costs two passes over
    the activations per layer, the multiply forward and again backward. In training on the CPU the
    model therefore does without a mask:

    * A dropped unit gets a bias of -inf for that row (:meth:`DropoutMasks.dropped_bias`, given to
      :func:`torch.addmm` as its full ``input``), so its pre-activation is -inf, its ReLU 0 and its
      gradient 0: dropout with no pass over the activations. A NaN or +inf pre-activation stays NaN
      (NaN + -inf), as ``relu(NaN) * 0`` and ``relu(inf) * 0`` are NaN with a mask, so the NaN guard
      sees the same batches.
    * The kept units' scale, the exact inverse of the keep probability, goes into the weights of the
      next layer (and the head), ``W * scale``: a product over the weights, which at batch 4096 are a
      twentieth of the activations. The expected activation is unchanged, as with ``torch.nn.Dropout``.
    * Which units are kept comes from one SplitMix64 stream per seed (:mod:`futures_vpoc.ml.maskbits`):
      a unit is dropped when its 16-bit lane falls below ``round(p * 65536) - 32768`` (so the rate is
      ``p`` within 8e-6). Every unit of every row of every step gets its own draw; nothing is reused.
      The same units are kept in every dtype (the bias is rounded to bfloat16 under autocast, as
      autocast's ``addmm`` rounds it).

    At batch 4096 in bfloat16 this took the seed model from 72-75 % to 88-97 % of a plain
    Linear-ReLU loop with no dropout (97 % in the full ``make bench`` of ``benchmarks/results.md``);
    the masks before it drew 2.4 ms a step and multiplied twice. In float32 it gives the logits and
    gradients of textbook ``relu(.) * mask / (1 - p)`` to rounding (``tests/test_ml_model.py``). On
    other devices :func:`torch.nn.functional.dropout` is used. In ``eval()`` mode there is no dropout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

_BITS = {torch.float32: (np.uint32, torch.int32, 0xFF800000), torch.bfloat16: (np.uint16, torch.int16, 0xFF80),
         torch.float16: (np.uint16, torch.int16, 0xFC00)}
"""Per activation dtype: the numpy and torch integer types of its bits, and the bits of -inf."""


class DropoutMasks:
    """The dropout of every hidden layer, drawn from one SplitMix64 stream (:mod:`futures_vpoc.ml.maskbits`).

    Parameters
    ----------
    widths : sequence of int
        Width of each hidden layer.
    rate : float
        Drop probability in (0, 1).
    seed : int or sequence of int
        Entropy for :class:`numpy.random.SeedSequence`, which gives the stream's 64-bit seed.

    Notes
    -----
    A unit is dropped when its 16-bit lane falls below ``round(rate * 65536) - 32768``, so the rate
    actually used is :attr:`effective_rate` (within 8e-6 of ``rate``); the kept units are scaled by
    :attr:`scale`, the exact inverse of the keep probability. Each call of :meth:`dropped_bias` uses
    the next ``ceil(rows * width / 4)`` words of the stream: every unit of every row of every step
    gets its own draw, and the same seed and call sequence give the same kept units.
    """

    def __init__(self, widths: Sequence[int], rate: float, seed=0) -> None:
        self.widths = tuple(int(w) for w in widths)
        self.rate = float(rate)
        drop = int(round(self.rate * 65536))
        self.threshold = drop - 32768  # signed 16-bit: keep when value >= threshold
        self.scale = 65536.0 / (65536 - drop)
        self.reseed(seed)

    @property
    def effective_rate(self) -> float:
        """The drop probability actually used: ``round(rate * 65536) / 65536``."""
        return (self.threshold + 32768) / 65536.0

    def reseed(self, seed) -> None:
        """Start a fresh stream from ``seed`` (an int or a sequence of ints)."""
        self._seed = int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])
        self._word = 0  # words of the stream used so far

    def dropped_bias(self, bias: torch.Tensor, rows: int, dtype: torch.dtype) -> torch.Tensor:
        """``bias`` repeated over ``rows`` rows in ``dtype``, with this step's dropped units at -inf.

        Used as the ``input`` of :func:`torch.addmm`, a dropped unit's pre-activation is -inf and
        its ReLU 0, with gradient 0, which is dropout with no pass over the activations (the
        module docstring). The gradient with respect to ``bias`` is the column sum, in ``bias``'s
        dtype, as :func:`torch.nn.functional.linear` gives it.

        Parameters
        ----------
        bias : Tensor, shape (width,)
            The layer's bias (float32 parameter).
        rows : int
            Rows of the batch.
        dtype : torch.dtype
            float32, bfloat16 or float16: the dtype the layer's matrix product runs in.

        Returns
        -------
        Tensor, shape (rows, width), of ``dtype``
        """
        return _DroppedBias.apply(bias, self, int(rows), dtype)

    def _fill(self, bias: torch.Tensor, rows: int, dtype: torch.dtype) -> torch.Tensor:
        from futures_vpoc.ml.maskbits import fill_dropped_bias  # numba: imported on the first draw only

        if dtype not in _BITS:
            raise ValueError(f"dropout in {dtype}: float32, bfloat16 or float16 only")
        np_bits, torch_bits, minus_inf = _BITS[dtype]
        values = bias.detach().to(dtype).contiguous().view(torch_bits).numpy().view(np_bits)
        out = np.empty((rows, values.shape[0]), dtype=np_bits)
        self._word += fill_dropped_bias(out, values, self._seed, self._word, self.threshold, minus_inf)
        return torch.from_numpy(out).view(dtype)


class _DroppedBias(torch.autograd.Function):
    """Autograd of :meth:`DropoutMasks.dropped_bias`: the gradient of a repeated bias is its column sum."""

    @staticmethod
    def forward(ctx, bias, masks, rows, dtype):
        ctx.bias_dtype = bias.dtype
        return masks._fill(bias, rows, dtype)

    @staticmethod
    def backward(ctx, grad):
        # a dropped unit's gradient is 0 already: the ReLU after it passed none back
        # summed in the activations' dtype (float32 accumulation inside), as autocast's addmm does
        return grad.sum(0).to(ctx.bias_dtype), None, None, None


class MLP(nn.Module):
    """Linear-ReLU-Dropout stack with a one-unit linear output (a logit).

    Parameters
    ----------
    input_dim : int
        Number of features.
    hidden_dims : sequence of int
        Hidden layer widths.
    dropout_rate : float
        Drop probability after every hidden layer.
    seed : int
        Seed of the CPU dropout masks (:class:`DropoutMasks`); weights are drawn from torch's
        global generator (seed it first).
    """

    def __init__(self, input_dim: int, hidden_dims: Sequence[int], dropout_rate: float = 0.0, seed=0) -> None:
        super().__init__()
        dims = (int(input_dim), *(int(h) for h in hidden_dims))
        self.input_dim = dims[0]
        self.hidden_dims = dims[1:]
        self.dropout_rate = float(dropout_rate)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.head = nn.Linear(dims[-1], 1)
        self.masks = DropoutMasks(self.hidden_dims, self.dropout_rate, seed) if self.dropout_rate > 0 else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal hidden weights, small normal output weights, zero biases (module docstring)."""
        for layer in self.hidden:
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        nn.init.normal_(self.head.weight, std=0.1 / math.sqrt(self.head.in_features))
        nn.init.zeros_(self.head.bias)

    def spec(self) -> dict:
        """What :func:`build_model` needs to rebuild this architecture."""
        return {"input_dim": self.input_dim, "hidden_dims": list(self.hidden_dims),
                "dropout_rate": self.dropout_rate}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (n,), of rows ``x`` of shape (n, input_dim)."""
        drop = self.training and self.dropout_rate > 0
        if drop and x.device.type == "cpu":
            return self._forward_own_dropout(x)
        h = x
        for layer in self.hidden:
            h = torch.relu_(layer(h))  # a fresh tensor that autograd does not keep: in place is safe
            if drop:
                h = F.dropout(h, self.dropout_rate, True)
        return self.head(h).squeeze(-1)

    def _forward_own_dropout(self, x: torch.Tensor) -> torch.Tensor:
        """Training forward on the CPU: dropped units get a -inf bias, the scale goes into the next weights."""
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
        scale = self.masks.scale
        h = x
        for i, layer in enumerate(self.hidden):
            weight = layer.weight if i == 0 else layer.weight * scale
            bias = self.masks.dropped_bias(layer.bias, x.shape[0], dtype)
            h = torch.relu_(torch.addmm(bias, h, weight.t()))
        return F.linear(h, self.head.weight * scale, self.head.bias).squeeze(-1)


def build_model(spec: dict, seed=0) -> MLP:
    """An :class:`MLP` from :meth:`MLP.spec`'s dict (freshly initialised)."""
    return MLP(spec["input_dim"], spec["hidden_dims"], spec.get("dropout_rate", 0.0), seed=seed)


def param_count(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


@torch.no_grad()
def predict_logits(model: nn.Module, X, batch_size: int = 16384, device=None) -> np.ndarray:
    """Logits of every row of ``X`` (numpy or tensor, shape (n, d)) in eval mode, float64 numpy.

    The model is put in ``eval()`` for the call and returned to its previous mode afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        dev = device or next(model.parameters()).device
        X = torch.as_tensor(X, dtype=torch.float32)
        out = [model(X[i:i + batch_size].to(dev)).float().cpu() for i in range(0, X.shape[0], batch_size)]
        return (torch.cat(out) if out else torch.empty(0)).double().numpy()
    finally:
        model.train(was_training)


def probabilities(logits: np.ndarray) -> np.ndarray:
    """The one sigmoid: probabilities of "up" from logits (numerically stable for any finite logit)."""
    from scipy.special import expit

    return expit(np.asarray(logits, dtype=np.float64))


__all__ = ["MLP", "DropoutMasks", "build_model", "param_count", "predict_logits",
           "probabilities"]
