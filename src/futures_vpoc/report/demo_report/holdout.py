"""The demo report's out-of-time section: the held-out last month, predicted, replayed, scored and
backtested with the model trained on the months before it.

Read from the holdout folder the demo wrote (``predictions.parquet``'s metadata for the training
period, ``evaluate.json``, ``backtest/stats.json``, ``replay_parity.json``); computes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from futures_vpoc.backtest.stats import LABELS
from futures_vpoc.report.common import esc, read_json
from futures_vpoc.report.demo_report.backtest import STAT_COLUMNS, _stats_rows
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.pieces import _lead, _link, _not_run, _table
from futures_vpoc.report.evaluation_table import method_line, metric_rows


def _facts(path: Path) -> dict:
    import pyarrow.parquet as pq

    from futures_vpoc.evaluation.predictions import METADATA_KEY

    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def _parity(doc: dict) -> str:
    diff = doc.get("max_abs_diff")
    same = "at the same bars" if doc.get("same_missing") else "NOT at the same bars"
    figure = "n/a" if diff is None else f"{diff:.1e}"
    return (f"Replay, which fed the bars to the model one at a time as a live feed would, gave the same "
            f"predictions as the whole-file prediction: largest difference in P(up) {figure} over "
            f"{doc.get('predictions', 0):,} predictions, missing {same}. Nothing in a prediction depends on a "
            "later bar.")


def _holdout(inputs: DemoInputs) -> str:
    lead = _lead("The model applied to the last month of the data, which no training stage saw: the demo trained "
                 "on the months before it, then predicted, replayed and backtested this month exactly as a user "
                 "does with new bars (futures-vpoc predict, replay, evaluate, backtest --model).")
    folder = inputs.holdout_dir
    if folder is None:
        reason = next((r for name, how, r in inputs.stages if name == "holdout" and how == "skipped"), None)
        return lead + _not_run(f"Not run: {reason}." if reason else "Not run.")
    folder = Path(folder)
    try:
        facts = _facts(folder / "predictions.parquet")
        stats = read_json(folder / "evaluate.json")
        bt = read_json(folder / "backtest" / "stats.json")
        parity = read_json(folder / "replay_parity.json")
    except (OSError, ValueError, KeyError) as exc:
        return lead + _not_run(f"Could not be read ({type(exc).__name__}: {exc}).")
    lo, hi = facts.get("training_period", ["?", "?"])
    period = (f"Trained on {lo} .. {hi} (UTC; training and validation parts); predicted from {facts.get('start')} "
              "on, after the last bar of the training file.")
    out = [lead, f"<p>{esc(period)}</p>"]
    out.append(f"<p>{esc(method_line(stats))}</p>")
    out.append(_table(["Metric", "Value", "Interval", "Baseline", "p-value"], [list(r) for r in metric_rows(stats)],
                      numeric=True))
    header = ["Strategy"] + [LABELS.get(k, k) for k in STAT_COLUMNS]
    header.insert(5, "Sharpe 95% interval")
    header[-3:] = ["PSR (vs 0)", "DSR", "p vs random"]
    out.append(_table(header, _stats_rows(bt), numeric=True))
    out.append(f"<p>{esc(_parity(parity))}</p>")
    out.append(_link(folder / "backtest" / "backtest.html", inputs.report_dir,
                     "The held-out month's backtest report (backtest.html)"))
    return "".join(out)


__all__ = ["_holdout"]
