"""The on-disk cache of the session calendar (futures_vpoc.calendar._disk_cached): same tables as a
fresh build, read back without pandas-market-calendars, rebuilt when unreadable or stale, skipped
when switched off or unwritable."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from futures_vpoc import calendar as cal
from futures_vpoc.config import SessionHours


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(cal.CACHE_ENV, str(folder))
    cal._sessions_of_years.cache_clear()
    cal._vix_days_through.cache_clear()
    yield folder
    cal._sessions_of_years.cache_clear()
    cal._vix_days_through.cache_clear()


def _fresh(first, last, hours=SessionHours()):
    cal._sessions_of_years.cache_clear()
    return cal._sessions_of_years(first, last, hours)


def _no_build(*args, **kwargs):
    raise AssertionError("the session table was built again instead of read from the disk cache")


@pytest.mark.parametrize("years", [(2010, 2024), (1997, 2001), (2021, 2021)])
def test_cached_table_is_the_built_one(cache, monkeypatch, years):
    built = cal._built_sessions(*years, SessionHours())
    first = _fresh(*years)  # builds and stores
    assert len(list(cache.glob("sessions-*.npz"))) == 1
    monkeypatch.setattr(cal, "_built_sessions", _no_build)
    again = _fresh(*years)  # a later process: read from disk only
    for table in (first, again):
        pd.testing.assert_frame_equal(table, built, check_exact=True)  # values, dtypes (units) and index


def test_other_hours_get_their_own_file(cache):
    late = SessionHours(rth_start=dt.time(9, 0), rth_end=dt.time(15, 0))
    plain, other = _fresh(2022, 2023), _fresh(2022, 2023, late)
    assert len(list(cache.glob("sessions-*.npz"))) == 2
    later = other["rth_start"] - plain["rth_start"]
    assert (later >= pd.Timedelta(0)).all() and (later == pd.Timedelta(minutes=30)).mean() > 0.95  # all but short days
    pd.testing.assert_frame_equal(other, cal._built_sessions(2022, 2023, late), check_exact=True)


def test_unreadable_file_is_rebuilt_and_replaced(cache):
    expected = _fresh(2020, 2020)
    (path,) = cache.glob("sessions-*.npz")
    path.write_bytes(b"not an npz archive")
    pd.testing.assert_frame_equal(_fresh(2020, 2020), expected, check_exact=True)
    pd.testing.assert_frame_equal(cal._session_frame(dict(np.load(path))), expected, check_exact=True)


def test_new_calendar_release_builds_afresh(cache, monkeypatch):
    _fresh(2020, 2020)
    monkeypatch.setattr(cal, "_source_fingerprint", lambda: "pandas_market_calendars=99.0")
    _fresh(2020, 2020)
    assert len(list(cache.glob("sessions-*.npz"))) == 2


def test_switched_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(cal.CACHE_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cal.cache_dir() is None
    pd.testing.assert_frame_equal(_fresh(2019, 2019), cal._built_sessions(2019, 2019, SessionHours()))
    assert not any(tmp_path.iterdir())
    cal._sessions_of_years.cache_clear()


def test_default_folder_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv(cal.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cal.cache_dir() == tmp_path / "futures-vpoc"


def test_unwritable_folder_is_only_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv(cal.CACHE_ENV, str(blocker / "cache"))  # a folder inside a file: mkdir fails
    pd.testing.assert_frame_equal(_fresh(2018, 2018), cal._built_sessions(2018, 2018, SessionHours()))
    cal._sessions_of_years.cache_clear()


def test_empty_table_round_trips():
    empty = cal._empty_sessions()
    pd.testing.assert_frame_equal(cal._session_frame(cal._session_arrays(empty)), empty, check_exact=True)


def test_vix_days_from_cache(cache, monkeypatch):
    days = cal.vix_days("2014-01-01", "2019-12-31")
    cal._vix_days_through.cache_clear()
    import pandas_market_calendars as mcal

    monkeypatch.setattr(mcal, "get_calendar", _no_build)
    again = cal.vix_days("2014-01-01", "2019-12-31")
    assert again.equals(days) and again.dtype == np.dtype("datetime64[ns]")
    assert len(days) == 1510  # Cboe trading days 2014-2019 (252+252+252+251+251+252)
