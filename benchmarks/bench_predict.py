"""``futures-vpoc predict`` on 1M one-minute bars, whole process, and ``replay`` of a trained model
bar by bar (issue 17).

Targets: predict >= 200,000 bars/s end to end (read, every feature group with the run's frozen
fits, scaling, network, labels, Parquet write; one fresh process per run), replay >= 5,000 bars/s
with a per-bar p99 latency <= 2 ms (features of all groups + scaling + network per bar, in
process). Anchors measured in the same run: ``futures-vpoc features`` on the same file (the same
feature work, whole process) and the in-process ``build_features`` time.

The model is a small run trained here once on six weeks of synthetic bars (2 epochs, 32-16): the
network's size hardly matters next to the features (a 1M x 59 float64 forward pass of 32-16 is
~0.1 s). Predicting the benchmark file needs ``--allow-overlap`` because both come from the same
synthetic calendar; the overlap check costs nothing either way.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import WORK, line, median_seconds, scale, scaled, scaled_dates
from bench_cli import _command
from bench_load import ROWS, make_files

PREDICT_TARGET = 200_000
REPLAY_TARGET = 5_000
P99_TARGET_MS = 2.0
REPLAY_BARS = scaled(30_000, least=3_000)
TRAIN_START, TRAIN_END = scaled_dates("2023-01-02", "2023-02-15", least_days=21)
EPOCHS = "2" if scale() == 1.0 else "1"


def _model(cli: list[str], tmp: Path) -> Path:
    data, run = tmp / "train.parquet", tmp / "run"
    subprocess.run([*cli, "data", "synth", "--out", str(data), "--start", TRAIN_START, "--end", TRAIN_END,
                    "--seed", "5"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*cli, "train", "--data", str(data), "--output_dir", str(run), "--epochs", EPOCHS,
                    "--hidden_dims", "32", "16", "--batch_size", "1024", "--no-baselines"], check=True,
                   stdout=subprocess.DEVNULL)
    return run


def _run(cli: list[str], *argv: str) -> None:
    subprocess.run([*cli, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _replay(run: Path, merged: Path, repeats: int) -> None:
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.ml.bundle import load_bundle
    from futures_vpoc.ml.replay import replay_bars

    bundle = load_bundle(run)
    bars = read_merged(merged).iloc[:REPLAY_BARS]
    replay_bars(bundle, bars.iloc[:2000], allow_overlap=True)  # numba steps compiled or loaded, not timed
    rates, p50, p99 = [], [], []
    for _ in range(repeats):
        lat: list = []
        t0 = time.perf_counter()
        replay_bars(bundle, bars, allow_overlap=True, latencies=lat)
        total = time.perf_counter() - t0
        ms = np.asarray(lat) * 1e3
        rates.append(len(bars) / total)
        p50.append(float(np.percentile(ms, 50)))
        p99.append(float(np.percentile(ms, 99)))
    rate, q99 = float(np.median(rates)), float(np.median(p99))
    ok = "ok" if rate >= REPLAY_TARGET and q99 <= P99_TARGET_MS else "MISSED"
    print(f"  replay_bars, {len(bars):,} bars one at a time (all groups + scaler + network): {rate:,.0f} bars/s, "
          f"per bar p50 {np.median(p50):.3f} ms, p99 {q99:.3f} ms (target >= {REPLAY_TARGET:,} bars/s, "
          f"p99 <= {P99_TARGET_MS:g} ms: {ok})")


def main(repeats: int = 3) -> None:
    repeats = max(3, repeats)
    cli = _command()
    tmp = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    where = WORK if scale() == 1.0 else tmp
    try:
        merged, _nt, _generic = make_files(ROWS, where)
        parquet = tmp / "bars.parquet"
        pd.read_csv(merged, engine="pyarrow").to_parquet(parquet)
        run = _model(cli, tmp)
        feats = median_seconds(lambda: _run(cli, "features", "--data", str(parquet), "--out",
                                            str(tmp / "f.parquet")), repeats)
        print(line("futures-vpoc features, whole process (anchor)", ROWS, feats))
        seconds = median_seconds(lambda: _run(cli, "predict", "--model", str(run), "--data", str(parquet),
                                              "--out", str(tmp / "p.parquet"), "--allow-overlap"), repeats)
        ok = "ok" if ROWS / seconds >= PREDICT_TARGET else "MISSED"
        print(line("futures-vpoc predict, whole process", ROWS, seconds,
                   f"{seconds / feats:.2f}x features; target >= {PREDICT_TARGET:,} bars/s: {ok}"))
        _replay(run, parquet, repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import sys

    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
