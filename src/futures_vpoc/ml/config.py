"""Every setting of a training run, in one frozen dataclass.

:class:`TrainConfig` holds the seed's flags under their own names (``--batch_size`` is
``batch_size``), the project's additions (``seed``, ``target``, ``horizon``, ``features``,
``device``, ``resume``) and the few guard and schedule knobs the trainer documents. It validates
itself on construction and raises :class:`~futures_vpoc.errors.UsageError` naming the flag, so the
command line and the Python API give the same one-line errors.

``to_dict``/``from_dict`` give the JSON form written to ``config.json`` and stored in checkpoints.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from futures_vpoc.errors import UsageError

TARGETS = ("direction", "up_or_not", "rank")
""":data:`futures_vpoc.labels.TARGETS`, written out: ``--help`` reads this module and must not import
pandas through :mod:`futures_vpoc.labels` (tests/test_labels_updown.py keeps the two equal)."""
AMP_DTYPES = ("auto", "bf16", "fp16")


def _flag(name: str) -> str:
    return "--" + name


@dataclass(frozen=True)
class TrainConfig:
    """Resolved settings of one training run.

    Attributes
    ----------
    data : str or None
        Merged bar file (``--data``); may be None only for a Python caller that hands the trainer
        its arrays directly.
    output_dir : str
        ``--output_dir``: the run directory, or its parent when it already holds something
        (see :func:`futures_vpoc.ml.rundir.resolve_run_dir`).
    epochs : int
        Most epochs (full passes over the training part).
    batch_size : int
        Rows per optimizer step and per process (under ``torchrun`` the global batch is
        ``batch_size * world_size``, as with PyTorch's DistributedSampler).
    learning_rate : float
        Peak learning rate, reached at the end of the warmup (:mod:`futures_vpoc.ml.schedule`).
    hidden_dims : tuple of int
        Widths of the hidden layers.
    dropout_rate : float
        Dropout after every hidden layer, in [0, 1).
    weight_decay : float
        AdamW's decoupled weight decay (applied to every parameter, as PyTorch's default does).
    warmup_steps : int
        Optimizer steps of linear warmup; every attempted step counts, skipped or not.
    min_lr_ratio : float
        The cosine decay after warmup ends at ``min_lr_ratio * learning_rate`` (default 0.1).
    gradient_clip_value : float
        Global L2 norm the gradients are clipped to; 0 switches clipping off (the norm is still
        measured and checked).
    early_stopping_patience : int
        Epochs without an improvement of at least ``min_delta`` in validation loss before training
        stops; 0 switches early stopping off. The best weights are restored at the end either way.
    min_delta : float
        Smallest decrease of the validation loss that counts as an improvement.
    use_mixed_precision : bool
        Autocast to bf16 where the device supports it (CPU, recent GPUs), else fp16 with a
        GradScaler.
    amp_dtype : {"auto", "bf16", "fp16"}
        Force the mixed-precision type (tests use ``fp16`` to exercise the GradScaler on CPU).
    data_fraction : float
        Keep the most recent fraction of bars, in (0, 1].
    chunk_size : int or None
        Rows per feature-kernel call: bounds memory only; the tensors are identical for every value.
    adaptive_loss : bool
        Adaptive robust loss instead of the default: for the binary targets the adaptive log-loss
        (:class:`futures_vpoc.ml.loss.AdaptiveLogLoss`, a proper scoring rule whose per-row pull is
        capped at an adaptive logit quantile), for ``rank`` the adaptive Huber loss.
    huber_quantile : float
        Quantile of the absolute residuals the adaptive delta follows.
    huber_momentum : float
        Momentum of the delta's exponential moving average (per step).
    verbose : bool
        More detail in the console and the log (DEBUG level).
    seed : int
        Seeds every random draw (weights, shuffles, dropout): same seed, same run on one machine.
    target : {"direction", "up_or_not", "rank"}
        :data:`futures_vpoc.labels.TARGETS`: up vs down (flat horizons unlabelled), up vs not up
        (short-biased), or the forward return's rank.
    horizon : int
        Label horizon in bars.
    features : tuple of str or None
        Feature groups (None: all).
    device : str
        ``auto`` (CUDA, which includes ROCm builds, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.
    resume : bool
        Continue the run in ``output_dir`` from its ``last.pt``.
    tensorboard : str or None
        Also write TensorBoard scalars here (when the tensorboard package is installed).
    nan_patience : int
        Consecutive non-finite steps that trigger a rollback.
    max_nan_share : float
        An epoch whose share of non-finite steps exceeds this triggers a rollback at its end.
    max_rollbacks : int
        Rollbacks allowed; needing one more stops the run with ``stop_reason`` ``diverged``.
    threads : int or None
        ``torch.set_num_threads`` (None: PyTorch's default).
    baselines : bool
        Also fit the learner baselines (logistic regression, LightGBM) on the same parts and score
        them on test beside the network (:mod:`futures_vpoc.ml.baselines`).
    """

    data: str | None = None
    output_dir: str = "TRAINING"
    epochs: int = 50
    batch_size: int = 64
    learning_rate: float = 1e-4
    hidden_dims: tuple[int, ...] = (64, 32, 16)
    dropout_rate: float = 0.1
    weight_decay: float = 1e-4
    warmup_steps: int = 1000
    min_lr_ratio: float = 0.1
    gradient_clip_value: float = 1.0
    early_stopping_patience: int = 15
    min_delta: float = 1e-4
    use_mixed_precision: bool = False
    amp_dtype: str = "auto"
    data_fraction: float = 1.0
    chunk_size: int | None = None
    adaptive_loss: bool = False
    huber_quantile: float = 0.9
    huber_momentum: float = 0.99
    verbose: bool = False
    seed: int = 42
    target: str = "direction"
    horizon: int = 5
    features: tuple[str, ...] | None = None
    device: str = "auto"
    resume: bool = False
    tensorboard: str | None = None
    nan_patience: int = 5
    max_nan_share: float = 0.2
    max_rollbacks: int = 3
    threads: int | None = None
    baselines: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_dims", tuple(int(h) for h in self.hidden_dims))
        if self.features is not None:
            object.__setattr__(self, "features", tuple(str(g) for g in self.features))
        if self.gradient_clip_value is None:
            object.__setattr__(self, "gradient_clip_value", 0.0)
        self._validate()

    def _validate(self) -> None:
        def whole(name: str, low: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise UsageError(f"{_flag(name)} {v!r}: use a whole number >= {low}")

        def number(name: str, low: float, high: float, low_open: bool = False, high_open: bool = False) -> None:
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
            if not ok:
                lo, hi = ("(" if low_open else "[") + f"{low:g}", f"{high:g}" + (")" if high_open else "]")
                raise UsageError(f"{_flag(name)} {v!r}: use a number in {lo}, {hi}")

        whole("epochs", 1)
        whole("batch_size", 1)
        whole("warmup_steps", 0)
        whole("early_stopping_patience", 0)
        whole("horizon", 1)
        whole("nan_patience", 1)
        whole("max_rollbacks", 0)
        whole("seed", 0)
        number("learning_rate", 0.0, math.inf, low_open=True, high_open=True)
        number("dropout_rate", 0.0, 1.0, high_open=True)
        number("weight_decay", 0.0, math.inf, high_open=True)
        number("gradient_clip_value", 0.0, math.inf, high_open=True)
        number("min_delta", 0.0, math.inf, high_open=True)
        number("min_lr_ratio", 0.0, 1.0)
        number("data_fraction", 0.0, 1.0, low_open=True)
        number("huber_quantile", 0.0, 1.0, low_open=True, high_open=True)
        number("huber_momentum", 0.0, 1.0, high_open=True)
        number("max_nan_share", 0.0, 1.0, low_open=True)
        if not self.hidden_dims or any(h < 1 for h in self.hidden_dims):
            raise UsageError(f"--hidden_dims {' '.join(map(str, self.hidden_dims)) or '(none)'}: "
                             "give one or more layer widths >= 1, e.g. --hidden_dims 64 32 16")
        if self.chunk_size is not None:
            whole("chunk_size", 1)
        if self.threads is not None:
            whole("threads", 1)
        if self.target not in TARGETS:
            raise UsageError(f"--target {self.target!r}: use one of {', '.join(TARGETS)}")
        if self.amp_dtype not in AMP_DTYPES:
            raise UsageError(f"--amp_dtype {self.amp_dtype!r}: use one of {', '.join(AMP_DTYPES)}")
        dev = str(self.device)
        if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise UsageError(f"--device {dev!r}: use auto, cpu, cuda or cuda:N")

    def to_dict(self) -> dict:
        """The settings as JSON-able values (tuples become lists)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are ignored (older or newer runs)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in values.items() if k in names}
        for key in ("hidden_dims", "features"):
            if kw.get(key) is not None:
                kw[key] = tuple(kw[key])
        return cls(**kw)

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


def field_names() -> tuple[str, ...]:
    """Names of every :class:`TrainConfig` field, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(TrainConfig))


def defaults() -> dict:
    """Default value of every field."""
    base = TrainConfig()
    return {n: getattr(base, n) for n in field_names()}


__all__ = ["AMP_DTYPES", "TARGETS", "TrainConfig", "config_from_namespace", "defaults", "field_names"]


def config_from_namespace(args) -> tuple[TrainConfig, set[str]]:
    """A :class:`TrainConfig` from parsed command-line flags, and the names of the flags given.

    Flags left at ``None`` (not given) take the defaults; ``hidden_dims`` and ``features`` lists
    become tuples. Shared by ``train``, ``scale-up`` and ``ensemble``.
    """
    given = {n: getattr(args, n) for n in field_names() if getattr(args, n, None) is not None}
    for key in ("hidden_dims", "features"):
        if key in given:
            given[key] = tuple(given[key])
    return TrainConfig(**given), set(given)

