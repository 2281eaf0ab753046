"""Run one signal series through the futures engine and return frozen, labelled results.

The arithmetic lives in :mod:`futures_vpoc.backtest.kernels` (numba, no pandas per bar); this
module turns a BarFrame and a signal into its arrays and the arrays back into a trades table and
equity series. Equity is ``initial_capital`` [$] plus the cumulative net P&L, marked to market
at every close.

Session scope: a session-scoped strategy (:data:`futures_vpoc.backtest.spec.SESSION_SCOPED`, run
with ``session_scoped=True``) is flat at each session end by default: it exits at the close of the
session's last bar, and the target decided at that close opens no position (the new session's
first bar is flat). ``BacktestConfig.flat_at_session_end`` forces this on every strategy, and
``BacktestConfig.flat_session_strategies=False`` lets session-scoped strategies hold overnight as
well. A session of one bar is never flattened: on daily bars each bar is a whole session, there is
no close inside it before the next session, so session-flat does not apply to daily bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from futures_vpoc.backtest.kernels import EXIT_REASONS, simulate
from futures_vpoc.backtest.spec import ES, ROLL_MODES, ContractSpec
from futures_vpoc.errors import UsageError


@dataclass(frozen=True)
class BacktestConfig:
    """Accounting and execution settings, the same for every strategy of a comparison.

    Attributes
    ----------
    contract : ContractSpec
        Multiplier [$ / point], tick [points] and cost per contract per side [$].
    slippage_ticks : float
        Adverse slippage of every market or stop fill [ticks per side] (default 1).
    random_slippage_ticks : float
        Mean of an extra Poisson number of ticks added to each fill's slippage (seeded by
        ``seed``); never negative, so never in the trader's favour. 0 disables.
    stop_ticks, target_ticks : float
        Stop and target distance from the entry fill [ticks]; 0 disables.
    flat_at_session_end : bool
        Force *every* strategy flat at each session end (exit at the close of each trade date's
        last bar, no entry on that bar's signal), also those that hold overnight (``buy_hold``,
        ``ma_cross``). Default False.
    flat_session_strategies : bool
        Session-scoped strategies (``run_engine(..., session_scoped=True)``) are flat at each
        session end (default True). False is the opt-out: they then hold overnight and over
        weekends like the baselines, which their descriptions do not promise; use it only to
        measure what holding across the break adds.
    roll : {"roll", "close"}
        At a contract change: close on the old contract's last bar and reopen on the new one's
        first open (both sides paid), or only close.
    max_position : int
        Position limit [contracts]; signals are clipped to it.
    initial_capital : float
        Capital [$] the returns are measured on (default $100,000 for one ES contract; sizes
        are fixed, so P&L does not compound).
    seed : int
        Seed of the random slippage.
    """

    contract: ContractSpec = field(default_factory=lambda: ES)
    slippage_ticks: float = 1.0
    random_slippage_ticks: float = 0.0
    stop_ticks: float = 0.0
    target_ticks: float = 0.0
    flat_at_session_end: bool = False
    flat_session_strategies: bool = True
    roll: str = "roll"
    max_position: int = 1
    initial_capital: float = 100_000.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("slippage_ticks", "random_slippage_ticks", "stop_ticks", "target_ticks"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise UsageError(f"--{name} = {value!r} must be a number >= 0")
        if self.roll not in ROLL_MODES:
            raise UsageError(f"roll = {self.roll!r}: use one of {', '.join(ROLL_MODES)}")
        if not (int(self.max_position) == self.max_position and self.max_position >= 1):
            raise UsageError(f"max_position = {self.max_position!r} must be an integer >= 1")
        if not (np.isfinite(self.initial_capital) and self.initial_capital > 0):
            raise UsageError(f"initial_capital = {self.initial_capital!r} must be > 0 dollars")


@dataclass(frozen=True)
class BarArrays:
    """The numpy arrays of a BarFrame the kernel reads (see :func:`bar_arrays`)."""

    index: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    roll_end: np.ndarray
    session_end: np.ndarray
    trade_date: np.ndarray

    def __len__(self) -> int:
        return len(self.close)

    @property
    def flat_bars(self) -> np.ndarray:
        """Bars at whose close a session-flat strategy is flattened: the last bar of every session
        (trade date, cut at a roll) of two bars or more. A one-bar session (a daily bar) is the whole
        session, so it is never flattened."""
        first = np.ones(len(self), dtype=np.bool_)
        first[1:] = self.session_end[:-1]
        return self.session_end & ~first

    @property
    def daily(self) -> bool:
        """True when every bar is a whole session (daily bars): session-flat never applies."""
        return bool(self.session_end.all())


def bar_arrays(bars: pd.DataFrame) -> BarArrays:
    """Arrays of a BarFrame: prices, last bar of each contract and of each trade date.

    Raises
    ------
    UsageError
        When the frame is empty or a price is not finite.
    """
    if len(bars) == 0:
        raise UsageError("no bars to backtest; check --data and the period")
    cols = [np.ascontiguousarray(bars[c].to_numpy(dtype=np.float64)) for c in ("open", "high", "low", "close")]
    if not all(np.isfinite(c).all() for c in cols):
        raise UsageError("bars hold non-finite prices; run `futures-vpoc data check` on the file")
    contract = bars["contract"].to_numpy()
    trade_date = pd.DatetimeIndex(bars["trade_date"]).to_numpy()
    roll_end = np.zeros(len(bars), dtype=np.bool_)
    roll_end[:-1] = contract[1:] != contract[:-1]
    session_end = np.ones(len(bars), dtype=np.bool_)
    session_end[:-1] = (trade_date[1:] != trade_date[:-1]) | roll_end[:-1]
    return BarArrays(pd.DatetimeIndex(bars.index), *cols, roll_end, session_end, trade_date)


@dataclass(frozen=True)
class EngineResult:
    """What one simulation produced.

    Attributes
    ----------
    equity : pandas.Series
        Equity [$] at every bar's close (mark to market), indexed by bar time.
    position : pandas.Series
        Contracts held through each bar (after the open's fill).
    trades : pandas.DataFrame
        One row per trade: entry_time, exit_time, side (+1/-1), size [contracts], entry_price,
        exit_price [points, fills including slippage], commission [$, both sides],
        slippage [$, both sides, already inside the prices], pnl [$, net], reason.
    daily_equity : pandas.Series
        Equity [$] at the last close of each trade date.
    flat_at_session_end : bool
        Whether the strategy was flattened at each session end (False on daily bars).
    """

    equity: pd.Series
    position: pd.Series
    trades: pd.DataFrame
    daily_equity: pd.Series
    flat_at_session_end: bool = False


def slippage_points(arrays: BarArrays, config: BacktestConfig) -> np.ndarray:
    """Adverse slippage [points, >= 0] of a fill at each bar (fixed ticks plus seeded Poisson ticks)."""
    ticks = np.full(len(arrays), float(config.slippage_ticks))
    if config.random_slippage_ticks > 0:
        rng = np.random.default_rng(config.seed)
        ticks += rng.poisson(config.random_slippage_ticks, len(arrays))
    return ticks * config.contract.tick


def clean_signal(signal, n: int, max_position: int) -> np.ndarray:
    """A signal as float64 integer contracts within the limit; NaN means flat."""
    sig = np.asarray(signal, dtype=np.float64)
    if sig.shape != (n,):
        raise UsageError(f"signal has shape {sig.shape}, bars have {n}; align the signal to the bars")
    sig = np.where(np.isfinite(sig), np.rint(sig), 0.0)
    return np.ascontiguousarray(np.clip(sig, -max_position, max_position))


def flattens(config: BacktestConfig, session_scoped: bool) -> bool:
    """Whether a strategy is flat at each session end under ``config`` (before the daily-bar exemption)."""
    return bool(config.flat_at_session_end or (session_scoped and config.flat_session_strategies))


def run_engine(bars: pd.DataFrame | BarArrays, signal, config: BacktestConfig | None = None, *,
               session_scoped: bool = False) -> EngineResult:
    """Simulate ``signal`` on ``bars`` with ``config``.

    Parameters
    ----------
    bars : pandas.DataFrame or BarArrays
        A BarFrame (or its :func:`bar_arrays`).
    signal : array-like, shape (n,)
        Target position [contracts] decided at each bar's close; it fills at the next open.
    config : BacktestConfig, optional
    session_scoped : bool
        The strategy is session-scoped (:func:`futures_vpoc.backtest.spec.is_session_scoped`):
        flat at each session end unless ``config.flat_session_strategies`` is False. Default
        False (holds overnight unless ``config.flat_at_session_end``). Either way, sessions of
        one bar (daily bars) are never flattened.

    Returns
    -------
    EngineResult
    """
    config = config or BacktestConfig()
    a = bars if isinstance(bars, BarArrays) else bar_arrays(bars)
    sig = clean_signal(signal, len(a), config.max_position)
    spec = config.contract
    flat = flattens(config, session_scoped) and not a.daily
    pnl, held, rows = simulate(a.open, a.high, a.low, a.close, sig, slippage_points(a, config), a.roll_end,
                               a.flat_bars, spec.multiplier, spec.cost_per_side, config.stop_ticks * spec.tick,
                               config.target_ticks * spec.tick, flat, config.roll == "roll",
                               float(config.max_position))
    equity = pd.Series(config.initial_capital + pnl, index=a.index, name="equity")
    entry, exit_ = rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)
    trades = pd.DataFrame({
        "entry_time": a.index[entry], "exit_time": a.index[exit_],
        "side": rows[:, 2].astype(np.int64), "size": rows[:, 3], "entry_price": rows[:, 4],
        "exit_price": rows[:, 5], "commission": rows[:, 6], "slippage": rows[:, 7], "pnl": rows[:, 8],
        "reason": np.asarray(EXIT_REASONS, dtype=object)[rows[:, 9].astype(np.int64)],
        "bars_held": exit_ - entry + 1, "entry_bar": entry, "exit_bar": exit_,
    })
    last = np.flatnonzero(a.session_end)
    daily = pd.Series(equity.to_numpy()[last], index=pd.DatetimeIndex(a.trade_date[last], name="trade_date"))
    daily = daily.groupby(level=0).last()  # a roll inside a trade date ends two segments
    return EngineResult(equity, pd.Series(held, index=a.index, name="position"), trades, daily, flat)
