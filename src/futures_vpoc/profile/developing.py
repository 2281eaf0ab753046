"""The developing profile: VPOC, VAL and VAH of each bar's session as of that bar."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.profile.grid import GridBars, prepare
from futures_vpoc.profile.kernels import developing_profiles, session_spans
from futures_vpoc.profile.levels import prior_columns
from futures_vpoc.profile.session import SessionProfiles, build_sessions
from futures_vpoc.profile.spec import ProfileSpec

DEV_COLUMNS = ("session", "dev_vpoc", "dev_val", "dev_vah", "dev_total")


@dataclass(frozen=True, eq=False)
class DevelopingProfile:
    """Per-bar developing values, aligned to the BarFrame.

    Attributes
    ----------
    spec : ProfileSpec
        The definition used.
    table : pandas.DataFrame
        Index = the BarFrame's index (``timestamp``, bar start, UTC). Columns ``session`` (row in
        :attr:`sessions`' table; -1 for a bar outside the scope), ``dev_vpoc``, ``dev_val``,
        ``dev_vah`` (index points; the session's profile over its bars up to and including this
        one; NaN outside the scope or while the session holds no volume), ``dev_total`` (profile
        total so far), and, when built with ``prior=True``, the columns of
        :func:`futures_vpoc.profile.levels.prior_columns`.
    sessions : SessionProfiles or None
        The finished sessions (None when built with ``prior=False``).
    """

    spec: ProfileSpec
    table: pd.DataFrame
    sessions: SessionProfiles | None


def developing_columns(g: GridBars, spec: ProfileSpec) -> dict[str, np.ndarray]:
    """Developing VPOC/VAL/VAH of prepared bars (see :func:`developing_profile`), by column."""
    alloc = spec.allocation_code
    base, offsets = session_spans(g.low, g.high, g.close, g.take, g.bounds, alloc)
    levels, totals = developing_profiles(g.low, g.high, g.close, g.volume, g.take, g.bounds, base, offsets,
                                         alloc, spec.value_area, spec.two_level)
    n = len(g.index)
    session = np.repeat(np.arange(g.n_sessions, dtype=np.int64), np.diff(g.bounds))
    prices = levels * spec.tick
    if len(g.take) == n:
        cols = {"session": session, "dev_vpoc": prices[:, 0], "dev_val": prices[:, 1], "dev_vah": prices[:, 2],
                "dev_total": totals}
    else:
        cols = {"session": np.full(n, -1, np.int64)}
        cols["session"][g.take] = session
        for j, name in enumerate(("dev_vpoc", "dev_val", "dev_vah")):
            cols[name] = np.full(n, np.nan)
            cols[name][g.take] = prices[:, j]
        cols["dev_total"] = np.full(n, np.nan)
        cols["dev_total"][g.take] = totals
    return cols


def developing_profile(bars: pd.DataFrame, spec: ProfileSpec | None = None, prior: bool = True) -> DevelopingProfile:
    """Developing VPOC, VAL and VAH for every bar, and optionally the prior-session levels.

    Causal by construction: the values of bar ``t`` depend only on bars up to and including
    ``t`` (removing later bars changes nothing at or before ``t``).

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame.
    spec : ProfileSpec, optional
        The definition (default :class:`ProfileSpec`).
    prior : bool
        Also compute the finished sessions and, for every bar, the previous session's levels and
        the nearest naked VPOCs (:func:`futures_vpoc.profile.levels.prior_columns`).

    Returns
    -------
    DevelopingProfile

    Raises
    ------
    DataError
        As :func:`futures_vpoc.profile.session.session_profiles`.
    """
    spec = spec or ProfileSpec()
    g = prepare(bars, spec)
    cols = developing_columns(g, spec)
    sessions = build_sessions(g, spec) if prior else None
    if prior:
        cols.update(prior_columns(g, sessions))
    return DevelopingProfile(spec, pd.DataFrame(cols, index=g.index, copy=False), sessions)
