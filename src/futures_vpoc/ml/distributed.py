"""Multi-process training under ``torchrun``: DistributedDataParallel, sharding, reductions.

``torchrun --nproc_per_node=N -m futures_vpoc train ...`` starts N processes with the environment
variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; multi-node
runs add ``--nnodes``/``--rdzv_*`` as PyTorch documents. Without them the trainer runs as a single
process and nothing here communicates.

* Backend: NCCL when training on CUDA (ROCm builds included: RCCL answers to ``nccl``), gloo on
  the CPU. Each process uses ``cuda:LOCAL_RANK`` on GPUs (so ``CUDA_VISIBLE_DEVICES`` /
  ``HIP_VISIBLE_DEVICES`` select the cards, as PyTorch defines them).
* The model is wrapped in :class:`torch.nn.parallel.DistributedDataParallel` (one process per
  device; not the single-process ``DataParallel`` of the prior system, section 8.5 item 46).
* Data: every process holds the same tensors and the same per-epoch permutation; process ``r``
  takes the rows ``perm[r::N]`` cut to ``len(perm) // N`` rows, as PyTorch's DistributedSampler
  with ``drop_last=True`` does, so every process runs the same number of steps. ``--batch_size``
  is per process.
* Metrics: the training loss is averaged over processes every step (the NaN guard's decision is
  therefore identical everywhere: the gradient norm is computed from the already-reduced gradients);
  validation runs on every process over the whole validation part and rank 0's value is
  broadcast.
* Only rank 0 writes files and prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a distributed run.

    Attributes
    ----------
    rank, world_size, local_rank : int
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes."""
        return self.rank == 0


def from_env(environ=None) -> DistInfo:
    """A :class:`DistInfo` from torchrun's environment variables (single process when absent)."""
    env = os.environ if environ is None else environ
    world = int(env.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return DistInfo()
    return DistInfo(int(env.get("RANK", "0")), world, int(env.get("LOCAL_RANK", "0")))


def init(info: DistInfo, device: torch.device) -> None:
    """Join the process group (no-op for a single process or when already joined)."""
    if not info.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)


def shutdown() -> None:
    """Leave the process group if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(perm: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """This process's rows of an epoch permutation (module docstring)."""
    if not info.enabled:
        return perm
    per_rank = perm.shape[0] // info.world_size
    return perm[info.rank::info.world_size][:per_rank]


def all_reduce_mean_(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Average ``tensor`` over processes in place (no-op for one process)."""
    if info.enabled:
        dist.all_reduce(tensor)
        tensor.div_(info.world_size)
    return tensor


def broadcast_float(value: float, info: DistInfo, device: torch.device) -> float:
    """Rank 0's ``value`` on every process."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return float(t.item())


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op for one process)."""
    if info.enabled:
        dist.barrier()


def wrap(model: torch.nn.Module, info: DistInfo, device: torch.device) -> torch.nn.Module:
    """``model`` wrapped in DistributedDataParallel when there are several processes."""
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


__all__ = ["DistInfo", "all_reduce_mean_", "barrier", "broadcast_float", "from_env", "init", "shard", "shutdown",
           "wrap"]
