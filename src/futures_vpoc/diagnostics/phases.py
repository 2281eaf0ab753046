"""Training phases found from the epoch records: learning, plateau, overfitting, instability, collapse, early stop.

Rules, applied in this order (thresholds are the module constants below):

1. Each epoch gets a state.

   * **collapse** - the train or validation loss is non-finite, or the NaN rate is at least
     ``COLLAPSE_NAN_RATE`` (50%), or at most ``COLLAPSE_VALID_PCT`` (50%) of the batches were valid:
     the epoch taught the model nothing usable.
   * **instability** - otherwise, the NaN rate is above ``UNSTABLE_NAN_RATE`` (1%), or fewer than
     ``UNSTABLE_VALID_PCT`` (99%) of the batches were valid, or a ``rollback``/``lr_backoff``/
     ``diverged`` event happened in the epoch, or the validation loss jumped by more than
     ``SPIKE_FACTOR`` (x1.25) over both the previous epoch and the best before it.
   * **stable** - everything else.

2. Consecutive epochs with the same state form a phase. Stable stretches are split further by
   validation progress, judged over a window so that slow steady learning counts and noise does
   not: an epoch is *learning* when the best validation loss reached within the ``GAIN_WINDOW``
   (5) epochs starting at it lies below the best before it by more than ``MIN_GAIN_PER_EPOCH``
   (0.05%, relative) per epoch of the window (the window is shorter at the end of the run; the
   first epoch is measured against its own loss), or when it beats the best before it by more
   than ``MIN_GAIN_PER_EPOCH`` on its own. A run of at least ``PLATEAU_MIN_EPOCHS`` (3)
   other epochs is a **plateau**, or **overfitting** when at its end the validation loss (mean of
   its last up to three epochs) sits more than ``OVERFIT_VAL_RISE`` (2%) above the best so far
   while the training loss fell by more than ``OVERFIT_TRAIN_DROP`` (2%) since the best epoch.
   Shorter pauses stay in the surrounding **learning** phase.

3. **early stop** marks the last epoch when ``summary.json`` gives an early-stop ``stop_reason``
   or an ``early_stop`` event was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from futures_vpoc.diagnostics.rundata import RunData
from futures_vpoc.diagnostics.series import (best_before, finite_max, finite_min, fmt, fmt_change, fmt_pct,
                                             fmt_sci, rel_change, running_best, runs)

COLLAPSE_NAN_RATE = 0.5
COLLAPSE_VALID_PCT = 50.0
UNSTABLE_NAN_RATE = 0.01
UNSTABLE_VALID_PCT = 99.0
SPIKE_FACTOR = 1.25
GAIN_WINDOW = 5
MIN_GAIN_PER_EPOCH = 0.0005
PLATEAU_MIN_EPOCHS = 3
OVERFIT_VAL_RISE = 0.02
OVERFIT_TRAIN_DROP = 0.02

UNSTABLE_EVENTS = ("rollback", "lr_backoff", "diverged")
EARLY_STOP_REASONS = ("early_stop", "early_stopping", "early stop", "patience")

STABLE, UNSTABLE, COLLAPSE = "stable", "instability", "collapse"
LEARNING, PLATEAU, OVERFITTING, EARLY_STOP = "learning", "plateau", "overfitting", "early stop"
_STALLED = "stalled"


@dataclass(frozen=True)
class Phase:
    """One phase of training.

    Attributes
    ----------
    kind : str
        ``learning``, ``plateau``, ``overfitting``, ``instability``, ``collapse`` or ``early stop``.
    start, end : int
        First and last epoch (inclusive, as recorded).
    description : str
        One sentence with the figures that mark the phase.
    """

    kind: str
    start: int
    end: int
    description: str

    @property
    def epochs(self) -> str:
        """``"epoch 7"`` or ``"epochs 7-12"``."""
        return f"epoch {self.start}" if self.start == self.end else f"epochs {self.start}-{self.end}"


# ----------------------------------------------------------------------------------------- rule 1


def _event_epochs(run: RunData, names: tuple[str, ...]) -> list[int]:
    return sorted({e.epoch for e in run.events_named(*names) if e.epoch is not None})


def _loss_spikes(val: np.ndarray) -> np.ndarray:
    prev, best = np.r_[np.nan, val[:-1]], best_before(val)
    return (val > SPIKE_FACTOR * prev) & (val > SPIKE_FACTOR * best) & np.isfinite(val)


def epoch_states(run: RunData) -> np.ndarray:
    """The state of every epoch: ``"stable"``, ``"instability"`` or ``"collapse"`` (rule 1).

    Returns
    -------
    numpy.ndarray of str, shape (n_epochs,)
    """
    m = run.metrics
    if not len(m):
        return np.array([], dtype=object)
    nan_rate, valid = m["nan_rate"], m["valid_batch_pct"]
    collapse = m.nonfinite("train_loss") | m.nonfinite("val_loss") | m.nonfinite("nan_rate")
    collapse |= (nan_rate >= COLLAPSE_NAN_RATE) | (valid <= COLLAPSE_VALID_PCT)
    unstable = (nan_rate > UNSTABLE_NAN_RATE) | (valid < UNSTABLE_VALID_PCT) | _loss_spikes(m["val_loss"])
    unstable |= np.isin(m.epochs, _event_epochs(run, UNSTABLE_EVENTS))
    return np.where(collapse, COLLAPSE, np.where(unstable, UNSTABLE, STABLE)).astype(object)


def stable_streak(states: np.ndarray, epochs: np.ndarray) -> tuple[int, int, int]:
    """Longest run of consecutive stable epochs as (length, first epoch, last epoch); zeros if none."""
    best = (0, 0, 0)
    for state, i, j in runs(list(states)):
        if state == STABLE and j - i + 1 > best[0]:
            best = (j - i + 1, int(epochs[i]), int(epochs[j]))
    return best


# ----------------------------------------------------------------------------------------- rule 2


def improving(val: np.ndarray) -> np.ndarray:
    """Bool per epoch: learning by the windowed rule 2 (see the module docstring)."""
    n = len(val)
    best, before = running_best(val), best_before(val)
    ref = np.where(np.isfinite(before), before, val)
    end = np.minimum(np.arange(n) + GAIN_WINDOW - 1, n - 1)
    window = end - np.arange(n) + 1
    reached = best[end] if n else best
    return (reached < ref * (1 - MIN_GAIN_PER_EPOCH * window)) | (val < before * (1 - MIN_GAIN_PER_EPOCH))


def _stalled_kind(run: RunData, i: int, j: int) -> str:
    """``plateau`` or ``overfitting`` for the non-improving epochs at indices i..j."""
    val, train = run.metrics["val_loss"], run.metrics["train_loss"]
    best_idx = _best_index(val, i)
    if best_idx is None:
        return PLATEAU
    tail = val[max(i, j - 2): j + 1]
    tail = tail[np.isfinite(tail)]
    rise = rel_change(float(tail.mean()), float(val[best_idx])) if tail.size else None
    drop = rel_change(float(train[j]), float(train[best_idx]))
    overfit = rise is not None and drop is not None and rise > OVERFIT_VAL_RISE and -drop > OVERFIT_TRAIN_DROP
    return OVERFITTING if overfit else PLATEAU


def _best_index(val: np.ndarray, upto: int) -> int | None:
    """Index of the lowest finite validation loss at or before ``upto`` (the last one on ties)."""
    best = running_best(val)[upto]
    if not np.isfinite(best):
        return None
    return int(np.flatnonzero(val[: upto + 1] == best)[-1])


def _split_stable(run: RunData, i: int, j: int, gains: np.ndarray) -> list[tuple[str, int, int]]:
    labels = [LEARNING if gains[k] else _STALLED for k in range(i, j + 1)]
    pieces = []
    for label, a, b in runs(labels):
        if label == _STALLED:
            label = _stalled_kind(run, a + i, b + i) if b - a + 1 >= PLATEAU_MIN_EPOCHS else LEARNING
        if pieces and pieces[-1][0] == label:
            pieces[-1] = (label, pieces[-1][1], b + i)
        else:
            pieces.append((label, a + i, b + i))
    return pieces


# ----------------------------------------------------------------------------------- descriptions


def _learning(run: RunData, i: int, j: int) -> str:
    m = run.metrics
    a = i - 1 if i > 0 else i
    val, acc, train = m["val_loss"], m["val_accuracy"], m["train_loss"]
    parts = [f"validation loss {fmt(val[a])} -> {fmt(val[j])} ({fmt_change(rel_change(val[j], val[a]))})"]
    if m.has("val_accuracy"):
        parts.append(f"validation accuracy {fmt_pct(acc[a])} -> {fmt_pct(acc[j])}")
    parts.append(f"train loss {fmt(train[a])} -> {fmt(train[j])}")
    since = f"From epoch {m.epochs[a]}: " if a != i else ""
    text = since + ", ".join(parts) + "."
    return text[0].upper() + text[1:]


def _plateau(run: RunData, i: int, j: int) -> str:
    val = run.metrics["val_loss"]
    best = running_best(val)
    start = best[i - 1] if i > 0 and np.isfinite(best[i - 1]) else val[i]
    gain = rel_change(best[j], start)
    return (f"Validation loss gained less than {100 * MIN_GAIN_PER_EPOCH:.2f}% per epoch for {j - i + 1} epochs: "
            f"best {fmt(start)} -> {fmt(best[j])} ({fmt_change(gain)}), values between "
            f"{fmt(finite_min(val[i:j + 1]))} and {fmt(finite_max(val[i:j + 1]))}.")


def _overfitting(run: RunData, i: int, j: int) -> str:
    m = run.metrics
    val, train = m["val_loss"], m["train_loss"]
    b = _best_index(val, i)
    return (f"Train loss kept falling {fmt(train[b])} -> {fmt(train[j])} "
            f"({fmt_change(rel_change(train[j], train[b]))}) "
            f"while validation loss rose from its best {fmt(val[b])} (epoch {m.epochs[b]}) to {fmt(val[j])} "
            f"({fmt_change(rel_change(val[j], val[b]))}); gap validation - train {fmt(val[j] - train[j])} "
            f"at epoch {m.epochs[j]}.")


def _instability_parts(run: RunData, i: int, j: int) -> list[str]:
    m = run.metrics
    epochs = m.epochs[i:j + 1]
    parts = []
    nan = m["nan_rate"][i:j + 1]
    peak = finite_max(nan)
    if peak is not None and peak > 0:
        where = int(np.argmax(np.where(np.isfinite(nan), nan, -1.0)))
        parts.append(f"NaN rate up to {fmt_pct(peak)} (epoch {epochs[where]})")
    if m.has("valid_batch_pct"):
        parts.append(f"valid batches down to {fmt(finite_min(m['valid_batch_pct'][i:j + 1]), 1)}%")
    for name in ("rollback", "lr_backoff", "diverged"):
        n = sum(1 for e in run.events_named(name) if e.epoch is not None and epochs[0] <= e.epoch <= epochs[-1])
        if n:
            parts.append(f"{n} {name} event{'s' if n > 1 else ''}")
    if m.nonfinite("grad_norm_max")[i:j + 1].any():
        parts.append("non-finite gradient norm")
    elif m.has("grad_norm_max"):
        parts.append(f"gradient norm up to {fmt_sci(finite_max(m['grad_norm_max'][i:j + 1]))}")
    return parts


def _instability(run: RunData, i: int, j: int) -> str:
    parts = _instability_parts(run, i, j)
    spikes = _loss_spikes(run.metrics["val_loss"])[i:j + 1]
    if spikes.any():
        parts.append(f"validation loss jumped more than x{SPIKE_FACTOR} in {int(spikes.sum())} epoch(s)")
    text = ", ".join(parts) if parts else "unstable epochs"
    return text[0].upper() + text[1:] + "."


def _collapse(run: RunData, i: int, j: int) -> str:
    m = run.metrics
    bad = (m.nonfinite("train_loss") | m.nonfinite("val_loss"))[i:j + 1]
    parts = _instability_parts(run, i, j)
    parts.append(f"non-finite train or validation loss in {int(bad.sum())} of {j - i + 1} epochs")
    text = ", ".join(parts)
    return text[0].upper() + text[1:] + "."


def _early_stop(run: RunData) -> str:
    m = run.metrics
    b = _best_index(m["val_loss"], len(m) - 1)
    patience = run.setting("early_stopping_patience")
    text = f"Stopped early at epoch {m.epochs[-1]}"
    if patience is not None:
        text += f" (patience {patience})"
    if b is not None:
        text += (f": best validation loss {fmt(m['val_loss'][b])} at epoch {m.epochs[b]}, "
                 f"no gain in the {m.epochs[-1] - m.epochs[b]} epochs after it")
    return text + "."


_DESCRIBE = {LEARNING: _learning, PLATEAU: _plateau, OVERFITTING: _overfitting,
             UNSTABLE: _instability, COLLAPSE: _collapse}


# ----------------------------------------------------------------------------------------- public


def stopped_early(run: RunData) -> bool:
    """Whether the run ended by early stopping (``stop_reason`` or an ``early_stop`` event)."""
    reason = str(run.summary.get("stop_reason") or "").lower()
    return reason in EARLY_STOP_REASONS or bool(run.events_named("early_stop"))


def find_phases(run: RunData, states: np.ndarray | None = None) -> tuple[Phase, ...]:
    """The phases of a run, in epoch order (rules in the module docstring).

    Parameters
    ----------
    run : RunData
    states : numpy.ndarray, optional
        Result of :func:`epoch_states` when already computed.

    Returns
    -------
    tuple of Phase
        Contiguous phases covering every recorded epoch, then an ``early stop`` marker when the
        run stopped early. Empty when no epoch was recorded.
    """
    m = run.metrics
    if not len(m):
        return ()
    states = epoch_states(run) if states is None else states
    gains = improving(m["val_loss"])
    spans: list[tuple[str, int, int]] = []
    for state, i, j in runs(list(states)):
        spans.extend(_split_stable(run, i, j, gains) if state == STABLE else [(state, i, j)])
    epochs = m.epochs
    phases = [Phase(kind, int(epochs[i]), int(epochs[j]), _DESCRIBE[kind](run, i, j)) for kind, i, j in spans]
    if stopped_early(run):
        phases.append(Phase(EARLY_STOP, int(epochs[-1]), int(epochs[-1]), _early_stop(run)))
    return tuple(phases)
