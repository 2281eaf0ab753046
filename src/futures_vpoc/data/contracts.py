"""ES contract codes, expiries and calendar roll dates.

Facts (``shared/reference/es_market_and_data_formats.md`` section 1): quarterly months H M U Z;
symbol = root + month code + year digit (``ESH4`` = March 2024); expiry = third Friday of the
contract month, trading ends 08:30 CT; calendar roll = the Thursday eight days before that Friday
(``ESH4``: expiry 2024-03-15, roll 2024-03-07). The roll is applied at a session boundary: the
first bar of trade date *roll* belongs to the next contract (17:00 CT the evening before).

One-digit years name a contract only together with a date: ``ESH5`` on a bar of 2015 is March 2015,
on a bar of 2024 March 2025. A contract trades before its expiry, so the year is the first year with
that last digit whose expiry is on or after the bar's date (:func:`contract_at`,
:func:`resolve_years`). Where one load holds two contracts with the same one-digit code (``ESH5`` of
2015 and of 2025), every contract of that load is named with a two-digit year (``ESH15``,
``ESH25``; :func:`contract_names`); otherwise names keep the one-digit year.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from futures_vpoc.calendar import third_friday
from futures_vpoc.config import MONTH_CODES, QUARTERLY_MONTH_CODES

_CODE = re.compile(r"^(?P<root>[A-Z]{1,3}?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{1,2})$")
_NT_NAME = re.compile(r"^(?P<root>[A-Za-z]{1,3})[ _](?P<mm>\d{2})[-_](?P<yy>\d{2})")
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True, order=True)
class Contract:
    """One futures contract.

    Attributes
    ----------
    year : int
        Four-digit delivery year.
    month : int
        Delivery month, 1-12.
    root : str
        Product root, e.g. ``ES``.
    """

    year: int
    month: int
    root: str = "ES"

    @property
    def code(self) -> str:
        """Exchange symbol with a one-digit year, e.g. ``ESH4``."""
        return f"{self.root}{MONTH_CODES[self.month - 1]}{self.year % 10}"

    @property
    def code2(self) -> str:
        """Exchange symbol with a two-digit year, e.g. ``ESH24``."""
        return f"{self.root}{MONTH_CODES[self.month - 1]}{self.year % 100:02d}"

    @property
    def expiry(self) -> dt.date:
        """Last trading day: the third Friday of the delivery month."""
        return third_friday(self.year, self.month)

    @property
    def roll_date(self) -> dt.date:
        """Calendar roll: the Thursday eight days before expiry (first trade date of the next)."""
        return self.expiry - dt.timedelta(days=8)

    def next_quarterly(self) -> "Contract":
        """The following quarterly contract (H->M->U->Z->H of next year)."""
        month = (self.month // 3 + 1) * 3
        return Contract(self.year + (month > 12), (month - 1) % 12 + 1, self.root)


def parse_contract(code: str, near: dt.date | None = None) -> Contract:
    """Parse ``ESH4`` / ``ESH24`` (and lower case) into a :class:`Contract`.

    Parameters
    ----------
    code : str
        Root, month code and a one- or two-digit year.
    near : datetime.date, optional
        A date the contract trades near, to resolve a one-digit year's decade (default: the
        decade that puts the year within 2000-2099 closest to today).

    Raises
    ------
    ValueError
        When ``code`` is not a futures symbol.
    """
    m = _CODE.match(code.strip().upper())
    if not m:
        raise ValueError(f"not a futures contract code: {code!r}")
    month = MONTH_CODES.index(m["month"]) + 1
    digits = m["year"]
    if len(digits) == 2:
        year = 2000 + int(digits)
    else:
        ref = (near or dt.date.today()).year
        base = ref - ref % 10 + int(digits)
        year = min((base - 10, base, base + 10), key=lambda y: abs(y - ref))
    return Contract(year, month, m["root"])


def split_code(code: str) -> tuple[str, int, str] | None:
    """``(root, month, year digits as written)`` of a symbol such as ``esh4`` or ``ESH24``; None if none."""
    m = _CODE.match(code.strip().upper())
    if not m:
        return None
    return m["root"], MONTH_CODES.index(m["month"]) + 1, m["year"]


def resolve_years(month: int, digit: int, days: np.ndarray) -> np.ndarray:
    """Delivery year of a one-digit-year contract on each of ``days``.

    Parameters
    ----------
    month : int
        Delivery month, 1-12.
    digit : int
        Last digit of the delivery year, 0-9.
    days : numpy.ndarray of int64, shape (n,)
        Bar dates as days since 1970-01-01.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Per day, the first year ending in ``digit`` whose contract expiry (third Friday of
        ``month``) is on or after that day.
    """
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    lo = int(np.datetime64(int(days.min()), "D").astype("datetime64[Y]").astype(np.int64)) + 1970
    hi = int(np.datetime64(int(days.max()), "D").astype("datetime64[Y]").astype(np.int64)) + 1970
    first = lo - 10 - (lo - 10) % 10 + digit
    years = np.arange(first, hi + 11, 10, dtype=np.int64)
    expiry = np.array([(third_friday(int(y), month) - _EPOCH).days for y in years], dtype=np.int64)
    return years[np.searchsorted(expiry, days, side="left")]


def contract_at(code: str, day: dt.date) -> Contract:
    """The contract ``code`` names on a bar dated ``day``.

    A two-digit year is taken as written (``ESH24`` = 2024); a one-digit year is resolved by
    :func:`resolve_years` (``ESH5`` on 2015-01-05 = March 2015, on 2024-12-02 = March 2025).

    Raises
    ------
    ValueError
        When ``code`` is not a futures symbol.
    """
    parts = split_code(code)
    if parts is None:
        raise ValueError(f"not a futures contract code: {code!r}")
    root, month, digits = parts
    if len(digits) == 2:
        return Contract(2000 + int(digits), month, root)
    year = resolve_years(month, int(digits), np.array([(day - _EPOCH).days]))[0]
    return Contract(int(year), month, root)


def contract_names(contracts: Iterable[Contract]) -> dict[Contract, str]:
    """Display name of each contract of one load: one-digit years unless two share a one-digit code.

    When two distinct contracts have the same one-digit code (``ESH5`` of 2015 and of 2025), every
    contract is named with a two-digit year (``ESH15``, ``ESH25``), so each name is one contract.
    """
    found = set(contracts)
    two = len({c.code for c in found}) < len(found)
    return {c: (c.code2 if two else c.code) for c in found}


def contract_from_filename(name: str, near: dt.date | None = None) -> str | None:
    """Contract symbol in a vendor file name, with the year digits it states, or None.

    Understands NinjaTrader names (``ES 03-25.Last.txt``, ``ES_03_22.Last.txt`` -> ``ESH25``,
    ``ESH22``: two-digit years) and names that start with a symbol (``ESH4.csv`` -> ``ESH4``,
    ``ESH24_1min.csv`` -> ``ESH24``). A one-digit year is resolved later, by the loader, from the
    bar dates (:func:`resolve_years`); ``near`` is not used (accepted for older callers).
    """
    stem = name.rsplit("/", 1)[-1]
    m = _NT_NAME.match(stem)
    if m and 1 <= int(m["mm"]) <= 12:
        return Contract(2000 + int(m["yy"]), int(m["mm"]), m["root"].upper()).code2
    token = re.split(r"[ _.\-]", stem, maxsplit=1)[0]
    parts = split_code(token)
    if parts is None:
        return None
    root, month, digits = parts
    return f"{root}{MONTH_CODES[month - 1]}{digits}"


def front_contract(trade_date: dt.date, root: str = "ES") -> Contract:
    """The quarterly contract that the calendar roll makes front on ``trade_date``."""
    month = 3 * ((trade_date.month - 1) // 3 + 1)
    c = Contract(trade_date.year, month, root)
    while trade_date >= c.roll_date:
        c = c.next_quarterly()
    return c


__all__ = ["Contract", "QUARTERLY_MONTH_CODES", "contract_at", "contract_from_filename", "contract_names",
           "front_contract", "parse_contract", "resolve_years", "split_code"]
