"""Learning-rate schedule: linear warmup, then cosine decay to a floor. A pure function of the step.

``step`` is the 0-based index of the optimizer step being *attempted*. Every attempted step counts,
whether the NaN guard skipped it or not, so a run of skipped steps cannot freeze the warmup (the prior
system advanced its warmup only on successful steps and never decayed; section 8.5 item 42 of its
reference). With ``W = warmup_steps``, ``T = total_steps`` (epochs x steps per epoch), peak ``lr``
and floor ratio ``f`` (``--min_lr_ratio``, default 0.1)::

    lr(step) = lr * (step + 1) / W                                 for step < W
    lr(step) = lr * (f + (1 - f) * (1 + cos(pi * u)) / 2)          otherwise,
               u = min(1, (step - W) / max(1, T - W))

So the first step uses ``lr / W`` (not 0), the peak is reached at step ``W - 1``, and the rate
falls smoothly to ``f * lr`` at the last step (and stays there). When ``W >= T`` the run ends inside
the warmup. The NaN guard's back-off multiplies the result by ``0.5 ** rollbacks``
(:mod:`futures_vpoc.ml.guard`); the schedule itself has no state.
"""

from __future__ import annotations

import math


def lr_at(step: int, peak: float, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.1) -> float:
    """Learning rate of the 0-based attempted step ``step`` (module docstring).

    Parameters
    ----------
    step : int
        Attempted optimizer steps before this one (>= 0).
    peak : float
        ``--learning_rate``.
    warmup_steps : int
        ``--warmup_steps`` (0: no warmup).
    total_steps : int
        Steps of the whole run (epochs x steps per epoch).
    min_lr_ratio : float
        Floor of the cosine decay as a fraction of ``peak``.

    Returns
    -------
    float
    """
    if step < 0:
        raise ValueError(f"step {step} < 0")
    if warmup_steps > 0 and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    u = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return peak * (min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * u)))


__all__ = ["lr_at"]
