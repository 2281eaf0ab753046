"""How far a bar-based profile is from the exact one: VPOC, VAH and VAL distances in ticks.

The 1-minute bars of the same trades are profiled with each allocation rule
(:data:`futures_vpoc.profile.spec.ALLOCATIONS`), session by session, and each session's VPOC, VAH
and VAL are compared with the exact profile's (:mod:`futures_vpoc.profile.exact`). A session
with no volume has no levels and is left out. Percentiles are numpy's default (linear
interpolation between order statistics); with one session every statistic is that session's
distance.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from futures_vpoc.profile.exact import ExactProfiles
from futures_vpoc.profile.session import session_profiles
from futures_vpoc.profile.spec import ALLOCATIONS

LEVELS = ("vpoc", "vah", "val")
COMPARE_COLUMNS = ("allocation", "sessions", "vpoc_median_ticks", "vpoc_p95_ticks", "vah_median_ticks",
                   "vah_p95_ticks", "val_median_ticks", "val_p95_ticks", "exact_vpoc_share")
"""One row per allocation rule: distances in ticks (median, 95th percentile), share of sessions
whose bar-based VPOC is the exact one."""


def session_distances(exact: ExactProfiles, allocation: str) -> pd.DataFrame:
    """Per-session distance, in ticks, of the ``allocation`` profile's levels from the exact ones.

    Returns
    -------
    pandas.DataFrame
        Index = the exact session table's; columns ``trade_date``, ``contract`` and one per level
        of :data:`LEVELS` (absolute distance in ticks, NaN where either profile has no volume).
    """
    spec = dataclasses.replace(exact.spec, allocation=allocation)
    approx = session_profiles(exact.bars, spec).table
    truth = exact.sessions.table
    same = (approx["trade_date"].to_numpy() == truth["trade_date"].to_numpy()).all() and \
        (approx["contract"].to_numpy() == truth["contract"].to_numpy()).all()
    if len(approx) != len(truth) or not same:
        raise AssertionError("bar and exact sessions differ")  # same bars, same sessions: an invariant
    out = truth[["trade_date", "contract"]].copy()
    for name in LEVELS:
        out[name] = np.abs(approx[name].to_numpy() - truth[name].to_numpy()) / spec.tick
    return out


def compare_bars(exact: ExactProfiles, allocations: tuple[str, ...] = ALLOCATIONS) -> pd.DataFrame:
    """The approximation-error table: one row per allocation rule (:data:`COMPARE_COLUMNS`).

    Parameters
    ----------
    exact : ExactProfiles
        Exact profiles and the 1-minute bars of the same trades.
    allocations : tuple of str
        Rules to compare (default: every rule the project offers).

    Returns
    -------
    pandas.DataFrame
        ``sessions`` counts the sessions compared (both profiles hold volume); distances are in
        ticks; ``exact_vpoc_share`` is in [0, 1]. NaN when no session can be compared.
    """
    rows = []
    for rule in allocations:
        d = session_distances(exact, rule)
        d = d[np.isfinite(d["vpoc"].to_numpy())]
        row = {"allocation": rule, "sessions": len(d)}
        for name in LEVELS:
            x = d[name].to_numpy()
            row[f"{name}_median_ticks"] = float(np.median(x)) if len(x) else np.nan
            row[f"{name}_p95_ticks"] = float(np.percentile(x, 95)) if len(x) else np.nan
        row["exact_vpoc_share"] = float((d["vpoc"].to_numpy() == 0).mean()) if len(d) else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))


__all__ = ["COMPARE_COLUMNS", "compare_bars", "session_distances"]
