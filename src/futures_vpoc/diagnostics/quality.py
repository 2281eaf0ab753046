"""Model quality from ``summary.json``: test metrics against baselines, with intervals and p-values.

Runs written since issue 14 carry ``test_statistics``: every metric (accuracy, balanced accuracy,
AUC, log loss, Brier score, calibration error) with its interval and one-sided p-value against its
baseline from the session block bootstrap of :mod:`futures_vpoc.evaluation`; they are read here,
never recomputed, and the table names the method and the effective sample size.

Older runs lack it. Their accuracy interval and p-value (exact binomial) treat rows as independent,
and the table says so; two baselines are derived from the majority share ``m`` of the test labels
(log loss ``-(m ln m + (1-m) ln(1-m))``, Brier ``m (1-m)``) and the AUC gets the Hanley-McNeil
(1982) interval, also assuming independent rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from futures_vpoc.diagnostics.rundata import RunData
from futures_vpoc.diagnostics.series import fmt, fmt_pct, fmt_sci

ALPHA = 0.05
"""Significance level for "better than the majority baseline"."""

SKILL_KEYS = ("test_accuracy", "test_accuracy_ci95", "test_majority_baseline", "test_p_value")


@dataclass(frozen=True)
class Skill:
    """Test accuracy against the majority-class baseline, as ``summary.json`` gives it.

    Attributes
    ----------
    accuracy, baseline, p_value : float or None
        Fractions in [0, 1] and the binomial p-value; None when missing.
    ci : tuple of float or None
        95% interval of the accuracy.
    n_test : int or None
    missing : tuple of str
        The ``summary.json`` keys of :data:`SKILL_KEYS` that were absent or unreadable.
    """

    accuracy: float | None
    ci: tuple[float, float] | None
    baseline: float | None
    p_value: float | None
    n_test: int | None
    missing: tuple[str, ...]

    @property
    def significant(self) -> bool | None:
        """Accuracy above the baseline with p < ALPHA and the interval clear of it; None if unknown."""
        if self.accuracy is None or self.baseline is None or self.p_value is None:
            return None
        clear = self.ci is None or self.ci[0] > self.baseline
        return bool(self.accuracy > self.baseline and self.p_value < ALPHA and clear)

    @property
    def below(self) -> bool:
        """Accuracy significantly below the baseline (the whole interval under it)."""
        return self.ci is not None and self.baseline is not None and self.ci[1] < self.baseline

    def accuracy_text(self) -> str:
        """``54.1% (95% CI 53.5%-54.7%)``."""
        if self.accuracy is None:
            return "n/a"
        ci = f" (95% CI {fmt_pct(self.ci[0])}-{fmt_pct(self.ci[1])})" if self.ci is not None else ""
        return fmt_pct(self.accuracy) + ci

    def sentence(self) -> str:
        """``test accuracy 54.1% (95% CI 53.5%-54.7%) vs majority baseline 50.3%, p = 1e-30``."""
        if self.accuracy is None:
            return "test accuracy not recorded"
        text = f"test accuracy {self.accuracy_text()}"
        if self.baseline is not None:
            text += f" vs majority baseline {fmt_pct(self.baseline)}"
        if self.p_value is not None:
            text += f", p = {fmt_sci(self.p_value)}"
        return text


def _ci(value) -> tuple[float, float] | None:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def read_skill(run: RunData) -> Skill:
    """The :class:`Skill` of a run from its ``summary.json``."""
    def finite(key):
        value = run.summary_float(key)
        return value if value is not None and math.isfinite(value) else None

    ci = _ci(run.summary.get("test_accuracy_ci95"))
    values = {"test_accuracy": finite("test_accuracy"), "test_accuracy_ci95": ci,
              "test_majority_baseline": finite("test_majority_baseline"), "test_p_value": finite("test_p_value")}
    n_test = finite("n_test")
    missing = tuple(k for k in SKILL_KEYS if values[k] is None)
    return Skill(values["test_accuracy"], ci, values["test_majority_baseline"], values["test_p_value"],
                 int(n_test) if n_test is not None else None, missing)


@dataclass(frozen=True)
class QualityRow:
    """One row of the model-quality table, as text ready to render."""

    metric: str
    value: str
    interval: str
    baseline: str
    p_value: str
    verdict: str
    passed: bool | None = None


def _class_counts(run: RunData, skill: Skill) -> tuple[int, int] | None:
    if run.predictions is not None:
        label = run.predictions.label[np.isfinite(run.predictions.label)]
        pos = int((label > 0.5).sum())
        return (pos, label.size - pos) if pos and label.size - pos else None
    if skill.n_test and skill.baseline is not None:
        major = int(round(skill.baseline * skill.n_test))
        return (major, skill.n_test - major) if 0 < major < skill.n_test else None
    return None


def auc_interval(auc: float, n_pos: int, n_neg: int) -> tuple[float, float]:
    """Approximate 95% interval of an AUC by the Hanley-McNeil standard error."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    se = math.sqrt(max(var, 0.0))
    return max(0.0, auc - 1.96 * se), min(1.0, auc + 1.96 * se)


def _accuracy_row(skill: Skill) -> QualityRow:
    if skill.accuracy is None:
        return QualityRow("Accuracy", "n/a", "", "", "", "not in summary.json")
    interval = f"{fmt_pct(skill.ci[0])} - {fmt_pct(skill.ci[1])}" if skill.ci else "n/a"
    base = f"{fmt_pct(skill.baseline)} (majority class)" if skill.baseline is not None else "n/a"
    verdict = {True: f"above the baseline (p < {ALPHA})", False: "within the baseline's reach",
               None: "cannot judge"}[skill.significant]
    if skill.below:
        verdict = "below the baseline"
    return QualityRow("Accuracy", fmt_pct(skill.accuracy), interval, base, fmt_sci(skill.p_value), verdict,
                      skill.significant)


def _auc_row(run: RunData, skill: Skill) -> QualityRow:
    auc = run.summary_float("test_auc")
    if auc is None or not math.isfinite(auc):
        return QualityRow("AUC", "n/a", "", "0.500 (no ranking)", "", "not in summary.json")
    counts = _class_counts(run, skill)
    interval, verdict, passed = "n/a", "", None
    if counts:
        lo, hi = auc_interval(auc, *counts)
        interval = f"{fmt(lo, 3)} - {fmt(hi, 3)} (Hanley-McNeil)"
        passed = lo > 0.5
        verdict = "above 0.5" if passed else "interval holds 0.5"
    return QualityRow("AUC", fmt(auc, 3), interval, "0.500 (no ranking)", "", verdict, passed)


def _constant_row(name: str, value: float | None, base: float | None, label: str) -> QualityRow:
    if value is None or not math.isfinite(value):
        return QualityRow(name, "n/a", "", "", "", "not in summary.json")
    if base is None:
        return QualityRow(name, fmt(value), "", "n/a", "", "")
    passed = value < base
    verdict = "better than the constant" if passed else "no better than the constant"
    return QualityRow(name, fmt(value), "", f"{fmt(base)} ({label})", "", verdict, passed)


_STAT_ROWS = (("accuracy", "Accuracy", "majority class"), ("balanced_accuracy", "Balanced accuracy", "chance"),
              ("auc", "AUC", "no ranking"), ("log_loss", "Log-loss", "constant at the base rate"),
              ("brier", "Brier score", "constant at the base rate"), ("ece", "Calibration error (ECE)", ""))


def _stat_row(key: str, name: str, base_name: str, m: dict) -> QualityRow:
    """A row from one ``test_statistics`` metric (value, interval, baseline, p-value, verdict)."""
    pct = key in ("accuracy", "balanced_accuracy")
    show = fmt_pct if pct else (lambda v: fmt(v, 3) if key == "auc" else fmt(v))
    interval = f"{show(m['ci_low'])} - {show(m['ci_high'])}"
    if m["p_value"] is None:
        return QualityRow(name, show(m["value"]), interval, "-", "", "descriptive (0 = calibrated)")
    passed = m["p_value"] < ALPHA
    better = "above" if key in ("accuracy", "balanced_accuracy", "auc") else "better than"
    verdict = f"{better} the baseline (p < {ALPHA})" if passed else "within the baseline's reach"
    return QualityRow(name, show(m["value"]), interval, f"{show(m['baseline'])} ({base_name})",
                      fmt_sci(m["p_value"]), verdict, passed)


def statistics_note(run: RunData) -> str:
    """How the intervals and p-values of :func:`quality_table` were computed, in one sentence."""
    stats = run.summary.get("test_statistics")
    if isinstance(stats, dict) and stats.get("metrics"):
        k = stats["block_length"]
        return (f"Intervals ({stats['level']:.0%}) and one-sided p-values: {stats['method']}, blocks of {k} "
                f"session{'s' if k != 1 else ''} ({stats['n_blocks']:,} blocks, {stats['n_boot']:,} replicates); "
                f"effective sample size {stats['effective_n']:,.0f} of {stats['n']:,} test rows.")
    return ("Intervals and p-values of this run treat every test row as independent (exact binomial, "
            "Hanley-McNeil): overlapping labels make them too narrow. Runs trained since issue 14 resample "
            "whole sessions.")


LEARNER_HEADER = ("Learner", "Test accuracy (95% CI)", "p vs majority", "AUC (95% CI)", "Test log-loss",
                  "Validation log-loss")


def _pair(ci, show=lambda v: fmt(v, 3)) -> str:
    return f"{show(ci[0])} - {show(ci[1])}" if isinstance(ci, (list, tuple)) and len(ci) == 2 else "n/a"


def learner_table(run: RunData) -> tuple[tuple[tuple[str, ...], ...], str]:
    """The network beside the learner baselines (``summary.json`` ``baselines``), and a sentence
    naming the best of them on validation log-loss; ((), "") for runs without baselines."""
    doc = run.summary.get("baselines")
    if not isinstance(doc, dict) or not doc.get("learners"):
        return (), ""
    s = run.summary
    rows = [("network", f"{fmt_pct(s.get('test_accuracy'))} ({_pair(s.get('test_accuracy_ci95'), fmt_pct)})",
             fmt_sci(s.get("test_p_value")), f"{fmt(s.get('test_auc'), 3)} ({_pair(s.get('test_auc_ci95'))})",
             fmt(s.get("test_log_loss")), fmt(s.get("best_val_loss")))]
    for name, v in doc["learners"].items():
        rows.append((f"{name} ({v.get('detail', '')})",
                     f"{fmt_pct(v.get('test_accuracy'))} ({_pair(v.get('test_accuracy_ci95'), fmt_pct)})",
                     fmt_sci(v.get("test_p_value")), f"{fmt(v.get('test_auc'), 3)} ({_pair(v.get('test_auc_ci95'))})",
                     fmt(v.get("test_log_loss")), fmt(v.get("val_log_loss"))))
    best = doc.get("best_learner")
    sentence = (f"Best of the three learners on {doc.get('best_by', 'validation log-loss')}: {best}"
                + (" -- a plain learner does at least as well as the network on unseen data, so prefer it or "
                   "improve the network's inputs" if best not in (None, "network") else "") + ".")
    return tuple(rows), sentence


def quality_table(run: RunData) -> tuple[QualityRow, ...]:
    """Test metrics against their baselines, from ``test_statistics`` when the run has it (see module doc)."""
    stats = run.summary.get("test_statistics")
    if isinstance(stats, dict) and stats.get("metrics"):
        return tuple(_stat_row(key, name, base, stats["metrics"][key]) for key, name, base in _STAT_ROWS
                     if stats["metrics"].get(key))
    skill = read_skill(run)
    m = skill.baseline
    valid = m is not None and 0 < m < 1
    log_base = -(m * math.log(m) + (1 - m) * math.log(1 - m)) if valid else None
    rows = [_accuracy_row(skill), _auc_row(run, skill),
            _constant_row("Log-loss", run.summary_float("test_log_loss"), log_base, "constant at the base rate")]
    if "test_brier" in run.summary:
        brier_base = m * (1 - m) if valid else None
        rows.append(_constant_row("Brier score", run.summary_float("test_brier"), brier_base,
                                  "constant at the base rate"))
    return tuple(rows)
