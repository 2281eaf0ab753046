"""Run every benchmark (``make bench``); each prints rows per second and ratios to its baseline.

``--repeats N`` (default 3) is passed to every benchmark's ``main``. ``FUTURES_VPOC_BENCH_SCALE``
(default 1) scales every size (see ``_common.scaled``); tests/test_benchmarks_smoke.py runs this
script at 0.01 with one repeat.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SCALE_ENV, scale  # noqa: E402

import bench_backtest  # noqa: E402
import bench_cli  # noqa: E402
import bench_evaluate  # noqa: E402
import bench_features  # noqa: E402
import bench_load  # noqa: E402
import bench_merge  # noqa: E402
import bench_onnx  # noqa: E402
import bench_predict  # noqa: E402
import bench_profile  # noqa: E402
import bench_replay  # noqa: E402
import bench_synth  # noqa: E402
import bench_train  # noqa: E402

SECTIONS = (
    ("command line start-up (whole process)", bench_cli),
    ("synthetic market", bench_synth),
    ("loading 1M-row files", bench_load),
    ("data merge of 1M bars plus VIX (whole process)", bench_merge),
    ("volume profiles (one core)", bench_profile),
    ("features (1M bars, all groups)", bench_features),
    ("backtest engine (1M bars, stops and targets)", bench_backtest),
    ("test statistics (1M predictions, 1,000 session-block replicates)", bench_evaluate),
    ("trainer (seed ambitious 512-256-128-64) vs bare PyTorch loops", bench_train),
    ("ONNX export: onnxruntime vs torch inference (10,000 rows, batch 1)", bench_onnx),
    ("live features one bar at a time vs the batch build (replay's engine)", bench_replay),
    ("predict of 1M bars (whole process) and replay of a trained model bar by bar", bench_predict),
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing, medians reported (default 3)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if scale() != 1.0:
        print(f"{SCALE_ENV}={scale():g}: every size is scaled (section titles name the full sizes); "
              "rates at this scale are not comparable to full-size figures")
    for title, module in SECTIONS:
        print(f"== {title} ==", flush=True)
        module.main(repeats=args.repeats)


if __name__ == "__main__":
    main()
