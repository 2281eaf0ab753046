"""Live replay: ``LiveFeatures.push`` one bar at a time against the batch ``build_features``.

Target: at least 5,000 bars/s and a per-bar latency p99 of at most 2 ms, all groups together, over
at least 20,000 one-minute bars (synthetic 2023-03-01 .. 2023-04-14: the ESH3->ESM3 roll, the
March DST change and Good Friday inside). Each run pushes every bar through a fresh
:class:`~futures_vpoc.features.live.LiveFeatures` (the frozen context of a build on the same
bars), timing each ``push`` with ``perf_counter_ns``; the rows are the BarFrame's ``itertuples()``,
built before the clock starts (a feed hands over one such record per bar). Reported: throughput
(bars / total push time), latency p50 / p99 / max, each the median over ``repeats`` runs, beside
the median batch ``build_features(bars, context=ctx)`` time on the same bars in the same run. A
warm-up replay of 2,000 bars compiles (or loads) the numba steps first, not timed. Then each
group alone, one run each.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from _common import line, median_seconds, scaled_dates  # noqa: E402

from futures_vpoc.data.synthetic import SynthConfig, synthesize  # noqa: E402
from futures_vpoc.features import GROUPS, build_features  # noqa: E402
from futures_vpoc.features.live import LiveFeatures  # noqa: E402

_START, _END = scaled_dates("2023-03-01", "2023-04-14", least_days=7)
CONFIG = SynthConfig(start=_START, end=_END, seed=1)
TARGET_BARS_PER_S = 5_000
TARGET_P99_MS = 2.0


def _replay(rows, groups, ctx) -> tuple[float, np.ndarray]:
    live = LiveFeatures(groups, ctx)
    lat = np.empty(len(rows), dtype=np.int64)
    clock = time.perf_counter_ns
    push = live.push
    t0 = clock()
    for i, row in enumerate(rows):
        a = clock()
        push(row)
        lat[i] = clock() - a
    return (clock() - t0) / 1e9, lat


def _stats(rows, groups, ctx, repeats: int) -> dict:
    runs = [_replay(rows, groups, ctx) for _ in range(repeats)]
    n = len(rows)
    return {
        "bars_per_s": statistics.median(n / s for s, _ in runs),
        "p50_ms": statistics.median(float(np.percentile(lat, 50)) / 1e6 for _, lat in runs),
        "p99_ms": statistics.median(float(np.percentile(lat, 99)) / 1e6 for _, lat in runs),
        "max_ms": statistics.median(float(lat.max()) / 1e6 for _, lat in runs),
        "seconds": statistics.median(s for s, _ in runs),
    }


def main(repeats: int = 3) -> dict:
    bars, _ = synthesize(CONFIG)
    n = len(bars)
    ctx = build_features(bars).context
    rows = list(bars.itertuples())
    _replay(rows[:2000], None, ctx)  # compile or load the numba steps, not timed
    batch = median_seconds(lambda: build_features(bars, context=ctx), repeats)
    live = _stats(rows, None, ctx, repeats)
    ok = live["bars_per_s"] >= TARGET_BARS_PER_S and live["p99_ms"] <= TARGET_P99_MS
    print(line("batch build_features, all groups", n, batch))
    print(line("live push, all groups", n, live["seconds"],
               f"p50 {live['p50_ms'] * 1e3:.0f} us, p99 {live['p99_ms'] * 1e3:.0f} us, max {live['max_ms']:.2f} ms; "
               f"target >= {TARGET_BARS_PER_S:,} bars/s, p99 <= {TARGET_P99_MS:g} ms: {'PASS' if ok else 'FAIL'}"))
    per_group = {}
    for g in GROUPS:
        ctx_g = ctx if g == "volatility" else build_features(bars.iloc[:1000], [g]).context
        st = _stats(rows, [g], ctx_g, 1)
        per_group[g] = st
        print(line(f"  live push, group {g} alone", n, st["seconds"],
                   f"p50 {st['p50_ms'] * 1e3:.0f} us, p99 {st['p99_ms'] * 1e3:.0f} us"))
    print(f"({n:,} bars {bars.index[0]:%Y-%m-%d} .. {bars.index[-1]:%Y-%m-%d}, "
          f"{bars['contract'].nunique()} contracts, {len(build_features(bars.iloc[:10], context=ctx).specs)} features; "
          f"live figures: median of {repeats} runs, one run per group alone)")
    return {"rows": n, "batch_seconds": batch, "batch_bars_per_s": n / batch,
            **{f"live_{k}": v for k, v in live.items()}, "within_target": ok, "per_group": per_group}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
