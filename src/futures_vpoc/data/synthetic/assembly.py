"""Assembly of the synthetic market: every draw in its fixed order, then the BarFrame and its VIX.

:func:`_simulate` draws everything from one generator seeded by :attr:`SynthConfig.seed`, in a fixed
order (volatility state, volume, innovations, gaps, roll jitter, bar ranges, VIX noise), so a seed
gives the identical frame on every run; :func:`synthesize` turns its arrays into a BarFrame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.calendar import assign_sessions, globex_sessions
from futures_vpoc.data.barframe import conform
from futures_vpoc.data.synthetic.calendar_path import _clock_minutes, _minute_grid, _session_contracts
from futures_vpoc.data.synthetic.config import SynthConfig
from futures_vpoc.data.synthetic.prices import _bar_range, _price_kernel, prints_needed
from futures_vpoc.data.synthetic.processes import _LOG_VOL_VAR, _SD_MINUTE, _closed_gap_sd, _log_vol, _volumes
from futures_vpoc.data.synthetic.seasonality import _sigma0, _vol_season, _volume_season
from futures_vpoc.data.synthetic.vix import _daily_moves, _vix_closes, _vix_dates
from futures_vpoc.data.vix import attach_vix, publication_times
from futures_vpoc.errors import UsageError


@dataclass(frozen=True)
class _Paths:
    """Internals of one simulation (for :func:`synthesize` and the tests); arrays over emitted bars.

    ``stamps`` UTC ns; ``session`` row of ``sessions``; ``open_ high low close`` ticks (int64);
    ``volume`` contracts (at least the prints the bar's prices need); ``kernel_volume`` the volume
    the price kernel's developing VPOC saw (``volume`` before that floor); ``vpoc_prev`` the
    developing VPOC (ticks) the kernel used for the bar, NaN on a session's first bar; ``grid_minutes`` how many grid minutes there were in all.
    """

    sessions: pd.DataFrame
    stamps: np.ndarray
    session: np.ndarray
    open_: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    kernel_volume: np.ndarray
    vpoc_prev: np.ndarray
    codes: np.ndarray
    vix: pd.Series
    grid_minutes: int


def _simulate(config: SynthConfig) -> _Paths:
    """Run the whole simulation and return its arrays (see :class:`_Paths`)."""
    start, end = pd.Timestamp(config.start).normalize(), pd.Timestamp(config.end).normalize()
    # a padded span, then cut: the calendar's table is never asked for an empty range
    sessions = globex_sessions(start - pd.Timedelta(days=7), end + pd.Timedelta(days=7), config.hours)
    sessions = sessions[(sessions.index >= start) & (sessions.index <= end)]
    if len(sessions) == 0:
        raise UsageError(f"no Globex session between {config.start} and {config.end}; widen --start/--end")
    rng = np.random.default_rng(config.seed)
    grid, session = _minute_grid(sessions)
    n, n_sessions = len(grid), len(sessions)
    clock = _clock_minutes(grid)
    sigma0 = _sigma0(config)
    log_vol, state = _log_vol(rng, session, n_sessions)
    scale = np.exp(log_vol)
    activity = np.exp(log_vol + _SD_MINUTE**2 - 0.5 * _LOG_VOL_VAR)  # mean 1; rises with volatility
    volume = _volumes(rng, config.rth_volume * _volume_season(clock, config.hours) * activity,
                      config.volume_shape)
    eps = rng.standard_t(config.t_dof, n) * np.sqrt((config.t_dof - 2.0) / config.t_dof)
    gap = rng.standard_normal(n) * _closed_gap_sd(grid, sigma0)
    codes, roll_days = _session_contracts(sessions, config.root)
    jitter = rng.integers(-2, 3, n_sessions)
    new_session = np.r_[True, session[1:] != session[:-1]]
    roll_frac = np.where(new_session, config.carry_rate * roll_days[session] / 365.0, 0.0)
    traded = volume > 0
    open_, close, sd, vpoc_prev = _price_kernel(
        sigma0 * _vol_season(clock, config.hours) * scale, eps, gap, traded, new_session, roll_frac,
        jitter[session].astype(np.int64), volume.astype(np.float64),
        float(np.rint(config.start_price / config.tick)), config.signal * config.pull_rate, config.pull_cap)
    stamps, session, open_, close = grid[traded], session[traded], open_[traded], close[traded]
    high, low = _bar_range(rng, open_, close, sd[traded])
    # a bar is drawn by whole-contract prints (open, the extremes, close: data.synthetic.trades), so
    # it holds at least as many contracts as its prices need prints; the range is drawn after the
    # volume, so ~1 % of the bars (thin minutes with a wide range) are raised by 1 to 3 contracts
    bar_volume = np.maximum(volume[traded], prints_needed(open_, high, low, close).astype(volume.dtype))
    publish = publication_times(sessions.index).as_unit("ns").asi8
    rv, ret = _daily_moves(stamps, session, open_, close, publish)
    has_vix = _vix_dates(sessions) & np.isfinite(rv) & (rv > 0)
    state_vol = config.annual_vol * np.exp(state)  # E[RV^2 | d] = state_vol^2
    vix = _vix_closes(rng, sessions.index[has_vix], rv[has_vix], state_vol[has_vix], ret[has_vix],
                      config.vix_premium)
    return _Paths(sessions, stamps, session, open_, high, low, close, bar_volume, volume[traded], vpoc_prev[traded],
                  codes, vix, n)


def synthesize(config: SynthConfig | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Generate a synthetic 1-minute ES BarFrame and the daily VIX closes joined to it.

    Parameters
    ----------
    config : SynthConfig, optional
        Dates, seed, planted-signal strength and model knobs (default: 2023, seed 7, no signal).

    Returns
    -------
    bars : pandas.DataFrame
        A BarFrame (DESIGN.md section 2, :func:`~futures_vpoc.data.barframe.conform`): index bar
        START (UTC), OHLC on the tick grid, integer-valued volume > 0, the calendar-roll front
        contract, trade date and RTH flag from :func:`~futures_vpoc.calendar.assign_sessions`, VIX
        as of publication (NaN before the first close is published). No NaN elsewhere.
    vix : pandas.Series of float64
        Daily VIX closes (index points) indexed by date (naive midnight, name ``date``).

    Raises
    ------
    UsageError
        When the dates hold no Globex session.
    """
    config = config or SynthConfig()
    p = _simulate(config)
    index = pd.DatetimeIndex(p.stamps.view("datetime64[ns]")).tz_localize("UTC")
    where = assign_sessions(index, config.hours)
    if not where.in_session.all():  # the grid comes from the same table: a broken invariant
        raise RuntimeError("synthetic bar outside every Globex session")
    frame = pd.DataFrame(
        {
            "open": p.open_ * config.tick,
            "high": p.high * config.tick,
            "low": p.low * config.tick,
            "close": p.close * config.tick,
            "volume": p.volume.astype(np.float64),
            "contract": p.codes[p.session],
            "trade_date": where.trade_date,
            "rth": where.rth,
            "vix": attach_vix(index, pd.Timedelta(minutes=1), p.vix),
        },
        index=index,
    )
    return conform(frame), p.vix


__all__ = ["synthesize"]
