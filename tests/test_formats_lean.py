"""QuantConnect LEAN minute zips: one CSV per contract inside ``<YYYYMMDD>_trade.zip``, UTC, bar start.

The zips here are written by the tests in the layout of ``shared/realdata/SOURCES.md`` section 1
(no header, ``ms_since_midnight,open,high,low,close,volume``, ms since 00:00 UTC of the file date);
the real ones are read in ``test_realdata_lean_merge.py``.
"""

import zipfile

import pandas as pd
import pytest

from futures_vpoc.data.formats import detect_format, read_bars
from futures_vpoc.data.load import load_es
from futures_vpoc.errors import DataError

MS_1430 = (14 * 60 + 30) * 60_000  # 14:30 UTC = 08:30 CST, the RTH open in March before DST


def rows(n=6, start_ms=MS_1430, price=5100.0):
    out = []
    for i in range(n):
        o = price + 0.25 * (i % 3)
        c = o + 0.25
        out.append(f"{start_ms + 60_000 * i},{o},{c + 0.25},{o - 0.25},{c},{10 + i}")
    return out


def lean_zip(folder, date="20240305", tick="trade", entries=None):
    """Write ``<date>_<tick>.zip`` with ``entries`` (entry name -> list of CSV lines)."""
    if entries is None:
        entries = {f"{date}_es_minute_{tick}_202403.csv": rows(),
                   f"{date}_es_minute_{tick}_202406.csv": rows(3, price=5150.0)}
    path = folder / f"{date}_{tick}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, lines in entries.items():
            zf.writestr(name, "\n".join(lines) + "\n")
    return path


def test_each_entry_is_one_contract_stamped_from_utc_midnight(tmp_path):
    path = lean_zip(tmp_path)
    assert detect_format(path) == "lean"
    raw = read_bars(path)
    assert (raw.fmt, raw.zone, raw.stamp) == ("lean", "UTC", "start")
    got = load_es(path).bars
    assert got.contract.tolist() == ["ESH4"] * 6 + ["ESM4"] * 3
    assert got.timestamp.iloc[0] == pd.Timestamp("2024-03-05 14:30", tz="UTC")
    assert got.timestamp.iloc[5] == pd.Timestamp("2024-03-05 14:35", tz="UTC")
    assert got.open.iloc[0] == 5100.0 and got.close.iloc[6] == 5150.25 and got.volume.iloc[1] == 11.0
    assert got.rth.all()


def test_old_entry_names_with_the_expiry_appended(tmp_path):
    # 20200922_es_minute_trade_202012_20201218.csv: contract 202012 = ESZ0 (the 2020 LEAN layout)
    path = lean_zip(tmp_path, "20200922", entries={"20200922_es_minute_trade_202012_20201218.csv":
                                                    rows(3, start_ms=(13 * 60 + 30) * 60_000, price=3300.0)})
    got = load_es(path)
    assert set(got.bars.contract) == {"ESZ0"}
    assert got.bars.timestamp.iloc[0] == pd.Timestamp("2020-09-22 13:30", tz="UTC")


def test_a_bad_cell_names_the_zip_entry_line_and_column(tmp_path):
    bad = rows()
    bad[2] = bad[2].rsplit(",", 2)[0] + ",abc," + bad[2].rsplit(",", 1)[1]  # close of line 3
    path = lean_zip(tmp_path, entries={"20240305_es_minute_trade_202403.csv": rows(),
                                       "20240305_es_minute_trade_202406.csv": bad})
    with pytest.raises(DataError) as exc:
        load_es(path)
    msg = str(exc.value)
    assert "20240305_trade.zip:20240305_es_minute_trade_202406.csv:3:" in msg, msg
    assert "'close'" in msg and "'abc'" in msg and "\n" not in msg


def test_a_validation_error_names_the_entry_and_its_line(tmp_path):
    second = rows(4, price=5150.0)
    ms, o, h, lo, c, v = second[1].split(",")
    second[1] = ",".join([ms, o, str(float(lo) - 1.0), lo, c, v])  # high below low on line 2
    path = lean_zip(tmp_path, entries={"20240305_es_minute_trade_202403.csv": rows(),
                                       "20240305_es_minute_trade_202406.csv": second})
    with pytest.raises(DataError, match=r"20240305_trade\.zip:20240305_es_minute_trade_202406\.csv:2: .*'high'"):
        load_es(path)


def test_ms_outside_the_day_is_refused(tmp_path):
    bad = rows()
    bad[4] = "86400000" + bad[4][bad[4].index(","):]
    path = lean_zip(tmp_path, entries={"20240305_es_minute_trade_202403.csv": bad})
    with pytest.raises(DataError, match=r"_202403\.csv:5: column 'ms' value 86400000"):
        read_bars(path)


def test_a_quote_zip_given_directly_says_where_the_bars_are(tmp_path):
    path = lean_zip(tmp_path, tick="quote")
    with pytest.raises(DataError, match=r"20240305_quote\.zip: LEAN quote file: bars come from the \*_trade\.zip files"):
        load_es(path)


def test_a_folder_reads_the_trade_zips_and_skips_the_others_with_one_note(tmp_path):
    lean_zip(tmp_path, "20240305")
    lean_zip(tmp_path, "20240306", entries={"20240306_es_minute_trade_202403.csv": rows()})
    lean_zip(tmp_path, "20240305", tick="quote")
    lean_zip(tmp_path, "20240305", tick="openinterest", entries={"20240305_es_minute_openinterest_202403.csv": ["1000,5"]})
    got = load_es(tmp_path)
    assert got.formats == ("lean", "lean")
    assert len(got.bars) == 15
    assert f"{tmp_path.name}: skipped 2 LEAN quote/openinterest zip(s) (bars come from the *_trade.zip files)" in got.notes


def test_a_folder_of_quote_zips_only_has_no_bars(tmp_path):
    lean_zip(tmp_path, tick="quote")
    with pytest.raises(DataError, match="no bar files in the folder.*_trade.zip"):
        load_es(tmp_path)


def test_a_zip_of_something_else_is_refused(tmp_path):
    path = tmp_path / "bars.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ESH4.csv", "timestamp,open,high,low,close,volume\n")
    with pytest.raises(DataError, match=r"bars\.zip: zip archive that is not a LEAN minute zip"):
        load_es(path)
    broken = tmp_path / "20240305_trade.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=r"20240305_trade\.zip: "):
        load_es(broken)


def test_tz_is_ignored_with_a_note(tmp_path):
    got = load_es(lean_zip(tmp_path), tz="America/New_York")
    assert got.bars.timestamp.iloc[0] == pd.Timestamp("2024-03-05 14:30", tz="UTC")
    assert any("LEAN futures stamps are UTC; --tz ignored" in n for n in got.notes)
