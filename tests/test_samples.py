"""The bundled real sample: S&P 500 daily bars (arch) with VIX as of the previous close.

Reference levels: S&P 500 close on 2008-11-20 = 752.44 (the bear-market closing low of November
2008, widely published; e.g. S&P Dow Jones Indices' history); VIX values are compared with
``arch.data.vix`` itself, the source the sample is built from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.barframe import BAR_COLUMNS, conform
from futures_vpoc.data.samples import arch_vix, load_sample, sp500_daily
from futures_vpoc.errors import UsageError


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return sp500_daily()


def test_is_a_conformed_barframe_of_thousands_of_days(bars):
    assert 4900 <= len(bars) <= 5100
    assert list(bars.columns) == list(BAR_COLUMNS)
    pd.testing.assert_frame_equal(conform(bars), bars, check_exact=True)
    assert str(bars.index.dtype) == "datetime64[ns, UTC]"
    assert bars.index.is_unique and bars.index.is_monotonic_increasing
    assert bars["trade_date"].iloc[0] == pd.Timestamp("1999-01-04")
    assert bars["trade_date"].iloc[-1] == pd.Timestamp("2018-12-31")
    assert (bars["contract"] == "SPX").all() and bars["rth"].all()
    assert bars["volume"].dtype == np.float64 and (bars["volume"] > 0).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()


def test_bar_starts_at_0830_central_of_its_date(bars):
    local = bars.index.tz_convert("America/Chicago")
    assert (local.hour == 8).all() and (local.minute == 30).all()
    np.testing.assert_array_equal(local.tz_localize(None).normalize(), bars["trade_date"].to_numpy())
    # 08:30 CST = 14:30 UTC in winter, 08:30 CDT = 13:30 UTC in summer
    assert bars.index[bars["trade_date"] == pd.Timestamp("2015-01-05")][0] == pd.Timestamp("2015-01-05 14:30", tz="UTC")
    assert bars.index[bars["trade_date"] == pd.Timestamp("2015-07-06")][0] == pd.Timestamp("2015-07-06 13:30", tz="UTC")


def test_real_levels(bars):
    day = bars.loc[bars["trade_date"] == pd.Timestamp("2008-11-20")]
    assert day["close"].iloc[0] == pytest.approx(752.44, abs=0.01)
    crash = bars.loc[(bars["trade_date"] >= "2008-10-01") & (bars["trade_date"] <= "2008-11-30"), "close"]
    assert crash.min() < 800


def test_vix_attached_as_of_previous_close(bars):
    ref = arch_vix().dropna()
    in_2015 = bars.loc[(bars["trade_date"] >= "2015-01-01") & (bars["trade_date"] <= "2015-12-31")]
    assert len(in_2015) > 240
    for day, vix in zip(in_2015["trade_date"], in_2015["vix"]):
        prev = ref.loc[ref.index < day]
        assert vix == prev.iloc[-1]  # the last VIX date before D, never D itself
    # e.g. Monday 2015-08-24 sees Friday 2015-08-21's close (28.03), not its own (40.74)
    aug24 = bars.loc[bars["trade_date"] == pd.Timestamp("2015-08-24"), "vix"].iloc[0]
    assert aug24 == ref.loc["2015-08-21"] and aug24 != ref.loc["2015-08-24"]


def test_vix_nan_before_first_publication(bars):
    first = arch_vix().dropna().index[0]  # 2014-01-03, published 15:15 CT that day
    before = bars["trade_date"] <= first
    assert bars.loc[before, "vix"].isna().all()
    after = bars["trade_date"] > first
    assert bars.loc[after, "vix"].notna().all()
    assert bars.loc[after, "vix"].iloc[0] == arch_vix().loc[first]


def test_load_sample_by_name():
    with pytest.raises(UsageError, match="sp500-daily"):
        load_sample("nasdaq")


def test_reads_arch_files_offline(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("sp500_daily tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert len(sp500_daily()) == 5031


def test_es_minute_is_the_bundled_lean_sample_merged_with_vix():
    from futures_vpoc.data.samples import ES_MINUTE_VIX, ES_MINUTE_ZIPS

    zips = sorted(p.name for p in ES_MINUTE_ZIPS.glob("*.zip"))
    assert len(zips) == 14 and all(z.startswith("2013") and z.endswith("_trade.zip") for z in zips)
    assert (ES_MINUTE_ZIPS.parent / "README.md").read_text().count("Apache") >= 2
    assert ES_MINUTE_VIX.read_text().splitlines()[0] == "DATE,OPEN,HIGH,LOW,CLOSE"
    bars = load_sample("es-minute")
    assert list(dict.fromkeys(bars["contract"])) == ["ESZ3", "ESH4"]
    assert bars["vix"].notna().all()
    first_h = bars.index[bars["contract"] == "ESH4"].min()
    assert pd.Timestamp("2013-12-18", tz="UTC") <= first_h < pd.Timestamp("2013-12-21", tz="UTC")
