"""Databento DBN files, and contracts from instrument ids (continuous symbols) in DBN and CSV.

DBN files are written here with ``databento_dbn`` itself (``Metadata(...).encode()`` followed by the
bytes of each ``OHLCVMsg``; zstd through pyarrow), so the continuous-symbol cases need no real
data; the real fixtures of ``shared/realdata/databento`` are read where present.
"""

import datetime as dt
from types import SimpleNamespace as NS

import databento_dbn as dbn
import numpy as np
import pandas as pd
import pytest
from zstd_bytes import zstd as zstd_compress
from realdata import DATABENTO, needs_realdata

from futures_vpoc.data.formats import detect_format, read_bars
from futures_vpoc.data.formats.instruments import first_by_rule
from futures_vpoc.data.load import load_es
from futures_vpoc.data.merge import MergeOptions, build_merged
from futures_vpoc.errors import DataError

NS_MIN = 60 * 10**9
# ESH4 (instrument 17077) on trade dates 2024-03-05/06 at the RTH open (14:30 UTC = 08:30 CST); ESM4
# (5602) on 2024-03-18, after ESH4's expiry (Fri 2024-03-15) and DST (13:30 UTC = 08:30 CDT).
DAYS = {17077: ("2024-03-05 14:30", "2024-03-06 14:30"), 5602: ("2024-03-18 13:30",)}
PRICE = {17077: 5100.0, 5602: 5150.0}


def bars(per_day=5):
    out = []
    for iid, starts in DAYS.items():
        for start in starts:
            t0 = pd.Timestamp(start, tz="UTC").value
            for i in range(per_day):
                o = PRICE[iid] + 0.25 * (i % 2)
                out.append((iid, t0 + i * NS_MIN, o, o + 0.5, o - 0.25, o + 0.25, 10 + i))
    return out


def write_dbn(path, records, symbol="ES.c.0", stype_in=dbn.SType.CONTINUOUS, schema=dbn.Schema.OHLCV_1M,
              mappings=None, zstd=False):
    """A DBN file of OHLCV ``records`` (instrument_id, ts ns, o, h, l, c, volume); prices in points."""
    if mappings is None:
        mappings = [NS(raw_symbol=symbol, intervals=[
            NS(start_date=dt.date(2024, 3, 1), end_date=dt.date(2024, 3, 16), symbol="17077"),
            NS(start_date=dt.date(2024, 3, 16), end_date=dt.date(2024, 3, 31), symbol="5602")])]
    meta = dbn.Metadata(dataset="GLBX.MDP3", start=pd.Timestamp("2024-03-01", tz="UTC").value, stype_in=stype_in,
                        stype_out=dbn.SType.INSTRUMENT_ID, schema=schema, symbols=[symbol], mappings=mappings,
                        end=pd.Timestamp("2024-03-31", tz="UTC").value)
    data = meta.encode()
    for iid, ts, o, h, lo, c, v in records:
        px = [int(round(x * 1e9)) for x in (o, h, lo, c)]
        data += bytes(dbn.OHLCVMsg(dbn.RType.OHLCV_1M, 1, iid, ts, *px, v))
    if zstd:
        data = zstd_compress(data)
    path.write_bytes(data)
    return path


CALENDAR_NOTE = "ES.c.0: instrument 17077 -> ESH4, 5602 -> ESM4 (named by the calendar; the file gives no contract symbols)"


def check_two_contracts_and_a_roll(path):
    loaded = load_es(path)
    got = loaded.bars
    assert got.contract.tolist() == ["ESH4"] * 10 + ["ESM4"] * 5
    assert any(n.endswith(CALENDAR_NOTE) for n in loaded.notes), loaded.notes
    merged = build_merged(path, None, MergeOptions())
    rolls = merged.series.rolls
    assert [(r.from_contract, r.to_contract, r.trade_date) for r in rolls] == [("ESH4", "ESM4", dt.date(2024, 3, 18))]
    assert merged.bars.contract.iloc[0] == "ESH4" and merged.bars.contract.iloc[-1] == "ESM4"


def test_dbn_continuous_symbol_is_one_contract_per_instrument(tmp_path):
    path = write_dbn(tmp_path / "es-c0.ohlcv-1m.dbn", bars())
    assert detect_format(path) == "dbn"
    check_two_contracts_and_a_roll(path)


def test_dbn_zstd_reads_the_same(tmp_path):
    plain = load_es(write_dbn(tmp_path / "a.dbn", bars())).bars
    packed = load_es(write_dbn(tmp_path / "a.dbn.zst", bars(), zstd=True)).bars
    pd.testing.assert_frame_equal(plain, packed)
    assert plain.open.iloc[0] == 5100.0 and plain.close.iloc[-1] == 5150.25


def csv_text(symbol_column=True, symbol="ES.c.0"):
    head = "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume" + (",symbol" if symbol_column else "")
    lines = [head]
    for iid, ts, o, h, lo, c, v in bars():
        lines.append(f"{ts},33,1,{iid},{o:.9f},{h:.9f},{lo:.9f},{c:.9f},{v}" + (f",{symbol}" if symbol_column else ""))
    return "\n".join(lines) + "\n"


def test_databento_csv_continuous_symbol_is_one_contract_per_instrument(tmp_path):
    # Before issue 15 every row was contract 'ES.c.0' and returns ran across the roll.
    path = tmp_path / "glbx-mdp3.ohlcv-1m.csv"
    path.write_text(csv_text())
    check_two_contracts_and_a_roll(path)


def test_databento_csv_without_symbols_names_instruments_by_the_calendar(tmp_path):
    path = tmp_path / "glbx-mdp3.ohlcv-1m.csv"
    path.write_text(csv_text(symbol_column=False))
    loaded = load_es(path)
    assert sorted(set(loaded.bars.contract)) == ["ESH4", "ESM4"]
    assert any("instrument 17077 -> ESH4, 5602 -> ESM4 (named by the calendar" in n for n in loaded.notes)


def test_raw_symbols_still_name_the_contracts(tmp_path):
    maps = [NS(raw_symbol="ESH4", intervals=[NS(start_date=dt.date(2024, 3, 1), end_date=dt.date(2024, 3, 31), symbol="17077")]),
            NS(raw_symbol="ESM4", intervals=[NS(start_date=dt.date(2024, 3, 1), end_date=dt.date(2024, 3, 31), symbol="5602")])]
    path = write_dbn(tmp_path / "raw.dbn", bars(), symbol="ESH4", stype_in=dbn.SType.RAW_SYMBOL, mappings=maps)
    loaded = load_es(path)
    assert sorted(set(loaded.bars.contract)) == ["ESH4", "ESM4"]
    assert not any("named by the calendar" in n for n in loaded.notes)


def test_the_rules_name_the_first_instrument():
    # .c. = by expiry: on 2024-03-12 ESH4 (expires 03-15) is still front; the calendar roll (03-07)
    # has already made ESM4 front for .v./.n. and for files without symbols.
    assert first_by_rule("c", "ES", dt.date(2024, 3, 12)).code == "ESH4"
    assert first_by_rule("v", "ES", dt.date(2024, 3, 12)).code == "ESM4"
    assert first_by_rule("c", "ES", dt.date(2024, 3, 16)).code == "ESM4"
    assert first_by_rule("c", "ES", dt.date(2024, 3, 12), rank=1).code == "ESM4"
    assert first_by_rule("n", "MES", dt.date(2023, 12, 31)).code == "MESH4"


def test_overlapping_unnamed_instruments_and_parent_symbols_are_refused(tmp_path):
    rec = bars()
    rec += [(5602, ts, *rest) for iid, ts, *rest in rec if iid == 17077 and ts < pd.Timestamp("2024-03-06", tz="UTC").value]
    path = tmp_path / "two.ohlcv-1m.csv"
    path.write_text("ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume\n" + "\n".join(
        f"{ts},33,1,{iid},{o},{h},{lo},{c},{v}" for iid, ts, o, h, lo, c, v in sorted(rec, key=lambda r: r[1])) + "\n")
    with pytest.raises(DataError, match=r"two\.ohlcv-1m\.csv: instruments (17077 and 5602|5602 and 17077) trade at the same time"):
        load_es(path)
    parent = write_dbn(tmp_path / "parent.dbn", bars(), symbol="ES.FUT", stype_in=dbn.SType.PARENT)
    with pytest.raises(DataError, match=r"parent\.dbn: parent symbol ES\.FUT"):
        load_es(parent)


def test_schema_empty_and_corrupt_dbn_are_one_line_errors(tmp_path):
    trades = write_dbn(tmp_path / "t.dbn", [], schema=dbn.Schema.TRADES)
    with pytest.raises(DataError, match=r"t\.dbn: DBN schema trades holds trades, not bars"):
        load_es(trades)
    empty = write_dbn(tmp_path / "e.dbn", [])
    with pytest.raises(DataError, match=r"e\.dbn: no bars"):
        load_es(empty)
    whole = write_dbn(tmp_path / "w.dbn", bars()).read_bytes()
    for name, data in {"cut.dbn": whole[:-20], "head.dbn": whole[:30], "noise.dbn": bytes(range(256)) * 4,
                       "cut.dbn.zst": write_dbn(tmp_path / "z.dbn.zst", bars(), zstd=True).read_bytes()[:-40]}.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError) as exc:
            read_bars(tmp_path / name)
        msg = str(exc.value)
        assert msg.startswith(str(tmp_path / name) + ": corrupt or truncated DBN file") and "\n" not in msg, msg


def test_other_products_and_spreads_are_dropped_with_a_note(tmp_path):
    rec = bars() + [(4358, ts, 18000.0, 18001.0, 17999.0, 18000.5, 5) for iid, ts, *_ in bars() if iid == 17077]
    rec += [(9001, ts, 50.0, 50.25, 49.75, 50.0, 2) for iid, ts, *_ in bars() if iid == 5602]
    maps = [NS(raw_symbol=s, intervals=[NS(start_date=dt.date(2024, 3, 1), end_date=dt.date(2024, 3, 31), symbol=i)])
            for s, i in (("ESH4", "17077"), ("ESM4", "5602"), ("NQH4", "4358"), ("ESH4-ESM4", "9001"))]
    loaded = load_es(write_dbn(tmp_path / "esnq.dbn", sorted(rec, key=lambda r: r[1]), symbol="ESH4",
                               stype_in=dbn.SType.RAW_SYMBOL, mappings=maps))
    assert sorted(set(loaded.bars.contract)) == ["ESH4", "ESM4"]
    assert any("dropped 10 bar(s) of NQH4 (not ES or MES)" in n for n in loaded.notes)
    assert any("esnq.dbn: dropped 5 spread row(s)" in n for n in loaded.notes)


@needs_realdata
def test_real_dbn_fixtures():
    nautilus = DATABENTO / "nautilus_trader"
    esnq = nautilus / "historical_bars_catalog/databento/futures_ohlcv-1m_2024-07-01T23-40_2024-07-02T00-10.dbn.zst"
    got = load_es(esnq)
    assert set(got.bars.contract) == {"ESU4"} and len(got.bars) == 30
    assert got.bars.timestamp.iloc[0] == pd.Timestamp("2024-07-01 23:40", tz="UTC")
    # the NumPy view of the records agrees with databento_dbn's own decoder
    records = dbn.DBNDecoder(has_metadata=True, compression=dbn.Compression.ZSTD).write_and_decode(esnq.read_bytes())[1:]
    es = [r for r in records if r.instrument_id == 118]
    assert np.array_equal(got.bars.close.to_numpy(), [r.close / 1e9 for r in es])
    assert np.array_equal(got.bars.volume.to_numpy(), [float(r.volume) for r in es])
    esh6 = load_es(nautilus / "options_exercise/databento/futures_ohlcv-1m_2026-01-09T20-55_2026-01-09T21-05.dbn.zst")
    assert set(esh6.bars.contract) == {"ESH6"} and esh6.bars.close.iloc[0] == 7008.0
    fixtures = DATABENTO / "dbn"
    with pytest.raises(DataError, match=r"test_data\.mbo\.v1\.dbn\.zst: DBN schema mbo holds orders and trades, not bars"):
        load_es(fixtures / "test_data.mbo.v1.dbn.zst")
    with pytest.raises(DataError, match=r"test_data\.ohlcv-1d\.dbn: no bars"):
        load_es(fixtures / "test_data.ohlcv-1d.dbn")
    with pytest.raises(DataError, match=r"test_data\.ohlcv-1m\.v2\.dbn\.zst: column 'close' value 372100\.0: "
                       r"row 1: median close 372125 is not an ES price"):
        load_es(fixtures / "test_data.ohlcv-1m.v2.dbn.zst")
