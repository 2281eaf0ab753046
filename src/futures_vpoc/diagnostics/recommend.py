"""Next-run commands derived by rules from the run's own command line.

Which commands, in this order:

* training **not stable** -> a **conservative** ``train`` run, then the ensemble;
* stable but **overfitting** -> a **more regularised** ``train`` run, then the ensemble;
* stable, no skill on test -> a **scale-up** ladder from the current size, then the ensemble;
* **ready** (stable, better than the baseline) -> a **backtest** of this run, the scale-up, the ensemble.

Each starts from the run's command (``config.json`` ``argv``), drops ``--resume``, writes to a
sibling of the run's ``--output_dir`` and changes only these flags:

Conservative (rules cite the seed's Strategy 1 and its "Key Principles"):
  ``--learning_rate`` -> a quarter of the run's, capped at ``CONSERVATIVE_LR_MAX`` (1e-4, top of the
  seed's stable range); ``--gradient_clip_value`` -> ``CONSERVATIVE_CLIP`` (1.0) when clipping was
  off or looser; ``--hidden_dims`` -> the smallest ladder rung (64 32 16) when larger, or halved
  (widths >= 8) when the learning rate was already conservative; ``--use_mixed_precision`` dropped
  after an fp16 overflow.
Regularised: ``--hidden_dims`` one rung down the ladder (halved below it); ``--dropout_rate`` +0.1
  (at least 0.3, at most 0.5); ``--weight_decay`` x10 (within 0.001-0.01); ``--data_fraction`` 1.0
  when less data was used; ``--learning_rate`` a quarter when most steps were clipped.
Scale-up: ``futures-vpoc scale-up`` with ``--ladder`` = the current size then every larger rung of
  ``LADDER`` (none when the run is at the top already; the reason is reported).
Ensemble: ``futures-vpoc ensemble`` with ``--groups`` (the run's feature groups when it named at
  least two, else price volume volatility) and ``--hidden_dims 32 16`` per member (seed Strategy 3),
  with the conservative learning-rate/clip/precision changes when the run was not stable, and the
  regularisation changes (all but the size) when it overfitted.

``scale-up`` and ``ensemble`` commands carry the run's other training flags unchanged, so those
subcommands accept every ``train`` flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from futures_vpoc.diagnostics.cmdline import PROG, FlagList, format_number, join
from futures_vpoc.diagnostics.rundata import RunData

LADDER: tuple[tuple[int, ...], ...] = ((64, 32, 16), (128, 64, 32), (256, 128, 64), (512, 256, 128, 64))
"""The seed's gradual scale-up, smallest first (the ``scale-up`` default)."""

CONSERVATIVE_LR_MAX = 1e-4
LR_DIVISOR = 4.0
CONSERVATIVE_CLIP = 1.0
MIN_WIDTH = 8
DROPOUT_STEP, DROPOUT_MIN, DROPOUT_MAX = 0.1, 0.3, 0.5
WEIGHT_DECAY_FACTOR, WEIGHT_DECAY_MIN, WEIGHT_DECAY_MAX = 10.0, 1e-3, 1e-2
ENSEMBLE_DIMS = (32, 16)
DEFAULT_GROUPS = ("price", "volume", "volatility")
KNOWN_GROUPS = ("price", "volume", "volatility", "profile", "vix", "calendar", "technical")
"""Feature groups of ``futures_vpoc.features.spec.GROUPS`` (a test keeps them equal)."""


@dataclass(frozen=True)
class Change:
    """One changed flag: ``flag`` from ``old`` to ``new`` (text; ``"-"`` for absent), and why."""

    flag: str
    old: str
    new: str
    why: str


@dataclass(frozen=True)
class Recommendation:
    """One recommended next run.

    Attributes
    ----------
    kind : str
        ``conservative``, ``regularised``, ``scale-up``, ``ensemble`` or ``backtest``.
    title : str
    reason : str
        Why this run, citing the figures.
    argv : tuple of str
        The complete command line (``futures-vpoc <subcommand> ...``).
    changes : tuple of Change
        The flags that differ from the run's own command.
    """

    kind: str
    title: str
    reason: str
    argv: tuple[str, ...]
    changes: tuple[Change, ...] = ()

    @property
    def command(self) -> str:
        """The command as one shell line."""
        return join(self.argv)


@dataclass(frozen=True)
class RunFacts:
    """What the rules need to know about the run, decided elsewhere (analysis)."""

    stable: bool
    ready: bool
    overfitting: bool
    fp16_overflow: bool
    bad_inputs: bool
    clipped: bool
    reason: str
    overfit_evidence: str = ""


def _dims(flags: FlagList) -> tuple[int, ...] | None:
    values = flags.get("--hidden_dims")
    try:
        return tuple(int(v) for v in values) if values else None
    except ValueError:
        return None


def _size(dims: tuple[int, ...]) -> int:
    """Parameter-count proxy used only to order architectures."""
    return sum(a * b for a, b in zip(dims, dims[1:])) + dims[-1]


def _halved(dims: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(max(MIN_WIDTH, d // 2) for d in dims)


def _dims_text(dims: tuple[int, ...] | None) -> str:
    return " ".join(map(str, dims)) if dims else "-"


def _float(flags: FlagList, flag: str) -> float | None:
    values = flags.get(flag)
    try:
        return float(values[0]) if values else None
    except ValueError:
        return None


class _Builder:
    """Edits a copy of the run's flags and records each change."""

    def __init__(self, flags: FlagList):
        self.flags, self.changes = flags.copy(), []

    def set(self, flag: str, values: tuple[str, ...], why: str, record: bool = True) -> None:
        old = self.flags.get(flag)
        self.flags.replace(flag, *values)
        if record and tuple(old or ()) != values:
            old_text = "-" if old is None else (" ".join(old) or "on")
            self.changes.append(Change(flag, old_text, " ".join(values) or "on", why))

    def drop(self, flag: str, why: str) -> None:
        if self.flags.get(flag) is not None:
            self.flags.drop(flag)
            self.changes.append(Change(flag, "on", "off", why))

    def output(self, flags: FlagList, suffix: str) -> None:
        base = (flags.get("--output_dir") or ["runs/run"])[0].rstrip("/") or "runs/run"
        self.flags.replace("--output_dir", f"{base}_{suffix}")


def _stability_changes(b: _Builder, facts: RunFacts, shrink: bool) -> None:
    lr = _float(b.flags, "--learning_rate")
    new_lr = CONSERVATIVE_LR_MAX / 2 if lr is None else min(lr / LR_DIVISOR, CONSERVATIVE_LR_MAX)
    b.set("--learning_rate", (format_number(new_lr),),
          f"a quarter of the failing rate, at most {format_number(CONSERVATIVE_LR_MAX)} (the seed's stable range)")
    clip = _float(b.flags, "--gradient_clip_value")
    if clip is None or clip <= 0 or clip > CONSERVATIVE_CLIP:
        what = "clipping was off" if clip is None or clip <= 0 else "a tighter clip bounds every step"
        b.set("--gradient_clip_value", (format_number(CONSERVATIVE_CLIP),), what)
    if facts.fp16_overflow:
        b.drop("--use_mixed_precision", "fp16 overflowed; train in full precision (or bf16 where supported)")
    dims = _dims(b.flags)
    if shrink and dims:
        if _size(dims) > _size(LADDER[0]):
            b.set("--hidden_dims", tuple(map(str, LADDER[0])), "start small: the smallest rung of the ladder")
        elif lr is not None and lr <= CONSERVATIVE_LR_MAX:
            b.set("--hidden_dims", tuple(map(str, _halved(dims))),
                  "the learning rate was already conservative: reduce the model size further")


def conservative(flags: FlagList, facts: RunFacts) -> Recommendation:
    """A ``train`` run that should not repeat this run's instability."""
    b = _Builder(flags)
    _stability_changes(b, facts, shrink=True)
    b.output(flags, "conservative")
    reason = f"Training was not stable ({facts.reason}); the decision tree's step 1 remedy."
    if facts.bad_inputs:
        reason += " Non-finite inputs were reported: run `futures-vpoc data check` on the data first."
    return Recommendation("conservative", "Conservative run", reason,
                          (PROG, "train", *b.flags.tokens()), tuple(b.changes))


def _regularise(b: _Builder, flags: FlagList, facts: RunFacts) -> None:
    dropout = _float(flags, "--dropout_rate") or 0.0
    new_dropout = min(max(dropout + DROPOUT_STEP, DROPOUT_MIN), DROPOUT_MAX)
    b.set("--dropout_rate", (format_number(round(new_dropout, 4)),), "stronger dropout")
    wd = _float(flags, "--weight_decay") or 0.0
    new_wd = min(max(wd * WEIGHT_DECAY_FACTOR, WEIGHT_DECAY_MIN), WEIGHT_DECAY_MAX)
    b.set("--weight_decay", (format_number(new_wd),), "stronger weight decay")
    fraction = _float(flags, "--data_fraction")
    if fraction is not None and fraction < 1:
        b.set("--data_fraction", ("1.0",), "all the data: more samples per parameter")
    lr = _float(flags, "--learning_rate")
    if facts.clipped and lr is not None:
        b.set("--learning_rate", (format_number(lr / LR_DIVISOR),), "most steps were clipped: a quarter of the rate")


def regularised(flags: FlagList, facts: RunFacts) -> Recommendation:
    """A smaller, more regularised ``train`` run against overfitting."""
    b = _Builder(flags)
    dims = _dims(flags)
    if dims:
        lower = [r for r in LADDER if _size(r) < _size(dims)]
        new = lower[-1] if lower else _halved(dims)
        b.set("--hidden_dims", tuple(map(str, new)), "one rung down the ladder: less capacity to memorise")
    _regularise(b, flags, facts)
    b.output(flags, "regularised")
    return Recommendation("regularised", "More regularised run",
                          f"The model overfits ({facts.overfit_evidence or 'see the root causes'}): less "
                          "capacity, more regularisation.",
                          (PROG, "train", *b.flags.tokens()), tuple(b.changes))


def scale_up(flags: FlagList, facts: RunFacts) -> Recommendation | str:
    """The ``scale-up`` ladder from the current size, or the reason there is none."""
    dims = _dims(flags)
    if not dims:
        return "scale-up: the run's --hidden_dims is not recorded"
    larger = [r for r in LADDER if _size(r) > _size(dims)]
    if not larger:
        return f"scale-up: {_dims_text(dims)} is already at or above the top of the ladder ({_dims_text(LADDER[-1])})"
    b = _Builder(flags)
    b.flags.drop("--hidden_dims")
    rungs = [_dims_text(dims)] + [_dims_text(r) for r in larger]
    b.set("--ladder", tuple(rungs), "from the current size up the seed's ladder", record=False)
    b.changes.append(Change("--hidden_dims", _dims_text(dims), "--ladder " + " | ".join(rungs),
                            "each rung gated on stability and validation improvement"))
    b.output(flags, "scaleup")
    what = "stable and better than the baseline" if facts.ready else "stable but without skill yet"
    return Recommendation("scale-up", "Gradual scale-up",
                          f"The run was {what} ({facts.reason}); climb one size at a time and stop at the first "
                          "rung that fails a stability or validation gate (decision tree step 3).",
                          (PROG, "scale-up", *b.flags.tokens()), tuple(b.changes))


def _groups(flags: FlagList) -> tuple[str, ...]:
    named = [g for g in (flags.get("--features") or []) if g in KNOWN_GROUPS]
    return tuple(named) if len(named) >= 2 else DEFAULT_GROUPS


def ensemble(flags: FlagList, facts: RunFacts) -> Recommendation:
    """The seed's Strategy 3: one small model per feature group, combined on validation."""
    b = _Builder(flags)
    if not facts.stable:
        _stability_changes(b, facts, shrink=False)
    elif facts.overfitting:
        _regularise(b, flags, facts)
    b.set("--hidden_dims", tuple(map(str, ENSEMBLE_DIMS)), "small members (seed Strategy 3)")
    b.flags.drop("--features")
    b.set("--groups", _groups(flags), "one member per feature group", record=False)
    b.output(flags, "ensemble")
    reason = ("Several small models, one per feature group, combined with weights fit on validation: "
              "capacity without one large network")
    reason += ", and a test of which group carries signal on its own." if not facts.ready else "."
    return Recommendation("ensemble", "Feature-group ensemble", reason,
                          (PROG, "ensemble", *b.flags.tokens()), tuple(b.changes))


def backtest(flags: FlagList, run: RunData) -> Recommendation:
    """A backtest of this run's model (decision tree step 2)."""
    data = (flags.get("--data") or ["DATA.csv"])[0]
    out = (flags.get("--output_dir") or [str(run.path)])[0].rstrip("/") + "_backtest"
    return Recommendation("backtest", "Backtest this model",
                          "Training was stable and the test accuracy beats the majority baseline: validate with "
                          "backtesting against the baseline strategies (decision tree step 2).",
                          (PROG, "backtest", "--data", data, "--model", str(run.path), "--output_dir", out))


def recommend(run: RunData, flags: FlagList, facts: RunFacts) -> tuple[tuple[Recommendation, ...], tuple[str, ...]]:
    """The recommended next runs, most important first, and why an expected one is absent.

    Returns
    -------
    recommendations : tuple of Recommendation
    skipped : tuple of str
        One line per recommendation the rules withheld, with the reason.
    """
    recs: list[Recommendation] = []
    skipped: list[str] = []
    if not facts.stable:
        recs.append(conservative(flags, facts))
        skipped.append("scale-up: withheld until a run is stable (decision tree step 3 comes after step 1)")
    elif facts.overfitting:
        recs.append(regularised(flags, facts))
        skipped.append("scale-up: withheld while the model overfits at its current size")
    else:
        if facts.ready:
            recs.append(backtest(flags, run))
        up = scale_up(flags, facts)
        if isinstance(up, Recommendation):
            recs.append(up)
        else:
            skipped.append(up)
    recs.append(ensemble(flags, facts))
    return tuple(recs), tuple(skipped)
