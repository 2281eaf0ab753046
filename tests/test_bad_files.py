"""Files a user has that are wrong, through ``futures-vpoc data merge``: exit 2, one line naming the
file (and the line where there is one), and no output written.

Cases: a vendor layout missing a column, a folder mixing layouts, a corrupt or truncated DBN file,
prices on the wrong scale (a ×100 export; Databento's own ohlcv test fixtures).
"""

import zipfile

import databento_dbn as dbn
import pandas as pd
import pytest
from realdata import DATABENTO, needs_realdata

from futures_vpoc.cli import main

N = 12


def generic_rows(scale=1.0):
    stamps = pd.date_range("2024-03-07 14:30", periods=N, freq="1min")
    rows = ["timestamp,open,high,low,close,volume"]
    for i, t in enumerate(stamps):
        o = 5100 + 0.25 * (i % 3)
        rows.append(f"{t:%Y-%m-%dT%H:%M:%S}Z,{o * scale:g},{(o + 0.5) * scale:g},{(o - 0.25) * scale:g},"
                    f"{(o + 0.25) * scale:g},{100 + i}")
    return rows


def vix(tmp_path):
    path = tmp_path / "VIX_History.csv"
    path.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n03/05/2024,14.0,14.5,13.5,14.46\n03/06/2024,14.4,14.6,14.0,14.50\n")
    return path


def merge_fails(tmp_path, es, capsys):
    """Run the merge; return stderr's one line after checking exit 2 and that nothing was written."""
    out = tmp_path / "out" / "merged.csv"
    out.parent.mkdir(exist_ok=True)
    code = main(["data", "merge", "--es", str(es), "--vix", str(vix(tmp_path)), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert list(out.parent.iterdir()) == [], "a failed merge wrote something"
    assert err.startswith("futures-vpoc: error: "), err
    return err.removeprefix("futures-vpoc: error: ")


def test_vendor_layouts_missing_a_column(tmp_path, capsys):
    es = tmp_path / "glbx.ohlcv-1m.csv"
    es.write_text("ts_event,rtype,publisher_id,instrument_id,open,high,low,volume,symbol\n"
                  "1709821800000000000,33,1,5002,5100.25,5100.75,5100.0,812,ESH4\n")
    err = merge_fails(tmp_path, es, capsys)
    assert "glbx.ohlcv-1m.csv:1: missing column(s) close" in err, err
    lean = tmp_path / "20240307_trade.zip"
    with zipfile.ZipFile(lean, "w") as zf:  # LEAN trade rows without the volume
        zf.writestr("20240307_es_minute_trade_202403.csv", "52200000,5100,5100.5,5099.75,5100.25\n")
    err = merge_fails(tmp_path, lean, capsys)
    assert "20240307_trade.zip:20240307_es_minute_trade_202403.csv:1: expected 6 fields" in err, err


def test_a_folder_mixing_layouts_names_both_files_and_formats(tmp_path, capsys):
    folder = tmp_path / "bars"
    folder.mkdir()
    (folder / "ESH4.csv").write_text("\n".join(generic_rows()) + "\n")
    (folder / "ES 03-24.Last.txt").write_text("20240307 143100;5100;5100.5;5099.75;5100.25;812\n"
                                             "20240307 143200;5100.25;5100.75;5100;5100.5;455\n")
    err = merge_fails(tmp_path, folder, capsys)
    assert err.startswith(f"{folder}: mixed bar file layouts in one folder: ES 03-24.Last.txt is ninjatrader, "
                          "ESH4.csv is generic"), err


def write_dbn(path):
    meta = dbn.Metadata(dataset="GLBX.MDP3", start=pd.Timestamp("2024-03-07", tz="UTC").value,
                        stype_in=dbn.SType.RAW_SYMBOL, stype_out=dbn.SType.INSTRUMENT_ID, schema=dbn.Schema.OHLCV_1M,
                        symbols=["ESH4"], end=pd.Timestamp("2024-03-08", tz="UTC").value)
    data = meta.encode()
    for i in range(N):
        t = pd.Timestamp("2024-03-07 14:30", tz="UTC").value + i * 60 * 10**9
        data += bytes(dbn.OHLCVMsg(dbn.RType.OHLCV_1M, 1, 5002, t, 5100 * 10**9, 5101 * 10**9, 5099 * 10**9,
                                   5100 * 10**9, 10))
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("how", ["truncated", "header only", "random bytes"])
def test_a_corrupt_dbn_file(tmp_path, capsys, how):
    data = write_dbn(tmp_path / "whole.dbn")
    es = tmp_path / "esh4.ohlcv-1m.dbn"
    es.write_bytes({"truncated": data[:-23], "header only": data[:12], "random bytes": bytes(range(7, 250)) * 9}[how])
    err = merge_fails(tmp_path, es, capsys)
    assert err.startswith(f"{es}: corrupt or truncated DBN file"), err


@needs_realdata
def test_a_truncated_real_dbn_zst(tmp_path, capsys):
    real = DATABENTO / "nautilus_trader/options_exercise/databento/futures_ohlcv-1m_2026-01-09T20-55_2026-01-09T21-05.dbn.zst"
    es = tmp_path / real.name
    es.write_bytes(real.read_bytes()[: len(real.read_bytes()) // 2])
    err = merge_fails(tmp_path, es, capsys)
    assert err.startswith(f"{es}: corrupt or truncated DBN file (zstd:"), err


def test_prices_a_hundred_times_too_big(tmp_path, capsys):
    es = tmp_path / "ESH4_cents.csv"
    es.write_text("\n".join(generic_rows(scale=100)) + "\n")
    err = merge_fails(tmp_path, es, capsys)
    assert err.startswith(f"{es}:2: column 'close' value 510025.0: median close 510050 is not an ES price in "
                          "index points"), err
    assert "the file may be in cents or ×100 (divide by 100)" in err


@needs_realdata
def test_databento_ohlcv_fixtures_are_on_the_wrong_scale(tmp_path, capsys):
    # databento/dbn's synthetic ohlcv fixtures decode to 372025 (= 3720.25 x 100), SOURCES.md 4b
    es = DATABENTO / "dbn" / "test_data.ohlcv-1m.dbn"
    err = merge_fails(tmp_path, es, capsys)
    assert err.startswith(f"{es}: column 'close' value 372100.0: row 1: median close 372125 is not an ES price"), err


def test_prices_a_hundred_times_too_small(tmp_path, capsys):
    es = tmp_path / "ESH4_hundreds.csv"
    es.write_text("\n".join(generic_rows(scale=0.01)) + "\n")
    err = merge_fails(tmp_path, es, capsys)
    assert err.startswith(f"{es}:2: column 'close' value 51.0025: median close 51.005 is not an ES price"), err
    assert err.endswith("the prices may be divided by 100 (÷100); multiply them by 100"), err
