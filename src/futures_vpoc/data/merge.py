"""Build the merged ES+VIX file that the seed's commands read.

``load_es`` (vendor file or folder, validated) -> calendar contracts for a file that names none
(:mod:`futures_vpoc.data.continuity`) -> ``build_continuous`` (roll, raw prices) -> VIX as of its
publication time -> BarFrame. Nothing is written unless every step succeeded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.config import VIX_PUBLICATION_CT, SessionHours
from futures_vpoc.data.barframe import bar_width, conform
from futures_vpoc.data.continuity import with_contracts
from futures_vpoc.data.load import LoadedBars, load_es
from futures_vpoc.data.rolls import ContinuousSeries, build_continuous
from futures_vpoc.data.vix import attach_vix, read_vix_history


@dataclass(frozen=True)
class MergeOptions:
    """How to read and combine the inputs (every field has a CLI flag of the same name)."""

    es_format: str = "auto"
    tz: str | None = None
    stamp: str | None = None
    repair: bool = False
    roll: str = "calendar"
    tick: float = 0.25
    hours: SessionHours = SessionHours()
    vix_time: dt.time = VIX_PUBLICATION_CT
    vix_lag_minutes: float = 0.0


@dataclass(frozen=True)
class MergeResult:
    """The merged BarFrame and how it was obtained (``loaded.notes`` includes the contract warning)."""

    bars: pd.DataFrame
    loaded: LoadedBars
    series: ContinuousSeries
    vix_rows: int


def with_vix(bars: pd.DataFrame, vix_close: pd.Series | None, options: MergeOptions) -> pd.DataFrame:
    """Attach ``vix`` (as of publication) to a frame indexed by bar start; NaN without VIX data."""
    out = bars.copy()
    if vix_close is None:
        out["vix"] = np.nan
        return out
    lag = pd.Timedelta(minutes=options.vix_lag_minutes)
    out["vix"] = attach_vix(out.index, bar_width(out.index), vix_close, options.vix_time, lag)
    return out


def build_merged(es_path: str | Path, vix_path: str | Path | None, options: MergeOptions) -> MergeResult:
    """Load, validate, assign contracts, roll and merge; return the BarFrame without writing anything.

    A file that names no contract gets the calendar front contract of each trade date unless
    ``options.roll == "none"`` (:func:`futures_vpoc.data.continuity.with_contracts`); the warning
    that names the boundaries is the last of ``result.loaded.notes``.

    Raises
    ------
    futures_vpoc.errors.DataError
        For any problem in either input (file, line, column, value, what to do).
    """
    vix_close = read_vix_history(vix_path) if vix_path is not None else None
    loaded = load_es(es_path, fmt=options.es_format, tz=options.tz, stamp=options.stamp,
                     repair=options.repair, tick=options.tick, hours=options.hours)
    loaded = with_contracts(loaded, Path(es_path).name, options.roll)
    series = build_continuous(loaded.bars, method=options.roll)
    bars = conform(with_vix(series.bars, vix_close, options))
    return MergeResult(bars=bars, loaded=loaded, series=series,
                       vix_rows=0 if vix_close is None else len(vix_close))
