"""Root causes: rules over the epoch metrics, the events, the config and the test summary.

Each rule returns a :class:`Cause` whose conclusion cites its evidence (figures, epochs, events,
settings), or nothing. Rules and thresholds (module constants):

* ``diverged`` (critical): ``stop_reason`` is ``diverged`` or a ``diverged`` event was recorded;
  cites the rollbacks, the learning-rate backoffs and the learning rate before and after.
* ``gradient_explosion`` (critical): the largest pre-clip gradient norm is non-finite, or exceeds
  ``EXPLOSION_FACTOR`` (x100) the first epoch's mean norm; cites the clip setting.
* ``grad_above_clip`` (warning): clipping is on and the mean pre-clip gradient norm exceeds the
  clip value in at least ``CLIP_PERSISTENT_SHARE`` (50%) of the epochs, or the mean share of
  clipped steps is at least ``CLIPPED_PCT_PERSISTENT`` (50%).
* ``nan_onset`` (critical when the worst epoch's NaN rate reaches the seed's 10%, else warning):
  the first epoch with a NaN rate above 1% (``phases.UNSTABLE_NAN_RATE``) or a non-finite loss,
  compared with the epoch where the learning rate peaked: after the peak points at the step size,
  before it at the inputs or the numerics.
* ``nonfinite_inputs`` (critical): an event whose name mentions ``input``, or a ``nan_skip`` event
  whose detail does.
* ``fp16_overflow`` (warning; critical with NaN batches): the fp16 GradScaler skipped at least
  ``FP16_SKIP_SHARE`` (1%) of an epoch's steps (the epochs' ``scaler_skips``: scaled gradients
  overflowed, the scaler halved its scale and dropped the step; the trainer counts these apart from
  NaN batches and records no event for them), or an event whose name mentions ``scaler`` or
  ``overflow``, or fp16 precision (``resolved.amp_dtype`` ``float16``) with NaN batches (once the
  scale is down to 1 an overflow counts as a NaN batch).
* ``train_val_gap`` (warning): since the best epoch the validation loss rose by more than
  ``GAP_VAL_RISE`` (5%) while the train loss fell by more than ``GAP_TRAIN_DROP`` (5%); cites the
  parameters per training sample.
* ``no_skill`` (critical): the test accuracy is not above the majority baseline with p < 0.05 and
  its 95% interval clear of it (``quality.Skill.significant`` is False).
* ``one_class`` (warning, needs ``predictions_test.parquet``): at least ``ONE_CLASS_SHARE`` (99%)
  of the test probabilities fall on one side of 0.5, or their standard deviation is below
  ``FLAT_PROBABILITY_SD`` (0.005).
* ``flat_validation`` (warning): the best validation loss improved on the first epoch's by less
  than ``FLAT_IMPROVEMENT`` (1%), over at least ``FLAT_MIN_EPOCHS`` (5) finite epochs and with no
  NaN onset (after one, the instability is the finding).
* ``stale`` (info): no validation gain for at least ``STALE_EPOCHS`` (5) epochs before the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from futures_vpoc.diagnostics.phases import UNSTABLE_NAN_RATE
from futures_vpoc.diagnostics.quality import read_skill
from futures_vpoc.diagnostics.rundata import RunData
from futures_vpoc.diagnostics.series import (finite_max, first_finite, fmt, fmt_change, fmt_pct,
                                             fmt_sci, rel_change)

EXPLOSION_FACTOR = 100.0
CLIP_PERSISTENT_SHARE = 0.5
CLIPPED_PCT_PERSISTENT = 50.0
NAN_CRITICAL_RATE = 0.10
GAP_VAL_RISE = 0.05
GAP_TRAIN_DROP = 0.05
ONE_CLASS_SHARE = 0.99
FLAT_PROBABILITY_SD = 0.005
FP16_SKIP_SHARE = 0.01
FLAT_IMPROVEMENT = 0.01
FLAT_MIN_EPOCHS = 5
STALE_EPOCHS = 5

CRITICAL, WARNING, INFO = "critical", "warning", "info"
_ORDER = {CRITICAL: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Cause:
    """One root-cause conclusion with its evidence.

    Attributes
    ----------
    key : str
        Rule name (``gradient_explosion``, ``no_skill``, ...).
    title : str
        Short heading.
    severity : str
        ``critical``, ``warning`` or ``info``.
    conclusion : str
        What it means, one or two sentences.
    evidence : tuple of str
        The figures, epochs, events and settings the conclusion rests on.
    """

    key: str
    title: str
    severity: str
    conclusion: str
    evidence: tuple[str, ...]


def clip_value(run: RunData) -> float | None:
    """The gradient clip value, None when clipping is off (0, negative, null or absent)."""
    clip = run.setting_float("gradient_clip_value")
    return clip if clip is not None and np.isfinite(clip) and clip > 0 else None


def _lr_peak(run: RunData) -> tuple[int, float] | None:
    lr = run.metrics["lr"]
    if not np.isfinite(lr).any():
        return None
    i = int(np.argmax(np.where(np.isfinite(lr), lr, -np.inf)))
    return int(run.metrics.epochs[i]), float(lr[i])


def nan_onset(run: RunData) -> int | None:
    """Index of the first epoch with a NaN rate above 1% or a non-finite loss, None if none."""
    m = run.metrics
    bad = (m["nan_rate"] > UNSTABLE_NAN_RATE) | m.nonfinite("train_loss") | m.nonfinite("val_loss")
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else None


def _diverged(run: RunData) -> Cause | None:
    reason = str(run.summary.get("stop_reason") or "")
    events = run.events_named("diverged")
    if reason != "diverged" and not events:
        return None
    rollbacks, backoffs = run.events_named("rollback"), run.events_named("lr_backoff")
    evidence = [f"stop_reason `{reason or 'n/a'}` after {run.summary.get('epochs_completed', len(run.metrics))} epochs",
                f"{len(rollbacks)} rollback(s), {len(backoffs)} learning-rate backoff(s)"]
    lr = run.metrics["lr"]
    peak, last = _lr_peak(run), first_finite(lr[::-1])
    if peak and last:
        evidence.append(f"learning rate peaked at {fmt_sci(peak[1])} (epoch {peak[0]}), last {fmt_sci(last[1])}")
    evidence += [f"event `{e.name}` epoch {e.epoch}: {e.detail_text()}" for e in (events + backoffs)[:3]]
    return Cause("diverged", "Training diverged", CRITICAL,
                 "Non-finite steps persisted through rollbacks and learning-rate backoffs, so the trainer "
                 "stopped; the best checkpoint predates the divergence.", tuple(evidence))


def _explosion(run: RunData) -> Cause | None:
    m = run.metrics
    if not m.has("grad_norm_max"):
        return None
    gmax = m["grad_norm_max"]
    start = first_finite(m["grad_norm_mean"]) or first_finite(gmax)
    peak = finite_max(gmax)
    nonfinite = m.nonfinite("grad_norm_max")
    grew = start is not None and peak is not None and start[1] > 0 and peak > EXPLOSION_FACTOR * start[1]
    if not (nonfinite.any() or grew):
        return None
    evidence = []
    if start:
        evidence.append(f"mean gradient norm {fmt(start[1], 3)} in epoch {m.epochs[start[0]]}")
    if peak is not None:
        at = int(np.argmax(np.where(np.isfinite(gmax), gmax, -np.inf)))
        evidence.append(f"largest gradient norm {fmt_sci(peak)} in epoch {m.epochs[at]}")
    if nonfinite.any():
        evidence.append(f"non-finite gradient norm in epoch(s) {', '.join(map(str, m.epochs[nonfinite]))}")
    clip = clip_value(run)
    evidence.append("gradient clipping off (`gradient_clip_value` "
                    f"{run.setting('gradient_clip_value')})" if clip is None else f"clip value {fmt(clip, 2)}")
    evidence.append(f"learning rate {fmt_sci(run.setting_float('learning_rate'))}")
    what = ("with clipping off, nothing bounded the update" if clip is None
            else "clipping bounded the step, not the loss surface")
    return Cause("gradient_explosion", "Gradient explosion", CRITICAL,
                 f"Gradient norms grew more than {EXPLOSION_FACTOR:g}-fold or became non-finite: {what}; "
                 "the learning rate is too high for this model.", tuple(evidence))


def _above_clip(run: RunData) -> Cause | None:
    m, clip = run.metrics, clip_value(run)
    if clip is None or not m.has("grad_norm_mean"):
        return None
    mean = m["grad_norm_mean"]
    finite = np.isfinite(mean)
    above = int((mean[finite] > clip).sum())
    share = above / finite.sum() if finite.any() else 0.0
    clipped = m["clipped_pct"][np.isfinite(m["clipped_pct"])]
    clipped_mean = float(clipped.mean()) if clipped.size else None
    if share < CLIP_PERSISTENT_SHARE and (clipped_mean is None or clipped_mean < CLIPPED_PCT_PERSISTENT):
        return None
    evidence = [f"mean pre-clip gradient norm above the clip value {fmt(clip, 2)} in {above} of {int(finite.sum())} "
                f"epochs (median {fmt(float(np.median(mean[finite])), 3)})"]
    if clipped_mean is not None:
        evidence.append(f"{clipped_mean:.0f}% of steps clipped on average")
    evidence.append(f"learning rate {fmt_sci(run.setting_float('learning_rate'))}")
    return Cause("grad_above_clip", "Gradient norm persistently above the clip value", WARNING,
                 "Most steps are clipped, so the clip value rather than the gradient sets the step size; "
                 "a lower learning rate would let the gradient speak.", tuple(evidence))


def _nan_onset(run: RunData) -> Cause | None:
    i = nan_onset(run)
    if i is None:
        return None
    m = run.metrics
    epoch, peak = int(m.epochs[i]), _lr_peak(run)
    worst = finite_max(m["nan_rate"])
    evidence = [f"first NaN batches in epoch {epoch}: NaN rate {fmt_pct(m['nan_rate'][i])}, "
                f"learning rate {fmt_sci(m['lr'][i])}",
                f"worst NaN rate {fmt_pct(worst)}"]
    if peak is None:
        conclusion = "NaN batches appeared; the learning-rate record is missing, so their timing cannot be judged."
    elif epoch >= peak[0]:
        evidence.append(f"learning rate peaked at {fmt_sci(peak[1])} in epoch {peak[0]}"
                        f" (warmup {run.setting('warmup_steps', 'n/a')} steps)")
        conclusion = (f"NaN began at epoch {epoch}, at or after the learning-rate peak (epoch {peak[0]}): the step "
                      "size, not the data, is the likely trigger.")
    else:
        evidence.append(f"learning rate still rising: peak {fmt_sci(peak[1])} only in epoch {peak[0]}")
        conclusion = (f"NaN began at epoch {epoch}, before the learning rate peaked (epoch {peak[0]}): suspect "
                      "the inputs or the numerics (precision, normalisation) before the step size.")
    severity = CRITICAL if worst is not None and worst >= NAN_CRITICAL_RATE else WARNING
    return Cause("nan_onset", "NaN batches", severity, conclusion, tuple(evidence))


def _inputs(run: RunData) -> Cause | None:
    hits = [e for e in run.events if "input" in e.name.lower()
            or (e.name == "nan_skip" and "input" in e.detail_text().lower())]
    if not hits:
        return None
    evidence = [f"{len(hits)} event(s) naming the inputs"]
    evidence += [f"event `{e.name}` epoch {e.epoch} step {e.step}: {e.detail_text()}" for e in hits[:3]]
    return Cause("nonfinite_inputs", "Non-finite inputs", CRITICAL,
                 "Non-finite values reached the model's inputs: repair the data (`futures-vpoc data check`) "
                 "before tuning the model.", tuple(evidence))


def _scaler_skips(run: RunData) -> tuple[np.ndarray, np.ndarray]:
    """Per epoch: the GradScaler's overflow skips and their share of the epoch's steps (0 where absent)."""
    m = run.metrics
    if not m.has("scaler_skips"):
        return np.zeros(len(m)), np.zeros(len(m))
    skips = np.nan_to_num(m["scaler_skips"], nan=0.0, posinf=0.0)
    steps = m["total_batches"] if m.has("total_batches") else np.full(len(m), np.nan)
    share = np.divide(skips, steps, out=np.zeros(len(m)), where=np.isfinite(steps) & (steps > 0))
    return skips, share


def _fp16(run: RunData) -> Cause | None:
    hits = [e for e in run.events if "scaler" in e.name.lower() or "overflow" in e.name.lower()]
    precision = str(run.setting("precision", "")).lower()
    nan_worst = finite_max(run.metrics["nan_rate"]) or 0.0
    skips, share = _scaler_skips(run)
    skipping = share >= FP16_SKIP_SHARE
    if not hits and not skipping.any() and not (precision in ("fp16", "float16") and nan_worst > UNSTABLE_NAN_RATE):
        return None
    evidence = [f"precision used: {precision or 'not recorded'}"]
    if skips.any():
        epochs = run.metrics.epochs[skips > 0]
        worst = int(np.argmax(share))
        evidence.append(f"{int(skips.sum())} step(s) skipped by the GradScaler on overflow in epoch(s) "
                        f"{', '.join(map(str, epochs[:6]))}{', ...' if epochs.size > 6 else ''}; worst epoch "
                        f"{run.metrics.epochs[worst]}: {fmt_pct(share[worst])} of its steps")
    if hits:
        epochs = sorted({e.epoch for e in hits if e.epoch is not None})
        span = f" in epochs {epochs[0]}-{epochs[-1]}" if epochs else ""
        evidence.append(f"{len(hits)} GradScaler/overflow event(s){span}")
        evidence += [f"event `{e.name}` epoch {e.epoch}: {e.detail_text()}" for e in hits[:2]]
    if nan_worst > UNSTABLE_NAN_RATE:
        evidence.append(f"worst NaN rate {fmt_pct(nan_worst)}")
    severity = CRITICAL if nan_worst > UNSTABLE_NAN_RATE else WARNING
    return Cause("fp16_overflow", "fp16 overflow", severity,
                 "Half precision overflowed (the GradScaler backed off); use bf16 where the device supports it, "
                 "or train without --use_mixed_precision.", tuple(evidence))


def _gap(run: RunData) -> Cause | None:
    m = run.metrics
    val, train = m["val_loss"], m["train_loss"]
    b, last = run.best_index(), first_finite(val[::-1])
    if b is None or last is None:
        return None
    j = len(val) - 1 - last[0]
    rise, drop = rel_change(val[j], val[b]), rel_change(train[j], train[b])
    if rise is None or drop is None or rise <= GAP_VAL_RISE or -drop <= GAP_TRAIN_DROP:
        return None
    evidence = [f"validation loss {fmt(val[b])} (best, epoch {m.epochs[b]}) -> {fmt(val[j])} "
                f"(epoch {m.epochs[j]}, {fmt_change(rise)})",
                f"train loss {fmt(train[b])} -> {fmt(train[j])} ({fmt_change(drop)})",
                f"gap validation - train {fmt(val[b] - train[b])} -> {fmt(val[j] - train[j])}"]
    params, n_train = run.summary_float("param_count") or run.setting_float("param_count"), run.summary_float("n_train")
    if params and n_train:
        evidence.append(f"{params:,.0f} parameters for {n_train:,.0f} training samples "
                        f"({params / n_train:.2g} per sample)")
    evidence.append(f"dropout {run.setting('dropout_rate', 'n/a')}, weight decay {run.setting('weight_decay', 'n/a')}")
    return Cause("train_val_gap", "Train/validation gap (overfitting)", WARNING,
                 "The model fits the training data ever better while it generalises worse: too much capacity "
                 "or too little regularisation for this much data.", tuple(evidence))


def _no_skill(run: RunData) -> Cause | None:
    skill = read_skill(run)
    if skill.significant is not False:
        return None
    evidence = [skill.sentence()]
    if skill.n_test:
        evidence.append(f"{skill.n_test:,} test samples")
    what = ("is worse than always predicting the majority class" if skill.below
            else "shows no skill beyond always predicting the majority class")
    return Cause("no_skill", "Accuracy inside the baseline's interval", CRITICAL,
                 f"The test accuracy {what}.", tuple(evidence))


def _one_class(run: RunData) -> Cause | None:
    if run.predictions is None:
        return None
    p = run.predictions.probability[np.isfinite(run.predictions.probability)]
    if not p.size:
        return None
    up, sd = float((p > 0.5).mean()), float(p.std())
    if max(up, 1 - up) < ONE_CLASS_SHARE and sd >= FLAT_PROBABILITY_SD:
        return None
    evidence = [f"{fmt_pct(up)} of {p.size:,} test probabilities above 0.5",
                f"probability range {fmt(float(p.min()), 3)}-{fmt(float(p.max()), 3)}, sd {fmt(sd, 4)}"]
    return Cause("one_class", "Predictions collapsed to one class", WARNING,
                 "The model barely moves its probability away from the base rate, so its accuracy measures "
                 "the label balance, not skill.", tuple(evidence))


def _flat(run: RunData) -> Cause | None:
    val = run.metrics["val_loss"]
    first, b = first_finite(val), run.best_index()
    if first is None or b is None or np.isfinite(val).sum() < FLAT_MIN_EPOCHS or nan_onset(run) is not None:
        return None
    change = rel_change(val[b], first[1])
    if change is None or -change >= FLAT_IMPROVEMENT:
        return None
    return Cause("flat_validation", "Flat validation loss", WARNING,
                 f"The validation loss never improved by {100 * FLAT_IMPROVEMENT:.0f}% on its first epoch: "
                 "the model found nothing in the features that generalises.",
                 (f"validation loss {fmt(first[1])} (epoch {run.metrics.epochs[first[0]]}) -> best {fmt(val[b])} "
                  f"(epoch {run.metrics.epochs[b]}, {fmt_change(change)}) over {len(val)} epochs",))


def _stale(run: RunData) -> Cause | None:
    val = run.metrics["val_loss"]
    b = run.best_index()
    if b is None:
        return None
    since = int(run.metrics.epochs[-1] - run.metrics.epochs[b])
    if since < STALE_EPOCHS:
        return None
    evidence = [f"best validation loss {fmt(val[b])} at epoch {run.metrics.epochs[b]}; "
                f"{since} epochs without improvement after it",
                f"early_stopping_patience {run.setting('early_stopping_patience', 'n/a')}, "
                f"stop_reason `{run.summary.get('stop_reason', 'n/a')}`"]
    return Cause("stale", f"No improvement since epoch {run.metrics.epochs[b]}", INFO,
                 f"The last {since} epochs added nothing on validation; the best checkpoint is epoch "
                 f"{run.metrics.epochs[b]}.", tuple(evidence))


RULES: tuple[Callable[[RunData], Cause | None], ...] = (
    _diverged, _explosion, _nan_onset, _inputs, _fp16, _above_clip, _gap, _no_skill, _one_class, _flat, _stale)


def find_causes(run: RunData) -> tuple[Cause, ...]:
    """Every cause whose rule fires, critical first, then in rule order."""
    found = [cause for rule in RULES if (cause := rule(run)) is not None]
    return tuple(sorted(found, key=lambda c: _ORDER[c.severity]))
