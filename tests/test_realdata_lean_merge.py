"""Acceptance on real data: QuantConnect LEAN ES minute zips + CBOE's VIX history, merged by the CLI.

Data: ``shared/realdata/lean_es_minute`` (LEAN/AlgoSeek, Apache-2.0) and ``cboe_vix_history.csv``;
provenance and the facts used below (bar start, UTC, the 2013-12 roll) in ``shared/realdata/SOURCES.md``
sections 1 and 3. Skipped where the folder is absent.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from realdata import CBOE_VIX, LEAN_MINUTE, needs_realdata

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import read_merged
from futures_vpoc.data.contracts import Contract
from futures_vpoc.labels import make_labels

pytestmark = needs_realdata
TRADE_ZIPS = sorted(LEAN_MINUTE.glob("*_trade.zip")) if LEAN_MINUTE.is_dir() else []


def merge(es, out, capsys):
    code = main(["data", "merge", "--es", str(es), "--vix", str(CBOE_VIX), "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("zip_path", TRADE_ZIPS, ids=[p.name for p in TRADE_ZIPS])
def test_each_trade_zip_merges_with_the_cboe_vix_in_one_command(zip_path, tmp_path, capsys):
    out = tmp_path / "merged.csv"
    code, stdout, stderr = merge(zip_path, out, capsys)
    assert code == 0, stderr
    assert f"{zip_path.name}: detected lean (UTC, bar start)" in stdout
    bars = read_merged(out)
    assert len(bars) > 0 and bars["vix"].notna().all()
    day = dt.datetime.strptime(zip_path.name[:8], "%Y%m%d").date()
    # the ms stamps count from 00:00 UTC of the file date
    assert bars.index[0] >= pd.Timestamp(day, tz="UTC") and bars.index[-1] < pd.Timestamp(day + dt.timedelta(days=1), tz="UTC")


@pytest.fixture(scope="module")
def folder_merged(tmp_path_factory):
    out = tmp_path_factory.mktemp("lean") / "merged.csv"
    code = main(["data", "merge", "--es", str(LEAN_MINUTE), "--vix", str(CBOE_VIX), "--out", str(out)])
    assert code == 0
    return read_merged(out)


def test_the_whole_folder_merges_and_rolls_at_the_calendar(folder_merged, capsys):
    bars = folder_merged
    assert Contract(2013, 12).roll_date == dt.date(2013, 12, 12)
    td = pd.DatetimeIndex(bars["trade_date"]).date
    in_2013 = td < dt.date(2014, 1, 1)
    before, after = in_2013 & (td < dt.date(2013, 12, 12)), in_2013 & (td >= dt.date(2013, 12, 18))
    assert before.sum() > 10_000 and after.sum() > 2_000
    assert set(bars.loc[before, "contract"]) == {"ESZ3"}  # entry 201312 = ESZ13
    assert set(bars.loc[after, "contract"]) == {"ESH4"}  # entry 201403 = ESH14
    assert not ((td >= dt.date(2013, 12, 12)) & (td < dt.date(2013, 12, 18))).any()  # no LEAN file 12-10..12-17
    assert set(bars.loc[~in_2013, "contract"]) == {"ESH0", "ESZ0"}
    assert bars.index.is_monotonic_increasing and bars.index.is_unique


def test_no_label_looks_across_a_contract_change(folder_merged):
    bars = folder_merged
    contract = bars["contract"].to_numpy()
    changes = np.flatnonzero(contract[1:] != contract[:-1])
    assert len(changes) >= 3  # ESZ3 -> ESH4, ESH4 -> ESH0, ESH0 -> ESZ0
    for horizon in (1, 5, 30):
        table = make_labels(bars, horizon=horizon)
        known = table.known
        assert known.sum() > 10_000
        # the horizon bar: the last bar starting at or before label_end - one bar (labels.py)
        slot = pd.DatetimeIndex(table.frame["label_end"]).as_unit("ns").asi8[known] - table.bar_width.value
        starts = bars.index.tz_convert("UTC").as_unit("ns").asi8
        j = np.searchsorted(starts, slot, side="right") - 1
        origin = np.flatnonzero(known)
        assert (j >= origin).all()
        assert (contract[j] == contract[origin]).all()
        # and no known horizon reaches past a change (a gap before it carries the last close instead)
        nxt = np.searchsorted(changes, origin, side="left")  # the first change at or after the origin
        has = nxt < len(changes)
        assert (j[has] <= changes[nxt[has]]).all()


def test_vix_is_the_last_cboe_close_published_before_each_bar_ends(folder_merged):
    bars = folder_merged
    cboe = pd.read_csv(CBOE_VIX)
    day = pd.to_datetime(cboe["DATE"], format="%m/%d/%Y")
    published = (day + pd.Timedelta(hours=15, minutes=15)).dt.tz_localize("America/Chicago").dt.tz_convert("UTC")
    right = pd.DataFrame({"published": published.astype("datetime64[ns, UTC]"), "close": cboe["CLOSE"].astype(float)})
    ends = pd.DataFrame({"end": (bars.index + pd.Timedelta(minutes=1)).as_unit("ns")})
    expected = pd.merge_asof(ends, right, left_on="end", right_on="published", direction="backward")["close"]
    assert bars["vix"].notna().all()
    np.testing.assert_array_equal(bars["vix"].to_numpy(), expected.to_numpy())
    # spot check: Monday 2013-10-07 14:00 UTC (09:00 CDT) sees Friday 2013-10-04's close
    friday = float(cboe.loc[cboe["DATE"] == "10/04/2013", "CLOSE"].iloc[0])
    assert bars.loc[pd.Timestamp("2013-10-07 14:00", tz="UTC"), "vix"] == friday
