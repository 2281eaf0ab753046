"""``train`` for one epoch from a partitioned dataset (memory-mapped shards) against the same bars as
one Parquet file (the in-memory path), whole process: wall time and peak resident memory (issue 19).

The dataset (``futures-vpoc data synth --years 3``: 2021-2023, ~1.05M one-minute bars, one Parquet
per trade-date month) is written once and cached in ``benchmarks/_work/sharded_3y/bars`` (a marker
file says it is complete), and the same bars as one file in ``.../one.parquet``.

Each figure is one fresh process that parses ``train``'s flags and runs
:func:`futures_vpoc.cli.train.cmd_train` (the command's whole work: the data stage, one epoch of a
small MLP, the test evaluation and the run analysis); its peak resident memory is the process's own
``ru_maxrss`` (VmHWM). That counts the file pages of the memory-mapped shards it touched while they
were resident (the kernel may drop them under memory pressure; anonymous memory it cannot): the
process also prints its ``RssAnon`` and ``RssFile`` at the end. A two-month warm-up run of each
path first fills numba's cache. ``FUTURES_VPOC_BENCH_SCALE`` scales the span down (a few months, in
a temporary folder, nothing cached).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import WORK, line, record, scale, scaled_dates

YEARS = 3
LAST_YEAR = 2023
SEED = 11
THREADS = str(min(2, os.cpu_count() or 1))
CACHE = WORK / "sharded_3y"
TRAIN = ["--epochs", "1", "--batch_size", "1024", "--hidden_dims", "32", "16", "--warmup_steps", "50",
         "--device", "cpu", "--threads", THREADS, "--no-verbose"]


def _child(argv: list[str]) -> None:
    """Run ``train`` in this process; print wall seconds, peak RSS and the final anon/file RSS (KB) as JSON."""
    from futures_vpoc.cli import Parser
    from futures_vpoc.cli.train import add_train_parser, cmd_train

    top = Parser(prog="futures-vpoc", allow_abbrev=False)
    add_train_parser(top.add_subparsers(dest="command", required=True, parser_class=Parser))
    args = top.parse_args(["train", *argv])
    args.argv = ["train", *argv]
    t0 = time.perf_counter()
    code = cmd_train(args)
    wall = time.perf_counter() - t0
    status = dict(x.split(":", 1) for x in Path("/proc/self/status").read_text().splitlines() if ":" in x)
    kb = {k: int(status[k].split()[0]) for k in ("RssAnon", "RssFile") if k in status}
    print(json.dumps({"code": code, "seconds": wall, "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      **kb}))


def _measure(data: Path, out: Path) -> dict:
    env = {**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", THREADS)}
    argv = [sys.executable, __file__, "--child", "--data", str(data), "--output_dir", str(out), *TRAIN]
    proc = subprocess.run(argv, check=True, env=env, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _write_one(bars: Path, one: Path) -> None:
    """The dataset's bars as one Parquet file (in a child process: it holds them all)."""
    code = ("import sys; from futures_vpoc.data.partitioned import read_any; "
            "from futures_vpoc.data.barframe import write_merged; write_merged(read_any(sys.argv[1]), sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(bars), str(one)], check=True)


def _dataset(work: Path) -> tuple[Path, Path]:
    """The bar dataset and the same bars as one file (written when missing)."""
    from bench_cli import _command

    bars, one, marker = work / "bars", work / "one.parquet", work / "complete.json"
    want = {"years": YEARS, "last_year": LAST_YEAR, "seed": SEED} if scale() == 1.0 else None
    if want is not None and marker.exists() and json.loads(marker.read_text()) == want and one.exists():
        return bars, one
    marker.unlink(missing_ok=True)
    if want is None:
        start, end = scaled_dates("2023-01-02", "2025-12-31", least_days=100)
        span = ["--start", start, "--end", end]
    else:
        span = ["--years", str(YEARS), "--end", f"{LAST_YEAR}-12-31"]
    shutil.rmtree(bars, ignore_errors=True)
    subprocess.run([*_command(), "data", "synth", "--out", str(bars), "--seed", str(SEED), *span], check=True,
                   stdout=subprocess.DEVNULL)
    _write_one(bars, one)
    if want is not None:
        marker.write_text(json.dumps(want))
    return bars, one


def _warm(bars: Path, tmp: Path) -> None:
    """Two months through both paths: numba's cache filled (or loaded) before anything is timed."""
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.partitioned import iter_partitions, read_any, write_partitioned

    months = iter_partitions(bars)
    write_partitioned([next(months), next(months), next(months)], tmp / "warm_ds")
    write_merged(read_any(tmp / "warm_ds"), tmp / "warm.parquet")
    _measure(tmp / "warm_ds", tmp / "warm_run_ds")
    _measure(tmp / "warm.parquet", tmp / "warm_run_one")


def main(repeats: int = 1) -> dict:
    """Write (or reuse) the data, run one epoch from each path once; print and return the figures."""
    full = scale() == 1.0
    work = CACHE if full else Path(tempfile.mkdtemp(prefix="bench_sharded_"))
    work.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench_sharded_out_"))
    try:
        bars, one = _dataset(work)
        _warm(bars, tmp)
        mem = _measure(one, tmp / "run_one")
        shards = _measure(bars, tmp / "run_ds")
        n = json.loads((tmp / "run_ds" / "config.json").read_text())["counts"]["n_bars"]
        cache_mb = sum(p.stat().st_size for p in (tmp / "run_ds" / "data_cache").iterdir()) / 2**20
        for name, r in (("train 1 epoch, one file in memory", mem), ("train 1 epoch, memory-mapped shards", shards)):
            extra = (f"peak {r['max_rss_kb'] / 1024:,.0f} MB (at the end: anon {r.get('RssAnon', 0) / 1024:,.0f} MB, "
                     f"file {r.get('RssFile', 0) / 1024:,.0f} MB); one run")
            print(line(f"{name} ({n:,} bars)", n, r["seconds"], extra))
        ratio = shards["max_rss_kb"] / mem["max_rss_kb"]
        record("peak resident memory, shards / in memory", ratio, "x",
               note=f"{shards['max_rss_kb'] / 1024:,.0f} MB vs {mem['max_rss_kb'] / 1024:,.0f} MB; "
                    f"shard files {cache_mb:,.0f} MB")
        print(f"peak memory: shards {shards['max_rss_kb'] / 1024:,.0f} MB, "
              f"in memory {mem['max_rss_kb'] / 1024:,.0f} MB ({ratio:.2f}x); shard files {cache_mb:,.0f} MB")
        if not full:
            print("(scaled run: a few months; the figures are for 3 years, ~1.05M bars)")
        return {"bars": n, "in_memory": mem, "sharded": shards, "cache_mb": cache_mb}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not full:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        main()
