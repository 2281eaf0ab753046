"""Learner baselines beside the network: a logistic regression and gradient-boosted trees (LightGBM).

A researcher's first question about a network is whether a plain learner does as well. Both
baselines see exactly the network's inputs: the same scaled features, the same purged train /
validation / test parts and the same 0/1 labels (flat horizons excluded under ``direction``).
Each is scored on the test part by the same dependence-aware statistics
(:func:`futures_vpoc.ml.metrics.evaluate`), and its test probabilities are written beside the
network's so the backtest trades it by the same rule.

* ``logistic``: scikit-learn's L2-regularised logistic regression (``C = 1``, lbfgs), fit on the
  training part.
* ``lightgbm``: LightGBM's binary objective (log-loss: a proper scoring rule, so its probabilities
  are comparable), 31 leaves, at least 200 rows a leaf, row and column subsampling of 0.8,
  learning rate 0.1, up to 300 trees with early stopping on the validation log-loss (patience 20)
  -- the validation part chooses the number of trees as it chooses the network's best epoch.

Which learner is best is decided on the validation log-loss (never on test); the report names it.
The libraries are imported when a baseline is fitted, so the command line starts without them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from futures_vpoc.ml.inputs import TrainData

NAMES = ("logistic", "lightgbm")
"""The learner baselines, in report order."""
LGBM_PARAMS = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 200,
               "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "lambda_l2": 1.0,
               "verbose": -1, "num_threads": 2, "deterministic": True, "force_row_wise": True}
LGBM_ROUNDS, LGBM_PATIENCE = 300, 20


@dataclass(frozen=True)
class Baseline:
    """One fitted baseline's probabilities.

    Attributes
    ----------
    name : str
    prob_val, prob_test : numpy.ndarray of float64, shapes (n_val,), (n_test,)
        P(up) on the validation and test parts.
    prob_unscored : numpy.ndarray of float64, shape (n_flat,), or None
        P(up) on the test rows without a label (written, never scored).
    detail : str
        What was fitted, e.g. ``"87 trees (early stopping on validation log-loss)"``.
    """

    name: str
    prob_val: np.ndarray
    prob_test: np.ndarray
    prob_unscored: np.ndarray | None
    detail: str


def _logistic(data: TrainData, seed: int) -> Baseline:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=500, random_state=seed)
    model.fit(data.X_train, data.up_train)

    def prob(X):
        return None if X is None else model.predict_proba(X)[:, 1].astype(np.float64)

    iters = int(np.max(model.n_iter_))
    return Baseline("logistic", prob(data.X_val), prob(data.X_test), prob(data.X_test_unscored),
                    f"L2 logistic regression, C = 1, {iters} lbfgs iterations")


def _lightgbm(data: TrainData, seed: int) -> Baseline:
    import lightgbm as lgb

    params = {**LGBM_PARAMS, "seed": seed}
    train = lgb.Dataset(data.X_train, label=data.up_train, free_raw_data=True)
    val = lgb.Dataset(data.X_val, label=data.up_val, reference=train)
    booster = lgb.train(params, train, num_boost_round=LGBM_ROUNDS, valid_sets=[val],
                        callbacks=[lgb.early_stopping(LGBM_PATIENCE, verbose=False)])
    trees = int(booster.best_iteration or booster.current_iteration())

    def prob(X):
        return None if X is None else np.asarray(booster.predict(X, num_iteration=trees), dtype=np.float64)

    return Baseline("lightgbm", prob(data.X_val), prob(data.X_test), prob(data.X_test_unscored),
                    f"{trees} trees (early stopping on validation log-loss)")


def fit_baselines(data: TrainData, seed: int = 0) -> dict[str, Baseline]:
    """Fit every learner baseline on ``data``'s training part.

    Parameters
    ----------
    data : TrainData
        A binary target's inputs (``up_train``, ``up_val`` set).
    seed : int
        Seed of both learners.

    Returns
    -------
    dict of str to Baseline
        In :data:`NAMES` order.
    """
    return {"logistic": _logistic(data, seed), "lightgbm": _lightgbm(data, seed)}


def baseline_summaries(data: TrainData, fitted: dict[str, Baseline], test: dict, network_val_loss: float | None,
                       seed: int = 0) -> dict:
    """What ``summary.json`` holds about the baselines (``baselines``) and which learner is best.

    Parameters
    ----------
    data : TrainData
    fitted : dict of str to Baseline
    test : dict
        The network's test evaluation (its ``trade_date`` groups the bootstrap's sessions).
    network_val_loss : float or None
        The network's best validation log-loss.
    seed : int

    Returns
    -------
    dict
        ``{"learners": {name: {detail, val_log_loss, test_accuracy, test_accuracy_ci95, test_p_value,
        test_auc, test_auc_ci95, test_log_loss, test_brier, test_statistics}}, "best_learner": name,
        "best_by": "validation log-loss"}`` where ``best_learner`` is one of ``network`` and the
        baselines' names.
    """
    from scipy.special import logit

    from futures_vpoc.ml.metrics import evaluate

    learners = {}
    for name, b in fitted.items():
        p = np.clip(b.prob_test, 1e-15, 1.0 - 1e-15)
        m = evaluate(data.up_test, logit(p), data.up_train, trade_date=test.get("trade_date"), horizon=data.horizon)
        learners[name] = {"detail": b.detail, "val_log_loss": val_log_loss(data.up_val, b.prob_val),
                          **{f"test_{k}": m[k] for k in ("accuracy", "accuracy_ci95", "p_value", "auc", "auc_ci95",
                                                          "log_loss", "brier")},
                          "test_statistics": m["statistics"]}
    scores = {name: v["val_log_loss"] for name, v in learners.items()}
    if network_val_loss is not None and np.isfinite(network_val_loss):
        scores["network"] = float(network_val_loss)
    best = min(scores, key=scores.get) if scores else None
    return {"learners": learners, "best_learner": best, "best_by": "validation log-loss"}


def val_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean log-loss of probabilities ``p`` (clipped to [1e-15, 1 - 1e-15]) against 0/1 labels ``y``."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-15, 1.0 - 1e-15)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


__all__ = ["LGBM_PARAMS", "NAMES", "Baseline", "baseline_summaries", "fit_baselines", "val_log_loss"]
