"""CME Globex calendar: trade dates, halts, holidays, early closes, hours by era, DST.

Expected times are worked out by hand from shared/reference/es_market_and_data_formats.md
section 1 ("Globex hours", holidays verified against pandas-market-calendars 5.5.0).
CST = UTC-6, CDT = UTC-5.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.calendar import assign_sessions, globex_sessions, third_friday
from futures_vpoc.config import SessionHours


def at(*stamps):
    return pd.DatetimeIndex(list(stamps), tz="UTC")


def dates(assignment):
    return [None if pd.isna(d) else pd.Timestamp(d).date().isoformat() for d in assignment.trade_date]


def test_sunday_evening_bars_get_mondays_trade_date_winter_and_summer():
    # Sun 2024-01-07 17:00 CST = 23:00 UTC; Sun 2024-03-10 17:00 CDT (first day of DST) = 22:00 UTC.
    a = assign_sessions(at("2024-01-07 23:00", "2024-01-07 23:01", "2024-03-10 22:00", "2024-03-10 22:30"))
    assert dates(a) == ["2024-01-08", "2024-01-08", "2024-03-11", "2024-03-11"]
    assert a.in_session.all() and not a.rth.any()


def test_bars_before_the_sunday_open_are_outside_every_session():
    # Sun 2024-03-10 16:59 CDT = 21:59 UTC: the week has not opened yet; Saturday is closed.
    a = assign_sessions(at("2024-03-10 21:59", "2024-03-09 15:00"))
    assert not a.in_session.any()
    assert dates(a) == [None, None]


def test_no_bar_belongs_to_the_daily_halt_in_any_era():
    stamps = at(
        "2019-03-05 21:14",  # 15:14 CST: last minute before the 15:15-15:30 halt (2015-2021 era)
        "2019-03-05 21:15",  # 15:15 CST: halt
        "2019-03-05 21:29",  # 15:29 CST: halt
        "2019-03-05 21:30",  # 15:30 CST: reopened, same trade date
        "2019-03-05 22:00",  # 16:00 CST: maintenance break 16:00-17:00
        "2019-03-05 22:59",  # 16:59 CST: maintenance
        "2019-03-05 23:00",  # 17:00 CST: next trade date
        "2024-03-05 21:15",  # 15:15 CST in 2024: no halt since 2021-06-28
        "2024-03-05 22:00",  # 16:00 CST 2024: maintenance
    )
    a = assign_sessions(stamps)
    assert a.in_session.tolist() == [True, False, False, True, False, False, True, True, False]
    assert dates(a)[3] == "2019-03-05" and dates(a)[6] == "2019-03-06"


@pytest.mark.parametrize(
    "trade_date, open_utc, close_utc, halt",
    [
        # 2005-2012: T-1 15:30 -> T 15:15 CT, no halt. Tue 2011-06-07 (CDT): 20:30 UTC Mon -> 20:15 UTC Tue.
        ("2011-06-07", "2011-06-06 20:30", "2011-06-07 20:15", None),
        # 2012-2015: T-1 17:00 -> T 16:15 CT, halt 15:15-15:30. Thu 2013-06-06 (CDT).
        ("2013-06-06", "2013-06-05 22:00", "2013-06-06 21:15", ("2013-06-06 20:15", "2013-06-06 20:30")),
        # 2015-2021: T-1 17:00 -> T 16:00 CT, halt 15:15-15:30. Tue 2019-03-05 (CST).
        ("2019-03-05", "2019-03-04 23:00", "2019-03-05 22:00", ("2019-03-05 21:15", "2019-03-05 21:30")),
        # 2021-: T-1 17:00 -> T 16:00 CT, no halt. Tue 2024-03-05 (CST).
        ("2024-03-05", "2024-03-04 23:00", "2024-03-05 22:00", None),
    ],
)
def test_one_date_in_each_globex_hours_era(trade_date, open_utc, close_utc, halt):
    row = globex_sessions(trade_date, trade_date).loc[trade_date]
    assert row["open"] == pd.Timestamp(open_utc, tz="UTC")
    assert row["close"] == pd.Timestamp(close_utc, tz="UTC")
    if halt is None:
        assert row["halt_start"] == row["halt_end"] == row["close"]
    else:
        assert (row["halt_start"], row["halt_end"]) == tuple(pd.Timestamp(h, tz="UTC") for h in halt)


def test_mid_era_bar_between_16_00_and_16_15_is_in_session():
    # 2013-06-06 16:10 CDT = 21:10 UTC: the 2012-2015 close was 16:15 CT (pandas-market-calendars says 16:00).
    assert assign_sessions(at("2013-06-06 21:10")).in_session.tolist() == [True]


def test_holiday_early_closes():
    sess = globex_sessions("2024-11-27", "2024-12-02")
    # Thanksgiving Thu 2024-11-28 closes 12:00 CST = 18:00 UTC; Black Friday 12:15 CST = 18:15 UTC.
    assert sess.loc["2024-11-28", "close"] == pd.Timestamp("2024-11-28 18:00", tz="UTC")
    assert sess.loc["2024-11-29", "close"] == pd.Timestamp("2024-11-29 18:15", tz="UTC")
    assert sess.loc["2024-11-28", "early_close"] and not sess.loc["2024-11-27", "early_close"]
    # Its RTH ends at the early close.
    assert sess.loc["2024-11-28", "rth_end"] == pd.Timestamp("2024-11-28 18:00", tz="UTC")
    a = assign_sessions(at("2024-11-28 17:59", "2024-11-28 18:00", "2024-11-28 23:00"))
    assert a.in_session.tolist() == [True, False, True]
    assert dates(a) == ["2024-11-28", None, "2024-11-29"]
    assert a.rth.tolist() == [True, False, False]


def test_good_friday_session_closes_before_rth():
    # Good Friday 2024-03-29 closes 08:15 CDT = 13:15 UTC, before the 08:30 RTH open: no RTH bars.
    row = globex_sessions("2024-03-29", "2024-03-29").loc["2024-03-29"]
    assert row["close"] == pd.Timestamp("2024-03-29 13:15", tz="UTC")
    assert row["rth_start"] == row["rth_end"]
    a = assign_sessions(at("2024-03-29 13:14", "2024-03-29 13:30"))
    assert a.in_session.tolist() == [True, False] and not a.rth.any()


def test_full_holiday_has_no_session():
    # Christmas 2024-12-25: no trade date; 2024-12-24 closes 12:15 CST, next open 2024-12-25 17:00 CST.
    sess = globex_sessions("2024-12-23", "2024-12-27")
    assert pd.Timestamp("2024-12-25") not in sess.index
    a = assign_sessions(at("2024-12-25 15:00", "2024-12-25 23:00"))
    assert a.in_session.tolist() == [False, True]
    assert dates(a) == [None, "2024-12-26"]


def test_rth_follows_daylight_saving():
    # RTH 08:30-15:00 CT: 14:30-21:00 UTC in winter, 13:30-20:00 UTC in summer.
    a = assign_sessions(at("2024-03-08 14:29", "2024-03-08 14:30", "2024-03-08 20:59", "2024-03-08 21:00",
                           "2024-03-11 13:29", "2024-03-11 13:30", "2024-03-11 19:59", "2024-03-11 20:00"))
    assert a.rth.tolist() == [False, True, True, False, False, True, True, False]


def test_rth_window_is_configurable():
    hours = SessionHours(dt.time(8, 30), dt.time(15, 15))
    a = assign_sessions(at("2024-03-08 21:10"), hours)  # 15:10 CST
    assert a.rth.tolist() == [True]
    assert assign_sessions(at("2024-03-08 21:10")).rth.tolist() == [False]


def test_sessions_never_overlap_and_cover_years_quickly():
    sess = globex_sessions("2008-01-01", "2025-12-31")
    opens = sess["open"].to_numpy()
    closes = sess["close"].to_numpy()
    assert (opens[1:] >= closes[:-1]).all()
    assert (closes > opens).all()
    assert (sess["halt_start"] <= sess["halt_end"]).all()


def test_third_friday_and_naive_timestamps_are_refused():
    assert third_friday(2024, 3) == dt.date(2024, 3, 15)
    assert third_friday(2012, 6) == dt.date(2012, 6, 15)
    with pytest.raises(ValueError):
        assign_sessions(pd.DatetimeIndex(["2024-03-05 14:30"]))


def test_every_minute_of_a_week_lands_in_exactly_one_place():
    minutes = pd.date_range("2024-03-03", "2024-03-17", freq="1min", tz="UTC", inclusive="left")
    a = assign_sessions(minutes)
    # Two trading weeks (Mon-Fri), 23 hours each: 10 x 23 x 60 minutes, across the DST change.
    assert int(a.in_session.sum()) == 10 * 23 * 60
    assert np.isnat(a.trade_date[~a.in_session]).all()


def test_a_range_without_sessions_gives_an_empty_table():
    sess = globex_sessions("2024-03-09", "2024-03-09")  # a Saturday
    assert sess.empty and list(sess.columns)[:2] == ["open", "close"]


@pytest.mark.parametrize(
    "trade_date, open_utc, why",
    [
        # Legacy hours (shared/reference/es_market_and_data_formats.md section 1, "Globex hours":
        # T-1 15:30 -> T 15:15 CT before 2012-11-19 [S6][S14]); a session opens at 15:30 CT only
        # after a regular 15:15 CT close, otherwise at the calendar's 17:00 CT. Holiday closes are
        # pandas-market-calendars 5.5.0 "CME Globex Equity" (10:30 CT on MLK, July 4, Thanksgiving;
        # 12:15 CT on 2012-07-03 and the day after Thanksgiving; 2011-12-26 has no session).
        ("2012-01-17", "2012-01-16 23:00", "after MLK 2012-01-16 (early close): 17:00 CST"),
        ("2011-11-25", "2011-11-24 23:00", "after Thanksgiving 2011-11-24 (early close): 17:00 CST"),
        ("2011-12-27", "2011-12-26 23:00", "after Christmas observed 2011-12-26 (no session): 17:00 CST"),
        ("2012-07-04", "2012-07-03 22:00", "after the 12:15 CT close of 2012-07-03: 17:00 CDT"),
        ("2012-07-05", "2012-07-04 22:00", "after Independence Day 2012-07-04 (early close): 17:00 CDT"),
        ("2011-11-24", "2011-11-23 21:30", "Thanksgiving itself follows a regular day: 15:30 CST"),
        ("2012-07-03", "2012-07-02 20:30", "2012-07-03 follows a regular Monday: 15:30 CDT"),
        ("2012-01-16", "2012-01-15 23:00", "MLK Monday after the weekend: Sunday 17:00 CST"),
    ],
)
def test_legacy_session_after_a_holiday_opens_at_the_calendar_open(trade_date, open_utc, why):
    row = globex_sessions(trade_date, trade_date).loc[trade_date]
    assert row["open"] == pd.Timestamp(open_utc, tz="UTC"), why


def test_legacy_bars_on_a_holiday_afternoon_belong_to_no_session():
    # MLK 2012-01-16 closed 10:30 CST (16:30 UTC) and reopened 17:00 CST (23:00 UTC): a bar at
    # 15:45 CST (21:45 UTC) is in no session; the old code put it in trade date 2012-01-17.
    a = assign_sessions(at("2012-01-16 21:45", "2012-01-16 23:00"))
    assert a.in_session.tolist() == [False, True]
    assert dates(a) == [None, "2012-01-17"]
