"""The cross-file validation: every check and repair in its fixed order, and what it returns.

Order: duplicates, bad prints, tick grid, OHLC consistency, sessions; repairs are counted per kind
of :data:`REPAIR_KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from futures_vpoc.calendar import SessionAssignment
from futures_vpoc.config import SessionHours
from futures_vpoc.data.validate.bad_prints import fix_bad_prints
from futures_vpoc.data.validate.bars import Bars
from futures_vpoc.data.validate.messages import Sources
from futures_vpoc.data.validate.prices import check_ohlc, fix_off_grid
from futures_vpoc.data.validate.timestamps import check_duplicates, fix_outside_sessions
from futures_vpoc.errors import DataError

REPAIR_KINDS = ("bad_print", "off_grid", "outside_session")


@dataclass
class Validated:
    """Result of :func:`validate`.

    Attributes
    ----------
    bars : Bars
        Checked (and, with ``repair``, repaired) bars; prices on the tick grid.
    sessions : SessionAssignment
        Trade date and RTH flag of each bar (all bars are in a session).
    repairs : dict of str to int
        Count per kind in :data:`REPAIR_KINDS` (0 when none).
    notes : list of str
        One line per kind of repair made.
    """

    bars: Bars
    sessions: SessionAssignment
    repairs: dict[str, int]
    notes: list[str] = field(default_factory=list)


def validate(bars: Bars, names: list[str], sources: Sources, *, tick: float = 0.25,
             repair: bool = False, hours: SessionHours | None = None) -> Validated:
    """Run the cross-file checks and repairs in a fixed order.

    Order: duplicates, bad prints, tick grid, OHLC consistency, sessions (bad prints come before
    the OHLC check so that a repairable 1.25 close is reported, and repaired, as a bad print).

    Parameters
    ----------
    bars : Bars
        Sorted by (contract, ts); every per-file check already passed. Modified in place.
    names : list of str
        Contract names of the codes in ``bars.contract``.
    sources : Sources
        The files, for messages.
    tick : float
        Price grid, index points (ES: 0.25).
    repair : bool
        Repair what is repairable instead of raising.
    hours : SessionHours, optional
        RTH window.

    Raises
    ------
    DataError
        The first fatal problem.
    """
    if not tick > 0:
        raise DataError("tick must be positive", value=tick, hint="ES trades in 0.25 index points")
    repairs = dict.fromkeys(REPAIR_KINDS, 0)
    check_duplicates(bars, names, sources)
    repairs["bad_print"] = fix_bad_prints(bars, sources, tick, repair)
    repairs["off_grid"] = fix_off_grid(bars, sources, tick, repair)
    check_ohlc(bars, sources)
    bars, sessions, repairs["outside_session"] = fix_outside_sessions(bars, sources, repair, hours)
    what = {"bad_print": "bad print(s) replaced by the neighbours' median close",
            "off_grid": f"price(s) rounded to the {tick:g} tick grid",
            "outside_session": "bar(s) outside every Globex session dropped"}
    notes = [f"repaired: {n} {what[k]}" for k, n in repairs.items() if n]
    return Validated(bars, sessions, repairs, notes)


__all__ = ["REPAIR_KINDS", "Validated", "validate"]
