"""Device and precision setup of a training run: the device, the autocast dtype, the optimizer, test hooks.

Mixed precision
    ``--use_mixed_precision`` autocasts the forward pass to bfloat16 where the device supports it
    (every CPU PyTorch runs on; CUDA/ROCm devices reporting ``is_bf16_supported()``), else to
    float16 with a :class:`torch.amp.GradScaler`. bf16 has float32's exponent range, so it needs no
    loss scaling and cannot overflow where float32 would not. Losses, gradients, optimizer state and
    validation stay float32. On the CPU it works everywhere and its speed depends on the chip and
    the batch: on the development machine (2 cores of an AMD EPYC with AVX512-BF16) bf16 autocast
    is about 10 % *slower* than float32 at batch 64 (the casts cost more than the small matrix
    products save) and about 1.5x faster at batch 4096 (``benchmarks/bench_train.py``). A CPU
    without native bf16 arithmetic (AVX2 only: no AVX512-BF16 or AMX) has PyTorch emulate it, and
    then bf16 is several times *slower* (measured 6x at batch 4096, 12x at batch 64 on an AVX2 EPYC):
    the trainer prints a note (:func:`emulated_bf16_note`).

Test hooks
    ``batch_hook(step, x) -> x`` (:class:`~futures_vpoc.ml.trainer.Trainer`'s constructor) may
    replace a batch's inputs. The environment variables ``FUTURES_VPOC_TEST_INJECT_INF_STEP=N[:K]``
    (inputs of steps N..N+K-1 become +inf) and ``FUTURES_VPOC_TEST_PAUSE_AT_STEP=N`` with
    ``FUTURES_VPOC_TEST_READY_FILE=PATH`` (at step N create PATH and sleep, so a test can kill the
    process mid-epoch) exist for the fault-injection tests (:func:`env_hook`).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch

from futures_vpoc.errors import UsageError
from futures_vpoc.ml import distributed as ddp
from futures_vpoc.ml.config import TrainConfig


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


def cpu_bf16_native() -> bool | None:
    """Whether this CPU multiplies bfloat16 natively (oneDNN's check); None when the build cannot tell."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return None


def emulated_bf16_note(device: torch.device, amp_dtype: torch.dtype | None) -> str | None:
    """A one-line note when bf16 autocast runs on a CPU that emulates bf16 arithmetic, else None."""
    if amp_dtype != torch.bfloat16 or device.type != "cpu" or cpu_bf16_native() is not False:
        return None
    return ("note: this CPU has no native bfloat16 arithmetic (no AVX512-BF16/AMX), so PyTorch emulates it and "
            "--use_mixed_precision trains several times slower than float32 here; leave it off on this machine")


def autocast(device: torch.device, amp_dtype: torch.dtype | None):
    """The autocast context of the forward pass, or None when mixed precision is off."""
    if amp_dtype is None:
        return None
    return torch.autocast(device_type=device.type, dtype=amp_dtype)


def make_optimizer(params, config: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay); the fused kernel where this torch build has it for the device."""
    kw = dict(lr=config.learning_rate, betas=(0.9, 0.999), eps=1e-8, weight_decay=config.weight_decay)
    try:
        return torch.optim.AdamW(params, fused=True, **kw)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(params, **kw)


def env_hook():
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


__all__ = ["autocast", "env_hook", "make_optimizer", "resolve_amp", "resolve_device"]
