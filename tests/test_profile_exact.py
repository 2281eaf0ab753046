"""Exact profiles from trades: VPOC = arg-max of summed size per price, value area by the documented
rule (re-implemented here, independently of the kernels), developing values per minute, delta per
price, chunk invariance, and the bar-approximation table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.formats.linemap import LineMap
from futures_vpoc.data.trades.chunk import Trades
from futures_vpoc.errors import DataError
from futures_vpoc.profile.compare import COMPARE_COLUMNS, compare_bars, session_distances
from futures_vpoc.profile.exact import exact_profiles
from futures_vpoc.profile.kernels.footprint import footprint
from futures_vpoc.profile.spec import ProfileSpec
from profile_rules import value_area

TICK = 0.25
MIN = 60_000_000_000


def _stamps(rng, day: str, n: int) -> np.ndarray:
    """``n`` sorted stamps inside the Globex session of trade date ``day`` (17:00 CT the evening
    before to 16:00 CT), ns UTC, with several prints sharing a nanosecond."""
    start = pd.Timestamp(day, tz="America/Chicago") - pd.Timedelta(hours=7)
    span = pd.Timedelta(hours=22, minutes=59).value
    ts = np.sort(start.value + rng.integers(0, span, n))
    ts[1::7] = ts[0::7][:len(ts[1::7])]  # sweeps: prints at the same nanosecond
    return np.sort(ts)


def _trades(seed: int = 0, days=("2024-01-09", "2024-01-10", "2024-01-11"), n: int = 4000,
            side_known: bool = True, contract: str = "ESH4") -> Trades:
    rng = np.random.default_rng(seed)
    ts = np.concatenate([_stamps(rng, d, n) for d in days])
    steps = rng.choice([-1, 0, 0, 1], size=len(ts))
    level = 19_000 + np.cumsum(steps)
    size = rng.integers(1, 30, len(ts)).astype(np.float64)
    side = rng.choice([-1, 1], size=len(ts)).astype(np.int8) if side_known else np.zeros(len(ts), np.int8)
    return Trades(Path("mem.parquet"), ts, level * TICK, size, side, np.zeros(len(ts), np.int32), [contract],
                  np.arange(len(ts), dtype=np.int64), LineMap(Path("mem.parquet"), 0, text=False), side_known)


def _chunks(t: Trades, rows: int):
    for a in range(0, len(t), rows):
        yield t.take(np.arange(a, min(a + rows, len(t))))


def _session_of(ts: np.ndarray) -> np.ndarray:
    """Trade date of each stamp for the synthetic sessions above (17:00 CT starts the next day)."""
    local = pd.DatetimeIndex(ts, tz="UTC").tz_convert("America/Chicago").tz_localize(None)
    return np.asarray((local + pd.Timedelta(hours=7)).normalize())


def _value_area(levels: np.ndarray, volume: np.ndarray, share: float = 0.7) -> tuple[int, int, int]:
    """VPOC, VAL, VAH (tick levels) of the prints at ``levels`` with sizes ``volume``."""
    lo = int(levels.min())
    h = np.zeros(int(levels.max()) - lo + 1)
    np.add.at(h, levels - lo, volume)
    poc, val, vah = value_area(h, share)
    return lo + poc, lo + val, lo + vah


def test_footprint_equals_groupby_of_minute_and_price():
    t = _trades(1)
    got = footprint(t.ts, t.price, t.size, t.side, TICK)
    frame = pd.DataFrame({"m": t.ts // MIN * MIN, "k": np.rint(t.price / TICK).astype(np.int64), "v": t.size,
                          "b": np.where(t.side > 0, t.size, 0.0), "s": np.where(t.side < 0, t.size, 0.0)})
    want = frame.groupby(["m", "k"]).sum()
    assert np.array_equal(got[0], want.index.get_level_values(0))
    assert np.array_equal(got[1], want.index.get_level_values(1))
    for col, arr in zip("vbs", got[2:]):
        assert np.array_equal(arr, want[col].to_numpy())


def test_exact_vpoc_and_value_area_follow_the_rule_in_every_session():
    t = _trades(2)
    exact = exact_profiles(_chunks(t, 10**9), ProfileSpec(), developing=False)
    table = exact.sessions.table
    day = _session_of(t.ts)
    assert len(table) == 3
    for j, row in table.iterrows():
        mine = day == row["trade_date"].to_datetime64()
        levels = np.rint(t.price[mine] / TICK).astype(np.int64)
        poc, val, vah = _value_area(levels, t.size[mine])
        sums = pd.Series(t.size[mine]).groupby(levels).sum()
        assert sums.max() == sums.loc[poc]  # the VPOC holds the most summed size
        assert (row["vpoc"], row["val"], row["vah"]) == (poc * TICK, val * TICK, vah * TICK)
        assert row["volume"] == t.size[mine].sum()
        assert row["trades"] == mine.sum()
        assert row["delta"] == t.size[mine][t.side[mine] > 0].sum() - t.size[mine][t.side[mine] < 0].sum()


def test_levels_table_is_volume_and_delta_per_price():
    t = _trades(3, days=("2024-01-09",))
    exact = exact_profiles(_chunks(t, 10**9), developing=False)
    levels = exact.levels_table()
    want = pd.DataFrame({"price": t.price, "v": t.size, "d": t.size * t.side}).groupby("price").sum()
    assert np.array_equal(levels["price"].to_numpy(), want.index.to_numpy())
    assert np.array_equal(levels["volume"].to_numpy(), want["v"].to_numpy())
    assert np.array_equal(levels["delta"].to_numpy(), want["d"].to_numpy())
    vpoc = exact.sessions.table["vpoc"].iloc[0]
    assert exact.sessions.table["poc_delta"].iloc[0] == want.loc[vpoc, "d"]


@pytest.mark.parametrize("rows", [1, 13, 997])
def test_result_is_the_same_for_every_chunk_size(rows):
    t = _trades(4, n=600, side_known=False)
    whole = exact_profiles(_chunks(t, 10**9))
    parts = exact_profiles(_chunks(t, rows))
    pd.testing.assert_frame_equal(whole.sessions.table, parts.sessions.table, check_exact=True)
    pd.testing.assert_frame_equal(whole.developing.table, parts.developing.table, check_exact=True)
    assert np.array_equal(whole.buy, parts.buy) and np.array_equal(whole.sell, parts.sell)


def test_developing_values_are_the_profile_of_every_print_up_to_the_minute():
    t = _trades(5, days=("2024-01-09",), n=1500)
    exact = exact_profiles(_chunks(t, 10**9))
    dev = exact.developing.table
    levels = np.rint(t.price / TICK).astype(np.int64)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(dev), 12, replace=False):
        stamp = dev.index[i].value
        upto = t.ts < stamp + MIN
        poc, val, vah = _value_area(levels[upto], t.size[upto])
        assert (dev["dev_vpoc"].iloc[i], dev["dev_val"].iloc[i], dev["dev_vah"].iloc[i]) == \
            (poc * TICK, val * TICK, vah * TICK)
    last = exact.sessions.table.iloc[-1]
    assert (dev["dev_vpoc"].iloc[-1], dev["dev_val"].iloc[-1], dev["dev_vah"].iloc[-1]) == \
        (last["vpoc"], last["val"], last["vah"])


def test_rth_scope_keeps_only_regular_hours_prints():
    t = _trades(6, days=("2024-01-09",))
    exact = exact_profiles(_chunks(t, 10**9), ProfileSpec(scope="rth"), developing=False)
    local = pd.DatetimeIndex(t.ts, tz="UTC").tz_convert("America/Chicago")
    minutes = local.hour * 60 + local.minute
    rth = (minutes >= 8 * 60 + 30) & (minutes < 15 * 60)  # config.RTH_START_CT, RTH_END_CT
    assert exact.sessions.table["volume"].iloc[0] == t.size[rth].sum()
    poc, _, _ = _value_area(np.rint(t.price[rth] / TICK).astype(np.int64), t.size[rth])
    assert exact.sessions.table["vpoc"].iloc[0] == poc * TICK


def test_prints_outside_every_session_are_refused_or_dropped():
    t = _trades(7, days=("2024-01-09",), n=50)
    halt = pd.Timestamp("2024-01-09 16:30", tz="America/Chicago").value  # the daily halt
    t.ts[-1] = halt
    with pytest.raises(DataError, match="outside every Globex session"):
        exact_profiles(_chunks(t, 10**9))
    from futures_vpoc.data.trades.chunk import Repairs

    repairs = Repairs()
    exact = exact_profiles(_chunks(t, 10**9), repair=True, repairs=repairs)
    assert repairs.total == 1 and exact.trades == 49


def test_bar_approximation_table_on_a_known_case():
    """One minute, prints at 3 levels; the bar's close sits at the top: the close rule puts all
    volume at the top (VPOC off by 2 ticks), the uniform rule spreads it; exact VPOC is the bottom."""
    start = pd.Timestamp("2024-01-09 10:00", tz="America/Chicago").value
    ts = start + np.array([1, 2, 3, 4], dtype=np.int64) * 1_000_000
    price = np.array([4800.0, 4800.0, 4800.25, 4800.5])
    size = np.array([50.0, 40.0, 5.0, 1.0])
    t = Trades(Path("m"), ts, price, size, np.zeros(4, np.int8), np.zeros(4, np.int32), ["ESH4"],
               np.arange(4), LineMap(Path("m"), 0, text=False), False)
    exact = exact_profiles(iter([t]), developing=False)
    assert exact.sessions.table["vpoc"].iloc[0] == 4800.0
    table = compare_bars(exact).set_index("allocation")
    assert list(compare_bars(exact).columns) == list(COMPARE_COLUMNS)
    assert table.loc["close", "vpoc_median_ticks"] == 2.0
    assert table.loc["close", "exact_vpoc_share"] == 0.0
    d = session_distances(exact, "uniform")
    assert d["vpoc"].iloc[0] >= 0


def test_approximation_distances_are_zero_when_bars_are_single_prints():
    """Every minute holds prints at one price only: every rule is exact."""
    rng = np.random.default_rng(8)
    start = pd.Timestamp("2024-01-09 09:00", tz="America/Chicago").value
    minutes = np.repeat(np.arange(200), 3)
    ts = start + minutes * MIN + np.tile([1, 2, 3], 200) * 1_000_000
    level = np.repeat(19_000 + np.cumsum(rng.choice([-1, 1], 200)), 3)
    t = Trades(Path("m"), ts, level * TICK, np.full(600, 2.0), np.zeros(600, np.int8), np.zeros(600, np.int32),
               ["ESH4"], np.arange(600), LineMap(Path("m"), 0, text=False), False)
    table = compare_bars(exact_profiles(iter([t]), developing=False))
    assert (table["vpoc_p95_ticks"] == 0).all() and (table.loc[table["allocation"] != "tpo", "exact_vpoc_share"]
                                                      == 1.0).all()


def test_developing_flow_columns_against_a_plain_recount():
    t = _trades(9, days=("2024-01-09",), n=800)
    exact = exact_profiles(_chunks(t, 10**9))
    dev = exact.developing.table
    for i in (0, 5, len(dev) // 2, len(dev) - 1):
        upto = t.ts < dev.index[i].value + MIN
        signed = t.size[upto] * t.side[upto]
        assert dev["dev_delta"].iloc[i] == signed.sum()
        at = t.price[upto]
        assert dev["dev_poc_delta"].iloc[i] == signed[at == dev["dev_vpoc"].iloc[i]].sum()
        edges = {dev["dev_val"].iloc[i], dev["dev_vah"].iloc[i]}
        share = t.size[upto][np.isin(at, list(edges))].sum() / t.size[upto].sum()
        assert dev["dev_edge_share"].iloc[i] == pytest.approx(share, rel=1e-15)


def test_buy_and_sell_volume_agree_with_the_minute_bars_when_sides_are_mixed():
    """Known and unknown sides mixed: the exact profile's classification is the bars' (tick test)."""
    t = _trades(10, n=900)
    t.side[np.random.default_rng(1).random(len(t)) < 0.5] = 0
    exact = exact_profiles(_chunks(t, 37))
    bars = exact.bars
    for col in ("buy_volume", "sell_volume"):
        by_session = bars.groupby("trade_date")[col].sum().to_numpy()
        assert np.array_equal(by_session, exact.sessions.table[col].to_numpy())
    assert (exact.sessions.table["buy_volume"] + exact.sessions.table["sell_volume"]
            <= exact.sessions.table["volume"]).all()


def test_tick_test_by_hand():
    from futures_vpoc.data.trades.aggressor import AggressorState, classify

    state = AggressorState()
    price = np.array([100.0, 100.0, 100.25, 100.25, 100.0, 100.0, 100.0])
    side = np.array([0, 0, 0, 0, 1, 0, 0], np.int8)
    # first print and its repeat: no price change yet; up; zero-up; known buy on a down tick;
    # zero-down twice
    assert classify(price[:3], side[:3], state).tolist() == [0, 0, 1]
    assert classify(price[3:], side[3:], state).tolist() == [1, 1, -1, -1]
