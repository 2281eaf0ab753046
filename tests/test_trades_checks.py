"""Trade files that would be silently misread: prices on another scale (Databento fixed-point
integers sit on the tick grid too), and two contracts interleaved in one file whose stamps are in
order per contract but not across them."""

from __future__ import annotations

import numpy as np
import pytest

from futures_vpoc.data.trades.read import iter_trades
from futures_vpoc.errors import DataError

HEADER = "ts_event,price,size,side,symbol\n"


def _write(path, rows):
    path.write_text(HEADER + "".join(rows))
    return path


def test_fixed_point_integer_prices_are_refused_with_the_scale(tmp_path):
    rows = [f"2024-01-09T15:00:0{i}Z,{4799_000_000_000 + 250_000_000 * i},1,B,ESH4\n" for i in range(5)]
    path = _write(tmp_path / "t.csv", rows)
    with pytest.raises(DataError) as err:
        list(iter_trades(path))
    text = str(err.value)
    assert "not an ES price in index points" in text
    assert "fixed-point units of 1e-9 (divide by 1e+09)" in text
    assert "t.csv:2" in text  # the first data line


def test_prices_in_index_points_pass_the_scale_check(tmp_path):
    rows = [f"2024-01-09T15:00:0{i}Z,{4799 + 0.25 * i},1,B,ESH4\n" for i in range(5)]
    got = list(iter_trades(_write(tmp_path / "t.csv", rows)))
    assert np.array_equal(got[0].price, 4799 + 0.25 * np.arange(5))


def test_two_contracts_are_in_time_order_each_not_across_each_other(tmp_path):
    # ESM4's prints arrive a little late against ESH4's (as Databento's per-instrument ts_event
    # does); each contract's own stamps never go back
    rows = ["2024-03-12T15:00:00.300Z,5100.00,1,B,ESH4\n", "2024-03-12T15:00:00.100Z,5150.00,2,A,ESM4\n",
            "2024-03-12T15:00:00.400Z,5100.25,1,B,ESH4\n", "2024-03-12T15:00:00.200Z,5150.25,1,A,ESM4\n"]
    got = list(iter_trades(_write(tmp_path / "t.csv", rows), chunk_rows=1))
    assert sum(len(c) for c in got) == 4


def test_one_contract_going_back_is_still_refused_among_two(tmp_path):
    rows = ["2024-03-12T15:00:00.300Z,5100.00,1,B,ESH4\n", "2024-03-12T15:00:00.100Z,5150.00,2,A,ESM4\n",
            "2024-03-12T15:00:00.200Z,5100.25,1,B,ESH4\n"]
    with pytest.raises(DataError, match="backwards") as err:
        list(iter_trades(_write(tmp_path / "t.csv", rows)))
    assert "t.csv:4" in str(err.value)
