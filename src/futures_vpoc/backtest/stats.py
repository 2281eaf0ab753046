"""Performance statistics of one backtest, with units in the keys.

Conventions (every number below is from mark-to-market equity, never closed-trade equity):

* daily return ``r_d = (E_d - E_{d-1}) / C`` with ``E_d`` the equity [$] at trade date ``d``'s
  last close, ``E_{-1} = C`` and ``C`` the initial capital (sizes are fixed contracts, so P&L
  does not compound; ``C`` defaults to $100,000 per contract);
* Sharpe = mean(r) / std(r, ddof=1) × √252 (no risk-free rate: futures P&L is an excess return);
  Sortino = mean(r) / sqrt(mean(min(r, 0)²)) × √252; NaN when the denominator is 0;
* CAGR from calendar time: years = (last − first trade date + 1 day) / 365.25 days;
* drawdowns from the per-bar equity, in $ and % of the running peak; duration in calendar days
  from the peak to the recovery (or the end);
* win rate = wins / (wins + losses): a trade with zero net P&L is neither.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TRADING_DAYS = 252


def daily_returns(daily_equity: pd.Series, initial_capital: float) -> np.ndarray:
    """Daily returns on the initial capital (fraction), one per trade date."""
    eq = daily_equity.to_numpy(dtype=np.float64)
    return np.diff(eq, prepend=initial_capital) / initial_capital


def sharpe(r: np.ndarray) -> float:
    """Annualised Sharpe ratio of daily returns (NaN for fewer than 2 or constant returns)."""
    if len(r) < 2:
        return math.nan
    sd = float(np.std(r, ddof=1))
    return float(np.mean(r)) / sd * math.sqrt(TRADING_DAYS) if sd > 0 else math.nan


def sortino(r: np.ndarray) -> float:
    """Annualised Sortino ratio of daily returns (downside deviation about 0)."""
    if len(r) < 2:
        return math.nan
    down = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return float(np.mean(r)) / down * math.sqrt(TRADING_DAYS) if down > 0 else math.nan


def drawdown(equity: pd.Series) -> pd.DataFrame:
    """Drawdown [$] and [% of the running peak] at each point of an equity series."""
    eq = equity.to_numpy(dtype=np.float64)
    peak = np.maximum.accumulate(eq)
    dd = eq - peak
    pct = np.divide(100.0 * dd, peak, out=np.zeros_like(dd), where=peak > 0)
    return pd.DataFrame({"drawdown_usd": dd, "drawdown_pct": pct}, index=equity.index)


def _max_duration_days(equity: pd.Series) -> float:
    eq = equity.to_numpy(dtype=np.float64)
    if len(eq) == 0:
        return 0.0
    peak = np.maximum.accumulate(eq)
    under = eq < peak
    if not under.any():
        return 0.0
    t = equity.index.asi8
    # start of each underwater spell = time of the last bar at the peak before it
    best, start = 0, None
    for i in np.flatnonzero(np.diff(np.concatenate(([0], under.astype(np.int8), [0])))):
        if start is None:
            start = t[i - 1] if i > 0 else t[0]
        else:
            end = t[i] if i < len(t) else t[-1]
            best = max(best, end - start)
            start = None
    return best / 86_400e9


def monthly_returns(daily_equity: pd.Series, initial_capital: float) -> pd.Series:
    """P&L of each calendar month of trade dates as % of the initial capital."""
    pnl = pd.Series(daily_returns(daily_equity, initial_capital) * 100.0, index=daily_equity.index)
    return pnl.groupby(pnl.index.to_period("M")).sum()


TOTALS = ("final_usd", "max_drawdown_usd", "max_drawdown_pct", "max_drawdown_days", "exposure_pct", "trades",
          "wins", "losses", "win_usd", "loss_usd", "contracts", "notional_usd", "commission_usd", "slippage_usd",
          "long_trades", "long_pnl_usd", "short_pnl_usd")
"""What :func:`stats_from_totals` needs besides the daily returns: final equity [$], max drawdown
[$, % of peak, days], exposure [% of bars], trade count, wins and losses (count and summed net P&L
[$], losses as a positive sum), contracts traded (both sides), traded notional [$], commission and
slippage [$], long trades (count) and the net P&L [$] of long and short trades."""


def compute_stats(equity: pd.Series, daily_equity: pd.Series, position: pd.Series, trades: pd.DataFrame,
                  initial_capital: float, multiplier: float) -> dict:
    """All statistics of one strategy under machine-readable keys with units.

    Parameters
    ----------
    equity : pandas.Series
        Per-bar mark-to-market equity [$].
    daily_equity : pandas.Series
        Equity [$] at each trade date's last close.
    position : pandas.Series
        Contracts held through each bar.
    trades : pandas.DataFrame
        As :class:`futures_vpoc.backtest.engine.EngineResult`.
    initial_capital : float
        [$].
    multiplier : float
        [$ / point], for the traded notional.

    Returns
    -------
    dict
        ``net_pnl_usd, return_pct, cagr_pct, sharpe, sortino, calmar, max_drawdown_usd,
        max_drawdown_pct, max_drawdown_days, profit_factor, win_rate_pct, avg_win_usd,
        avg_loss_usd, trades, wins, losses, exposure_pct, turnover_contracts, turnover_x,
        commission_usd, slippage_usd, costs_usd, long_trades, short_trades, long_pnl_usd,
        short_pnl_usd, days`` (:func:`stats_from_totals`).
    """
    dd = drawdown(pd.concat([pd.Series([initial_capital], index=equity.index[:1] - pd.Timedelta(1, "ns")),
                             equity]) if len(equity) else equity)
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    long_ = trades["side"].to_numpy() > 0
    totals = {
        "final_usd": float(equity.iloc[-1]) if len(equity) else initial_capital,
        "max_drawdown_usd": float(-dd["drawdown_usd"].min()) if len(dd) else 0.0,
        "max_drawdown_pct": float(-dd["drawdown_pct"].min()) if len(dd) else 0.0,
        "max_drawdown_days": _max_duration_days(equity),
        "exposure_pct": float((position.to_numpy() != 0).mean() * 100.0) if len(position) else 0.0,
        "trades": int(len(trades)), "wins": int(len(wins)), "losses": int(len(losses)),
        "win_usd": float(wins.sum()), "loss_usd": float(-losses.sum()),
        "contracts": 2.0 * float(trades["size"].sum()),
        "notional_usd": float((trades["size"] * (trades["entry_price"].abs() + trades["exit_price"].abs())).sum())
        * multiplier,
        "commission_usd": float(trades["commission"].sum()), "slippage_usd": float(trades["slippage"].sum()),
        "long_trades": int(long_.sum()), "long_pnl_usd": float(pnl[long_].sum()),
        "short_pnl_usd": float(pnl[~long_].sum()),
    }
    days = (daily_equity.index[-1] - daily_equity.index[0]).days + 1 if len(daily_equity) else 0
    return stats_from_totals(totals, daily_returns(daily_equity, initial_capital), days, initial_capital)


def stats_from_totals(totals: dict, r: np.ndarray, days: int, initial_capital: float) -> dict:
    """The statistics of :func:`compute_stats` from a strategy's totals and daily returns.

    The one copy of the formulas (CAGR, ratios, rates, averages), shared by :func:`compute_stats` and
    the many-signal sweep (:mod:`futures_vpoc.backtest.sweep`), which accumulates the same totals
    inside its kernel.

    Parameters
    ----------
    totals : dict
        The keys of :data:`TOTALS`.
    r : numpy.ndarray, shape (d,)
        Daily returns (:func:`daily_returns`).
    days : int
        Calendar days from the first to the last trade date, both counted (0 without one).
    initial_capital : float
        [$].

    Returns
    -------
    dict
        As :func:`compute_stats`; NaN where a ratio has no denominator (no losses, no trades, ...).
    """
    final = totals["final_usd"]
    net = final - initial_capital
    years = days / 365.25
    if years > 0 and final > 0:
        cagr = ((final / initial_capital) ** (1.0 / years) - 1.0) * 100.0
    else:
        cagr = -100.0 if final <= 0 else 0.0
    max_dd_pct = totals["max_drawdown_pct"]
    n_win, n_loss = totals["wins"], totals["losses"]
    gross_win, gross_loss = totals["win_usd"], totals["loss_usd"]
    if gross_loss > 0:
        pf = gross_win / gross_loss
    else:
        pf = math.inf if gross_win > 0 else math.nan
    decided = n_win + n_loss
    commission, slippage = totals["commission_usd"], totals["slippage_usd"]
    return {
        "net_pnl_usd": net,
        "return_pct": net / initial_capital * 100.0,
        "cagr_pct": cagr,
        "sharpe": sharpe(r),
        "sortino": sortino(r),
        "calmar": cagr / max_dd_pct if max_dd_pct > 0 else math.nan,
        "max_drawdown_usd": totals["max_drawdown_usd"],
        "max_drawdown_pct": max_dd_pct,
        "max_drawdown_days": totals["max_drawdown_days"],
        "profit_factor": pf,
        "win_rate_pct": 100.0 * n_win / decided if decided else math.nan,
        "avg_win_usd": gross_win / n_win if n_win else math.nan,
        "avg_loss_usd": -gross_loss / n_loss if n_loss else math.nan,
        "trades": int(totals["trades"]),
        "wins": int(n_win),
        "losses": int(n_loss),
        "exposure_pct": totals["exposure_pct"],
        "turnover_contracts": totals["contracts"],
        "turnover_x": totals["notional_usd"] / initial_capital / years if years > 0 else 0.0,
        "commission_usd": commission,
        "slippage_usd": slippage,
        "costs_usd": commission + slippage,
        "long_trades": int(totals["long_trades"]),
        "short_trades": int(totals["trades"] - totals["long_trades"]),
        "long_pnl_usd": totals["long_pnl_usd"],
        "short_pnl_usd": totals["short_pnl_usd"],
        "days": int(len(r)),
    }


LABELS = {
    "net_pnl_usd": "Net P&L [$]", "return_pct": "Return [%]", "cagr_pct": "CAGR [%]", "sharpe": "Sharpe (daily, ×√252)",
    "sortino": "Sortino (daily, ×√252)", "calmar": "Calmar", "max_drawdown_usd": "Max. drawdown [$]",
    "max_drawdown_pct": "Max. drawdown [%]", "max_drawdown_days": "Max. drawdown duration [days]",
    "profit_factor": "Profit factor", "win_rate_pct": "Win rate [%]", "avg_win_usd": "Avg. win [$]",
    "avg_loss_usd": "Avg. loss [$]", "trades": "Trades", "exposure_pct": "Exposure [%]",
    "turnover_contracts": "Contracts traded", "turnover_x": "Turnover [× capital / year]",
    "commission_usd": "Commission + fees [$]", "slippage_usd": "Slippage [$]", "costs_usd": "Costs [$]",
    "long_trades": "Long trades", "short_trades": "Short trades", "long_pnl_usd": "Long P&L [$]",
    "short_pnl_usd": "Short P&L [$]",
}
