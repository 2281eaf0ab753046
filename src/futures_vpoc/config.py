"""Market constants and defaults shared by every layer.

Sources: ``shared/reference/es_market_and_data_formats.md`` section 1 (CME ES specs [S1][S7],
Globex hours [S3]-[S6], VIX dissemination [S29]).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EXCHANGE_TZ = "America/Chicago"
"""All session logic runs in US Central time; data are stored in UTC."""

ES_TICK_SIZE = 0.25
"""ES and MES minimum price fluctuation, index points."""

ES_MULTIPLIER = 50.0
"""ES contract unit, US dollars per index point (MES: 5)."""

MES_MULTIPLIER = 5.0

QUARTERLY_MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}
MONTH_CODES = "FGHJKMNQUVXZ"
"""CME month codes, January..December."""

RTH_START_CT = dt.time(8, 30)
RTH_END_CT = dt.time(15, 0)
"""Default regular trading hours (a convention, configurable): 08:30-15:00 CT."""

VIX_PUBLICATION_CT = dt.time(15, 15)
"""The VIX close of date D is known no earlier than 15:15 CT on D (Cboe RTH end)."""


@dataclass(frozen=True)
class SessionHours:
    """Which part of each Globex trade date counts as regular trading hours.

    Attributes
    ----------
    rth_start, rth_end : datetime.time
        RTH window in US Central time, start inclusive, end exclusive (bar starts).
    """

    rth_start: dt.time = RTH_START_CT
    rth_end: dt.time = RTH_END_CT
