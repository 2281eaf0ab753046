"""``futures-vpoc demo --data FILE`` on short files: every stage checks what it needs and adapts or is
skipped with its reason, and the demo still exits 0 with a report (issue 16).

Files of 5, 10, 20 and 60 sessions cut from the synthetic market, and 5 / 10 trade dates of the bundled
real ES minute sample. Shortened with ``--epochs 1 --n_random 5`` and a small ``--budget_minutes`` so
the optional stages may skip for time; the 10-session synthetic file gets a large budget so the
ensemble stage (which used to crash on short files) runs.
"""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import read_merged, write_merged

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic_bars():
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-04-07", seed=7, signal=3.0))
    return bars


@pytest.fixture(scope="module")
def es_minute_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "es_minute.parquet"
    assert main(["data", "sample", "es-minute", "--out", str(path)]) == 0
    return path


def _first_sessions(bars: pd.DataFrame, n: int) -> pd.DataFrame:
    dates = sorted(bars["trade_date"].unique())
    assert len(dates) >= n
    return bars[bars["trade_date"].isin(dates[:n])]


def _demo(path, out, budget: float) -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = main(["demo", "--data", str(path), "--output_dir", str(out), "--epochs", "1", "--n_random", "5",
                       "--budget_minutes", f"{budget:g}"])
    return status, buf.getvalue()


def _outcomes(console: str) -> dict[str, str]:
    """The closing table's stage -> outcome lines."""
    table = console[console.index("\nstage "):console.index("\nresult ")]
    rows = [line for line in table.splitlines()[3:] if line.strip()]
    return {line[:12].strip(): line[12:].strip() for line in rows}


@pytest.mark.parametrize("sessions, budget", [(5, 0.5), (10, 10), (20, 0.5), (60, 0.5)])
def test_demo_on_a_short_synthetic_file(tmp_path, synthetic_bars, sessions, budget):
    path = write_merged(_first_sessions(synthetic_bars, sessions), tmp_path / f"s{sessions}.parquet")
    status, console = _demo(path, tmp_path / "demo", budget)
    assert status == 0, console[-2000:]
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    outcomes = _outcomes(console)
    assert set(outcomes) >= {"data", "profile", "features", "train", "backtest", "scale-up", "ensemble", "report"}
    for name, outcome in outcomes.items():
        assert outcome == "ran" or outcome.startswith("skipped: "), (name, outcome)
        if outcome != "ran":
            assert "skipped" in html  # every skip is shown in the report's stage table
    assert outcomes["backtest"] == "ran"  # without a model the rules and baselines still run
    if sessions == 5:
        assert outcomes["train"].startswith("skipped: needs") and "sessions" in outcomes["train"]
        assert "needs \u2265" in html and "sessions" in html  # the reason is in the report
    else:
        assert outcomes["train"] == "ran"
        assert "Features the model used" in html  # the per-feature kept / dropped table from summary.json
    if sessions == 10:
        assert outcomes["ensemble"] == "ran", outcomes["ensemble"]  # the stage that used to crash on short files
        assert (tmp_path / "demo" / "ensemble" / "ensemble.json").is_file()


@pytest.mark.parametrize("dates", [5, 10])
def test_demo_on_part_of_the_real_es_minute_sample(tmp_path, es_minute_file, dates):
    path = write_merged(_first_sessions(read_merged(es_minute_file), dates), tmp_path / f"es{dates}.parquet")
    status, console = _demo(path, tmp_path / "demo", 0.5)
    assert status == 0, console[-2000:]
    assert (tmp_path / "demo" / "report.html").is_file()
    assert _outcomes(console)["backtest"] == "ran"


def test_data_sample_es_minute_is_esz3_then_esh4_with_vix_everywhere(es_minute_file, capsys):
    bars = read_merged(es_minute_file)
    contracts = list(dict.fromkeys(bars["contract"]))
    assert contracts == ["ESZ3", "ESH4"]
    assert bars["vix"].notna().all()
    assert bars.index.min() == pd.Timestamp("2013-10-06 22:00", tz="UTC")
    assert bars.index.max() == pd.Timestamp("2013-12-20 22:14", tz="UTC")
    assert len(bars) > 15_000
