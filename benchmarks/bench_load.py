"""Loading a 1M-row bar CSV: our loader (parse + validation + calendar) against a bare
``pyarrow.csv.read_csv`` of the same file, in the same run. Budget: within 5x of the bare read."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

from _common import WORK, line, median_seconds, scale, scaled, scaled_dates

from futures_vpoc.data.barframe import read_merged, write_merged
from futures_vpoc.data.load import load_es
from futures_vpoc.data.synthetic import SynthConfig, synthesize

BUDGET = 5.0
ROWS = scaled(1_000_000, least=5_000)
# The synthetic range the rows are cut from: at least four weeks (about 27,000 bars).
_START, _END = scaled_dates("2021-01-04", "2024-06-28", least_days=28)


def make_files(rows: int = ROWS, where: Path = WORK):
    """Write the same bars as a merged CSV, a NinjaTrader export and a generic CSV into ``where``
    (once: files already there are reused, so ``where`` must only ever hold one size)."""
    where.mkdir(exist_ok=True)
    merged = where / "bench_merged.csv"
    nt = where / "ES 06-23.Last.txt"
    generic = where / "bench_generic.csv"
    if merged.exists() and nt.exists() and generic.exists():
        return merged, nt, generic
    bars, _ = synthesize(SynthConfig(start=_START, end=_END, seed=3))
    bars = bars.iloc[:rows]
    write_merged(bars, merged)
    end = (bars.index + np.timedelta64(1, "m")).strftime("%Y%m%d %H%M%S")
    cols = [bars[c].map(repr) for c in ("open", "high", "low", "close")]
    vol = bars["volume"].astype("int64").astype(str)
    text = end + ";" + cols[0] + ";" + cols[1] + ";" + cols[2] + ";" + cols[3] + ";" + vol
    nt.write_text("\n".join(text) + "\n")
    g = bars[["open", "high", "low", "close", "volume"]].copy()
    g.index = bars.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    g.index.name = "Timestamp"
    g.to_csv(generic)
    return merged, nt, generic


def bare(path, semicolon=False):
    parse = pacsv.ParseOptions(delimiter=";") if semicolon else pacsv.ParseOptions()
    read = pacsv.ReadOptions(autogenerate_column_names=semicolon)
    return pacsv.read_csv(path, read_options=read, parse_options=parse)


@contextlib.contextmanager
def _files():
    """The full-size files, cached in ``_work``; at any other scale, files in a temporary folder
    removed afterwards, so a scaled run never leaves small files that a full-size run would reuse."""
    if scale() == 1.0:
        yield make_files()
        return
    with tempfile.TemporaryDirectory(prefix="futures_vpoc_bench_") as tmp:
        yield make_files(ROWS, Path(tmp))


def main(repeats: int = 3) -> dict:
    with _files() as files:
        return _run(*files, repeats)


def _run(merged, nt, generic, repeats: int) -> dict:
    results = {}
    cases = [
        ("ninjatrader export", nt, True, lambda: load_es(nt, fmt="auto")),
        ("generic CSV (ISO UTC timestamps)", generic, False, lambda: load_es(generic, fmt="auto")),
        ("merged file (read_merged)", merged, False, lambda: read_merged(merged)),
    ]
    for name, path, semi, ours in cases:
        rows = bare(path, semi).num_rows
        base = median_seconds(lambda: bare(path, semi), repeats)
        mine = median_seconds(ours, repeats)
        ratio = mine / base
        verdict = "within budget" if ratio <= BUDGET else "OVER BUDGET"
        print(line(f"pyarrow.csv.read_csv: {name}", rows, base))
        print(line(f"futures-vpoc: {name}", rows, mine, f"{ratio:.2f}x bare read ({verdict}, budget {BUDGET:.0f}x)"))
        results[name] = {"rows": rows, "bare_s": base, "ours_s": mine, "ratio": ratio}
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
