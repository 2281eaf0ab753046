"""Prior-session levels at every bar: previous VPOC/VAL/VAH and the nearest naked VPOCs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.profile.grid import GridBars
from futures_vpoc.profile.kernels import prior_levels as _prior_kernel
from futures_vpoc.profile.session import SessionProfiles

PRIOR_COLUMNS = ("prev_session", "prev_vpoc", "prev_val", "prev_vah", "naked_above", "naked_above_ticks",
                 "naked_below", "naked_below_ticks", "naked_count")


def completion(g: GridBars, last_pos: np.ndarray, scope: str) -> np.ndarray:
    """Position of the bar from which each session is known to be over.

    The bar after its last bar, except for the ETH scope: a trade date's ETH bars come in two
    parts around RTH, so an ETH session is over only at the first later bar of another trade date
    or contract (or never, if none has come yet: then ``len(bars)``).
    """
    if scope != "eth":
        return last_pos + 1
    n = len(g.day)
    change = np.flatnonzero((g.day[1:] != g.day[:-1]) | (g.contract_code[1:] != g.contract_code[:-1])) + 1
    run_end = np.r_[change, n].astype(np.int64)
    return run_end[np.searchsorted(run_end, last_pos, side="right")]


def prior_table(g: GridBars, sessions: SessionProfiles) -> pd.DataFrame:
    """Prior-session levels of every bar, as a frame on the bars' index (:func:`prior_columns`)."""
    return pd.DataFrame(prior_columns(g, sessions), index=g.index, copy=False)


def prior_columns(g: GridBars, sessions: SessionProfiles) -> dict[str, np.ndarray]:
    """Prior-session levels of every bar of a prepared frame.

    Parameters
    ----------
    g : GridBars
        The bars (all of them, any scope: every bar gets prior levels).
    sessions : SessionProfiles
        Their finished sessions (same spec).

    Returns
    -------
    dict of numpy.ndarray, each of shape (n,), one per bar of the BarFrame
        ``prev_session`` (row of the latest completed session of the bar's contract, -1 if none),
        ``prev_vpoc``, ``prev_val``, ``prev_vah`` (points, NaN if none), ``naked_above`` /
        ``naked_below`` (nearest naked VPOC above the bar's high / below its low, points, NaN if
        none), ``naked_above_ticks`` / ``naked_below_ticks`` (their distance from the bar's close,
        ticks, >= 0), ``naked_count`` (naked VPOCs after the bar). All values are known at the end
        of the bar: the bar's own range may erase a naked VPOC; its own session never counts, nor
        one not yet known to be over (:func:`completion`). A naked VPOC is one no bar after its
        session's last bar has traded at.
    """
    table = sessions.table
    tick = sessions.spec.tick
    vpoc = table["vpoc"].to_numpy()
    has = np.isfinite(vpoc)
    vpoc_level = np.where(has, np.rint(np.where(has, vpoc, 0.0) / tick), 0).astype(np.int64)
    done = completion(g, sessions.last_pos, sessions.spec.scope)
    prev, above, below, count = _prior_kernel(g.low, g.high, g.contract_code, sessions.last_pos, done, vpoc_level,
                                              has, g.session_contract)
    some = prev >= 0
    pick = np.where(some, prev, 0)

    def _prev(col):
        return np.where(some, table[col].to_numpy()[pick], np.nan)

    above_p, below_p = above * tick, below * tick
    return {
        "prev_session": prev, "prev_vpoc": _prev("vpoc"), "prev_val": _prev("val"), "prev_vah": _prev("vah"),
        "naked_above": above_p, "naked_above_ticks": (above_p - g.price_close) / tick,
        "naked_below": below_p, "naked_below_ticks": (g.price_close - below_p) / tick,
        "naked_count": count,
    }
