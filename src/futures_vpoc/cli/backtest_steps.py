"""The steps of ``futures-vpoc backtest`` that ``backtest --walk-forward`` shares: read a run's
predictions, align them to the bars, build the strategies' signals, write the outputs; and
``backtest --signals``: every column of a signals table through the same accounting at once.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from typing import TYPE_CHECKING

from futures_vpoc.backtest.engine import BacktestConfig
from futures_vpoc.backtest.spec import contract_spec
from futures_vpoc.data.barframe import atomic_write
from futures_vpoc.errors import DataError, UsageError

if TYPE_CHECKING:  # the strategies and the single-engine run are imported where used: --signals needs neither
    from futures_vpoc.backtest.run import BacktestResults


def align_predictions(bars: pd.DataFrame, predictions: pd.DataFrame, source: str = "predictions",
                      column: str | None = None) -> np.ndarray:
    """Probability per bar by timestamp; NaN (flat) where a bar has no prediction.

    ``column`` names another probability column (a learner baseline's ``prob_<name>``); default
    the model's ``prob`` (``probability`` in older runs).

    Raises
    ------
    DataError
        Missing columns, duplicate timestamps, or no prediction matching any bar.
    """
    from futures_vpoc.evaluation.predictions import read_probability

    values = read_probability(predictions) if column is None else predictions[column].to_numpy(np.float64)
    for col, missing in (("timestamp", "timestamp" not in predictions.columns), ("prob", values is None)):
        if missing:
            raise DataError(f"no '{col}' column", file=source, hint="predictions_test.parquet needs timestamp, prob")
    ts = pd.DatetimeIndex(pd.to_datetime(predictions["timestamp"], utc=True))
    if ts.has_duplicates:
        raise DataError("duplicate timestamps", file=source, column="timestamp", hint="one prediction per bar")
    prob = pd.Series(values, index=ts.as_unit("ns"))
    aligned = prob.reindex(pd.DatetimeIndex(bars.index).as_unit("ns"))
    if aligned.notna().sum() == 0:
        raise DataError("no prediction timestamp matches a bar of --data", file=source,
                        hint="backtest the file the run was trained on")
    return aligned.to_numpy(dtype=np.float64)


def read_run(run_dir: Path) -> tuple[pd.DataFrame, dict]:
    """A run directory's test predictions and its settings.

    The settings are ``config.json`` (a ``train`` run or a scale-up rung); an ensemble folder has
    none, and then the training facts in the predictions file's metadata stand in (the label
    horizon, which is all the backtest needs).
    """
    preds_path, cfg_path = run_dir / "predictions_test.parquet", run_dir / "config.json"
    hint = "--model takes a directory written by `futures-vpoc train` or `futures-vpoc ensemble`"
    if not preds_path.exists():
        raise DataError("file not found", file=str(preds_path), hint=hint)
    if cfg_path.exists():
        try:
            cfg = json.loads(cfg_path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"not JSON ({exc.msg})", file=str(cfg_path), line=exc.lineno) from None
    else:
        cfg = _facts(preds_path)
        if "horizon" not in cfg:
            raise DataError("file not found", file=str(cfg_path), hint=hint)
    return pd.read_parquet(preds_path), cfg


def _facts(preds_path: Path) -> dict:
    """The training facts a predictions file carries in its Parquet metadata ({} without them)."""
    import pyarrow.parquet as pq

    from futures_vpoc.evaluation.predictions import METADATA_KEY

    raw = (pq.read_schema(preds_path).metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def backtest_config(args) -> BacktestConfig:
    """The engine settings of the backtest flags."""
    if getattr(args, "signals", None) and getattr(args, "walk_forward", False):
        raise UsageError("--signals does not combine with --walk-forward (it trains a model); drop one of them")
    return BacktestConfig(contract=contract_spec(args.contract, args.commission), slippage_ticks=args.slippage_ticks,
                          random_slippage_ticks=args.random_slippage_ticks, stop_ticks=args.stop_ticks,
                          target_ticks=args.target_ticks, flat_at_session_end=args.flat_at_session_end, roll=args.roll,
                          max_position=args.max_position, initial_capital=args.initial_capital, seed=args.seed)


def build_signals(bars: pd.DataFrame, names, probability=None, theta: float = 0.0, horizon: int = 1) -> dict:
    """Signals of the named strategies on the full bars (``random`` is built by the runner)."""
    from futures_vpoc.backtest import strategies as S

    table = None
    out = {}
    for name in names:
        if name == "model":
            out[name] = S.model_signal(probability, theta, horizon)
        elif name in ("vpoc_reversion", "vpoc_breakout"):
            if table is None:
                from futures_vpoc.profile import developing_profile

                table = developing_profile(bars, prior=True).table
            out[name] = getattr(S, name)(bars, table)
        elif name == "buy_hold":
            out[name] = S.buy_hold(bars)
        elif name == "ma_cross":
            out[name] = S.ma_cross(bars)
    return out


def json_safe(obj):
    """``obj`` with numpy scalars as Python ones and non-finite floats as None (strict JSON)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_outputs(res: BacktestResults, out: Path, title: str) -> list[Path]:
    """Write trades.csv, equity.csv, stats.json and backtest.html; return their paths."""
    from futures_vpoc.report.backtest_html import render_backtest_html

    trades = pd.concat([r.engine.trades.assign(strategy=n) for n, r in res.strategies.items()], ignore_index=True)
    trades = trades[["strategy", "entry_time", "exit_time", "side", "size", "entry_price", "exit_price",
                     "commission", "slippage", "pnl", "reason", "bars_held"]]
    equity = pd.DataFrame({n: r.engine.daily_equity for n, r in res.strategies.items()})
    equity.index.name = "trade_date"
    stats = json.dumps(json_safe(res.stats_table()), indent=2, sort_keys=False)
    page = render_backtest_html(res, title)
    paths = [out / "trades.csv", out / "equity.csv", out / "stats.json", out / "backtest.html"]
    atomic_write(paths[0], lambda tmp: trades.to_csv(tmp, index=False, lineterminator="\n"))
    atomic_write(paths[1], lambda tmp: equity.to_csv(tmp, lineterminator="\n"))
    atomic_write(paths[2], lambda tmp: Path(tmp).write_text(stats + "\n"))
    atomic_write(paths[3], lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return paths


SIGNAL_FILES = ("signals_stats.csv", "signals_stats.parquet", "signals_summary.json")
"""What ``backtest --signals`` writes into ``--output_dir``."""


def write_signal_outputs(res, out: Path, summary: dict) -> list[Path]:
    """Write one stats row per signal column (CSV and Parquet) and the summary (JSON); return the paths.

    ``res`` is a :class:`futures_vpoc.backtest.sweep.SweepResult`. Each file is written whole
    through a temporary file.
    """
    paths = [out / name for name in SIGNAL_FILES]
    text = json.dumps(json_safe(summary), indent=2) + "\n"
    atomic_write(paths[0], lambda tmp: res.stats.to_csv(tmp, index=False, lineterminator="\n"))
    atomic_write(paths[1], lambda tmp: res.stats.to_parquet(tmp, index=False))
    atomic_write(paths[2], lambda tmp: Path(tmp).write_text(text))
    return paths


def _signal_summary(res, args, n_bars: int) -> dict:
    best = res.best(1)
    top = best.iloc[0] if len(best) else None
    return {
        "data": str(args.data), "signals": str(args.signals), "columns": int(len(res.stats)), "bars": int(n_bars),
        "first_bar": res.first_bar.isoformat(), "last_bar": res.last_bar.isoformat(),
        "flat_at_session_end": res.flat_at_session_end, "n_trials": res.n_trials,
        "dsr_benchmark_sharpe": res.benchmark_sharpe,
        "significant_columns": int(res.stats["dsr_significant"].sum()),
        "best_signal": None if top is None else str(top["signal"]),
        "best_sharpe": None if top is None else float(top["sharpe"]),
        "best_dsr": None if top is None else float(top["dsr"]),
        "settings": {k: getattr(args, k) for k in ("contract", "commission", "slippage_ticks", "random_slippage_ticks",
                                                   "stop_ticks", "target_ticks", "flat_at_session_end", "roll",
                                                   "max_position", "initial_capital", "trials", "seed")},
    }


def _print_signal_summary(res, n_bars: int, top: int = 5) -> None:
    s = res.stats
    print(f"signals: {len(s):,} columns x {n_bars:,} bars ({res.first_bar:%Y-%m-%d %H:%M} .. "
          f"{res.last_bar:%Y-%m-%d %H:%M} UTC), flat at session end: {'yes' if res.flat_at_session_end else 'no'}")
    print(f"best {min(top, len(s))} by Sharpe:")
    for _, r in res.best(top).iterrows():
        print(f"  {str(r['signal']):<20} net ${r['net_pnl_usd']:>12,.2f}  trades {int(r['trades']):>6}  "
              f"Sharpe {r['sharpe']:6.2f}  maxDD {r['max_drawdown_pct']:6.2f}%  DSR {r['dsr']:.3f}")
    print(f"deflated Sharpe: {res.n_trials:,} trials, benchmark Sharpe {res.benchmark_sharpe:.2f} (annualised); "
          f"{int(s['dsr_significant'].sum()):,} of {len(s):,} columns significant (DSR > 0.95)")


def backtest_signals(args) -> int:
    """Run ``futures-vpoc backtest --signals FILE``: every column through the same accounting, one stats
    row each, the deflated Sharpe over all of them; prints the best columns and the files written."""
    from futures_vpoc.backtest.signals_table import read_signals
    from futures_vpoc.backtest.sweep import run_sweep
    from futures_vpoc.data.barframe import read_merged

    config = backtest_config(args)
    bars = read_merged(args.data)
    table = read_signals(args.signals, bars.index)
    bars = bars.iloc[table.span]
    res = run_sweep(bars, table.names, table.values, config, extra_trials=args.trials)
    paths = write_signal_outputs(res, Path(args.output_dir), _signal_summary(res, args, len(bars)))
    _print_signal_summary(res, len(bars))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
