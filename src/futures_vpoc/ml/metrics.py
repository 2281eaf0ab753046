"""Classification metrics of a direction model (numpy and scipy only).

All functions take 0/1 labels and either logits or probabilities as 1-D arrays. They are honest
about small samples: the accuracy comes with an exact (Clopper-Pearson) 95 % interval, and the
comparison with the majority-class baseline is a one-sided exact binomial test.

The majority-class baseline always predicts the class that is more frequent in the *training*
labels (ties: up); its accuracy on the test part is ``mean(y_test == majority)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from scipy.stats import binom, binomtest, rankdata


def _labels(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return y


def accuracy_ci(correct: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of an accuracy of ``correct`` out of ``n``; (nan, nan) if n = 0."""
    if n <= 0:
        return (float("nan"), float("nan"))
    ci = binomtest(int(correct), int(n)).proportion_ci(confidence_level=level, method="exact")
    return (float(ci.low), float(ci.high))


def binomial_p_greater(correct: int, n: int, p0: float) -> float:
    """One-sided exact binomial p-value of ``correct`` successes in ``n`` against a rate ``p0``.

    H0: the accuracy is at most ``p0``; small values mean the model beats the baseline rate.
    """
    if n <= 0:
        return float("nan")
    if p0 >= 1.0:
        return 1.0
    if p0 <= 0.0:
        return 0.0 if correct > 0 else 1.0
    return float(binomtest(int(correct), int(n), float(p0), alternative="greater").pvalue)


def baseline_interval(p: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Central ``level`` interval of the accuracy a predictor of true rate ``p`` shows on ``n`` rows."""
    if n <= 0:
        return (float("nan"), float("nan"))
    lo, hi = binom.interval(level, int(n), float(p))
    return (float(lo) / n, float(hi) / n)


def auc(y, score) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); None with one class only."""
    y = _labels(y)
    score = np.asarray(score, dtype=np.float64).ravel()
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def log_loss_from_logits(y, logits) -> float:
    """Mean log-loss ``log(1 + e^z) - y z``, exact for any finite logit."""
    y = _labels(y)
    z = np.asarray(logits, dtype=np.float64).ravel()
    if y.size == 0:
        return float("nan")
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def brier(y, p) -> float:
    """Mean squared error of probabilities ``p`` against 0/1 labels."""
    y = _labels(y)
    p = np.asarray(p, dtype=np.float64).ravel()
    return float(np.mean((p - y) ** 2)) if y.size else float("nan")


def confusion(y, predicted) -> dict[str, int]:
    """Counts ``tn, fp, fn, tp`` of 0/1 predictions against 0/1 labels (1 = up)."""
    y = _labels(y).astype(bool)
    p = np.asarray(predicted).ravel().astype(bool)
    return {"tn": int((~y & ~p).sum()), "fp": int((~y & p).sum()),
            "fn": int((y & ~p).sum()), "tp": int((y & p).sum())}


def majority_class(y_train) -> int:
    """The more frequent class of the training labels (1 on a tie)."""
    y = _labels(y_train)
    return int(y.mean() >= 0.5) if y.size else 1


def evaluate(y, logits, y_train, threshold: float = 0.0) -> dict:
    """Every test metric of the summary from labels and logits.

    Parameters
    ----------
    y : array of 0/1, shape (n,)
        Labels of the evaluated part.
    logits : array, shape (n,)
        Model outputs; predicted up when ``logit > threshold``. For a logit, probabilities are
        ``expit(logits)`` (the one sigmoid of the prediction path).
    y_train : array of 0/1
        Training labels (for the majority class).
    threshold : float
        Decision threshold on ``logits`` (0 for logits: probability 1/2).

    Returns
    -------
    dict
        ``accuracy, accuracy_ci95, majority_class, majority_baseline, majority_baseline_ci95,
        p_value, auc, log_loss, brier, confusion, n, correct``.
    """
    y = _labels(y)
    z = np.asarray(logits, dtype=np.float64).ravel()
    n = int(y.size)
    predicted = z > threshold
    correct = int((predicted == (y == 1)).sum())
    maj = majority_class(y_train)
    base = float((y == maj).mean()) if n else float("nan")
    acc = correct / n if n else float("nan")
    p = expit(z)
    return {
        "accuracy": acc,
        "accuracy_ci95": list(accuracy_ci(correct, n)),
        "majority_class": maj,
        "majority_baseline": base,
        "majority_baseline_ci95": list(baseline_interval(base, n)) if n else [float("nan")] * 2,
        "p_value": binomial_p_greater(correct, n, base),
        "auc": auc(y, z),
        "log_loss": log_loss_from_logits(y, z),
        "brier": brier(y, p),
        "confusion": confusion(y, predicted),
        "n": n,
        "correct": correct,
    }


__all__ = ["accuracy_ci", "auc", "baseline_interval", "binomial_p_greater", "brier", "confusion", "evaluate",
           "log_loss_from_logits", "majority_class"]
