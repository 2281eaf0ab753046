"""Futures backtests: signals at a bar's close fill at the next open; P&L in dollars.

The layer consumes signal series (target positions per bar) and never imports ``ml``,
``features`` or ``labels`` (DESIGN.md section 1). Modules: :mod:`~.spec` (contract terms),
:mod:`~.kernels` (the numba loop and its plain-Python twin), :mod:`~.engine` (arrays in,
frozen results out), :mod:`~.strategies` (model, VPOC rules, baselines), :mod:`~.stats`,
:mod:`~.significance` (bootstrap interval, PSR/DSR, random-signal p-value) and :mod:`~.run`
(every strategy on the same bars and costs).
"""

from futures_vpoc.backtest.engine import BacktestConfig, EngineResult, run_engine
from futures_vpoc.backtest.run import BacktestResults, StrategyResult, run_backtest
from futures_vpoc.backtest.spec import ES, MES, ContractSpec, contract_spec

__all__ = ["ES", "MES", "BacktestConfig", "BacktestResults", "ContractSpec", "EngineResult", "StrategyResult",
           "contract_spec", "run_backtest", "run_engine"]
