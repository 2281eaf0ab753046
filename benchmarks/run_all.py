"""Run every benchmark (``make bench``); each prints rows per second and ratios to its baseline."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_backtest  # noqa: E402
import bench_features  # noqa: E402
import bench_load  # noqa: E402
import bench_profile  # noqa: E402
import bench_synth  # noqa: E402
import bench_train  # noqa: E402

if __name__ == "__main__":
    print("== synthetic market ==")
    bench_synth.main()
    print("== loading 1M-row files ==")
    bench_load.main()
    print("== volume profiles (one core) ==")
    bench_profile.main()
    print("== features (1M bars, all groups) ==")
    bench_features.main()
    print("== backtest engine (1M bars, stops and targets) ==")
    bench_backtest.main()
    print("== trainer (seed ambitious 512-256-128-64) vs bare PyTorch loops ==")
    bench_train.main()
