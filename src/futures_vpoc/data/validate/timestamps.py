"""Checks of the bar starts of all files together: duplicates and bars outside the sessions.

The same bar start twice for one contract is fatal; a bar outside every Globex session (halt,
weekend, holiday) is fatal, or with ``repair`` dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.calendar import SessionAssignment, assign_sessions
from futures_vpoc.config import SessionHours
from futures_vpoc.data.validate.bars import Bars
from futures_vpoc.data.validate.messages import Sources, _ts_text
from futures_vpoc.errors import DataError


def duplicate_rows(bars: Bars) -> np.ndarray:
    """Positions of the later bar of each pair with the same contract and start (bars sorted by
    (contract, start)); shared by the validation and ``data check``'s survey."""
    if len(bars) < 2:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero((np.diff(bars.ts) == 0) & (bars.contract[1:] == bars.contract[:-1])) + 1


def check_duplicates(bars: Bars, names: list[str], sources: Sources) -> None:
    """Fatal: the same bar start twice for one contract (in one file or across files)."""
    dup = duplicate_rows(bars)
    if not len(dup):
        return
    # Sorting was stable, so dup[k] is the later of each pair by (file, line); report the earliest.
    i = sources.first(bars, dup)
    raise sources.error(
        bars, i, f"duplicate timestamp for contract {names[int(bars.contract[i])]} "
        f"(same as {sources.where(bars, i - 1)})", column="timestamp", value=_ts_text(bars.ts[i]),
        more=len(dup) - 1, hint="remove the duplicate row (or the overlapping file)")


def fix_outside_sessions(bars: Bars, sources: Sources, repair: bool,
                         hours: SessionHours | None) -> tuple[Bars, SessionAssignment, int]:
    """Raise on bars outside every Globex session (halt, weekend, holiday), or drop them.

    Returns
    -------
    bars : Bars
        The bars inside a session.
    sessions : SessionAssignment
        Of those bars.
    dropped : int
        Bars dropped.
    """
    stamps = pd.DatetimeIndex(bars.ts.view("M8[ns]")).tz_localize("UTC")
    sess = assign_sessions(stamps, hours)
    out = np.flatnonzero(~sess.in_session)
    if not len(out):
        return bars, sess, 0
    if not repair:
        first = sources.first(bars, out)
        ct = stamps[first].tz_convert("America/Chicago").strftime("%a %Y-%m-%d %H:%M CT")
        raise sources.error(
            bars, first, f"bar outside every Globex session (starts {ct}: daily halt, weekend or holiday)",
            column="timestamp", value=_ts_text(bars.ts[first]), more=len(out) - 1,
            hint="check --tz and --stamp (bar start or end), or pass --repair to drop such bars")
    if len(out) == len(bars):
        raise DataError(f"every one of the {len(bars)} bars is outside the Globex sessions",
                        file=str(sources.lines[int(bars.file[0])].path),
                        hint="check --tz and --stamp: the time zone or bar-stamp convention is wrong")
    keep = sess.in_session
    kept = SessionAssignment(sess.trade_date[keep], sess.rth[keep], sess.in_session[keep])
    return bars.take(keep), kept, len(out)


__all__ = ["check_duplicates", "duplicate_rows", "fix_outside_sessions"]
