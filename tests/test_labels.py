"""Labels (futures_vpoc.labels): horizons never cross a session end, the halt or a roll.

Every expected mask below is written from the CT wall clock by hand, not from the code: with
1-minute bars and ``horizon = 5``, bar ``t``'s horizon is known (``LabelTable.known``) iff the slot
starting 5 minutes after it still starts before its segment ends (halt start or session close) and
the data reaches it. Which known rows get a label depends on the target (flat horizons have none
under ``direction``): tests/test_labels_updown.py.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.calendar import assign_sessions, globex_sessions
from futures_vpoc.config import EXCHANGE_TZ
from futures_vpoc.data.barframe import conform
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import UsageError
from futures_vpoc.labels import make_labels

MINUTE = pd.Timedelta(minutes=1)


def session_grid(first, last):
    """Every 1-minute bar start (UTC) of the Globex sessions of trade dates ``first..last``."""
    parts = []
    for _, s in globex_sessions(first, last).iterrows():
        minutes = pd.date_range(s["open"], s["close"], freq="1min", inclusive="left")
        parts.append(minutes[(minutes < s["halt_start"]) | (minutes >= s["halt_end"])])
    return parts[0].append(parts[1:])


def bars_at(stamps, closes=None, contract="ESM9", seed=0):
    """A BarFrame on ``stamps`` (UTC bar starts) with a random-walk close unless ``closes`` is given."""
    idx = pd.DatetimeIndex(stamps)
    if closes is None:
        rng = np.random.default_rng(seed)
        closes = 2800 + 0.25 * np.cumsum(rng.integers(-2, 3, len(idx)))
    close = np.asarray(closes, dtype=float)
    where = assign_sessions(idx)
    frame = pd.DataFrame({"open": close, "high": close + 0.25, "low": close - 0.25, "close": close,
                          "volume": 10.0, "contract": np.broadcast_to(np.asarray(contract), len(idx)),
                          "trade_date": where.trade_date, "rth": where.rth, "vix": np.nan}, index=idx)
    return conform(frame)


def ct_clock(index):
    """(trade-date-independent) CT wall clock of each stamp as 'YYYY-MM-DD HH:MM'."""
    return np.asarray(index.tz_convert(EXCHANGE_TZ).strftime("%Y-%m-%d %H:%M"))


def minutes_ct(day, first, last):
    """CT wall-clock strings ``day first .. day last`` inclusive, every minute."""
    start = pd.Timestamp(f"{day} {first}")
    stop = pd.Timestamp(f"{day} {last}")
    return set(pd.date_range(start, stop, freq="1min").strftime("%Y-%m-%d %H:%M"))


def unlabelled_ct(bars, horizon=5):
    """CT clock of the rows whose horizon is unknown, and the label table."""
    table = make_labels(bars, horizon=horizon)
    return set(ct_clock(bars.index[~table.known])), table


def test_2019_halt_and_session_end_are_never_crossed():
    bars = bars_at(session_grid("2019-03-07", "2019-03-08"))
    missing, table = unlabelled_ct(bars)
    expected = (minutes_ct("2019-03-07", "15:10", "15:14")    # the 15:15 CT halt
                | minutes_ct("2019-03-07", "15:55", "15:59")  # the 16:00 CT session end
                | minutes_ct("2019-03-08", "15:10", "15:14")
                | minutes_ct("2019-03-08", "15:55", "15:59"))  # also the end of the data
    assert missing == expected
    frame = table.frame
    assert frame.loc[~table.known, ["fwd_return", "label"]].isna().all().all()
    assert frame.loc[~table.known, "label_end"].isna().all()
    assert frame.loc[table.known, "label_end"].notna().all()


def test_after_2021_there_is_no_halt_only_the_session_end():
    bars = bars_at(session_grid("2021-07-07", "2021-07-08"), contract="ESU1")
    missing, _ = unlabelled_ct(bars)
    assert missing == minutes_ct("2021-07-07", "15:55", "15:59") | minutes_ct("2021-07-08", "15:55", "15:59")


@pytest.mark.parametrize("jump", [0.0, 25.0])
def test_a_roll_inside_a_session_cuts_the_horizon(jump):
    stamps = session_grid("2019-03-07", "2019-03-07")
    clock = ct_clock(stamps)
    new = clock >= "2019-03-07 10:00"
    contract = np.where(new, "ESM9", "ESH9")
    rng = np.random.default_rng(3)
    closes = 2800 + 0.25 * np.cumsum(rng.integers(-2, 3, len(stamps))) + jump * new
    missing, table = unlabelled_ct(bars_at(stamps, closes, contract))
    assert missing == (minutes_ct("2019-03-07", "09:55", "09:59") | minutes_ct("2019-03-07", "15:10", "15:14")
                       | minutes_ct("2019-03-07", "15:55", "15:59"))
    # no forward return ever mixes the two contracts: none is anywhere near the jump
    assert np.nanmax(np.abs(table.frame["fwd_return"].to_numpy())) < 0.005


def test_a_roll_between_sessions_of_the_synthetic_market_is_never_crossed():
    bars, _ = synthesize(SynthConfig(start="2023-03-06", end="2023-03-14", seed=2))
    table = make_labels(bars, horizon=5)
    contract = bars["contract"].to_numpy()
    assert len(set(contract)) == 2
    roll = int(np.flatnonzero(contract[1:] != contract[:-1])[0]) + 1
    assert not table.known[roll - 5:roll].any()
    labelled_pos = np.flatnonzero(table.known)
    end = pd.DatetimeIndex(table.frame["label_end"]).asi8[labelled_pos]
    horizon_bar = np.searchsorted(bars.index.asi8, end - MINUTE.value, side="right") - 1
    assert (contract[horizon_bar] == contract[labelled_pos]).all()
    td = bars["trade_date"].to_numpy()
    assert (td[horizon_bar] == td[labelled_pos]).all()


def test_which_rows_are_asked_does_not_depend_on_the_outcome():
    """The calendar rule (``known``) ignores the prices; only ``direction``'s flat rows lack a label."""
    bars, _ = synthesize(SynthConfig(start="2019-03-04", end="2019-03-08", seed=5))
    base = make_labels(bars)
    fwd = base.frame["fwd_return"].to_numpy()
    # no dead zone: small moves are labelled (the prior system dropped |move| <= 0.1 %)
    assert (np.abs(fwd[base.labelled]) <= 0.001).mean() > 0.9
    np.testing.assert_array_equal(base.labelled, base.known & (fwd != 0))
    for closes in (2000.0 + 10.0 * (bars["close"] - 2000.0).abs(),  # moves ten times larger
                   np.full(len(bars), 2800.0),                          # no move at all
                   bars["close"][::-1].to_numpy()):                     # another path entirely
        other = make_labels(bars.assign(close=np.asarray(closes, dtype=float)))
        np.testing.assert_array_equal(other.known, base.known)


def test_zero_move_is_not_up_under_up_or_not_and_unlabelled_under_direction():
    bars = bars_at(session_grid("2019-03-07", "2019-03-07"), closes=None)
    flat = bars.assign(close=2800.0)
    table = make_labels(flat, target="up_or_not")
    assert table.labelled.sum() > 1000
    assert (table.frame["label"][table.labelled] == 0.0).all()
    assert (table.frame["fwd_return"][table.labelled] == 0.0).all()
    up = make_labels(bars, target="up_or_not")
    lab = up.frame[up.labelled]
    np.testing.assert_array_equal(lab["label"].to_numpy(), (lab["fwd_return"] > 0).to_numpy(dtype=float))
    direction = make_labels(flat)
    np.testing.assert_array_equal(direction.known, table.known)
    assert not direction.labelled.any() and (direction.frame["fwd_return"][direction.known] == 0.0).all()


def test_missing_minutes_carry_the_last_close_and_unlabel_nothing():
    stamps = session_grid("2019-03-07", "2019-03-07")
    clock = ct_clock(stamps)
    gone = np.isin(clock, ["2019-03-07 10:02", "2019-03-07 10:03"])
    full = bars_at(stamps)
    bars = full[~gone]
    table = make_labels(bars, bar_width=MINUTE)
    missing = set(ct_clock(bars.index[~table.known]))
    assert missing == minutes_ct("2019-03-07", "15:10", "15:14") | minutes_ct("2019-03-07", "15:55", "15:59")
    by_clock = pd.Series(bars["close"].to_numpy(), index=ct_clock(bars.index))
    fwd = pd.Series(table.frame["fwd_return"].to_numpy(), index=by_clock.index)
    # 09:58 + 5 minutes = slot 10:03, which has no bar: the 10:01 close is the last price
    assert fwd["2019-03-07 09:58"] == by_clock["2019-03-07 10:01"] / by_clock["2019-03-07 09:58"] - 1
    assert fwd["2019-03-07 10:00"] == by_clock["2019-03-07 10:05"] / by_clock["2019-03-07 10:00"] - 1


def test_values_match_a_hand_loop_on_full_minutes():
    bars = bars_at(session_grid("2019-03-07", "2019-03-07"), seed=11)
    table = make_labels(bars, horizon=3)
    close = bars["close"].to_numpy()
    expect = np.full(len(close), np.nan)
    clock = ct_clock(bars.index)
    for t in range(len(close) - 3):
        crosses = ("2019-03-07 15:12" <= clock[t] < "2019-03-07 15:15") or clock[t] >= "2019-03-07 15:57"
        if not crosses:
            expect[t] = close[t + 3] / close[t] - 1
    np.testing.assert_array_equal(table.frame["fwd_return"].to_numpy(), expect)


def test_prefix_labels_equal_full_labels_wherever_the_prefix_can_know_them():
    # 2023-03-06 .. 03-16: the ESH3 -> ESM3 roll and the 2023-03-12 daylight-saving change
    bars, _ = synthesize(SynthConfig(start="2023-03-06", end="2023-03-16", seed=9))
    full = make_labels(bars, horizon=5, bar_width=MINUTE).frame
    dst = int(np.searchsorted(bars.index, pd.Timestamp("2023-03-12 22:00", tz="UTC")))
    roll = int(np.flatnonzero(bars["contract"].to_numpy()[1:] != bars["contract"].to_numpy()[:-1])[0]) + 1
    for k in (3, 500, roll - 2, roll + 3, dst - 1, dst + 4, len(bars) - 7):
        part = make_labels(bars.iloc[:k], horizon=5, bar_width=MINUTE).frame
        knowable = (full["label_end"] - MINUTE <= bars.index[k - 1]).to_numpy()
        np.testing.assert_array_equal(part["fwd_return"].notna().to_numpy(), knowable[:k])
        pd.testing.assert_frame_equal(part[knowable[:k]], full.iloc[:k][knowable[:k]])


def test_rank_target_carries_the_raw_forward_return():
    bars = bars_at(session_grid("2019-03-07", "2019-03-07"))
    table = make_labels(bars, target="rank")
    np.testing.assert_array_equal(table.frame["label"].to_numpy(), table.frame["fwd_return"].to_numpy())


def test_daily_bars_label_across_sessions_but_not_across_a_roll():
    dates = pd.bdate_range("2018-01-02", periods=10)
    stamps = (dates + pd.Timedelta(hours=8, minutes=30)).tz_localize(EXCHANGE_TZ).tz_convert("UTC")
    close = 2700.0 + np.arange(10)
    frame = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close,
                          "volume": 1.0, "contract": ["A"] * 5 + ["B"] * 5, "trade_date": dates,
                          "rth": True, "vix": np.nan}, index=stamps)
    table = make_labels(conform(frame), horizon=2)
    assert table.bar_width == pd.Timedelta(days=1)
    np.testing.assert_array_equal(table.known, [1, 1, 1, 0, 0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(table.labelled, table.known)  # every close differs: no flat horizon
    assert table.frame["fwd_return"].iloc[0] == close[2] / close[0] - 1


@pytest.mark.parametrize("kwargs", [dict(target="up"), dict(horizon=0), dict(horizon=2.5), dict(horizon=True)])
def test_bad_arguments_are_usage_errors(kwargs):
    bars = bars_at(session_grid("2019-03-07", "2019-03-07")[:20])
    with pytest.raises(UsageError):
        make_labels(bars, **kwargs)


def test_a_bar_outside_every_session_is_never_labelled():
    stamps = session_grid("2019-03-07", "2019-03-07")
    bars = bars_at(stamps)
    # push one bar's trade date out (as a loader would leave a bar it could not place)
    bars.loc[bars.index[100], "trade_date"] = pd.NaT
    table = make_labels(bars)
    assert not table.known[100]
    assert not table.known[95:100].any()  # their horizon would run through it
    assert table.known[94] and table.known[101]
    assert dt.timedelta(minutes=6) == (table.frame["label_end"].iloc[94] - bars.index[94])
