"""Many signals at once: every column of a signal table through the same futures accounting.

:func:`run_sweep` runs each column through the engine's per-bar rules (next-bar fills, slippage,
fees, multiplier, stops and targets, session flattening, rolls: :mod:`~futures_vpoc.backtest.kernels`)
in one numba kernel parallel over the columns (:mod:`~futures_vpoc.backtest.sweep_kernel`), and
turns each column's totals into the statistics a single backtest reports, by the same formulas
(:func:`futures_vpoc.backtest.stats.stats_from_totals`), plus its PSR and deflated Sharpe with
every column counted as a trial.

Equal to running each column alone through the single-signal path
(:func:`~futures_vpoc.backtest.run.run_backtest`: :func:`~futures_vpoc.backtest.engine.run_engine`,
:func:`~futures_vpoc.backtest.stats.compute_stats`, PSR and DSR; ``tests/test_backtest_signals.py``):
exactly for every statistic of the equity (P&L, returns, CAGR, Sharpe, Sortino, Calmar, drawdowns
and their duration, exposure, PSR, DSR) and the trade counts; within 1e-12 of the magnitudes summed
for the statistics built from sums over trades (profit factor, average win and loss, contracts,
turnover, commission, slippage, costs, long and short P&L), which the kernel adds trade by trade
with compensation and the single path pairwise (numpy), so the two may differ in the last bits.

Not computed per column (a single backtest has them): the bootstrap interval of the Sharpe, the
random-signal p-value, trades and equity files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.backtest import sweep_kernel as K
from futures_vpoc.backtest.engine import BacktestConfig, BarArrays, bar_arrays, flattens, slippage_points
from futures_vpoc.backtest.kernels import Rules
from futures_vpoc.backtest.significance import dsr_benchmark, probabilistic_sharpe_rows
from futures_vpoc.backtest.stats import TRADING_DAYS, stats_from_totals
from futures_vpoc.errors import UsageError

DSR_LEVEL = 0.95
"""A column's Sharpe is called significant when its deflated Sharpe exceeds this."""


@dataclass(frozen=True)
class SweepResult:
    """The statistics of every signal column of one sweep.

    Attributes
    ----------
    stats : pandas.DataFrame
        One row per column in input order: ``signal`` (the column's name), the keys of
        :func:`futures_vpoc.backtest.stats.compute_stats` (units in the names), ``psr``, ``dsr``,
        ``dsr_benchmark_sharpe`` (annualised), ``n_trials``, ``dsr_significant``, ``flat_at_session_end``.
    n_trials : int
        Trials the deflated Sharpe counts: the columns plus ``extra_trials``.
    benchmark_sharpe : float
        The annualised Sharpe every column's DSR tests against (the expected maximum of
        ``n_trials`` unskilled trials).
    flat_at_session_end : bool
        Whether every column was flattened at each session end.
    first_bar, last_bar : pandas.Timestamp
        The bars traded (UTC).
    """

    stats: pd.DataFrame
    n_trials: int
    benchmark_sharpe: float
    flat_at_session_end: bool
    first_bar: pd.Timestamp
    last_bar: pd.Timestamp

    def best(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` columns of highest Sharpe (NaN last)."""
        return self.stats.sort_values("sharpe", ascending=False, na_position="last", kind="stable").head(k)


def day_slots(a: BarArrays) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Trade-date slot of each bar whose close ends a segment, and the trade dates.

    The engine's daily equity is the equity at each segment's last bar (session end or roll),
    grouped by trade date, last value kept (:func:`futures_vpoc.backtest.engine.run_engine`); a bar
    gets its date's slot (dates sorted) or ``-1``.

    Returns
    -------
    (slot, dates) : (int64 array, shape (n,)), DatetimeIndex
    """
    last = np.flatnonzero(a.session_end)
    dates, inverse = np.unique(a.trade_date[last], return_inverse=True)
    slot = np.full(len(a), -1, dtype=np.int64)
    slot[last] = inverse
    return slot, pd.DatetimeIndex(dates, name="trade_date")


def _rules(a: BarArrays, config: BacktestConfig, session_scoped: bool) -> tuple[Rules, bool]:
    spec = config.contract
    flat = flattens(config, session_scoped) and not a.daily
    rules = Rules(float(spec.multiplier), float(spec.cost_per_side), float(config.stop_ticks * spec.tick),
                  float(config.target_ticks * spec.tick), flat, config.roll == "roll", float(config.max_position))
    return rules, flat


def _totals(acc_row: np.ndarray, longest: int, n_bars: int, multiplier: float) -> dict:
    """The :data:`~futures_vpoc.backtest.stats.TOTALS` of one column's kernel row."""
    f = dict(zip(K.ACC_FIELDS, acc_row.tolist()))
    return {
        "final_usd": f["final_usd"], "max_drawdown_usd": f["max_drawdown_usd"],
        "max_drawdown_pct": f["max_drawdown_pct"], "max_drawdown_days": longest / 86_400e9,
        "exposure_pct": f["exposed_bars"] / n_bars * 100.0,
        "trades": int(f["trades"]), "wins": int(f["wins"]), "losses": int(f["losses"]),
        "win_usd": f["win_usd"], "loss_usd": f["loss_usd"], "contracts": 2.0 * f["contracts"],
        "notional_usd": f["notional_points"] * multiplier, "commission_usd": f["commission_usd"],
        "slippage_usd": f["slippage_usd"], "long_trades": int(f["long_trades"]),
        "long_pnl_usd": f["long_pnl_usd"], "short_pnl_usd": f["short_pnl_usd"],
    }


def run_sweep(bars: pd.DataFrame | BarArrays, names, signals: np.ndarray, config: BacktestConfig | None = None, *,
              extra_trials: int = 0, session_scoped: bool = False, family: bool = False) -> SweepResult:
    """Backtest every signal column on the same bars and costs.

    Parameters
    ----------
    bars : pandas.DataFrame or BarArrays
        The BarFrame (period already chosen), n bars.
    names : sequence of str, length m
        The columns' names.
    signals : int8 array, shape (m, n)
        Target position per bar [contracts], decided at the close and filled at the next open;
        integer values, no NaN (:func:`futures_vpoc.backtest.signals_table.read_signals` checks
        them). Clipped to ``config.max_position`` like any signal.
    config : BacktestConfig, optional
        Costs, slippage, stops and targets, session flattening, rolls: the same for every column.
    extra_trials : int
        Further trials tried before this sweep, counted in the deflated Sharpe besides the m columns.
    session_scoped : bool
        Flatten every column at each session end (as a session-scoped strategy, see
        :func:`~futures_vpoc.backtest.engine.run_engine`); otherwise only with
        ``config.flat_at_session_end``.
    family : bool
        The columns are one homogeneous family (one rule at many parameter values): the DSR's
        trial variance is then that of their Sharpe ratios when larger than the null sampling
        variance (``trial_sharpes`` of :func:`futures_vpoc.backtest.significance.deflated_sharpe`).
        Default False: the null variance, as ``futures-vpoc backtest`` uses; unrelated columns (a
        rule, its mirror image, a cost-bound fast trader) spread by their differences, not by luck.

    Returns
    -------
    SweepResult
    """
    config = config or BacktestConfig()
    a = bars if isinstance(bars, BarArrays) else bar_arrays(bars)
    names = [str(x) for x in names]
    signals = np.ascontiguousarray(signals, dtype=np.int8)
    if signals.ndim != 2 or signals.shape != (len(names), len(a)) or not names:
        raise UsageError(f"signals have shape {signals.shape}; expected ({len(names)} named columns, {len(a)} bars)")
    rules, flat = _rules(a, config, session_scoped)
    slot, dates = day_slots(a)
    capital = float(config.initial_capital)
    acc, longest, daily = K.simulate_columns(a.open, a.high, a.low, a.close, signals, slippage_points(a, config),
                                             a.roll_end, a.flat_bars, rules, capital, a.index.asi8, slot, len(dates))
    returns = np.diff(daily, axis=1, prepend=capital) / capital
    days = (dates[-1] - dates[0]).days + 1 if len(dates) else 0
    rows = [stats_from_totals(_totals(acc[j], int(longest[j]), len(a), config.contract.multiplier), returns[j], days,
                              capital) for j in range(len(names))]
    table = pd.DataFrame(rows)
    n_trials = len(names) + int(extra_trials)
    sr_star = dsr_benchmark(returns.shape[1], n_trials, table["sharpe"].to_numpy() if family else ())
    dsr = probabilistic_sharpe_rows(returns, sr_star)
    table.insert(0, "signal", names)
    table["psr"] = probabilistic_sharpe_rows(returns)
    table["dsr"] = dsr
    table["dsr_benchmark_sharpe"] = sr_star * math.sqrt(TRADING_DAYS)
    table["n_trials"] = n_trials
    table["dsr_significant"] = np.nan_to_num(dsr, nan=0.0) > DSR_LEVEL
    table["flat_at_session_end"] = flat
    return SweepResult(table, n_trials, sr_star * math.sqrt(TRADING_DAYS), flat, a.index[0], a.index[-1])
