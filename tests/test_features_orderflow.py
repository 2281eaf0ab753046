"""The opt-in ``orderflow`` feature group (issue 18): values against a plain recount of hand-built
trades, NaN without order flow, the default selection unchanged, causality (prefix of bars and of
trades), chunk-size invariance, ``features --trades`` end to end, and ``replay`` refusing a model
that uses the group.

The recount below is independent of the kernels: per session, a pandas running sum of the signed
sizes, and per minute the session's histogram so far with VPOC and value area by the package
docstring's rule, written plainly (the same rule tests/test_profile_exact.py checks).
"""

from __future__ import annotations

import argparse
import sys
import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from futures_vpoc.data.formats.linemap import LineMap
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.data.trades.chunk import Trades
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.features import GROUPS, build_features
from futures_vpoc.features.orderflow import BAR_FLOW_COLUMNS, SPECS, TRADE_FLOW_COLUMNS, with_trade_flow
from futures_vpoc.features.registry import GROUP_IMPLS, all_specs, resolve_groups
from futures_vpoc.features.spec import ALL_GROUPS, OPT_IN_GROUPS
from futures_vpoc.profile.exact import exact_profiles
from profile_rules import value_area

TICK = 0.25
MIN_NS = 60_000_000_000
DEFAULT_FEATURES = 59  # len(all_specs()) before the orderflow group was added
COLUMNS = [s.column for s in SPECS]
DAYS = ("2024-01-09", "2024-01-10", "2024-01-11")


# ---------------------------------------------------------------- hand-built trades and their recount

def make_trades(seed: int = 0, days=DAYS, n: int = 3000, contract: str = "ESH4") -> Trades:
    """``n`` prints per trade date inside its Globex session, known aggressor side, a random walk
    of prices on the tick grid (several prints per minute, so levels repeat and the VPOC moves)."""
    rng = np.random.default_rng(seed)
    parts = []
    for day in days:
        start = pd.Timestamp(day, tz="America/Chicago") - pd.Timedelta(hours=7)
        parts.append(np.sort(start.value + rng.integers(0, pd.Timedelta(hours=22, minutes=59).value, n)))
    ts = np.concatenate(parts)
    level = 19_000 + np.cumsum(rng.choice([-1, 0, 0, 1], size=len(ts)))
    size = rng.integers(1, 30, len(ts)).astype(np.float64)
    side = rng.choice([-1, 1], size=len(ts)).astype(np.int8)
    path = Path("mem.parquet")
    return Trades(path, ts, level * TICK, size, side, np.zeros(len(ts), np.int32), [contract],
                  np.arange(len(ts), dtype=np.int64), LineMap(path, 0, text=False), True)


def chunked(t: Trades, rows: int):
    for a in range(0, len(t), rows):
        yield t.take(np.arange(a, min(a + rows, len(t))))


def recount(t: Trades) -> pd.DataFrame:
    """Per traded minute (index: minute start, UTC): the three features by plain pandas/numpy, and
    the developing VPOC (index points) they were taken at."""
    local = pd.DatetimeIndex(t.ts, tz="UTC").tz_convert("America/Chicago").tz_localize(None)
    frame = pd.DataFrame({"minute": t.ts // MIN_NS * MIN_NS, "day": (local + pd.Timedelta(hours=7)).normalize(),
                          "level": np.rint(t.price / TICK).astype(np.int64), "size": t.size,
                          "signed": t.size * t.side})
    rows = {}
    for _, sess in frame.groupby("day", sort=True):
        lo = sess["level"].min()
        vol = np.zeros(sess["level"].max() - lo + 1)
        dlt = np.zeros_like(vol)
        for minute, block in sess.groupby("minute", sort=True):
            np.add.at(vol, block["level"].to_numpy() - lo, block["size"].to_numpy())
            np.add.at(dlt, block["level"].to_numpy() - lo, block["signed"].to_numpy())
            traded = np.flatnonzero(vol)
            first, last = traded[0], traded[-1]
            poc, val, vah = (k + first for k in value_area(vol[first:last + 1]))
            total = vol.sum()
            edge = vol[val] + (vol[vah] if vah != val else 0.0)
            rows[minute] = (dlt.sum() / total, dlt[poc] / total, edge / total, (poc + lo) * TICK)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=[*COLUMNS, "vpoc"])
    out.index = pd.DatetimeIndex(out.index, tz="UTC")
    return out


@functools.lru_cache(maxsize=None)
def exact(seed: int = 0):
    return exact_profiles(chunked(make_trades(seed), 2500), developing=True)


def trade_bars(seed: int = 0, bar_flow: bool = False) -> pd.DataFrame:
    """The 1-minute bars of the trades with their developing flow; without the bars' own
    buy/sell columns unless ``bar_flow``."""
    ex = exact(seed)
    bars = ex.bars if bar_flow else ex.bars.drop(columns=[*BAR_FLOW_COLUMNS, "trades"])
    return with_trade_flow(bars, ex)


# ---------------------------------------------------------------- registry: opt-in, default unchanged

def test_default_selection_is_unchanged_and_orderflow_is_opt_in():
    assert len(all_specs()) == DEFAULT_FEATURES
    assert "orderflow" not in GROUPS and OPT_IN_GROUPS == ("orderflow",)
    assert ALL_GROUPS == (*GROUPS, "orderflow") and tuple(GROUP_IMPLS) == ALL_GROUPS
    assert tuple(g.name for g in resolve_groups(None)) == GROUPS
    assert all(s.group != "orderflow" for s in all_specs())
    assert [s.column for s in all_specs(["orderflow"])] == COLUMNS
    assert len(all_specs(ALL_GROUPS)) == DEFAULT_FEATURES + 3
    bars = trade_bars(bar_flow=True)
    assert not any(c.startswith("orderflow") for c in build_features(bars, groups=None).frame.columns)
    # named with others: after every default group, whatever order they are asked in
    columns = list(build_features(bars, groups=["orderflow", "price"]).frame.columns)
    assert columns[-3:] == COLUMNS and all(c.startswith("price_") for c in columns[:-3])


def test_specs_are_complete_with_no_warmup():
    assert [s.name for s in SPECS] == ["session_delta_share", "poc_delta_share", "va_edge_share"]
    for s in SPECS:
        assert s.group == "orderflow" and s.lag == 0 and s.unit in ("[-1, 1]", "[0, 1]")
        assert s.description.strip() and "\n" not in s.description
        assert s.warmup.unit == "none" and s.warmup_text == "none"


def test_unknown_group_message_lists_the_opt_in_group():
    with pytest.raises(UsageError) as err:
        resolve_groups(["orderflw"])
    assert ", ".join(ALL_GROUPS) in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------- values against the recount

def test_values_equal_a_plain_recount_of_the_trades():
    bars = trade_bars()
    got = build_features(bars, groups=["orderflow"]).frame
    want = recount(make_trades())
    assert got.index.equals(want.index)  # every 1-minute bar of the trades is a traded minute
    np.testing.assert_allclose(got.to_numpy(), want[COLUMNS].to_numpy(), rtol=0, atol=1e-12)
    # the recount's VPOC is the engine's (the poc delta is compared at the same price)
    np.testing.assert_array_equal(exact().developing.table["dev_vpoc"].to_numpy(), want["vpoc"].to_numpy())
    assert got.notna().all().all()
    assert (got[COLUMNS[0]].abs() <= 1).all() and (got[COLUMNS[1]].abs() <= 1).all()
    assert got[COLUMNS[2]].between(0, 1).all()
    # the recount is not trivially constant: the VPOC delta and edge share move within sessions
    assert got[COLUMNS[1]].nunique() > 100 and got[COLUMNS[2]].nunique() > 100


def test_bar_flow_gives_the_same_session_delta_as_the_trades():
    with_bars = build_features(trade_bars(bar_flow=True), groups=["orderflow"]).frame
    from_trades = build_features(trade_bars(), groups=["orderflow"]).frame
    np.testing.assert_allclose(with_bars.to_numpy(), from_trades.to_numpy(), rtol=0, atol=1e-12)


def test_session_delta_from_bar_flow_is_a_session_cumsum_across_a_roll():
    bars = flow_market()
    got = build_features(bars, groups=["orderflow"]).frame
    key = [bars["trade_date"], bars["contract"]]
    delta = (bars["buy_volume"] - bars["sell_volume"]).groupby(key).cumsum()
    volume = bars["volume"].groupby(key).cumsum()
    want = (delta / volume).where(volume > 0, 0.0)
    assert bars["contract"].nunique() == 2
    np.testing.assert_allclose(got[COLUMNS[0]].to_numpy(), want.to_numpy(), rtol=1e-12, atol=1e-12)
    assert got[COLUMNS[1:]].isna().all().all()  # per-price values need the trades


def test_contract_mismatch_and_untraded_minutes_are_nan():
    ex = exact()
    bars = ex.bars.drop(columns=[*BAR_FLOW_COLUMNS, "trades"])
    other = bars.assign(contract="ESM4")
    assert with_trade_flow(other, ex)[list(TRADE_FLOW_COLUMNS)].isna().all().all()
    # a bar in a minute without prints (moved by half the data's span) finds no developing row
    shifted = bars.copy()
    shifted.index = shifted.index + pd.Timedelta(days=30)
    assert with_trade_flow(shifted, ex)[list(TRADE_FLOW_COLUMNS)].isna().all().all()


def test_a_minute_bar_without_a_developing_row_is_nan():
    ex = exact()
    one = with_trade_flow(ex.bars, ex)
    first = one[one["trade_date"] == one["trade_date"].iloc[0]]
    every = pd.date_range(first.index[0], first.index[-1], freq="1min")
    bars = pd.DataFrame({"trade_date": first["trade_date"].iloc[0], "contract": "ESH4"}, index=every)
    got = with_trade_flow(bars, ex)[list(TRADE_FLOW_COLUMNS)]
    traded = every.isin(first.index)
    assert 0 < (~traded).sum() < len(every) // 2  # some minutes of the session had no print
    assert got[~traded].isna().all().all()
    np.testing.assert_array_equal(got[traded].to_numpy(), first[list(TRADE_FLOW_COLUMNS)].to_numpy())


def test_wider_bars_take_the_last_traded_minute_inside_them():
    ex = exact()
    one = with_trade_flow(ex.bars, ex)
    minutes = one.index
    starts = minutes.floor("5min").unique()
    bars = pd.DataFrame({"trade_date": one["trade_date"].groupby(minutes.floor("5min")).first().to_numpy(),
                         "contract": one["contract"].groupby(minutes.floor("5min")).first().to_numpy()},
                        index=starts)
    got = with_trade_flow(bars, ex)
    last = one.groupby(minutes.floor("5min")).last()  # last traded minute inside each 5-minute bar
    np.testing.assert_array_equal(got[list(TRADE_FLOW_COLUMNS)].to_numpy(),
                                  last[list(TRADE_FLOW_COLUMNS)].to_numpy())


@pytest.mark.parametrize("minutes, match", [
    ([0, 1 / 3, 5 / 6], "whole number of minutes"),  # 20-second bars
    ([0.5, 1.5, 2.5], "inside a minute"),
    # three sessions of 2-minute bars (the width they vote for), one whose bars overlap at that width
    ([0, 2, 4, 1440, 1442, 1444, 2880, 2882, 2884, 4320, 4321, 4322], "closer than the bar width"),
])
def test_bars_that_are_not_whole_minute_time_bars_are_refused(minutes, match):
    index = pd.Timestamp("2024-01-09 14:00", tz="UTC") + pd.to_timedelta(minutes, unit="min")
    bars = pd.DataFrame({"trade_date": pd.Timestamp("2024-01-09"), "contract": "ESH4"}, index=index)
    with pytest.raises(DataError, match=match):
        with_trade_flow(bars, exact())


# ---------------------------------------------------------------- NaN without order flow

def test_without_order_flow_every_value_is_nan_never_zero():
    bars = plain_market()
    got = build_features(bars, groups=["price", "orderflow"]).frame
    assert got[COLUMNS].isna().all().all()
    assert got.drop(columns=COLUMNS).notna().any().all()
    # bar flow only: the session delta, not the per-price values
    flow = build_features(flow_market(), groups=["orderflow"]).frame
    assert flow[COLUMNS[0]].notna().all() and flow[COLUMNS[1:]].isna().all().all()


def test_the_dataset_drops_them_with_its_usual_reason():
    from futures_vpoc.dataset.availability import choose_features

    bars = plain_market()
    table = build_features(bars, groups=["price", "orderflow"])
    X = table.frame.to_numpy()
    names = tuple(table.frame.columns)
    span = np.zeros(len(X), bool)
    span[len(X) // 5: len(X) // 2] = True
    keep, report = choose_features(X, names, span, table.specs)
    for name in COLUMNS:
        assert not keep[names.index(name)]
        assert report[name].startswith("values on 0% of") and "needs 60%" in report[name]
    assert keep[names.index("price_ret_1")]


# ---------------------------------------------------------------- causality and chunk invariance

def plain_market() -> pd.DataFrame:
    return _market().copy()


@functools.lru_cache(maxsize=1)
def _market() -> pd.DataFrame:
    """The synthetic market of tests/test_features_causality.py: a roll (2023-03-09) and a DST change."""
    bars, _ = synthesize(SynthConfig(start="2023-02-20", end="2023-03-31", seed=7))
    return bars


@functools.lru_cache(maxsize=1)
def _flow_market() -> pd.DataFrame:
    bars = _market().copy()
    rng = np.random.default_rng(3)
    buy = np.floor(bars["volume"].to_numpy() * rng.beta(2, 2, len(bars)))
    bars["buy_volume"] = buy
    bars["sell_volume"] = np.floor((bars["volume"].to_numpy() - buy) * rng.uniform(0.8, 1.0, len(bars)))
    bars["trades"] = np.maximum(1, (bars["volume"].to_numpy() // 3)).astype(np.int64)
    return bars


def flow_market() -> pd.DataFrame:
    return _flow_market().copy()


CUTS = ["2023-03-08 21:30", "2023-03-08 23:00", "2023-03-09 15:00", "2023-03-13 00:30"]


@pytest.mark.parametrize("cut", CUTS)
def test_prefix_of_the_bars_gives_identical_values(cut):
    bars = flow_market()
    full = build_features(bars, groups=["orderflow"]).frame
    n = int(bars.index.searchsorted(pd.Timestamp(cut, tz="UTC")))
    assert_frame_equal(build_features(bars.iloc[:n], groups=["orderflow"]).frame, full.iloc[:n], check_exact=True)


@pytest.mark.parametrize("cut", ["2024-01-09 15:37", "2024-01-10 02:11", "2024-01-10 23:00"])
def test_prefix_of_the_trades_gives_identical_values(cut):
    t = make_trades()
    end = pd.Timestamp(cut, tz="UTC").value
    prefix = t.take(t.ts < end)
    ex = exact_profiles(chunked(prefix, 999), developing=True)
    bars = with_trade_flow(ex.bars.drop(columns=[*BAR_FLOW_COLUMNS, "trades"]), ex)
    got = build_features(bars, groups=["orderflow"]).frame
    full = build_features(trade_bars(), groups=["orderflow"]).frame
    assert got.index.equals(full.index[full.index < pd.Timestamp(cut, tz="UTC")])
    assert_frame_equal(got, full.loc[got.index], check_exact=True)


@pytest.mark.parametrize("chunk_size", [1, 7, 1000, None])
def test_chunk_size_changes_no_value(chunk_size):
    bars = flow_market().loc["2023-03-06 23:00":"2023-03-10 21:00"]  # across the roll
    whole = build_features(bars, groups=["orderflow"]).frame
    assert_frame_equal(build_features(bars, groups=["orderflow"], chunk_size=chunk_size).frame, whole,
                       check_exact=True)
    trades = trade_bars(bar_flow=True)
    assert_frame_equal(build_features(trades, groups=["orderflow"], chunk_size=chunk_size).frame,
                       build_features(trades, groups=["orderflow"]).frame, check_exact=True)


def test_whole_market_chunk_sizes_with_the_other_groups():
    bars = flow_market()
    groups = ["volume", "orderflow"]
    whole = build_features(bars, groups=groups).frame
    assert_frame_equal(build_features(bars, groups=groups, chunk_size=333).frame, whole, check_exact=True)


# ---------------------------------------------------------------- the command line

def run(*argv):
    from futures_vpoc.cli.features import add_features_parser, cmd_features

    parser = argparse.ArgumentParser()
    add_features_parser(parser.add_subparsers(dest="command"))
    return cmd_features(parser.parse_args(["features", *map(str, argv)]))


def write_trades(t: Trades, path: Path) -> None:
    table = pa.table({"timestamp": pa.array(t.ts, type=pa.timestamp("ns", tz="UTC")),
                      "price": pa.array(t.price, type=pa.float64()),
                      "size": pa.array(t.size.astype(np.int64), type=pa.int64()),
                      "side": pa.array(t.side, type=pa.int8()),
                      "contract": pa.array(np.full(len(t), t.names[0]), type=pa.string())})
    pq.write_table(table, path)


@pytest.fixture
def files(tmp_path):
    from futures_vpoc.data.barframe import write_merged

    trades = tmp_path / "trades.parquet"
    write_trades(make_trades(), trades)
    bars = tmp_path / "bars.parquet"
    write_merged(exact().bars.drop(columns=[*BAR_FLOW_COLUMNS, "trades"]), bars)
    return trades, bars


def test_cli_features_with_trades_end_to_end(files, tmp_path, capsys):
    trades, bars = files
    out = tmp_path / "features.parquet"
    assert run("--data", bars, "--out", out, "--features", "price", "orderflow", "--trades", trades,
               "--chunk_size", 500) == 0
    table = pd.read_parquet(out)
    want = build_features(trade_bars(), groups=["orderflow"]).frame
    assert list(table.columns)[-3:] == COLUMNS and list(table.columns)[0] == "timestamp"
    np.testing.assert_array_equal(table[COLUMNS].to_numpy(), want.to_numpy())
    np.testing.assert_allclose(table[COLUMNS].to_numpy(), recount(make_trades())[COLUMNS].to_numpy(), rtol=0, atol=1e-12)
    printed = capsys.readouterr().out
    assert f"order flow from trades on {len(want):,} of {len(want):,} bars" in printed
    assert all(c in printed for c in COLUMNS)


def test_cli_orderflow_without_trades_is_nan_with_a_note(files, tmp_path, capsys):
    _, bars = files
    out = tmp_path / "features.csv"
    assert run("--data", bars, "--out", out, "--features", "orderflow") == 0
    assert pd.read_csv(out)[COLUMNS].isna().all().all()
    assert "NaN on every bar" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["--trades", "{trades}"], "add --features"),
    (["--features", "price", "--trades", "{trades}"], "add --features"),
    (["--features", "orderflow", "--tz", "UTC"], "with --trades only"),
    (["--features", "orderflow", "--trades-format", "generic"], "with --trades only"),
    (["--features", "orderflow", "--trades", "{out}"], "--trades files"),
])
def test_cli_bad_trades_flags_are_one_line_usage_errors(files, tmp_path, argv, match):
    trades, bars = files
    out = tmp_path / "f.parquet"
    argv = [a.format(trades=trades, out=out) for a in argv]
    with pytest.raises(UsageError, match=match) as err:
        run("--data", bars, "--out", out, *argv)
    assert "\n" not in str(err.value)
    assert not out.exists()


def test_cli_tick_bars_with_trades_are_refused_naming_the_file(tmp_path):
    from futures_vpoc.data.barframe import write_merged

    trades = tmp_path / "trades.parquet"
    write_trades(make_trades(), trades)
    bars = exact().bars.drop(columns=[*BAR_FLOW_COLUMNS, "trades"])
    bars.index = bars.index + pd.to_timedelta(np.arange(len(bars)) % 2 * 17, unit="s")  # off the minute
    path = tmp_path / "ticks.parquet"
    write_merged(bars, path)
    with pytest.raises(DataError, match=r"ticks\.parquet.*minute"):
        run("--data", path, "--out", tmp_path / "f.parquet", "--features", "orderflow", "--trades", trades)


# ---------------------------------------------------------------- replay refuses the group

def test_replay_refuses_a_model_with_orderflow_features():
    from futures_vpoc.ml.bundle import Bundle, Member
    from futures_vpoc.ml.replay import LiveModel, replay_bars

    member = Member(run_dir=Path("run"), layers=(), feature_names=("price_ret_1", "orderflow_session_delta_share"),
                    scaler=None, target="direction", horizon=5, threshold=0.5,
                    inference={"groups": ["price", "orderflow"], "context": None}, boundaries={})
    bundle = Bundle(path=Path("run"), kind="run", members=(member,), weights=np.ones(1), names=("run",))
    for call in (lambda: replay_bars(bundle, plain_market()), lambda: LiveModel(bundle)):
        with pytest.raises(UsageError, match="live engine has no order-flow group") as err:
            call()
        assert "\n" not in str(err.value) and "predict" in str(err.value)



def test_the_parser_text_agrees_with_the_trades_layer_and_imports_nothing_heavy():
    import subprocess

    from futures_vpoc.cli import options as cli
    from futures_vpoc.data.trades.chunk import TRADE_FORMATS

    assert cli.TRADE_FORMATS == TRADE_FORMATS
    # what building the parser imports beyond what the package's command line already has
    code = ("import argparse, sys\nfrom futures_vpoc.cli.features import add_features_parser\n"
            "before = set(sys.modules)\n"
            "add_features_parser(argparse.ArgumentParser().add_subparsers())\n"
            "print(sorted(m for m in set(sys.modules) - before if m.startswith(('futures_vpoc.data', "
            "'futures_vpoc.profile', 'pandas', 'numpy', 'numba'))))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr
