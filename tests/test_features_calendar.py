"""Calendar features follow the exchange's clock and calendar, not UTC.

The prior system's ``day_of_week`` used the UTC timestamp, so Sunday-evening bars were day 6
(reference section 4.4, feature 16). Here the weekday is the CME trade date's, time of day is US
Central wall-clock time (so 08:30 CT is one phase in winter and summer), and the session's open
and close come from :func:`futures_vpoc.calendar.globex_sessions`.
"""

import functools

import numpy as np
import pandas as pd

from futures_vpoc.data.samples import sp500_daily
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.features import build_features


@functools.lru_cache(maxsize=1)
def market():
    bars, _ = synthesize(SynthConfig(start="2023-02-27", end="2023-03-17", seed=4))
    return bars


@functools.lru_cache(maxsize=1)
def table():
    return build_features(market(), groups=["calendar"]).frame


def _at(ct: str):
    return table().loc[pd.Timestamp(ct, tz="America/Chicago").tz_convert("UTC")]


def test_time_of_day_is_central_wall_clock_across_dst():
    winter, summer = _at("2023-03-10 08:30"), _at("2023-03-15 08:30")  # UTC 14:30 vs 13:30
    assert winter["calendar_tod_sin"] == summer["calendar_tod_sin"]
    assert winter["calendar_tod_cos"] == summer["calendar_tod_cos"]
    phase = 2 * np.pi * (8.5 / 24)
    assert winter["calendar_tod_sin"] == np.sin(phase)


def test_minutes_since_open_and_to_close():
    row = _at("2023-03-15 08:30")  # session opened 2023-03-14 17:00 CT, closes 16:00 CT
    assert row["calendar_minutes_since_open"] == 15.5 * 60
    assert row["calendar_minutes_to_close"] == 7.5 * 60
    opens = market()["trade_date"].ne(market()["trade_date"].shift())
    assert (table().loc[opens.to_numpy(), "calendar_minutes_since_open"] < 5).all()


def test_sunday_evening_belongs_to_monday():
    sunday = _at("2023-03-12 17:00")
    assert sunday["calendar_day_of_week"] == 0


def test_rth_flag_and_days_to_roll():
    bars, f = market(), table()
    np.testing.assert_array_equal(f["calendar_rth"].to_numpy(), bars["rth"].to_numpy().astype(float))
    esh3_roll = np.datetime64("2023-03-09", "ns")  # Thursday 8 days before the 2023-03-17 expiry
    esm3_roll = np.datetime64("2023-06-08", "ns")  # expiry 2023-06-16
    roll = np.where(bars["contract"].to_numpy() == "ESH3", esh3_roll, esm3_roll)
    expected = (roll - bars["trade_date"].to_numpy()) / np.timedelta64(1, "D")
    np.testing.assert_array_equal(f["calendar_days_to_roll"].to_numpy(), expected)


def test_a_non_futures_symbol_has_no_roll():
    f = build_features(sp500_daily().iloc[:40], groups=["calendar"]).frame
    assert f["calendar_days_to_roll"].isna().all()
    assert f.drop(columns="calendar_days_to_roll").notna().all().all()
