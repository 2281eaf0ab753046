"""``futures-vpoc features``: the table file, the summary, and one-line errors.

The lead wires :func:`add_features_parser` / :func:`cmd_features` into ``futures_vpoc.cli``; these
tests drive them through a parser of their own. A ``UsageError`` or ``DataError`` is what the
CLI's ``main`` turns into one line on stderr and exit status 2.
"""

import argparse
import functools

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli.features import add_features_parser, cmd_features
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.features import GROUPS, REGISTRY, build_features


@functools.lru_cache(maxsize=1)
def market():
    bars, _ = synthesize(SynthConfig(start="2023-03-06", end="2023-03-17", seed=6))
    return bars


@pytest.fixture
def merged(tmp_path):
    path = tmp_path / "merged.csv"
    write_merged(market(), path)
    return path


def run(*argv):
    parser = argparse.ArgumentParser()
    add_features_parser(parser.add_subparsers(dest="command"))
    return cmd_features(parser.parse_args(["features", *map(str, argv)]))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_writes_timestamp_then_one_column_per_feature(merged, tmp_path, suffix, capsys):
    out = tmp_path / f"features{suffix}"
    assert run("--data", merged, "--out", out, "--chunk_size", 5000, "--features", "price", "vix") == 0
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    expected = build_features(market(), groups=["price", "vix"]).frame
    assert list(table.columns) == ["timestamp", *expected.columns]
    stamps = pd.to_datetime(table["timestamp"], utc=True)
    assert (pd.DatetimeIndex(stamps) == expected.index).all()
    np.testing.assert_array_equal(table[expected.columns].to_numpy(), expected.to_numpy())  # %.17g round trip
    printed = capsys.readouterr().out
    for spec in REGISTRY["price"] + REGISTRY["vix"]:
        assert spec.column in printed
    assert "coverage" in printed and "wrote" in printed


def test_summary_reports_label_correlation_when_labels_exist(merged, tmp_path, capsys):
    pytest.importorskip("futures_vpoc.labels")
    run("--data", merged, "--out", tmp_path / "f.csv", "--features", "profile")
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("profile_dist_dev_vpoc_ticks"))
    assert any(tok.startswith(("+0.", "-0.")) for tok in line.split())


def test_bad_group_is_one_line_listing_the_valid_groups(merged, tmp_path):
    with pytest.raises(UsageError) as err:
        run("--data", merged, "--out", tmp_path / "f.csv", "--features", "price", "bogus")
    message = str(err.value)
    assert "bogus" in message and ", ".join(GROUPS) in message and "\n" not in message
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize("argv, match", [
    (["--out", "{tmp}/f.txt"], "--out"),
    (["--out", "{data}"], "input file"),
    (["--out", "{tmp}/f.csv", "--chunk_size", "0"], "chunk_size"),
])
def test_bad_flags_are_usage_errors(merged, tmp_path, argv, match):
    argv = [a.format(tmp=tmp_path, data=merged) for a in argv]
    with pytest.raises(UsageError, match=match):
        run("--data", merged, *argv)


def test_data_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    frame = market().iloc[:3000].copy()
    frame.iloc[7, frame.columns.get_loc("close")] = np.nan
    write_merged(frame, bad)
    with pytest.raises(DataError, match=r"bad\.csv.*NaN"):
        run("--data", bad, "--out", tmp_path / "f.csv")
    assert not (tmp_path / "f.csv").exists()
