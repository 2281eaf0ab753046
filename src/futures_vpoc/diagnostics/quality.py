"""Model quality from ``summary.json``: test metrics against baselines, with intervals and p-values.

The trainer computes the test accuracy, its 95% interval, the majority-class baseline and the
binomial p-value against it; they are read here, never recomputed. Two baselines are derived from
the majority share ``m`` of the test labels: the log-loss and the Brier score of the constant
predictor ``m`` (``-(m ln m + (1-m) ln(1-m))`` and ``m (1-m)``). The AUC gets an approximate 95%
interval from the Hanley-McNeil (1982) standard error, with the class counts taken from the test
predictions when present, else from ``m`` and ``n_test``.
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


def quality_table(run: RunData) -> tuple[QualityRow, ...]:
    """Test metrics against their baselines (accuracy, AUC, log-loss, and Brier score when recorded)."""
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
