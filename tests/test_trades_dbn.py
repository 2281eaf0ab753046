"""Trades from Databento DBN files (issue 18): schemas trades, tbbo and mbo, DBN versions 1-3.

Reference values: ``shared/realdata/SOURCES.md`` section 4 (counted there from the files), and
``databento_dbn.DBNDecoder``, Databento's own decoder, record by record. Synthetic DBN files are
written with ``databento_dbn`` message objects (``bytes(msg)``), so their layout is Databento's too.
"""

import collections
import datetime as dt
from types import SimpleNamespace as NS

import databento_dbn as dbn
import numpy as np
import pandas as pd
import pytest
from zstd_bytes import zstd as zstd_compress
from realdata import DATABENTO, needs_realdata

from futures_vpoc.data.trades.chunk import BUY, SELL, UNKNOWN, Repairs
from futures_vpoc.data.trades.formats.detect import detect_trade_format
from futures_vpoc.data.trades.read import iter_trades
from futures_vpoc.errors import DataError

NAUTILUS = DATABENTO / "nautilus_trader"
MBO_DAY = NAUTILUS / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
FIXTURES = DATABENTO / "dbn"
SIDE = {"B": BUY, "A": SELL, "N": UNKNOWN}
T0 = pd.Timestamp("2024-03-05 14:30", tz="UTC").value


def concat(chunks):
    """The chunks of one read as one set of arrays (contract as names)."""
    assert chunks, "no chunk"
    return NS(ts=np.concatenate([c.ts for c in chunks]), price=np.concatenate([c.price for c in chunks]),
              size=np.concatenate([c.size for c in chunks]), side=np.concatenate([c.side for c in chunks]),
              row=np.concatenate([c.row for c in chunks]),
              contract=np.concatenate([np.asarray(c.names)[c.contract] for c in chunks]))


def decoded(path):
    """The records of a DBN file as databento_dbn decodes them (metadata dropped)."""
    comp = dbn.Compression.ZSTD if path.name.endswith(".zst") else dbn.Compression.NONE
    return dbn.DBNDecoder(has_metadata=True, compression=comp).write_and_decode(path.read_bytes())[1:]


def side_of(record):
    return SIDE[str(record.side)]


@needs_realdata
def test_mbo_day_is_2973_trades_of_9892_contracts_equal_to_the_decoder():
    notes = []
    got = concat(list(iter_trades(MBO_DAY, notes=notes)))
    assert len(got.ts) == 2973 and got.size.sum() == 9892
    assert collections.Counter(got.side.tolist()) == {BUY: 1542, SELL: 1430, UNKNOWN: 1}
    assert got.price.min() == 4800.25 and got.price.max() == 4811.75
    first, last = pd.to_datetime([got.ts[0], got.ts[-1]], utc=True)
    assert first == pd.Timestamp("2023-12-25 23:00:00", tz="UTC")
    assert last.floor("10ms") == pd.Timestamp("2023-12-25 23:59:56.79", tz="UTC")
    assert set(got.contract) == {"ESH4"}
    # record by record against Databento's decoder: the T records that are not snapshot records
    records = decoded(MBO_DAY)
    trades = [(i, r) for i, r in enumerate(records) if r.action == "T"]  # the snapshot records are all adds
    assert len(trades) == 2973
    assert got.row.tolist() == [i for i, _ in trades]
    assert got.ts.tolist() == [r.ts_event for _, r in trades]
    assert got.price.tolist() == [r.price / 1e9 for _, r in trades]
    assert got.size.tolist() == [float(r.size) for _, r in trades]
    assert got.side.tolist() == [side_of(r) for _, r in trades]
    assert any("skipped 6,371 fill (F) record(s)" in n and "8,725 snapshot record(s)" in n for n in notes), notes
    assert notes[-1] == f"{MBO_DAY.name}: 2,973 trade(s) read"


@needs_realdata
def test_mbo_fill_records_are_not_the_trades_again():
    """The F records' sizes do NOT sum to the trades' 9,892 contracts: they sum to 10,201.

    Grouping by (ts_event, price): every fill belongs to a trade; in 2,775 of the 2,883 groups the
    fills equal the trade size and sit on the side opposite the aggressor (the resting orders); in
    107 groups the fills are twice the trade (106 with fills on both sides, i.e. the aggressor's own
    order reported as filled too, and the 23:00:00 opening-auction trade, side N, 44 contracts with
    88 in fills); one group has one extra lot. Counting F records would overstate volume by 309
    contracts (3.1%); the reader counts T records only.
    """
    records = decoded(MBO_DAY)
    trade, fill = collections.Counter(), collections.Counter()
    resting = collections.Counter()
    aggressor = {}
    for r in records:
        if r.action == "T":
            trade[(r.ts_event, r.price)] += r.size
            aggressor[(r.ts_event, r.price)] = str(r.side)
    for r in records:
        if r.action == "F":
            key = (r.ts_event, r.price)
            fill[key] += r.size
            if {"B": "A", "A": "B", "N": "N"}[aggressor[key]] == str(r.side):
                resting[key] += r.size
    assert sum(trade.values()) == 9892 and sum(fill.values()) == 10201
    assert set(fill) == set(trade)  # no fill without a trade
    equal = [k for k in trade if fill[k] == trade[k]]
    double = [k for k in trade if fill[k] == 2 * trade[k]]
    assert (len(trade), len(equal), len(double)) == (2883, 2775, 107)
    # the fills on the resting side (opposite the aggressor) match every A/B trade exactly
    assert all(resting[k] == trade[k] for k in trade if aggressor[k] != "N")
    got = concat(list(iter_trades(MBO_DAY)))
    assert got.size.sum() == sum(trade.values()) != sum(fill.values())


@needs_realdata
def test_databento_trades_file_equals_the_decoder():
    path = next((NAUTILUS / "historical_bars_catalog/databento").glob("futures_trades_*.dbn.zst"))
    got = concat(list(iter_trades(path)))
    records = decoded(path)
    assert len(got.ts) == len(records) == 120 and set(got.contract) == {"ESU4"}
    assert got.ts.tolist() == [r.ts_event for r in records]
    assert got.price.tolist() == [r.price / 1e9 for r in records]
    assert got.size.tolist() == [float(r.size) for r in records]
    assert got.side.tolist() == [side_of(r) for r in records]
    assert pd.Timestamp(got.ts[0], unit="ns", tz="UTC").round("10ms") == pd.Timestamp("2024-07-01 23:58:01.22", tz="UTC")


@needs_realdata
@pytest.mark.parametrize("schema", ["trades", "tbbo"])
def test_fixtures_in_every_dbn_version_give_identical_trades(schema):
    paths = sorted(FIXTURES.glob(f"test_data.{schema}*.dbn*"))
    assert len(paths) == 4  # .dbn (v2) and v1, v2, v3 .dbn.zst
    versions = set()
    reads = []
    for p in paths:
        notes = []
        reads.append(concat(list(iter_trades(p, notes=notes))))
        versions.add(next(n for n in notes if "DBN v" in n).split("DBN v")[1][0])
    assert versions == {"1", "2", "3"}
    ref = reads[0]
    assert ref.price.tolist() == [3720.25, 3720.25] and ref.size.tolist() == [5.0, 21.0]
    assert ref.side.tolist() == [SELL, SELL] and set(ref.contract) == {"ESH1"} and ref.row.tolist() == [0, 1]
    assert pd.to_datetime(ref.ts, utc=True).floor("100us").tolist() == [
        pd.Timestamp("2020-12-28 13:00:00.0988", tz="UTC"), pd.Timestamp("2020-12-28 13:00:00.1076", tz="UTC")]
    assert ref.ts.tolist() == [r.ts_event for r in decoded(paths[0])]
    for other in reads[1:]:
        for field in ("ts", "price", "size", "side", "row", "contract"):
            assert np.array_equal(getattr(other, field), getattr(ref, field)), field


@needs_realdata
def test_mbo_fixture_without_trades_and_non_trade_schemas_are_one_line_errors():
    with pytest.raises(DataError, match=r"test_data\.mbo\.v3\.dbn: no trades: the DBN file \(mbo\) holds 2 record"):
        list(iter_trades(FIXTURES / "test_data.mbo.v3.dbn"))
    cases = {FIXTURES / "test_data.ohlcv-1m.v2.dbn.zst": "ohlcv-1m", FIXTURES / "test_data.mbp-1.dbn": "mbp-1",
             NAUTILUS / "definition-glbx-es-fut.dbn.zst": "definition"}
    for path, schema in cases.items():
        assert detect_trade_format(path) == "dbn"
        with pytest.raises(DataError) as exc:
            list(iter_trades(path))
        msg = str(exc.value)
        assert msg.startswith(f"{path}: DBN schema {schema} holds no trades; trades come in schemas "
                              "trades, tbbo, mbo") and "\n" not in msg, msg


@needs_realdata
def test_dbn_chunking_does_not_change_the_trades():
    whole = list(iter_trades(MBO_DAY))
    small = list(iter_trades(MBO_DAY, chunk_rows=3))
    assert len(whole) == 1 and len(small) == 991 and max(len(c) for c in small) == 3
    a, b = concat(whole), concat(small)
    for field in ("ts", "price", "size", "side", "row", "contract"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


# --- synthetic DBN files ---------------------------------------------------------------------------

def write_dbn(path, messages, schema=dbn.Schema.TRADES, mappings=None, zstd=False):
    """A DBN file: metadata (ESH4 = instrument 17077 unless ``mappings``) then ``bytes(msg)`` of each."""
    if mappings is None:
        mappings = [NS(raw_symbol="ESH4", intervals=[NS(start_date=dt.date(2024, 3, 1), end_date=dt.date(2024, 3, 31),
                                                        symbol="17077")])]
    meta = dbn.Metadata(dataset="GLBX.MDP3", start=pd.Timestamp("2024-03-01", tz="UTC").value,
                        stype_in=dbn.SType.RAW_SYMBOL, stype_out=dbn.SType.INSTRUMENT_ID, schema=schema,
                        symbols=[m.raw_symbol for m in mappings], mappings=mappings,
                        end=pd.Timestamp("2024-03-31", tz="UTC").value)
    data = meta.encode() + b"".join(m if isinstance(m, bytes) else bytes(m) for m in messages)
    if zstd:
        data = zstd_compress(data)
    path.write_bytes(data)
    return path


def trade(i, price=5100.0, size=1, side=dbn.Side.BID, iid=17077, ts=None):
    ts = T0 + i * 1_000_000 if ts is None else ts
    return dbn.TradeMsg(1, iid, ts, int(round(price * 1e9)), size, dbn.Action.TRADE, side, 0, ts + 500)


def mbo(i, action, side=dbn.Side.BID, price=5100.0, size=1, flags=0):
    ts = T0 + i * 1_000_000
    return dbn.MBOMsg(1, 17077, ts, 1000 + i, int(round(price * 1e9)), size, action, side, ts + 500, flags=flags)


def test_synthetic_mbo_counts_t_records_only(tmp_path):
    msgs = [mbo(0, dbn.Action.ADD, flags=32), mbo(1, dbn.Action.ADD), mbo(2, dbn.Action.TRADE, dbn.Side.ASK, size=3),
            mbo(2, dbn.Action.FILL, dbn.Side.BID, size=3), mbo(3, dbn.Action.CANCEL), mbo(4, dbn.Action.MODIFY),
            mbo(5, dbn.Action.TRADE, dbn.Side.BID, 5100.25, 2), mbo(5, dbn.Action.FILL, dbn.Side.ASK, 5100.25, 2),
            mbo(6, dbn.Action.CLEAR), mbo(7, dbn.Action.TRADE, dbn.Side.NONE, 5100.5, 4)]
    got = concat(list(iter_trades(write_dbn(tmp_path / "day.mbo.dbn", msgs, schema=dbn.Schema.MBO))))
    assert got.row.tolist() == [2, 6, 9] and got.size.tolist() == [3.0, 2.0, 4.0]
    assert got.side.tolist() == [SELL, BUY, UNKNOWN] and got.price.tolist() == [5100.0, 5100.25, 5100.5]
    assert set(got.contract) == {"ESH4"}


def test_mixed_record_types_are_walked_and_numbered(tmp_path):
    msgs = [trade(0), dbn.SystemMsg(T0, "heartbeat"), trade(1, 5100.25), trade(2, 5100.5, side=dbn.Side.ASK)]
    plain = write_dbn(tmp_path / "mixed.trades.dbn", msgs)
    packed = write_dbn(tmp_path / "mixed.trades.dbn.zst", msgs, zstd=True)
    for path in (plain, packed):
        got = concat(list(iter_trades(path, chunk_rows=2)))
        assert got.row.tolist() == [0, 2, 3] and got.price.tolist() == [5100.0, 5100.25, 5100.5]
        assert got.side.tolist() == [BUY, BUY, SELL]


def test_dbn_bad_rows_name_the_record_and_repair_drops_them(tmp_path):
    side_x = bytearray(bytes(trade(3, 5101.0)))
    side_x[29] = ord("X")  # TradeMsg: 16-byte header, price 8, size 4, action at 28, side at 29
    msgs = [trade(0), trade(1, 5100.1), trade(2, size=0), bytes(side_x), trade(4, ts=T0 - 1), trade(5, 5101.25)]
    path = write_dbn(tmp_path / "bad.trades.dbn", msgs)
    # the side byte is checked as the records are read, the rest after: each case on its own
    with pytest.raises(DataError, match=r"bad\.trades\.dbn: column 'side' value 'X': row 4: unknown side code.*--repair"):
        list(iter_trades(path))
    no_x = write_dbn(tmp_path / "no_x.trades.dbn", [m for m in msgs if m is not msgs[3]])
    with pytest.raises(DataError, match=r"no_x\.trades\.dbn: column 'price' value 5100\.1: row 2: price is off the "
                       r"0\.25 tick grid; fix or remove the row, or pass --repair"):
        list(iter_trades(no_x))
    with pytest.raises(DataError, match=r"no_x\.trades\.dbn: column 'size' value 0\.0: row 3: zero size"):
        list(iter_trades(no_x, tick=0.05))
    late = write_dbn(tmp_path / "late.trades.dbn", [trade(0), trade(1), trade(2, ts=T0)])
    with pytest.raises(DataError, match=r"late\.trades\.dbn: column 'time' value '2024-03-05 14:30:00\.000 UTC': row 3: "
                       r"time goes backwards.*\(2024-03-05 14:30:00\.001 UTC\)"):
        list(iter_trades(late, chunk_rows=2))
    repairs = Repairs()
    got = concat(list(iter_trades(path, repair=True, repairs=repairs, chunk_rows=2)))
    assert got.row.tolist() == [0, 5]
    assert repairs.counts == {"price off the 0.25 tick grid": 1, "zero size": 1, "unknown side code": 1,
                              "time going backwards": 1}
    assert repairs.first["unknown side code"] == f"{path}: row 4"
    assert repairs.first["time going backwards"] == f"{path}: row 5"


def test_spreads_and_other_products_are_dropped_with_notes(tmp_path):
    maps = [NS(raw_symbol=s, intervals=[NS(start_date=dt.date(2024, 3, 1), end_date=dt.date(2024, 3, 31), symbol=i)])
            for s, i in (("ESH4", "17077"), ("NQH4", "4358"), ("ESH4-ESM4", "9001"))]
    msgs = [trade(0), trade(1, 18000.0, iid=4358), trade(2, 50.0, iid=9001), trade(3, 5100.25)]
    notes = []
    got = concat(list(iter_trades(write_dbn(tmp_path / "esnq.trades.dbn", msgs, mappings=maps), notes=notes)))
    assert got.row.tolist() == [0, 3] and set(got.contract) == {"ESH4"}
    assert any("dropped 1 spread trade(s)" in n for n in notes), notes
    assert any("NQH4 (not ES or MES)" in n for n in notes), notes


def test_truncated_dbn_is_a_one_line_error(tmp_path):
    whole = write_dbn(tmp_path / "w.trades.dbn", [trade(0), trade(1)]).read_bytes()
    (tmp_path / "cut.dbn").write_bytes(whole[:-20])
    with pytest.raises(DataError) as exc:
        list(iter_trades(tmp_path / "cut.dbn"))
    assert str(exc.value).startswith(f"{tmp_path / 'cut.dbn'}: corrupt or truncated DBN file")
    assert "\n" not in str(exc.value)
