"""Which rows are resampled together: whole sessions, in runs of consecutive sessions.

Rows of one session are dependent (a horizon-5 label on 1-minute bars shares 4 of its 5 returns
with its neighbour, and a model's output drifts slowly), while labels of different sessions are
close to independent because an intraday label never crosses a session end
(:mod:`futures_vpoc.labels`). So the unit of resampling is the session: the bootstrap draws whole
sessions with replacement (a cluster bootstrap), never single rows.

Two cases make a block longer than one session:

* **Labels that cross sessions** (daily bars: every session is one row, and a horizon-``h`` label
  spans ``h`` sessions): a block is ``h`` consecutive sessions, the non-overlapping block bootstrap
  of Carlstein (1986, *Ann. Statist.* 14(3)) with a block as long as the label horizon.
* **Very many sessions**: the AUC replicate costs ``O(blocks**2)``; above ``max_blocks`` blocks,
  consecutive sessions are grouped so that at most ``max_blocks`` remain (longer blocks only make
  the interval more conservative about dependence between neighbouring sessions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.errors import UsageError

MAX_BLOCKS = 500
"""Most blocks a bootstrap uses (consecutive sessions are grouped beyond it)."""


@dataclass(frozen=True)
class BlockPlan:
    """Rows grouped into resampling blocks.

    Attributes
    ----------
    ids : numpy.ndarray of int64, shape (n,)
        Block of each row, 0 .. ``n_blocks - 1`` in time order of the sessions.
    n_blocks : int
        Number of blocks (>= 2).
    sessions_per_block : int
        Consecutive sessions in one block (the block length, in sessions).
    n_sessions : int
        Distinct trade dates among the rows.
    one_row_per_session : bool
        True for daily (or coarser) bars, where a label spans several sessions.
    """

    ids: np.ndarray
    n_blocks: int
    sessions_per_block: int
    n_sessions: int
    one_row_per_session: bool


def session_blocks(trade_date, horizon: int = 1, max_blocks: int = MAX_BLOCKS) -> BlockPlan:
    """Group rows into blocks of whole consecutive sessions.

    Parameters
    ----------
    trade_date : array-like of dates, shape (n,)
        CME trade date of each row (any order; NaT is refused).
    horizon : int
        Label horizon in bars (>= 1). On daily bars a block is at least ``horizon`` sessions long;
        on intraday bars a label never leaves its session and a block is one session.
    max_blocks : int
        Most blocks returned (>= 2).

    Returns
    -------
    BlockPlan

    Raises
    ------
    UsageError
        A missing trade date, a horizon below 1, or fewer than 2 sessions (no interval can be
        estimated from one cluster).
    """
    if horizon < 1:
        raise UsageError(f"--horizon {horizon} must be >= 1")
    dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(trade_date)))
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    if dates.isna().any():
        raise UsageError(f"{int(dates.isna().sum())} row(s) have no trade_date; every row needs one")
    codes, uniques = pd.factorize(dates.normalize(), sort=True)
    n_sessions = len(uniques)
    if n_sessions < 2:
        raise UsageError(f"the predictions cover {n_sessions} session(s); a dependence-aware interval "
                         "needs at least 2 sessions")
    daily = bool(np.bincount(codes).max() == 1)
    length = horizon if daily else 1
    length = max(length, math.ceil(n_sessions / max(2, int(max_blocks))))
    length = min(length, n_sessions // 2)
    ids = (codes // length).astype(np.int64)
    return BlockPlan(ids=ids, n_blocks=int(ids.max()) + 1, sessions_per_block=int(length),
                     n_sessions=int(n_sessions), one_row_per_session=daily)


__all__ = ["MAX_BLOCKS", "BlockPlan", "session_blocks"]
