"""Classification metrics of a direction model (numpy and scipy only).

All functions take 0/1 labels and either logits or probabilities as 1-D arrays. Intervals and
p-values come from :func:`futures_vpoc.evaluation.evaluate_predictions` (a session block bootstrap)
whenever the rows' trade dates are known, because rows of one session and overlapping labels are
not independent evidence. Only without trade dates does :func:`evaluate` fall back to the exact
binomial interval and test, which treat every row as independent, and it says so
(``statistics_method``).

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


def _independent_rows(correct: int, n: int, base: float, sessions: int | None = None) -> dict:
    """The fallback without two sessions to resample: exact binomial interval and test (rows taken as
    independent, which overlapping labels are not: the interval is too narrow and says so)."""
    why = ("no trade dates" if sessions is None else
           f"{sessions} test session{'s' if sessions != 1 else ''}, too few to resample")
    return {"accuracy_ci95": list(accuracy_ci(correct, n)),
            "majority_baseline_ci95": list(baseline_interval(base, n)) if n else [float("nan")] * 2,
            "p_value": binomial_p_greater(correct, n, base), "auc_ci95": None, "statistics": None,
            "statistics_method": f"independent rows (exact binomial; {why}, so the dependence of overlapping "
                                 "labels is ignored and the interval is too narrow)"}


def _dependence_aware(y, score, trade_date, horizon, threshold, maj, base_rate, probabilistic) -> dict:
    """Intervals and p-values from the session block bootstrap (:mod:`futures_vpoc.evaluation`)."""
    from futures_vpoc.evaluation import evaluate_predictions

    stats = evaluate_predictions(y, score, trade_date, horizon=horizon, threshold=threshold, majority=maj,
                                 base_rate=base_rate, probabilistic=probabilistic)
    acc, auc_m = stats["metrics"]["accuracy"], stats["metrics"]["auc"]
    return {"accuracy_ci95": [acc["ci_low"], acc["ci_high"]], "majority_baseline_ci95": None,
            "p_value": acc["p_value"], "auc_ci95": None if auc_m is None else [auc_m["ci_low"], auc_m["ci_high"]],
            "statistics": stats, "statistics_method": stats["method"]}


def evaluate(y, logits, y_train, threshold: float = 0.0, trade_date=None, horizon: int = 1,
             probabilistic: bool = True) -> dict:
    """Every test metric of the summary from labels and logits.

    Parameters
    ----------
    y : array of 0/1, shape (n,)
        Labels of the evaluated part.
    logits : array, shape (n,)
        Model outputs; predicted up when ``logit > threshold``. For a logit, probabilities are
        ``expit(logits)`` (the one sigmoid of the prediction path).
    y_train : array of 0/1
        Training labels (for the majority class and the base rate of the loss baselines).
    threshold : float
        Decision threshold on ``logits`` (0 for logits: probability 1/2).
    trade_date : array of dates, shape (n,), optional
        Trade date of each row: intervals and p-values then resample whole sessions. Without it
        (or with a single session) they treat rows as independent, and ``statistics_method`` says so.
    horizon : int
        Label horizon in bars (resampling blocks of daily bars span it).
    probabilistic : bool
        False when ``logits`` is a score, not a logit (the rank target): the dependence-aware
        statistics then take the score itself, with ``threshold``, and skip the losses.

    Returns
    -------
    dict
        ``accuracy, accuracy_ci95, majority_class, majority_baseline, majority_baseline_ci95 (None
        with trade dates), p_value, auc, auc_ci95, log_loss, brier, confusion, n, correct,
        statistics`` (the full :func:`futures_vpoc.evaluation.evaluate_predictions` result, or None)
        and ``statistics_method``.
    """
    y = _labels(y)
    z = np.asarray(logits, dtype=np.float64).ravel()
    n = int(y.size)
    predicted = z > threshold
    correct = int((predicted == (y == 1)).sum())
    maj = majority_class(y_train)
    base = float((y == maj).mean()) if n else float("nan")
    p = expit(z)
    sessions = 0 if trade_date is None else len(np.unique(np.asarray(trade_date, dtype="datetime64[D]")))
    if sessions >= 2:
        score, cut = (p, 0.5) if probabilistic else (z, threshold)
        train = _labels(y_train)
        rate = float(train.mean()) if train.size else 0.5
        inference = _dependence_aware(y, score, trade_date, horizon, cut, maj, rate, probabilistic)
    else:
        inference = _independent_rows(correct, n, base, None if trade_date is None else sessions)
    return {
        "accuracy": correct / n if n else float("nan"),
        "majority_class": maj,
        "majority_baseline": base,
        "auc": auc(y, z),
        "log_loss": log_loss_from_logits(y, z),
        "brier": brier(y, p),
        "confusion": confusion(y, predicted),
        "n": n,
        "correct": correct,
        **inference,
    }


__all__ = ["accuracy_ci", "auc", "baseline_interval", "binomial_p_greater", "brier", "confusion", "evaluate",
           "log_loss_from_logits", "majority_class"]
