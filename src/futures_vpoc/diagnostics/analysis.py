"""One frozen :class:`Analysis` of a run directory: everything the report shows, computed here.

The verdict is "ready for backtesting" when training was **stable** - no collapsed epoch, no
divergence, every epoch's NaN rate below the seed's 10%, and the last epoch stable - and the test
accuracy is **better than the majority baseline** (p < 0.05, 95% interval clear of it). The seed's
55% accuracy target is reported in the checklist and the reason, but is not required: a model that
reliably beats the baseline is worth a backtest, which then decides whether it pays.
"""

from __future__ import annotations

from collections.abc import Mapping

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from futures_vpoc.diagnostics.causes import Cause, clip_value, find_causes
from futures_vpoc.diagnostics.cmdline import train_command
from futures_vpoc.diagnostics.criteria import (ACCURACY_TARGET, Criterion, DecisionPosition, check_criteria,
                                               decision_position)
from futures_vpoc.diagnostics.phases import (COLLAPSE, OVERFITTING, STABLE, Phase, epoch_states, find_phases,
                                             stable_streak)
from futures_vpoc.diagnostics.quality import (QualityRow, Skill, learner_table, quality_table, read_skill,
                                              statistics_note)
from futures_vpoc.diagnostics.recommend import Recommendation, RunFacts, recommend
from futures_vpoc.diagnostics.rundata import RunData, read_run
from futures_vpoc.diagnostics.series import finite_max, fmt, fmt_pct, fmt_sci

READY, NOT_READY = "ready for backtesting", "not ready for backtesting"
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Curves:
    """Per-epoch series for the plots (read-only float arrays, shape (n_epochs,)).

    ``val_accuracy_lo``/``_hi`` are the Wilson 95% interval of the validation accuracy over
    ``n_val`` samples (NaN when ``n_val`` is unknown). ``clip_value`` is None when clipping was off.
    ``spans`` are the phases as (kind, first epoch, last epoch). ``train_objective`` names what
    ``train_loss`` measures (the run's loss, e.g. ``adaptive_huber``; ``log_loss`` when not
    recorded, the trainer's default); ``val_loss`` is always the validation log-loss.
    """

    epoch: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    val_accuracy_lo: np.ndarray
    val_accuracy_hi: np.ndarray
    nan_rate: np.ndarray
    valid_batch_pct: np.ndarray
    grad_norm_mean: np.ndarray
    grad_norm_max: np.ndarray
    lr: np.ndarray
    clip_value: float | None
    majority_baseline: float | None
    spans: tuple[tuple[str, int, int], ...]
    train_objective: str = "log_loss"


@dataclass(frozen=True)
class Analysis:
    """The training analysis of one run (see the module docstring for the verdict rule).

    Attributes
    ----------
    run_dir : pathlib.Path
    ready : bool
        The verdict: ready for backtesting.
    reason : str
        The verdict's reason, one sentence.
    phases, causes, quality, criteria : tuples
        Results of :mod:`phases`, :mod:`causes`, :mod:`quality`, :mod:`criteria`.
    decision : DecisionPosition
        Where the run stands on the seed's decision tree.
    recommendations : tuple of Recommendation
    withheld : tuple of str
        Recommendations the rules withheld, with the reason.
    command : tuple of str
        The command that ran (``argv``), or rebuilt from the settings when ``command_recorded`` is False.
    environment : tuple of (str, str)
        Environment variables recorded with the run (``config.json`` ``env``), if any.
    model_config, run_facts : tuple of (str, str)
        Label/value rows describing the model and how the run went.
    epoch_table : tuple of tuple of str
        One row of text per epoch, columns :data:`EPOCH_COLUMNS`.
    curves : Curves
    notes : tuple of str
        Missing keys and other reading notes.
    """

    run_dir: Path
    ready: bool
    reason: str
    phases: tuple[Phase, ...]
    causes: tuple[Cause, ...]
    quality: tuple[QualityRow, ...]
    criteria: tuple[Criterion, ...]
    decision: DecisionPosition
    recommendations: tuple[Recommendation, ...]
    withheld: tuple[str, ...]
    command: tuple[str, ...]
    command_recorded: bool
    environment: tuple[tuple[str, str], ...]
    model_config: tuple[tuple[str, str], ...]
    run_facts: tuple[tuple[str, str], ...]
    epoch_table: tuple[tuple[str, ...], ...]
    curves: Curves
    notes: tuple[str, ...]
    quality_note: str = ""
    """How the quality table's intervals and p-values were computed (:func:`.quality.statistics_note`)."""
    learners: tuple[tuple[str, ...], ...] = ()
    """The network beside the learner baselines (:func:`.quality.learner_table`); () without them."""
    best_learner: str = ""
    """The sentence naming the best of the three learners on validation log-loss ("" without baselines)."""

    @property
    def verdict(self) -> str:
        """``"ready for backtesting"`` or ``"not ready for backtesting"``."""
        return READY if self.ready else NOT_READY

    @property
    def criteria_met(self) -> int:
        """How many of the seed's criteria passed."""
        return sum(c.passed is True for c in self.criteria)

    @property
    def phase_kinds(self) -> tuple[str, ...]:
        return tuple(p.kind for p in self.phases)

    @property
    def cause_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.causes)

    @property
    def recommendation_kinds(self) -> tuple[str, ...]:
        return tuple(r.kind for r in self.recommendations)


EPOCH_COLUMNS = ("epoch", "state", "train loss", "val loss", "val acc", "NaN rate", "valid %", "grad mean",
                 "grad max", "clipped %", "lr", "s")


def _read_only(values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float)
    out.setflags(write=False)
    return out


def wilson(p: np.ndarray, n: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Wilson 95% interval of proportions ``p`` over ``n`` trials (NaN where unknown)."""
    if not n or not math.isfinite(n) or n <= 0:
        nan = np.full(p.shape, np.nan)
        return nan, nan
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * np.sqrt(np.clip(p * (1 - p), 0, None) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    return centre - half, centre + half


def _curves(run: RunData, phases: tuple[Phase, ...], clip: float | None, skill: Skill) -> Curves:
    m = run.metrics
    acc = m["val_accuracy"]
    lo, hi = wilson(np.where(np.isfinite(acc), acc, 0.0), run.summary_float("n_val"))
    lo, hi = np.where(np.isfinite(acc), lo, np.nan), np.where(np.isfinite(acc), hi, np.nan)
    keys = ("train_loss", "val_loss", "val_accuracy", "nan_rate", "valid_batch_pct", "grad_norm_mean",
            "grad_norm_max", "lr")
    series = {k: _read_only(m[k]) for k in keys}
    return Curves(_read_only(m.epochs), val_accuracy_lo=_read_only(lo), val_accuracy_hi=_read_only(hi),
                  clip_value=clip, majority_baseline=skill.baseline,
                  spans=tuple((p.kind, p.start, p.end) for p in phases),
                  train_objective=str(run.config.get("loss") or "log_loss"), **series)


def _first(config, *keys, default="not recorded"):
    """The first of ``keys`` that ``config`` holds; a dotted key looks inside a section
    (``versions.torch``, ``resolved.loss``), as config.json nests them."""
    for key in keys:
        value = config
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value not in (None, ""):
            return value
    return default


def _features_text(c: dict) -> str:
    """The feature groups asked for and the input columns the model received (``input_features``)."""
    groups = _first(c, "features", default=None)
    text = _words(groups) if groups else "all groups"
    count = _first(c, "input_features.count", default=None)
    return text + (f" ({count} input columns)" if count is not None else "")


def _words(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _model_config(run: RunData, clip: float | None) -> tuple[tuple[str, str], ...]:
    c = run.config
    dims = c.get("hidden_dims")
    params = run.summary.get("param_count", c.get("param_count"))
    arch = "-".join(map(str, dims)) if isinstance(dims, (list, tuple)) else "not recorded"
    if isinstance(params, (int, float)):
        arch += f" ({params:,.0f} parameters)"
    loss = _first(c, "resolved.loss", "loss", "loss_name")
    if loss == "not recorded" and "adaptive_loss" in c:
        loss = f"not recorded (adaptive_loss = {c['adaptive_loss']})"
    sha = str(_first(c, "data_sha256", "sha256", default=""))
    data = f"{_first(c, 'data', 'data_path')}" + (f" (sha256 {sha[:12]}...)" if sha else "")
    return (
        ("Architecture", arch),
        ("Loss", str(loss)),
        ("Optimizer", str(_first(c, "resolved.optimizer", "optimizer"))),
        ("Learning rate", f"peak {fmt_sci(run.setting_float('learning_rate'))}, "
                          f"warmup {_first(c, 'warmup_steps')} steps"),
        ("Regularisation", f"dropout {_first(c, 'dropout_rate')}, weight decay {_first(c, 'weight_decay')}"),
        ("Gradient clipping", "off" if clip is None else f"global L2 norm {fmt(clip, 2)}"),
        ("Batch size / epochs", f"{_first(c, 'batch_size')} / at most {_first(c, 'epochs')}, "
                                f"early-stopping patience {_first(c, 'early_stopping_patience')}"),
        ("Precision", f"{_first(c, 'resolved.amp_dtype', 'precision', 'precision_used')} "
                      f"(use_mixed_precision = {_first(c, 'use_mixed_precision')})"),
        ("Device", str(_first(c, "resolved.device", "device"))),
        ("Data", data + f", data_fraction {_first(c, 'data_fraction')}, chunk_size {_first(c, 'chunk_size')}"),
        ("Target", f"{_first(c, 'target')}, horizon {_first(c, 'horizon')}; features {_features_text(c)}"),
        ("Seed / versions", f"seed {_first(c, 'seed')}; futures-vpoc "
                            f"{_first(c, 'versions.futures_vpoc', 'package_version', 'version')}, "
                            f"torch {_first(c, 'versions.torch', 'torch_version')}"),
    )


def _count(value) -> str:
    return f"{value:,.0f}" if isinstance(value, (int, float)) and math.isfinite(value) else "n/a"


def _run_facts(run: RunData) -> tuple[tuple[str, str], ...]:
    s, m = run.summary, run.metrics
    seconds = m["seconds"][np.isfinite(m["seconds"])]
    sps = run.summary_float("samples_per_second")
    return (
        ("Epochs completed", f"{s.get('epochs_completed', len(m))} of {run.setting('epochs', 'n/a')}"),
        ("Stop reason", str(s.get("stop_reason", "not recorded"))),
        ("Best epoch", f"{s.get('best_epoch', 'n/a')} (validation loss {fmt(run.summary_float('best_val_loss'))})"),
        ("Worst NaN rate / fewest valid batches",
         f"{fmt_pct(run.summary_float('nan_rate_max'))} / {fmt(run.summary_float('valid_batch_pct_min'), 1)}%"),
        ("Samples train / val / test",
         f"{_count(s.get('n_train'))} / {_count(s.get('n_val'))} / {_count(s.get('n_test'))}"),
        ("Throughput", f"{_count(sps)} samples/s; {fmt(float(seconds.sum()), 0)} s over {seconds.size} epochs"),
        ("Label shares up / flat / down", _shares_text(s)),
    )


def _shares_text(s) -> str:
    """Each part's up / flat / down shares (``summary.json`` ``label_shares``) and what the target does
    with the flat horizons; "not recorded" for runs written before they were."""
    shares = s.get("label_shares")
    if not isinstance(shares, Mapping):
        return "not recorded"
    parts = [f"{name} {fmt_pct(p['up'])} / {fmt_pct(p['flat'])} / {fmt_pct(p['down'])}"
             for name in ("train", "val", "test") if isinstance(p := shares.get(name), Mapping) and p.get("n")]
    rule = {"direction": "flat horizons are left out of training and scoring",
            "up_or_not": "flat horizons count as not up"}.get(s.get("target"), "flat horizons kept")
    return f"{'; '.join(parts) or 'n/a'} ({rule})"


def _epoch_table(run: RunData, states: np.ndarray) -> tuple[tuple[str, ...], ...]:
    m = run.metrics
    rows = []
    for i, epoch in enumerate(m.epochs):
        def v(key, digits=4):
            return fmt(m[key][i], digits) if m.present[key][i] else "-"

        def g(key):
            return fmt_sci(m[key][i]) if m.present[key][i] else "-"
        rows.append((str(epoch), str(states[i]), v("train_loss"), v("val_loss"),
                     fmt_pct(m["val_accuracy"][i]) if m.present["val_accuracy"][i] else "-",
                     fmt_pct(m["nan_rate"][i]) if m.present["nan_rate"][i] else "-",
                     v("valid_batch_pct", 1), g("grad_norm_mean"), g("grad_norm_max"), v("clipped_pct", 1),
                     fmt_sci(m["lr"][i]) if m.present["lr"][i] else "-", v("seconds", 1)))
    return tuple(rows)


def _stability(run: RunData, states: np.ndarray, criteria: tuple[Criterion, ...],
               phases: tuple[Phase, ...]) -> tuple[bool, str]:
    """Whether training was stable, and the figures that say so (a clause for the verdict)."""
    nan_ok = criteria[1].passed is not False
    collapsed = [p for p in phases if p.kind == COLLAPSE]
    diverged = str(run.summary.get("stop_reason", "")) == "diverged" or bool(run.events_named("diverged"))
    last_ok = len(states) > 0 and states[-1] == STABLE
    stable = nan_ok and not collapsed and not diverged and last_ok
    worst = finite_max(run.metrics["nan_rate"])
    worst = run.summary_float("nan_rate_max") if worst is None else worst
    parts = [f"worst NaN rate {fmt_pct(worst)}"]
    if collapsed:
        parts.append("collapse in " + ", ".join(p.epochs for p in collapsed))
    if diverged:
        parts.append("stopped as diverged")
    if len(states) and not last_ok:
        parts.append(f"last epoch in {states[-1]}")
    if not len(states):
        parts.append("no epoch recorded")
    if stable:
        length = stable_streak(states, run.metrics.epochs)[0]
        parts.append(f"{length} consecutive stable epochs of {len(states)}")
    return stable, ", ".join(parts)


def _reason(stable: bool, why: str, skill: Skill) -> str:
    if not stable:
        return f"Training was not stable ({why}), so its model cannot be trusted."
    if skill.significant is None:
        return (f"Training was stable ({why}) but skill cannot be judged: summary.json lacks "
                f"{', '.join(skill.missing)}.")
    versus = f"the majority baseline {fmt_pct(skill.baseline)} (p = {fmt_sci(skill.p_value)})"
    if not skill.significant:
        return f"Training was stable ({why}), but the test accuracy {skill.accuracy_text()} does not beat {versus}."
    target = "" if skill.accuracy > ACCURACY_TARGET else f"; the seed's {ACCURACY_TARGET:.0%} target is not met yet"
    return f"Training was stable ({why}) and the test accuracy {skill.accuracy_text()} beats {versus}{target}."


def _overfit_evidence(causes: tuple[Cause, ...], phases: tuple[Phase, ...]) -> str:
    gap = next((c for c in causes if c.key == "train_val_gap"), None)
    if gap is not None:
        return "; ".join(gap.evidence[:2])
    phase = next((p for p in phases if p.kind == OVERFITTING), None)
    return f"{phase.epochs}: {phase.description.rstrip('.')}" if phase else ""


def _environment(run: RunData) -> tuple[tuple[str, str], ...]:
    env = run.setting("env")
    return tuple((str(k), str(v)) for k, v in env.items()) if isinstance(env, dict) else ()


def analyze_run(run_dir: str | Path) -> Analysis:
    """Analyse a run directory.

    Raises
    ------
    DataError
        When ``config.json``, ``metrics.jsonl`` or ``summary.json`` is missing or malformed.
    """
    run = read_run(run_dir)
    states = epoch_states(run)
    phases = find_phases(run, states)
    causes = find_causes(run)
    skill = read_skill(run)
    criteria = check_criteria(run, skill, states)
    stable, why = _stability(run, states, criteria, phases)
    ready = bool(stable and skill.significant)
    keys = {c.key for c in causes}
    overfitting = "train_val_gap" in keys or any(p.kind == OVERFITTING for p in phases)
    facts = RunFacts(stable, ready, overfitting, "fp16_overflow" in keys, "nonfinite_inputs" in keys,
                     "grad_above_clip" in keys, why, _overfit_evidence(causes, phases))
    command, flags, recorded = train_command(run.config)
    recs, withheld = recommend(run, flags, facts)
    clip = clip_value(run)
    learners, best_learner = learner_table(run)
    reason = _reason(stable, why, skill) + (f" {best_learner}" if best_learner else "")
    return Analysis(
        run_dir=run.path, ready=ready, reason=reason, phases=phases, causes=causes,
        quality=quality_table(run), criteria=criteria,
        decision=decision_position(stable, ready, overfitting, skill), recommendations=recs, withheld=withheld,
        command=command, command_recorded=recorded, environment=_environment(run),
        model_config=_model_config(run, clip), run_facts=_run_facts(run), epoch_table=_epoch_table(run, states),
        curves=_curves(run, phases, clip, skill), notes=run.notes, quality_note=statistics_note(run),
        learners=learners, best_learner=best_learner)
