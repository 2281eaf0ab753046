"""Real market data bundled with a dependency, as BarFrames.

``arch`` ships two small data sets inside its wheel (read from the installed package, offline):
``arch.data.sp500`` (S&P 500 index daily OHLCV from Yahoo Finance, 1999-01-04 .. 2018-12-31) and
``arch.data.vix`` (VIX daily close, 2014-01-03 .. 2019-01-03).

:func:`sp500_daily` models each daily bar as the RTH session 08:30-15:00 CT of its date: the bar
starts at 08:30 CT (stored in UTC), is 6 h 30 min wide, and so ends at 15:00 CT, before that day's
VIX close is published (15:15 CT). Each bar therefore carries the VIX close of the previous VIX date
("VIX attached as of the previous close"), through the same as-of join as intraday data
(:func:`futures_vpoc.data.vix.attach_vix`).

These are index prices, not futures prices: they are not on ES's 0.25 tick grid, there are no
contract rolls (``contract`` is ``"SPX"`` throughout) and the volume is the index's share volume.
That is fine for a sample meant to exercise the pipeline on real data.

:func:`es_minute` is real ES futures minute data shipped in this package (``sample_data/``, see its
``README.md``): the 2013 LEAN trade zips (QuantConnect LEAN, Apache-2.0; AlgoSeek data) merged with
the CBOE VIX closes of those dates through the normal path (:func:`futures_vpoc.data.merge.build_merged`,
calendar roll): 14 UTC file dates, about 17,700 bars, ESZ3 then ESH4.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.config import EXCHANGE_TZ, RTH_END_CT, RTH_START_CT
from futures_vpoc.data.barframe import conform
from futures_vpoc.data.vix import attach_vix
from futures_vpoc.errors import DataError, UsageError

SP500_CONTRACT = "SPX"
_RTH_OPEN = pd.Timedelta(hours=RTH_START_CT.hour, minutes=RTH_START_CT.minute)
_RTH_WIDTH = pd.Timedelta(hours=RTH_END_CT.hour, minutes=RTH_END_CT.minute) - _RTH_OPEN


def arch_sp500() -> pd.DataFrame:
    """``arch``'s S&P 500 daily frame (``Open High Low Close Adj Close Volume``, index ``Date``)."""
    from arch.data import sp500

    return sp500.load()


def arch_vix() -> pd.Series:
    """``arch``'s VIX daily closes (index points), indexed by naive date; NaN rows kept as shipped."""
    from arch.data import vix

    close = vix.load()["vix"].astype("float64")
    close.index = pd.DatetimeIndex(close.index).as_unit("ns")
    return close.rename("vix")


def sp500_daily() -> pd.DataFrame:
    """S&P 500 daily bars 1999-2018 with VIX as of the previous close, as a BarFrame.

    Returns
    -------
    pandas.DataFrame
        Conformed BarFrame, one row per trading day (5031 rows): index = 08:30 CT of the date in
        UTC; ``open high low close`` in index points (not on a tick grid); ``volume`` float64
        (shares); ``contract`` = ``"SPX"``; ``trade_date`` = the date; ``rth`` = True; ``vix`` = the
        last VIX close published by 15:00 CT of the date (the previous VIX date's close), NaN up to
        and including 2014-01-03 (the first VIX date in the sample).
    """
    raw = arch_sp500()
    dates = pd.DatetimeIndex(raw.index).as_unit("ns").normalize()
    start = (dates + _RTH_OPEN).tz_localize(EXCHANGE_TZ, ambiguous="raise", nonexistent="raise")
    start = start.tz_convert("UTC").rename("timestamp")
    bars = pd.DataFrame(
        {
            "open": raw["Open"].to_numpy(dtype="float64"),
            "high": raw["High"].to_numpy(dtype="float64"),
            "low": raw["Low"].to_numpy(dtype="float64"),
            "close": raw["Close"].to_numpy(dtype="float64"),
            "volume": raw["Volume"].to_numpy(dtype="float64"),
            "contract": SP500_CONTRACT,
            "trade_date": dates.to_numpy(),
            "rth": np.ones(len(raw), dtype=bool),
        },
        index=start,
    )
    bars["vix"] = attach_vix(bars.index, _RTH_WIDTH, arch_vix())
    return conform(bars)


SAMPLE_DIR = Path(__file__).resolve().parent / "sample_data"
ES_MINUTE_ZIPS = SAMPLE_DIR / "lean_es_minute_2013"
ES_MINUTE_VIX = SAMPLE_DIR / "cboe_vix_2013.csv"


def es_minute() -> pd.DataFrame:
    """Real ES 1-minute bars of 14 dates in Oct-Dec 2013 with VIX, as a BarFrame.

    Returns
    -------
    pandas.DataFrame
        The conformed merged BarFrame of the bundled LEAN trade zips (UTC, bar start) and CBOE VIX
        closes (as of publication), contracts by the calendar roll (ESZ3, then ESH4 from the December
        roll).

    Raises
    ------
    futures_vpoc.errors.DataError
        When the bundled files are missing (a broken install).
    """
    from futures_vpoc.data.merge import MergeOptions, build_merged

    for path in (ES_MINUTE_ZIPS, ES_MINUTE_VIX):
        if not path.exists():
            raise DataError("bundled sample file missing", file=str(path), hint="reinstall futures-vpoc")
    return build_merged(ES_MINUTE_ZIPS, ES_MINUTE_VIX, MergeOptions(roll="calendar")).bars


SAMPLES: dict[str, Callable[[], pd.DataFrame]] = {"sp500-daily": sp500_daily, "es-minute": es_minute}
"""Bundled samples by the name ``futures-vpoc data sample NAME`` takes."""


def load_sample(name: str) -> pd.DataFrame:
    """The bundled sample called ``name`` (see :data:`SAMPLES`) as a BarFrame.

    Raises
    ------
    UsageError
        When no sample has that name.
    """
    if name not in SAMPLES:
        raise UsageError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}")
    return SAMPLES[name]()


__all__ = ["ES_MINUTE_VIX", "ES_MINUTE_ZIPS", "SAMPLES", "SP500_CONTRACT", "arch_sp500", "arch_vix", "es_minute",
           "load_sample", "sp500_daily"]
