"""Checks and repairs of loaded bars.

Fatal problems raise :class:`~futures_vpoc.errors.DataError` naming the file, the 1-based line
(header counted), the column and the value of the first offending row (by file, then line), with
the number of other rows that have the same problem. The caller writes nothing.

=========================================  =========  ==============================================
problem                                    fatal      with ``repair=True``
=========================================  =========  ==============================================
NaN / empty / infinite price               yes        (fatal)
NaN, infinite or negative volume           yes        (fatal)
timestamps out of order within a file      yes        (fatal)
duplicate timestamp within one contract    yes        (fatal)
isolated bad print                         yes        field := median of the neighbouring closes,
                                                      on the tick grid; then low/high widened
price off the tick grid                    yes        rounded to the nearest tick
high < low, open or close outside range    yes        (fatal)
bar outside every Globex session           yes        bar dropped
=========================================  =========  ==============================================

A price within ``1e-6`` of a tick of the grid is float noise (e.g. ``4000.2500000001``): it is
snapped silently. Repairs are counted in ``repairs``: ``bad_print`` and ``off_grid`` count price
values changed, ``outside_session`` counts bars dropped.

Bad print: a price whose log ratio exceeds 0.25 in absolute value against the median close of its ten neighbours of the
same contract; the definition and why 0.25 are in :mod:`~futures_vpoc.data.validate.bad_prints`.

Modules
-------
:mod:`~futures_vpoc.data.validate.bars`
    :class:`Bars`, the column arrays of the bars of every file.
:mod:`~futures_vpoc.data.validate.messages`
    :class:`Sources` and the helpers that name a row's file, line and value in an error.
:mod:`~futures_vpoc.data.validate.file_checks`
    :func:`check_file`: the checks of one file in its own row order (finite values, time order).
:mod:`~futures_vpoc.data.validate.timestamps`
    Duplicate bar starts within a contract and bars outside every Globex session.
:mod:`~futures_vpoc.data.validate.bad_prints`
    Finding isolated bad prints and replacing them by the neighbours' median close.
:mod:`~futures_vpoc.data.validate.prices`
    The tick grid and the consistency of open, high, low and close.
:mod:`~futures_vpoc.data.validate.pipeline`
    :func:`validate`: the cross-file checks and repairs in their fixed order, and its result.
"""

from __future__ import annotations

from futures_vpoc.data.validate.bad_prints import (
    BAD_PRINT_LOG_RATIO,
    BAD_PRINT_MIN_BARS,
    BAD_PRINT_NEIGHBOURS,
    find_bad_prints,
    fix_bad_prints,
    neighbour_median,
)
from futures_vpoc.data.validate.bars import Bars
from futures_vpoc.data.validate.file_checks import check_file
from futures_vpoc.data.validate.messages import Sources
from futures_vpoc.data.validate.pipeline import REPAIR_KINDS, Validated, validate
from futures_vpoc.data.validate.prices import GRID_NOISE, check_ohlc, fix_off_grid
from futures_vpoc.data.validate.timestamps import check_duplicates, fix_outside_sessions

__all__ = ["BAD_PRINT_LOG_RATIO", "BAD_PRINT_MIN_BARS", "BAD_PRINT_NEIGHBOURS", "Bars", "GRID_NOISE",
           "REPAIR_KINDS", "Sources", "Validated", "check_duplicates", "check_file", "check_ohlc",
           "find_bad_prints", "fix_bad_prints", "fix_off_grid", "fix_outside_sessions",
           "neighbour_median", "validate"]
