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
    Each trade date trades the calendar-roll front contract
    (:func:`~futures_vpoc.data.contracts.front_contract`). Prices are raw per contract. On the first
    session of a new contract the price level jumps by the calendar spread
    ``round(P * carry_rate * days / 365 / tick) + j`` ticks, where ``P`` is the price before the
    jump, ``days`` the days between the two expiries (about 91) and ``j`` a jitter drawn uniformly
    from {-2..2} ticks; with the default ``carry_rate = 0.02`` at 4000 that is about 20 points, so
    the series jumps at each roll like a raw (unadjusted) splice.
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
(:func:`~futures_vpoc.data.synthetic.prices._price_kernel`); everything else (grid, seasonality,
AR(1) filters, volumes, bar ranges, VIX) is vectorised numpy/scipy. About a million bars (three
years) take a few seconds.

Modules
-------
:mod:`~futures_vpoc.data.synthetic.config`
    :class:`SynthConfig`, the settings and their range checks.
:mod:`~futures_vpoc.data.synthetic.calendar_path`
    The minute grid of the Globex sessions (halts, holidays), the CT clock, contracts and rolls.
:mod:`~futures_vpoc.data.synthetic.seasonality`
    The intraday volatility and volume curves and the volatility level ``sigma0`` they imply.
:mod:`~futures_vpoc.data.synthetic.processes`
    The random processes: AR(1) log-volatility, negative-binomial volume, closed-time gaps.
:mod:`~futures_vpoc.data.synthetic.prices`
    The sequential price path with the planted VPOC pull (numba) and each bar's high and low.
:mod:`~futures_vpoc.data.synthetic.vix`
    The daily VIX closes computed from the bars published by 15:15 CT.
:mod:`~futures_vpoc.data.synthetic.assembly`
    :func:`synthesize`: every draw in its fixed order, assembled into a BarFrame and its VIX.
"""

from __future__ import annotations

from futures_vpoc.data.synthetic.assembly import synthesize
from futures_vpoc.data.synthetic.config import SynthConfig

__all__ = ["SynthConfig", "synthesize"]
