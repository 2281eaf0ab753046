"""The demo's out-of-time month: train on the first months, then predict, replay, score and backtest
the last month, which no stage before saw (issue 17).

:func:`hold_out_last_month` (after the data stage) writes the training file, the data without its
last 21 trade dates (about a month of sessions); every training stage reads that file. :func:`holdout_stage`
(after the backtest) runs what a user runs on new bars: ``predict`` and ``replay`` of the held-out
month (the bars before it only warm the features up), ``evaluate`` of the predictions, and
``backtest --model`` on the whole file, which trades only the bars after the training file (the
out-of-time test). It writes ``holdout/replay_parity.json``: the largest difference between
replay's and predict's P(up), the figure the report shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.cli.demo.runner import Demo

HOLDOUT_SESSIONS = 21
"""Trade dates held out: the last 21, about one month of sessions."""
HOLDOUT_MIN_SESSIONS = 4 * HOLDOUT_SESSIONS
"""Trade dates a file needs before a month is held out (three months to train on)."""


WARMUP_SESSIONS = 30
"""Trade dates before the held-out month that the month's file keeps, only to warm the features up
(the longest declared warm-up is 20 sessions: the VIX percentile)."""


def hold_out_last_month(demo: Demo) -> None:
    """Write ``data/train_months.parquet`` (every trade date before the last 21) and point the
    training stages at it; on daily bars or short files keep the whole file and say why."""
    from futures_vpoc.data.barframe import write_merged

    st = demo.state
    st.train_file = st.data_file
    dates = pd.DatetimeIndex(st.bars["trade_date"])
    days = dates.unique().sort_values()
    if st.daily:
        st.holdout_reason = "daily bars: a held-out month is about 21 bars, too few to test anything"
    elif len(days) < HOLDOUT_MIN_SESSIONS:
        st.holdout_reason = (f"{len(days)} trade dates; holding the last {HOLDOUT_SESSIONS} out needs "
                             f"{HOLDOUT_MIN_SESSIONS} (three months to train on)")
    if st.holdout_reason:
        return
    first_day = days[-HOLDOUT_SESSIONS]
    keep = np.asarray(dates < first_day)
    st.train_file = st.out / "data" / "train_months.parquet"
    write_merged(st.bars[keep], st.train_file)
    st.holdout_start = pd.DatetimeIndex(st.bars.index)[int(np.argmin(keep))]
    st.holdout_history_from = days[max(0, len(days) - HOLDOUT_SESSIONS - WARMUP_SESSIONS)]
    demo.say(f"data: the last {HOLDOUT_SESSIONS} trade dates ({first_day:%Y-%m-%d} .. {days[-1]:%Y-%m-%d}) are held "
             f"out; every training stage reads {st.train_file.name} ({int(keep.sum()):,} bars)")


def holdout_stage(demo: Demo) -> None:
    """predict, replay, evaluate and backtest the held-out month with the trained model.

    All four read one file, ``holdout/later.parquet``: the held-out month with the
    :data:`WARMUP_SESSIONS` trade dates before it, as a user merges new months with a few weeks of
    history. ``backtest --model`` on it trades only the bars after the training file.
    """
    st = demo.state
    if st.holdout_reason or st.train_dir is None:
        demo.skip("holdout", st.holdout_reason or "no training run to apply to the held-out month")
        return
    folder = st.out / "holdout"
    later = _later_file(st, folder / "later.parquet")
    start = st.holdout_start.isoformat()
    model = ["--model", str(st.train_dir), "--data", str(later)]
    pred, rep = folder / "predictions.parquet", folder / "replay.parquet"
    steps = (("predict", ["predict", *model, "--start", start, "--out", str(pred)]),
             ("replay", ["replay", *model, "--start", start, "--out", str(rep)]),
             ("evaluate", ["evaluate", "--predictions", str(pred), "--json", str(folder / "evaluate.json")]),
             ("holdout", ["backtest", *model, "--theta", f"{demo_theta():g}", "--output_dir", str(folder / "backtest"),
                          "--n_random", str(demo.args.n_random)]))
    for name, argv in steps:
        if demo.stage(name, argv, skippable=True) is None:
            return
    _write_parity(pred, rep, folder / "replay_parity.json")
    st.holdout_dir = folder


def _later_file(st, path: Path) -> Path:
    """Write the held-out month with its warm-up trade dates before it; return the path."""
    from futures_vpoc.data.barframe import write_merged

    path.parent.mkdir(parents=True, exist_ok=True)
    write_merged(st.bars[np.asarray(st.bars["trade_date"] >= st.holdout_history_from)], path)
    return path


def demo_theta() -> float:
    from futures_vpoc.cli.demo.stages import DEMO_THETA

    return DEMO_THETA


def _write_parity(pred_path, replay_path, out) -> None:
    """``{"bars", "predictions", "max_abs_diff", "same_missing"}`` of replay against predict."""
    from futures_vpoc.data.barframe import atomic_write

    p, r = pd.read_parquet(pred_path), pd.read_parquet(replay_path)
    same = len(p) == len(r) and bool((p["timestamp"].to_numpy() == r["timestamp"].to_numpy()).all())
    a, b = p["prob"].to_numpy(np.float64), r["prob"].to_numpy(np.float64)
    both = np.isfinite(a) & np.isfinite(b) if same else np.zeros(0, bool)
    doc = {"bars": int(len(p)), "predictions": int(both.sum()),
           "same_missing": bool(same and (np.isfinite(a) == np.isfinite(b)).all()),
           "max_abs_diff": float(np.abs(a[both] - b[both]).max()) if both.any() else None}
    atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8"))


__all__ = ["HOLDOUT_MIN_SESSIONS", "HOLDOUT_SESSIONS", "hold_out_last_month", "holdout_stage"]
