"""``futures-vpoc data merge`` of 1M one-minute bars plus CBOE-style VIX history, whole process
(parse, zone/stamp handling, validation, calendar, roll, VIX as of publication, check, write),
against a bare pyarrow read of the same CSV and write of the same rows in the same run.

Budget (issue 15): 6 s whole process for 1M bars, median of at least 3 runs; outputs as CSV (the
seed's merged file) and as Parquet. Three input layouts: generic CSV with UTC stamps, a
NinjaTrader export (UTC, end stamps) and a FirstRate-style file with naive New York stamps whose
bar convention the loader infers from the file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from _common import WORK, line, median_seconds, scale
from bench_cli import _command
from bench_load import ROWS, make_files

BUDGET = 6.0


def _vix_file(where: Path, bars: pd.DataFrame) -> Path:
    """A CBOE-layout VIX history (``DATE,OPEN,HIGH,LOW,CLOSE``, MM/DD/YYYY) over the bars' dates."""
    days = pd.date_range(bars.index[0].date() - pd.Timedelta(days=10), bars.index[-1].date(), freq="B")
    close = 15 + 5 * np.abs(np.sin(np.arange(len(days)) / 20))
    out = where / "vix.csv"
    frame = pd.DataFrame({"DATE": days.strftime("%m/%d/%Y"), "OPEN": close, "HIGH": close + 1,
                          "LOW": close - 1, "CLOSE": close})
    frame.to_csv(out, index=False, float_format="%.6f")
    return out


def _firstrate_file(where: Path, generic: Path) -> Path:
    """The generic file's bars as FirstRate writes them: header, naive US/Eastern bar-start stamps."""
    out = where / "ES_1min_firstrate.csv"
    if out.exists():
        return out
    g = pd.read_csv(generic, engine="pyarrow")
    ts = pd.DatetimeIndex(pd.to_datetime(g["Timestamp"], utc=True)).tz_convert("America/New_York")
    g["Timestamp"] = ts.strftime("%Y-%m-%d %H:%M:%S")
    g.rename(columns={"Timestamp": "timestamp"}).to_csv(out, index=False)
    return out


def _bare(src: Path, out: Path) -> None:
    """Baseline: read the CSV with pyarrow and write it as Parquet, in a fresh interpreter."""
    code = ("import pyarrow.csv as c, pyarrow.parquet as q, sys; "
            "q.write_table(c.read_csv(sys.argv[1]), sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(src), str(out)], check=True)


def _merge(cli: list[str], es: Path, vix: Path, out: Path) -> None:
    subprocess.run([*cli, "data", "merge", "--es", str(es), "--vix", str(vix), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main(repeats: int = 3) -> None:
    repeats = max(3, repeats)
    cli = _command()
    tmp = Path(tempfile.mkdtemp(prefix="bench_merge_"))
    where = WORK if scale() == 1.0 else tmp
    try:
        _merged, nt, generic = make_files(ROWS, where)
        firstrate = _firstrate_file(where, generic)
        vix = _vix_file(tmp, pd.read_csv(_merged, usecols=["timestamp"], parse_dates=["timestamp"],
                                         engine="pyarrow").set_index("timestamp"))
        bare = median_seconds(lambda: _bare(generic, tmp / "bare.parquet"), repeats)
        print(line("bare pyarrow CSV -> Parquet (baseline)", ROWS, bare))
        for name, src, suffix in (("generic CSV -> merged CSV", generic, ".csv"),
                                  ("generic CSV -> merged Parquet", generic, ".parquet"),
                                  ("NinjaTrader -> merged CSV", nt, ".csv"),
                                  ("FirstRate naive NY -> merged CSV", firstrate, ".csv")):
            seconds = median_seconds(lambda src=src, suffix=suffix: _merge(cli, src, vix, tmp / f"m{suffix}"),
                                     repeats)
            verdict = "ok" if seconds <= BUDGET else "FAIL"
            print(line(f"data merge, {name}", ROWS, seconds,
                       f"{seconds / bare:5.1f}x bare; budget {BUDGET} s: {verdict}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
