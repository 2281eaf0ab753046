"""Continuous series from per-contract bars: calendar and volume rolls, raw prices.

Hand-made ESH4/ESM4(/ESU4) bars at realistic Globex times; trade dates come from
``calendar.assign_sessions``. Facts: ESH4 expires Fri 2024-03-15, calendar roll Thu 2024-03-07;
ESM4 expires 2024-06-21, roll 2024-06-13 (es_market_and_data_formats.md section 1).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.calendar import assign_sessions
from futures_vpoc.data.contracts import Contract, parse_contract
from futures_vpoc.data.rolls import ContinuousSeries, RollPoint, build_continuous
from futures_vpoc.errors import DataError

# Bar starts within a session for trade date T, as (days relative to T, CT wall clock).
SESSION_TIMES = [(-1, "17:00"), (-1, "20:00"), (0, "02:00"), (0, "08:30"), (0, "11:00"), (0, "15:00")]
MARCH = ["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
JUNE = ["2024-06-11", "2024-06-12", "2024-06-13", "2024-06-14"]


def make_contract(code: str, trade_dates, base: float, seed: int, volume=None) -> pd.DataFrame:
    """Bars of one contract: on-grid random-walk closes, OHLC around them, trade dates assigned."""
    starts = []
    for day in trade_dates:
        d = pd.Timestamp(day)
        for shift, clock in SESSION_TIMES:
            local = d + pd.Timedelta(days=shift) + pd.Timedelta(clock + ":00")
            starts.append(local.tz_localize("America/Chicago").tz_convert("UTC"))
    ts = pd.DatetimeIndex(starts).as_unit("ns")
    rng = np.random.default_rng(seed)
    close = base + 0.25 * np.cumsum(rng.integers(-8, 9, len(ts)))
    opn = close - 0.25 * rng.integers(-4, 5, len(ts))
    sess = assign_sessions(ts)
    assert sess.in_session.all()
    if volume is None:
        volume = {day: 1000.0 for day in trade_dates}
    per_bar = [volume[str(pd.Timestamp(t).date())] / len(SESSION_TIMES) for t in sess.trade_date]
    return pd.DataFrame({
        "timestamp": ts,
        "open": opn,
        "high": np.maximum(opn, close) + 0.5,
        "low": np.minimum(opn, close) - 0.5,
        "close": close,
        "volume": np.asarray(per_bar, dtype="float64"),
        "contract": code,
        "trade_date": sess.trade_date,
        "rth": sess.rth,
    })


def long_frame(*parts: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True).sort_values(["timestamp", "contract"], ignore_index=True)


@pytest.fixture
def h4m4() -> pd.DataFrame:
    return long_frame(make_contract("ESH4", MARCH, 5100.0, 1), make_contract("ESM4", MARCH, 5160.0, 2))


def within_contract_diff(bars: pd.DataFrame) -> pd.Series:
    """Close-to-close change inside each contract segment (NaN at each segment's first bar)."""
    seg = (bars["contract"] != bars["contract"].shift()).cumsum()
    return bars.groupby(seg)["close"].diff()


def raw_close(frame: pd.DataFrame, code: str, ts: pd.Timestamp) -> float:
    row = frame.loc[(frame["contract"] == code) & (frame["timestamp"] == ts)]
    assert len(row) == 1
    return float(row["close"].iloc[0])


# --------------------------------------------------------------------------------------------
# calendar roll
# --------------------------------------------------------------------------------------------

def test_esh4_roll_date_is_thursday_2024_03_07():
    assert Contract(2024, 3).roll_date == dt.date(2024, 3, 7)
    assert parse_contract("ESH4", near=dt.date(2024, 3, 1)).roll_date == dt.date(2024, 3, 7)
    assert Contract(2024, 3).expiry == dt.date(2024, 3, 15)


def test_calendar_switches_at_first_bar_of_roll_trade_date(h4m4):
    series = build_continuous(h4m4, method="calendar")
    assert isinstance(series, ContinuousSeries)
    bars = series.bars
    assert bars.index.is_unique and bars.index.is_monotonic_increasing
    assert "timestamp" not in bars.columns and bars.index.name == "timestamp"
    before = bars["trade_date"] < pd.Timestamp("2024-03-07")
    assert (bars.loc[before, "contract"] == "ESH4").all()
    assert (bars.loc[~before, "contract"] == "ESM4").all()
    # 17:00 CT on 2024-03-06 (CST, UTC-6) = 23:00 UTC: the first bar of trade date 2024-03-07.
    first_new = bars.index[(bars["contract"] == "ESM4").to_numpy()][0]
    assert first_new == pd.Timestamp("2024-03-06 23:00", tz="UTC")
    # one bar per timestamp and every session complete
    assert len(bars) == len(MARCH) * len(SESSION_TIMES)
    # the bars are the raw bars of the chosen contract
    for ts, row in bars.iterrows():
        assert row["close"] == raw_close(h4m4, row["contract"], ts)


def test_roll_point_fields(h4m4):
    (roll,) = build_continuous(h4m4, method="calendar").rolls
    assert isinstance(roll, RollPoint)
    assert roll.trade_date == dt.date(2024, 3, 7)
    assert (roll.from_contract, roll.to_contract) == ("ESH4", "ESM4")
    assert roll.switch_time == pd.Timestamp("2024-03-06 23:00", tz="UTC")
    ref = pd.Timestamp("2024-03-06 21:00", tz="UTC")  # 15:00 CT bar: last common bar before the switch
    c_old, c_new = raw_close(h4m4, "ESH4", ref), raw_close(h4m4, "ESM4", ref)
    assert roll.gap == c_new - c_old
    assert roll.ratio == pytest.approx(c_new / c_old, rel=1e-15)
    assert roll.method == "calendar"


def test_calendar_keeps_old_contract_when_new_has_no_bars(h4m4):
    gap_day = (h4m4["contract"] == "ESM4") & (h4m4["trade_date"] == pd.Timestamp("2024-03-07"))
    series = build_continuous(h4m4.loc[~gap_day], method="calendar")
    bars = series.bars
    day7 = bars["trade_date"] == pd.Timestamp("2024-03-07")
    assert day7.sum() == len(SESSION_TIMES)  # no hole
    assert (bars.loc[day7, "contract"] == "ESH4").all()
    (roll,) = series.rolls
    assert roll.trade_date == dt.date(2024, 3, 8)
    assert roll.switch_time == pd.Timestamp("2024-03-07 23:00", tz="UTC")


def test_single_contract_passes_through_unchanged():
    one = make_contract("ESH4", MARCH, 5100.0, 1)
    series = build_continuous(one, method="calendar")
    assert series.rolls == ()
    pd.testing.assert_frame_equal(series.bars, one.set_index("timestamp"))
    assert build_continuous(one, method="volume").rolls == ()


# --------------------------------------------------------------------------------------------
# raw prices (no back-adjustment: it is not causal)
# --------------------------------------------------------------------------------------------

def test_several_rolls_keep_raw_prices_and_record_gaps():
    frame = long_frame(
        make_contract("ESH4", MARCH, 5100.0, 1),
        make_contract("ESM4", MARCH + JUNE, 5160.0, 2),
        make_contract("ESU4", JUNE, 5230.0, 3),
    )
    series = build_continuous(frame)
    r1, r2 = series.rolls
    assert (r1.from_contract, r1.to_contract, r1.trade_date) == ("ESH4", "ESM4", dt.date(2024, 3, 7))
    assert (r2.from_contract, r2.to_contract, r2.trade_date) == ("ESM4", "ESU4", dt.date(2024, 6, 13))
    # June is CDT (UTC-5): 17:00 CT on 2024-06-12 = 22:00 UTC
    assert r2.switch_time == pd.Timestamp("2024-06-12 22:00", tz="UTC")
    for ts, row in series.bars.iterrows():  # every bar is its contract's raw bar
        assert row["close"] == raw_close(frame, row["contract"], ts)
    ref = pd.Timestamp("2024-06-12 20:00", tz="UTC")  # 15:00 CT: last common bar before the switch
    assert r2.gap == raw_close(frame, "ESU4", ref) - raw_close(frame, "ESM4", ref)


def test_back_adjustment_is_gone():
    with pytest.raises(TypeError):
        build_continuous(long_frame(make_contract("ESH4", MARCH, 5100.0, 1)), adjustment="difference")
    assert "adjustment" not in {f.name for f in dataclasses.fields(ContinuousSeries)}


def test_roll_none_passes_one_series_and_refuses_several_contracts(h4m4):
    one = make_contract("ES", MARCH, 5100.0, 1)
    series = build_continuous(one, method="none")
    assert series.rolls == ()
    pd.testing.assert_frame_equal(series.bars, one.set_index("timestamp"))
    with pytest.raises(DataError, match=r"ESH4, ESM4.*--roll none.*2 contracts") as err:
        build_continuous(h4m4, method="none")
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------------------------
# volume roll
# --------------------------------------------------------------------------------------------

def test_volume_roll_is_causal_and_never_switches_back():
    # ESM4 out-trades ESH4 first in the session of 2024-03-05, then ESH4 is busier again on 03-07.
    vol_h = {"2024-03-05": 1000.0, "2024-03-06": 800.0, "2024-03-07": 5000.0, "2024-03-08": 500.0}
    vol_m = {"2024-03-05": 1200.0, "2024-03-06": 900.0, "2024-03-07": 700.0, "2024-03-08": 3000.0}
    frame = long_frame(make_contract("ESH4", MARCH, 5100.0, 1, vol_h),
                       make_contract("ESM4", MARCH, 5160.0, 2, vol_m))
    series = build_continuous(frame, method="volume")
    bars = series.bars
    # the whole 2024-03-05 session (where the back month's volume was higher) stays on ESH4:
    # that could only be known once the session had finished
    d5 = bars["trade_date"] == pd.Timestamp("2024-03-05")
    assert (bars.loc[d5, "contract"] == "ESH4").all()
    assert (bars.loc[~d5, "contract"] == "ESM4").all()  # and it never goes back on 03-07
    (roll,) = series.rolls
    assert roll.trade_date == dt.date(2024, 3, 6)
    assert roll.switch_time == pd.Timestamp("2024-03-05 23:00", tz="UTC")
    assert roll.method == "volume"
    assert (roll.from_contract, roll.to_contract) == ("ESH4", "ESM4")


def test_volume_roll_waits_while_front_is_busier():
    vol_h = {d: 2000.0 for d in MARCH}
    vol_m = {"2024-03-05": 100.0, "2024-03-06": 500.0, "2024-03-07": 2500.0, "2024-03-08": 900.0}
    frame = long_frame(make_contract("ESH4", MARCH, 5100.0, 1, vol_h),
                       make_contract("ESM4", MARCH, 5160.0, 2, vol_m))
    (roll,) = build_continuous(frame, method="volume").rolls
    assert roll.trade_date == dt.date(2024, 3, 8)  # first session after the 03-07 session


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

def test_bad_method_is_a_data_error(h4m4):
    with pytest.raises(DataError, match="calendar, volume, none"):
        build_continuous(h4m4, method="open_interest")


def test_no_overlap_at_roll_is_a_raw_splice_without_gap():
    h = make_contract("ESH4", MARCH[:2], 5100.0, 1)
    m = make_contract("ESM4", MARCH[2:], 5160.0, 2)
    frame = long_frame(h, m)
    series = build_continuous(frame)  # a raw splice needs no overlap
    (roll,) = series.rolls
    assert (roll.from_contract, roll.to_contract, roll.trade_date) == ("ESH4", "ESM4", dt.date(2024, 3, 7))
    assert np.isnan(roll.gap) and np.isnan(roll.ratio)


def test_missing_column_and_naive_timestamps_are_data_errors(h4m4):
    with pytest.raises(DataError, match="trade_date"):
        build_continuous(h4m4.drop(columns="trade_date"))
    naive = h4m4.assign(timestamp=h4m4["timestamp"].dt.tz_localize(None))
    with pytest.raises(DataError, match="time zone"):
        build_continuous(naive)


def test_volume_roll_moves_on_when_front_has_no_bars():
    # ESH4 data end after 2024-03-06 while ESM4 never out-trades it: the series must not leave a hole.
    frame = long_frame(make_contract("ESH4", MARCH[:2], 5100.0, 1, {d: 5000.0 for d in MARCH}),
                       make_contract("ESM4", MARCH, 5160.0, 2, {d: 10.0 for d in MARCH}))
    series = build_continuous(frame, method="volume")
    assert len(series.bars) == len(MARCH) * len(SESSION_TIMES)
    (roll,) = series.rolls
    assert roll.trade_date == dt.date(2024, 3, 7)


def test_accepts_timestamp_index(h4m4):
    by_index = build_continuous(h4m4.set_index("timestamp"))
    by_column = build_continuous(h4m4)
    pd.testing.assert_frame_equal(by_index.bars, by_column.bars)
    assert by_index.rolls == by_column.rolls
