"""onnxruntime inference of an exported model (``futures-vpoc export``) against the same model in torch.

The model is the seed's ambitious 512-256-128-64 MLP on 58 features with a fitted RobustScaler,
exported through :mod:`futures_vpoc.ml.export` (scaler folded in) -- no training run needed. Both
sides run the same folded graph on the same float32 rows in the same process: torch
(``ScaledModel`` under ``torch.inference_mode``) and onnxruntime (``CPUExecutionProvider``).
Figures: batch 10,000 throughput (rows/s) and batch-1 latency p50/p99 (microseconds over 1,000
single-row calls), each the median of 5 runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import line, scaled

FEATURES = 58
HIDDEN = (512, 256, 128, 64)
RUNS = 5


def _source():
    import torch

    from futures_vpoc.dataset.scaling import RobustScaler
    from futures_vpoc.ml.export import Member, Source
    from futures_vpoc.ml.model import MLP

    rng = np.random.default_rng(0)
    scaler = RobustScaler().fit(rng.standard_t(4, size=(5000, FEATURES)) * rng.uniform(0.1, 50, FEATURES),
                                [f"f{i}" for i in range(FEATURES)])
    torch.manual_seed(0)
    model = MLP(FEATURES, HIDDEN, 0.1)
    payload = {"model_spec": model.spec(), "model": model.state_dict(), "feature_names": scaler.feature_names_in_,
               "dataset": {"scaler": scaler.to_dict()}, "target": {"target": "direction", "output": "logit"}}
    member = Member("model", Path("."), payload)
    return Source("run", Path("."), [member], None, member.feature_names)


def _latencies(fn, x1, calls: int) -> tuple[float, float]:
    times = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter()
        fn(x1)
        times[i] = time.perf_counter() - t0
    return float(np.percentile(times, 50)) * 1e6, float(np.percentile(times, 99)) * 1e6


def main(repeats: int = RUNS) -> None:
    import torch

    from futures_vpoc.ml.export import build_module, export_checked, onnx_session, parity_rows, run_onnx

    runs = max(repeats, RUNS) if repeats >= 3 else repeats  # medians of 5 at full size; the smoke test runs 1
    n, calls = scaled(10_000, 100), scaled(1_000, 20)
    source = _source()
    with tempfile.TemporaryDirectory() as tmp:
        exported = export_checked(source, workdir=tmp, rows=n)
        session = onnx_session(exported.onnx_path)
        module = build_module(source)
        X = np.ascontiguousarray(parity_rows(source, n, seed=1))
        xt = torch.from_numpy(X)

        def torch_run(x):
            with torch.inference_mode():
                return module(x)

        run_onnx(session, X), torch_run(xt)  # warm-up
        big = {"onnxruntime": [], "torch": []}
        lat = {"onnxruntime": [], "torch": []}
        for _ in range(runs):
            for name, fn, data in (("onnxruntime", lambda a: run_onnx(session, a), X), ("torch", torch_run, xt)):
                t0 = time.perf_counter()
                fn(data)
                big[name].append(time.perf_counter() - t0)
                lat[name].append(_latencies(fn, data[:1], calls))
        print(f"model {FEATURES}-{'-'.join(map(str, HIDDEN))}-1, scaler folded in; parity max |diff| "
              f"{exported.parity['max_abs_diff']:.2g} on {n:,} rows; torch threads {torch.get_num_threads()}; "
              f"medians of {runs} runs")
        for name in ("torch", "onnxruntime"):
            sec = statistics.median(big[name])
            p50 = statistics.median(v[0] for v in lat[name])
            p99 = statistics.median(v[1] for v in lat[name])
            print(line(f"{name} batch {n:,}", n, sec, f"batch-1 latency p50 {p50:.1f} us, p99 {p99:.1f} us"))
        ratio = statistics.median(big["torch"]) / statistics.median(big["onnxruntime"])
        print(f"onnxruntime / torch throughput at batch {n:,}: {ratio:.2f}x")
        exported.tmpdir.cleanup()


if __name__ == "__main__":
    main()
