"""Every stage on the same 1M one-minute bars: the command (whole process) beside its work in process.

Stages (issue 20): ``data merge``, ``profile`` (session table and the developing table),
``features``, ``train`` for one epoch and ``backtest`` of one rule strategy. For each, the command
runs in a fresh process (start-up, imports, numba's cached kernels loaded, reading and writing the
files) and its work runs in this process on data already in memory, warmed up:

* merge: :func:`futures_vpoc.data.merge.build_merged` (parsing included: the file is its input);
* profile: :func:`futures_vpoc.profile.developing_profile` with the finished sessions;
* features: :func:`futures_vpoc.features.build_features` (fits included, as in a fresh process);
* train (``--epochs 1 --batch_size 4096 --no-baselines``): the epoch's own seconds from the run's
  ``metrics.jsonl`` (the whole-process figure adds reading, features, dataset, the validation and
  test evaluation and the run directory's files);
* backtest: :func:`futures_vpoc.backtest.run.run_backtest` of ``ma_cross`` (signal included).

The gap between the two columns is what a user waits for beyond the computation: start-up and
I/O. Medians of ``repeats`` (at least 3) runs each; each command runs as the only child of a fresh
parent that times it and reads its peak resident memory (the largest over the runs is printed).
Target (issue 20): the ``features`` command on 1M bars within 3.5 s and 1.5 GB.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from _common import WORK, line, median_seconds, scale, scaled, target  # noqa: E402
from bench_cli import _command  # noqa: E402
from bench_load import make_files  # noqa: E402
from bench_merge import _vix_file  # noqa: E402
from bench_signals import _measure  # noqa: E402


ROWS = scaled(1_000_000, least=25_000)  # at small scales still ~18 sessions, enough for train's split
FEATURES_SECONDS, FEATURES_MB = 3.5, 1536  # issue 20: the features command on 1M bars, whole process
_PEAK_MB: dict[str, float] = {}
"""Largest peak resident memory [MB] of each stage's command over its runs (:func:`_run`)."""


def _run(stage: str, argv: list[str]) -> float:
    """Run one command to its end as the only child of a fresh parent: its wall seconds (the child's
    alone, timed by that parent); its peak memory is kept in :data:`_PEAK_MB` under ``stage``."""
    measured = _measure(argv, dict(os.environ))
    _PEAK_MB[stage] = max(_PEAK_MB.get(stage, 0.0), measured["max_rss_kb"] / 1024)
    return measured["seconds"]


def _whole(command, repeats: int) -> float:
    """Median of ``repeats`` runs of ``command()`` (which returns :func:`_run`'s seconds)."""
    return statistics.median(command() for _ in range(repeats))


def _epoch_seconds(run: Path) -> float:
    """The training epoch's own seconds from ``metrics.jsonl`` (the last epoch record)."""
    seconds = [json.loads(t)["seconds"] for t in (run / "metrics.jsonl").read_text().splitlines()
               if t.strip() and "seconds" in json.loads(t)]
    return float(seconds[-1])


def _stage(name: str, rows: int, whole: float, inside: float, peak_mb: float) -> None:
    print(line(f"{name}, in process", rows, inside))
    beyond = f"{whole - inside:5.2f} s beyond the work; peak {peak_mb:,.0f} MB"
    print(line(f"{name}, whole process", rows, whole, beyond, anchor=f"{name}, in process", anchor_seconds=inside))


def _in_process(merged: Path, generic: Path, vix: Path, repeats: int) -> dict:
    from futures_vpoc.backtest import strategies as S
    from futures_vpoc.backtest.run import run_backtest
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.data.merge import MergeOptions, build_merged
    from futures_vpoc.features import build_features
    from futures_vpoc.profile import developing_profile

    bars = read_merged(merged)
    build_features(bars.iloc[:50_000])  # numba kernels loaded, not timed
    signal = S.ma_cross(bars)
    run_backtest(bars.iloc[:50_000], {"ma_cross": signal[:50_000]}, n_random=0, n_boot=10)
    return {
        "merge": median_seconds(lambda: build_merged(str(generic), str(vix), MergeOptions()), repeats),
        "profile": median_seconds(lambda: developing_profile(bars, prior=True), repeats),
        "features": median_seconds(lambda: build_features(bars), repeats),
        "backtest": median_seconds(lambda: run_backtest(bars, {"ma_cross": S.ma_cross(bars)}, n_random=0,
                                                         n_boot=10), repeats),
    }


def main(repeats: int = 3) -> None:
    repeats = max(3, repeats)
    cli = _command()
    tmp = Path(tempfile.mkdtemp(prefix="bench_stages_"))
    where = WORK if scale() == 1.0 else tmp
    try:
        merged_csv, _nt, generic = make_files(ROWS, where)
        vix = _vix_file(tmp, __import__("pandas").read_csv(merged_csv, engine="pyarrow", index_col=0,
                                                             parse_dates=True))
        merged = tmp / "merged.parquet"
        whole = {"merge": _whole(lambda: _run("merge", [*cli, "data", "merge", "--es", str(generic), "--vix", str(vix),
                                                       "--out", str(merged)]), repeats)}
        whole["profile"] = _whole(lambda: _run("profile", [*cli, "profile", "--data", str(merged), "--rows", "0",
                                                        "--out", str(tmp / "s.parquet"),
                                                        "--developing", str(tmp / "d.parquet")]), repeats)
        whole["features"] = _whole(lambda: _run("features", [*cli, "features", "--data", str(merged), "--out",
                                                         str(tmp / "f.parquet")]), repeats)
        runs = []

        def train() -> float:
            run = tmp / f"run{len(runs)}"
            runs.append(run)
            return _run("train", [*cli, "train", "--data", str(merged), "--output_dir", str(run), "--epochs", "1",
                                  "--batch_size", "4096", "--no-baselines"])

        whole["train"] = _whole(train, repeats)
        epoch = sorted(_epoch_seconds(r) for r in runs)[len(runs) // 2]
        whole["backtest"] = _whole(lambda: _run("backtest", [*cli, "backtest", "--data", str(merged), "--strategy",
                                                         "ma_cross", "--output_dir", str(tmp / "bt")]), repeats)
        inside = {**_in_process(merged, generic, vix, repeats), "train": epoch}
        rows = ROWS
        for name in ("merge", "profile", "features", "train", "backtest"):
            _stage({"train": "train, one epoch"}.get(name, name), rows, whole[name], inside[name], _PEAK_MB[name])
        if scale() == 1.0:
            print(target("features command on 1M bars, whole process", whole["features"], "s",
                         f"at most {FEATURES_SECONDS:g} s (issue 20)", whole["features"] <= FEATURES_SECONDS))
            print(target("features command on 1M bars, peak memory", _PEAK_MB["features"], "MB",
                         f"at most {FEATURES_MB:,} MB (issue 20)", _PEAK_MB["features"] <= FEATURES_MB))
        print(f"({rows:,} bars; medians of {repeats}; train's in-process figure is the epoch's own time)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import sys

    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
