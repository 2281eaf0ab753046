"""The settings that define a volume profile: tick, allocation, value-area share and rule, scope."""

from __future__ import annotations

import math
from dataclasses import dataclass

from futures_vpoc.config import ES_TICK_SIZE
from futures_vpoc.errors import DataError

ALLOCATIONS = ("uniform", "close", "tpo")
"""How a bar's volume is put on price levels (package docstring, "Allocation")."""

EXPANSIONS = ("two", "one")
"""Value-area expansion rule: two levels at a time (CBOT/Dalton, default) or one."""

SCOPES = ("globex", "rth", "eth")
"""Which bars of a trade date form its session profile."""

ALLOCATION_CODE = {name: i for i, name in enumerate(ALLOCATIONS)}
SCOPE_CODE = {name: i for i, name in enumerate(SCOPES)}


@dataclass(frozen=True)
class ProfileSpec:
    """Everything that decides a profile's numbers; one instance, one definition.

    Attributes
    ----------
    tick : float
        Price level spacing in index points (ES: 0.25). Must be finite and > 0.
    allocation : {"uniform", "close", "tpo"}
        Volume allocation rule (package docstring).
    value_area : float
        Target share of the profile total inside the value area, in (0, 1]; 0.70 by default.
    expansion : {"two", "one"}
        Value-area expansion: compare the next two levels above with the next two below
        (CBOT/Dalton, default) or one level with one level.
    scope : {"globex", "rth", "eth"}
        Bars of a trade date that form its session: all (the whole Globex session), only the
        regular-hours bars, or only the electronic (non-RTH) bars.

    Raises
    ------
    DataError
        On a tick <= 0 or not finite, an unknown rule or scope, or a share outside (0, 1].
    """

    tick: float = ES_TICK_SIZE
    allocation: str = "uniform"
    value_area: float = 0.70
    expansion: str = "two"
    scope: str = "globex"

    def __post_init__(self) -> None:
        if not (isinstance(self.tick, (int, float)) and math.isfinite(self.tick) and self.tick > 0):
            raise DataError("tick size must be a positive number", column="tick", value=self.tick,
                            hint="ES trades in 0.25 index points")
        _choice("allocation", self.allocation, ALLOCATIONS)
        _choice("expansion", self.expansion, EXPANSIONS)
        _choice("scope", self.scope, SCOPES)
        share = self.value_area
        if not (isinstance(share, (int, float)) and math.isfinite(share) and 0 < share <= 1):
            raise DataError("value-area share must be in (0, 1]", column="value_area", value=share,
                            hint="0.7 means 70 %")

    @property
    def allocation_code(self) -> int:
        """Integer code of :attr:`allocation` passed to the kernels."""
        return ALLOCATION_CODE[self.allocation]

    @property
    def two_level(self) -> bool:
        """True for the two-level (CBOT/Dalton) value-area expansion."""
        return self.expansion == "two"


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise DataError(f"unknown {name}", column=name, value=value, hint=f"use one of {', '.join(allowed)}")
