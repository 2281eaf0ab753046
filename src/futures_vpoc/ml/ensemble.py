"""The seed's Strategy 3: one small model per feature group, combined with weights fit on validation.

Each member is a normal training run (``DIR/<group>``) on the features of one group only; every
member sees the same bars, horizon, split and ``data_fraction``. The members' validation
probabilities are combined linearly, ``p = sum_k w_k p_k`` with ``w_k >= 0`` and ``sum w_k = 1``;
the weights minimise the validation log-loss (:func:`fit_weights`: SLSQP on the simplex, and every
single member and the uniform mix as candidate points, so the ensemble's validation log-loss is
never worse than its best member's). The test part is used once, at the end, and scored like a
single model (accuracy with its exact interval, majority baseline, p-value, AUC, log-loss).

Rows: the members' validation and test timestamps should agree (the split boundaries depend only on
the bars and the labels). If a group's longer warm-up removes rows, the members are combined on
the timestamps they share and the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from futures_vpoc import progress
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.labels import is_binary
from futures_vpoc.ml.config import TrainConfig
from futures_vpoc.ml.executor import ExecutorSpec
from futures_vpoc.ml.inputs import TrainData
from futures_vpoc.ml.metrics import auc, evaluate
from futures_vpoc.ml.predfile import FILE, training_facts, with_unscored, write_predictions_file
from futures_vpoc.ml.rundir import jsonable, write_json

DEFAULT_GROUPS: tuple[str, ...] = ("price", "volume", "volatility")
MEMBER_DIMS: tuple[int, ...] = (32, 16)
"""The seed's member size (Strategy 3)."""

EPS = 1e-15


def prob_log_loss(y, p) -> float:
    """Mean log-loss of probabilities ``p`` (clipped to [EPS, 1 - EPS]) against 0/1 labels."""
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.clip(np.asarray(p, dtype=np.float64).ravel(), EPS, 1.0 - EPS)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def fit_weights(P: np.ndarray, y) -> tuple[np.ndarray, float, str]:
    """Non-negative weights summing to 1 that minimise the log-loss of ``P @ w`` against ``y``.

    Parameters
    ----------
    P : array, shape (n, k)
        Members' probabilities of "up".
    y : array of 0/1, shape (n,)

    Returns
    -------
    weights : array, shape (k,)
    log_loss : float
        Validation log-loss of the mix: at most every member's own (each vertex is a candidate).
    how : str
        Which candidate won (``optimised``, ``uniform`` or ``member <k>``).
    """
    from scipy.optimize import minimize

    P = np.asarray(P, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    n, k = P.shape
    if n == 0 or k == 0:
        raise UsageError("cannot fit ensemble weights on an empty validation part")

    def loss(w):
        return prob_log_loss(y, P @ w)

    candidates = [(np.eye(k)[j], f"member {j}") for j in range(k)] + [(np.full(k, 1.0 / k), "uniform")]
    if k > 1:
        def grad(w):
            p = np.clip(P @ w, EPS, 1.0 - EPS)
            return -(P.T @ (y / p - (1.0 - y) / (1.0 - p))) / n

        start = min(candidates, key=lambda c: loss(c[0]))[0] * 0.5 + 0.5 / k
        res = minimize(loss, start, jac=grad, method="SLSQP", bounds=[(0.0, 1.0)] * k,
                       constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0}],
                       options={"maxiter": 200, "ftol": 1e-12})
        w = np.clip(np.asarray(res.x, dtype=np.float64), 0.0, None)
        if w.sum() > 0 and np.all(np.isfinite(w)):
            candidates.append((w / w.sum(), "optimised"))
    scored = [(loss(w), i, w, how) for i, (w, how) in enumerate(candidates)]
    best = min(scored, key=lambda s: (s[0], -s[1]))  # ties: prefer the later (optimised, uniform) point
    return best[2], float(best[0]), best[3]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


def _take(stamps, common, values: np.ndarray) -> np.ndarray:
    if common is None:
        return np.asarray(values)
    idx = stamps.get_indexer(common)
    return np.asarray(values)[idx]


@dataclass
class Member:
    """One feature group's run and its probabilities on the shared validation and test rows."""

    group: str
    run_dir: Path | None
    summary: dict
    n_features: int
    p_val: np.ndarray
    p_test: np.ndarray


@dataclass
class EnsembleResult:
    """Members, weights and metrics of the ensemble."""

    out_dir: Path
    members: list[Member]
    weights: np.ndarray
    chosen: str
    val: dict
    member_val: dict
    test: dict
    member_test: dict
    aligned_note: str | None
    n_val: int
    n_test: int
    predictions: tuple | None = None
    """(test timestamps, ensemble probabilities, labels, forward returns, trade dates, training facts)
    for predictions_test.parquet."""
    skipped: dict = field(default_factory=dict)
    """``{group: reason}`` of the members left out (no usable rows)."""
    resumed: list = field(default_factory=list)
    """Members whose stored result was reused (not trained again); not part of ``ensemble.json``."""

    def to_dict(self) -> dict:
        return jsonable({
            "groups": [m.group for m in self.members],
            "weights": {m.group: float(w) for m, w in zip(self.members, self.weights)},
            "weights_chosen": self.chosen,
            "weights_fit_on": "validation log-loss (non-negative, summing to 1)",
            "n_val": self.n_val, "n_test": self.n_test,
            "rows_note": self.aligned_note,
            "skipped_members": dict(self.skipped),
            "members": [{"group": m.group, "run_dir": str(m.run_dir) if m.run_dir else None,
                         "n_features": m.n_features, "hidden_dims": m.summary.get("hidden_dims"),
                         "param_count": m.summary.get("param_count"),
                         "stop_reason": m.summary.get("stop_reason"),
                         "best_val_loss": m.summary.get("best_val_loss"),
                         "nan_rate_max": m.summary.get("nan_rate_max"),
                         "features_kept": m.summary.get("features_kept"),
                         "features_dropped": m.summary.get("features_dropped"),
                         "val": self.member_val[m.group], "test": self.member_test[m.group]}
                        for m in self.members],
            "ensemble": {"val": self.val, "test": self.test},
        })


def _val_metrics(y, p) -> dict:
    y = np.asarray(y, dtype=np.float64)
    return {"log_loss": prob_log_loss(y, p), "accuracy": float(((np.asarray(p) > 0.5) == (y == 1)).mean()),
            "auc": auc(y, p), "n": int(y.size)}


def _test_metrics(y, p, y_train, trade_date=None, horizon: int = 1) -> dict:
    m = evaluate(y, _logit(p), y_train, trade_date=trade_date, horizon=horizon)
    m["log_loss"] = prob_log_loss(y, p)
    return m


def run_ensemble(config: TrainConfig, datas: Mapping[str, TrainData], out_dir: str | Path, *,
                 meta: dict | None = None, console: bool = True,
                 after_run: Callable[[Path], None] | None = None,
                 skipped: Mapping[str, str] | None = None,
                 executor: ExecutorSpec | None = None, resumable: bool = False) -> EnsembleResult:
    """Train one member per group of ``datas`` into ``out_dir/<group>`` and combine them on validation.

    Parameters
    ----------
    config : TrainConfig
        Settings of every member (``features`` and ``output_dir`` are replaced per member).
    datas : mapping of group name to TrainData
        Each group's rows, built with the same bars, horizon, split and data fraction.
    out_dir : path
        The ensemble folder (written by :func:`write_ensemble_report`).
    after_run : callable, optional
        Called with each member's run directory after it is written (the CLI writes its analysis).
    skipped : mapping of group name to reason, optional
        Members left out before training (no usable rows); recorded in the report.
    executor : ExecutorSpec, optional
        How the members train (:func:`futures_vpoc.ml.executor.run_tasks`): serial (None, the
        default) one after another in this process, ``local`` or ``ray`` at once. The members are
        combined in group order whatever finished first, so the result is the same.
    resumable : bool
        False (default): each member gets a fresh folder (``DIR/<group>``, or a ``run_*``
        subfolder of it when that holds files). True (the CLI, which claims ``DIR`` for this
        study): member ``g`` trains into ``DIR/<g>`` and leaves ``done.json``/``done.pkl`` there; a
        rerun reuses a member whose marker matches its settings (listed in ``result.resumed``),
        retrains one without a marker from a clean folder and refuses one of other settings.
    """
    from futures_vpoc.ml.evaluation import trade_dates_of
    from futures_vpoc.ml.executor import StudyStats, Task, run_tasks
    from futures_vpoc.ml.rundir import resolve_run_dir
    from futures_vpoc.ml.scaleup import task_fingerprint

    if not is_binary(config.target):
        raise UsageError("ensemble combines probabilities of 'up': use --target direction (or up_or_not)")
    if config.resume:
        raise UsageError("ensemble does not resume with --resume; run the same command into the same --output_dir")
    if len(datas) < 1:
        raise UsageError("--groups: give at least one feature group")
    groups = list(datas)
    for name in ("t_val", "t_test"):
        stamps = [getattr(datas[g], name) for g in groups]
        if any(s is None for s in stamps) and len({len(getattr(datas[g], "y_" + name[2:])) for g in groups}) > 1:
            raise DataError(f"ensemble members have different {name[2:]} rows and no timestamps to align them")
    out = Path(out_dir)
    trained = []
    unscored: dict = {}  # group -> P(up) on the test rows without a label (flat horizons)
    tasks = []
    for g in groups:
        run_dir, note = (out / g, None) if resumable else resolve_run_dir(out / g)
        cfg = config.replace(features=(g,), output_dir=str(run_dir), baselines=False)  # one group each: no baselines
        member_meta = {**(meta or {}), "ensemble": {"group": g}}
        args = (cfg, datas[g], str(run_dir), member_meta, console, note, resumable)
        tasks.append(Task(g, _train_member, args, folder=str(run_dir), fingerprint=task_fingerprint(cfg, member_meta))
                     if resumable else Task(g, _train_member, args))
    stats = StudyStats()
    done = run_tasks(tasks, executor, stats=stats)
    for task, (run_dir, summary, p_val, p_test, flat) in progress.bar(done, desc="ensemble members", unit="member",
                                                                      total=len(tasks), enabled=console):
        g, data = task.key, datas[task.key]
        if g in stats.resumed and console:
            progress.say(f"ensemble: member {g}: finished before, not trained again")
        if after_run is not None and run_dir is not None:
            after_run(run_dir)
        trained.append((g, run_dir, summary, data, p_val, p_test))
        if flat is not None:
            unscored[g] = flat
    notes = []
    aligned = {}
    for part in ("val", "test"):
        stamps = [getattr(d, f"t_{part}") for _, _, _, d, _, _ in trained]
        if any(s is None for s in stamps):
            aligned[part] = None
            continue
        common = stamps[0]
        for s in stamps[1:]:
            common = common.intersection(s)
        if len(common) == 0:
            raise DataError(f"ensemble members share no {part} rows", hint="use more data")
        if any(not s.equals(common) for s in stamps):
            notes.append(f"{part}: members' rows differ (warm-up by group); combined on the {len(common):,} "
                         f"timestamps all share (of {', '.join(f'{len(s):,}' for s in stamps)})")
        aligned[part] = common
    members = []
    y = {}
    for g, run_dir, summary, data, pv, pt in trained:
        cv, ct = aligned["val"], aligned["test"]
        pv = _take(data.t_val, cv, pv) if cv is not None else pv
        pt = _take(data.t_test, ct, pt) if ct is not None else pt
        y.setdefault("val", _take(data.t_val, cv, data.up_val) if cv is not None else data.up_val)
        y.setdefault("test", _take(data.t_test, ct, data.up_test) if ct is not None else data.up_test)
        y.setdefault("fwd", None if data.fwd_test is None else (_take(data.t_test, ct, data.fwd_test)
                                                                 if ct is not None else data.fwd_test))
        y.setdefault("t_test", ct if ct is not None else data.t_test)
        members.append(Member(g, run_dir, summary, data.n_features, np.asarray(pv), np.asarray(pt)))
    y_train = max((d.up_train for _, _, _, d, _, _ in trained), key=len)
    P_val = np.column_stack([m.p_val for m in members])
    P_test = np.column_stack([m.p_test for m in members])
    weights, val_loss, chosen = fit_weights(P_val, y["val"])
    member_val = {m.group: _val_metrics(y["val"], m.p_val) for m in members}
    best_member = min(v["log_loss"] for v in member_val.values())
    if not val_loss <= best_member + 1e-12:  # fit_weights has every member as a candidate point
        raise RuntimeError(f"ensemble validation log-loss {val_loss} above its best member's {best_member}")
    p_val, p_test = P_val @ weights, P_test @ weights
    val = _val_metrics(y["val"], p_val)
    val["best_member_log_loss"] = best_member
    dates = trade_dates_of(y["t_test"]) if y["t_test"] is not None else None
    horizon = trained[0][3].horizon
    member_test = {m.group: _test_metrics(y["test"], m.p_test, y_train, dates, horizon) for m in members}
    test = _test_metrics(y["test"], p_test, y_train, dates, horizon)
    facts = training_facts(test, horizon=horizon, target=config.target, threshold=0.5,
                           base_rate=float(np.mean(y_train)) if len(y_train) else 0.5)
    rows = _with_unscored((y["t_test"], p_test, y["test"], y["fwd"], dates), unscored, [m.group for m in members],
                          weights, trade_dates_of)
    result = EnsembleResult(out, members, weights, chosen, val, member_val, test, member_test,
                            "; ".join(notes) or None, int(len(y["val"])), int(len(y["test"])), (*rows, facts),
                            dict(skipped or {}), list(stats.resumed))
    return result


def _train_member(cfg: TrainConfig, data: TrainData, run_dir: str, meta: dict, console: bool,
                  note: str | None, fresh: bool = False) -> tuple:
    """One member as an executor task: ``(run_dir, summary, P(up) val, P(up) test, P(up) of the
    unlabelled test rows as a Series or None)``. ``fresh``: first remove what an interrupted attempt
    left in ``run_dir`` (no ``done.json``)."""
    from futures_vpoc.ml.executor import clear_unfinished
    from futures_vpoc.ml.model import predict_logits, probabilities
    from futures_vpoc.ml.trainer import Trainer

    if fresh:
        clear_unfinished(run_dir)
    g = cfg.features[0]
    if note and console:
        progress.say(note)
    if console:
        progress.say(f"ensemble: member {g} ({data.n_features} features)")
    trainer = Trainer(cfg, data, Path(run_dir), meta=meta, console=console)
    result = trainer.fit()
    z_val = np.nan_to_num(predict_logits(trainer.model, data.X_val), nan=0.0, posinf=1e30, neginf=-1e30)
    z_test = np.nan_to_num(predict_logits(trainer.model, data.X_test), nan=0.0, posinf=1e30, neginf=-1e30)
    summary = {**result.summary, "hidden_dims": list(cfg.hidden_dims)}
    flat = None
    if data.X_test_unscored is not None and data.t_test_unscored is not None:
        z_flat = np.nan_to_num(predict_logits(trainer.model, data.X_test_unscored), nan=0.0, posinf=1e30,
                               neginf=-1e30)
        flat = pd.Series(probabilities(z_flat), index=data.t_test_unscored)
    return result.run_dir, summary, probabilities(z_val), probabilities(z_test), flat


def _with_unscored(rows: tuple, unscored: dict, groups: list[str], weights: np.ndarray, dates_of) -> tuple:
    """The scored test rows plus the flat-horizon rows every member predicted, mixed by the same
    weights, unlabelled (NaN), forward return 0, in time order; unchanged when there are none.

    A backtest of the ensemble's predictions then trades every test bar, as for a single run
    (:func:`futures_vpoc.ml.records.write_predictions`)."""
    stamps, p, label, fwd, dates = rows
    if stamps is None or dates is None or len(unscored) != len(groups):
        return rows
    common = unscored[groups[0]].index
    for g in groups[1:]:
        common = common.intersection(unscored[g].index)
    if len(common) == 0:
        return rows
    p_flat = np.column_stack([unscored[g].reindex(common).to_numpy() for g in groups]) @ weights
    cols = {"prob": p, "label": np.asarray(label, np.float64), "trade_date": dates}
    if fwd is not None:
        cols["fwd_return"] = np.asarray(fwd, np.float64)
    stamps, cols = with_unscored(stamps, cols, common, {"prob": p_flat, "trade_date": dates_of(common),
                                                        "fwd_return": np.zeros(len(common))})
    return stamps, cols["prob"], cols["label"], cols.get("fwd_return"), cols["trade_date"]


def _num(v, fmt: str) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def ensemble_markdown(result: EnsembleResult) -> str:
    """Members' and the ensemble's metrics, as Markdown."""
    lines = ["# Feature-group ensemble", "",
             f"Members: {', '.join(m.group for m in result.members)}; weights fit on the validation part "
             f"({result.n_val:,} rows) by minimising log-loss, non-negative and summing to 1 "
             f"(chosen: {result.chosen}). Test part: {result.n_test:,} rows, used once.", ""]
    if result.aligned_note:
        lines += [f"Rows: {result.aligned_note}.", ""]
    for g, why in result.skipped.items():
        lines += [f"Skipped member {g}: {why}.", ""]
    lines += ["| model | weight | features | val log-loss | val accuracy | test accuracy [95% CI] | majority "
              "baseline | p-value | test AUC | test log-loss |",
              "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]

    def row(name, weight, nfeat, v, t):
        lo, hi = t["accuracy_ci95"]
        return (f"| {name} | {weight} | {nfeat} | {_num(v['log_loss'], '.6f')} | {_num(v['accuracy'], '.4f')} "
                f"| {_num(t['accuracy'], '.4f')} [{_num(lo, '.4f')}, {_num(hi, '.4f')}] "
                f"| {_num(t['majority_baseline'], '.4f')} | {_num(t['p_value'], '.3g')} | {_num(t['auc'], '.4f')} "
                f"| {_num(t['log_loss'], '.6f')} |")

    for m, w in zip(result.members, result.weights):
        lines.append(row(m.group, f"{w:.3f}", m.n_features, result.member_val[m.group], result.member_test[m.group]))
    lines.append(row("**ensemble**", "1.000", sum(m.n_features for m in result.members), result.val, result.test))
    lines += ["", f"Ensemble validation log-loss {result.val['log_loss']:.6f} vs best member "
                  f"{result.val['best_member_log_loss']:.6f} (never worse: every member is a candidate weighting).",
              "", "Member run directories: " + ", ".join(f"`{m.run_dir}`" for m in result.members) + "."]
    return "\n".join(lines) + "\n"


def write_ensemble_report(result: EnsembleResult) -> tuple[Path, Path]:
    """Write ``ensemble.json``, ``ensemble.md`` and ``predictions_test.parquet`` into the ensemble folder."""
    from futures_vpoc.data.barframe import atomic_write

    out = Path(result.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "ensemble.json", result.to_dict())
    text = ensemble_markdown(result)
    atomic_write(out / "ensemble.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    pred = result.predictions
    if pred is not None:
        stamps, p, label, fwd, dates, facts = pred
        extra = {"logit": _logit(p)}
        if fwd is not None:
            extra["fwd_return"] = np.asarray(fwd, dtype=np.float64)
        write_predictions_file(out / FILE, stamps, p, label, dates, facts, extra)
    return out / "ensemble.json", out / "ensemble.md"


__all__ = ["DEFAULT_GROUPS", "MEMBER_DIMS", "EnsembleResult", "Member", "ensemble_markdown", "fit_weights",
           "prob_log_loss", "run_ensemble", "write_ensemble_report"]
