"""ES contract codes, expiries and calendar roll dates.

Facts (``shared/reference/es_market_and_data_formats.md`` section 1): quarterly months H M U Z;
symbol = root + month code + year digit (``ESH4`` = March 2024); expiry = third Friday of the
contract month, trading ends 08:30 CT; calendar roll = the Thursday eight days before that Friday
(``ESH4``: expiry 2024-03-15, roll 2024-03-07). The roll is applied at a session boundary: the
first bar of trade date *roll* belongs to the next contract (17:00 CT the evening before).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from futures_vpoc.calendar import third_friday
from futures_vpoc.config import MONTH_CODES, QUARTERLY_MONTH_CODES

_CODE = re.compile(r"^(?P<root>[A-Z]{1,3}?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{1,2})$")
_NT_NAME = re.compile(r"^(?P<root>[A-Za-z]{1,3})[ _](?P<mm>\d{2})[-_](?P<yy>\d{2})")


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


def contract_from_filename(name: str, near: dt.date | None = None) -> str | None:
    """Contract code from a vendor file name, or None.

    Understands NinjaTrader names (``ES 03-25.Last.txt``, ``ES_03_22.Last.txt`` -> ``ESH5``,
    ``ESH2``) and names that start with a symbol (``ESH4.csv``, ``ESH24_1min.csv``).
    """
    stem = name.rsplit("/", 1)[-1]
    m = _NT_NAME.match(stem)
    if m and 1 <= int(m["mm"]) <= 12:
        return Contract(2000 + int(m["yy"]), int(m["mm"]), m["root"].upper()).code
    token = re.split(r"[ _.\-]", stem, maxsplit=1)[0]
    try:
        return parse_contract(token, near).code
    except ValueError:
        return None


def front_contract(trade_date: dt.date, root: str = "ES") -> Contract:
    """The quarterly contract that the calendar roll makes front on ``trade_date``."""
    month = 3 * ((trade_date.month - 1) // 3 + 1)
    c = Contract(trade_date.year, month, root)
    while trade_date >= c.roll_date:
        c = c.next_quarterly()
    return c


__all__ = ["Contract", "QUARTERLY_MONTH_CODES", "contract_from_filename", "front_contract", "parse_contract"]
