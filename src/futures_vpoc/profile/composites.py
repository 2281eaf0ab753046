"""Composite profiles: the sum of the last N sessions of one contract."""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError
from futures_vpoc.profile.session import Profile, SessionProfiles, combine

COMPOSITE_COLUMNS = ("trade_date", "contract", "sessions", "vpoc", "val", "vah", "va_width", "profile_total",
                     "poc_volume", "va_volume")


def _first_of_window(contract: np.ndarray, j: int, n: int) -> int:
    """First session of the window ending at ``j``: at most ``n`` sessions, all of ``j``'s contract."""
    first = j
    while first > 0 and j - first + 1 < n and contract[first - 1] == contract[j]:
        first -= 1
    return first


def composite(sessions: SessionProfiles, n: int, end: int = -1) -> Profile:
    """Composite profile of the ``n`` sessions ending at row ``end`` (default: the last one).

    The window never crosses a contract change: it holds only sessions of ``end``'s contract, so
    it may hold fewer than ``n`` sessions right after a roll (``len(result.trade_dates)`` says how
    many; a roll inside one trade date splits it into two sessions).

    Raises
    ------
    DataError
        When ``n < 1`` or ``end`` is not a session row.
    """
    if n < 1:
        raise DataError("a composite needs at least one session", column="n", value=n)
    if not -len(sessions) <= end < len(sessions):
        raise DataError(f"no session row {end}", hint=f"there are {len(sessions)} sessions")
    end = range(len(sessions))[end]
    contract = sessions.table["contract"].to_numpy()
    first = _first_of_window(contract, end, n)
    return combine(*(sessions.profile(j) for j in range(first, end + 1)))


def composite_table(sessions: SessionProfiles, n: int) -> pd.DataFrame:
    """Rolling ``n``-session composites: one row per session, the composite ending there.

    Returns
    -------
    pandas.DataFrame, index ``session``
        :data:`COMPOSITE_COLUMNS`; ``sessions`` is how many sessions the window holds (< n after a
        roll or at the start); prices in index points.
    """
    rows = []
    for j in range(len(sessions)):
        p = composite(sessions, n, j)
        rows.append((p.trade_dates[-1], p.contract, len(p.trade_dates), p.vpoc, p.val, p.vah, p.vah - p.val,
                     p.total, p.poc_volume, p.va_volume))
    out = pd.DataFrame(rows, columns=list(COMPOSITE_COLUMNS), index=sessions.table.index)
    return out
