"""Bars from trades (data/trades/bars.py): equal to a plain pandas groupby, chunk-size invariant.

The reference here is independent of the kernel: a Python loop assigns each trade its bar (the
rules of the module docstring, read literally), pandas ``groupby`` aggregates the bars
(open = first, high = max, low = min, close = last, volume = sum, trades = count), and the volume
roll and the stamp de-duplication are applied to the result. Trades span Wednesday 2024-03-13 to
Tuesday 2024-03-19 (a weekend, four session boundaries), with ESH4 and ESM4 interleaved (ESH4
busier on the first two dates, ESM4 after), dense bursts across a session close and open, and
repeated nanoseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.calendar import globex_sessions
from futures_vpoc.data.barframe import BAR_COLUMNS, FLOW_COLUMNS, conform
from futures_vpoc.data.formats.linemap import LineMap
from futures_vpoc.data.trades.bars import (BarBuilder, _bar_kernel, _unique_stamps, bars_from_trades,
                                           parse_bar_rule)
from futures_vpoc.data.trades.chunk import Trades
from futures_vpoc.data.trades.sessions import trade_sessions
from futures_vpoc.errors import DataError, UsageError

NAMES = ["ESH4", "ESM4"]
MINUTE = 60_000_000_000
RULES = ["time:1min", "time:5min", "time:4h", "time:24h", "tick:1", "tick:7", "volume:40", "volume:1",
         "dollar:5e6"]


def _trades(ts, price, size, side, contract, names=NAMES, path="t.parquet") -> Trades:
    n = len(ts)
    return Trades(Path(path), np.asarray(ts, np.int64), np.asarray(price, float), np.asarray(size, float),
                  np.asarray(side, np.int8), np.asarray(contract, np.int32), list(names),
                  np.arange(n, dtype=np.int64), LineMap(Path(path), 0, text=False))


def _session_times(rng, sessions: pd.DataFrame, per_session: int) -> np.ndarray:
    """Random stamps (ns) inside each session, bursts at its first and last 20 minutes, some repeated."""
    out = []
    for _, row in sessions.iterrows():
        lo, hi = row["open"].value, row["close"].value
        out.append(rng.integers(lo, hi, per_session))
        out.append(rng.integers(lo, lo + 20 * MINUTE, per_session // 4))
        out.append(rng.integers(hi - 20 * MINUTE, hi, per_session // 4))
    ts = np.sort(np.concatenate(out))
    dup = rng.random(len(ts)) < 0.1  # repeated nanoseconds: a sweep printing several trades at once
    ts[1:][dup[1:]] = ts[:-1][dup[1:]]
    return np.sort(ts)


def random_market(seed: int = 3, per_session: int = 1200) -> tuple[Trades, np.ndarray, np.ndarray]:
    """One time-ordered chunk of both contracts, with its per-trade trade date and RTH flag."""
    rng = np.random.default_rng(seed)
    sessions = globex_sessions(pd.Timestamp("2024-03-13"), pd.Timestamp("2024-03-19"))
    ts = _session_times(rng, sessions, per_session)
    sess = trade_sessions(ts)
    ts = ts[sess.in_session]  # the 15:15-15:30 CT halt of no era here, but be safe
    date = sess.trade_date[sess.in_session]
    n = len(ts)
    p_m = np.where(date < np.datetime64("2024-03-15", "ns").astype(np.int64), 0.3, 0.8)
    contract = (rng.random(n) < p_m).astype(np.int32)
    price = np.empty(n)
    for c, level in ((0, 5100.0), (1, 5160.0)):
        rows = contract == c
        price[rows] = level + 0.25 * np.cumsum(rng.integers(-2, 3, rows.sum()))
    size = rng.integers(1, 12, n) * (1 + 9 * (rng.random(n) < 0.05))
    side = rng.choice(np.array([-1, 0, 1], np.int8), n, p=[0.3, 0.4, 0.3])
    chunk = _trades(ts, price, size, side, contract)
    sess = trade_sessions(chunk.ts)
    return chunk, sess.trade_date, sess.rth


@pytest.fixture(scope="module")
def market():
    return random_market()


# --- the reference ---------------------------------------------------------------------------------

def _tick_rule_sides(chunk: Trades) -> np.ndarray:
    """+1 / -1 / 0 per trade: the known side, else the tick rule on the contract's prices."""
    last: dict[int, float] = {}
    direction: dict[int, int] = {}
    out = np.zeros(len(chunk), int)
    for k in range(len(chunk)):
        c, p = int(chunk.contract[k]), float(chunk.price[k])
        if c in last and p != last[c]:
            direction[c] = 1 if p > last[c] else -1
        last[c] = p
        out[k] = chunk.side[k] if chunk.side[k] != 0 else direction.get(c, 0)
    return out


def _bar_ids(chunk: Trades, date: np.ndarray, rule) -> np.ndarray:
    """Bar number of each trade, by the rule read literally."""
    if rule.kind == "time":
        keys = pd.MultiIndex.from_arrays([chunk.contract, date, chunk.ts // rule.width_ns])
        return pd.factorize(keys)[0]
    ids = np.empty(len(chunk), int)
    open_bar: dict[int, tuple[int, int, float]] = {}  # contract -> (bar id, date, accumulated)
    next_id = 0
    for k in range(len(chunk)):
        c = int(chunk.contract[k])
        bar = open_bar.get(c)
        if bar is None or bar[1] != date[k]:
            bar = (next_id, int(date[k]), 0.0)
            next_id += 1
        add = {"tick": 1.0, "volume": chunk.size[k], "dollar": chunk.price[k] * 50.0 * chunk.size[k]}[rule.kind]
        bar = (bar[0], bar[1], bar[2] + add)
        ids[k] = bar[0]
        if bar[2] >= rule.threshold:
            open_bar.pop(c, None)
        else:
            open_bar[c] = bar
    return ids


def reference_bars(chunk: Trades, date: np.ndarray, rth: np.ndarray, text: str) -> pd.DataFrame:
    """Bars by pandas groupby, the volume roll and the stamp rules applied to its result."""
    rule = parse_bar_rule(text)
    cls = _tick_rule_sides(chunk)
    df = pd.DataFrame({"ts": chunk.ts, "price": chunk.price, "size": chunk.size, "contract": chunk.contract,
                       "date": date, "rth": rth, "buy": np.where(cls > 0, chunk.size, 0.0),
                       "sell": np.where(cls < 0, chunk.size, 0.0), "bar": _bar_ids(chunk, date, rule)})
    g = df.groupby("bar", sort=False)
    bars = pd.DataFrame({"open": g["price"].first(), "high": g["price"].max(), "low": g["price"].min(),
                         "close": g["price"].last(), "volume": g["size"].sum(), "contract": g["contract"].first(),
                         "date": g["date"].first(), "rth": g["rth"].first(), "buy": g["buy"].sum(),
                         "sell": g["sell"].sum(), "trades": g["price"].count(), "first": g["ts"].first()})
    per_day = bars.groupby(["date", "contract"]).agg(volume=("volume", "sum"), trades=("trades", "sum"))
    best = per_day.sort_values(["volume", "trades"], ascending=False).reset_index().drop_duplicates("date")
    bars = bars.merge(best[["date", "contract"]], on=["date", "contract"])
    bars["stamp"] = bars["first"] if rule.kind != "time" else bars["first"] // rule.width_ns * rule.width_ns
    bars = bars.sort_values(["stamp", "date", "first"], kind="stable").reset_index(drop=True)
    stamp = bars["stamp"].to_numpy().copy()
    for k in range(1, len(stamp)):
        if stamp[k] <= stamp[k - 1]:
            minute = bars["first"].iat[k] // MINUTE * MINUTE
            stamp[k] = minute if rule.kind == "time" and minute > stamp[k - 1] else stamp[k - 1] + 1
    index = pd.DatetimeIndex(stamp.astype("datetime64[ns]"), name="timestamp").tz_localize("UTC")
    out = pd.DataFrame({c: bars[c].to_numpy(float) for c in ("open", "high", "low", "close", "volume")}, index=index)
    out["contract"] = pd.array(np.asarray(NAMES)[bars["contract"].to_numpy()], dtype="str")
    out["trade_date"] = bars["date"].to_numpy().view("datetime64[ns]")
    out["rth"] = bars["rth"].to_numpy(bool)
    out["vix"] = np.nan
    out["buy_volume"] = bars["buy"].to_numpy(float)
    out["sell_volume"] = bars["sell"].to_numpy(float)
    out["trades"] = bars["trades"].to_numpy(np.int64)
    return out


def build(chunks, text: str) -> tuple[pd.DataFrame, list[str]]:
    builder = BarBuilder(text)
    for chunk, date, rth in chunks:
        builder.add(chunk, date, rth)
    return builder.finish(), builder.notes


def split(chunk: Trades, date: np.ndarray, rth: np.ndarray, rows: int, shuffle_names: bool = False):
    """The chunk cut every ``rows`` rows (odd pieces naming the contracts in the other order)."""
    for k, lo in enumerate(range(0, len(chunk), rows)):
        part = chunk.take(slice(lo, lo + rows))
        if shuffle_names and k % 2:
            part = _trades(part.ts, part.price, part.size, part.side, 1 - part.contract, NAMES[::-1])
        yield part, date[lo:lo + rows], rth[lo:lo + rows]


# --- tests -----------------------------------------------------------------------------------------

def test_market_covers_what_the_rules_must_handle(market):
    chunk, date, rth = market
    days = np.unique(date).view("datetime64[ns]").astype("datetime64[D]").astype(str)
    assert list(days) == ["2024-03-13", "2024-03-14", "2024-03-15", "2024-03-18", "2024-03-19"]
    assert rth.any() and (~rth).any()
    assert (np.diff(chunk.ts) == 0).sum() > 100
    for c in (0, 1):
        assert (chunk.contract == c).sum() > 1000


@pytest.mark.parametrize("text", RULES)
def test_bars_equal_pandas_groupby(market, text):
    chunk, date, rth = market
    bars, notes = build([market], text)
    expected = reference_bars(chunk, date, rth, text)
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)
    assert any("volume roll" in note for note in notes)


@pytest.mark.parametrize("text", ["time:1min", "tick:7", "volume:40", "dollar:5e6", "time:4h"])
@pytest.mark.parametrize("rows", [1, 7, 1000])
def test_chunk_size_invariance(market, text, rows):
    whole, notes = build([market], text)
    pieces, piece_notes = build(split(*market, rows, shuffle_names=True), text)
    pd.testing.assert_frame_equal(pieces, whole, check_exact=True)
    assert piece_notes == notes


def test_one_file_per_contract_gives_the_same_bars(market):
    chunk, date, rth = market
    by_contract = [(chunk.take(chunk.contract == c), date[chunk.contract == c], rth[chunk.contract == c])
                   for c in (1, 0)]
    for text in ("time:1min", "volume:40", "time:24h"):
        pd.testing.assert_frame_equal(build(by_contract, text)[0], build([market], text)[0], check_exact=True)


def test_frame_is_a_barframe_with_extras(market):
    bars, _ = build([market], "volume:40")
    pd.testing.assert_frame_equal(conform(bars), bars, check_exact=True)
    assert bars.index.is_unique and bars.index.is_monotonic_increasing
    assert bars["trades"].dtype == np.int64
    assert (bars["buy_volume"] + bars["sell_volume"] <= bars["volume"]).all()
    assert bars["vix"].isna().all() and not bars.drop(columns="vix").isna().any().any()
    # one contract per trade date, the busier one
    assert bars.groupby("trade_date")["contract"].nunique().max() == 1
    assert bars.groupby("trade_date")["contract"].first().tolist() == ["ESH4", "ESH4", "ESM4", "ESM4", "ESM4"]


def test_volume_roll_note_counts_the_dropped_trades(market):
    chunk, date, _ = market
    _, notes = build([market], "time:1min")
    day = date.view("datetime64[ns]").astype("datetime64[D]").astype(str)
    early = np.isin(day, ["2024-03-13", "2024-03-14"])
    dropped_m = int(((chunk.contract == 1) & early).sum())
    dropped_h = int(((chunk.contract == 0) & ~early).sum())
    assert any(note.startswith(f"dropped {dropped_m:,} trade(s) of ESM4 on 2 trade date(s)") for note in notes)
    assert any(note.startswith(f"dropped {dropped_h:,} trade(s) of ESH4 on 3 trade date(s)") for note in notes)


def test_time_bars_across_a_session_break_are_stamped_uniquely(market):
    chunk, date, rth = market
    bars, notes = build([market], "time:4h")  # 20:00-24:00 UTC holds the 21:00 close and the 22:00 open
    opens = bars.index[bars["trade_date"].diff() > pd.Timedelta(0)]
    # weekday opens share 20:00-24:00 with the previous session's close: the minute of the first
    # trade (22:00); Sunday's open follows no session that day: the interval start
    assert [t.strftime("%m-%d %H:%M") for t in opens] == ["03-13 22:00", "03-14 22:00", "03-17 20:00",
                                                            "03-18 22:00"]
    assert any("stamped at the minute of their first trade" in note for note in notes)
    # without the break: 1-minute bars are stamped at their interval and never moved
    one, one_notes = build([market], "time:1min")
    assert (one.index.asi8 % MINUTE == 0).all() and not any("stamp" in note for note in one_notes)


def test_tick_rule_hand_computed():
    t0 = pd.Timestamp("2024-03-13 15:00", tz="UTC").value
    #        price    side size  -> class: first (none), unchanged with no change yet (none), up,
    rows = [(4000.00, 0, 1), (4000.00, 0, 2), (4000.25, 0, 3),
            # zero-uptick (buy), known buy on a downtick, zero-downtick (sell), down (sell),
            (4000.25, 0, 4), (4000.00, 1, 5), (4000.00, 0, 6), (3999.75, 0, 7),
            # known sell on an uptick, zero-uptick (buy)
            (4000.00, -1, 8), (4000.00, 0, 9)]
    price, side, size = (np.array(col) for col in zip(*rows))
    n = len(rows)
    ts = t0 + np.arange(n) * 1_000_000
    chunk = _trades(ts, price, size, side, np.zeros(n))
    sess = trade_sessions(chunk.ts)
    for rows_per_chunk in (1, 4, n):
        bars, _ = build(split(chunk, sess.trade_date, sess.rth, rows_per_chunk), "tick:1")
        assert bars["buy_volume"].tolist() == [0, 0, 3, 4, 5, 0, 0, 0, 9]
        assert bars["sell_volume"].tolist() == [0, 0, 0, 0, 0, 6, 7, 8, 0]
    one, _ = build([(chunk, sess.trade_date, sess.rth)], "time:1min")
    assert one[["volume", "buy_volume", "sell_volume", "trades"]].values.tolist() == [[45, 21, 21, 9]]
    assert one[["open", "high", "low", "close"]].values.tolist() == [[4000.0, 4000.25, 3999.75, 4000.0]]


def test_tick_rule_is_per_contract():
    t0 = pd.Timestamp("2024-03-13 15:00", tz="UTC").value
    # ESH4 up-ticks; ESM4's first trade in between is unclassified, its second (lower) a sell
    chunk = _trades(t0 + np.arange(4), [5100.0, 5160.0, 5100.25, 5159.75], [1, 2, 3, 4], [0, 0, 0, 0],
                    [0, 1, 0, 1])
    sess = trade_sessions(chunk.ts)
    builder = BarBuilder("tick:1")
    builder.add(chunk, sess.trade_date, sess.rth)
    bars = builder.finish()  # one date, ESM4 busier: only its bars remain
    assert bars["contract"].tolist() == ["ESM4", "ESM4"]
    assert bars["sell_volume"].tolist() == [0.0, 4.0] and bars["buy_volume"].tolist() == [0.0, 0.0]


def test_same_nanosecond_bars_move_one_ns():
    t = pd.Timestamp("2024-03-13 15:00", tz="UTC").value
    ts = [t, t, t, t + 1, t + 5]
    chunk = _trades(ts, [5100.0] * 5, [1] * 5, [1] * 5, [0] * 5)
    sess = trade_sessions(chunk.ts)
    builder = BarBuilder("tick:1")
    builder.add(chunk, sess.trade_date, sess.rth)
    bars = builder.finish()
    assert (bars.index.asi8 - t).tolist() == [0, 1, 2, 3, 5]
    assert builder.notes == ["3 bar stamp(s) moved 1 ns after the previous bar's stamp (bars starting at "
                             "the same nanosecond), so the stamps stay unique"]
    # a 2-trade bar starts at t, the next at t (the third print): moved to t + 1
    builder = BarBuilder("tick:2")
    builder.add(chunk, sess.trade_date, sess.rth)
    assert (builder.finish().index.asi8 - t).tolist() == [0, 1, 5]


def test_threshold_bars_close_at_the_trade_that_reaches_n():
    t0 = pd.Timestamp("2024-03-13 15:00", tz="UTC").value
    size = [3, 3, 4, 10, 1, 2, 2]
    chunk = _trades(t0 + np.arange(7) * 1000, [5100.0] * 7, size, [0] * 7, [0] * 7)
    sess = trade_sessions(chunk.ts)
    bars, _ = build([(chunk, sess.trade_date, sess.rth)], "volume:5")
    assert bars["volume"].tolist() == [6, 14, 5]  # 3+3 reaches 5; 4+10 overshoots; 1+2+2 == 5
    bars, _ = build([(chunk, sess.trade_date, sess.rth)], "dollar:1530000")  # 6 contracts at 5100 x 50
    assert bars["volume"].tolist() == [6, 14, 5]
    bars, _ = build([(chunk, sess.trade_date, sess.rth)], "tick:3")
    assert bars["trades"].tolist() == [3, 3, 1]


def test_session_boundary_restarts_threshold_bars():
    close = pd.Timestamp("2024-03-13 21:00", tz="UTC").value  # 16:00 CDT: the session's end
    ts = [close - 2000, close - 1000, close + 3_600_000_000_000, close + 3_600_000_001_000]
    chunk = _trades(ts, [5100.0] * 4, [1] * 4, [0] * 4, [0] * 4)
    sess = trade_sessions(chunk.ts)
    bars, _ = build([(chunk, sess.trade_date, sess.rth)], "tick:3")
    assert bars["trades"].tolist() == [2, 2]
    assert bars["trade_date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-13", "2024-03-14"]


def test_out_of_order_and_outside_session_trades_are_data_errors():
    t0 = pd.Timestamp("2024-03-13 15:00", tz="UTC").value
    chunk = _trades([t0, t0 + 5, t0 + 1], [5100.0] * 3, [1] * 3, [0] * 3, [0] * 3)
    sess = trade_sessions(chunk.ts)
    with pytest.raises(DataError, match=r"t.parquet: row 3: trade of ESH4 .* earlier than the previous ESH4 trade"):
        BarBuilder("time:1min").add(chunk, sess.trade_date, sess.rth)
    saturday = pd.Timestamp("2024-03-16 15:00", tz="UTC").value
    bad = _trades([saturday], [5100.0], [1], [0], [0])
    with pytest.raises(DataError, match="outside every Globex session"):
        bars_from_trades([bad], "time:1min")
    repaired_notes: list[str] = []
    assert len(bars_from_trades([bad], "time:1min", repair=True, notes=repaired_notes)) == 0


def test_bars_from_trades_runs_the_calendar(market):
    chunk, date, rth = market
    notes: list[str] = []
    got = bars_from_trades((part for part, _, _ in split(chunk, date, rth, 999)), "volume:40", notes=notes)
    pd.testing.assert_frame_equal(got, build([market], "volume:40")[0], check_exact=True)
    assert notes


def test_empty_stream_gives_an_empty_barframe():
    bars = BarBuilder("tick:5").finish()
    assert len(bars) == 0 and list(bars.columns) == [*BAR_COLUMNS, *FLOW_COLUMNS]
    pd.testing.assert_frame_equal(conform(bars), bars)


def test_compiled_kernels_equal_their_python(market):
    chunk, date, rth = market
    part = chunk.take(slice(0, 3000))
    for text in ("time:1min", "volume:40", "dollar:5e6"):
        rule = parse_bar_rule(text)
        outs = []
        for fn in (_bar_kernel, _bar_kernel.py_func):
            fs, st = np.zeros((2, 8)), np.zeros((2, 10), np.int64)
            of, oi, orr = np.zeros((7, 3002)), np.zeros((5, 3002), np.int64), np.zeros(3002, bool)
            got = fn(rule.code, rule.width_ns or 1, rule.threshold, 50.0, 4.0, part.ts, part.price, part.size,
                     part.side, part.contract, date[:3000], rth[:3000], 0, fs, st, of, oi, orr)
            outs.append((tuple(int(x) for x in got), fs, st, of, oi, orr))
        assert outs[0][0] == outs[1][0]
        for a, b in zip(outs[0][1:], outs[1][1:]):
            np.testing.assert_array_equal(a, b)
    stamps = np.array([5, 5, 5, 9, 9, 30], np.int64)
    first = np.array([5, 6, MINUTE + 7, 9, 10, 30], np.int64)
    for fn in (_unique_stamps, _unique_stamps.py_func):
        s = stamps.copy()
        assert tuple(int(x) for x in fn(s, first, True)) == (1, 4)
        assert s.tolist() == [5, 6, MINUTE, MINUTE + 1, MINUTE + 2, MINUTE + 3]


@pytest.mark.parametrize("text, kind, width, threshold", [
    ("time:1min", "time", MINUTE, 0.0), ("time:30s", "time", 30_000_000_000, 0.0),
    ("time:15min", "time", 15 * MINUTE, 0.0), ("time:4h", "time", 240 * MINUTE, 0.0),
    (" TIME : 2h ", "time", 120 * MINUTE, 0.0), ("tick:100", "tick", 0, 100.0),
    ("volume:500", "volume", 0, 500.0), ("volume:2.5", "volume", 0, 2.5),
    ("dollar:1e6", "dollar", 0, 1e6), ("dollar:5_000_000", "dollar", 0, 5e6)])
def test_parse_bar_rule(text, kind, width, threshold):
    rule = parse_bar_rule(text)
    assert (rule.kind, rule.width_ns, rule.threshold) == (kind, width, threshold)


@pytest.mark.parametrize("text", ["", "time", "time:", "time:7min", "time:1day", "time:0min", "time:1.5min",
                                  "time:25h", "tick:0", "tick:2.5", "tick:-3", "volume:-5", "volume:0",
                                  "volume:nan", "dollar:inf", "dollar:abc", "range:4", "1min", "bars:tick:5"])
def test_bad_bar_rules_are_one_line_usage_errors(text):
    with pytest.raises(UsageError) as err:
        parse_bar_rule(text)
    message = str(err.value)
    assert message.startswith(f"--bar {text!r}: ") and "\n" not in message
    assert "time:Nmin" in message and "tick:N" in message and "dollar:N" in message


def test_trade_dates_as_datetime64_are_accepted(market):
    chunk, date, rth = market
    as_dates = build([(chunk, date.view("datetime64[ns]"), rth)], "volume:40")[0]
    pd.testing.assert_frame_equal(as_dates, build([market], "volume:40")[0], check_exact=True)
