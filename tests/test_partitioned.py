"""Partitioned datasets (one Parquet per trade-date month) and the month-by-month feature build.

The reference for every feature value is the in-memory build (``build_features`` of the whole
concatenated frame with the same frozen context): the month-by-month build must equal it bit for
bit wherever the carried history covers what the features depend on.
"""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import read_merged
from futures_vpoc.data.partitioned import (
    is_partitioned,
    iter_partitions,
    partitions,
    read_any,
    synthetic_years,
    write_partitioned,
)
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.features import build_features
from futures_vpoc.features.partitioned import build_partitioned, carry_plan, read_feature_dataset
from futures_vpoc.features.registry import resolve_groups


def _equal_exactly(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """Per column: every value equal bit for bit (NaN where NaN); same index and columns."""
    assert a.index.equals(b.index)
    assert list(a.columns) == list(b.columns)
    x, y = a.to_numpy(), b.to_numpy()
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    return pd.Series(same.all(axis=0), index=a.columns)


@pytest.fixture(scope="module")
def months_bars():
    """Seven weeks across three trade-date months (Jan 25 to Mar 8, 2023)."""
    bars, _ = synthesize(SynthConfig(start="2023-01-25", end="2023-03-08", seed=3))
    return bars


def test_round_trip_by_trade_date_month(tmp_path, months_bars):
    folder = tmp_path / "ds"
    written = write_partitioned(months_bars, folder)
    assert written == ["2023-01", "2023-02", "2023-03"]
    assert is_partitioned(folder) and not is_partitioned(tmp_path) and not is_partitioned(tmp_path / "nope")
    assert (folder / "year=2023" / "month=02" / "part.parquet").is_file()
    for part, month in zip(partitions(folder), iter_partitions(folder)):
        months = month["trade_date"].dt.month.unique()
        assert list(months) == [part.month]  # a session is never split: trade date decides
    # the Sunday-evening bars of the session of Wed 1 Mar start on 28 Feb (UTC) yet live in March
    march = next(m for p, m in zip(partitions(folder), iter_partitions(folder)) if p.month == 3)
    assert march.index[0] < pd.Timestamp("2023-03-01", tz="UTC")
    pd.testing.assert_frame_equal(read_any(folder), months_bars, check_exact=True)
    pd.testing.assert_frame_equal(read_merged(folder), months_bars, check_exact=True)
    only = next(iter_partitions(folder, columns=["close"]))
    assert list(only.columns) == ["close"] and only.index.name == "timestamp"


def test_frames_split_inside_a_month_and_rewrite(tmp_path, months_bars):
    folder = tmp_path / "ds"
    cuts = [0, 1000, 20_000, 20_001, len(months_bars)]
    write_partitioned((months_bars.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:])), folder)
    pd.testing.assert_frame_equal(read_any(folder), months_bars, check_exact=True)
    # an earlier dataset is replaced whole; a folder of other files is refused
    write_partitioned(months_bars.iloc[:5000], folder)
    assert len(partitions(folder)) == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="other files"):
        write_partitioned(months_bars, other)
    assert (other / "keep.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="out of time order"):
        write_partitioned([months_bars.iloc[1000:], months_bars.iloc[:1000]], tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    with pytest.raises(DataError, match="no year=YYYY"):
        next(iter_partitions(tmp_path / "other"))


def test_synthetic_years_continue():
    a, b = synthetic_years(2021, 2022, seed=5)
    assert a["trade_date"].dt.year.unique().tolist() == [2021]
    assert b["trade_date"].dt.year.unique().tolist() == [2022]
    assert b["open"].iloc[0] == a["close"].iloc[-1]  # the price carries on across 1 January
    assert b["contract"].iloc[0] == a["contract"].iloc[-1]
    assert np.isfinite(b["vix"].iloc[0])  # the previous year's last close, as of publication
    again = next(synthetic_years(2021, 2021, seed=5))
    pd.testing.assert_frame_equal(again, a, check_exact=True)


@pytest.fixture(scope="module")
def two_years(tmp_path_factory):
    """A two-year synthetic dataset (about 705,000 one-minute bars) and its whole BarFrame."""
    folder = tmp_path_factory.mktemp("two") / "bars"
    write_partitioned(synthetic_years(2021, 2022, seed=5), folder)
    return folder, read_any(folder)


@pytest.mark.slow
def test_month_by_month_equals_whole_build(tmp_path, two_years):
    """Every feature of every month equals the in-memory build bit for bit (two years: the
    default carry of 529 trade dates keeps the whole history here; the test below cuts it)."""
    folder, bars = two_years
    res = build_partitioned(folder, tmp_path / "f")
    assert res.notes == () and res.rows == len(bars) and len(res.months) == 24
    whole = build_features(bars, context=res.context)
    assert whole.context == build_features(bars).context  # the fit read column by column is the same fit
    got = read_feature_dataset(res.out)
    same = _equal_exactly(got, whole.frame)
    assert same.all(), f"differ: {list(same.index[~same])}"
    assert (res.nan_rows == np.isnan(whole.frame.to_numpy()).sum(axis=0)).all()
    assert res.warmup_rows == whole.warmup_rows


@pytest.mark.slow
def test_cut_history_is_exact_where_it_covers_and_named_where_not(tmp_path, two_years):
    """With 80 trade dates carried, the window is cut every month of the second half: the groups
    that restart at each quarterly roll (and the volume norms' 10 sessions) stay exact. The VIX
    group's 252-session year does not fit in 80: the plan names its features, and values that are
    defined agree to rounding at most (percentile and z-score over fewer sessions otherwise)."""
    folder, bars = two_years
    groups = ["price", "volume", "volatility", "profile", "calendar", "technical"]
    res = build_partitioned(folder, tmp_path / "f", groups=groups, carry_sessions=80)
    assert res.notes == ()
    whole = build_features(bars, groups=groups, context=res.context)
    same = _equal_exactly(read_feature_dataset(res.out), whole.frame)
    assert same.all(), f"differ: {list(same.index[~same])}"

    res = build_partitioned(folder, tmp_path / "v", groups=["vix"], carry_sessions=80)
    assert any("vix_pct_252_sessions" in n and "longer than the 80" in n for n in res.notes)
    assert any("vix ring" in n for n in res.notes)
    got = read_feature_dataset(res.out)
    whole = build_features(bars, groups=["vix"], context=res.context).frame
    first_year = got.index < pd.Timestamp("2021-05-01", tz="UTC")  # history not cut yet
    assert _equal_exactly(got[first_year], whole[first_year]).all()
    for col in ("vix_level", "vix_change", "vix_rv_ratio_240"):  # short windows: still exact
        assert _equal_exactly(got[[col]], whole[[col]]).all()


def test_carry_plan_from_declared_warmups():
    plan = carry_plan(resolve_groups(None), bars_per_session=1380)
    assert plan.sessions["vix"] == 252 and plan.sessions["volume"] == 10 and plan.sessions["calendar"] == 0
    assert plan.carry_sessions == 2 * 252 + 25 and plan.notes == ()
    small = carry_plan(resolve_groups(["price", "vix"]), bars_per_session=1380, carry_sessions=30)
    assert small.sessions["vix"] == 30
    assert {n.split(":")[0] for n in small.notes} == {"vix_pct_252_sessions", "vix_z_sessions"}
    with pytest.raises(UsageError):
        carry_plan(resolve_groups(None), 1380, carry_sessions=0)


def test_cli_synth_and_features_folder(tmp_path, capsys):
    data, feats, table = tmp_path / "bars", tmp_path / "feats", tmp_path / "whole.parquet"
    assert main(["data", "synth", "--out", str(data), "--start", "2023-01-02", "--end", "2023-03-31"]) == 0
    assert [p.key for p in partitions(data)] == ["2023-01", "2023-02", "2023-03"]
    assert main(["features", "--data", str(data), "--out", str(feats)]) == 0
    out = capsys.readouterr().out
    assert "3 monthly partitions" in out and "vix_pct_252_sessions" in out
    assert main(["features", "--data", str(data), "--out", str(table)]) == 0  # the folder read whole
    whole = pd.read_parquet(table).set_index("timestamp")
    same = _equal_exactly(read_feature_dataset(feats), whole)
    assert same.all(), f"differ: {list(same.index[~same])}"


def test_cli_synth_years(tmp_path, capsys):
    data = tmp_path / "ds"
    assert main(["data", "synth", "--years", "1", "--end", "2022-06-30", "--out", str(data), "--seed", "5"]) == 0
    assert [p.key for p in partitions(data)] == [f"2022-{m:02d}" for m in range(1, 13)]
    pd.testing.assert_frame_equal(read_any(data), next(synthetic_years(2022, 2022, seed=5)), check_exact=True)
    assert "year 2022" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["data", "synth", "--years", "2", "--out", "x.parquet"], "folder name without a suffix"),
    (["data", "synth", "--years", "2", "--start", "2020-01-01", "--out", "ds"], "leave out --start"),
    (["data", "synth", "--years", "0", "--out", "ds"], "--years 0"),
    (["data", "synth", "--years", "2", "--out", "ds", "--trades", "t.parquet"], "--trades works with"),
    (["features", "--data", "m.parquet", "--out", "fdir"], "built from a bar dataset folder"),
])
def test_usage_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_cli_data_check_reads_a_dataset(tmp_path, months_bars, capsys):
    folder = tmp_path / "ds"
    write_partitioned(months_bars, folder)
    assert main(["data", "check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "partitioned bar dataset of 3 months" in out and f"{len(months_bars):,}" in out
