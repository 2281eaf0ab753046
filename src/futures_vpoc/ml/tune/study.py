"""The search loop of ``futures-vpoc tune``: Optuna ask-and-tell in batches, trials as executor tasks.

Each batch asks Optuna (TPE, seeded) for ``batch`` trials, runs them as
:class:`~futures_vpoc.ml.executor.Task` objects through :func:`~futures_vpoc.ml.executor.run_tasks`
(serial, a process pool or Ray), then tells Optuna every trial's validation losses per epoch and
its final state, in trial order. The trials of a batch prune against the trials completed in
earlier batches (:class:`~futures_vpoc.ml.tune.trial.MedianRule`), so the same seed and batch size
give the same trials under every executor. Trials never receive the test period
(:func:`~futures_vpoc.ml.tune.trial.withhold_test`); :func:`evaluate_best` touches it once, after
the search.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from futures_vpoc.errors import UsageError
from futures_vpoc.ml.executor import executor_session
from futures_vpoc.ml.tune.space import Dim, changes, distributions
from futures_vpoc.ml.tune.trial import COMPLETE, FAIL, PRUNED, MedianRule, run_trial, withhold_test

OPTUNA_MISSING = "optuna is not installed: pip install 'futures-vpoc[tune]'"
TPE_STARTUP_TRIALS = 4
"""Trials sampled at random (seeded) before TPE models the results."""
TRIALS_DIR = "trials"
BEST_DIR = "best"


@dataclass(frozen=True)
class TuneSettings:
    """What a study runs: ``trials`` in batches of ``batch``, the TPE ``seed``, the pruning
    ``rule`` and the searched ``dims``."""

    trials: int
    batch: int
    seed: int
    rule: MedianRule
    dims: tuple[Dim, ...]


def require_optuna():
    """The optuna module, or a one-line :class:`UsageError` naming the extra to install."""
    try:
        import optuna
    except ImportError:
        raise UsageError(OPTUNA_MISSING) from None
    return optuna


def _settings_text(config) -> str:
    """The settings a stored trial must match to be reused: every field but the data path (its
    sha256 goes beside) and the output folder (a moved study still resumes)."""
    from futures_vpoc.ml.rundir import jsonable

    doc = {k: v for k, v in jsonable(config.to_dict()).items() if k not in ("data", "output_dir")}
    return json.dumps(doc, sort_keys=True, default=str)


def trial_config(base, params: dict):
    """The trial's TrainConfig: ``base`` (the fixed flags and defaults) with its ``params``."""
    return base.replace(**changes(params))


def _task(base, data, out: Path, number: int, params: dict, curves, rule, sha: str):
    from futures_vpoc.ml.executor import Task

    cfg = trial_config(base, params)
    run_dir = out / TRIALS_DIR / f"trial_{number:03d}"
    fingerprint = f"{sha}|{_settings_text(cfg)}|{rule}|{json.dumps(curves)}"
    return Task(run_dir.name, run_trial, (data, cfg, str(run_dir), curves, rule, number), folder=str(run_dir),
                fingerprint=fingerprint)


def _tell(study, trial, res: dict) -> None:
    from optuna.trial import TrialState

    for epoch, value in enumerate(res["values"], 1):
        if math.isfinite(value):
            trial.report(value, epoch)
    if res["state"] == COMPLETE:
        study.tell(trial, res["best_val_loss"])
    else:
        study.tell(trial, state=TrialState.PRUNED if res["state"] == PRUNED else TrialState.FAIL)


def run_study(base, data, out: Path, settings: TuneSettings, spec=None, sha: str = "", say=print):
    """Run the search; returns ``(records, stats)``, one record per trial in trial order.

    Parameters
    ----------
    base : futures_vpoc.ml.config.TrainConfig
        The fixed flags (and defaults) every trial starts from.
    data : futures_vpoc.ml.inputs.TrainData
        The full data; its test period is withheld from every trial here.
    out : Path
        The study folder; trial ``k`` trains into ``out/trials/trial_kkk``.
    settings : TuneSettings
    spec : futures_vpoc.ml.executor.ExecutorSpec, optional
        Serial when None.
    sha : str
        The data file's sha256 (part of each trial's resume fingerprint).
    say : callable
        Receives one progress line per trial.

    Returns
    -------
    (list of dict, futures_vpoc.ml.executor.StudyStats)
        Records with ``number``, ``params``, ``state``, ``values`` (validation loss per epoch),
        ``best_val_loss``, ``best_epoch``, ``stop_reason``, ``seconds``, ``run_dir``.
    """
    from futures_vpoc.ml.executor import StudyStats

    optuna = require_optuna()

    if not settings.dims:
        raise UsageError("nothing to search: every flag of the search space was given; leave one out")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=settings.seed, n_startup_trials=TPE_STARTUP_TRIALS)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    dists = distributions(settings.dims)
    trial_data = withhold_test(data)
    records: list[dict] = []
    stats = StudyStats()
    with executor_session(spec):
        for start in range(0, settings.trials, settings.batch):
            _batch(study, dists, settings, base, trial_data, out, sha, spec, stats, records, say)
    return records, stats


def _batch(study, dists, settings, base, trial_data, out, sha, spec, stats, records, say) -> None:
    """Ask for one batch of trials, run them, tell Optuna their results in trial order."""
    from futures_vpoc.ml.executor import run_tasks

    start = len(records)
    asked = [study.ask(dists) for _ in range(min(settings.batch, settings.trials - start))]
    curves = [r["values"] for r in records if r["state"] == COMPLETE]
    tasks = [_task(base, trial_data, out, t.number, t.params, curves, settings.rule, sha) for t in asked]
    for trial, (task, res) in zip(asked, run_tasks(tasks, spec, stats=stats)):
        _tell(study, trial, res)
        rec = {"number": trial.number, "params": dict(trial.params), **res, "run_dir": str(task.folder)}
        records.append(rec)
        say(_line(rec))


def _line(rec: dict) -> str:
    best = rec["best_val_loss"]
    params = " ".join(f"{k}={_short(v)}" for k, v in rec["params"].items())
    return (f"trial {rec['number']:3d} {rec['state']:<8} best val loss "
            f"{'n/a' if best is None else f'{best:.6f}'} after {len(rec['values'])} epochs  {params}")


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"'{value}'" if isinstance(value, str) and " " in value else str(value)


def best_trial(records: list[dict]) -> dict:
    """The completed trial with the lowest best validation loss (the lowest number on a tie).

    Raises
    ------
    UsageError
        No trial completed (all pruned or failed).
    """
    done = [r for r in records if r["state"] == COMPLETE and r["best_val_loss"] is not None]
    if not done:
        states = {s: sum(r["state"] == s for r in records) for s in (PRUNED, FAIL)}
        raise UsageError(f"no trial completed ({states[PRUNED]} pruned, {states[FAIL]} failed); "
                         "run more --trials or raise --prune_startup_trials")
    return min(done, key=lambda r: (r["best_val_loss"], r["number"]))


def _best_run(config, data, run_dir: str, meta: dict) -> dict:
    """Train the best configuration on the full data into ``run_dir`` (an executor task)."""
    from futures_vpoc.ml.executor import clear_unfinished
    from futures_vpoc.ml.trainer import Trainer

    clear_unfinished(run_dir)
    result = Trainer(config.replace(output_dir=str(run_dir)), data, Path(run_dir), console=False, meta=meta).fit()
    return {"summary": result.summary, "stop_reason": result.stop_reason}


def evaluate_best(base, data, out: Path, best: dict, meta: dict, sha: str = "") -> dict:
    """Retrain the best trial's configuration on the full data into ``out/best`` and score the test
    part there, once: the only place the study touches the test period.

    The retraining repeats the trial exactly (same seed, same training and validation rows), so its
    validation losses equal the trial's; its run directory is a normal one (``best.pt``,
    ``predictions_test.parquet``, ``summary.json``), ready for ``futures-vpoc backtest --model``.
    A rerun of the same study reuses it; a folder of another configuration is replaced.

    Returns
    -------
    dict
        ``summary`` (the run's ``summary.json``) and ``stop_reason``.
    """
    from futures_vpoc.ml.executor import DONE, Task, run_tasks

    cfg = trial_config(base, best["params"])
    run_dir = out / BEST_DIR
    fingerprint = f"{sha}|{_settings_text(cfg)}"
    marker = run_dir / DONE
    if marker.is_file():
        try:
            same = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") == fingerprint
        except (OSError, json.JSONDecodeError):
            same = False
        if not same:
            shutil.rmtree(run_dir)
    meta = {**meta, "tune_best_trial": best["number"]}
    task = Task(BEST_DIR, _best_run, (cfg, data, str(run_dir), meta), folder=str(run_dir), fingerprint=fingerprint)
    [(_, res)] = list(run_tasks([task]))
    return res


__all__ = ["BEST_DIR", "OPTUNA_MISSING", "TPE_STARTUP_TRIALS", "TRIALS_DIR", "TuneSettings", "best_trial", "evaluate_best",
           "require_optuna", "run_study", "trial_config"]
