"""Which contract a bar belongs to (issue 15 review): decades, causal rolls, files without contracts.

1. A one-digit year (``ESH5``) is resolved from each bar's own date: a contract trades before its
   expiry, so the year is the first year ending in 5 whose March expiry is on or after the bar date.
   ESH5 bars of 2015 and of 2025 in one load are two contracts, named ``ESH15`` and ``ESH25``.
2. No back-adjustment (it made the past depend on later rolls): a merge of data truncated at a
   trade date equals the full merge up to that date; ``--adjust`` is refused.
3. A continuous file with no contract column gets the calendar front contract of each trade date
   (roll on the Thursday eight days before expiry), with a warning naming each boundary and its
   price jump; ``--roll none`` keeps it one series.

Facts: ESH4 expires 2024-03-15, calendar roll 2024-03-07; ESM4 expires 2024-06-21, roll 2024-06-13;
ESH5 expires 2015-03-20 / 2025-03-21 (es_market_and_data_formats.md section 1).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.calendar import assign_sessions
from futures_vpoc.cli import main
from futures_vpoc.data.check import check_bars
from futures_vpoc.data.contracts import Contract, contract_at, contract_names, parse_contract, resolve_years
from futures_vpoc.data.load import load_es
from futures_vpoc.data.merge import MergeOptions, build_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.errors import DataError
from futures_vpoc.labels import make_labels

HEADER = "timestamp,open,high,low,close,volume,contract"


def bar_rows(day: str, base: float, code: str | None, n: int = 4, clock: str = "08:30") -> list[str]:
    """``n`` one-minute bars from ``clock`` CT on trade date ``day`` (RTH), as generic CSV rows."""
    start = pd.Timestamp(f"{day} {clock}").tz_localize("America/Chicago").tz_convert("UTC")
    rows = []
    for i in range(n):
        o, c = base + 0.25 * i, base + 0.25 * (i + 1)
        t = start + pd.Timedelta(minutes=i)
        rows.append(f"{t:%Y-%m-%dT%H:%M:%SZ},{o},{c + 0.25},{o - 0.25},{c},{100 + i}" + (f",{code}" if code else ""))
    return rows


def write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


# --------------------------------------------------------------------------------------------
# 1. one-digit years resolved against the bar dates
# --------------------------------------------------------------------------------------------

def test_one_digit_year_is_the_first_expiry_on_or_after_the_bar_date():
    assert contract_at("ESH5", dt.date(2015, 1, 5)) == Contract(2015, 3)
    assert contract_at("ESH5", dt.date(2015, 3, 20)) == Contract(2015, 3)  # expiry day
    assert contract_at("ESH5", dt.date(2015, 3, 23)) == Contract(2025, 3)
    assert contract_at("ESH5", dt.date(2024, 12, 2)) == Contract(2025, 3)
    assert contract_at("ESH0", dt.date(2019, 12, 20)) == Contract(2020, 3)
    assert contract_at("esh24", dt.date(2031, 1, 1)) == Contract(2024, 3)  # two digits: as written
    days = pd.DatetimeIndex(["2014-06-02", "2015-03-20", "2015-03-21", "2025-03-21"]).as_unit("ns").asi8
    days = days // 86_400_000_000_000
    assert resolve_years(3, 5, days).tolist() == [2015, 2015, 2025, 2025]


def test_names_get_two_digit_years_only_when_one_digit_codes_clash():
    assert set(contract_names([Contract(2024, 3), Contract(2024, 6)]).values()) == {"ESH4", "ESM4"}
    named = contract_names([Contract(2015, 3), Contract(2025, 3), Contract(2025, 6)])
    assert named == {Contract(2015, 3): "ESH15", Contract(2025, 3): "ESH25", Contract(2025, 6): "ESM25"}
    # every later stage parses the two-digit names (rolls, labels, features' days-to-roll)
    assert parse_contract("ESH15", near=dt.date(2025, 1, 1)) == Contract(2015, 3)


def test_one_symbol_of_two_decades_in_one_file_is_two_contracts(tmp_path):
    # ESH5 of March 2015 and of March 2025 share the symbol and the clock times
    rows = bar_rows("2015-03-10", 2070.0, "ESH5") + bar_rows("2025-03-11", 5600.0, "ESH5")
    path = write(tmp_path / "bars.csv", rows)
    bars = load_es(path).bars
    assert bars["contract"].tolist() == ["ESH15"] * 4 + ["ESH25"] * 4
    assert bars["close"].iloc[0] == 2070.25 and bars["close"].iloc[4] == 5600.25
    merged = build_merged(path, None, MergeOptions()).bars
    assert merged["contract"].tolist() == ["ESH15"] * 4 + ["ESH25"] * 4
    fwd = make_labels(merged, horizon=1).frame["fwd_return"]
    assert fwd.iloc[3] == 0.0  # the last ESH15 bar's horizon carries its own close, not ESH25's price


def test_file_names_of_two_decades_in_one_folder(tmp_path):
    folder = tmp_path / "es"
    folder.mkdir()
    header = "timestamp,open,high,low,close,volume"
    write(folder / "ESH5_2015.csv", bar_rows("2015-03-10", 2070.0, None), header)
    write(folder / "ESH5_2025.csv", bar_rows("2025-03-11", 5600.0, None), header)
    write(folder / "ESM5.csv", bar_rows("2025-03-11", 5650.0, None), header)  # one-digit again
    bars = load_es(folder).bars
    assert bars["contract"].tolist() == ["ESH15"] * 4 + ["ESH25"] * 4 + ["ESM25"] * 4
    merged = build_merged(folder, None, MergeOptions(repair=True)).bars
    assert merged["contract"].tolist() == ["ESH15"] * 4 + ["ESH25"] * 4
    assert merged["close"].tolist() == [2070.0 + 0.25 * i for i in range(1, 5)] + [5600.0 + 0.25 * i for i in range(1, 5)]


def test_one_decade_keeps_one_digit_names(tmp_path):
    rows = bar_rows("2024-03-05", 5100.0, "ESH24") + bar_rows("2024-03-05", 5160.0, "ESM4")
    bars = load_es(write(tmp_path / "bars.csv", rows)).bars
    assert bars["contract"].tolist() == ["ESH4"] * 4 + ["ESM4"] * 4


# --------------------------------------------------------------------------------------------
# 2. rolls are causal: no back-adjustment
# --------------------------------------------------------------------------------------------

SESSION = [(-1, "17:00"), (-1, "20:00"), (0, "02:00"), (0, "08:30"), (0, "11:00"), (0, "15:00")]
DAYS = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2024-03-04", "2024-03-15")] + \
       [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2024-06-10", "2024-06-21") if d.day != 19]


def per_contract_rows() -> list[str]:
    """ESH4, ESM4 and ESU4 bars over two rolls; the back month out-trades the front on 03-11 and 06-11."""
    plan = {"ESH4": (DAYS[:9], 5100.0, "2024-03-11"), "ESM4": (DAYS, 5160.0, "2024-06-11"),
            "ESU4": (DAYS[10:], 5230.0, None)}
    rng = np.random.default_rng(5)
    rows = []
    for code, (days, base, fades) in plan.items():
        price = base
        for day in days:
            busy = fades is None or day <= fades
            for shift, clock in SESSION:
                t = (pd.Timestamp(day) + pd.Timedelta(days=shift) + pd.Timedelta(clock + ":00"))
                t = t.tz_localize("America/Chicago").tz_convert("UTC")
                o, price = price, price + 0.25 * int(rng.integers(-6, 7))
                vol = (900 if busy else 80) + int(rng.integers(0, 50))
                rows.append((t, f"{t:%Y-%m-%dT%H:%M:%SZ},{o},{max(o, price) + 0.5},{min(o, price) - 0.5},"
                                f"{price},{vol},{code}"))
    return [r for _, r in sorted(rows, key=lambda x: x[0])]


@pytest.mark.parametrize("roll", ["calendar", "volume"])
def test_merge_of_truncated_data_equals_the_full_merge_up_to_the_cut(tmp_path, roll):
    rows = per_contract_rows()
    full = build_merged(write(tmp_path / "full.csv", rows), None, MergeOptions(roll=roll))
    assert len(full.series.rolls) == 2
    stamps = pd.DatetimeIndex([r.split(",")[0] for r in rows])
    trade = pd.DatetimeIndex(assign_sessions(stamps).trade_date)
    cuts = [pd.Timestamp(d) for d in DAYS[2:]]
    for cut in cuts:
        keep = [r for r, d in zip(rows, trade) if d < cut]
        part = build_merged(write(tmp_path / "part.csv", keep), None, MergeOptions(roll=roll)).bars
        expected = full.bars.loc[full.bars["trade_date"] < cut]
        pd.testing.assert_frame_equal(part, expected, check_exact=True)


def test_merge_options_and_cli_have_no_back_adjustment(tmp_path, capsys):
    assert not hasattr(MergeOptions(), "adjustment")
    es = write(tmp_path / "bars.csv", bar_rows("2024-03-05", 5100.0, "ESH4"))
    vix = tmp_path / "VIX_History.csv"
    vix.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n03/04/2024,14.0,14.5,13.5,14.46\n")
    with pytest.raises(SystemExit) as stop:
        main(["data", "merge", "--es", str(es), "--vix", str(vix), "--out", str(tmp_path / "m.csv"),
              "--adjust", "difference"])
    assert stop.value.code == 2
    assert "--adjust" in capsys.readouterr().err
    assert not (tmp_path / "m.csv").exists()


# --------------------------------------------------------------------------------------------
# 3. a continuous file without a contract column
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic_es(tmp_path_factory):
    """The synthetic market (front contract per trade date, raw jumps at the rolls) as a FirstRate file."""
    bars, _ = synthesize(SynthConfig(start="2024-02-26", end="2024-06-21", seed=3))
    path = tmp_path_factory.mktemp("firstrate") / "ES.csv"
    et = bars.index.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M:%S")
    table = pd.DataFrame({"t": et, **{k: bars[k].to_numpy() for k in ("open", "high", "low", "close")},
                          "v": bars["volume"].to_numpy().astype(np.int64)})
    table.to_csv(path, header=False, index=False)
    return bars, path


def jump(bars: pd.DataFrame, day: str) -> float:
    i = int(np.flatnonzero((bars["trade_date"] == pd.Timestamp(day)).to_numpy())[0])
    return float(bars["open"].iloc[i] - bars["close"].iloc[i - 1])


def test_file_without_contracts_gets_the_calendar_contracts_and_a_warning(synthetic_es):
    truth, path = synthetic_es
    result = build_merged(path, None, MergeOptions(es_format="firstrate"))
    merged = result.bars
    pd.testing.assert_index_equal(merged.index, truth.index)
    assert merged["contract"].tolist() == truth["contract"].tolist()  # the synthetic market's own fronts
    assert [(r.trade_date, r.from_contract, r.to_contract) for r in result.series.rolls] == [
        (dt.date(2024, 3, 7), "ESH4", "ESM4"), (dt.date(2024, 6, 13), "ESM4", "ESU4")]
    warning = result.loaded.notes[-1]
    assert warning == (
        "ES.csv: no contract column: contracts assigned by the calendar roll (Thursday 8 days before "
        f"expiry); boundaries 2024-03-07 ESH4->ESM4 (jump {jump(truth, '2024-03-07'):+.2f} pts), "
        f"2024-06-13 ESM4->ESU4 (jump {jump(truth, '2024-06-13'):+.2f} pts); "
        "labels, returns and profiles stop there")
    assert abs(jump(truth, "2024-03-07")) > 5  # the raw splice's jump is there to be seen
    # data check reads the contract changes: it shows both rolls
    assert [(d, a, b) for d, a, b, _ in check_bars(merged).rolls] == [
        (dt.date(2024, 3, 7), "ESH4", "ESM4"), (dt.date(2024, 6, 13), "ESM4", "ESU4")]


def test_no_label_horizon_crosses_an_assigned_boundary(synthetic_es):
    _, path = synthetic_es
    merged = build_merged(path, None, MergeOptions(es_format="firstrate")).bars
    # daily bars: only a contract change cuts a horizon (intraday ones stop at every session end)
    days = merged.groupby("trade_date", sort=True)
    daily = pd.DataFrame({"close": days["close"].last().to_numpy(), "contract": days["contract"].first().to_numpy(),
                          "trade_date": days["trade_date"].first().to_numpy()},
                         index=pd.DatetimeIndex(days.apply(lambda g: g.index[0], include_groups=False).to_numpy()))
    assert (days["contract"].nunique() == 1).all()
    table = make_labels(daily, horizon=3, bar_width=pd.Timedelta(days=1))
    contract = daily["contract"].to_numpy()
    known = np.flatnonzero(table.known)
    assert len(known) > 40
    assert all((contract[t:t + 4] == contract[t]).all() for t in known)
    roll = int(np.flatnonzero(contract == "ESM4")[0])
    assert not table.known[roll - 3:roll].any()  # the three days before the roll ask nothing


def test_roll_none_keeps_one_series_and_refuses_several_contracts(synthetic_es, tmp_path):
    _, path = synthetic_es
    result = build_merged(path, None, MergeOptions(es_format="firstrate", roll="none"))
    assert set(result.bars["contract"]) == {"ES"} and result.series.rolls == ()
    assert "--roll none: one series without contract boundaries" in result.loaded.notes[-1]
    rows = bar_rows("2024-03-05", 5100.0, "ESH4") + bar_rows("2024-03-05", 5160.0, "ESM4")
    with pytest.raises(DataError, match="--roll none takes one series, but the bars hold 2 contracts"):
        build_merged(write(tmp_path / "two.csv", rows), None, MergeOptions(roll="none"))


def test_a_file_without_contracts_over_a_decade_gets_two_digit_names():
    from futures_vpoc.data.continuity import assign_calendar_contracts

    days = pd.DatetimeIndex(["2015-01-06", "2015-03-12", "2025-01-07", "2025-03-13"])
    bars = pd.DataFrame({"timestamp": (days + pd.Timedelta(hours=15)).tz_localize("UTC"),
                         "open": [2000.0, 2010.0, 5900.0, 5910.0], "close": [2001.0, 2011.0, 5901.0, 5911.0],
                         "contract": pd.array(["ES"] * 4, dtype="str"), "trade_date": days})
    out, warning = assign_calendar_contracts(bars, "ES.txt")
    assert out["contract"].tolist() == ["ESH15", "ESM15", "ESH25", "ESM25"]
    assert "2015-03-12 ESH15->ESM15 (jump +9.00 pts), 2025-01-07 ESM15->ESH25 (jump +3889.00 pts)" in warning
    assert bars["contract"].tolist() == ["ES"] * 4  # the input is left as it was
