"""``futures-vpoc predict`` and ``futures-vpoc replay``: a trained model on bars it has not seen.

``predict`` computes the whole file at once (:mod:`futures_vpoc.ml.predict`); ``replay`` feeds the
bars one at a time through incremental state, as a live feed would, and emits each prediction when
its bar closes (:mod:`futures_vpoc.ml.replay`). Both write the same columns; ``evaluate`` takes
either file, and ``backtest --model RUN --data LATER`` trades them.
"""

from __future__ import annotations

import argparse

__all__ = ["add_predict_parser", "add_replay_parser", "cmd_predict", "cmd_replay"]

_COLUMNS = ("one row per bar: timestamp, trade_date, contract, prob (P(up)), decision (+1/-1/0 at the run's "
            "threshold), label (0/1 up where the file holds the horizon's bars), fwd_return, in_training, then "
            "logit (or prediction) or, for an ensemble, prob_<member>")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="RUN_DIR",
                   help="a run directory (train), one scale-up rung, a scale-up folder (its winner) or an ensemble folder")
    p.add_argument("--data", required=True, metavar="FILE",
                   help="merged bar file (CSV/Parquet) to predict on, or a partitioned bar dataset folder (read whole)")
    p.add_argument("--start", default=None, metavar="TIME",
                   help="first bar to predict (UTC; a date is its 00:00 UTC); earlier bars only warm the features up "
                        "(default: every bar of the file)")
    p.add_argument("--allow-overlap", dest="allow_overlap", action="store_true",
                   help="also predict bars inside the run's training period (refused without it), flagged in_training")


def add_predict_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``predict`` on ``subparsers``."""
    p = subparsers.add_parser(
        "predict", allow_abbrev=False, help="apply a trained model to a bar file (frozen features, scaler, weights)",
        description="Apply a trained model to a merged bar file with everything frozen in its run directory: the "
                    "feature groups and their fits (GARCH, regime edges) from training, the scaler, the weights "
                    f"(an ensemble: every member and the validation weights). Writes {_COLUMNS}. Bars in the "
                    "training period (training and validation parts) are refused unless --allow-overlap.")
    _common(p)
    p.add_argument("--out", required=True, metavar="PRED", help="output .parquet (with the training facts for "
                   "evaluate) or .csv")
    return p


def add_replay_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``replay`` on ``subparsers``."""
    p = subparsers.add_parser(
        "replay", allow_abbrev=False, help="feed bars one at a time through the model, as a live feed would",
        description="Feed the file's bars to the model one at a time through incremental state (developing "
                    "profile, rolling features, VIX as of publication) and emit each prediction when its bar "
                    "closes. The predictions equal predict's on the same file (to 1e-9): nothing looks ahead. "
                    f"--out writes the same columns as predict ({_COLUMNS}); without it every prediction is "
                    "printed as it is made.")
    _common(p)
    p.add_argument("--out", default=None, metavar="PRED", help="output .parquet or .csv (default: print each prediction)")
    return p


def _prepare(args):
    """Bundle and bars of ``--model`` / ``--data``, checked before anything is computed."""
    from pathlib import Path

    from futures_vpoc.cli.options import out_path
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.errors import DataError
    from futures_vpoc.ml.bundle import load_bundle

    from futures_vpoc.data.partitioned import is_partitioned

    out = out_path(args.out, args.data) if args.out else None
    bundle = load_bundle(args.model)
    data = Path(args.data)
    if data.is_dir() and not is_partitioned(data):
        raise DataError("a folder with no year=YYYY/month=MM/part.parquet partition", file=args.data,
                        hint="give a merged file or a dataset folder written by `data merge/synth --out DIR`")
    if not data.exists():
        raise DataError("file not found", file=args.data, hint="check --data")
    return bundle, read_merged(args.data), out


def _report(table, out) -> None:
    frame = table.frame
    scored = int(frame["label"].notna().sum())
    have = int(frame["prob"].notna().sum())
    span = f"{frame['timestamp'].iloc[0]} .. {frame['timestamp'].iloc[-1]}" if len(frame) else "no bars"
    print(f"{len(frame):,} bars ({span}): {have:,} predictions, {scored:,} with a label", flush=True)
    lo, hi = table.facts["training_period"]
    where = "out of sample (after it)" if table.facts["out_of_sample"] else "partly inside it (flagged)"
    print(f"model trained on {lo} .. {hi} (training and validation); these bars are {where}", flush=True)
    for note in table.notes:
        print(f"note: {note}", flush=True)
    if out is not None:
        print(f"wrote {out}; score it with: futures-vpoc evaluate --predictions {out}", flush=True)


def cmd_predict(args) -> int:
    """Run ``futures-vpoc predict``."""
    from futures_vpoc.ml.predfile import write_prediction_table
    from futures_vpoc.ml.predict import predict_bars

    bundle, bars, out = _prepare(args)
    table = predict_bars(bundle, bars, start=args.start, allow_overlap=args.allow_overlap, source=args.data)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_prediction_table(out, table.frame, table.facts)
    _report(table, out)
    return 0


def cmd_replay(args) -> int:
    """Run ``futures-vpoc replay``."""
    from futures_vpoc.ml.predfile import write_prediction_table
    from futures_vpoc.ml.replay import replay_bars

    bundle, bars, out = _prepare(args)
    emit = None if out is not None else _printer()
    table = replay_bars(bundle, bars, start=args.start, allow_overlap=args.allow_overlap, source=args.data,
                        on_prediction=emit)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_prediction_table(out, table.frame, table.facts)
    _report(table, out)
    return 0


def _printer():
    """Print one line per bar as its prediction is made (flushed: a live feed's log)."""
    print("timestamp,contract,prob,decision", flush=True)

    def emit(stamp, contract, prob, decision) -> None:
        print(f"{stamp.isoformat()},{contract},{'' if prob != prob else f'{prob:.6f}'},{decision}", flush=True)

    return emit
