"""Vendor layouts that used to be refused ("timestamps have no time zone ... pass --tz") load now.

FirstRate files with a header line, ES/MES files with separate date and time columns (with or
without a header, in the common date and time spellings) and daily files whose date has no time of
day. Each file is written from the synthetic market (truth in UTC) and must load, without ``--tz``,
to exactly the truth; the note names the layout, the zone and the stamp convention, and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.calendar import globex_sessions
from futures_vpoc.data.formats import detect_format
from futures_vpoc.data.load import load_es
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError

PRICES = ("open", "high", "low", "close", "volume")


@pytest.fixture(scope="module")
def truth():
    """Mon 2023-01-09 .. Fri 2023-01-13: four daily maintenance breaks inside the file."""
    return synthesize(SynthConfig(start="2023-01-09", end="2023-01-13", seed=5))[0]


def wall(bars, zone, stamp="start"):
    stamps = bars.index + (pd.Timedelta(minutes=1) if stamp == "end" else pd.Timedelta(0))
    return stamps.tz_convert(zone).tz_localize(None)


def write(path, header, stamps, bars, extra=""):
    """``header`` (None: no header line) then one row per bar: ``stamp,o,h,l,c,v`` + ``extra``."""
    values = np.column_stack([bars[c].to_numpy() for c in PRICES])
    rows = [f"{s},{o},{h},{lo},{c},{v:g}{extra}" for s, (o, h, lo, c, v) in zip(stamps, values)]
    path.write_text("\n".join(([header] if header else []) + rows) + "\n")
    return path


def assert_truth(loaded, bars):
    got = loaded.bars
    assert len(got) == len(bars)
    assert (got.timestamp.to_numpy() == bars.index.to_numpy()).all()
    for col in PRICES:
        np.testing.assert_array_equal(got[col].to_numpy(), bars[col].to_numpy())
    np.testing.assert_array_equal(got.trade_date.to_numpy(), bars.trade_date.to_numpy())


# ------------------------------------------------------------------------------------- FirstRate


def test_firstrate_with_a_header_line(tmp_path, truth):
    stamps = wall(truth, "America/New_York").strftime("%Y-%m-%d %H:%M:%S")
    path = write(tmp_path / "ES_1min.csv", "timestamp,open,high,low,close,volume", stamps, truth)
    assert detect_format(path) == "generic"  # a header like any generic file's: no vendor to assume
    asked = load_es(path, fmt="firstrate")
    assert_truth(asked, truth)
    assert asked.formats == ("firstrate",)
    assert asked.notes[0] == ("ES_1min.csv: read as firstrate (header), America/New_York, bar start: "
                              "maintenance gap at 17:00–18:00 local on 4 of 4 days")
    detected = load_es(path)
    assert_truth(detected, truth)
    assert detected.notes[0].startswith("ES_1min.csv: detected generic (header), America/New_York, bar start: ")


def test_firstrate_without_a_header_end_stamped(tmp_path, truth):
    stamps = wall(truth, "America/New_York", "end").strftime("%Y-%m-%d %H:%M:%S")
    path = write(tmp_path / "ES_1min.txt", None, stamps, truth)
    assert detect_format(path) == "firstrate"
    loaded = load_es(path)
    assert_truth(loaded, truth)
    assert loaded.notes[0] == ("ES_1min.txt: detected firstrate (no header), America/New_York, bar end: "
                               "maintenance gap at 17:01–18:01 local on 4 of 4 days")


# --------------------------------------------------------------------------- date + time columns

DATE_TIME = {  # name: (date format, time format, zone of the file)
    "yyyymmdd_hhmmss": ("%Y%m%d", "%H%M%S", "America/Chicago"),
    "mdy_hhmm": ("%m/%d/%Y", "%H:%M", "America/New_York"),
    "iso_hhmmss": ("%Y-%m-%d", "%H:%M:%S", "America/Chicago"),
    "dotted_hhmm": ("%Y.%m.%d", "%H:%M", "UTC"),
}


@pytest.mark.parametrize("header", [True, False], ids=["header", "no_header"])
@pytest.mark.parametrize("name", list(DATE_TIME))
def test_date_and_time_columns(tmp_path, truth, name, header):
    date_fmt, time_fmt, zone = DATE_TIME[name]
    local = wall(truth, zone)
    stamps = [f"{d},{t}" for d, t in zip(local.strftime(date_fmt), local.strftime(time_fmt))]
    path = write(tmp_path / f"MES_{name}.csv", "Date,Time,Open,High,Low,Close,Volume" if header else None,
                 stamps, truth)
    loaded = load_es(path)
    assert_truth(loaded, truth)
    if name == "mdy_hhmm" and not header:  # the Kibot layout: US Eastern, bar start, as Kibot documents
        assert loaded.formats == ("kibot",)
        return
    assert loaded.formats == ("generic",)
    layout = "header" if header else "no header"
    assert loaded.notes[0].startswith(f"MES_{name}.csv: detected generic ({layout}, date + time columns), "
                                      f"{zone}, bar start: maintenance gap at ")


def test_integer_times_that_lost_their_leading_zero(tmp_path, truth):
    # 93000 = 09:30:00 and 0 = 00:00:00, as a spreadsheet writes an HHMMSS integer; an extra column too.
    local = wall(truth, "America/Chicago", "end")
    stamps = [f"{d},{int(t)}" for d, t in zip(local.strftime("%Y%m%d"), local.strftime("%H%M%S"))]
    path = write(tmp_path / "ES_int.txt", None, stamps, truth, extra=",123")
    assert detect_format(path) == "generic"
    loaded = load_es(path)
    assert_truth(loaded, truth)
    assert "(no header, date + time columns), America/Chicago, bar end: " in loaded.notes[0]


# ------------------------------------------------------------------------------------ date only


def daily_truth(dates):
    sess = globex_sessions(min(dates), max(dates))
    return sess.loc[pd.DatetimeIndex(dates)]


DAILY = [("2024-01-02", 4780.25), ("2024-01-03", 4752.75), ("2024-01-05", 4735.0), ("2024-01-08", 4785.25),
         ("2024-01-16", 4770.0)]  # 2024-01-16 follows MLK day: its session opens Mon 17:00 CT


def daily_rows(fmt="%Y-%m-%d", adj=False, rows=DAILY):
    out = []
    for day, close in rows:
        text = pd.Timestamp(day).strftime(fmt)
        out.append(f"{text},{close},{close + 10},{close - 10},{close}" + (f",{close}" if adj else "") + ",1000")
    return out


@pytest.mark.parametrize("layout", ["header", "yahoo", "no_header", "us_dates"])
def test_daily_bars_start_at_the_globex_open_of_their_trade_date(tmp_path, layout):
    header = {"header": "Date,Open,High,Low,Close,Volume", "yahoo": "Date,Open,High,Low,Close,Adj Close,Volume",
              "no_header": None, "us_dates": "DATE,OPEN,HIGH,LOW,CLOSE,VOLUME"}[layout]
    fmt = {"no_header": "%Y%m%d", "us_dates": "%m/%d/%Y"}.get(layout, "%Y-%m-%d")
    path = tmp_path / "ES_daily.csv"
    path.write_text("\n".join(([header] if header else []) + daily_rows(fmt, adj=layout == "yahoo")) + "\n")
    loaded = load_es(path)
    sess = daily_truth([d for d, _ in DAILY])
    assert loaded.bars.timestamp.tolist() == sess["open"].tolist()
    assert loaded.bars.trade_date.tolist() == list(sess.index)
    assert loaded.bars.close.tolist() == [c for _, c in DAILY]  # Close, not Adj Close
    assert str(loaded.bars.timestamp.iloc[-1]) == "2024-01-15 23:00:00+00:00"  # Mon 17:00 CST, MLK day
    where = "no header" if layout == "no_header" else "header"
    assert loaded.notes[0] == (f"ES_daily.csv: detected generic ({where}, date only), trade dates (no time of "
                               "day), bar start: each bar starts at the Globex open of its trade date")


def test_daily_bars_ignore_tz(tmp_path):
    path = tmp_path / "ES_daily.csv"
    path.write_text("\n".join(["Date,Open,High,Low,Close,Volume", *daily_rows()]) + "\n")
    loaded = load_es(path, tz="Asia/Tokyo")
    assert loaded.bars.timestamp.tolist() == daily_truth([d for d, _ in DAILY])["open"].tolist()
    assert "ES_daily.csv: dates without a time of day are CME trade dates; --tz ignored" in loaded.notes


def test_a_date_that_is_no_trade_date_is_refused_by_line_or_dropped(tmp_path):
    rows = daily_rows(rows=[*DAILY[:3], ("2024-01-06", 4740.0), *DAILY[3:]])  # a Saturday, line 5
    path = tmp_path / "ES_daily.csv"
    path.write_text("\n".join(["Date,Open,High,Low,Close,Volume", *rows]) + "\n")
    with pytest.raises(DataError) as err:
        load_es(path)
    assert str(err.value) == (f"{path}:5: 2024-01-06 (Saturday) is not a CME trade date (weekend or holiday); "
                              "remove the row, or pass --repair to drop such rows")
    repaired = load_es(path, repair=True)
    assert repaired.repairs["outside_session"] == 1
    assert repaired.bars.close.tolist() == [c for _, c in DAILY]


def test_midnight_stamps_are_read_as_dates(tmp_path):
    path = tmp_path / "ES_daily.csv"
    lines = [row.replace(",", " 00:00:00,", 1) for row in daily_rows()]
    path.write_text("\n".join(["timestamp,open,high,low,close,volume", *lines]) + "\n")
    loaded = load_es(path)
    assert loaded.bars.timestamp.tolist() == daily_truth([d for d, _ in DAILY])["open"].tolist()
    assert "(header, every stamp at midnight: read as dates), trade dates" in loaded.notes[0]
