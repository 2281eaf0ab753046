"""The seed report's success criteria, measured, and where the run stands on its decision tree.

Criteria (seed, "Success Metrics"), each with the figure measured here:

1. Test accuracy above ``ACCURACY_TARGET`` (55%): ``summary.json`` ``test_accuracy``. The seed meant
   "meaningfully above 50% random"; where the majority class alone already reaches 55% (a skewed
   label), the criterion passes only with accuracy significantly above that baseline, and says so.
2. NaN rate below ``NAN_RATE_LIMIT`` (10%) consistently: the worst epoch's ``nan_rate``
   (``summary.json`` ``nan_rate_max`` when the epochs lack it).
3. Validation loss improved by more than ``VAL_IMPROVEMENT_TARGET`` (15%): from the first epoch's
   validation loss to the best one, relative.
4. Stable for ``STABLE_EPOCHS_TARGET`` (20) or more epochs without collapse: the longest run of
   consecutive stable epochs (``phases.epoch_states``).

Decision tree (seed, "Next Steps Decision Tree"): 1. run the conservative command; if it fails,
reduce the learning rate or the model size further; if it succeeds, 2. validate (accuracy, stable
training) with backtesting against baseline strategies; 3. scale up gradually, only after proven
success. :func:`decision_position` places a run on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from futures_vpoc.diagnostics.phases import epoch_states, stable_streak
from futures_vpoc.diagnostics.quality import Skill
from futures_vpoc.diagnostics.rundata import RunData
from futures_vpoc.diagnostics.series import finite_max, first_finite, fmt, fmt_pct, rel_change

ACCURACY_TARGET = 0.55
NAN_RATE_LIMIT = 0.10
VAL_IMPROVEMENT_TARGET = 0.15
STABLE_EPOCHS_TARGET = 20


@dataclass(frozen=True)
class Criterion:
    """One success criterion.

    Attributes
    ----------
    name : str
    target : str
        The seed's threshold in words.
    measured : str
        The figure measured on this run, with where it comes from.
    passed : bool or None
        None when the figure could not be measured.
    """

    name: str
    target: str
    measured: str
    passed: bool | None


def _accuracy(skill: Skill) -> Criterion:
    target = f"> {ACCURACY_TARGET:.0%}"
    if skill.accuracy is None:
        return Criterion("Test accuracy", target, "not in summary.json", None)
    measured, passed = skill.sentence(), skill.accuracy > ACCURACY_TARGET
    if skill.baseline is not None and skill.baseline >= ACCURACY_TARGET:
        measured += (f"; the majority class alone scores {fmt_pct(skill.baseline)}, already above the "
                     f"{ACCURACY_TARGET:.0%} target, so the target counts only with accuracy significantly "
                     "above that baseline")
        passed = passed and bool(skill.significant)
    return Criterion("Test accuracy", target, measured, passed)


def _nan_rate(run: RunData) -> Criterion:
    target = f"< {NAN_RATE_LIMIT:.0%} in every epoch"
    m = run.metrics
    if m.has("nan_rate"):
        rate = m["nan_rate"]
        if m.nonfinite("nan_rate").any():
            return Criterion("NaN rate", target, "non-finite NaN rate recorded", False)
        worst = finite_max(rate)
        at = int(m.epochs[int(np.argmax(np.where(np.isfinite(rate), rate, -1.0)))])
        return Criterion("NaN rate", target, f"worst epoch {fmt_pct(worst)} (epoch {at})", worst < NAN_RATE_LIMIT)
    worst = run.summary_float("nan_rate_max")
    if worst is None:
        return Criterion("NaN rate", target, "not recorded", None)
    return Criterion("NaN rate", target, f"nan_rate_max {fmt_pct(worst)} (summary.json)",
                     bool(np.isfinite(worst) and worst < NAN_RATE_LIMIT))


def val_improvement(run: RunData) -> tuple[float | None, str]:
    """Relative validation-loss improvement from the first epoch to the best, and its description."""
    val = run.metrics["val_loss"]
    first, b = first_finite(val), run.best_index()
    if first is None or b is None:
        return None, "no finite validation loss"
    change = rel_change(float(val[b]), first[1])
    gain = None if change is None else -change
    epochs = run.metrics.epochs
    text = (f"{fmt(first[1])} (epoch {epochs[first[0]]}) -> {fmt(val[b])} (best, epoch {epochs[b]}): "
            f"{fmt_pct(gain)} better")
    return gain, text


def _improvement(run: RunData) -> Criterion:
    gain, text = val_improvement(run)
    target = f"> {VAL_IMPROVEMENT_TARGET:.0%} from the first epoch"
    passed = None if gain is None else gain > VAL_IMPROVEMENT_TARGET
    return Criterion("Validation loss improvement", target, text, passed)


def _stability(run: RunData, states: np.ndarray) -> Criterion:
    target = f"{STABLE_EPOCHS_TARGET}+ consecutive stable epochs, no collapse"
    if not len(states):
        return Criterion("Stable training", target, "no epoch recorded", False)
    length, first, last = stable_streak(states, run.metrics.epochs)
    collapsed = int((states == "collapse").sum())
    text = f"{length} consecutive stable epochs" + (f" ({first}-{last})" if length else "")
    text += f" of {len(states)}" + (f"; {collapsed} collapsed" if collapsed else "")
    return Criterion("Stable training", target, text, length >= STABLE_EPOCHS_TARGET and not collapsed)


def check_criteria(run: RunData, skill: Skill, states: np.ndarray | None = None) -> tuple[Criterion, ...]:
    """The seed's four success criteria, measured on ``run`` (order as in the seed)."""
    states = epoch_states(run) if states is None else states
    return (_accuracy(skill), _nan_rate(run), _improvement(run), _stability(run, states))


@dataclass(frozen=True)
class DecisionPosition:
    """Where a run stands on the seed's decision tree.

    Attributes
    ----------
    step : int
        1 (make training work), 2 (validate with backtesting) or 3 (scale up gradually).
    outcome : str
        What this run showed at that step.
    next_step : str
        What the tree says to do next.
    """

    step: int
    outcome: str
    next_step: str


def decision_position(stable: bool, ready: bool, overfitting: bool, skill: Skill) -> DecisionPosition:
    """Place a run on the seed's decision tree.

    Parameters
    ----------
    stable : bool
        Training was stable (no collapse, no divergence, NaN rate below 10%).
    ready : bool
        The verdict: stable and better than the majority baseline on test.
    overfitting : bool
        A train/validation gap was found.
    skill : Skill
        The test accuracy figures (for the 55% target).
    """
    if not stable:
        return DecisionPosition(1, "the run failed: training was not stable",
                                "reduce the learning rate or the model size further (the conservative run, "
                                "Strategy 1 above), then come back to step 2")
    if ready:
        target = "" if skill.accuracy is None or skill.accuracy > ACCURACY_TARGET else (
            f"; accuracy {fmt_pct(skill.accuracy)} is still below the seed's {ACCURACY_TARGET:.0%} target")
        return DecisionPosition(2, "step 1 succeeded: stable training with accuracy above the baseline" + target,
                                "validate with backtesting against the baseline strategies; scale up gradually "
                                "(step 3) only once the backtest holds")
    if overfitting:
        return DecisionPosition(2, "step 1 succeeded (stable) but validation failed: the model overfits and has "
                                   "no skill on test",
                                "do not backtest; reduce the model size and regularise (step 1's remedy), then "
                                "validate again")
    return DecisionPosition(2, "step 1 succeeded (stable) but validation failed: no skill on test",
                            "do not backtest; scale up gradually (step 3, each size gated on stability) or try the "
                            "feature-group ensemble; if neither beats the baseline, the features carry no signal "
                            "at this horizon")
