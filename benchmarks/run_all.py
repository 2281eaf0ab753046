"""Run every benchmark (``make bench``); each prints rows per second and ratios to its baseline.

``--repeats N`` (default 5) is passed to every benchmark's ``main``. ``FUTURES_VPOC_BENCH_SCALE``
(default 1) scales every size (see ``_common.scaled``); tests/test_benchmarks_smoke.py runs this
script at 0.01 with one repeat. Every figure goes into one Markdown table per section:
``benchmarks/results.md`` at full size, ``benchmarks/_work/scaled/results.md`` at another scale (``--results``
names another file).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SCALE_ENV, WORK, results_markdown, scale, section  # noqa: E402

import bench_backtest  # noqa: E402
import bench_cli  # noqa: E402
import bench_evaluate  # noqa: E402
import bench_executor  # noqa: E402
import bench_features  # noqa: E402
import bench_load  # noqa: E402
import bench_merge  # noqa: E402
import bench_onnx  # noqa: E402
import bench_partitioned  # noqa: E402
import bench_predict  # noqa: E402
import bench_profile  # noqa: E402
import bench_sharded  # noqa: E402
import bench_replay  # noqa: E402
import bench_signals  # noqa: E402
import bench_stages  # noqa: E402
import bench_synth  # noqa: E402
import bench_train  # noqa: E402
import bench_trades  # noqa: E402

SECTIONS = (
    ("command line start-up (whole process)", bench_cli),
    ("synthetic market", bench_synth),
    ("loading 1M-row files", bench_load),
    ("data merge of 1M bars plus VIX (whole process)", bench_merge),
    ("volume profiles (one core)", bench_profile),
    ("exact profiles from trades: kernel, whole process, memory from 10M to 100M prints", bench_trades),
    ("features (1M bars, all groups)", bench_features),
    ("features month by month over 20 years of partitions (~7M bars, whole process, peak memory)", bench_partitioned),
    ("train 1 epoch from a 3-year dataset: memory-mapped shards vs in memory (whole process, peak memory)",
     bench_sharded),
    ("backtest engine (1M bars, stops and targets)", bench_backtest),
    ("backtest --signals: 1,000 columns x 100,000 bars (whole process) vs vectorbt from_signals", bench_signals),
    ("test statistics (1M predictions, 1,000 session-block replicates)", bench_evaluate),
    ("trainer (seed ambitious 512-256-128-64) vs bare PyTorch loops", bench_train),
    ("ONNX export: onnxruntime vs torch inference (10,000 rows, batch 1)", bench_onnx),
    ("live features one bar at a time vs the batch build (replay's engine)", bench_replay),
    ("predict of 1M bars (whole process) and replay of a trained model bar by bar", bench_predict),
    ("every stage on 1M bars: whole process beside the work in process", bench_stages),
    ("walk-forward, 4 folds (whole process): --executor local with 2 workers vs serial", bench_executor),
)
RESULTS = Path(__file__).resolve().parent / "results.md"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing, medians reported (default 5)")
    parser.add_argument("--results", default=None, help="Markdown table to write (default benchmarks/results.md "
                                                        "at full size, benchmarks/_work/scaled/results.md otherwise)")
    parser.add_argument("--only", nargs="+", default=None, metavar="MODULE",
                        help="run only these benchmarks (module names, e.g. bench_features)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if scale() != 1.0:
        print(f"{SCALE_ENV}={scale():g}: every size is scaled (section titles name the full sizes); "
              "rates at this scale are not comparable to full-size figures")
    chosen = [(t, m) for t, m in SECTIONS if args.only is None or m.__name__ in args.only]
    started = time.time()
    for title, module in chosen:
        print(f"== {title} ==", flush=True)
        section(title)
        module.main(repeats=args.repeats)
    path = Path(args.results) if args.results else (RESULTS if scale() == 1.0 else WORK / "scaled" / "results.md")
    path.parent.mkdir(parents=True, exist_ok=True)
    header = _header(args.repeats, started)
    if args.only:
        header.append(f"Only these benchmarks ran (`--only`): {', '.join(args.only)}; the others are not in this file.")
    path.write_text(results_markdown(header))
    print(f"wrote {path}")


def _header(repeats: int, started: float) -> list[str]:
    import platform

    import numba
    import numpy

    cpu = next((t.split(":", 1)[1].strip() for t in Path("/proc/cpuinfo").read_text().splitlines()
                if t.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    return ["# Benchmark results", "",
            f"Written by `make bench` (`benchmarks/run_all.py`, {time.time() - started:,.0f} s) on {when}: "
            f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"numba {numba.__version__}. Medians of {repeats} runs; scale {scale():g}. Every figure sits "
            "beside its anchors, measured in the same run (same section). Timings on a shared machine "
            "vary by 10-30 % between runs: compare ratios within a section, not across files.", ""]


if __name__ == "__main__":
    main()
