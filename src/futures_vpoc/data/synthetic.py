"""A synthetic ES + VIX market: 1-minute BarFrames with the statistical habits of the real thing.

:func:`synthesize` builds a :mod:`~futures_vpoc.data.barframe` BarFrame and the daily VIX closes
it was joined with. Everything is drawn from one :class:`numpy.random.Generator` seeded by
:attr:`SynthConfig.seed`, in a fixed order, so a seed gives the identical frame on every run.

What is modelled (all times US Central, the defaults of :class:`SynthConfig`)
------------------------------------------------------------------------------
Calendar
    One bar per minute of every Globex session of :func:`futures_vpoc.calendar.globex_sessions`
    (holidays, early closes, the era's open/close and the 15:15-15:30 halt where it exists), minus
    the minutes whose simulated volume is zero (no trade, no bar; mostly overnight).
Contracts and rolls
    Each trade date trades the calendar-roll front contract (:func:`front_contract`). Prices are
    raw per contract. On the first session of a new contract the price level jumps by the calendar
    spread ``round(P * carry_rate * days / 365 / tick) + j`` ticks, where ``P`` is the price before
    the jump, ``days`` the days between the two expiries (about 91) and ``j`` a jitter drawn
    uniformly from {-2..2} ticks; with the default ``carry_rate = 0.02`` at 4000 that is about
    20 points, so the series jumps at each roll like a raw (unadjusted) splice.
Volatility
    Per-minute return standard deviation, as a fraction of price,
    ``sigma_i = sigma0 * s(m_i) * exp(h_i + d_k - 0.25^2)``: ``s`` is an intraday seasonality of the CT
    clock minute ``m`` (U-shape in RTH, a 07:30 CT data spike, quiet Asian hours); ``h`` is a
    per-minute AR(1) log-volatility (``phi = 0.98``, sd 0.25), ``d`` a per-session AR(1)
    (``phi = 0.85``, sd 0.5), and ``sigma0`` is set so a full session in the median state
    (``d = 0``) has expected variance ``annual_vol**2 / 252``. Calm and stormy stretches scatter
    around that level: a year's realised volatility is typically 0.8-1.4 times ``annual_vol``
    (the default 0.15 gives VIX around 15-25). Innovations
    are Student-t with ``t_dof`` degrees of freedom scaled to unit variance (fat tails). Closed
    time between two grid minutes (maintenance break, halt, weekend, holiday) adds a gap with sd
    ``0.15 * sigma0 * sqrt(min(closed_minutes, 1000))``.
Prices
    A latent price ``x`` (ticks, float) takes, each grid minute, the closed-time gap
    ``x += x * gap_i`` (and the roll jump), then ``x += mu_i + x * sigma_i * eps_i``. A bar opens
    at ``round(x)`` after the gap and closes at ``round(x)`` at the end of its minute (so inside a
    session a bar opens at the previous minute's close); a price floor of 4 ticks is never reached
    with sane settings. High
    and low are drawn from the exact law of a Brownian bridge's maximum and minimum between open and
    close with the minute's variance, rounded to the tick and clipped to contain open and close.
Volume
    Gamma-Poisson (negative binomial, shape ``volume_shape``) with mean
    ``rth_volume * u(m_i) * exp(h_i + d_k - v / 2)`` (``v`` the variance of ``h + d``, so the
    factor has mean 1): ``u`` is U-shaped in RTH (08:30 open, 15:00
    close), lower midday, and far lower overnight, so RTH bars carry about ten times the volume of
    ETH bars; busier when volatility is high. A minute with zero volume has no bar (0.3-0.5 % of
    the grid, nearly all overnight).
VIX
    One close per day the NYSE is open (Cboe index options follow that calendar), computed only
    from bars that END by 15:15 CT of that date (so the close never knows a later ES price)::

        log V_D = phi_v log V_{D-1} + (1 - phi_v) A_D + beta R_D + e_D
        A_D = w log RV_D + (1 - w) log SV_D + log(100 vix_premium)

    ``RV_D`` is the annualised realised volatility (``sqrt(252 * sum r^2)`` of the session's
    1-minute log returns), ``SV_D = annual_vol * exp(d_k)`` the annualised volatility the
    session's state implies (``E[RV^2 | d] = SV^2``: VIX is a forecast and knows the regime),
    ``R_D`` the session's log return from its first open to that time; ``phi_v = 0.7``,
    ``w = 0.3``, ``beta = -8`` (a 1 % fall lifts VIX about 8 %) and ``e_D ~ N(0, 0.02^2)``.
    Joined to bars by :func:`futures_vpoc.data.vix.attach_vix` (as of publication, 15:15 CT).
    Over half a year, corr(VIX, RV) is 0.6-0.9 and corr(VIX change, R) -0.5 to -0.8 (10 seeds).

The planted signal (``signal = S``)
-----------------------------------
With ``S = 0`` nothing is predictable: ``mu_i = 0``. With ``S > 0`` the price is pulled toward the
developing session VPOC::

    mu_i = clip(S * pull_rate * (V_{i-1} - C_{i-1}), -pull_cap * sd_i, +pull_cap * sd_i)

``mu_i`` is the drift of minute ``i`` in ticks, ``sd_i = sigma_i * x`` the minute's return sd in
ticks, ``C_{i-1}`` the close (ticks) of the session's previous bar and ``V_{i-1}`` the developing VPOC
over the session's bars before minute ``i``: the close price (ticks) holding the most volume when
each bar's whole volume is put at its close (close allocation); on a tie the level that reached the
maximum first is kept. No pull on a session's first bar (no VPOC yet); the profile restarts every
session (so never across a roll). ``pull_rate`` is a fraction of the gap per minute (default
0.004: at ``S = 1`` 0.4 % of the gap closes per minute, half-life about three hours without noise),
``pull_cap`` (default 0.5) bounds the drift to half a minute's noise. Measured on 2023-Q1 (seed 7):
the correlation of ``VPOC - close`` (VPOC through the bar) with the next 5-bar return is about 0.00
at ``S = 0``, 0.06 at ``S = 1`` and 0.11 at ``S = 2`` (0.066-0.080 at ``S = 1`` over 2023-H1,
seeds 1-10). The pull is mean reversion inside the session, so it also narrows daily ranges (the
sd of a session's open-to-close move is about 35-40 % lower at ``S = 1``).

Why numba
---------
The price recursion is sequential: the pull at minute ``i`` needs the volume profile of every bar
before it, which depends on the prices drawn before it, and the volatility scaling multiplies by the
current price. No vectorised form exists, so that one loop is an ``@njit`` kernel
(:func:`_price_kernel`); everything else (grid, seasonality, AR(1) filters, volumes, bar ranges,
VIX) is vectorised numpy/scipy. About a million bars (three years) take a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit
from scipy.signal import lfilter

from futures_vpoc.calendar import assign_sessions, globex_sessions
from futures_vpoc.config import ES_TICK_SIZE, EXCHANGE_TZ, SessionHours
from futures_vpoc.data.barframe import conform
from futures_vpoc.data.contracts import front_contract
from futures_vpoc.data.vix import attach_vix, publication_times
from futures_vpoc.errors import UsageError

_MINUTE_NS = 60_000_000_000
_PHI_MINUTE, _SD_MINUTE = 0.98, 0.25  # per-minute log-vol AR(1)
_PHI_SESSION, _SD_SESSION = 0.85, 0.50  # per-session log-vol AR(1)
_LOG_VOL_VAR = _SD_MINUTE**2 + _SD_SESSION**2
_GAP_SCALE, _GAP_CAP_MIN = 0.15, 1000.0  # closed-time gap, fraction of sigma0 per sqrt(minute)
_VIX_PHI, _VIX_BETA, _VIX_NOISE, _VIX_W_REALISED = 0.70, -8.0, 0.02, 0.3
_PROFILE_HALF_RANGE = 1 << 15  # ticks either side of the session's first price held in the profile


@dataclass(frozen=True)
class SynthConfig:
    """Settings of the synthetic market.

    Attributes
    ----------
    start, end : str
        First and last trade date, inclusive (``YYYY-MM-DD``).
    seed : int
        Seed of the one random generator; same seed, same frame.
    signal : float
        Strength ``S >= 0`` of the planted pull toward the developing VPOC (module docstring);
        0 = nothing predictable.
    tick : float
        Minimum price increment, index points.
    start_price : float
        Price of the first bar, index points (rounded to the tick).
    annual_vol : float
        Annualised volatility of returns in the median volatility state (fraction, 0.15 = 15 %).
    t_dof : float
        Degrees of freedom of the Student-t return innovations (> 2; lower = fatter tails).
    rth_volume : float
        Mean contracts per minute at the RTH midday level of the volume curve.
    volume_shape : float
        Gamma shape of the per-minute volume (negative binomial); lower = more dispersion and more
        zero-volume (missing) minutes.
    carry_rate : float
        Annual financing minus dividend yield that sets the calendar spread at each roll.
    pull_rate : float
        Fraction of the VPOC gap closed per minute at ``signal = 1``.
    pull_cap : float
        Bound of the pull, in units of the minute's return standard deviation.
    vix_premium : float
        Ratio of the VIX level to the realised volatility it tracks (variance risk premium).
    root : str
        Contract root of the codes (``ES``).
    hours : SessionHours
        RTH window.
    """

    start: str = "2023-01-02"
    end: str = "2023-12-29"
    seed: int = 7
    signal: float = 0.0
    tick: float = ES_TICK_SIZE
    start_price: float = 4000.0
    annual_vol: float = 0.15
    t_dof: float = 4.0
    rth_volume: float = 2000.0
    volume_shape: float = 1.5
    carry_rate: float = 0.02
    pull_rate: float = 0.004
    pull_cap: float = 0.5
    vix_premium: float = 1.25
    root: str = "ES"
    hours: SessionHours = field(default_factory=SessionHours)

    def __post_init__(self) -> None:
        try:
            start, end = pd.Timestamp(self.start), pd.Timestamp(self.end)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--start/--end: not a date ({exc}); use YYYY-MM-DD") from None
        if end < start:
            raise UsageError(f"--end {self.end} is before --start {self.start}; swap them")
        checks = {
            "--seed": isinstance(self.seed, (int, np.integer)) and self.seed >= 0,
            "--signal": np.isfinite(self.signal) and self.signal >= 0,
            "tick": np.isfinite(self.tick) and self.tick > 0,
            "start_price": np.isfinite(self.start_price) and self.start_price >= 10 * self.tick,
            "annual_vol": np.isfinite(self.annual_vol) and 0 < self.annual_vol < 2,
            "t_dof": np.isfinite(self.t_dof) and self.t_dof > 2,
            "rth_volume": np.isfinite(self.rth_volume) and self.rth_volume > 0,
            "volume_shape": np.isfinite(self.volume_shape) and self.volume_shape > 0,
            "carry_rate": np.isfinite(self.carry_rate) and abs(self.carry_rate) < 1,
            "pull_rate": np.isfinite(self.pull_rate) and 0 <= self.pull_rate <= 1,
            "pull_cap": np.isfinite(self.pull_cap) and self.pull_cap >= 0,
            "vix_premium": np.isfinite(self.vix_premium) and self.vix_premium > 0,
        }
        for name, ok in checks.items():
            if not ok:
                value = getattr(self, name.lstrip("-"))
                raise UsageError(f"{name} = {value!r} is out of range; see SynthConfig for valid values")


# ----------------------------------------------------------------------------- calendar grid


def _minute_grid(sessions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every 1-minute bar start of every session, halt minutes removed.

    Parameters
    ----------
    sessions : pandas.DataFrame
        :func:`globex_sessions` table.

    Returns
    -------
    stamps : numpy.ndarray of int64, shape (n,)
        Bar starts, UTC nanoseconds, strictly increasing.
    session : numpy.ndarray of int64, shape (n,)
        Row of ``sessions`` each bar belongs to.
    """
    col = {c: pd.DatetimeIndex(sessions[c]).as_unit("ns").asi8 for c in
           ("open", "close", "halt_start", "halt_end")}
    counts = (col["close"] - col["open"]) // _MINUTE_NS
    session = np.repeat(np.arange(len(sessions)), counts)
    first = np.cumsum(counts) - counts
    offset = np.arange(int(counts.sum())) - np.repeat(first, counts)
    stamps = col["open"][session] + offset * _MINUTE_NS
    in_halt = (stamps >= col["halt_start"][session]) & (stamps < col["halt_end"][session])
    return stamps[~in_halt], session[~in_halt]


def _clock_minutes(stamps: np.ndarray) -> np.ndarray:
    """Central-time minute of day of each UTC stamp.

    Parameters
    ----------
    stamps : numpy.ndarray of int64, shape (n,)
        UTC nanoseconds.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Minutes after midnight CT, in [0, 1440).
    """
    local = pd.DatetimeIndex(stamps.view("datetime64[ns]")).tz_localize("UTC").tz_convert(EXCHANGE_TZ)
    return (local.hour * 60 + local.minute).to_numpy(dtype=np.float64)


def _rth_fraction(m: np.ndarray, hours: SessionHours) -> tuple[np.ndarray, np.ndarray]:
    """Position inside RTH: ``x`` in [0, 1) and a mask of RTH minutes (by clock, not by session)."""
    lo = hours.rth_start.hour * 60 + hours.rth_start.minute
    hi = hours.rth_end.hour * 60 + hours.rth_end.minute
    inside = (m >= lo) & (m < hi)
    return np.clip((m - lo) / max(hi - lo, 1), 0.0, 1.0), inside


def _eth_level(m: np.ndarray, asia_late: float, asia_open: float, europe: float,
               pre_open: float, post: float) -> np.ndarray:
    """Piecewise-constant ETH level by CT clock minute.

    ``asia_open`` 17:00-20:00, ``asia_late`` 20:00-01:00, halfway to ``europe`` 01:00-02:00,
    ``europe`` 02:00-07:00, ``pre_open`` 07:00-08:30, ``post`` 15:00-17:00 (after the RTH close;
    also the 15:30-17:00 start of a pre-2012 session). RTH minutes get ``pre_open`` (unused).
    """
    return np.select(
        [m >= 1200, m >= 1020, m >= 900, m < 60, m < 120, m < 420],
        [asia_late, asia_open, post, asia_late, 0.5 * (asia_late + europe), europe],
        default=pre_open,
    )


def _vol_season(m: np.ndarray, hours: SessionHours) -> np.ndarray:
    """Intraday volatility seasonality ``s(m)`` (relative to RTH midday = 1).

    Parameters
    ----------
    m : numpy.ndarray of float64, shape (n,)
        CT minute of day.
    hours : SessionHours
        RTH window.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Positive weights: about 2.8 at the 08:30 open, 1 midday (a lunch dip to 0.8), 1.5 into
        the 15:00 close, 0.35-0.6 overnight, a 07:30 CT news spike.
    """
    x, rth = _rth_fraction(m, hours)
    inside = (1.0 + 1.8 * np.exp(-x / 0.04) + 0.5 * np.exp(-(1.0 - x) / 0.04)) * (
        1.0 - 0.2 * np.exp(-(((x - 0.55) / 0.15) ** 2)))
    eth = _eth_level(m, asia_late=0.35, asia_open=0.45, europe=0.6, pre_open=0.8, post=0.7)
    news = 1.0 + 2.0 * np.exp(-np.clip(m - 450.0, 0.0, None) / 8.0) * ((m >= 450) & (m < 510))
    return np.where(rth, inside, eth * news)


def _volume_season(m: np.ndarray, hours: SessionHours) -> np.ndarray:
    """Intraday volume curve ``u(m)`` (relative to RTH midday = 1).

    Parameters
    ----------
    m : numpy.ndarray of float64, shape (n,)
        CT minute of day.
    hours : SessionHours
        RTH window.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        U-shape in RTH (about 6 at the open minute, 3 at the close, 0.65 at lunch), 0.02-0.12
        overnight, 0.25 pre-open with a 07:30 CT spike, 0.3 after the close.
    """
    x, rth = _rth_fraction(m, hours)
    inside = (1.0 + 5.0 * np.exp(-x / 0.02) + 2.0 * np.exp(-(1.0 - x) / 0.03)) * (
        1.0 - 0.35 * np.exp(-(((x - 0.55) / 0.15) ** 2)))
    eth = _eth_level(m, asia_late=0.02, asia_open=0.05, europe=0.12, pre_open=0.25, post=0.3)
    news = 1.0 + 3.0 * np.exp(-np.clip(m - 450.0, 0.0, None) / 6.0) * ((m >= 450) & (m < 510))
    return np.where(rth, inside, eth * news)


def _sigma0(config: SynthConfig) -> float:
    """Per-minute return sd (fraction) at seasonality 1 that gives ``annual_vol`` over a session."""
    m = (np.arange(1380, dtype=np.float64) + 17 * 60) % 1440  # a regular 17:00 -> 16:00 session
    daily_var = float(np.sum(_vol_season(m, config.hours) ** 2))
    return config.annual_vol / np.sqrt(252.0 * daily_var)


# ----------------------------------------------------------------------------- random processes


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary Gaussian AR(1) path, shape (n,), marginal sd ``sd``, started in its stationary law."""
    innov = rng.standard_normal(n) * sd * np.sqrt(1.0 - phi * phi)
    start = rng.standard_normal() * sd
    path, _ = lfilter([1.0], [1.0, -phi], innov, zi=np.array([phi * start]))
    return path


def _log_vol(rng: np.random.Generator, session: np.ndarray,
             n_sessions: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-volatility of each minute and the per-session component.

    Returns
    -------
    log_vol : numpy.ndarray of float64, shape (n,)
        ``h_i + d_k - sd_h^2``, so that ``E[exp(2 log_vol) | d_k = 0] = 1``.
    daily : numpy.ndarray of float64, shape (n_sessions,)
        ``d_k``, the session's volatility state.
    """
    daily = _ar1(rng, n_sessions, _PHI_SESSION, _SD_SESSION)
    minute = _ar1(rng, len(session), _PHI_MINUTE, _SD_MINUTE)
    return minute + daily[session] - _SD_MINUTE**2, daily


def _volumes(rng: np.random.Generator, mean: np.ndarray, shape: float) -> np.ndarray:
    """Gamma-Poisson (negative binomial) contracts per minute.

    Parameters
    ----------
    mean : numpy.ndarray of float64, shape (n,)
        Expected contracts per minute, > 0.
    shape : float
        Gamma shape ``k``; variance ``mean + mean**2 / k``.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Non-negative; zero means no trade in that minute.
    """
    return rng.poisson(mean * rng.gamma(shape, 1.0 / shape, len(mean)))


def _closed_gap_sd(stamps: np.ndarray, sigma0: float) -> np.ndarray:
    """Extra return sd (fraction) for the closed time before each grid minute, shape (n,)."""
    closed = np.diff(stamps, prepend=stamps[:1] - _MINUTE_NS) // _MINUTE_NS - 1
    return _GAP_SCALE * sigma0 * np.sqrt(np.minimum(closed.astype(np.float64), _GAP_CAP_MIN))


@njit(cache=True)
def _price_kernel(sigma, eps, gap, traded, new_session, roll_frac, roll_jitter, volume,
                  x0, pull, pull_cap):  # pragma: no cover - compiled; its py_func is tested equal
    """Sequential price path with the optional pull toward the developing VPOC.

    Parameters
    ----------
    sigma : float64 (n,)
        Return sd of each minute, fraction of price.
    eps : float64 (n,)
        Unit-variance Student-t innovations.
    gap : float64 (n,)
        Closed-time return shock before each minute (fraction, already scaled; 0 inside a session).
    traded : bool (n,)
        Whether the minute has a bar (volume > 0).
    new_session : bool (n,)
        True on a session's first grid minute (resets the profile).
    roll_frac : float64 (n,)
        ``carry_rate * days / 365`` on the first grid minute of a new contract, else 0.
    roll_jitter : int64 (n,)
        Ticks added to the roll spread (used only where ``roll_frac`` is non-zero).
    volume : float64 (n,)
        Contracts of each minute (only traded minutes are put in the profile).
    x0 : float
        Starting latent price, ticks.
    pull : float
        ``signal * pull_rate``; 0 disables the pull.
    pull_cap : float
        Bound of the pull, multiples of the minute's sd in ticks.

    Returns
    -------
    open_, close : int64 (n,)
        Bar open and close in ticks (meaningful where ``traded``).
    sd_ticks : float64 (n,)
        The minute's return sd in ticks (for the bar range).
    vpoc_prev : float64 (n,)
        Developing VPOC (ticks) over the session's bars before the minute; NaN before the first.
    """
    n = eps.shape[0]
    size = 2 * _PROFILE_HALF_RANGE + 1
    profile = np.zeros(size)
    open_ = np.empty(n, np.int64)
    close = np.empty(n, np.int64)
    sd_ticks = np.empty(n)
    vpoc_prev = np.full(n, np.nan)
    x = x0
    last_close = int(np.rint(x0))
    center = last_close
    lo, hi = size, -1
    have_vpoc = False
    vpoc = 0
    vmax = 0.0
    for i in range(n):
        if new_session[i]:
            if hi >= lo:
                profile[lo:hi + 1] = 0.0
            lo, hi = size, -1
            have_vpoc = False
            vmax = 0.0
            center = int(np.rint(x))
        if roll_frac[i] != 0.0:
            x += np.rint(x * roll_frac[i]) + roll_jitter[i]
        x += x * gap[i]
        s = sigma[i] * x
        sd_ticks[i] = s
        mu = 0.0
        if have_vpoc:
            vpoc_prev[i] = vpoc
            if pull > 0.0:
                mu = pull * (vpoc - last_close)
                bound = pull_cap * s
                mu = min(max(mu, -bound), bound)
        open_[i] = int(np.rint(x))
        x += mu + s * eps[i]
        if x < 4.0:  # a price floor far below anything the defaults reach
            x = 4.0
        close[i] = int(np.rint(x))
        if traded[i]:
            last_close = close[i]
            k = min(max(last_close - center + _PROFILE_HALF_RANGE, 0), size - 1)
            lo = min(lo, k)
            hi = max(hi, k)
            profile[k] += volume[i]
            if profile[k] > vmax:
                vmax = profile[k]
                vpoc = k - _PROFILE_HALF_RANGE + center
                have_vpoc = True
    return open_, close, sd_ticks, vpoc_prev


def _bar_range(rng: np.random.Generator, open_: np.ndarray, close: np.ndarray,
               sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """High and low (ticks) from the law of a Brownian bridge's extremes.

    For a Brownian motion from 0 to ``b = close - open`` with variance ``sd**2``, the maximum is
    ``(b + sqrt(b**2 - 2 sd**2 log U)) / 2`` and the minimum ``(b - sqrt(b**2 - 2 sd**2 log V)) / 2``
    with ``U, V`` uniform on (0, 1]. Rounded to ticks and clipped to hold open and close.

    Parameters
    ----------
    open_, close : numpy.ndarray of int64, shape (n,)
        Ticks.
    sd : numpy.ndarray of float64, shape (n,)
        Minute sd in ticks, >= 0.

    Returns
    -------
    high, low : numpy.ndarray of int64, shape (n,)
    """
    b = (close - open_).astype(np.float64)
    u = 1.0 - rng.random((2, len(b)))  # (0, 1]: log is finite
    spread = -2.0 * sd * sd * np.log(u)
    top = open_ + np.rint(0.5 * (b + np.sqrt(b * b + spread[0]))).astype(np.int64)
    bottom = open_ + np.rint(0.5 * (b - np.sqrt(b * b + spread[1]))).astype(np.int64)
    high = np.maximum(top, np.maximum(open_, close))
    low = np.minimum(bottom, np.minimum(open_, close))
    return high, low


# ----------------------------------------------------------------------------- contracts and VIX


def _session_contracts(sessions: pd.DataFrame, root: str) -> tuple[np.ndarray, np.ndarray]:
    """Front-contract code per session and the carry fraction where a new contract starts.

    Returns
    -------
    codes : numpy.ndarray of str, shape (n_sessions,)
    roll_days : numpy.ndarray of float64, shape (n_sessions,)
        Days between the old and the new contract's expiries on a session whose contract differs
        from the previous session's, else 0 (the first session never jumps).
    """
    fronts = [front_contract(d.date(), root) for d in sessions.index]
    codes = np.array([c.code for c in fronts])
    days = np.zeros(len(fronts))
    for k in range(1, len(fronts)):
        if fronts[k] != fronts[k - 1]:
            days[k] = (fronts[k].expiry - fronts[k - 1].expiry).days
    return codes, days


def _daily_moves(stamps: np.ndarray, session: np.ndarray, open_: np.ndarray, close: np.ndarray,
                 publish: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each session's realised volatility and return from bars that END by its VIX publication.

    Parameters
    ----------
    stamps, session, open_, close : numpy.ndarray, shape (b,)
        The emitted bars: UTC ns starts, session row, open and close in ticks (> 0).
    publish : numpy.ndarray of int64, shape (n_sessions,)
        UTC ns of each trade date's VIX publication (15:15 CT).

    Returns
    -------
    rv : numpy.ndarray of float64, shape (n_sessions,)
        Annualised ``sqrt(252 * sum r**2)`` of the 1-minute log returns (fraction; the first bar's
        is close over open); NaN for a session with no bar by then.
    ret : numpy.ndarray of float64, shape (n_sessions,)
        Log return from the session's first open to its last close by then; NaN likewise.
    """
    n_sessions = len(publish)
    keep = stamps + _MINUTE_NS <= publish[session]
    s, o, c = session[keep], np.log(open_[keep]), np.log(close[keep])
    first = np.r_[True, s[1:] != s[:-1]]
    prev = np.where(first, o, np.r_[c[:1], c[:-1]])
    r = c - prev
    sq = np.bincount(s, weights=r * r, minlength=n_sessions)
    total = np.bincount(s, weights=r, minlength=n_sessions)
    has = np.bincount(s, minlength=n_sessions) > 0
    return np.where(has, np.sqrt(252.0 * sq), np.nan), np.where(has, total, np.nan)


def _vix_dates(sessions: pd.DataFrame) -> np.ndarray:
    """Mask of sessions whose trade date has a VIX close (the NYSE is open), shape (n_sessions,)."""
    import pandas_market_calendars as mcal  # lazy, as in futures_vpoc.calendar

    days = mcal.get_calendar("NYSE").valid_days(sessions.index[0], sessions.index[-1])
    open_days = pd.DatetimeIndex(days).tz_localize(None).normalize().as_unit("ns")
    return np.asarray(sessions.index.isin(open_days), bool)


def _vix_closes(rng: np.random.Generator, dates: pd.DatetimeIndex, rv: np.ndarray, state: np.ndarray,
                ret: np.ndarray, premium: float) -> pd.Series:
    """Daily VIX closes that track volatility and move against returns.

    ``log V_k = phi log V_{k-1} + (1 - phi) (w log rv_k + (1 - w) log state_k + log(100 premium))
    + beta ret_k + e_k`` (module docstring), started at its anchor.

    Parameters
    ----------
    dates : pandas.DatetimeIndex, shape (m,)
        VIX dates (naive midnight).
    rv : numpy.ndarray of float64, shape (m,)
        Annualised realised volatility of each date up to publication (fraction, > 0).
    state : numpy.ndarray of float64, shape (m,)
        Annualised volatility the day's volatility state implies (fraction, > 0).
    ret : numpy.ndarray of float64, shape (m,)
        Log return of each date up to publication, finite.
    premium : float
        VIX / volatility ratio.

    Returns
    -------
    pandas.Series of float64, shape (m,)
        Index points, rounded to 0.01, index ``date``, name ``vix``.
    """
    noise = rng.standard_normal(len(dates)) * _VIX_NOISE
    if len(dates) == 0:
        return pd.Series([], index=pd.DatetimeIndex([], name="date").as_unit("ns"), name="vix", dtype="float64")
    anchor = _VIX_W_REALISED * np.log(rv) + (1.0 - _VIX_W_REALISED) * np.log(state) + np.log(100.0 * premium)
    drive = (1.0 - _VIX_PHI) * anchor + _VIX_BETA * ret + noise
    level, _ = lfilter([1.0], [1.0, -_VIX_PHI], drive, zi=np.array([_VIX_PHI * anchor[0]]))
    index = pd.DatetimeIndex(dates, name="date").as_unit("ns")
    return pd.Series(np.round(np.exp(level), 2), index=index, name="vix")


# ----------------------------------------------------------------------------- assembly


@dataclass(frozen=True)
class _Paths:
    """Internals of one simulation (for :func:`synthesize` and the tests); arrays over emitted bars.

    ``stamps`` UTC ns; ``session`` row of ``sessions``; ``open_ high low close`` ticks (int64);
    ``volume`` contracts; ``vpoc_prev`` the developing VPOC (ticks) the kernel used for the bar,
    NaN on a session's first bar; ``grid_minutes`` how many grid minutes there were in all.
    """

    sessions: pd.DataFrame
    stamps: np.ndarray
    session: np.ndarray
    open_: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
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
    publish = publication_times(sessions.index).as_unit("ns").asi8
    rv, ret = _daily_moves(stamps, session, open_, close, publish)
    has_vix = _vix_dates(sessions) & np.isfinite(rv) & (rv > 0)
    state_vol = config.annual_vol * np.exp(state)  # E[RV^2 | d] = state_vol^2
    vix = _vix_closes(rng, sessions.index[has_vix], rv[has_vix], state_vol[has_vix], ret[has_vix],
                      config.vix_premium)
    return _Paths(sessions, stamps, session, open_, high, low, close, volume[traded], vpoc_prev[traded],
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


__all__ = ["SynthConfig", "synthesize"]
