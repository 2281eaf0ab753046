"""Run several strategies on the same bars, costs and period; frozen results with statistics.

:func:`run_backtest` is the one entry point the CLI and the tests use: every strategy goes
through the same :class:`~futures_vpoc.backtest.engine.BacktestConfig`, then
:mod:`~futures_vpoc.backtest.stats` and :mod:`~futures_vpoc.backtest.significance` add the
statistics. The ``random`` baseline copies the trade count, holding times and sides of a
reference strategy (the model when present) over ``n_random`` seeds; its Sharpe distribution
gives the reference's p-value, and seed 0 is reported as the ``random`` strategy.

Session-scoped strategies (:data:`~futures_vpoc.backtest.spec.SESSION_SCOPED`) run flat at each
session end, the others hold overnight (see :mod:`~futures_vpoc.backtest.engine`); the random
baseline follows its reference's rule. Each strategy's ``stats`` say which
(``flat_at_session_end``, ``holding``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from futures_vpoc.backtest.engine import BacktestConfig, BarArrays, EngineResult, bar_arrays, run_engine
from futures_vpoc.backtest.significance import bootstrap_sharpe_ci, deflated_sharpe, probabilistic_sharpe, random_p_value
from futures_vpoc.backtest.spec import describe, is_session_scoped
from futures_vpoc.backtest.stats import compute_stats, daily_returns, drawdown, monthly_returns, sharpe
from futures_vpoc.backtest.strategies import random_like
from futures_vpoc.errors import UsageError


@dataclass(frozen=True)
class StrategyResult:
    """One strategy's engine output, statistics, daily drawdown [$, %] and monthly returns [%]."""

    name: str
    engine: EngineResult
    stats: dict
    daily_drawdown: pd.DataFrame
    monthly: pd.Series


@dataclass(frozen=True)
class BacktestResults:
    """Every strategy of one comparison, in the order run, and what was held in common."""

    config: BacktestConfig
    strategies: dict[str, StrategyResult]
    reference: str | None
    random_sharpes: np.ndarray
    n_trials: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def stats_table(self) -> dict[str, dict]:
        """Strategy name -> statistics (what ``stats.json`` holds)."""
        return {name: res.stats for name, res in self.strategies.items()}


def _result(name: str, eng: EngineResult, config: BacktestConfig, daily: bool = False) -> StrategyResult:
    stats = compute_stats(eng.equity, eng.daily_equity, eng.position, eng.trades, config.initial_capital,
                          config.contract.multiplier)
    stats.update(flat_at_session_end=eng.flat_at_session_end, holding=describe(name, eng.flat_at_session_end, daily))
    dd = drawdown(eng.daily_equity) if len(eng.daily_equity) else pd.DataFrame()
    return StrategyResult(name, eng, stats, dd, monthly_returns(eng.daily_equity, config.initial_capital))


def run_backtest(bars: pd.DataFrame | BarArrays, signals: Mapping[str, np.ndarray], config: BacktestConfig | None = None,
                 *, reference: str | None = None, n_random: int = 100, extra_trials: int = 0, n_boot: int = 1000,
                 seed: int = 0, trial_sharpes=()) -> BacktestResults:
    """Backtest named signals on the same bars and costs.

    Parameters
    ----------
    bars : pandas.DataFrame or BarArrays
        The BarFrame (period already chosen).
    signals : Mapping[str, numpy.ndarray]
        Strategy name -> target position per bar (decided at the close). A ``"random"`` key
        is ignored: the random baseline is built here from ``reference``.
    config : BacktestConfig, optional
    reference : str, optional
        Strategy the random baseline copies and the p-value is for (default: ``model`` if
        present, else the first signal).
    n_random : int
        Random-signal seeds (0 disables the baseline).
    extra_trials : int
        Further strategies/thresholds tried before this run (they count in the DSR).
    n_boot : int
        Bootstrap resamples of the Sharpe interval.
    seed : int
        Seed of the bootstrap and the random signals.
    trial_sharpes : sequence of float
        Annualised Sharpe ratios of one homogeneous family of trials (e.g. the model at every
        threshold tried), for the DSR's variance; empty = the null sampling variance.

    Returns
    -------
    BacktestResults
    """
    config = config or BacktestConfig()
    a = bars if isinstance(bars, BarArrays) else bar_arrays(bars)
    named = {k: v for k, v in signals.items() if k != "random"}
    if not named:
        raise UsageError("no strategy to backtest; give --model RUN_DIR or --strategy NAME")
    reference = reference or ("model" if "model" in named else next(iter(named)))
    if reference not in named:
        raise UsageError(f"reference strategy {reference!r} is not among {sorted(named)}")
    results = {name: _result(name, run_engine(a, sig, config, session_scoped=is_session_scoped(name)), config, a.daily)
               for name, sig in named.items()}
    random_sharpes = np.empty(0)
    if n_random > 0:
        held = results[reference].engine.position.to_numpy()
        runs = []
        for k in range(n_random):
            eng = run_engine(a, random_like(held, len(a), seed + 1 + k), config,
                             session_scoped=is_session_scoped(reference))
            runs.append(eng)
            random_sharpes = np.append(random_sharpes, sharpe(daily_returns(eng.daily_equity, config.initial_capital)))
        results["random"] = _result("random", runs[0], config, a.daily)
    n_trials = len(named) + int(extra_trials)
    for name, res in results.items():
        r = daily_returns(res.engine.daily_equity, config.initial_capital)
        low, high = bootstrap_sharpe_ci(r, n_boot=n_boot, seed=seed)
        dsr, bar = deflated_sharpe(r, n_trials, trial_sharpes)
        res.stats.update({
            "sharpe_ci95_low": low, "sharpe_ci95_high": high, "psr": probabilistic_sharpe(r),
            "dsr": dsr, "dsr_benchmark_sharpe": bar, "n_trials": n_trials,
            "dsr_significant": bool(dsr > 0.95) if math.isfinite(dsr) else False,
            "p_value_random": random_p_value(res.stats["sharpe"], random_sharpes)
            if name == reference and len(random_sharpes) else math.nan,
        })
    if "random" in results:
        finite = random_sharpes[np.isfinite(random_sharpes)]
        results["random"].stats.update({
            "random_seeds": int(n_random), "random_reference": reference,
            "random_sharpe_median": float(np.median(finite)) if len(finite) else math.nan,
            "random_sharpe_p95": float(np.quantile(finite, 0.95)) if len(finite) else math.nan,
        })
    return BacktestResults(config, results, reference, random_sharpes, n_trials)
