"""Futures backtests: signals at a bar's close fill at the next open; P&L in dollars.

The layer consumes signal series (target positions per bar) and never imports ``ml``,
``features`` or ``labels`` (DESIGN.md section 1). Modules: :mod:`~.spec` (contract terms),
:mod:`~.kernels` (the numba loop and its plain-Python twin), :mod:`~.engine` (arrays in,
frozen results out), :mod:`~.strategies` (model, VPOC rules, baselines), :mod:`~.stats`,
:mod:`~.significance` (bootstrap interval, PSR/DSR, random-signal p-value), :mod:`~.run`
(every strategy on the same bars and costs) and :mod:`~.sweep` (every column of a signals table,
:mod:`~.signals_table`, through the same per-bar step in one parallel kernel, :mod:`~.sweep_kernel`).
"""

from futures_vpoc.lazy import lazy_exports

_EXPORTS = {
    "BacktestConfig": "engine",
    "EngineResult": "engine",
    "run_engine": "engine",
    "BacktestResults": "run",
    "StrategyResult": "run",
    "run_backtest": "run",
    "SweepResult": "sweep",
    "run_sweep": "sweep",
    "read_signals": "signals_table",
    "ES": "spec",
    "MES": "spec",
    "ContractSpec": "spec",
    "contract_spec": "spec",
}
"""Public name -> the submodule defining it, imported on first use (:mod:`futures_vpoc.lazy`)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["ES", "MES", "BacktestConfig", "BacktestResults", "ContractSpec", "EngineResult", "StrategyResult",
           "SweepResult", "contract_spec", "read_signals", "run_backtest", "run_engine", "run_sweep"]
