"""``futures-vpoc backtest``: model, VPOC rules and baselines on the same bars and costs.

``--model RUN_DIR`` on the file the run was trained on reads ``predictions_test.parquet``
(timestamp, probability, label) and ``config.json`` (``horizon``) of a training run; predictions
are aligned to bars by timestamp (bars without one are flat, never padded) and every strategy runs
on the predictions' period. On a file that reaches past the training file's last bar (a later
period: the out-of-time test) the frozen model predicts the bars after the training file's last
bar (``futures-vpoc predict``; earlier bars only warm the features up), only those are traded, and
the report states the training period and that every traded bar lies after it.
``--strategy NAME ...`` runs rule strategies and baselines on the whole file. ``--signals FILE``
runs every column of a table of -1/0/1 signals through the same accounting at once
(:mod:`futures_vpoc.backtest.sweep`) and writes ``signals_stats.csv``/``.parquet`` (one row per
column) and ``signals_summary.json`` instead. Otherwise it writes
``trades.csv``, ``equity.csv`` (equity [$] at each trade date's last close, one column per
strategy), ``stats.json`` and ``backtest.html`` into ``--output_dir``, each whole through a
temporary file and only after every strategy ran.

Session strategies (``model``, ``vpoc_reversion``, ``vpoc_breakout``) are flat at each session end;
``buy_hold`` and ``ma_cross`` hold overnight unless ``--flat_at_session_end`` forces every strategy
flat. On daily bars (each bar a whole session) nothing is flattened. There is no command-line
opt-out for the session strategies (``BacktestConfig.flat_session_strategies`` is the API's).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from futures_vpoc.backtest.spec import PRESETS, ROLL_MODES, STRATEGIES
from futures_vpoc.cli.scaleup import add_executor_flags
from futures_vpoc.errors import UsageError
from futures_vpoc.report.tracking import add_mlflow_flag

DEFAULT_WITH_MODEL = ("model", "vpoc_reversion", "vpoc_breakout", "buy_hold", "ma_cross", "random")


def add_backtest_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``backtest`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    p = subparsers.add_parser(
        "backtest", allow_abbrev=False,
        help="backtest a trained model and rule/baseline strategies with futures accounting",
        description="Signals at a bar's close fill at the next bar's open with adverse slippage; P&L = raw "
                    "price change x multiplier minus commission and fees per contract per side.")
    p.add_argument("--data", required=True, help="merged bar file (CSV or Parquet)")
    src = p.add_mutually_exclusive_group()  # one of them is required unless --walk-forward (cmd_backtest)
    src.add_argument("--model", metavar="RUN_DIR",
                     help="run directory of `futures-vpoc train` (with --walk-forward: its training settings)")
    src.add_argument("--strategy", nargs="+", metavar="NAME", choices=STRATEGIES[1:],
                     help=f"strategies to run: {', '.join(STRATEGIES[1:])}")
    src.add_argument("--signals", metavar="FILE",
                     help="table of signal columns (CSV or Parquet): a timestamp column (bar start, UTC) and one "
                          "column per signal, values -1/0/1; runs every column through the same accounting and "
                          "writes one stats row per column and their deflated Sharpe (--theta, --horizon, --n_random "
                          "do not apply)")
    p.add_argument("--output_dir", required=True,
                   help="directory for trades.csv, equity.csv, stats.json, backtest.html (with --signals: "
                        "signals_stats.csv, signals_stats.parquet, signals_summary.json)")
    p.add_argument("--theta", type=float, default=0.0, help="model dead band: long above 0.5+theta, short below 0.5-theta")
    p.add_argument("--horizon", type=int, default=None, help="model holding horizon [bars] (default: the run's)")
    p.add_argument("--contract", default="ES", choices=sorted(PRESETS), help="contract preset (ES $50/pt, MES $5/pt)")
    p.add_argument("--commission", type=float, default=None,
                   help="commission + fees per contract per side [$] (default ES 2.15, MES 0.57)")
    p.add_argument("--slippage_ticks", type=float, default=1.0, help="adverse slippage per side [ticks] (default 1)")
    p.add_argument("--random_slippage_ticks", type=float, default=0.0,
                   help="mean extra Poisson slippage per fill [ticks], seeded, never favourable (default 0)")
    p.add_argument("--stop_ticks", type=float, default=0.0, help="stop distance from the entry [ticks], 0 = none")
    p.add_argument("--target_ticks", type=float, default=0.0, help="target distance from the entry [ticks], 0 = none")
    p.add_argument("--flat_at_session_end", action="store_true",
                   help="flatten every strategy at each session's last close, buy_hold and ma_cross too (model and "
                        "the VPOC rules always are; never on daily bars)")
    p.add_argument("--roll", choices=ROLL_MODES, default="roll",
                   help="at a contract change: close and reopen on the new contract (roll) or only close")
    p.add_argument("--max_position", type=int, default=1, help="position limit [contracts]")
    p.add_argument("--initial_capital", type=float, default=100_000.0, help="capital returns are measured on [$]")
    p.add_argument("--n_random", type=int, default=100, help="random-signal seeds for the p-value (default 100)")
    p.add_argument("--trials", type=int, default=0,
                   help="strategies/thresholds tried before this run, counted in the deflated Sharpe")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap, random signals and slippage")
    p.add_argument("--walk-forward", dest="walk_forward", action="store_true",
                   help="retrain the model on expanding windows and backtest only its out-of-sample predictions "
                        "(with --strategy: the model plus those strategies); writes walkforward.json too")
    wf = p.add_argument_group("walk-forward (only with --walk-forward)")
    wf.add_argument("--wf_train_months", type=int, default=12, help="first training window [months] (default 12)")
    wf.add_argument("--wf_test_months", type=int, default=3, help="each out-of-sample slice [months] (default 3)")
    wf.add_argument("--wf_step_months", type=int, default=3,
                    help="between slice starts [months], >= --wf_test_months (default 3)")
    wf.add_argument("--wf_window", choices=("expanding", "rolling"), default="expanding",
                    help="expanding: every model trains from the first bar; rolling: on the --wf_train_months "
                         "before its slice (default expanding)")
    wf.add_argument("--epochs", type=int, default=None, help="training epochs per fold (default: the trainer's)")
    wf.add_argument("--batch_size", type=int, default=None, help="training batch size (default: the trainer's)")
    wf.add_argument("--hidden_dims", type=int, nargs="+", metavar="WIDTH", default=None,
                    help="hidden layer widths (default: the trainer's)")
    wf.add_argument("--learning_rate", type=float, default=None, help="peak learning rate (default: the trainer's)")
    wf.add_argument("--features", nargs="+", metavar="GROUP", default=None, help="feature groups (default all)")
    wf.add_argument("--target", choices=("direction", "up_or_not", "rank"), default=None,
                    help="label target (default direction): direction = up vs down, flat horizons unlabelled; "
                         "up_or_not = up vs not up; a flat horizon counts as not up; short-biased rule; "
                         "rank = forward-return rank")
    wf.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    wf.add_argument("--device", default=None, help="training device: auto, cpu, cuda or cuda:N (default auto)")
    add_mlflow_flag(wf)
    add_executor_flags(wf)
    return p


def _with_learners(signals: dict, bars, preds, run_dir: Path, theta: float, horizon: int) -> dict:
    """``signals`` with ``logistic`` and ``lightgbm`` after ``model`` when the run wrote their probabilities."""
    from futures_vpoc.backtest import strategies as S
    from futures_vpoc.backtest.spec import LEARNER_STRATEGIES
    from futures_vpoc.cli.backtest_steps import align_predictions

    out = {}
    for name, sig in signals.items():
        out[name] = sig
        if name != "model":
            continue
        for learner in LEARNER_STRATEGIES:
            if f"prob_{learner}" in preds.columns:
                p = align_predictions(bars, preds, str(run_dir / "predictions_test.parquet"), f"prob_{learner}")
                out[learner] = S.model_signal(p, theta, horizon)
    return out


def _out_of_time(run_dir: Path, bars, source: str):
    """``(P(up) per bar, horizon, notes)`` when ``bars`` reach past the run's training file: the
    frozen model predicts the bars after the training file's last bar (``futures-vpoc predict``;
    the earlier bars only warm the features up), and only those are traded;
    None otherwise (the file the run was trained on, or a run without a frozen model: its stored
    test predictions are traded)."""
    import numpy as np
    import pandas as pd

    from futures_vpoc.errors import DataError
    from futures_vpoc.ml.bundle import load_bundle
    from futures_vpoc.ml.predict import predict_bars

    try:
        bundle = load_bundle(run_dir)
    except DataError:
        return None  # read_run reports what is missing
    last = max(pd.Timestamp(m.inference["last_bar"]) for m in bundle.members)
    stamps = pd.DatetimeIndex(bars.index)
    if stamps[-1] <= last:
        return None
    first_bar, test_start = bundle.training_period()
    start = stamps[int(np.searchsorted(stamps.asi8, last.value, side="right"))]  # the first bar after the training file
    table = predict_bars(bundle, bars, start=start, source=source)
    prob = pd.Series(table.frame["prob"].to_numpy(), index=pd.DatetimeIndex(table.frame["timestamp"]))
    aligned = prob.reindex(stamps).to_numpy(dtype="float64")
    have = table.frame.loc[table.frame["prob"].notna(), "timestamp"]
    if len(have) == 0:
        raise DataError("the model has no prediction on any bar of the file (features still warming up)",
                        file=source, hint="give a file with more history before the period to test")
    notes = [f"out-of-time test: the model ({bundle.kind} {run_dir.name}) was trained on {first_bar:%Y-%m-%d %H:%M} .. "
             f"{test_start:%Y-%m-%d %H:%M} UTC (training and validation parts) from a file ending {last:%Y-%m-%d %H:%M} "
             f"UTC; every traded bar ({have.iloc[0]:%Y-%m-%d %H:%M} .. {have.iloc[-1]:%Y-%m-%d %H:%M} UTC) lies "
             "after it; predictions from the frozen model (futures-vpoc predict)"]
    if bundle.note:
        notes.append(bundle.note)
    return aligned, bundle.horizon, notes + [n for n in table.notes if n != bundle.note]


def cmd_backtest(args) -> int:
    """Run ``futures-vpoc backtest``; prints one line per strategy and the files written."""
    if args.walk_forward:  # futures_vpoc.cli.main runs --walk-forward in cli.walkforward instead
        raise UsageError("--walk-forward runs through `futures-vpoc backtest` (futures_vpoc.cli.main)")
    if getattr(args, "mlflow", None):
        raise UsageError("--mlflow logs the trainings of --walk-forward; a plain backtest trains nothing")
    if getattr(args, "signals", None):
        from futures_vpoc.cli.backtest_steps import backtest_signals

        return backtest_signals(args)
    if not args.model and not args.strategy:
        raise UsageError("give --model RUN_DIR, --strategy NAME ... or --signals FILE (or --walk-forward)")
    import numpy as np

    from futures_vpoc.backtest import strategies as S
    from futures_vpoc.backtest.run import run_backtest
    from futures_vpoc.cli.backtest_steps import align_predictions, backtest_config, build_signals, read_run, write_outputs
    from futures_vpoc.data.barframe import read_merged

    config = backtest_config(args)
    bars = read_merged(args.data)
    probability, horizon, notes, preds = None, 1, [], None
    if args.model:
        later = _out_of_time(Path(args.model), bars, args.data)
        if later is not None:
            probability, horizon, notes = later
        else:
            preds, run_cfg = read_run(Path(args.model))
            probability = align_predictions(bars, preds, str(Path(args.model) / "predictions_test.parquet"))
            horizon = int(run_cfg.get("horizon") or 1)
        horizon = int(args.horizon or horizon)
        names = DEFAULT_WITH_MODEL
    else:
        names = tuple(dict.fromkeys(args.strategy))
    signals = build_signals(bars, names, probability, args.theta, horizon)
    if preds is not None:  # the run's learner baselines, traded by the same rule right after the model
        signals = _with_learners(signals, bars, preds, Path(args.model), args.theta, horizon)
    if probability is not None:  # same period for every strategy: the predictions' span
        have = np.flatnonzero(np.isfinite(probability))
        period = slice(int(have[0]), int(have[-1]) + 1)
        bars = bars.iloc[period]
        signals = {k: v[period] for k, v in signals.items()}
    if not signals:
        signals = {"buy_hold": S.buy_hold(bars)}  # `random` alone copies buy-and-hold's trades
    n_random = args.n_random if "random" in names else 0
    res = run_backtest(bars, signals, config, n_random=n_random, extra_trials=args.trials, seed=args.seed)
    if notes:
        from dataclasses import replace

        res = replace(res, notes=tuple(res.notes) + tuple(notes))
        for note in notes:
            print(f"note: {note}")
    out = Path(args.output_dir)
    title = f"Backtest: {Path(args.data).name}" + (f" · model {Path(args.model).name}" if args.model else "")
    paths = write_outputs(res, out, title)
    for name, r in res.strategies.items():
        s = r.stats
        print(f"{name:<15} net ${s['net_pnl_usd']:>12,.2f}  costs ${s['costs_usd']:>10,.2f}  trades {s['trades']:>6}  "
              f"Sharpe {s['sharpe']:6.2f}  maxDD {s['max_drawdown_pct']:6.2f}%  DSR {s['dsr']:.3f}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
