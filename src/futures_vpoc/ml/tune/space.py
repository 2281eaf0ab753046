"""The default search space of ``futures-vpoc tune``: one row per searched train flag.

=================  ==============================  ===========================================
flag               distribution                    range / choices
=================  ==============================  ===========================================
--learning_rate    log-uniform                     1e-4 .. 1e-2
--hidden_dims      categorical (a ladder)          "64 32", "128 64 32", "256 128 64"
--dropout_rate     uniform                         0.0 .. 0.5
--weight_decay     log-uniform                     1e-6 .. 1e-2
--batch_size       categorical                     64, 128, 256, 512
=================  ==============================  ===========================================

A flag the user gives explicitly is fixed and leaves the space (:func:`searched`). ``hidden_dims``
is searched as the ladder's text ("128 64 32", Optuna's categorical choices must be scalars) and
turned back into a tuple of widths by :func:`changes`.
"""

from __future__ import annotations

from dataclasses import dataclass

HIDDEN_LADDERS: tuple[str, ...] = ("64 32", "128 64 32", "256 128 64")
BATCH_SIZES: tuple[int, ...] = (64, 128, 256, 512)


@dataclass(frozen=True)
class Dim:
    """One searched flag: ``kind`` is ``log`` (log-uniform), ``uniform`` or ``choice``;
    ``low``/``high`` bound the first two, ``choices`` lists the last one's values."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()

    def text(self) -> str:
        """The row of the help text: ``learning_rate log 0.0001..0.01``."""
        if self.kind == "choice":
            return f"{self.name} in {{{', '.join(repr(c) if isinstance(c, str) else str(c) for c in self.choices)}}}"
        return f"{self.name} {'log-uniform' if self.kind == 'log' else 'uniform'} {self.low:g}..{self.high:g}"


SPACE: tuple[Dim, ...] = (
    Dim("learning_rate", "log", 1e-4, 1e-2),
    Dim("hidden_dims", "choice", choices=HIDDEN_LADDERS),
    Dim("dropout_rate", "uniform", 0.0, 0.5),
    Dim("weight_decay", "log", 1e-6, 1e-2),
    Dim("batch_size", "choice", choices=BATCH_SIZES),
)
"""The default search space (see the module's table)."""


def searched(fixed: set[str] | frozenset[str]) -> tuple[Dim, ...]:
    """The rows of :data:`SPACE` whose flag is not in ``fixed`` (the flags the user gave)."""
    return tuple(d for d in SPACE if d.name not in fixed)


def distributions(dims: tuple[Dim, ...]) -> dict:
    """Optuna distributions of ``dims`` (imports optuna)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    out = {}
    for d in dims:
        if d.kind == "choice":
            out[d.name] = CategoricalDistribution(list(d.choices))
        else:
            out[d.name] = FloatDistribution(d.low, d.high, log=d.kind == "log")
    return out


def changes(params: dict) -> dict:
    """TrainConfig changes from a trial's params (``hidden_dims`` text -> tuple of ints)."""
    out = dict(params)
    if "hidden_dims" in out:
        out["hidden_dims"] = tuple(int(w) for w in str(out["hidden_dims"]).split())
    if "batch_size" in out:
        out["batch_size"] = int(out["batch_size"])
    return out


def help_rows() -> list[str]:
    """One line per searched flag with its range (for ``tune --help``)."""
    return [f"--{d.text()}" for d in SPACE]


__all__ = ["BATCH_SIZES", "HIDDEN_LADDERS", "SPACE", "Dim", "changes", "distributions", "help_rows", "searched"]
