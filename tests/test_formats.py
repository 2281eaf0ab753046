"""Vendor formats: every fixture in tests/data/formats describes the SAME 12 one-minute ESH4 bars.

The fixtures were written from each vendor's documented layout
(``shared/reference/es_market_and_data_formats.md`` section 2): NinjaTrader in UTC with bar-END
stamps, Kibot / FirstRate / Sierra (chart set to New York) in US Eastern with bar-START stamps,
TradeStation in exchange time (Chicago) with bar-END stamps and Up/Down volume, Databento in UTC
(fixed-point integers with ns stamps, and decimals with ISO stamps), generic CSV/Parquet in UTC
and a generic CSV in Chicago local time without an offset.

The bars span the US daylight-saving change of Sunday 2024-03-10 (02:00 local): Thursday and
Friday are on standard time (CST = UTC-6, EST = UTC-5), Sunday evening and Monday on daylight time
(CDT = UTC-5, EDT = UTC-4). The expected UTC bar starts below are computed by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.data.formats import FORMATS, detect_format
from futures_vpoc.data.load import COLUMNS, load_es
from futures_vpoc.errors import DataError

DATA = Path(__file__).parent / "data" / "formats"

# Bar START, UTC, by hand. CT = America/Chicago; ET = CT + 1 h.
EXPECTED_UTC = [
    "2024-03-07 23:00",  # Thu 17:00 CST (UTC-6) -> 23:00 UTC; opens Friday's trade date
    "2024-03-07 23:01",  # Thu 17:01 CST -> 23:01 UTC
    "2024-03-08 14:30",  # Fri 08:30 CST -> 14:30 UTC; RTH open
    "2024-03-08 14:31",  # Fri 08:31 CST -> 14:31 UTC
    "2024-03-08 21:58",  # Fri 15:58 CST -> 21:58 UTC; after RTH (ends 15:00 CT)
    "2024-03-08 21:59",  # Fri 15:59 CST -> 21:59 UTC; last bar before the 16:00 CT close
    "2024-03-10 22:00",  # Sun 17:00 CDT (UTC-5, DST began 02:00 that morning) -> 22:00 UTC; week open
    "2024-03-10 22:01",  # Sun 17:01 CDT -> 22:01 UTC
    "2024-03-11 13:30",  # Mon 08:30 CDT -> 13:30 UTC; RTH open
    "2024-03-11 13:31",  # Mon 08:31 CDT -> 13:31 UTC
    "2024-03-11 19:59",  # Mon 14:59 CDT -> 19:59 UTC; last RTH bar
    "2024-03-11 20:00",  # Mon 15:00 CDT -> 20:00 UTC; first bar after RTH
]
# Thursday/Friday bars belong to trade date Fri 03-08; Sunday-evening and Monday bars to Mon 03-11.
EXPECTED_TRADE_DATE = ["2024-03-08"] * 6 + ["2024-03-11"] * 6
EXPECTED_RTH = [False, False, True, True, False, False, False, False, True, True, True, False]
EXPECTED_OHLC = [
    (5170.00, 5171.25, 5169.50, 5170.75), (5170.75, 5171.00, 5170.25, 5170.50),
    (5160.25, 5163.50, 5158.75, 5162.00), (5162.00, 5164.25, 5161.50, 5163.75),
    (5135.50, 5136.00, 5134.25, 5134.75), (5134.75, 5135.25, 5133.50, 5134.00),
    (5131.00, 5132.50, 5130.75, 5132.25), (5132.25, 5133.00, 5131.75, 5132.75),
    (5126.50, 5128.00, 5124.75, 5125.25), (5125.25, 5126.75, 5124.50, 5126.50),
    (5140.00, 5141.25, 5139.50, 5140.75), (5140.75, 5141.00, 5139.75, 5140.25),
]
EXPECTED_VOLUME = [812, 455, 9120, 6034, 1407, 2210, 1310, 388, 8402, 5127, 4391, 2876]

# file, format, --tz the file needs (None: the format defines it)
CASES = [
    ("ES 03-24.Last.txt", "ninjatrader", None),
    ("ESH24_kibot.txt", "kibot", None),
    ("ESH24_tradestation.txt", "tradestation", None),
    ("ESH24_sierra_ny.txt", "sierra", "America/New_York"),
    ("ESH24_firstrate_1min.txt", "firstrate", None),
    ("ESH4_databento_fixed.ohlcv-1m.csv", "databento", None),
    ("databento_decimal.ohlcv-1m.csv", "databento", None),
    ("generic_utc.csv", "generic", None),
    ("generic_utc.parquet", "generic", None),
    ("ESH4_generic_chicago.csv", "generic", "America/Chicago"),
]


def expected_frame(contract: str = "ESH4") -> pd.DataFrame:
    ohlc = np.asarray(EXPECTED_OHLC)
    return pd.DataFrame({
        "timestamp": pd.DatetimeIndex(EXPECTED_UTC).tz_localize("UTC").as_unit("ns"),
        "open": ohlc[:, 0], "high": ohlc[:, 1], "low": ohlc[:, 2], "close": ohlc[:, 3],
        "volume": np.asarray(EXPECTED_VOLUME, dtype="float64"),
        "contract": pd.array([contract] * 12, dtype="str"),
        "trade_date": pd.DatetimeIndex(EXPECTED_TRADE_DATE).as_unit("ns"),
        "rth": np.asarray(EXPECTED_RTH),
    })


def write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize("name,fmt,tz", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("how", ["auto", "explicit"])
def test_fixture_loads_to_the_same_bars(name, fmt, tz, how):
    got = load_es(DATA / name, fmt="auto" if how == "auto" else fmt, tz=tz)
    pd.testing.assert_frame_equal(got.bars, expected_frame(), check_exact=True)
    assert list(got.bars.columns) == list(COLUMNS)
    assert got.formats == (fmt,)
    verb = "detected" if how == "auto" else "read as"
    assert got.notes[0].startswith(f"{name}: {verb} {fmt} (")
    assert got.repairs == {"bad_print": 0, "off_grid": 0, "outside_session": 0}


@pytest.mark.parametrize("name,fmt,tz", CASES, ids=[c[0] for c in CASES])
def test_detect_format(name, fmt, tz):
    assert detect_format(DATA / name) == fmt


def test_sunday_evening_bars_get_mondays_trade_date():
    bars = load_es(DATA / "ES 03-24.Last.txt").bars
    sunday = bars[bars.timestamp.dt.tz_convert("America/Chicago").dt.day_of_week == 6]
    assert len(sunday) == 2
    assert (sunday.trade_date == pd.Timestamp("2024-03-11")).all()
    assert not sunday.rth.any()


def test_ninjatrader_bar_end_becomes_bar_start():
    # First line "20240307 230100;..." is the bar that ENDS 23:01 UTC, so it starts at 23:00 UTC.
    first = (DATA / "ES 03-24.Last.txt").read_text().splitlines()[0]
    assert first.startswith("20240307 230100;")
    bars = load_es(DATA / "ES 03-24.Last.txt").bars
    assert bars.timestamp.iloc[0] == pd.Timestamp("2024-03-07 23:00", tz="UTC")
    assert "UTC, bar end" in load_es(DATA / "ES 03-24.Last.txt").notes[0]


def test_stamp_override_start_keeps_the_stamps(tmp_path):
    # --stamp start on the NinjaTrader file: no shift. 23:01 UTC Thu and all others shift by +1 min;
    # the Friday 22:00 UTC stamp (= 16:00 CST, the close) is then outside the session.
    with pytest.raises(DataError, match=r"ES 03-24.Last.txt:6: .*outside every Globex session"):
        load_es(DATA / "ES 03-24.Last.txt", stamp="start")


def test_databento_fixed_point_and_decimal_agree():
    fixed = load_es(DATA / "ESH4_databento_fixed.ohlcv-1m.csv")
    decimal = load_es(DATA / "databento_decimal.ohlcv-1m.csv")
    pd.testing.assert_frame_equal(fixed.bars, decimal.bars, check_exact=True)
    # 5170000000000 units of 1e-9 = 5170.00 index points
    assert fixed.bars.open.iloc[0] == 5170.0
    assert any("fixed-point" in n for n in fixed.notes)
    assert not any("fixed-point" in n for n in decimal.notes)


def test_databento_symbols_and_spreads(tmp_path):
    # Two outright contracts and one calendar spread (dropped); ts_event in integer ns.
    # 1709852400000000000 ns = 2024-03-07 23:00:00 UTC (19789 days * 86400 s + 23 h).
    path = write(tmp_path / "glbx.ohlcv-1m.csv", """
ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol
1709852400000000000,33,1,5002,5170.000000000,5171.250000000,5169.500000000,5170.750000000,812,ESH4
1709852400000000000,33,1,5003,5227.500000000,5228.000000000,5227.000000000,5227.750000000,90,ESM4
1709852400000000000,33,1,5100,57.000000000,57.050000000,56.950000000,57.000000000,5,ESH4-ESM4
1709852460000000000,33,1,5002,5170.750000000,5171.000000000,5170.250000000,5170.500000000,455,ESH4
1709852460000000000,33,1,5003,5227.750000000,5228.250000000,5227.500000000,5228.000000000,40,ESM4
""")
    got = load_es(path)
    assert got.bars.contract.tolist() == ["ESH4", "ESH4", "ESM4", "ESM4"]
    assert got.bars.timestamp.tolist() == [pd.Timestamp("2024-03-07 23:00", tz="UTC"),
                                          pd.Timestamp("2024-03-07 23:01", tz="UTC")] * 2
    assert any("dropped 1 spread" in n for n in got.notes)


def test_tradestation_volume_is_up_plus_down():
    first = (DATA / "ESH24_tradestation.txt").read_text().splitlines()[1]
    assert first.endswith(",430,382")  # Up 430 + Down 382
    assert load_es(DATA / "ESH24_tradestation.txt").bars.volume.iloc[0] == 812.0


def test_tradestation_hhmm_times(tmp_path):
    # HHMM without a colon, and an unpadded 831 (= 08:31): bar END 08:31 CST -> start 14:30 UTC.
    path = write(tmp_path / "ESH24.txt", """
"Date","Time","Open","High","Low","Close","Up","Down"
03/08/2024,831,5160.25,5163.50,5158.75,5162.00,4870,4250
03/08/2024,0832,5162.00,5164.25,5161.50,5163.75,3311,2723
03/08/2024,1559,5135.50,5136.00,5134.25,5134.75,650,757
03/08/2024,1600,5134.75,5135.25,5133.50,5134.00,1004,1206
03/11/2024,0831,5126.50,5128.00,5124.75,5125.25,3950,4452
""")
    bars = load_es(path).bars
    assert bars.timestamp.dt.strftime("%m-%d %H:%M").tolist() == [
        "03-08 14:30", "03-08 14:31", "03-08 21:58", "03-08 21:59",
        "03-11 13:30",  # Mon 08:31 CDT end -> 08:30 CDT start = 13:30 UTC
    ]
    assert bars.volume.tolist() == [9120.0, 6034.0, 1407.0, 2210.0, 8402.0]


def test_firstrate_end_stamped_file_is_detected(tmp_path):
    # The same bars stamped at their END (ET): 18:01 for the 18:00 bar, ..., 16:01 for the 16:00 bar.
    lines = (DATA / "ESH24_firstrate_1min.txt").read_text().splitlines()
    shifted = []
    for line in lines:
        t = pd.Timestamp(line[:19]) + pd.Timedelta(minutes=1)
        shifted.append(t.strftime("%Y-%m-%d %H:%M:%S") + line[19:])
    path = write(tmp_path / "ESH24_1min.txt", "\n".join(shifted) + "\n")
    got = load_es(path)
    pd.testing.assert_frame_equal(got.bars, expected_frame(), check_exact=True)
    assert "America/New_York, bar end: " in got.notes[0]
    start = load_es(DATA / "ESH24_firstrate_1min.txt")
    assert "America/New_York, bar start: " in start.notes[0]


def test_generic_offsets_in_text(tmp_path):
    # 17:00-06:00 (CST) = 23:00Z; 17:00-05:00 (CDT) = 22:00Z.
    path = write(tmp_path / "bars.csv", """
DateTime,OPEN,High,low,Close,VOLUME,contract
2024-03-07T17:00:00-06:00,5170.00,5171.25,5169.50,5170.75,812,ESH24
2024-03-07T17:01:00-06:00,5170.75,5171.00,5170.25,5170.50,455,ESH24
2024-03-10T17:00:00-05:00,5131.00,5132.50,5130.75,5132.25,1310,ESH24
""")
    bars = load_es(path).bars
    assert bars.timestamp.dt.strftime("%m-%d %H:%M").tolist() == ["03-07 23:00", "03-07 23:01", "03-10 22:00"]
    assert bars.contract.tolist() == ["ESH4"] * 3
    assert bars.trade_date.dt.strftime("%Y-%m-%d").tolist() == ["2024-03-08", "2024-03-08", "2024-03-11"]


def test_generic_semicolon_and_fractional_seconds(tmp_path):
    path = write(tmp_path / "ESH4.csv", """
time;open;high;low;close;volume
2024-03-08 08:30:00.000;5160.25;5163.50;5158.75;5162.00;9120
2024-03-08 08:31:00.000;5162.00;5164.25;5161.50;5163.75;6034
""")
    bars = load_es(path, tz="America/Chicago").bars
    # 08:30 CST = 14:30 UTC
    assert bars.timestamp.tolist() == [pd.Timestamp("2024-03-08 14:30", tz="UTC"),
                                       pd.Timestamp("2024-03-08 14:31", tz="UTC")]
    assert bars.rth.tolist() == [True, True]


def test_generic_stamp_end_override(tmp_path):
    path = write(tmp_path / "ESH4.csv", """
timestamp,open,high,low,close,volume
2024-03-08T14:31:00Z,5160.25,5163.50,5158.75,5162.00,9120
2024-03-08T14:32:00Z,5162.00,5164.25,5161.50,5163.75,6034
""")
    bars = load_es(path, stamp="end").bars
    assert bars.timestamp.iloc[0] == pd.Timestamp("2024-03-08 14:30", tz="UTC")


def test_folder_of_two_ninjatrader_contracts():
    got = load_es(DATA / "nt_folder")
    bars = got.bars
    assert got.formats == ("ninjatrader", "ninjatrader")
    assert bars.contract.tolist() == ["ESH4"] * 12 + ["ESM4"] * 6
    # the same timestamp appears once per contract: ESM4's six bars overlap ESH4's last six
    assert bars.timestamp.iloc[12:].tolist() == bars.timestamp.iloc[6:12].tolist()
    assert not bars.duplicated(["contract", "timestamp"]).any()
    assert bars.loc[bars.contract == "ESM4", "open"].iloc[0] == 5131.00 + 57.5
    pd.testing.assert_frame_equal(bars.iloc[:12].reset_index(drop=True), expected_frame())


def test_folder_without_contract_names_uses_es(tmp_path):
    src = (DATA / "ESH24_kibot.txt").read_text()
    write(tmp_path / "minute_bars.txt", src)
    got = load_es(tmp_path)
    assert set(got.bars.contract) == {"ES"}
    assert any("contract set to 'ES'" in n for n in got.notes)


def test_kibot_tz_override_moves_the_bars():
    # Kibot is US Eastern; --tz America/Chicago reads 18:00 as 18:00 CST = 00:00 UTC next day, and
    # Friday's 16:58 and 16:59 and Monday's 16:00 as CT, i.e. after the close: outside any session.
    with pytest.raises(DataError, match=r"ESH24_kibot.txt:5: .*outside every Globex session.*--tz"):
        load_es(DATA / "ESH24_kibot.txt", tz="America/Chicago")
    got = load_es(DATA / "ESH24_kibot.txt", tz="America/Chicago", repair=True)
    assert got.bars.timestamp.iloc[0] == pd.Timestamp("2024-03-08 00:00", tz="UTC")
    assert got.repairs["outside_session"] == 3


def test_sierra_needs_tz():
    with pytest.raises(DataError, match=r"ESH24_sierra_ny.txt: .*time zone.*--tz"):
        load_es(DATA / "ESH24_sierra_ny.txt")


def test_unknown_layout_names_first_line_and_formats(tmp_path):
    path = write(tmp_path / "bars.txt", "hello world\n1 2 3\n")
    with pytest.raises(DataError) as err:
        load_es(path)
    msg = str(err.value)
    assert "bars.txt:1:" in msg and "hello world" in msg
    for fmt in FORMATS[1:]:
        assert fmt in msg


def test_bad_arguments_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="unknown --es-format"):
        load_es(DATA / "ES 03-24.Last.txt", fmt="csv")
    with pytest.raises(DataError, match="unknown time zone"):
        load_es(DATA / "ES 03-24.Last.txt", tz="Mars/Olympus")
    with pytest.raises(DataError, match="unknown bar stamp"):
        load_es(DATA / "ES 03-24.Last.txt", stamp="middle")
    with pytest.raises(DataError, match="not found"):
        load_es(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="no bar files"):
        load_es(tmp_path)


def test_generic_epoch_seconds(tmp_path):
    # 1709852400 s = 19789 days * 86400 + 23 h = 2024-03-07 23:00:00 UTC (Thu 17:00 CST).
    path = write(tmp_path / "ESH4.csv", """
ts,open,high,low,close,volume
1709852400,5170.00,5171.25,5169.50,5170.75,812
1709852460,5170.75,5171.00,5170.25,5170.50,455
""")
    bars = load_es(path).bars
    assert bars.timestamp.tolist() == [pd.Timestamp("2024-03-07 23:00", tz="UTC"),
                                       pd.Timestamp("2024-03-07 23:01", tz="UTC")]
    assert bars.trade_date.tolist() == [pd.Timestamp("2024-03-08")] * 2
