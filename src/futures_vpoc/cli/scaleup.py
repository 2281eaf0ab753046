"""``futures-vpoc scale-up`` and ``futures-vpoc ensemble``: the seed's Strategies 2 and 3.

Both accept every flag of ``futures-vpoc train`` (copied from the registered ``train`` parser, so
the two never drift apart; register ``train`` first) and carry them to each run they start:

* ``scale-up --ladder "64 32 16" "128 64 32" ...`` trains each rung into ``DIR/<arch>`` and stops at
  the first that fails its stability or validation gate (:mod:`futures_vpoc.ml.scaleup`); writes
  ``DIR/scaleup.md`` and ``DIR/scaleup.json``. ``--hidden_dims`` is replaced by the ladder.
* ``ensemble --groups price volume volatility`` trains one member per feature group into
  ``DIR/<group>`` (``--hidden_dims`` default 32 16, the seed's) and combines them with weights fit on
  validation (:mod:`futures_vpoc.ml.ensemble`); writes ``DIR/ensemble.md``, ``DIR/ensemble.json``
  and ``DIR/predictions_test.parquet``. ``--features`` is replaced by the groups.

Both stop before any feature is built when the file holds too few sessions for the split. In
``ensemble`` a group without usable rows (its features all dropped, a part empty) is skipped with
its reason printed and listed under ``skipped_members`` in ``ensemble.json``; fewer than 2 usable
members (of 2 or more asked) is a one-line usage error (exit 2).

The runs are independent trainings: ``--executor local --workers N`` trains N at once in a process
pool, ``--executor ray [--ray-address ADDR]`` on a Ray cluster (:mod:`futures_vpoc.ml.executor`);
the results are combined in ladder/group order, so the output is that of the default ``serial``.

Resume (:func:`futures_vpoc.cli.study.claim_study`): each study writes ``DIR/study.json`` (data sha256, ladder or groups,
the training settings, package version) before its first training, and each rung or member leaves
``done.json``/``done.pkl`` in its folder when it finishes. Running the same command again into the
same ``--output_dir`` trains only the rungs/members without a marker ("resumed K of N"); other
settings into a folder holding a study is a one-line usage error. ``--output_dir DIR`` is used as
is when it does not exist or is empty; a non-empty ``DIR`` without ``study.json`` gets a new
``DIR/run_YYYYMMDD_HHMMSS`` (nothing is overwritten).

``--mlflow URI`` logs the study after it finished: one parent run, a nested run per rung/member
(:mod:`futures_vpoc.report.tracking`). Exit status 0 when the report was written, 2 for a usage or
data error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from futures_vpoc.cli.study import STUDY, StudyClaim, claim_study, write_study
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.report.tracking import add_mlflow_flag

EXECUTORS = ("serial", "local", "ray")  # futures_vpoc.ml.executor.EXECUTORS (parsers stay text only)
SCALEUP_DIR = "runs/scaleup"
ENSEMBLE_DIR = "runs/ensemble"


def add_executor_flags(parser) -> None:
    """``--executor``, ``--workers``, ``--ray-address`` on an argparse parser or group (text only)."""
    parser.add_argument("--executor", choices=EXECUTORS, default="serial",
                        help="how the independent trainings run: serial (one after another, in this process), "
                             "local (a pool of --workers processes) or ray (a Ray cluster; "
                             "pip install 'futures-vpoc[ray]') (default serial)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="trainings at once with --executor local or ray (default: every core); each "
                             "uses cores/N torch threads")
    parser.add_argument("--ray-address", "--ray_address", dest="ray_address", default=None, metavar="ADDR",
                        help="with --executor ray: the cluster to join (ray.init(address=ADDR)); "
                             "default a local cluster of --workers CPUs")


def _train_parser(subparsers) -> argparse.ArgumentParser:
    train = (getattr(subparsers, "choices", None) or {}).get("train")
    if train is None:
        raise RuntimeError("register the train subcommand (add_train_parser) before scale-up and ensemble")
    return train


def _add_from_train(subparsers, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    """A subcommand with every ``train`` flag (and its own help)."""
    train = _train_parser(subparsers)
    return subparsers.add_parser(name, help=help_text, description=description, parents=[train], add_help=False,
                                 allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_scaleup_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``scale-up`` on ``subparsers`` (after ``train``)."""
    p = _add_from_train(subparsers, "scale-up", "train a ladder of sizes, each gated on stability and validation",
                        "The seed's gradual scale-up: train each rung of --ladder into DIR/<arch> with the "
                        "train flags given, stop at the first rung that fails a gate (diverged, worst NaN "
                        "rate >= 10%, valid batches < 90%, or no validation-loss improvement over the "
                        "previous rung), pick the winner by validation loss (never test) and write "
                        "DIR/scaleup.md and DIR/scaleup.json.")
    p.add_argument("--ladder", nargs="+", metavar="RUNG", default=None,
                   help="rungs smallest first, each quoted: '64 32 16' '128 64 32' "
                        "(default '64 32 16' '128 64 32' '256 128 64' '512 256 128 64'); replaces --hidden_dims")
    p.add_argument("--val_tolerance", "--val-tolerance", dest="val_tolerance", type=float, default=0.0,
                   help="a rung passes the validation gate when its best validation loss is below the "
                        "previous rung's + this x |previous| (default 0: any improvement)")
    add_executor_flags(p)
    add_mlflow_flag(p)
    return p


def add_ensemble_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``ensemble`` on ``subparsers`` (after ``train``)."""
    from futures_vpoc.features.spec import GROUPS

    p = _add_from_train(subparsers, "ensemble", "one model per feature group, combined on validation",
                        "The seed's Strategy 3: train one member per feature group into DIR/<group> with the "
                        "train flags given (--hidden_dims default 32 16), combine their probabilities with "
                        "non-negative weights summing to 1 fit on the validation part (log-loss), score the "
                        "ensemble and each member on test, and write DIR/ensemble.md and DIR/ensemble.json.")
    p.add_argument("--groups", nargs="+", metavar="GROUP", choices=GROUPS, default=None,
                   help=f"feature groups, one member each: {' '.join(GROUPS)} (default price volume volatility); "
                        "replaces --features")
    add_executor_flags(p)
    add_mlflow_flag(p)
    return p


def _study_settings(config, meta: dict, **study) -> dict:
    """What a scale-up or ensemble rerun must match: data hash, the study's own settings, and the
    training settings (without the output folder and the data path, which the hash stands for)."""
    train = {k: v for k, v in config.to_dict().items()
             if k not in ("output_dir", "data", "resume", "mlflow", "mlflow_experiment")}
    return {"data_sha256": meta["data_sha256"], **study, "train_config": train}


def _say_resumed(what: str, resumed, n: int) -> None:
    if resumed:
        print(f"{what}: resumed {len(resumed)} of {n} ({', '.join(resumed)} finished before, not trained again)",
              flush=True)


def _common(args, default_dir: str, replaced: tuple[str, ...], what: str, study: dict, adjust=None):
    """Config (with ``replaced`` flags dropped, noted; then ``adjust(config)``), the bars, the claimed
    study folder (:func:`claim_study`, with ``study`` as the study's own settings) and run meta."""
    from futures_vpoc.data.barframe import file_sha256, read_merged
    from futures_vpoc.ml.config import config_from_namespace
    from futures_vpoc.report.tracking import check_tracking

    config, given = config_from_namespace(args)
    if config.resume:
        raise UsageError(f"{what} does not take --resume; run the same command into the same --output_dir "
                         "to resume it")
    if config.data is None:
        raise UsageError("--data FILE is required (a merged bar file, e.g. from `futures-vpoc data synth`)")
    if not Path(config.data).is_file():
        raise DataError("file not found", file=config.data, hint="check --data")
    for name in replaced:
        if name in given:
            print(f"{what}: --{name} is replaced per run ({'--ladder' if name == 'hidden_dims' else '--groups'})",
                  flush=True)
    if adjust is not None:
        config = adjust(config)
    check_tracking(args)  # --mlflow without the client: refused before any training
    argv = list(getattr(args, "argv", None) or sys.argv[1:])
    meta = {"data_sha256": file_sha256(config.data), "data_file": str(Path(config.data).resolve()), "argv": argv}
    out = getattr(args, "output_dir", None) or default_dir
    claim = claim_study(out, _study_settings(config, meta, command=what, **study), what)  # before the slow part
    bars = read_merged(config.data)
    from futures_vpoc.dataset import SplitSpec, require_sessions

    require_sessions(bars, SplitSpec(), config.horizon, config.data_fraction)  # before any feature is built
    return config, bars, claim, meta


def _dataset(bars, config, groups):
    from futures_vpoc.dataset import build_dataset
    from futures_vpoc.ml.inputs import TrainData

    ds = build_dataset(bars, groups=list(groups) if groups else None, target=config.target,
                       horizon=config.horizon, data_fraction=config.data_fraction, chunk_size=config.chunk_size)
    return TrainData.from_dataset(ds)


def _member_datasets(bars, config, groups) -> tuple[dict, dict]:
    """Each group's TrainData (same bars, horizon, split and fraction), skipping a group without
    usable rows: ``(datas, {group: reason})``, the reason printed. Fewer than 2 usable members is a
    one-line usage error (an ensemble of one is that member's own run)."""
    datas, skipped = {}, {}
    for g in groups:
        try:
            datas[g] = _dataset(bars, config, (g,))
        except (UsageError, DataError) as exc:
            skipped[g] = str(exc)
            print(f"ensemble: member {g} skipped: {exc}", flush=True)
    if len(groups) > 1 and len(datas) < 2:
        why = "; ".join(f"{g}: {r}" for g, r in skipped.items())
        raise UsageError(f"ensemble needs >= 2 usable members; {len(datas)} of {len(groups)} have usable rows ({why})")
    if not datas:
        raise UsageError(f"ensemble: no usable member ({'; '.join(f'{g}: {r}' for g, r in skipped.items())})")
    return datas, skipped


def _analyze(run_dir: Path) -> None:
    """Each run explains itself, as after ``train``."""
    from futures_vpoc.report.write import write_analysis

    analysis = write_analysis(run_dir)
    print(f"analysis of {run_dir}: {analysis.verdict.upper()}: {analysis.reason}", flush=True)


def cmd_scaleup(args) -> int:
    """Run ``futures-vpoc scale-up``; 0 when the table was written."""
    from futures_vpoc.ml.executor import ExecutorSpec
    from futures_vpoc.ml.scaleup import arch_name, parse_ladder, run_scaleup, write_scaleup_report

    ladder = parse_ladder(args.ladder)
    spec = ExecutorSpec.from_args(args)
    study = {"ladder": [arch_name(r) for r in ladder], "val_tolerance": float(args.val_tolerance)}
    config, bars, claim, meta = _common(args, SCALEUP_DIR, ("hidden_dims",), "scale-up", study)
    data = _dataset(bars, config, config.features)
    write_study(claim)
    out_dir = claim.folder
    config = config.replace(output_dir=str(out_dir))
    result = run_scaleup(config, data, out_dir, ladder, val_tolerance=args.val_tolerance, meta=meta,
                         after_run=_analyze, executor=spec, resumable=True)
    js, md = write_scaleup_report(result)
    _say_resumed("scale-up", result.resumed, len(ladder))
    winner = result.winner.arch if result.winner else "none"
    stop = f"; stopped at {result.stopped_at} (gate failed)" if result.stopped_at else "; every rung passed"
    print(f"scale-up: winner {winner} (by validation loss){stop}", flush=True)
    print(f"wrote {md} and {js}", flush=True)
    _track_scaleup(args, result, claim, json.loads(claim.text))
    return 0


def cmd_ensemble(args) -> int:
    """Run ``futures-vpoc ensemble``; 0 when the report was written."""
    from futures_vpoc.labels import is_binary
    from futures_vpoc.ml.ensemble import DEFAULT_GROUPS, MEMBER_DIMS, run_ensemble, write_ensemble_report
    from futures_vpoc.ml.executor import ExecutorSpec

    groups = tuple(dict.fromkeys(args.groups or DEFAULT_GROUPS))
    spec = ExecutorSpec.from_args(args)
    if args.target is not None and not is_binary(args.target):
        raise UsageError("ensemble combines probabilities of 'up': use --target direction (or up_or_not)")

    def member_dims(config):
        return config.replace(hidden_dims=MEMBER_DIMS) if args.hidden_dims is None else config

    config, bars, claim, meta = _common(args, ENSEMBLE_DIR, ("features",), "ensemble", {"groups": list(groups)},
                                        member_dims)
    datas, skipped = _member_datasets(bars, config, groups)
    write_study(claim)
    out_dir = claim.folder
    config = config.replace(output_dir=str(out_dir))
    result = run_ensemble(config, datas, out_dir, meta=meta, after_run=_analyze, skipped=skipped, executor=spec,
                          resumable=True)
    js, md = write_ensemble_report(result)
    _say_resumed("ensemble", result.resumed, len(datas))
    if result.aligned_note:
        print(f"ensemble: {result.aligned_note}", flush=True)
    t = result.test
    lo, hi = t["accuracy_ci95"]
    weights = ", ".join(f"{m.group} {w:.3f}" for m, w in zip(result.members, result.weights))
    print(f"ensemble: weights {weights}; validation log-loss {result.val['log_loss']:.6f} (best member "
          f"{result.val['best_member_log_loss']:.6f}); test accuracy {t['accuracy']:.4f} [{lo:.4f}, {hi:.4f}] vs "
          f"majority {t['majority_baseline']:.4f}", flush=True)
    print(f"wrote {md} and {js}", flush=True)
    _track_ensemble(args, result, claim, json.loads(claim.text))
    return 0


# ---------------------------------------------------------------------------- --mlflow
def _track_scaleup(args, result, claim: StudyClaim, settings: dict) -> None:
    """One parent run for the study, one nested run per rung trained (never raises)."""
    from futures_vpoc.report.tracking import Child, log_study, track

    if not getattr(args, "mlflow", None):
        return
    children = [Child(r.arch, r.run_dir, tags={"rung": i, "gate": "pass" if r.passed else "fail",
                                                 "gate_reasons": "; ".join(r.reasons),
                                                 "winner": r is result.winner})
                for i, r in enumerate(result.rungs)]
    win = result.winner
    metrics = {"winner_best_val_loss": win.summary.get("best_val_loss") if win else None,
               "winner_test_accuracy": win.summary.get("test_accuracy") if win else None,
               "rungs_trained": len(result.rungs)}
    tags = {"winner": win.arch if win else "none", "stopped_at": result.stopped_at or "",
            "study_dir": str(Path(claim.folder).resolve())}
    out = Path(result.out_dir)
    track(args, "scale-up", log_study, f"scale-up {Path(claim.folder).name}", settings, children,
          [out / "scaleup.md", out / "scaleup.json", out / STUDY], metrics, tags)


def _track_ensemble(args, result, claim: StudyClaim, settings: dict) -> None:
    """One parent run for the ensemble, one nested run per member (never raises)."""
    from futures_vpoc.ml.predfile import FILE
    from futures_vpoc.report.tracking import Child, log_study, track

    if not getattr(args, "mlflow", None):
        return
    children = [Child(m.group, m.run_dir, tags={"group": m.group, "weight": f"{w:.6f}"},
                      metrics={"weight": float(w), "member_val": result.member_val[m.group],
                               "member_test": result.member_test[m.group]})
                for m, w in zip(result.members, result.weights)]
    metrics = {"val": result.val, "test": result.test,
               "weight": {m.group: float(w) for m, w in zip(result.members, result.weights)}}
    tags = {"weights_chosen": result.chosen, "skipped_members": ", ".join(result.skipped) or "",
            "study_dir": str(Path(claim.folder).resolve())}
    out = Path(result.out_dir)
    track(args, "ensemble", log_study, f"ensemble {Path(claim.folder).name}", settings, children,
          [out / "ensemble.md", out / "ensemble.json", out / STUDY, out / FILE], metrics, tags)


__all__ = ["add_ensemble_parser", "add_scaleup_parser", "add_executor_flags", "cmd_ensemble", "cmd_scaleup"]
