"""The steps of ``futures-vpoc backtest`` that ``backtest --walk-forward`` shares: read a run's
predictions, align them to the bars, build the strategies' signals, write the outputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.backtest import strategies as S
from futures_vpoc.backtest.engine import BacktestConfig
from futures_vpoc.backtest.run import BacktestResults
from futures_vpoc.backtest.spec import contract_spec
from futures_vpoc.data.barframe import atomic_write
from futures_vpoc.errors import DataError


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
    return BacktestConfig(contract=contract_spec(args.contract, args.commission), slippage_ticks=args.slippage_ticks,
                          random_slippage_ticks=args.random_slippage_ticks, stop_ticks=args.stop_ticks,
                          target_ticks=args.target_ticks, flat_at_session_end=args.flat_at_session_end, roll=args.roll,
                          max_position=args.max_position, initial_capital=args.initial_capital, seed=args.seed)


def build_signals(bars: pd.DataFrame, names, probability=None, theta: float = 0.0, horizon: int = 1) -> dict:
    """Signals of the named strategies on the full bars (``random`` is built by the runner)."""
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
