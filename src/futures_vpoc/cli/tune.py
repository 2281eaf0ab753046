"""``futures-vpoc tune``: an Optuna search over the train flags, on the validation period only.

Accepts every ``futures-vpoc train`` flag (copied from the registered ``train`` parser). A train
flag given explicitly is fixed; the other flags of the search space
(:mod:`futures_vpoc.ml.tune.space`) are searched with TPE (seeded by ``--seed``) and median pruning
on the validation loss per epoch. Trials run in batches through the executor (``--executor``,
``--workers``, ``--ray-address``, ``--batch-trials``); the same seed and batch size give the same
trials under every executor. No trial receives the test period; the best trial's configuration is
retrained into ``DIR/best`` and scored on the test period once, at the end.

Writes into ``--output_dir DIR``: ``study.json``, ``trials/trial_KKK/`` (a run directory per trial),
``best/``, ``trials.csv``, ``tune.json``, ``best_command.txt`` and ``tune.md``. The same command run
again into ``DIR`` resumes (finished trials are reused); other settings into a non-empty ``DIR`` are
refused. Exit status 0 when the report was written, 2 for a usage or data error.
"""

from __future__ import annotations

import sys
from pathlib import Path

from futures_vpoc.errors import DataError, UsageError

DEFAULT_DIR = "runs/tune"
_DESCRIPTION = """\
Search the train flags with Optuna (TPE seeded by --seed, median pruning on the validation loss per
epoch) on the training and validation periods only. Train flags given explicitly are fixed; the
others of the search space are searched:
{space}
Trials train into DIR/trials/trial_KKK (batches of --batch-trials, run by --executor); the best
(lowest validation loss among completed trials) is retrained into DIR/best and scored on the test
period once, at the end. Writes DIR/tune.md, tune.json, trials.csv and best_command.txt (a runnable
`futures-vpoc train` line). --output_dir DIR (default runs/tune): the same command again into DIR
resumes; other settings into a non-empty DIR are refused. --data takes a merged bar file or a\nbar dataset folder (read whole).
"""


def add_tune_parser(subparsers):
    """Register ``tune`` on ``subparsers`` (after ``train``)."""
    from futures_vpoc.cli.scaleup import _add_from_train, add_executor_flags
    from futures_vpoc.ml.tune.space import help_rows

    p = _add_from_train(subparsers, "tune",
                        "search the train flags with Optuna on the validation period; test once at the end",
                        _DESCRIPTION.format(space="\n".join(f"      {row}" for row in help_rows())))
    p.add_argument("--trials", type=int, default=None, metavar="N", help="trials to run (required, >= 1)")
    p.add_argument("--batch-trials", "--batch_trials", dest="batch_trials", type=int, default=None, metavar="K",
                   help="trials asked of Optuna at once and run in parallel; the same value gives the same trials "
                        "under every executor (default: 1 with --executor serial, else --workers)")
    p.add_argument("--prune_startup_trials", "--prune-startup-trials", dest="prune_startup_trials", type=int,
                   default=3, metavar="N", help="no pruning before N trials completed (default 3)")
    p.add_argument("--prune_warmup_epochs", "--prune-warmup-epochs", dest="prune_warmup_epochs", type=int,
                   default=2, metavar="E", help="no pruning in a trial's first E epochs (default 2)")
    add_executor_flags(p)
    return p


def load_data(config):
    """The full :class:`~futures_vpoc.ml.inputs.TrainData` of ``config`` (as ``train`` builds it)."""
    from futures_vpoc.cli.train import _load

    return _load(config)


def _whole(name: str, value, low: int) -> int:
    if value is None or isinstance(value, bool) or int(value) < low:
        raise UsageError(f"{name} {value!r}: use a whole number >= {low}")
    return int(value)


def _settings(args):
    """Config, fixed flags, searched dims, executor spec, batch size and pruning rule (checked)."""
    from futures_vpoc.ml.config import config_from_namespace
    from futures_vpoc.ml.executor import ExecutorSpec
    from futures_vpoc.ml.tune.space import searched
    from futures_vpoc.ml.tune.study import TuneSettings, require_optuna
    from futures_vpoc.ml.tune.trial import MedianRule

    if args.trials is None:
        raise UsageError("--trials N is required (the number of trials to run)")
    trials = _whole("--trials", args.trials, 1)
    spec = ExecutorSpec.from_args(args)
    batch = args.batch_trials if args.batch_trials is not None else (1 if spec.kind == "serial" else spec.n_workers)
    batch = _whole("--batch-trials", batch, 1)
    rule = MedianRule(_whole("--prune_startup_trials", args.prune_startup_trials, 0),
                      _whole("--prune_warmup_epochs", args.prune_warmup_epochs, 0))
    config, given = config_from_namespace(args)
    if config.resume:
        raise UsageError("tune does not take --resume; run the same tune command again to resume it")
    if config.data is None:
        raise UsageError("--data FILE is required (a merged bar file, e.g. from `futures-vpoc data synth`)")
    if not Path(config.data).exists():
        raise DataError("file not found", file=config.data, hint="check --data")
    fixed = sorted(given - {"data", "output_dir"})
    dims = searched(set(fixed))
    if not dims:
        raise UsageError("nothing to search: every flag of the search space was given; leave one out")
    require_optuna()  # before the slow part
    return config, fixed, dims, spec, TuneSettings(trials, batch, int(config.seed), rule, dims)


def cmd_tune(args) -> int:
    """Run ``futures-vpoc tune``; 0 when the report was written."""
    from futures_vpoc.cli.study import claim_study, write_study
    from futures_vpoc.data.barframe import file_sha256
    from futures_vpoc.ml.rundir import jsonable
    from futures_vpoc.ml.tune.report import best_command, write_report
    from futures_vpoc.ml.tune.study import BEST_DIR, best_trial, evaluate_best, run_study, trial_config

    from futures_vpoc.report.tracking import check_tracking

    config, fixed, dims, spec, settings = _settings(args)
    check_tracking(args)
    out = Path(getattr(args, "output_dir", None) or DEFAULT_DIR)
    sha = file_sha256(config.data)
    fixed_config = {k: v for k, v in jsonable(config.to_dict()).items() if k not in ("data", "output_dir")}
    prune = {"startup_trials": settings.rule.startup_trials, "warmup_epochs": settings.rule.warmup_epochs}
    claim = claim_study(out, {"data_sha256": sha, "config": fixed_config, "fixed": fixed,
                              "searched": [d.name for d in dims], "batch_trials": settings.batch, "prune": prune},
                        "tune", foreign="refuse")
    data = load_data(config)
    write_study(claim)
    base = config.replace(output_dir=str(out))
    records, stats = run_study(base, data, out, settings, spec, sha, say=lambda s: print(s, flush=True))
    best = best_trial(records)
    argv = list(getattr(args, "argv", None) or sys.argv[1:])
    meta = {"data_sha256": sha, "data_file": str(Path(config.data).resolve()), "argv": argv}
    res = evaluate_best(base, data, out, best, meta, sha)  # the only use of the test period
    summary = res["summary"] or {}
    best_cfg = trial_config(base, best["params"])
    command = best_command(best_cfg, set(fixed) | {d.name for d in dims} | {"seed"}, out)
    backtest = (f"futures-vpoc backtest --data {config.data} --model {out / BEST_DIR} "
                f"--output_dir {out / 'backtest'} --trials {settings.trials}")
    doc = {"data": str(config.data), "data_sha256": sha, "trials": settings.trials, "seed": settings.seed,
           "batch_trials": settings.batch, "executor": spec.kind, "searched": [d.name for d in dims],
           "space": [d.text() for d in dims], "fixed": fixed,
           "prune": {"startup_trials": settings.rule.startup_trials, "warmup_epochs": settings.rule.warmup_epochs},
           "trial_records": records, "best": {k: best[k] for k in ("number", "params", "best_val_loss", "best_epoch")},
           "best_config": best_cfg.to_dict(), "best_command": command, "best_dir": str(out / BEST_DIR),
           "test": summary, "test_evaluations": 1, "test_evaluated_after_trials": settings.trials,
           "resumed_trials": list(stats.resumed), "backtest_command": backtest}
    paths = write_report(out, doc)
    print(f"best trial {best['number']}: validation loss {best['best_val_loss']:.6f}  {command}", flush=True)
    acc, auc = summary.get("test_accuracy"), summary.get("test_auc")
    print(f"test evaluated once, after {settings.trials} trials: accuracy "
          f"{'n/a' if acc is None else f'{acc:.4f}'}, AUC {'n/a' if auc is None else f'{auc:.4f}'} "
          f"({out / BEST_DIR})", flush=True)
    print(f"backtest it: {backtest}", flush=True)
    print("wrote " + ", ".join(str(p) for p in paths), flush=True)
    _track(args, out, claim, records, best, summary)
    return 0


def _track(args, out: Path, claim, records: list, best: dict, summary: dict) -> None:
    """With ``--mlflow``: the study as one parent run, a nested run per trial and one for ``best``."""
    import json

    from futures_vpoc.ml.tune.study import BEST_DIR
    from futures_vpoc.report.tracking import Child, log_study, track

    children = [Child(f"trial_{r['number']:03d}", Path(r["run_dir"]),
                      tags={"status": str(r["state"]).lower(), "trial": r["number"]},
                      metrics={"best_val_loss": r["best_val_loss"]}) for r in records]
    children.append(Child(BEST_DIR, out / BEST_DIR, tags={"trial": best["number"], "test_evaluated": "once"}))
    metrics = {"best_val_loss": best["best_val_loss"], "trials": len(records),
               **{k: v for k, v in summary.items() if k.startswith("test_") and isinstance(v, (int, float))}}
    track(args, "tune", log_study, f"tune {out.name}", json.loads(claim.text), children,
          [out / n for n in ("tune.md", "trials.csv", "best_command.txt", "study.json")], metrics,
          {"best_trial": str(best["number"])})


__all__ = ["add_tune_parser", "cmd_tune", "load_data"]
