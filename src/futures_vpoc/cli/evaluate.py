"""``futures-vpoc evaluate --predictions FILE``: dependence-aware test metrics of any predictions file.

Accuracy, balanced accuracy, AUC, log loss, Brier score and calibration error, each with its
interval and (where a baseline exists) its one-sided p-value, from the session block bootstrap of
:mod:`futures_vpoc.evaluation` -- the same function ``train`` uses, so a run's own
``predictions_test.parquet`` gives exactly its ``summary.json`` test statistics.
"""

from __future__ import annotations

import argparse

from futures_vpoc.cli.options import whole_number

__all__ = ["add_evaluate_parser", "cmd_evaluate"]


def _level(text: str) -> float:
    value = float(text)
    if not 0.5 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} must lie in [0.5, 1)")
    return value


def add_evaluate_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``evaluate`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    p = subparsers.add_parser(
        "evaluate", allow_abbrev=False,
        help="test metrics of a predictions file with session-block-bootstrap intervals and p-values",
        description="Score a predictions file (Parquet or CSV with timestamp, trade_date, label, prob; a run's "
                    "predictions_test.parquet qualifies): accuracy against the majority class, balanced accuracy, "
                    "AUC, log loss and Brier score against a base-rate forecast, calibration error. Intervals and "
                    "p-values resample whole sessions, so overlapping labels and dependent bars are not counted "
                    "as independent evidence.")
    p.add_argument("--predictions", required=True, metavar="FILE", help="the predictions file (.parquet or .csv)")
    p.add_argument("--horizon", type=whole_number, default=None, metavar="H",
                   help="label horizon in bars (default: the file's own record, else 1); on daily bars a "
                        "resampling block spans at least H sessions")
    p.add_argument("--json", default=None, metavar="OUT", help="also write the results as JSON to OUT")
    p.add_argument("--n_boot", type=whole_number, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    p.add_argument("--level", type=_level, default=0.95, help="interval coverage (default 0.95)")
    return p


def _write_json(path: str, result: dict) -> None:
    import json
    from pathlib import Path

    from futures_vpoc.data.barframe import atomic_write

    text = json.dumps(result, indent=2, allow_nan=True)
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text + "\n"))


def cmd_evaluate(args) -> int:
    """Run ``futures-vpoc evaluate``: print the metrics table; with ``--json OUT`` write it too."""
    from futures_vpoc.evaluation import evaluate_predictions
    from futures_vpoc.evaluation.predictions import read_predictions
    from futures_vpoc.report.evaluation_table import text_table

    from futures_vpoc.errors import UsageError

    if args.horizon is not None and args.horizon < 1:
        raise UsageError(f"--horizon {args.horizon} must be >= 1")
    preds = read_predictions(args.predictions)
    facts = preds.facts
    horizon = args.horizon if args.horizon is not None else int(facts.get("horizon", 1))
    result = evaluate_predictions(
        preds.y, preds.prob, preds.trade_date, horizon=horizon, threshold=float(facts.get("threshold", 0.5)),
        majority=facts.get("majority_class"), base_rate=facts.get("base_rate"),
        probabilistic=bool(facts.get("probabilistic", True)), n_boot=args.n_boot, level=args.level, seed=args.seed)
    result["horizon"] = horizon
    scored = f"{result['n']:,} rows scored" + (f", {preds.unscored:,} without a label" if preds.unscored else "")
    print(f"evaluate {args.predictions}: {scored}, {result['n_sessions']:,} sessions")
    if preds.in_training:
        print(f"note: {preds.in_training:,} scored rows lie in the model's training period (in_training): in-sample, "
              "so these statistics overstate what the model does on new data")
    if "majority_class" not in facts:
        print("note: no training record in the file; the baselines use these rows' own majority class and up share")
    print(text_table(result))
    if args.json:
        _write_json(args.json, result)
        print(f"wrote {args.json}")
    return 0
