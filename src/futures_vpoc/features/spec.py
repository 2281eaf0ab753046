"""What a feature is (:class:`FeatureSpec`) and what a build returns (:class:`FeatureTable`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only annotations: the command line reads GROUPS from here without pandas
    import pandas as pd

GROUPS: tuple[str, ...] = ("price", "volume", "volatility", "profile", "vix", "calendar", "technical")
"""Feature groups, in the order their columns appear in a :class:`FeatureTable`."""


@dataclass(frozen=True)
class FeatureSpec:
    """One registered feature.

    Attributes
    ----------
    name : str
        Name inside its group, e.g. ``dist_dev_vpoc_ticks``; counts in a name are bars unless the
        name says otherwise (``pct_252_sessions``).
    group : str
        One of :data:`GROUPS`; the table column is ``f"{group}_{name}"``.
    lag : int
        Bars between the newest bar the value uses and the bar it is stamped on: 0 = uses bar
        t's close, known at the end of bar t.
    unit : str
        Unit of the value, e.g. ``ticks``, ``log return``, ``ATR(14) units``.
    description : str
        One line: what it measures and over what.
    """

    name: str
    group: str
    lag: int
    unit: str
    description: str

    @property
    def column(self) -> str:
        """Column name in a :class:`FeatureTable`: ``<group>_<name>``."""
        return f"{self.group}_{self.name}"


def feature(group: str, name: str, unit: str, description: str, lag: int = 0) -> FeatureSpec:
    """Shorthand for the group modules' spec tables."""
    return FeatureSpec(name=name, group=group, lag=lag, unit=unit, description=description)


@dataclass(frozen=True)
class FeatureTable:
    """The features of every bar of a BarFrame.

    Attributes
    ----------
    frame : pandas.DataFrame
        Index = the BarFrame's index (``timestamp``, bar start, UTC); one float64 column per
        feature named ``<group>_<name>``, in :data:`GROUPS` order then registry order. NaN while
        a feature is warming up or undefined (never zero-filled).
    specs : tuple of FeatureSpec
        One per column, same order.
    warmup_rows : int
        Rows with at least one NaN feature (the rows a dataset drops).
    """

    frame: pd.DataFrame
    specs: tuple[FeatureSpec, ...]
    warmup_rows: int
