"""``futures-vpoc backtest --walk-forward``: retrain on expanding (or rolling) windows, trade only out of sample.

Folds (:func:`month_folds`)
    The anchor is the first bar's UTC date. Fold ``k`` tests the bars with
    ``anchor + train + k * step <= t < anchor + train + k * step + test`` (calendar months,
    ``--wf_train_months`` / ``--wf_test_months`` / ``--wf_step_months``, default 12 / 3 / 3). Its
    model trains on the bars from the first one up to ``purge`` bars before the test slice's
    first bar (expanding window; with ``--wf_window rolling`` from ``--wf_train_months`` before the
    slice instead; ``purge`` = the label horizon), so ``purge`` bars separate every
    training bar from every predicted bar. The last slice may end with the data (shorter). Test
    slices may not overlap (``step >= test``); a gap between them (``step > test``) is flat for
    every strategy.

Each fold
    1. :func:`futures_vpoc.dataset.build_dataset` on the training window alone: its own purged
       70/15/15 train/validation/test split (the inner test part stays inside the window) and its
       own scaler; labels never reach past the window's last bar.
    2. :class:`futures_vpoc.ml.trainer.Trainer` writes a run directory ``DIR/walkforward_runs/fold_KK``.
    3. Its ``best.pt`` (``last.pt`` only when no epoch improved, recorded in ``walkforward.json``)
       predicts the test slice: features built on the bars up to the slice's end (causal, with the
       run's fitted ``train_end``), the checkpoint's feature order and scaler, P(up) = sigmoid
       (``rank`` target: the predicted rank clipped to [0, 1], as ``predictions_test.parquet``).
       Every predicted bar is checked (RuntimeError otherwise, also under ``python -O``) to lie at
       or after the training window's end + purge and after the last bar the checkpoint's dataset saw.

The folds are independent trainings (:func:`_fold_task`), run by :func:`futures_vpoc.ml.executor.run_tasks`
with ``--executor serial|local|ray`` (``--workers N``, ``--ray-address ADDR``) and taken back in fold
order, so the output is the same under every executor. A fold that finished writes
``fold_KK/done.json``; running the same command again into the same ``--output_dir`` trains only the
folds without one (an interrupted fold's folder is removed and trained again) and refuses fold runs
of other settings (``walkforward_runs/study.json``, :func:`futures_vpoc.cli.study.claim_study`).
``--mlflow URI`` logs the study afterwards: one parent run, a nested run per fold
(:mod:`futures_vpoc.report.tracking`).

Then the out-of-sample probabilities are stitched into one series and the model strategy, the
rule strategies and the baselines run via :func:`futures_vpoc.backtest.run.run_backtest` on the
same bars (first slice start to last slice end, rule signals flat outside the slices). Writes
the outputs of ``cmd_backtest`` plus ``DIR/walkforward.json`` (settings, the training config and
one record per fold).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc import progress
from futures_vpoc.backtest.run import run_backtest
from futures_vpoc.cli.backtest import DEFAULT_WITH_MODEL
from futures_vpoc.cli.backtest_steps import backtest_config, build_signals, json_safe, write_outputs
from futures_vpoc.cli.study import STUDY, claim_study, write_study
from futures_vpoc.data.barframe import atomic_write, read_merged
from futures_vpoc.errors import DataError, UsageError

RUNS_DIR = "walkforward_runs"
#: backtest flags handed to the trainer in walk-forward mode (None = TrainConfig's / the run's value)
TRAIN_OVERRIDES = ("epochs", "batch_size", "hidden_dims", "learning_rate", "features", "target", "threads", "device")


@dataclass(frozen=True)
class WFFold:
    """One walk-forward fold as row positions of the bars (``*_end`` exclusive) and its dates.

    Training rows are ``[train_start, train_end)``, test rows ``[test_start, test_end)``, with
    ``test_start >= train_end + purge``.
    """

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int
    test_from: pd.Timestamp
    test_until: pd.Timestamp


def _months(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise UsageError(f"--{name} {value!r} must be a whole number of months >= {low}")
    return int(value)


def month_folds(stamps, train_months: int = 12, test_months: int = 3, step_months: int = 3,
                purge: int = 0, rolling: bool = False) -> list[WFFold]:
    """Walk-forward folds on calendar months (module docstring): expanding, or rolling windows.

    Parameters
    ----------
    stamps : DatetimeIndex-like
        Bar starts, strictly increasing (UTC; naive is read as UTC).
    train_months, test_months, step_months : int
        Length of the first training window, of each test slice, and between slice starts.
    purge : int
        Bars between the last training bar and the first test bar (>= the label horizon).
    rolling : bool
        False: every model trains from the first bar (expanding). True: from ``train_months``
        before its test slice's start, so every window spans the same calendar length.

    Raises
    ------
    UsageError
        Bad sizes, overlapping slices, or data too short for one fold.
    """
    train_months = _months("wf_train_months", train_months, 1)
    test_months = _months("wf_test_months", test_months, 1)
    step_months = _months("wf_step_months", step_months, 1)
    if isinstance(purge, bool) or not isinstance(purge, (int, np.integer)) or purge < 0:
        raise UsageError(f"walk-forward purge {purge!r} must be a whole number of bars >= 0")
    if step_months < test_months:
        raise UsageError(f"--wf_step_months {step_months} < --wf_test_months {test_months}: test slices would "
                         "overlap and could not be stitched; use a step >= the test length")
    idx = pd.DatetimeIndex(stamps)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    if len(idx) > 1 and not (idx.is_monotonic_increasing and idx.is_unique):
        raise UsageError("walk-forward timestamps must be strictly increasing")
    n = len(idx)
    folds: list[WFFold] = []
    if n:
        anchor = idx[0].normalize()
        k = 0
        while True:
            start = anchor + pd.DateOffset(months=train_months + k * step_months)
            if start > idx[-1]:
                break
            until = start + pd.DateOffset(months=test_months)
            a, b = (int(x) for x in idx.searchsorted([start, until], side="left"))
            first = int(idx.searchsorted(start - pd.DateOffset(months=train_months), side="left")) if rolling else 0
            if b > a and a - purge > first:
                folds.append(WFFold(len(folds), first, a - purge, a, b, idx[a], idx[b - 1]))
            k += 1
    if not folds:
        span = "no bars" if not n else f"{idx[0].date()} to {idx[-1].date()}"
        raise UsageError(f"the data ({span}) hold no walk-forward fold of {train_months} training and "
                         f"{test_months} test months; use more data or a smaller --wf_train_months")
    return folds


def _train_config(args, out: Path):
    """The fold runs' TrainConfig: the ``--model`` run's settings (if given) or the defaults, with the
    walk-forward flags applied."""
    from futures_vpoc.ml.config import TrainConfig

    base = TrainConfig()
    if getattr(args, "model", None):
        path = Path(args.model) / "config.json"
        if not path.is_file():
            raise DataError("file not found", file=str(path),
                            hint="with --walk-forward, --model RUN_DIR supplies the training settings")
        try:
            base = TrainConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise DataError(f"not JSON ({exc.msg})", file=str(path), line=exc.lineno) from None
    changes = {n: getattr(args, n) for n in TRAIN_OVERRIDES if getattr(args, n, None) is not None}
    for key in ("hidden_dims", "features"):
        if key in changes:
            changes[key] = tuple(changes[key])
    if args.horizon is not None:
        changes["horizon"] = int(args.horizon)
    return base.replace(data=str(args.data), output_dir=str(out / RUNS_DIR), seed=int(args.seed), resume=False,
                        tensorboard=None, **changes)


def slice_features(bars: pd.DataFrame, fold: WFFold, cfg, val_start: pd.Timestamp,
                   names: list[str]) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Raw features of the fold's test rows, computed exactly as its model's training rows were.

    The fold trained on ``bars[train_start:train_end]`` with the fitted features (GARCH, regime)
    fit on that window's bars before ``val_start``; the slice's features are computed on
    ``bars[train_start:test_end]`` with the same ``train_end``, so the fits see the same bars and a
    bar in both gets the same value (a rolling window used to refit on all the history before it).
    Causal: nothing after the slice's last bar.

    Returns
    -------
    (numpy.ndarray of float64, shape (test_end - test_start, len(names)), pandas.DatetimeIndex)
    """
    from futures_vpoc.features import build_features

    upto = bars.iloc[fold.train_start: fold.test_end]
    table = build_features(upto, groups=list(cfg.features) if cfg.features else None, chunk_size=cfg.chunk_size,
                           train_end=val_start)
    lo, hi = fold.test_start - fold.train_start, fold.test_end - fold.train_start
    return table.frame[names].to_numpy(dtype=np.float64)[lo:hi], pd.DatetimeIndex(upto.index[lo:hi])


def _predict_slice(bars: pd.DataFrame, fold: WFFold, run_dir: Path, cfg, purge: int) -> tuple[np.ndarray, dict]:
    """P(up) for the test rows of ``fold`` (NaN where a feature is still NaN) and facts for the record."""
    from futures_vpoc.dataset import transform_from_dict
    from futures_vpoc.labels import is_binary
    from futures_vpoc.ml.checkpoint import load_model
    from futures_vpoc.ml.model import predict_logits, probabilities

    ckpt = run_dir / "best.pt"
    if not ckpt.is_file():
        ckpt = run_dir / "last.pt"
    model, payload = load_model(ckpt)
    state = payload["dataset"]
    seen_until = pd.Timestamp(state["boundaries"]["end"])
    val_start = pd.Timestamp(state["boundaries"]["val_start"])
    X, stamps = slice_features(bars, fold, cfg, val_start, list(payload["feature_names"]))
    # the no-look-ahead contract of a walk-forward fold, checked on what was actually predicted
    first_allowed = bars.index[fold.train_end + purge]
    if fold.test_start < fold.train_end + purge or not (stamps >= first_allowed).all():
        raise RuntimeError(f"fold {fold.index} would predict a bar inside its training window + purge")
    if not (stamps > seen_until).all():
        raise RuntimeError(f"fold {fold.index}'s model saw bars it would predict (up to {seen_until})")
    prob = np.full(len(X), np.nan)
    ok = ~np.isnan(X).any(axis=1)
    if ok.any():
        Xs = np.asarray(transform_from_dict(state["scaler"]).transform(X[ok]), dtype=np.float32)
        z = predict_logits(model, Xs)
        target = (payload.get("target") or {}).get("target", state.get("target", "direction"))
        prob[ok] = probabilities(z) if is_binary(target) else np.clip(z, 0.0, 1.0)
    info = {"checkpoint": ckpt.name, "model_saw_until": seen_until.isoformat(),
            "model_val_start": val_start.isoformat(), "n_predicted": int(ok.sum()),
            "n_unpredicted_warmup": int((~ok).sum())}
    return prob, info


def _fold_task(bars: pd.DataFrame, fold: WFFold, cfg, run_dir: str, purge: int) -> dict:
    """Train one fold into ``run_dir`` and predict its test slice (an executor task, picklable).

    A folder left by an interrupted attempt (no ``done.json``) is removed first, so the fold
    reruns clean. Returns the slice's probabilities and the fold's record for ``walkforward.json``.
    """
    from futures_vpoc.dataset import build_dataset
    from futures_vpoc.ml.executor import clear_unfinished
    from futures_vpoc.ml.inputs import TrainData
    from futures_vpoc.ml.trainer import Trainer

    run_dir = Path(run_dir)
    clear_unfinished(run_dir)
    window = bars.iloc[fold.train_start: fold.train_end]
    ds = build_dataset(window, groups=list(cfg.features) if cfg.features else None, target=cfg.target,
                       horizon=cfg.horizon, data_fraction=cfg.data_fraction, chunk_size=cfg.chunk_size)
    result = Trainer(cfg.replace(output_dir=str(run_dir), baselines=False), TrainData.from_dataset(ds), run_dir,
                     console=False, meta={"walk_forward_fold": fold.index}).fit()
    prob, info = _predict_slice(bars, fold, run_dir, cfg, purge)
    summary = result.summary or {}
    record = {
        "fold": fold.index, "run_dir": str(run_dir),
        "train_start": bars.index[fold.train_start].isoformat(),
        "train_end": bars.index[fold.train_end - 1].isoformat(),
        "purge_bars": purge,
        "test_start": fold.test_from.isoformat(), "test_end": fold.test_until.isoformat(),
        "n_train_bars": fold.train_end - fold.train_start, "n_test_bars": fold.test_end - fold.test_start,
        "n_train_rows": int(ds.counts["n_train"]), "n_val_rows": int(ds.counts["n_val"]),
        "stop_reason": result.stop_reason,
        "inner_test_accuracy": summary.get("test_accuracy"), "best_epoch": summary.get("best_epoch"),
        **info}
    return {"prob": prob, "record": record}


def fold_tasks(bars: pd.DataFrame, folds: list[WFFold], cfg, runs: Path, purge: int, data_sha256: str = "") -> list:
    """One :class:`futures_vpoc.ml.executor.Task` per fold, its folder ``runs/fold_KK``; the
    fingerprint (training settings, data hash, the fold's rows) decides what a rerun may reuse."""
    from futures_vpoc.ml.executor import Task

    settings = json.dumps(json_safe(cfg.to_dict()), sort_keys=True, default=str)
    tasks = []
    for fold in folds:
        run_dir = runs / f"fold_{fold.index:02d}"
        rows = (fold.train_start, fold.train_end, fold.test_start, fold.test_end, purge)
        tasks.append(Task(run_dir.name, _fold_task, (bars, fold, cfg, str(run_dir), purge), folder=str(run_dir),
                          fingerprint=f"{data_sha256}|{rows}|{settings}", cost=fold.train_end - fold.train_start))
    return tasks


def cmd_walkforward(args) -> int:
    """Run ``futures-vpoc backtest --walk-forward``; prints one line per fold and per strategy.

    The folds train through :func:`futures_vpoc.ml.executor.run_tasks` (``--executor``,
    ``--workers``, ``--ray-address``); a rerun into the same ``--output_dir`` with the same settings
    reuses the folds already finished and trains only the others.
    """
    from futures_vpoc.data.barframe import file_sha256
    from futures_vpoc.ml.executor import ExecutorSpec, executor_session
    from futures_vpoc.report.tracking import check_tracking

    config = backtest_config(args)  # refuses bad cost flags before the slow part
    spec = ExecutorSpec.from_args(args)
    out = Path(args.output_dir)
    cfg = _train_config(args, out)
    runs = out / RUNS_DIR
    rolling = getattr(args, "wf_window", "expanding") == "rolling"
    sha = file_sha256(args.data) if Path(args.data).exists() else ""  # a dataset folder: every partition hashed
    check_tracking(args)  # --mlflow without the client: refused before any training
    settings = {"data_sha256": sha, "train_months": args.wf_train_months, "test_months": args.wf_test_months,
                "step_months": args.wf_step_months, "window": "rolling" if rolling else "expanding",
                "train_config": cfg.to_dict()}
    claim = claim_study(runs, settings, "walk-forward", foreign="refuse")  # before any slow work
    with executor_session(spec, warm=WARM_MODULES):  # local workers start now, while the data is read
        return _walk_forward(args, spec, config, cfg, runs, rolling, sha, claim, out)


WARM_MODULES = ("torch", "futures_vpoc.ml.trainer", "futures_vpoc.features", "futures_vpoc.dataset")
"""What a fold task imports: a local worker imports it while the driver reads the data."""


def _walk_forward(args, spec, config, cfg, runs: Path, rolling: bool, sha: str, claim, out: Path) -> int:
    """The folds, their out-of-sample backtest and the outputs (inside the executor session)."""
    from futures_vpoc.ml.executor import StudyStats, run_tasks

    bars = read_merged(args.data)
    purge = int(cfg.horizon)
    folds = month_folds(bars.index, args.wf_train_months, args.wf_test_months, args.wf_step_months, purge, rolling)
    names = ("model", *dict.fromkeys(args.strategy)) if args.strategy else DEFAULT_WITH_MODEL
    names = tuple(dict.fromkeys(names))
    probability = np.full(len(bars), np.nan)
    records = []
    write_study(claim)
    tasks = fold_tasks(bars, folds, cfg, runs, purge, sha)
    stats = StudyStats()
    done = run_tasks(tasks, spec, stats=stats)
    for fold, (_, res) in zip(folds, progress.bar(done, desc="walk-forward folds", unit="fold", total=len(tasks))):
        prob, info = res["prob"], res["record"]
        probability[fold.test_start: fold.test_end] = prob
        records.append(info)
        progress.say(f"fold {fold.index}: train {info['train_start'][:10]}..{info['train_end'][:10]} "
                     f"({fold.train_end - fold.train_start} bars), test {fold.test_from.date()}..{fold.test_until.date()} "
                     f"({info['n_predicted']} predicted, {info['checkpoint']})")
    if not np.isfinite(probability).any():
        raise DataError("no out-of-sample bar could be predicted (features still warming up in every slice)",
                        file=str(args.data), hint="use more data or a longer --wf_test_months")
    in_slice = np.zeros(len(bars), dtype=bool)
    for fold in folds:
        in_slice[fold.test_start: fold.test_end] = True
    horizon = int(cfg.horizon)
    signals = build_signals(bars, names, probability, args.theta, horizon)
    period = slice(folds[0].test_start, folds[-1].test_end)
    mask = in_slice[period]
    signals = {k: np.where(mask, v[period], 0.0) for k, v in signals.items()}
    period_bars = bars.iloc[period]
    n_random = args.n_random if "random" in names else 0
    res = run_backtest(period_bars, signals, config, n_random=n_random, extra_trials=args.trials, seed=args.seed)
    title = f"Walk-forward backtest: {Path(args.data).name} · {len(folds)} folds"
    paths = write_outputs(res, out, title)
    doc = {"train_months": args.wf_train_months, "test_months": args.wf_test_months,
           "step_months": args.wf_step_months, "expanding": not rolling, "window": "rolling" if rolling else "expanding", "purge_bars": purge, "horizon": horizon,
           "theta": args.theta, "period": {"start": period_bars.index[0].isoformat(),
                                           "end": period_bars.index[-1].isoformat()},
           "strategies": list(res.strategies), "train_config": cfg.to_dict(), "folds": records}
    wf_path = out / "walkforward.json"
    text = json.dumps(json_safe(doc), indent=2, default=str)
    atomic_write(wf_path, lambda tmp: Path(tmp).write_text(text + "\n"))
    for name, r in res.strategies.items():
        s = r.stats
        sharpe = s["sharpe"] if s["sharpe"] is not None and math.isfinite(s["sharpe"]) else float("nan")
        print(f"{name:<15} net ${s['net_pnl_usd']:>12,.2f}  costs ${s['costs_usd']:>10,.2f}  trades {s['trades']:>6}  "
              f"Sharpe {sharpe:6.2f}  maxDD {s['max_drawdown_pct']:6.2f}%  DSR {s['dsr']:.3f}")
    if stats.resumed:
        print(f"walk-forward: resumed {len(stats.resumed)} of {len(tasks)} ({', '.join(stats.resumed)} finished "
              "before, not trained again)")
    print("wrote " + ", ".join(str(p) for p in [*paths, wf_path]))
    _track(args, claim.text, records, res, [*paths, wf_path, runs / STUDY], out)
    return 0


def _track(args, claim_text: str, records: list[dict], res, files, out: Path) -> None:
    """``--mlflow``: one parent run for the walk-forward study (each strategy's stats as metrics
    ``<strategy>.<stat>``, the backtest files as artefacts), one nested run per fold (never raises)."""
    from futures_vpoc.report.tracking import Child, log_study, track

    if not getattr(args, "mlflow", None):
        return
    children = [Child(f"fold_{r['fold']:02d}", Path(r["run_dir"]),
                      tags={"fold": r["fold"], "test_start": r["test_start"], "test_end": r["test_end"],
                            "checkpoint": r.get("checkpoint", "")},
                      metrics={k: r.get(k) for k in ("n_predicted", "n_train_rows", "n_val_rows", "n_test_bars")})
                for r in records]
    metrics = {name: json_safe(dict(r.stats)) for name, r in res.strategies.items()}
    track(args, "backtest --walk-forward", log_study, f"walk-forward {out.resolve().name}",
          {**json.loads(claim_text), "folds": len(records)}, children, files, metrics, {"study_dir": str(out.resolve())})


__all__ = ["RUNS_DIR", "WFFold", "cmd_walkforward", "month_folds"]
