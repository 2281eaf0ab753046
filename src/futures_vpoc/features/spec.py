"""What a feature is (:class:`FeatureSpec`) and what a build returns (:class:`FeatureTable`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only annotations: the command line reads GROUPS from here without pandas
    import pandas as pd

GROUPS: tuple[str, ...] = ("price", "volume", "volatility", "profile", "vix", "calendar", "technical")
"""The default feature groups (what a build without ``groups`` makes), in column order."""

OPT_IN_GROUPS: tuple[str, ...] = ("orderflow",)
"""Groups built only when named (``groups=[..., "orderflow"]``, ``--features orderflow``): their
inputs are columns most bar files lack (order flow, :mod:`futures_vpoc.features.orderflow`), so the
default selection, and every model trained on it, stays as it was."""

ALL_GROUPS: tuple[str, ...] = GROUPS + OPT_IN_GROUPS
"""Every feature group, in the order their columns appear in a :class:`FeatureTable`."""

WARMUP_UNITS: dict[str, str] = {
    "none": "no history: a value from the first bar on (unless the data lack it, e.g. VIX)",
    "bars": "bars since the first bar of the contract segment (restarts at every roll)",
    "contract_sessions": "completed sessions of the contract segment (restarts at every roll)",
    "sessions": "earlier trade dates, across rolls (per CT clock minute for the volume norms)",
    "vix_closes": "published VIX closes seen since the first bar of the data, across rolls",
}
"""Units of :attr:`Warmup.unit` and what each counts."""


@dataclass(frozen=True)
class Warmup:
    """How much history a feature needs before its first value.

    Attributes
    ----------
    count : int
        History needed, in ``unit``: with ``bars``, the first value is at bar index ``count`` of a
        contract segment (0-based); with ``contract_sessions`` / ``sessions``, at the first bar
        after ``count`` sessions of the contract / of the data (see the group's module for the
        exact rule); with ``vix_closes``, at the first bar that has seen ``count`` closes.
    unit : str
        One of :data:`WARMUP_UNITS`.
    up_to : int or None
        The full window when it keeps growing after the first value (e.g. 252 for a percentile
        that starts with 20 sessions); None when the first value already uses the whole window.
    """

    count: int = 0
    unit: str = "none"
    up_to: int | None = None

    def __post_init__(self) -> None:
        if self.unit not in WARMUP_UNITS:
            raise ValueError(f"warm-up unit {self.unit!r}; use one of {', '.join(WARMUP_UNITS)}")
        if self.count < 0 or (self.unit == "none") != (self.count == 0):
            raise ValueError(f"warm-up {self.count} {self.unit}: a count > 0 needs a unit, 0 means 'none'")

    def __str__(self) -> str:
        if self.unit == "none":
            return "none"
        word = {"bars": "bar", "contract_sessions": "contract session", "sessions": "session",
                "vix_closes": "VIX close"}[self.unit]
        text = f"{self.count} {word}{'s' * (self.count != 1)}"
        return text if self.up_to is None else f"{text} (up to {self.up_to})"


NO_WARMUP = Warmup()


@dataclass(frozen=True)
class FeatureSpec:
    """One registered feature.

    Attributes
    ----------
    name : str
        Name inside its group, e.g. ``dist_dev_vpoc_ticks``; counts in a name are bars unless the
        name says otherwise (``pct_252_sessions``).
    group : str
        One of :data:`ALL_GROUPS`; the table column is ``f"{group}_{name}"``.
    lag : int
        Bars between the newest bar the value uses and the bar it is stamped on: 0 = uses bar
        t's close, known at the end of bar t.
    unit : str
        Unit of the value, e.g. ``ticks``, ``log return``, ``ATR(14) units``.
    description : str
        One line: what it measures and over what.
    warmup : Warmup
        History needed before the first value (:class:`Warmup`; NaN before it). The VIX group
        is also NaN before the first VIX close whatever its warm-up says.
    """

    name: str
    group: str
    lag: int
    unit: str
    description: str
    warmup: Warmup = NO_WARMUP

    @property
    def column(self) -> str:
        """Column name in a :class:`FeatureTable`: ``<group>_<name>``."""
        return f"{self.group}_{self.name}"

    @property
    def warmup_text(self) -> str:
        """The warm-up in words, e.g. ``"240 bars"``, ``"20 sessions (up to 252)"``, ``"none"``."""
        return str(self.warmup)


def warmup_of(spec: FeatureSpec) -> str:
    """The declared warm-up of a feature in words (see :class:`Warmup`)."""
    return str(spec.warmup)


def feature(group: str, name: str, unit: str, description: str, lag: int = 0, warmup: int = 0,
            per: str = "bars", up_to: int | None = None) -> FeatureSpec:
    """Shorthand for the group modules' spec tables: ``warmup`` counts ``per`` (bars by default)."""
    return FeatureSpec(name=name, group=group, lag=lag, unit=unit, description=description,
                       warmup=Warmup(warmup, per if warmup else "none", up_to))


@dataclass(frozen=True)
class FeatureTable:
    """The features of every bar of a BarFrame.

    Attributes
    ----------
    frame : pandas.DataFrame
        Index = the BarFrame's index (``timestamp``, bar start, UTC); one float64 column per
        feature named ``<group>_<name>``, in :data:`ALL_GROUPS` order then registry order. NaN while
        a feature is warming up or undefined (never zero-filled).
    specs : tuple of FeatureSpec
        One per column, same order.
    warmup_rows : int
        Rows with at least one NaN feature (the rows a dataset drops).
    context : futures_vpoc.features.common.Context or None
        The tick, bars per year and fits the values were computed with (what a trained model
        freezes to compute the same features on new bars).
    """

    frame: pd.DataFrame
    specs: tuple[FeatureSpec, ...]
    warmup_rows: int
    context: object = None
