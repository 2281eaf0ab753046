"""Features one bar at a time, as a live feed delivers closed bars: :class:`LiveFeatures`.

``LiveFeatures(groups, context).push(bar)`` returns the feature row of ``bar`` from that bar and
the bars pushed before it only (nothing about later bars, not even how long its contract segment
or session will be). The values equal the columns of
``build_features(bars, groups, context=context)`` (tests/test_features_live.py: within 1e-9,
NaN exactly where the batch has NaN, on synthetic bars across a roll, a holiday and a daylight
saving change, and on the real ES sample).

How: every group's ``compute`` is mirrored by one numba step (``_step_<group>``) that runs the same
stream kernels (:mod:`.kernels`, :mod:`.kernels_days`) on one-bar arrays, with their states laid
out in two flat arrays per group (a float and an int array; a cursor hands out the slices in a
fixed order, so the layout is the same in the initialising call and in every bar's call). The
scalar arithmetic around the kernels is the groups' numpy arithmetic in the same order. The
profile group keeps a live developing profile (:class:`futures_vpoc.profile.live.LiveProfile`)
and, at each session end, the previous session's levels and the VPOC migration (slope over up
to 10 sessions, direction, streak) computed by the batch's own per-session code.

The per-bar inputs of :func:`.segments.bar_arrays` come from the bar and the bar before it:
``reset`` (contract differs), ``new_session`` (reset or another trade date), ``new_day`` (another
trade date), the CT clock minute (UTC offset cached per UTC hour), and from the calendar, known in
advance (looked up a year at a time): the Globex open and close of the trade date, the VIX
publication dates and instant (:func:`.vix._publication_calendar`), the contract's roll date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numba import njit

from futures_vpoc.calendar import globex_sessions
from futures_vpoc.config import EXCHANGE_TZ
from futures_vpoc.data.contracts import parse_contract
from futures_vpoc.errors import UsageError
from futures_vpoc.features import kernels as k
from futures_vpoc.features import kernels_days as kd
from futures_vpoc.features.fit import REGIME_WINDOW
from futures_vpoc.features.profile_features import SLOPE_SESSIONS, _expanding_slope
from futures_vpoc.features.registry import resolve_groups
from futures_vpoc.features.streams import SLOTS
from futures_vpoc.features.vix import _publication_calendar
from futures_vpoc.profile import ProfileSpec
from futures_vpoc.profile.live import I_NAKED, LiveProfile, bar_levels, develop, erase_naked, fits

NAN = np.nan
_jit = njit(cache=True, error_model="numpy")  # x / 0.0 gives inf or NaN as in numpy, never raises
NO_TIME = np.iinfo(np.int64).min
_MINUTE_NS = 60_000_000_000
_HOUR_NS = 3_600_000_000_000
_DAY_NS = 86_400_000_000_000
_LN2 = math.log(2.0)
_CALENDAR_DAYS = 366
"""Trade dates looked up in the calendar at a time."""

# bar inputs: xf (float64) and xi (int64) positions
XF_OPEN, XF_HIGH, XF_LOW, XF_CLOSE, XF_VOLUME, XF_VIX = range(6)
(XI_TS, XI_RESET, XI_NEW_SESSION, XI_NEW_DAY, XI_SLOT, XI_OPEN, XI_CLOSE, XI_DAY, XI_PREV_PUB, XI_PUB, XI_RTH,
 XI_ROLL, XI_TRADE_DAY) = range(13)
# context parameters: P (float64)
P_TICK, P_BPY, P_OMEGA, P_ALPHA, P_BETA, P_H0, P_EDGE0, P_EDGE1 = range(8)

_FLOAT_STATE = 3 * SLOTS * 10 + 16_384
_INT_STATE = 6 * SLOTS + 4096


# ---------------------------------------------------------------- state slices and one-bar streams

@_jit
def _f(F, cur, n, fill, init):
    a = cur[0]
    cur[0] = a + n
    v = F[a:a + n]
    if init:
        v[:] = fill
    return v


@_jit
def _i(I, cur, n, init):
    a = cur[1]
    cur[1] = a + n
    v = I[a:a + n]
    if init:
        v[:] = 0
    return v


@_jit
def _one(x):
    a = np.empty(1)
    a[0] = x
    return a


@_jit
def _flag(x):
    a = np.empty(1, np.bool_)
    a[0] = x
    return a


@_jit
def _lag(F, I, cur, init, x, reset, n):
    buf = _f(F, cur, n, NAN, init)
    ist = _i(I, cur, 2, init)
    if init:
        return NAN
    out = np.empty(1)
    k.lag(_one(x), reset, n, buf, ist, out)
    return out[0]


@_jit
def _rolling_sum(F, I, cur, init, x, reset, w):
    buf = _f(F, cur, w, NAN, init)
    fst = _f(F, cur, 1, 0.0, init)
    ist = _i(I, cur, 3, init)
    if init:
        return NAN
    out = np.empty(1)
    k.rolling_sum(_one(x), reset, w, buf, fst, ist, out)
    return out[0]


@_jit
def _seeded_ema(F, I, cur, init, x, reset, n, alpha):
    fst = _f(F, cur, 1, 0.0, init)
    ist = _i(I, cur, 1, init)
    if init:
        return NAN
    out = np.empty(1)
    k.seeded_ema(_one(x), reset, n, alpha, fst, ist, out)
    return out[0]


@_jit
def _rolling_mean_sd(F, I, cur, init, x, reset, w):
    buf = _f(F, cur, w, NAN, init)
    ist = _i(I, cur, 3, init)
    if init:
        return NAN, NAN
    mean = np.empty(1)
    sd = np.empty(1)
    k.rolling_mean_sd(_one(x), reset, w, buf, ist, mean, sd)
    return mean[0], sd[0]


@_jit
def _rolling_corr(F, I, cur, init, x, y, reset, w):
    bx = _f(F, cur, w, NAN, init)
    by = _f(F, cur, w, NAN, init)
    ist = _i(I, cur, 3, init)
    if init:
        return NAN
    out = np.empty(1)
    k.rolling_corr(_one(x), _one(y), reset, w, bx, by, ist, out)
    return out[0]


@_jit
def _session_first(F, I, cur, init, x, new_session):
    fst = _f(F, cur, 1, NAN, init)
    if init:
        return NAN
    out = np.empty(1)
    k.session_first(_one(x), new_session, fst, out)
    return out[0]


@_jit
def _session_cumsum(F, I, cur, init, x, new_session):
    fst = _f(F, cur, 1, 0.0, init)
    if init:
        return NAN
    out = np.empty(1)
    k.session_cumsum(_one(x), new_session, fst, out)
    return out[0]


@_jit
def _previous_session_last(F, I, cur, init, x, new_session, reset):
    fst = _f(F, cur, 2, NAN, init)
    if init:
        return NAN
    out = np.empty(1)
    k.previous_session_last(_one(x), new_session, reset, fst, out)
    return out[0]


@_jit
def _slot_mean(F, I, cur, init, x, slot, n, min_n):
    buf = _f(F, cur, SLOTS * n, 0.0, init).reshape((SLOTS, n))
    cnt = _i(I, cur, SLOTS, init)
    pos = _i(I, cur, SLOTS, init)
    if init:
        return NAN
    out = np.empty(1)
    sl = np.empty(1, np.int64)
    sl[0] = slot
    kd.slot_mean(_one(x), sl, n, min_n, buf, cnt, pos, out)
    return out[0]


@_jit
def _trailing_percentile(F, I, cur, init, x, new_day, n, min_n):
    buf = _f(F, cur, n, NAN, init)
    ist = _i(I, cur, 3, init)
    fst = _f(F, cur, 3, NAN, init)
    if init:
        return NAN
    out = np.empty(1)
    kd.trailing_percentile(_one(x), new_day, n, min_n, buf, ist, fst, out)
    return out[0]


@_jit
def _trailing_zscore(F, I, cur, init, x, new_day, n, min_n, sd_floor):
    buf = _f(F, cur, n, NAN, init)
    ist = _i(I, cur, 3, init)
    fst = _f(F, cur, 3, NAN, init)
    if init:
        return NAN
    out = np.empty(1)
    kd.trailing_zscore(_one(x), new_day, n, min_n, sd_floor, buf, ist, fst, out)
    return out[0]


@_jit
def _garch(F, I, cur, init, r, reset, P):
    fst = _f(F, cur, 1, NAN, init)
    if init:
        return NAN
    out = np.empty(1)
    k.garch_filter(_one(r), reset, P[P_OMEGA], P[P_ALPHA], P[P_BETA], P[P_H0], fst, out)
    return out[0]


@_jit
def _published_change(F, I, cur, init, xf, xi, new_day):
    fst = _f(F, cur, 2, NAN, init)
    ist = _i(I, cur, 3, init)
    if init:
        ist[0] = NO_TIME
        return NAN
    out = np.empty(1)
    ts = np.empty(1, np.int64)
    ts[0] = xi[XI_TS]
    day = np.empty(1, np.int64)
    day[0] = xi[XI_DAY]
    prev = np.empty(1, np.int64)
    prev[0] = xi[XI_PREV_PUB]
    pub = np.empty(1, np.int64)
    pub[0] = xi[XI_PUB]
    k.published_change(_one(xf[XF_VIX]), ts, new_day, day, prev, pub, fst, ist, out)
    return out[0]


# ---------------------------------------------------------------- scalar forms of common.py

@_jit
def _floored(x, floor):
    if math.isnan(x):
        return NAN
    return max(x, floor)


@_jit
def _ratio(num, den, fallback):
    if den > 0:
        return num / den
    if den == 0 and not math.isnan(num):
        return fallback
    return NAN


@_jit
def _safe_log(x):
    if x > 0:
        return np.log(x)
    return NAN


@_jit
def _root(x):
    if math.isnan(x):
        return NAN
    return np.sqrt(max(x, 0.0))


@_jit
def _pos(x):
    """``np.maximum(x, 0.0)`` keeping NaN."""
    if math.isnan(x):
        return NAN
    return max(x, 0.0)


@_jit
def _log_return(F, I, cur, init, close, reset):
    lc = np.log(close)
    return lc - _lag(F, I, cur, init, lc, reset, 1)


@_jit
def _true_range(F, I, cur, init, xf, reset):
    c = xf[XF_CLOSE]
    h = xf[XF_HIGH]
    lo = xf[XF_LOW]
    prev = _lag(F, I, cur, init, c, reset, 1)
    hl = h - lo
    if math.isnan(prev):
        return hl
    return max(hl, max(abs(h - prev), abs(lo - prev)))


# ---------------------------------------------------------------- the groups, one bar

@_jit
def _step_price(xf, xi, P, F, I, out, c0, init):
    cur = np.zeros(2, np.int64)
    reset = _flag(xi[XI_RESET] != 0)
    new_session = _flag(xi[XI_NEW_SESSION] != 0)
    close = xf[XF_CLOSE]
    lc = np.log(close)
    l1 = _lag(F, I, cur, init, lc, reset, 1)
    l5 = _lag(F, I, cur, init, lc, reset, 5)
    l15 = _lag(F, I, cur, init, lc, reset, 15)
    l60 = _lag(F, I, cur, init, lc, reset, 60)
    l10 = _lag(F, I, cur, init, lc, reset, 10)
    out[c0] = lc - l1
    out[c0 + 1] = lc - l5
    out[c0 + 2] = lc - l15
    out[c0 + 3] = lc - l60
    out[c0 + 4] = lc - np.log(_rolling_sum(F, I, cur, init, close, reset, 20) / 20)
    out[c0 + 5] = lc - np.log(_rolling_sum(F, I, cur, init, close, reset, 60) / 60)
    out[c0 + 6] = lc - np.log(_rolling_sum(F, I, cur, init, close, reset, 240) / 240)
    out[c0 + 7] = (lc - l5) - (l5 - l10)
    first_open = np.log(_session_first(F, I, cur, init, xf[XF_OPEN], new_session))
    out[c0 + 8] = lc - first_open
    prev_close = _previous_session_last(F, I, cur, init, close, new_session, reset)
    out[c0 + 9] = first_open - np.log(prev_close)
    return cur


@_jit
def _step_volume(xf, xi, P, F, I, out, c0, init):
    cur = np.zeros(2, np.int64)
    reset = _flag(xi[XI_RESET] != 0)
    new_session = _flag(xi[XI_NEW_SESSION] != 0)
    vol = xf[XF_VOLUME]
    slot = xi[XI_SLOT]
    lv = np.log1p(vol)
    tod = _slot_mean(F, I, cur, init, vol, slot, 10, 10)
    tod_short = _slot_mean(F, I, cur, init, vol, slot, 10, 2)
    before = _lag(F, I, cur, init, vol, reset, 1)
    recent = _rolling_sum(F, I, cur, init, before, reset, 20) / 20
    absret = abs(_log_return(F, I, cur, init, xf[XF_CLOSE], reset))
    cum = _session_cumsum(F, I, cur, init, vol, new_session)
    cum_tod = _slot_mean(F, I, cur, init, cum, slot, 10, 10)
    out[c0] = lv - np.log1p(tod)
    out[c0 + 1] = lv - np.log1p(tod_short)
    out[c0 + 2] = lv - np.log1p(recent)
    out[c0 + 3] = -_rolling_corr(F, I, cur, init, absret, lv, reset, 20)
    out[c0 + 4] = np.log1p(cum)
    out[c0 + 5] = np.log1p(cum) - np.log1p(cum_tod)
    return cur


@_jit
def _step_volatility(xf, xi, P, F, I, out, c0, init):
    cur = np.zeros(2, np.int64)
    reset = _flag(xi[XI_RESET] != 0)
    tick = P[P_TICK]
    o, h, lo, c = xf[XF_OPEN], xf[XF_HIGH], xf[XF_LOW], xf[XF_CLOSE]
    r = _log_return(F, I, cur, init, c, reset)
    rv15 = _root(_rolling_sum(F, I, cur, init, r * r, reset, 15) / 15)
    rv60 = _root(_rolling_sum(F, I, cur, init, r * r, reset, 60) / 60)
    rvr = _root(_rolling_sum(F, I, cur, init, r * r, reset, REGIME_WINDOW) / REGIME_WINDOW)
    tr = _true_range(F, I, cur, init, xf, reset)
    atr14 = _floored(_seeded_ema(F, I, cur, init, tr, reset, 14, 1.0 / 14), tick)
    atr100 = _floored(_seeded_ema(F, I, cur, init, tr, reset, 100, 1.0 / 100), tick)
    hl = np.log(h / lo)
    co = np.log(c / o)
    park = _rolling_sum(F, I, cur, init, hl * hl, reset, 30) / 30 / (4.0 * _LN2)
    gk_bar = 0.5 * hl * hl - (2.0 * _LN2 - 1.0) * co * co
    gk = _rolling_sum(F, I, cur, init, gk_bar, reset, 30) / 30
    garch = _garch(F, I, cur, init, r, reset, P)
    out[c0] = rv15
    out[c0 + 1] = rv60
    out[c0 + 2] = rvr
    out[c0 + 3] = atr14 / tick
    out[c0 + 4] = (h - lo) / atr14
    out[c0 + 5] = atr14 / atr100
    out[c0 + 6] = _root(park)
    out[c0 + 7] = _root(gk)
    out[c0 + 8] = garch
    if math.isnan(rvr):
        out[c0 + 9] = NAN
    elif rvr < P[P_EDGE0]:
        out[c0 + 9] = 0.0
    elif rvr < P[P_EDGE1]:
        out[c0 + 9] = 1.0
    else:
        out[c0 + 9] = 2.0
    return cur


@_jit
def _step_vix(xf, xi, P, F, I, out, c0, init):
    cur = np.zeros(2, np.int64)
    reset = _flag(xi[XI_RESET] != 0)
    new_day = _flag(xi[XI_NEW_DAY] != 0)
    vix = xf[XF_VIX]
    r = _log_return(F, I, cur, init, xf[XF_CLOSE], reset)
    rv = _root(_rolling_sum(F, I, cur, init, r * r, reset, 240) / 240) * np.sqrt(P[P_BPY])
    out[c0] = vix
    out[c0 + 1] = _published_change(F, I, cur, init, xf, xi, new_day)
    out[c0 + 2] = _trailing_percentile(F, I, cur, init, vix, new_day, 252, 20)
    out[c0 + 3] = _trailing_zscore(F, I, cur, init, vix, new_day, 252, 2, 0.5)
    rvm = NAN if math.isnan(rv) else max(rv, 1e-4)
    out[c0 + 4] = _safe_log(vix / 100.0) - np.log(rvm)
    return cur


@_jit
def _step_calendar(xf, xi, P, F, I, out, c0, init):
    cur = np.zeros(2, np.int64)
    ts = xi[XI_TS]
    second = (ts % _MINUTE_NS) / _MINUTE_NS
    phase = 2.0 * math.pi * (xi[XI_SLOT] + second) / 1440.0
    out[c0] = np.sin(phase)
    out[c0 + 1] = np.cos(phase)
    s_open = xi[XI_OPEN]
    s_close = xi[XI_CLOSE]
    out[c0 + 2] = NAN if (s_open == NO_TIME or ts == NO_TIME) else (ts - s_open) / _MINUTE_NS
    out[c0 + 3] = NAN if (s_close == NO_TIME or ts == NO_TIME) else (s_close - ts) / _MINUTE_NS
    day = xi[XI_TRADE_DAY]
    out[c0 + 4] = np.float64(((day // _DAY_NS) + 3) % 7)
    out[c0 + 5] = np.float64(xi[XI_RTH])
    roll = xi[XI_ROLL]
    out[c0 + 6] = NAN if roll == NO_TIME else (roll - day) / _DAY_NS
    return cur


@_jit
def _step_technical(xf, xi, P, F, I, out, c0, init):
    cur = np.zeros(2, np.int64)
    reset = _flag(xi[XI_RESET] != 0)
    tick = P[P_TICK]
    close = xf[XF_CLOSE]
    line = (_seeded_ema(F, I, cur, init, close, reset, 12, 2.0 / (12 + 1.0))
            - _seeded_ema(F, I, cur, init, close, reset, 26, 2.0 / (26 + 1.0)))
    hist = line - _seeded_ema(F, I, cur, init, line, reset, 9, 2.0 / (9 + 1.0))
    unit = _floored(_seeded_ema(F, I, cur, init, _true_range(F, I, cur, init, xf, reset), reset, 14, 1.0 / 14),
                    tick)
    change = close - _lag(F, I, cur, init, close, reset, 1)
    gain = _seeded_ema(F, I, cur, init, _pos(change), reset, 14, 1.0 / 14)
    loss = _seeded_ema(F, I, cur, init, _pos(-change), reset, 14, 1.0 / 14)
    mean, sd = _rolling_mean_sd(F, I, cur, init, close, reset, 20)
    out[c0] = 100.0 * _ratio(gain, gain + loss, 0.5)
    out[c0 + 1] = hist / unit
    out[c0 + 2] = np.sign(hist)
    out[c0 + 3] = _ratio(close - mean + 2.0 * sd, 2.0 * 2.0 * sd, 0.5)
    return cur


# profile group: float state PF = [prev vpoc, prev val, prev vah (points), mig slope, direction, streak]
PF_PREV, PF_SLOPE, PF_DIR, PF_STREAK = 0, 3, 4, 5


@_jit
def _proximity(level, close, unit):
    if math.isnan(level):
        return NAN if math.isnan(unit) else 0.0
    return unit / (unit + abs(level - close))


@_jit
def _step_profile(xf, xi, P, F, I, out, c0, init, hist, path_lo, path_hi, path_in, fstate, istate, naked, PF,
                  alloc, share, step):
    """Profile features of one bar; ``cur[0]`` is -1 (nothing advanced) when the grid must grow first."""
    cur = np.zeros(2, np.int64)
    tick = P[P_TICK]
    lo, hi, cl = 0, 0, 0
    if not init:
        lo, hi, cl = bar_levels(xf[XF_LOW], xf[XF_HIGH], xf[XF_CLOSE], tick)
        if not fits(istate, len(hist), lo, hi):
            cur[0] = -1
            return cur
    reset = _flag(xi[XI_RESET] != 0)
    close = xf[XF_CLOSE]
    unit = _floored(_seeded_ema(F, I, cur, init, _true_range(F, I, cur, init, xf, reset), reset, 14, 1.0 / 14),
                    tick)
    if init:
        return cur
    develop(hist, path_lo, path_hi, path_in, fstate, istate, lo, hi, cl, xf[XF_VOLUME], alloc, share, step)
    above, below = erase_naked(naked, istate, lo, hi)
    for j in range(3):  # vpoc, vah, val
        src = 2 if j == 0 else (4 if j == 1 else 3)  # fstate: VPOC, VAH, VAL
        dev = fstate[src] * tick
        gap = close - dev
        out[c0 + j] = gap / tick
        out[c0 + 3 + j] = gap / unit
        prev = PF[PF_PREV + (0 if j == 0 else (2 if j == 1 else 1))]
        out[c0 + 8 + j] = (close - prev) / tick
    vah = fstate[4] * tick  # fstate[2:5] = VPOC, VAL, VAH levels
    val = fstate[3] * tick
    width = vah - val
    out[c0 + 6] = (close - 0.5 * (vah + val)) / _floored(width, tick)
    out[c0 + 7] = width / tick
    out[c0 + 11] = _proximity(above * tick, close, unit)
    out[c0 + 12] = _proximity(below * tick, close, unit)
    out[c0 + 13] = np.float64(istate[I_NAKED])
    out[c0 + 14] = PF[PF_SLOPE]
    out[c0 + 15] = PF[PF_DIR]
    out[c0 + 16] = PF[PF_STREAK]
    return cur


_STEPS = {"price": _step_price, "volume": _step_volume, "volatility": _step_volatility, "vix": _step_vix,
          "calendar": _step_calendar, "technical": _step_technical}

_ORDER = {
    "price": ("ret_1", "ret_5", "ret_15", "ret_60", "dist_sma_20", "dist_sma_60", "dist_sma_240", "accel_5",
              "ret_session", "gap_session_open"),
    "volume": ("rel_tod_10_sessions", "rel_tod_sessions", "surge_20", "vp_divergence_20", "session_cum_log",
               "session_cum_rel_tod_10_sessions"),
    "volatility": ("rv_15", "rv_60", "rv_240", "atr_14_ticks", "range_atr_14", "atr_ratio_14_100", "parkinson_30",
                   "garman_klass_30", "garch_sigma", "regime"),
    "profile": ("dist_dev_vpoc_ticks", "dist_dev_vah_ticks", "dist_dev_val_ticks", "dist_dev_vpoc_atr",
                "dist_dev_vah_atr", "dist_dev_val_atr", "va_position", "va_width_ticks", "dist_prev_vpoc_ticks",
                "dist_prev_vah_ticks", "dist_prev_val_ticks", "naked_above_prox_atr", "naked_below_prox_atr",
                "naked_count", "mig_slope_ticks", "mig_direction", "mig_streak"),
    "vix": ("level", "change", "pct_252_sessions", "z_sessions", "rv_ratio_240"),
    "calendar": ("tod_sin", "tod_cos", "minutes_since_open", "minutes_to_close", "day_of_week", "rth", "days_to_roll"),
    "technical": ("rsi_14", "macd_hist_atr", "macd_cross", "bb_position_20"),
}
"""Where each step writes each feature (checked against the registry at construction)."""


# ---------------------------------------------------------------- per-session profile state

class _ProfileState:
    """The profile group's live state: developing profile, previous session levels, migration."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.live = LiveProfile(ProfileSpec(tick=tick))
        self.pf = np.full(6, np.nan)
        self.vpocs: list[float] = []
        self.direction = 0
        self.streak = 0

    def new_contract(self) -> None:
        self.live.new_contract()
        self.live.start_session()
        self.pf[:] = np.nan
        self.vpocs = []
        self.direction = 0
        self.streak = 0

    def new_session(self) -> None:
        """The session before is complete: its levels, the migration, its naked VPOC; then start afresh."""
        tick = self.tick
        vpoc, val, vah = self.live.end_session()
        self.pf[PF_PREV:PF_PREV + 3] = (vpoc * tick, val * tick, vah * tick)
        price = vpoc * tick
        prev = self.vpocs[-1] if self.vpocs else np.nan
        self.vpocs.append(price)
        change = (price - prev) / tick if (np.isfinite(prev) and np.isfinite(price)) else np.nan
        d = 1 if change >= 1 else (-1 if change <= -1 else 0)
        self.streak = self.streak + d if (d != 0 and len(self.vpocs) > 1 and self.direction == d) else d
        self.direction = d
        known = np.isfinite(change)
        recent = np.asarray(self.vpocs[-SLOPE_SESSIONS:], dtype=np.float64)
        self.pf[PF_SLOPE] = _expanding_slope(recent, SLOPE_SESSIONS)[-1] / tick
        self.pf[PF_DIR] = float(d) if known else np.nan
        self.pf[PF_STREAK] = float(self.streak) if known else np.nan
        self.live.start_session()


# ---------------------------------------------------------------- calendar look-ups

class _Calendar:
    """Per trade date: Globex open/close, VIX publication inputs; per contract: its roll date."""

    def __init__(self) -> None:
        self._days: dict[int, tuple[int, int, int, int, int]] = {}
        self._offsets: dict[int, int] = {}

    def day(self, day_ns: int) -> tuple[int, int, int, int, int]:
        """(session open, session close, day number, latest VIX date before, own publication instant)."""
        found = self._days.get(day_ns)
        if found is None:
            self._load(day_ns)
            found = self._days[day_ns]
        return found

    def _load(self, day_ns: int) -> None:
        days = day_ns + np.arange(_CALENDAR_DAYS, dtype=np.int64) * _DAY_NS
        stamps = days.view("datetime64[ns]")
        table = globex_sessions(pd.Timestamp(int(days[0])), pd.Timestamp(int(days[-1])))
        pos = table.index.get_indexer(pd.DatetimeIndex(stamps))
        opens = pd.DatetimeIndex(table["open"]).as_unit("ns").asi8
        closes = pd.DatetimeIndex(table["close"]).as_unit("ns").asi8
        number, prev, pub = _publication_calendar(stamps)
        for j, d in enumerate(days.tolist()):
            p = pos[j]
            s_open, s_close = (int(opens[p]), int(closes[p])) if p >= 0 else (NO_TIME, NO_TIME)
            self._days.setdefault(d, (s_open, s_close, int(number[j]), int(prev[j]), int(pub[j])))

    def slot(self, ts: int) -> int:
        """US Central clock minute of a UTC instant (ns), 0..1439."""
        hour = ts // _HOUR_NS
        off = self._offsets.get(hour)
        if off is None:
            local = pd.Timestamp(hour * _HOUR_NS, tz="UTC").tz_convert(EXCHANGE_TZ)
            off = self._offsets[hour] = int(local.utcoffset() / pd.Timedelta(1, "ns"))
        return ((ts + off) // _MINUTE_NS) % 1440

    @staticmethod
    def roll(contract: str, day_ns: int) -> int:
        """The contract's calendar roll date (ns), resolved near the trade date; NO_TIME if not a future."""
        try:
            near = np.datetime64(day_ns, "ns").astype("datetime64[D]").item()
            return int(np.datetime64(parse_contract(contract, near=near).roll_date, "ns").view(np.int64))
        except ValueError:
            return NO_TIME


# ---------------------------------------------------------------- bar fields

def _ns(value) -> int:
    """Nanoseconds since the epoch (UTC) of a timestamp given as pd.Timestamp, datetime64 or int."""
    if isinstance(value, pd.Timestamp):
        return value.value if value.tz is None else value.tz_convert("UTC").value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").view(np.int64))
    return _ns(pd.Timestamp(value))


class LiveFeatures:
    """Feature rows of bars pushed one at a time, equal to :func:`~futures_vpoc.features.build_features`.

    Parameters
    ----------
    groups : sequence of str, optional
        Feature groups (default all), as ``build_features``.
    context : Context
        The frozen context of a build or a trained model (tick, bars per year, fits); required
        (a live feed cannot fit anything or measure its bar width in advance).

    Attributes
    ----------
    names : tuple of str
        Column names, equal to ``build_features(bars, groups, context=context).frame.columns``.

    ``push(bar)`` takes one bar, oldest first, as a namedtuple of ``DataFrame.itertuples()`` on a
    BarFrame (``Index`` = bar start) or a mapping with the keys ``timestamp``, ``open``, ``high``,
    ``low``, ``close``, ``volume``, ``vix`` (NaN before the first VIX close), ``rth``,
    ``trade_date`` (midnight, naive) and ``contract`` (str). Timestamps: a pandas Timestamp (a
    naive one is UTC), a numpy datetime64 or int nanoseconds since the epoch (UTC). Bars must
    come in strictly increasing time; the BarFrame checks of a build are not repeated per bar.
    """

    def __init__(self, groups=None, context=None) -> None:
        if context is None:
            raise UsageError("LiveFeatures needs a frozen context "
                             "(FeatureTable.context of a build, or a trained run's)")
        chosen = resolve_groups(groups)
        if any(g.name == "volatility" for g in chosen) and context.fitted is None:
            raise UsageError("the volatility group needs the frozen fits (GARCH, regime edges) of its context")
        self.context = context
        self.groups = tuple(g.name for g in chosen)
        self.names = tuple(spec.column for g in chosen for spec in g.specs)
        for g in chosen:
            if tuple(spec.name for spec in g.specs) != _ORDER[g.name]:
                raise RuntimeError(f"live step of group {g.name} is out of date with its registry specs")
        fitted = context.fitted
        garch = fitted.garch if fitted is not None else None
        self._P = np.array([context.tick, context.bars_per_year,
                            garch.omega if garch else NAN, garch.alpha if garch else NAN,
                            garch.beta if garch else NAN, garch.h0 if garch else NAN,
                            fitted.regime_edges[0] if fitted else NAN, fitted.regime_edges[1] if fitted else NAN],
                           dtype=np.float64)
        self._xf = np.ones(6)
        self._xi = np.zeros(13, np.int64)
        self._out = np.empty(len(self.names))
        self._calendar = _Calendar()
        self._steps = []
        col = 0
        self._profile = None
        for g in chosen:
            F = np.zeros(_FLOAT_STATE)
            I = np.zeros(_INT_STATE, np.int64)
            if g.name == "profile":
                self._profile = _ProfileState(float(context.tick))
                self._profile_args = (F, I, col)
                self._profile_call(True)
            else:
                _STEPS[g.name](self._xf, self._xi, self._P, F, I, self._out, col, True)
                self._steps.append((_STEPS[g.name], F, I, col))
            col += len(g.specs)
        self._prev_contract = None
        self._prev_day = None
        self._prev_ts = None
        self._roll = NO_TIME

    def _profile_call(self, init: bool):
        F, I, col = self._profile_args
        live = self._profile.live
        return _step_profile(self._xf, self._xi, self._P, F, I, self._out, col, init, live.hist, live.path_lo,
                             live.path_hi, live.path_in, live.fstate, live.istate, live.naked, self._profile.pf,
                             live.alloc, live.share, live.step)

    def push(self, bar) -> np.ndarray:
        """The feature row of ``bar`` (float64, shape ``(len(names),)``, NaN while warming up)."""
        if isinstance(bar, Mapping):
            get = bar.__getitem__
            ts = _ns(get("timestamp"))
        else:
            get = bar.__getattribute__
            ts = _ns(bar.Index if hasattr(bar, "Index") else bar.timestamp)
        day = _ns(get("trade_date"))
        contract = get("contract")
        if self._prev_ts is not None and ts <= self._prev_ts:
            raise UsageError(f"bar at {pd.Timestamp(ts, tz='UTC')} is not after the bar before")
        reset = contract != self._prev_contract
        new_day = day != self._prev_day
        new_session = reset or new_day
        if reset:
            self._roll = self._calendar.roll(str(contract), day)
        xf, xi = self._xf, self._xi
        xf[XF_OPEN] = get("open")
        xf[XF_HIGH] = get("high")
        xf[XF_LOW] = get("low")
        xf[XF_CLOSE] = get("close")
        xf[XF_VOLUME] = get("volume")
        xf[XF_VIX] = get("vix")
        s_open, s_close, number, prev_pub, pub = self._calendar.day(day)
        xi[:] = (ts, reset, new_session, new_day, self._calendar.slot(ts), s_open, s_close, number, prev_pub, pub,
                 bool(get("rth")), self._roll, day)
        out = self._out
        for step, F, I, col in self._steps:
            step(xf, xi, self._P, F, I, out, col, False)
        if self._profile is not None:
            if reset:
                self._profile.new_contract()
            elif new_session:
                self._profile.new_session()
            if self._profile_call(False)[0] < 0:
                live = self._profile.live
                lo, hi, _ = bar_levels(xf[XF_LOW], xf[XF_HIGH], xf[XF_CLOSE], float(self._P[P_TICK]))
                live.ensure(int(lo), int(hi))
                self._profile_call(False)
        self._prev_contract, self._prev_day, self._prev_ts = contract, day, ts
        return out.copy()
