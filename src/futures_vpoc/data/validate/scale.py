"""Prices that cannot be ES index points: a file in cents, ×100, or of another scale.

ES (and MES, which trades on the same index-point scale) has traded since 1997 between a low of
about 666 index points (March 2009; the S&P 500 cash low was 666.79 on 2009-03-06) and about 7,000
(ESH6 traded 7,010 on 2026-01-09 in ``shared/realdata/databento/nautilus_trader``, SOURCES.md 4a).
The plausible band :data:`PLAUSIBLE_POINTS` = [300, 20,000] leaves room on both sides and still
catches the common scale mistakes for every price ES has ever had: ×100 (cents, or Databento's
own ``ohlcv`` test fixtures, 3720.25 -> 372025) puts even the 2009 low at 66,600 > 20,000; ÷100
puts even 7,000 at 70 < 300. A ×10 or ÷10 file overlaps real prices and cannot be told apart by
level alone. The test is on the median close of the file, so a few bad prints do not trigger it
(they are the bad-print check's business).
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.data.formats import RawBars, fail
from futures_vpoc.data.validate.messages import _num

PLAUSIBLE_POINTS = (300.0, 20_000.0)
"""Least and greatest median close (index points) accepted as an ES/MES price."""
EVER = "ES has traded between ~666 (2009) and ~7,000 (2026)"


def scale_guess(median: float, what: str) -> str:
    """What scale a file whose median price is ``median`` (outside :data:`PLAUSIBLE_POINTS`) is
    probably in, as a hint (``what``: "bars" or "trades")."""
    low, high = PLAUSIBLE_POINTS
    scales = ((100, "cents or ×100"), (10_000, "units of 1e-4 (×10000)"), (1e9, "fixed-point units of 1e-9"))
    guess = next((f"the file may be in {name} (divide by {f:g})" for f, name in scales if low <= median / f <= high),
                 f"check that the file holds ES or MES {what} in index points")
    if median < low and low <= median * 100 <= high:
        guess = "the prices may be divided by 100 (÷100); multiply them by 100"
    return guess


def check_scale(raw: RawBars) -> None:
    """Raise when the file's median close cannot be an ES price in index points.

    Parameters
    ----------
    raw : RawBars
        One file as read (prices as the reader returns them, index points expected).

    Raises
    ------
    DataError
        Naming the file and its first bar's line, the first close as ``value``, the median in the
        message, and what the scale probably is in the hint.
    """
    close = raw.close[np.isfinite(raw.close)]
    if close.size == 0:
        return
    median = float(np.median(close))
    low, high = PLAUSIBLE_POINTS
    if low <= median <= high:
        return
    guess = scale_guess(median, "bars")
    first = int(np.argmin(raw.row)) if len(raw.row) else 0
    raise fail(f"median close {median:g} is not an ES price in index points ({EVER})", raw.lines,
               int(raw.row[first]), column="close", value=_num(raw.close[first]), hint=guess)


__all__ = ["EVER", "PLAUSIBLE_POINTS", "check_scale", "scale_guess"]
