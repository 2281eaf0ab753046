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
    (the ``nn.Dropout`` model runs at 59-80 % of the plain loop). On the CPU the model therefore draws
    its masks from numpy's PCG64 in blocks of rows (:class:`DropoutMasks`, about 70 us a step):
    a unit is dropped when a uniform 16-bit integer falls below
    ``round(p * 65536)`` (so the rate is ``p`` within 8e-6) and kept ones are scaled by the exact
    inverse of the keep probability, so the expected activation is unchanged, as with
    ``torch.nn.Dropout``. Every unit of every row gets its own draw; nothing is reused. On other
    devices :func:`torch.nn.functional.dropout` is used. In ``eval()`` mode there is no dropout.
    The masks are made in the activations' dtype straight from the kept bits (each kept unit's value
    is the bit pattern of the scale, a multiply of bytes): under bfloat16 autocast they are bfloat16,
    the scale rounded to bfloat16 as :func:`torch.nn.functional.dropout` rounds it there (1.1797
    for p = 0.15, 0.27 % above the exact inverse), and the product stays in bfloat16 instead of
    being promoted to float32 and cast back by the next layer. At batch 4096 that halves the
    dropout's share of a bfloat16 step (``benchmarks/bench_train.py``). The same bits give the same
    kept units in every dtype, and float32 masks are the values they always were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MASK_BLOCK_ROWS = 4096
"""Rows of masks drawn at once (per hidden layer) by :class:`DropoutMasks`."""


class DropoutMasks:
    """Dropout keep-masks for every hidden layer, drawn in blocks from numpy's PCG64.

    Parameters
    ----------
    widths : sequence of int
        Width of each hidden layer.
    rate : float
        Drop probability in (0, 1).
    seed : int or sequence of int
        Entropy for :class:`numpy.random.SeedSequence`.
    block_rows : int
        Rows drawn per block.
    """

    def __init__(self, widths: Sequence[int], rate: float, seed=0, block_rows: int = MASK_BLOCK_ROWS) -> None:
        self.widths = tuple(int(w) for w in widths)
        self.rate = float(rate)
        self.block_rows = int(block_rows)
        drop = int(round(self.rate * 65536))
        self.threshold = drop - 32768  # signed 16-bit: keep when value >= threshold
        self.scale = 65536.0 / (65536 - drop)
        self.reseed(seed)

    @property
    def effective_rate(self) -> float:
        """The drop probability actually used: ``round(rate * 65536) / 65536``."""
        return (self.threshold + 32768) / 65536.0

    def reseed(self, seed) -> None:
        """Start a fresh stream from ``seed`` (an int or a sequence of ints); drop any cached block."""
        self._bits = np.random.PCG64(np.random.SeedSequence(seed))
        self._steps: list[tuple[torch.Tensor, ...]] = []
        self._rows = 0
        self._next = 0
        self._dtype = torch.float32

    def _draw(self, rows: int, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
        """Fresh masks for ``rows`` rows: one tensor (rows, width) of ``dtype`` per layer."""
        total = sum(self.widths) * rows
        raw = self._bits.random_raw((total + 3) // 4)
        keep = raw.view(np.int16)[:total] >= self.threshold  # numpy: 10x torch's int16 compare
        # a kept unit is the scale's bit pattern, a dropped one 0: one multiply of bytes, where
        # astype(float32) then *= scale took 5 ms of a 4096-row draw (same float32 values)
        flat = torch.from_numpy(keep.view(np.uint8) * self._pattern(dtype)).view(dtype)
        out, start = [], 0
        for w in self.widths:
            out.append(flat[start:start + rows * w].view(rows, w))
            start += rows * w
        return out

    def _pattern(self, dtype: torch.dtype) -> np.generic:
        """The bits of the scale in ``dtype`` (float32 or bfloat16) as an unsigned numpy scalar."""
        scale = torch.tensor(np.float32(self.scale)).to(dtype)  # bfloat16: round to nearest even, as .to() does
        if dtype == torch.float32:
            return np.uint32(scale.view(torch.int32).item() & 0xFFFFFFFF)
        if dtype in (torch.bfloat16, torch.float16):
            return np.uint16(scale.view(torch.int16).item() & 0xFFFF)
        raise ValueError(f"dropout masks in {dtype}: float32, bfloat16 or float16 only")

    def take(self, rows: int, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
        """Masks for the next ``rows`` rows: one tensor of shape (rows, width) per layer, in ``dtype``.

        A block holds ``block_rows // rows`` batches of the first size asked for (after :meth:`reseed`),
        split once; a batch of another size (the last of an epoch) or larger than a block gets a fresh
        draw of its own. The dtype never changes which units are kept: a block drawn in another dtype
        is converted.
        """
        if rows > self.block_rows or (self._rows and rows != self._rows):
            return self._draw(rows, dtype)  # an odd-sized batch: its own draw; the block stays for the usual size
        if self._next >= len(self._steps):
            per_block = self.block_rows // rows
            layers = self._draw(per_block * rows, dtype)
            self._steps = list(zip(*(m.split(rows) for m in layers)))
            self._rows, self._next, self._dtype = rows, 0, dtype
        k = self._next
        self._next += 1
        masks = list(self._steps[k])
        return masks if self._dtype == dtype else [m.to(dtype) for m in masks]


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
        own_masks = drop and x.device.type == "cpu"
        masks = None
        h = x
        for i, layer in enumerate(self.hidden):
            h = torch.relu(layer(h))
            if own_masks:
                if masks is None:  # in the activations' dtype (bfloat16 under autocast)
                    masks = self.masks.take(x.shape[0], h.dtype)
                h = h * masks[i]
            elif drop:
                h = F.dropout(h, self.dropout_rate, True)
        return self.head(h).squeeze(-1)


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


__all__ = ["MASK_BLOCK_ROWS", "MLP", "DropoutMasks", "build_model", "param_count", "predict_logits",
           "probabilities"]
