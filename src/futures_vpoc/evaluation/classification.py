"""Test statistics of a direction model that respect the dependence between rows.

Every metric comes with a ``level`` interval and, where a baseline exists, a one-sided p-value,
from one session block bootstrap (:mod:`.blocks`): ``n_boot`` replicates draw whole blocks of
sessions with replacement, and every metric of a replicate is a function of the drawn blocks'
sums, so one draw serves all metrics and the paired differences against their baselines.

=================  ====================  ==========================================  ==========
metric             better                baseline                                    p-value
=================  ====================  ==========================================  ==========
accuracy           higher                majority class (given, else of these rows)  one-sided
balanced_accuracy  higher                0.5                                         one-sided
auc                higher                0.5                                         one-sided
log_loss           lower                 constant forecast at the base rate          one-sided
brier              lower                 constant forecast at the base rate          one-sided
ece                lower                 none (descriptive)                          none
=================  ====================  ==========================================  ==========

Standard error: the spread of the replicates with the small-sample correction ``sqrt(K / (K - 1))``
for ``K`` blocks. Interval: ``estimate +- t(K - 1) * se``, clipped to the metric's range. p-value:
the paired difference ``d`` between the metric and its baseline on the same rows over its own
corrected bootstrap standard error, referred to Student's t with ``K - 1`` degrees of freedom:
``p = P(T > d / se)`` (losses: ``P(T > -d / se)``); this keeps small p-values resolved beyond
``1 / n_boot``. Checked by simulation (tests/test_evaluation_calibration.py): with predictions
independent of horizon-5 labels, the interval covers the truth about 95 % of the time and the 5 %
test rejects about 5 % of the time, where the independent-rows method covers about 75 % and
rejects about 25 %. Effective sample size:
``acc (1 - acc) / var*(acc)``, the number of independent rows that would give the bootstrap's
variance of the accuracy. Expected calibration error: 10 equal-width probability bins,
``sum_bins |sum (p - y)| / n``. Seeds make the result reproducible: the same inputs and seed give
the same numbers to the last bit (``futures-vpoc evaluate`` reproduces a run's ``summary.json``).

``arch.bootstrap`` offers moving and stationary block bootstraps of one series, but not resampling
of variable-size clusters (sessions) with per-replicate weights, which is what lets the AUC of a
replicate be a quadratic form (:mod:`.pairs`); hence the weights are drawn here with numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from futures_vpoc.errors import UsageError
from futures_vpoc.evaluation.blocks import MAX_BLOCKS, session_blocks
from futures_vpoc.evaluation.pairs import concordance_matrix
from futures_vpoc.evaluation.sums import N_BINS, block_sums

METHOD = "session block bootstrap"
_BOUNDS = {"log_loss": (0.0, math.inf)}
"""Range of each metric (default [0, 1]); intervals are clipped to it."""


def _check(y: np.ndarray, prob: np.ndarray, probabilistic: bool) -> None:
    if y.shape != prob.shape:
        raise UsageError(f"{len(y)} labels but {len(prob)} probabilities")
    if y.size == 0:
        raise UsageError("no rows to evaluate")
    if not np.isin(y, (0.0, 1.0)).all():
        raise UsageError("labels must be 0 or 1 (binary direction labels)")
    if not np.isfinite(prob).all():
        raise UsageError(f"{int((~np.isfinite(prob)).sum())} probabilities are not finite")
    if probabilistic and ((prob < 0).any() or (prob > 1).any()):
        raise UsageError("probabilities must lie in [0, 1]")


def _weights(n_blocks: int, n_boot: int, seed: int) -> np.ndarray:
    """Row 0: every block once (the estimate); rows 1..n_boot: multinomial block counts."""
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_blocks, np.full(n_blocks, 1.0 / n_blocks), size=n_boot)
    return np.vstack([np.ones((1, n_blocks)), draws.astype(np.float64)])


def _ratio(t: dict[str, np.ndarray], num: str, den: str) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return t[num] / t[den]


def _metric_paths(t: dict, W: np.ndarray, probabilistic: bool, c: np.ndarray | None) -> dict[str, tuple]:
    """(values, baseline values, higher_is_better) of each metric; arrays of shape (n_boot + 1,)."""
    out = {"accuracy": (_ratio(t, "correct", "n"), _ratio(t, "majority_correct", "n"), True),
           "balanced_accuracy": (0.5 * (_ratio(t, "tp", "pos") + _ratio(t, "tn", "neg")), 0.5, True)}
    if c is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["auc"] = (np.einsum("rs,rs->r", W @ c, W) / (t["pos"] * t["neg"]), 0.5, True)
    if probabilistic:
        out["log_loss"] = (_ratio(t, "log_loss", "n"), _ratio(t, "log_loss_base", "n"), False)
        out["brier"] = (_ratio(t, "brier", "n"), _ratio(t, "brier_base", "n"), False)
        gaps = np.abs(np.stack([t[f"gap{b}"] for b in range(N_BINS)])).sum(axis=0)
        out["ece"] = (gaps / t["n"], None, False)
    return out


def _spread(values: np.ndarray) -> float:
    """Standard deviation of the finite replicates (NaN with fewer than 2)."""
    ok = values[np.isfinite(values)]
    return float(np.std(ok, ddof=1)) if ok.size >= 2 else float("nan")


def _summarise(values: np.ndarray, baseline, higher: bool, level: float, n_blocks: int,
               bounds: tuple[float, float]) -> dict:
    """Estimate, interval, paired p-value against the baseline and standard error of one metric.

    ``values[0]`` is the estimate, ``values[1:]`` the replicates. The standard error is the
    replicates' spread times ``sqrt(K / (K - 1))`` for ``K`` blocks (the small-sample correction
    of cluster-robust variances, CR1); interval and p-value refer to Student's t with ``K - 1``
    degrees of freedom, so a test with few sessions is not overconfident. The interval is clipped to
    the metric's range ``bounds``.
    """
    inflate = math.sqrt(n_blocks / (n_blocks - 1.0))
    est = float(values[0])
    se = _spread(values[1:]) * inflate
    q = float(student_t.ppf(0.5 + level / 2.0, n_blocks - 1))
    lo, hi = max(bounds[0], est - q * se), min(bounds[1], est + q * se)
    entry = {"value": est, "ci_low": float(lo), "ci_high": float(hi), "se": se, "baseline": None, "p_value": None}
    if baseline is None:
        return entry
    base = np.broadcast_to(np.asarray(baseline, dtype=np.float64), values.shape)
    diff = values - base
    d_se = _spread(diff[1:]) * inflate
    d = float(diff[0]) if higher else -float(diff[0])
    if not (math.isfinite(d_se) and math.isfinite(d)):
        p = float("nan")
    elif d_se == 0.0:
        p = 0.0 if d > 0 else 1.0
    else:
        p = float(student_t.sf(d / d_se, n_blocks - 1))
    entry.update(baseline=float(base[0]), p_value=p)
    return entry


def evaluate_predictions(y, prob, trade_date, *, horizon: int = 1, threshold: float = 0.5,
                         majority: int | None = None, base_rate: float | None = None,
                         probabilistic: bool = True, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
                         max_blocks: int = MAX_BLOCKS) -> dict:
    """Every test metric with its dependence-aware interval and p-value.

    Parameters
    ----------
    y : array-like of 0/1, shape (n,)
        Labels (1 = up). Rows without a label must be removed first.
    prob : array-like of float, shape (n,)
        P(up) in [0, 1] (``probabilistic=False``: any finite score, e.g. a predicted rank).
    trade_date : array-like of dates, shape (n,)
        CME trade date of each row (the resampling unit).
    horizon : int
        Label horizon in bars (blocks of daily bars span at least this many sessions).
    threshold : float
        Up is predicted when ``prob > threshold``.
    majority : {0, 1}, optional
        The majority class of the training labels (the accuracy baseline); default the majority
        of ``y`` (ties: up).
    base_rate : float, optional
        P(up) of the training labels (the constant forecast of the loss baselines); default
        ``mean(y)``.
    probabilistic : bool
        False when ``prob`` is not a probability: log loss, Brier and ECE are then None.
    n_boot : int
        Bootstrap replicates (>= 100).
    level : float
        Interval coverage, in (0, 1).
    seed : int
        Seed of the block draws.
    max_blocks : int
        Most resampling blocks (:func:`futures_vpoc.evaluation.blocks.session_blocks`).

    Returns
    -------
    dict
        ``method, block_length, block_unit, n_blocks, n_sessions, n_boot, level, seed, n,
        effective_n, threshold, majority_class, base_rate, metrics``; ``metrics[name]`` holds
        ``value, ci_low, ci_high, se, baseline, p_value`` for accuracy, balanced_accuracy, auc,
        log_loss, brier, ece (None for a metric that does not apply: AUC with one class only,
        the losses of a non-probabilistic score).

    Raises
    ------
    UsageError
        Non-binary labels, non-finite or out-of-range probabilities, mismatched lengths, fewer than
        2 sessions, too few replicates or a level outside (0, 1).
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    prob = np.asarray(prob, dtype=np.float64).ravel()
    _check(y, prob, probabilistic)
    if int(n_boot) < 100:
        raise UsageError(f"n_boot {n_boot} is too small for an interval; use at least 100")
    if not 0.0 < level < 1.0:
        raise UsageError(f"level {level} must lie strictly between 0 and 1")
    if len(trade_date) != len(y):
        raise UsageError(f"{len(y)} labels but {len(trade_date)} trade dates")
    plan = session_blocks(trade_date, horizon=horizon, max_blocks=max_blocks)
    majority = int(np.mean(y) >= 0.5) if majority is None else int(majority)
    base_rate = float(np.mean(y)) if base_rate is None else float(base_rate)
    sums = block_sums(y, prob, plan.ids, plan.n_blocks, threshold=threshold, majority=majority,
                      base_rate=base_rate, probabilistic=probabilistic)
    W = _weights(plan.n_blocks, int(n_boot), int(seed))
    totals = {k: W @ v for k, v in sums.items()}
    both = 0 < sums["pos"].sum() < len(y)
    c = concordance_matrix(y, prob, plan.ids, plan.n_blocks) if both else None
    metrics = {name: _summarise(v, base, higher, level, plan.n_blocks, _BOUNDS.get(name, (0.0, 1.0)))
               for name, (v, base, higher) in _metric_paths(totals, W, probabilistic, c).items()}
    for name in ("auc", "log_loss", "brier", "ece"):
        metrics.setdefault(name, None)
    acc = metrics["accuracy"]
    var = acc["se"] ** 2
    n_eff = acc["value"] * (1.0 - acc["value"]) / var if var > 0 else float(len(y))
    return {"method": METHOD, "block_length": plan.sessions_per_block, "block_unit": "sessions",
            "n_blocks": plan.n_blocks, "n_sessions": plan.n_sessions, "n_boot": int(n_boot),
            "level": float(level), "seed": int(seed), "n": int(len(y)),
            "effective_n": float(min(n_eff, len(y))), "threshold": float(threshold),
            "majority_class": majority, "base_rate": base_rate, "metrics": metrics}


def naive_accuracy_test(y, prob, threshold: float = 0.5, majority: int | None = None,
                        level: float = 0.95) -> dict:
    """The independent-rows method this module replaces (exact binomial), kept for comparison.

    Returns ``{"value", "ci_low", "ci_high", "p_value"}``: the Clopper-Pearson interval and the
    one-sided binomial test against the majority rate, both treating every row as independent.
    Used by the tests to show that it over-rejects on dependent rows; never used for a verdict.
    """
    from scipy.stats import binomtest

    y = np.asarray(y, dtype=np.float64).ravel()
    prob = np.asarray(prob, dtype=np.float64).ravel()
    majority = int(np.mean(y) >= 0.5) if majority is None else int(majority)
    correct = int(((prob > threshold) == (y == 1)).sum())
    n = len(y)
    base = float(np.mean(y == majority))
    ci = binomtest(correct, n).proportion_ci(confidence_level=level, method="exact")
    p = binomtest(correct, n, min(max(base, 1e-12), 1 - 1e-12), alternative="greater").pvalue
    return {"value": correct / n, "ci_low": float(ci.low), "ci_high": float(ci.high), "p_value": float(p)}


def metrics_table(result: dict) -> pd.DataFrame:
    """The metrics of :func:`evaluate_predictions` as rows (metric, value, ci_low, ci_high, baseline, p_value)."""
    rows = [{"metric": name, **{k: m[k] for k in ("value", "ci_low", "ci_high", "baseline", "p_value")}}
            for name, m in result["metrics"].items() if m is not None]
    return pd.DataFrame(rows)


__all__ = ["METHOD", "N_BINS", "evaluate_predictions", "metrics_table", "naive_accuracy_test"]
