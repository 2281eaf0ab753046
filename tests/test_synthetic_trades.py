"""The trades behind the synthetic market (data/synthetic/trades.py).

Three weeks of March 2024 (the ESH4 -> ESM4 roll, a weekend in between): 1-minute bars built from
the prints are the market's bars exactly (``synthesize``'s frame, bit for bit), and every bar's
prints keep the in-bar invariants.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.data.synthetic.trades import (DEFAULT_PRINTS_PER_CONTRACT, SYNTHETIC_PATH, prints_needed,
                                                synthetic_trades, trades_schema,
                                                write_synthetic_trades)
from futures_vpoc.data.trades.bars import BarBuilder
from futures_vpoc.data.trades.chunk import Trades
from futures_vpoc.data.trades.sessions import trade_sessions
from futures_vpoc.errors import UsageError

CONFIG = SynthConfig(start="2024-03-04", end="2024-03-22", seed=11)
MINUTE = 60_000_000_000


def concat(chunks: list[Trades]) -> pd.DataFrame:
    """All prints of the chunks as one frame (contract as its name)."""
    return pd.DataFrame({
        "ts": np.concatenate([c.ts for c in chunks]), "price": np.concatenate([c.price for c in chunks]),
        "size": np.concatenate([c.size for c in chunks]), "side": np.concatenate([c.side for c in chunks]),
        "contract": np.concatenate([np.asarray(c.names)[c.contract] for c in chunks]),
        "row": np.concatenate([c.row for c in chunks])})


def minute_bars(chunks) -> tuple[pd.DataFrame, list[str]]:
    builder = BarBuilder("time:1min", tick=CONFIG.tick)
    for chunk in chunks:
        sess = trade_sessions(chunk.ts)
        assert sess.in_session.all()
        builder.add(chunk, sess.trade_date, sess.rth)
    return builder.finish(), builder.notes


@pytest.fixture(scope="module")
def chunks() -> list[Trades]:
    return list(synthetic_trades(CONFIG, sessions_per_chunk=4))


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    return synthesize(CONFIG)[0]


@pytest.fixture(scope="module")
def prints(chunks, market) -> pd.DataFrame:
    """Every print with its bar's prices and volume."""
    df = concat(chunks)
    bars = market
    at = np.searchsorted(bars.index.asi8, df["ts"].to_numpy() // MINUTE * MINUTE)
    for col in ("open", "high", "low", "close", "volume"):
        df[f"bar_{col}"] = bars[col].to_numpy()[at]
    df["bar"] = at
    return df


def test_minute_bars_from_the_trades_are_the_market_bars(chunks, market):
    bars, notes = minute_bars(chunks)
    expected = market
    assert set(expected["contract"]) == {"ESH4", "ESM4"} and notes == []
    pd.testing.assert_frame_equal(bars.drop(columns=["vix", "buy_volume", "sell_volume", "trades"]),
                                  expected.drop(columns="vix"), check_exact=True)


def test_every_market_bar_holds_the_prints_its_prices_need(market):
    assert (market["volume"] > 0).all()  # no zero-volume bar: a minute without volume has no bar
    ticks = [np.rint(market[c].to_numpy() / CONFIG.tick).astype(np.int64) for c in ("open", "high", "low", "close")]
    need = prints_needed(*ticks)
    assert (market["volume"].to_numpy() >= need).all()
    assert (market["volume"].to_numpy() == need).mean() > 0.001  # the floor binds on thin wide bars


def test_prints_keep_the_in_bar_invariants(prints):
    df = prints
    g = df.groupby("bar", sort=False)
    assert (df["size"] >= 1).all() and (df["size"] == np.floor(df["size"])).all()
    np.testing.assert_array_equal(g["size"].sum().to_numpy(), g["bar_volume"].first().to_numpy())
    ticks = df["price"] / CONFIG.tick
    assert (ticks == np.round(ticks)).all()
    assert ((df["price"] >= df["bar_low"]) & (df["price"] <= df["bar_high"])).all()
    assert (g["price"].first() == g["bar_open"].first()).all() and (g["price"].last() == g["bar_close"].first()).all()
    assert (g["price"].max() == g["bar_high"].first()).all() and (g["price"].min() == g["bar_low"].first()).all()
    inside = df["ts"] % MINUTE
    assert ((inside > 0) & (inside < MINUTE - 1)).all()
    assert (np.diff(df["ts"].to_numpy()) > 0).all()  # strictly increasing, across bars too
    np.testing.assert_array_equal(df["row"].to_numpy(), np.arange(len(df)))


def test_prints_per_bar_follow_the_density(prints):
    per_bar = prints.groupby("bar").size()
    volume = prints.groupby("bar")["bar_volume"].first()
    assert per_bar.min() >= 1 and (per_bar <= volume).all()
    ratio = per_bar.sum() / volume.sum()
    assert DEFAULT_PRINTS_PER_CONTRACT < ratio < 1.5 * DEFAULT_PRINTS_PER_CONTRACT  # the clip adds a little
    assert 2 <= per_bar.median() <= 20


def test_sides_are_informative(prints):
    df = prints
    move = np.sign(np.diff(df["price"].to_numpy()))
    side = df["side"].to_numpy()[1:]
    assert set(np.unique(df["side"])) == {-1, 1}
    up, down = side[move > 0], side[move < 0]
    assert 0.77 < (up == 1).mean() < 0.83 and 0.77 < (down == -1).mean() < 0.83
    # buyers lift the bars that rise: the buy share of volume tracks the bar's direction
    g = df.groupby("bar")
    buy_share = (df["size"] * (df["side"] == 1)).groupby(df["bar"]).sum() / g["size"].sum()
    rising = (g["bar_close"].first() > g["bar_open"].first()).to_numpy()
    falling = (g["bar_close"].first() < g["bar_open"].first()).to_numpy()
    assert buy_share[rising].mean() > buy_share[falling].mean() + 0.15  # measured 0.62 against 0.38


def test_deterministic_and_independent_of_chunking(chunks):
    again = concat(list(synthetic_trades(CONFIG, sessions_per_chunk=1)))
    whole = concat(list(synthetic_trades(CONFIG)))
    first = concat(chunks)
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    pd.testing.assert_frame_equal(whole, first, check_exact=True)
    assert all(chunk.path.name == SYNTHETIC_PATH and chunk.names == ["ESH4", "ESM4"] for chunk in chunks)


def test_seed_offset_draws_other_prints_behind_the_same_bars(chunks):
    other = list(synthetic_trades(CONFIG, seed_offset=2))
    assert not np.array_equal(concat(other)["ts"].to_numpy()[:100], concat(chunks)["ts"].to_numpy()[:100])
    pd.testing.assert_frame_equal(minute_bars(other)[0].drop(columns=["buy_volume", "sell_volume", "trades"]),
                                  minute_bars(chunks)[0].drop(columns=["buy_volume", "sell_volume", "trades"]),
                                  check_exact=True)


def test_target_trades_and_full_density():
    short = SynthConfig(start="2024-03-11", end="2024-03-12", seed=3)
    bars = synthesize(short)[0]
    n = sum(len(c) for c in synthetic_trades(short, target_trades=60_000))
    assert abs(n - 60_000) < 1_500
    ones = concat(list(synthetic_trades(short, prints_per_contract=1.0)))
    assert (ones["size"] == 1).all() and len(ones) == bars["volume"].sum()
    floor = sum(len(c) for c in synthetic_trades(short, target_trades=1))  # the fewest prints the bars allow
    ticks = [np.rint(bars[c].to_numpy() / short.tick).astype(np.int64) for c in ("open", "high", "low", "close")]
    assert floor == prints_needed(*ticks).sum()


def test_unknown_share_marks_sides_unknown():
    short = SynthConfig(start="2024-03-11", end="2024-03-11", seed=3)
    df = concat(list(synthetic_trades(short, unknown_share=0.3)))
    assert 0.27 < (df["side"] == 0).mean() < 0.33
    assert not next(iter(synthetic_trades(short, unknown_share=1.0))).side_known


def test_parquet_file_holds_the_same_prints(tmp_path, chunks):
    import pyarrow.parquet as pq

    out = write_synthetic_trades(tmp_path / "trades.parquet", CONFIG, row_group_rows=50_000)
    table = pq.read_table(out.path)
    assert table.schema.equals(trades_schema())
    expected = concat(chunks)
    assert out.trades == table.num_rows == len(expected) and out.bars == len(synthesize(CONFIG)[0])
    np.testing.assert_array_equal(table["timestamp"].to_numpy().view(np.int64), expected["ts"].to_numpy())
    np.testing.assert_array_equal(table["price"].to_numpy(), expected["price"].to_numpy())
    np.testing.assert_array_equal(table["size"].to_numpy(), expected["size"].to_numpy().astype(np.int64))
    np.testing.assert_array_equal(table["side"].to_numpy(), expected["side"].to_numpy())
    np.testing.assert_array_equal(np.asarray(table["contract"].to_pylist()), expected["contract"].to_numpy())
    assert pq.ParquetFile(out.path).metadata.num_row_groups > 1
    assert list(tmp_path.iterdir()) == [out.path]  # no temporary file left behind


@pytest.mark.parametrize("bars, need", [
    ((10, 10, 10, 10), 1),   # one price
    ((10, 12, 10, 12), 2),   # open = low, close = high: up in one step
    ((12, 12, 10, 10), 2),   # open = high, close = low
    ((10, 12, 9, 10), 4),    # open = close strictly inside the range
    ((10, 12, 9, 12), 3),    # low first, then the high, which is the close
    ((10, 12, 10, 11), 3),   # open = low, high, close inside
    ((11, 12, 9, 9), 3),     # high first, then the low, which is the close
])
def test_prints_needed(bars, need):
    o, h, lo, c = (np.array([v]) for v in bars)
    assert prints_needed(o, h, lo, c).tolist() == [need]


@pytest.mark.parametrize("kwargs", [{"prints_per_contract": 0.0}, {"prints_per_contract": 1.5},
                                    {"target_trades": 0}, {"target_trades": 10**12}, {"side_accuracy": 0.3},
                                    {"unknown_share": -0.1}, {"sessions_per_chunk": 0}])
def test_bad_knobs_are_usage_errors(kwargs):
    short = SynthConfig(start="2024-03-11", end="2024-03-11", seed=3)
    with pytest.raises(UsageError):
        list(synthetic_trades(short, **kwargs))
