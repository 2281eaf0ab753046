"""Reading trade prints (issue 18): TickData CSV, NinjaTrader tick exports, generic CSV/Parquet;
validation and ``repair``; chunking; folders and layout detection.

Expected stamps are worked out by hand from the zone rules (CST = UTC-6, CDT = UTC-5 from Sunday
2024-03-10 02:00 local; ET = CT + 1 h); the DBN layouts are tested in ``test_trades_dbn.py``.
"""

from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from futures_vpoc.data.trades.chunk import BUY, SELL, UNKNOWN, Repairs
from futures_vpoc.data.trades.formats.detect import detect_trade_format
from futures_vpoc.data.trades.read import iter_trades
from futures_vpoc.errors import DataError


def utc(text):
    return pd.Timestamp(text, tz="UTC").value


def concat(chunks):
    assert chunks, "no chunk"
    return NS(ts=np.concatenate([c.ts for c in chunks]), price=np.concatenate([c.price for c in chunks]),
              size=np.concatenate([c.size for c in chunks]), side=np.concatenate([c.side for c in chunks]),
              row=np.concatenate([c.row for c in chunks]),
              contract=np.concatenate([np.asarray(c.names)[c.contract] for c in chunks]).tolist(),
              side_known={c.side_known for c in chunks})


def same(a, b):
    for field in ("ts", "price", "size", "side", "row"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert a.contract == b.contract


def write(path, text):
    path.write_text(text)
    return path


# --- TickData -------------------------------------------------------------------------------------

TICKDATA = """Date,Time,Price,Volume
03/08/2024,15:59:59,5100.25,2
03/10/2024,17:00:00.250,5110.50,1
03/10/2024,17:00:01,5110.75,3
"""


def test_tickdata_is_chicago_time_across_the_dst_change(tmp_path):
    notes = []
    path = write(tmp_path / "ESH4_trades.csv", TICKDATA)
    assert detect_trade_format(path) == "tickdata"
    got = concat(list(iter_trades(path, notes=notes)))
    # Friday 15:59:59 CST = 21:59:59 UTC; Sunday 17:00:00.25 CDT = 22:00:00.25 UTC (clocks moved at 02:00)
    assert got.ts.tolist() == [utc("2024-03-08 21:59:59"), utc("2024-03-10 22:00:00.25"), utc("2024-03-10 22:00:01")]
    assert got.price.tolist() == [5100.25, 5110.5, 5110.75] and got.size.tolist() == [2.0, 1.0, 3.0]
    assert got.side.tolist() == [UNKNOWN] * 3 and got.side_known == {False}
    assert got.contract == ["ESH4"] * 3 and got.row.tolist() == [0, 1, 2]
    assert any("America/Chicago" in n for n in notes), notes
    bare = write(tmp_path / "ESH4_bare.csv", TICKDATA.split("\n", 1)[1])
    assert detect_trade_format(bare) == "tickdata"
    same(concat(list(iter_trades(bare))), got)
    east = concat(list(iter_trades(path, tz="America/New_York")))
    assert (east.ts - got.ts).tolist() == [-3600 * 10**9] * 3


def test_tickdata_nonexistent_local_time_names_the_line(tmp_path):
    path = write(tmp_path / "t.csv", TICKDATA + "03/10/2024,02:30:00,5110.75,1\n")
    with pytest.raises(DataError, match=r"t\.csv:5: .*value '2024-03-10 02:30:00': local time does not exist"):
        list(iter_trades(path))


# --- NinjaTrader ----------------------------------------------------------------------------------

NT = "20240308 215959 1234567;5100.25;2\n20240310 220000 0000001;5110.5;1\n20240310 220000 0000001;5110.75;4\n"


def test_ninjatrader_ticks_are_utc_with_100ns_fractions(tmp_path):
    path = write(tmp_path / "ES 03-24.Last.txt", NT)
    assert detect_trade_format(path) == "ninjatrader"
    notes = []
    got = concat(list(iter_trades(path, notes=notes)))
    assert got.ts.tolist() == [utc("2024-03-08 21:59:59.1234567"), utc("2024-03-10 22:00:00.0000001"),
                               utc("2024-03-10 22:00:00.0000001")]
    assert got.price.tolist() == [5100.25, 5110.5, 5110.75] and got.size.tolist() == [2.0, 1.0, 4.0]
    assert got.contract == ["ESH24"] * 3 and got.side_known == {False}
    assert any("UTC (NinjaTrader exports in UTC" in n for n in notes), notes
    # tz overrides: the same wall clock read as Chicago time (CST before the change, CDT after)
    chicago = concat(list(iter_trades(path, tz="America/Chicago")))
    assert (chicago.ts - got.ts).tolist() == [6 * 3600 * 10**9, 5 * 3600 * 10**9, 5 * 3600 * 10**9]


def test_ninjatrader_level1_variant_and_bar_export(tmp_path):
    l1 = write(tmp_path / "ES 06-24.Last.txt", "20240402 133000 0000000;5200.25;5200;5200.25;7\n")
    got = concat(list(iter_trades(l1)))
    assert got.price.tolist() == [5200.25] and got.size.tolist() == [7.0] and got.contract == ["ESM24"]
    bars = write(tmp_path / "bars.txt", "20240402 133000;5200;5201;5199.75;5200.25;70\n")
    with pytest.raises(DataError, match=r"bars\.txt:1: not a NinjaTrader tick export: a NinjaTrader bar export"):
        list(iter_trades(bars))
    bad = write(tmp_path / "ES 03-24.Last.txt", NT + "20240310 2200 0000001;5110.75;4\n")
    with pytest.raises(DataError, match=r"Last\.txt:4: column 'time' value '20240310 2200 0000001': unparseable timestamp"):
        list(iter_trades(bad))


# --- generic Parquet ------------------------------------------------------------------------------

def trades_table(n=11):
    ts = utc("2024-03-05 14:30") + np.arange(n, dtype=np.int64) * 250_000_000
    return pa.table({"timestamp": pa.array(ts, pa.timestamp("ns", "UTC")),
                     "price": 5100.0 + 0.25 * (np.arange(n) % 5),
                     "size": pa.array(np.arange(n) % 4 + 1, pa.int64()),
                     "side": pa.array(np.tile([1, -1, 0], n)[:n], pa.int8()),
                     "contract": pa.array(["ESH4"] * (n - 3) + ["ESM4"] * 3)})


def test_generic_parquet_columns_are_read_exactly_and_chunking_changes_nothing(tmp_path):
    table = trades_table()
    path = tmp_path / "prints.parquet"
    pq.write_table(table, path, row_group_size=4)
    assert detect_trade_format(path) == "generic"
    got = concat(list(iter_trades(path)))
    assert got.ts.tolist() == table["timestamp"].cast(pa.int64()).to_pylist()
    assert got.price.tolist() == table["price"].to_pylist()
    assert got.size.tolist() == [float(x) for x in table["size"].to_pylist()]
    assert got.side.tolist() == table["side"].to_pylist() and got.side_known == {True}
    assert got.contract == table["contract"].to_pylist() and got.row.tolist() == list(range(11))
    small = list(iter_trades(path, chunk_rows=3))
    assert max(len(c) for c in small) == 3 and len(small) >= 4
    same(concat(small), got)
    assert small[-1].names == ["ESH4", "ESM4"]  # codes stay the same across the chunks of a file


def test_generic_parquet_naive_and_integer_stamps(tmp_path):
    table = trades_table(4)
    naive = table.set_column(0, "ts_event", table["timestamp"].cast(pa.timestamp("us")))
    pq.write_table(naive.drop_columns(["contract"]), tmp_path / "ESM4.parquet")
    got = concat(list(iter_trades(tmp_path / "ESM4.parquet")))
    assert got.ts.tolist() == table["timestamp"].cast(pa.int64()).to_pylist() and got.contract == ["ESM4"] * 4
    chicago = concat(list(iter_trades(tmp_path / "ESM4.parquet", tz="America/Chicago")))
    assert (chicago.ts - got.ts).tolist() == [6 * 3600 * 10**9] * 4
    ints = table.set_column(0, "timestamp", table["timestamp"].cast(pa.int64()))
    pq.write_table(ints, tmp_path / "ints.parquet")
    same(concat(list(iter_trades(tmp_path / "ints.parquet"))), concat(list(iter_trades(_write_pq(tmp_path, table)))))
    secs = ints.set_column(0, "timestamp", pa.array(np.asarray(ints["timestamp"]) // 10**9))
    pq.write_table(secs, tmp_path / "secs.parquet")
    with pytest.raises(DataError, match=r"secs\.parquet: column 'timestamp' value 1709649000: row 1: integer "
                       r"timestamp is not ns"):
        list(iter_trades(tmp_path / "secs.parquet"))


def _write_pq(tmp_path, table):
    path = tmp_path / "ref.parquet"
    pq.write_table(table, path)
    return path


def test_parquet_bad_rows_name_the_row_and_repair_drops_exactly_them(tmp_path):
    table = trades_table(12)
    price = table["price"].to_numpy().copy()
    price[4] = 5100.1  # off the grid
    size = table["size"].to_numpy().copy()
    size[7] = -2
    ts = table["timestamp"].cast(pa.int64()).to_numpy().copy()
    ts[10] = ts[2]  # earlier than rows 3..9: backwards, in the 4th chunk of 3
    bad = table.set_column(1, "price", pa.array(price)).set_column(2, "size", pa.array(size))
    bad = bad.set_column(0, "timestamp", pa.array(ts, pa.timestamp("ns", "UTC")))
    path = tmp_path / "bad.parquet"
    pq.write_table(bad, path)
    with pytest.raises(DataError, match=r"bad\.parquet: column 'price' value 5100\.1: row 5: price is off the 0\.25 "
                       r"tick grid; .*--repair"):
        list(iter_trades(path, chunk_rows=3))
    repairs = Repairs()
    got = concat(list(iter_trades(path, chunk_rows=3, repair=True, repairs=repairs)))
    assert got.row.tolist() == [0, 1, 2, 3, 5, 6, 8, 9, 11]
    assert repairs.counts == {"price off the 0.25 tick grid": 1, "negative size": 1, "time going backwards": 1}
    assert repairs.first == {"price off the 0.25 tick grid": f"{path}: row 5", "negative size": f"{path}: row 8",
                             "time going backwards": f"{path}: row 11"}


# --- generic CSV ----------------------------------------------------------------------------------

def test_generic_csv_side_codes_and_stamp_layouts(tmp_path):
    codes = ["B", "buy", "+1", "1", "A", "s", "Sell", "-1", "n", "0", ""]
    want = [BUY] * 4 + [SELL] * 4 + [UNKNOWN] * 3
    base = utc("2024-03-05 14:30")
    rows = [f"2024-03-05T14:30:{i:02d}.5Z,5100.25,{i + 1},{c}" for i, c in enumerate(codes)]
    path = write(tmp_path / "sides.csv", "timestamp,price,size,side\n" + "\n".join(rows) + "\n")
    notes = []
    got = concat(list(iter_trades(path, notes=notes)))
    assert got.side.tolist() == want and got.side_known == {True}
    assert got.ts.tolist() == [base + i * 10**9 + 500_000_000 for i in range(11)]
    assert got.contract == ["ES"] * 11 and any("trades labelled ES" in n for n in notes), notes
    # the same stamps as naive text (UTC unless tz), as integer ns, and as date + time columns
    naive = write(tmp_path / "naive.csv", "Time,Price,Qty\n" + "\n".join(
        f"2024-03-05 08:30:{i:02d}.5,5100.25,{i + 1}" for i in range(11)) + "\n")
    assert concat(list(iter_trades(naive, tz="America/Chicago"))).ts.tolist() == got.ts.tolist()
    ints = write(tmp_path / "ints.csv", "ts_event,price,size\n" + "\n".join(
        f"{t},5100.25,{i + 1}" for i, t in enumerate(got.ts)) + "\n")
    assert concat(list(iter_trades(ints))).ts.tolist() == got.ts.tolist()
    split = write(tmp_path / "split.csv", "date,time,price,volume\n" + "\n".join(
        f"2024-03-05,14:30:{i:02d}.5,5100.25,{i + 1}" for i in range(11)) + "\n")
    assert detect_trade_format(split) == "generic"
    assert concat(list(iter_trades(split))).ts.tolist() == got.ts.tolist()


def test_unknown_side_code_names_the_line_and_repair_drops_it(tmp_path):
    text = ("timestamp,price,size,side,symbol\n2024-03-05 14:30:00,5100.25,1,B,ESH4\n\n"
            "2024-03-05 14:30:01,5100.25,1,bid,ESH4\n2024-03-05 14:30:02,5100.5,2,S,ESH4\n")
    path = write(tmp_path / "side.csv", text)
    with pytest.raises(DataError, match=r"side\.csv:4: column 'side' value 'bid': unknown side code; write the "
                       r"aggressor side as B/BUY"):
        list(iter_trades(path))
    repairs = Repairs()
    got = concat(list(iter_trades(path, repair=True, repairs=repairs)))
    assert got.row.tolist() == [0, 2] and got.side.tolist() == [BUY, SELL] and got.contract == ["ESH4"] * 2
    assert repairs.counts == {"unknown side code": 1} and repairs.first == {"unknown side code": f"{path}:4"}


CSV_BAD = """timestamp,price,size
2024-03-05 14:30:00,5100.00,1
2024-03-05 14:30:01,5100.30,1
2024-03-05 14:30:02,5100.25,-3
2024-03-05 14:30:03,5100.25,0
2024-03-05 14:30:04,nan,1
2024-03-05 14:30:05,5100.50,2
2024-03-05 14:30:04,5100.50,2
2024-03-05 14:30:06,5100.75,2
"""


@pytest.mark.parametrize("line, fix, message", [
    (3, None, r"bad\.csv:3: column 'price' value 5100\.3: price is off the 0\.25 tick grid; fix or remove the row, "
              r"or pass --repair"),
    (4, {3: "5100.00"}, r"bad\.csv:4: column 'size' value -3\.0: negative size; .*--repair"),
    (5, {3: "5100.00", 4: "3"}, r"bad\.csv:5: column 'size' value 0\.0: zero size; .*--repair"),
    (6, {3: "5100.00", 4: "3", 5: "2"}, r"bad\.csv:6: column 'price' value nan: price is not a finite number; "
                                        r".*--repair"),
    (8, {3: "5100.00", 4: "3", 5: "2", 6: "5100.25"},
     r"bad\.csv:8: column 'time' value '2024-03-05 14:30:04\.000 UTC': time goes backwards: the trade is stamped "
     r"earlier than one before it in the file \(2024-03-05 14:30:05\.000 UTC\); .*--repair"),
])
def test_each_bad_row_names_file_and_line(tmp_path, line, fix, message):
    lines = CSV_BAD.splitlines()
    for k, v in (fix or {}).items():  # repair the earlier problems by hand: each case on its own
        stamp, price, size = lines[k - 1].split(",")
        lines[k - 1] = ",".join((stamp, v, size) if "." in v or v == "nan" else (stamp, price, v))
    path = write(tmp_path / "bad.csv", "\n".join(lines) + "\n")
    for chunk_rows in (2, 100):  # the time check spans chunks: line 8 is the first row of the 4th chunk of 2
        with pytest.raises(DataError, match=message):
            list(iter_trades(path, chunk_rows=chunk_rows))


def test_repair_drops_exactly_the_bad_rows_and_counts_them(tmp_path):
    path = write(tmp_path / "bad.csv", CSV_BAD)
    for chunk_rows in (2, 3, 100):
        repairs, notes = Repairs(), []
        got = concat(list(iter_trades(path, repair=True, repairs=repairs, chunk_rows=chunk_rows, notes=notes)))
        assert got.row.tolist() == [0, 5, 7]
        assert got.price.tolist() == [5100.0, 5100.5, 5100.75]
        assert repairs.counts == {"price off the 0.25 tick grid": 1, "negative size": 1, "zero size": 1,
                                  "price not finite": 1, "time going backwards": 1}
        assert repairs.first["time going backwards"] == f"{path}:8"
        assert notes[-1] == "bad.csv: 3 trade(s) read, 5 row(s) dropped by --repair"
    everything = write(tmp_path / "all_bad.csv", "timestamp,price,size\n2024-03-05 14:30:00,5100.1,1\n")
    with pytest.raises(DataError, match=r"all_bad\.csv: no trades left: --repair dropped all 1 row"):
        list(iter_trades(everything, repair=True))


def test_backwards_time_across_a_chunk_boundary_drops_the_earlier_rows(tmp_path):
    stamps = ["14:30:00", "14:30:05", "14:30:06", "14:30:01", "14:30:02", "14:30:07"]
    path = write(tmp_path / "back.csv", "timestamp,price,size\n" + "".join(
        f"2024-03-05 {s},5100.25,1\n" for s in stamps))
    with pytest.raises(DataError, match=r"back\.csv:5: .*time goes backwards.*\(and 1 more row\)"):
        list(iter_trades(path, chunk_rows=3))
    repairs = Repairs()
    got = concat(list(iter_trades(path, chunk_rows=3, repair=True, repairs=repairs)))
    assert got.row.tolist() == [0, 1, 2, 5] and repairs.counts == {"time going backwards": 2}
    assert (np.diff(got.ts) >= 0).all()


def test_unparseable_cells_are_one_line_errors_even_with_repair(tmp_path):
    cases = {"word.csv": ("timestamp,price,size\n2024-03-05 14:30:00,5100.25,1\n\n2024-03-05 14:30:01,abc,1\n",
                          r"word\.csv:4: column 'price' value 'abc': not a number"),
             "blank.csv": ("timestamp,price,size\n2024-03-05 14:30:00,5100.25,\n", r"blank\.csv:2: column 'size'.*missing size"),
             "when.csv": ("timestamp,price,size\n2024-03-05 14:30:00,5100.25,1\nyesterday,5100.25,1\n",
                          r"when\.csv:3: column 'timestamp' value 'yesterday': unparseable timestamp"),
             "short.csv": ("timestamp,price,size\n2024-03-05 14:30:00,5100.25,1\n2024-03-05 14:30:01,5100.25\n",
                           r"short\.csv:3: expected 3 fields, found 2")}
    for name, (text, message) in cases.items():
        path = write(tmp_path / name, text)
        for repair in (False, True):
            with pytest.raises(DataError, match=message) as exc:
                list(iter_trades(path, repair=repair))
            assert "\n" not in str(exc.value)


def test_csv_chunking_changes_nothing(tmp_path):
    n = 50
    rng = np.random.default_rng(3)
    ts = utc("2024-03-05 14:30") + np.cumsum(rng.integers(0, 10**9, n))
    sides = rng.choice(["B", "A", "N"], n)
    text = "ts_event,price,size,side,contract\n" + "".join(
        f"{pd.Timestamp(t, unit='ns', tz='UTC').isoformat()},{5100 + 0.25 * rng.integers(-8, 8)},{rng.integers(1, 9)},"
        f"{s},{'ESH4' if i < 30 else 'ESM4'}\n" + ("\n" if i == 17 else "") for i, (t, s) in enumerate(zip(ts, sides)))
    path = write(tmp_path / "many.csv", text)
    whole = list(iter_trades(path))
    small = list(iter_trades(path, chunk_rows=3))
    assert len(whole) == 1 and len(small) == 17 and max(len(c) for c in small) == 3
    same(concat(small), concat(whole))
    assert concat(whole).ts.tolist() == ts.tolist() and concat(whole).contract == ["ESH4"] * 30 + ["ESM4"] * 20


def test_databento_style_csv_keeps_trade_actions_only(tmp_path):
    text = ("ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,symbol\n"
            "1,1709649000000000000,160,1,17077,A,B,5100.00,5,ESH4\n"
            "2,1709649000100000000,160,1,17077,T,A,5100.00,2,ESH4\n"
            "3,1709649000100000000,160,1,17077,F,B,5100.00,2,ESH4\n"
            "4,1709649000200000000,160,1,17077,T,B,5100.25,1,ESH4\n")
    notes = []
    got = concat(list(iter_trades(write(tmp_path / "glbx.mbo.csv", text), notes=notes)))
    assert got.row.tolist() == [1, 3] and got.side.tolist() == [SELL, BUY] and got.size.sum() == 3.0
    assert any("skipped rows whose action is not T: A 1, F 1" in n for n in notes), notes


# --- files, folders, detection --------------------------------------------------------------------

def test_folders_lists_and_layouts(tmp_path):
    folder = tmp_path / "ticks"
    folder.mkdir()
    write(folder / "ES 06-24.Last.txt", "20240402 133000 0000000;5200.25;7\n")
    write(folder / "ES 03-24.Last.txt", NT)
    write(folder / ".hidden", "junk")
    notes = []
    chunks = list(iter_trades(folder, notes=notes))
    assert [c.path.name for c in chunks] == ["ES 03-24.Last.txt", "ES 06-24.Last.txt"]
    assert notes[0] == "ES 03-24.Last.txt: detected layout ninjatrader"
    listed = list(iter_trades([folder / "ES 06-24.Last.txt", folder / "ES 03-24.Last.txt"], fmt="ninjatrader"))
    assert [c.names for c in listed] == [["ESM24"], ["ESH24"]]
    write(folder / "z.csv", "timestamp,price,size\n2024-03-05 14:30:00,5100.25,1\n")
    with pytest.raises(DataError, match=r"ticks: mixed trade file layouts in one folder: ES 03-24\.Last\.txt is "
                       r"ninjatrader, z\.csv is generic"):
        iter_trades(folder)


def test_empty_unknown_and_missing_inputs_are_one_line_errors(tmp_path):
    cases = [(write(tmp_path / "empty.csv", ""), r"empty\.csv: empty file: no trades"),
             (write(tmp_path / "head.csv", "timestamp,price,size\n"), r"head\.csv: no trades"),
             (write(tmp_path / "what.csv", "a,b,c\n1,2,3\n"), r"what\.csv:1: unknown trade file layout"),
             (write(tmp_path / "noprice.csv", "timestamp,size,price_x\n"), r"noprice\.csv:1: unknown trade file layout"),
             (tmp_path / "nowhere.csv", r"nowhere\.csv: file or folder not found")]
    for path, message in cases:
        with pytest.raises(DataError, match=message) as exc:
            list(iter_trades(path))
        assert "\n" not in str(exc.value)
    with pytest.raises(DataError, match=r"noprice\.csv:1: missing column\(s\) price"):
        list(iter_trades(tmp_path / "noprice.csv", fmt="generic"))
    with pytest.raises(DataError, match="unknown trades format"):
        iter_trades(tmp_path / "head.csv", fmt="csv")
    with pytest.raises(DataError, match="unknown time zone"):
        iter_trades(tmp_path / "head.csv", tz="Mars/Olympus")
