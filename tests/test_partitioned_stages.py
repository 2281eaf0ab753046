"""``profile``, ``data merge``, ``data check`` and ``predict`` on a partitioned bar dataset (issue 19).

The reference is always the in-memory path on the same bars in one file: ``profile --data DIR``
(month by month, the prior-session state carried across each boundary) must write exactly the
tables ``profile --data FILE`` writes; ``data merge --out DIR`` must hold exactly the bars of
``data merge --out FILE``. The synthetic span (20 Feb to 5 Apr 2023) crosses two month boundaries
and the ESH3 -> ESM3 roll inside March.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from realdata import CBOE_VIX, LEAN_MINUTE, needs_realdata

from cli_run import run
from futures_vpoc.data.barframe import read_merged
from futures_vpoc.data.partitioned import TableAppender, partitions, read_any, write_partitioned
from futures_vpoc.profile.developing import developing_profile
from futures_vpoc.profile.partitioned import iter_month_profiles
from futures_vpoc.profile.spec import ProfileSpec

SPAN = ("--start", "2023-02-20", "--end", "2023-04-05", "--seed", "5")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same synthetic bars written by ``data synth`` as a dataset folder and as one Parquet file."""
    root = tmp_path_factory.mktemp("stages")
    assert run("data", "synth", *SPAN, "--out", root / "ds") == 0
    assert run("data", "synth", *SPAN, "--out", root / "one.parquet") == 0
    return root / "ds", root / "one.parquet"


def _profile(data, out_dir, suffix, *extra):
    paths = {k: out_dir / f"{k}.{suffix}" for k in ("sessions", "developing", "levels")}
    code = run("profile", "--data", data, "--out", paths["sessions"], "--developing", paths["developing"],
               "--levels", paths["levels"], "--rows", "2", *extra)
    return code, paths


@pytest.mark.parametrize("scope", ["globex", "rth", "eth"])
def test_profile_of_a_dataset_writes_the_files_of_the_whole_file(pair, tmp_path, scope):
    folder, file = pair
    extra = () if scope == "globex" else (f"--{scope}",)
    assert len(partitions(folder)) == 3
    code_a, month_by_month = _profile(folder, tmp_path / "a", "parquet", *extra)
    code_b, whole = _profile(file, tmp_path / "b", "parquet", *extra)
    assert code_a == code_b == 0
    for name in ("sessions", "developing", "levels"):
        a, b = pd.read_parquet(month_by_month[name]), pd.read_parquet(whole[name])
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    dev = pd.read_parquet(month_by_month["developing"])
    assert len(dev) == len(read_merged(file))
    # the carried state matters: the first bars of March and April see February's / March's sessions
    for first in ("2023-03-01", "2023-04-01"):
        row = dev.loc[dev["timestamp"] >= pd.Timestamp(first, tz="UTC")].iloc[0]
        assert row["prev_session"] >= 0 and np.isfinite(row["prev_vpoc"])


def test_profile_csv_outputs_are_byte_identical(pair, tmp_path):
    folder, file = pair
    _, a = _profile(folder, tmp_path / "a", "csv")
    _, b = _profile(file, tmp_path / "b", "csv")
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name


def _frames_equal(months, whole):
    tables = [m.table for m in months if m.sessions is not None]
    pd.testing.assert_frame_equal(pd.concat(tables), whole.sessions.table, check_exact=True)
    pd.testing.assert_frame_equal(pd.concat([m.developing_table() for m in months]), whole.table, check_exact=True)
    levels = pd.concat([m.levels_table() for m in months if m.sessions is not None], ignore_index=True)
    pd.testing.assert_frame_equal(levels, whole.sessions.levels_table(), check_exact=True)


@pytest.fixture(scope="module")
def edge_bars(pair):
    """The synthetic bars with a roll exactly at 1 April (April relabelled ESU3) and April cut to
    its overnight bars (a month with no RTH bar, as when data ends before an open)."""
    bars = read_merged(pair[1])
    april = (bars["trade_date"] >= pd.Timestamp("2023-04-01")).to_numpy()
    bars = bars.copy()
    contract = bars["contract"].astype(object).to_numpy(copy=True)
    contract[april] = "ESU3"
    bars["contract"] = pd.array(contract, dtype=bars["contract"].dtype)
    return bars.loc[~(april & bars["rth"].to_numpy(dtype=bool))]


@pytest.mark.parametrize("allocation", ["uniform", "close", "tpo"])
@pytest.mark.parametrize("scope", ["globex", "rth", "eth"])
def test_month_profiles_equal_the_whole_build_across_a_boundary_roll(edge_bars, tmp_path, scope, allocation):
    folder = tmp_path / "ds"
    write_partitioned(edge_bars, folder)
    spec = ProfileSpec(scope=scope, allocation=allocation)
    months = list(iter_month_profiles(folder, spec, developing=True))
    assert [m.key for m in months] == ["2023-02", "2023-03", "2023-04"]
    whole = developing_profile(edge_bars, spec)
    _frames_equal(months, whole)
    if scope == "rth":
        assert months[-1].sessions is None  # April holds no RTH bar: no session, prior levels still carried
    first_april = months[-1].developing_table().iloc[0]
    assert first_april["prev_session"] == -1 and first_april["naked_count"] == 0  # the roll restarts the state


def test_sessions_only_needs_no_carry_and_matches(pair):
    months = list(iter_month_profiles(pair[0]))
    assert all(m.developing is None for m in months)
    whole = developing_profile(read_merged(pair[1]))
    pd.testing.assert_frame_equal(pd.concat([m.table for m in months]), whole.sessions.table, check_exact=True)


def test_profile_date_and_plot_of_a_dataset(pair, tmp_path, capsys):
    folder, file = pair
    outs = {}
    for name, data in (("ds", folder), ("file", file)):
        capsys.readouterr()
        code, paths = _profile(data, tmp_path / name, "parquet", "--date", "2023-03-01", "--plot",
                               tmp_path / name / "p.png")
        assert code == 0 and (tmp_path / name / "p.png").stat().st_size > 10_000
        outs[name] = (paths, capsys.readouterr().out)
    for key in ("sessions", "developing", "levels"):
        pd.testing.assert_frame_equal(pd.read_parquet(outs["ds"][0][key]), pd.read_parquet(outs["file"][0][key]),
                                      check_exact=True)
    assert outs["ds"][1] == outs["file"][1].replace(str(tmp_path / "file"), str(tmp_path / "ds")).replace(
        str(file), str(folder))
    assert len(pd.read_parquet(outs["ds"][0]["sessions"])) == 1
    # a date the data lacks: exit 2, nothing written
    code, paths = _profile(folder, tmp_path / "none", "parquet", "--date", "2023-05-02")
    assert code == 2 and not any(p.exists() for p in paths.values())
    assert "no session on trade date 2023-05-02" in capsys.readouterr().err


def test_table_appender_is_all_or_nothing(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"old")
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan]})
    with pytest.raises(ValueError):
        with TableAppender(path) as sink:
            sink.append(frame)
            sink.append(frame.rename(columns={"b": "c"}))
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]
    with TableAppender(path) as sink:
        sink.append(frame)
        sink.append(frame.iloc[:0])
        sink.append(frame * 2)
        sink.close()
    pd.testing.assert_frame_equal(pd.read_parquet(path), pd.concat([frame, frame * 2], ignore_index=True))


def _vendor_csv(bars: pd.DataFrame, path) -> None:
    """The bars as a generic vendor CSV (UTC stamps, no contract column: the calendar assigns them)."""
    frame = pd.DataFrame({"Timestamp": bars.index.strftime("%Y-%m-%dT%H:%M:%SZ"), "Open": bars["open"].to_numpy(),
                          "High": bars["high"].to_numpy(), "Low": bars["low"].to_numpy(),
                          "Close": bars["close"].to_numpy(), "Volume": bars["volume"].to_numpy()})
    frame.to_csv(path, index=False)


def _vix_csv(path) -> None:
    days = pd.bdate_range("2023-02-01", "2023-04-10")
    close = 18 + np.sin(np.arange(len(days)) / 5)
    lines = ["DATE,OPEN,HIGH,LOW,CLOSE"] + [f"{d:%m/%d/%Y},{c:.2f},{c + 1:.2f},{c - 1:.2f},{c:.2f}"
                                            for d, c in zip(days, close)]
    path.write_text("\n".join(lines) + "\n")


def test_data_merge_to_a_dataset_equals_the_merged_file(pair, tmp_path, capsys):
    bars = read_merged(pair[1])
    es, vix = tmp_path / "es.csv", tmp_path / "VIX_History.csv"
    _vendor_csv(bars, es)
    _vix_csv(vix)
    assert run("data", "merge", "--es", es, "--vix", vix, "--out", tmp_path / "m.parquet") == 0
    assert run("data", "merge", "--es", es, "--vix", vix, "--out", tmp_path / "mds") == 0
    assert "3 monthly partitions (2023-02 to 2023-04)" in capsys.readouterr().out
    assert [p.key for p in partitions(tmp_path / "mds")] == ["2023-02", "2023-03", "2023-04"]
    whole = read_merged(tmp_path / "m.parquet")
    pd.testing.assert_frame_equal(read_any(tmp_path / "mds"), whole, check_exact=True)
    assert whole["vix"].notna().mean() > 0.9
    # a folder holding other files, or one that holds an input, is refused before anything is read
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    assert run("data", "merge", "--es", es, "--vix", vix, "--out", tmp_path / "busy") == 2
    assert run("data", "merge", "--es", es, "--vix", vix, "--out", tmp_path) == 2
    err = capsys.readouterr().err
    assert "other files" in err and "holds an input" in err
    assert run("data", "check", tmp_path / "mds") == 0
    said = capsys.readouterr().out
    assert "partitioned bar dataset of 3 months" in said and "problems      0" in said


@needs_realdata
def test_data_merge_of_real_lean_days_to_a_dataset(tmp_path):
    assert run("data", "merge", "--es", LEAN_MINUTE, "--vix", CBOE_VIX, "--out", tmp_path / "m.parquet") == 0
    assert run("data", "merge", "--es", LEAN_MINUTE, "--vix", CBOE_VIX, "--out", tmp_path / "ds") == 0
    whole = read_merged(tmp_path / "m.parquet")
    pd.testing.assert_frame_equal(read_any(tmp_path / "ds"), whole, check_exact=True)
    months = {p.key for p in partitions(tmp_path / "ds")}
    assert months == {f"{d:%Y-%m}" for d in whole["trade_date"]}


@pytest.mark.slow
def test_predict_takes_a_dataset_folder(pair, tmp_path):
    folder, file = pair
    bars = read_merged(file)
    train = tmp_path / "train.parquet"
    from futures_vpoc.data.barframe import write_merged

    write_merged(bars[bars["trade_date"] < pd.Timestamp("2023-03-20")], train)
    assert run("train", "--data", train, "--epochs", "1", "--batch_size", "1024", "--hidden_dims", "8",
               "--output_dir", tmp_path / "run") == 0
    for data, out in ((file, "a.parquet"), (folder, "b.parquet")):
        assert run("predict", "--model", tmp_path / "run", "--data", data, "--start", "2023-03-27",
                   "--out", tmp_path / out) == 0
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a["prob"].notna().mean() > 0.5
    (tmp_path / "empty").mkdir()
    assert run("predict", "--model", tmp_path / "run", "--data", tmp_path / "empty", "--out", tmp_path / "c.csv") == 2


def test_a_bad_partition_is_named_and_nothing_is_written(pair, tmp_path, capsys):
    folder = tmp_path / "ds"
    write_partitioned(read_merged(pair[1]), folder)
    march = partitions(folder)[1].path
    frame = pd.read_parquet(march)
    frame.loc[frame.index[100], "volume"] = np.nan
    frame.to_parquet(march)
    code, paths = _profile(folder, tmp_path / "out", "parquet")
    assert code == 2 and not any(p.exists() for p in paths.values())
    err = capsys.readouterr().err
    assert str(march) in err and "volume" in err
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind
