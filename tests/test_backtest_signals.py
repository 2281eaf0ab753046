"""``futures-vpoc backtest --signals``: many signal columns through the same accounting at once.

Acceptance: each column's statistics equal those of the column run alone through the single-signal
path (:func:`futures_vpoc.backtest.run.run_backtest`: run_engine + compute_stats + PSR/DSR), exactly
for everything but the sums over trades, which agree to 1e-12 of the summed magnitudes (the kernel
adds trade by trade with compensation, numpy pairwise); a bad signals table is a one-line error with
exit status 2 and nothing written.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from futures_vpoc.backtest.engine import BacktestConfig, bar_arrays
from futures_vpoc.backtest.run import run_backtest
from futures_vpoc.backtest.significance import probabilistic_sharpe, probabilistic_sharpe_rows
from futures_vpoc.backtest.spec import MES
from futures_vpoc.backtest.sweep import run_sweep
from futures_vpoc.cli.main import main
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.synthetic import SynthConfig, synthesize

SUMMED = {"profit_factor", "avg_win_usd", "avg_loss_usd", "turnover_contracts", "turnover_x", "commission_usd",
          "slippage_usd", "costs_usd", "long_pnl_usd", "short_pnl_usd"}
"""Statistics built from sums over trades: equal to 1e-12 of the magnitudes summed; every other one exactly."""
NOT_IN_SWEEP = {"holding", "sharpe_ci95_low", "sharpe_ci95_high", "p_value_random"}
"""What a single backtest reports and the sweep does not: the holding rule in words, the bootstrap interval
of the Sharpe and the random-signal p-value."""


@pytest.fixture(scope="module")
def bars():
    """Three and a half weeks of synthetic minute bars with the March 2023 roll (ESH3 -> ESM3)."""
    frame, _ = synthesize(SynthConfig(start="2023-03-01", end="2023-03-24", seed=4, signal=0.0))
    assert frame["contract"].nunique() == 2
    return frame


def _signals(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Columns of every kind: held for random spans, flat, always long, flipping every bar, mostly short."""
    rng = np.random.default_rng(seed)
    cols = {}
    for j, hold in enumerate((3, 17, 60, 240)):
        cols[f"hold_{hold}"] = np.repeat(rng.integers(-1, 2, n // hold + 1), hold)[:n]
    cols["flat"] = np.zeros(n)
    cols["long"] = np.ones(n)
    cols["flip"] = np.where(np.arange(n) % 2 == 0, 1, -1)
    cols["short"] = np.where(rng.uniform(size=n) < 0.9, -1, 0)
    return list(cols), np.array(list(cols.values()), dtype=np.int8)


def _assert_same(name: str, got: pd.Series, want: dict, trades: pd.DataFrame) -> None:
    magnitude = float(trades[["pnl", "commission", "slippage"]].abs().to_numpy().sum()
                      + (trades["size"] * (trades["entry_price"].abs() + trades["exit_price"].abs())).sum() * 50)
    for key, expected in want.items():
        if key not in got.index:
            continue
        value = got[key]
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(value), (name, key, value)
        elif key in SUMMED and value != expected:
            assert abs(value - expected) <= 1e-12 * max(abs(expected), magnitude, 1.0), (name, key, value, expected)
        else:
            assert value == expected, (name, key, value, expected)


CONFIGS = {
    "default": BacktestConfig(),
    "stops_targets_flat_random_slip": BacktestConfig(stop_ticks=6, target_ticks=10, flat_at_session_end=True,
                                                     random_slippage_ticks=0.7, seed=3),
    "mes_close_at_roll": BacktestConfig(contract=MES, roll="close", slippage_ticks=0.0, initial_capital=20_000.0),
}


def _compare_every_column(bars, names, sig, config, extra_trials=0):
    res = run_sweep(bars, names, sig, config, extra_trials=extra_trials)
    assert list(res.stats["signal"]) == names and res.n_trials == len(names) + extra_trials
    for j, name in enumerate(names):
        single = run_backtest(bars, {name: sig[j].astype(np.float64)}, config, n_random=0,
                              extra_trials=len(names) + extra_trials - 1, n_boot=10).strategies[name]
        assert single.stats["n_trials"] == res.n_trials
        _assert_same(name, res.stats.iloc[j], single.stats, single.engine.trades)
        assert set(single.stats) - set(res.stats.columns) == NOT_IN_SWEEP
    return res


@pytest.mark.parametrize("label", list(CONFIGS))
def test_every_column_equals_the_single_signal_path(bars, label):
    names, sig = _signals(len(bars))
    res = _compare_every_column(bars, names, sig, CONFIGS[label], extra_trials=3)
    row = res.stats.set_index("signal")
    assert row.loc["flat", "trades"] == 0 and row.loc["flat", "net_pnl_usd"] == 0.0
    assert row.loc["flip", "trades"] > len(bars) // 3


def test_psr_of_rows_equals_psr_of_each_row():
    rng = np.random.default_rng(1)
    for days in (2, 3, 9, 70, 300):
        r = rng.standard_t(4, (40, days)) * 0.01 + 0.001
        r[0] = 0.0
        for bench in (0.0, 0.2):
            rows = probabilistic_sharpe_rows(r, bench)
            single = np.array([probabilistic_sharpe(x, bench) for x in r])
            assert np.array_equal(rows, single, equal_nan=True)


def test_daily_bars_are_never_flattened_and_equal_the_single_path(bars):
    g = bars.groupby("trade_date")
    daily = pd.DataFrame({"open": g["open"].first(), "high": g["high"].max(), "low": g["low"].min(),
                          "close": g["close"].last(), "contract": g["contract"].last()})
    daily["trade_date"] = daily.index
    daily.index = pd.DatetimeIndex(daily.index, name="timestamp").tz_localize("UTC")
    assert bar_arrays(daily).daily
    names, sig = _signals(len(daily), seed=5)
    res = _compare_every_column(daily, names, sig, BacktestConfig(flat_at_session_end=True))
    assert not res.flat_at_session_end


# ---- the command -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def files(bars, tmp_path_factory):
    d = tmp_path_factory.mktemp("signals")
    data = write_merged(bars, d / "bars.parquet")
    names, sig = _signals(len(bars), seed=2)
    table = pd.DataFrame(sig.T, columns=names)
    table.insert(0, "timestamp", bars.index)
    table.to_parquet(d / "signals.parquet", index=False)
    table.assign(timestamp=bars.index.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(d / "signals.csv", index=False)
    return d, data, names, sig


def _run(data, signals, out, *extra):
    return main(["backtest", "--data", str(data), "--signals", str(signals), "--output_dir", str(out), *extra])


def test_command_writes_one_row_per_column_and_the_deflated_sharpe(bars, files, tmp_path, capsys):
    d, data, names, sig = files
    out = tmp_path / "out"
    assert _run(data, d / "signals.parquet", out, "--stop_ticks", "8", "--trials", "5") == 0
    printed = capsys.readouterr().out
    assert "deflated Sharpe: 13 trials" in printed and "best 5 by Sharpe" in printed
    stats = pd.read_parquet(out / "signals_stats.parquet")
    csv = pd.read_csv(out / "signals_stats.csv")
    assert list(stats["signal"]) == list(csv["signal"]) == names
    assert {"net_pnl_usd", "trades", "sharpe", "max_drawdown_usd", "win_rate_pct", "dsr", "psr"} <= set(stats.columns)
    summary = json.loads((out / "signals_summary.json").read_text())
    assert summary["columns"] == len(names) and summary["n_trials"] == len(names) + 5
    assert summary["best_signal"] == stats.sort_values("sharpe", ascending=False)["signal"].iloc[0]
    want = run_sweep(bars, names, sig, BacktestConfig(stop_ticks=8), extra_trials=5).stats
    pd.testing.assert_frame_equal(stats, want)
    # the same table as CSV gives the same rows
    assert _run(data, d / "signals.csv", tmp_path / "csv") == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "csv" / "signals_stats.parquet"),
                                  run_sweep(bars, names, sig, BacktestConfig()).stats)


def test_table_on_part_of_the_bars_trades_its_span_with_missing_bars_flat(bars, files, tmp_path):
    d, data, names, sig = files
    lo, hi = 3000, 9000
    keep = np.r_[lo:4000, 4010:hi]  # ten bars inside the span have no row: flat
    table = pd.DataFrame(sig[:, keep].T, columns=names)
    table.insert(0, "timestamp", bars.index[keep])
    table = table.sample(frac=1.0, random_state=0)  # row order does not matter
    table.to_parquet(tmp_path / "part.parquet", index=False)
    assert _run(data, tmp_path / "part.parquet", tmp_path / "o") == 0
    expected = sig[:, lo:hi].copy()
    expected[:, 1000:1010] = 0
    want = run_sweep(bars.iloc[lo:hi], names, expected, BacktestConfig()).stats
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o" / "signals_stats.parquet"), want)


def _bad_tables(bars):
    """Case name -> (file name, writer of a bad table, words the one-line error must contain)."""
    ts = bars.index[:50]

    def frame(**cols):
        return pd.DataFrame({"timestamp": ts, **cols})

    ones = np.ones(50, dtype=np.int64)
    nan = ones.astype(float)
    nan[7] = np.nan
    two = ones.copy()
    two[9] = 2
    cases = [
        ("value outside", "t.parquet", lambda p: frame(a=ones, b=two).to_parquet(p),
         ["'b' value 2", "outside {-1, 0, 1} at row 10"]),
        ("value outside csv", "t.csv", lambda p: frame(a=two * -1).to_csv(p, index=False),
         ["'a' value -2", "outside {-1, 0, 1}", ":11"]),
        ("nan", "t.parquet", lambda p: frame(a=nan).to_parquet(p), ["'a'", "missing or NaN signal value at row 8"]),
        ("nan, not null", "t.parquet", lambda p: pq.write_table(pa.table({"timestamp": ts, "a": pa.array(
            nan, from_pandas=False)}), p), ["'a'", "missing or NaN signal value at row 8"]),
        ("empty cell", "t.csv", lambda p: _csv_with_empty_cell(frame(a=ones), p),
         ["missing or NaN signal value", ":5"]),
        ("not a bar", "t.parquet", lambda p: pd.DataFrame({
            "timestamp": ts + pd.Timedelta(30, "s"), "a": ones}).to_parquet(p), ["not a bar of --data"]),
        ("duplicate", "t.parquet", lambda p: pd.DataFrame({
            "timestamp": ts[[0, 1, 1, 2]], "a": ones[:4]}).to_parquet(p), ["duplicate timestamp"]),
        ("text column", "t.parquet", lambda p: frame(a=ones, word=["x"] * 50).to_parquet(p),
         ["'word'", "not numeric"]),
        ("bool column", "t.parquet", lambda p: frame(a=ones > 0).to_parquet(p), ["'a'", "not numeric"]),
        ("no signal column", "t.parquet", lambda p: frame().to_parquet(p), ["no signal column"]),
        ("same name twice", "t.csv", lambda p: p.write_text("timestamp,a,a\n2023-03-01T00:00:00Z,1,0\n"),
         ["'a'", "column name used twice"]),
        ("no timestamp", "t.parquet", lambda p: pd.DataFrame({"time": ts, "a": ones}).to_parquet(p),
         ["no 'timestamp' column"]),
        ("no timestamp csv", "t.csv", lambda p: pd.DataFrame({"a": ones}).to_csv(p, index=False),
         ["no 'timestamp' column"]),
        ("unparseable", "t.csv", lambda p: pd.DataFrame({"timestamp": ["yesterday"] * 3, "a": [1, 0, 1]}).to_csv(
            p, index=False), ["unparseable timestamp"]),
        ("not a table", "t.parquet", lambda p: p.write_text("hello"), ["not a readable table"]),
        ("missing file", "nothere.parquet", lambda p: None, ["file not found"]),
    ]
    return {name: rest for name, *rest in cases}


def _csv_with_empty_cell(table, path):
    """Write ``table`` as CSV with the signal of its fourth data row (line 5) left empty."""
    table.assign(timestamp=table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(path, index=False)
    lines = path.read_text().splitlines()
    lines[4] = lines[4].split(",")[0] + ","
    path.write_text("\n".join(lines) + "\n")


BAD = ("value outside", "value outside csv", "nan", "nan, not null", "empty cell", "not a bar", "duplicate",
       "text column", "bool column", "no signal column", "same name twice", "no timestamp", "no timestamp csv",
       "unparseable", "not a table", "missing file")


@pytest.mark.parametrize("name", BAD)
def test_bad_table_is_one_line_exit_2_and_writes_nothing(bars, files, tmp_path, capsys, name):
    _, data, _, _ = files
    cases = _bad_tables(bars)
    assert set(cases) == set(BAD)
    filename, write, words = cases[name]
    path = tmp_path / filename
    write(path)
    out = tmp_path / "out"
    assert _run(data, path, out) == 2, name
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("futures-vpoc: error:"), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (name, err)
    assert not out.exists()


def test_signals_do_not_combine_with_walk_forward_or_the_other_sources(files, tmp_path, capsys):
    d, data, _, _ = files
    out = tmp_path / "out"
    assert _run(data, d / "signals.parquet", out, "--walk-forward") == 2
    assert "--signals does not combine with --walk-forward" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        _run(data, d / "signals.parquet", out, "--strategy", "buy_hold")
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not out.exists()
